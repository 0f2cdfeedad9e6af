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

FF_EXTERN_C_END

#endif /* FF_INFOS_H */
