/* ff_codec.c - the 32-bit cell codec. Loops are written so that gcc/clang vectorise them:
 * validation is folded into an OR-accumulator and checked once after the loop; the slow
 * second pass that finds the offending index only runs on error. */
#include "ff_codec.h"

#include <string.h>

int ff_encode_cell(uint32_t tile, uint64_t amount, uint32_t entity, int blocked, uint32_t *out) {
    if (!out) return FF_EINVAL;
    if (tile > 15u || entity > 15u) return FF_ERANGE;
    uint32_t a = amount > FF_CELL_AMOUNT_MAX ? FF_CELL_AMOUNT_MAX : (uint32_t)amount;
    *out = ff_cell_pack(tile, a, entity, (uint32_t)(blocked != 0));
    return FF_OK;
}

int ff_decode_cell(uint32_t cell, uint32_t *tile, uint32_t *amount, uint32_t *entity,
                   uint32_t *blocked) {
    if (!tile || !amount || !entity || !blocked) return FF_EINVAL;
    if (cell & FF_CELL_RESERVED_MASK) return FF_ERANGE;
    *tile = cell >> FF_CELL_TILE_SHIFT;
    *amount = (cell >> FF_CELL_AMOUNT_SHIFT) & FF_CELL_AMOUNT_MAX;
    *entity = (cell >> FF_CELL_ENTITY_SHIFT) & 15u;
    *blocked = cell & 1u;
    return FF_OK;
}

static size_t first_bad_field(const uint8_t *tile, const uint8_t *entity, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (tile[i] > 15u || entity[i] > 15u) return i;
    return n;
}

/* The encoder builds each cell from two 16-bit halves: tile and amount above, entity and the
 * blocked bit below. */
FF_STATIC_ASSERT(FF_CELL_AMOUNT_SHIFT == 16 && FF_CELL_TILE_SHIFT - 16 == 12 &&
                     FF_CELL_ENTITY_SHIFT == 12 && FF_CELL_AMOUNT_MAX < (1u << 12),
                 "cell layout assumed by the 16-bit-half encoder");

#define FF_DEFINE_ENCODE(SUFFIX, AMOUNT_T)                                                     \
    FF_SIMD_CLONES int ff_encode_cells_##SUFFIX(                                               \
        const uint8_t *tile, const AMOUNT_T *amount, const uint8_t *entity,                    \
        const uint8_t *blocked, uint32_t *out, size_t n, size_t *bad_index) {                  \
        if (n && (!tile || !amount || !entity || !blocked || !out)) return FF_EINVAL;          \
        uint8_t over = 0;                                                                      \
        for (size_t i = 0; i < n; i++) over |= (uint8_t)(tile[i] | entity[i]);                 \
        if (FF_UNLIKELY(over > 15u)) { /* checked first: on error out is left untouched */     \
            if (bad_index) *bad_index = first_bad_field(tile, entity, n);                      \
            return FF_ERANGE;                                                                  \
        }                                                                                      \
        for (size_t i = 0; i < n; i++) {                                                       \
            /* the high half in 16-bit lanes, then one widening: fewer conversions than four */ \
            AMOUNT_T a = amount[i] > FF_CELL_AMOUNT_MAX ? FF_CELL_AMOUNT_MAX : amount[i];       \
            uint16_t hi = (uint16_t)((uint16_t)(tile[i] << (FF_CELL_TILE_SHIFT - 16)) |        \
                                     (uint16_t)a);                                             \
            uint16_t lo = (uint16_t)((uint16_t)(entity[i] << FF_CELL_ENTITY_SHIFT) |          \
                                     (uint16_t)(blocked[i] != 0));                             \
            out[i] = ((uint32_t)hi << 16) | lo;                                                \
        }                                                                                      \
        return FF_OK;                                                                          \
    }

FF_DEFINE_ENCODE(u16, uint16_t)
FF_DEFINE_ENCODE(u32, uint32_t)

FF_SIMD_CLONES int ff_decode_cells(const uint32_t *cells, uint8_t *tile, uint16_t *amount, uint8_t *entity,
                    uint8_t *blocked, size_t n, size_t *bad_index) {
    if (n && (!cells || !tile || !amount || !entity || !blocked)) return FF_EINVAL;
    uint32_t reserved = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cells[i];
        reserved |= c;
        tile[i] = (uint8_t)(c >> FF_CELL_TILE_SHIFT);
        amount[i] = (uint16_t)((c >> FF_CELL_AMOUNT_SHIFT) & FF_CELL_AMOUNT_MAX);
        entity[i] = (uint8_t)((c >> FF_CELL_ENTITY_SHIFT) & 15u);
        blocked[i] = (uint8_t)(c & 1u);
    }
    if (FF_UNLIKELY(reserved & FF_CELL_RESERVED_MASK)) {
        if (bad_index) {
            size_t i = 0;
            while (i < n && !(cells[i] & FF_CELL_RESERVED_MASK)) i++;
            *bad_index = i;
        }
        return FF_ERANGE;
    }
    return FF_OK;
}

FF_SIMD_CLONES int ff_unpack_planes(const uint32_t *cells, size_t n_maps, size_t h, size_t w, uint8_t *out,
                     int chw) {
    size_t hw = h * w;
    if (n_maps && hw && (!cells || !out)) return FF_EINVAL;
    for (size_t m = 0; m < n_maps; m++) {
        const uint32_t *src = cells + m * hw;
        uint8_t *dst = out + m * hw * FF_PLANES;
        if (chw) {
            for (size_t i = 0; i < hw; i++) {
                uint32_t c = src[i];
                dst[FF_PLANE_TILE * hw + i] = (uint8_t)(c >> FF_CELL_TILE_SHIFT);
                dst[FF_PLANE_BLOCKED * hw + i] = (uint8_t)(c & 1u);
                dst[FF_PLANE_ENTITY * hw + i] = (uint8_t)((c >> FF_CELL_ENTITY_SHIFT) & 15u);
                dst[FF_PLANE_AMOUNT * hw + i] =
                    ff_amount_to_plane((c >> FF_CELL_AMOUNT_SHIFT) & FF_CELL_AMOUNT_MAX);
            }
            for (size_t ch = 4; ch < FF_PLANES; ch++)
                for (size_t i = 0; i < hw; i++) dst[ch * hw + i] = 0;
        } else {
            /* One 64-bit little-endian store per cell: channels 0..3, then 4 zero bytes. */
            for (size_t i = 0; i < hw; i++) {
                uint32_t c = src[i];
                uint64_t px = (uint64_t)(c >> FF_CELL_TILE_SHIFT) |
                              ((uint64_t)(c & 1u) << 8) |
                              ((uint64_t)((c >> FF_CELL_ENTITY_SHIFT) & 15u) << 16) |
                              ((uint64_t)ff_amount_to_plane((c >> FF_CELL_AMOUNT_SHIFT) &
                                                            FF_CELL_AMOUNT_MAX) << 24);
                memcpy(dst + i * FF_PLANES, &px, sizeof px);
            }
        }
    }
    return FF_OK;
}
