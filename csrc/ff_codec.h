/*
 * ff_codec.h - the 32-bit map cell (docs/design.md §4; the seed's encode_cell, with its wrap bug fixed).
 *
 *   bits 31..28  tile id (4 bits)
 *   bits 27..16  resource amount (12 bits), saturating at 4095
 *   bits 15..12  entity id (4 bits)
 *   bits 11..1   reserved, zero
 *   bit  0       the tile blocks the character
 *
 * All functions are pure, reentrant and never allocate; the bulk ones take caller-provided,
 * C-contiguous arrays of n elements and are safe to call without the GIL.
 */
#ifndef FF_CODEC_H
#define FF_CODEC_H

#include "ff_common.h"

#define FF_CELL_TILE_SHIFT 28
#define FF_CELL_AMOUNT_SHIFT 16
#define FF_CELL_ENTITY_SHIFT 12
#define FF_CELL_AMOUNT_MAX 4095u
#define FF_CELL_RESERVED_MASK 0x00000FFEu
#define FF_PLANES 8 /* channels produced by ff_unpack_planes (= FactorioState.local_map depth) */

/* Plane channels (HWC last axis, or CHW first axis). */
enum {
    FF_PLANE_TILE = 0,    /* tile id 0..15 */
    FF_PLANE_BLOCKED = 1, /* 0 or 1 */
    FF_PLANE_ENTITY = 2,  /* entity id 0..15 */
    FF_PLANE_AMOUNT = 3,  /* resource amount scaled to 0..255: round(amount * 255 / 4095) */
    /* 4..7 reserved: written as zero */
};

FF_EXTERN_C_BEGIN

/* Pack already-validated fields (tile, entity < 16; amount any; blocked any). Never fails. */
static inline uint32_t ff_cell_pack(uint32_t tile, uint32_t amount, uint32_t entity,
                                    uint32_t blocked) {
    uint32_t a = amount > FF_CELL_AMOUNT_MAX ? FF_CELL_AMOUNT_MAX : amount;
    return (tile << FF_CELL_TILE_SHIFT) | (a << FF_CELL_AMOUNT_SHIFT) |
           (entity << FF_CELL_ENTITY_SHIFT) | (blocked ? 1u : 0u);
}

/* One cell. FF_ERANGE if tile > 15 or entity > 15. amount saturates at 4095. */
int ff_encode_cell(uint32_t tile, uint64_t amount, uint32_t entity, int blocked, uint32_t *out);

/* Decode one cell. FF_ERANGE if a reserved bit (11..1) is set; outputs untouched then. */
int ff_decode_cell(uint32_t cell, uint32_t *tile, uint32_t *amount, uint32_t *entity,
                   uint32_t *blocked);

/* Bulk encode n cells. amount is uint16 (ff_encode_cells_u16) or uint32 (ff_encode_cells_u32);
 * blocked: any nonzero byte means blocked. On FF_ERANGE (a tile or entity > 15) *bad_index gets
 * the first offending index and out is left untouched (the ids are checked first). */
int ff_encode_cells_u16(const uint8_t *tile, const uint16_t *amount, const uint8_t *entity,
                        const uint8_t *blocked, uint32_t *out, size_t n, size_t *bad_index);
int ff_encode_cells_u32(const uint8_t *tile, const uint32_t *amount, const uint8_t *entity,
                        const uint8_t *blocked, uint32_t *out, size_t n, size_t *bad_index);

/* Bulk decode n cells into four arrays (blocked as 0/1 bytes). FF_ERANGE with *bad_index if a
 * reserved bit is set in some cell (outputs are fully written regardless). */
int ff_decode_cells(const uint32_t *cells, uint8_t *tile, uint16_t *amount, uint8_t *entity,
                    uint8_t *blocked, size_t n, size_t *bad_index);

/* Expand n_maps maps of h*w cells into FF_PLANES uint8 channels. chw = 0: out is
 * [n_maps][h][w][8] (the FactorioState.local_map order); chw = 1: [n_maps][8][h][w].
 * Reserved bits are ignored here (validate with ff_decode_cells if needed). Never fails for
 * non-NULL pointers. */
int ff_unpack_planes(const uint32_t *cells, size_t n_maps, size_t h, size_t w, uint8_t *out,
                     int chw);

/* Amount scaled into the 0..255 plane: round(amount * 255 / 4095). */
static inline uint8_t ff_amount_to_plane(uint32_t amount12) {
    return (uint8_t)((amount12 * 255u + FF_CELL_AMOUNT_MAX / 2u) / FF_CELL_AMOUNT_MAX);
}

FF_EXTERN_C_END

#endif /* FF_CODEC_H */
