/*
 * ff_rawobs.h - the scenarios' observations, rewards and flags, built from an env's raw game
 * state (docs/mod.md).
 *
 * The Factorio mod (lua/) reports each env's raw state as the game has it: the character's
 * position, the inventory, hand-mining and crafting progress, the cells of a window around the
 * character read from the surface, the first buildings, a coarse resource map and a few counters.
 * This file turns that record into exactly the observation bytes, rewards and flags the native
 * simulator gives (docs/scenarios.md). The mod never encodes an observation; the bytes are
 * written by ff_obs_encode.h, the encoder the simulator's observe calls too, here with the
 * record's fields instead of the simulator world's.
 *
 * The env-level bookkeeping the game does not know (steps taken, last action, milestones, the
 * movement target, the counters at the previous step) is an ff_raw_ctx_t kept by the caller, one
 * per env, the counterpart of the simulator's ff_env_t.
 *
 * Wire form of one record (little-endian, FF_RAW_FIXED + 4 * side * side bytes):
 *    0 u16 env index           2 u8 scenario            3 u8 side (cells per window row)
 *    4 i32 px (1/256 tile)     8 i32 py                 12 u32 game tick (low 32 bits)
 *   16 u16 inventory[16] (count by item id)
 *   48 u16 hand-mining progress, ticks      50 u8 crafting recipe + 1 (0: queue empty)
 *   51 u8 crafting queue entries            52 u16 crafting progress, ticks
 *   54 u8 events (bit 0: the step's action placed a drill on iron ore)
 *   55 u8 buildings on the surface (saturating)
 *   56 u32 items crafted this episode       60 u32 plates smelted this episode
 *   64 u32 ores drills dropped into furnaces this episode
 *   68 u8 resource blocks[32]: the map in 8x8 blocks (block k = 8*by + bx, side map_w / 8),
 *      nibble k & 1 of byte k >> 1: bit 0 iron ore, 1 coal, 2 stone, 3 other
 *  100 8 x 14 B buildings, in creation order: u8 entity id (0: none), u8 flags (bit 0 burning,
 *      bit 1 a drill holds an ore it cannot drop, bits 4..7 a drill: the item id of the stack
 *      lying on the ground at its drop point, 0 none), i16 top-left tile x, i16 y, u16 fuel,
 *      u16 source (furnace: the source slot, without the ore being smelted; drill: the held
 *      ore's item id), u16 result, u16 progress (ticks)
 *  212 u32 cells[side * side]: the 32-bit cells (ff_codec.h) of the tiles from
 *      (tx - side/2, ty - side/2), row-major, where (tx, ty) is the character's tile
 *
 * A RAW frame's payload is a 16-byte header, then `count` records:
 *    0 u8 status (0 states follow, 1 step accepted, 2 step still running)   1 u8 scenario
 *    2 u16 count    4 u16 record bytes    6 u16 0    8 u32 game tick    12 u32 the step's end tick
 *
 * Scenario ids are the simulator's order (0 movement_micro, 1 mining_micro, 2 building_micro),
 * then 3 full_game, which only the real game plays (an ordinary map: positions are surface
 * coordinates, signed; the coarse resource map is unused). Its reward is the change of iron plates
 * in the inventory; it never terminates, and truncates at episode_steps.
 * Return codes: FF_OK, FF_EINVAL (NULL, bad scenario or size), FF_ELENGTH (a record or payload of
 * the wrong size), FF_ERANGE (a field outside its range: side, entity id, env index, an action).
 * No allocation; no state besides the caller's structs.
 */
#ifndef FF_RAWOBS_H
#define FF_RAWOBS_H

#include "ff_common.h"
#include "ff_layout.h"

#define FF_RAW_FIXED 212u
#define FF_RAW_MAX_SIDE 21 /* full_game's window */
#define FF_RAW_BUILDINGS 8
#define FF_RAW_PAYLOAD_HEADER 16u
#define FF_RAW_ITEMS 16

/* Frame types of the mod's wire (docs/mod.md), next to ff_frame.h's 1..5. */
#define FF_RAW_FRAME_WORLD 6
#define FF_RAW_FRAME_RAW 7

enum { FF_RAW_STATUS_STATES = 0, FF_RAW_STATUS_ACCEPTED = 1, FF_RAW_STATUS_PENDING = 2 };

enum { FF_RAW_MOVEMENT = 0, FF_RAW_MINING = 1, FF_RAW_BUILDING = 2, FF_RAW_FULL = 3, FF_RAW_SCENARIOS = 4 };

#define FF_RAW_MAX_OBS 1888 /* the largest observation (full_game) */

typedef struct ff_raw_building {
    uint8_t entity;
    uint8_t flags;
    int16_t tx, ty;
    uint16_t fuel, src, out, progress;
} ff_raw_building_t;

typedef struct ff_raw_state {
    uint16_t env;
    uint8_t scenario;
    uint8_t side;
    int32_t px, py;
    uint32_t tick;
    uint16_t inv[FF_RAW_ITEMS];
    uint16_t mine_ticks;
    uint8_t craft_recipe;
    uint8_t craft_entries;
    uint16_t craft_ticks;
    uint8_t events;
    uint8_t n_buildings;
    uint32_t crafted, smelted, fed;
    uint8_t res_blocks[32];
    ff_raw_building_t bld[FF_RAW_BUILDINGS];
    /* movement: the 16 rows of blocked bits (bit c of row r: tile (tx-8+c, ty-8+r) is a
     * blocking tile, off the map or under a building). ff_raw_parse fills them from the cells;
     * a caller with a bit map may fill them directly and set has_blocked. */
    uint8_t has_blocked;
    uint16_t blocked[16];
    uint32_t cells[FF_RAW_MAX_SIDE * FF_RAW_MAX_SIDE];
} ff_raw_state_t;

typedef struct ff_raw_ctx {
    uint32_t step;            /* steps taken in this episode */
    uint8_t last_action;
    uint8_t milestones;       /* building: bit0 drill on ore placed, bit1 drill fed a furnace */
    uint8_t pad[2];
    int32_t target_tx, target_ty; /* movement */
    int32_t prev_dist;        /* movement: L1 distance to the target centre, 1/256 tile */
    uint32_t prev_ore;        /* mining: iron ore in the inventory after the previous step */
    uint32_t base_ore;        /* mining: at the episode's start */
    uint32_t prev_crafted, prev_smelted, prev_fed, base_smelted;
    uint32_t prev_plates;     /* full_game: iron plates in the inventory after the previous step */
    int32_t px, py;           /* the character at the last state (targets of the next action) */
    int32_t phi;              /* shaped rewards: the last observation's potential (sim/ff_shaping.h) */
} ff_raw_ctx_t;

typedef struct ff_raw_params {
    int32_t scenario;
    int32_t episode_steps;
    int32_t goal;
    int32_t reward;           /* as ff_sim_params_t.reward: 0 (or 2) shaped, 1 sparse */
} ff_raw_params_t;

FF_EXTERN_C_BEGIN

/* Bytes of one record for a window of side x side cells; 0 for a bad side (1..21). */
size_t ff_raw_record_bytes(int32_t side);
/* The window side and observation bytes (<= FF_RAW_MAX_OBS) of a scenario; 0 if out of range. */
int32_t ff_raw_side(int32_t scenario);
int32_t ff_raw_obs_bytes(int32_t scenario);

/* Parse one wire record of n bytes into *out (blocked rows derived from the cells). */
int ff_raw_parse(const uint8_t *rec, size_t n, ff_raw_state_t *out);

/* Check a RAW payload's header: FF_OK and its fields, FF_ELENGTH if the size does not match. */
int ff_raw_payload_header(const uint8_t *p, size_t n, uint8_t *status, uint8_t *scenario,
                          uint16_t *count, uint16_t *record_bytes, uint32_t *tick,
                          uint32_t *end_tick);

/* Start an episode from its first state (env just reset): step 0, last action 0, milestones 0,
 * the counters' baselines. target: movement's target tile (ignored otherwise). */
int ff_raw_begin(const ff_raw_params_t *prm, ff_raw_ctx_t *ctx, const ff_raw_state_t *raw,
                 int32_t target_tx, int32_t target_ty);

/* One step: the action taken (action_dims int64) and the state after it. Updates ctx as the
 * simulator's step does and writes the reward and flags (terminated: the task's success;
 * truncated: episode_steps reached without it). */
int ff_raw_step(const ff_raw_params_t *prm, ff_raw_ctx_t *ctx, const int64_t *action,
                const ff_raw_state_t *raw, float *reward, uint8_t *terminated,
                uint8_t *truncated);

/* The observation bytes (obs_bytes of the scenario) of ctx and raw. */
int ff_raw_observe(const ff_raw_params_t *prm, const ff_raw_ctx_t *ctx, const ff_raw_state_t *raw,
                   uint8_t *obs);

/* The scenario action (checked against the action space: FF_ERANGE) as the FactorioAction the
 * mod executes (docs/scenarios.md), targets relative to the character at ctx->px, py. */
int ff_raw_action(const ff_raw_params_t *prm, const ff_raw_ctx_t *ctx, const int64_t *action,
                  ff_action_t *out);

FF_EXTERN_C_END

#endif /* FF_RAWOBS_H */
