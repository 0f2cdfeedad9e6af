/*
 * test_sim.c - the batch simulator's API and its SIMD paths, built twice by `make ctest`: with
 * the SSE2 code and with -DFF_NO_SIMD (the portable fallback), which must agree exactly.
 *
 * The movement observation's bitmap rows are checked against their definition (bits tx..tx+15
 * of the env's padded bit rows ty..ty+15, read bit by bit), so both builds are held to the same
 * scalar rule, not only to each other through the checksums.
 */
#include <stdlib.h>

#include "ff_sim.h"
#include "ff_test.h"
#include "ff_ids.h"
#include "ff_world.h"
#include "sim/ff_sim_env.h" /* private: the env's bit rows, to check the observation against */

FF_TEST(test_sim_info_has_the_effective_parameters) {
    ff_sim_params_t p = {3, 7, 42};
    ff_sim_t *sim = NULL;
    FF_CHECK_EQ(ff_sim_create(FF_SCEN_MINING, 2, &p, &sim), FF_OK);
    if (!sim) return;
    const ff_scenario_info_t *info = ff_sim_info(sim);
    FF_CHECK(info != NULL);
    if (info) {
        FF_CHECK_EQ(info->ticks_per_step, 3);
        FF_CHECK_EQ(info->obstacles, 7);
        FF_CHECK_EQ(info->goal, 42);
        FF_CHECK_EQ(info->obs_bytes, ff_scenario_info(FF_SCEN_MINING)->obs_bytes);
        FF_CHECK(ff_scenario_info(FF_SCEN_MINING)->goal != 42); /* the default table is untouched */
    }
    ff_sim_destroy(sim);
    FF_CHECK(ff_sim_info(NULL) == NULL);
    ff_sim_params_t defaults = {-1, -1, -1};
    FF_CHECK_EQ(ff_sim_create(FF_SCEN_BUILDING, 1, &defaults, &sim), FF_OK);
    if (!sim) return;
    FF_CHECK_EQ(ff_sim_info(sim)->goal, ff_scenario_info(FF_SCEN_BUILDING)->goal);
    ff_sim_destroy(sim);
    ff_sim_params_t bad = {0, -1, -1};
    FF_CHECK_EQ(ff_sim_create(FF_SCEN_MOVEMENT, 1, &bad, &sim), FF_EINVAL);
}

/* Rows 0..15 of the movement observation from the env's bits, bit by bit (beyond the padding
 * is off the map: blocked). */
static void expected_rows(const ff_env_t *env, int32_t tx, int32_t ty, uint16_t rows[16]) {
    for (int r = 0; r < 16; r++) {
        uint32_t bits = 0;
        for (int c = 0; c < 16; c++) {
            int32_t row = ty + r, col = tx + c;
            uint32_t bit = 1u;
            if (row >= 0 && row < 48 && col >= 0 && col < 64) bit = (uint32_t)(env->mbits[row] >> col) & 1u;
            bits |= bit << c;
        }
        rows[r] = (uint16_t)bits;
    }
}

FF_TEST(test_movement_observation_rows_match_the_bits) {
    const size_t n = 64;
    ff_sim_params_t p = {-1, 200, -1}; /* crowded: many blocked bits in every window */
    ff_sim_t *sim = NULL;
    FF_CHECK_EQ(ff_sim_create(FF_SCEN_MOVEMENT, n, &p, &sim), FF_OK);
    if (!sim) return;
    uint8_t *obs = malloc(n * 64), term[64], trunc[64];
    float rew[64];
    int64_t act[64];
    uint64_t seeds[64], rng = 99;
    for (size_t i = 0; i < n; i++) seeds[i] = 500 + i;
    FF_CHECK_EQ(ff_sim_reset(sim, seeds, NULL, n, obs), FF_OK);
    int bad = 0, checked = 0;
    for (int step = 0; step < 300 && !bad; step++) {
        for (size_t i = 0; i < n; i++) act[i] = (int64_t)ff_rng_below(&rng, 9);
        FF_CHECK_EQ(ff_sim_step(sim, act, obs, rew, term, trunc, FF_AUTORESET_NEXT_STEP, NULL, NULL,
                                NULL, NULL, NULL), FF_OK);
        for (size_t i = 0; i < n && !bad; i++) {
            const ff_env_t *env = &sim->envs[i];
            const ff_world_t *wd = env->world;
            uint16_t want[16], got[16];
            expected_rows(env, wd->px >> 8, wd->py >> 8, want);
            memcpy(got, obs + i * 64, 32); /* little-endian host (ff_common.h) */
            if (memcmp(want, got, 32)) {
                fprintf(stderr, "movement rows differ: step %d env %zu\n", step, i);
                bad = 1;
            }
            checked++;
        }
    }
    FF_CHECK_EQ(bad, 0);
    FF_CHECK_EQ(checked, 300 * 64);
    free(obs);
    ff_sim_destroy(sim);
}

/* An out-of-range action anywhere in the batch: FF_ERANGE naming it, and no env moved. */
FF_TEST(test_bad_action_changes_nothing) {
    const size_t n = 8;
    ff_sim_t *sim = NULL;
    FF_CHECK_EQ(ff_sim_create(FF_SCEN_BUILDING, n, NULL, &sim), FF_OK);
    if (!sim) return;
    uint8_t *obs = malloc(n * 512), term[8], trunc[8];
    float rew[8];
    int64_t act[8 * 3] = {0};
    uint64_t seeds[8] = {1, 2, 3, 4, 5, 6, 7, 8}, ticks0[8], ticks1[8];
    int32_t pos0[16], pos1[16];
    FF_CHECK_EQ(ff_sim_reset(sim, seeds, NULL, n, obs), FF_OK);
    for (size_t i = 0; i < n; i++) act[3 * i] = 3; /* walk east */
    act[3 * 5 + 2] = 9;                            /* dy + 4 = 9: out of 0..8 */
    FF_CHECK_EQ(ff_sim_positions(sim, pos0), FF_OK);
    FF_CHECK_EQ(ff_sim_ticks(sim, ticks0), FF_OK);
    size_t bad_env = 0;
    int32_t bad_dim = 0;
    int64_t bad_value = 0;
    FF_CHECK_EQ(ff_sim_step(sim, act, obs, rew, term, trunc, FF_AUTORESET_NEXT_STEP, NULL, NULL,
                            &bad_env, &bad_dim, &bad_value), FF_ERANGE);
    FF_CHECK_EQ(bad_env, 5);
    FF_CHECK_EQ(bad_dim, 2);
    FF_CHECK_EQ(bad_value, 9);
    FF_CHECK_EQ(ff_sim_positions(sim, pos1), FF_OK);
    FF_CHECK_EQ(ff_sim_ticks(sim, ticks1), FF_OK);
    FF_CHECK(!memcmp(pos0, pos1, sizeof pos0));
    FF_CHECK(!memcmp(ticks0, ticks1, sizeof ticks0));
    act[3 * 5 + 2] = 4;
    FF_CHECK_EQ(ff_sim_step(sim, act, obs, rew, term, trunc, FF_AUTORESET_NEXT_STEP, NULL, NULL,
                            NULL, NULL, NULL), FF_OK);
    FF_CHECK_EQ(ff_sim_ticks(sim, ticks1), FF_OK);
    for (size_t i = 0; i < n; i++) FF_CHECK_EQ(ticks1[i], ticks0[i] + 10);
    free(obs);
    ff_sim_destroy(sim);
}

/* The slides take a building's half extent in the engine's 1/256 fixed point, trunc(h * 256);
 * ff_half256 derives it from the world's 1/1280 value round(h * 1280). Holds for every entity. */
#define FF_HALF_CHECK(id, name, kind, half, blocks, fp) \
    FF_CHECK_EQ(ff_half256((int32_t)((half) * 1280.0 + 0.5)), (int32_t)((half) * 256.0));
FF_TEST(test_half_extents_in_1_256) { FF_ENTITIES(FF_HALF_CHECK) }
#undef FF_HALF_CHECK

int main(void) {
    FF_RUN(test_sim_info_has_the_effective_parameters);
    FF_RUN(test_movement_observation_rows_match_the_bits);
    FF_RUN(test_bad_action_changes_nothing);
    FF_RUN(test_half_extents_in_1_256);
    return FF_TEST_SUMMARY();
}
