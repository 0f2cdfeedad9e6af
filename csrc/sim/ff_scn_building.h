/*
 * ff_scn_building.h - building_micro: generation, step (the 20 action types), observation.
 * Byte layout: docs/scenarios.md; oracle: factorio_fast/_reference_sim.py. Static inline: part
 * of the one translation unit csrc/ff_sim.c.
 */
#ifndef FF_SCN_BUILDING_H
#define FF_SCN_BUILDING_H

#include <string.h>

#include "sim/ff_cells_window.h"
#include "sim/ff_scn_common.h"

static void ff_building_coarse(ff_env_t *env) {
    const ff_world_t *wd = env->world;
    memset(env->coarse4, 0, sizeof env->coarse4);
    for (int32_t i = 0; i < wd->n_res; i++) {
        const ff_resource_t *r = &wd->res[i];
        if (!r->type) continue;
        uint32_t bit = r->type == FF_ENT_IRON_ORE ? 1u : r->type == FF_ENT_COAL ? 2u
                     : r->type == FF_ENT_STONE ? 4u : 8u;
        int32_t blk = (r->ty >> 4) * 8 + (r->tx >> 4);
        env->coarse4[blk >> 1] |= (uint8_t)(bit << (4 * (blk & 1)));
    }
    env->seen_removed = wd->removed_total;
}

static void ff_patch(ff_world_t *wd, uint64_t *rng, int32_t cx, int32_t cy, int32_t rad,
                     uint8_t entity, uint32_t base, uint32_t spread) {
    for (int32_t y = cy - rad; y <= cy + rad; y++)
        for (int32_t x = cx - rad; x <= cx + rad; x++) {
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > rad * rad + 1) continue;
            uint16_t amount = (uint16_t)(base + ff_rng_below(rng, spread));
            if (x >= 0 && y >= 0 && x < wd->w && y < wd->h && !wd->resg[y * wd->w + x])
                ff_world_add_resource(wd, x, y, entity, amount);
        }
}

static void ff_building_generate(ff_sim_t *sim, ff_env_t *env) {
    ff_world_t *wd = env->world;
    uint64_t *rng = &env->rng;
    ff_world_clear(wd, FF_TILE_GRASS);
    int32_t cx = 48 + (int32_t)ff_rng_below(rng, 32), cy = 48 + (int32_t)ff_rng_below(rng, 32);
    /* iron 4..10 tiles away on x, coal and stone patches elsewhere near the start */
    /* One RNG draw per statement: the operands of `*` are unsequenced in C, so two draws in one
     * expression would make the world depend on the compiler (and break the Python oracle). */
    int32_t sign = ff_rng_below(rng, 2) ? 1 : -1;
    int32_t ix = cx + sign * (4 + (int32_t)ff_rng_below(rng, 7));
    int32_t iy = cy + (int32_t)ff_rng_below(rng, 13) - 6;
    ff_patch(wd, rng, ix, iy, 2 + (int32_t)ff_rng_below(rng, 2), FF_ENT_IRON_ORE, 200, 300);
    int32_t kx = cx + (int32_t)ff_rng_below(rng, 25) - 12;
    sign = ff_rng_below(rng, 2) ? 1 : -1;
    int32_t ky = cy + sign * (5 + (int32_t)ff_rng_below(rng, 6));
    ff_patch(wd, rng, kx, ky, 1 + (int32_t)ff_rng_below(rng, 2), FF_ENT_COAL, 100, 200);
    int32_t sx = cx + (int32_t)ff_rng_below(rng, 25) - 12;
    sign = ff_rng_below(rng, 2) ? 1 : -1;
    int32_t sy = cy + sign * (5 + (int32_t)ff_rng_below(rng, 6));
    ff_patch(wd, rng, sx, sy, 1 + (int32_t)ff_rng_below(rng, 2), FF_ENT_STONE, 100, 200);
    for (int32_t i = 0; i < sim->info.obstacles; i++) { /* 3x3 ponds inside the 128x128 map */
        int32_t x = (int32_t)ff_rng_below(rng, 126), y = (int32_t)ff_rng_below(rng, 126);
        /* none within 2 tiles of the start */
        if (x <= cx + 2 && x + 2 >= cx - 2 && y <= cy + 2 && y + 2 >= cy - 2) continue;
        ff_pond(wd, x, y);
    }
    if (!ff_free_tile(wd, cx, cy)) { /* the start sits on a patch: move to a free tile */
        ff_pick_free(wd, rng, &cx, &cy);
    }
    wd->px = cx * 256 + 128;
    wd->py = cy * 256 + 128;
    wd->inv[FF_ITEM_IRON_PLATE] = 12;
    wd->inv[FF_ITEM_STONE] = 10;
    wd->inv[FF_ITEM_COAL] = 8;
    ff_building_coarse(env);
}

/* The map part is the world's window (ff_cells_window, read straight into o); the rest is the
 * shared encoder's (ff_obs_encode.h), as for the mod's records (ff_rawobs.c). Returns the
 * window's ore distance (ff_cells_window) for the shaping. */
static int32_t ff_building_observe(ff_env_t *env, uint8_t *o) {
    const ff_world_t *wd = env->world;
    if (env->seen_removed != wd->removed_total) ff_building_coarse(env);
    int32_t ore_d = ff_cells_window(wd, FF_OBS_BUILDING_SIDE, o);
    const ff_obs_building_t f = {
        wd->inv, wd->px, wd->py, wd->cq_len ? (uint8_t)(wd->cq_recipe[wd->cq_head] + 1) : 0,
        wd->cq_len, wd->craft_progress, env->step, env->last_action, env->milestones,
        (int32_t)(wd->smelted_total - env->base_smelted), wd->mine_progress, env->coarse4};
    ff_obs_building(o, &f);
    int32_t tx = wd->px >> 8, ty = wd->py >> 8;
    for (int k = 0; k < FF_OBS_BUILDING_NSLOTS; k++) {
        if (k >= wd->n_bld) {
            ff_obs_slot_empty(FF_OBS_BUILDING_SLOT(o, k));
            continue;
        }
        const ff_building_t *b = &wd->bld[k];
        uint32_t flags = (b->heat > 0.0 || b->burning > 0.0 ? 1u : 0u) | (b->type == FF_ENT_BURNER_DRILL && b->src ? 2u : 0u);
        if (b->type == FF_ENT_BURNER_DRILL && wd->n_ground) { /* the stack at its drop point */
            int32_t gi = ff_world_ground_at(wd, b->tx, (int32_t)b->ty - 1);
            if (gi >= 0) flags |= (uint32_t)wd->ground[gi].item << 4;
        }
        FF_OBS_SLOT(FF_OBS_BUILDING_SLOT(o, k), b->type, b->tx - tx, b->ty - ty, b->fuel, b->src,
                    b->out, b->progress, flags);
    }
    return ore_d;
}

static float ff_building_step(ff_sim_t *sim, ff_env_t *env, const int64_t *a, uint8_t *term) {
    ff_world_t *wd = env->world;
    int32_t code = (int32_t)a[0];
    int32_t tx = (wd->px >> 8) + (int32_t)a[1] - 4, ty = (wd->py >> 8) + (int32_t)a[2] - 4;
    uint32_t crafted0 = wd->crafted_total, smelted0 = wd->smelted_total;
    float r = 0.0f;
    int32_t n = 0, idx = -1;
    if (code <= 8) {
        wd->walk_dir = (int8_t)(code - 1);
        ff_world_set_mining(wd, 0, 0, 0);
    } else {
        wd->walk_dir = -1;
        if (code == FF_BA_MINE) ff_world_set_mining(wd, 1, tx, ty);
        else ff_world_set_mining(wd, 0, 0, 0);
        switch (code) {
        case FF_BA_CRAFT_GEAR: ff_world_craft(wd, FF_RECIPE_GEAR, 1, &n); break;
        case FF_BA_CRAFT_FURNACE: ff_world_craft(wd, FF_RECIPE_STONE_FURNACE, 1, &n); break;
        case FF_BA_CRAFT_DRILL: ff_world_craft(wd, FF_RECIPE_BURNER_DRILL, 1, &n); break;
        case FF_BA_CRAFT_BELT: ff_world_craft(wd, FF_RECIPE_BELT, 1, &n); break;
        case FF_BA_PLACE_DRILL:
            if (ff_world_place(wd, FF_ITEM_BURNER_DRILL, tx, ty, 0, &idx) == FF_OK &&
                !(env->milestones & 1)) {
                int onore = 0;
                for (int32_t y = ty; y < ty + 2; y++)
                    for (int32_t x = tx; x < tx + 2; x++) {
                        int32_t ri = wd->resg[y * wd->w + x];
                        onore |= ri && wd->res[ri - 1].type == FF_ENT_IRON_ORE;
                    }
                if (onore) { env->milestones |= 1; r += 1.0f; }
            }
            break;
        case FF_BA_PLACE_FURNACE: ff_world_place(wd, FF_ITEM_STONE_FURNACE, tx, ty, 0, &idx); break;
        case FF_BA_PLACE_BELT: ff_world_place(wd, FF_ITEM_BELT, tx, ty, 0, &idx); break;
        case FF_BA_INSERT_COAL: ff_world_insert(wd, tx, ty, FF_ITEM_COAL, 5, &n); break;
        case FF_BA_INSERT_ORE: ff_world_insert(wd, tx, ty, FF_ITEM_IRON_ORE, 5, &n); break;
        case FF_BA_TAKE_PLATES: ff_world_take(wd, tx, ty, &n); break;
        default: break;
        }
    }
    uint32_t fed0 = wd->fed_total;
    ff_world_run(wd, sim->info.ticks_per_step);
    if (wd->fed_total != fed0 && !(env->milestones & 2)) {
        env->milestones |= 2;
        r += 1.0f;
    }
    r += (float)(wd->crafted_total - crafted0) * 0.1f;
    r += (float)(wd->smelted_total - smelted0);
    if (wd->smelted_total - env->base_smelted >= (uint32_t)sim->info.goal) *term = 1;
    return r;
}

#endif /* FF_SCN_BUILDING_H */
