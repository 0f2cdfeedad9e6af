/*
 * ff_features.c - the per-scenario field tables and the batch converter (see ff_features.h).
 *
 * The tables follow the observation layouts of docs/scenarios.md; the scales put each value
 * into about -1..1 for the scenario's defaults: positions and deltas divided by the map's side
 * in 1/256 tile, step counters by the episode length, hand-mining and crafting progress by the
 * longest cycle (120 ticks: an ore, the burner drill recipe), item counts by a stack of ore
 * (50). Appended after those: the position within the tile (the low byte of px, py, over 256)
 * and, for movement_micro, the target delta in tiles clipped to 4 tiles: a step walks 1.19
 * tiles, more than a tile, so stopping on the target tile needs both, and at the map-wide scale
 * a tile is only 1/32 of the range. For building_micro also the tiles of its layout (the drill,
 * the furnace spot over its drop tile, the furnace, the nearest ore) as one-hots of the action's
 * dx, dy, and the layout's facts as bits: all functions of the bytes, as every field.
 * docs/scenarios.md ("Features") lists every field with its scale; the pure-Python
 * reference (factorio_fast/_reference_features.py) is written from that text, not from these
 * tables, so a wrong offset or scale here fails the tests.
 */
#include "ff_features.h"

#include <string.h>

#include "ff_codec.h"
#include "ff_ids.h"

FF_STATIC_ASSERT(FF_FEAT_CELL_WIDTH == 2 + FF_NUM_TILES + FF_NUM_ENTITIES,
                 "a cell's features: blocked, amount, one-hot tile, one-hot entity");

/* Map sides in 1/256 tile (32, 64, 128 tiles). */
#define FF_F_MOVE_SIDE (1.0f / 8192.0f)
#define FF_F_MINE_SIDE (1.0f / 16384.0f)
#define FF_F_BUILD_SIDE (1.0f / 32768.0f)
#define FF_F_STACK (1.0f / 50.0f)
#define FF_F_CYCLE (1.0f / 120.0f)
/* The low byte of a little-endian u16 position is the position within its tile (1/256 tile). */
#define FF_F_IN_TILE (1.0f / 256.0f)
/* Deltas in 1/256 tile -> units of 4 tiles: -1..1 covers the 9x9 tiles around the character. */
#define FF_F_NEAR (1.0f / 1024.0f)

/* name, offset, kind, n, count, stride, scale */
static const ff_feat_field_t movement_fields[] = {
    {"blocked", 0, FF_FEAT_BITS, 256, 1, 0, 0.0f},
    {"px", 32, FF_FEAT_U16, 0, 1, 0, FF_F_MOVE_SIDE},
    {"py", 34, FF_FEAT_U16, 0, 1, 0, FF_F_MOVE_SIDE},
    {"target_dx", 36, FF_FEAT_I16, 0, 1, 0, FF_F_MOVE_SIDE},
    {"target_dy", 38, FF_FEAT_I16, 0, 1, 0, FF_F_MOVE_SIDE},
    {"last_action", 40, FF_FEAT_ONEHOT, 9, 1, 0, 0.0f},
    {"steps", 42, FF_FEAT_U16, 0, 1, 0, 1.0f / 100.0f},
    {"px_in_tile", 32, FF_FEAT_U8, 0, 1, 0, FF_F_IN_TILE},
    {"py_in_tile", 34, FF_FEAT_U8, 0, 1, 0, FF_F_IN_TILE},
    {"target_dx_near", 36, FF_FEAT_I16_CLIP, 0, 1, 0, FF_F_NEAR},
    {"target_dy_near", 38, FF_FEAT_I16_CLIP, 0, 1, 0, FF_F_NEAR},
};

static const ff_feat_field_t mining_fields[] = {
    {"cells", 0, FF_FEAT_CELL, 0, 49, 4, 0.0f},
    {"px", 196, FF_FEAT_U16, 0, 1, 0, FF_F_MINE_SIDE},
    {"py", 198, FF_FEAT_U16, 0, 1, 0, FF_F_MINE_SIDE},
    {"iron_ore", 200, FF_FEAT_U16, 0, 1, 0, FF_F_STACK},
    {"mining_progress", 202, FF_FEAT_U16, 0, 1, 0, FF_F_CYCLE},
    {"steps", 204, FF_FEAT_U16, 0, 1, 0, 1.0f / 300.0f},
    {"last_action", 206, FF_FEAT_ONEHOT, 34, 1, 0, 0.0f},
    {"ore_map", 208, FF_FEAT_BITS, 64, 1, 0, 0.0f},
    {"px_in_tile", 196, FF_FEAT_U8, 0, 1, 0, FF_F_IN_TILE},
    {"py_in_tile", 198, FF_FEAT_U8, 0, 1, 0, FF_F_IN_TILE},
};

static const ff_feat_field_t building_fields[] = {
    {"cells", 0, FF_FEAT_CELL, 0, 81, 4, 0.0f},
    {"inventory", 324, FF_FEAT_U16, 0, 16, 2, FF_F_STACK},
    {"px", 356, FF_FEAT_U16, 0, 1, 0, FF_F_BUILD_SIDE},
    {"py", 358, FF_FEAT_U16, 0, 1, 0, FF_F_BUILD_SIDE},
    {"crafting_recipe", 360, FF_FEAT_ONEHOT, 5, 1, 0, 0.0f},
    {"craft_queue", 361, FF_FEAT_U8, 0, 1, 0, 1.0f / 8.0f},
    {"crafting_progress", 362, FF_FEAT_U16, 0, 1, 0, FF_F_CYCLE},
    {"steps", 364, FF_FEAT_U16, 0, 1, 0, 1.0f / 500.0f},
    {"last_action_type", 366, FF_FEAT_ONEHOT, 20, 1, 0, 0.0f},
    {"milestones", 367, FF_FEAT_BITS, 2, 1, 0, 0.0f},
    {"plates_smelted", 368, FF_FEAT_U16, 0, 1, 0, 1.0f / 10.0f},
    {"mining_progress", 370, FF_FEAT_U16, 0, 1, 0, FF_F_CYCLE},
    {"building_entity", 372, FF_FEAT_ONEHOT, FF_NUM_ENTITIES, 8, 8, 0.0f},
    {"building_dx", 373, FF_FEAT_I8, 0, 8, 8, 1.0f / 16.0f},
    {"building_dy", 374, FF_FEAT_I8, 0, 8, 8, 1.0f / 16.0f},
    {"building_fuel", 375, FF_FEAT_U8, 0, 8, 8, FF_F_STACK},
    {"building_source", 376, FF_FEAT_U8, 0, 8, 8, FF_F_STACK},
    {"building_result", 377, FF_FEAT_U8, 0, 8, 8, FF_F_STACK},
    {"building_progress", 378, FF_FEAT_U8, 0, 8, 8, 1.0f / 255.0f},
    {"building_flags", 379, FF_FEAT_BITS, 2, 8, 8, 0.0f},
    {"resource_map", 436, FF_FEAT_BITS, 256, 1, 0, 0.0f},
    {"px_in_tile", 356, FF_FEAT_U8, 0, 1, 0, FF_F_IN_TILE},
    {"py_in_tile", 358, FF_FEAT_U8, 0, 1, 0, FF_F_IN_TILE},
    {"drill_tile", 372, FF_FEAT_PLAN_TILE, FF_PLAN_DRILL, 1, 0, 0.0f},
    {"furnace_spot", 372, FF_FEAT_PLAN_TILE, FF_PLAN_FURNACE_SPOT, 1, 0, 0.0f},
    {"furnace_tile", 372, FF_FEAT_PLAN_TILE, FF_PLAN_FURNACE, 1, 0, 0.0f},
    {"ore_tile", 0, FF_FEAT_PLAN_TILE, FF_PLAN_ORE, 1, 0, 0.0f},
    {"plan_bits", 324, FF_FEAT_PLAN_BITS, FF_PLAN_BITS, 1, 0, 0.0f},
};

#define FF_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const ff_feat_table_t tables[] = {
    {"movement_micro", 64, FF_COUNT_OF(movement_fields), movement_fields},
    {"mining_micro", 256, FF_COUNT_OF(mining_fields), mining_fields},
    {"building_micro", 512, FF_COUNT_OF(building_fields), building_fields},
};

size_t ff_features_count(void) { return FF_COUNT_OF(tables); }

const ff_feat_table_t *ff_features_at(size_t i) {
    return i < FF_COUNT_OF(tables) ? &tables[i] : NULL;
}

int ff_features_lookup(const char *scenario, const ff_feat_table_t **out) {
    if (!scenario || !out) return FF_EINVAL;
    for (size_t i = 0; i < FF_COUNT_OF(tables); i++) {
        if (strcmp(tables[i].scenario, scenario) == 0) {
            *out = &tables[i];
            return FF_OK;
        }
    }
    return FF_ENOENT;
}

uint32_t ff_feat_field_width(const ff_feat_field_t *f) {
    switch (f->kind) {
    case FF_FEAT_BITS:
    case FF_FEAT_ONEHOT:
    case FF_FEAT_PLAN_BITS:
        return f->n;
    case FF_FEAT_CELL:
        return FF_FEAT_CELL_WIDTH;
    case FF_FEAT_PLAN_TILE:
        return FF_PLAN_TILE_WIDTH;
    default:
        return 1;
    }
}

uint32_t ff_features_width(const ff_feat_table_t *t) {
    uint32_t w = 0;
    for (uint32_t i = 0; i < t->num_fields; i++)
        w += ff_feat_field_width(&t->fields[i]) * t->fields[i].count;
    return w;
}

static uint32_t elem_size(const ff_feat_field_t *f) {
    switch (f->kind) {
    case FF_FEAT_U16:
    case FF_FEAT_I16:
    case FF_FEAT_I16_CLIP:
        return 2;
    case FF_FEAT_CELL:
        return 4;
    case FF_FEAT_BITS:
        return (f->n + 7u) / 8u;
    default:
        return 1;
    }
}

/* building_micro's layout (docs/scenarios.md): inventory u16 by item id at 324, 8 building
 * slots of 8 bytes at 372 (entity, i8 dx, i8 dy of the top-left, fuel, source, result, progress,
 * flags: bit 0 burning), the 9 x 9 cells at 0 (the character's tile is cell 40). */
#define FF_B_INV 324
#define FF_B_SLOTS 372
#define FF_B_SLOT_N 8
#define FF_B_SIDE 9

/* The first slot holding entity `ent`, or NULL. */
static const uint8_t *plan_slot(const uint8_t *row, uint8_t ent) {
    for (int k = 0; k < FF_B_SLOT_N; k++)
        if (row[FF_B_SLOTS + 8 * k] == ent) return row + FF_B_SLOTS + 8 * k;
    return NULL;
}

/* One axis of a PLAN_TILE: d -4..4 at column d + 4, anything else at column 9. */
static void plan_axis(float *out, int32_t d) { out[d >= -4 && d <= 4 ? d + 4 : 9] = 1.0f; }

static void plan_tile(const uint8_t *row, uint16_t which, float *out) {
    memset(out, 0, sizeof(float) * FF_PLAN_TILE_WIDTH);
    int32_t dx = 0, dy = 0;
    if (which == FF_PLAN_ORE) {
        int32_t best = -1;
        for (int32_t i = 0; i < FF_B_SIDE * FF_B_SIDE; i++) {
            const uint8_t *p = row + 4 * i;
            const uint32_t c = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                               ((uint32_t)p[3] << 24);
            if (((c >> FF_CELL_ENTITY_SHIFT) & 15u) != FF_ENT_IRON_ORE ||
                !((c >> FF_CELL_AMOUNT_SHIFT) & FF_CELL_AMOUNT_MAX))
                continue;
            const int32_t x = i % FF_B_SIDE - 4, y = i / FF_B_SIDE - 4;
            const int32_t d = (x < 0 ? -x : x) + (y < 0 ? -y : y);
            if (best < 0 || d < best) { best = d; dx = x; dy = y; }
        }
        if (best < 0) return;
    } else {
        const uint8_t *b = plan_slot(row, which == FF_PLAN_FURNACE ? FF_ENT_STONE_FURNACE : FF_ENT_BURNER_DRILL);
        if (!b) return;
        dx = (int8_t)b[1];
        dy = (int8_t)b[2] - (which == FF_PLAN_FURNACE_SPOT ? 2 : 0);
    }
    plan_axis(out, dx);
    plan_axis(out + 10, dy);
}

static void plan_bits(const uint8_t *row, float *out) {
    const uint8_t *inv = row + FF_B_INV;
    float drill = 0.0f, on = 0.0f, drill_fuel = 0.0f, furnace_fuel = 0.0f;
    for (int k = 0; k < FF_B_SLOT_N; k++) {
        const uint8_t *b = row + FF_B_SLOTS + 8 * k;
        if (b[0] != FF_ENT_BURNER_DRILL) continue;
        drill = 1.0f;
        if (b[3] || (b[7] & 1u)) drill_fuel = 1.0f;
        const int32_t x = (int8_t)b[1], y = (int8_t)b[2] - 1; /* the drop tile */
        for (int j = 0; j < FF_B_SLOT_N; j++) {
            const uint8_t *f = row + FF_B_SLOTS + 8 * j;
            if (f[0] != FF_ENT_STONE_FURNACE) continue;
            const int32_t fx = (int8_t)f[1], fy = (int8_t)f[2];
            if (x < fx || x > fx + 1 || y < fy || y > fy + 1) continue;
            on = 1.0f;
            if (f[3] || (f[7] & 1u)) furnace_fuel = 1.0f;
        }
    }
    out[0] = (float)((inv[2 * FF_ITEM_BURNER_DRILL] | inv[2 * FF_ITEM_BURNER_DRILL + 1]) != 0);
    out[1] = (float)((inv[2 * FF_ITEM_STONE_FURNACE] | inv[2 * FF_ITEM_STONE_FURNACE + 1]) != 0);
    out[2] = (float)((inv[2 * FF_ITEM_COAL] | inv[2 * FF_ITEM_COAL + 1]) != 0);
    out[3] = drill;
    out[4] = on;
    out[5] = drill_fuel;
    out[6] = furnace_fuel;
}

/* One row. Byte-wise little-endian reads: rows may sit at any alignment in a batch. */
static void fill_row(const ff_feat_table_t *t, const uint8_t *row, float *out) {
    for (uint32_t fi = 0; fi < t->num_fields; fi++) {
        const ff_feat_field_t *f = &t->fields[fi];
        const uint32_t stride = f->stride ? f->stride : elem_size(f);
        for (uint32_t e = 0; e < f->count; e++) {
            const uint8_t *p = row + f->offset + (size_t)e * stride;
            switch (f->kind) {
            case FF_FEAT_U8:
                *out++ = (float)p[0] * f->scale;
                break;
            case FF_FEAT_I8:
                *out++ = (float)(int8_t)p[0] * f->scale;
                break;
            case FF_FEAT_U16:
                *out++ = (float)(uint16_t)(p[0] | (p[1] << 8)) * f->scale;
                break;
            case FF_FEAT_I16:
                *out++ = (float)(int16_t)(uint16_t)(p[0] | (p[1] << 8)) * f->scale;
                break;
            case FF_FEAT_I16_CLIP: {
                const float v = (float)(int16_t)(uint16_t)(p[0] | (p[1] << 8)) * f->scale;
                *out++ = v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v);
                break;
            }
            case FF_FEAT_BITS:
                for (uint32_t k = 0; k < f->n; k++) *out++ = (float)((p[k >> 3] >> (k & 7u)) & 1u);
                break;
            case FF_FEAT_ONEHOT:
                memset(out, 0, sizeof(float) * f->n);
                if (p[0] < f->n) out[p[0]] = 1.0f;
                out += f->n;
                break;
            case FF_FEAT_CELL: {
                const uint32_t c = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                                   ((uint32_t)p[3] << 24);
                memset(out, 0, sizeof(float) * FF_FEAT_CELL_WIDTH);
                out[0] = (float)(c & 1u);
                out[1] = (float)((c >> FF_CELL_AMOUNT_SHIFT) & FF_CELL_AMOUNT_MAX) *
                         (1.0f / (float)FF_CELL_AMOUNT_MAX);
                out[2 + (c >> FF_CELL_TILE_SHIFT)] = 1.0f;
                /* entity ids past the table (a newer layout) give no one-hot, as ONEHOT does */
                const uint32_t ent = (c >> FF_CELL_ENTITY_SHIFT) & 15u;
                if (ent < FF_NUM_ENTITIES) out[2 + FF_NUM_TILES + ent] = 1.0f;
                out += FF_FEAT_CELL_WIDTH;
                break;
            }
            case FF_FEAT_PLAN_TILE: /* reads the row at fixed offsets: building_micro only */
                plan_tile(row, f->n, out);
                out += FF_PLAN_TILE_WIDTH;
                break;
            case FF_FEAT_PLAN_BITS:
                plan_bits(row, out);
                out += FF_PLAN_BITS;
                break;
            default: /* unreachable: the tables are static */
                break;
            }
        }
    }
}

int ff_features_fill(const ff_feat_table_t *t, const uint8_t *obs, size_t n, size_t obs_stride,
                     float *out, size_t out_stride, const uint8_t *mask) {
    if (!t || (n && (!obs || !out))) return FF_EINVAL;
    if (obs_stride < t->obs_bytes || out_stride < ff_features_width(t)) return FF_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (mask && !mask[i]) continue;
        fill_row(t, obs + i * obs_stride, out + i * out_stride);
    }
    return FF_OK;
}
