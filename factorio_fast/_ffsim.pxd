# cython: language_level=3
# Declarations of csrc/ff_world.h and csrc/ff_sim.h, 1:1.
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef extern from "ff_world.h" nogil:
    enum:
        FF_WORLD_MAX_SIDE
        FF_WORLD_MAX_RESOURCES
        FF_WORLD_MAX_BUILDINGS
        FF_WORLD_CRAFT_QUEUE
        FF_WORLD_ITEMS
        FF_INVENTORY_SLOTS_MAIN
        FF_HAND_MINING_TICKS
        FF_DRILL_MINING_TICKS
        FF_SMELT_TICKS
        FF_TILE_ID_MASK
        FF_TILE_BUILDING
        FF_RECIPE_GEAR
        FF_RECIPE_STONE_FURNACE
        FF_RECIPE_BURNER_DRILL
        FF_RECIPE_BELT
        FF_NUM_RECIPES

    ctypedef struct ff_recipe_t:
        uint8_t in_item[3]
        uint8_t in_count[3]
        uint8_t out_item
        uint8_t out_count
        uint16_t ticks

    const ff_recipe_t ff_recipe_table[]
    const int32_t ff_walk_straight[]
    const int32_t ff_walk_diagonal[]
    const int8_t ff_dir_dx[8]
    const int8_t ff_dir_dy[8]

    ctypedef struct ff_resource_t:
        uint8_t type
        uint8_t tx
        uint8_t ty
        uint8_t pad
        uint16_t amount

    ctypedef struct ff_building_t:
        uint8_t type
        uint8_t tx
        uint8_t ty
        uint8_t dir
        int32_t cx
        int32_t cy
        int32_t half5
        uint16_t fuel
        uint16_t src
        uint16_t out
        uint16_t progress
        uint32_t produced
        double heat
        double burning
        double work
        double extra

    ctypedef struct ff_ground_t:
        uint8_t tx
        uint8_t ty
        uint8_t item
        uint8_t count

    ctypedef struct ff_world_t:
        int32_t w
        int32_t h
        uint64_t tick
        int32_t px
        int32_t py
        int8_t walk_dir
        uint8_t mining
        uint16_t mine_progress
        int32_t mine_tx
        int32_t mine_ty
        uint16_t inv[16]
        uint8_t cq_recipe[8]
        uint16_t cq_count[8]
        uint8_t cq_head
        uint8_t cq_len
        uint16_t craft_progress
        uint16_t n_res
        uint8_t n_bld
        uint32_t mined_total
        uint32_t crafted_total
        uint32_t removed_total
        uint32_t fed_total
        uint32_t smelted_total
        ff_resource_t res[255]
        ff_building_t bld[32]
        uint8_t n_ground
        ff_ground_t ground[32]
        uint8_t *tile
        uint8_t *resg

    size_t ff_world_bytes(int32_t w, int32_t h) noexcept
    int ff_world_init(ff_world_t *wd, int32_t w, int32_t h, uint8_t tile) noexcept
    void ff_world_clear(ff_world_t *wd, uint8_t tile) noexcept
    int ff_world_create(int32_t w, int32_t h, uint8_t tile, ff_world_t **out) noexcept
    void ff_world_destroy(ff_world_t *wd) noexcept
    int ff_world_set_tile(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t tile) noexcept
    int ff_world_get_tile(const ff_world_t *wd, int32_t tx, int32_t ty, uint8_t *tile) noexcept
    int ff_world_add_resource(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t entity,
                              uint16_t amount) noexcept
    int ff_world_add_building(ff_world_t *wd, uint8_t entity, int32_t tx, int32_t ty, uint8_t dir,
                              int32_t *index) noexcept
    int ff_world_set_walking(ff_world_t *wd, int32_t dir) noexcept
    int ff_world_set_mining(ff_world_t *wd, int mining, int32_t tx, int32_t ty) noexcept
    int ff_world_set_position(ff_world_t *wd, int32_t px, int32_t py) noexcept
    int ff_world_set_item(ff_world_t *wd, uint8_t item, uint16_t count) noexcept
    int ff_world_craft(ff_world_t *wd, int32_t recipe, int32_t count, int32_t *started) noexcept
    int ff_world_craftable(const ff_world_t *wd, int32_t recipe, int32_t count, int32_t *n) noexcept
    int ff_world_craft_entry(const ff_world_t *wd, int32_t i, int32_t *recipe, int32_t *count,
                             int32_t *prereq) noexcept
    int ff_world_craft_push(ff_world_t *wd, int32_t recipe, int32_t count, int32_t prereq) noexcept
    int ff_world_cancel_craft(ff_world_t *wd, int32_t i, int32_t count, int32_t *cancelled) noexcept
    int ff_world_place(ff_world_t *wd, uint8_t item, int32_t tx, int32_t ty, uint8_t dir,
                       int32_t *index) noexcept
    int32_t ff_world_building_at(const ff_world_t *wd, int32_t tx, int32_t ty) noexcept
    int ff_world_insert(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t item, int32_t count,
                        int32_t *moved) noexcept
    int ff_world_take(ff_world_t *wd, int32_t tx, int32_t ty, int32_t *moved) noexcept
    int32_t ff_world_ground_at(const ff_world_t *wd, int32_t tx, int32_t ty) noexcept
    void ff_ground_position(int32_t tx, int32_t ty, int32_t *x, int32_t *y) noexcept
    int ff_world_pick_ground(ff_world_t *wd, int32_t tx, int32_t ty, int check_reach,
                             int32_t *moved) noexcept
    int ff_world_remove_ground(ff_world_t *wd, int32_t tx, int32_t ty) noexcept
    int ff_world_add_ground(ff_world_t *wd, int32_t tx, int32_t ty, uint8_t item,
                            uint8_t count) noexcept
    void ff_world_tick(ff_world_t *wd) noexcept
    int ff_world_collides(const ff_world_t *wd, int32_t px, int32_t py) noexcept
    int ff_world_in_resource_reach(const ff_world_t *wd, int32_t tx, int32_t ty) noexcept
    int32_t ff_world_used_slots(const ff_world_t *wd) noexcept
    int32_t ff_world_can_insert(const ff_world_t *wd, uint8_t item) noexcept
    int32_t ff_world_insert_item(ff_world_t *wd, uint8_t item, int32_t n) noexcept
    uint32_t ff_world_cell(const ff_world_t *wd, int32_t tx, int32_t ty) noexcept
    int ff_world_cells(const ff_world_t *wd, uint32_t *out, size_t n) noexcept


cdef extern from "ff_sim.h" nogil:
    enum:
        FF_SCEN_MOVEMENT
        FF_SCEN_MINING
        FF_SCEN_BUILDING
        FF_NUM_SCENARIOS
        FF_AUTORESET_NEXT_STEP
        FF_AUTORESET_SAME_STEP
        FF_SIM_MAX_ACTION_DIMS

    ctypedef struct ff_scenario_info_t:
        const char *name
        int32_t map_w
        int32_t map_h
        int32_t obs_bytes
        int32_t episode_steps
        int32_t action_dims
        int32_t nvec[3]
        int32_t ticks_per_step
        int32_t obstacles
        int32_t max_obstacles
        int32_t goal
        int32_t target_sps

    ctypedef struct ff_sim_params_t:
        int32_t ticks_per_step
        int32_t obstacles
        int32_t goal
        int32_t reward

    ctypedef struct ff_sim_t:  # opaque (csrc/sim/ff_sim_env.h)
        pass

    const ff_scenario_info_t *ff_scenario_info(int32_t scenario) noexcept
    uint64_t ff_rng_next(uint64_t *s) noexcept
    uint32_t ff_rng_below(uint64_t *s, uint32_t n) noexcept
    int ff_sim_create(int32_t scenario, size_t num_envs, const ff_sim_params_t *params,
                      ff_sim_t **out) noexcept
    void ff_sim_destroy(ff_sim_t *sim) noexcept
    const ff_scenario_info_t *ff_sim_info(const ff_sim_t *sim) noexcept
    int ff_sim_reset(ff_sim_t *sim, const uint64_t *seeds, const int64_t *env_ids, size_t n,
                     uint8_t *obs) noexcept
    int ff_sim_check_actions(const ff_sim_t *sim, const int64_t *actions, size_t *bad_env,
                             int32_t *bad_dim, int64_t *bad_value) noexcept
    int ff_sim_step(ff_sim_t *sim, const int64_t *actions, uint8_t *obs, float *rewards,
                    uint8_t *terminated, uint8_t *truncated, int32_t autoreset,
                    uint8_t *final_obs, uint8_t *final_mask, size_t *bad_env, int32_t *bad_dim,
                    int64_t *bad_value) noexcept
    int ff_sim_positions(const ff_sim_t *sim, int32_t *out) noexcept
    int ff_sim_ticks(const ff_sim_t *sim, uint64_t *out) noexcept
    int ff_sim_inventories(const ff_sim_t *sim, uint16_t *out, size_t n_items) noexcept
    ff_world_t *ff_sim_world(ff_sim_t *sim, size_t i) noexcept
    int ff_sim_observe(ff_sim_t *sim, size_t i, uint8_t *out) noexcept
