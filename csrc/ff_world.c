/* ff_world.c - one world, drivable tick by tick. See ff_world.h for units and sources. */
#include "ff_world.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ff_codec.h"
#include "ff_util.h"

/* trunc(0.15 * mod * 256) and trunc(0.15 * mod * 0.70710678118 * 256), docs/factorio-facts.md §4.2.
 * Constant-folded by the compiler with IEEE double semantics (same as Python's float). */
#define FF_WALK_S(id, name, blocks, speed) [id] = (int32_t)(0.15 * (speed) * 256.0),
#define FF_WALK_D(id, name, blocks, speed) [id] = (int32_t)(0.15 * (speed) * 0.70710678118 * 256.0),
const int32_t ff_walk_straight[FF_NUM_TILES] = {FF_TILES(FF_WALK_S)};
const int32_t ff_walk_diagonal[FF_NUM_TILES] = {FF_TILES(FF_WALK_D)};
#undef FF_WALK_S
#undef FF_WALK_D

const int8_t ff_dir_dx[8] = {0, 1, 1, 1, 0, -1, -1, -1};
const int8_t ff_dir_dy[8] = {-1, -1, 0, 1, 1, 1, 0, -1};

const ff_recipe_t ff_recipe_table[FF_NUM_RECIPES] = {
    [FF_RECIPE_GEAR] = {{FF_ITEM_IRON_PLATE, 0, 0}, {2, 0, 0}, FF_ITEM_GEAR, 1, 31},
    [FF_RECIPE_STONE_FURNACE] = {{FF_ITEM_STONE, 0, 0}, {5, 0, 0}, FF_ITEM_STONE_FURNACE, 1, 31},
    [FF_RECIPE_BURNER_DRILL] = {{FF_ITEM_GEAR, FF_ITEM_STONE_FURNACE, FF_ITEM_IRON_PLATE},
                                {3, 1, 3}, FF_ITEM_BURNER_DRILL, 1, 121},
    [FF_RECIPE_BELT] = {{FF_ITEM_IRON_PLATE, FF_ITEM_GEAR, 0}, {1, 1, 0}, FF_ITEM_BELT, 2, 31},
};

/* floor(a / 1280) (the tile of a 1/1280 coordinate) for every int32 a: shifted to a
 * non-negative dividend, which compiles to a multiply without sign fix-ups. */
static inline int32_t ff_tile5(int32_t a) {
    return (int32_t)(((int64_t)a + ((int64_t)1280 << 21)) / 1280) - (1 << 21);
}

/* Entity id of the building an item places, or 0. */
static uint8_t ff_item_entity(uint8_t item) {
    switch (item) {
    case FF_ITEM_STONE_FURNACE: return FF_ENT_STONE_FURNACE;
    case FF_ITEM_BURNER_DRILL: return FF_ENT_BURNER_DRILL;
    case FF_ITEM_BELT: return FF_ENT_BELT;
    case FF_ITEM_WOODEN_CHEST: return FF_ENT_WOODEN_CHEST;
    default: return 0;
    }
}

/* Collision half extents in 1/1280 tile, rounded (0.35 -> 448), by entity id. */
#define FF_HALF5_ROW(id, name, kind, half, blocks, fp) [id] = (int32_t)((half) * 1280.0 + 0.5),
static const int32_t ff_half5_tab[FF_NUM_ENTITIES] = {FF_ENTITIES(FF_HALF5_ROW)};
#undef FF_HALF5_ROW
static inline int32_t ff_half5(uint8_t entity) { return ff_half5_tab[entity]; }

static inline size_t ff_round16(size_t n) { return (n + 15u) & ~(size_t)15u; }

size_t ff_world_bytes(int32_t w, int32_t h) {
    if (w < 1 || h < 1 || w > FF_WORLD_MAX_SIDE || h > FF_WORLD_MAX_SIDE) return 0;
    return ff_round16(sizeof(ff_world_t)) + 2 * ff_round16((size_t)w * (size_t)h);
}

/* 1 unless the nonplain bit says plain grass without a resource. Maps up to 32 wide always
 * read the grid (a tile row is 32 bytes there, no more lines than the bit rows; movement_micro
 * measured slower with the bit rows), so the shortcuts below apply from 33 wide. */
static inline int ff_np(const ff_world_t *wd, int32_t tx, int32_t ty) {
    return wd->w <= 32 || ff_world_nonplain(wd, tx, ty);
}

/* Recompute tile (x, y)'s nonplain bit from the grids (after any write to either). */
static inline void ff_mark_plain(ff_world_t *wd, int32_t x, int32_t y) {
    uint64_t bit = 1ull << (x & 63);
    if (wd->tile[y * wd->w + x] != FF_TILE_GRASS || wd->resg[y * wd->w + x])
        wd->nonplain[y][x >> 6] |= bit;
    else
        wd->nonplain[y][x >> 6] &= ~bit;
}

/* The struct's fields before the resource table, reset by every clear. */
#define FF_WORLD_HEAD_BYTES offsetof(ff_world_t, res)

void ff_world_clear(ff_world_t *wd, uint8_t tile) {
    /* Writes only what can differ from a fresh world: res[i] / bld[i] for i >= n_res / n_bld are
     * all zero (entries are written only below the count, and counts only grow; ff_world_init
     * starts from an all-zero struct), and so is resg while n_res is 0 (only add_resource writes
     * a non-zero). Plain stores, no reads: a reset meets these lines cold, and a sparse rewrite
     * that first reads the nonplain bits measured slower. */
    uint32_t version = wd->map_version + 1;
    size_t n = (size_t)wd->w * (size_t)wd->h, n_res = wd->n_res, n_bld = wd->n_bld, n_gr = wd->n_ground;
    uint8_t *t = wd->tile, *r = wd->resg;
    int32_t w = wd->w, h = wd->h;
    memset(wd, 0, FF_WORLD_HEAD_BYTES);
    memset(wd->res, 0, n_res * sizeof wd->res[0]);
    memset(wd->bld, 0, n_bld * sizeof wd->bld[0]);
    if (n_gr) memset(wd->ground, 0, n_gr * sizeof wd->ground[0]);
    memset(wd->nonplain, (tile & FF_TILE_ID_MASK) == FF_TILE_GRASS ? 0 : 0xFF,
           (size_t)h * sizeof wd->nonplain[0]);
    memset(t, tile & FF_TILE_ID_MASK, n);
    if (n_res) memset(r, 0, n);
    wd->w = w;
    wd->h = h;
    wd->tile = t;
    wd->resg = r;
    wd->px = w * 128;
    wd->py = h * 128;
    wd->walk_dir = -1;
    wd->map_version = version;
}

int ff_world_init(ff_world_t *wd, int32_t w, int32_t h, uint8_t tile) {
    if (!wd || !ff_world_bytes(w, h) || tile >= FF_NUM_TILES) return FF_EINVAL;
    uint8_t *base = (uint8_t *)wd + ff_round16(sizeof(ff_world_t));
    memset(wd, 0, sizeof *wd); /* every field and nonplain row (rows >= h too) defined */
    wd->w = w;
    wd->h = h;
    wd->tile = base;
    wd->resg = base + ff_round16((size_t)w * (size_t)h);
    memset(wd->resg, 0, (size_t)w * (size_t)h);
    ff_world_clear(wd, tile);
    return FF_OK;
}

int ff_world_create(int32_t w, int32_t h, uint8_t tile, ff_world_t **out) {
    int rc = FF_OK;
    ff_world_t *wd = NULL;
    size_t n = ff_world_bytes(w, h);
    if (!out || !n || tile >= FF_NUM_TILES) { rc = FF_EINVAL; goto done; }
    wd = (ff_world_t *)aligned_alloc(64, (n + 63u) & ~(size_t)63u);
    if (!wd) { rc = FF_ENOMEM; goto done; }
    rc = ff_world_init(wd, w, h, tile);
    if (rc != FF_OK) { free(wd); wd = NULL; goto done; }
    *out = wd;
done:
    return rc;
}

void ff_world_destroy(ff_world_t *wd) { free(wd); }

static inline int ff_in_map(const ff_world_t *wd, int32_t tx, int32_t ty) {
    return (uint32_t)tx < (uint32_t)wd->w && (uint32_t)ty < (uint32_t)wd->h;
}

int ff_world_set_tile(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t tile) {
    if (!wd) return FF_EINVAL;
    if (!ff_in_map(wd, tx, ty) || tile >= FF_NUM_TILES) return FF_ERANGE;
    uint8_t *c = &wd->tile[ty * wd->w + tx];
    *c = (uint8_t)((*c & ~FF_TILE_ID_MASK) | tile);
    ff_mark_plain(wd, tx, ty);
    wd->map_version++;
    return FF_OK;
}

int ff_world_fill_tiles(ff_world_t *wd, int32_t tx, int32_t ty, int32_t nx, int32_t ny, uint8_t tile) {
    if (!wd) return FF_EINVAL;
    if (nx < 1 || ny < 1 || !ff_in_map(wd, tx, ty) || !ff_in_map(wd, tx + nx - 1, ty + ny - 1) ||
        tile >= FF_NUM_TILES)
        return FF_ERANGE;
    for (int32_t y = ty; y < ty + ny; y++) {
        uint8_t *row = wd->tile + y * wd->w;
        for (int32_t x = tx; x < tx + nx; x++) {
            row[x] = (uint8_t)((row[x] & ~FF_TILE_ID_MASK) | tile);
            if (tile != FF_TILE_GRASS) wd->nonplain[y][x >> 6] |= 1ull << (x & 63); /* never plain */
            else ff_mark_plain(wd, x, y);
        }
    }
    wd->map_version++; /* one edit: the version only has to move */
    return FF_OK;
}

int ff_world_get_tile(const ff_world_t *wd, int32_t tx, int32_t ty, uint8_t *tile) {
    if (!wd || !tile) return FF_EINVAL;
    if (!ff_in_map(wd, tx, ty)) return FF_ERANGE;
    *tile = wd->tile[ty * wd->w + tx] & FF_TILE_ID_MASK;
    return FF_OK;
}

int ff_world_add_resource(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t entity, uint16_t amount) {
    if (!wd) return FF_EINVAL;
    if (!ff_in_map(wd, tx, ty) || entity >= FF_NUM_ENTITIES ||
        ff_entity_table[entity].kind != FF_ENTITY_KIND_RESOURCE || amount == 0)
        return FF_ERANGE;
    if (wd->resg[ty * wd->w + tx] || wd->n_res >= FF_WORLD_MAX_RESOURCES) return FF_ESTATE;
    ff_resource_t *r = &wd->res[wd->n_res];
    r->type = entity;
    r->tx = (uint8_t)tx;
    r->ty = (uint8_t)ty;
    r->pad = 0;
    r->amount = amount;
    wd->n_res++;
    wd->resg[ty * wd->w + tx] = (uint8_t)wd->n_res;
    ff_mark_plain(wd, tx, ty);
    wd->map_version++;
    return FF_OK;
}

int32_t ff_world_building_at(const ff_world_t *wd, int32_t tx, int32_t ty) {
    if (!wd || !ff_in_map(wd, tx, ty) || !ff_np(wd, tx, ty) ||
        !(wd->tile[ty * wd->w + tx] & FF_TILE_BUILDING))
        return -1;
    for (int32_t i = 0; i < wd->n_bld; i++) {
        const ff_building_t *b = &wd->bld[i];
        int32_t fp = ff_entity_table[b->type].footprint;
        if (tx >= b->tx && tx < b->tx + fp && ty >= b->ty && ty < b->ty + fp) return i;
    }
    return -1;
}

static int ff_footprint_free(const ff_world_t *wd, int32_t tx, int32_t ty, int32_t fp,
                             int tiles_must_be_walkable) {
    for (int32_t y = ty; y < ty + fp; y++)
        for (int32_t x = tx; x < tx + fp; x++) {
            if (!ff_in_map(wd, x, y)) return 0;
            uint8_t c = wd->tile[y * wd->w + x];
            if (c & FF_TILE_BUILDING) return 0;
            if (tiles_must_be_walkable && ff_tile_blocks[c & FF_TILE_ID_MASK]) return 0;
        }
    return 1;
}

static int32_t ff_add_building_unchecked(ff_world_t *wd, uint8_t entity, int32_t tx, int32_t ty,
                                         uint8_t dir) {
    int32_t fp = ff_entity_table[entity].footprint;
    int32_t i = wd->n_bld++;
    ff_building_t *b = &wd->bld[i];
    memset(b, 0, sizeof *b);
    b->type = entity;
    b->tx = (uint8_t)tx;
    b->ty = (uint8_t)ty;
    b->dir = dir;
    b->cx = tx * 256 + fp * 128;
    b->cy = ty * 256 + fp * 128;
    b->half5 = ff_half5(entity);
    if (entity == FF_ENT_STONE_FURNACE || entity == FF_ENT_BURNER_DRILL) wd->n_machines++;
    /* A building tile is never plain grass: its nonplain bit is 1. */
    for (int32_t y = ty; y < ty + fp; y++)
        for (int32_t x = tx; x < tx + fp; x++) {
            wd->tile[y * wd->w + x] |= FF_TILE_BUILDING;
            wd->nonplain[y][x >> 6] |= 1ull << (x & 63);
        }
    wd->map_version++;
    return i;
}

int ff_world_add_building(ff_world_t *wd, uint8_t entity, int32_t tx, int32_t ty, uint8_t dir,
                          int32_t *index) {
    if (!wd) return FF_EINVAL;
    if (entity >= FF_NUM_ENTITIES || dir > 7) return FF_ERANGE;
    uint8_t kind = ff_entity_table[entity].kind;
    if (kind != FF_ENTITY_KIND_BUILDING && kind != FF_ENTITY_KIND_BELT) return FF_ERANGE;
    if (kind == FF_ENTITY_KIND_BELT && (dir & 1)) return FF_ERANGE; /* belts face N/E/S/W only */
    if (wd->n_bld >= FF_WORLD_MAX_BUILDINGS) return FF_ESTATE;
    if (!ff_footprint_free(wd, tx, ty, ff_entity_table[entity].footprint, 0)) return FF_ESTATE;
    int32_t i = ff_add_building_unchecked(wd, entity, tx, ty, dir);
    if (index) *index = i;
    return FF_OK;
}

int ff_world_set_walking(ff_world_t *wd, int32_t dir) {
    if (!wd) return FF_EINVAL;
    if (dir < -1 || dir > 7) return FF_ERANGE;
    wd->walk_dir = (int8_t)dir;
    return FF_OK;
}

int ff_world_set_mining(ff_world_t *wd, int mining, int32_t tx, int32_t ty) {
    if (!wd) return FF_EINVAL;
    if (!mining) {
        wd->mining = 0;
        wd->mine_progress = 0;
        wd->mine_kind = 0;
        return FF_OK;
    }
    if (!wd->mining || wd->mine_tx != tx || wd->mine_ty != ty) {
        wd->mine_progress = 0;
        wd->mine_kind = 0;
    }
    wd->mining = 1;
    wd->mine_tx = tx;
    wd->mine_ty = ty;
    return FF_OK;
}

int ff_world_set_position(ff_world_t *wd, int32_t px, int32_t py) {
    if (!wd) return FF_EINVAL;
    if (px < -(1 << 20) || py < -(1 << 20) || px > (1 << 20) || py > (1 << 20)) return FF_ERANGE;
    wd->px = px;
    wd->py = py;
    return FF_OK;
}

int ff_world_set_item(ff_world_t *wd, uint8_t item, uint16_t count) {
    if (!wd) return FF_EINVAL;
    if (item == 0 || item >= FF_NUM_ITEMS) return FF_ERANGE;
    wd->inv[item] = count;
    return FF_OK;
}

/* ---- inventory (80 slots, stacks per ff_item_table) ---- */

int32_t ff_world_used_slots(const ff_world_t *wd) {
    int32_t used = 0;
    for (int i = 1; i < FF_NUM_ITEMS; i++) {
        int32_t s = ff_item_table[i].stack_size;
        used += (wd->inv[i] + s - 1) / s;
    }
    return used;
}

int32_t ff_world_can_insert(const ff_world_t *wd, uint8_t item) {
    if (item == 0 || item >= FF_NUM_ITEMS) return 0;
    int32_t s = ff_item_table[item].stack_size;
    int32_t other = ff_world_used_slots(wd) - (wd->inv[item] + s - 1) / s;
    int32_t room = (FF_INVENTORY_SLOTS_MAIN - other) * s - wd->inv[item];
    return room > 0 ? room : 0;
}

int32_t ff_world_insert_item(ff_world_t *wd, uint8_t item, int32_t n) {
    int32_t room = ff_world_can_insert(wd, item);
    int32_t k = n < room ? n : room;
    if (k > 0) wd->inv[item] = (uint16_t)(wd->inv[item] + k);
    return k > 0 ? k : 0;
}

/* ---- crafting ---- */

/* The recipe that makes `item` for chain crafting, or -1 (raw: ore, stone, coal, plates). */
static int32_t ff_item_recipe(uint8_t item) {
    switch (item) {
    case FF_ITEM_GEAR: return FF_RECIPE_GEAR;
    case FF_ITEM_STONE_FURNACE: return FF_RECIPE_STONE_FURNACE;
    default: return -1;
    }
}

typedef struct ff_craft_plan {
    int32_t n;                 /* entries */
    uint8_t recipe[4];
    int32_t count[4];
    uint8_t prereq[4];
} ff_craft_plan_t;

/* Plan n crafts of `recipe` on the inventory copy inv: per ingredient in recipe order, use what
 * the inventory holds, craft the rest by its recipe first (depth 1: our intermediates are made
 * from raw items). Appends the entries to *p (prerequisites before the craft). 0 if impossible. */
static int ff_craft_plan(uint32_t *inv, int32_t recipe, int32_t n, ff_craft_plan_t *p, int prereq) {
    const ff_recipe_t *r = &ff_recipe_table[recipe];
    for (int k = 0; k < 3; k++) {
        if (!r->in_count[k]) continue;
        uint8_t it = r->in_item[k];
        uint32_t need = (uint32_t)n * r->in_count[k];
        uint32_t use = inv[it] < need ? inv[it] : need;
        inv[it] -= use;
        if (use == need) continue;
        int32_t sub = ff_item_recipe(it);
        if (sub < 0 || prereq) return 0;
        const ff_recipe_t *s = &ff_recipe_table[sub];
        int32_t m = (int32_t)((need - use + s->out_count - 1) / s->out_count);
        if (!ff_craft_plan(inv, sub, m, p, 1)) return 0;
        /* a product beyond what the craft uses (none for our 1-product intermediates) stays
         * reserved: UNCERTAIN, the game would put it in the inventory */
    }
    if (p->n >= 4) return 0;
    p->recipe[p->n] = (uint8_t)recipe;
    p->count[p->n] = n;
    p->prereq[p->n] = (uint8_t)prereq;
    p->n++;
    return 1;
}

/* Plan n crafts on a copy of the inventory; on success *inv_after holds the inventory left. */
static int ff_craft_try(const ff_world_t *wd, int32_t recipe, int32_t n, ff_craft_plan_t *p,
                        uint32_t *inv_after) {
    for (int i = 0; i < FF_WORLD_ITEMS; i++) inv_after[i] = wd->inv[i];
    p->n = 0;
    return ff_craft_plan(inv_after, recipe, n, p, 0);
}

/* The most crafts of `recipe` (at most count) the inventory allows with chain crafting, and
 * their plan in *p / *inv (feasibility is monotone in n). 0 if none. */
static int32_t ff_craft_most(const ff_world_t *wd, int32_t recipe, int32_t count, ff_craft_plan_t *p,
                             uint32_t *inv) {
    int32_t n = count;
    if (n <= 0) return 0;
    if (ff_craft_try(wd, recipe, n, p, inv)) return n;
    int32_t lo = 0, hi = n; /* lo feasible (0 trivially), hi not */
    while (hi - lo > 1) {
        int32_t mid = lo + (hi - lo) / 2;
        if (ff_craft_try(wd, recipe, mid, p, inv)) lo = mid;
        else hi = mid;
    }
    if (lo > 0) ff_craft_try(wd, recipe, lo, p, inv);
    return lo;
}

int ff_world_craftable(const ff_world_t *wd, int32_t recipe, int32_t count, int32_t *n) {
    if (!wd || !n) return FF_EINVAL;
    *n = 0;
    if (recipe < 0 || recipe >= FF_NUM_RECIPES || count < 0) return FF_ERANGE;
    ff_craft_plan_t p;
    uint32_t inv[FF_WORLD_ITEMS];
    *n = ff_craft_most(wd, recipe, count > 0xFFFF ? 0xFFFF : count, &p, inv);
    return FF_OK;
}

int ff_world_craft_entry(const ff_world_t *wd, int32_t i, int32_t *recipe, int32_t *count,
                         int32_t *prereq) {
    if (!wd || !recipe || !count || !prereq) return FF_EINVAL;
    if (i < 0 || i >= wd->cq_len) return FF_ERANGE;
    int32_t slot = (wd->cq_head + i) % FF_WORLD_CRAFT_QUEUE;
    *recipe = wd->cq_recipe[slot];
    *count = wd->cq_count[slot];
    *prereq = wd->cq_prereq[slot];
    return FF_OK;
}

int ff_world_craft_push(ff_world_t *wd, int32_t recipe, int32_t count, int32_t prereq) {
    if (!wd) return FF_EINVAL;
    if (recipe < 0 || recipe >= FF_NUM_RECIPES || count < 1 || count > 0xFFFF) return FF_ERANGE;
    if (wd->cq_len >= FF_WORLD_CRAFT_QUEUE) return FF_ESTATE;
    int32_t slot = (wd->cq_head + wd->cq_len) % FF_WORLD_CRAFT_QUEUE;
    wd->cq_recipe[slot] = (uint8_t)recipe;
    wd->cq_count[slot] = (uint16_t)count;
    wd->cq_prereq[slot] = (uint8_t)(prereq != 0);
    wd->cq_len++;
    return FF_OK;
}

/* Add n of item to the inventory without the slot check, saturating (a cancel's refund). */
static void ff_refund(ff_world_t *wd, uint8_t item, uint32_t n) {
    uint32_t v = wd->inv[item] + n;
    wd->inv[item] = (uint16_t)(v > 0xFFFF ? 0xFFFF : v);
}

int ff_world_cancel_craft(ff_world_t *wd, int32_t i, int32_t count, int32_t *cancelled) {
    if (!wd || !cancelled) return FF_EINVAL;
    *cancelled = 0;
    if (i < 0 || i >= wd->cq_len || count < 1) return FF_ERANGE;
#define FF_CQ(k) ((wd->cq_head + (k)) % FF_WORLD_CRAFT_QUEUE)
    int32_t main = i;
    while (main < wd->cq_len && wd->cq_prereq[FF_CQ(main)]) main++;
    if (main >= wd->cq_len) return FF_ERANGE; /* not produced by ff_world_craft: no consumer */
    int32_t first = main; /* the prerequisites made for this entry sit right before it */
    while (first > 0 && wd->cq_prereq[FF_CQ(first - 1)]) first--;
    int32_t ms = FF_CQ(main);
    int32_t k = wd->cq_count[ms];
    if (first == main && i == main && count < k) k = count; /* no prerequisites: part of it */
    /* refund: each prerequisite's inputs for its crafts still to make; the entry's inputs for
     * its k crafts, less the intermediates those prerequisites would still have made (the
     * ones already made come back as items) */
    uint32_t owed[FF_WORLD_ITEMS] = {0};
    const ff_recipe_t *r = &ff_recipe_table[wd->cq_recipe[ms]];
    for (int j = 0; j < 3; j++)
        if (r->in_count[j]) owed[r->in_item[j]] += (uint32_t)k * r->in_count[j];
    for (int32_t e = first; e < main; e++) {
        int32_t s = FF_CQ(e);
        const ff_recipe_t *q = &ff_recipe_table[wd->cq_recipe[s]];
        for (int j = 0; j < 3; j++)
            if (q->in_count[j]) ff_refund(wd, q->in_item[j], (uint32_t)wd->cq_count[s] * q->in_count[j]);
        uint32_t made = (uint32_t)wd->cq_count[s] * q->out_count;
        owed[q->out_item] = owed[q->out_item] > made ? owed[q->out_item] - made : 0;
    }
    for (int it = 0; it < FF_WORLD_ITEMS; it++)
        if (owed[it]) ff_refund(wd, (uint8_t)it, owed[it]);
    *cancelled = k;
    if (k < wd->cq_count[ms]) { /* the crafts not started go: the one in progress stays */
        wd->cq_count[ms] = (uint16_t)(wd->cq_count[ms] - k);
        return FF_OK;
    }
    if (first == 0) wd->craft_progress = 0; /* the craft in progress is among them */
    /* drop entries first..main, keeping the order of the rest */
    int32_t gone = main - first + 1, len = wd->cq_len;
    for (int32_t e = first; e + gone < len; e++) {
        int32_t d = FF_CQ(e), s = FF_CQ(e + gone);
        wd->cq_recipe[d] = wd->cq_recipe[s];
        wd->cq_count[d] = wd->cq_count[s];
        wd->cq_prereq[d] = wd->cq_prereq[s];
    }
    wd->cq_len = (uint8_t)(len - gone);
#undef FF_CQ
    return FF_OK;
}

int ff_world_craft(ff_world_t *wd, int32_t recipe, int32_t count, int32_t *started) {
    if (!wd || !started) return FF_EINVAL;
    *started = 0;
    if (recipe < 0 || recipe >= FF_NUM_RECIPES || count < 0) return FF_ERANGE;
    if (count > 0xFFFF) count = 0xFFFF;
    ff_craft_plan_t p;
    uint32_t inv[FF_WORLD_ITEMS];
    int32_t n = ff_craft_most(wd, recipe, count, &p, inv);
    if (n <= 0) return FF_OK;
    /* room: each entry merges into the tail if it is the same recipe and kind, else a slot */
    int32_t len = wd->cq_len, last = (wd->cq_head + wd->cq_len - 1) % FF_WORLD_CRAFT_QUEUE;
    int32_t tail_recipe = len ? wd->cq_recipe[last] : -1, tail_prereq = len ? wd->cq_prereq[last] : -1;
    int32_t tail_count = len ? wd->cq_count[last] : 0;
    for (int32_t e = 0; e < p.n; e++) {
        if (tail_recipe == p.recipe[e] && tail_prereq == p.prereq[e] && tail_count + p.count[e] <= 0xFFFF) {
            tail_count += p.count[e];
            continue;
        }
        if (len >= FF_WORLD_CRAFT_QUEUE) return FF_OK;
        len++;
        tail_recipe = p.recipe[e];
        tail_prereq = p.prereq[e];
        tail_count = p.count[e];
    }
    for (int32_t e = 0; e < p.n; e++) {
        last = (wd->cq_head + wd->cq_len - 1) % FF_WORLD_CRAFT_QUEUE;
        if (wd->cq_len && wd->cq_recipe[last] == p.recipe[e] && wd->cq_prereq[last] == p.prereq[e] &&
            wd->cq_count[last] + p.count[e] <= 0xFFFF) {
            wd->cq_count[last] = (uint16_t)(wd->cq_count[last] + p.count[e]);
            continue;
        }
        int32_t slot = (wd->cq_head + wd->cq_len) % FF_WORLD_CRAFT_QUEUE;
        wd->cq_recipe[slot] = p.recipe[e];
        wd->cq_count[slot] = (uint16_t)p.count[e];
        wd->cq_prereq[slot] = p.prereq[e];
        wd->cq_len++;
    }
    for (int i = 0; i < FF_WORLD_ITEMS; i++) wd->inv[i] = (uint16_t)inv[i];
    *started = n;
    return FF_OK;
}

static void ff_craft_tick(ff_world_t *wd) {
    if (!wd->cq_len) return;
    const ff_recipe_t *r = &ff_recipe_table[wd->cq_recipe[wd->cq_head]];
    if (wd->craft_progress < r->ticks) wd->craft_progress++;
    if (wd->craft_progress < r->ticks) return;
    /* Done: the product goes in if it fits; otherwise the craft waits (UNCERTAIN: Factorio
     * would spill it on the ground). An intermediate's product is already counted into the
     * craft that uses it. */
    if (!wd->cq_prereq[wd->cq_head]) {
        if (ff_world_can_insert(wd, r->out_item) < r->out_count) return;
        wd->inv[r->out_item] = (uint16_t)(wd->inv[r->out_item] + r->out_count);
    }
    wd->crafted_total += r->out_count;
    wd->craft_progress = 0;
    if (--wd->cq_count[wd->cq_head] == 0) {
        wd->cq_head = (uint8_t)((wd->cq_head + 1) % FF_WORLD_CRAFT_QUEUE);
        wd->cq_len--;
    }
}

/* ---- collision and walking (docs/factorio-facts.md §4.2, reverse-engineered: UNCERTAIN) ---- */

/* Index of the first character-blocking building whose box overlaps the character box at
 * (x5, y5) (1/1280 units), or -1. Strict overlap: touching boxes do not collide. */
static int32_t ff_blocking_building(const ff_world_t *wd, int32_t x5, int32_t y5) {
    for (int32_t i = 0; i < wd->n_bld; i++) {
        const ff_building_t *b = &wd->bld[i];
        int32_t lim = FF_CHAR_HALF_5 + b->half5; /* overlap first (rare), then the table */
        if (ff_abs32(x5 - b->cx * 5) < lim && ff_abs32(y5 - b->cy * 5) < lim &&
            ff_entity_table[b->type].blocks_character)
            return i;
    }
    return -1;
}

/* 1 if tile (tx, ty) counts as water for its neighbours' transitions (ff_world.h): off the
 * map or a character-blocking tile id. */
static inline int ff_waterish(const ff_world_t *wd, int32_t tx, int32_t ty) {
    if (!ff_in_map(wd, tx, ty)) return 1;
    if (!ff_np(wd, tx, ty)) return 0;
    return ff_tile_blocks[wd->tile[ty * wd->w + tx] & FF_TILE_ID_MASK];
}

int ff_world_tile_class(const ff_world_t *wd, int32_t tx, int32_t ty) {
    if (!ff_in_map(wd, tx, ty)) return FF_TCLS_FULL;
    if (!ff_np(wd, tx, ty)) return FF_TCLS_FREE; /* plain grass */
    uint8_t t = wd->tile[ty * wd->w + tx] & FF_TILE_ID_MASK;
    if (!ff_tile_blocks[t]) return FF_TCLS_FREE;
    if (t == FF_TILE_OUT_OF_MAP) return FF_TCLS_FULL;
    uint32_t n4 = (uint32_t)ff_waterish(wd, tx, ty - 1) | (uint32_t)ff_waterish(wd, tx + 1, ty) << 1 |
                  (uint32_t)ff_waterish(wd, tx, ty + 1) << 2 | (uint32_t)ff_waterish(wd, tx - 1, ty) << 3;
    uint32_t d4 = (uint32_t)ff_waterish(wd, tx + 1, ty - 1) | (uint32_t)ff_waterish(wd, tx + 1, ty + 1) << 1 |
                  (uint32_t)ff_waterish(wd, tx - 1, ty + 1) << 2 | (uint32_t)ff_waterish(wd, tx - 1, ty - 1) << 3;
    return ff_water_class(n4, d4);
}

/* The transition class of the tile under the centre point (px, py), if it collides there;
 * else FREE. */
static inline int ff_tile_hit(const ff_world_t *wd, int32_t px, int32_t py) {
    int32_t tx = px >> 8, ty = py >> 8;
    if (!ff_in_map(wd, tx, ty)) return FF_TCLS_FULL;
    if (!ff_np(wd, tx, ty)) return FF_TCLS_FREE; /* plain grass */
    if (!ff_tile_blocks[wd->tile[ty * wd->w + tx] & FF_TILE_ID_MASK]) return FF_TCLS_FREE;
    int cls = ff_world_tile_class(wd, tx, ty);
    return ff_tcls_blocks(cls, px & 255, py & 255) ? cls : FF_TCLS_FREE;
}

static inline int ff_tile_collides(const ff_world_t *wd, int32_t px, int32_t py) {
    return ff_tile_hit(wd, px, py) != FF_TCLS_FREE;
}

/* Buildings sit inside their footprint tiles (half extents < footprint / 2), so only the (at
 * most 2x2) tiles under the character's box can hold a colliding one. */
static inline int ff_building_near(const ff_world_t *wd, int32_t px, int32_t py) {
    int32_t x5 = px * 5, y5 = py * 5;
    int32_t x0 = ff_tile5(x5 - FF_CHAR_HALF_5), x1 = ff_tile5(x5 + FF_CHAR_HALF_5);
    int32_t y0 = ff_tile5(y5 - FF_CHAR_HALF_5), y1 = ff_tile5(y5 + FF_CHAR_HALF_5);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 >= wd->w) x1 = wd->w - 1;
    if (y1 >= wd->h) y1 = wd->h - 1;
    if (x0 > x1 || y0 > y1) return 0;
    if (!(ff_np(wd, x0, y0) | ff_np(wd, x1, y0) |
          ff_np(wd, x0, y1) | ff_np(wd, x1, y1)))
        return 0; /* four plain grass tiles */
    /* the box is 0.4 tile wide: x1 - x0 <= 1 and y1 - y0 <= 1, so the four corners are all */
    const uint8_t *r0 = wd->tile + y0 * wd->w, *r1 = wd->tile + y1 * wd->w;
    return (r0[x0] | r0[x1] | r1[x0] | r1[x1]) & FF_TILE_BUILDING;
}

int ff_world_collides(const ff_world_t *wd, int32_t px, int32_t py) {
    if (ff_tile_collides(wd, px, py)) return 1;
    if (!ff_building_near(wd, px, py)) return 0;
    return ff_blocking_building(wd, px * 5, py * 5) >= 0;
}

static inline int ff_try(ff_world_t *wd, int32_t nx, int32_t ny) {
    if (ff_world_collides(wd, nx, ny)) return 0;
    wd->px = nx;
    wd->py = ny;
    return 1;
}

/* Character::calculateSlideOverCorner for an orthogonal move (the replay tool's
 * calculate_slide_over_corner): an entity overlapping the box at the new position is slid
 * around by its collision box (ff_box_slide_plan), else a tile under the new centre point by
 * ff_tile_slide_plan; either way the goal position must be free, then the slid one. */
static int ff_slide(ff_world_t *wd, int32_t vx, int32_t vy) {
    int32_t nx = wd->px + vx, ny = wd->py + vy, gx, gy, sx, sy;
    int32_t bi = ff_building_near(wd, nx, ny) ? ff_blocking_building(wd, nx * 5, ny * 5) : -1;
    if (bi >= 0) {
        const ff_building_t *b = &wd->bld[bi];
        int32_t c = vx != 0 ? b->cy : b->cx, k = ff_half256(b->half5);
        if (!ff_box_slide_plan(c - k, c + k, wd->px, wd->py, vx, vy, &gx, &gy, &sx, &sy) ||
            ff_world_collides(wd, gx, gy)) return 0;
        return ff_try(wd, wd->px + sx, wd->py + sy);
    }
    int cls = ff_tile_hit(wd, nx, ny), need_goal;
    if (!ff_tile_slide_plan(cls, wd->px, wd->py, vx, vy, &need_goal, &gx, &gy, &sx, &sy)) return 0;
    if (need_goal && ff_world_collides(wd, gx, gy)) return 0;
    return ff_try(wd, wd->px + sx, wd->py + sy);
}

static void ff_walk_tick(ff_world_t *wd) {
    int32_t d = wd->walk_dir;
    int32_t tx = wd->px >> 8, ty = wd->py >> 8;
    uint8_t t = !ff_in_map(wd, tx, ty) ? 0 : !ff_np(wd, tx, ty) ? FF_TILE_GRASS
              : wd->tile[ty * wd->w + tx] & FF_TILE_ID_MASK;
    int32_t s = (d & 1) ? ff_walk_diagonal[t] : ff_walk_straight[t];
    int32_t vx = ff_dir_dx[d] * s, vy = ff_dir_dy[d] * s;
    for (;;) {
        if (ff_try(wd, wd->px + vx, wd->py + vy)) return;                  /* 1. full move */
        if (vx == 0 || vy == 0) {
            if (ff_slide(wd, vx, vy)) return;                              /* 2. corner slide */
        } else {
            if (ff_try(wd, wd->px + vx, wd->py)) return;                   /* 3. axis fallback */
            if (ff_try(wd, wd->px, wd->py + vy)) return;
        }
        if (vx * vx + vy * vy > 655) { /* 4. |v|^2 > 0.01 tile^2 (655.36 in 1/256^2): halve */
            vx /= 2;                   /* C division truncates toward zero */
            vy /= 2;
            continue;
        }
        break;
    }
    if (vx == 0 || vy == 0) { /* 5. short movement, orthogonal only: 8, 7, ... 1 units */
        int32_t sx = (vx > 0) - (vx < 0), sy = (vy > 0) - (vy < 0);
        for (int32_t k = 8; k >= 1; k--)
            if (ff_try(wd, wd->px + sx * k, wd->py + sy * k)) return;
    }
}

/* Belts carry a character standing on them: has_belt_immunity is false by default (docs/factorio-facts.md
 * §4.1), at the belt speed 0.03125 tile/tick = 8/256 (§4.5). UNCERTAIN: which point decides
 * "standing on" (here the tile under the centre point) and how the push combines with walking
 * (here a separate collision-checked move after the walk, without corner slide). */
#define FF_BELT_SPEED 8
static void ff_belt_tick(ff_world_t *wd) {
    int32_t tx = wd->px >> 8, ty = wd->py >> 8;
    if (!ff_in_map(wd, tx, ty) || !ff_np(wd, tx, ty) ||
        !(wd->tile[ty * wd->w + tx] & FF_TILE_BUILDING))
        return;
    int32_t bi = ff_world_building_at(wd, tx, ty);
    if (bi < 0 || wd->bld[bi].type != FF_ENT_BELT) return;
    int32_t d = wd->bld[bi].dir;
    ff_try(wd, wd->px + ff_dir_dx[d] * FF_BELT_SPEED, wd->py + ff_dir_dy[d] * FF_BELT_SPEED);
}

/* ---- mining ---- */

int ff_world_in_resource_reach(const ff_world_t *wd, int32_t tx, int32_t ty) {
    int64_t dx = ff_abs32(wd->px * 5 - (tx * 1280 + 640)) - FF_RESOURCE_HALF_5;
    int64_t dy = ff_abs32(wd->py * 5 - (ty * 1280 + 640)) - FF_RESOURCE_HALF_5;
    if (dx < 0) dx = 0;
    if (dy < 0) dy = 0;
    return dx * dx + dy * dy <= (int64_t)FF_REACH_RESOURCE_5 * FF_REACH_RESOURCE_5;
}

static void ff_remove_resource(ff_world_t *wd, int32_t ri) {
    ff_resource_t *r = &wd->res[ri];
    wd->resg[r->ty * wd->w + r->tx] = 0;
    ff_mark_plain(wd, r->tx, r->ty);
    r->type = 0;
    r->amount = 0;
    wd->removed_total++;
    wd->map_version++;
}

static int ff_in_reach_of(const ff_world_t *wd, const ff_building_t *b);

/* Hand-mining ticks of a building entity (0: not minable here). */
static int32_t ff_building_mine_ticks(uint8_t e) {
    switch (e) {
    case FF_ENT_WOODEN_CHEST: return FF_MINE_CHEST_TICKS;
    case FF_ENT_STONE_FURNACE: return FF_MINE_FURNACE_TICKS;
    case FF_ENT_BURNER_DRILL: return FF_MINE_DRILL_TICKS;
    case FF_ENT_BELT: return FF_MINE_BELT_TICKS;
    default: return 0;
    }
}

static uint8_t ff_entity_item(uint8_t e) {
    switch (e) {
    case FF_ENT_WOODEN_CHEST: return FF_ITEM_WOODEN_CHEST;
    case FF_ENT_STONE_FURNACE: return FF_ITEM_STONE_FURNACE;
    case FF_ENT_BURNER_DRILL: return FF_ITEM_BURNER_DRILL;
    case FF_ENT_BELT: return FF_ITEM_BELT;
    default: return 0;
    }
}

/* Remove building bi: free its tiles, close the gap in bld (the order of the others stays). */
static void ff_remove_building(ff_world_t *wd, int32_t bi) {
    ff_building_t *b = &wd->bld[bi];
    int32_t fp = ff_entity_table[b->type].footprint;
    for (int32_t y = b->ty; y < b->ty + fp; y++)
        for (int32_t x = b->tx; x < b->tx + fp; x++) {
            wd->tile[y * wd->w + x] &= (uint8_t)~FF_TILE_BUILDING;
            ff_mark_plain(wd, x, y);
        }
    if (b->type == FF_ENT_STONE_FURNACE || b->type == FF_ENT_BURNER_DRILL) wd->n_machines--;
    for (int32_t i = bi; i + 1 < wd->n_bld; i++) wd->bld[i] = wd->bld[i + 1];
    wd->n_bld--;
    memset(&wd->bld[wd->n_bld], 0, sizeof wd->bld[0]);
    wd->map_version++;
}

/* Pick building bi up: its item and its contents (coal, ore, plates; a furnace's craft in
 * progress gives back its ore, the fuel burning is lost) go into the inventory, all or nothing
 * (UNCERTAIN: the game moves what fits and leaves the building while anything is left).
 * Returns 1 if it was picked up. */
static int ff_pick_up(ff_world_t *wd, int32_t bi) {
    const ff_building_t *b = &wd->bld[bi];
    uint16_t saved[FF_WORLD_ITEMS];
    memcpy(saved, wd->inv, sizeof saved);
    int ok = ff_world_insert_item(wd, ff_entity_item(b->type), 1) == 1;
    if (ok && b->fuel) ok = ff_world_insert_item(wd, FF_ITEM_COAL, b->fuel) == b->fuel;
    if (b->type == FF_ENT_STONE_FURNACE) {
        int32_t ore = b->src + (b->work > 0.0 ? 1 : 0);
        if (ok && ore) ok = ff_world_insert_item(wd, FF_ITEM_IRON_ORE, ore) == ore;
        if (ok && b->out) ok = ff_world_insert_item(wd, FF_ITEM_IRON_PLATE, b->out) == b->out;
    } else if (b->type == FF_ENT_BURNER_DRILL && b->src) {
        if (ok) ok = ff_world_insert_item(wd, (uint8_t)b->src, 1) == 1;
    }
    if (!ok) {
        memcpy(wd->inv, saved, sizeof saved);
        return 0;
    }
    ff_remove_building(wd, bi);
    return 1;
}

static void ff_mine_tick(ff_world_t *wd) {
    int32_t tx = wd->mine_tx, ty = wd->mine_ty;
    if (wd->n_bld && ff_in_map(wd, tx, ty) && (wd->tile[ty * wd->w + tx] & FF_TILE_BUILDING)) {
        /* the building is selected, not the ore under it */
        int32_t bi = ff_world_building_at(wd, tx, ty);
        int32_t goal = bi >= 0 ? ff_building_mine_ticks(wd->bld[bi].type) : 0;
        if (!goal || !ff_in_reach_of(wd, &wd->bld[bi])) {
            wd->mine_progress = 0;
            return;
        }
        if (wd->mine_kind != wd->bld[bi].type) {
            wd->mine_kind = wd->bld[bi].type;
            wd->mine_progress = 0;
        }
        if (wd->mine_progress < goal) wd->mine_progress++;
        if (wd->mine_progress < goal) return;
        if (!ff_pick_up(wd, bi)) return; /* a full inventory holds the finished cycle */
        wd->mine_progress = 0;
        wd->mine_kind = 0;
        return;
    }
    int32_t ri = ff_in_map(wd, tx, ty) && ff_np(wd, tx, ty) ? wd->resg[ty * wd->w + tx] : 0;
    if (!ri || !ff_world_in_resource_reach(wd, tx, ty)) {
        wd->mine_progress = 0;
        return;
    }
    ff_resource_t *r = &wd->res[ri - 1];
    if (wd->mine_kind != r->type) {
        wd->mine_kind = r->type;
        wd->mine_progress = 0;
    }
    if (wd->mine_progress < FF_HAND_MINING_TICKS) wd->mine_progress++;
    if (wd->mine_progress < FF_HAND_MINING_TICKS) return;
    /* Resource entity ids 1..4 are the same numbers as their item ids. A full inventory holds
     * the finished cycle until there is room (UNCERTAIN). */
    if (ff_world_insert_item(wd, r->type, 1) != 1) return;
    wd->mine_progress = 0;
    wd->mined_total++;
    if (--r->amount == 0) ff_remove_resource(wd, ri - 1);
}

/* ---- machines ---- */

/* Burner::extractEnergyAndPollute: up to `want` J from the heat buffer. */
static inline double ff_burner_extract(ff_building_t *b, double want) {
    double got = want < b->heat ? want : b->heat;
    b->heat -= got;
    return got;
}

/* Burner::transferHeat: refill the buffer from the burning fuel item. */
static inline void ff_burner_transfer(ff_building_t *b, double cap) {
    double r = cap - b->heat;
    if (r > b->burning) r = b->burning;
    if (r != 0.0) {
        double h = b->heat + r;
        b->heat = cap < h ? cap : h;
        double left = b->burning - r;
        b->burning = left > 0.0 ? left : 0.0;
    }
}

/* Burner::update, after the machine drew its energy: refill; when the item has burnt out and
 * the buffer is not full, take the next coal from the fuel slot. The buffer starts empty, so a
 * machine's first tick after fuelling does no work. */
static inline void ff_burner_tick(ff_building_t *b, double use) {
    double cap = use * (16.0 / 15.0);
    if (b->burning > 0.0 && b->heat < cap) ff_burner_transfer(b, cap);
    if (b->heat < cap && b->burning <= 0.0 && b->fuel) {
        b->burning = (double)FF_COAL_JOULES;
        b->fuel--;
        ff_burner_transfer(b, cap);
    }
}

/* CraftingMachine::update for the iron-plate recipe: a finished craft (work >= 3.2) moves its
 * plate to the result slot and keeps the excess; a new craft takes its ore from the source slot
 * when the first energy arrives (so the ore is consumed at the start, not the end) and starts
 * from the kept excess. A full result slot holds the finished craft and starts no new one
 * (UNCERTAIN: the replay tool's model never fills it). */
static void ff_furnace_tick(ff_world_t *wd, ff_building_t *b) {
    if (b->work >= FF_SMELT_S) {
        if (b->out >= FF_FURNACE_OUT_MAX) return;
        double x = b->work - FF_SMELT_S;
        b->extra = x > 0.0 ? x : 0.0;
        b->work = 0.0;
        b->progress = 0;
        b->out++;
        b->produced++;
        wd->smelted_total++;
    }
    int fresh = b->work == 0.0;
    if (fresh && (b->src == 0 || b->out >= FF_FURNACE_OUT_MAX)) return;
    double speed = ff_burner_extract(b, FF_FURNACE_USE) / FF_FURNACE_USE * 1.0;
    if (speed > 0.0) {
        b->work += speed / 60.0;
        b->progress++;
        if (fresh) {
            b->src--;
            b->work += b->extra;
            b->extra = 0.0;
        }
    }
    ff_burner_tick(b, FF_FURNACE_USE);
}

/* The drill drops its ore at centre + vector_to_place_result {-0.5, -1.3} (facing north): the
 * tile above its top-left tile. A furnace there takes iron ore into its source slot (another
 * building there takes nothing: UNCERTAIN for chests and belts, which would take it in the
 * game); with no building there the ore goes onto the ground as one stack, unless a stack
 * already lies there (it blocks the output until picked up), the tile is off the map or blocks
 * (water: UNCERTAIN, by the tile id), or the ground list is full. Otherwise the drill waits
 * holding the ore. */
static void ff_drill_output(ff_world_t *wd, ff_building_t *b) {
    int32_t dx = b->tx, dy = (int32_t)b->ty - 1;
    int32_t fi = ff_world_building_at(wd, dx, dy);
    if (fi >= 0) {
        ff_building_t *f = &wd->bld[fi];
        if (f->type == FF_ENT_STONE_FURNACE && b->src == FF_ITEM_IRON_ORE &&
            f->src < FF_ENTITY_SLOT_MAX) {
            f->src++;
            b->src = 0;
            wd->fed_total++;
        }
        return;
    }
    if (!ff_in_map(wd, dx, dy) || ff_tile_blocks[wd->tile[dy * wd->w + dx] & FF_TILE_ID_MASK] ||
        wd->n_ground >= FF_WORLD_MAX_GROUND || ff_world_ground_at(wd, dx, dy) >= 0)
        return;
    ff_ground_t *g = &wd->ground[wd->n_ground++];
    g->tx = (uint8_t)dx;
    g->ty = (uint8_t)dy;
    g->item = (uint8_t)b->src;
    g->count = 1;
    b->src = 0;
}

static void ff_drill_tick(ff_world_t *wd, ff_building_t *b) {
    if (b->src) {
        ff_drill_output(wd, b);
        if (b->src) return;
    }
    int32_t ri = 0;
    for (int32_t y = b->ty; y < b->ty + 2 && !ri; y++)
        for (int32_t x = b->tx; x < b->tx + 2 && !ri; x++) ri = wd->resg[y * wd->w + x];
    if (!ri) return;
    /* MiningDrill::update: progress by the energy satisfaction, then the burner, then
     * performMining at progress >= 1 (the remainder is kept: 241 ticks of progress for the
     * first ore, 240 for the next ones). */
    double got = ff_burner_extract(b, FF_DRILL_USE);
    if (got != 0.0) {
        double sat = got / FF_DRILL_USE;
        b->work += (sat * FF_DRILL_SPEED) * (1.0 / 60.0);
        b->progress++;
    }
    ff_burner_tick(b, FF_DRILL_USE);
    if (b->work < 1.0) return;
    b->work -= 1.0;
    ff_resource_t *r = &wd->res[ri - 1];
    b->progress = 0;
    b->produced++;
    b->src = r->type; /* the ore item waiting for output */
    if (--r->amount == 0) ff_remove_resource(wd, ri - 1);
    ff_drill_output(wd, b);
}

static inline void ff_machines_tick(ff_world_t *wd) {
    if (!wd->n_machines) return; /* only chests / belts: nothing of theirs runs per tick */
    int32_t nb = wd->n_bld;
    for (int32_t i = 0; i < nb; i++)
        if (wd->bld[i].type == FF_ENT_STONE_FURNACE) ff_furnace_tick(wd, &wd->bld[i]);
    for (int32_t i = 0; i < nb; i++)
        if (wd->bld[i].type == FF_ENT_BURNER_DRILL) ff_drill_tick(wd, &wd->bld[i]);
}

void ff_world_tick(ff_world_t *wd) {
    ff_machines_tick(wd);
    ff_craft_tick(wd);
    if (wd->walk_dir >= 0) ff_walk_tick(wd);
    ff_belt_tick(wd);
    if (wd->mining) ff_mine_tick(wd);
    wd->tick++;
}

/* How many of the next `m` walking ticks are provably plain full moves by the same vector (the
 * first rule of ff_walk_tick every time) with no belt under the centre: m if so, else 0 (the
 * caller then ticks one by one). Proof, for P_j = P + j*v, j = 1..m (monotone on each axis, so
 * the tiles of all P_j lie in the tile rectangle of P_1 and P_m, and so do P_1..P_{m-1}, whose
 * tiles set the speed of the following ticks):
 *   - every tile of that rectangle is in the map and has the start tile's id t0 (no building
 *     bit), and t0 does not block: no centre-point tile collision, the speed stays that of t0,
 *     and no belt lies under the centre after any move (ff_belt_tick does nothing);
 *   - no tile under the union of the +-0.2 boxes (the rectangle from the box at P_1 to the box
 *     at P_m, same clamping as ff_building_near) carries a building: ff_world_collides is 0.
 * Walking reads only the position, the tiles and the buildings' footprints, none of which the
 * machines or crafting change within ticks, so the caller may run those separately. */
static int32_t ff_walk_clear(const ff_world_t *wd, int32_t m, int32_t *vx_out, int32_t *vy_out) {
    int32_t d = wd->walk_dir;
    int32_t tx = wd->px >> 8, ty = wd->py >> 8;
    if (!ff_in_map(wd, tx, ty)) return 0;
    int plain0 = !ff_np(wd, tx, ty);
    uint8_t t0 = plain0 ? FF_TILE_GRASS : wd->tile[ty * wd->w + tx];
    if (t0 & ~FF_TILE_ID_MASK || ff_tile_blocks[t0]) return 0;
    int32_t s = (d & 1) ? ff_walk_diagonal[t0] : ff_walk_straight[t0];
    int32_t vx = ff_dir_dx[d] * s, vy = ff_dir_dy[d] * s;
    int32_t ax = wd->px + vx, bx = wd->px + m * vx, ay = wd->py + vy, by = wd->py + m * vy;
    int32_t x_lo = ax < bx ? ax : bx, x_hi = ax < bx ? bx : ax;
    int32_t y_lo = ay < by ? ay : by, y_hi = ay < by ? by : ay;
    int32_t cx0 = x_lo >> 8, cx1 = x_hi >> 8, cy0 = y_lo >> 8, cy1 = y_hi >> 8;
    if (!ff_in_map(wd, cx0, cy0) || !ff_in_map(wd, cx1, cy1)) return 0;
    int32_t bx0 = ff_tile5(x_lo * 5 - FF_CHAR_HALF_5);
    int32_t bx1 = ff_tile5(x_hi * 5 + FF_CHAR_HALF_5);
    int32_t by0 = ff_tile5(y_lo * 5 - FF_CHAR_HALF_5);
    int32_t by1 = ff_tile5(y_hi * 5 + FF_CHAR_HALF_5);
    if (bx0 < 0) bx0 = 0;
    if (by0 < 0) by0 = 0;
    if (bx1 >= wd->w) bx1 = wd->w - 1;
    if (by1 >= wd->h) by1 = wd->h - 1;
    *vx_out = vx;
    *vy_out = vy;
    if (plain0 && bx0 <= bx1 && bx1 - bx0 < 32) {
        /* t0 is plain grass: every tile of the rectangle plain grass passes the loop below */
        uint32_t any = 0;
        for (int32_t y = by0; y <= by1; y++) any |= ff_world_nonplain_bits(wd, y, bx0, bx1 - bx0 + 1);
        if (!any) return m;
    }
    for (int32_t y = by0; y <= by1; y++) {
        const uint8_t *row = wd->tile + y * wd->w;
        int in_cy = y >= cy0 && y <= cy1;
        for (int32_t x = bx0; x <= bx1; x++) {
            uint8_t c = row[x];
            if ((c & FF_TILE_BUILDING) || (in_cy && x >= cx0 && x <= cx1 && c != t0)) goto prefix;
        }
    }
    return m;
prefix:
    /* Something is near: the longest clear prefix, point by point: centre tile in the map and
     * == t0 (walkable, same speed, no belt under the centre) and no blocking building box
     * overlapping (the exact building half of ff_world_collides), so the full move happens. */
    for (int32_t j = 1; j <= m; j++) {
        int32_t x = wd->px + j * vx, y = wd->py + j * vy;
        int32_t ctx = x >> 8, cty = y >> 8;
        if (!ff_in_map(wd, ctx, cty) || wd->tile[cty * wd->w + ctx] != t0 ||
            (ff_building_near(wd, x, y) && ff_blocking_building(wd, x * 5, y * 5) >= 0))
            return j - 1;
    }
    return m;
}

/* A diagonal walk sliding along a wall of blocking tiles (water, the map edge): how many of
 * the next `m` ticks are provably, tick by tick, ff_walk_tick's rule 3 with the same axis move
 * (the caller adds k * (*ax, *ay)). Per tick, from P with the vector v of P's tile t0 (a plain
 * non-blocking tile: no building bit):
 *   - the full move P+v has a blocking tile under its centre (or is off the map), so
 *     ff_world_collides says 1 and rule 1 fails;
 *   - x alone: P+(vx,0) in the map on a tile == t0 (so walkable, no building under the centre)
 *     with no building tile under its box (ff_building_near 0): ff_world_collides 0, the move
 *     is taken. Or, if P+(vx,0) also has a blocking tile under its centre (rule 3's x try fails
 *     the same way), y alone: P+(0,vy) under the same conditions.
 * The new position is on t0 again: same speed, same vector, no belt under the centre. Like
 * ff_walk_clear this reads only the position and the static map. */
static int32_t ff_walk_slide(ff_world_t *wd, int32_t m, int32_t *ax, int32_t *ay) {
    int32_t d = wd->walk_dir;
    if (!(d & 1)) return 0;
    int32_t tx = wd->px >> 8, ty = wd->py >> 8;
    if (!ff_in_map(wd, tx, ty)) return 0;
    uint8_t t0 = !ff_np(wd, tx, ty) ? FF_TILE_GRASS : wd->tile[ty * wd->w + tx];
    if (t0 & ~FF_TILE_ID_MASK || ff_tile_blocks[t0]) return 0;
    int32_t s = ff_walk_diagonal[t0];
    int32_t vx = ff_dir_dx[d] * s, vy = ff_dir_dy[d] * s;
    int32_t x = wd->px, y = wd->py, k = 0, mx = 0, my = 0;
    for (; k < m; k++) {
        if (!ff_tile_collides(wd, x + vx, y + vy)) break;
        int32_t nx = x + vx, ny = y;
        if (ff_tile_collides(wd, nx, ny)) {
            nx = x;
            ny = y + vy;
        }
        int32_t ntx = nx >> 8, nty = ny >> 8;
        if (!ff_in_map(wd, ntx, nty) || wd->tile[nty * wd->w + ntx] != t0 || ff_building_near(wd, nx, ny))
            break;
        int32_t dx = nx - x, dy = ny - y;
        if (k && (dx != mx || dy != my)) break; /* one axis for the whole run */
        mx = dx;
        my = dy;
        x = nx;
        y = ny;
    }
    *ax = mx;
    *ay = my;
    return k;
}

/* 1 if no machine's tick can change anything now or later in this run: each furnace is idle
 * (nothing to smelt, or its result slot full) or out of fuel and energy; each drill holds no
 * ore for output and is out of fuel and energy, or has no ore under it. Within ticks only
 * machines change machines (crafting, walking and hand mining do not; hand mining can only
 * remove ore under a drill), and idle machines feed nothing, so idle stays idle. */
static int ff_machines_idle(const ff_world_t *wd) {
    for (int32_t i = 0; i < wd->n_bld; i++) {
        const ff_building_t *b = &wd->bld[i];
        if (b->type == FF_ENT_STONE_FURNACE) {
            /* the early returns of ff_furnace_tick, and no energy to draw or load */
            if (b->work == 0.0 && (b->src == 0 || b->out >= FF_FURNACE_OUT_MAX)) continue;
            if (b->work >= FF_SMELT_S && b->out >= FF_FURNACE_OUT_MAX) continue;
            if (b->work < FF_SMELT_S && b->heat == 0.0 && b->burning <= 0.0 && !b->fuel) continue;
            return 0;
        }
        if (b->type == FF_ENT_BURNER_DRILL) {
            if (b->src) return 0;
            if (b->heat == 0.0 && b->burning <= 0.0 && !b->fuel) continue; /* work < 1 here */
            for (int32_t y = b->ty; y < b->ty + 2; y++)
                for (int32_t x = b->tx; x < b->tx + 2; x++)
                    if (wd->resg[y * wd->w + x]) return 0;
        }
    }
    return 1;
}

/* k ticks of a proven-clear walk at (vx, vy) per tick; machines and crafting tick alongside. */
static inline void ff_walk_ticks(ff_world_t *wd, int32_t k, int32_t vx, int32_t vy, int machines) {
    if (machines || wd->cq_len)
        for (int32_t j = 0; j < k; j++) {
            ff_machines_tick(wd);
            ff_craft_tick(wd);
        }
    wd->px += k * vx;
    wd->py += k * vy;
    wd->tick += (uint64_t)k;
}

void ff_world_run(ff_world_t *wd, int32_t nticks) {
    int32_t left = nticks;
    int machines = wd->n_machines && !ff_machines_idle(wd);
    while (left > 0) {
        if (wd->walk_dir >= 0 && !wd->mining) {
            /* Walking only: the walk is independent of machines and crafting (see above). */
            int32_t vx = 0, vy = 0;
            int32_t k = ff_walk_clear(wd, left, &vx, &vy);
            if (!k && (k = ff_walk_slide(wd, left, &vx, &vy)) > 0) {
                ff_walk_ticks(wd, k, vx, vy, machines);
                left -= k;
                continue;
            }
            if (!k) { /* the next tick may collide: the exact per-tick rules for it */
                int32_t x = wd->px, y = wd->py;
                ff_world_tick(wd);
                left--;
                if (wd->px == x && wd->py == y) {
                    /* Stuck (e.g. walking into water or a wall): the walk and the belt are a
                     * function of the position, the direction and the static map, so every
                     * further tick leaves the character where it is too. */
                    if (machines || wd->cq_len)
                        for (int32_t j = 0; j < left; j++) {
                            ff_machines_tick(wd);
                            ff_craft_tick(wd);
                        }
                    wd->tick += (uint64_t)left;
                    return;
                }
                continue;
            }
            ff_walk_ticks(wd, k, vx, vy, machines);
            left -= k;
            continue;
        }
        int32_t tx = wd->px >> 8, ty = wd->py >> 8;
        if (wd->walk_dir < 0 && !machines && !wd->cq_len && ff_in_map(wd, tx, ty) &&
            (!ff_np(wd, tx, ty) || !(wd->tile[ty * wd->w + tx] & FF_TILE_BUILDING))) {
            /* Standing off any belt with nothing running but maybe hand mining, whose inputs
             * (position, the resource, the inventory) then stay fixed until a cycle ends. */
            if (!wd->mining) {
                wd->tick += (uint64_t)left;
                return;
            }
            int32_t mx = wd->mine_tx, my = wd->mine_ty;
            /* n_bld first: without buildings the tile grid's line is not read (a step here is
             * memory-bound); a building tile is never plain */
            int on_building = wd->n_bld && ff_in_map(wd, mx, my) && ff_np(wd, mx, my) &&
                              (wd->tile[my * wd->w + mx] & FF_TILE_BUILDING);
            int32_t ri = !on_building && ff_in_map(wd, mx, my) && ff_np(wd, mx, my) ? wd->resg[my * wd->w + mx] : 0;
            if (on_building) {
                ff_world_tick(wd); /* mining a building: short, tick by tick */
                left--;
                continue;
            }
            if (!ri || !ff_world_in_resource_reach(wd, mx, my)) {
                wd->mine_progress = 0;
                wd->tick += (uint64_t)left;
                return;
            }
            if (wd->mine_kind != wd->res[ri - 1].type) {
                /* what ff_mine_tick does first on a new entity in reach (nothing else runs) */
                wd->mine_kind = wd->res[ri - 1].type;
                wd->mine_progress = 0;
            }
            /* k more increments leave progress < FF_HAND_MINING_TICKS: no cycle ends */
            int32_t k = FF_HAND_MINING_TICKS - 1 - (int32_t)wd->mine_progress;
            if (k > left) k = left;
            if (k > 0) {
                wd->mine_progress = (uint16_t)(wd->mine_progress + k);
                wd->tick += (uint64_t)k;
                left -= k;
                continue;
            }
        }
        ff_world_tick(wd);
        left--;
    }
}

/* ---- items on the ground ---- */

int32_t ff_world_ground_at(const ff_world_t *wd, int32_t tx, int32_t ty) {
    for (int32_t i = 0; i < wd->n_ground; i++)
        if (wd->ground[i].tx == tx && wd->ground[i].ty == ty) return i;
    return -1;
}

void ff_ground_position(int32_t tx, int32_t ty, int32_t *x, int32_t *y) {
    *x = tx * 256 + 128;
    *y = ty * 256 + 256 - 77;
}

/* Remove stack i, closing the gap (the order of the others stays). */
static void ff_remove_ground(ff_world_t *wd, int32_t i) {
    for (int32_t k = i; k + 1 < wd->n_ground; k++) wd->ground[k] = wd->ground[k + 1];
    wd->n_ground--;
    memset(&wd->ground[wd->n_ground], 0, sizeof wd->ground[0]);
}

int ff_world_pick_ground(ff_world_t *wd, int32_t tx, int32_t ty, int check_reach, int32_t *moved) {
    if (!wd || !moved) return FF_EINVAL;
    *moved = 0;
    int32_t i = ff_world_ground_at(wd, tx, ty);
    if (i < 0) return FF_ESTATE;
    ff_ground_t *g = &wd->ground[i];
    if (check_reach) {
        int32_t gx, gy;
        ff_ground_position(tx, ty, &gx, &gy);
        int64_t dx = (int64_t)(gx - wd->px) * 5, dy = (int64_t)(gy - wd->py) * 5;
        if (dx * dx + dy * dy > (int64_t)FF_REACH_5 * FF_REACH_5) return FF_ESTATE;
    }
    if (ff_world_can_insert(wd, g->item) < g->count) return FF_ESTATE;
    int32_t n = ff_world_insert_item(wd, g->item, g->count);
    ff_remove_ground(wd, i);
    *moved = n;
    return FF_OK;
}

int ff_world_remove_ground(ff_world_t *wd, int32_t tx, int32_t ty) {
    if (!wd) return FF_EINVAL;
    int32_t i = ff_world_ground_at(wd, tx, ty);
    if (i < 0) return FF_ESTATE;
    ff_remove_ground(wd, i);
    return FF_OK;
}

int ff_world_add_ground(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t item, uint8_t count) {
    if (!wd) return FF_EINVAL;
    if (!ff_in_map(wd, tx, ty) || item == 0 || item >= FF_NUM_ITEMS || count == 0) return FF_ERANGE;
    if (wd->n_ground >= FF_WORLD_MAX_GROUND || ff_world_ground_at(wd, tx, ty) >= 0) return FF_ESTATE;
    ff_ground_t *g = &wd->ground[wd->n_ground++];
    g->tx = (uint8_t)tx;
    g->ty = (uint8_t)ty;
    g->item = item;
    g->count = count;
    return FF_OK;
}

/* ---- placing, inserting, taking ---- */

int ff_world_place(ff_world_t *wd, uint8_t item, int32_t tx, int32_t ty, uint8_t dir,
                   int32_t *index) {
    if (!wd) return FF_EINVAL;
    if (item >= FF_NUM_ITEMS || dir > 7) return FF_ERANGE;
    uint8_t e = ff_item_entity(item);
    if (e == FF_ENT_BELT && (dir & 1)) return FF_ERANGE; /* belts face N/E/S/W only */
    if (!e || !wd->inv[item] || wd->n_bld >= FF_WORLD_MAX_BUILDINGS) return FF_ESTATE;
    int32_t fp = ff_entity_table[e].footprint;
    if (!ff_footprint_free(wd, tx, ty, fp, 1)) return FF_ESTATE;
    int32_t cx = tx * 256 + fp * 128, cy = ty * 256 + fp * 128;
    if (ff_entity_table[e].blocks_character) {
        int32_t lim = FF_CHAR_HALF_5 + ff_half5(e);
        if (ff_abs32(wd->px * 5 - cx * 5) < lim && ff_abs32(wd->py * 5 - cy * 5) < lim)
            return FF_ESTATE;
    }
    int64_t dx = (int64_t)(cx - wd->px) * 5, dy = (int64_t)(cy - wd->py) * 5;
    if (dx * dx + dy * dy > (int64_t)FF_BUILD_DISTANCE_5 * FF_BUILD_DISTANCE_5) return FF_ESTATE;
    if (e == FF_ENT_BURNER_DRILL) {
        int any = 0;
        for (int32_t y = ty; y < ty + 2; y++)
            for (int32_t x = tx; x < tx + 2; x++) any |= wd->resg[y * wd->w + x] != 0;
        if (!any) return FF_ESTATE;
    }
    if (wd->n_ground) {
        /* building over items on the ground collects them: all must fit, after the item
         * placed leaves the inventory (it frees its slot first: UNCERTAIN) */
        uint16_t saved[FF_WORLD_ITEMS];
        memcpy(saved, wd->inv, sizeof saved);
        wd->inv[item]--;
        for (int32_t k = 0; k < wd->n_ground; k++) {
            const ff_ground_t *g = &wd->ground[k];
            if (g->tx < tx || g->tx >= tx + fp || g->ty < ty || g->ty >= ty + fp) continue;
            if (ff_world_insert_item(wd, g->item, g->count) != g->count) {
                memcpy(wd->inv, saved, sizeof saved);
                return FF_ESTATE;
            }
        }
        for (int32_t k = wd->n_ground - 1; k >= 0; k--) {
            const ff_ground_t *g = &wd->ground[k];
            if (g->tx >= tx && g->tx < tx + fp && g->ty >= ty && g->ty < ty + fp) ff_remove_ground(wd, k);
        }
        wd->inv[item]++; /* taken below */
    }
    int32_t i = ff_add_building_unchecked(wd, e, tx, ty, dir);
    wd->inv[item]--;
    if (index) *index = i;
    return FF_OK;
}

static int ff_in_reach_of(const ff_world_t *wd, const ff_building_t *b) {
    int64_t dx = (int64_t)(b->cx - wd->px) * 5, dy = (int64_t)(b->cy - wd->py) * 5;
    return dx * dx + dy * dy <= (int64_t)FF_REACH_5 * FF_REACH_5;
}

int ff_world_insert(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t item, int32_t count,
                    int32_t *moved) {
    if (!wd || !moved) return FF_EINVAL;
    *moved = 0;
    if (item == 0 || item >= FF_NUM_ITEMS || count < 0) return FF_ERANGE;
    int32_t bi = ff_world_building_at(wd, tx, ty);
    if (bi < 0) return FF_ESTATE;
    ff_building_t *b = &wd->bld[bi];
    if (!ff_in_reach_of(wd, b)) return FF_ESTATE;
    uint16_t *slot = NULL;
    if (item == FF_ITEM_COAL && (b->type == FF_ENT_STONE_FURNACE || b->type == FF_ENT_BURNER_DRILL))
        slot = &b->fuel;
    else if (item == FF_ITEM_IRON_ORE && b->type == FF_ENT_STONE_FURNACE)
        slot = &b->src;
    if (!slot) return FF_ESTATE;
    int32_t k = FF_ENTITY_SLOT_MAX - *slot;
    if (k > count) k = count;
    if (k > wd->inv[item]) k = wd->inv[item];
    if (k <= 0) return FF_ESTATE;
    *slot = (uint16_t)(*slot + k);
    wd->inv[item] = (uint16_t)(wd->inv[item] - k);
    *moved = k;
    return FF_OK;
}

int ff_world_take(ff_world_t *wd, int32_t tx, int32_t ty, int32_t *moved) {
    if (!wd || !moved) return FF_EINVAL;
    *moved = 0;
    int32_t bi = ff_world_building_at(wd, tx, ty);
    if (bi < 0) return wd->n_ground ? ff_world_pick_ground(wd, tx, ty, 1, moved) : FF_ESTATE;
    ff_building_t *b = &wd->bld[bi];
    if (b->type != FF_ENT_STONE_FURNACE || !ff_in_reach_of(wd, b)) return FF_ESTATE;
    int32_t k = ff_world_insert_item(wd, FF_ITEM_IRON_PLATE, b->out);
    b->out = (uint16_t)(b->out - k);
    *moved = k;
    return k > 0 ? FF_OK : FF_ESTATE;
}

/* ---- cells ---- */

uint32_t ff_world_cell(const ff_world_t *wd, int32_t tx, int32_t ty) {
    if (!ff_in_map(wd, tx, ty)) return ff_cell_pack(FF_TILE_OUT_OF_MAP, 0, 0, 1);
    uint8_t c = wd->tile[ty * wd->w + tx];
    uint32_t t = c & FF_TILE_ID_MASK;
    uint32_t ri = wd->resg[ty * wd->w + tx];
    uint32_t amount = ri ? wd->res[ri - 1].amount : 0;
    uint32_t ent = ri ? wd->res[ri - 1].type : 0;
    if (c & FF_TILE_BUILDING) {
        int32_t bi = ff_world_building_at(wd, tx, ty);
        if (bi >= 0) ent = wd->bld[bi].type;
    }
    return ff_cell_pack(t, amount, ent, ff_tile_blocks[t]);
}

int ff_world_cells(const ff_world_t *wd, uint32_t *out, size_t n) {
    if (!wd || !out || n < (size_t)wd->w * (size_t)wd->h) return FF_EINVAL;
    for (int32_t y = 0; y < wd->h; y++)
        for (int32_t x = 0; x < wd->w; x++) out[y * wd->w + x] = ff_world_cell(wd, x, y);
    return FF_OK;
}
