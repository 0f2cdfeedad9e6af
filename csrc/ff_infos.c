/*
 * ff_infos.c - see ff_infos.h. Reads the batch's private records (sim/ff_sim_env.h) and never
 * writes them.
 */
#include "ff_infos.h"

#include <math.h>
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

int ff_infos_episode(size_t n, const float *rewards, const uint8_t *terminated,
                     const uint8_t *truncated, double *ret, int64_t *len, double *t0,
                     uint8_t *done_before, double now, int next_step, double *out_r,
                     int64_t *out_l, double *out_t, uint8_t *out_done, size_t *n_done) {
    if (!n_done) return FF_EINVAL;
    *n_done = 0;
    if (n && (!rewards || !terminated || !truncated || !ret || !len || !t0 || !done_before ||
              !out_r || !out_l || !out_t || !out_done))
        return FF_EINVAL;
    size_t ended = 0;
    for (size_t i = 0; i < n; i++) {
        if (next_step && done_before[i]) {
            ret[i] = 0.0;
            len[i] = -1;
            t0[i] = now;
        }
        ret[i] += (double)rewards[i];
        len[i] += 1;
        uint8_t done = (uint8_t)((terminated[i] | truncated[i]) != 0);
        out_done[i] = done;
        done_before[i] = done;
        if (done) {
            ended++;
            out_r[i] = ret[i];
            out_l[i] = len[i];
            /* numpy.round(x, 6): scale, round half to even (rint), unscale */
            out_t[i] = rint((now - t0[i]) * 1e6) / 1e6;
            if (!next_step) {
                ret[i] = 0.0;
                len[i] = 0;
                t0[i] = now;
            }
        } else {
            out_r[i] = 0.0;
            out_l[i] = 0;
            out_t[i] = 0.0;
        }
    }
    *n_done = ended;
    return FF_OK;
}
