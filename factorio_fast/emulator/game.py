"""The emulated server: the game's global objects (game, script, commands, rcon, helpers,
prototypes, defines, storage) and its main loop, as Factorio runs a mod.

Lifecycle and event dispatch (docs/factorio-facts.md §2.2, §3.1):

* ``control.lua``'s main chunk runs first, with ``script``, ``commands``, ``helpers``,
  ``prototypes``, ``rcon``, ``defines`` and ``storage`` but no ``game`` (INFERRED from the
  data-lifecycle page, https://lua-api.factorio.com/latest/auxiliary/data-lifecycle.html: the
  game object exists from on_init on). Command registrations happen there, since they do not
  persist through save/load (API LuaCommandProcessor::add_command).
* A new game then raises ``on_init`` once.
* Commands (``/name parameter``, as over RCON) run between ticks and keep running while
  ``game.tick_paused`` is true; ``rcon.print`` writes to the calling RCON interface and does
  nothing outside an RCON command (API LuaRCON::print).
* A tick, when the game is not paused, or while it is paused and ``game.ticks_to_run`` > 0 ("the
  entity update runs normally and this value is decremented every tick. When it reaches 0 the
  game pauses again", API LuaGameScript::ticks_to_run): ``game.tick`` advances, ``on_tick``
  runs, then every surface's entity update (its World ticks once). That on_tick runs before the
  entity update of the same tick is INFERRED (the mod re-applies walking both in the step command
  and in on_tick, which gives the same walk under either order). The reported quirk that
  ``on_tick`` does not run for the last of ``ticks_to_run`` ticks (docs/factorio-facts.md §3.1,
  reported) is not modelled.
"""

from __future__ import annotations

import base64
import binascii
import functools
import time
import zlib
from collections.abc import Callable

from factorio_fast._sim import RECIPES
from factorio_fast.emulator.api import NEWER_API, api_spec
from factorio_fast.emulator.sandbox import LuaError, Sandbox
from factorio_fast.emulator.shim import (
    NOT_EMULATED,
    Bridge,
    LuaApiError,
    Records,
    ShimObject,
    ValidObject,
    attribute,
    method,
)
from factorio_fast.emulator.world import (
    ENTITY_IDS,
    ENTITY_TYPE,
    ITEM_NAMES,
    RECIPE_NAMES,
    LuaBurner,
    LuaEntity,
    LuaInventory,
    LuaSurface,
    LuaTile,
)
from factorio_fast.errors import FactorioServerError, InvalidArgumentError

__all__ = ["Emulator", "ModError", "define_value", "define_name", "SHIM_CLASSES"]


def _version(text: str) -> tuple:
    return tuple(int(p) for p in text.split("."))


class ModError(FactorioServerError):
    """The mod raised inside an event or a command (a real server stops with "The mod ...
    caused a non-recoverable error")."""


# ---- defines ----

@functools.lru_cache(maxsize=1)
def _define_tables() -> tuple[dict, dict]:
    """(group -> {name: value}, group -> {value: name}). Directions are the game's numbers
    (north 0 ... 15, docs/factorio-facts.md §4.2) and on_tick is event 0, as the game reports
    it ("on_tick (ID 0)" in its error messages). Other values are the emulator's own (each group's
    names in the API's order): a mod must use the names, never the numbers."""
    spec = api_spec()
    by_name, by_value = {}, {}
    for group, names in spec.defines.items():
        if group == "defines.events":
            order = ["on_tick"] + [n for n in names if n != "on_tick"]
            values = {n: i for i, n in enumerate(order)}
        elif group == "defines.inventory":
            values = {n: i + 1 for i, n in enumerate(names)}
        else:
            values = {n: i for i, n in enumerate(names)}
        by_name[group] = values
        by_value[group] = {v: n for n, v in values.items()}
    return by_name, by_value


def define_value(group: str, name: str) -> int:
    return _define_tables()[0][group][name]


def define_name(group: str, value) -> str:
    try:
        return _define_tables()[1][group][value]
    except (KeyError, TypeError):
        raise LuaApiError(f"{group}: unknown value {value!r}") from None


def _defines_tree(newer: bool = True) -> dict:
    """The defines table; without the names newer than the API JSON (api.NEWER_API) when the
    emulated version predates them."""
    tree: dict = {}
    for group, values in _define_tables()[0].items():
        if not newer and group == "defines.events":
            values = {k: v for k, v in values.items() if k not in NEWER_API["events"]}
        node = tree
        for part in group.split(".")[1:]:
            node = node.setdefault(part, {})
        node.update(values)
    return tree


# ---- prototypes ----

class LuaPrototypeBase(ShimObject):
    """The API's abstract parent of the prototypes (name, type); not offered by itself."""

    API_CLASS = "LuaPrototypeBase"

    def __init__(self, name, ptype):
        self._pname = name
        self._ptype = ptype

    @attribute
    def name(self):
        return self._pname

    @attribute
    def type(self):
        return self._ptype


class LuaRecipePrototype(LuaPrototypeBase, ValidObject):
    API_CLASS = "LuaRecipePrototype"

    def __init__(self, index):
        super().__init__(RECIPE_NAMES[index], "recipe")
        self._r = RECIPES[index]
        self._rname = RECIPE_NAMES[index]

    @attribute
    def energy(self):
        """Seconds at crafting speed 1."""
        return self._r["ticks"] / 60

    @attribute
    def ingredients(self):
        return Records(("type", "name", "amount"),
                       [("item", ITEM_NAMES[i], n) for i, n in self._r["inputs"]])

    @attribute
    def products(self):
        item, n = self._r["output"]
        return Records(("type", "name", "amount"), [("item", ITEM_NAMES[item], n)])

    @attribute
    def category(self):
        return "crafting"

    @attribute
    def enabled(self):
        return True  # all four are enabled at the start (docs/factorio-facts.md §4.4)


class LuaEntityPrototype(LuaPrototypeBase, ValidObject):
    API_CLASS = "LuaEntityPrototype"

    def __init__(self, name):
        super().__init__(name, ENTITY_TYPE[name])
        from factorio_fast._rawobs import ENTITY_INFO
        self._fp = ENTITY_INFO[ENTITY_IDS[name]][4]

    @attribute
    def tile_width(self):
        return self._fp

    @attribute
    def tile_height(self):
        return self._fp

    @attribute
    def mining_speed(self):
        # character 0.5, burner drill 0.25 (docs/factorio-facts.md §4.1, §4.3)
        return {"character": 0.5, "burner-mining-drill": 0.25}.get(self._pname)


class LuaItemPrototype(LuaPrototypeBase, ValidObject):
    API_CLASS = "LuaItemPrototype"

    def __init__(self, name, stack):
        super().__init__(name, "item")
        self._stack = stack

    @attribute
    def stack_size(self):
        return self._stack


class LuaPrototypes(ShimObject):
    API_CLASS = "LuaPrototypes"

    def __init__(self, emu):
        from factorio_fast import codec
        b = emu._bridge
        self._recipe = b.table({n: LuaRecipePrototype(i) for i, n in enumerate(RECIPE_NAMES)})
        self._entity = b.table({n: LuaEntityPrototype(n) for n in ENTITY_TYPE})
        self._item = b.table({n: LuaItemPrototype(n, s) for n, s in
                              zip(codec.ITEM_NAMES, codec.ITEM_STACK) if n})

    # LuaCustomTables in the game (read-only, indexed by name); plain tables here
    @attribute
    def recipe(self):
        return self._recipe

    @attribute
    def entity(self):
        return self._entity

    @attribute
    def item(self):
        return self._item


# ---- global objects ----

class LuaGameScript(ShimObject):
    API_CLASS = "LuaGameScript"

    def __init__(self, emu):
        self._emu = emu
        self._tick = 0
        self._played = 0
        self._paused = False
        self._to_run = 0
        self._speed = 1.0
        self._autosave = True
        self._surfaces: dict[str, LuaSurface] = {}
        self._surface_count = 0
        self._map_settings = emu._bridge.table({
            "pollution": {"enabled": True},
            "enemy_evolution": {"enabled": True},
            "enemy_expansion": {"enabled": True},
        })
        self._add_surface("nauvis", None)

    def _add_surface(self, name, settings):
        # indexes are never reused (a deleted surface's index stays taken)
        self._surface_count += 1
        s = LuaSurface(self, name, self._surface_count, settings)
        self._surfaces[name] = s
        return s

    def _rename_surface(self, s, new):
        if new in self._surfaces:
            raise LuaApiError(f"Surface with name {new} already exists.")
        del self._surfaces[s._name]
        s._name = new
        self._surfaces[new] = s

    def _register_unit(self, e):
        self._emu._units += 1
        e._unit = self._emu._units

    @attribute
    def tick(self):
        return self._tick

    @attribute
    def ticks_played(self):
        return self._played

    @attribute
    def tick_paused(self):
        return self._paused

    @tick_paused.setter
    def tick_paused(self, value):
        self._paused = bool(value)

    @attribute
    def ticks_to_run(self):
        return self._to_run

    @ticks_to_run.setter
    def ticks_to_run(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                or value != int(value) or value > 0xFFFFFFFF:
            raise LuaApiError("LuaGameScript::ticks_to_run: uint32 expected")
        self._to_run = int(value)

    @attribute
    def speed(self):
        return self._speed

    @speed.setter
    def speed(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0.01:
            raise LuaApiError("LuaGameScript::speed: must be at least 0.01")
        self._speed = float(value)

    @attribute
    def autosave_enabled(self):
        return self._autosave

    @autosave_enabled.setter
    def autosave_enabled(self, value):
        self._autosave = bool(value)

    @attribute
    def map_settings(self):
        # the same table each time, so writes to its members stick (as in the game, where the
        # returned MapSettings' members are writable: docs/factorio-facts.md §5)
        return self._map_settings

    @method
    def create_surface(self, name, settings=None):
        if not isinstance(name, str) or not name:
            raise LuaApiError("LuaGameScript::create_surface: name expected")
        if name in self._surfaces:
            raise LuaApiError(f"Surface with name {name} already exists.")
        opts = {}
        if settings is not None:
            opts = {k: settings[k] for k in ("width", "height", "seed", "peaceful_mode",
                                             "no_enemies_mode") if settings[k] is not None}
        w, h = opts.get("width") or 0, opts.get("height") or 0
        if not w and not h:
            # infinite width and height: an ordinary map, from the emulator's stand-in for the
            # game's map generator (world.ordinary_map; docs/emulator.md)
            opts["ordinary"] = True
        elif not w or not h:
            raise LuaApiError(NOT_EMULATED + "surfaces infinite on one axis only")
        return self._add_surface(name, opts)

    @method
    def delete_surface(self, surface):
        """The game deletes at the end of the tick (docs/factorio-facts.md §5); the emulator at
        once: the surface and its entities become invalid. nauvis cannot be deleted."""
        s = surface if isinstance(surface, LuaSurface) else self.get_surface(surface)
        if s is None or not s.is_valid():
            raise LuaApiError("LuaGameScript::delete_surface: unknown surface")
        if s._index == 1:
            raise LuaApiError("The default surface can't be deleted.")
        s._valid = False
        del self._surfaces[s._name]
        return True

    @attribute
    def default_map_gen_settings(self):
        # a new table each read (a MapGenSettings value, not a live object); width and height 0
        # are the game's "infinite" map
        return self._emu._bridge.table({"seed": 0, "width": 0, "height": 0,
                                        "peaceful_mode": False, "no_enemies_mode": False,
                                        "default_enable_all_autoplace_controls": True})

    @method
    def get_surface(self, surface):
        if isinstance(surface, str):
            return self._surfaces.get(surface)
        for s in self._surfaces.values():
            if s._index == surface:
                return s
        return None

    @method
    def print(self, message, print_settings=None):
        self._emu.console.append(str(message) if isinstance(message, (str, int, float))
                                 else self._emu.sandbox.env.serpent.line(message))
        return None


class LuaBootstrap(ShimObject):
    API_CLASS = "LuaBootstrap"

    def __init__(self, emu):
        self._emu = emu

    @attribute
    def mod_name(self):
        return self._emu.mod_name

    @method
    def on_init(self, handler):
        self._emu._on_init = handler
        return None

    @method
    def on_load(self, handler):
        self._emu._on_load = handler
        return None

    @method
    def on_configuration_changed(self, handler):
        self._emu._on_config = handler
        return None

    @method
    def on_event(self, event, handler, filters=None):
        events = [event] if isinstance(event, (int, float)) else \
            [event[i] for i in range(1, len(event) + 1)]
        for ev in events:
            define_name("defines.events", ev)  # a known event id, or this raises
            if handler is None:
                self._emu._handlers.pop(int(ev), None)
            else:
                self._emu._handlers[int(ev)] = handler
        return None


class LuaCommandProcessor(ShimObject):
    API_CLASS = "LuaCommandProcessor"

    def __init__(self, emu):
        self._emu = emu

    @attribute
    def commands(self):
        return {name: help_ for name, (help_, _f) in self._emu._commands.items()}

    @method
    def add_command(self, name, help, function):
        if not isinstance(name, str) or not name or " " in name:
            raise LuaApiError("LuaCommandProcessor::add_command: bad command name")
        if name in self._emu._commands:
            raise LuaApiError(f"Command with name \"{name}\" already exists.")
        self._emu._commands[name] = (help if isinstance(help, str) else "", function)
        return None

    @method
    def remove_command(self, name):
        return self._emu._commands.pop(name, None) is not None


class LuaRCON(ShimObject):
    API_CLASS = "LuaRCON"

    def __init__(self, emu):
        self._emu = emu

    @method
    def print(self, message):
        out = self._emu._rcon_out
        if out is not None:  # a no-op outside an RCON command
            text = message if isinstance(message, str) else \
                self._emu.sandbox.env.serpent.line(message)
            out.append(text + "\n")
        return None


class LuaHelpers(ShimObject):
    API_CLASS = "LuaHelpers"

    def __init__(self, emu=None):
        self._emu = emu

    def _udp(self, key):
        emu = self._emu
        if emu is None or not emu.has_udp_api:
            # builds before 2.0.59 have no such member (bridge.lua cannot hide a method by
            # version, so the emulator refuses the call instead of the lookup)
            raise LuaApiError(f"LuaHelpers doesn't contain key {key}.")
        if emu.udp is None:
            raise LuaApiError(f"LuaHelpers::{key}: Lua UDP is not enabled (start the server with "
                              "--enable-lua-udp PORT)")  # the message is the emulator's
        return emu.udp

    @method
    def send_udp(self, port, data, for_player=None):
        """Send data from the server's one Lua UDP socket to 127.0.0.1:port (API
        LuaHelpers::send_udp, >= 2.0.59). A datagram above the reported frame cap is dropped
        without an error, as reported for the game (docs/factorio-facts.md §2.2)."""
        udp = self._udp("send_udp")
        if isinstance(port, bool) or not isinstance(port, (int, float)) or port != int(port) \
                or not 0 < port <= 65535:
            raise LuaApiError("LuaHelpers::send_udp: port must be a uint16 above 0")
        if not isinstance(data, (str, int, float)):
            raise LuaApiError(NOT_EMULATED + "LuaHelpers::send_udp with a LocalisedString table")
        _check_server_player(for_player, "send_udp")
        udp.send(int(port), str(data).encode("latin-1"))
        return None

    @method
    def recv_udp(self, for_player=None):
        """Take the packets the socket received since the last call; each becomes an input
        action, raised as on_udp_packet_received at the next update (API LuaHelpers::recv_udp,
        docs/factorio-facts.md §2.2)."""
        udp = self._udp("recv_udp")
        _check_server_player(for_player, "recv_udp")
        udp.receive()
        return None

    @method
    def encode_string(self, string):
        """Deflate and base64 (API LuaHelpers::encode_string). The stream is zlib-wrapped, as the
        game's blueprint strings are (INFERRED for this call); the client accepts raw deflate
        too."""
        if not isinstance(string, str):
            raise LuaApiError("LuaHelpers::encode_string: string expected")
        return base64.b64encode(zlib.compress(string.encode("latin-1"), 6)).decode("ascii")

    @method
    def decode_string(self, string):
        """Base64-decode and inflate; nil on failure (API LuaHelpers::decode_string)."""
        if not isinstance(string, str):
            raise LuaApiError("LuaHelpers::decode_string: string expected")
        try:
            raw = base64.b64decode(string.encode("latin-1"), validate=True)
            return inflate(raw).decode("latin-1")
        except (binascii.Error, zlib.error, ValueError):
            return None


def _check_server_player(for_player, what):
    # a headless server has no players: 0 (the server) or nothing
    if for_player is not None and for_player != 0:
        raise LuaApiError(NOT_EMULATED + f"LuaHelpers::{what} for a player (a headless server "
                          "has none; give 0 or nothing)")


def _duration_text(seconds: int) -> str:
    """/time's answer: "1 day, 11 hours, 1 minute and 26 seconds" (the shape a real server's
    reply has, TheLQ/facto-loop-miner factorio-rcon-protocol-docs.md); zero parts are left out."""
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    if not parts:
        return "0 seconds"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def inflate(raw: bytes) -> bytes:
    """A zlib or a raw deflate stream."""
    try:
        return zlib.decompress(raw)
    except zlib.error:
        return zlib.decompress(raw, -15)


SHIM_CLASSES = (LuaGameScript, LuaBootstrap, LuaCommandProcessor, LuaRCON, LuaHelpers,
                LuaPrototypes, LuaRecipePrototype, LuaEntityPrototype,
                LuaItemPrototype, LuaSurface, LuaTile, LuaEntity, LuaInventory, LuaBurner)


class Emulator:
    """One emulated server running one mod.

    Parameters
    ----------
    mod_dir : path, optional
        The mod's folder (default: the installed mod, ``factorio_fast.emulator.modfiles``).
    mod_name : str
        The mod's name (``__name__/`` paths).

    Notes
    -----
    ``command("/name parameter")`` runs a command as RCON would and returns what the mod
    ``rcon.print``-ed; ``run()`` lets the game loop run until it pauses (``tick_paused`` with no
    ``ticks_to_run`` left) or ``max_ticks`` ticks passed. Between the two, a client that sends a
    command and then waits sees the same thing as with a real server running at full speed.
    """

    def __init__(self, mod_dir=None, mod_name: str = "factorio_fast", *, profile: bool = False,
                 load_mod: bool = True, version: str = "2.0.45", udp=None,
                 on_print: Callable[[str], None] | None = None,
                 on_log: Callable[[str], None] | None = None):
        if mod_dir is None:
            from factorio_fast.emulator.modfiles import mod_dir as installed
            mod_dir = installed()
        self.mod_name = mod_name
        self.version = version
        self.has_udp_api = _version(version) >= _version(NEWER_API["version"])
        self.udp = udp  # a LuaUdpSocket (emulator.udp) when --enable-lua-udp is given
        self._udp_events_id = define_value("defines.events", "on_udp_packet_received")
        self.console: list[str] = []
        self.sandbox = Sandbox(mod_dir, mod_name, on_print=on_print, on_log=on_log)
        self.lua = self.sandbox.lua
        self._bridge = Bridge(self.lua, SHIM_CLASSES, profile=profile)
        self._profile = profile
        self.lua_seconds: dict[str, float] = {}  # profile: wall time inside the mod, by entry
        self._units = 0
        self._handlers: dict[int, object] = {}
        self._commands: dict[str, tuple[str, object]] = {}
        self._on_init = self._on_load = self._on_config = None
        self._rcon_out: list[str] | None = None
        self.game = LuaGameScript(self)
        self._tick_event = self._bridge.table({"name": define_value("defines.events", "on_tick"),
                                               "tick": 0})
        env = self.sandbox.env
        b = self._bridge
        rcon = b.proxy(LuaRCON(self))
        helpers = b.proxy(LuaHelpers(self))
        prototypes = b.proxy(LuaPrototypes(self))
        defines = b.table(_defines_tree(self.has_udp_api))
        env.script = b.proxy(LuaBootstrap(self))
        env.commands = b.proxy(LuaCommandProcessor(self))
        env.rcon = rcon
        env.helpers = helpers
        env.prototypes = prototypes
        env.defines = defines
        env.storage = self.lua.table()
        # The console's Lua (/c, /silent-command) runs in the level's script environment, not in a
        # mod's: the same game objects, its own globals and storage, no access to the mod's
        # locals or storage (https://lua-api.factorio.com/latest/auxiliary/data-lifecycle.html).
        # The emulator has no scenario script, so the level offers no script/commands objects.
        self._level = Sandbox(mod_dir, "level", lua=self.lua, on_print=on_print, on_log=on_log)
        lenv = self._level.env
        lenv.rcon = rcon
        lenv.helpers = helpers
        lenv.prototypes = prototypes
        lenv.defines = defines
        lenv.storage = self.lua.table()
        if load_mod:
            try:
                self.sandbox.load_main("control.lua")
            except LuaError as e:
                raise ModError(f"control.lua failed to load: {e}") from None
        env.game = lenv.game = b.proxy(self.game)
        if self._on_init is not None:
            self._call(self._on_init, None, "on_init")

    # ---- calling into the mod ----

    def _call(self, fn, arg, what):
        if self._profile:
            t = time.perf_counter()
        try:
            return fn(arg) if arg is not None else fn()
        except LuaError as e:
            raise ModError(f"Error while running event {self.mod_name}::{what}\n{e}") from None
        finally:
            if self._profile:
                self.lua_seconds[what] = self.lua_seconds.get(what, 0.0) + time.perf_counter() - t

    @property
    def storage(self):
        return self.sandbox.env.storage

    # ---- the server's inputs ----

    def command(self, line: str) -> str:
        """Run one console command (``/name parameter``) between ticks, as RCON delivers it.
        Returns the text the mod printed with ``rcon.print`` (each print ends with a newline),
        or what the game's built-in command answers (see :meth:`console_command`)."""
        if not isinstance(line, str) or not line.startswith("/"):
            raise InvalidArgumentError("a command starts with '/'")
        name, _, param = line[1:].partition(" ")
        entry = self._commands.get(name)
        if entry is None:
            builtin = self._builtin(name, param)
            if builtin is not None:
                return builtin
            return f"Unknown command \"{name}\".\n"
        data = self._bridge.table({"name": name, "tick": self.game._tick,
                                   **({"parameter": param} if param else {})})
        self._rcon_out = []
        try:
            self._call(entry[1], data, f"command /{name}")
            return "".join(self._rcon_out)
        finally:
            self._rcon_out = None

    def console_command(self, line: str) -> str:
        """One line of the server console, as RCON delivers it: a command (``/...``) or, without
        the slash, a chat message from the server (which answers nothing)."""
        if not isinstance(line, str):
            raise InvalidArgumentError("a console line is text")
        if not line.startswith("/"):
            self.console.append(f"[CHAT] <server>: {line}")
            return ""
        return self.command(line)

    # Built-in console commands (https://wiki.factorio.com/Console): the ones users and tools send
    # over RCON. A mod's command of the same name takes precedence here; the game refuses to
    # register one ("already exists"), which the mod's own commands never hit.
    _LUA_COMMANDS = ("c", "command", "silent-command", "sc")

    def _builtin(self, name: str, param: str) -> str | None:
        if name in self._LUA_COMMANDS:
            return self._run_console_lua(param, silent=name in ("silent-command", "sc"))
        if name == "version":
            return self.version + "\n"
        if name == "time":
            return _duration_text(self.game._played // 60) + "\n"
        return None

    def _run_console_lua(self, source: str, silent: bool) -> str:
        """``/c`` and ``/silent-command``: run the text as a Lua chunk in the level's environment;
        the reply is what it ``rcon.print``-ed. A failing chunk's message ("Cannot execute
        command. Error: ...") comes back over RCON for /silent-command only; /c reports it to the
        console (reported: TheLQ/facto-loop-miner, factorio-rcon-protocol-docs.md)."""
        if not silent:
            self.console.append(f"[COMMAND] <server> (command): {source}")
        self._rcon_out = []
        try:
            # the chunk is named after its text, as load() names a string chunk: errors read
            # [string "rcon.print(x.y)"]:1: ...
            ok, err = self._level.run(source, source)
            out = "".join(self._rcon_out)
        finally:
            self._rcon_out = None
        if not ok:
            msg = f"Cannot execute command. Error: {err}"
            self.console.append(msg)
            if silent:
                out += msg + "\n"
        return out

    def pending_input(self) -> bool:
        """Input actions wait for the next update (UDP packets that recv_udp took)."""
        return self.udp is not None and self.udp.pending()

    def deliver_input(self) -> None:
        """An update's input actions: each packet recv_udp took is raised as
        on_udp_packet_received (payload, source_port, player_index 0, tick). The server runs
        this at every update, paused or not (input actions run while tick_paused: RCON does,
        docs/factorio-facts.md §2.1); a tick runs it first, before game.tick advances (INFERRED
        order; the mod's UDP path does not depend on it, docs/mod.md §7)."""
        if self.udp is None:
            return
        packets = self.udp.take()
        handler = self._handlers.get(self._udp_events_id)
        for payload, port in packets:
            if handler is not None:
                ev = self._bridge.table({"name": self._udp_events_id, "tick": self.game._tick,
                                         "payload": payload.decode("latin-1"),
                                         "source_port": port, "player_index": 0})
                self._call(handler, ev, "on_udp_packet_received")

    def tick(self) -> None:
        """One game tick: the update's input actions, game.tick advances, on_tick, then each
        surface's entity update."""
        g = self.game
        self.deliver_input()
        g._tick += 1
        g._played += 1
        handler = self._handlers.get(0)
        if handler is not None:
            self._tick_event["tick"] = g._tick
            self._call(handler, self._tick_event, "on_tick")
        for s in g._surfaces.values():
            if s.map is not None:
                s.map.tick()

    def run(self, max_ticks: int | None = None) -> int:
        """Run the game loop until it pauses (or max_ticks ticks passed; None: no limit, which
        requires the game to be paused). A paused game still runs updates while input actions
        wait (UDP packets), as the server does. Returns the ticks run."""
        g = self.game
        n = 0
        if max_ticks is None and not g._paused:
            raise InvalidArgumentError("the game is not paused: give max_ticks")
        for _ in range(1_000_000):  # bounded: a mod that re-arms forever cannot hang a test
            if max_ticks is not None and n >= max_ticks:
                break
            if g._paused and g._to_run <= 0:
                if not self.pending_input():
                    break
                self.deliver_input()  # a paused update
                continue
            if g._paused:
                g._to_run -= 1
            self.tick()
            n += 1
        return n
