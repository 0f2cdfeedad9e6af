/* ff_rawobs.c - observations, rewards and flags from raw game state. Byte layouts: ff_rawobs.h
 * (the raw record) and ff_obs_encode.h (the observations: the simulator's encoder, called here
 * with the record's fields). The rewards and flags must equal the simulator's: each says which
 * of its step functions it matches. */
#include "ff_rawobs.h"

#include <string.h>

#include "ff_codec.h"
#include "ff_ids.h"
#include "ff_obs_encode.h"
#include "sim/ff_shaping.h"

static const int32_t ff_raw_sides[FF_RAW_SCENARIOS] = {FF_OBS_MOVEMENT_ROWS, FF_OBS_MINING_SIDE,
                                                      FF_OBS_BUILDING_SIDE, FF_OBS_FULL_SIDE};
static const int32_t ff_raw_obs[FF_RAW_SCENARIOS] = {FF_OBS_MOVEMENT_BYTES, FF_OBS_MINING_BYTES,
                                                    FF_OBS_BUILDING_BYTES, FF_OBS_FULL_BYTES};
/* full_game has building_micro's action set */
static const int32_t ff_raw_nvec[FF_RAW_SCENARIOS][3] = {{9, 0, 0}, {34, 0, 0}, {20, 9, 9}, {20, 9, 9}};
static const int32_t ff_raw_dims[FF_RAW_SCENARIOS] = {1, 1, 3, 3};

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

size_t ff_raw_record_bytes(int32_t side) {
    if (side < 1 || side > FF_RAW_MAX_SIDE) return 0;
    return FF_RAW_FIXED + 4u * (size_t)side * (size_t)side;
}

int32_t ff_raw_side(int32_t scenario) {
    return scenario >= 0 && scenario < FF_RAW_SCENARIOS ? ff_raw_sides[scenario] : 0;
}

int32_t ff_raw_obs_bytes(int32_t scenario) {
    return scenario >= 0 && scenario < FF_RAW_SCENARIOS ? ff_raw_obs[scenario] : 0;
}

/* A tile the character cannot walk on or through as ff_movement_bits sees it: a blocking tile
 * (bit 0 of the cell, set off the map too) or one under a building (the cell's entity is a
 * building or a belt: a building wins over a resource in the cell, ff_world_cell). */
static inline int cell_blocked(uint32_t cell) {
    uint32_t e = (cell >> FF_CELL_ENTITY_SHIFT) & 15u;
    uint8_t kind = ff_entity_table[e].kind;
    return (cell & 1u) || kind == FF_ENTITY_KIND_BUILDING || kind == FF_ENTITY_KIND_BELT;
}

int ff_raw_parse(const uint8_t *rec, size_t n, ff_raw_state_t *out) {
    if (!rec || !out) return FF_EINVAL;
    if (n < FF_RAW_FIXED) return FF_ELENGTH;
    int32_t side = rec[3];
    if (ff_raw_record_bytes(side) != n) return FF_ELENGTH;
    if (rec[2] >= FF_RAW_SCENARIOS) return FF_ERANGE;
    memset(out, 0, sizeof *out);
    out->env = rd16(rec);
    out->scenario = rec[2];
    out->side = (uint8_t)side;
    out->px = (int32_t)rd32(rec + 4);
    out->py = (int32_t)rd32(rec + 8);
    out->tick = rd32(rec + 12);
    for (int i = 0; i < FF_RAW_ITEMS; i++) out->inv[i] = rd16(rec + 16 + 2 * i);
    out->mine_ticks = rd16(rec + 48);
    out->craft_recipe = rec[50];
    out->craft_entries = rec[51];
    out->craft_ticks = rd16(rec + 52);
    out->events = rec[54];
    out->n_buildings = rec[55];
    out->crafted = rd32(rec + 56);
    out->smelted = rd32(rec + 60);
    out->fed = rd32(rec + 64);
    memcpy(out->res_blocks, rec + 68, 32);
    for (int k = 0; k < FF_RAW_BUILDINGS; k++) {
        const uint8_t *b = rec + 100 + 14 * k;
        ff_raw_building_t *o = &out->bld[k];
        if (b[0] >= FF_NUM_ENTITIES) return FF_ERANGE;
        o->entity = b[0];
        o->flags = b[1];
        o->tx = (int16_t)rd16(b + 2);
        o->ty = (int16_t)rd16(b + 4);
        o->fuel = rd16(b + 6);
        o->src = rd16(b + 8);
        o->out = rd16(b + 10);
        o->progress = rd16(b + 12);
    }
    const uint8_t *c = rec + FF_RAW_FIXED;
    for (int32_t i = 0; i < side * side; i++) {
        uint32_t cell = rd32(c + 4 * i);
        if ((cell & FF_CELL_RESERVED_MASK) || ((cell >> FF_CELL_ENTITY_SHIFT) & 15u) >= FF_NUM_ENTITIES)
            return FF_ERANGE;
        out->cells[i] = cell;
    }
    if (side == 16) {
        for (int r = 0; r < 16; r++) {
            uint32_t bits = 0;
            for (int col = 0; col < 16; col++) bits |= (uint32_t)cell_blocked(out->cells[r * 16 + col]) << col;
            out->blocked[r] = (uint16_t)bits;
        }
        out->has_blocked = 1;
    }
    return FF_OK;
}

int ff_raw_payload_header(const uint8_t *p, size_t n, uint8_t *status, uint8_t *scenario,
                          uint16_t *count, uint16_t *record_bytes, uint32_t *tick,
                          uint32_t *end_tick) {
    if (!p || !status || !scenario || !count || !record_bytes || !tick || !end_tick) return FF_EINVAL;
    if (n < FF_RAW_PAYLOAD_HEADER) return FF_ELENGTH;
    *status = p[0];
    *scenario = p[1];
    *count = rd16(p + 2);
    *record_bytes = rd16(p + 4);
    *tick = rd32(p + 8);
    *end_tick = rd32(p + 12);
    if (*status > FF_RAW_STATUS_PENDING || *scenario >= FF_RAW_SCENARIOS) return FF_ERANGE;
    if ((uint64_t)FF_RAW_PAYLOAD_HEADER + (uint64_t)*count * *record_bytes != n) return FF_ELENGTH;
    if (*count && ff_raw_record_bytes(ff_raw_sides[*scenario]) != *record_bytes) return FF_ELENGTH;
    return FF_OK;
}

/* sim/ff_shaping.h's rewards are on (mining, building unless reward is sparse) */
static int shaped(const ff_raw_params_t *prm) {
    return (prm->scenario == FF_RAW_MINING || prm->scenario == FF_RAW_BUILDING) &&
           prm->reward != FF_REWARD_SPARSE;
}

static int check_params(const ff_raw_params_t *prm) {
    return prm && prm->scenario >= 0 && prm->scenario < FF_RAW_SCENARIOS && prm->episode_steps > 0 &&
           prm->goal >= 0;
}

/* ff_movement_dist */
static inline int32_t movement_dist(const ff_raw_ctx_t *ctx, const ff_raw_state_t *raw) {
    return ff_abs32(ctx->target_tx * 256 + 128 - raw->px) + ff_abs32(ctx->target_ty * 256 + 128 - raw->py);
}

int ff_raw_begin(const ff_raw_params_t *prm, ff_raw_ctx_t *ctx, const ff_raw_state_t *raw,
                 int32_t target_tx, int32_t target_ty) {
    if (!check_params(prm) || !ctx || !raw) return FF_EINVAL;
    if (raw->scenario != prm->scenario) return FF_ERANGE;
    memset(ctx, 0, sizeof *ctx);
    /* ff_env_generate: step 0, last action 0, milestones 0, baselines of the counters */
    ctx->target_tx = target_tx;
    ctx->target_ty = target_ty;
    if (prm->scenario == FF_RAW_MOVEMENT) ctx->prev_dist = movement_dist(ctx, raw);
    ctx->prev_ore = ctx->base_ore = raw->inv[FF_ITEM_IRON_ORE];
    ctx->prev_crafted = raw->crafted;
    ctx->prev_smelted = ctx->base_smelted = raw->smelted;
    ctx->prev_fed = raw->fed;
    ctx->prev_plates = raw->inv[FF_ITEM_IRON_PLATE];
    ctx->px = raw->px;
    ctx->py = raw->py;
    if (shaped(prm)) { /* the first state's potential, as ff_env_generate */
        uint8_t o[FF_OBS_BUILDING_BYTES];
        int rc = ff_raw_observe(prm, ctx, raw, o);
        if (rc != FF_OK) return rc;
        ctx->phi = ff_shape_phi(prm->scenario, o);
    }
    return FF_OK;
}

int ff_raw_step(const ff_raw_params_t *prm, ff_raw_ctx_t *ctx, const int64_t *action,
                const ff_raw_state_t *raw, float *reward, uint8_t *terminated,
                uint8_t *truncated) {
    if (!check_params(prm) || !ctx || !action || !raw || !reward || !terminated || !truncated)
        return FF_EINVAL;
    if (raw->scenario != prm->scenario) return FF_ERANGE;
    /* ff_env_step */
    ctx->last_action = (uint8_t)action[0];
    ctx->step++;
    float r = 0.0f;
    uint8_t term = 0;
    switch (prm->scenario) {
    case FF_RAW_MOVEMENT: { /* ff_movement_step */
        int32_t d = movement_dist(ctx, raw);
        r = (float)(ctx->prev_dist - d) / 2560.0f;
        ctx->prev_dist = d;
        if ((raw->px >> 8) == ctx->target_tx && (raw->py >> 8) == ctx->target_ty) {
            term = 1;
            r = r + 1.0f;
        }
        break;
    }
    case FF_RAW_MINING: { /* ff_mining_step: the ores mined by hand are the ore inventory's gain
                           * (nothing else moves iron ore in this scenario) */
        uint32_t ore = raw->inv[FF_ITEM_IRON_ORE];
        r = (float)(ore - ctx->prev_ore);
        ctx->prev_ore = ore;
        if (ore - ctx->base_ore >= (uint32_t)prm->goal) term = 1;
        break;
    }
    case FF_RAW_FULL: { /* the default reward: iron plates gained (or lost) in the inventory */
        uint32_t plates = raw->inv[FF_ITEM_IRON_PLATE];
        r = (float)((int32_t)plates - (int32_t)ctx->prev_plates);
        ctx->prev_plates = plates;
        break;
    }
    default: { /* ff_building_step, in its order of float additions */
        if ((raw->events & 1u) && !(ctx->milestones & 1u)) {
            ctx->milestones |= 1u;
            r += 1.0f;
        }
        if (raw->fed != ctx->prev_fed && !(ctx->milestones & 2u)) {
            ctx->milestones |= 2u;
            r += 1.0f;
        }
        r += (float)(raw->crafted - ctx->prev_crafted) * 0.1f;
        r += (float)(raw->smelted - ctx->prev_smelted);
        ctx->prev_crafted = raw->crafted;
        ctx->prev_smelted = raw->smelted;
        ctx->prev_fed = raw->fed;
        if (raw->smelted - ctx->base_smelted >= (uint32_t)prm->goal) term = 1;
        break;
    }
    }
    ctx->px = raw->px;
    ctx->py = raw->py;
    if (shaped(prm)) { /* ff_step_batch: the potential of the observation this step returns */
        uint8_t o[FF_OBS_BUILDING_BYTES];
        int rc = ff_raw_observe(prm, ctx, raw, o);
        if (rc != FF_OK) return rc;
        int32_t phi = ff_shape_phi(prm->scenario, o);
        r += ff_shape_reward(prm->scenario, ctx->phi, phi);
        ctx->phi = phi;
    }
    *reward = r;
    *terminated = term;
    *truncated = (uint8_t)(!term && ctx->step >= (uint32_t)prm->episode_steps);
    return FF_OK;
}

/* The record's 8 buildings as the observation's slots (building_micro, full_game), relative to
 * the character's tile. */
static void put_slots(const ff_raw_state_t *raw, uint8_t *slots) {
    int32_t tx = raw->px >> 8, ty = raw->py >> 8;
    for (int k = 0; k < FF_RAW_BUILDINGS; k++) {
        const ff_raw_building_t *b = &raw->bld[k];
        uint8_t *p = slots + 8 * k;
        if (!b->entity) {
            ff_obs_slot_empty(p);
            continue;
        }
        /* record flag bits 2..3 are not the observation's */
        FF_OBS_SLOT(p, b->entity, b->tx - tx, b->ty - ty, b->fuel, b->src, b->out, b->progress,
                    b->flags & 0xF3u);
    }
}

/* The observation from the record's fields through the simulator's own encoder
 * (ff_obs_encode.h): only the map part is written here, from the record's packed cells (or the
 * blocked rows derived from them), because the simulator writes its map part from its grids. */
int ff_raw_observe(const ff_raw_params_t *prm, const ff_raw_ctx_t *ctx, const ff_raw_state_t *raw,
                   uint8_t *o) {
    if (!check_params(prm) || !ctx || !raw || !o) return FF_EINVAL;
    if (raw->scenario != prm->scenario || raw->side != ff_raw_sides[prm->scenario]) return FF_ERANGE;
    switch (prm->scenario) {
    case FF_RAW_MOVEMENT: {
        if (!raw->has_blocked) return FF_EINVAL;
        ff_obs_put_rows(o, raw->blocked);
        const ff_obs_movement_t f = {raw->px, raw->py, ctx->target_tx, ctx->target_ty, ctx->step,
                                     ctx->last_action};
        ff_obs_movement(o, &f);
        break;
    }
    case FF_RAW_MINING: {
        ff_obs_put_cells(o, raw->cells, FF_OBS_MINING_SIDE * FF_OBS_MINING_SIDE);
        const ff_obs_mining_t f = {raw->px, raw->py, raw->inv[FF_ITEM_IRON_ORE], raw->mine_ticks,
                                   ctx->step, ctx->last_action, ff_obs_coarse_bits(raw->res_blocks)};
        ff_obs_mining(o, &f);
        break;
    }
    case FF_RAW_FULL: {
        ff_obs_put_cells(o, raw->cells, FF_OBS_FULL_SIDE * FF_OBS_FULL_SIDE);
        const ff_obs_full_t f = {raw->inv, raw->px, raw->py, raw->mine_ticks, raw->craft_recipe,
                                 raw->craft_entries, raw->craft_ticks, ctx->step, ctx->last_action};
        ff_obs_full(o, &f);
        put_slots(raw, o + FF_OBS_FULL_SLOTS);
        break;
    }
    default: {
        ff_obs_put_cells(o, raw->cells, FF_OBS_BUILDING_SIDE * FF_OBS_BUILDING_SIDE);
        const ff_obs_building_t f = {raw->inv, raw->px, raw->py, raw->craft_recipe,
                                     raw->craft_entries, raw->craft_ticks, ctx->step,
                                     ctx->last_action, ctx->milestones,
                                     (int32_t)(raw->smelted - ctx->base_smelted), raw->mine_ticks,
                                     raw->res_blocks};
        ff_obs_building(o, &f);
        put_slots(raw, o + FF_OBS_BUILDING_SLOTS);
        break;
    }
    }
    return FF_OK;
}

/* docs/scenarios.md "Mapping onto the seed's FactorioAction" */
enum { FA_STAND = 0, FA_WALK = 1, FA_MINE = 2, FA_CRAFT = 3, FA_PLACE = 4, FA_INSERT = 5, FA_TAKE = 6 };

int ff_raw_action(const ff_raw_params_t *prm, const ff_raw_ctx_t *ctx, const int64_t *a,
                  ff_action_t *out) {
    if (!check_params(prm) || !ctx || !a || !out) return FF_EINVAL;
    int32_t s = prm->scenario;
    for (int d = 0; d < ff_raw_dims[s]; d++)
        if (a[d] < 0 || a[d] >= ff_raw_nvec[s][d]) return FF_ERANGE;
    memset(out, 0, sizeof *out);
    float *p = out->parameters;
    int32_t tx = ctx->px >> 8, ty = ctx->py >> 8, code = (int32_t)a[0];
    if (code >= 1 && code <= 8) { /* every scenario: walk d = code - 1, Factorio 2.0 direction 2d */
        out->action_type = FA_WALK;
        p[0] = (float)(2 * (code - 1));
        return FF_OK;
    }
    if (code == 0) return FF_OK; /* stand */
    if (s == FF_RAW_MOVEMENT) return FF_ERANGE;
    if (s == FF_RAW_MINING) { /* 9..33: the tile (tx + k%5 - 2, ty + k/5 - 2) */
        int32_t k = code - 9;
        out->action_type = FA_MINE;
        p[0] = (float)(tx + k % 5 - 2);
        p[1] = (float)(ty + k / 5 - 2);
        return FF_OK;
    }
    int32_t gx = tx + (int32_t)a[1] - 4, gy = ty + (int32_t)a[2] - 4;
    switch (code) {
    case 9: out->action_type = FA_MINE; p[0] = (float)gx; p[1] = (float)gy; break;
    case 10: case 11: case 12: case 13:
        out->action_type = FA_CRAFT;
        p[0] = (float)(code - 10);
        p[1] = 1.0f;
        break;
    case 14: case 15: case 16:
        out->action_type = FA_PLACE;
        p[0] = (float)(code == 14 ? FF_ITEM_BURNER_DRILL : code == 15 ? FF_ITEM_STONE_FURNACE : FF_ITEM_BELT);
        p[1] = (float)gx;
        p[2] = (float)gy;
        p[3] = 0.0f; /* north */
        break;
    case 17: case 18:
        out->action_type = FA_INSERT;
        p[0] = (float)(code == 17 ? FF_ITEM_COAL : FF_ITEM_IRON_ORE);
        p[1] = (float)gx;
        p[2] = (float)gy;
        p[3] = 5.0f;
        break;
    default:
        out->action_type = FA_TAKE;
        p[1] = (float)gx;
        p[2] = (float)gy;
        break;
    }
    return FF_OK;
}
