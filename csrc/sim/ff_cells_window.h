/*
 * ff_cells_window.h - the square window of 32-bit cells around the character that the
 * mining_micro and building_micro observations start with: the simulator's writer of the map
 * part of ff_obs_encode.h's layouts, read from its tile grids straight into the observation
 * (the mod's records carry the cells packed: ff_obs_put_cells). Static inline: part of the one
 * translation unit csrc/ff_sim.c.
 */
#ifndef FF_CELLS_WINDOW_H
#define FF_CELLS_WINDOW_H

#include <string.h>

#include "ff_codec.h"
#include "ff_util.h"
#include "ff_world.h"
#include "sim/ff_shaping.h" /* ff_cell_is_ore_left */

/* The side x side cells around the character, row-major, little-endian: ff_world_cell of each
 * tile, read straight from the grids. Only tiles under a building go through ff_world_cell
 * (which finds the building); a tile with neither a building nor a resource is
 * ff_cell_pack(tile, 0, 0, blocks), one with a resource ff_cell_pack(tile, amount, type,
 * blocks): the same three cases ff_world_cell distinguishes. */
#define FF_CELL_OF_TILE(id, name, blocks, speed) \
    [id] = ((uint32_t)(id) << FF_CELL_TILE_SHIFT) | ((blocks) ? 1u : 0u),
static const uint32_t ff_cell_of_tile[FF_NUM_TILES] = {FF_TILES(FF_CELL_OF_TILE)};
#undef FF_CELL_OF_TILE

static inline uint32_t ff_cell_put(const ff_world_t *wd, uint8_t t, uint8_t ri, int32_t x, int32_t y,
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
    return cell;
}

/* The non-plain cells of row y: bit k of np is column c_lo + k of the row whose cells start at
 * orow (column 0 at tile x0). Writes them and lowers *best to the nearest ore cell's distance. */
FF_ALWAYS_INLINE void ff_cells_row(const ff_world_t *wd, uint32_t np, int32_t c_lo, int32_t x0, int32_t y,
                                   uint8_t *orow, int32_t *best) {
    const uint8_t *trow = wd->tile + y * wd->w + x0, *rrow = wd->resg + y * wd->w + x0;
    do {
        int32_t c = c_lo + ff_ctz32(np);
        np &= np - 1u;
        uint32_t cell = ff_cell_put(wd, trow[c], rrow[c], x0 + c, y, orow + 4 * c);
        if (FF_UNLIKELY(ff_cell_is_ore_left(cell))) {
            int32_t d = ff_abs32((x0 + c) * 256 + 128 - wd->px) + ff_abs32(y * 256 + 128 - wd->py);
            if (*best < 0 || d < *best) *best = d;
        }
    } while (np);
}

/* Inlined with a constant side (7, 9): each row is first filled with the grass cell in a few
 * wide stores, then the out-of-map columns (map edge) and the non-plain tiles (nonplain bits,
 * 16 bytes a row) are overwritten; a 0 bit is a tile byte FF_TILE_GRASS with resg 0, whose
 * cell ff_cell_put makes the grass cell, so only the other tiles read the grids.
 *
 * Returns what ff_shape_window_ore (sim/ff_shaping.h) would read back from the window's bytes:
 * the L1 distance (1/256 tile) from the character to the centre of the nearest cell holding
 * iron ore with ore left, or -1. Ore cells are non-plain, so testing the cells written here is
 * the whole scan; the shaped step uses it instead of re-reading the window
 * (tests/test_train_shaping.py holds the two paths equal). */
FF_ALWAYS_INLINE int32_t ff_cells_window(const ff_world_t *wd, int32_t side, uint8_t *o) {
    int32_t half = side / 2, x0 = (wd->px >> 8) - half, y0 = (wd->py >> 8) - half;
    const uint32_t oom = ff_cell_pack(FF_TILE_OUT_OF_MAP, 0, 0, 1);
    const uint32_t g = ff_cell_of_tile[FF_TILE_GRASS];
    /* columns c in [c_lo, c_hi) are inside the map */
    int32_t c_lo = x0 < 0 ? -x0 : 0, c_hi = wd->w - x0 < side ? wd->w - x0 : side;
    int32_t best = -1;
    if (FF_LIKELY(c_lo == 0 && c_hi == side && y0 >= 0 && y0 + side <= wd->h)) {
        /* inside the map (most steps): one fill, then each row's non-plain bits from
         * one word or two, the case decided once for the window */
        for (int32_t i = 0; i < side * side; i++) memcpy(o + 4 * i, &g, 4);
        int32_t wi = x0 >> 6, sh = x0 & 63, two = sh + side > 64;
        uint64_t keep = (1ull << side) - 1u;
        for (int32_t r = 0; r < side; r++) {
            int32_t y = y0 + r;
            const uint64_t *rw = wd->nonplain[y];
            uint32_t np = (uint32_t)(((rw[wi] >> sh) | (two ? rw[wi + 1] << (64 - sh) : 0)) & keep);
            if (np) ff_cells_row(wd, np, 0, x0, y, o + 4 * side * r, &best);
        }
        return best;
    }
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
        if (np) ff_cells_row(wd, np, c_lo, x0, y, o, &best);
    }
    return best;
}

#endif /* FF_CELLS_WINDOW_H */
