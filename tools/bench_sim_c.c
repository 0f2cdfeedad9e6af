/*
 * bench_sim_c.c - standalone C benchmark and behaviour checksum of the batch simulator.
 *
 * Build (from the repo root; add -DFF_NO_SIMD for the portable build without the SSE2 paths):
 *   cc -O2 -Icsrc tools/bench_sim_c.c csrc/ff_world.c csrc/ff_sim.c csrc/ff_common.c \
 *      csrc/ff_ids.c csrc/ff_codec.c -o build/bench_sim_c -lm
 * Run:
 *   build/bench_sim_c [--check-only] [--repeats R] [--scenario NAME] [--envs N] [--steps S]
 * `make check-checksums` (also part of `make ctest`) builds both variants and compares their
 * checksums with the committed tests/data/sim_checksums.txt.
 *
 * Two parts per scenario:
 *   checksum  FNV-1a-64 over every obs byte, reward (float bits), terminated and truncated flag
 *             of fixed-seed runs (64 envs next_step autoreset 1500 steps; 64 envs same_step
 *             autoreset, final_obs and final_mask included, 700 steps; 4096 envs next_step 120
 *             steps; 1 env next_step 3000 steps). An optimisation that changes no behaviour
 *             leaves every checksum identical.
 *   timing    SPS = num_envs * steps / seconds of ff_sim_step calls only (actions are generated
 *             before the clock starts: a pool of 61 random batches from a fixed-seed splitmix64
 *             stream, uniform over each action dimension; each step takes a batch chosen at
 *             random, so no env's action sequence is periodic: cycling the pool would give every
 *             env a constant drift per period and pin it to the map edges more than uniformly
 *             random actions do). Full episodes with next-step autoreset (the reset steps are
 *             inside the clock). Median over R repeats of the mean rate of `steps` steps. The
 *             checksums keep the cycled pool (their stream is fixed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ff_sim.h"
#include "sim/ff_sim_env.h" /* private: the sizes printed below */

#define POOL 61

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct run {
    ff_sim_t *sim;
    size_t n, ob, dims;
    int64_t *pool;   /* POOL * n * dims */
    uint8_t *obs, *term, *trunc, *fobs, *fmask;
    float *rew;
} run_t;

static int run_open(run_t *r, int32_t scen, size_t n, uint64_t action_seed) {
    memset(r, 0, sizeof *r);
    if (ff_sim_create(scen, n, NULL, &r->sim) != FF_OK) return -1;
    r->n = n;
    const ff_scenario_info_t *info = ff_sim_info(r->sim);
    r->ob = (size_t)info->obs_bytes;
    r->dims = (size_t)info->action_dims;
    r->pool = malloc(POOL * n * r->dims * sizeof(int64_t));
    r->obs = malloc(n * r->ob);
    r->fobs = malloc(n * r->ob);
    r->fmask = malloc(n);
    r->term = malloc(n);
    r->trunc = malloc(n);
    r->rew = malloc(n * sizeof(float));
    uint64_t *seeds = malloc(n * sizeof(uint64_t));
    if (!r->pool || !r->obs || !r->fobs || !r->fmask || !r->term || !r->trunc || !r->rew || !seeds)
        return -1;
    uint64_t s = action_seed;
    for (size_t k = 0; k < POOL * n; k++)
        for (size_t d = 0; d < r->dims; d++)
            r->pool[k * r->dims + d] = (int64_t)ff_rng_below(&s, (uint32_t)info->nvec[d]);
    for (size_t i = 0; i < n; i++) seeds[i] = 1000 + i;
    int rc = ff_sim_reset(r->sim, seeds, NULL, n, r->obs);
    free(seeds);
    return rc;
}

static void run_close(run_t *r) {
    ff_sim_destroy(r->sim);
    free(r->pool);
    free(r->obs);
    free(r->fobs);
    free(r->fmask);
    free(r->term);
    free(r->trunc);
    free(r->rew);
}

static int run_step(run_t *r, size_t s, int32_t mode) {
    const int64_t *a = r->pool + (s % POOL) * r->n * r->dims;
    return ff_sim_step(r->sim, a, r->obs, r->rew, r->term, r->trunc, mode,
                       mode == FF_AUTORESET_SAME_STEP ? r->fobs : NULL,
                       mode == FF_AUTORESET_SAME_STEP ? r->fmask : NULL, NULL, NULL, NULL);
}

/* timing: a pool batch chosen by the stream *ks (not cycled), next-step autoreset */
static int run_step_random(run_t *r, uint64_t *ks) {
    const int64_t *a = r->pool + (size_t)ff_rng_below(ks, POOL) * r->n * r->dims;
    int32_t mode = FF_AUTORESET_NEXT_STEP;
    return ff_sim_step(r->sim, a, r->obs, r->rew, r->term, r->trunc, mode,
                       mode == FF_AUTORESET_SAME_STEP ? r->fobs : NULL,
                       mode == FF_AUTORESET_SAME_STEP ? r->fmask : NULL, NULL, NULL, NULL);
}

static uint64_t checksum(int32_t scen, size_t n, size_t steps, int32_t mode) {
    run_t r;
    if (run_open(&r, scen, n, 42) != FF_OK) { fprintf(stderr, "open failed\n"); exit(1); }
    uint64_t h = fnv(0xCBF29CE484222325ull, r.obs, n * r.ob);
    for (size_t s = 0; s < steps; s++) {
        if (run_step(&r, s, mode) != FF_OK) { fprintf(stderr, "step failed\n"); exit(1); }
        h = fnv(h, r.obs, n * r.ob);
        h = fnv(h, r.rew, n * sizeof(float));
        h = fnv(h, r.term, n);
        h = fnv(h, r.trunc, n);
        if (mode == FF_AUTORESET_SAME_STEP) {
            h = fnv(h, r.fmask, n);
            for (size_t i = 0; i < n; i++)
                if (r.fmask[i]) h = fnv(h, r.fobs + i * r.ob, r.ob);
        }
    }
    run_close(&r);
    return h;
}

static double last_reset_us;

static double time_sps(int32_t scen, size_t n, size_t steps, int repeats, double *out_min,
                       double *out_max) {
    run_t r;
    if (run_open(&r, scen, n, 7) != FF_OK) { fprintf(stderr, "open failed\n"); exit(1); }
    uint64_t ks = 99;
    for (size_t s = 0; s < steps / 4 + 1; s++) run_step_random(&r, &ks); /* warm */
    double *sps = malloc((size_t)repeats * sizeof(double));
    for (int k = 0; k < repeats; k++) {
        double t0 = now_s();
        for (size_t s = 0; s < steps; s++) run_step_random(&r, &ks);
        double dt = now_s() - t0;
        sps[k] = (double)n * (double)steps / dt;
    }
    /* reset cost: all n envs re-seeded and regenerated, per env, in env steps of this run */
    uint64_t *seeds = malloc(n * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) seeds[i] = 5000 + i;
    double rbest = 1e30;
    for (int k = 0; k < 3; k++) {
        double t0 = now_s();
        ff_sim_reset(r.sim, seeds, NULL, n, r.obs);
        double dt = (now_s() - t0) / (double)n;
        if (dt < rbest) rbest = dt;
    }
    free(seeds);
    last_reset_us = rbest * 1e6;
    qsort(sps, (size_t)repeats, sizeof(double), cmp_double);
    double med = repeats % 2 ? sps[repeats / 2] : 0.5 * (sps[repeats / 2 - 1] + sps[repeats / 2]);
    *out_min = sps[0];
    *out_max = sps[repeats - 1];
    free(sps);
    run_close(&r);
    return med;
}

int main(int argc, char **argv) {
    int repeats = 7, check_only = 0;
    const char *only = NULL;
    long only_envs = 0, steps_override = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--check-only")) check_only = 1;
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scenario") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--envs") && i + 1 < argc) only_envs = atol(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps_override = atol(argv[++i]);
        else { fprintf(stderr, "usage: %s [--check-only] [--repeats R] [--scenario NAME] "
                               "[--envs N] [--steps S]\n", argv[0]); return 2; }
    }
    if (repeats < 1) repeats = 1;
    int skip_check = getenv("FF_BENCH_NOCHECK") != NULL;
    static const size_t sizes[3] = {1, 64, 4096};
    for (int32_t sc = 0; sc < FF_NUM_SCENARIOS; sc++) {
        const ff_scenario_info_t *info = ff_scenario_info(sc);
        if (only && strcmp(only, info->name)) continue;
        ff_sim_t *tmp;
        ff_sim_create(sc, 1, NULL, &tmp);
        printf("%s: world_bytes %zu, env bytes %zu, ticks/step %d\n", info->name, tmp->world_bytes,
               sizeof(ff_env_t), ff_sim_info(tmp)->ticks_per_step);
        ff_sim_destroy(tmp);
        if (skip_check) goto timing;
        printf("  checksum next_step  64x1500  %016llx\n",
               (unsigned long long)checksum(sc, 64, 1500, FF_AUTORESET_NEXT_STEP));
        printf("  checksum same_step  64x700   %016llx\n",
               (unsigned long long)checksum(sc, 64, 700, FF_AUTORESET_SAME_STEP));
        printf("  checksum next_step 4096x120  %016llx\n",
               (unsigned long long)checksum(sc, 4096, 120, FF_AUTORESET_NEXT_STEP));
        printf("  checksum next_step   1x3000  %016llx\n",
               (unsigned long long)checksum(sc, 1, 3000, FF_AUTORESET_NEXT_STEP));
        if (check_only) continue;
    timing:
        for (int k = 0; k < 3; k++) {
            size_t n = only_envs ? (size_t)only_envs : sizes[k]; /* --envs: any count */
            if (only_envs && k) break;
            /* about 2M env steps of movement per repeat, fewer for the slower scenarios */
            size_t total = sc == FF_SCEN_MOVEMENT ? 2000000 : sc == FF_SCEN_MINING ? 1000000 : 500000;
            size_t steps = steps_override ? (size_t)steps_override : total / n;
            /* at least one episode, so every repeat holds its share of autoreset steps */
            if (!steps_override && steps < (size_t)info->episode_steps) steps = (size_t)info->episode_steps;
            double lo, hi, med = time_sps(sc, n, steps, repeats, &lo, &hi);
            printf("  envs %5zu steps %7zu  SPS median %10.0f  (min %10.0f max %10.0f, %d repeats)"
                   "  reset %.2f us/env = %.1f steps\n",
                   n, steps, med, lo, hi, repeats, last_reset_us, last_reset_us * 1e-6 * med);
        }
    }
    return 0;
}
