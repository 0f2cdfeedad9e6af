/*
 * ff_mv_walk.h - movement_micro's map as bits and the walk on them: ff_world_run's result for a
 * grass_only world (grass, water, wooden chests; no machines, mining or crafting), at a few bit
 * operations a tick instead of the world's grids and building table. Held equal to
 * ff_world_run by csrc/tests/test_world_run.c (test_movement_step_matches_ticks) and, through
 * the observations, to factorio_fast/_reference_sim.py by tests/test_sim_reference.py.
 * Static inline: part of the one translation unit csrc/ff_sim.c.
 */
#ifndef FF_MV_WALK_H
#define FF_MV_WALK_H

#include <string.h>

#include "ff_util.h"
#include "sim/ff_sim_env.h"

/* The env keeps its world's map as bits (ff_env_t: mbits, cbits, chest), which serve the
 * observation and the walk: a step reads a few bit rows, mostly the ones the observation reads
 * anyway, instead of the world's tile grid and building table, and tests many tiles with one
 * AND. The bits are rebuilt whenever the world's map_version moves (ff_movement_generate builds
 * them alongside the map; an edit through the World API is caught by the version). */

/* The bits from a full scan of the world. grass_only (the bit walk applies) if the map is at
 * most 32x32, every tile the character may stand on is plain grass (a water tile of class FREE
 * is not), and every building is a wooden chest on a grass tile (so: no belt, no machine, and
 * a building tile blocks by its box only). */
static void ff_movement_bits(ff_env_t *env) {
    const ff_world_t *wd = env->world;
    int grass_only = wd->w <= 32 && wd->h <= 32;
    for (int r = 0; r < 48; r++) env->mbits[r] = ~0ull;
    memset(env->cbits, 0, sizeof env->cbits);
    memset(env->tbits, 0, sizeof env->tbits);
    for (int32_t y = 0; y < wd->h && y < 32; y++) {
        uint64_t row = ~0ull;
        const uint8_t *t = wd->tile + y * wd->w;
        for (int32_t x = 0; x < wd->w && x < 32; x++) {
            uint8_t c = t[x];
            int building = (c & FF_TILE_BUILDING) != 0;
            int cls = ff_world_tile_class(wd, x, y);
            int blocked = building || cls != FF_TCLS_FREE;
            if (!blocked) row &= ~(1ull << (x + 8));
            if (building) env->cbits[y + FF_CB_PAD] |= 1u << x;
            else if (cls >= FF_TCLS_NE) env->tbits[y + FF_CB_PAD] |= 1u << x;
            /* the walk may start in a triangle tile's free part at grass speed (ff_movement_walk) */
            if (!building && cls >= FF_TCLS_NE &&
                (ff_walk_straight[c & FF_TILE_ID_MASK] != ff_walk_straight[FF_TILE_GRASS] ||
                 ff_walk_diagonal[c & FF_TILE_ID_MASK] != ff_walk_diagonal[FF_TILE_GRASS]))
                grass_only = 0;
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

/* ff_movement_bits' mbits and tbits rows for a map of grass, water and 1x1 chests on grass,
 * from its water rows wl (48 rows as mbits: row y+8, bit x+8; 1 off the map, which counts as
 * water) and cbits, bit-parallel: ff_water_class on 64 tiles at once (n4 >= 3 of 4: FULL;
 * else two adjacent with the diagonal between them: a triangle). */
static void ff_movement_classify(ff_env_t *env, const uint64_t *wl, int32_t w, int32_t h) {
    const uint64_t in_cols = ((1ull << w) - 1) << 8;
    for (int r = 0; r < 48; r++) env->mbits[r] = ~0ull;
    memset(env->tbits, 0, sizeof env->tbits);
    for (int32_t y = 0; y < h; y++) {
        uint64_t W = wl[y + 8], N = wl[y + 7], S = wl[y + 9];
        uint64_t E = W >> 1, Wn = W << 1; /* bit x+8: the tile east / west of x is water */
        uint64_t full = (N & E & S) | (N & E & Wn) | (N & S & Wn) | (E & S & Wn);
        uint64_t tri = ~full & ((N & E & (N >> 1)) | (E & S & (S >> 1)) | (S & Wn & (S << 1)) |
                                (Wn & N & (N << 1)));
        uint64_t wat = W & in_cols;
        env->mbits[y + 8] = ~in_cols | (wat & (full | tri)) | ((uint64_t)env->cbits[y + FF_CB_PAD] << 8);
        env->tbits[y + FF_CB_PAD] = (uint32_t)((wat & tri) >> 8);
    }
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

/* Row r's triangle tiles at mbits' bit positions. */
static inline uint64_t ff_mv_trow(const ff_env_t *env, int32_t r) {
    return (uint64_t)env->tbits[r + FF_CB_PAD] << 8;
}

/* Row r's tiles that count as water for transitions (bit c + 8): blocked but not chests. In a
 * grass_only map a water neighbour of a triangle tile, and the water diagonal of its corner,
 * are themselves FULL or triangles (each has two adjacent water neighbours, the triangle tile
 * and the other one, with the water diagonal between them) and so blocked; its other two
 * neighbours are grass or chests. So these bits give a triangle tile's exact class. */
static inline uint64_t ff_mv_wrow(const ff_env_t *env, int32_t r) {
    return env->mbits[r + 8] & ~ff_mv_crow(env, r);
}

/* ff_tile_hit on the bits: the class of the tile under the centre (x, y) if it collides there,
 * else FREE. */
static inline int ff_mv_tile_hit(const ff_env_t *env, int32_t x, int32_t y) {
    int32_t tx = x >> 8, ty = y >> 8;
    uint64_t m = ff_mv_wrow(env, ty);
    if (!((m >> (tx + 8)) & 1u)) return FF_TCLS_FREE;
    if (!((ff_mv_trow(env, ty) >> (tx + 8)) & 1u)) return FF_TCLS_FULL;
    uint64_t n = ff_mv_wrow(env, ty - 1), s = ff_mv_wrow(env, ty + 1);
    int sh = tx + 8;
    uint32_t n4 = (uint32_t)((n >> sh) & 1u) | (uint32_t)((m >> (sh + 1)) & 1u) << 1 |
                  (uint32_t)((s >> sh) & 1u) << 2 | (uint32_t)((m >> (sh - 1)) & 1u) << 3;
    uint32_t d4 = (uint32_t)((n >> (sh + 1)) & 1u) | (uint32_t)((s >> (sh + 1)) & 1u) << 1 |
                  (uint32_t)((s >> (sh - 1)) & 1u) << 2 | (uint32_t)((n >> (sh - 1)) & 1u) << 3;
    int cls = ff_water_class(n4, d4);
    return ff_tcls_blocks(cls, x & 255, y & 255) ? cls : FF_TCLS_FREE;
}

/* ff_tile_collides on the bits. */
static inline int ff_mv_tile_blocks(const ff_env_t *env, int32_t x, int32_t y) {
    return ff_mv_tile_hit(env, x, y) != FF_TCLS_FREE;
}

/* Row r's whole-tile blockers (FULL water, off the map): a centre there always collides. */
static inline uint64_t ff_mv_frow(const ff_env_t *env, int32_t r) {
    return env->mbits[r + 8] & ~(ff_mv_crow(env, r) | ff_mv_trow(env, r));
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

/* ff_world_collides on the bits. */
static inline int ff_mv_collides(const ff_env_t *env, int32_t x, int32_t y) {
    int32_t x0, y0;
    return ff_mv_tile_blocks(env, x, y) || ff_mv_chests_hit(env, x, y, &x0, &y0);
}

/* ff_slide, on the bits: a chest first, else the tile slide. */
static int ff_mv_slide(const ff_env_t *env, int32_t *px, int32_t *py, int32_t vx, int32_t vy) {
    int32_t nx = *px + vx, ny = *py + vy;
    int32_t bcx, bcy, gx, gy, sx, sy;
    if (ff_mv_first_chest(env, nx, ny, &bcx, &bcy)) { /* ff_slide's building branch */
        int32_t c = vx != 0 ? bcy : bcx, k = ff_half256(env->chest_half5);
        if (!ff_box_slide_plan(c - k, c + k, *px, *py, vx, vy, &gx, &gy, &sx, &sy) ||
            ff_mv_collides(env, gx, gy))
            return 0;
        return ff_mv_try(env, px, py, *px + sx, *py + sy);
    }
    int cls = ff_mv_tile_hit(env, nx, ny), need_goal;
    if (!ff_tile_slide_plan(cls, *px, *py, vx, vy, &need_goal, &gx, &gy, &sx, &sy)) return 0;
    if (need_goal && ff_mv_collides(env, gx, gy)) return 0;
    return ff_mv_try(env, px, py, *px + sx, *py + sy);
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
 *   x slide, P_j = P_{j-1} + (vx, 0): the full move's centre tile (x + j*vx, y + vy) blocks as a
 *   whole (FULL water or off the map: ff_mv_frow; a triangle might not) so rule 1 fails, and P_j
 *   is clear as in ff_mv_clear (the x try succeeds);
 *   y slide, P_j = P_{j-1} + (0, vy): the x try's centre tile (x + vx, y + (j-1)*vy) and the full
 *   move's (x + vx, y + j*vy) block as a whole (both fail), and P_j is clear. */
static inline int ff_mv_slide_run(const ff_env_t *env, int32_t x, int32_t y, int32_t vx, int32_t vy,
                                  int32_t k, int32_t *ax, int32_t *ay) {
    int32_t r = (y + vy) >> 8, c0 = (x + vx) >> 8, c1 = (x + k * vx) >> 8;
    if (c0 > c1) { int32_t t = c0; c0 = c1; c1 = t; }
    uint64_t need = ff_mv_cols(c0, c1);
    if ((ff_mv_frow(env, r) & need) == need && ff_mv_clear(env, x, y, vx, 0, k)) {
        *ax = vx;
        *ay = 0;
        return 1;
    }
    int32_t c = (x + vx) >> 8, r0 = y >> 8, r1 = (y + k * vy) >> 8;
    if (r0 > r1) { int32_t t = r0; r0 = r1; r1 = t; }
    uint64_t bit = 1ull << (c + 8);
    for (int32_t q = r0; q <= r1; q++)
        if (!(ff_mv_frow(env, q) & bit)) return 0;
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
    /* The centre may be on grass or in the free part of a corner-triangle water tile (walking
     * round a pond's corner ends there often): water walks at grass speed (ff_movement_bits
     * checks it) and holds no belt, so every rule below reads the same. A whole-tile blocker or
     * a chest under the centre (only by a teleport) is left to ff_world_run. */
    if ((uint32_t)tx >= 32u || (uint32_t)ty >= 32u ||
        (((env->mbits[ty + 8] & ~ff_mv_trow(env, ty)) >> (tx + 8)) & 1u))
        return 0;
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

#endif /* FF_MV_WALK_H */
