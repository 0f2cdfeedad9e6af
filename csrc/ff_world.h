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
#define FF_WORLD_ITEMS 16           /* inventory array length (item ids 0..15) */
FF_STATIC_ASSERT(FF_WORLD_ITEMS >= FF_NUM_ITEMS, "every item id indexes the inventory array");

/* Character (docs/factorio-facts.md §4.1) */
#define FF_INVENTORY_SLOTS_MAIN 80
#define FF_CHAR_HALF_5 256          /* collision box +-0.2 tile, in 1/1280 */
#define FF_RESOURCE_HALF_5 128      /* resource box +-0.1 */
#define FF_REACH_RESOURCE_5 3456    /* reach_resource_distance 2.7 */
#define FF_REACH_5 12800            /* reach_distance 10 */
#define FF_BUILD_DISTANCE_5 12800   /* build_distance 10 */
#define FF_CORNER_SLIDE_5 896       /* maximum_corner_sliding_distance 0.7 */
#define FF_CORNER_MARGIN_5 13       /* the 0.01 margin (12.8 rounded up) */
#define FF_HAND_MINING_TICKS 120    /* iron ore mining_time 1 / mining_speed 0.5 * 60 (§4.3) */
#define FF_DRILL_MINING_TICKS 240   /* mining_time 1 / burner drill mining_speed 0.25 * 60 */
#define FF_SMELT_TICKS 192          /* iron plate 3.2 s at crafting speed 1 (§4.4) */
/* Fuel: burner mining drill 150 kW (docs/factorio-facts.md §4.3). The coal fuel value 4 MJ and
 * the stone furnace's 90 kW are in the game data (Factorio 2.0.77 base/prototypes/item.lua:72,
 * base/prototypes/entity/entities.lua:1069; see docs/mechanics.md). */
#define FF_COAL_JOULES 4000000
#define FF_DRILL_J_PER_TICK 2500    /* 150 kW / 60 */
#define FF_FURNACE_J_PER_TICK 1500  /* 90 kW / 60 */
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
    int32_t energy;       /* joules left of the burning fuel item */
    uint16_t fuel;        /* coal in the fuel slot */
    uint16_t src;         /* furnace: ore in the source slot; drill: 1 if an ore waits for output */
    uint16_t out;         /* furnace: plates in the result slot */
    uint16_t progress;    /* ticks of the current mining / smelting cycle */
    uint32_t produced;    /* lifetime count: ores mined (drill) / plates smelted (furnace) */
} ff_building_t;

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
    ff_resource_t res[FF_WORLD_MAX_RESOURCES];
    ff_building_t bld[FF_WORLD_MAX_BUILDINGS];
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

/* The corner slide (docs/factorio-facts.md §4.2; UNCERTAIN: a simplification of
 * Character::calculateSlideOverCorner). An orthogonal move at `speed` is blocked by a building
 * whose centre is b5 on the perpendicular axis (1/1280 tile, half extent half5) while the
 * character's centre there is c5: if the building's nearer edge is within
 * maximum_corner_sliding_distance 0.7 (plus the 0.01 margin), the character steps sideways
 * toward it by at most the speed. Returns that signed step in 1/256 tile, or 0 for no slide
 * (a slide is never 0: the boxes overlap, so the distance is at least the margin). Shared by the
 * world's walk (ff_world.c) and movement_micro's walk on bits (csrc/sim/ff_mv_walk.h). */
static inline int32_t ff_corner_slide_step(int32_t c5, int32_t b5, int32_t half5, int32_t speed) {
    int32_t need_neg = (c5 + FF_CHAR_HALF_5) - (b5 - half5);
    int32_t need_pos = (b5 + half5) - (c5 - FF_CHAR_HALF_5);
    int32_t sgn = need_neg <= need_pos ? -1 : 1;
    int32_t need = (sgn < 0 ? need_neg : need_pos) + FF_CORNER_MARGIN_5;
    if (need > FF_CORNER_SLIDE_5) return 0;
    int32_t shift = (need + 4) / 5;
    return sgn * (shift < speed ? shift : speed);
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
 * progress. */
int ff_world_set_mining(ff_world_t *wd, int mining, int32_t tx, int32_t ty);
int ff_world_set_position(ff_world_t *wd, int32_t px, int32_t py);
int ff_world_set_item(ff_world_t *wd, uint8_t item, uint16_t count);

/* Queue `count` crafts of `recipe`; ingredients are taken now (as in Factorio). *started gets
 * how many were queued (0 if ingredients are missing or the queue is full). FF_ERANGE: bad
 * recipe. Intermediate auto-crafting is NOT modelled (ingredients must be in the inventory). */
int ff_world_craft(ff_world_t *wd, int32_t recipe, int32_t count, int32_t *started);

/* Place a building item from the inventory with the footprint's top-left tile at (tx, ty).
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
/* Take the furnace's result (iron plates) into the inventory. *moved gets the count. */
int ff_world_take(ff_world_t *wd, int32_t tx, int32_t ty, int32_t *moved);

/* Advance one tick: furnaces, then drills, then the character (crafting, walking, being carried
 * by a belt under its centre, mining), in Factorio's update order (docs/factorio-facts.md §4.2). */
void ff_world_tick(ff_world_t *wd);

/* Advance `nticks` ticks: exactly the same state as calling ff_world_tick nticks times (the
 * batch simulator's hot path). Stretches the per-tick rules provably leave unchanged are done
 * at once: a straight or diagonal walk whose swept box touches no building tile and whose
 * centre stays on tiles of the start tile's id (so no collision and the same speed each tick),
 * standing still, and hand mining short of completion. Anything else runs tick by tick. */
void ff_world_run(ff_world_t *wd, int32_t nticks);

/* Would the character collide at (px, py)? (tiles by centre point, buildings by +-0.2 box) */
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
