/*
 * ff_infos.c - see ff_infos.h. Reads the batch's private records (sim/ff_sim_env.h) and never
 * writes them.
 */
#include "ff_infos.h"

#include <string.h>

#include "sim/ff_sim_env.h"

size_t ff_infos_num_envs(const ff_sim_t *sim) { return sim ? sim->num_envs : 0; }

int ff_infos_state(const ff_sim_t *sim, size_t lo, size_t hi, double *pos, uint64_t *ticks,
                   uint16_t *inv, size_t n_items) {
    if (!sim || lo > hi || hi > sim->num_envs || n_items > FF_WORLD_ITEMS) return FF_EINVAL;
    if (inv && !n_items) inv = NULL;
    for (size_t i = lo; i < hi; i++) {
        const ff_world_t *w = sim->envs[i].world;
        size_t k = i - lo;
        if (pos) {
            /* 1/256 tile is exact in a double: the same values as px / 256.0 in Python */
            pos[2 * k] = (double)w->px / 256.0;
            pos[2 * k + 1] = (double)w->py / 256.0;
        }
        if (ticks) ticks[k] = w->tick;
        if (inv) memcpy(inv + k * n_items, w->inv, n_items * sizeof(uint16_t));
    }
    return FF_OK;
}

int ff_infos_streams(const ff_sim_t *sim, uint64_t *out) {
    if (!sim || !out) return FF_EINVAL;
    for (size_t i = 0; i < sim->num_envs; i++) out[i] = sim->envs[i].rng;
    return FF_OK;
}
