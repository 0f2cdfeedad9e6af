/*
 * ff_scn_mining.h - mining_micro: generation, step, observation. Byte layout:
 * docs/scenarios.md; oracle: factorio_fast/_reference_sim.py. Static inline: part of the one
 * translation unit csrc/ff_sim.c.
 */
#ifndef FF_SCN_MINING_H
#define FF_SCN_MINING_H

#include <string.h>

#include "sim/ff_cells_window.h"
#include "sim/ff_scn_common.h"

static void ff_mining_coarse(ff_env_t *env) {
    const ff_world_t *wd = env->world;
    uint64_t m = 0;
    for (int32_t i = 0; i < wd->n_res; i++) {
        const ff_resource_t *r = &wd->res[i];
        if (r->type) m |= 1ull << ((r->ty >> 3) * 8 + (r->tx >> 3));
    }
    env->coarse = m;
    env->seen_removed = wd->removed_total;
}

static void ff_mining_generate(ff_sim_t *sim, ff_env_t *env) {
    ff_world_t *wd = env->world;
    uint64_t *rng = &env->rng;
    ff_world_clear(wd, FF_TILE_GRASS);
    int32_t patches = 1 + (int32_t)ff_rng_below(rng, 3);
    for (int32_t p = 0; p < patches; p++) {
        int32_t cx = 4 + (int32_t)ff_rng_below(rng, 56), cy = 4 + (int32_t)ff_rng_below(rng, 56);
        int32_t rad = 1 + (int32_t)ff_rng_below(rng, 3);
        for (int32_t y = cy - rad; y <= cy + rad; y++)
            for (int32_t x = cx - rad; x <= cx + rad; x++) {
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > rad * rad + 1) continue;
                uint16_t amount = (uint16_t)(100 + ff_rng_below(rng, 400));
                ff_world_add_resource(wd, x, y, FF_ENT_IRON_ORE, amount);
            }
    }
    for (int32_t i = 0; i < sim->info.obstacles; i++) { /* 3x3 ponds inside the 64x64 map */
        int32_t x = (int32_t)ff_rng_below(rng, 62), y = (int32_t)ff_rng_below(rng, 62);
        ff_pond(wd, x, y);
    }
    int32_t cx, cy;
    ff_pick_free(wd, rng, &cx, &cy);
    wd->px = cx * 256 + 128;
    wd->py = cy * 256 + 128;
    ff_mining_coarse(env);
}

/* The map part is the world's window (ff_cells_window, read straight into o); the rest is the
 * shared encoder's (ff_obs_encode.h), as for the mod's records (ff_rawobs.c). Returns the
 * window's ore distance (ff_cells_window) for the shaping. */
static int32_t ff_mining_observe(ff_env_t *env, uint8_t *o) {
    const ff_world_t *wd = env->world;
    if (env->seen_removed != wd->removed_total) ff_mining_coarse(env);
    int32_t ore_d = ff_cells_window(wd, FF_OBS_MINING_SIDE, o);
    const ff_obs_mining_t f = {wd->px, wd->py, wd->inv[FF_ITEM_IRON_ORE], wd->mine_progress,
                               env->step, env->last_action, env->coarse};
    ff_obs_mining(o, &f);
    return ore_d;
}

static float ff_mining_step(ff_sim_t *sim, ff_env_t *env, const int64_t *a, uint8_t *term) {
    ff_world_t *wd = env->world;
    int32_t code = (int32_t)a[0];
    uint32_t before = wd->mined_total;
    if (code <= 8) {
        wd->walk_dir = (int8_t)(code - 1);
        ff_world_set_mining(wd, 0, 0, 0);
    } else {
        int32_t k = code - 9;
        wd->walk_dir = -1;
        ff_world_set_mining(wd, 1, (wd->px >> 8) + k % 5 - 2, (wd->py >> 8) + k / 5 - 2);
    }
    ff_world_run(wd, sim->info.ticks_per_step);
    uint32_t got = wd->mined_total - before;
    if (wd->mined_total - env->base_mined >= (uint32_t)sim->info.goal) *term = 1;
    return (float)got;
}

#endif /* FF_SCN_MINING_H */
