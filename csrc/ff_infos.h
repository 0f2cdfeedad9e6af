/*
 * ff_infos.h - the per-env state a vector env reports in `info`, read from a batch simulator
 * in one pass.
 *
 * ff_sim.h has one reader per quantity (positions, ticks, inventories); each walks every env's
 * world, and the worlds of a batch are far apart in memory (tens of KiB each), so every reader
 * misses the cache once per env. Reading all three in one walk touches each world's first two
 * cache lines once (ff_world.h keeps tick, px, py and inv there), and writes positions in tiles
 * directly, so the caller converts nothing.
 */
#ifndef FF_INFOS_H
#define FF_INFOS_H

#include "ff_common.h"
#include "ff_sim.h"

FF_EXTERN_C_BEGIN

/* Number of envs of the batch (0 for NULL). */
size_t ff_infos_num_envs(const ff_sim_t *sim);

/* Envs lo..hi-1 of the batch into rows 0..hi-lo-1 of each output that is not NULL:
 * pos float64[n][2] (x, y in tiles), ticks uint64[n], inv uint16[n][n_items] (item ids
 * 0..n_items-1). FF_EINVAL on a bad range or n_items. */
int ff_infos_state(const ff_sim_t *sim, size_t lo, size_t hi, double *pos, uint64_t *ticks,
                   uint16_t *inv, size_t n_items);

/* The state of each env's random stream (uint64[num_envs]): what the simulator's autoreset
 * generates the next episode from. ff_sim_reset with these values as seeds generates the same
 * episodes an autoreset would (the stream is read only while an episode is generated). */
int ff_infos_streams(const ff_sim_t *sim, uint64_t *out);

/* Episode statistics after a step of n envs, what Gymnasium's RecordEpisodeStatistics reports:
 * ret / len / t0 (float64, int64, float64 [n]) are the running episodes' return, length and
 * start time, done_before [n] whether each env ended on its previous step. next_step != 0:
 * that previous end makes this step the reset step, which belongs to no episode (the counters
 * restart here and count it as -1 + 1 = 0 steps). The step adds rewards[i] and one step; an env
 * with terminated | truncated reports out_r / out_l / out_t[i] (0 for the others; t = now - t0
 * rounded to 1e-6 s like numpy.round(x, 6)), out_done[i] = 1, and without next_step its
 * counters restart at once. done_before becomes out_done. *n_done: how many ended. */
int ff_infos_episode(size_t n, const float *rewards, const uint8_t *terminated,
                     const uint8_t *truncated, double *ret, int64_t *len, double *t0,
                     uint8_t *done_before, double now, int next_step, double *out_r,
                     int64_t *out_l, double *out_t, uint8_t *out_done, size_t *n_done);

FF_EXTERN_C_END

#endif /* FF_INFOS_H */
