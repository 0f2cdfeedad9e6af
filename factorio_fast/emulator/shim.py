"""The shim's plumbing: how Python classes declare Factorio API members, and the bridge that
exposes their instances to the mod's Lua as LuaObjects (``bridge.lua``).

A shim class names its API class (``API_CLASS = "LuaEntity"``) and declares members with
:func:`attribute` (read-only unless given a setter, write-only if declared so) and :func:`method`
(positional parameters named as in the API, or ``table=(...)`` for methods called with one table
of named parameters). ``tests/test_emulator_api.py`` checks every declaration against
``runtime-api-2.0.45.json``: the class exists, each member exists on it or a parent with the same
read/write mode, and the parameter names are the API's.
"""

from __future__ import annotations

import inspect
from importlib import resources

__all__ = ["LuaApiError", "ShimObject", "attribute", "method", "Bridge", "Position", "Records",
           "Filter", "ValidObject", "NOT_EMULATED"]

NOT_EMULATED = "emulator: not emulated: "


class LuaApiError(Exception):
    """An error the game would raise inside the mod (delivered to Lua as a Lua error)."""


class Position:
    """A MapPosition returned to Lua as {x = x, y = y}."""

    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


class Records:
    """An array of records with the same fields (one bridge crossing for all of them)."""

    __slots__ = ("fields", "rows")

    def __init__(self, fields: tuple, rows: list):
        self.fields = fields
        self.rows = rows


class Attr:
    def __init__(self, fget=None, fset=None, name=None):
        self.fget = fget
        self.fset = fset
        self.name = name or (fget.__name__ if fget else None)

    def setter(self, fset):
        self.fset = fset
        return self

    def __get__(self, obj, owner=None):
        # Python code reads an attribute as Lua does (obj.tick); the class gives the declaration
        if obj is None or self.fget is None:
            return self
        return self.fget(obj)

    @property
    def mode(self) -> int:
        """1 read-only, 2 write-only, 3 read/write (bridge.lua's codes)."""
        return (1 if self.fget else 0) | (2 if self.fset else 0)


class Method:
    def __init__(self, fn, table=None, name=None, filter=False):
        self.fn = fn
        self.filter = filter
        self.table = tuple(table) if table is not None else None
        self.name = name or fn.__name__
        params = list(inspect.signature(fn).parameters.values())[1:]
        self.params = tuple(p.name for p in params)
        self.required = sum(1 for p in params if p.default is inspect.Parameter.empty)


def attribute(fget=None, *, name=None, write_only=False):
    """Declare an API attribute (the getter's name is the API name unless ``name`` is given)."""
    if write_only:
        def deco(fset):
            return Attr(None, fset, name or fset.__name__)
        return deco
    if fget is None:
        return lambda f: Attr(f, None, name)
    return Attr(fget, None, name)


def method(fn=None, *, table=None, name=None, filter=False):
    """Declare an API method. ``table``: the named parameters the shim takes from its one table
    argument (each must be one of the API's parameter names). ``filter``: the method's one
    parameter is a search filter, which reaches it as a :class:`Filter`."""
    if fn is None:
        return lambda f: Method(f, table, name, filter)
    return Method(fn, table, name, filter)


class Filter:
    """A search filter (EntitySearchFilters / TileSearchFilters) flattened by bridge.lua."""

    __slots__ = ("area", "position", "radius", "name", "type", "force", "limit", "invert")

    def __init__(self, x1, y1, x2, y2, px, py, radius, name, type_, force, limit, invert):
        self.area = None if x1 is None else (x1, y1, x2, y2)
        self.position = None if px is None else (px, py)
        self.radius = radius
        self.name = None if name is None else set(str(name).split("\n"))
        self.type = None if type_ is None else set(str(type_).split("\n"))
        self.force = force
        self.limit = limit
        self.invert = bool(invert)


class ShimObject:
    """Base of every object the mod can see."""

    API_CLASS = ""
    _ff_id = 0

    def is_valid(self) -> bool:
        return True

    @attribute
    def object_name(self):
        return self.API_CLASS


class ValidObject(ShimObject):
    """An object the API gives a ``valid`` attribute (entities, surfaces, inventories, ...; the
    global singletons have none)."""

    @attribute
    def valid(self):
        return self.is_valid()


def members(cls) -> tuple[dict, dict]:
    """(attributes, methods) a shim class declares, by API name, its bases included."""
    attrs, meths = {}, {}
    for klass in reversed(cls.__mro__):
        for v in vars(klass).values():
            if isinstance(v, Attr):
                attrs[v.name] = v
            elif isinstance(v, Method):
                meths[v.name] = v
    return attrs, meths


def _emulator_lua(name: str) -> str:
    return resources.files("factorio_fast.emulator").joinpath(name).read_text(encoding="utf-8")


class Bridge:
    """Exposes shim objects to one Lua runtime (see bridge.lua for the wire tags)."""

    def __init__(self, lua, classes, profile: bool = False):
        import lupa.lua52 as lupa

        self.lua = lua
        self._lua_type = lupa.lua_type
        self.objects: dict[int, ShimObject] = {}
        self._next = 1
        self._classes: dict[type, tuple[dict, dict]] = {}
        specs = {}
        for cls in classes:
            attrs, meths = members(cls)
            self._classes[cls] = (attrs, meths)
            specs[cls.API_CLASS] = lua.table_from({
                "attrs": lua.table_from({k: a.mode for k, a in attrs.items()}),
                "methods": lua.table_from({k: 2 if m.filter else True for k, m in meths.items()}),
            })
        self.calls = 0          # profile: API calls from Lua ...
        self.py_seconds = 0.0   # ... and the time the shim's Python spent answering them
        cbs = [self.py_get, self.py_set, self.py_call, self.py_filter]
        if profile:
            cbs = [self._timed(f) for f in cbs]
        self.api = lua.execute(_emulator_lua("bridge.lua"))(
            cbs[0], cbs[1], cbs[2], lua.table_from(specs), cbs[3])
        self._proxy = self.api.proxy
        self._id_of = self.api.id_of

    def _timed(self, fn):
        import time
        clock = time.perf_counter

        def timed(*args):
            t = clock()
            try:
                return fn(*args)
            finally:
                self.calls += 1
                self.py_seconds += clock() - t
        return timed

    # ---- Python -> Lua ----

    def export(self, obj: ShimObject) -> int:
        if not obj._ff_id:
            obj._ff_id = self._next
            self._next += 1
            self.objects[obj._ff_id] = obj
        return obj._ff_id

    def proxy(self, obj: ShimObject):
        """The Lua proxy of obj (for globals such as game, and for tables built in Python)."""
        return self._proxy(self.export(obj), obj.API_CLASS)

    def table(self, value):
        """A Lua table from Python dicts/lists (objects become proxies, Positions {x=, y=})."""
        if isinstance(value, ShimObject):
            return self.proxy(value)
        if isinstance(value, Position):
            return self.lua.table_from({"x": value.x, "y": value.y})
        if isinstance(value, dict):
            return self.lua.table_from({k: self.table(v) for k, v in value.items()})
        if isinstance(value, (list, tuple)):
            return self.lua.table_from([self.table(v) for v in value])
        return value

    def encode(self, v):
        if v is None or isinstance(v, (bool, int, float, str)):
            return 0, v
        if isinstance(v, ShimObject):
            return 1, self.export(v), v.API_CLASS
        if isinstance(v, Position):
            return 2, v.x, v.y
        if isinstance(v, Records):
            flat = [6, len(v.fields), *v.fields, len(v.rows)]
            for row in v.rows:
                flat.extend(row)
            return tuple(flat)
        if isinstance(v, list) and all(isinstance(o, ShimObject) for o in v):
            flat = [3, len(v)]
            for o in v:
                flat.append(self.export(o))
                flat.append(o.API_CLASS)
            return tuple(flat)
        return 4, self.table(v)

    # ---- Lua -> Python ----

    def unwrap(self, v):
        """A proxy argument back to its shim object; other values unchanged."""
        if v is not None and self._lua_type(v) == "table":
            i = self._id_of(v)
            if i is not None:
                return self.objects[i]
        return v

    def _target(self, oid, key, what):
        obj = self.objects[oid]
        attrs, meths = self._classes[type(obj)]
        if key not in ("valid", "object_name") and not obj.is_valid():
            raise LuaApiError(f"{obj.API_CLASS} API call when {obj.API_CLASS} was invalid.")
        member = (attrs if what == "attr" else meths).get(key)
        if member is None:  # bridge.lua checked the class spec; a subclass may not offer it
            raise LuaApiError(f"{obj.API_CLASS} doesn't contain key {key}.")
        return obj, member

    def py_get(self, oid, key):
        try:
            obj, a = self._target(oid, key, "attr")
            return self.encode(a.fget(obj))
        except LuaApiError as e:
            return 9, str(e)

    def py_set(self, oid, key, value):
        try:
            obj, a = self._target(oid, key, "attr")
            a.fset(obj, self.unwrap(value))
            return (0, None)
        except LuaApiError as e:
            return 9, str(e)

    def py_filter(self, oid, key, ok, *flat):
        try:
            obj, m = self._target(oid, key, "method")
            if not ok:
                raise LuaApiError(f"{obj.API_CLASS}::{key}: filter table expected (a "
                                  "BoundingBox area is {{x1, y1}, {x2, y2}})")
            if flat[-1]:
                raise LuaApiError(NOT_EMULATED + f"{obj.API_CLASS}::{key} filter key "
                                  f"{flat[-1].split(',')[0]}")
            return self.encode(m.fn(obj, Filter(*flat[:-1])))
        except LuaApiError as e:
            return 9, str(e)

    def py_call(self, oid, key, nargs, *args):
        try:
            obj, m = self._target(oid, key, "method")
            args = [self.unwrap(a) for a in args[:nargs]]
            if m.table is not None:
                if not args:  # e.g. entity.destroy(): every named parameter left out
                    return self.encode(m.fn(obj, {}))
                if len(args) != 1 or args[0] is None or self._lua_type(args[0]) != "table":
                    raise LuaApiError(f"{obj.API_CLASS}::{key}: expects one table of named "
                                      f"parameters")
                opts = {k: self.unwrap(v) for k, v in args[0].items()}
                unknown = set(opts) - set(m.table)
                if unknown:
                    raise LuaApiError(NOT_EMULATED + f"{obj.API_CLASS}::{key} parameter "
                                      f"{sorted(unknown)[0]}")
                return self.encode(m.fn(obj, opts))
            if len(args) > len(m.params):
                raise LuaApiError(f"{obj.API_CLASS}::{key}: too many arguments")
            while len(args) < m.required:
                args.append(None)
            return self.encode(m.fn(obj, *args))
        except LuaApiError as e:
            return 9, str(e)
