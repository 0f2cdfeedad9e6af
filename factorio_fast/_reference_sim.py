"""Readable pure-Python reference of the embedded simulator: the specification of every scenario.

``tests/test_sim_reference.py`` holds the C simulator (``factorio_fast._sim``) to this module:
for the same seeds and actions both must produce identical observation bytes, rewards and flags.
Nothing here is fast; everything here is meant to be read next to ``docs/scenarios.md``.

Mechanics (all numbers from docs/factorio-facts.md §4):

* Positions are integers in 1/256 tile (§4.2, MapPosition fixed point). Tile ``(tx, ty)`` spans
  ``[tx*256, tx*256+256)``; north is ``-y``.
* Collision boxes and distances are compared in 1/1280 tile (position * 5), where 0.1, 0.2,
  0.35, 0.4, 0.7, 2.7 and 10 are all integers, so no float enters a tick.
* Walking: ``trunc(0.15 * modifier * 256)`` straight (38 on grass), ``trunc(0.15 * modifier *
  0.70710678118 * 256)`` per axis diagonally (27 on grass), by the tile under the centre (§4.2).
* Collision: tiles by the character's centre point, buildings by its +-0.2 box (§4.1); the
  resolution steps 1..5 of §4.2 (full move, corner slide / axis fallback, halving, short move).
  The corner slide is a simplification of Factorio's and is marked UNCERTAIN.
* Hand mining: 121 ticks per ore within 2.7 of the resource's +-0.1 box (§4.3); crafting 31
  ticks per 0.5 s (the engine's double sums fall just short of the goal, ff_world.h "Timers").
* Burner drill and stone furnace: progress, remainders and the burner's heat buffer in floats
  (IEEE doubles, the same operations in the same order as csrc/ff_world.c).
* Inventory: 80 slots, stack sizes from §4.4. Recipes and times from §4.4.
* Build distance 10, measured to the new entity's centre (UNCERTAIN, §4.1).
* Belts do not block and carry a character standing on them at 8/256 tile per tick (§4.1, §4.5).
"""

from __future__ import annotations

import numpy as np

from factorio_fast import _reference_shaping as _shaping
from factorio_fast._reference import encode_cell

# ---------------------------------------------------------------------------------------------
# Id tables (csrc/ff_ids.h; docs/factorio-facts.md §4.1, §4.4-4.6). tests/test_sim_reference.py checks
# that these equal the compiled tables.

# tile id -> (name, blocks the character, walking_speed_modifier)
TILES = (
    ("out-of-map", True, 1.0), ("grass-1", False, 1.0), ("dirt-1", False, 1.0),
    ("sand-1", False, 1.0), ("red-desert-0", False, 1.0), ("stone-path", False, 1.3),
    ("concrete", False, 1.4), ("refined-concrete", False, 1.5), ("landfill", False, 1.0),
    ("water-shallow", False, 0.8), ("water-mud", False, 0.7), ("water", True, 1.0),
    ("deepwater", True, 1.0), ("water-green", True, 1.0), ("deepwater-green", True, 1.0),
    ("lab-dark-1", False, 1.0),
)
OUT_OF_MAP, GRASS, WATER = 0, 1, 11
# Tile transition classes (csrc/ff_world.h FF_TCLS_*) and Vector::directionMultiplicators of
# the triangles' corners (NE, SE, SW, NW).
TCLS_FREE, TCLS_FULL, TCLS_NE, TCLS_SE, TCLS_SW, TCLS_NW = range(6)
TRI_DIR = {TCLS_NE: (0.70710678118, -0.70710678118), TCLS_SE: (0.70710678118, 0.70710678118),
           TCLS_SW: (-0.70710678118, 0.70710678118), TCLS_NW: (-0.70710678118, -0.70710678118)}

# entity id -> (name, kind, box half extent in 1/1280 tile, blocks the character, footprint)
RESOURCE, BUILDING, BELT = 1, 2, 3
ENTITIES = (
    ("", 0, 0, False, 0),
    ("iron-ore", RESOURCE, 128, False, 1), ("copper-ore", RESOURCE, 128, False, 1),
    ("coal", RESOURCE, 128, False, 1), ("stone", RESOURCE, 128, False, 1),
    ("stone-furnace", BUILDING, 896, True, 2), ("burner-mining-drill", BUILDING, 896, True, 2),
    ("transport-belt", BELT, 512, False, 1), ("wooden-chest", BUILDING, 448, True, 1),
    ("character", 4, 256, False, 0),
)
IRON_ORE_E, COAL_E, STONE_E, FURNACE_E, DRILL_E, BELT_E, CHEST_E = 1, 3, 4, 5, 6, 7, 8

# item id -> (name, stack size)
ITEMS = (
    ("", 0), ("iron-ore", 50), ("copper-ore", 50), ("coal", 50), ("stone", 50),
    ("iron-plate", 100), ("iron-gear-wheel", 100), ("stone-furnace", 50),
    ("burner-mining-drill", 50), ("transport-belt", 100), ("wooden-chest", 50),
)
IRON_ORE, COAL, STONE, PLATE, GEAR, FURNACE, DRILL, BELT_ITEM, CHEST = 1, 3, 4, 5, 6, 7, 8, 9, 10
ITEM_ENTITY = {FURNACE: FURNACE_E, DRILL: DRILL_E, BELT_ITEM: BELT_E, CHEST: CHEST_E}
ENTITY_ITEM = {e: i for i, e in ITEM_ENTITY.items()}
ITEM_RECIPE = {GEAR: 0, FURNACE: 1}            # intermediates chain crafting makes first
# Hand-mining ticks of the buildings: the double sum of 0.5/60 past minable.mining_time (game
# data 2.0.77: wooden chest 0.1, stone furnace 0.2, burner drill 0.3, belt 0.1; ff_world.h).
BUILDING_MINE_TICKS = {CHEST_E: 13, FURNACE_E: 25, DRILL_E: 36, BELT_E: 13}

# Recipes (§4.4): (inputs, output item, output count, ticks at hand crafting speed 1)
RECIPES = (
    (((PLATE, 2),), GEAR, 1, 31),                            # 0.5 s
    (((STONE, 5),), FURNACE, 1, 31),                         # 0.5 s
    (((GEAR, 3), (FURNACE, 1), (PLATE, 3)), DRILL, 1, 121),  # 2 s
    (((PLATE, 1), (GEAR, 1)), BELT_ITEM, 2, 31),             # 0.5 s, 2 belts
)

INVENTORY_SLOTS = 80           # §4.1
CHAR_HALF5 = 256               # +-0.2
RESOURCE_HALF5 = 128           # +-0.1
REACH_RESOURCE5 = 3456         # 2.7
REACH5 = 12800                 # 10
BUILD_DISTANCE5 = 12800        # 10
CHAR_HALF256 = 51              # the slides, in the engine's 1/256 (truncated): box 0.2,
CORNER_SLIDE256 = 179          # maximum_corner_sliding_distance 0.7,
SLIDE_MARGIN256 = 2            # slide margin 0.01
HAND_MINING_TICKS = 121        # first n with n additions of 0.5/60 > mining_time 1 (§4.3)
DRILL_MINING_TICKS = 240       # nominal mining_time 1 / 0.25 = 4 s (§4.3); runs on floats
SMELT_TICKS = 192              # nominal 3.2 s at crafting_speed 1 (§4.4); runs on floats
COAL_JOULES = 4_000_000        # coal fuel_value 4MJ (docs/factorio-facts.md §4.4)
DRILL_USE = 2500.0             # J per tick: 150 kW / 60 (§4.3)
FURNACE_USE = 1500.0           # J per tick: 90 kW / 60 (docs/factorio-facts.md §4.4)
DRILL_SPEED = 0.25
SMELT_S = 3.2
ENTITY_SLOT_MAX = 50
FURNACE_OUT_MAX = 100
BELT_SPEED = 8                 # 0.03125 tile/tick (§4.5)
CRAFT_QUEUE = 8
MAX_GROUND = 32                # stacks on the ground (a bound of the simulator)
MAX_RESOURCES = 255
MAX_BUILDINGS = 32
NUM_ITEM_SLOTS = 16            # inventory array length

# Direction index 0..7 = N, NE, E, SE, S, SW, W, NW (Factorio 2.0 direction = 2 * index, §4.2).
DIR_DX = (0, 1, 1, 1, 0, -1, -1, -1)
DIR_DY = (-1, -1, 0, 1, 1, 1, 0, -1)

WALK_STRAIGHT = tuple(int(0.15 * mod * 256.0) for _, _, mod in TILES)
WALK_DIAGONAL = tuple(int(0.15 * mod * 0.70710678118 * 256.0) for _, _, mod in TILES)


def _tdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ---------------------------------------------------------------------------------------------
# The world


class Resource:
    __slots__ = ("type", "tx", "ty", "amount")

    def __init__(self, type_, tx, ty, amount):
        self.type, self.tx, self.ty, self.amount = type_, tx, ty, amount


class Building:
    __slots__ = ("type", "tx", "ty", "dir", "cx", "cy", "half5", "fuel", "src", "out",
                 "progress", "produced", "heat", "burning", "work", "extra")

    def __init__(self, type_, tx, ty, dir_):
        fp = ENTITIES[type_][4]
        self.type, self.tx, self.ty, self.dir = type_, tx, ty, dir_
        self.cx, self.cy = tx * 256 + fp * 128, ty * 256 + fp * 128
        self.half5 = ENTITIES[type_][2]
        self.fuel = self.src = self.out = self.progress = self.produced = 0
        self.heat = self.burning = self.work = self.extra = 0.0

    @property
    def energy(self) -> float:
        """Joules held: the heat buffer plus what is left of the fuel item burning."""
        return self.heat + self.burning


class RefWorld:
    """One world, tick by tick; the same state and rules as ``ff_world_t`` / ``_sim.World``."""

    def __init__(self, w: int, h: int, tile: int = GRASS):
        self.w, self.h = w, h
        self.clear(tile)

    def clear(self, tile: int = GRASS) -> None:
        w, h = self.w, self.h
        self.tick_count = 0
        self.px, self.py = w * 128, h * 128          # map centre
        self.walk_dir = -1
        self.mining = False
        self.mine_progress = 0
        self.mine_kind = 0                           # entity id the progress counts for
        self.mine_tx = self.mine_ty = 0
        self.inv = [0] * NUM_ITEM_SLOTS
        self.queue: list[list[int]] = []             # [recipe, count, prereq], <= CRAFT_QUEUE
        self.craft_progress = 0
        self.mined_total = self.crafted_total = self.removed_total = 0
        self.fed_total = self.smelted_total = 0
        self.tile = [tile] * (w * h)
        self.has_building = [False] * (w * h)
        self.resg = [0] * (w * h)                    # resource index + 1
        self.res: list[Resource] = []
        self.bld: list[Building] = []
        self.ground: list[list[int]] = []            # [tx, ty, item, count], <= MAX_GROUND

    # -- map editing --------------------------------------------------------------------------

    def in_map(self, tx: int, ty: int) -> bool:
        return 0 <= tx < self.w and 0 <= ty < self.h

    def set_tile(self, tx: int, ty: int, tile: int) -> None:
        self.tile[ty * self.w + tx] = tile

    def add_resource(self, tx: int, ty: int, entity: int, amount: int) -> bool:
        if self.resg[ty * self.w + tx] or len(self.res) >= MAX_RESOURCES:
            return False
        self.res.append(Resource(entity, tx, ty, amount))
        self.resg[ty * self.w + tx] = len(self.res)
        return True

    def _footprint_free(self, tx, ty, fp, walkable) -> bool:
        for y in range(ty, ty + fp):
            for x in range(tx, tx + fp):
                if not self.in_map(x, y) or self.has_building[y * self.w + x]:
                    return False
                if walkable and TILES[self.tile[y * self.w + x]][1]:
                    return False
        return True

    def _add_building(self, entity, tx, ty, dir_) -> int:
        fp = ENTITIES[entity][4]
        self.bld.append(Building(entity, tx, ty, dir_))
        for y in range(ty, ty + fp):
            for x in range(tx, tx + fp):
                self.has_building[y * self.w + x] = True
        return len(self.bld) - 1

    def add_building(self, entity: int, tx: int, ty: int, dir_: int = 0) -> int:
        """Map setup without game checks; -1 if the footprint is taken (or the list is full)."""
        if ENTITIES[entity][1] == BELT and dir_ & 1:
            raise ValueError("belts face N/E/S/W only")
        if len(self.bld) >= MAX_BUILDINGS or not self._footprint_free(
                tx, ty, ENTITIES[entity][4], False):
            return -1
        return self._add_building(entity, tx, ty, dir_)

    def building_at(self, tx: int, ty: int) -> int:
        if not self.in_map(tx, ty) or not self.has_building[ty * self.w + tx]:
            return -1
        for i, b in enumerate(self.bld):
            fp = ENTITIES[b.type][4]
            if b.tx <= tx < b.tx + fp and b.ty <= ty < b.ty + fp:
                return i
        return -1

    # -- character control --------------------------------------------------------------------

    def set_mining(self, mining: bool, tx: int = 0, ty: int = 0) -> None:
        if not mining:
            self.mining = False
            self.mine_progress = 0
            self.mine_kind = 0
            return
        if not self.mining or (self.mine_tx, self.mine_ty) != (tx, ty):
            self.mine_progress = 0          # a new target starts from zero
            self.mine_kind = 0
        self.mining = True
        self.mine_tx, self.mine_ty = tx, ty

    # -- inventory (80 slots, §4.1) -----------------------------------------------------------

    def used_slots(self) -> int:
        return sum(_ceil_div(self.inv[i], ITEMS[i][1]) for i in range(1, len(ITEMS)))

    def can_insert(self, item: int) -> int:
        s = ITEMS[item][1]
        other = self.used_slots() - _ceil_div(self.inv[item], s)
        return max((INVENTORY_SLOTS - other) * s - self.inv[item], 0)

    def insert_item(self, item: int, n: int) -> int:
        k = min(n, self.can_insert(item))
        if k > 0:
            self.inv[item] += k
        return max(k, 0)

    # -- crafting (§4.4; ingredients are taken when queued) -----------------------------------

    def _craft_plan(self, inv, recipe, n, plan, prereq) -> bool:
        """Chain crafting (CraftingQueueItem.prerequisite): per ingredient in recipe order, use
        the inventory, craft the rest first by the item's recipe (depth 1), as ff_craft_plan."""
        for item, k in RECIPES[recipe][0]:
            need = n * k
            use = min(inv[item], need)
            inv[item] -= use
            if use == need:
                continue
            sub = ITEM_RECIPE.get(item, -1)
            if sub < 0 or prereq:
                return False
            out_count = RECIPES[sub][2]
            if not self._craft_plan(inv, sub, -(-(need - use) // out_count), plan, 1):
                return False
        if len(plan) >= 4:
            return False
        plan.append([recipe, n, prereq])
        return True

    def _craft_try(self, recipe, n):
        inv, plan = list(self.inv), []
        return (inv, plan) if self._craft_plan(inv, recipe, n, plan, 0) else None

    def craft(self, recipe: int, count: int) -> int:
        n = self.craftable(recipe, count)  # the most crafts the inventory allows, up to count
        if n <= 0:
            return 0
        inv, plan = self._craft_try(recipe, n)
        # room: an entry merges into the tail (same recipe and kind) or takes a slot
        length = len(self.queue)
        tail = list(self.queue[-1]) if self.queue else None
        for e in plan:
            if tail and tail[0] == e[0] and tail[2] == e[2] and tail[1] + e[1] <= 0xFFFF:
                tail[1] += e[1]
                continue
            if length >= CRAFT_QUEUE:
                return 0
            length += 1
            tail = list(e)
        for e in plan:
            q = self.queue
            if q and q[-1][0] == e[0] and q[-1][2] == e[2] and q[-1][1] + e[1] <= 0xFFFF:
                q[-1][1] += e[1]
            else:
                q.append(list(e))
        self.inv = inv
        return n

    def craftable(self, recipe: int, count: int = 0xFFFF) -> int:
        """ff_world_craftable: the crafts ``craft`` could start (queue room not counted)."""
        n = min(count, 0xFFFF)
        if n <= 0 or self._craft_try(recipe, n) is not None:
            return max(n, 0)
        lo, hi = 0, n                        # lo feasible, hi not
        while hi - lo > 1:
            mid = lo + (hi - lo) // 2
            if self._craft_try(recipe, mid) is not None:
                lo = mid
            else:
                hi = mid
        return lo

    def cancel_craft(self, i: int, count: int) -> int:
        """ff_world_cancel_craft: an entry with prerequisites goes whole with them; the refund
        is the inputs still owed, intermediates already made coming back as items."""
        q = self.queue
        if not 0 <= i < len(q) or count < 1:
            raise IndexError("no such crafting queue entry")
        main = i
        while main < len(q) and q[main][2]:
            main += 1
        if main >= len(q):
            raise IndexError("a prerequisite entry without its consumer")
        first = main
        while first > 0 and q[first - 1][2]:
            first -= 1
        k = q[main][1]
        if first == main and i == main and count < k:
            k = count
        owed = [0] * len(self.inv)
        inputs, _, _, _ = RECIPES[q[main][0]]
        for item, n in inputs:
            owed[item] += k * n
        for e in q[first:main]:
            p_inputs, out_item, out_count, _ = RECIPES[e[0]]
            for item, n in p_inputs:
                self.inv[item] = min(self.inv[item] + e[1] * n, 0xFFFF)
            owed[out_item] = max(owed[out_item] - e[1] * out_count, 0)
        for item, n in enumerate(owed):
            if n:
                self.inv[item] = min(self.inv[item] + n, 0xFFFF)
        if k < q[main][1]:
            q[main][1] -= k
            return k
        if first == 0:
            self.craft_progress = 0
        del q[first:main + 1]
        return k

    def _craft_tick(self) -> None:
        if not self.queue:
            return
        _, out_item, out_count, ticks = RECIPES[self.queue[0][0]]
        if self.craft_progress < ticks:
            self.craft_progress += 1
        if self.craft_progress < ticks:
            return
        if not self.queue[0][2]:            # an intermediate's product goes into its user
            if self.can_insert(out_item) < out_count:
                return                      # UNCERTAIN: Factorio would spill it on the ground
            self.inv[out_item] += out_count
        self.crafted_total += out_count
        self.craft_progress = 0
        self.queue[0][1] -= 1
        if self.queue[0][1] == 0:
            self.queue.pop(0)

    # -- collision and walking (§4.1, §4.2) ---------------------------------------------------

    def _blocking_building(self, x5: int, y5: int) -> int:
        """First character-blocking building whose box strictly overlaps the +-0.2 box."""
        for i, b in enumerate(self.bld):
            if not ENTITIES[b.type][3]:
                continue
            lim = CHAR_HALF5 + b.half5
            if abs(x5 - b.cx * 5) < lim and abs(y5 - b.cy * 5) < lim:
                return i
        return -1

    # Water by tile-transition collision (Friday Facts #344; MrWint/factorio-replay-tools
    # src/simulation.rs `const_collide_with_tile`, 1.1.107; docs/factorio-facts.md §4.6): the
    # centre point against the tile's transition class. Off the map and every blocking tile id
    # count as water neighbours; an out-of-map tile blocks as a whole (our choices, UNCERTAIN).

    def _waterish(self, tx: int, ty: int) -> bool:
        return not self.in_map(tx, ty) or TILES[self.tile[ty * self.w + tx]][1]

    def tile_class(self, tx: int, ty: int) -> int:
        """TCLS_FREE, TCLS_FULL or the corner triangle TCLS_NE / SE / SW / NW."""
        if not self.in_map(tx, ty):
            return TCLS_FULL
        t = self.tile[ty * self.w + tx]
        if not TILES[t][1]:
            return TCLS_FREE
        if t == OUT_OF_MAP:
            return TCLS_FULL
        wa = self._waterish
        n, e, s, w = wa(tx, ty - 1), wa(tx + 1, ty), wa(tx, ty + 1), wa(tx - 1, ty)
        if n + e + s + w >= 3:
            return TCLS_FULL
        if n and e:
            return TCLS_NE if wa(tx + 1, ty - 1) else TCLS_FREE
        if e and s:
            return TCLS_SE if wa(tx + 1, ty + 1) else TCLS_FREE
        if s and w:
            return TCLS_SW if wa(tx - 1, ty + 1) else TCLS_FREE
        if w and n:
            return TCLS_NW if wa(tx - 1, ty - 1) else TCLS_FREE
        return TCLS_FREE

    def _tile_hit(self, px: int, py: int) -> int:
        """The class of the tile under the centre point if the centre collides there, else FREE."""
        cls = self.tile_class(px >> 8, py >> 8)
        fx, fy = px & 255, py & 255
        hit = (cls == TCLS_FULL or (cls == TCLS_NE and fy < fx) or (cls == TCLS_SE and 256 - fy < fx)
               or (cls == TCLS_SW and fy > fx) or (cls == TCLS_NW and 256 - fy > fx))
        return cls if hit else TCLS_FREE

    def _tile_collides(self, px: int, py: int) -> bool:
        return self._tile_hit(px, py) != TCLS_FREE

    def collides(self, px: int, py: int) -> bool:
        return self._tile_collides(px, py) or self._blocking_building(px * 5, py * 5) >= 0

    def _try(self, nx: int, ny: int) -> bool:
        if self.collides(nx, ny):
            return False
        self.px, self.py = nx, ny
        return True

    def _slide(self, vx: int, vy: int) -> bool:
        """Character::calculateSlideOverCorner of an orthogonal move: a building in the way is
        slid round by its collision box (_box_slide), else the tile under the new centre point
        by the tile slide (_tile_slide)."""
        nx, ny = self.px + vx, self.py + vy
        bi = self._blocking_building(nx * 5, ny * 5)
        if bi < 0:
            return self._tile_slide(self._tile_hit(nx, ny), vx, vy)
        b = self.bld[bi]
        c = b.cy if vx != 0 else b.cx
        k = b.half5 // 5                               # trunc(half * 256) for every entity
        return self._box_slide(c - k, c + k, vx, vy)

    def _box_slide(self, lo: int, hi: int, vx: int, vy: int) -> bool:
        """Character::calculateHorizontalSlide / calculateVerticalSlide (the replay tool's
        calculate_*_slide), in the engine's 1/256 fixed point: the move is blocked by a box
        with edges lo..hi across it. No slide if both nudge distances exceed 179; else toward
        the nearer edge (ties: a horizontal move down, a vertical one left), if the move from
        just past that edge is free, by min(speed, nudge + 0.01) in double, truncated."""
        along_x = vx != 0
        p = self.py if along_x else self.px
        to_hi, to_lo = hi - (p - CHAR_HALF256), (p + CHAR_HALF256) - lo
        if min(to_hi, to_lo) > CORNER_SLIDE256:
            return False
        mv = abs(vx if along_x else vy) / 256.0
        positive = to_lo >= to_hi if along_x else to_hi < to_lo
        if positive:
            g, lim, sgn = hi + CHAR_HALF256 + SLIDE_MARGIN256, to_hi / 256.0 + 0.01, 1
        else:
            g, lim, sgn = lo - CHAR_HALF256 - SLIDE_MARGIN256, to_lo / 256.0 + 0.01, -1
        step = sgn * int(min(mv, lim) * 256.0)
        if along_x:
            if self.collides(self.px + vx, g):
                return False
            return self._try(self.px, self.py + step)
        if self.collides(g, self.py + vy):
            return False
        return self._try(self.px + step, self.py)

    def _tile_slide(self, cls: int, vx: int, vy: int) -> bool:
        """Character::calculateTileSlide (replay tool: calculate_slide_over_corner's tile branch):
        a whole-tile block slides against the box of the character's own tile (_box_slide); a
        corner triangle projects the move onto its edge (double, truncated like MapPosition +
        Vector)."""
        if cls == TCLS_FREE:
            return False
        if cls == TCLS_FULL:
            lo = ((self.py if vx != 0 else self.px) >> 8) * 256
            return self._box_slide(lo, lo + 256, vx, vy)
        dx, dy = TRI_DIR[cls]
        mx, my = vx / 256.0, vy / 256.0
        corr = -(mx * dx + my * dy)
        nx, ny = mx + dx * corr, my + dy * corr
        return self._try(self.px + int(nx * 256.0), self.py + int(ny * 256.0))

    def _walk_tick(self) -> None:
        d = self.walk_dir
        tx, ty = self.px >> 8, self.py >> 8
        t = self.tile[ty * self.w + tx] if self.in_map(tx, ty) else OUT_OF_MAP
        s = WALK_DIAGONAL[t] if d & 1 else WALK_STRAIGHT[t]
        vx, vy = DIR_DX[d] * s, DIR_DY[d] * s
        while True:
            if self._try(self.px + vx, self.py + vy):          # 1. the full move
                return
            if vx == 0 or vy == 0:
                if self._slide(vx, vy):                        # 2. corner slide
                    return
            else:
                if self._try(self.px + vx, self.py):           # 3. x alone, then y alone
                    return
                if self._try(self.px, self.py + vy):
                    return
            if vx * vx + vy * vy > 655:                        # 4. |v|^2 > 0.01: halve
                vx, vy = _tdiv(vx, 2), _tdiv(vy, 2)
                continue
            break
        if vx == 0 or vy == 0:                                 # 5. short move, 8..1 units
            sx, sy = (vx > 0) - (vx < 0), (vy > 0) - (vy < 0)
            for k in range(8, 0, -1):
                if self._try(self.px + sx * k, self.py + sy * k):
                    return

    def _belt_tick(self) -> None:
        """A belt under the centre point carries the character 8/256 per tick (UNCERTAIN)."""
        bi = self.building_at(self.px >> 8, self.py >> 8)
        if bi < 0 or self.bld[bi].type != BELT_E:
            return
        d = self.bld[bi].dir
        self._try(self.px + DIR_DX[d] * BELT_SPEED, self.py + DIR_DY[d] * BELT_SPEED)

    # -- mining (§4.3) ------------------------------------------------------------------------

    def in_resource_reach(self, tx: int, ty: int) -> bool:
        """Distance from the centre point to the resource's +-0.1 box at most 2.7."""
        dx = max(abs(self.px * 5 - (tx * 1280 + 640)) - RESOURCE_HALF5, 0)
        dy = max(abs(self.py * 5 - (ty * 1280 + 640)) - RESOURCE_HALF5, 0)
        return dx * dx + dy * dy <= REACH_RESOURCE5 * REACH_RESOURCE5

    def _remove_resource(self, ri: int) -> None:
        r = self.res[ri]
        self.resg[r.ty * self.w + r.tx] = 0
        r.type = r.amount = 0
        self.removed_total += 1

    def _remove_building(self, bi: int) -> None:
        b = self.bld.pop(bi)
        fp = ENTITIES[b.type][4]
        for y in range(b.ty, b.ty + fp):
            for x in range(b.tx, b.tx + fp):
                self.has_building[y * self.w + x] = False

    def _pick_up(self, bi: int) -> bool:
        """The building and its contents into the inventory, all or nothing (UNCERTAIN)."""
        b = self.bld[bi]
        saved = list(self.inv)
        items = [(ENTITY_ITEM[b.type], 1), (COAL, b.fuel)]
        if b.type == FURNACE_E:
            items += [(IRON_ORE, b.src + (1 if b.work > 0.0 else 0)), (PLATE, b.out)]
        elif b.type == DRILL_E and b.src:
            items.append((b.src, 1))
        for item, n in items:
            if n and self.insert_item(item, n) != n:
                self.inv = saved
                return False
        self._remove_building(bi)
        return True

    def _mine_tick(self) -> None:
        tx, ty = self.mine_tx, self.mine_ty
        bi = self.building_at(tx, ty)
        if bi >= 0:                         # the building is selected, not the ore under it
            b = self.bld[bi]
            goal = BUILDING_MINE_TICKS.get(b.type, 0)
            if not goal or not self._in_reach_of(b):
                self.mine_progress = 0
                return
            if self.mine_kind != b.type:
                self.mine_kind, self.mine_progress = b.type, 0
            if self.mine_progress < goal:
                self.mine_progress += 1
            if self.mine_progress < goal:
                return
            if self._pick_up(bi):
                self.mine_progress = 0
                self.mine_kind = 0
            return
        ri = self.resg[ty * self.w + tx] if self.in_map(tx, ty) else 0
        if not ri or not self.in_resource_reach(tx, ty):
            self.mine_progress = 0
            return
        r = self.res[ri - 1]
        if self.mine_kind != r.type:
            self.mine_kind, self.mine_progress = r.type, 0
        if self.mine_progress < HAND_MINING_TICKS:
            self.mine_progress += 1
        if self.mine_progress < HAND_MINING_TICKS:
            return
        if self.insert_item(r.type, 1) != 1:   # resource entity id == its item id
            return                              # full inventory holds the cycle (UNCERTAIN)
        self.mine_progress = 0
        self.mined_total += 1
        r.amount -= 1
        if r.amount == 0:
            self._remove_resource(ri - 1)

    # -- machines -----------------------------------------------------------------------------

    @staticmethod
    def _burner_extract(b: Building, want: float) -> float:
        got = want if want < b.heat else b.heat
        b.heat -= got
        return got

    @staticmethod
    def _burner_transfer(b: Building, cap: float) -> None:
        r = cap - b.heat
        if r > b.burning:
            r = b.burning
        if r != 0.0:
            h = b.heat + r
            b.heat = cap if cap < h else h
            left = b.burning - r
            b.burning = left if left > 0.0 else 0.0

    def _burner_tick(self, b: Building, use: float) -> None:
        cap = use * (16.0 / 15.0)
        if b.burning > 0.0 and b.heat < cap:
            self._burner_transfer(b, cap)
        if b.heat < cap and b.burning <= 0.0 and b.fuel:
            b.burning = float(COAL_JOULES)
            b.fuel -= 1
            self._burner_transfer(b, cap)

    def _furnace_tick(self, b: Building) -> None:
        if b.work >= SMELT_S:
            if b.out >= FURNACE_OUT_MAX:
                return
            x = b.work - SMELT_S
            b.extra = x if x > 0.0 else 0.0
            b.work = 0.0
            b.progress = 0
            b.out += 1
            b.produced += 1
            self.smelted_total += 1
        fresh = b.work == 0.0
        if fresh and (b.src == 0 or b.out >= FURNACE_OUT_MAX):
            return
        speed = self._burner_extract(b, FURNACE_USE) / FURNACE_USE * 1.0
        if speed > 0.0:
            b.work += speed / 60.0
            b.progress += 1
            if fresh:                       # the ore is taken when the craft starts
                b.src -= 1
                b.work += b.extra
                b.extra = 0.0
        self._burner_tick(b, FURNACE_USE)

    def _drill_output(self, b: Building) -> None:
        """Drop point centre + (-0.5, -1.3): the tile above the top-left tile (§4.3): into a
        furnace there, else onto the ground as one stack unless one lies there already (it
        blocks), the tile blocks or is off the map, or the list is full: then the drill waits."""
        dx, dy = b.tx, b.ty - 1
        fi = self.building_at(dx, dy)
        if fi >= 0:
            f = self.bld[fi]
            if f.type == FURNACE_E and b.src == IRON_ORE and f.src < ENTITY_SLOT_MAX:
                f.src += 1
                b.src = 0
                self.fed_total += 1
            return
        if (not self.in_map(dx, dy) or TILES[self.tile[dy * self.w + dx]][1]
                or len(self.ground) >= MAX_GROUND or self.ground_at(dx, dy) >= 0):
            return
        self.ground.append([dx, dy, b.src, 1])
        b.src = 0

    # -- items on the ground (issue 12, item 4) ----------------------------------------------

    def ground_at(self, tx: int, ty: int) -> int:
        for i, g in enumerate(self.ground):
            if g[0] == tx and g[1] == ty:
                return i
        return -1

    @staticmethod
    def ground_position(tx: int, ty: int) -> tuple[int, int]:
        """Where a drill drops it: the tile centre on x, 0.3 above the south edge (-77/256)."""
        return tx * 256 + 128, ty * 256 + 256 - 77

    def pick_ground(self, tx: int, ty: int, check_reach: bool = True) -> int:
        i = self.ground_at(tx, ty)
        if i < 0:
            return 0
        _, _, item, count = self.ground[i]
        if check_reach:
            gx, gy = self.ground_position(tx, ty)
            dx, dy = (gx - self.px) * 5, (gy - self.py) * 5
            if dx * dx + dy * dy > REACH5 * REACH5:
                return 0
        if self.can_insert(item) < count:
            return 0
        n = self.insert_item(item, count)
        del self.ground[i]
        return n

    def add_ground(self, tx: int, ty: int, item: int, count: int) -> bool:
        if len(self.ground) >= MAX_GROUND or self.ground_at(tx, ty) >= 0:
            return False
        self.ground.append([tx, ty, item, count])
        return True

    def _drill_tick(self, b: Building) -> None:
        if b.src:
            self._drill_output(b)
            if b.src:
                return
        ri = 0
        for y in range(b.ty, b.ty + 2):
            for x in range(b.tx, b.tx + 2):
                if not ri:
                    ri = self.resg[y * self.w + x]
        if not ri:
            return
        got = self._burner_extract(b, DRILL_USE)
        if got != 0.0:
            sat = got / DRILL_USE
            b.work += (sat * DRILL_SPEED) * (1.0 / 60.0)
            b.progress += 1
        self._burner_tick(b, DRILL_USE)
        if b.work < 1.0:
            return
        b.work -= 1.0
        r = self.res[ri - 1]
        b.progress = 0
        b.produced += 1
        b.src = r.type
        r.amount -= 1
        if r.amount == 0:
            self._remove_resource(ri - 1)
        self._drill_output(b)

    def tick(self, n: int = 1) -> None:
        """Furnaces, drills, then the character: crafting, walking, belt, mining (§4.2 order)."""
        for _ in range(n):
            for b in self.bld:
                if b.type == FURNACE_E:
                    self._furnace_tick(b)
            for b in self.bld:
                if b.type == DRILL_E:
                    self._drill_tick(b)
            self._craft_tick()
            if self.walk_dir >= 0:
                self._walk_tick()
            self._belt_tick()
            if self.mining:
                self._mine_tick()
            self.tick_count += 1

    # -- placing, inserting, taking -----------------------------------------------------------

    def place(self, item: int, tx: int, ty: int, dir_: int = 0) -> int:
        """Place a building item (footprint top-left at (tx, ty)); -1 if the game refuses."""
        e = ITEM_ENTITY.get(item, 0)
        if e == BELT_E and dir_ & 1:
            raise ValueError("belts face N/E/S/W only")
        if not e or not self.inv[item] or len(self.bld) >= MAX_BUILDINGS:
            return -1
        fp = ENTITIES[e][4]
        if not self._footprint_free(tx, ty, fp, True):
            return -1
        cx, cy = tx * 256 + fp * 128, ty * 256 + fp * 128
        if ENTITIES[e][3]:
            lim = CHAR_HALF5 + ENTITIES[e][2]
            if abs(self.px * 5 - cx * 5) < lim and abs(self.py * 5 - cy * 5) < lim:
                return -1                   # would overlap the character
        dx, dy = (cx - self.px) * 5, (cy - self.py) * 5
        if dx * dx + dy * dy > BUILD_DISTANCE5 * BUILD_DISTANCE5:
            return -1                       # beyond build distance 10
        if e == DRILL_E and not any(self.resg[y * self.w + x]
                                    for y in range(ty, ty + 2) for x in range(tx, tx + 2)):
            return -1                       # a drill needs a resource under it
        if self.ground:                     # building over stacks collects them, all or none
            saved = list(self.inv)
            self.inv[item] -= 1
            for g in self.ground:
                if tx <= g[0] < tx + fp and ty <= g[1] < ty + fp:
                    if self.insert_item(g[2], g[3]) != g[3]:
                        self.inv = saved
                        return -1
            self.ground = [g for g in self.ground
                           if not (tx <= g[0] < tx + fp and ty <= g[1] < ty + fp)]
            self.inv[item] += 1
        i = self._add_building(e, tx, ty, dir_)
        self.inv[item] -= 1
        return i

    def _in_reach_of(self, b: Building) -> bool:
        dx, dy = (b.cx - self.px) * 5, (b.cy - self.py) * 5
        return dx * dx + dy * dy <= REACH5 * REACH5

    def insert(self, tx: int, ty: int, item: int, count: int) -> int:
        bi = self.building_at(tx, ty)
        if bi < 0:
            return 0
        b = self.bld[bi]
        if not self._in_reach_of(b):
            return 0
        if item == COAL and b.type in (FURNACE_E, DRILL_E):
            slot = "fuel"
        elif item == IRON_ORE and b.type == FURNACE_E:
            slot = "src"
        else:
            return 0
        k = min(ENTITY_SLOT_MAX - getattr(b, slot), count, self.inv[item])
        if k <= 0:
            return 0
        setattr(b, slot, getattr(b, slot) + k)
        self.inv[item] -= k
        return k

    def take(self, tx: int, ty: int) -> int:
        bi = self.building_at(tx, ty)
        if bi < 0:
            return self.pick_ground(tx, ty)
        b = self.bld[bi]
        if b.type != FURNACE_E or not self._in_reach_of(b):
            return 0
        k = self.insert_item(PLATE, b.out)
        b.out -= k
        return k

    # -- cells (docs/design.md §4 codec) -----------------------------------------------------------

    def cell(self, tx: int, ty: int) -> int:
        if not self.in_map(tx, ty):
            return encode_cell(OUT_OF_MAP, 0, 0, True)
        k = ty * self.w + tx
        t = self.tile[k]
        ri = self.resg[k]
        amount = self.res[ri - 1].amount if ri else 0
        ent = self.res[ri - 1].type if ri else 0
        if self.has_building[k]:
            ent = self.bld[self.building_at(tx, ty)].type
        return encode_cell(t, amount, ent, TILES[t][1])

    def free_tile(self, tx: int, ty: int) -> bool:
        """Walkable, no building, no resource: where a start or a target may be."""
        k = ty * self.w + tx
        return not self.has_building[k] and not TILES[self.tile[k]][1] and not self.resg[k]


# ---------------------------------------------------------------------------------------------
# The per-env RNG: splitmix64, seeded with the env's seed (no global state)

_M64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed: int):
        self.state = seed & _M64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _M64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n


# ---------------------------------------------------------------------------------------------
# Scenarios (docs/scenarios.md has the byte tables)

SCENARIOS = {
    # name: map side, obs bytes, episode steps, nvec, ticks/step, obstacles, max, goal
    "movement_micro": dict(side=32, obs_bytes=64, episode_steps=100, nvec=(9,),
                           ticks_per_step=8, obstacles=24, max_obstacles=256, goal=0),
    "mining_micro": dict(side=64, obs_bytes=256, episode_steps=300, nvec=(34,),
                         ticks_per_step=10, obstacles=32, max_obstacles=1024, goal=10),
    "building_micro": dict(side=128, obs_bytes=512, episode_steps=500, nvec=(20, 9, 9),
                           ticks_per_step=10, obstacles=64, max_obstacles=4096, goal=5),
}

# building_micro action types (component 0)
MINE, CRAFT_GEAR, CRAFT_FURNACE, CRAFT_DRILL, CRAFT_BELT = 9, 10, 11, 12, 13
PLACE_DRILL, PLACE_FURNACE, PLACE_BELT, INSERT_COAL, INSERT_ORE, TAKE_PLATES = \
    14, 15, 16, 17, 18, 19


def _u16(v: int) -> bytes:
    return (v & 0xFFFF).to_bytes(2, "little")


def _sat16(v: int) -> int:
    return min(max(v, 0), 0xFFFF)


def _sat8(v: int) -> int:
    return min(max(v, 0), 0xFF)


def _i8(v: int) -> int:
    return min(max(v, -128), 127) & 0xFF


def _pick_free(wd: RefWorld, rng: SplitMix64) -> tuple[int, int]:
    """64 random tries (x then y), then the first free tile in row-major order."""
    for _ in range(64):
        x = rng.below(wd.w)
        y = rng.below(wd.h)
        if wd.free_tile(x, y):
            return x, y
    for y in range(wd.h):
        for x in range(wd.w):
            if wd.free_tile(x, y):
                return x, y
    return 0, 0


def _cells_window(wd: RefWorld, side: int) -> bytes:
    half, tx, ty = side // 2, wd.px >> 8, wd.py >> 8
    out = bytearray()
    for r in range(side):
        for c in range(side):
            out += wd.cell(tx - half + c, ty - half + r).to_bytes(4, "little")
    return bytes(out)


class RefEnv:
    """One env of a scenario: world, RNG, step counter and the scenario's bookkeeping."""

    def __init__(self, scenario: str, ticks_per_step=None, obstacles=None, goal=None, reward=None):
        cfg = SCENARIOS[scenario]
        self.scenario = scenario
        self.cfg = cfg
        self.ticks_per_step = cfg["ticks_per_step"] if ticks_per_step is None else ticks_per_step
        self.obstacles = cfg["obstacles"] if obstacles is None else obstacles
        self.goal = cfg["goal"] if goal is None else goal
        self.world = RefWorld(cfg["side"], cfg["side"])
        self.rng = SplitMix64(0)
        self.step_count = 0
        self.last_action = 0
        self.milestones = 0
        self.target = (0, 0)
        self.prev_dist = 0
        # shaped rewards (factorio_fast/_reference_shaping.py): the default where defined
        self.shaped = scenario in _shaping.PHI and reward != "sparse"
        self.phi = 0

    # -- episode start ------------------------------------------------------------------------

    def reset(self, seed: int) -> bytes:
        """Seed the env's RNG with ``seed``, build a new world, return the first observation."""
        self.rng = SplitMix64(seed)
        self.generate()
        return self.observe()

    def generate(self) -> None:
        """A new random world from the env's RNG stream (also used by autoreset)."""
        getattr(self, "_gen_" + self.scenario)()
        self.step_count = 0
        self.last_action = 0
        self.milestones = 0
        if self.shaped:
            self.phi = _shaping.phi(self.scenario, self.observe())

    def _gen_movement_micro(self) -> None:
        wd, rng = self.world, self.rng
        wd.clear(GRASS)
        # 3x3 ponds (every tile FULL or a corner triangle, whatever the finer rule) and chests
        for _ in range(self.obstacles):
            kind = rng.below(2)
            span = 30 if kind == 0 else 32
            x = rng.below(span)
            y = rng.below(span)
            if kind == 0:
                if any(wd.has_building[r * wd.w + c] for r in range(y, y + 3) for c in range(x, x + 3)):
                    continue
                for r in range(y, y + 3):
                    for c in range(x, x + 3):
                        wd.set_tile(c, r, WATER)
                continue
            if wd.tile[y * wd.w + x] == WATER or wd.has_building[y * wd.w + x]:
                continue
            wd.add_building(CHEST_E, x, y, 0)
        cx, cy = _pick_free(wd, rng)
        wd.px, wd.py = cx * 256 + 128, cy * 256 + 128
        target = None
        for _ in range(64):
            x = rng.below(32)
            y = rng.below(32)
            if wd.free_tile(x, y) and abs(x - cx) + abs(y - cy) >= 8:
                target = (x, y)
                break
        if target is None:       # the farthest free tile, first in row-major order
            best, target = -1, (0, 0)
            for y in range(32):
                for x in range(32):
                    d = abs(x - cx) + abs(y - cy)
                    if wd.free_tile(x, y) and d > best:
                        best, target = d, (x, y)
        self.target = target
        self.prev_dist = self._movement_dist()

    def _gen_mining_micro(self) -> None:
        wd, rng = self.world, self.rng
        wd.clear(GRASS)
        for _ in range(1 + rng.below(3)):
            cx = 4 + rng.below(56)
            cy = 4 + rng.below(56)
            rad = 1 + rng.below(3)
            for y in range(cy - rad, cy + rad + 1):
                for x in range(cx - rad, cx + rad + 1):
                    if (x - cx) ** 2 + (y - cy) ** 2 > rad * rad + 1:
                        continue
                    amount = 100 + rng.below(400)
                    wd.add_resource(x, y, IRON_ORE_E, amount)
        for _ in range(self.obstacles):      # 3x3 ponds (ff_pond)
            x = rng.below(62)
            y = rng.below(62)
            self._pond(wd, x, y)
        cx, cy = _pick_free(wd, rng)
        wd.px, wd.py = cx * 256 + 128, cy * 256 + 128

    @staticmethod
    def _pond(wd, x, y) -> bool:
        """A 3x3 water square unless a tile holds a resource or a building (ff_pond)."""
        tiles = [(c, r) for r in range(y, y + 3) for c in range(x, x + 3)]
        if any(wd.resg[r * wd.w + c] or wd.has_building[r * wd.w + c] for c, r in tiles):
            return False
        for c, r in tiles:
            wd.set_tile(c, r, WATER)
        return True

    @staticmethod
    def _patch(wd, rng, cx, cy, rad, entity, base, spread) -> None:
        for y in range(cy - rad, cy + rad + 1):
            for x in range(cx - rad, cx + rad + 1):
                if (x - cx) ** 2 + (y - cy) ** 2 > rad * rad + 1:
                    continue
                amount = base + rng.below(spread)      # drawn even for tiles off the map
                if wd.in_map(x, y) and not wd.resg[y * wd.w + x]:
                    wd.add_resource(x, y, entity, amount)

    def _gen_building_micro(self) -> None:
        wd, rng = self.world, self.rng
        wd.clear(GRASS)
        cx = 48 + rng.below(32)
        cy = 48 + rng.below(32)
        sign = 1 if rng.below(2) else -1
        ix = cx + sign * (4 + rng.below(7))
        iy = cy + rng.below(13) - 6
        self._patch(wd, rng, ix, iy, 2 + rng.below(2), IRON_ORE_E, 200, 300)
        kx = cx + rng.below(25) - 12
        sign = 1 if rng.below(2) else -1
        ky = cy + sign * (5 + rng.below(6))
        self._patch(wd, rng, kx, ky, 1 + rng.below(2), COAL_E, 100, 200)
        sx = cx + rng.below(25) - 12
        sign = 1 if rng.below(2) else -1
        sy = cy + sign * (5 + rng.below(6))
        self._patch(wd, rng, sx, sy, 1 + rng.below(2), STONE_E, 100, 200)
        for _ in range(self.obstacles):      # 3x3 ponds, none within 2 tiles of the start
            x = rng.below(126)
            y = rng.below(126)
            if x <= cx + 2 and x + 2 >= cx - 2 and y <= cy + 2 and y + 2 >= cy - 2:
                continue
            self._pond(wd, x, y)
        if not wd.free_tile(cx, cy):
            cx, cy = _pick_free(wd, rng)
        wd.px, wd.py = cx * 256 + 128, cy * 256 + 128
        wd.inv[PLATE] = 12
        wd.inv[STONE] = 10
        wd.inv[COAL] = 8

    # -- observations -------------------------------------------------------------------------

    def observe(self) -> bytes:
        return getattr(self, "_obs_" + self.scenario)()

    def _movement_dist(self) -> int:
        wd = self.world
        return abs(self.target[0] * 256 + 128 - wd.px) + abs(self.target[1] * 256 + 128 - wd.py)

    def _obs_movement_micro(self) -> bytes:
        wd = self.world
        tx, ty = wd.px >> 8, wd.py >> 8
        o = bytearray()
        for r in range(16):                    # 16x16 blocked bitmap, bit c = column tx-8+c
            bits = 0
            for c in range(16):
                x, y = tx - 8 + c, ty - 8 + r
                blocked = (not wd.in_map(x, y) or wd.has_building[y * wd.w + x]
                           or wd.tile_class(x, y) != TCLS_FREE)
                bits |= int(blocked) << c
            o += _u16(bits)
        o += _u16(_sat16(wd.px)) + _u16(_sat16(wd.py))
        o += _u16(self.target[0] * 256 + 128 - wd.px) + _u16(self.target[1] * 256 + 128 - wd.py)
        o += bytes([self.last_action, 0]) + _u16(self.step_count)
        o += bytes(20)
        return bytes(o)

    def _obs_mining_micro(self) -> bytes:
        wd = self.world
        o = bytearray(_cells_window(wd, 7))
        o += _u16(_sat16(wd.px)) + _u16(_sat16(wd.py))
        o += _u16(wd.inv[IRON_ORE]) + _u16(wd.mine_progress) + _u16(self.step_count)
        o += bytes([self.last_action, 0])
        coarse = 0                             # 8x8 blocks of 8x8 tiles holding ore
        for r in wd.res:
            if r.type:
                coarse |= 1 << ((r.ty >> 3) * 8 + (r.tx >> 3))
        o += coarse.to_bytes(8, "little")
        o += bytes(40)
        return bytes(o)

    def _obs_building_micro(self) -> bytes:
        wd = self.world
        o = bytearray(_cells_window(wd, 9))
        for i in range(16):
            o += _u16(wd.inv[i])
        o += _u16(_sat16(wd.px)) + _u16(_sat16(wd.py))
        o += bytes([wd.queue[0][0] + 1 if wd.queue else 0, len(wd.queue)])
        o += _u16(wd.craft_progress) + _u16(self.step_count)
        o += bytes([self.last_action, self.milestones])
        o += _u16(_sat16(wd.smelted_total)) + _u16(wd.mine_progress)
        tx, ty = wd.px >> 8, wd.py >> 8
        for k in range(8):
            if k >= len(wd.bld):
                o += bytes(8)
                continue
            b = wd.bld[k]
            flags = (1 if b.heat > 0.0 or b.burning > 0.0 else 0) | (2 if b.type == DRILL_E and b.src else 0)
            if b.type == DRILL_E:               # the stack at its drop point, item id << 4
                gi = wd.ground_at(b.tx, b.ty - 1)
                if gi >= 0:
                    flags |= wd.ground[gi][2] << 4
            o += bytes([b.type, _i8(b.tx - tx), _i8(b.ty - ty), _sat8(b.fuel), _sat8(b.src),
                        _sat8(b.out), _sat8(b.progress), flags])
        coarse = bytearray(32)                 # 8x8 blocks of 16x16 tiles, a nibble each
        for r in wd.res:
            if not r.type:
                continue
            bit = {IRON_ORE_E: 1, COAL_E: 2, STONE_E: 4}.get(r.type, 8)
            blk = (r.ty >> 4) * 8 + (r.tx >> 4)
            coarse[blk >> 1] |= bit << (4 * (blk & 1))
        o += coarse
        o += bytes(44)
        return bytes(o)

    # -- stepping -----------------------------------------------------------------------------

    def step(self, action) -> tuple[bytes, np.float32, bool, bool]:
        """Apply one action, run ``ticks_per_step`` ticks; (obs, reward, terminated, truncated).

        The caller handles autoreset (``RefBatch``)."""
        a = [int(v) for v in np.atleast_1d(action)]
        self.last_action = a[0] & 0xFF
        self.step_count += 1
        reward, term = getattr(self, "_step_" + self.scenario)(a)
        trunc = not term and self.step_count >= self.cfg["episode_steps"]
        obs = self.observe()
        if self.shaped:
            phi = _shaping.phi(self.scenario, obs)
            reward = np.float32(np.float32(reward) + _shaping.shaping_reward(self.scenario, self.phi, phi))
            self.phi = phi
        return obs, reward, term, trunc

    def _ticks(self) -> None:
        self.world.tick(self.ticks_per_step)

    def _step_movement_micro(self, a):
        wd = self.world
        wd.walk_dir = a[0] - 1             # 0 = stand, 1..8 = N, NE, ..., NW
        wd.mining = False
        self._ticks()
        d = self._movement_dist()
        r = np.float32(self.prev_dist - d) / np.float32(2560.0)
        self.prev_dist = d
        term = (wd.px >> 8, wd.py >> 8) == self.target
        if term:
            r = r + np.float32(1.0)
        return np.float32(r), term

    def _step_mining_micro(self, a):
        wd = self.world
        code = a[0]
        before = wd.mined_total
        if code <= 8:
            wd.walk_dir = code - 1
            wd.set_mining(False)
        else:
            k = code - 9                   # mine the tile (dx, dy) = (k % 5 - 2, k // 5 - 2)
            wd.walk_dir = -1
            wd.set_mining(True, (wd.px >> 8) + k % 5 - 2, (wd.py >> 8) + k // 5 - 2)
        self._ticks()
        got = wd.mined_total - before
        return np.float32(got), wd.mined_total >= self.goal

    def _step_building_micro(self, a):
        wd = self.world
        code = a[0]
        tx, ty = (wd.px >> 8) + a[1] - 4, (wd.py >> 8) + a[2] - 4
        crafted0, smelted0 = wd.crafted_total, wd.smelted_total
        r = np.float32(0.0)
        if code <= 8:
            wd.walk_dir = code - 1
            wd.set_mining(False)
        else:
            wd.walk_dir = -1
            if code == MINE:
                wd.set_mining(True, tx, ty)
            else:
                wd.set_mining(False)
            if CRAFT_GEAR <= code <= CRAFT_BELT:
                wd.craft(code - CRAFT_GEAR, 1)
            elif code == PLACE_DRILL:
                if wd.place(DRILL, tx, ty, 0) >= 0 and not self.milestones & 1:
                    on_ore = any(wd.resg[y * wd.w + x] and
                                 wd.res[wd.resg[y * wd.w + x] - 1].type == IRON_ORE_E
                                 for y in range(ty, ty + 2) for x in range(tx, tx + 2))
                    if on_ore:
                        self.milestones |= 1
                        r = r + np.float32(1.0)
            elif code == PLACE_FURNACE:
                wd.place(FURNACE, tx, ty, 0)
            elif code == PLACE_BELT:
                wd.place(BELT_ITEM, tx, ty, 0)
            elif code == INSERT_COAL:
                wd.insert(tx, ty, COAL, 5)
            elif code == INSERT_ORE:
                wd.insert(tx, ty, IRON_ORE, 5)
            elif code == TAKE_PLATES:
                wd.take(tx, ty)
        fed0 = wd.fed_total
        self._ticks()
        if wd.fed_total != fed0 and not self.milestones & 2:
            self.milestones |= 2
            r = r + np.float32(1.0)
        r = r + np.float32(wd.crafted_total - crafted0) * np.float32(0.1)
        r = r + np.float32(wd.smelted_total - smelted0)
        return np.float32(r), wd.smelted_total >= self.goal


class RefBatch:
    """A batch of ``RefEnv`` with the same reset / autoreset contract as ``_sim.BatchSim``."""

    def __init__(self, scenario: str, num_envs: int, **kwargs):
        self.envs = [RefEnv(scenario, **kwargs) for _ in range(num_envs)]
        self.needs_reset = [False] * num_envs
        self.obs_bytes = SCENARIOS[scenario]["obs_bytes"]
        for i, env in enumerate(self.envs):   # before any reset, env i is seeded with i
            env.rng = SplitMix64(i)
            env.generate()

    def reset(self, seeds, env_ids=None) -> dict[int, bytes]:
        ids = range(len(self.envs)) if env_ids is None else env_ids
        out = {}
        for i, seed in zip(ids, seeds):
            out[int(i)] = self.envs[int(i)].reset(int(seed))
            self.needs_reset[int(i)] = False
        return out

    def step(self, actions, autoreset: str = "next_step"):
        """Returns obs (n, obs_bytes) uint8, rewards float32, terminated, truncated, final_obs,
        final_mask (the last two are meaningful for ``same_step`` only)."""
        n = len(self.envs)
        obs = np.zeros((n, self.obs_bytes), np.uint8)
        rew = np.zeros(n, np.float32)
        term = np.zeros(n, bool)
        trunc = np.zeros(n, bool)
        final_obs = np.zeros((n, self.obs_bytes), np.uint8)
        final_mask = np.zeros(n, bool)
        for i, env in enumerate(self.envs):
            if self.needs_reset[i]:          # next_step: the action is ignored, reward 0
                env.generate()
                obs[i] = np.frombuffer(env.observe(), np.uint8)
                self.needs_reset[i] = False
                continue
            o, r, te, tr = env.step(actions[i])
            rew[i], term[i], trunc[i] = r, te, tr
            if autoreset == "same_step":
                if te or tr:
                    final_obs[i] = np.frombuffer(o, np.uint8)
                    final_mask[i] = True
                    env.generate()
                    o = env.observe()
            else:
                self.needs_reset[i] = te or tr
            obs[i] = np.frombuffer(o, np.uint8)
        return obs, rew, term, trunc, final_obs, final_mask
