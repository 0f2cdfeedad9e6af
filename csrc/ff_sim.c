/* ff_sim.c - batch of envs: scenario generation, action application, observations, rewards,
 * termination and autoreset. Mirrored line by line by factorio_fast/_reference_sim.py. */
#include "ff_sim.h"

#include <stdlib.h>
#include <string.h>

#include "ff_codec.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__SSE2__) && !defined(FF_NO_SIMD)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FF_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define FF_ALWAYS_INLINE static inline
#endif

static const ff_scenario_info_t ff_scenarios[FF_NUM_SCENARIOS] = {
    [FF_SCEN_MOVEMENT] = {"movement_micro", 32, 32, 64, 100, 1, {9, 0, 0}, 8, 24, 256, 0, 1000},
    [FF_SCEN_MINING] = {"mining_micro", 64, 64, 256, 300, 1, {34, 0, 0}, 10, 32, 1024, 10, 500},
    [FF_SCEN_BUILDING] = {"building_micro", 128, 128, 512, 500, 3, {FF_BA_COUNT, 9, 9}, 10, 64,
                          4096, 5, 200},
};

const ff_scenario_info_t *ff_scenario_info(int32_t scenario) {
    if (scenario < 0 || scenario >= FF_NUM_SCENARIOS) return NULL;
    return &ff_scenarios[scenario];
}

static inline void ff_put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void ff_put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline int32_t ff_abs32(int32_t a) { return a < 0 ? -a : a; }
static inline uint32_t ff_sat16(int32_t v) { return v < 0 ? 0 : v > 65535 ? 65535 : (uint32_t)v; }
static inline uint32_t ff_sat8(int32_t v) { return v < 0 ? 0 : v > 255 ? 255 : (uint32_t)v; }
static inline uint32_t ff_clamp_i8(int32_t v) { return (uint8_t)(int8_t)(v < -128 ? -128 : v > 127 ? 127 : v); }

/* A tile the character may start on / a target may be: walkable, no building, no resource. */
static int ff_free_tile(const ff_world_t *wd, int32_t tx, int32_t ty) {
    if (!ff_world_nonplain(wd, tx, ty)) return 1; /* plain grass, no resource (one bit row) */
    uint8_t c = wd->tile[ty * wd->w + tx];
    return !(c & FF_TILE_BUILDING) && !ff_tile_table[c & FF_TILE_ID_MASK].blocks_character &&
           !wd->resg[ty * wd->w + tx];
}

/* 64 random tries, then the first free tile in row-major order (always exists: obstacles are
 * capped well below the map area). */
static void ff_pick_free(ff_world_t *wd, uint64_t *rng, int32_t *tx, int32_t *ty) {
    for (int k = 0; k < 64; k++) {
        int32_t x = (int32_t)ff_rng_below(rng, (uint32_t)wd->w);
        int32_t y = (int32_t)ff_rng_below(rng, (uint32_t)wd->h);
        if (ff_free_tile(wd, x, y)) { *tx = x; *ty = y; return; }
    }
    for (int32_t y = 0; y < wd->h; y++)
        for (int32_t x = 0; x < wd->w; x++)
            if (ff_free_tile(wd, x, y)) { *tx = x; *ty = y; return; }
    *tx = 0;
    *ty = 0;
}

/* ---------------- movement_micro ---------------- */

/* The env keeps its world's map as bits (ff_env_t: mbits, cbits, chest), which serve the
 * observation and the walk: a step reads a few bit rows, mostly the ones the observation reads
 * anyway, instead of the world's tile grid and building table, and tests many tiles with one
 * AND. The bits are rebuilt whenever the world's map_version moves (ff_movement_generate builds
 * them alongside the map; an edit through the World API is caught by the version). */

#define FF_TILE_BLOCKS_TAB(id, name, blocks, speed) [id] = (blocks),
static const uint8_t ff_tile_blocks_tab[FF_NUM_TILES] = {FF_TILES(FF_TILE_BLOCKS_TAB)};
#undef FF_TILE_BLOCKS_TAB

/* The bits from a full scan of the world. grass_only (the bit walk applies) if the map is at
 * most 32x32, every tile that does not block is plain grass, and every building is a wooden
 * chest on a grass tile (so: no belt, no machine, and a building tile blocks by its box only). */
static void ff_movement_bits(ff_env_t *env) {
    const ff_world_t *wd = env->world;
    int grass_only = wd->w <= 32 && wd->h <= 32;
    for (int r = 0; r < 48; r++) env->mbits[r] = ~0ull;
    memset(env->cbits, 0, sizeof env->cbits);
    for (int32_t y = 0; y < wd->h && y < 32; y++) {
        uint64_t row = ~0ull;
        const uint8_t *t = wd->tile + y * wd->w;
        for (int32_t x = 0; x < wd->w && x < 32; x++) {
            uint8_t c = t[x];
            int building = (c & FF_TILE_BUILDING) != 0;
            int blocked = building || ff_tile_blocks_tab[c & FF_TILE_ID_MASK];
            if (!blocked) row &= ~(1ull << (x + 8));
            if (building) env->cbits[y + FF_CB_PAD] |= 1u << x;
            if ((!blocked || building) && (c & FF_TILE_ID_MASK) != FF_TILE_GRASS) grass_only = 0;
        }
        env->mbits[y + 8] = row;
    }
    env->n_chests = 0;
    env->chest_half5 = 0;
    for (int32_t i = 0; i < wd->n_bld; i++) {
        const ff_building_t *b = &wd->bld[i];
        if (b->type != FF_ENT_WOODEN_CHEST) grass_only = 0;
        env->chest[i][0] = (int16_t)b->cx;
        env->chest[i][1] = (int16_t)b->cy;
        env->chest_half5 = (int16_t)b->half5;
    }
    env->n_chests = wd->n_bld;
    env->grass_only = (uint8_t)grass_only;
    env->map_version = wd->map_version;
}

static inline void ff_movement_sync(ff_env_t *env) {
    if (env->map_version != env->world->map_version) ff_movement_bits(env);
}

/* ---- the walk on the bits: ff_walk_tick (ff_world.c) for a grass_only world ----
 * Every position the walk reaches is in the map (off-map tiles block), and the positions tested
 * from it lie at most 8 ticks of 38/256 (1.2 tiles) away, so every tile index lies in the
 * padding of mbits (8 tiles) and cbits (4 rows). */

/* Row r's chest tiles (-4 <= r < 36; none off the map) at mbits' bit positions (bit c + 8). */
static inline uint64_t ff_mv_crow(const ff_env_t *env, int32_t r) {
    return (uint64_t)env->cbits[r + FF_CB_PAD] << 8;
}

/* Bit mask of tile columns c0..c1 (-8 <= c0 <= c1 < 56, c1 - c0 < 63) at mbits' positions. */
static inline uint64_t ff_mv_cols(int32_t c0, int32_t c1) {
    return (((2ull << (c1 - c0)) - 1u) << (c0 + 8));
}

/* The first and last tile under the character's +-0.2 box at coordinate p (1/256 tile):
 * floor((5p -+ 256) / 1280) = floor((p -+ 51.2) / 256), which for an integer p is
 * floor((p - 52) / 256) and floor((p + 51) / 256) (p - 51.2 >= 256k iff p - 52 >= 256k, and
 * p + 51.2 >= 256k iff p + 51 >= 256k). Arithmetic shifts floor, as elsewhere. */
static inline int32_t ff_box_lo(int32_t p) { return (p - 52) >> 8; }
static inline int32_t ff_box_hi(int32_t p) { return (p + 51) >> 8; }

/* ff_tile_collides: the centre's tile is water or off the map (blocked, not a chest tile). */
static inline int ff_mv_tile_blocks(const ff_env_t *env, int32_t x, int32_t y) {
    int32_t tx = x >> 8, ty = y >> 8;
    return (int)(((env->mbits[ty + 8] & ~ff_mv_crow(env, ty)) >> (tx + 8)) & 1u);
}

/* The chest tiles under the character's +-0.2 box at (x, y) that hold a chest overlapping it,
 * as bits of a 2x2 window (bit 0: (x0, y0), 1: (x0+1, y0), 2: (x0, y0+1), 3: (x0+1, y0+1)).
 * ff_building_near + ff_blocking_building: a chest overlapping the box lies in a tile under it
 * (the box spans at most 2x2 tiles), and a grass_only map's buildings are 1x1 wooden chests
 * centred on their tiles (cx = tx * 256 + 128), all of half extent chest_half5. */
static inline uint32_t ff_mv_chests_hit(const ff_env_t *env, int32_t x, int32_t y, int32_t *x0_out,
                                        int32_t *y0_out) {
    int32_t x0 = ff_box_lo(x), x1 = ff_box_hi(x), y0 = ff_box_lo(y), y1 = ff_box_hi(y);
    *x0_out = x0;
    *y0_out = y0;
    /* the box is 0.4 tile wide: x1 <= x0 + 1, y1 <= y0 + 1; the candidates without branches */
    uint64_t cols = ff_mv_cols(x0, x1), second = 0u - (uint64_t)(y1 > y0);
    uint64_t a = ff_mv_crow(env, y0) & cols, b = ff_mv_crow(env, y0 + 1) & cols & second;
    if (!(a | b)) return 0;
    uint32_t cand = (uint32_t)((a >> (x0 + 8)) & 3u) | (uint32_t)((b >> (x0 + 8)) & 3u) << 2;
    int32_t lim = FF_CHAR_HALF_5 + env->chest_half5, x5 = x * 5, y5 = y * 5;
    uint32_t hit = 0;
    for (int j = 0; j < 4; j++)
        if ((cand >> j) & 1u) {
            int32_t cx = (x0 + (j & 1)) * 256 + 128, cy = (y0 + (j >> 1)) * 256 + 128;
            if (ff_abs32(x5 - cx * 5) < lim && ff_abs32(y5 - cy * 5) < lim) hit |= 1u << j;
        }
    return hit;
}

/* ff_blocking_building: the first chest in index order whose box overlaps the character's box at
 * (x, y), as its centre; 0 if none. With one overlapping chest (the usual case) that is it;
 * with more, the chest list (index order) decides. */
static inline int ff_mv_first_chest(const ff_env_t *env, int32_t x, int32_t y, int32_t *cx, int32_t *cy) {
    int32_t x0, y0;
    uint32_t hit = ff_mv_chests_hit(env, x, y, &x0, &y0);
    if (!hit) return 0;
    if (!(hit & (hit - 1))) {
        int j = hit == 1 ? 0 : hit == 2 ? 1 : hit == 4 ? 2 : 3;
        *cx = (x0 + (j & 1)) * 256 + 128;
        *cy = (y0 + (j >> 1)) * 256 + 128;
        return 1;
    }
    int32_t lim = FF_CHAR_HALF_5 + env->chest_half5;
    for (int32_t i = 0; i < env->n_chests; i++)
        if (ff_abs32(x * 5 - env->chest[i][0] * 5) < lim && ff_abs32(y * 5 - env->chest[i][1] * 5) < lim) {
            *cx = env->chest[i][0];
            *cy = env->chest[i][1];
            return 1;
        }
    return 0; /* unreachable: hit lists overlapping chests */
}

static inline int ff_mv_try(const ff_env_t *env, int32_t *px, int32_t *py, int32_t nx, int32_t ny) {
    int32_t x0, y0;
    if (ff_mv_tile_blocks(env, nx, ny) || ff_mv_chests_hit(env, nx, ny, &x0, &y0)) return 0;
    *px = nx;
    *py = ny;
    return 1;
}

/* ff_slide, on the bits. */
static int ff_mv_slide(const ff_env_t *env, int32_t *px, int32_t *py, int32_t vx, int32_t vy) {
    int32_t nx = *px + vx, ny = *py + vy;
    if (ff_mv_tile_blocks(env, nx, ny)) return 0;
    int32_t bcx, bcy;
    if (!ff_mv_first_chest(env, nx, ny, &bcx, &bcy)) return 0;
    int along_x = vx != 0;
    int32_t step = ff_corner_slide_step((along_x ? *py : *px) * 5, (along_x ? bcy : bcx) * 5,
                                        env->chest_half5, ff_abs32(vx) + ff_abs32(vy));
    if (!step) return 0;
    return along_x ? ff_mv_try(env, px, py, *px, *py + step) : ff_mv_try(env, px, py, *px + step, *py);
}

/* One tick of ff_walk_tick from a centre on plain grass, at the grass vector (vx, vy). */
static void ff_mv_walk_tick(const ff_env_t *env, int32_t *px, int32_t *py, int32_t vx, int32_t vy) {
    for (;;) {
        if (ff_mv_try(env, px, py, *px + vx, *py + vy)) return;            /* 1. full move */
        if (vx == 0 || vy == 0) {
            if (ff_mv_slide(env, px, py, vx, vy)) return;                    /* 2. corner slide */
        } else {
            if (ff_mv_try(env, px, py, *px + vx, *py)) return;               /* 3. axis fallback */
            if (ff_mv_try(env, px, py, *px, *py + vy)) return;
        }
        if (vx * vx + vy * vy > 655) { /* 4. halve */
            vx /= 2;
            vy /= 2;
            continue;
        }
        break;
    }
    if (vx == 0 || vy == 0) { /* 5. short movement */
        int32_t sx = (vx > 0) - (vx < 0), sy = (vy > 0) - (vy < 0);
        for (int32_t k = 8; k >= 1; k--)
            if (ff_mv_try(env, px, py, *px + sx * k, *py + sy * k)) return;
    }
}

/* Ticks the walk tests at once: with (x, y) in the map (every position the walk reaches is:
 * off-map tiles block) and at most 8 ticks of at most 38/256, the centres of P_1..P_k span at
 * most 266/256 tile and their boxes 369/256, so at most 3 rows and columns, all inside the
 * padding of mbits and cbits. */
#define FF_MV_CHUNK 8

/* ff_walk_clear on the bits: 1 if the centre tiles of P_1..P_k (P_j = P + j*v, k <= 8) are
 * neither blocked nor building tiles, and no tile under their swept +-0.2 boxes is a building
 * tile. Then, from a centre on plain grass, every centre tile is plain grass (grass_only): the
 * speed stays, no centre-point tile collision, no belt under the centre; and no chest box is
 * near (a chest overlapping a box lies in a tile under it): each of the k ticks is the full
 * move. The proof of ff_walk_clear; water and the map edge block by the centre point only, so
 * walking beside them along a tile edge is clear too. Three rows are read either way and the
 * ones past the span masked off: no branch on the span. */
static inline int ff_mv_clear(const ff_env_t *env, int32_t x, int32_t y, int32_t vx, int32_t vy, int32_t k) {
    int32_t ax = x + vx, bx = x + k * vx, ay = y + vy, by = y + k * vy;
    int32_t x_lo = ax < bx ? ax : bx, x_hi = ax < bx ? bx : ax;
    int32_t y_lo = ay < by ? ay : by, y_hi = ay < by ? by : ay;
    int32_t cy0 = y_lo >> 8, cy1 = y_hi >> 8, by0 = ff_box_lo(y_lo), by1 = ff_box_hi(y_hi);
    uint64_t centre = ff_mv_cols(x_lo >> 8, x_hi >> 8);
    uint64_t box = ff_mv_cols(ff_box_lo(x_lo), ff_box_hi(x_hi));
    const uint64_t *m = env->mbits + 8;
    uint64_t c1 = 0u - (uint64_t)(cy1 > cy0), c2 = 0u - (uint64_t)(cy1 > cy0 + 1);
    uint64_t b1 = 0u - (uint64_t)(by1 > by0), b2 = 0u - (uint64_t)(by1 > by0 + 1);
    uint64_t hit = (m[cy0] | (m[cy0 + 1] & c1) | (m[cy0 + 2] & c2)) & centre;
    hit |= (ff_mv_crow(env, by0) | (ff_mv_crow(env, by0 + 1) & b1) | (ff_mv_crow(env, by0 + 2) & b2)) & box;
    return hit == 0;
}

/* A diagonal walk sliding along water or the map edge (ff_walk_slide on the bits): 1 if each of
 * the k ticks is ff_walk_tick's rule 3 taking the same axis move, *ax / *ay the move. Per tick
 * j = 1..k from P_{j-1} on plain grass (same vector v):
 *   x slide, P_j = P_{j-1} + (vx, 0): the full move's centre tile (x + j*vx, y + vy) is water or
 *   off the map (rule 1 fails), and P_j is clear as in ff_mv_clear (the x try succeeds);
 *   y slide, P_j = P_{j-1} + (0, vy): the x try's centre tile (x + vx, y + (j-1)*vy) and the full
 *   move's (x + vx, y + j*vy) are water or off the map (both fail), and P_j is clear. */
static inline int ff_mv_slide_run(const ff_env_t *env, int32_t x, int32_t y, int32_t vx, int32_t vy,
                                  int32_t k, int32_t *ax, int32_t *ay) {
    int32_t r = (y + vy) >> 8, c0 = (x + vx) >> 8, c1 = (x + k * vx) >> 8;
    if (c0 > c1) { int32_t t = c0; c0 = c1; c1 = t; }
    uint64_t need = ff_mv_cols(c0, c1);
    if (((env->mbits[r + 8] & ~ff_mv_crow(env, r)) & need) == need && ff_mv_clear(env, x, y, vx, 0, k)) {
        *ax = vx;
        *ay = 0;
        return 1;
    }
    int32_t c = (x + vx) >> 8, r0 = y >> 8, r1 = (y + k * vy) >> 8;
    if (r0 > r1) { int32_t t = r0; r0 = r1; r1 = t; }
    uint64_t bit = 1ull << (c + 8);
    for (int32_t q = r0; q <= r1; q++)
        if (!((env->mbits[q + 8] & ~ff_mv_crow(env, q)) & bit)) return 0;
    if (!ff_mv_clear(env, x, y, 0, vy, k)) return 0;
    *ax = 0;
    *ay = vy;
    return 1;
}

/* movement_micro's m ticks on the bits: exactly ff_world_run's result (walking or standing, no
 * mining, machines or crafting, a grass_only map, the centre on plain grass). Clear stretches
 * of up to 8 ticks and wall slides at once, the other stretches tick by tick; a tick that leaves
 * the character where it was repeats forever (the walk is a function of the position, the
 * direction and the static map). Returns 1 if it advanced the m ticks, 0 to leave them to
 * ff_world_run. */
FF_ALWAYS_INLINE int ff_movement_walk(ff_env_t *env, ff_world_t *wd, int32_t m) {
    if (!env->grass_only || wd->mining || wd->n_machines || wd->cq_len) return 0;
    int32_t x = wd->px, y = wd->py, tx = x >> 8, ty = y >> 8;
    if ((uint32_t)tx >= 32u || (uint32_t)ty >= 32u || ((env->mbits[ty + 8] >> (tx + 8)) & 1u)) return 0;
    wd->tick += (uint64_t)m;
    int32_t d = wd->walk_dir;
    if (d < 0) return 1; /* standing, off any building: nothing happens */
    int32_t s = (d & 1) ? ff_walk_diagonal[FF_TILE_GRASS] : ff_walk_straight[FF_TILE_GRASS];
    int32_t vx = ff_dir_dx[d] * s, vy = ff_dir_dy[d] * s;
    int32_t left = m;
    while (left > 0) {
        int32_t k = left < FF_MV_CHUNK ? left : FF_MV_CHUNK, ax, ay;
        if (ff_mv_clear(env, x, y, vx, vy, k)) {
            x += k * vx;
            y += k * vy;
        } else if ((d & 1) && ff_mv_slide_run(env, x, y, vx, vy, k, &ax, &ay)) {
            x += k * ax;
            y += k * ay;
        } else {
            /* something is near: these k ticks one by one (cheaper than testing stretches
             * again after each) */
            for (int32_t j = 0; j < k; j++) {
                int32_t ox = x, oy = y;
                ff_mv_walk_tick(env, &x, &y, vx, vy);
                if (x == ox && y == oy) goto done; /* stuck: so it stays */
            }
        }
        left -= k;
    }
done:
    wd->px = x;
    wd->py = y;
    return 1;
}

static inline int32_t ff_movement_dist(const ff_env_t *env) {
    const ff_world_t *wd = env->world;
    return ff_abs32(env->target_tx * 256 + 128 - wd->px) + ff_abs32(env->target_ty * 256 + 128 - wd->py);
}

static void ff_movement_generate(ff_sim_t *sim, ff_env_t *env) {
    ff_world_t *wd = env->world;
    uint64_t *rng = &env->rng;
    ff_world_clear(wd, FF_TILE_GRASS);
    /* The bits (as ff_movement_bits computes them) built alongside: the map is all grass but
     * the obstacles, each a water tile or a 1x1 wooden chest, both blocked. */
    const int32_t w = wd->w, h = wd->h; /* locals: the stores below may alias *wd */
    const uint64_t open_row = ~(((1ull << w) - 1) << 8);
    for (int r = 0; r < 48; r++) env->mbits[r] = r >= 8 && r < h + 8 ? open_row : ~0ull;
    memset(env->cbits, 0, sizeof env->cbits);
    env->n_chests = 0;
    env->chest_half5 = 0;
    /* ff_free_tile on the bits: the world holds grass, and water and chests where mbits say
     * (no resources), so a tile is free iff its bit is 0 */
#define FF_MV_FREE(x, y) (!((env->mbits[(y) + 8] >> ((x) + 8)) & 1u))
    for (int32_t i = 0; i < sim->info.obstacles; i++) {
        int32_t x = (int32_t)ff_rng_below(rng, 32), y = (int32_t)ff_rng_below(rng, 32);
        uint32_t kind = ff_rng_below(rng, 2);
        if (!FF_MV_FREE(x, y)) continue;
        int32_t bi = -1;
        int rc = kind == 0 ? ff_world_set_tile(wd, x, y, FF_TILE_WATER)
                           : ff_world_add_building(wd, FF_ENT_WOODEN_CHEST, x, y, 0, &bi);
        if (rc != FF_OK) continue;
        env->mbits[y + 8] |= 1ull << (x + 8);
        if (bi >= 0) {
            env->cbits[y + FF_CB_PAD] |= 1u << x;
            env->chest[bi][0] = (int16_t)wd->bld[bi].cx;
            env->chest[bi][1] = (int16_t)wd->bld[bi].cy;
            env->chest_half5 = (int16_t)wd->bld[bi].half5;
            env->n_chests = (uint8_t)(bi + 1);
        }
    }
    env->grass_only = 1;
    env->map_version = wd->map_version;
#undef FF_MV_FREE
    int32_t cx, cy, gx = 0, gy = 0;
    ff_pick_free(wd, rng, &cx, &cy);
    wd->px = cx * 256 + 128;
    wd->py = cy * 256 + 128;
    int found = 0;
    for (int k = 0; k < 64 && !found; k++) {
        int32_t x = (int32_t)ff_rng_below(rng, 32), y = (int32_t)ff_rng_below(rng, 32);
        if (ff_free_tile(wd, x, y) && ff_abs32(x - cx) + ff_abs32(y - cy) >= 8) {
            gx = x; gy = y; found = 1;
        }
    }
    if (!found) { /* fallback: the farthest free tile in row-major order */
        int32_t best = -1;
        for (int32_t y = 0; y < 32; y++)
            for (int32_t x = 0; x < 32; x++) {
                int32_t d = ff_abs32(x - cx) + ff_abs32(y - cy);
                if (ff_free_tile(wd, x, y) && d > best) { best = d; gx = x; gy = y; }
            }
    }
    env->target_tx = gx;
    env->target_ty = gy;
    env->prev_dist = ff_movement_dist(env);
#ifdef FF_CHECK_MBITS /* the incremental bits == the full scan (csrc/tests build) */
    ff_env_t inc;
    memcpy(&inc, env, sizeof inc);
    ff_movement_bits(env);
    if (memcmp(inc.mbits, env->mbits, sizeof inc.mbits) || memcmp(inc.cbits, env->cbits, sizeof inc.cbits) ||
        inc.n_chests != env->n_chests || inc.chest_half5 != env->chest_half5 ||
        memcmp(inc.chest, env->chest, sizeof inc.chest[0] * inc.n_chests) || !env->grass_only ||
        inc.map_version != env->map_version)
        abort();
#endif
}

/* The 16 observation rows: bits tx .. tx+15 of mbits rows ty .. ty+15, as 16-bit words. SSE2
 * (every x86-64): two rows a register, shifted together, the low 16 bits of each packed. */
static inline void ff_movement_rows(const uint64_t *m, int32_t tx, uint8_t *o) {
#if defined(__SSE2__) && !defined(FF_NO_SIMD)
    __m128i sh = _mm_cvtsi32_si128(tx), d[4];
    for (int g = 0; g < 4; g++) {
        __m128i a = _mm_srl_epi64(_mm_loadu_si128((const __m128i *)(m + 4 * g)), sh);
        __m128i b = _mm_srl_epi64(_mm_loadu_si128((const __m128i *)(m + 4 * g + 2)), sh);
        a = _mm_shuffle_epi32(a, _MM_SHUFFLE(3, 1, 2, 0)); /* low dwords of the 2 rows first */
        b = _mm_shuffle_epi32(b, _MM_SHUFFLE(3, 1, 2, 0));
        /* 4 rows' low dwords, their low 16 bits sign-extended so the saturating pack keeps them */
        d[g] = _mm_srai_epi32(_mm_slli_epi32(_mm_unpacklo_epi64(a, b), 16), 16);
    }
    _mm_storeu_si128((__m128i *)o, _mm_packs_epi32(d[0], d[1]));
    _mm_storeu_si128((__m128i *)(o + 16), _mm_packs_epi32(d[2], d[3]));
#else
    uint16_t rows[16];
    for (int r = 0; r < 16; r++) rows[r] = (uint16_t)(m[r] >> tx);
    memcpy(o, rows, 32); /* little-endian host (ff_common.h) */
#endif
}

FF_ALWAYS_INLINE void ff_movement_observe(ff_env_t *env, uint8_t *o) {
    ff_movement_sync(env);
    const ff_world_t *wd = env->world;
    int32_t tx = wd->px >> 8, ty = wd->py >> 8;
    if ((uint32_t)tx < 48u && (uint32_t)ty <= 32u) { /* all 16 rows inside mbits (always) */
        ff_movement_rows(env->mbits + ty, tx, o);
    } else { /* the character off the map (ff_world_set_position): bit by bit */
        uint16_t rows[16];
        for (int r = 0; r < 16; r++) {
            int32_t row = ty + r;
            uint32_t bits = 0;
            for (int c = 0; c < 16; c++) {
                int32_t col = tx + c;
                uint32_t bit = 1u; /* beyond the padding is off the map too: blocked */
                if (row >= 0 && row < 48 && col >= 0 && col < 64) bit = (uint32_t)(env->mbits[row] >> col) & 1u;
                bits |= bit << c;
            }
            rows[r] = (uint16_t)bits;
        }
        memcpy(o, rows, 32); /* little-endian host (ff_common.h) */
    }
    /* bytes 32..47 as two little-endian words: px, py, target dx, dy; last action, 0, step */
    uint64_t lo = (uint64_t)ff_sat16(wd->px) | (uint64_t)ff_sat16(wd->py) << 16 |
                  (uint64_t)(uint16_t)(env->target_tx * 256 + 128 - wd->px) << 32 |
                  (uint64_t)(uint16_t)(env->target_ty * 256 + 128 - wd->py) << 48;
    uint64_t hi = (uint64_t)env->last_action | (uint64_t)(env->step & 0xFFFFu) << 16;
    memcpy(o + 32, &lo, 8);
    memcpy(o + 40, &hi, 8);
    memset(o + 48, 0, 16);
}

FF_ALWAYS_INLINE float ff_movement_step(ff_sim_t *sim, ff_env_t *env, const int64_t *a, uint8_t *term) {
    ff_world_t *wd = env->world;
    int32_t code = (int32_t)a[0];
    ff_movement_sync(env);
    wd->walk_dir = (int8_t)(code - 1);
    wd->mining = 0;
    if (!ff_movement_walk(env, wd, sim->info.ticks_per_step))
        ff_world_run(wd, sim->info.ticks_per_step);
    int32_t d = ff_movement_dist(env);
    float r = (float)(env->prev_dist - d) / 2560.0f;
    env->prev_dist = d;
    if ((wd->px >> 8) == env->target_tx && (wd->py >> 8) == env->target_ty) {
        *term = 1;
        r = r + 1.0f;
    }
    return r;
}

/* ---------------- mining_micro ---------------- */

static void ff_mining_coarse(ff_env_t *env) {
    const ff_world_t *wd = env->world;
    uint64_t m = 0;
    for (int32_t i = 0; i < wd->n_res; i++) {
        const ff_resource_t *r = &wd->res[i];
        if (r->type) m |= 1ull << ((r->ty >> 3) * 8 + (r->tx >> 3));
    }
    env->coarse = m;
    env->seen_removed = wd->removed_total;
}

static void ff_mining_generate(ff_sim_t *sim, ff_env_t *env) {
    ff_world_t *wd = env->world;
    uint64_t *rng = &env->rng;
    ff_world_clear(wd, FF_TILE_GRASS);
    int32_t patches = 1 + (int32_t)ff_rng_below(rng, 3);
    for (int32_t p = 0; p < patches; p++) {
        int32_t cx = 4 + (int32_t)ff_rng_below(rng, 56), cy = 4 + (int32_t)ff_rng_below(rng, 56);
        int32_t rad = 1 + (int32_t)ff_rng_below(rng, 3);
        for (int32_t y = cy - rad; y <= cy + rad; y++)
            for (int32_t x = cx - rad; x <= cx + rad; x++) {
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > rad * rad + 1) continue;
                uint16_t amount = (uint16_t)(100 + ff_rng_below(rng, 400));
                ff_world_add_resource(wd, x, y, FF_ENT_IRON_ORE, amount);
            }
    }
    for (int32_t i = 0; i < sim->info.obstacles; i++) {
        int32_t x = (int32_t)ff_rng_below(rng, 64), y = (int32_t)ff_rng_below(rng, 64);
        if (ff_free_tile(wd, x, y)) ff_world_set_tile(wd, x, y, FF_TILE_WATER);
    }
    int32_t cx, cy;
    ff_pick_free(wd, rng, &cx, &cy);
    wd->px = cx * 256 + 128;
    wd->py = cy * 256 + 128;
    ff_mining_coarse(env);
}

/* The side x side cells around the character, row-major, little-endian: ff_world_cell of each
 * tile, read straight from the grids. Only tiles under a building go through ff_world_cell
 * (which finds the building); a tile with neither a building nor a resource is
 * ff_cell_pack(tile, 0, 0, blocks), one with a resource ff_cell_pack(tile, amount, type,
 * blocks): the same three cases ff_world_cell distinguishes. */
#define FF_CELL_OF_TILE(id, name, blocks, speed) \
    [id] = ((uint32_t)(id) << FF_CELL_TILE_SHIFT) | ((blocks) ? 1u : 0u),
static const uint32_t ff_cell_of_tile[FF_NUM_TILES] = {FF_TILES(FF_CELL_OF_TILE)};
#undef FF_CELL_OF_TILE

static inline void ff_cell_put(const ff_world_t *wd, uint8_t t, uint8_t ri, int32_t x, int32_t y,
                               uint8_t *o) {
    uint32_t cell = ff_cell_of_tile[t & FF_TILE_ID_MASK];
    if (FF_UNLIKELY((t & FF_TILE_BUILDING) | ri)) {
        if (t & FF_TILE_BUILDING) {
            cell = ff_world_cell(wd, x, y);
        } else {
            const ff_resource_t *res = &wd->res[ri - 1];
            uint32_t a = res->amount > FF_CELL_AMOUNT_MAX ? FF_CELL_AMOUNT_MAX : res->amount;
            cell |= (a << FF_CELL_AMOUNT_SHIFT) | ((uint32_t)res->type << FF_CELL_ENTITY_SHIFT);
        }
    }
    memcpy(o, &cell, 4); /* little-endian host (ff_common.h) */
}

#if defined(__GNUC__) || defined(__clang__)
#define FF_WINDOW_INLINE static inline __attribute__((always_inline))
#else
#define FF_WINDOW_INLINE static inline
#endif

static inline int ff_ctz32(uint32_t v) { /* v != 0 */
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(v);
#else
    int n = 0;
    while (!(v & 1u)) { v >>= 1; n++; }
    return n;
#endif
}

/* Inlined with a constant side (7, 9): each row is first filled with the grass cell in a few
 * wide stores, then the out-of-map columns (map edge) and the non-plain tiles (nonplain bits,
 * 16 bytes a row) are overwritten; a 0 bit is a tile byte FF_TILE_GRASS with resg 0, whose
 * cell ff_cell_put makes the grass cell, so only the other tiles read the grids. */
FF_WINDOW_INLINE void ff_cells_window(const ff_world_t *wd, int32_t side, uint8_t *o) {
    int32_t half = side / 2, x0 = (wd->px >> 8) - half, y0 = (wd->py >> 8) - half;
    const uint32_t oom = ff_cell_pack(FF_TILE_OUT_OF_MAP, 0, 0, 1);
    const uint32_t g = ff_cell_of_tile[FF_TILE_GRASS];
    /* columns c in [c_lo, c_hi) are inside the map */
    int32_t c_lo = x0 < 0 ? -x0 : 0, c_hi = wd->w - x0 < side ? wd->w - x0 : side;
    if (c_hi < c_lo) c_hi = c_lo;
    for (int32_t r = 0; r < side; r++, o += 4 * side) {
        int32_t y = y0 + r;
        if ((uint32_t)y >= (uint32_t)wd->h || c_hi == c_lo) {
            for (int32_t c = 0; c < side; c++) memcpy(o + 4 * c, &oom, 4);
            continue;
        }
        for (int32_t c = 0; c < side; c++) memcpy(o + 4 * c, &g, 4);
        for (int32_t c = 0; c < c_lo; c++) memcpy(o + 4 * c, &oom, 4);
        for (int32_t c = c_hi; c < side; c++) memcpy(o + 4 * c, &oom, 4);
        uint32_t np = ff_world_nonplain_bits(wd, y, x0 + c_lo, c_hi - c_lo);
        if (!np) continue;
        const uint8_t *trow = wd->tile + y * wd->w + x0, *rrow = wd->resg + y * wd->w + x0;
        do {
            int32_t c = c_lo + ff_ctz32(np);
            np &= np - 1u;
            ff_cell_put(wd, trow[c], rrow[c], x0 + c, y, o + 4 * c);
        } while (np);
    }
}

static void ff_mining_observe(ff_env_t *env, uint8_t *o) {
    const ff_world_t *wd = env->world;
    if (env->seen_removed != wd->removed_total) ff_mining_coarse(env);
    ff_cells_window(wd, 7, o);
    ff_put16(o + 196, ff_sat16(wd->px));
    ff_put16(o + 198, ff_sat16(wd->py));
    ff_put16(o + 200, wd->inv[FF_ITEM_IRON_ORE]);
    ff_put16(o + 202, wd->mine_progress);
    ff_put16(o + 204, env->step);
    o[206] = env->last_action;
    o[207] = 0;
    for (int k = 0; k < 8; k++) o[208 + k] = (uint8_t)(env->coarse >> (8 * k));
    memset(o + 216, 0, 40);
}

static float ff_mining_step(ff_sim_t *sim, ff_env_t *env, const int64_t *a, uint8_t *term) {
    ff_world_t *wd = env->world;
    int32_t code = (int32_t)a[0];
    uint32_t before = wd->mined_total;
    if (code <= 8) {
        wd->walk_dir = (int8_t)(code - 1);
        ff_world_set_mining(wd, 0, 0, 0);
    } else {
        int32_t k = code - 9;
        wd->walk_dir = -1;
        ff_world_set_mining(wd, 1, (wd->px >> 8) + k % 5 - 2, (wd->py >> 8) + k / 5 - 2);
    }
    ff_world_run(wd, sim->info.ticks_per_step);
    uint32_t got = wd->mined_total - before;
    if (wd->mined_total - env->base_mined >= (uint32_t)sim->goal) *term = 1;
    return (float)got;
}

/* ---------------- building_micro ---------------- */

static void ff_building_coarse(ff_env_t *env) {
    const ff_world_t *wd = env->world;
    memset(env->coarse4, 0, sizeof env->coarse4);
    for (int32_t i = 0; i < wd->n_res; i++) {
        const ff_resource_t *r = &wd->res[i];
        if (!r->type) continue;
        uint32_t bit = r->type == FF_ENT_IRON_ORE ? 1u : r->type == FF_ENT_COAL ? 2u
                     : r->type == FF_ENT_STONE ? 4u : 8u;
        int32_t blk = (r->ty >> 4) * 8 + (r->tx >> 4);
        env->coarse4[blk >> 1] |= (uint8_t)(bit << (4 * (blk & 1)));
    }
    env->seen_removed = wd->removed_total;
}

static void ff_patch(ff_world_t *wd, uint64_t *rng, int32_t cx, int32_t cy, int32_t rad,
                     uint8_t entity, uint32_t base, uint32_t spread) {
    for (int32_t y = cy - rad; y <= cy + rad; y++)
        for (int32_t x = cx - rad; x <= cx + rad; x++) {
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > rad * rad + 1) continue;
            uint16_t amount = (uint16_t)(base + ff_rng_below(rng, spread));
            if (x >= 0 && y >= 0 && x < wd->w && y < wd->h && !wd->resg[y * wd->w + x])
                ff_world_add_resource(wd, x, y, entity, amount);
        }
}

static void ff_building_generate(ff_sim_t *sim, ff_env_t *env) {
    ff_world_t *wd = env->world;
    uint64_t *rng = &env->rng;
    ff_world_clear(wd, FF_TILE_GRASS);
    int32_t cx = 48 + (int32_t)ff_rng_below(rng, 32), cy = 48 + (int32_t)ff_rng_below(rng, 32);
    /* iron 4..10 tiles away on x, coal and stone patches elsewhere near the start */
    /* One RNG draw per statement: the operands of `*` are unsequenced in C, so two draws in one
     * expression would make the world depend on the compiler (and break the Python oracle). */
    int32_t sign = ff_rng_below(rng, 2) ? 1 : -1;
    int32_t ix = cx + sign * (4 + (int32_t)ff_rng_below(rng, 7));
    int32_t iy = cy + (int32_t)ff_rng_below(rng, 13) - 6;
    ff_patch(wd, rng, ix, iy, 2 + (int32_t)ff_rng_below(rng, 2), FF_ENT_IRON_ORE, 200, 300);
    int32_t kx = cx + (int32_t)ff_rng_below(rng, 25) - 12;
    sign = ff_rng_below(rng, 2) ? 1 : -1;
    int32_t ky = cy + sign * (5 + (int32_t)ff_rng_below(rng, 6));
    ff_patch(wd, rng, kx, ky, 1 + (int32_t)ff_rng_below(rng, 2), FF_ENT_COAL, 100, 200);
    int32_t sx = cx + (int32_t)ff_rng_below(rng, 25) - 12;
    sign = ff_rng_below(rng, 2) ? 1 : -1;
    int32_t sy = cy + sign * (5 + (int32_t)ff_rng_below(rng, 6));
    ff_patch(wd, rng, sx, sy, 1 + (int32_t)ff_rng_below(rng, 2), FF_ENT_STONE, 100, 200);
    for (int32_t i = 0; i < sim->info.obstacles; i++) {
        int32_t x = (int32_t)ff_rng_below(rng, 128), y = (int32_t)ff_rng_below(rng, 128);
        if (ff_abs32(x - cx) <= 2 && ff_abs32(y - cy) <= 2) continue;
        if (ff_free_tile(wd, x, y)) ff_world_set_tile(wd, x, y, FF_TILE_WATER);
    }
    if (!ff_free_tile(wd, cx, cy)) { /* the start sits on a patch: move to a free tile */
        ff_pick_free(wd, rng, &cx, &cy);
    }
    wd->px = cx * 256 + 128;
    wd->py = cy * 256 + 128;
    wd->inv[FF_ITEM_IRON_PLATE] = 12;
    wd->inv[FF_ITEM_STONE] = 10;
    wd->inv[FF_ITEM_COAL] = 8;
    ff_building_coarse(env);
}

static void ff_building_observe(ff_env_t *env, uint8_t *o) {
    const ff_world_t *wd = env->world;
    if (env->seen_removed != wd->removed_total) ff_building_coarse(env);
    ff_cells_window(wd, 9, o);
    memcpy(o + 324, wd->inv, 32); /* 16 uint16, little-endian host (ff_common.h) */
    ff_put16(o + 356, ff_sat16(wd->px));
    ff_put16(o + 358, ff_sat16(wd->py));
    o[360] = wd->cq_len ? (uint8_t)(wd->cq_recipe[wd->cq_head] + 1) : 0;
    o[361] = wd->cq_len;
    ff_put16(o + 362, wd->craft_progress);
    ff_put16(o + 364, env->step);
    o[366] = env->last_action;
    o[367] = env->milestones;
    ff_put16(o + 368, ff_sat16((int32_t)(wd->smelted_total - env->base_smelted)));
    ff_put16(o + 370, wd->mine_progress);
    int32_t tx = wd->px >> 8, ty = wd->py >> 8;
    for (int k = 0; k < 8; k++) {
        uint8_t *p = o + 372 + 8 * k;
        if (k >= wd->n_bld) { memset(p, 0, 8); continue; }
        const ff_building_t *b = &wd->bld[k];
        p[0] = b->type;
        p[1] = (uint8_t)ff_clamp_i8(b->tx - tx);
        p[2] = (uint8_t)ff_clamp_i8(b->ty - ty);
        p[3] = (uint8_t)ff_sat8(b->fuel);
        p[4] = (uint8_t)ff_sat8(b->src);
        p[5] = (uint8_t)ff_sat8(b->out);
        p[6] = (uint8_t)ff_sat8(b->progress);
        p[7] = (uint8_t)((b->energy > 0 ? 1 : 0) | (b->type == FF_ENT_BURNER_DRILL && b->src ? 2 : 0));
    }
    memcpy(o + 436, env->coarse4, 32);
    memset(o + 468, 0, 44);
}

static float ff_building_step(ff_sim_t *sim, ff_env_t *env, const int64_t *a, uint8_t *term) {
    ff_world_t *wd = env->world;
    int32_t code = (int32_t)a[0];
    int32_t tx = (wd->px >> 8) + (int32_t)a[1] - 4, ty = (wd->py >> 8) + (int32_t)a[2] - 4;
    uint32_t crafted0 = wd->crafted_total, smelted0 = wd->smelted_total;
    float r = 0.0f;
    int32_t n = 0, idx = -1;
    if (code <= 8) {
        wd->walk_dir = (int8_t)(code - 1);
        ff_world_set_mining(wd, 0, 0, 0);
    } else {
        wd->walk_dir = -1;
        if (code == FF_BA_MINE) ff_world_set_mining(wd, 1, tx, ty);
        else ff_world_set_mining(wd, 0, 0, 0);
        switch (code) {
        case FF_BA_CRAFT_GEAR: ff_world_craft(wd, FF_RECIPE_GEAR, 1, &n); break;
        case FF_BA_CRAFT_FURNACE: ff_world_craft(wd, FF_RECIPE_STONE_FURNACE, 1, &n); break;
        case FF_BA_CRAFT_DRILL: ff_world_craft(wd, FF_RECIPE_BURNER_DRILL, 1, &n); break;
        case FF_BA_CRAFT_BELT: ff_world_craft(wd, FF_RECIPE_BELT, 1, &n); break;
        case FF_BA_PLACE_DRILL:
            if (ff_world_place(wd, FF_ITEM_BURNER_DRILL, tx, ty, 0, &idx) == FF_OK &&
                !(env->milestones & 1)) {
                int onore = 0;
                for (int32_t y = ty; y < ty + 2; y++)
                    for (int32_t x = tx; x < tx + 2; x++) {
                        int32_t ri = wd->resg[y * wd->w + x];
                        onore |= ri && wd->res[ri - 1].type == FF_ENT_IRON_ORE;
                    }
                if (onore) { env->milestones |= 1; r += 1.0f; }
            }
            break;
        case FF_BA_PLACE_FURNACE: ff_world_place(wd, FF_ITEM_STONE_FURNACE, tx, ty, 0, &idx); break;
        case FF_BA_PLACE_BELT: ff_world_place(wd, FF_ITEM_BELT, tx, ty, 0, &idx); break;
        case FF_BA_INSERT_COAL: ff_world_insert(wd, tx, ty, FF_ITEM_COAL, 5, &n); break;
        case FF_BA_INSERT_ORE: ff_world_insert(wd, tx, ty, FF_ITEM_IRON_ORE, 5, &n); break;
        case FF_BA_TAKE_PLATES: ff_world_take(wd, tx, ty, &n); break;
        default: break;
        }
    }
    uint32_t fed0 = wd->fed_total;
    ff_world_run(wd, sim->info.ticks_per_step);
    if (wd->fed_total != fed0 && !(env->milestones & 2)) {
        env->milestones |= 2;
        r += 1.0f;
    }
    r += (float)(wd->crafted_total - crafted0) * 0.1f;
    r += (float)(wd->smelted_total - smelted0);
    if (wd->smelted_total - env->base_smelted >= (uint32_t)sim->goal) *term = 1;
    return r;
}

/* ---------------- batch ---------------- */

static void ff_env_generate(ff_sim_t *sim, ff_env_t *env) {
    switch (sim->scenario) {
    case FF_SCEN_MOVEMENT: ff_movement_generate(sim, env); break;
    case FF_SCEN_MINING: ff_mining_generate(sim, env); break;
    default: ff_building_generate(sim, env); break;
    }
    env->step = 0;
    env->needs_reset = 0;
    env->last_action = 0;
    env->milestones = 0;
    env->base_mined = env->world->mined_total;
    env->base_smelted = env->world->smelted_total;
    env->base_crafted = env->world->crafted_total;
}

static void ff_env_observe(ff_sim_t *sim, ff_env_t *env, uint8_t *o) {
    switch (sim->scenario) {
    case FF_SCEN_MOVEMENT: ff_movement_observe(env, o); break;
    case FF_SCEN_MINING: ff_mining_observe(env, o); break;
    default: ff_building_observe(env, o); break;
    }
}

/* The worlds' block. From 2 MiB up it is 2 MiB-aligned and, on Linux, marked for transparent
 * huge pages: a step touches a few lines of each of thousands of worlds kilobytes apart, so
 * with 4 KiB pages nearly every world costs a TLB miss (a page walk, slower still in a VM). */
#define FF_HUGE_PAGE ((size_t)2 << 20)
static uint8_t *ff_alloc_worlds(size_t bytes) {
    if (bytes < FF_HUGE_PAGE) return (uint8_t *)aligned_alloc(64, (bytes + 63u) & ~(size_t)63u);
    size_t rounded = (bytes + FF_HUGE_PAGE - 1) & ~(FF_HUGE_PAGE - 1);
    uint8_t *p = (uint8_t *)aligned_alloc(FF_HUGE_PAGE, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p) (void)madvise(p, rounded, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
    return p;
}

int ff_sim_create(int32_t scenario, size_t num_envs, const ff_sim_params_t *params, ff_sim_t **out) {
    int rc = FF_OK;
    ff_sim_t *sim = NULL;
    const ff_scenario_info_t *info = ff_scenario_info(scenario);
    if (!out || !info || num_envs == 0 || num_envs > ((size_t)1 << 24)) { rc = FF_EINVAL; goto fail; }
    *out = NULL;
    sim = (ff_sim_t *)calloc(1, sizeof *sim);
    if (!sim) { rc = FF_ENOMEM; goto fail; }
    sim->scenario = scenario;
    sim->info = *info;
    sim->goal = info->goal;
    if (params) {
        if (params->ticks_per_step >= 0) {
            if (params->ticks_per_step < 1 || params->ticks_per_step > 600) { rc = FF_EINVAL; goto fail; }
            sim->info.ticks_per_step = params->ticks_per_step;
        }
        if (params->obstacles >= 0) {
            if (params->obstacles > info->max_obstacles) { rc = FF_EINVAL; goto fail; }
            sim->info.obstacles = params->obstacles;
        }
        if (params->goal >= 0) {
            if (params->goal < 1 || params->goal > 1000) { rc = FF_EINVAL; goto fail; }
            sim->goal = params->goal;
            sim->info.goal = params->goal;
        }
    }
    sim->num_envs = num_envs;
    sim->world_bytes = (ff_world_bytes(info->map_w, info->map_h) + 63u) & ~(size_t)63u;
    sim->envs = (ff_env_t *)aligned_alloc(64, ((num_envs * sizeof(ff_env_t)) + 63u) & ~(size_t)63u);
    sim->worlds = ff_alloc_worlds(num_envs * sim->world_bytes);
    if (!sim->envs || !sim->worlds) { rc = FF_ENOMEM; goto fail; }
    memset(sim->envs, 0, num_envs * sizeof(ff_env_t));
    for (size_t i = 0; i < num_envs; i++) {
        ff_env_t *env = &sim->envs[i];
        env->world = (ff_world_t *)(sim->worlds + i * sim->world_bytes);
        ff_world_init(env->world, info->map_w, info->map_h, FF_TILE_GRASS);
        env->rng = (uint64_t)i;
        ff_env_generate(sim, env);
    }
    *out = sim;
    return FF_OK;
fail:
    ff_sim_destroy(sim);
    return rc;
}

void ff_sim_destroy(ff_sim_t *sim) {
    if (!sim) return;
    free(sim->envs);
    free(sim->worlds);
    free(sim);
}

int ff_sim_reset(ff_sim_t *sim, const uint64_t *seeds, const int64_t *env_ids, size_t n, uint8_t *obs) {
    if (!sim || (!seeds && n) || !obs) return FF_EINVAL;
    if (!env_ids && n != sim->num_envs) return FF_EINVAL;
    if (env_ids)
        for (size_t k = 0; k < n; k++)
            if (env_ids[k] < 0 || (uint64_t)env_ids[k] >= sim->num_envs) return FF_EINVAL;
    size_t ob = (size_t)sim->info.obs_bytes;
    for (size_t k = 0; k < n; k++) {
        size_t i = env_ids ? (size_t)env_ids[k] : k;
        ff_env_t *env = &sim->envs[i];
        env->rng = seeds[k];
        ff_env_generate(sim, env);
        ff_env_observe(sim, env, obs + i * ob);
    }
    return FF_OK;
}

int ff_sim_check_actions(const ff_sim_t *sim, const int64_t *actions, size_t *bad_env,
                         int32_t *bad_dim, int64_t *bad_value) {
    if (!sim || !actions) return FF_EINVAL;
    int32_t dims = sim->info.action_dims;
    for (size_t i = 0; i < sim->num_envs; i++)
        for (int32_t d = 0; d < dims; d++) {
            int64_t v = actions[i * (size_t)dims + (size_t)d];
            if (FF_UNLIKELY(v < 0 || v >= sim->info.nvec[d])) {
                if (bad_env) *bad_env = i;
                if (bad_dim) *bad_dim = d;
                if (bad_value) *bad_value = v;
                return FF_ERANGE;
            }
        }
    return FF_OK;
}

#if defined(__GNUC__) || defined(__clang__)
#define FF_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 3)
/* Forced inline into each scenario's step loop (ff_step_batch): the scenario is then a constant
 * there, and the prefetch helpers are inlined before GCC's pure/const analysis (otherwise,
 * compiled without -fwrapv, their loops provably finite, ff_prefetch_rows counts as a const
 * function whose calls are dead and are deleted with their prefetches). */
#define FF_PF_INLINE static inline __attribute__((always_inline))
#else
#define FF_PREFETCH(p) ((void)(p))
#define FF_PF_INLINE static inline
#endif

FF_PF_INLINE float ff_env_step(ff_sim_t *sim, int32_t scen, ff_env_t *env, const int64_t *a, uint8_t *term) {
    env->last_action = (uint8_t)a[0];
    env->step++;
    switch (scen) {
    case FF_SCEN_MOVEMENT: return ff_movement_step(sim, env, a, term);
    case FF_SCEN_MINING: return ff_mining_step(sim, env, a, term);
    default: return ff_building_step(sim, env, a, term);
    }
}

/* Software prefetch. A batch of thousands of envs is memory-bound and their worlds lie
 * kilobytes apart, which the hardware prefetcher cannot follow. Two stages: the world's first
 * cache line (and for building_micro the inventory / building lines) FF_PF_FAR envs ahead;
 * then, reading the position that has arrived by then, the grid rows (and movement's bit rows)
 * that the step of the env FF_PF_NEAR ahead will read. Hints only: results are unaffected. */
#ifndef FF_PF_FAR /* tunable at build time; measured with tools/bench_sim_c.c */
#define FF_PF_FAR 8
#endif
#ifndef FF_PF_NEAR
#define FF_PF_NEAR 4
#endif
#ifndef FF_PF_GRID
#define FF_PF_GRID 2
#endif

FF_PF_INLINE void ff_prefetch_head(const ff_sim_t *sim, int32_t scen, size_t i) {
    const uint8_t *w = sim->worlds + i * sim->world_bytes; /* no dependent load */
    FF_PREFETCH(w);
    FF_PREFETCH(&sim->envs[i]); /* its first line: the fields every step reads */
    if (scen == FF_SCEN_BUILDING) FF_PREFETCH(w + 64);
}

FF_PF_INLINE void ff_prefetch_rows(const ff_sim_t *sim, int32_t scen, size_t i) {
    const ff_env_t *env = &sim->envs[i];
    const ff_world_t *wd = (const ff_world_t *)(sim->worlds + i * sim->world_bytes);
    int32_t tx = wd->px >> 8, ty = wd->py >> 8, w = wd->w;
    if (scen == FF_SCEN_MOVEMENT) {
        /* the observation's bit rows ty..ty+15 (the walk's are among them), in bounds; the
         * world's grids are not read (ff_movement_walk) */
        if ((uint32_t)ty < 32u) {
            FF_PREFETCH(&env->mbits[ty]);
            FF_PREFETCH(&env->mbits[ty + 8]);
            FF_PREFETCH(&env->mbits[ty + 15]);
            FF_PREFETCH(&env->cbits[ty + FF_CB_PAD]); /* read by the walk's clear test */
        }
        return;
    }
    int32_t half = scen == FF_SCEN_MINING ? 3 : 4;
    int32_t x0 = tx - half < 0 ? 0 : tx - half, x1 = tx + half >= w ? w - 1 : tx + half;
    int32_t y0 = ty - half < 0 ? 0 : ty - half, y1 = ty + half >= wd->h ? wd->h - 1 : ty + half;
    if (x0 > x1 || y0 > y1) return;
    /* the window's rows of nonplain bits (the grids are read only at non-plain tiles) */
    uintptr_t a = (uintptr_t)&wd->nonplain[y0][0], b = (uintptr_t)&wd->nonplain[y1][1];
    for (a &= ~(uintptr_t)63; a <= b; a += 64) FF_PREFETCH(a);
    if (scen == FF_SCEN_BUILDING && wd->cq_len) FF_PREFETCH(&wd->cq_count[FF_WORLD_CRAFT_QUEUE - 1]);
    if (scen == FF_SCEN_BUILDING && wd->n_bld) {
        FF_PREFETCH(&wd->bld[0]);
        if (wd->n_bld > 1) FF_PREFETCH(&wd->bld[wd->n_bld > 8 ? 7 : wd->n_bld - 1]);
    }
}

/* Third stage (mining, building), FF_PF_GRID envs ahead: with the window's nonplain rows in
 * cache by then, the grid lines of its non-plain tiles (the first and last of each row; the
 * window is at most 9 bytes wide) and, if there are any, the resource table's lines. */
FF_PF_INLINE void ff_prefetch_grid(const ff_sim_t *sim, int32_t scen, size_t i) {
#if defined(__GNUC__) || defined(__clang__)
    const ff_world_t *wd = (const ff_world_t *)(sim->worlds + i * sim->world_bytes);
    int32_t half = scen == FF_SCEN_MINING ? 3 : 4;
    int32_t tx = wd->px >> 8, ty = wd->py >> 8, w = wd->w;
    int32_t x0 = tx - half < 0 ? 0 : tx - half, x1 = tx + half >= w ? w - 1 : tx + half;
    int32_t y0 = ty - half < 0 ? 0 : ty - half, y1 = ty + half >= wd->h ? wd->h - 1 : ty + half;
    if (x0 > x1 || y0 > y1) return;
    uint32_t any = 0;
    for (int32_t y = y0; y <= y1; y++) {
        uint32_t bits = ff_world_nonplain_bits(wd, y, x0, x1 - x0 + 1);
        if (!bits) continue;
        any |= bits;
        int32_t a = x0 + __builtin_ctz(bits), b = x0 + 31 - __builtin_clz(bits);
        FF_PREFETCH(wd->tile + y * w + a);
        FF_PREFETCH(wd->tile + y * w + b);
        FF_PREFETCH(wd->resg + y * w + a);
        FF_PREFETCH(wd->resg + y * w + b);
    }
#ifdef FF_PF_RES
    if (any && wd->n_res) {
        uintptr_t a = (uintptr_t)&wd->res[0], b = (uintptr_t)&wd->res[wd->n_res - 1];
        for (a &= ~(uintptr_t)63; a <= b; a += 64) FF_PREFETCH(a);
    }
#else
    (void)any;
#endif
#else
    (void)sim;
    (void)scen;
    (void)i;
#endif
}

/* One scenario's batch loop; inlined with a constant scen, so each scenario gets its own loop
 * with its step, observation and prefetches inlined and no per-env dispatch. */
FF_PF_INLINE void ff_step_batch(ff_sim_t *sim, const int32_t scen, const int64_t *actions, uint8_t *obs,
                                float *rewards, uint8_t *terminated, uint8_t *truncated, int32_t autoreset,
                                uint8_t *final_obs, uint8_t *final_mask) {
    size_t ob = (size_t)sim->info.obs_bytes, dims = (size_t)sim->info.action_dims;
    uint32_t limit = (uint32_t)sim->info.episode_steps;
    size_t n = sim->num_envs;
    for (size_t i = 0; i < n; i++) {
        ff_env_t *env = &sim->envs[i];
        uint8_t *o = obs + i * ob;
        if (i + FF_PF_FAR < n) ff_prefetch_head(sim, scen, i + FF_PF_FAR);
        if (i + FF_PF_NEAR < n) ff_prefetch_rows(sim, scen, i + FF_PF_NEAR);
        if (scen != FF_SCEN_MOVEMENT && i + FF_PF_GRID < n) ff_prefetch_grid(sim, scen, i + FF_PF_GRID);
        if (FF_UNLIKELY(env->needs_reset)) {
            ff_env_generate(sim, env);
            ff_env_observe(sim, env, o);
            rewards[i] = 0.0f;
            terminated[i] = 0;
            truncated[i] = 0;
            if (final_mask) final_mask[i] = 0;
            continue;
        }
        uint8_t term = 0;
        rewards[i] = ff_env_step(sim, scen, env, actions + i * dims, &term);
        uint8_t trunc = (uint8_t)(!term && env->step >= limit);
        terminated[i] = term;
        truncated[i] = trunc;
        if (autoreset == FF_AUTORESET_SAME_STEP) {
            if (term | trunc) {
                ff_env_observe(sim, env, final_obs + i * ob);
                final_mask[i] = 1;
                ff_env_generate(sim, env);
            } else {
                final_mask[i] = 0;
            }
        } else {
            env->needs_reset = term | trunc;
        }
        switch (scen) { /* inlined here: the hot path */
        case FF_SCEN_MOVEMENT: ff_movement_observe(env, o); break;
        case FF_SCEN_MINING: ff_mining_observe(env, o); break;
        default: ff_building_observe(env, o); break;
        }
    }
}

int ff_sim_step(ff_sim_t *sim, const int64_t *actions, uint8_t *obs, float *rewards,
                uint8_t *terminated, uint8_t *truncated, int32_t autoreset, uint8_t *final_obs,
                uint8_t *final_mask, size_t *bad_env, int32_t *bad_dim, int64_t *bad_value) {
    if (!sim || !actions || !obs || !rewards || !terminated || !truncated) return FF_EINVAL;
    if (autoreset != FF_AUTORESET_NEXT_STEP && autoreset != FF_AUTORESET_SAME_STEP) return FF_EINVAL;
    if (autoreset == FF_AUTORESET_SAME_STEP && (!final_obs || !final_mask)) return FF_EINVAL;
    int rc = ff_sim_check_actions(sim, actions, bad_env, bad_dim, bad_value);
    if (rc != FF_OK) return rc;
    switch (sim->scenario) {
    case FF_SCEN_MOVEMENT:
        ff_step_batch(sim, FF_SCEN_MOVEMENT, actions, obs, rewards, terminated, truncated, autoreset,
                      final_obs, final_mask);
        break;
    case FF_SCEN_MINING:
        ff_step_batch(sim, FF_SCEN_MINING, actions, obs, rewards, terminated, truncated, autoreset,
                      final_obs, final_mask);
        break;
    default:
        ff_step_batch(sim, FF_SCEN_BUILDING, actions, obs, rewards, terminated, truncated, autoreset,
                      final_obs, final_mask);
        break;
    }
    return FF_OK;
}

int ff_sim_positions(const ff_sim_t *sim, int32_t *out) {
    if (!sim || !out) return FF_EINVAL;
    for (size_t i = 0; i < sim->num_envs; i++) {
        out[2 * i] = sim->envs[i].world->px;
        out[2 * i + 1] = sim->envs[i].world->py;
    }
    return FF_OK;
}

int ff_sim_ticks(const ff_sim_t *sim, uint64_t *out) {
    if (!sim || !out) return FF_EINVAL;
    for (size_t i = 0; i < sim->num_envs; i++) out[i] = sim->envs[i].world->tick;
    return FF_OK;
}

int ff_sim_inventories(const ff_sim_t *sim, uint16_t *out, size_t n_items) {
    if (!sim || !out || n_items > FF_WORLD_ITEMS) return FF_EINVAL;
    for (size_t i = 0; i < sim->num_envs; i++)
        memcpy(out + i * n_items, sim->envs[i].world->inv, n_items * sizeof(uint16_t));
    return FF_OK;
}

ff_world_t *ff_sim_world(ff_sim_t *sim, size_t i) {
    if (!sim || i >= sim->num_envs) return NULL;
    return sim->envs[i].world;
}

int ff_sim_observe(ff_sim_t *sim, size_t i, uint8_t *out) {
    if (!sim || !out || i >= sim->num_envs) return FF_EINVAL;
    ff_env_observe(sim, &sim->envs[i], out);
    return FF_OK;
}
