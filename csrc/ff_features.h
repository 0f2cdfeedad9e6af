/*
 * ff_features.h - observation bytes -> float32 features a network can read.
 *
 * A scenario's observation is packed bytes (little-endian u16/i16 fields, bitmaps, u32 cells;
 * docs/scenarios.md gives each layout). This converts a batch of those rows into float32 rows:
 * bits become 0/1, ids become one-hot vectors, counts, positions and deltas are scaled into
 * about -1..1. It reads only the bytes, never the simulator, so any backend that writes the
 * documented layout gets the same features.
 *
 * Each scenario is a table of fields (ff_feat_field_t); a field the layout gains in today's
 * zero padding is one more row of its table. Output floats are the fields in table order; a
 * field of `count` elements gives `count` consecutive groups of its width.
 */
#ifndef FF_FEATURES_H
#define FF_FEATURES_H

#include "ff_common.h"

/* Kinds of field. Width = floats per element. */
enum {
    FF_FEAT_U8 = 1,  /* u8 * scale; width 1 */
    FF_FEAT_I8,      /* i8 * scale; width 1 */
    FF_FEAT_U16,     /* u16 LE * scale; width 1 */
    FF_FEAT_I16,     /* i16 LE * scale; width 1 */
    FF_FEAT_BITS,    /* `n` bits from the element's first byte on, bit k = byte k/8 bit k%8; width n */
    FF_FEAT_ONEHOT,  /* u8 id -> one-hot of `n` classes (an id >= n gives all zeros); width n */
    FF_FEAT_CELL,    /* u32 LE map cell (ff_codec.h) -> blocked, amount/4095, tile one-hot (16),
                      * entity one-hot (FF_NUM_ENTITIES); width FF_FEAT_CELL_WIDTH */
    FF_FEAT_I16_CLIP, /* i16 LE * scale, clipped to -1..1; width 1. A near-range view of a delta:
                       * fine steps close to zero, where the plain I16 column of a map-wide scale
                       * moves by too little for a network to tell one tile from the next */
    FF_FEAT_PLAN_TILE, /* building_micro: one tile of the task's layout relative to the character
                        * (`n`: FF_PLAN_* below), as a one-hot of dx -4..4 or "out of range",
                        * then the same for dy; all zeros if absent; width 20. The action's dx, dy
                        * heads are independent categoricals over -4..4: with the target in this
                        * form, aiming at it is linear, where from the slots' scaled dx, dy (or
                        * the 81 cells) it is a comparison a small MLP learns slowly */
    FF_FEAT_PLAN_BITS, /* building_micro: `n` (7) facts of the layout (FF_PLAN_BITS below); width n */
};

/* FF_FEAT_PLAN_TILE's tiles (field n). The offset is that of the bytes read: the building slots
 * (8 x 8 B: entity, i8 dx, i8 dy, fuel, ...) for the first three, the 9 x 9 cells for the ore. */
enum {
    FF_PLAN_DRILL = 0,        /* the top-left of the first placed burner drill */
    FF_PLAN_FURNACE_SPOT = 1, /* (drill dx, drill dy - 2): a furnace there covers the drill's drop
                               * tile (the tile above its top-left) with its bottom-left tile */
    FF_PLAN_FURNACE = 2,      /* the top-left of the first placed stone furnace */
    FF_PLAN_ORE = 3,          /* the iron-ore tile (amount > 0) of the cells nearest the
                               * character's tile (L1 in tiles; ties: the first in row order) */
};
#define FF_PLAN_TILE_WIDTH 20
/* FF_FEAT_PLAN_BITS, in order: the inventory holds a burner drill, a stone furnace, coal; a
 * drill is placed; a placed furnace covers a placed drill's drop tile; a placed drill has fuel
 * or burns; such a furnace has fuel or burns (the states of the shaping, csrc/sim/ff_shaping.h). */
#define FF_PLAN_BITS 7

#define FF_FEAT_CELL_WIDTH 28 /* 2 + 16 tile ids + 10 entity ids (checked in ff_features.c) */

typedef struct {
    const char *name; /* documentation and Python's feature_fields() */
    uint16_t offset;  /* byte offset of the first element in the observation row */
    uint8_t kind;     /* FF_FEAT_* */
    uint16_t n;       /* bits (BITS) or classes (ONEHOT); unused otherwise */
    uint16_t count;   /* elements */
    uint16_t stride;  /* bytes between elements (0: the element's own size) */
    float scale;      /* U8/I8/U16/I16 only */
} ff_feat_field_t;

typedef struct {
    const char *scenario;
    uint32_t obs_bytes; /* row size of the observation this table reads */
    uint32_t num_fields;
    const ff_feat_field_t *fields;
} ff_feat_table_t;

FF_EXTERN_C_BEGIN

/* The table of a scenario by name; FF_ENOENT if there is none. */
int ff_features_lookup(const char *scenario, const ff_feat_table_t **out);

/* Number of scenario tables and the i-th one (for listing); NULL past the end. */
size_t ff_features_count(void);
const ff_feat_table_t *ff_features_at(size_t i);

/* Floats one element of a field produces, and floats per row of a table (sum over fields). */
uint32_t ff_feat_field_width(const ff_feat_field_t *f);
uint32_t ff_features_width(const ff_feat_table_t *t);

/* Convert n rows. obs: n rows of obs_stride bytes (>= t->obs_bytes); out: n rows of
 * out_stride floats (>= ff_features_width(t)). mask: NULL for every row, else rows with mask[i] == 0 are
 * left untouched (same_step's final observations exist only for the envs that ended).
 * FF_EINVAL for NULL pointers or strides too small. Safe without the GIL: pure, no allocation. */
int ff_features_fill(const ff_feat_table_t *t, const uint8_t *obs, size_t n, size_t obs_stride,
                     float *out, size_t out_stride, const uint8_t *mask);

FF_EXTERN_C_END

#endif /* FF_FEATURES_H */
