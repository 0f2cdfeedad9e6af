"""Where the mod's files are, and the zip a server's ``mods/`` folder takes.

The mod is the repository's ``lua/`` folder. In a checkout it is found there; an installed wheel
carries it as package data, ``factorio_fast/mod/`` (setup.py maps ``lua/`` there).
:func:`mod_dir` is the one place that decides.
"""

from __future__ import annotations

import json
import zipfile
from importlib import resources
from pathlib import Path

from factorio_fast.errors import FactorioServerError, InvalidArgumentError

__all__ = ["mod_dir", "mod_info", "mod_version", "write_zip"]

MOD_NAME = "factorio_fast"


def mod_dir() -> Path:
    """The folder holding the mod's ``info.json`` and ``control.lua``: the source tree's
    ``lua/`` when running from a checkout, else the installed package data."""
    package = Path(str(resources.files("factorio_fast")))
    for candidate in (package.parent / "lua", package / "mod"):
        if (candidate / "info.json").is_file() and (candidate / "control.lua").is_file():
            return candidate
    raise FactorioServerError(
        "factorio_fast's mod files were not found (looked for lua/info.json next to the "
        f"package at {package.parent} and in the package itself); reinstall factorio_fast")


def mod_info(path: Path | None = None) -> dict:
    """The mod's ``info.json``."""
    return json.loads(((path or mod_dir()) / "info.json").read_text(encoding="utf-8"))


def mod_version(path: Path | None = None) -> str:
    return mod_info(path)["version"]


def _files(root: Path):
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in (".lua", ".json", ".txt", ".png", ".cfg") \
                and "__pycache__" not in p.parts:
            yield p


def write_zip(directory) -> Path:
    """Write ``factorio_fast_<version>.zip`` into ``directory`` (created if missing): a folder
    ``factorio_fast_<version>/`` holding info.json and the Lua files, as Factorio expects a mod
    in ``mods/`` (https://wiki.factorio.com/Tutorial:Mod_structure). Returns the zip's path."""
    out_dir = Path(directory)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidArgumentError(f"{out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    root = mod_dir()
    info = mod_info(root)
    if info.get("name") != MOD_NAME:
        raise FactorioServerError(f"{root / 'info.json'} names the mod {info.get('name')!r}")
    top = f"{MOD_NAME}_{info['version']}"
    path = out_dir / f"{top}.zip"
    tmp = path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in _files(root):
            z.write(p, f"{top}/{p.relative_to(root).as_posix()}")
    tmp.replace(path)
    return path
