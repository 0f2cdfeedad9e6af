/* ff_sim.c - the batch of envs: creation, reset, the step loop with its prefetches, autoreset
 * and the state readers. The scenarios (generation, step, observation) live in csrc/sim/ as
 * static-inline headers included here, so this stays one translation unit: each scenario's
 * batch loop (ff_step_batch with a constant scenario) inlines its step and observation.
 * Mirrored line by line by factorio_fast/_reference_sim.py. */
#include "ff_sim.h"

#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "sim/ff_scn_building.h"
#include "sim/ff_scn_mining.h"
#include "sim/ff_scn_movement.h"
#include "sim/ff_shaping.h"
#include "sim/ff_sim_env.h"

static const ff_scenario_info_t ff_scenarios[FF_NUM_SCENARIOS] = {
    [FF_SCEN_MOVEMENT] = {"movement_micro", 32, 32, 64, 100, 1, {9, 0, 0}, 8, 24, 256, 0, 1000},
    [FF_SCEN_MINING] = {"mining_micro", 64, 64, 256, 300, 1, {34, 0, 0}, 10, 32, 1024, 10, 500},
    [FF_SCEN_BUILDING] = {"building_micro", 128, 128, 512, 500, 3, {FF_BA_COUNT, 9, 9}, 10, 64,
                          4096, 5, 200},
};

const ff_scenario_info_t *ff_scenario_info(int32_t scenario) {
    if (scenario < 0 || scenario >= FF_NUM_SCENARIOS) return NULL;
    return &ff_scenarios[scenario];
}

const ff_scenario_info_t *ff_sim_info(const ff_sim_t *sim) { return sim ? &sim->info : NULL; }

/* ---------------- batch ---------------- */

static void ff_env_generate(ff_sim_t *sim, ff_env_t *env) {
    switch (sim->scenario) {
    case FF_SCEN_MOVEMENT: ff_movement_generate(sim, env); break;
    case FF_SCEN_MINING: ff_mining_generate(sim, env); break;
    default: ff_building_generate(sim, env); break;
    }
    env->step = 0;
    env->needs_reset = 0;
    env->last_action = 0;
    env->milestones = 0;
    env->base_mined = env->world->mined_total;
    env->base_smelted = env->world->smelted_total;
    if (sim->shaped) { /* the first state's potential (once per episode: a spare observation) */
        uint8_t o[512];
        int32_t d = sim->scenario == FF_SCEN_MINING ? ff_mining_observe(env, o) : ff_building_observe(env, o);
        env->phi = ff_shape_phi_w(sim->scenario, o, d);
    }
}

/* Returns the window's ore distance for the shaping (mining, building; ff_cells_window). */
static int32_t ff_env_observe(ff_sim_t *sim, ff_env_t *env, uint8_t *o) {
    switch (sim->scenario) {
    case FF_SCEN_MOVEMENT: ff_movement_observe(env, o); return -1;
    case FF_SCEN_MINING: return ff_mining_observe(env, o);
    default: return ff_building_observe(env, o);
    }
}

/* The worlds' block. From 2 MiB up it is 2 MiB-aligned and, on Linux, marked for transparent
 * huge pages: a step touches a few lines of each of thousands of worlds kilobytes apart, so
 * with 4 KiB pages nearly every world costs a TLB miss (a page walk, slower still in a VM). */
#define FF_HUGE_PAGE ((size_t)2 << 20)
static uint8_t *ff_alloc_worlds(size_t bytes) {
    if (bytes < FF_HUGE_PAGE) return (uint8_t *)aligned_alloc(64, (bytes + 63u) & ~(size_t)63u);
    size_t rounded = (bytes + FF_HUGE_PAGE - 1) & ~(FF_HUGE_PAGE - 1);
    uint8_t *p = (uint8_t *)aligned_alloc(FF_HUGE_PAGE, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p) (void)madvise(p, rounded, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
    return p;
}

int ff_sim_create(int32_t scenario, size_t num_envs, const ff_sim_params_t *params, ff_sim_t **out) {
    int rc = FF_OK;
    ff_sim_t *sim = NULL;
    const ff_scenario_info_t *info = ff_scenario_info(scenario);
    if (!out || !info || num_envs == 0 || num_envs > ((size_t)1 << 24)) { rc = FF_EINVAL; goto fail; }
    *out = NULL;
    sim = (ff_sim_t *)calloc(1, sizeof *sim);
    if (!sim) { rc = FF_ENOMEM; goto fail; }
    sim->scenario = scenario;
    sim->info = *info;
    if (params) {
        if (params->ticks_per_step >= 0) {
            if (params->ticks_per_step < 1 || params->ticks_per_step > 600) { rc = FF_EINVAL; goto fail; }
            sim->info.ticks_per_step = params->ticks_per_step;
        }
        if (params->obstacles >= 0) {
            if (params->obstacles > info->max_obstacles) { rc = FF_EINVAL; goto fail; }
            sim->info.obstacles = params->obstacles;
        }
        if (params->goal >= 0) {
            if (params->goal < 1 || params->goal > 1000) { rc = FF_EINVAL; goto fail; }
            sim->info.goal = params->goal;
        }
        if (params->reward > FF_REWARD_SHAPED) { rc = FF_EINVAL; goto fail; }
    }
    sim->shaped = scenario != FF_SCEN_MOVEMENT && (!params || params->reward != FF_REWARD_SPARSE);
    sim->num_envs = num_envs;
    sim->world_bytes = (ff_world_bytes(info->map_w, info->map_h) + 63u) & ~(size_t)63u;
    sim->envs = (ff_env_t *)aligned_alloc(64, ((num_envs * sizeof(ff_env_t)) + 63u) & ~(size_t)63u);
    sim->worlds = ff_alloc_worlds(num_envs * sim->world_bytes);
    if (!sim->envs || !sim->worlds) { rc = FF_ENOMEM; goto fail; }
    memset(sim->envs, 0, num_envs * sizeof(ff_env_t));
    for (size_t i = 0; i < num_envs; i++) {
        ff_env_t *env = &sim->envs[i];
        env->world = (ff_world_t *)(sim->worlds + i * sim->world_bytes);
        ff_world_init(env->world, info->map_w, info->map_h, FF_TILE_GRASS);
        env->rng = (uint64_t)i;
        ff_env_generate(sim, env);
    }
    *out = sim;
    return FF_OK;
fail:
    ff_sim_destroy(sim);
    return rc;
}

void ff_sim_destroy(ff_sim_t *sim) {
    if (!sim) return;
    free(sim->envs);
    free(sim->worlds);
    free(sim);
}

int ff_sim_reset(ff_sim_t *sim, const uint64_t *seeds, const int64_t *env_ids, size_t n, uint8_t *obs) {
    if (!sim || (!seeds && n) || !obs) return FF_EINVAL;
    if (!env_ids && n != sim->num_envs) return FF_EINVAL;
    if (env_ids)
        for (size_t k = 0; k < n; k++)
            if (env_ids[k] < 0 || (uint64_t)env_ids[k] >= sim->num_envs) return FF_EINVAL;
    size_t ob = (size_t)sim->info.obs_bytes;
    for (size_t k = 0; k < n; k++) {
        size_t i = env_ids ? (size_t)env_ids[k] : k;
        ff_env_t *env = &sim->envs[i];
        env->rng = seeds[k];
        ff_env_generate(sim, env);
        ff_env_observe(sim, env, obs + i * ob);
    }
    return FF_OK;
}

int ff_sim_check_actions(const ff_sim_t *sim, const int64_t *actions, size_t *bad_env,
                         int32_t *bad_dim, int64_t *bad_value) {
    if (!sim || !actions) return FF_EINVAL;
    int32_t dims = sim->info.action_dims;
    for (size_t i = 0; i < sim->num_envs; i++)
        for (int32_t d = 0; d < dims; d++) {
            int64_t v = actions[i * (size_t)dims + (size_t)d];
            if (FF_UNLIKELY(v < 0 || v >= sim->info.nvec[d])) {
                if (bad_env) *bad_env = i;
                if (bad_dim) *bad_dim = d;
                if (bad_value) *bad_value = v;
                return FF_ERANGE;
            }
        }
    return FF_OK;
}

#if defined(__GNUC__) || defined(__clang__)
#define FF_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 3)
#else
#define FF_PREFETCH(p) ((void)(p))
#endif

/* FF_PF_INLINE: forced inline into each scenario's step loop (ff_step_batch): the scenario is
 * then a constant there, and the prefetch helpers are inlined before GCC's pure/const analysis
 * (otherwise, compiled without -fwrapv, their loops provably finite, ff_prefetch_rows counts as
 * a const function whose calls are dead and are deleted with their prefetches). */
#define FF_PF_INLINE FF_ALWAYS_INLINE

FF_PF_INLINE float ff_env_step(ff_sim_t *sim, int32_t scen, ff_env_t *env, const int64_t *a, uint8_t *term) {
    env->last_action = (uint8_t)a[0];
    env->step++;
    switch (scen) {
    case FF_SCEN_MOVEMENT: return ff_movement_step(sim, env, a, term);
    case FF_SCEN_MINING: return ff_mining_step(sim, env, a, term);
    default: return ff_building_step(sim, env, a, term);
    }
}

/* Software prefetch. A batch of thousands of envs is memory-bound and their worlds lie
 * kilobytes apart, which the hardware prefetcher cannot follow. Two stages: the world's first
 * cache line (and for building_micro the inventory / building lines) FF_PF_FAR envs ahead;
 * then, reading the position that has arrived by then, the grid rows (and movement's bit rows)
 * that the step of the env FF_PF_NEAR ahead will read. Hints only: results are unaffected. */
#ifndef FF_PF_FAR /* tunable at build time; measured with tools/bench_sim_c.c */
#define FF_PF_FAR 8
#endif
#ifndef FF_PF_NEAR
#define FF_PF_NEAR 4
#endif
#ifndef FF_PF_GRID
#define FF_PF_GRID 2
#endif

FF_PF_INLINE void ff_prefetch_head(const ff_sim_t *sim, int32_t scen, size_t i) {
    const uint8_t *w = sim->worlds + i * sim->world_bytes; /* no dependent load */
    FF_PREFETCH(w);
    FF_PREFETCH(&sim->envs[i]); /* its first line: the fields every step reads */
    if (scen == FF_SCEN_BUILDING) FF_PREFETCH(w + 64);
}

FF_PF_INLINE void ff_prefetch_rows(const ff_sim_t *sim, int32_t scen, size_t i) {
    const ff_env_t *env = &sim->envs[i];
    const ff_world_t *wd = (const ff_world_t *)(sim->worlds + i * sim->world_bytes);
    int32_t tx = wd->px >> 8, ty = wd->py >> 8, w = wd->w;
    if (scen == FF_SCEN_MOVEMENT) {
        /* the observation's bit rows ty..ty+15 (the walk's are among them), in bounds; the
         * world's grids are not read (ff_movement_walk) */
        if ((uint32_t)ty < 32u) {
            FF_PREFETCH(&env->mbits[ty]);
            FF_PREFETCH(&env->mbits[ty + 8]);
            FF_PREFETCH(&env->mbits[ty + 15]);
            FF_PREFETCH(&env->cbits[ty + FF_CB_PAD]); /* read by the walk's clear test */
            FF_PREFETCH(&env->tbits[ty + FF_CB_PAD]);
        }
        return;
    }
    int32_t half = scen == FF_SCEN_MINING ? 3 : 4;
    int32_t x0 = tx - half < 0 ? 0 : tx - half, x1 = tx + half >= w ? w - 1 : tx + half;
    int32_t y0 = ty - half < 0 ? 0 : ty - half, y1 = ty + half >= wd->h ? wd->h - 1 : ty + half;
    if (x0 > x1 || y0 > y1) return;
    /* the window's rows of nonplain bits (the grids are read only at non-plain tiles) */
    uintptr_t a = (uintptr_t)&wd->nonplain[y0][0], b = (uintptr_t)&wd->nonplain[y1][1];
    for (a &= ~(uintptr_t)63; a <= b; a += 64) FF_PREFETCH(a);
    if (scen == FF_SCEN_BUILDING && wd->cq_len) FF_PREFETCH(&wd->cq_count[FF_WORLD_CRAFT_QUEUE - 1]);
    if (scen == FF_SCEN_BUILDING && wd->n_bld) {
        FF_PREFETCH(&wd->bld[0]);
        if (wd->n_bld > 1) FF_PREFETCH(&wd->bld[wd->n_bld > 8 ? 7 : wd->n_bld - 1]);
    }
}

/* Third stage (mining, building), FF_PF_GRID envs ahead: with the window's nonplain rows in
 * cache by then, the grid lines of its non-plain tiles (the first and last of each row; the
 * window is at most 9 bytes wide). */
FF_PF_INLINE void ff_prefetch_grid(const ff_sim_t *sim, int32_t scen, size_t i) {
#if defined(__GNUC__) || defined(__clang__)
    const ff_world_t *wd = (const ff_world_t *)(sim->worlds + i * sim->world_bytes);
    int32_t half = scen == FF_SCEN_MINING ? 3 : 4;
    int32_t tx = wd->px >> 8, ty = wd->py >> 8, w = wd->w;
    int32_t x0 = tx - half < 0 ? 0 : tx - half, x1 = tx + half >= w ? w - 1 : tx + half;
    int32_t y0 = ty - half < 0 ? 0 : ty - half, y1 = ty + half >= wd->h ? wd->h - 1 : ty + half;
    if (x0 > x1 || y0 > y1) return;
    for (int32_t y = y0; y <= y1; y++) {
        uint32_t bits = ff_world_nonplain_bits(wd, y, x0, x1 - x0 + 1);
        if (!bits) continue;
        int32_t a = x0 + __builtin_ctz(bits), b = x0 + 31 - __builtin_clz(bits);
        FF_PREFETCH(wd->tile + y * w + a);
        FF_PREFETCH(wd->tile + y * w + b);
        FF_PREFETCH(wd->resg + y * w + a);
        FF_PREFETCH(wd->resg + y * w + b);
    }
#else
    (void)sim;
    (void)scen;
    (void)i;
#endif
}

/* One scenario's batch loop; inlined with a constant scen, so each scenario gets its own loop
 * with its step, observation and prefetches inlined and no per-env dispatch. */
FF_PF_INLINE void ff_step_batch(ff_sim_t *sim, const int32_t scen, const int64_t *actions, uint8_t *obs,
                                float *rewards, uint8_t *terminated, uint8_t *truncated, int32_t autoreset,
                                uint8_t *final_obs, uint8_t *final_mask) {
    size_t ob = (size_t)sim->info.obs_bytes, dims = (size_t)sim->info.action_dims;
    uint32_t limit = (uint32_t)sim->info.episode_steps;
    size_t n = sim->num_envs;
    for (size_t i = 0; i < n; i++) {
        ff_env_t *env = &sim->envs[i];
        uint8_t *o = obs + i * ob;
        if (i + FF_PF_FAR < n) ff_prefetch_head(sim, scen, i + FF_PF_FAR);
        if (i + FF_PF_NEAR < n) ff_prefetch_rows(sim, scen, i + FF_PF_NEAR);
        if (scen != FF_SCEN_MOVEMENT && i + FF_PF_GRID < n) ff_prefetch_grid(sim, scen, i + FF_PF_GRID);
        if (FF_UNLIKELY(env->needs_reset)) {
            ff_env_generate(sim, env);
            ff_env_observe(sim, env, o);
            rewards[i] = 0.0f;
            terminated[i] = 0;
            truncated[i] = 0;
            if (final_mask) final_mask[i] = 0;
            continue;
        }
        uint8_t term = 0;
        int32_t phi0 = env->phi, final_d = -1;
        rewards[i] = ff_env_step(sim, scen, env, actions + i * dims, &term);
        uint8_t trunc = (uint8_t)(!term && env->step >= limit);
        terminated[i] = term;
        truncated[i] = trunc;
        if (autoreset == FF_AUTORESET_SAME_STEP) {
            if (term | trunc) {
                final_d = ff_env_observe(sim, env, final_obs + i * ob);
                final_mask[i] = 1;
                ff_env_generate(sim, env);
            } else {
                final_mask[i] = 0;
            }
        } else {
            env->needs_reset = term | trunc;
        }
        int32_t ore_d = -1;
        switch (scen) { /* inlined here: the hot path */
        case FF_SCEN_MOVEMENT: ff_movement_observe(env, o); break;
        case FF_SCEN_MINING: ore_d = ff_mining_observe(env, o); break;
        default: ore_d = ff_building_observe(env, o); break;
        }
        if (scen != FF_SCEN_MOVEMENT && sim->shaped) { /* sim/ff_shaping.h, from the step's last state */
            int32_t phi1;
            if (autoreset == FF_AUTORESET_SAME_STEP && (term | trunc)) {
                phi1 = ff_shape_phi_w(scen, final_obs + i * ob, final_d);
            } else {
                phi1 = ff_shape_phi_w(scen, o, ore_d);
                env->phi = phi1;
            }
            rewards[i] += ff_shape_reward(scen, phi0, phi1);
        }
    }
}

int ff_sim_step(ff_sim_t *sim, const int64_t *actions, uint8_t *obs, float *rewards,
                uint8_t *terminated, uint8_t *truncated, int32_t autoreset, uint8_t *final_obs,
                uint8_t *final_mask, size_t *bad_env, int32_t *bad_dim, int64_t *bad_value) {
    if (!sim || !actions || !obs || !rewards || !terminated || !truncated) return FF_EINVAL;
    if (autoreset != FF_AUTORESET_NEXT_STEP && autoreset != FF_AUTORESET_SAME_STEP) return FF_EINVAL;
    if (autoreset == FF_AUTORESET_SAME_STEP && (!final_obs || !final_mask)) return FF_EINVAL;
    int rc = ff_sim_check_actions(sim, actions, bad_env, bad_dim, bad_value);
    if (rc != FF_OK) return rc;
    switch (sim->scenario) {
    case FF_SCEN_MOVEMENT:
        ff_step_batch(sim, FF_SCEN_MOVEMENT, actions, obs, rewards, terminated, truncated, autoreset,
                      final_obs, final_mask);
        break;
    case FF_SCEN_MINING:
        ff_step_batch(sim, FF_SCEN_MINING, actions, obs, rewards, terminated, truncated, autoreset,
                      final_obs, final_mask);
        break;
    default:
        ff_step_batch(sim, FF_SCEN_BUILDING, actions, obs, rewards, terminated, truncated, autoreset,
                      final_obs, final_mask);
        break;
    }
    return FF_OK;
}

int ff_sim_positions(const ff_sim_t *sim, int32_t *out) {
    if (!sim || !out) return FF_EINVAL;
    for (size_t i = 0; i < sim->num_envs; i++) {
        out[2 * i] = sim->envs[i].world->px;
        out[2 * i + 1] = sim->envs[i].world->py;
    }
    return FF_OK;
}

int ff_sim_ticks(const ff_sim_t *sim, uint64_t *out) {
    if (!sim || !out) return FF_EINVAL;
    for (size_t i = 0; i < sim->num_envs; i++) out[i] = sim->envs[i].world->tick;
    return FF_OK;
}

int ff_sim_inventories(const ff_sim_t *sim, uint16_t *out, size_t n_items) {
    if (!sim || !out || n_items > FF_WORLD_ITEMS) return FF_EINVAL;
    for (size_t i = 0; i < sim->num_envs; i++)
        memcpy(out + i * n_items, sim->envs[i].world->inv, n_items * sizeof(uint16_t));
    return FF_OK;
}

ff_world_t *ff_sim_world(ff_sim_t *sim, size_t i) {
    if (!sim || i >= sim->num_envs) return NULL;
    return sim->envs[i].world;
}

int ff_sim_observe(ff_sim_t *sim, size_t i, uint8_t *out) {
    if (!sim || !out || i >= sim->num_envs) return FF_EINVAL;
    ff_env_observe(sim, &sim->envs[i], out);
    return FF_OK;
}
