"""A Lua 5.2 sandbox shaped like Factorio's, holding one mod's files (``sandbox.lua``).

Factorio runs mods in a modified Lua 5.2.1 (docs/factorio-facts.md §1). lupa ships a real Lua 5.2
(``lupa.lua52``, with ``bit32``); this module gives the mod a global environment with only what
Factorio offers: no ``io``, ``os``, ``loadfile``, ``dofile``, ``coroutine``, ``package`` or C
modules, ``load`` of text chunks only, ``require`` of the mod's own files while ``control.lua``
runs, and ``serpent``, ``log``, ``table_size``, ``localised_print``, ``print``. Lua 5.2 itself
refuses the bitwise operators (``a | b`` is a syntax error), as Factorio's lexer does.

Strings cross between Lua and Python as latin-1, so binary Lua strings (a frame before base64)
map one to one onto Python ``str`` code points 0..255.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from factorio_fast.errors import FactorioServerError, InvalidArgumentError

__all__ = ["Sandbox", "LuaError", "new_runtime"]

try:
    import lupa.lua52 as _lupa
except ImportError:  # pragma: no cover - lupa is a test dependency
    _lupa = None

LuaError = _lupa.LuaError if _lupa is not None else RuntimeError
ENCODING = "latin-1"


def new_runtime():
    """A fresh Lua 5.2 runtime (no ``python`` global reachable from Lua code)."""
    if _lupa is None:
        raise FactorioServerError("the emulator needs lupa (pip install lupa): it runs the mod's "
                                  "Lua in lupa's Lua 5.2")
    lua = _lupa.LuaRuntime(unpack_returned_tuples=True, register_eval=False,
                           register_builtins=False, encoding=ENCODING)
    lua.execute("python = nil")
    return lua


def _emulator_lua(name: str) -> str:
    return resources.files("factorio_fast.emulator").joinpath(name).read_text(encoding="utf-8")


class Sandbox:
    """One mod's Lua environment.

    Parameters
    ----------
    mod_dir : path
        The mod's folder (``info.json``, ``control.lua``, ...).
    mod_name : str
        Its name (``__mod_name__/`` paths in ``require``).
    lua : LuaRuntime, optional
        The runtime to use (a new one by default).
    on_print, on_log : callable, optional
        Receive the text of ``print``/``localised_print`` and ``log`` calls (default: collected in
        ``self.stdout`` / ``self.log_lines``).
    """

    def __init__(self, mod_dir, mod_name: str = "factorio_fast", *, lua=None,
                 on_print: Callable[[str], None] | None = None,
                 on_log: Callable[[str], None] | None = None):
        self.mod_dir = Path(mod_dir).resolve()
        if not self.mod_dir.is_dir():
            raise InvalidArgumentError(f"mod directory {self.mod_dir} does not exist")
        self.mod_name = mod_name
        self.lua = lua if lua is not None else new_runtime()
        self.stdout: list[str] = []
        self.log_lines: list[str] = []
        self._on_print = on_print or self.stdout.append
        self._on_log = on_log or self.log_lines.append
        hooks = self.lua.table_from({
            "print": self._on_print,
            "log": self._on_log,
            "localised_print": self._localised_print,
            "read": self._read,
            "mod_name": mod_name,
        })
        self._api = self.lua.execute(_emulator_lua("sandbox.lua"))(hooks)
        self.env = self._api.env

    def _read(self, path: str):
        """The text of a .lua file inside the mod folder, or None (require's file lookup)."""
        if not isinstance(path, str) or not path.endswith(".lua") or ".." in path:
            return None
        p = (self.mod_dir / path).resolve()
        if self.mod_dir not in p.parents or not p.is_file():
            return None
        return p.read_bytes().decode(ENCODING)

    def _localised_print(self, value):
        # A LocalisedString is a string or a table {key, params...}; the emulator has no locale,
        # so a table prints as its serpent line (the game would print the translation).
        if isinstance(value, (str, int, float)):
            self._on_print(str(value))
        else:
            self._on_print(self.env.serpent.line(value))

    def set_global(self, name: str, value) -> None:
        self.env[name] = value

    def load_main(self, path: str = "control.lua"):
        """Run the mod's main chunk (``require`` works only while it runs)."""
        return self._api.load_main(path)

    def run(self, source: str, chunkname: str = "=(test)"):
        """Compile and run text in the mod's environment. Returns (ok, result_or_error)."""
        res = self._api.run(source, chunkname)
        if isinstance(res, tuple):
            return res[0], (res[1] if len(res) > 1 else None)
        return res, None
