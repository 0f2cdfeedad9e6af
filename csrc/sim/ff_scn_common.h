/*
 * ff_scn_common.h - helpers of the three scenarios' generators (csrc/sim/ff_scn_*.h): the
 * free-tile search and the ponds. The observations' byte stores are the shared encoder's
 * (ff_obs_encode.h, included here for the scenarios). Static inline: part of the one
 * translation unit csrc/ff_sim.c.
 */
#ifndef FF_SCN_COMMON_H
#define FF_SCN_COMMON_H

#include <string.h>

#include "ff_obs_encode.h"
#include "ff_util.h"
#include "sim/ff_sim_env.h"

/* A tile the character may start on / a target may be: walkable, no building, no resource. */
static int ff_free_tile(const ff_world_t *wd, int32_t tx, int32_t ty) {
    if (!ff_world_nonplain(wd, tx, ty)) return 1; /* plain grass, no resource (one bit row) */
    uint8_t c = wd->tile[ty * wd->w + tx];
    return !(c & FF_TILE_BUILDING) && !ff_tile_blocks[c & FF_TILE_ID_MASK] &&
           !wd->resg[ty * wd->w + tx];
}

/* 64 random tries, then the first free tile in row-major order, else (0, 0) (only when the
 * obstacles near their maximum leave no free tile: 3x3 ponds can cover the map). */
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

/* A 3x3 pond with top-left tile (x, y) (in the map), unless one of its tiles holds a resource or
 * a building (water there is fine: ponds may merge). Every tile of a union of 3x3 water squares
 * has >= 3 water neighbours or is a corner triangle, so it blocks whatever the finer points of
 * the transition rule (ff_world.h; issue 12: obstacles that do not depend on the uncertain
 * rule). Returns 1 if placed. */
static int ff_pond(ff_world_t *wd, int32_t x, int32_t y) {
    for (int32_t r = y; r < y + 3; r++)
        for (int32_t c = x; c < x + 3; c++)
            if (wd->resg[r * wd->w + c] || (wd->tile[r * wd->w + c] & FF_TILE_BUILDING)) return 0;
    ff_world_fill_tiles(wd, x, y, 3, 3, FF_TILE_WATER);
    return 1;
}

#endif /* FF_SCN_COMMON_H */
