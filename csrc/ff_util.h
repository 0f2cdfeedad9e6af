/*
 * ff_util.h - small helpers and tables shared by the world (ff_world.c) and the batch simulator
 * (ff_sim.c and the headers in csrc/sim/). Internal: not part of the API of ff_world.h or
 * ff_sim.h, and not declared to Cython.
 */
#ifndef FF_UTIL_H
#define FF_UTIL_H

#include "ff_common.h"
#include "ff_ids.h"

/* Forced inlining where a call site passes a constant that must fold (a scenario, a window side)
 * or where GCC would otherwise drop a prefetch-only helper (see ff_sim.c, ff_step_batch). */
#if defined(__GNUC__) || defined(__clang__)
#define FF_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define FF_ALWAYS_INLINE static inline
#endif

static inline int32_t ff_abs32(int32_t a) { return a < 0 ? -a : a; }

/* The index of the lowest set bit (v != 0). */
static inline int32_t ff_ctz32(uint32_t v) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(v);
#else
    int32_t n = 0;
    while (!(v & 1u)) v >>= 1, n++;
    return n;
#endif
}
static inline int32_t ff_ctz64(uint64_t v) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(v);
#else
    int32_t n = 0;
    while (!(v & 1u)) v >>= 1, n++;
    return n;
#endif
}

/* blocks_character by tile id, one byte an entry: the collision tests' look-up (ff_tile_table
 * holds the same bit in a 24-byte row). Static, so each translation unit reads its own copy
 * directly (no indirection through the GOT of the shared library). */
#define FF_TILE_BLOCKS_ROW(id, name, blocks, speed) [id] = (blocks),
static const uint8_t ff_tile_blocks[FF_NUM_TILES] = {FF_TILES(FF_TILE_BLOCKS_ROW)};
#undef FF_TILE_BLOCKS_ROW

#endif /* FF_UTIL_H */
