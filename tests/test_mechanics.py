"""One test per mechanic, with the number from docs/factorio-facts.md §4.

Each test runs on the C world (``_sim.World``) and on the Python reference (``RefWorld``), so
the oracle itself is held to docs/factorio-facts.md, not only to the C. Positions are in 1/256
tile; tile (tx, ty) has its centre at (tx*256+128, ty*256+128). docs/mechanics.md maps each rule
to these tests and to every place that implements it.
"""

import pytest
from test_sim_reference import RefAPI

from factorio_fast._sim import World
from factorio_fast.errors import FactorioFastError

GRASS, WATER, SHALLOW, CONCRETE = 1, 11, 9, 6
IRON_ORE_E, FURNACE_E, DRILL_E, BELT_E, CHEST_E = 1, 5, 6, 7, 8
IRON_ORE, COAL, STONE, PLATE, GEAR, FURNACE, DRILL, BELT, CHEST = 1, 3, 4, 5, 6, 7, 8, 9, 10
N, NE, E, SE, S, SW, W, NW = range(8)


def centre(tx, ty):
    return tx * 256 + 128, ty * 256 + 128


@pytest.fixture(params=["c", "ref"])
def make(request):
    def factory(w=32, h=32):
        return World(w, h) if request.param == "c" else RefAPI(w, h)
    return factory


# ---- movement (§4.2) ------------------------------------------------------------------------

def test_walk_east_ten_ticks_is_380_of_256(make):
    # §4.2: running_speed 0.15 -> 38/256 tile per tick straight
    wd = make()
    x0, y0 = wd.position
    wd.set_walking(E)
    wd.tick(10)
    assert wd.position == (x0 + 380, y0)
    assert wd.tick_count == 10


@pytest.mark.parametrize("d,sx,sy", [(N, 0, -1), (S, 0, 1), (W, -1, 0)])
def test_walk_straight_each_axis_38(make, d, sx, sy):
    wd = make()
    x0, y0 = wd.position
    wd.set_walking(d)
    wd.tick(1)
    assert wd.position == (x0 + 38 * sx, y0 + 38 * sy)


@pytest.mark.parametrize("d,sx,sy", [(NE, 1, -1), (SE, 1, 1), (SW, -1, 1), (NW, -1, -1)])
def test_walk_diagonal_27_per_axis(make, d, sx, sy):
    # §4.2: diagonal 27/256 on each axis
    wd = make()
    x0, y0 = wd.position
    wd.set_walking(d)
    wd.tick(4)
    assert wd.position == (x0 + 4 * 27 * sx, y0 + 4 * 27 * sy)


def test_walk_speed_modifier_of_tile_under_centre(make):
    # §4.2: concrete 1.4 -> trunc(0.15*1.4*256) = 53/256; water-shallow 0.8 -> 30/256
    wd = make()
    x0, y0 = wd.position
    wd.set_tile(x0 >> 8, y0 >> 8, CONCRETE)
    wd.set_walking(N)
    wd.tick(1)
    assert wd.position == (x0, y0 - 53)
    wd2 = make()
    wd2.set_tile(x0 >> 8, y0 >> 8, SHALLOW)
    wd2.set_walking(E)
    wd2.tick(1)
    assert wd2.position == (x0 + 30, y0)


def test_standing_does_not_move(make):
    wd = make()
    p = wd.position
    wd.set_walking(None)
    wd.tick(50)
    assert wd.position == p


# ---- water: tile-transition collision at the centre point (§4.1, §4.6) ----------------------
# Friday Facts #344 "Tile transition collisions" (https://factorio.com/blog/post/fff-344) and
# MrWint/factorio-replay-tools src/simulation.rs (`const_collide_with_tile`,
# `calculate_slide_over_corner`, 1.1.107): a water tile blocks the centre point as a whole with
# >= 3 water neighbours, as a corner triangle with two adjacent ones and the diagonal between,
# else not at all. Verified there for 1.1; inferred for 2.0.

def pond(wd, x0, y0, sx=3, sy=3, tile=WATER):
    for y in range(y0, y0 + sy):
        for x in range(x0, x0 + sx):
            wd.set_tile(x, y, tile)


def test_lone_water_tile_is_walkable(make):
    # FFF-344: a lone water tile has no transition collision; walking east crosses it
    wd = make()
    wd.set_tile(17, 16, WATER)
    assert not wd.collides(*centre(17, 16))
    wd.set_position(*centre(14, 16))
    wd.set_walking(E)
    wd.tick(30)
    assert wd.position == (centre(14, 16)[0] + 30 * 38, centre(14, 16)[1])


def test_one_tile_strip_is_walkable(make):
    # a 1-wide strip: each tile's water neighbours are opposite (N and S), no collision
    wd = make()
    for y in range(32):
        wd.set_tile(17, y, WATER)
    wd.set_position(*centre(14, 16))
    wd.set_walking(E)
    wd.tick(30)
    assert wd.position == (centre(14, 16)[0] + 30 * 38, centre(14, 16)[1])


def test_3x3_pond_blocks(make):
    # the middle and the edge tiles (>= 3 water neighbours) block as a whole; the corners block
    # their outer triangle only (the top-left corner (17, 15) has water E, S and SE: fx + fy > 256)
    wd = make()
    pond(wd, 17, 15)
    for tx, ty in [(18, 16), (17, 16), (19, 16), (18, 15), (18, 17)]:
        assert wd.collides(*centre(tx, ty)) and wd.collides(tx * 256 + 1, ty * 256 + 1)
    assert wd.collides(17 * 256 + 200, 15 * 256 + 200)
    assert not wd.collides(17 * 256 + 20, 15 * 256 + 20)
    assert not wd.collides(*centre(17, 15))               # on the diagonal: free
    # walking east into it, the centre never enters a blocking point and does not go through
    wd.set_position(*centre(14, 16))
    wd.set_walking(E)
    for _ in range(60):
        wd.tick(1)
        assert not wd.collides(*wd.position)
    assert wd.position[1] != centre(14, 16)[1]           # it went round, not through


def test_water_wall_stops_at_the_centre_point(make):
    # a band 3 wide: every tile blocks as a whole; the centre stops at the tile edge (the box
    # overlaps the water by 0.2), and the tile slide's goal (the next row, also water) is blocked
    wd = make()
    pond(wd, 17, 0, 3, 32)
    wd.set_position(*centre(16, 16))
    wd.set_walking(E)
    wd.tick(20)
    assert wd.position == (17 * 256 - 1, centre(16, 16)[1])


def test_tile_slide_round_a_pond(make):
    # calculateTileSlide: blocked by a whole water tile, the character slides against its own
    # tile's box toward the nearer side (at fy = 128 exactly: +y), by the speed 38, when the
    # move from just past that side is free; on a corner triangle it moves along the edge: the
    # move minus its component along the corner direction (0.70710678118 each axis), truncated:
    # east 38 against a NE triangle -> (+19, +18)
    wd = make()
    pond(wd, 17, 15)
    wd.set_position(17 * 256 - 32, centre(16, 16)[1])    # one step short of the water
    wd.set_walking(E)
    wd.tick(1)
    assert wd.position == (17 * 256 - 32, centre(16, 16)[1] + 38)
    wd.set_position(17 * 256 + 6, 17 * 256 + 24)          # in the NE-triangle corner (17, 17)
    wd.tick(1)
    assert wd.position == (17 * 256 + 6 + 19, 17 * 256 + 24 + 18)


def test_out_of_map_blocks_by_centre_point(make):
    wd = make(8, 8)
    wd.set_position(*centre(0, 4))
    wd.set_walking(W)
    wd.tick(30)
    assert wd.position == (0, centre(0, 4)[1])
    assert wd.collides(-1, 1000) and not wd.collides(0, 1000)


@pytest.mark.parametrize("tile", [11, 12, 13, 14])
def test_water_tiles_list(make, tile):
    # §4.6: water, deepwater, water-green, deepwater-green collide by transitions: a pond's middle
    # blocks, a lone tile does not
    wd = make()
    wd.set_tile(3, 3, tile)
    assert not wd.collides(*centre(3, 3))
    pond(wd, 10, 10, tile=tile)
    assert wd.collides(*centre(11, 11))


def test_out_of_map_tile_blocks_alone(make):
    # an out-of-map tile (id 0) inside the map blocks as a whole (our choice: no transitions)
    wd = make()
    wd.set_tile(3, 3, 0)
    assert wd.collides(*centre(3, 3)) and wd.collides(3 * 256, 3 * 256)


@pytest.mark.parametrize("tile", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15])
def test_walkable_tiles_list(make, tile):
    # §4.6: ground tiles and water-shallow / water-mud are walkable, even as a pond
    wd = make()
    pond(wd, 2, 2, tile=tile)
    assert not wd.collides(*centre(3, 3))


def test_diagonal_into_water_slides_along_axis(make):
    # §4.2 step 3: a blocked diagonal tries the x component alone, then the y component
    wd = make()
    pond(wd, 0, 13, 32, 3)                                  # rows 13..15: whole-tile blocks
    wd.set_position(16 * 256 + 128, 16 * 256 + 10)    # 10/256 south of the water rows
    wd.set_walking(NE)
    wd.tick(1)
    assert wd.position == (16 * 256 + 128 + 27, 16 * 256 + 10)


# ---- building collision: +-0.2 box against entity boxes (§4.1, §4.5) -------------------------

def test_building_blocks_by_character_box(make):
    # chest box +-0.35 (§4.5), character +-0.2: centres closer than 0.55 tile on both axes collide
    wd = make()
    wd.add_building(CHEST_E, 10, 10)
    cx, cy = centre(10, 10)
    lim = int(0.55 * 256)          # 140.8 -> positions within 140 collide, 141 do not
    assert wd.collides(cx - 140, cy)
    assert not wd.collides(cx - 141, cy)
    assert wd.collides(cx, cy + 140) and not wd.collides(cx, cy + 141)
    assert lim == 140


def test_walk_into_furnace_stops_at_box_edge(make):
    # furnace box +-0.7 (§4.5): walking east the centre stops at 0.9 tile from its centre
    wd = make()
    wd.add_building(FURNACE_E, 14, 15)            # centre (15, 16) tiles
    wd.set_position(12 * 256, 16 * 256)
    wd.set_walking(E)
    wd.tick(40)
    x, y = wd.position
    assert y == 16 * 256
    assert (15 * 256 - x) * 5 >= 256 + 896       # not overlapping
    assert (15 * 256 - (x + 1)) * 5 < 256 + 896  # one more unit would overlap


def test_corner_slide_round_a_chest(make):
    # §4.2 step 2: an orthogonal move blocked near a corner slides sideways (<= 0.7 tile)
    wd = make()
    wd.add_building(CHEST_E, 10, 10)              # box x,y in [10.15, 10.85]
    y = 10 * 256 + 128 + 120                       # overlaps the chest's lower edge by 0.08 tile
    wd.set_position(8 * 256, y)
    wd.set_walking(E)
    wd.tick(60)
    x1, y1 = wd.position
    assert x1 > 12 * 256                           # it got past the chest
    assert y1 > y                                  # by sliding south round the corner
    assert (y1 - (10 * 256 + 128)) * 5 >= 256 + 448


def test_no_corner_slide_when_hit_square_on(make):
    # a chest met centre to centre needs a 0.55 sideways shift: <= 0.7 so it slides, but a
    # furnace (needs 0.9 > 0.7) stops the character
    wd = make()
    wd.add_building(FURNACE_E, 14, 15)
    wd.set_position(12 * 256, 16 * 256)
    wd.set_walking(E)
    wd.tick(60)
    assert wd.position[1] == 16 * 256


# The slide round a building in the engine's 1/256 fixed point (issue 12, item 6): MrWint/
# factorio-replay-tools src/simulation.rs at 1058407, calculate_horizontal_slide /
# calculate_vertical_slide (Character::calculateHorizontalSlide / calculateVerticalSlide,
# checked there against 1.1.107): character box +-51, wooden chest +-89, stone furnace +-179
# (trunc(h * 256)), boxes collide when they touch; the nudge is min(speed, overlap + 0.01),
# truncated; no slide past 179; the goal (just past the edge, + the move) must be free.
CHEST_C = 10 * 256 + 128                           # a chest on tile (10, 10): box 2599 .. 2777


def test_chest_slide_is_the_overlap_plus_two_units(make):
    wd = make()
    wd.add_building(CHEST_E, 10, 10)
    y = CHEST_C + 120                              # 20 units of overlap with the box's bottom
    wd.set_position(CHEST_C - 140 - 38, y)         # the move east touches the box: |dx| = 140
    wd.set_walking(E)
    wd.tick(1)
    assert wd.position == (CHEST_C - 178, y + 22)  # down by 20 + 2, not forward


def test_square_on_hits_slide_down_or_left_on_a_tie(make):
    # equal nudge distances: a horizontal move slides down (+y), a vertical one left (-x)
    wd = make()
    wd.add_building(CHEST_E, 10, 10)
    wd.set_position(CHEST_C - 178, CHEST_C)
    wd.set_walking(E)
    wd.tick(1)
    assert wd.position == (CHEST_C - 178, CHEST_C + 38)
    wd = make()
    wd.add_building(CHEST_E, 10, 10)
    wd.set_position(CHEST_C, CHEST_C - 178)
    wd.set_walking(S)
    wd.tick(1)
    assert wd.position == (CHEST_C - 38, CHEST_C - 178)


@pytest.mark.parametrize("dy, slides", [(-51, True), (-50, False)])
def test_corner_slide_limit_is_179_units(make, dy, slides):
    # a furnace on tiles (14..15, 15..16): centre (3840, 4096), box +-179; the character
    # already touches its west side, so only a slide can move it
    wd = make()
    wd.add_building(FURNACE_E, 14, 15)
    y = 16 * 256 + dy                              # the nudge up is 179 (dy -51) or 180 (-50)
    wd.set_position(15 * 256 - 231, y)
    wd.set_walking(E)
    wd.tick(1)
    assert wd.position == ((15 * 256 - 231, y - 38) if slides else (15 * 256 - 231, y))


def test_no_slide_when_the_goal_is_blocked(make):
    # a second chest below: the position just past the first chest's bottom edge, plus the
    # move, collides, so there is no slide; the halved move (19) is free and taken
    wd = make()
    wd.add_building(CHEST_E, 10, 10)
    wd.add_building(CHEST_E, 10, 11)
    y = CHEST_C + 120
    wd.set_position(CHEST_C - 178, y)
    wd.set_walking(E)
    wd.tick(1)
    assert wd.position == (CHEST_C - 178 + 19, y)


def test_belts_do_not_block_and_carry(make):
    # §4.5: belt mask lacks the player layer; has_belt_immunity false -> carried 0.03125 = 8/256
    wd = make()
    wd.add_building(BELT_E, 16, 16, 2)             # facing east
    assert not wd.collides(*centre(16, 16))
    wd.set_position(*centre(16, 16))
    wd.tick(4)
    assert wd.position == (centre(16, 16)[0] + 32, centre(16, 16)[1])
    wd.set_position(*centre(15, 16))               # walk west across... from the west side
    wd.set_walking(E)
    wd.tick(3)                                     # 3*38 = 114 < 128: not yet on the belt
    assert wd.position[0] == centre(15, 16)[0] + 114
    wd.tick(1)                                     # now on it: 38 walking + 8 belt
    assert wd.position[0] == centre(15, 16)[0] + 152 + 8


def test_odd_belt_direction_rejected(make):
    wd = make()
    with pytest.raises((FactorioFastError, ValueError)):
        wd.add_building(BELT_E, 3, 3, 1)


# ---- hand mining (§4.3) ----------------------------------------------------------------------

# The engine's timers (issue 12, item 3): MrWint/factorio-replay-tools at 1058407,
# src/simulation.rs:430-466 (hand mining: `current += player_mining_speed / 60.0`, done when
# `current > goal`, then 0), :468-490 (crafting: `current_energy += 1.0 / 60.0`, done at
# `>= energy_required`, then 0), :82-97 (MiningDrill::update, remainder kept), :129-193
# (CraftingMachine::update), :35-63 (Burner); data/insights.txt:23-29 ("31 ticks instead of 30",
# "first mining operation takes 241 ticks"). Verified for 1.1.107 there; inferred for 2.0.


def _double_sum_ticks(goal, step, strict):
    c, n = 0.0, 0
    while True:
        c += step
        n += 1
        if (c > goal) if strict else (c >= goal):
            return n


def test_timer_counts_are_the_engines_double_sums():
    assert _double_sum_ticks(1.0, 0.5 / 60, True) == 121      # not 120
    assert _double_sum_ticks(0.5, 1.0 / 60, False) == 31      # not 30
    assert _double_sum_ticks(2.0, 1.0 / 60, False) == 121
    from factorio_fast._sim import HAND_MINING_TICKS, RECIPES
    assert HAND_MINING_TICKS == 121
    assert [r["ticks"] for r in RECIPES] == [31, 31, 121, 31]


def test_one_ore_after_exactly_121_ticks(make):
    # iron ore mining_time 1 at character mining_speed 0.5: 121 ticks per ore, every ore (the
    # progress restarts from 0)
    wd = make()
    wd.add_resource(18, 16, IRON_ORE_E, 5)
    wd.set_mining((18, 16))
    wd.tick(120)
    assert wd.inventory()[IRON_ORE] == 0
    assert wd.mining_progress == 120
    wd.tick(1)
    assert wd.inventory()[IRON_ORE] == 1
    wd.tick(241)
    assert wd.inventory()[IRON_ORE] == 2
    wd.tick(1)
    assert wd.inventory()[IRON_ORE] == 3


def test_no_ore_out_of_resource_reach(make):
    # reach_resource_distance 2.7 from the character position to the ore's +-0.1 box:
    # an axis offset of 2.8 tile is exactly in reach, 2.8 + 1/256 is not
    wd = make()
    wd.add_resource(20, 16, IRON_ORE_E, 5)
    ox, oy = centre(20, 16)
    wd.set_position(ox - int(2.8 * 256) - 1, oy)   # 2.8 * 256 = 716.8 -> 717 > 2.8
    wd.set_mining((20, 16))
    assert not wd.in_resource_reach(20, 16)
    wd.tick(500)
    assert wd.inventory()[IRON_ORE] == 0
    wd.set_position(ox - 716, oy)                   # 716/256 = 2.797 <= 2.8
    assert wd.in_resource_reach(20, 16)
    wd.tick(121)
    assert wd.inventory()[IRON_ORE] == 1


def test_reach_is_euclidean_to_the_box(make):
    wd = make()
    wd.add_resource(20, 20, IRON_ORE_E, 5)
    ox, oy = centre(20, 20)
    d = int(2.7 / 2 ** 0.5 * 256) + 25           # 2.7/sqrt2 + 0.1 box on each axis, rounded
    wd.set_position(ox - d, oy - d)
    assert wd.in_resource_reach(20, 20)
    wd.set_position(ox - d - 2, oy - d - 2)
    assert not wd.in_resource_reach(20, 20)


def test_mining_depletes_resource(make):
    wd = make()
    wd.add_resource(17, 16, IRON_ORE_E, 2)
    wd.set_mining((17, 16))
    wd.tick(242)
    assert wd.inventory()[IRON_ORE] == 2
    assert (wd.cell(17, 16) >> 12) & 0xF == 0      # the entity is gone
    wd.tick(242)
    assert wd.inventory()[IRON_ORE] == 2


def test_walking_away_resets_mining_progress(make):
    wd = make()
    wd.add_resource(17, 16, IRON_ORE_E, 5)
    wd.set_mining((17, 16))
    wd.tick(100)
    wd.set_mining((16, 16))                        # a new target (no ore) -> progress 0
    wd.tick(1)
    assert wd.mining_progress == 0
    wd.set_mining((17, 16))
    wd.tick(120)
    assert wd.inventory()[IRON_ORE] == 0


# ---- mining one of the agent's own buildings (issue 12, item 2) ------------------------------
# The character mines what is selected at the tile: a building over the ore (entities are
# selected before resources). Mining times from the game data 2.0.77 (minable.mining_time):
# entities.lua:1535 wooden-chest 0.1, :1021 stone-furnace 0.2, mining-drill.lua:1574 burner
# drill 0.3, transport-belts.lua:154 belt 0.1; at mining_speed 0.5 with the engine's double sum
# (the replay tool's loop above): 13, 25, 36, 13 ticks. Reach: reach_distance 10 (§4.1).

@pytest.mark.parametrize("item,entity,ticks", [
    (CHEST, CHEST_E, 13), (FURNACE, FURNACE_E, 25), (DRILL, DRILL_E, 36), (BELT, BELT_E, 13)])
def test_mining_a_building_picks_it_up(make, item, entity, ticks):
    assert _double_sum_ticks({13: 0.1, 25: 0.2, 36: 0.3}[ticks], 0.5 / 60, True) == ticks
    wd = make()
    wd.add_resource(19, 19, IRON_ORE_E, 5)            # ore under the building (drill needs it)
    wd.set_item(item, 1)
    assert wd.place(item, 19, 19, 0) >= 0
    assert wd.inventory()[item] == 0
    wd.set_mining((19, 19))
    wd.tick(ticks - 1)
    assert len(wd.buildings()) == 1 and wd.inventory()[item] == 0
    wd.tick(1)
    assert wd.buildings() == [] and wd.inventory()[item] == 1
    assert wd.inventory()[IRON_ORE] == 0              # the ore was not mined
    wd.set_position(17 * 256 + 128, 19 * 256 + 128)   # then the ore, once in resource reach
    wd.tick(HAND_TICKS)
    assert wd.inventory()[IRON_ORE] == 1


HAND_TICKS = 121


def test_mining_a_furnace_returns_its_contents(make):
    wd = make()
    wd.set_item(FURNACE, 1)
    wd.set_item(COAL, 3)
    wd.set_item(IRON_ORE, 4)
    assert wd.place(FURNACE, 19, 19) >= 0
    assert wd.insert(19, 19, COAL, 3) == 3
    assert wd.insert(19, 19, IRON_ORE, 4) == 4
    wd.tick(100)                                       # smelting: one ore taken, a coal burning
    f = wd.buildings()[0]
    assert f["src"] == 3 and f["fuel"] == 2
    wd.set_mining((20, 20))                            # any tile of the footprint
    wd.tick(25)
    assert wd.buildings() == []
    inv = wd.inventory()
    # the furnace, the coal left in its slot, the ores with the one being smelted; the coal
    # burning is lost
    assert (inv[FURNACE], inv[COAL], inv[IRON_ORE], inv[PLATE]) == (1, 2, 4, 0)


def test_mining_a_building_out_of_reach_does_nothing(make):
    wd = make(64, 64)
    wd.set_position(*centre(10, 32))
    wd.add_building(CHEST_E, 21, 32)                  # centre 11 tiles away: beyond reach 10
    wd.set_mining((21, 32))
    wd.tick(50)
    assert len(wd.buildings()) == 1 and wd.mining_progress == 0


# ---- inventory: 80 slots, ore stacks of 50 (§4.1, §4.4) -------------------------------------

def test_inventory_80_slots_of_50_ore(make):
    wd = make()
    assert wd.insert_item(IRON_ORE, 5000) == 80 * 50
    assert wd.used_slots() == 80
    assert wd.insert_item(STONE, 1) == 0
    wd2 = make()
    wd2.insert_item(PLATE, 150)                      # plates stack 100: two slots
    assert wd2.used_slots() == 2
    assert wd2.insert_item(IRON_ORE, 10_000) == 78 * 50


def test_full_inventory_holds_the_mined_ore(make):
    wd = make()
    wd.insert_item(STONE, 80 * 50)
    wd.add_resource(17, 16, IRON_ORE_E, 5)
    wd.set_mining((17, 16))
    wd.tick(300)
    assert wd.inventory()[IRON_ORE] == 0
    assert wd.mining_progress == 121                 # the finished cycle waits for room
    wd.set_item(STONE, 0)
    wd.tick(1)
    assert wd.inventory()[IRON_ORE] == 1


# ---- recipes (§4.4) --------------------------------------------------------------------------

@pytest.mark.parametrize("recipe,inputs,out,count,ticks", [
    (0, {PLATE: 2}, GEAR, 1, 31),                              # gear 0.5 s -> 31 ticks
    (1, {STONE: 5}, FURNACE, 1, 31),                           # stone furnace 0.5 s
    (2, {GEAR: 3, FURNACE: 1, PLATE: 3}, DRILL, 1, 121),       # burner drill 2 s -> 121
    (3, {PLATE: 1, GEAR: 1}, BELT, 2, 31),                     # 2 belts 0.5 s
])
def test_recipe_inputs_and_time(make, recipe, inputs, out, count, ticks):
    wd = make()
    for item, k in inputs.items():
        wd.set_item(item, k)
    assert wd.craft(recipe, 2) == 1                            # ingredients for one only
    assert all(wd.inventory()[item] == 0 for item in inputs)   # taken when queued
    wd.tick(ticks - 1)
    assert wd.inventory()[out] == 0
    wd.tick(1)
    assert wd.inventory()[out] == count


# Chain crafting (issue 12, item 5): the game crafts missing intermediates first
# (https://lua-api.factorio.com/latest/concepts/CraftingQueueItem.html `prerequisite`: "The item
# is a prerequisite for another item in the queue"; LuaControl::begin_crafting returns "the
# count that was actually queued").

def test_drill_from_plates_and_stone_crafts_gears_and_furnace_first(make):
    wd = make()
    wd.set_item(PLATE, 9)                                      # 3 gears (6) + 3 for the drill
    wd.set_item(STONE, 5)                                      # the furnace
    assert wd.craft(2, 1) == 1
    inv = wd.inventory()
    assert inv[PLATE] == 0 and inv[STONE] == 0                 # all raw ingredients taken now
    assert wd.craft_queue_length == 3                          # gear x3, furnace, drill
    wd.tick(3 * 31 + 31 + 121 - 1)
    inv = wd.inventory()
    assert inv[DRILL] == 0 and inv[GEAR] == 0 and inv[FURNACE] == 0   # intermediates go into it
    wd.tick(1)
    assert wd.inventory()[DRILL] == 1 and wd.craft_queue_length == 0


def test_chain_crafting_uses_what_the_inventory_holds(make):
    wd = make()
    wd.set_item(GEAR, 2)
    wd.set_item(FURNACE, 1)
    wd.set_item(PLATE, 5)                                      # 1 gear to make (2) + 3
    assert wd.craft(2, 1) == 1
    assert wd.inventory()[GEAR] == 0 and wd.inventory()[PLATE] == 0
    assert wd.craft_queue_length == 2                          # gear x1, drill
    wd.tick(31 + 121)
    assert wd.inventory()[DRILL] == 1


def test_chain_crafting_queues_as_many_as_possible_and_refuses_none(make):
    wd = make()
    wd.set_item(PLATE, 7)                                      # a belt craft costs 3 plates
    assert wd.craft(3, 5) == 2
    assert wd.inventory()[PLATE] == 1
    wd2 = make()
    wd2.set_item(PLATE, 9)                                     # the drill also needs a furnace
    assert wd2.craft(2, 1) == 0
    assert wd2.inventory()[PLATE] == 9 and wd2.craft_queue_length == 0


def test_craft_without_ingredients_starts_nothing(make):
    wd = make()
    wd.set_item(PLATE, 1)
    assert wd.craft(0, 1) == 0
    assert wd.inventory()[PLATE] == 1


def test_craft_queue_reports_prerequisite_entries_and_progress(make):
    # LuaControl::crafting_queue's CraftingQueueItem {recipe, count, prerequisite}: the emulator's
    # shim reads this one queue (issue 12, item 5)
    wd = make()
    wd.set_item(PLATE, 12)
    wd.set_item(STONE, 5)
    assert wd.craftable(2) == 1                                # plates for 1 drill + gears only
    assert wd.craft(2, 1) == 1
    assert wd.craft_queue() == [(0, 3, True), (1, 1, True), (2, 1, False)]
    wd.tick(40)                                                # one gear (31) and 9 ticks
    assert wd.craft_queue()[0] == (0, 2, True) and wd.craft_progress == 9


def test_cancel_a_chain_crafted_entry_refunds_what_is_owed(make):
    # Cancelling the drill takes its prerequisite entries along: the plates of the 2 gears not
    # made, the 5 stone of the furnace, the drill's own 3 plates, and the gear already made
    # comes back as a gear (ff_world.h ff_world_cancel_craft; the game's rule is UNCERTAIN)
    wd = make()
    wd.set_item(PLATE, 9)
    wd.set_item(STONE, 5)
    assert wd.craft(2, 1) == 1
    wd.tick(31 + 5)
    assert wd.cancel_craft(0, 1) == 1                          # index 0: a prerequisite entry
    inv = wd.inventory()
    assert wd.craft_queue() == [] and wd.craft_progress == 0
    assert (inv[PLATE], inv[STONE], inv[GEAR], inv[FURNACE]) == (2 * 2 + 3, 5, 1, 0)


def test_cancel_part_of_a_plain_entry_keeps_the_craft_in_progress(make):
    wd = make()
    wd.set_item(PLATE, 10)
    assert wd.craft(0, 5) == 5
    wd.tick(10)
    assert wd.cancel_craft(0, 3) == 3
    assert wd.craft_queue() == [(0, 2, False)] and wd.craft_progress == 10
    assert wd.inventory()[PLATE] == 6
    with pytest.raises(FactorioFastError):
        wd.cancel_craft(1, 1)


# ---- placing: build distance 10, footprints, boxes (§4.1, §4.5) ------------------------------

def test_build_distance_10(make):
    wd = make(64, 64)
    wd.set_position(*centre(10, 32))
    wd.set_item(BELT, 2)
    # a belt centred exactly 10 tiles east is in range; 11 is not
    assert wd.place(BELT, 21, 32, 0) == -1
    assert wd.place(BELT, 20, 32, 0) >= 0
    assert wd.inventory()[BELT] == 1


def test_cannot_place_on_the_character_or_water(make):
    wd = make()
    wd.set_item(FURNACE, 3)
    x, y = wd.position
    assert wd.place(FURNACE, (x >> 8) - 1, (y >> 8) - 1) == -1    # would overlap the character
    wd.set_tile(20, 20, WATER)
    assert wd.place(FURNACE, 19, 19) == -1                        # water under the footprint
    assert wd.place(FURNACE, 19, 21) >= 0
    assert wd.place(FURNACE, 20, 22) == -1                        # overlaps the first furnace
    assert wd.inventory()[FURNACE] == 2


def test_belt_may_be_placed_under_the_character(make):
    wd = make()
    wd.set_item(BELT, 1)
    x, y = wd.position
    assert wd.place(BELT, x >> 8, y >> 8, 0) >= 0


def test_drill_needs_a_resource(make):
    wd = make()
    wd.set_item(DRILL, 1)
    assert wd.place(DRILL, 18, 18) == -1
    wd.add_resource(19, 19, IRON_ORE_E, 10)
    assert wd.place(DRILL, 18, 18) >= 0


# ---- burner drill feeding a furnace (§4.3, §4.4) ---------------------------------------------

def test_drill_ores_at_242_482_plates_at_437_675(make):
    # burner drill mining_speed 0.25 (4 s nominal), iron plate 3.2 s, both on burners whose heat
    # buffer starts empty: the first tick after fuelling does no work, the drill's first ore
    # needs 241 ticks of progress (the remainder is kept: 240 for the next), the furnace takes
    # its ore when the first energy arrives and needs 193 ticks of progress for the first plate
    # (the excess carries into the next). The replay tool's model, the source above.
    wd = make()
    wd.set_item(DRILL, 1)
    wd.set_item(FURNACE, 1)
    wd.set_item(COAL, 10)
    wd.add_resource(18, 18, IRON_ORE_E, 50)
    assert wd.place(DRILL, 18, 18) >= 0
    assert wd.place(FURNACE, 18, 16) >= 0          # the drop tile (18, 17) is under it
    assert wd.insert(18, 18, COAL, 1) == 1
    assert wd.insert(18, 16, COAL, 1) == 1

    def furnace():
        return next(b for b in wd.buildings() if b["entity"] == FURNACE_E)

    wd.tick(241)
    assert furnace()["src"] == 0
    wd.tick(1)                                     # tick 242: the first ore drops in
    assert furnace()["src"] == 1
    wd.tick(2)                                     # 244: the craft starts and takes the ore
    assert furnace()["src"] == 0 and furnace()["progress"] == 1
    wd.tick(192)                                   # 436
    assert wd.take(18, 16) == 0
    wd.tick(1)                                     # 437: the first plate
    assert wd.take(18, 16) == 1
    wd.tick(44)                                    # 481
    assert furnace()["produced"] == 1 and furnace()["src"] == 0
    wd.tick(1)                                     # 482: the second ore
    assert [b["produced"] for b in wd.buildings() if b["entity"] == DRILL_E] == [2]
    wd.tick(192)                                   # 674
    assert wd.take(18, 16) == 0
    wd.tick(1)                                     # 675: the second plate
    assert wd.take(18, 16) == 1


# ---- items on the ground (issue 12, item 4) ------------------------------------------------
# A burner drill drops its ore at centre + vector_to_place_result {-0.5, -1.3} (Factorio 2.0.77
# base/prototypes/entity/mining-drill.lua, burner-mining-drill; docs/factorio-facts.md §4.3):
# with no entity there the ore becomes an item-on-ground entity (type item-entity, base
# entities.lua), and an item lying at the drop position blocks the drill's next output until it
# is picked up; building over it collects it (changelog 0.8.1, as issue 12 cites it).

def _drill_on_ore(wd, amount=50):
    wd.set_item(DRILL, 1)
    wd.set_item(COAL, 10)
    wd.add_resource(18, 18, IRON_ORE_E, amount)
    assert wd.place(DRILL, 18, 18) >= 0
    assert wd.insert(18, 18, COAL, 2) == 2


def test_drill_drops_one_stack_on_the_ground_and_then_waits(make):
    wd = make()
    _drill_on_ore(wd)
    wd.tick(241)
    assert wd.ground_items() == []
    wd.tick(1)                                     # tick 242: the first ore, onto the ground
    assert wd.ground_items() == [(IRON_ORE, 18, 17, 1)]
    assert wd.ground_position(18, 17) == (18 * 256 + 128, 17 * 256 + 179)
    drill = wd.buildings()[0]
    assert drill["src"] == 0 and drill["produced"] == 1
    wd.tick(240)                                   # 482: the second ore has nowhere to go
    drill = wd.buildings()[0]
    assert drill["src"] == IRON_ORE and drill["produced"] == 2
    assert wd.ground_items() == [(IRON_ORE, 18, 17, 1)]
    wd.tick(300)                                   # blocked: no third ore
    assert wd.buildings()[0]["produced"] == 2


def test_take_picks_the_stack_up_and_the_drill_drops_the_next(make):
    wd = make()
    _drill_on_ore(wd)
    wd.tick(482)
    wd.set_position(*centre(18, 14))               # within reach 10 of (18.5, 17.7)
    assert wd.take(18, 17) == 1                    # the take action's pick-up
    assert wd.inventory()[IRON_ORE] == 1 and wd.ground_items() == []
    wd.tick(1)                                     # the held ore drops at once
    assert wd.ground_items() == [(IRON_ORE, 18, 17, 1)] and wd.buildings()[0]["src"] == 0
    wd.set_position(*centre(18, 5))                # 12.7 tiles away: out of reach
    assert wd.take(18, 17) == 0 and wd.ground_items() != []
    assert wd.pick_ground(18, 17, False) == 1      # without the reach check (a script's pick)


def test_building_over_a_stack_collects_it(make):
    wd = make()
    _drill_on_ore(wd)
    wd.tick(242)
    wd.set_item(FURNACE, 1)
    wd.set_position(*centre(22, 17))
    assert wd.place(FURNACE, 18, 16) >= 0          # its footprint covers the drop tile
    assert wd.ground_items() == [] and wd.inventory()[IRON_ORE] == 1


def test_a_stack_does_not_block_walking(make):
    wd = make()
    wd.add_ground(10, 10, IRON_ORE, 1)
    wd.set_position(*centre(8, 10))
    wd.set_walking(E)
    wd.tick(20)
    assert wd.position[0] == 8 * 256 + 128 + 20 * 38
