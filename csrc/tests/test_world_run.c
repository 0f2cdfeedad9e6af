/*
 * test_world_run.c - ff_world_run(wd, n) must leave exactly the state of n ff_world_tick calls.
 *
 * Differential fuzz: random small worlds (walkable tiles of several speeds, water, chests,
 * furnaces, drills, belts in the four directions, ore), a random character state (position,
 * walking direction, mining target, craft queue, inventory up to full), then the same world
 * advanced both ways and compared byte for byte (struct fields and both grids).
 */
#include <stddef.h>
#include <stdlib.h>

#include "ff_sim.h"
#include "ff_test.h"
#include "ff_world.h"

static void clone_world(ff_world_t *dst, const ff_world_t *src) {
    uint8_t *t = dst->tile, *r = dst->resg;
    memcpy(dst, src, sizeof *dst);
    dst->tile = t;
    dst->resg = r;
    size_t n = (size_t)src->w * (size_t)src->h;
    memcpy(dst->tile, src->tile, n);
    memcpy(dst->resg, src->resg, n);
}

static int same_world(const ff_world_t *a, const ff_world_t *b) {
    size_t n = (size_t)a->w * (size_t)a->h;
    ff_world_t sa, sb; /* every byte of the struct but the grid pointers */
    memcpy(&sa, a, sizeof sa);
    memcpy(&sb, b, sizeof sb);
    sa.tile = sb.tile = NULL;
    sa.resg = sb.resg = NULL;
    return !memcmp(&sa, &sb, sizeof sa) && !memcmp(a->tile, b->tile, n) &&
           !memcmp(a->resg, b->resg, n);
}

static void random_world(ff_world_t *wd, uint64_t *rng) {
    static const uint8_t ground[] = {1, 1, 1, 1, 2, 5, 6, 7, 9, 10};
    int32_t w = wd->w, h = wd->h;
    int dense = (int)ff_rng_below(rng, 4); /* 0: open field ... 3: crowded */
    ff_world_clear(wd, FF_TILE_GRASS);
    int patches = (int)ff_rng_below(rng, 3);
    for (int p = 0; p < patches; p++) { /* speed patches: same-id stretches and borders */
        int32_t x0 = (int32_t)ff_rng_below(rng, (uint32_t)w), y0 = (int32_t)ff_rng_below(rng, (uint32_t)h);
        int32_t sx = 1 + (int32_t)ff_rng_below(rng, 6), sy = 1 + (int32_t)ff_rng_below(rng, 6);
        uint8_t t = ground[ff_rng_below(rng, sizeof ground)];
        for (int32_t y = y0; y < y0 + sy && y < h; y++)
            for (int32_t x = x0; x < x0 + sx && x < w; x++) ff_world_set_tile(wd, x, y, t);
    }
    int nwater = (int)ff_rng_below(rng, 1 + 6 * dense);
    for (int i = 0; i < nwater; i++)
        ff_world_set_tile(wd, (int32_t)ff_rng_below(rng, (uint32_t)w), (int32_t)ff_rng_below(rng, (uint32_t)h),
                          (uint8_t)(11 + ff_rng_below(rng, 4)));
    /* ponds and strips of 1..3 x 1..3: every transition class (FULL, the four triangles, free
     * strips), so the tile slide's both branches meet the shortcuts */
    int nponds = (int)ff_rng_below(rng, 1 + 3 * dense);
    for (int i = 0; i < nponds; i++) {
        int32_t x0 = (int32_t)ff_rng_below(rng, (uint32_t)w), y0 = (int32_t)ff_rng_below(rng, (uint32_t)h);
        int32_t sx = 1 + (int32_t)ff_rng_below(rng, 3), sy = 1 + (int32_t)ff_rng_below(rng, 3);
        uint8_t t = (uint8_t)(11 + ff_rng_below(rng, 4));
        for (int32_t y = y0; y < y0 + sy && y < h; y++)
            for (int32_t x = x0; x < x0 + sx && x < w; x++) ff_world_set_tile(wd, x, y, t);
    }
    int nres = (int)ff_rng_below(rng, 30);
    for (int i = 0; i < nres; i++)
        ff_world_add_resource(wd, (int32_t)ff_rng_below(rng, (uint32_t)w), (int32_t)ff_rng_below(rng, (uint32_t)h),
                              (uint8_t)(1 + ff_rng_below(rng, 4)), (uint16_t)(1 + ff_rng_below(rng, 3)));
    int nb = (int)ff_rng_below(rng, 1 + 5 * dense);
    for (int i = 0; i < nb; i++) {
        static const uint8_t ents[] = {FF_ENT_WOODEN_CHEST, FF_ENT_STONE_FURNACE, FF_ENT_BURNER_DRILL,
                                       FF_ENT_BELT, FF_ENT_BELT};
        uint8_t e = ents[ff_rng_below(rng, sizeof ents)];
        int32_t idx = -1;
        uint8_t dir = e == FF_ENT_BELT ? (uint8_t)(2 * ff_rng_below(rng, 4)) : 0;
        if (ff_world_add_building(wd, e, (int32_t)ff_rng_below(rng, (uint32_t)w),
                                  (int32_t)ff_rng_below(rng, (uint32_t)h), dir, &idx) == FF_OK) {
            ff_building_t *b = &wd->bld[idx];
            b->fuel = (uint16_t)ff_rng_below(rng, 3);
            b->heat = (double)ff_rng_below(rng, 2700);
            b->burning = ff_rng_below(rng, 2) ? (double)ff_rng_below(rng, 5000) : 0.0;
            b->work = e == FF_ENT_STONE_FURNACE ? 3.3 * (double)ff_rng_below(rng, 100) / 100.0
                                                : (double)ff_rng_below(rng, 100) / 100.0;
            b->src = e == FF_ENT_STONE_FURNACE ? (uint16_t)ff_rng_below(rng, 3)
                   : e == FF_ENT_BURNER_DRILL && ff_rng_below(rng, 3) == 0 ? FF_ITEM_IRON_ORE : 0;
            b->out = e == FF_ENT_STONE_FURNACE && ff_rng_below(rng, 4) == 0 ? FF_FURNACE_OUT_MAX : 0;
            if (e == FF_ENT_BURNER_DRILL && ff_rng_below(rng, 2)) { /* a furnace to feed, above */
                int32_t fi = -1;
                if (ff_world_add_building(wd, FF_ENT_STONE_FURNACE, b->tx, (int32_t)b->ty - 2, 0, &fi) == FF_OK) {
                    wd->bld[fi].fuel = (uint16_t)ff_rng_below(rng, 2);
                    wd->bld[fi].src = (uint16_t)(ff_rng_below(rng, 2) ? FF_ENTITY_SLOT_MAX : 0);
                }
            }
            b->progress = (uint16_t)(e == FF_ENT_BURNER_DRILL ? ff_rng_below(rng, 240)
                                     : e == FF_ENT_STONE_FURNACE ? ff_rng_below(rng, 192) : 0);
        }
    }
    /* character: anywhere, or near the centre of a tile */
    int32_t px = (int32_t)ff_rng_below(rng, (uint32_t)(w * 256));
    int32_t py = (int32_t)ff_rng_below(rng, (uint32_t)(h * 256));
    if (ff_rng_below(rng, 2)) { px = (px & ~255) + 128; py = (py & ~255) + 128; }
    wd->px = px;
    wd->py = py;
    wd->walk_dir = (int8_t)((int32_t)ff_rng_below(rng, 10) - 2); /* -2 -> treated as standing */
    if (wd->walk_dir < -1) wd->walk_dir = -1;
    if (ff_rng_below(rng, 2)) {
        int32_t mx = (px >> 8) + (int32_t)ff_rng_below(rng, 5) - 2, my = (py >> 8) + (int32_t)ff_rng_below(rng, 5) - 2;
        if (nres && ff_rng_below(rng, 2)) {
            const ff_resource_t *r = &wd->res[ff_rng_below(rng, wd->n_res ? wd->n_res : 1)];
            mx = r->tx;
            my = r->ty;
        }
        ff_world_set_mining(wd, 1, mx, my);
        wd->mine_progress = (uint16_t)ff_rng_below(rng, 121);
    }
    for (int i = 1; i < FF_NUM_ITEMS; i++)
        if (ff_rng_below(rng, 3) == 0) wd->inv[i] = (uint16_t)ff_rng_below(rng, 40);
    if (ff_rng_below(rng, 6) == 0) wd->inv[FF_ITEM_STONE] = 50 * 78; /* nearly full inventory */
    if (ff_rng_below(rng, 3) == 0) {
        int32_t started = 0;
        ff_world_craft(wd, (int32_t)ff_rng_below(rng, FF_NUM_RECIPES), 1 + (int32_t)ff_rng_below(rng, 3), &started);
        wd->craft_progress = (uint16_t)ff_rng_below(rng, 30);
    }
}

FF_TEST(test_world_run_matches_ticks) {
    uint64_t rng = 12345;
    int mismatches = 0;
    for (int it = 0; it < 30000 && mismatches < 5; it++) {
        int32_t side = 4 + (int32_t)ff_rng_below(&rng, 30);
        ff_world_t *a = NULL, *b = NULL;
        FF_CHECK_EQ(ff_world_create(side, side, FF_TILE_GRASS, &a), FF_OK);
        FF_CHECK_EQ(ff_world_create(side, side, FF_TILE_GRASS, &b), FF_OK);
        random_world(a, &rng);
        for (int step = 0; step < 6; step++) {
            clone_world(b, a);
            int32_t n = 1 + (int32_t)ff_rng_below(&rng, 40);
            ff_world_run(a, n);
            for (int32_t t = 0; t < n; t++) ff_world_tick(b);
            if (!same_world(a, b)) {
                fprintf(stderr, "world_run mismatch: iteration %d step %d n %d\n", it, step, n);
                mismatches++;
                break;
            }
            if (ff_rng_below(&rng, 3) == 0) /* change course as an agent would */
                a->walk_dir = (int8_t)((int32_t)ff_rng_below(&rng, 9) - 1);
        }
        ff_world_destroy(a);
        ff_world_destroy(b);
    }
    FF_CHECK_EQ(mismatches, 0);
}

/* The machine counter that lets ticks skip the machine loops follows the buildings placed. */
FF_TEST(test_world_machine_count) {
    ff_world_t *wd = NULL;
    FF_CHECK_EQ(ff_world_create(16, 16, FF_TILE_GRASS, &wd), FF_OK);
    FF_CHECK_EQ(wd->n_machines, 0);
    FF_CHECK_EQ(ff_world_add_building(wd, FF_ENT_WOODEN_CHEST, 1, 1, 0, NULL), FF_OK);
    FF_CHECK_EQ(ff_world_add_building(wd, FF_ENT_BELT, 2, 1, 0, NULL), FF_OK);
    FF_CHECK_EQ(wd->n_machines, 0);
    FF_CHECK_EQ(ff_world_add_building(wd, FF_ENT_STONE_FURNACE, 4, 4, 0, NULL), FF_OK);
    FF_CHECK_EQ(ff_world_add_building(wd, FF_ENT_BURNER_DRILL, 8, 8, 0, NULL), FF_OK);
    FF_CHECK_EQ(wd->n_machines, 2);
    ff_world_clear(wd, FF_TILE_GRASS);
    FF_CHECK_EQ(wd->n_machines, 0);
    ff_world_destroy(wd);
}

/* ff_world_clear writes only the used resource / building entries (and resg only if used): the
 * result is byte for byte a freshly created world (but map_version), after random worlds, clears
 * to other tiles, and resources mined out. */
FF_TEST(test_world_clear_matches_fresh) {
    uint64_t rng = 777;
    int bad = 0;
    for (int it = 0; it < 3000 && !bad; it++) {
        int32_t w = 1 + (int32_t)ff_rng_below(&rng, 128), h = 1 + (int32_t)ff_rng_below(&rng, 128);
        ff_world_t *a = NULL, *fresh = NULL;
        FF_CHECK_EQ(ff_world_create(w, h, FF_TILE_GRASS, &a), FF_OK);
        FF_CHECK_EQ(ff_world_create(w, h, FF_TILE_GRASS, &fresh), FF_OK);
        for (int round = 0; round < 3; round++) {
            if (ff_rng_below(&rng, 4) == 0) ff_world_clear(a, (uint8_t)(2 + ff_rng_below(&rng, 8)));
            if (w >= 4 && h >= 4) random_world(a, &rng); /* starts with its own clear to grass */
            for (int32_t t = 0; t < (int32_t)ff_rng_below(&rng, 300); t++) ff_world_tick(a);
        }
        uint32_t v = a->map_version;
        ff_world_clear(a, FF_TILE_GRASS);
        if (a->map_version == v) bad = 1;
        fresh->map_version = a->map_version;
        if (!same_world(a, fresh)) {
            fprintf(stderr, "sparse clear mismatch: %dx%d, iteration %d\n", w, h, it);
            bad = 1;
        }
        /* the arrays past the counts too (same_world covers the whole struct) */
        ff_world_destroy(a);
        ff_world_destroy(fresh);
    }
    FF_CHECK_EQ(bad, 0);
}

/* movement_micro's own walk (ff_movement_walk, on the env's bits) against plain ticks of a copy
 * of each env's world, for several ticks_per_step and obstacle counts, with the character moved
 * anywhere and the map edited between steps. */
FF_TEST(test_movement_step_matches_ticks) {
    static const int32_t tps[] = {1, 3, 8, 37, 600};
    static const int32_t obst[] = {0, 24, 200};
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 3; b++) {
            const size_t n = 32;
            ff_sim_params_t p = {tps[a], obst[b], -1};
            ff_sim_t *sim = NULL;
            FF_CHECK_EQ(ff_sim_create(FF_SCEN_MOVEMENT, n, &p, &sim), FF_OK);
            if (!sim) continue;
            uint8_t obs[32 * 64], term[32], trunc[32];
            float rew[32];
            uint64_t seeds[32];
            int64_t act[32];
            for (size_t i = 0; i < n; i++) seeds[i] = 77 + i + 1000 * (uint64_t)(a * 3 + b);
            FF_CHECK_EQ(ff_sim_reset(sim, seeds, NULL, n, obs), FF_OK);
            ff_world_t *copy[32];
            for (size_t i = 0; i < n; i++) {
                FF_CHECK_EQ(ff_world_create(32, 32, FF_TILE_GRASS, &copy[i]), FF_OK);
                clone_world(copy[i], ff_sim_world(sim, i));
            }
            uint64_t rng = 5 + (uint64_t)a;
            int bad = 0;
            for (int step = 0; step < 150 && !bad; step++) {
                for (size_t i = 0; i < n; i++) act[i] = (int64_t)ff_rng_below(&rng, 9);
                FF_CHECK_EQ(ff_sim_step(sim, act, obs, rew, term, trunc, FF_AUTORESET_SAME_STEP,
                                        obs, term, NULL, NULL, NULL), FF_OK);
                for (size_t i = 0; i < n; i++) {
                    ff_world_t *w = ff_sim_world(sim, i);
                    if (term[i]) { clone_world(copy[i], w); continue; } /* final_mask: reset */
                    ff_world_set_walking(copy[i], (int32_t)act[i] - 1);
                    ff_world_set_mining(copy[i], 0, 0, 0);
                    for (int32_t t = 0; t < tps[a]; t++) ff_world_tick(copy[i]);
                    if (!same_world(copy[i], w)) {
                        fprintf(stderr, "movement step mismatch: tps %d obstacles %d step %d env %zu\n",
                                tps[a], obst[b], step, i);
                        bad = 1;
                        break;
                    }
                }
                /* Perturb some envs, the same way in both worlds: the character anywhere in
                 * the map (against chests, on water or a chest tile, out of reach of tile
                 * centres), or a map edit through the world API (a water tile, a chest, a belt),
                 * which the env's cached bits must notice (map_version). */
                static const uint8_t tiles[] = {FF_TILE_WATER, FF_TILE_WATER, FF_TILE_GRASS, FF_TILE_GRASS,
                                                0, 12, 13, 14, 2, 5};
                for (size_t i = 0; i < n && !bad; i++) {
                    ff_world_t *w = ff_sim_world(sim, i);
                    uint32_t what = ff_rng_below(&rng, 16);
                    int32_t x = (int32_t)ff_rng_below(&rng, 32), y = (int32_t)ff_rng_below(&rng, 32);
                    if (what < 3) { /* in the map, near it (off the edge), or far out */
                        int32_t span = what == 2 && ff_rng_below(&rng, 4) == 0 ? (1 << 21) : 38 * 256;
                        int32_t off = span == 38 * 256 ? 3 * 256 : (1 << 20);
                        if (what == 0) { span = 32 * 256; off = 0; }
                        int32_t px = (int32_t)ff_rng_below(&rng, (uint32_t)span) - off;
                        int32_t py = (int32_t)ff_rng_below(&rng, (uint32_t)span) - off;
                        FF_CHECK_EQ(ff_world_set_position(w, px, py), ff_world_set_position(copy[i], px, py));
                    } else if (what == 3) { /* blocking ids, walkable non-grass, back to grass */
                        uint8_t t = tiles[ff_rng_below(&rng, sizeof tiles)];
                        FF_CHECK_EQ(ff_world_set_tile(w, x, y, t), ff_world_set_tile(copy[i], x, y, t));
                    } else if (what == 4 && ff_rng_below(&rng, 4) == 0) {
                        uint8_t e = ff_rng_below(&rng, 3) ? FF_ENT_WOODEN_CHEST : FF_ENT_BELT;
                        FF_CHECK_EQ(ff_world_add_building(w, e, x, y, 0, NULL), ff_world_add_building(copy[i], e, x, y, 0, NULL));
                    } else if (what == 5 && ff_rng_below(&rng, 4) == 0) {
                        FF_CHECK_EQ(ff_world_add_resource(w, x, y, FF_ENT_IRON_ORE, 5),
                                    ff_world_add_resource(copy[i], x, y, FF_ENT_IRON_ORE, 5));
                    }
                    if (!same_world(copy[i], w)) bad = 1;
                    /* Every other step the next ff_sim_step meets the edit first (it must notice
                     * it by itself); otherwise the observation's 16x16 blocked bits are checked
                     * against the world's tiles now. */
                    if (step & 1) continue;
                    uint8_t o[64];
                    FF_CHECK_EQ(ff_sim_observe(sim, i, o), FF_OK);
                    int32_t tx = w->px >> 8, ty = w->py >> 8;
                    for (int r = 0; r < 16; r++)
                        for (int c = 0; c < 16; c++) {
                            int32_t gx = tx + c - 8, gy = ty + r - 8;
                            uint8_t t = 0;
                            /* the tile blocks the centre at least in part (ff_world_tile_class) */
                            int blocked = ff_world_get_tile(w, gx, gy, &t) != FF_OK ||
                                          (w->tile[gy * w->w + gx] & FF_TILE_BUILDING) ||
                                          ff_world_tile_class(w, gx, gy) != FF_TCLS_FREE;
                            int bit = (o[2 * r + c / 8] >> (c % 8)) & 1;
                            if (bit != blocked) bad = 1;
                        }
                    if (bad) fprintf(stderr, "movement perturbation mismatch: step %d env %zu\n", step, i);
                }
            }
            FF_CHECK_EQ(bad, 0);
            for (size_t i = 0; i < n; i++) ff_world_destroy(copy[i]);
            ff_sim_destroy(sim);
        }
}


/* The fixed tick counts of ff_world.h are the engine's double sums (issue 12, item 3): the
 * first n with n additions of 0.5/60 > 1 (hand mining), of 1/60 >= energy_required (crafting). */
static int32_t ff_sum_ticks(double goal, double step, int strict) {
    double c = 0.0;
    int32_t n = 0;
    do {
        c += step;
        n++;
    } while (strict ? !(c > goal) : c < goal);
    return n;
}

FF_TEST(test_world_timer_counts_are_double_sums) {
    FF_CHECK_EQ(ff_sum_ticks(1.0, 0.5 / 60.0, 1), FF_HAND_MINING_TICKS);
    FF_CHECK_EQ(FF_HAND_MINING_TICKS, 121);
    static const double secs[FF_NUM_RECIPES] = {0.5, 0.5, 2.0, 0.5};
    for (int r = 0; r < FF_NUM_RECIPES; r++)
        FF_CHECK_EQ(ff_sum_ticks(secs[r], 1.0 / 60.0, 0), (int32_t)ff_recipe_table[r].ticks);
}

/* A fuelled burner drill feeding a fuelled furnace, both placed before tick 1: ores after 242
 * and 482 ticks, plates after 437 and 675 (the replay tool's model, issue 12 item 3). */
FF_TEST(test_world_drill_furnace_timeline) {
    ff_world_t *wd = NULL;
    FF_CHECK_EQ(ff_world_create(16, 16, FF_TILE_GRASS, &wd), FF_OK);
    int32_t di = -1, fi = -1;
    for (int y = 6; y < 8; y++)
        for (int x = 6; x < 8; x++) FF_CHECK_EQ(ff_world_add_resource(wd, x, y, FF_ENT_IRON_ORE, 100), FF_OK);
    FF_CHECK_EQ(ff_world_add_building(wd, FF_ENT_BURNER_DRILL, 6, 6, 0, &di), FF_OK);
    FF_CHECK_EQ(ff_world_add_building(wd, FF_ENT_STONE_FURNACE, 6, 4, 0, &fi), FF_OK);
    wd->bld[di].fuel = 5;
    wd->bld[fi].fuel = 5;
    int32_t ores[2] = {0, 0}, plates[2] = {0, 0};
    for (int32_t t = 1; t <= 700; t++) {
        uint32_t p = wd->bld[di].produced, s = wd->bld[fi].produced;
        ff_world_tick(wd);
        if (wd->bld[di].produced != p && p < 2) ores[p] = t;
        if (wd->bld[fi].produced != s && s < 2) plates[s] = t;
    }
    FF_CHECK_EQ(ores[0], 242);
    FF_CHECK_EQ(ores[1], 482);
    FF_CHECK_EQ(plates[0], 437);
    FF_CHECK_EQ(plates[1], 675);
    ff_world_destroy(wd);
}

int main(void) {
    FF_RUN(test_world_run_matches_ticks);
    FF_RUN(test_world_machine_count);
    FF_RUN(test_world_clear_matches_fresh);
    FF_RUN(test_movement_step_matches_ticks);
    FF_RUN(test_world_timer_counts_are_double_sums);
    FF_RUN(test_world_drill_furnace_timeline);
    return FF_TEST_SUMMARY();
}
