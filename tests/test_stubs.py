"""The type stubs (``*.pyi``) match their modules, so type checkers and IDEs see the API that
runs: every compiled module has a stub, and so do the pure-Python modules whose public methods
carry no annotations (env and vector: Gymnasium's reset/step); each stub names every public
function, constant, class and class member and nothing that is not there, each function and
method takes the parameters the runtime takes (names, kinds, which have defaults, and the
defaults' values), and constants have the type the stub says. The package is marked typed
(``py.typed``, PEP 561); its other modules carry their annotations inline."""

import ast
import importlib
import importlib.machinery
import importlib.resources
import inspect
import pathlib
import re

import pytest

import factorio_fast

PACKAGE = pathlib.Path(factorio_fast.__file__).parent
COMPILED = sorted({p.name.split(".")[0] for suffix in importlib.machinery.EXTENSION_SUFFIXES
                   for p in PACKAGE.glob(f"*{suffix}")})
# Pure-Python modules that need a stub (their public methods are unannotated).
PY_STUBBED = ["env", "vector"]
STUBBED = COMPILED + PY_STUBBED
# Names a stub may declare that the runtime does not expose as attributes: the buffer protocol
# (PEP 688's __buffer__ is how a stub says "supports the buffer protocol"; Cython implements it in
# C, so Python < 3.12 has no attribute).
STUB_ONLY = {"__buffer__"}


def _stub(module: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{module}.pyi").read_text())


def _stub_names(tree: ast.Module) -> dict:
    stub = {}
    for node in tree.body:
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


def _public(mod) -> list:
    if hasattr(mod, "__all__"):
        return list(mod.__all__)
    if mod.__file__.endswith(".py"):  # what the module itself defines, not what it imports
        names = []
        for node in ast.parse(pathlib.Path(mod.__file__).read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.append(node.name)
            elif isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.append(node.target.id)
        return [n for n in names if not n.startswith("_")]
    return [n for n in dir(mod) if not n.startswith("_")]


def _instances():
    """One instance of each stubbed Python class, whose instance attributes the stub declares."""
    from factorio_fast import env, vector

    return {("env", "FactorioEnv"): lambda: env.make("movement_micro"),
            ("vector", "FactorioVectorEnv"): lambda: vector.make_vec("movement_micro", 2)}


def test_every_compiled_module_has_a_stub():
    assert set(COMPILED) >= {"codec", "_sim", "_bridge", "_features", "_rawobs"}, COMPILED
    missing = [m for m in STUBBED if not (PACKAGE / f"{m}.pyi").is_file()]
    assert not missing, f"modules without a .pyi stub: {missing}"
    # a stub next to a Python module no test holds to it would drift silently
    py_stubs = {p.stem for p in PACKAGE.glob("*.pyi") if (PACKAGE / f"{p.stem}.py").is_file()}
    assert py_stubs == set(PY_STUBBED), py_stubs


def test_package_is_marked_typed():
    # PEP 561: the marker file, empty (a "partial\n" marker would say stubs are incomplete)
    marker = importlib.resources.files("factorio_fast") / "py.typed"
    assert marker.is_file()
    assert marker.read_text().strip() == ""


@pytest.mark.parametrize("module", STUBBED)
def test_stub_covers_the_public_api(module):
    mod = importlib.import_module(f"factorio_fast.{module}")
    stub = _stub_names(_stub(module))
    for name in _public(mod):
        assert name in stub, f"{name} missing from {module}.pyi"
        obj = getattr(mod, name)
        if isinstance(obj, type) and stub[name] is not None:
            public = {m for m in vars(obj) if not m.startswith("_")}
            assert public <= stub[name], f"{module}.{name}: {sorted(public - stub[name])} not in stub"


@pytest.mark.parametrize("module", STUBBED)
def test_stub_declares_nothing_the_module_lacks(module):
    mod = importlib.import_module(f"factorio_fast.{module}")
    for name, members in _stub_names(_stub(module)).items():
        if name.startswith("_"):
            continue  # the stub's own aliases (_Mode, _Timeout, ...)
        assert hasattr(mod, name), f"{module}.pyi declares {name}, which {module} lacks"
        lacking = [m for m in members or () if m not in STUB_ONLY and not hasattr(getattr(mod, name), m)]
        if lacking and (module, name) in _instances():
            obj = _instances()[(module, name)]()  # instance attributes, set by __init__
            try:
                lacking = [m for m in lacking if not hasattr(obj, m)]
            finally:
                obj.close()
        assert not lacking, f"{module}.pyi declares {name}.{lacking}, which the class lacks"


# --- signatures --------------------------------------------------------------------------------

_NO_DEFAULT = object()


def _literal(node):
    if node is None:
        return _NO_DEFAULT
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ...  # not a literal (e.g. `...`): only "has a default" is compared


def _stub_params(fn: ast.FunctionDef, drop_first: bool) -> list:
    a = fn.args
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    out = [(arg.arg, "positional", _literal(d)) for arg, d in zip(pos, defaults)]
    if a.vararg:
        out.append((a.vararg.arg, "*", _NO_DEFAULT))
    out += [(arg.arg, "keyword", _literal(d)) for arg, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        out.append((a.kwarg.arg, "**", _NO_DEFAULT))
    return out[1:] if drop_first else out


_KIND = {inspect.Parameter.POSITIONAL_ONLY: "positional",
         inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
         inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.KEYWORD_ONLY: "keyword",
         inspect.Parameter.VAR_KEYWORD: "**"}


def _runtime_params(sig: inspect.Signature, drop_first: bool) -> list:
    out = [(p.name, _KIND[p.kind], _NO_DEFAULT if p.default is p.empty else p.default)
           for p in sig.parameters.values()]
    return out[1:] if drop_first else out


def _embedded_signature(cls) -> inspect.Signature | None:
    """The constructor's signature Cython writes at the top of a cdef class's docstring
    (``embedsignature``): ``Name(int width=32, SharedArena arena, ...)``, C types dropped. A cdef
    class's ``__init__`` is a slot wrapper, whose signature inspect cannot read."""
    first = (cls.__doc__ or "").lstrip().split("\n", 1)[0]
    m = re.fullmatch(rf"{cls.__name__}\((.*)\)", first)
    if not m:
        return None
    params = []
    for part in filter(None, (p.strip() for p in m.group(1).split(","))):
        part = part.replace(" not None", "")
        head, eq, default = part.partition("=")
        name = head.split()[-1]  # "int width" -> "width"; "*", "**kwargs" stay
        params.append(name + (eq + default if eq else ""))
    tree = ast.parse(f"def f({', '.join(params)}): pass")
    fn = tree.body[0]
    sig_params = []
    kind_of = {"positional": inspect.Parameter.POSITIONAL_OR_KEYWORD,
               "keyword": inspect.Parameter.KEYWORD_ONLY,
               "*": inspect.Parameter.VAR_POSITIONAL, "**": inspect.Parameter.VAR_KEYWORD}
    for name, kind, default in _stub_params(fn, drop_first=False):
        sig_params.append(inspect.Parameter(
            name, kind_of[kind], default=inspect.Parameter.empty if default is _NO_DEFAULT else default))
    return inspect.Signature(sig_params)


def _signature(obj, cls=None) -> inspect.Signature | None:
    if cls is not None and obj is None:  # the constructor
        init = vars(cls).get("__init__")
        try:
            if init is not None and not type(init).__name__.startswith("wrapper"):
                return inspect.signature(init)
        except (TypeError, ValueError):
            pass
        return _embedded_signature(cls)
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def _same(stub: list, runtime: list, kinds: bool = True) -> bool:
    """Same parameters. A runtime ``**kwargs`` may be spelled out in the stub as the keyword-only
    parameters it accepts (typing them, e.g. BatchSim's ``goal``)."""
    if runtime and runtime[-1][1] == "**" and (not stub or stub[-1][1] != "**"):
        named = len(runtime) - 1
        if len(stub) < named or any(k != "keyword" for _, k, _ in stub[named:]):
            return False
        stub, runtime = stub[:named], runtime[:named]
    if len(stub) != len(runtime):
        return False
    for (sn, sk, sd), (rn, rk, rd) in zip(stub, runtime):
        if sn != rn or (kinds and sk != rk) or (sd is _NO_DEFAULT) != (rd is _NO_DEFAULT):
            return False
        if sd is not _NO_DEFAULT and sd is not ... and sd != rd:
            return False
    return True


def _decorators(fn) -> set:
    return {ast.unparse(d) for d in fn.decorator_list}


def _signature_cases():
    cases = []
    for module in STUBBED:
        tree = _stub(module)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                cases.append((module, None, node))
            elif isinstance(node, ast.ClassDef):
                for fn in node.body:
                    if isinstance(fn, ast.FunctionDef) and fn.name not in STUB_ONLY \
                            and not ({"property", "overload"} & _decorators(fn)) \
                            and not any(d.endswith(".setter") for d in _decorators(fn)):
                        cases.append((module, node.name, fn))
    return cases


SIGNATURE_CASES = _signature_cases()


def test_signature_cases_cover_every_stub():
    assert {m for m, _, _ in SIGNATURE_CASES} == set(STUBBED)
    assert len(SIGNATURE_CASES) > 100  # every method of every class, not a handful


@pytest.mark.parametrize("module,cls_name,fn", SIGNATURE_CASES,
                         ids=[f"{m}.{c + '.' if c else ''}{f.name}" for m, c, f in SIGNATURE_CASES])
def test_stub_signature_matches_the_runtime(module, cls_name, fn):
    mod = importlib.import_module(f"factorio_fast.{module}")
    kinds = True
    if cls_name is None:
        runtime, drop = _signature(getattr(mod, fn.name)), False
    else:
        cls = getattr(mod, cls_name)
        static = isinstance(inspect.getattr_static(cls, fn.name), staticmethod) or \
            "staticmethod" in _decorators(fn)
        if fn.name == "__init__":
            runtime = _signature(None, cls)
            # Cython's embedded constructor signature puts the "*" one parameter late (BatchSim's
            # reads "ticks_per_step=None, *, obstacles=None" for "*, ticks_per_step=None,
            # obstacles=None"): there, names, order and defaults are compared, not the kinds.
            kinds = vars(cls).get("__init__") is None or \
                type(vars(cls)["__init__"]).__name__.startswith("wrapper")
            kinds = not kinds
        else:
            runtime = _signature(getattr(cls, fn.name))
        drop = not static
    if runtime is None:
        # Only a cdef class without __init__ whose docstring has no embedded signature (its
        # __cinit__ takes the arguments): checked by calling it in the test below.
        assert fn.name == "__init__" and (module, cls_name) in UNREADABLE_CONSTRUCTORS, \
            f"{module}.{cls_name}.{fn.name}: no runtime signature to compare the stub with"
        return
    stub = _stub_params(fn, drop_first=drop)
    got = _runtime_params(runtime, drop_first=drop and runtime.parameters and
                          next(iter(runtime.parameters)) in ("self", "cls"))
    assert _same(stub, got, kinds), f"{module}.pyi: {cls_name or ''}.{fn.name} is {stub}, the runtime {got}"


# Constructors whose signature the runtime does not expose, each called with the stub's
# parameters by name (and refusing a call without them).
UNREADABLE_CONSTRUCTORS = {("_features", "Decoder"): {"scenario": "mining_micro"}}


@pytest.mark.parametrize("key", sorted(UNREADABLE_CONSTRUCTORS))
def test_stub_constructor_called_by_its_parameter_names(key):
    module, cls_name = key
    cls = getattr(importlib.import_module(f"factorio_fast.{module}"), cls_name)
    init = next(f for n in _stub(module).body if isinstance(n, ast.ClassDef) and n.name == cls_name
                for f in n.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
    kwargs = UNREADABLE_CONSTRUCTORS[key]
    assert [p[0] for p in _stub_params(init, drop_first=True)] == list(kwargs)
    cls(**kwargs)
    with pytest.raises(TypeError):
        cls()


_SIMPLE_TYPES = {"int": int, "str": str, "float": float, "bool": bool, "bytes": bytes,
                 "tuple": tuple, "dict": dict, "list": list}


@pytest.mark.parametrize("module", STUBBED)
def test_stub_constants_have_their_declared_type(module):
    mod = importlib.import_module(f"factorio_fast.{module}")
    checked = 0
    for node in _stub(module).body:
        if isinstance(node, ast.AnnAssign) and not node.target.id.startswith("_"):
            ann = node.annotation.value if isinstance(node.annotation, ast.Subscript) \
                else node.annotation
            if isinstance(ann, ast.Name) and ann.id in _SIMPLE_TYPES:
                value = getattr(mod, node.target.id)
                assert isinstance(value, _SIMPLE_TYPES[ann.id]) and (
                    ann.id != "int" or not isinstance(value, bool)), \
                    f"{module}.{node.target.id} is {type(value).__name__}, the stub says {ann.id}"
                checked += 1
    declared = sum(isinstance(n, ast.AnnAssign) for n in _stub(module).body)
    assert checked or not declared, f"{module}.pyi: no constant of a checkable type"
