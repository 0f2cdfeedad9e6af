"""The type stubs (``*.pyi``) of the compiled modules name every public function, constant,
class and class member, so type checkers and IDEs see the whole API."""

import ast
import importlib
import pathlib

import pytest


def _stub_names(path: pathlib.Path) -> dict:
    stub = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef):
            stub[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} | {
                n.target.id for n in node.body if isinstance(n, ast.AnnAssign)} | {
                n.name for n in node.body if isinstance(n, ast.ClassDef)} | {
                t.id for n in node.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
        elif isinstance(node, ast.FunctionDef):
            stub[node.name] = None
        elif isinstance(node, ast.AnnAssign):
            stub[node.target.id] = None
    return stub


@pytest.mark.parametrize("module", ["codec", "_sim", "_bridge"])
def test_stub_covers_the_public_api(module):
    mod = importlib.import_module(f"factorio_fast.{module}")
    stub = _stub_names(pathlib.Path(mod.__file__).with_name(f"{module}.pyi"))
    names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
    for name in names:
        assert name in stub, f"{name} missing from {module}.pyi"
        obj = getattr(mod, name)
        if isinstance(obj, type) and stub[name] is not None:
            public = {m for m in vars(obj) if not m.startswith("_")}
            assert public <= stub[name], f"{module}.{name}: {sorted(public - stub[name])} not in stub"
