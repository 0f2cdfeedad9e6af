/*
 * ff_obs_encode.h - the one encoder of each scenario's observation bytes (docs/scenarios.md).
 *
 * Two producers fill the same layouts: the native simulator (csrc/sim/ff_scn_*.h, from its
 * world) and csrc/ff_rawobs.c (from the raw records the Factorio mod sends, docs/mod.md). Both
 * call the functions below, so a layout is written in one place; a change to a scenario's bytes
 * is a change here, and test_rawobs.py's equality of the two becomes a check of the two sources
 * of the fields rather than of two encoders.
 *
 * Why static inline in a header (and not functions in a .c file): the simulator's observe runs
 * once per env per step inside its batch loop, where the scenario and the window side are
 * constants; an out-of-line call with a struct argument would cost a call, spill the fields and
 * lose the constant folding of the layout offsets. Inlined, the encoders compile to the
 * simulator's old stores or fewer (the mining and building tails are word stores; the
 * behaviour checksums of tools/bench_sim_c.c are unchanged, and cachegrind counts 5 % fewer
 * instructions in mining_micro's observe, the same within 0.3 % in building_micro's and
 * movement_micro's). One writer is a macro for that reason (FF_OBS_SLOT, below). ff_rawobs.c
 * includes the same header (a second translation unit: each gets its own copy, there is no
 * shared state).
 *
 * What a caller writes itself: the map part of an observation (movement_micro's 16 blocked rows,
 * the other scenarios' square cell window), because each producer holds the map in its own form
 * (the simulator: bit rows and tile grids it reads with SSE2 and bit scans, straight into the
 * observation; the mod's record: the cells already packed). The layout of that part is still
 * defined here (offsets, ff_obs_put_rows, ff_obs_put_cells), and every other byte, padding
 * included, is written by the encoder. Fields are plain values; saturations (sat16, sat8, clamps)
 * are part of the layout and done here.
 *
 * No allocation, no state; little-endian host (ff_common.h).
 */
#ifndef FF_OBS_ENCODE_H
#define FF_OBS_ENCODE_H

#include <string.h>

#include "ff_common.h"
#include "ff_util.h"

/* ---- offsets and sizes (docs/scenarios.md) ---- */
#define FF_OBS_MOVEMENT_BYTES 64
#define FF_OBS_MOVEMENT_ROWS 16     /* bytes 0..31: 16 blocked rows, u16 each */

#define FF_OBS_MINING_BYTES 256
#define FF_OBS_MINING_SIDE 7        /* bytes 0..195: 7 x 7 cells */
#define FF_OBS_MINING_TAIL 196

#define FF_OBS_BUILDING_BYTES 512
#define FF_OBS_BUILDING_SIDE 9      /* bytes 0..323: 9 x 9 cells */
#define FF_OBS_BUILDING_INV 324
#define FF_OBS_BUILDING_TAIL 356
#define FF_OBS_BUILDING_SLOTS 372   /* 8 buildings x 8 B */
#define FF_OBS_BUILDING_NSLOTS 8
#define FF_OBS_BUILDING_COARSE 436
#define FF_OBS_BUILDING_END 468     /* 468..511: zero */

#define FF_OBS_FULL_BYTES 1888      /* full_game (backend="factorio" only) */
#define FF_OBS_FULL_SIDE 21         /* bytes 0..1763: 21 x 21 cells */
#define FF_OBS_FULL_TAIL 1764
#define FF_OBS_FULL_SLOTS 1816      /* 8 buildings x 8 B */
#define FF_OBS_FULL_END 1880        /* 1880..1887: zero */

/* ---- saturations of the layouts ---- */
static inline void ff_obs_put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline uint32_t ff_obs_sat16(int32_t v) { return v < 0 ? 0 : v > 65535 ? 65535 : (uint32_t)v; }
static inline uint32_t ff_obs_sat8(int32_t v) { return v < 0 ? 0 : v > 255 ? 255 : (uint32_t)v; }
static inline uint8_t ff_obs_clamp_i8(int32_t v) {
    return (uint8_t)(int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

/* ---- the map parts ---- */

/* movement_micro bytes 0..31: rows[r] bit c is tile (tx + c - 8, ty + r - 8) blocked. */
static inline void ff_obs_put_rows(uint8_t *o, const uint16_t rows[FF_OBS_MOVEMENT_ROWS]) {
    memcpy(o, rows, 2 * FF_OBS_MOVEMENT_ROWS); /* little-endian host */
}

/* A cell window of n cells (side * side, row-major from the top-left tile) as u32 words. */
static inline void ff_obs_put_cells(uint8_t *o, const uint32_t *cells, int32_t n) {
    memcpy(o, cells, 4 * (size_t)n); /* little-endian host */
}

/* ---- movement_micro: bytes 32..63 ---- */
typedef struct ff_obs_movement {
    int32_t px, py;               /* character, 1/256 tile */
    int32_t target_tx, target_ty; /* the target tile */
    uint32_t step;
    uint8_t last_action;
} ff_obs_movement_t;

/* px, py (sat16), the target centre minus the position (wrapping u16), last action, a zero
 * byte, the step (low 16 bits), 16 zero bytes: written as two 64-bit words, as the
 * simulator's hot path always did. */
FF_ALWAYS_INLINE void ff_obs_movement(uint8_t *o, const ff_obs_movement_t *f) {
    uint64_t lo = (uint64_t)ff_obs_sat16(f->px) | (uint64_t)ff_obs_sat16(f->py) << 16 |
                  (uint64_t)(uint16_t)(f->target_tx * 256 + 128 - f->px) << 32 |
                  (uint64_t)(uint16_t)(f->target_ty * 256 + 128 - f->py) << 48;
    uint64_t hi = (uint64_t)f->last_action | (uint64_t)(f->step & 0xFFFFu) << 16;
    memcpy(o + 32, &lo, 8);
    memcpy(o + 40, &hi, 8);
    memset(o + 48, 0, 16);
}

/* ---- mining_micro: bytes 196..255 ---- */
typedef struct ff_obs_mining {
    int32_t px, py;
    uint32_t ore;        /* iron ore in the inventory (u16 in the game's counts) */
    uint32_t mine_ticks; /* hand-mining progress */
    uint32_t step;
    uint8_t last_action;
    uint64_t coarse;     /* bit 8 * by + bx: an ore tile in 8x8-tile block (bx, by) */
} ff_obs_mining_t;

FF_ALWAYS_INLINE void ff_obs_mining(uint8_t *o, const ff_obs_mining_t *f) {
    ff_obs_put16(o + 196, ff_obs_sat16(f->px));
    ff_obs_put16(o + 198, ff_obs_sat16(f->py));
    ff_obs_put16(o + 200, f->ore);
    ff_obs_put16(o + 202, f->mine_ticks);
    ff_obs_put16(o + 204, f->step);
    o[206] = f->last_action;
    o[207] = 0;
    memcpy(o + 208, &f->coarse, 8); /* little-endian host */
    memset(o + 216, 0, 40);
}

/* The mining coarse map from a nibble map of 8x8 blocks (the record's res_blocks, ff_rawobs.h):
 * a block is set if it holds any resource. */
static inline uint64_t ff_obs_coarse_bits(const uint8_t nibbles[32]) {
    uint64_t m = 0;
    for (int k = 0; k < 64; k++)
        if ((nibbles[k >> 1] >> (4 * (k & 1))) & 15u) m |= 1ull << k;
    return m;
}

/* ---- building_micro: bytes 324..371 and 436..511; the slots 372..435 ---- */
typedef struct ff_obs_building {
    const uint16_t *inv;    /* 16 item counts by item id */
    int32_t px, py;
    uint8_t craft_recipe;   /* the crafting queue's head recipe + 1, 0 when empty */
    uint8_t craft_entries;
    uint32_t craft_ticks;
    uint32_t step;
    uint8_t last_action;
    uint8_t milestones;
    int32_t smelted;        /* plates smelted this episode */
    uint32_t mine_ticks;
    const uint8_t *coarse4; /* 32 bytes: the 8x8-block nibble resource map */
} ff_obs_building_t;

FF_ALWAYS_INLINE void ff_obs_building(uint8_t *o, const ff_obs_building_t *f) {
    memcpy(o + FF_OBS_BUILDING_INV, f->inv, 32); /* 16 u16, little-endian host */
    /* bytes 356..371 as two little-endian words (two stores, not sixteen): px, py, recipe + 1,
     * queue entries, craft ticks; step, last action, milestones, plates smelted, mine ticks */
    uint64_t lo = (uint64_t)ff_obs_sat16(f->px) | (uint64_t)ff_obs_sat16(f->py) << 16 |
                  (uint64_t)f->craft_recipe << 32 | (uint64_t)f->craft_entries << 40 |
                  (uint64_t)(f->craft_ticks & 0xFFFFu) << 48;
    uint64_t hi = (uint64_t)(f->step & 0xFFFFu) | (uint64_t)f->last_action << 16 |
                  (uint64_t)f->milestones << 24 | (uint64_t)ff_obs_sat16(f->smelted) << 32 |
                  (uint64_t)(f->mine_ticks & 0xFFFFu) << 48;
    memcpy(o + FF_OBS_BUILDING_TAIL, &lo, 8);
    memcpy(o + FF_OBS_BUILDING_TAIL + 8, &hi, 8);
    memcpy(o + FF_OBS_BUILDING_COARSE, f->coarse4, 32);
    memset(o + FF_OBS_BUILDING_END, 0, FF_OBS_BUILDING_BYTES - FF_OBS_BUILDING_END);
}

/* One building slot (8 bytes at p): entity id (not 0), top-left tile relative to the
 * character's tile (clamped i8), fuel, source, result, progress (sat8) and the flags (bit 0
 * burning, bit 1 a drill holds an ore, bits 4..7 the item at a drill's drop point; bits 2..3
 * are 0). building_micro and full_game.
 * A macro, not a function, and on purpose: each argument is evaluated where its byte is
 * stored, as the simulator's observe always did. A function's arguments are all evaluated
 * before its first store, and since the stores are through a uint8_t pointer (which may alias
 * the world the values come from) the compiler must then hold all eight values at once: in
 * the simulator's batch loop that spills registers and cost about 2 % more instructions in
 * building_micro's observe (cachegrind). Each argument is used exactly once. */
#define FF_OBS_SLOT(p, entity, dx, dy, fuel, src, out, progress, flags)  \
    do {                                                                  \
        uint8_t *ff_obs_p_ = (p);                                         \
        ff_obs_p_[0] = (uint8_t)(entity);                                 \
        ff_obs_p_[1] = ff_obs_clamp_i8(dx);                               \
        ff_obs_p_[2] = ff_obs_clamp_i8(dy);                               \
        ff_obs_p_[3] = (uint8_t)ff_obs_sat8(fuel);                        \
        ff_obs_p_[4] = (uint8_t)ff_obs_sat8(src);                         \
        ff_obs_p_[5] = (uint8_t)ff_obs_sat8(out);                         \
        ff_obs_p_[6] = (uint8_t)ff_obs_sat8(progress);                    \
        ff_obs_p_[7] = (uint8_t)(flags);                                  \
    } while (0)

/* An empty slot (no building): 8 zero bytes. */
static inline void ff_obs_slot_empty(uint8_t *p) { memset(p, 0, 8); }

/* building_micro's slot k (0..7). */
#define FF_OBS_BUILDING_SLOT(o, k) ((o) + FF_OBS_BUILDING_SLOTS + 8 * (k))

/* ---- full_game: bytes 1764..1815 and 1880..1887; the slots 1816..1879 ----
 * The real game only (the simulator has no ordinary map): docs/scenarios.md "full_game"; its
 * slots are FF_OBS_SLOT at o + FF_OBS_FULL_SLOTS. The
 * position is signed and whole (an ordinary map has negative coordinates and is far larger
 * than the 16 bits of the micro scenarios' positions). */
typedef struct ff_obs_full {
    const uint16_t *inv;    /* 16 item counts by item id */
    int32_t px, py;         /* 1/256 tile, surface coordinates */
    uint32_t mine_ticks;
    uint8_t craft_recipe;   /* the crafting queue's head recipe + 1, 0 when empty */
    uint8_t craft_entries;
    uint32_t craft_ticks;
    uint32_t step;
    uint8_t last_action;
} ff_obs_full_t;

FF_ALWAYS_INLINE void ff_obs_full(uint8_t *o, const ff_obs_full_t *f) {
    uint8_t *t = o + FF_OBS_FULL_TAIL;
    memcpy(t, &f->px, 4); /* little-endian host */
    memcpy(t + 4, &f->py, 4);
    memcpy(t + 8, f->inv, 32);
    ff_obs_put16(t + 40, f->mine_ticks);
    t[42] = f->craft_recipe;
    t[43] = f->craft_entries;
    ff_obs_put16(t + 44, f->craft_ticks);
    ff_obs_put16(t + 46, f->step);
    t[48] = f->last_action;
    memset(t + 49, 0, 3);
    memset(o + FF_OBS_FULL_END, 0, FF_OBS_FULL_BYTES - FF_OBS_FULL_END);
}

#endif /* FF_OBS_ENCODE_H */
