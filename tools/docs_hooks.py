"""MkDocs hooks (mkdocs.yml ``hooks:``): what the docs site takes from the code at build time, so
no generated file is committed and none can go stale.

- ``{{ version }}`` in a page becomes ``factorio_fast.__version__``, and every page's footer
  names the version: the site shares the package's version (tests/test_version.py).
- ``api.md`` and ``api/<module>.md``: the API reference, each public module's public names with
  their signatures and docstrings (:func:`public_api` decides what is public; tests/test_docs.py
  checks every name in it has a docstring).
- ``benchmark-results.png``: the plot of the committed ``docs/benchmark-results.json`` (written by
  ``factorio-fast bench --json``), drawn by ``factorio_fast.bench.write_plot``; the results table
  of ``benchmarks.md`` (``{{ benchmark_table }}``) comes from the same file. No benchmark runs.
- ``changelog.md``: the repository's CHANGELOG.md.
- ``factorio.md`` (the real-Factorio guide) when docs/ has none yet: the README's sections on
  the mod and the servers.

Needs factorio_fast importable (its extensions built) and, for the plot, matplotlib.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import json
import pkgutil
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = "benchmark-results.json"
PLOT = "benchmark-results.png"


def _version() -> str:
    import factorio_fast

    return factorio_fast.__version__


# ---------------------------------------------------------------------------------------------
# What is public


def public_modules() -> list[str]:
    """Every module of the package whose dotted name has no part starting with ``_``."""
    import factorio_fast

    names = ["factorio_fast"]
    for info in pkgutil.walk_packages(factorio_fast.__path__, "factorio_fast."):
        if not any(part.startswith("_") for part in info.name.split(".")) \
                and not info.name.startswith("factorio_fast.mod"):
            names.append(info.name)
    return sorted(names)


def module_names(module) -> list[str]:
    """The public names of ``module``: its ``__all__``, else the names not starting with ``_``
    that it defines itself (not those it imports)."""
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if not n.startswith("__")]
    return [n for n, v in vars(module).items() if not n.startswith("_")
            and getattr(v, "__module__", None) == module.__name__]


def class_members(cls) -> list[str]:
    """The public methods and properties ``cls`` itself defines (not inherited ones; a
    dataclass's fields and an enum's members are data, documented by the class)."""
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod, property)) or inspect.isroutine(value) \
                or type(value).__name__ in ("getset_descriptor", "method_descriptor"):
            out.append(name)
    return out


@functools.lru_cache(maxsize=1)
def unavailable_modules() -> dict[str, str]:
    """Public modules that cannot be imported here because a library they adapt is not
    installed (``factorio_fast.integrations.sb3`` without the [sb3] extra): module -> the
    missing library. Any other import error is raised."""
    out = {}
    for modname in public_modules():
        try:
            importlib.import_module(modname)
        except ImportError as e:
            # the module may re-raise the missing library's error with advice (sb3 does)
            cause = e if isinstance(e, ModuleNotFoundError) else e.__cause__ or e.__context__
            name = getattr(cause, "name", None) if isinstance(cause, ModuleNotFoundError) else None
            if not name or name.split(".")[0] == "factorio_fast":
                raise
            out[modname] = name
    return out


@functools.lru_cache(maxsize=1)
def public_api() -> dict[str, list[tuple[str, object, object]]]:
    """module name -> [(qualified name, object, owning class or None)] of every public module,
    class, function and method (constants are listed on the pages but carry no docstring of
    their own)."""
    api = {}
    for modname in public_modules():
        if modname in unavailable_modules():
            continue
        module = importlib.import_module(modname)
        entries = [(modname, module, None)]
        for name in module_names(module):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue
            if inspect.isclass(obj):
                entries.append((f"{modname}.{name}", obj, None))
                if obj.__module__.split(".")[0] != "factorio_fast" or issubclass(obj, BaseException):
                    continue  # a re-export of a foreign class, or an exception: no own methods
                for member in class_members(obj):
                    entries.append((f"{modname}.{name}.{member}", vars(obj)[member], obj))
            elif inspect.isroutine(obj):
                entries.append((f"{modname}.{name}", obj, None))
        api[modname] = entries
    return api


def _own_doc(obj) -> str:
    if isinstance(obj, (property, staticmethod, classmethod)):
        obj = obj.fget if isinstance(obj, property) else obj.__func__
    doc = getattr(obj, "__doc__", None)
    if inspect.isclass(obj) and doc and dataclasses.is_dataclass(obj) \
            and re.fullmatch(rf"{obj.__name__}\(.*\)", doc.strip(), re.S):
        return ""  # the signature dataclasses writes when the class has no docstring
    if type(obj).__name__ in ("getset_descriptor", "member_descriptor") and doc \
            and doc.startswith("Initialize self") is False and doc.strip().endswith("object"):
        return ""
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else ""


_STUB_DOCS: dict = {}


def _stub_doc(cls, member: str) -> str:
    """The docstring the ``.pyi`` stub of a compiled module gives ``cls.member`` (a Cython
    ``cdef readonly`` attribute cannot carry one at run time)."""
    import ast

    module = sys.modules.get(cls.__module__)
    path = Path(getattr(module, "__file__", "") or "")
    stub = path.with_name(path.name.split(".")[0] + ".pyi")
    if not stub.is_file():
        return ""
    if stub not in _STUB_DOCS:
        docs = {}
        for node in ast.parse(stub.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                body = node.body
                for i, item in enumerate(body):
                    name = item.name if isinstance(item, ast.FunctionDef) else \
                        item.target.id if isinstance(item, ast.AnnAssign) and \
                        isinstance(item.target, ast.Name) else None
                    if name is None:
                        continue
                    doc = ast.get_docstring(item) if isinstance(item, ast.FunctionDef) else None
                    if doc is None and i + 1 < len(body) and isinstance(body[i + 1], ast.Expr) \
                            and isinstance(getattr(body[i + 1], "value", None), ast.Constant) \
                            and isinstance(body[i + 1].value.value, str):
                        doc = inspect.cleandoc(body[i + 1].value.value)  # attribute docstring
                    if doc:
                        docs[(node.name, name)] = doc
        _STUB_DOCS[stub] = docs
    return _STUB_DOCS[stub].get((cls.__name__, member), "")


_API_URL = "https://lua-api.factorio.com/2.0.45/classes/{cls}.html#{member}"


def _api_doc(cls, member: str) -> str:
    """For a class of the emulator that stands for a Factorio API class (``API_CLASS``): the
    member it emulates, with the API page that documents it."""
    api_class = getattr(cls, "API_CLASS", "")
    if not api_class:
        return ""
    from factorio_fast.emulator.api import api_spec

    spec = api_spec()
    if api_class not in spec.classes:
        return ""
    for where in spec.chain(api_class):
        entry = spec.classes[where]
        url = _API_URL.format(cls=where, member=member)
        if member in entry["attributes"]:
            a = entry["attributes"][member]
            mode = "read/write" if a.get("read") and a.get("write") else \
                "read-only" if a.get("read") else "write-only"
            return (f"Emulates Factorio's {where}.{member} ({a.get('type', '?')}, {mode}), "
                    f"documented at {url}")
        if member in entry["methods"]:
            return f"Emulates Factorio's {where}::{member}(), documented at {url}"
    return ""


def doc_of(obj, owner=None, name: str = "") -> str:
    """The documentation of a public name: its own docstring; for a member of ``owner``, else
    the docstring of the base-class method it overrides (documented there, as Gymnasium's
    ``Env.step``), the compiled module's stub, or the Factorio API member an emulator class
    stands for."""
    doc = _own_doc(obj)
    if doc or owner is None:
        return doc
    for base in owner.__mro__[1:]:
        if name in vars(base):
            doc = _own_doc(vars(base)[name])
            if doc:
                return doc
    return _stub_doc(owner, name) or _api_doc(owner, name)


def missing_docstrings() -> list[str]:
    """The public names without documentation (see :func:`doc_of`)."""
    return [name for entries in public_api().values() for name, obj, owner in entries
            if not doc_of(obj, owner, name.rsplit(".", 1)[-1])]


# ---------------------------------------------------------------------------------------------
# Pages


def _signature(obj) -> str:
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        pass
    # Cython's embedsignature: the docstring's first line is "name(args) -> result"
    first = (getattr(obj, "__doc__", None) or "").strip().splitlines()[:1]
    match = re.match(r"^\w+(\(.*\).*)$", first[0]) if first else None
    return match.group(1) if match else ""


def _fence(text: str) -> str:
    # A docstring is reStructuredText / numpydoc, not Markdown: shown as written.
    return f"```text\n{text}\n```\n" if text else "*(no docstring)*\n"


def _api_page(modname: str, entries) -> str:
    module = entries[0][1]
    out = [f"# `{modname}`\n", _fence(doc_of(module))]
    constants = [n for n in module_names(module)
                 if not (inspect.isclass(getattr(module, n)) or inspect.isroutine(getattr(module, n))
                         or inspect.ismodule(getattr(module, n)))]
    for qualname, obj, owner in entries[1:]:
        short = qualname[len(modname) + 1:]
        depth = "###" if "." in short else "##"
        if isinstance(obj, property) or type(obj).__name__ in ("getset_descriptor",
                                                                  "member_descriptor"):
            head = f"{short}  (attribute)"
        elif inspect.isclass(obj):
            head = f"class {short}{_signature(obj)}"
        else:
            head = f"{short}{_signature(obj)}"
        out.append(f"{depth} `{head}`\n")
        out.append(_fence(doc_of(obj, owner, short.rsplit(".", 1)[-1])))
    if constants:
        out.append("## Constants\n")
        out.append("| name | value |\n|---|---|")
        for n in constants:
            value = repr(getattr(module, n))
            value = value if len(value) <= 80 else value[:77] + "..."
            out.append(f"| `{n}` | `{value.replace('|', '&#124;')}` |")
        out.append("")
    return "\n".join(out) + "\n"


def _api_index(api) -> str:
    out = ["# API reference\n",
           "Every public module of `factorio_fast` {{ version }}, with each public name's "
           "signature and docstring, generated from the installed code when the site is built. "
           "The type stubs (`*.pyi`) of the compiled modules and the package's `py.typed` give "
           "type checkers the same API.\n",
           "| module | summary |", "|---|---|"]
    for modname, entries in api.items():
        summary = (doc_of(entries[0][1]).split("\n\n")[0].replace("\n", " ") or "")
        out.append(f"| [`{modname}`](api/{modname}.md) | {summary.replace('|', '&#124;')} |")
    for modname, missing in unavailable_modules().items():
        out.append(f"| `{modname}` | (not documented in this build: `{missing}` is not installed) |")
    return "\n".join(out) + "\n"


def benchmark_rows(path: Path):
    from factorio_fast import bench

    data = json.loads(path.read_text(encoding="utf-8"))
    fields = {f.name for f in dataclasses.fields(bench.Row)}
    return data.get("machine", {}), [bench.Row(**{k: v for k, v in r.items() if k in fields})
                                     for r in data["rows"]]


def benchmark_plot(path: Path) -> bytes:
    from factorio_fast import bench

    _, rows = benchmark_rows(path)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / PLOT
        if not bench.write_plot(rows, str(out)):
            raise RuntimeError("the benchmark plot needs matplotlib (pip install matplotlib)")
        return out.read_bytes()


def benchmark_table(path: Path) -> str:
    from factorio_fast import bench

    machine, rows = benchmark_rows(path)
    lines = ["| scenario | backend | envs | workers | steps/s | µs/step | µs/hand-off | target | |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        def num(v, spec):
            return "" if v is None else format(v, spec)
        verdict = "" if r.passed is None else ("PASS" if r.passed else "FAIL")
        lines.append(f"| {r.scenario} | {r.backend} | {r.num_envs} | {r.num_workers} | "
                     f"{num(r.sps, ',.0f')} | {num(r.us_per_step, '.1f')} | "
                     f"{num(r.us_per_handoff, '.1f')} | {num(r.target_sps, ',')} | {verdict} |")
    facts = ", ".join(f"{k}: {v}" for k, v in machine.items())
    return "\n".join(lines) + (f"\n\nMachine: {facts}.\n" if facts else "\n") + \
        "\n".join(f"\n- {s}" for s in bench.summary(rows)) + "\n"


def _readme_factorio_guide() -> str:
    """The real-Factorio guide from the README, for as long as docs/factorio.md is not written:
    its sections about servers or the mod, else the Status bullets about the mod."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = re.split(r"^(?=## )", text, flags=re.M)
    picked = [s for s in sections[1:] if re.match(r"## .*(Factorio|server)", s, re.I)]
    if not picked:
        bullets = re.findall(r"^\* \*\*(?:The Factorio mod|How the mod is verified).*?(?=^\* |^\S|\Z)",
                             text, re.S | re.M)
        picked = ["## The mod\n\n" + "".join(bullets)] if bullets else []
    body = "".join(picked).replace("](docs/", "](")
    return ("# Real Factorio\n\nThe backend that drives real headless Factorio servers shares the "
            "simulator's spaces. What the README says of it:\n\n" + body +
            "\nThe mod's wire is described in [The mod's wire](mod.md).\n")


# ---------------------------------------------------------------------------------------------
# The hooks


def on_config(config):
    version = _version()
    config.copyright = f"factorio_fast {version}"
    config.extra["version"] = version
    api = public_api()
    nav = []
    for entry in config.nav:
        if isinstance(entry, dict) and list(entry.values()) == ["api.md"]:
            key = next(iter(entry))
            entry = {key: ["api.md"] + [{m: f"api/{m}.md"} for m in api]}
        nav.append(entry)
    config.nav = nav
    return config


def on_files(files, config):
    from mkdocs.structure.files import File

    api = public_api()
    files.append(File.generated(config, "api.md", content=_api_index(api)))
    for modname, entries in api.items():
        files.append(File.generated(config, f"api/{modname}.md", content=_api_page(modname, entries)))
    docs = Path(config.docs_dir)
    files.append(File.generated(config, PLOT, content=benchmark_plot(docs / RESULTS)))
    files.append(File.generated(config, "changelog.md",
                                content=(ROOT / "CHANGELOG.md").read_text(encoding="utf-8")))
    if files.get_file_from_path("factorio.md") is None:
        files.append(File.generated(config, "factorio.md", content=_readme_factorio_guide()))
    return files


def on_page_markdown(markdown, page, config, files):
    markdown = markdown.replace("{{ version }}", config.extra["version"])
    if "{{ benchmark_table }}" in markdown:
        markdown = markdown.replace("{{ benchmark_table }}",
                                    benchmark_table(Path(config.docs_dir) / RESULTS))
    return markdown
