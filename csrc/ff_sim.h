/*
 * ff_sim.h - a batch of envs of one scenario, stepped in one call (docs/design.md §5, §7).
 *
 * Scenarios (byte layouts in docs/scenarios.md; the pure-Python oracle is
 * factorio_fast/_reference_sim.py and must stay identical):
 *   0 movement_micro  32x32,   obs 64 B,  Discrete(9),              100 steps, 8 ticks/step
 *   1 mining_micro    64x64,   obs 256 B, Discrete(34),             300 steps, 10 ticks/step
 *   2 building_micro  128x128, obs 512 B, MultiDiscrete([20,9,9]),  500 steps, 10 ticks/step
 *
 * Each env owns a world, a splitmix64 RNG state (seeded with the caller's per-env seed, no global
 * state), its step counter and its needs_reset flag. Outputs go straight into caller arrays
 * (which may be shared memory); nothing is retained after a call.
 *
 * Ownership: ff_sim_create allocates, ff_sim_destroy frees. Thread-safety: one sim must not be
 * used by two threads at once; distinct sims are independent. Return codes: FF_OK, FF_EINVAL
 * (NULL / bad sizes / bad scenario or parameter), FF_ERANGE (an action out of range: *bad_env,
 * *bad_dim, *bad_value say which; nothing was mutated), FF_ENOMEM.
 */
#ifndef FF_SIM_H
#define FF_SIM_H

#include "ff_common.h"
#include "ff_world.h"

enum {
    FF_SCEN_MOVEMENT = 0,
    FF_SCEN_MINING = 1,
    FF_SCEN_BUILDING = 2,
    FF_NUM_SCENARIOS = 3,
};

enum { FF_AUTORESET_NEXT_STEP = 0, FF_AUTORESET_SAME_STEP = 1 };

#define FF_SIM_MAX_ACTION_DIMS 3

/* Building actions (MultiDiscrete [20, 9, 9]: type, dx + 4, dy + 4). */
enum {
    FF_BA_MINE = 9,
    FF_BA_CRAFT_GEAR = 10,
    FF_BA_CRAFT_FURNACE = 11,
    FF_BA_CRAFT_DRILL = 12,
    FF_BA_CRAFT_BELT = 13,
    FF_BA_PLACE_DRILL = 14,
    FF_BA_PLACE_FURNACE = 15,
    FF_BA_PLACE_BELT = 16,
    FF_BA_INSERT_COAL = 17,
    FF_BA_INSERT_ORE = 18,
    FF_BA_TAKE_PLATES = 19,
    FF_BA_COUNT = 20,
};

typedef struct ff_scenario_info {
    const char *name;
    int32_t map_w, map_h;
    int32_t obs_bytes;
    int32_t episode_steps;
    int32_t action_dims;                   /* 1 = Discrete, >1 = MultiDiscrete */
    int32_t nvec[FF_SIM_MAX_ACTION_DIMS];
    int32_t ticks_per_step;                /* default */
    int32_t obstacles;                     /* default */
    int32_t max_obstacles;
    int32_t goal;                          /* default (0 = none) */
    int32_t target_sps;                    /* the seed's target */
} ff_scenario_info_t;

/* Parameters; a negative value means "the scenario default". */
typedef struct ff_sim_params {
    int32_t ticks_per_step;  /* 1..600 */
    int32_t obstacles;       /* 0..max_obstacles */
    int32_t goal;            /* mining: ores to mine; building: plates to smelt; 1..1000 */
    int32_t reward;          /* mining, building: 0 (or less) or 2 shaped, 1 sparse (the task
                              * reward only); sim/ff_shaping.h. Others ignore it. */
} ff_sim_params_t;

/* A batch of envs (opaque: its state is private to the simulator, csrc/sim/ff_sim_env.h). */
typedef struct ff_sim ff_sim_t;

FF_EXTERN_C_BEGIN

/* Static description of a scenario (defaults), NULL if out of range. Thread-safe. */
const ff_scenario_info_t *ff_scenario_info(int32_t scenario);

/* splitmix64, the per-env RNG (mirrored in factorio_fast/_reference_sim.py). */
static inline uint64_t ff_rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline uint32_t ff_rng_below(uint64_t *s, uint32_t n) { return (uint32_t)(ff_rng_next(s) % n); }

int ff_sim_create(int32_t scenario, size_t num_envs, const ff_sim_params_t *params, ff_sim_t **out);
void ff_sim_destroy(ff_sim_t *sim);

/* The batch's scenario description with the effective parameters (ticks_per_step, obstacles,
 * goal as created); valid until ff_sim_destroy, NULL for a NULL sim. */
const ff_scenario_info_t *ff_sim_info(const ff_sim_t *sim);

/* Reset n envs (env_ids NULL: envs 0..n-1, n must equal num_envs) with seeds[k]; write each
 * reset obs to obs + env_id * obs_bytes (obs spans num_envs * obs_bytes). FF_EINVAL on a bad
 * env id (nothing changed). */
int ff_sim_reset(ff_sim_t *sim, const uint64_t *seeds, const int64_t *env_ids, size_t n,
                 uint8_t *obs);

/* Check a batch of actions (num_envs * action_dims int64). FF_ERANGE with the first bad one. */
int ff_sim_check_actions(const ff_sim_t *sim, const int64_t *actions, size_t *bad_env,
                         int32_t *bad_dim, int64_t *bad_value);

/* Step every env once (actions validated first: on FF_ERANGE nothing is mutated).
 * obs: num_envs * obs_bytes; rewards float32, terminated / truncated 0/1 bytes, num_envs each.
 * autoreset NEXT_STEP: an env done on the previous call is reset now (action ignored, reward 0,
 * flags 0). SAME_STEP: an env that finishes now gets its final obs in final_obs (num_envs *
 * obs_bytes) and final_mask[i] = 1, is reset, and obs holds the new episode's first obs;
 * final_mask is 0 for the others. final_* may be NULL in NEXT_STEP mode. */
int ff_sim_step(ff_sim_t *sim, const int64_t *actions, uint8_t *obs, float *rewards,
                uint8_t *terminated, uint8_t *truncated, int32_t autoreset, uint8_t *final_obs,
                uint8_t *final_mask, size_t *bad_env, int32_t *bad_dim, int64_t *bad_value);

/* Per-env state readers: positions int32[num_envs][2] (1/256 tile), ticks uint64[num_envs],
 * inventories uint16[num_envs][n_items] (item ids 0..n_items-1, n_items <= FF_WORLD_ITEMS). */
int ff_sim_positions(const ff_sim_t *sim, int32_t *out);
int ff_sim_ticks(const ff_sim_t *sim, uint64_t *out);
int ff_sim_inventories(const ff_sim_t *sim, uint16_t *out, size_t n_items);

/* Borrowed pointer to env i's world (valid until ff_sim_destroy), NULL if out of range. */
ff_world_t *ff_sim_world(ff_sim_t *sim, size_t i);

/* One env's observation into out (obs_bytes); used by tests and the reference parity. */
int ff_sim_observe(ff_sim_t *sim, size_t i, uint8_t *out);

FF_EXTERN_C_END

#endif /* FF_SIM_H */
