/*
 * ff_shaping.h - the shaped rewards of mining_micro and building_micro (docs/scenarios.md,
 * "Shaping"); readable specification: factorio_fast/_reference_shaping.py.
 *
 * Potential-based shaping (Ng, Harada and Russell 1999, "Policy invariance under reward
 * transformations"): each step adds (phi(s') - phi(s)) / scale to the task reward, where phi is a
 * function of the state only. Over an episode the added rewards sum to phi(last) - phi(first),
 * so no loop of states earns anything, and what shaping can add to an episode is bounded by the
 * range of phi, less than the task reward of finishing the job.
 *
 * phi is read from the observation bytes, not from the world: the simulator (csrc/ff_sim.c)
 * and the raw-state path of the Factorio mod (csrc/ff_rawobs.c) build byte-identical
 * observations, so both get identical rewards with one implementation. phi is an integer, and
 * the reward is one int -> float conversion and one division: exact and the same on every
 * compiler (no multiply-add to contract), and reproduced bit for bit by the Python reference.
 *
 * Header-only (static inline): included by csrc/ff_sim.c and csrc/ff_rawobs.c.
 */
#ifndef FF_SHAPING_H
#define FF_SHAPING_H

#include <stdint.h>
#include <string.h>

#include "ff_obs_encode.h" /* the observations' offsets */
#include "ff_util.h"

/* The reward of one unit of phi: 1/FF_SHAPE_*_SCALE. */
#define FF_SHAPE_MINING_SCALE 7680.0f    /* 32 units per mining tick, 3 per 1/256 tile */
#define FF_SHAPE_BUILDING_SCALE 25600.0f /* 256 units = 0.01; 5 per 1/256 tile */

/* ff_sim_params_t.reward / ff_raw_params_t.reward: 0 or less is the default (shaped). */
enum { FF_REWARD_DEFAULT = 0, FF_REWARD_SPARSE = 1, FF_REWARD_SHAPED = 2 };

#define FF_SHAPE_IRON_ORE 1  /* entity ids (ff_ids.h order): iron ore, stone furnace, drill */
#define FF_SHAPE_FURNACE 5
#define FF_SHAPE_DRILL 6
#define FF_SHAPE_BELT 7

static inline uint32_t ff_shape_rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline int32_t ff_shape_rd16(const uint8_t *p) { return (int32_t)p[0] | (int32_t)p[1] << 8; }

/* An iron-ore cell with ore left: entity nibble (bits 12..15) 1, amount (bits 16..27) not 0. */
#define FF_SHAPE_ORE_MASK 0xF000u
#define FF_SHAPE_ORE_BITS ((uint32_t)FF_SHAPE_IRON_ORE << 12)
#define FF_SHAPE_AMOUNT_MASK 0x0FFF0000u
static inline int ff_cell_is_ore_left(uint32_t c) {
    return (c & FF_SHAPE_ORE_MASK) == FF_SHAPE_ORE_BITS && (c & FF_SHAPE_AMOUNT_MASK);
}

#if defined(__SSE2__) && !defined(FF_NO_SIMD)
#include <emmintrin.h>
#define FF_SHAPE_SSE2 1
#endif


/* L1 distance (1/256 tile) from the character (px, py) to the centre of the nearest iron-ore tile
 * of the side x side cell window at o, or -1 if the window holds none. Most windows hold no ore
 * or a few cells of it, so the cells are tested four at a time (SSE2: 12 or 20 groups for the
 * 7 x 7 and 9 x 9 windows, then the last cell) and distances are computed for the matches only. */
static inline int32_t ff_shape_window_ore(const uint8_t *o, int32_t side, int32_t px, int32_t py) {
    int32_t x0 = (px >> 8) - side / 2, y0 = (py >> 8) - side / 2, best = -1, n = side * side, i = 0;
#ifdef FF_SHAPE_SSE2
    const __m128i tmask = _mm_set1_epi32((int)FF_SHAPE_ORE_MASK), tore = _mm_set1_epi32((int)FF_SHAPE_ORE_BITS);
    const __m128i amask = _mm_set1_epi32((int)FF_SHAPE_AMOUNT_MASK), zero = _mm_setzero_si128();
    for (; i + 4 <= n; i += 4) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(o + 4 * i));
        __m128i is_ore = _mm_cmpeq_epi32(_mm_and_si128(v, tmask), tore);
        __m128i empty = _mm_cmpeq_epi32(_mm_and_si128(v, amask), zero);
        uint32_t m = (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(_mm_andnot_si128(empty, is_ore)));
        for (; m; m &= m - 1) {
            int32_t j = i + ff_ctz32(m);
            int32_t d = ff_abs32((x0 + j % side) * 256 + 128 - px) +
                        ff_abs32((y0 + j / side) * 256 + 128 - py);
            if (best < 0 || d < best) best = d;
        }
    }
#endif
    for (; i < n; i++) {
        uint32_t c = ff_shape_rd32(o + 4 * i);
        if (!ff_cell_is_ore_left(c)) continue;
        int32_t d = ff_abs32((x0 + i % side) * 256 + 128 - px) +
                    ff_abs32((y0 + i / side) * 256 + 128 - py);
        if (best < 0 || d < best) best = d;
    }
    return best;
}

/* The approach term's distance: to the nearest ore tile in the window; else to the centre of the
 * nearest block of the coarse map holding iron ore (blocks of `blk` tiles, 8 x 8 of them; bit k
 * of `blocks`), but at least `floor` since the ore lies outside the window; 0 when no ore is
 * left. Less the 2 tiles within which any ore tile is in resource reach (2.7, §4.3). */
static inline int32_t ff_shape_gap(int32_t window_d, uint64_t blocks, int32_t blk, int32_t floor,
                                   int32_t px, int32_t py) {
    int32_t d = window_d;
    if (d < 0) {
        for (uint64_t b = blocks; b; b &= b - 1) { /* the set bits only */
            int32_t k = ff_ctz64(b);
            int32_t e = ff_abs32(((k & 7) * blk * 2 + blk) * 128 - px) +
                        ff_abs32(((k >> 3) * blk * 2 + blk) * 128 - py);
            if (d < 0 || e < d) d = e;
        }
        if (d < 0) return 0;
        if (d < floor) d = floor;
    }
    return d > 512 ? d - 512 : 0;
}

/* mining_micro (256-byte observation): progress of the ore being mined, approach to ore.
 *   phi = 32 * mining ticks (0..120: 0.5 at a full cycle)  -  3 * gap (0.1 per tile)
 * window_d: ff_shape_window_ore of o's cells, which the simulator has from writing them
 * (ff_cells_window); ff_shape_mining_phi computes it. */
static inline int32_t ff_shape_mining_phi_w(const uint8_t *o, int32_t window_d) {
    int32_t px = ff_shape_rd16(o + FF_OBS_MINING_TAIL), py = ff_shape_rd16(o + FF_OBS_MINING_TAIL + 2);
    uint64_t blocks = 0;
    if (window_d < 0) memcpy(&blocks, o + FF_OBS_MINING_TAIL + 12, 8); /* little-endian host */
    int32_t gap = ff_shape_gap(window_d, blocks, 8, 4 * 256, px, py);
    return 32 * ff_shape_rd16(o + FF_OBS_MINING_TAIL + 6) - 3 * gap;
}
static inline int32_t ff_shape_mining_phi(const uint8_t *o) {
    int32_t px = ff_shape_rd16(o + FF_OBS_MINING_TAIL), py = ff_shape_rd16(o + FF_OBS_MINING_TAIL + 2);
    return ff_shape_mining_phi_w(o, ff_shape_window_ore(o, FF_OBS_MINING_SIDE, px, py));
}

/* Bit 0 of each of the 16 nibbles of the 8 bytes at p (low nibble first), as bits 0..15: the
 * iron bits of 16 blocks of the nibble map. */
static inline uint64_t ff_shape_iron_bits(const uint8_t *p) {
    uint64_t x = 0;
    for (int j = 0; j < 8; j++) x |= (uint64_t)p[j] << (8 * j);
    x &= 0x1111111111111111ull;
    x = (x | (x >> 3)) & 0x0303030303030303ull;
    x = (x | (x >> 6)) & 0x000F000F000F000Full;
    x = (x | (x >> 12)) & 0x000000FF000000FFull;
    return (x | (x >> 24)) & 0xFFFFull;
}

/* building_micro (512-byte observation), in units of 0.01 (256 each):
 *   +50 a burner drill exists (in the inventory or placed)
 *   +30 a placed drill has fuel (or burns)
 *   +25 a drill exists and a stone furnace is in the inventory or placed (the drill's recipe
 *       eats the first furnace: the task needs a second one). Placed anywhere it keeps these
 *       25: counting the held one only made every placement off the spot a loss, and PPO
 *       stopped placing furnaces at all
 *   +50 - 10 per tile of L1 distance from a placed drill's drop tile (the tile above its
 *       top-left) to a placed stone furnace's 2 x 2 tiles, at least 0, the best pair: 50 when
 *       the furnace covers it. A furnace placed near the spot earns part, so random placements
 *       tell the dx, dy heads which way the spot is (exactly on it is 2 of their 81 targets)
 *   +30 a furnace covering a drop tile has fuel (or burns)
 *   -10 per transport belt held or placed (among the 8 slots) and per gear held beyond the
 *       drill's 3: each craft of them earns +0.1 of task reward, and a policy trained 4
 *       CPU-minutes spent every plate on them (no drill left to craft); this term takes the
 *       reward back while the items exist, so the waste earns nothing
 *   - 5 per 1/256 tile of gap (0.05 per tile): to iron ore (window 9 x 9, blocks of 16 tiles);
 *       once a drill was placed on ore (milestone bit 0) and a drill is placed, to the first
 *       drill's drop tile instead, where the furnace and the coal go
 * Buildings are the observation's first 8 slots (positions relative to the character). */
static inline int32_t ff_shape_building_phi_w(const uint8_t *o, int32_t window_d) {
    int32_t px = ff_shape_rd16(o + FF_OBS_BUILDING_TAIL), py = ff_shape_rd16(o + FF_OBS_BUILDING_TAIL + 2);
    int32_t drill = ff_shape_rd16(o + FF_OBS_BUILDING_INV + 2 * 8) > 0, drill_fuel = 0, near = 0, furnace_fuel = 0;
    int32_t placed = 0, held = ff_shape_rd16(o + FF_OBS_BUILDING_INV + 2 * 7) > 0, drop_x = 0, drop_y = 0;
    int32_t gears = ff_shape_rd16(o + FF_OBS_BUILDING_INV + 2 * 6);
    int32_t waste = ff_shape_rd16(o + FF_OBS_BUILDING_INV + 2 * 9) + (gears > 3 ? gears - 3 : 0);
    for (int k = 0; k < 8; k++) {
        const uint8_t *b = FF_OBS_BUILDING_SLOT(o, k);
        held |= b[0] == FF_SHAPE_FURNACE;
        waste += b[0] == FF_SHAPE_BELT;
        if (b[0] != FF_SHAPE_DRILL) continue;
        int32_t dx = (int8_t)b[1], dy = (int8_t)b[2] - 1; /* the drop tile */
        if (!placed) { drop_x = dx; drop_y = dy; }
        drill = placed = 1;
        if (b[3] || (b[7] & 1)) drill_fuel = 1;
        for (int j = 0; j < 8; j++) {
            const uint8_t *f = FF_OBS_BUILDING_SLOT(o, j);
            if (f[0] != FF_SHAPE_FURNACE) continue;
            int32_t fx = (int8_t)f[1], fy = (int8_t)f[2];
            int32_t ex = dx < fx ? fx - dx : dx > fx + 1 ? dx - fx - 1 : 0;
            int32_t ey = dy < fy ? fy - dy : dy > fy + 1 ? dy - fy - 1 : 0;
            if (50 - 10 * (ex + ey) > near) near = 50 - 10 * (ex + ey);
            if (ex + ey == 0 && (f[3] || (f[7] & 1))) furnace_fuel = 1;
        }
    }
    int32_t gap;
    if (placed && (o[FF_OBS_BUILDING_TAIL + 11] & 1)) { /* milestones byte (367) */
        int32_t d = ff_abs32(((px >> 8) + drop_x) * 256 + 128 - px) + ff_abs32(((py >> 8) + drop_y) * 256 + 128 - py);
        gap = d > 512 ? d - 512 : 0;
    } else {
        uint64_t blocks = 0;
        if (window_d < 0)
            for (int q = 0; q < 4; q++) /* the nibble map's iron bits, 16 blocks per 8 bytes */
                blocks |= ff_shape_iron_bits(o + FF_OBS_BUILDING_COARSE + 8 * q) << (16 * q);
        gap = ff_shape_gap(window_d, blocks, 16, 5 * 256, px, py);
    }
    return 256 * (50 * drill + 30 * drill_fuel + 25 * (drill & held) + near + 30 * furnace_fuel - 10 * waste) - 5 * gap;
}
static inline int32_t ff_shape_building_phi(const uint8_t *o) {
    int32_t px = ff_shape_rd16(o + FF_OBS_BUILDING_TAIL), py = ff_shape_rd16(o + FF_OBS_BUILDING_TAIL + 2);
    return ff_shape_building_phi_w(o, ff_shape_window_ore(o, FF_OBS_BUILDING_SIDE, px, py));
}

/* phi of scenario `scen`'s observation (ff_sim.h scenario ids: 1 mining, 2 building); 0 else. */
static inline int32_t ff_shape_phi(int32_t scen, const uint8_t *o) {
    return scen == 1 ? ff_shape_mining_phi(o) : scen == 2 ? ff_shape_building_phi(o) : 0;
}
/* The same, given the window's ore distance (ff_shape_window_ore of o). */
static inline int32_t ff_shape_phi_w(int32_t scen, const uint8_t *o, int32_t window_d) {
    return scen == 1 ? ff_shape_mining_phi_w(o, window_d) : scen == 2 ? ff_shape_building_phi_w(o, window_d) : 0;
}

/* The shaping reward of a step from phi0 to phi1. */
static inline float ff_shape_reward(int32_t scen, int32_t phi0, int32_t phi1) {
    return (float)(phi1 - phi0) / (scen == 1 ? FF_SHAPE_MINING_SCALE : FF_SHAPE_BUILDING_SCALE);
}

#endif /* FF_SHAPING_H */
