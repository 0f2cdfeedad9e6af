"""The shim's map side: LuaSurface, LuaTile, LuaEntity, LuaInventory and LuaBurner, whose world is
the native simulator's ``World`` (one per surface).

Coordinates: a surface created with ``MapGenSettings`` width W and height H is a W x H map
centred on the origin, tiles -W/2 .. W/2 - 1 (INFERRED from the API's "Width in tiles. If 0, the
map has 'infinite' width", https://lua-api.factorio.com/2.0.45/concepts/MapGenSettings.html, and
the game's maps being centred on 0,0); everything outside is out-of-map. The World's tile
(wx, wy) is the surface's tile (wx - W/2, wy - H/2). A surface of infinite size (width and height
0, as full_game asks for) gets the 128 x 128 World of ``ordinary_map``, a stand-in for the game's
map generator (docs/emulator.md §6). Positions are exact: the World keeps 1/256 tile fixed point,
as MapPosition does (docs/factorio-facts.md §4.2).

What the World offers is used as the truth. Where its Python API has no call for a game action,
the shim gets the same effect from calls it does have and says so in the method (look for
"World has no"); each such path checks its result and raises a ``LuaApiError`` beginning with
``emulator: not emulated:`` rather than guess. docs/mod.md lists them with the World accessors
that would replace them.
"""

from __future__ import annotations

import math

import numpy as np

from factorio_fast import codec
from factorio_fast._rawobs import ENTITY_INFO
from factorio_fast._sim import RECIPES, SMELT_TICKS, World
from factorio_fast.emulator.shim import (
    NOT_EMULATED,
    LuaApiError,
    Position,
    Records,
    ValidObject,
    attribute,
    method,
)

__all__ = ["LuaSurface", "LuaTile", "LuaEntity", "LuaInventory", "LuaBurner", "MapState",
           "ENTITY_TYPE", "RECIPE_NAMES", "CHARACTER"]

TILE_IDS = codec.TILE_IDS
TILE_NAMES = codec.TILE_NAMES
TILE_BLOCKS = codec.TILE_BLOCKS
ENTITY_IDS = codec.ENTITY_IDS
ITEM_IDS = codec.ITEM_IDS
ITEM_NAMES = codec.ITEM_NAMES
LAB_TILE = TILE_IDS["lab-dark-1"]
KIND_RESOURCE, KIND_BUILDING, KIND_BELT, KIND_CHARACTER = 1, 2, 3, 4
KIND_GROUND = 5  # an item-on-ground entity: a stack the World keeps on a tile (ground_items)
GROUND = "item-on-ground"
# item-on-ground's collision box +-0.14 (Factorio 2.0.77 base/prototypes/entity/entities.lua,
# the item-on-ground prototype)
GROUND_HALF = 0.14
# Prototype types of the entities the World knows (base game data: resources.lua, furnace.lua,
# mining-drill.lua, transport-belt.lua, entities.lua).
ENTITY_TYPE = {"iron-ore": "resource", "copper-ore": "resource", "coal": "resource",
               "stone": "resource", "stone-furnace": "furnace",
               "burner-mining-drill": "mining-drill", "transport-belt": "transport-belt",
               "wooden-chest": "container", "character": "character"}
# ... and of the entities the World keeps without a prototype of its own here (LuaEntity::type)
TYPE_OF = {**ENTITY_TYPE, GROUND: "item-entity"}
# The recipes' names are their products' item names (base game data recipe.lua).
RECIPE_NAMES = tuple(ITEM_NAMES[r["output"][0]] for r in RECIPES)
RECIPE_IDS = {n: i for i, n in enumerate(RECIPE_NAMES)}
# Character prototype values (docs/factorio-facts.md §4.1).
CHARACTER = {"build_distance": 10, "reach_distance": 10, "resource_reach_distance": 2.7}
DRILL_TICKS = 240  # burner drill: iron ore mining_time 1 / mining_speed 0.25 (§4.3)
# The progress fractions LuaControl reports are the engine's sums over the goal: after k ticks
# of hand mining k * (0.5 / 60) / mining_time (character mining_speed 0.5), so 1/120 a tick for
# an ore (mining_time 1) although the ore takes HAND_MINING_TICKS (121) ticks: the double sum
# reaches 1 one tick late (docs/mechanics.md "Timers").
HAND_RATE = 0.5 / 60
# minable.mining_time of what the character can mine here (Factorio 2.0.77 base/prototypes/
# entity/resources.lua: ores and stone 1; entities.lua:1535 wooden-chest 0.1, :1021
# stone-furnace 0.2; mining-drill.lua:1574 burner-mining-drill 0.3; transport-belts.lua:154
# transport-belt 0.1), the same values as ff_world.h's FF_MINE_*_TICKS
MINING_TIME = {"wooden-chest": 0.1, "stone-furnace": 0.2, "burner-mining-drill": 0.3,
               "transport-belt": 0.1}
# defines.inventory names the shim's inventories answer to
INV_MAIN, INV_FUEL, INV_SOURCE, INV_RESULT = "character_main", "fuel", "furnace_source", \
    "furnace_result"


def _num(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
        raise LuaApiError(f"{what}: number expected")
    return v


def position_of(v, what="position") -> tuple[float, float]:
    """A MapPosition argument ({x=, y=} or {x, y}) as two numbers."""
    if isinstance(v, Position):
        return v.x, v.y
    if v is None or isinstance(v, (int, float, str, bool)):
        raise LuaApiError(f"{what}: MapPosition expected")
    x, y = v["x"], v["y"]
    if x is None and y is None:
        x, y = v[1], v[2]
    return _num(x, what), _num(y, what)


def _fixed(v: float) -> int:
    """A coordinate in 1/256 tile. Exact for the multiples of 1/256 the mod uses; others are
    truncated toward zero (INFERRED: the engine's double -> fixed-point conversion,
    docs/factorio-facts.md §4.2)."""
    return int(v * 256)


def item_stack(items, what) -> tuple[str, int]:
    """ItemStackIdentification: a name or {name=, count=} (count defaults to 1)."""
    if isinstance(items, str):
        name, count = items, 1
    elif items is not None and not isinstance(items, (int, float, bool)):
        name, count = items["name"], items["count"]
        count = 1 if count is None else count
    else:
        raise LuaApiError(f"{what}: ItemStackIdentification expected")
    if name not in ITEM_IDS:
        raise LuaApiError(f"Unknown item name: {name}")
    count = _num(count, what)
    if count < 0 or count != int(count):
        raise LuaApiError(f"{what}: count must be a non-negative integer")
    return name, int(count)


def item_name(item, what) -> str:
    if isinstance(item, str):
        name = item
    elif item is not None and not isinstance(item, (int, float, bool)):
        name = item["name"]
    else:
        raise LuaApiError(f"{what}: item name expected")
    if name not in ITEM_IDS:
        raise LuaApiError(f"Unknown item name: {name}")
    return name


class MapState:
    """One surface's World and the shim's records of the entities on it."""

    def __init__(self, w: int, h: int, fill: int = LAB_TILE, ordinary: bool = False):
        if not (1 <= w <= 128 and 1 <= h <= 128):
            raise LuaApiError(NOT_EMULATED + f"a surface of {w}x{h} tiles (the World holds "
                              "1..128 tiles a side; give MapGenSettings width and height)")
        self.w, self.h = w, h
        self.ox, self.oy = w // 2, h // 2
        self.world = World(w, h, fill)
        # an "ordinary" (infinite) map: the stand-in generator's World (ordinary_map); outside
        # it the tiles read as out-of-map, as ungenerated chunks would
        self.ordinary = ordinary
        self.resources: dict[tuple[int, int], LuaEntity] = {}
        self.buildings: list[LuaEntity] = []
        self.bld_tiles: dict[tuple[int, int], LuaEntity] = {}  # footprint tile -> building
        self.character: LuaEntity | None = None
        self.dirty = False
        self._res = None
        self._bld = None
        self._tiles = None
        self.walk = None       # walking direction (0..7) for the next entity update
        self._walk_set = None  # what the World holds
        self.mining = None     # the mining target tile (world coordinates)
        self.selected = None
        self.surface = None    # the LuaSurface (set by it)
        self._ground = None
        self.grounds: dict[tuple[int, int], LuaEntity] = {}  # tile -> item-on-ground entity
        self.ground_gone: set[tuple[int, int]] = set()  # stacks destroyed before a rebuild

    # ---- the World, its caches ----

    def live(self) -> World:
        if self.dirty:
            self._rebuild()
        return self.world

    def touched(self, tiles=True):
        self._res = None
        self._bld = None
        self._ground = None
        if tiles:
            self._tiles = None

    def res_table(self) -> dict:
        if self._res is None:
            self._res = {(x, y): (t, a) for t, x, y, a in self.live().resources()}
        return self._res

    def ground_table(self) -> dict:
        """The World's stacks on the ground: tile -> (item, count)."""
        if self._ground is None:
            self._ground = {(x, y): (i, n) for i, x, y, n in self.live().ground_items()}
        return self._ground

    def ground_entities(self) -> list:
        """An item-on-ground entity per stack the World holds: a stack that appeared (a drill
        dropped it) gets a new one; an entity whose stack is gone (picked up, collected) is
        invalid."""
        table = self.ground_table()
        out = []
        for k, (item, _n) in table.items():
            e = self.grounds.get(k)
            if e is None or not e._valid or e._item != item:
                if e is not None:
                    e._valid = False
                e = LuaEntity(self.surface, GROUND, 0, KIND_GROUND, *k)
                e._item = item
                e._bbox = e._box()
                self.grounds[k] = e
            out.append(e)
        for k in [k for k in self.grounds if k not in table]:
            self.grounds.pop(k)._valid = False
        return out

    def bld_table(self) -> list:
        if self._bld is None:
            self._bld = self.live().buildings()
        return self._bld

    def tile_ids(self) -> np.ndarray:
        if self._tiles is None:
            self._tiles = (self.live().cells() >> 28).astype(np.uint8)
        return self._tiles

    def in_map(self, wx, wy) -> bool:
        return 0 <= wx < self.w and 0 <= wy < self.h

    def _rebuild(self):
        """World has no call to remove an entity: a new World gets everything that is left.
        Exact only if what is left holds no running state the World API cannot set again
        (buildings as placed, no hand-mining progress, the head craft not started); otherwise
        this refuses."""
        old = self.world
        self.dirty = False
        new = World(self.w, self.h, LAB_TILE)
        ids = (old.cells() >> 28).astype(np.uint8)
        for y, x in zip(*np.nonzero(ids != LAB_TILE)):
            new.set_tile(int(x), int(y), int(ids[y, x]))
        for t, x, y, a in old.resources():
            ent = self.resources.get((x, y))
            if ent is not None and ent._valid:
                new.add_resource(x, y, t, a)
        for item, x, y, n in old.ground_items():
            if (x, y) not in self.ground_gone:
                new.add_ground(x, y, item, n)
        self.ground_gone.clear()
        blds = old.buildings()
        keep = []
        for ent in self.buildings:
            if not ent._valid:
                continue
            b = blds[ent._index]
            if any(b[k] for k in ("fuel", "src", "out", "progress", "produced", "energy")):
                self.dirty = True
                raise LuaApiError(NOT_EMULATED + "destroying an entity while another building "
                                  "on the surface has fuel, items or progress")
            ent._index = new.add_building(b["entity"], b["x"], b["y"], b["direction"])
            keep.append(ent)
        self.buildings = keep
        new.set_position(*old.position)
        inv = old.inventory()
        for i in range(1, len(ITEM_NAMES)):
            if inv[i]:
                new.set_item(i, int(inv[i]))
        if self.mining is not None:
            if old.mining_progress:
                self.dirty = True
                raise LuaApiError(NOT_EMULATED + "destroying an entity while the character is "
                                  "half-way through mining")
            new.set_mining(self.mining)
        queue = old.craft_queue()
        if queue and old.craft_progress:
            self.dirty = True
            raise LuaApiError(NOT_EMULATED + "editing the surface while a craft is in progress")
        for recipe, count, prerequisite in queue:  # the ingredients are taken already
            new.push_craft(recipe, count, prerequisite)
        self.world = new
        self._walk_set = None
        self.touched()

    # ---- one entity update ----

    def tick(self):
        w = self.live()
        if self.walk != self._walk_set:
            w.set_walking(self.walk)
            self._walk_set = self.walk
        n_bld = w.building_count
        w.tick(1)
        # walking_state is one-shot: "will only make the player walk for one tick" (API
        # LuaControl::walking_state, docs/factorio-facts.md §3.1)
        self.walk = None
        self.touched(tiles=False)
        if w.building_count != n_bld:
            self._picked_up()

    def mined_building(self):
        """The building the character mines now (covering the mining target tile), or None."""
        if self.mining is None:
            return None
        e = self.bld_tiles.get(self.mining)
        return e if e is not None and e._valid else None

    def _picked_up(self):
        """The World picked up the building under the mining target (the character mines what
        is selected there: ff_world.h ff_world_set_mining): its entity becomes invalid and the
        buildings after it move down one slot of the World's list, as they do there."""
        e = self.mined_building()
        if e is None:
            raise LuaApiError(NOT_EMULATED + "a building left the World other than by mining")
        e._valid = False
        for k in [k for k, v in self.bld_tiles.items() if v is e]:
            del self.bld_tiles[k]
        gone = e._index
        for b in self.buildings:
            if b._valid and b._index > gone:
                b._index -= 1
        self.buildings = [b for b in self.buildings if b._valid]
        if self.selected is e:
            self.selected = None
        self.touched()

    # ---- geometry ----

    def to_world_tile(self, x, y) -> tuple[int, int]:
        return math.floor(x) + self.ox, math.floor(y) + self.oy

    def char_position(self) -> tuple[int, int]:
        """The character's position in 1/256 tile, world coordinates."""
        return self.live().position

    def entities(self, area=None):
        """Valid entities: resources, buildings, the character; with area (x1, y1, x2, y2 in
        surface coordinates) only those whose collision box overlaps it (strictly)."""
        grounds = self.ground_entities() if self.ground_table() or self.grounds else []
        if area is None:
            out = [e for e in self.resources.values() if e.is_valid()]
            out += [e for e in self.buildings if e._valid]
            out += grounds
            if self.character is not None:
                out.append(self.character)
            return out
        a1, b1, a2, b2 = area
        out = []
        for e in self.resources.values():
            x1, y1, x2, y2 = e._bbox
            if x1 < a2 and x2 > a1 and y1 < b2 and y2 > b1 and e.is_valid():
                out.append(e)
        for e in self.buildings:
            x1, y1, x2, y2 = e._bbox
            if x1 < a2 and x2 > a1 and y1 < b2 and y2 > b1 and e._valid:
                out.append(e)
        for e in grounds:
            x1, y1, x2, y2 = e._bbox
            if x1 < a2 and x2 > a1 and y1 < b2 and y2 > b1:
                out.append(e)
        c = self.character
        if c is not None and _overlaps(c._box(), area):
            out.append(c)
        return out


# The stand-in for the game's map generator on surfaces made without a width and height
# (MapGenSettings width/height 0: "infinite"). It is NOT a copy of Factorio's generator (noise
# expressions, autoplace, starting area rules): a deterministic map by seed that gives full_game
# what an ordinary map around the spawn has, so the mod's code paths run: patches of iron,
# copper, coal and stone near the spawn, lakes of water further out, grass elsewhere, the spawn
# itself clear. The World holds 128 x 128 tiles, centred on the origin, and 255 resource tiles.
ORDINARY_SIDE = 128
_PATCHES = (("iron-ore", 8, 20), ("copper-ore", 10, 24), ("coal", 8, 22), ("stone", 12, 26))
_LAKES = 3


def _discs(rng, n_or_specs, placed, half, dmin, dmax, rmin, rmax):
    """Centres (x, y, r) in world tiles at a distance dmin..dmax from the spawn tile (half,
    half), clear of the discs already placed and of the map's edge (64 tries each)."""
    out = []
    for _spec in n_or_specs:
        for _ in range(64):
            r = int(rng.integers(rmin, rmax + 1))
            ang = float(rng.uniform(0.0, 2.0 * math.pi))
            d = float(rng.uniform(dmin, dmax))
            x, y = int(round(half + d * math.cos(ang))), int(round(half + d * math.sin(ang)))
            if not (r + 1 <= x < ORDINARY_SIDE - r - 1 and r + 1 <= y < ORDINARY_SIDE - r - 1):
                continue
            if all((x - a) ** 2 + (y - b) ** 2 > (r + c + 3) ** 2 for a, b, c in placed):
                placed.append((x, y, r))
                out.append((x, y, r))
                break
    return out


def _disc_tiles(x, y, r):
    return [(xx, yy) for yy in range(y - r, y + r + 1) for xx in range(x - r, x + r + 1)
            if (xx - x) ** 2 + (yy - y) ** 2 <= r * r + 1]


def ordinary_map(surface, seed: int) -> MapState:
    """The stand-in generator's map for ``seed`` (see ORDINARY_SIDE above)."""
    m = MapState(ORDINARY_SIDE, ORDINARY_SIDE, TILE_IDS["grass-1"], ordinary=True)
    m.surface = surface
    surface.map = m  # the resource entities below find their map through the surface
    rng = np.random.default_rng(int(seed) & 0xFFFFFFFF)
    half = ORDINARY_SIDE // 2
    placed = [(half, half, 2)]  # the spawn: nothing within a few tiles
    w = m.world
    n_res = 0
    for name, dmin, dmax in _PATCHES:
        got = _discs(rng, [name], placed, half, dmin, dmax, 2, 4)
        for x, y, r in got:
            ent = ENTITY_IDS[name]
            for xx, yy in _disc_tiles(x, y, r):
                if n_res >= 255:
                    break
                w.add_resource(xx, yy, ent, int(rng.integers(300, 1500)))
                e = LuaEntity(surface, name, ent, KIND_RESOURCE, xx, yy)
                e._bbox = e._box()
                m.resources[(xx, yy)] = e
                n_res += 1
    water = TILE_IDS["water"]
    for x, y, r in _discs(rng, range(_LAKES), placed, half, 26, 56, 3, 6):
        for xx, yy in _disc_tiles(x, y, r):
            w.set_tile(xx, yy, water)
    m.touched()
    return m


def _half(ent_id: int) -> float:
    return ENTITY_INFO[ent_id][2]


def _footprint(ent_id: int) -> int:
    return ENTITY_INFO[ent_id][4]


class LuaSurface(ValidObject):
    API_CLASS = "LuaSurface"

    def __init__(self, game, name: str, index: int, settings: dict | None):
        self._game = game
        self._name = name
        self._index = index
        self._valid = True
        self._settings = dict(settings or {})
        w, h = int(self._settings.get("width") or 0), int(self._settings.get("height") or 0)
        # nauvis (the game's default surface) holds no World: the mod does not play on it; a
        # surface of infinite size gets the stand-in generator's map (ordinary_map)
        if self._settings.get("ordinary"):
            self.map = ordinary_map(self, int(self._settings.get("seed") or 0))
        else:
            self.map = MapState(w, h) if (w or h) else None
        if self.map is not None:
            self.map.surface = self
        self._lab = False
        self._peaceful = bool(self._settings.get("peaceful_mode", False))
        self._no_enemies = bool(self._settings.get("no_enemies_mode", False))
        self._tiles_cache: dict[tuple[int, int], LuaTile] = {}

    def is_valid(self):
        return self._valid

    def _map(self) -> MapState:
        if self.map is None:
            raise LuaApiError(NOT_EMULATED + f"surface {self._name} has no map (create "
                              "surfaces with MapGenSettings width and height)")
        return self.map

    @attribute
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        if not isinstance(value, str) or not value:
            raise LuaApiError("LuaSurface::name: string expected")
        self._game._rename_surface(self, value)

    @attribute
    def index(self):
        return self._index

    @attribute
    def generate_with_lab_tiles(self):
        return self._lab

    @generate_with_lab_tiles.setter
    def generate_with_lab_tiles(self, value):
        self._lab = bool(value)

    @attribute
    def peaceful_mode(self):
        return self._peaceful

    @peaceful_mode.setter
    def peaceful_mode(self, value):
        self._peaceful = bool(value)

    @attribute
    def no_enemies_mode(self):
        return self._no_enemies

    @no_enemies_mode.setter
    def no_enemies_mode(self, value):
        self._no_enemies = bool(value)

    @method
    def request_to_generate_chunks(self, position, radius=None):
        # The World exists whole from creation; nothing to generate.
        position_of(position)
        return None

    @method
    def force_generate_chunk_requests(self):
        return None

    # ---- tiles ----

    @method
    def set_tiles(self, tiles, correct_tiles=None, remove_colliding_entities=None,
                  remove_colliding_decoratives=None, raise_event=None, player=None,
                  undo_index=None):
        m = self._map()
        if correct_tiles:
            raise LuaApiError(NOT_EMULATED + "set_tiles with correct_tiles = true (tile "
                              "transitions are not modelled; the mod passes false)")
        flat, n = self._game._emu._bridge.api.flatten_tiles(tiles)
        if not n:
            return None
        w = m.live()
        for entry in flat.split(";"):
            name, xs, ys = entry.split(",")
            tid = TILE_IDS.get(name)
            if tid is None:
                raise LuaApiError(f"Unknown tile name: {name}")
            try:
                wx, wy = m.to_world_tile(float(xs), float(ys))
            except ValueError:
                raise LuaApiError("set_tiles: each tile needs a position") from None
            if m.in_map(wx, wy):
                w.set_tile(wx, wy, tid)
            elif name != "out-of-map":
                raise LuaApiError(NOT_EMULATED + f"a {name} tile outside the map's "
                                  f"{m.w}x{m.h} tiles")
        m.touched()
        return None

    def _tile(self, wx, wy) -> LuaTile:
        t = self._tiles_cache.get((wx, wy))
        if t is None:
            t = LuaTile(self, wx, wy)
            self._tiles_cache[(wx, wy)] = t
        return t

    def _tile_id(self, wx, wy) -> int:
        m = self._map()
        if not m.in_map(wx, wy):
            return TILE_IDS["out-of-map"]
        return int(m.tile_ids()[wy, wx])

    @method
    def get_tile(self, x, y):
        m = self._map()
        return self._tile(*m.to_world_tile(_num(x, "x"), _num(y, "y")))

    @method(filter=True)
    def find_tiles_filtered(self, filter):
        return self._tiles_filtered(filter, count=False)

    @method(filter=True)
    def count_tiles_filtered(self, filter):
        return self._tiles_filtered(filter, count=True)

    def _tiles_filtered(self, f, count):
        m = self._map()
        if f.position is not None or f.radius is not None or f.type is not None \
                or f.force is not None:
            raise LuaApiError(NOT_EMULATED + "tile filters other than area, name, invert, limit")
        if f.area is None:
            x0, y0, x1, y1 = 0, 0, m.w, m.h
        else:
            ax1, ay1, ax2, ay2 = f.area
            x0, y0 = m.to_world_tile(ax1, ay1)
            # tiles whose square overlaps the area (INFERRED: the game's own area rule)
            x1 = math.ceil(ax2) + m.ox
            y1 = math.ceil(ay2) + m.oy
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, m.w), min(y1, m.h)
        names = f.name
        invert = f.invert
        limit = f.limit
        out = []
        if m.ordinary and f.area is not None:
            # an ordinary map: the area's tiles beyond the World read as out-of-map
            oom = names is None or "out-of-map" in names
            if oom != bool(invert):
                ax1, ay1, ax2, ay2 = f.area
                for yy in range(math.floor(ay1) + m.oy, math.ceil(ay2) + m.oy):
                    for xx in range(math.floor(ax1) + m.ox, math.ceil(ax2) + m.ox):
                        if not m.in_map(xx, yy):
                            out.append(self._tile(xx, yy))
        if x1 > x0 and y1 > y0:
            ids = m.tile_ids()[y0:y1, x0:x1]
            if names is None:
                sel = np.ones(ids.shape, bool)
            else:
                wanted = [TILE_IDS[n] for n in names if n in TILE_IDS]
                sel = ids == wanted[0] if len(wanted) == 1 else np.isin(ids, wanted)
            if invert:
                sel = ~sel
            ys, xs = np.nonzero(sel)
            for yy, xx in zip(ys, xs):
                out.append(self._tile(int(xx) + x0, int(yy) + y0))
                if limit is not None and len(out) >= limit:
                    break
        return len(out) if count else out

    # ---- entities ----

    @method(table=("name", "position", "direction", "quality", "force", "target", "source",
                   "cause", "snap_to_grid", "fast_replace", "item_index", "player", "character",
                   "spill", "raise_built", "create_build_effect_smoke", "spawn_decorations",
                   "move_stuck_players", "item", "preserve_ghosts_and_corpses",
                   # type-specific parameters of resources (API LuaSurface::create_entity,
                   # "Additional type-specific parameters"):
                   "amount", "enable_tree_removal", "enable_cliff_removal", "snap_to_tile_center"))
    def create_entity(self, opts):
        m = self._map()
        name = opts.get("name")
        if name not in ENTITY_IDS:
            raise LuaApiError(f"Unknown entity name: {name}")
        x, y = position_of(opts.get("position"))
        ent = ENTITY_IDS[name]
        kind = ENTITY_INFO[ent][1]
        direction = opts.get("direction") or 0
        w = m.live()
        if kind == KIND_RESOURCE:
            amount = opts.get("amount")
            amount = 1 if amount is None else int(_num(amount, "amount"))
            if opts.get("snap_to_tile_center") is False:
                raise LuaApiError(NOT_EMULATED + "resources off their tile centre")
            wx, wy = m.to_world_tile(x, y)
            if not m.in_map(wx, wy) or not 1 <= amount <= 65535:
                return None
            old = m.resources.get((wx, wy))
            if old is not None and old.is_valid():
                return None  # the World holds one resource a tile
            try:
                w.add_resource(wx, wy, ent, amount)
            except Exception:
                return None
            e = LuaEntity(self, name, ent, kind, wx, wy)
            e._bbox = e._box()
            m.resources[(wx, wy)] = e
            m.touched(tiles=False)
            return e
        if kind == KIND_CHARACTER:
            if m.character is not None:
                raise LuaApiError(NOT_EMULATED + "a second character on a surface (the World "
                                  "has one)")
            w.set_position(_fixed(x + m.ox), _fixed(y + m.oy))
            e = LuaEntity(self, name, ent, kind, 0, 0)
            m.character = e
            self._game._register_unit(e)
            return e
        # a building: its footprint's top-left tile from its centre
        fp = _footprint(ent)
        if direction % 2 or not 0 <= direction < 16:
            raise LuaApiError(NOT_EMULATED + "odd (16-way) directions")
        tx, ty = m.to_world_tile(x - fp / 2 + 0.5, y - fp / 2 + 0.5)
        try:
            idx = w.add_building(ent, tx, ty, direction // 2)
        except Exception:
            return None  # occupied or off the map: the game returns nil as well
        e = LuaEntity(self, name, ent, kind, tx, ty)
        e._index = idx
        e._dir = direction
        e._bbox = e._box()
        m.buildings.append(e)
        for yy in range(ty, ty + fp):
            for xx in range(tx, tx + fp):
                m.bld_tiles[(xx, yy)] = e
        m.touched(tiles=False)
        self._game._register_unit(e)
        return e

    def _filtered(self, f, what):
        m = self._map()
        if f.area is not None:
            # entities whose collision box overlaps the area, strictly (INFERRED; the mod's
            # areas never touch a box edge)
            ents = m.entities(f.area)
        elif f.position is not None:
            px, py = f.position
            r = f.radius
            ents = m.entities()
            if r is None:
                ents = [e for e in ents if _contains(e._box(), px, py)]
            else:
                ents = [e for e in ents if math.dist(e._centre(), (px, py)) <= r]
        else:
            ents = m.entities()
        names, types, force, invert = f.name, f.type, f.force, f.invert

        def keep(e):
            ok = (names is None or e._ename in names) and \
                 (types is None or TYPE_OF[e._ename] in types) and \
                 (force is None or e._force() == force)
            return ok != invert

        ents = [e for e in ents if keep(e)]
        limit = f.limit
        if limit is not None:
            ents = ents[:int(limit)]
        return ents

    @method(filter=True)
    def find_entities_filtered(self, filter):
        return self._filtered(filter, "find_entities_filtered")

    @method(filter=True)
    def count_entities_filtered(self, filter):
        return len(self._filtered(filter, "count_entities_filtered"))

    @method(table=("name", "position", "direction", "force", "build_check_type", "forced",
                   "inner_name"))
    def can_place_entity(self, opts):
        """The collision part of the World's placement rule (ff_world_place): the footprint in
        the map on tiles that do not block, free of buildings, and, for an entity that blocks the
        character, not overlapping the character's box. (Build distance, the item and a drill's
        resources are the placing character's business: the mod checks them.)"""
        m = self._map()
        name = opts.get("name")
        if name not in ENTITY_IDS:
            raise LuaApiError(f"Unknown entity name: {name}")
        ent = ENTITY_IDS[name]
        info = ENTITY_INFO[ent]
        if info[1] not in (KIND_BUILDING, KIND_BELT):
            raise LuaApiError(NOT_EMULATED + f"can_place_entity for {name}")
        x, y = position_of(opts.get("position"))
        fp = info[4]
        tx, ty = m.to_world_tile(x - fp / 2 + 0.5, y - fp / 2 + 0.5)
        w = m.live()
        for yy in range(ty, ty + fp):
            for xx in range(tx, tx + fp):
                if not m.in_map(xx, yy) or TILE_BLOCKS[int(m.tile_ids()[yy, xx])]:
                    return False
                if w.building_at(xx, yy) >= 0:
                    return False
        if info[3]:  # blocks the character: boxes must not overlap (strict, in 1/1280 tile)
            px, py = w.position
            cx, cy = tx * 256 + fp * 128, ty * 256 + fp * 128
            lim = 256 + int(info[2] * 1280 + 0.5)
            if abs(px * 5 - cx * 5) < lim and abs(py * 5 - cy * 5) < lim:
                return False
        return True


    @method
    def find_non_colliding_position(self, name, center, radius, precision,
                                    force_to_tile_center=None):
        """A character only: the centre of the nearest tile (rings of growing Chebyshev
        distance from center's tile, row-major within a ring) that does not block and holds no
        building, within radius tiles; nil if none. (The game searches in steps of precision
        for any free position; on the grid of tile centres the two agree for a character,
        whose box, +-0.2, fits any free tile.)"""
        m = self._map()
        if name != "character":
            raise LuaApiError(NOT_EMULATED + f"find_non_colliding_position for {name}")
        x, y = position_of(center)
        r = _num(radius, "radius")
        cx, cy = m.to_world_tile(x, y)
        w = m.live()
        ids = m.tile_ids()
        for d in range(0, int(math.ceil(r)) + 1):
            for yy in range(cy - d, cy + d + 1):
                for xx in range(cx - d, cx + d + 1):
                    if max(abs(xx - cx), abs(yy - cy)) != d or not m.in_map(xx, yy):
                        continue
                    if not TILE_BLOCKS[int(ids[yy, xx])] and w.building_at(xx, yy) < 0:
                        return Position(xx - m.ox + 0.5, yy - m.oy + 0.5)
        return None


def _overlaps(box, area) -> bool:
    x1, y1, x2, y2 = box
    a1, b1, a2, b2 = area
    return x1 < a2 and x2 > a1 and y1 < b2 and y2 > b1


def _contains(box, x, y) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


class LuaTile(ValidObject):
    API_CLASS = "LuaTile"

    def __init__(self, surface: LuaSurface, wx: int, wy: int):
        self._surface = surface
        self._wx, self._wy = wx, wy

    @attribute
    def name(self):
        return TILE_NAMES[self._surface._tile_id(self._wx, self._wy)]

    @attribute
    def position(self):
        m = self._surface._map()
        return Position(self._wx - m.ox, self._wy - m.oy)

    @attribute
    def surface(self):
        return self._surface


class LuaEntity(ValidObject):
    """A resource, a building or a character on a shim surface.

    Resources and buildings live in the surface's World; the object keeps its tile (resources,
    buildings: the footprint's top-left) and, for buildings, its index in the World's building
    list. A resource becomes invalid when the World no longer holds it (mined out) or when the
    mod destroys it.
    """

    API_CLASS = "LuaEntity"

    def __init__(self, surface: LuaSurface, name: str, ent: int, kind: int, wx: int, wy: int):
        self._surface = surface
        self._ename = name
        self._ent = ent
        self._kind = kind
        self._wx, self._wy = wx, wy
        self._index = -1
        self._dir = 0
        self._valid = True
        self._unit = None
        self._invs: dict[str, LuaInventory] = {}
        self._item = 0  # an item-on-ground's item id

    # ---- validity, geometry ----

    def _m(self) -> MapState:
        return self._surface.map

    def is_valid(self):
        if not self._valid or not self._surface.is_valid():
            return False
        if self._kind == KIND_RESOURCE:
            got = self._m().res_table().get((self._wx, self._wy))
            if got is None or got[0] != self._ent:
                self._valid = False  # mined out
                self._m().resources.pop((self._wx, self._wy), None)
        elif self._kind == KIND_GROUND:
            got = self._m().ground_table().get((self._wx, self._wy))
            if got is None or got[0] != self._item:
                self._valid = False  # picked up or collected
        return self._valid

    def _bld(self) -> dict:
        return self._m().bld_table()[self._index]

    def _centre(self) -> tuple[float, float]:
        m = self._m()
        if self._kind == KIND_CHARACTER:
            px, py = m.char_position()
            return px / 256 - m.ox, py / 256 - m.oy
        if self._kind == KIND_GROUND:  # where the drill dropped it (World.ground_position)
            gx, gy = World.ground_position(self._wx, self._wy)
            return gx / 256 - m.ox, gy / 256 - m.oy
        fp = _footprint(self._ent)
        return self._wx - m.ox + fp / 2, self._wy - m.oy + fp / 2

    def _box(self):
        cx, cy = self._centre()
        h = GROUND_HALF if self._kind == KIND_GROUND else _half(self._ent)
        return cx - h, cy - h, cx + h, cy + h

    def _force(self):
        return "neutral" if self._kind in (KIND_RESOURCE, KIND_GROUND) else "player"

    def _need(self, *kinds, what):
        if self._kind not in kinds:
            raise LuaApiError(f"{what}: not supported by {self._ename}")

    def _need_type(self, types, what):
        if TYPE_OF[self._ename] not in types:
            raise LuaApiError(f"{what}: entity is not a {' or '.join(types)}")

    # ---- LuaEntity ----

    @attribute
    def name(self):
        return self._ename

    @attribute
    def type(self):
        return TYPE_OF[self._ename]

    @attribute
    def position(self):
        return Position(*self._centre())

    @attribute
    def surface(self):
        return self._surface

    @attribute
    def unit_number(self):
        return self._unit

    @attribute
    def tile_width(self):
        return _footprint(self._ent)

    @attribute
    def tile_height(self):
        return _footprint(self._ent)

    @attribute
    def direction(self):
        return self._dir

    @direction.setter
    def direction(self, value):
        if value != self._dir:
            raise LuaApiError(NOT_EMULATED + "rotating an entity")

    @attribute
    def amount(self):
        self._need(KIND_RESOURCE, what="LuaEntity::amount")
        return self._m().res_table()[(self._wx, self._wy)][1]

    @amount.setter
    def amount(self, value):
        raise LuaApiError(NOT_EMULATED + "changing a resource's amount (World has no setter)")

    @method(table=("do_cliff_correction", "raise_destroy", "player", "item_index"))
    def destroy(self, opts=None):
        if self._kind == KIND_CHARACTER:
            raise LuaApiError(NOT_EMULATED + "destroying the character (the World keeps one)")
        m = self._m()
        if self._kind == KIND_GROUND:  # the World removes a stack itself: no rebuild
            if m.dirty:  # a rebuild is due (another entity was destroyed): it leaves this out
                m.ground_gone.add((self._wx, self._wy))
            elif self.is_valid():
                m.live().remove_ground(self._wx, self._wy)
                m.touched(tiles=False)
            self._valid = False
            m.grounds.pop((self._wx, self._wy), None)
            return True
        self._valid = False
        if self._kind == KIND_RESOURCE:
            m.resources.pop((self._wx, self._wy), None)
        else:
            for k in [k for k, v in m.bld_tiles.items() if v is self]:
                del m.bld_tiles[k]
        m.dirty = True  # World has no removal: MapState._rebuild
        return True

    @attribute
    def stack(self):
        """An item-on-ground's stack (LuaEntity::stack): a table of the LuaItemStack fields
        valid_for_read, name, count (a snapshot; no LuaItemStack class is registered with the
        bridge)."""
        if self._kind != KIND_GROUND:
            raise LuaApiError("LuaEntity::stack: entity is not an item-entity")
        got = self._m().ground_table().get((self._wx, self._wy))
        if got is None:
            return {"valid_for_read": False, "count": 0}
        return {"valid_for_read": True, "name": ITEM_NAMES[got[0]], "count": got[1]}

    # ---- machines (furnace, drill) ----

    @attribute
    def burner(self):
        if self._ename not in ("stone-furnace", "burner-mining-drill"):
            return None
        b = self._invs.get("burner")
        if b is None:
            b = LuaBurner(self)
            self._invs["burner"] = b
        return b

    @method
    def get_fuel_inventory(self):
        if self._ename not in ("stone-furnace", "burner-mining-drill"):
            return None
        return self._inventory(INV_FUEL)

    @method
    def get_output_inventory(self):
        if self._ename == "stone-furnace":
            return self._inventory(INV_RESULT)
        return None

    @attribute
    def crafting_progress(self):
        self._need_type(("furnace",), "LuaEntity::crafting_progress")
        return self._bld()["progress"] / SMELT_TICKS

    @crafting_progress.setter
    def crafting_progress(self, value):
        raise LuaApiError(NOT_EMULATED + "setting a furnace's progress")

    @attribute
    def mining_progress(self):
        self._need_type(("mining-drill",), "LuaEntity::mining_progress")
        # "in range [0, mining_target.prototype.mineable_properties.mining_time]": mining_time 1
        return self._bld()["progress"] / DRILL_TICKS

    @mining_progress.setter
    def mining_progress(self, value):
        raise LuaApiError(NOT_EMULATED + "setting a drill's progress")

    @attribute
    def products_finished(self):
        self._need_type(("furnace",), "LuaEntity::products_finished")
        return self._bld()["produced"]

    @products_finished.setter
    def products_finished(self, value):
        raise LuaApiError(NOT_EMULATED + "setting products_finished")

    @method
    def is_crafting(self):
        if TYPE_OF[self._ename] != "furnace":
            return False
        return self._bld()["progress"] > 0

    @attribute
    def mining_target(self):
        """The resource a drill mines: the first one under its footprint, row by row (the
        World's drill takes them in that order)."""
        self._need_type(("mining-drill",), "LuaEntity::mining_target")
        m = self._m()
        for yy in range(self._wy, self._wy + 2):
            for xx in range(self._wx, self._wx + 2):
                e = m.resources.get((xx, yy))
                if e is not None and e.is_valid():
                    return e
        return None

    @attribute
    def status(self):
        """defines.entity_status of a drill or furnace (a subset; INFERRED mapping of the
        World's state): waiting_for_space_in_destination while a drill holds an ore it could not
        drop, no_fuel without fuel and energy, no_minable_resources, else working."""
        from factorio_fast.emulator.game import define_value
        if TYPE_OF[self._ename] not in ("furnace", "mining-drill"):
            return None
        b = self._bld()
        if self._ename == "burner-mining-drill":
            if b["src"]:
                return define_value("defines.entity_status", "waiting_for_space_in_destination")
            if self.mining_target is None:
                return define_value("defines.entity_status", "no_minable_resources")
        if not b["fuel"] and b["energy"] <= 0:
            return define_value("defines.entity_status", "no_fuel")
        return define_value("defines.entity_status", "working")

    # ---- LuaControl (the character; get_inventory also for buildings) ----

    def _char(self, what) -> MapState:
        if self._kind != KIND_CHARACTER:
            raise LuaApiError(f"{what}: entity is not a character")
        return self._m()

    def _inventory(self, kind) -> LuaInventory:
        inv = self._invs.get(kind)
        if inv is None:
            inv = LuaInventory(self, kind)
            self._invs[kind] = inv
        return inv

    @method
    def get_inventory(self, inventory):
        from factorio_fast.emulator.game import define_name
        kind = define_name("defines.inventory", inventory)
        if self._kind == KIND_CHARACTER and kind == INV_MAIN:
            return self._inventory(INV_MAIN)
        if self._ename in ("stone-furnace", "burner-mining-drill") and kind == INV_FUEL:
            return self._inventory(INV_FUEL)
        if self._ename == "stone-furnace" and kind in (INV_SOURCE, INV_RESULT):
            return self._inventory(kind)
        return None

    @method
    def get_main_inventory(self):
        if self._kind != KIND_CHARACTER:
            return None
        return self._inventory(INV_MAIN)

    @method
    def get_item_count(self, item=None):
        self._char("LuaControl::get_item_count")
        return self._inventory(INV_MAIN).get_item_count.fn(self._inventory(INV_MAIN), item)

    @method
    def insert(self, items):
        self._char("LuaControl::insert")
        return self._inventory(INV_MAIN).insert.fn(self._inventory(INV_MAIN), items)

    @method
    def remove_item(self, items):
        self._char("LuaControl::remove_item")
        return self._inventory(INV_MAIN).remove.fn(self._inventory(INV_MAIN), items)

    @method
    def clear_items_inside(self):
        self._char("LuaControl::clear_items_inside")
        self._inventory(INV_MAIN).clear.fn(self._inventory(INV_MAIN))
        return None

    @method
    def teleport(self, position, surface=None, raise_teleported=None, snap_to_grid=None,
                 build_check_type=None):
        m = self._char("LuaControl::teleport")
        if surface is not None and surface is not self._surface:
            raise LuaApiError(NOT_EMULATED + "teleporting to another surface")
        x, y = position_of(position)
        m.live().set_position(_fixed(x + m.ox), _fixed(y + m.oy))
        m.touched(tiles=False)
        return True

    @attribute
    def walking_state(self):
        m = self._char("LuaControl::walking_state")
        if m.walk is None:
            return {"walking": False, "direction": 0}
        return {"walking": True, "direction": m.walk * 2}

    @walking_state.setter
    def walking_state(self, value):
        m = self._char("LuaControl::walking_state")
        if value is None or isinstance(value, (int, float, str, bool)):
            raise LuaApiError("LuaControl::walking_state: table expected")
        walking, direction = value["walking"], value["direction"]
        if not walking:
            m.walk = None
            return
        d = _num(direction, "walking_state.direction")
        if d != int(d) or not 0 <= d < 16:
            raise LuaApiError("walking_state.direction: defines.direction expected")
        if d % 2:
            # whether the 8 odd 2.0 directions walk is unverified (docs/factorio-facts.md §4.2)
            raise LuaApiError(NOT_EMULATED + "walking in an odd (16-way) direction")
        m.walk = int(d) // 2

    @attribute
    def mining_state(self):
        m = self._char("LuaControl::mining_state")
        if m.mining is None:
            return {"mining": False}
        return {"mining": True, "position": Position(m.mining[0] - m.ox + 0.5,
                                                     m.mining[1] - m.oy + 0.5)}

    @mining_state.setter
    def mining_state(self, value):
        """Held until changed (docs/scenarios.md: mining persists over the ticks of a step). The
        World mines the target tile; the game mines the selected entity, so the mod selects the
        same tile first (API LuaControl::mining_state, docs/factorio-facts.md §4.3)."""
        m = self._char("LuaControl::mining_state")
        if value is None or isinstance(value, (int, float, str, bool)):
            raise LuaApiError("LuaControl::mining_state: table expected")
        if not value["mining"]:
            m.mining = None
            m.live().set_mining(None)
        else:
            wx, wy = m.to_world_tile(*position_of(value["position"], "mining_state.position"))
            m.mining = (wx, wy)
            m.live().set_mining((wx, wy))
        m.touched(tiles=False)

    @attribute
    def selected(self):
        return self._char("LuaControl::selected").selected

    @selected.setter
    def selected(self, value):
        m = self._char("LuaControl::selected")
        if value is not None and not isinstance(value, LuaEntity):
            raise LuaApiError("LuaControl::selected: LuaEntity expected")
        m.selected = value

    @method
    def update_selected_entity(self, position):
        m = self._char("LuaControl::update_selected_entity")
        x, y = position_of(position)
        hits = [e for e in m.entities() if e is not self and _contains(e._box(), x, y)]
        # a building over a resource is what the cursor picks
        hits.sort(key=lambda e: e._kind == KIND_RESOURCE)
        m.selected = hits[0] if hits else None
        return None

    @method
    def clear_selected_entity(self):
        self._char("LuaControl::clear_selected_entity").selected = None
        return None

    @attribute
    def character_mining_progress(self):
        m = self._char("LuaControl::character_mining_progress")
        b = m.mined_building()
        return m.live().mining_progress * HAND_RATE / (MINING_TIME[b._ename] if b else 1.0)

    @attribute
    def build_distance(self):
        self._char("LuaControl::build_distance")
        return CHARACTER["build_distance"]

    @attribute
    def reach_distance(self):
        self._char("LuaControl::reach_distance")
        return CHARACTER["reach_distance"]

    @attribute
    def resource_reach_distance(self):
        self._char("LuaControl::resource_reach_distance")
        return CHARACTER["resource_reach_distance"]

    @method
    def can_reach_entity(self, entity):
        """Reach 10 from the character to the entity's centre, the World's rule for insert and
        take (UNCERTAIN there: the game may measure to the box; docs/scenarios.md)."""
        m = self._char("LuaControl::can_reach_entity")
        if not isinstance(entity, LuaEntity) or not entity.is_valid():
            raise LuaApiError("LuaControl::can_reach_entity: valid LuaEntity expected")
        px, py = m.char_position()
        cx, cy = entity._centre()
        cx, cy = _fixed(cx + m.ox), _fixed(cy + m.oy)
        dx, dy = (cx - px) * 5, (cy - py) * 5
        return dx * dx + dy * dy <= 12800 * 12800

    @method
    def mine_entity(self, entity, force=None):
        """Mines an item-on-ground at once (a script's mine: no reach check, INFERRED): its stack
        goes into the inventory whole or not at all (World.pick_ground); true if it did. Other
        entities: not emulated (the scenarios mine by mining_state)."""
        m = self._char("LuaControl::mine_entity")
        if not isinstance(entity, LuaEntity) or not entity.is_valid():
            raise LuaApiError("LuaControl::mine_entity: valid LuaEntity expected")
        if entity._kind != KIND_GROUND:
            raise LuaApiError(NOT_EMULATED + "mine_entity of anything but an item-on-ground")
        got = m.live().pick_ground(entity._wx, entity._wy, False)
        m.touched(tiles=False)
        if got:
            entity._valid = False
            m.grounds.pop((entity._wx, entity._wy), None)
        return bool(got)

    @attribute
    def crafting_queue_size(self):
        return self._char("LuaControl::crafting_queue_size").live().craft_queue_length

    @attribute
    def crafting_queue(self):
        """The World's queue (one queue: the shim keeps no copy), chain-crafted entries with
        prerequisite = true."""
        q = self._char("LuaControl::crafting_queue").live().craft_queue()
        if not q:
            return None
        return Records(("index", "recipe", "count", "prerequisite"),
                       [(i + 1, RECIPE_NAMES[r], c, p) for i, (r, c, p) in enumerate(q)])

    @attribute
    def crafting_queue_progress(self):
        """The head craft's ticks over the recipe's ticks as LuaRecipePrototype::energy gives
        them here (game.py: RECIPES' ticks / 60), so energy * 60 * progress is the tick count."""
        w = self._char("LuaControl::crafting_queue_progress").live()
        q = w.craft_queue()
        if not q:
            return 0.0
        return w.craft_progress / RECIPES[q[0][0]]["ticks"]

    @method
    def get_craftable_count(self, recipe):
        m = self._char("LuaControl::get_craftable_count")
        if hasattr(recipe, "_rname"):
            recipe = recipe._rname
        if recipe not in RECIPE_IDS:
            raise LuaApiError(f"Unknown recipe: {recipe}")
        return m.live().craftable(RECIPE_IDS[recipe])

    @crafting_queue_progress.setter
    def crafting_queue_progress(self, value):
        raise LuaApiError(NOT_EMULATED + "setting the crafting progress")

    @method(table=("count", "recipe", "silent"))
    def begin_crafting(self, opts):
        m = self._char("LuaControl::begin_crafting")
        recipe = opts.get("recipe")
        if hasattr(recipe, "_rname"):
            recipe = recipe._rname
        if recipe not in RECIPE_IDS:
            raise LuaApiError(f"Unknown recipe: {recipe}")
        count = opts.get("count")
        count = int(_num(count, "count"))
        if count < 1:
            raise LuaApiError("begin_crafting: count must be positive")
        started = m.live().craft(RECIPE_IDS[recipe], count)
        if started:
            m.touched(tiles=False)
        return started

    @method(table=("index", "count"))
    def cancel_crafting(self, opts):
        """Refunds the ingredients (World.cancel_craft: a chain-crafted entry goes with its
        prerequisites, UNCERTAIN in ff_world.h)."""
        m = self._char("LuaControl::cancel_crafting")
        index = int(_num(opts.get("index"), "index"))
        count = int(_num(opts.get("count"), "count"))
        w = m.live()
        if not 1 <= index <= w.craft_queue_length or count < 1:
            raise LuaApiError("cancel_crafting: no such crafting queue entry")
        w.cancel_craft(index - 1, count)
        m.touched(tiles=False)
        return None


class LuaInventory(ValidObject):
    """The character's main inventory, or a furnace's / drill's fuel, source or result slot."""

    API_CLASS = "LuaInventory"

    def __init__(self, owner: LuaEntity, kind: str):
        self._owner = owner
        self._kind = kind

    def is_valid(self):
        return self._owner.is_valid()

    def _m(self) -> MapState:
        return self._owner._m()

    def _counts(self) -> dict[int, int]:
        """Item id -> count held."""
        m = self._m()
        if self._kind == INV_MAIN:
            inv = m.live().inventory()
            return {i: int(inv[i]) for i in range(1, len(ITEM_NAMES)) if inv[i]}
        b = self._owner._bld()
        if self._kind == INV_FUEL:
            return {ITEM_IDS["coal"]: b["fuel"]} if b["fuel"] else {}
        if self._kind == INV_SOURCE:
            # the slot alone: the ore being smelted left it when its craft started, in the
            # World as in the game (is_crafting)
            n = b["src"]
            return {ITEM_IDS["iron-ore"]: n} if n > 0 else {}
        return {ITEM_IDS["iron-plate"]: b["out"]} if b["out"] else {}

    @attribute
    def index(self):
        from factorio_fast.emulator.game import define_value
        return define_value("defines.inventory", self._kind)

    @attribute
    def entity_owner(self):
        return self._owner

    @method
    def get_item_count(self, item=None):
        counts = self._counts()
        if item is None:
            return sum(counts.values())
        return counts.get(ITEM_IDS[item_name(item, "get_item_count")], 0)

    @method
    def get_contents(self):
        counts = self._counts()
        return Records(("name", "count", "quality"),
                       [(ITEM_NAMES[i], c, "normal") for i, c in sorted(counts.items())])

    @method
    def is_empty(self):
        return not self._counts()

    @method
    def get_insertable_count(self, item):
        name = item_name(item, "get_insertable_count")
        if self._kind != INV_MAIN:
            raise LuaApiError(NOT_EMULATED + "get_insertable_count of a machine's inventory")
        w = self._m().live()
        iid = ITEM_IDS[name]
        have = int(w.inventory()[iid])
        # World has no "room for" query: insert as much as fits, read how much went, restore
        room = w.insert_item(iid, 1 << 20)
        w.set_item(iid, have)
        return room

    @method
    def insert(self, items):
        name, count = item_stack(items, "LuaInventory::insert")
        m = self._m()
        w = m.live()
        iid = ITEM_IDS[name]
        if self._kind == INV_MAIN:
            n = w.insert_item(iid, count) if count else 0
            m.touched(tiles=False)
            return n
        if self._kind == INV_RESULT:
            raise LuaApiError(NOT_EMULATED + "inserting into a furnace's result")
        # World has no call to put items into a building: it moves them from the character's
        # inventory (World.insert, which checks the character's reach). So the count is lent to
        # the character, moved, and the character's count restored.
        if (self._kind == INV_FUEL and name != "coal") or \
                (self._kind == INV_SOURCE and name != "iron-ore"):
            return 0
        if not count:
            return 0
        have = int(w.inventory()[iid])
        if have + count > 65535:
            raise LuaApiError(NOT_EMULATED + "inserting this many items at once")
        w.set_item(iid, have + count)
        b = self._owner
        moved = w.insert(b._wx, b._wy, iid, count)
        w.set_item(iid, have)
        if moved == 0 and count and not self._room():
            m.touched(tiles=False)
            return 0
        if moved == 0:
            px, py = w.position
            raise LuaApiError(NOT_EMULATED + "inserting into a building out of the character's "
                              f"reach (character at {px / 256:.2f},{py / 256:.2f})")
        m.touched(tiles=False)
        return moved

    def _room(self) -> int:
        b = self._owner._bld()
        return 50 - (b["fuel"] if self._kind == INV_FUEL else b["src"])

    @method
    def remove(self, items):
        name, count = item_stack(items, "LuaInventory::remove")
        m = self._m()
        w = m.live()
        iid = ITEM_IDS[name]
        if self._kind == INV_MAIN:
            have = int(w.inventory()[iid])
            n = min(have, count)
            w.set_item(iid, have - n)
            m.touched(tiles=False)
            return n
        if self._kind != INV_RESULT or name != "iron-plate":
            raise LuaApiError(NOT_EMULATED + f"removing {name} from a {self._kind} inventory")
        out = self._owner._bld()["out"]
        n = min(out, count)
        if n == 0:
            return 0
        # World has no call to take items out of a building but World.take, which moves as many
        # plates as fit into the character's inventory. The character's plate count is set so
        # that exactly n fit, then restored: the furnace loses n plates.
        have = int(w.inventory()[iid])
        room = w.insert_item(iid, 1 << 20)
        w.set_item(iid, have)
        target = have + room - n
        if target < 0 or target > 65535:
            raise LuaApiError(NOT_EMULATED + "removing this many plates")
        w.set_item(iid, target)
        moved = w.take(self._owner._wx, self._owner._wy)
        w.set_item(iid, have)
        m.touched(tiles=False)
        if moved != n:
            raise LuaApiError(NOT_EMULATED + "taking from a furnace out of the character's reach")
        return n

    @method
    def clear(self):
        if self._kind != INV_MAIN:
            raise LuaApiError(NOT_EMULATED + "clearing a machine's inventory")
        m = self._m()
        w = m.live()
        for i in range(1, len(ITEM_NAMES)):
            w.set_item(i, 0)
        m.touched(tiles=False)
        return None


class LuaBurner(ValidObject):
    API_CLASS = "LuaBurner"

    def __init__(self, owner: LuaEntity):
        self._owner = owner

    def is_valid(self):
        return self._owner.is_valid()

    @attribute
    def owner(self):
        return self._owner

    @attribute
    def inventory(self):
        return self._owner._inventory(INV_FUEL)

    @attribute
    def remaining_burning_fuel(self):
        """Joules left of the fuel item burning (the World's energy)."""
        return float(self._owner._bld()["energy"])

    @remaining_burning_fuel.setter
    def remaining_burning_fuel(self, value):
        raise LuaApiError(NOT_EMULATED + "setting the burning fuel")
