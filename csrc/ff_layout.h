/*
 * ff_layout.h - the seed's binary layouts, exactly: FactorioState (8592 bytes) and
 * FactorioAction (48 bytes), natural C alignment, little-endian.
 *
 * These are the records that cross process boundaries (shared memory) and the wire (frames), so
 * every size and offset is pinned by a static assert, and numpy's aligned dtypes
 * (factorio_fast/_layout.py) are tested equal to them.
 */
#ifndef FF_LAYOUT_H
#define FF_LAYOUT_H

#include "ff_common.h"

#define FF_MAP_SIDE 32
#define FF_MAP_CHANNELS 8
#define FF_INVENTORY_SLOTS 64
#define FF_STATE_ENTITIES 16
#define FF_ACTION_PARAMS 8

/* ABI version of everything shared between processes (segment headers, layouts, frames).
 * Bump it whenever any shared layout changes. */
#define FF_ABI_VERSION 1u

typedef struct FactorioState {
    float player_pos[2];                                        /* tiles */
    uint8_t local_map[FF_MAP_SIDE][FF_MAP_SIDE][FF_MAP_CHANNELS]; /* unpack_planes channels */
    uint16_t inventory[FF_INVENTORY_SLOTS];                     /* item counts by item id */
    uint32_t entities[FF_STATE_ENTITIES][4];                    /* id, x, y, extra (see docs) */
    uint64_t timestamp;                                         /* game tick */
} ff_state_t;

typedef struct FactorioAction {
    uint8_t action_type;
    /* 3 bytes of padding: zero on the wire */
    float parameters[FF_ACTION_PARAMS];
    uint64_t command_id;
} ff_action_t;

#define FF_STATE_SIZE 8592u
#define FF_ACTION_SIZE 48u

FF_STATIC_ASSERT(sizeof(float) == 4, "float must be IEEE binary32");
FF_STATIC_ASSERT(sizeof(ff_state_t) == FF_STATE_SIZE, "FactorioState must be 8592 bytes");
FF_STATIC_ASSERT(offsetof(ff_state_t, player_pos) == 0, "player_pos @0");
FF_STATIC_ASSERT(offsetof(ff_state_t, local_map) == 8, "local_map @8");
FF_STATIC_ASSERT(offsetof(ff_state_t, inventory) == 8200, "inventory @8200");
FF_STATIC_ASSERT(offsetof(ff_state_t, entities) == 8328, "entities @8328");
FF_STATIC_ASSERT(offsetof(ff_state_t, timestamp) == 8584, "timestamp @8584");
FF_STATIC_ASSERT(sizeof(ff_action_t) == FF_ACTION_SIZE, "FactorioAction must be 48 bytes");
FF_STATIC_ASSERT(offsetof(ff_action_t, action_type) == 0, "action_type @0");
FF_STATIC_ASSERT(offsetof(ff_action_t, parameters) == 4, "parameters @4");
FF_STATIC_ASSERT(offsetof(ff_action_t, command_id) == 40, "command_id @40");

FF_EXTERN_C_BEGIN

/* 64-bit FNV-1a hash of a canonical description of both records (field names, offsets, sizes),
 * the SharedMemoryBridge segment layout (ff_bridge_layout.h) and FF_ABI_VERSION. Stored in
 * shared-segment headers so two builds with different layouts refuse to talk. Pure function;
 * thread-safe. */
uint64_t ff_layout_hash(void);

/* FNV-1a 64 over n bytes, continuing from h (start with FF_FNV_OFFSET). Pure function. */
#define FF_FNV_OFFSET 0xcbf29ce484222325ull
uint64_t ff_fnv1a64(uint64_t h, const void *data, size_t n);

FF_EXTERN_C_END

#endif /* FF_LAYOUT_H */
