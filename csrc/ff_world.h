/*
 * ff_world.h - one Factorio-like world (tiles, resources, a few buildings, one character),
 * drivable tick by tick from outside.
 *
 * This is the mechanics core of the embedded simulator (docs/design.md §5) and the world the
 * real-Factorio emulator will run the mod's Lua against (docs/design.md §8). Every number comes from
 * docs/factorio-facts.md §4; every rule marked UNCERTAIN there is marked here too.
 *
 * Units: positions are int32 fixed point in 1/256 tile (Factorio MapPosition). Tile (tx, ty)
 * spans [tx*256, tx*256+256) on x; north is -y. Collision boxes are compared in 1/1280 tile
 * (position * 5) so that the boxes 0.1, 0.2, 0.35, 0.4, 0.7 and the distances 2.7, 10 are exact
 * integers (128, 256, 448, 512, 896; 3456, 12800): no float ever enters a tick.
 *
 * Ownership: a world is one block of memory (struct + grids). ff_world_create allocates it,
 * ff_world_destroy frees it; ff_world_init works on caller-provided memory of
 * ff_world_bytes(w, h) bytes (used by the batch simulator to pack many worlds).
 * Thread-safety: a world is not thread-safe; distinct worlds may be used from distinct threads.
 * Return codes: FF_OK, FF_EINVAL (bad argument), FF_ERANGE (outside the map / bad id),
 * FF_ESTATE (the game would refuse: out of reach, missing items, occupied ...), FF_ENOMEM.
 */
#ifndef FF_WORLD_H
#define FF_WORLD_H

#include "ff_common.h"
#include "ff_ids.h"

#define FF_WORLD_MAX_SIDE 128
#define FF_WORLD_MAX_RESOURCES 255
#define FF_WORLD_MAX_BUILDINGS 32
#define FF_WORLD_CRAFT_QUEUE 8
#define FF_WORLD_MAX_GROUND 32      /* items on the ground (one stack a drop point): a bound of
                                     * this simulator; a drill whose item finds no slot waits */
#define FF_WORLD_ITEMS 16           /* inventory array length (item ids 0..15) */
FF_STATIC_ASSERT(FF_WORLD_ITEMS >= FF_NUM_ITEMS, "every item id indexes the inventory array");

/* Character (docs/factorio-facts.md §4.1) */
#define FF_INVENTORY_SLOTS_MAIN 80
#define FF_CHAR_HALF_5 256          /* collision box +-0.2 tile, in 1/1280 */
#define FF_RESOURCE_HALF_5 128      /* resource box +-0.1 */
#define FF_REACH_RESOURCE_5 3456    /* reach_resource_distance 2.7 */
#define FF_REACH_5 12800            /* reach_distance 10 */
#define FF_BUILD_DISTANCE_5 12800   /* build_distance 10 */
/* The slides work in the engine's 1/256 fixed point (FixedPoint32_8::from_double truncates):
 * character box +-51 (0.2 * 256 = 51.2), maximum_corner_sliding_distance 179 (0.7 * 256 =
 * 179.2), slide margin 2 (0.01 * 256 = 2.56). */
#define FF_CHAR_HALF_256 51
#define FF_CORNER_SLIDE_256 179
#define FF_SLIDE_MARGIN_256 2
/* A building's collision half extent in 1/256 (trunc(half * 256)) from its 1/1280 one
 * (round(half * 1280)): equal for every half extent of the entity table (ff_ids.h; 0.1, 0.35,
 * 0.4, 0.7), checked by csrc/tests/test_world.c. */
static inline int32_t ff_half256(int32_t half5) { return half5 / 5; }
/* Timers (docs/factorio-facts.md §4.3, §4.4; docs/mechanics.md "Timers"). The engine adds each
 * tick's progress to a double and finishes when the sum passes the goal; the sums of 0.5/60 and
 * 1/60 fall just short of the exact goals, so every cycle takes one tick more than the nominal
 * time (MrWint/factorio-replay-tools src/simulation.rs at 1058407: hand mining
 * `current += player_mining_speed / 60.0`, done when `current > goal`, then 0 again; crafting
 * `current_energy += 1.0 / 60.0`, done when `>= energy_required`, then 0 again; verified for
 * 1.1.107 by the tool's in-game asserts, INFERRED for 2.0). Progress restarts from 0 each
 * cycle, so the number of ticks is the same every cycle: the world counts ticks against these
 * counts, which tests/test_mechanics.py and csrc/tests/test_world_run.c recompute in double. */
#define FF_HAND_MINING_TICKS 121    /* first n with n-fold sum of 0.5/60 > mining_time 1 */
#define FF_DRILL_MINING_TICKS 240   /* nominal: 1 / (0.25 / 60); the drill runs on doubles */
#define FF_SMELT_TICKS 192          /* nominal: 3.2 s at crafting speed 1; runs on doubles */
/* Machines keep the remainder (the drill subtracts mining_time 1, the furnace carries the
 * excess over energy_required into the next craft) and draw power from a burner's heat buffer,
 * so they run on doubles with the replay tool's order of operations (Burner::update,
 * MiningDrill::update, CraftingMachine::update there). The burner buffer holds 16/15 of one
 * tick's energy (MiningDrill::onEffectChanged in the replay tool). */
#define FF_DRILL_USE 2500.0         /* J per tick: 150 kW / 60 */
#define FF_FURNACE_USE 1500.0       /* J per tick: 90 kW / 60 */
#define FF_DRILL_SPEED 0.25         /* burner-mining-drill mining_speed */
#define FF_SMELT_S 3.2              /* iron-plate energy_required */
/* Hand-mining ticks of the buildings (the same double sum as FF_HAND_MINING_TICKS, of 0.5/60
 * past the prototype's minable.mining_time; Factorio 2.0.77 base/prototypes/entity/
 * entities.lua:1535 wooden-chest 0.1, :1021 stone-furnace 0.2, mining-drill.lua:1574
 * burner-mining-drill 0.3, transport-belts.lua:154 transport-belt 0.1). */
#define FF_MINE_CHEST_TICKS 13
#define FF_MINE_FURNACE_TICKS 25
#define FF_MINE_DRILL_TICKS 36
#define FF_MINE_BELT_TICKS 13
/* Fuel: burner mining drill 150 kW (docs/factorio-facts.md §4.3). The coal fuel value 4 MJ and
 * the stone furnace's 90 kW are in the game data (Factorio 2.0.77 base/prototypes/item.lua:72,
 * base/prototypes/entity/entities.lua:1069; see docs/mechanics.md). */
#define FF_COAL_JOULES 4000000
#define FF_ENTITY_SLOT_MAX 50       /* fuel / source slot: one stack of coal or ore */
#define FF_FURNACE_OUT_MAX 100      /* result slot: one stack of iron plates */

/* Recipes (docs/factorio-facts.md §4.4), hand crafting speed 1. */
enum {
    FF_RECIPE_GEAR = 0,          /* 2 iron-plate -> 1 gear, 0.5 s */
    FF_RECIPE_STONE_FURNACE = 1, /* 5 stone -> 1 stone-furnace, 0.5 s */
    FF_RECIPE_BURNER_DRILL = 2,  /* 3 gear + 1 stone-furnace + 3 iron-plate -> 1 drill, 2 s */
    FF_RECIPE_BELT = 3,          /* 1 iron-plate + 1 gear -> 2 transport-belt, 0.5 s */
    FF_NUM_RECIPES = 4,
};

typedef struct ff_recipe {
    uint8_t in_item[3];
    uint8_t in_count[3];
    uint8_t out_item;
    uint8_t out_count;
    uint16_t ticks;
} ff_recipe_t;

extern const ff_recipe_t ff_recipe_table[FF_NUM_RECIPES];

/* Walking: trunc(0.15 * modifier * 256) straight and trunc(0.15 * modifier * 0.70710678118 *
 * 256) per axis diagonally, by tile id (docs/factorio-facts.md §4.2). Evaluated in double, same order in
 * the Python reference. */
extern const int32_t ff_walk_straight[FF_NUM_TILES];
extern const int32_t ff_walk_diagonal[FF_NUM_TILES];

/* Direction index 0..7 = N, NE, E, SE, S, SW, W, NW (Factorio 2.0 direction = 2 * index). */
extern const int8_t ff_dir_dx[8];
extern const int8_t ff_dir_dy[8];

typedef struct ff_resource {
    uint8_t type;    /* entity id (1..4), 0 = depleted/removed */
    uint8_t tx, ty;  /* tile; the entity sits at the tile centre (x+0.5, y+0.5) */
    uint8_t pad;
    uint16_t amount;
} ff_resource_t;

typedef struct ff_building {
    uint8_t type;         /* entity id */
    uint8_t tx, ty;       /* top-left tile of the footprint */
    uint8_t dir;          /* direction index 0..7 (drills output north only: 0) */
    int32_t cx, cy;       /* centre, 1/256 tile */
    int32_t half5;        /* collision half extent, 1/1280 tile */
    uint16_t fuel;        /* coal in the fuel slot */
    uint16_t src;         /* furnace: ore in the source slot (the ore being smelted was taken
                           * out when its craft started); drill: the ore item waiting for output */
    uint16_t out;         /* furnace: plates in the result slot */
    uint16_t progress;    /* ticks that advanced the current mining / smelting cycle */
    uint32_t produced;    /* lifetime count: ores mined (drill) / plates smelted (furnace) */
    double heat;          /* J in the burner's heat buffer (at most 16/15 of a tick's use) */
    double burning;       /* J left of the fuel item burning (refills the buffer) */
    double work;          /* drill: mining progress (1 = one ore); furnace: seconds of the
                           * recipe done (energy_stored_in_product) */
    double extra;         /* furnace: seconds beyond 3.2 of the last craft, for the next */
} ff_building_t;

/* One stack of items lying on the ground (Factorio's item-on-ground entity, type item-entity),
 * left by a burner drill at its drop point (tile (tx, ty); the exact position is the drill's
 * centre + vector_to_place_result, see ff_ground_position). */
typedef struct ff_ground {
    uint8_t tx, ty;
    uint8_t item;    /* item id */
    uint8_t count;   /* 1 from a drill */
} ff_ground_t;

typedef struct ff_world {
    /* Fields read by every tick and step come first: with the grid pointers they share the
     * first cache line (a batch of thousands of worlds is memory-bound). */
    int32_t w, h;                  /* map size in tiles, 1..128 */
    /* Grids, w*h bytes each, row-major. tile: bits 0..3 tile id, bit 4 a building occupies the
     * tile. resg: resource index + 1, 0 = none. Both point into the same block as the struct. */
    uint8_t *tile;
    uint8_t *resg;
    uint64_t tick;
    int32_t px, py;                /* character position, 1/256 tile */
    int8_t walk_dir;               /* -1 = standing, else 0..7 */
    uint8_t mining;                /* 1 while the mining target is held */
    uint16_t mine_progress;        /* ticks */
    int32_t mine_tx, mine_ty;
    uint8_t cq_head, cq_len;
    uint16_t craft_progress;
    uint16_t n_res;
    uint8_t n_bld;
    uint8_t n_machines;            /* furnaces + drills among bld (kept by add_building; lets a
                                    * tick skip the machine loops) */
    uint8_t mine_kind;             /* entity id mine_progress counts for (0 = none yet): a new
                                    * entity under the target restarts the cycle */
    uint8_t n_ground;              /* stacks in ground */
    uint32_t map_version;          /* +1 on every change to the tiles, resources or buildings
                                    * (lets a caller cache facts about the map, see
                                    * csrc/sim/ff_mv_walk.h) */
    uint16_t inv[FF_WORLD_ITEMS];  /* item counts by item id */
    uint32_t mined_total;          /* ores mined by hand (lifetime) */
    uint32_t crafted_total;        /* items crafted (lifetime, counted per product) */
    uint32_t removed_total;        /* resource entities depleted (lifetime) */
    uint32_t fed_total;            /* ores a drill dropped into a furnace (lifetime) */
    uint32_t smelted_total;        /* plates smelted by all furnaces (lifetime) */
    /* The craft queue, read only while cq_len > 0: after the counters every step reads, so
     * those stay within the first two cache lines. */
    uint8_t cq_recipe[FF_WORLD_CRAFT_QUEUE];
    uint16_t cq_count[FF_WORLD_CRAFT_QUEUE];
    uint8_t cq_prereq[FF_WORLD_CRAFT_QUEUE]; /* 1: crafts an intermediate for a later entry (its
                                              * product is used there, not put in the inventory) */
    ff_resource_t res[FF_WORLD_MAX_RESOURCES];
    ff_building_t bld[FF_WORLD_MAX_BUILDINGS];
    ff_ground_t ground[FF_WORLD_MAX_GROUND];
    /* Bit (x & 63) of nonplain[y][x >> 6] is 1 unless tile (x, y) is plain grass with no
     * resource (tile byte == FF_TILE_GRASS and resg == 0); rows y < h only. Kept by every grid
     * write, so a 0 bit stands for both grid bytes: the observation window, the walk and the
     * tile look-ups read 16 bytes a row here instead of two grid rows 128 bytes apart. */
    uint64_t nonplain[FF_WORLD_MAX_SIDE][2];
} ff_world_t;

/* 1 if tile (tx, ty) (in the map) is not plain grass without a resource (see nonplain). */
static inline int ff_world_nonplain(const ff_world_t *wd, int32_t tx, int32_t ty) {
    return (int)((wd->nonplain[ty][tx >> 6] >> (tx & 63)) & 1u);
}
/* The nonplain bits of columns x0 .. x0+n-1 of row y (in the map; 1 <= n <= 32), bit c for
 * column x0 + c. */
static inline uint32_t ff_world_nonplain_bits(const ff_world_t *wd, int32_t y, int32_t x0, int32_t n) {
    const uint64_t *r = wd->nonplain[y];
    uint64_t v;
    if (x0 >= 64) v = r[1] >> (x0 - 64);
    else if (x0 + n <= 64) v = r[0] >> x0;
    else v = (r[0] >> x0) | (r[1] << (64 - x0)); /* 64 - n < x0 < 64 */
    return (uint32_t)(v & ((1ull << n) - 1u));
}

/* ---- water: tile-transition collision (Friday Facts #344 "Tile transition collisions",
 * https://factorio.com/blog/post/fff-344; the routine as MrWint/factorio-replay-tools
 * src/simulation.rs at 1058407 reimplements it from Surface::constCollideWithTile for 1.1.107,
 * `const_collide_with_tile`; docs/factorio-facts.md §4.6). Since 0.18 the character collides
 * with water by the transition shapes, tested at its centre point: a water tile with at least
 * 3 water neighbours (of N, E, S, W) blocks as a whole; one with exactly two adjacent water
 * neighbours and the water diagonal between them blocks as the triangle in that corner (the
 * diagonal itself is free); any other water tile (alone, in a 1-wide strip, an end of a strip)
 * does not block. Verified for 1.1 (the replay tool's asserts against the game); INFERRED for
 * 2.0 (no changelog entry changes it). Our choices (UNCERTAIN): every character-blocking tile
 * id (the four water tiles and out-of-map) and the space off the map count as water
 * neighbours; an out-of-map tile inside the map blocks as a whole. ---- */
enum {
    FF_TCLS_FREE = 0, /* the centre may be anywhere in the tile */
    FF_TCLS_FULL = 1, /* blocks the whole tile */
    FF_TCLS_NE = 2,   /* blocks the triangle fx > fy (fx, fy: position in the tile, 1/256) */
    FF_TCLS_SE = 3,   /* fx + fy > 256 */
    FF_TCLS_SW = 4,   /* fy > fx */
    FF_TCLS_NW = 5,   /* fx + fy < 256 */
};

/* The class of a water tile from its neighbours: n4 bit 0 N, 1 E, 2 S, 3 W water; d4 bit 0 NE,
 * 1 SE, 2 SW, 3 NW water. */
static inline int ff_water_class(uint32_t n4, uint32_t d4) {
    uint32_t c = (n4 & 1u) + ((n4 >> 1) & 1u) + ((n4 >> 2) & 1u) + ((n4 >> 3) & 1u);
    if (c >= 3) return FF_TCLS_FULL;
    if (n4 == 3u) return (d4 & 1u) ? FF_TCLS_NE : FF_TCLS_FREE;
    if (n4 == 6u) return (d4 & 2u) ? FF_TCLS_SE : FF_TCLS_FREE;
    if (n4 == 12u) return (d4 & 4u) ? FF_TCLS_SW : FF_TCLS_FREE;
    if (n4 == 9u) return (d4 & 8u) ? FF_TCLS_NW : FF_TCLS_FREE;
    return FF_TCLS_FREE;
}

/* 1 if a centre at (fx, fy) in a tile of class cls (0..255 each) collides (the replay tool's
 * comparisons: strict, so the diagonal is free). */
static inline int ff_tcls_blocks(int cls, int32_t fx, int32_t fy) {
    switch (cls) {
    case FF_TCLS_FULL: return 1;
    case FF_TCLS_NE: return fy < fx;
    case FF_TCLS_SE: return 256 - fy < fx;
    case FF_TCLS_SW: return fy > fx;
    case FF_TCLS_NW: return 256 - fy > fx;
    default: return 0;
    }
}

/* Character::calculateHorizontalSlide / calculateVerticalSlide (MrWint/factorio-replay-tools
 * src/simulation.rs at 1058407, calculate_horizontal_slide / calculate_vertical_slide, which
 * reimplement them for 1.1.107): an orthogonal move (vx, vy) from (px, py) is blocked by a box
 * whose edges on the perpendicular axis are lo .. hi (1/256 tile). With the nudge distances
 * from the character's box to either edge (to_lo: pushing toward lo, to_hi: toward hi): if both
 * exceed 179 there is no slide; else the character goes toward the nearer edge (a horizontal
 * move goes down (+y) on a tie, a vertical one left (-x)), provided the move from just past
 * that edge (the goal, box edge + 51 + 2) is free, sideways by min(speed, nudge + 0.01) in
 * double, truncated to 1/256 as MapPosition + Vector; returns 0 for no slide. The caller checks the goal (*gx, *gy) and
 * then the slid position (its position + (*sx, *sy)). Verified for 1.1 (the replay tool's
 * asserts); INFERRED for 2.0. Used for buildings (their collision box) and for a whole-tile
 * block (the box of the character's own tile, as Character::calculateTileSlide does). */
static inline int ff_box_slide_plan(int32_t lo, int32_t hi, int32_t px, int32_t py, int32_t vx, int32_t vy,
                                    int32_t *gx, int32_t *gy, int32_t *sx, int32_t *sy) {
    int along_x = vx != 0;
    int32_t p = along_x ? py : px; /* the perpendicular coordinate */
    int32_t to_hi = hi - (p - FF_CHAR_HALF_256), to_lo = (p + FF_CHAR_HALF_256) - lo;
    *sx = 0;
    *sy = 0;
    if ((to_hi < to_lo ? to_hi : to_lo) > FF_CORNER_SLIDE_256) return 0;
    int32_t v = along_x ? vx : vy;
    double mv = (double)(v < 0 ? -v : v) / 256.0;
    int32_t sgn, g;
    double lim;
    if (along_x ? to_lo >= to_hi : to_hi < to_lo) {
        sgn = 1; /* horizontal: down (+y) when up >= down; vertical: right when right < left */
        g = hi + FF_CHAR_HALF_256 + FF_SLIDE_MARGIN_256;
        lim = (double)to_hi / 256.0 + 0.01;
    } else {
        sgn = -1;
        g = lo - FF_CHAR_HALF_256 - FF_SLIDE_MARGIN_256;
        lim = (double)to_lo / 256.0 + 0.01;
    }
    int32_t step = (int32_t)((mv < lim ? mv : lim) * 256.0);
    if (along_x) {
        *gx = px + vx;
        *gy = g;
        *sy = sgn * step;
    } else {
        *gx = g;
        *gy = py + vy;
        *sx = sgn * step;
    }
    return 1;
}

/* Character::calculateTileSlide (replay tool: the tile branch of calculate_slide_over_corner)
 * for an orthogonal move (vx, vy) from (px, py) whose centre point hits a tile of class cls (no
 * entity in the way):
 *  - a whole-tile block slides against the box of the character's OWN tile (as the replay tool
 *    and so the 1.1 engine do): ff_box_slide_plan with that tile's edges;
 *  - a triangle projects the move onto the triangle's edge (the move minus its component along
 *    the corner's direction vector, in double, then truncated to 1/256 as MapPosition + Vector).
 * Writes the position to test first (*gx, *gy; only for a whole tile: *need_goal = 1) and the
 * move to take (*sx, *sy). Returns 0 if there is no slide. Shared by ff_world.c and
 * csrc/sim/ff_mv_walk.h; factorio_fast/_reference_sim.py has the same arithmetic. */
static inline int ff_tile_slide_plan(int cls, int32_t px, int32_t py, int32_t vx, int32_t vy,
                                     int *need_goal, int32_t *gx, int32_t *gy, int32_t *sx, int32_t *sy) {
    *need_goal = 0;
    *sx = 0;
    *sy = 0;
    if (cls == FF_TCLS_FREE) return 0;
    if (cls == FF_TCLS_FULL) {
        int32_t lo = ((vx != 0 ? py : px) >> 8) * 256;
        *need_goal = ff_box_slide_plan(lo, lo + 256, px, py, vx, vy, gx, gy, sx, sy);
        return *need_goal;
    }
    /* Vector::directionMultiplicators of NE, SE, SW, NW */
    static const double dxm[4] = {0.70710678118, 0.70710678118, -0.70710678118, -0.70710678118};
    static const double dym[4] = {-0.70710678118, 0.70710678118, 0.70710678118, -0.70710678118};
    double dx = dxm[cls - FF_TCLS_NE], dy = dym[cls - FF_TCLS_NE];
    double mx = (double)vx / 256.0, my = (double)vy / 256.0;
    double corr = -(mx * dx + my * dy);
    double nx = mx + dx * corr, ny = my + dy * corr;
    *sx = (int32_t)(nx * 256.0); /* FixedPoint32_8::from_double truncates toward zero */
    *sy = (int32_t)(ny * 256.0);
    return 1;
}

#define FF_TILE_ID_MASK 0x0F
#define FF_TILE_BUILDING 0x10

FF_EXTERN_C_BEGIN

/* Bytes needed by ff_world_init for a w x h world (struct + grids, 16-aligned). 0 if bad size. */
size_t ff_world_bytes(int32_t w, int32_t h);

/* Initialise a world in caller memory (>= ff_world_bytes, 16-byte aligned): all tiles `tile`,
 * no resources or buildings, character at the map centre, standing, empty inventory, tick 0.
 * FF_EINVAL on a bad size / NULL / tile id. */
int ff_world_init(ff_world_t *wd, int32_t w, int32_t h, uint8_t tile);

/* Re-clear an initialised world (same size) to all `tile`: every byte as after ff_world_init,
 * but map_version, which moves on. */
void ff_world_clear(ff_world_t *wd, uint8_t tile);

/* Allocate and initialise a standalone world; *out owns it until ff_world_destroy. */
int ff_world_create(int32_t w, int32_t h, uint8_t tile, ff_world_t **out);
void ff_world_destroy(ff_world_t *wd);

/* Map editing. FF_ERANGE outside the map / bad ids. */
int ff_world_set_tile(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t tile);
/* ff_world_set_tile on every tile of the nx x ny rectangle from (tx, ty) (all in the map), as
 * one map edit (map_version moves once): the generators' ponds. */
int ff_world_fill_tiles(ff_world_t *wd, int32_t tx, int32_t ty, int32_t nx, int32_t ny, uint8_t tile);
int ff_world_get_tile(const ff_world_t *wd, int32_t tx, int32_t ty, uint8_t *tile);
/* Add a resource entity (iron-ore, copper-ore, coal, stone) at a tile centre. FF_ESTATE if the
 * tile already has one or the list is full. */
int ff_world_add_resource(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t entity, uint16_t amount);
/* Add a building without any game check (map setup): footprint from ff_entity_table, top-left
 * tile (tx, ty). FF_ESTATE if a tile is occupied or the list is full. *index gets its slot. */
int ff_world_add_building(ff_world_t *wd, uint8_t entity, int32_t tx, int32_t ty, uint8_t dir,
                          int32_t *index);

/* Character control (all persist until changed; walking is re-applied every tick, as the mod
 * does with walking_state). dir -1 = stop, 0..7 = N..NW. */
int ff_world_set_walking(ff_world_t *wd, int32_t dir);
/* Hold the mining target tile (mining = 1) or release it (mining = 0). A new target resets the
 * progress. The character mines what is selected at the tile: a building covering it (picked
 * up into the inventory with its contents after the building's mining time, within reach 10 of
 * its centre) before the resource under it (docs/mechanics.md "Mining a building"). */
int ff_world_set_mining(ff_world_t *wd, int mining, int32_t tx, int32_t ty);
int ff_world_set_position(ff_world_t *wd, int32_t px, int32_t py);
int ff_world_set_item(ff_world_t *wd, uint8_t item, uint16_t count);

/* Queue up to `count` crafts of `recipe`, as many as the inventory allows; all raw ingredients
 * are taken now (as in Factorio). A missing intermediate (gear, stone furnace) is crafted first,
 * as the game does (CraftingQueueItem.prerequisite): its entry goes in the queue before the
 * craft that uses it, and its product is used there instead of entering the inventory.
 * *started gets how many crafts of `recipe` were queued (0, nothing changed, if not even one can
 * be made from the inventory with intermediates, or the queue has no room for all its entries:
 * FF_WORLD_CRAFT_QUEUE is a bound of this simulator, not a game rule). FF_ERANGE: bad recipe. */
int ff_world_craft(ff_world_t *wd, int32_t recipe, int32_t count, int32_t *started);
/* How many crafts of `recipe` (at most count) ff_world_craft could start from the inventory,
 * with chain crafting (the queue's room is not counted, as in LuaControl::get_craftable_count).
 * Nothing changes. FF_ERANGE: bad recipe. */
int ff_world_craftable(const ff_world_t *wd, int32_t recipe, int32_t count, int32_t *n);
/* The crafting queue as LuaControl::crafting_queue reports it: entry i (0 = the head, whose
 * craft is in progress for craft_progress ticks) has `recipe`, `count` crafts left and
 * prereq 1 if it crafts an intermediate for the entry after it (CraftingQueueItem
 * .prerequisite). FF_ERANGE if i >= cq_len. */
int ff_world_craft_entry(const ff_world_t *wd, int32_t i, int32_t *recipe, int32_t *count,
                         int32_t *prereq);
/* Append an entry as is, taking no items (restoring a saved queue, e.g. the emulator rebuilding
 * a world). FF_ESTATE if the queue is full, FF_ERANGE: bad recipe / count (1..65535). */
int ff_world_craft_push(ff_world_t *wd, int32_t recipe, int32_t count, int32_t prereq);
/* LuaControl::cancel_crafting: cancel up to `count` crafts of entry i. An entry whose craft has
 * prerequisites (or a prerequisite entry) goes whole together with them, as they were queued
 * for it; an entry without them may go in part (its crafts not started first). Refund: the
 * inputs of the prerequisite crafts still to make and of the cancelled crafts, less the
 * intermediates those prerequisites would still have made; the intermediates already made come
 * back as items (UNCERTAIN: the game's refund of a chain is not documented; a refund beyond the
 * 80 slots is kept here, the game would spill it). Removing the head restarts the progress.
 * *cancelled gets the crafts of the consuming entry cancelled. FF_ERANGE: no such entry. */
int ff_world_cancel_craft(ff_world_t *wd, int32_t i, int32_t count, int32_t *cancelled);

/* Place a building item from the inventory with the footprint's top-left tile at (tx, ty).
 * Stacks lying on the footprint go into the inventory (refused if they do not all fit:
 * UNCERTAIN).
 * Checks (docs/factorio-facts.md §4.1, §4.5): item in inventory and placeable; footprint inside the map on
 * non-colliding tiles and free of buildings; the character's +-0.2 box not overlapping the new
 * box (for entities that block the character); entity centre within build distance 10 of the
 * character (UNCERTAIN: Factorio may measure to the box); a drill needs a resource under it.
 * FF_OK and *index on success, FF_ESTATE if refused (nothing changes). */
int ff_world_place(ff_world_t *wd, uint8_t item, int32_t tx, int32_t ty, uint8_t dir,
                   int32_t *index);

/* Index of the building covering tile (tx, ty), or -1. */
int32_t ff_world_building_at(const ff_world_t *wd, int32_t tx, int32_t ty);

/* Move up to `count` of `item` from the inventory into the building covering (tx, ty): coal into
 * the fuel slot, iron ore into a furnace's source slot (slot limit 50). Reach 10 to the
 * building's centre. *moved gets the count. FF_ESTATE if out of reach / nothing accepted. */
int ff_world_insert(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t item, int32_t count,
                    int32_t *moved);
/* Take the furnace's result (iron plates) into the inventory; without a building on the tile,
 * pick up the stack lying on the ground there (ff_world_pick_ground with the reach check).
 * *moved gets the count. */
int ff_world_take(ff_world_t *wd, int32_t tx, int32_t ty, int32_t *moved);

/* ---- items on the ground (issue 12, item 4; docs/mechanics.md "Items on the ground") ----
 * A burner drill drops its ore at centre + vector_to_place_result (-0.5, -1.3) facing north:
 * into the furnace covering that tile, else, if no building covers it and its tile does not
 * block, onto the ground as one stack, which blocks the drill's next output until it is gone
 * (Factorio 2.0.77 base/prototypes/entity/mining-drill.lua, burner-mining-drill
 * vector_to_place_result; docs/factorio-facts.md §4.3). The character picks a stack up with the
 * take action (LuaControl::mine_entity of the item-on-ground entity); placing a building over
 * it collects it into the inventory (changelog 0.8.1, Factorio 2.0.77 changelog.txt:17428:
 * items on the ground in the way "are collected the same way as when player is building
 * manually"). */

/* Index of the stack on tile (tx, ty), or -1. */
int32_t ff_world_ground_at(const ff_world_t *wd, int32_t tx, int32_t ty);
/* The 1/256 position of the stack on tile (tx, ty) as a drill drops it: x at the tile centre,
 * y 0.3 above the tile's south edge (ty*256 + 256 - 77: -0.3 * 256 truncated, UNCERTAIN). */
void ff_ground_position(int32_t tx, int32_t ty, int32_t *x, int32_t *y);
/* Pick the stack on tile (tx, ty) up into the inventory, whole or not at all; with check_reach
 * only within reach 10 of its position. *moved gets the count. FF_ESTATE: none there, out of
 * reach or no room. */
int ff_world_pick_ground(ff_world_t *wd, int32_t tx, int32_t ty, int check_reach, int32_t *moved);
/* Remove the stack on tile (tx, ty) without taking it (LuaEntity::destroy of the
 * item-on-ground entity). FF_ESTATE if none lies there. */
int ff_world_remove_ground(ff_world_t *wd, int32_t tx, int32_t ty);
/* Put a stack on tile (tx, ty) (map setup, the emulator's rebuild). FF_ESTATE if the tile holds
 * one or the list is full; FF_ERANGE outside the map / bad item or count. */
int ff_world_add_ground(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t item, uint8_t count);

/* Advance one tick: furnaces, then drills, then the character (crafting, walking, being carried
 * by a belt under its centre, mining), in Factorio's update order (docs/factorio-facts.md §4.2). */
void ff_world_tick(ff_world_t *wd);

/* Advance `nticks` ticks: exactly the same state as calling ff_world_tick nticks times (the
 * batch simulator's hot path). Stretches the per-tick rules provably leave unchanged are done
 * at once: a straight or diagonal walk whose swept box touches no building tile and whose
 * centre stays on tiles of the start tile's id (so no collision and the same speed each tick),
 * standing still, and hand mining short of completion. Anything else runs tick by tick. */
void ff_world_run(ff_world_t *wd, int32_t nticks);

/* The transition class (FF_TCLS_*) of tile (tx, ty) for the character: off the map and
 * out-of-map tiles FULL, a water tile by its neighbours (ff_water_class), others FREE. */
int ff_world_tile_class(const ff_world_t *wd, int32_t tx, int32_t ty);

/* Would the character collide at (px, py)? (tiles by the transition class at the centre point,
 * buildings by +-0.2 box) */
int ff_world_collides(const ff_world_t *wd, int32_t px, int32_t py);
/* Is the resource at tile (tx, ty) within resource reach 2.7 of the character (to its +-0.1 box)? */
int ff_world_in_resource_reach(const ff_world_t *wd, int32_t tx, int32_t ty);

/* Inventory: occupied slots, and how many of `item` could still be inserted (80 slots). */
int32_t ff_world_used_slots(const ff_world_t *wd);
int32_t ff_world_can_insert(const ff_world_t *wd, uint8_t item);
/* Insert up to n; returns how many went in. */
int32_t ff_world_insert_item(ff_world_t *wd, uint8_t item, int32_t n);

/* The 32-bit cell (ff_codec.h) of tile (tx, ty): tile id, resource amount, entity id (building
 * over resource over none), bit0 = the tile blocks the character. Outside: out-of-map, blocked. */
uint32_t ff_world_cell(const ff_world_t *wd, int32_t tx, int32_t ty);
/* All w*h cells row-major into out. */
int ff_world_cells(const ff_world_t *wd, uint32_t *out, size_t n);

FF_EXTERN_C_END

#endif /* FF_WORLD_H */
