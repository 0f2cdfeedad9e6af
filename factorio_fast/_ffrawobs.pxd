# cython: language_level=3
# Declarations of csrc/ff_rawobs.h, 1:1.
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t

from factorio_fast._ffcore cimport ff_action_t


cdef extern from "ff_rawobs.h" nogil:
    enum:
        FF_RAW_FIXED
        FF_RAW_MAX_SIDE
        FF_RAW_BUILDINGS
        FF_RAW_PAYLOAD_HEADER
        FF_RAW_ITEMS
        FF_RAW_FRAME_WORLD
        FF_RAW_FRAME_RAW
        FF_RAW_STATUS_STATES
        FF_RAW_STATUS_ACCEPTED
        FF_RAW_STATUS_PENDING
        FF_RAW_SCENARIOS

    ctypedef struct ff_raw_building_t:
        uint8_t entity
        uint8_t flags
        int16_t tx
        int16_t ty
        uint16_t fuel
        uint16_t src
        uint16_t out
        uint16_t progress

    ctypedef struct ff_raw_state_t:
        uint16_t env
        uint8_t scenario
        uint8_t side
        int32_t px
        int32_t py
        uint32_t tick
        uint16_t inv[16]
        uint16_t mine_ticks
        uint8_t craft_recipe
        uint8_t craft_entries
        uint16_t craft_ticks
        uint8_t events
        uint8_t n_buildings
        uint32_t crafted
        uint32_t smelted
        uint32_t fed
        uint8_t res_blocks[32]
        ff_raw_building_t bld[8]
        uint8_t has_blocked
        uint16_t blocked[16]
        uint32_t cells[256]

    ctypedef struct ff_raw_ctx_t:
        uint32_t step
        uint8_t last_action
        uint8_t milestones
        int32_t target_tx
        int32_t target_ty
        int32_t prev_dist
        uint32_t prev_ore
        uint32_t base_ore
        uint32_t prev_crafted
        uint32_t prev_smelted
        uint32_t prev_fed
        uint32_t base_smelted
        int32_t px
        int32_t py
        int32_t phi

    ctypedef struct ff_raw_params_t:
        int32_t scenario
        int32_t episode_steps
        int32_t goal
        int32_t reward

    size_t ff_raw_record_bytes(int32_t side) noexcept
    int32_t ff_raw_side(int32_t scenario) noexcept
    int32_t ff_raw_obs_bytes(int32_t scenario) noexcept
    int ff_raw_parse(const uint8_t *rec, size_t n, ff_raw_state_t *out) noexcept
    int ff_raw_payload_header(const uint8_t *p, size_t n, uint8_t *status, uint8_t *scenario,
                              uint16_t *count, uint16_t *record_bytes, uint32_t *tick,
                              uint32_t *end_tick) noexcept
    int ff_raw_begin(const ff_raw_params_t *prm, ff_raw_ctx_t *ctx, const ff_raw_state_t *raw,
                     int32_t target_tx, int32_t target_ty) noexcept
    int ff_raw_step(const ff_raw_params_t *prm, ff_raw_ctx_t *ctx, const int64_t *action,
                    const ff_raw_state_t *raw, float *reward, uint8_t *terminated,
                    uint8_t *truncated) noexcept
    int ff_raw_observe(const ff_raw_params_t *prm, const ff_raw_ctx_t *ctx,
                       const ff_raw_state_t *raw, uint8_t *obs) noexcept
    int ff_raw_action(const ff_raw_params_t *prm, const ff_raw_ctx_t *ctx, const int64_t *action,
                      ff_action_t *out) noexcept
