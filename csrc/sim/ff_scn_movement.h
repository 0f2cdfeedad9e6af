/*
 * ff_scn_movement.h - movement_micro: generation, step (the walk on bits, sim/ff_mv_walk.h),
 * observation. Byte layout: docs/scenarios.md; oracle: factorio_fast/_reference_sim.py.
 * Static inline: part of the one translation unit csrc/ff_sim.c.
 */
#ifndef FF_SCN_MOVEMENT_H
#define FF_SCN_MOVEMENT_H

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(FF_NO_SIMD)
#include <emmintrin.h>
#endif

#include "sim/ff_mv_walk.h"
#include "sim/ff_scn_common.h"

static inline int32_t ff_movement_dist(const ff_env_t *env) {
    const ff_world_t *wd = env->world;
    return ff_abs32(env->target_tx * 256 + 128 - wd->px) + ff_abs32(env->target_ty * 256 + 128 - wd->py);
}

static void ff_movement_generate(ff_sim_t *sim, ff_env_t *env) {
    ff_world_t *wd = env->world;
    uint64_t *rng = &env->rng;
    ff_world_clear(wd, FF_TILE_GRASS);
    /* Obstacles that block whatever the finer points of the transition rule (ff_world.h): 3x3
     * ponds (every tile of a union of 3x3 squares is FULL or a corner triangle) and 1x1 wooden
     * chests. The bits (as ff_movement_bits computes them) built alongside: the water rows wl
     * (off the map counts as water) and cbits, then ff_movement_classify. */
    const int32_t w = wd->w, h = wd->h; /* locals: the stores below may alias *wd */
    const uint64_t open_row = ~(((1ull << w) - 1) << 8);
    uint64_t wl[48];
    for (int r = 0; r < 48; r++) wl[r] = r >= 8 && r < h + 8 ? open_row : ~0ull;
    memset(env->cbits, 0, sizeof env->cbits);
    env->n_chests = 0;
    env->chest_half5 = 0;
    for (int32_t i = 0; i < sim->info.obstacles; i++) {
        uint32_t kind = ff_rng_below(rng, 2);
        uint32_t span = kind == 0 ? 30u : 32u; /* a pond lies inside the 32x32 map */
        int32_t x = (int32_t)ff_rng_below(rng, span), y = (int32_t)ff_rng_below(rng, span);
        if (kind == 0) {
            uint32_t cols = 7u << x, any = 0;
            for (int32_t r = y; r < y + 3; r++) any |= env->cbits[r + FF_CB_PAD] & cols;
            if (any) continue; /* a chest in the way */
            /* ff_world_fill_tiles(wd, x, y, 3, 3, FF_TILE_WATER), written directly (a reset
             * makes up to 40 ponds): x, y < 30 lie in the 32 x 32 map, and a just-cleared
             * grass map with no chest under the pond has no building bit in these tiles, so
             * each tile byte becomes the water id, and the tiles' nonplain bits are set */
            for (int32_t r = y; r < y + 3; r++) {
                uint8_t *t = wd->tile + r * w + x;
                t[0] = t[1] = t[2] = FF_TILE_WATER;
                wd->nonplain[r][0] |= 7ull << x;
            }
            wd->map_version++;
            for (int32_t r = y; r < y + 3; r++) wl[r + 8] |= 7ull << (x + 8);
            continue;
        }
        if (((wl[y + 8] >> (x + 8)) & 1u) || ((env->cbits[y + FF_CB_PAD] >> x) & 1u)) continue;
        int32_t bi = -1;
        if (ff_world_add_building(wd, FF_ENT_WOODEN_CHEST, x, y, 0, &bi) != FF_OK) continue;
        env->cbits[y + FF_CB_PAD] |= 1u << x;
        env->chest[bi][0] = (int16_t)wd->bld[bi].cx;
        env->chest[bi][1] = (int16_t)wd->bld[bi].cy;
        env->chest_half5 = (int16_t)wd->bld[bi].half5;
        env->n_chests = (uint8_t)(bi + 1);
    }
    ff_movement_classify(env, wl, w, h);
    env->grass_only = 1;
    env->map_version = wd->map_version;
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
        memcmp(inc.tbits, env->tbits, sizeof inc.tbits) ||
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
    ff_obs_put_rows(o, rows);
#endif
}

/* The rows are read from the bit map the walk keeps (SSE2, straight into o); bytes 32..63 are the
 * shared encoder's (ff_obs_encode.h), as for the mod's records (ff_rawobs.c). */
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
        ff_obs_put_rows(o, rows);
    }
    const ff_obs_movement_t f = {wd->px, wd->py, env->target_tx, env->target_ty, env->step,
                                 env->last_action};
    ff_obs_movement(o, &f);
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

#endif /* FF_SCN_MOVEMENT_H */
