/*
 * ff_bridge_layout.h - the layout of a SharedMemoryBridge segment (factorio_fast/_bridge.pyx):
 * the seed's state/action bridge for num_envs environments in one named segment.
 *
 * In the segment's user area (after the ff_shm header), every section 64-byte aligned:
 *   0                          ff_bridge_header_t (one cache line)
 *   state_seq                  num_envs seqlock words (ff_seqlock.h), one per cache line
 *   action_seq                 num_envs seqlock words, one per cache line
 *   states                     num_envs FactorioState records (ff_layout.h), packed
 *   actions                    num_envs FactorioAction records, packed
 * Each seqlock word has its own line so that writers of neighbouring slots (different
 * processes) do not invalidate each other's line on every write.
 *
 * The creator writes num_envs and the record sizes, then the magic; an attacher checks all four
 * against its own build. Both the constants and the offsets enter ff_layout_hash(), so builds
 * that disagree refuse each other's segments already when attaching (ff_shm_open).
 */
#ifndef FF_BRIDGE_LAYOUT_H
#define FF_BRIDGE_LAYOUT_H

#include "ff_common.h"
#include "ff_layout.h"

#define FF_BRIDGE_MAGIC 0x31474442u /* "BDG1" */
#define FF_BRIDGE_MAX_ENVS (1u << 20)
#define FF_BRIDGE_SEQ_STRIDE FF_CACHE_LINE

typedef struct ff_bridge_header {
    uint32_t magic;
    uint32_t num_envs;
    uint32_t state_size;  /* FF_STATE_SIZE of the creator's build */
    uint32_t action_size; /* FF_ACTION_SIZE of the creator's build */
    uint8_t reserved[FF_CACHE_LINE - 16];
} ff_bridge_header_t;

FF_STATIC_ASSERT(sizeof(ff_bridge_header_t) == FF_CACHE_LINE, "bridge header is one cache line");
FF_STATIC_ASSERT(offsetof(ff_bridge_header_t, magic) == 0, "bridge magic @0");
FF_STATIC_ASSERT(offsetof(ff_bridge_header_t, num_envs) == 4, "bridge num_envs @4");
FF_STATIC_ASSERT(offsetof(ff_bridge_header_t, state_size) == 8, "bridge state_size @8");
FF_STATIC_ASSERT(offsetof(ff_bridge_header_t, action_size) == 12, "bridge action_size @12");
FF_STATIC_ASSERT(FF_BRIDGE_SEQ_STRIDE >= sizeof(uint32_t) && FF_BRIDGE_SEQ_STRIDE % 64 == 0,
                 "one seqlock word per cache line");

/* Byte offsets of the sections for num_envs environments, and the bytes they need in all. */
typedef struct ff_bridge_offsets {
    size_t state_seq;
    size_t action_seq;
    size_t states;
    size_t actions;
    size_t total;
} ff_bridge_offsets_t;

static inline size_t ff_bridge_round_line(size_t n) {
    return (n + FF_CACHE_LINE - 1) & ~(size_t)(FF_CACHE_LINE - 1);
}

/* The layout for num_envs (1..FF_BRIDGE_MAX_ENVS; the caller checks the range). Pure. */
static inline ff_bridge_offsets_t ff_bridge_offsets(size_t num_envs) {
    ff_bridge_offsets_t o;
    o.state_seq = sizeof(ff_bridge_header_t);
    o.action_seq = o.state_seq + num_envs * FF_BRIDGE_SEQ_STRIDE;
    o.states = o.action_seq + num_envs * FF_BRIDGE_SEQ_STRIDE;
    o.actions = ff_bridge_round_line(o.states + num_envs * sizeof(ff_state_t));
    o.total = ff_bridge_round_line(o.actions + num_envs * sizeof(ff_action_t));
    return o;
}

#endif /* FF_BRIDGE_LAYOUT_H */
