/* ff_common.c - status strings and the layout hash. */
#include "ff_common.h"
#include "ff_layout.h"
#include "ff_bridge_layout.h"

#include <stdio.h>
#include <string.h>

const char *ff_strerror(int status) {
    switch (status) {
    case FF_OK: return "success";
    case FF_EINVAL: return "invalid argument";
    case FF_ERANGE: return "value out of range";
    case FF_ETRUNC: return "frame truncated";
    case FF_EMAGIC: return "bad frame magic (expected 0xFA57)";
    case FF_EVERSION: return "unsupported frame version";
    case FF_ETYPE: return "unknown frame type";
    case FF_ELENGTH: return "payload length does not fit the frame type";
    case FF_ETOOBIG: return "payload larger than the configured maximum";
    case FF_EFULL: return "ring buffer full";
    case FF_EEMPTY: return "ring buffer empty";
    case FF_ETIMEDOUT: return "timed out";
    case FF_EPEERDEAD: return "peer process died";
    case FF_ESHM: return "shared-memory operation failed";
    case FF_ELAYOUT: return "shared segment header does not match this build";
    case FF_ENOSPC: return "not enough free space for the shared segment";
    case FF_EEXIST: return "shared segment already exists";
    case FF_ENOENT: return "shared segment does not exist";
    case FF_ENOMEM: return "out of memory";
    case FF_ECLOSED: return "object is closed";
    case FF_EEXTRA: return "trailing bytes after the frame";
    case FF_ESTATE: return "operation not valid in the current state";
    default: return "unknown factorio_fast status";
    }
}

uint64_t ff_fnv1a64(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t ff_layout_hash(void) {
    char desc[1024];
    /* The bridge's offsets depend on num_envs: describe them at 3 environments, where the line
     * rounding after the states matters, next to the constants they are built from. */
    ff_bridge_offsets_t bo = ff_bridge_offsets(3);
    int n = snprintf(desc, sizeof desc,
                     "abi=%u;FactorioState:%zu;player_pos@%zu;local_map@%zu;inventory@%zu;"
                     "entities@%zu;timestamp@%zu;FactorioAction:%zu;action_type@%zu;"
                     "parameters@%zu;command_id@%zu;"
                     "Bridge:magic=%x;header:%zu;num_envs@%zu;state_size@%zu;action_size@%zu;"
                     "seq_stride=%u;n3:state_seq@%zu,action_seq@%zu,states@%zu,actions@%zu,"
                     "total=%zu",
                     FF_ABI_VERSION, sizeof(ff_state_t), offsetof(ff_state_t, player_pos),
                     offsetof(ff_state_t, local_map), offsetof(ff_state_t, inventory),
                     offsetof(ff_state_t, entities), offsetof(ff_state_t, timestamp),
                     sizeof(ff_action_t), offsetof(ff_action_t, action_type),
                     offsetof(ff_action_t, parameters), offsetof(ff_action_t, command_id),
                     FF_BRIDGE_MAGIC, sizeof(ff_bridge_header_t),
                     offsetof(ff_bridge_header_t, num_envs),
                     offsetof(ff_bridge_header_t, state_size),
                     offsetof(ff_bridge_header_t, action_size), (unsigned)FF_BRIDGE_SEQ_STRIDE,
                     bo.state_seq, bo.action_seq, bo.states, bo.actions, bo.total);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof desc) n = (int)sizeof desc - 1;
    return ff_fnv1a64(FF_FNV_OFFSET, desc, (size_t)n);
}
