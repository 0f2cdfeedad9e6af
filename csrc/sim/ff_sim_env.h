/*
 * ff_sim_env.h - the batch simulator's private state: the per-env record and the batch behind
 * the opaque ff_sim_t of ff_sim.h. Included by csrc/ff_sim.c (through the scenario headers
 * beside this one) and by the C harness tools/bench_sim_c.c (which prints the sizes); the
 * Python bindings see only ff_sim.h.
 */
#ifndef FF_SIM_ENV_H
#define FF_SIM_ENV_H

#include "ff_sim.h"
#include "ff_world.h"

#define FF_CB_PAD 4 /* movement: padding rows above cbits */

typedef struct ff_env {
    /* The first cache line (prefetched FF_PF_FAR envs ahead, csrc/ff_sim.c) holds what every
     * step of every scenario reads; the movement map's bits follow. */
    ff_world_t *world;
    uint64_t rng;            /* splitmix64 state */
    uint32_t step;           /* steps taken in this episode */
    uint8_t needs_reset;     /* done on the previous call (next_step autoreset) */
    uint8_t last_action;
    uint8_t milestones;      /* building: bit0 drill on ore placed, bit1 drill fed a furnace */
    uint8_t grass_only;      /* movement: grass, water and wooden chests only (the bit walk) */
    int32_t phi;             /* shaped rewards: the potential of the last observation (ff_shaping.h) */
    uint32_t map_version;    /* movement: the world's map_version the bits below were built at */
    int32_t target_tx, target_ty; /* movement */
    int32_t prev_dist;       /* movement: L1 distance to the target centre, 1/256 tile */
    uint32_t seen_removed;   /* world->removed_total when coarse was computed */
    uint64_t coarse;         /* mining: 8x8 ore bitmap */
    uint32_t base_mined, base_smelted; /* world counters at episode start (the goals) */
    uint8_t coarse4[32];     /* building: 8x8 nibble resource map */
    /* movement: the map as bits, for the observation and the walk (sim/ff_mv_walk.h), valid
     * while map_version equals the world's. mbits: padded blocked rows (row ty+8, bit tx+8:
     * off the map, a building, or a tile of transition class FULL or a corner triangle,
     * ff_world_tile_class); cbits: padded building-tile rows (row ty+4, bit tx); tbits: the
     * triangle tiles, as cbits; chest: the buildings' centres in index order (all wooden chests
     * while grass_only). */
    uint8_t n_chests;
    int16_t chest_half5;
    int16_t chest[FF_WORLD_MAX_BUILDINGS][2];
    uint32_t cbits[40];
    uint32_t tbits[40];
    uint64_t mbits[48];
} ff_env_t;

struct ff_sim {
    int32_t scenario;
    ff_scenario_info_t info;  /* with the effective parameters (ff_sim_info) */
    int32_t shaped;           /* add sim/ff_shaping.h's rewards (mining, building) */
    size_t num_envs;
    size_t world_bytes;
    ff_env_t *envs;
    uint8_t *worlds;          /* num_envs * world_bytes */
};

#endif /* FF_SIM_ENV_H */
