# cython: language_level=3, boundscheck=False, wraparound=False
"""Observations, rewards and flags from the mod's raw game state (thin wrapper of
csrc/ff_rawobs.h; the record layout is in docs/mod.md).

``RawEncoder`` holds one env-level context per env (steps, last action, milestones, targets, the
counters of the previous step) and turns RAW frames from the mod into the same observation bytes,
rewards and flags as ``BatchSim``; it also maps scenario actions onto the FactorioAction records
the mod executes.
"""

import numpy as np

from factorio_fast.errors import InvalidArgumentError, ProtocolError

cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

from factorio_fast._ffcore cimport (
    FF_ACTION_SIZE,
    FF_NUM_ENTITIES,
    FF_OK,
    check,
    ff_action_t,
    ff_entity_table,
    ff_strerror,
)
from factorio_fast._ffrawobs cimport *

__all__ = ["RawEncoder", "SCENARIO_IDS", "FULL_GAME", "ENTITY_INFO", "RECORD_FIXED", "FRAME_WORLD",
           "FRAME_RAW", "STATUS_STATES", "STATUS_ACCEPTED", "STATUS_PENDING", "record_bytes",
           "window_side", "parse_payload"]

SCENARIO_IDS = {"movement_micro": 0, "mining_micro": 1, "building_micro": 2, "full_game": 3}
# full_game is the real game's only (the simulator has no ordinary map), so its defaults live
# here rather than in the simulator's table (docs/scenarios.md "full_game").
FULL_GAME = {"episode_steps": 1000, "ticks_per_step": 10, "obs_bytes": 1888, "nvec": (20, 9, 9),
             "window": 21}
RECORD_FIXED = FF_RAW_FIXED
FRAME_WORLD = FF_RAW_FRAME_WORLD
FRAME_RAW = FF_RAW_FRAME_RAW
STATUS_STATES = FF_RAW_STATUS_STATES
STATUS_ACCEPTED = FF_RAW_STATUS_ACCEPTED
STATUS_PENDING = FF_RAW_STATUS_PENDING
# (name, kind, collision half extent in tiles, blocks the character, footprint in tiles) by
# entity id, from csrc/ff_ids.h (kinds: 1 resource, 2 building, 3 belt, 4 character)
ENTITY_INFO = tuple(
    (ff_entity_table[i].name.decode(), ff_entity_table[i].kind, ff_entity_table[i].half_extent,
     bool(ff_entity_table[i].blocks_character), ff_entity_table[i].footprint)
    for i in range(FF_NUM_ENTITIES))


def record_bytes(int side):
    """Bytes of one raw record with a window of side x side cells."""
    n = ff_raw_record_bytes(side)
    if n == 0:
        raise InvalidArgumentError(f"window side must be 1..{FF_RAW_MAX_SIDE}, got {side}")
    return n


def window_side(scenario):
    """The side of a scenario's cell window (16, 7, 9, 21)."""
    return ff_raw_side(_scenario_id(scenario))


cdef int _scenario_id(scenario) except -1:
    if isinstance(scenario, str):
        if scenario not in SCENARIO_IDS:
            raise InvalidArgumentError(f"unknown scenario {scenario!r}")
        return SCENARIO_IDS[scenario]
    if not 0 <= int(scenario) < FF_RAW_SCENARIOS:
        raise InvalidArgumentError(f"scenario id must be 0..{FF_RAW_SCENARIOS - 1}")
    return int(scenario)


cdef tuple _header(const uint8_t[::1] p):
    cdef uint8_t status = 0, scen = 0
    cdef uint16_t count = 0, rb = 0
    cdef uint32_t tick = 0, end_tick = 0
    if p.shape[0] == 0:
        raise ProtocolError("empty RAW payload")
    _wire(ff_raw_payload_header(&p[0], p.shape[0], &status, &scen, &count, &rb, &tick,
                                &end_tick), "RAW payload")
    return status, scen, count, rb, tick, end_tick


cdef int _wire(int rc, str what) except -1:
    """A status from parsing bytes off the wire: anything but FF_OK is a malformed message."""
    if rc == FF_OK:
        return 0
    raise ProtocolError(f"{what}: {ff_strerror(rc).decode()}")


def parse_payload(payload):
    """A RAW payload as (header dict, list of record dicts): for tests and debugging."""
    cdef const uint8_t[::1] p = memoryview(payload).cast("B")
    status, scen, count, rb, tick, end_tick = _header(p)
    cdef ff_raw_state_t st
    recs = []
    cdef size_t off
    for k in range(count):
        off = FF_RAW_PAYLOAD_HEADER + k * rb
        _wire(ff_raw_parse(&p[off], rb, &st), f"RAW record {k}")
        side = st.side
        recs.append({
            "env": st.env, "scenario": st.scenario, "side": side, "px": st.px, "py": st.py,
            "tick": st.tick, "inventory": [st.inv[i] for i in range(16)],
            "mine_ticks": st.mine_ticks, "craft_recipe": st.craft_recipe,
            "craft_entries": st.craft_entries, "craft_ticks": st.craft_ticks,
            "events": st.events, "n_buildings": st.n_buildings, "crafted": st.crafted,
            "smelted": st.smelted, "fed": st.fed,
            "res_blocks": bytes([st.res_blocks[i] for i in range(32)]),
            "buildings": [(st.bld[i].entity, st.bld[i].flags, st.bld[i].tx, st.bld[i].ty,
                           st.bld[i].fuel, st.bld[i].src, st.bld[i].out, st.bld[i].progress)
                          for i in range(FF_RAW_BUILDINGS)],
            "cells": np.array([st.cells[i] for i in range(side * side)],
                              np.uint32).reshape(side, side),
        })
    return ({"status": status, "scenario": scen, "count": count, "record_bytes": rb,
             "tick": tick, "end_tick": end_tick}, recs)


@cython.embedsignature(False)  # Cython 3 puts the keyword-only marker one parameter late here
cdef class RawEncoder:
    """RawEncoder(scenario, int num_envs, *, episode_steps=None, goal=None, reward=None)

    Env contexts for ``num_envs`` envs of one scenario.

    Parameters
    ----------
    scenario : str
        A scenario name (``SCENARIO_IDS``).
    num_envs : int
        Envs on the server.
    episode_steps, goal : int, optional
        The scenario's parameters (as ``BatchSim`` has them); None: the scenario's defaults.
    reward : {None, "shaped", "sparse"}
        mining_micro, building_micro: None or ``"shaped"`` adds the shaping of
        ``csrc/sim/ff_shaping.h`` (as ``BatchSim``'s default); ``"sparse"`` the task reward alone.
        full_game: None (its reward is the change of iron plates in the inventory; a callable
        reward is ModBatch's).
    """

    cdef ff_raw_ctx_t *_ctx
    cdef ff_raw_state_t *_st
    cdef ff_raw_params_t _prm
    cdef readonly int num_envs
    cdef readonly int obs_bytes
    cdef readonly int action_dims
    cdef readonly int scenario_id

    def __cinit__(self, *args, **kwargs):
        self._ctx = NULL
        self._st = NULL

    def __init__(self, scenario, int num_envs, *, episode_steps=None, goal=None, reward=None):
        if num_envs < 1 or num_envs > 65535:
            raise InvalidArgumentError(f"num_envs must be 1..65535, got {num_envs}")
        self.scenario_id = _scenario_id(scenario)
        if self.scenario_id == 3:
            episode_steps = FULL_GAME["episode_steps"] if episode_steps is None else episode_steps
            goal = 0 if goal is None else goal
        if episode_steps is None or goal is None:  # the scenario's defaults, as BatchSim's
            from factorio_fast._sim import scenario_info
            name = next(k for k, v in SCENARIO_IDS.items() if v == self.scenario_id)
            info = scenario_info(name)
            episode_steps = info["episode_steps"] if episode_steps is None else episode_steps
            goal = (info["goal"] or 0) if goal is None else goal
        self._prm.scenario = self.scenario_id
        self._prm.episode_steps = episode_steps
        self._prm.goal = goal
        if reward not in (None, "shaped", "sparse"):
            raise InvalidArgumentError(f"reward must be 'shaped' or 'sparse', got {reward!r}")
        self._prm.reward = 1 if reward == "sparse" else 0
        if episode_steps < 1 or goal < 0:
            raise InvalidArgumentError("episode_steps must be >= 1 and goal >= 0")
        self.num_envs = num_envs
        self.obs_bytes = ff_raw_obs_bytes(self.scenario_id)
        self.action_dims = 3 if self.scenario_id >= 2 else 1
        self._ctx = <ff_raw_ctx_t *>calloc(num_envs, sizeof(ff_raw_ctx_t))
        self._st = <ff_raw_state_t *>calloc(1, sizeof(ff_raw_state_t))
        if self._ctx is NULL or self._st is NULL:
            raise MemoryError("RawEncoder")

    def __dealloc__(self):
        free(self._ctx)
        free(self._st)
        self._ctx = NULL
        self._st = NULL

    cdef int _record(self, const uint8_t[::1] p, int k, int rb) except -1:
        cdef size_t off = FF_RAW_PAYLOAD_HEADER + <size_t>k * rb
        _wire(ff_raw_parse(&p[off], rb, self._st), f"RAW record {k}")
        if self._st.scenario != self.scenario_id:
            raise ProtocolError(f"RAW record {k} is of scenario {self._st.scenario}, "
                                f"expected {self.scenario_id}")
        if self._st.env >= self.num_envs:
            raise ProtocolError(f"RAW record {k} names env {self._st.env} of {self.num_envs}")
        return self._st.env

    def header(self, payload):
        """(status, scenario id, count, record bytes, tick, end tick) of a RAW payload."""
        cdef const uint8_t[::1] p = memoryview(payload).cast("B")
        return _header(p)

    def begin(self, payload, targets, uint8_t[:, ::1] obs):
        """Start the episodes of the envs a RAW payload holds (their first states).

        targets: int32 (num_envs, 2), movement's target tiles (ignored for other scenarios).
        Writes those envs' rows of obs; returns their ids (int64 array, in record order).
        """
        cdef const uint8_t[::1] p = memoryview(payload).cast("B")
        status, _scen, count, rb, _tick, _end = _header(p)
        if status != FF_RAW_STATUS_STATES:
            raise ProtocolError(f"expected states, got status {status}")
        cdef const int32_t[:, ::1] tg = np.ascontiguousarray(targets, np.int32)
        self._check_obs(obs)
        out = np.empty(count, np.int64)
        cdef int k, e
        for k in range(count):
            e = self._record(p, k, rb)
            check(ff_raw_begin(&self._prm, &self._ctx[e], self._st, tg[e, 0], tg[e, 1]), "begin")
            check(ff_raw_observe(&self._prm, &self._ctx[e], self._st, &obs[e, 0]), "observe")
            out[k] = e
        return out

    def step(self, payload, actions, mask, uint8_t[:, ::1] obs, float[::1] rewards,
             uint8_t[::1] terminated, uint8_t[::1] truncated):
        """One step of the envs with mask[i] true, from a RAW payload of the states after it.

        actions: int64 (num_envs, action_dims) (or (num_envs,)), the actions taken. Writes obs,
        rewards and flags of those envs; returns the ids the payload held (int64 array).
        """
        cdef const uint8_t[::1] p = memoryview(payload).cast("B")
        status, _scen, count, rb, _tick, _end = _header(p)
        if status != FF_RAW_STATUS_STATES:
            raise ProtocolError(f"expected states, got status {status}")
        a = np.ascontiguousarray(actions, np.int64).reshape(self.num_envs, self.action_dims)
        cdef const int64_t[:, ::1] av = a
        cdef const uint8_t[::1] mv = np.ascontiguousarray(mask, np.bool_).view(np.uint8)
        self._check_obs(obs)
        if rewards.shape[0] != self.num_envs or terminated.shape[0] != self.num_envs \
                or truncated.shape[0] != self.num_envs or mv.shape[0] != self.num_envs:
            raise InvalidArgumentError("rewards, flags and mask need num_envs entries")
        out = np.empty(count, np.int64)
        cdef int k, e
        for k in range(count):
            e = self._record(p, k, rb)
            if mv[e]:
                check(ff_raw_step(&self._prm, &self._ctx[e], &av[e, 0], self._st, &rewards[e],
                                  &terminated[e], &truncated[e]), "step")
                check(ff_raw_observe(&self._prm, &self._ctx[e], self._st, &obs[e, 0]), "observe")
            out[k] = e
        return out

    cdef _check_obs(self, uint8_t[:, ::1] obs):
        if obs.shape[0] != self.num_envs or obs.shape[1] != self.obs_bytes:
            raise InvalidArgumentError(f"obs must have shape ({self.num_envs}, {self.obs_bytes})")

    def actions(self, actions, stand=None, command_id=0):
        """FactorioAction records (bytes, num_envs * 48) of the scenario actions; envs with
        stand[i] true get the stand action (envs being reset). Raises InvalidArgumentError for
        an action outside the action space."""
        a = np.ascontiguousarray(actions, np.int64).reshape(self.num_envs, self.action_dims)
        cdef const int64_t[:, ::1] av = a
        st = np.zeros(self.num_envs, np.bool_) if stand is None else \
            np.ascontiguousarray(stand, np.bool_)
        cdef const uint8_t[::1] sv = st.view(np.uint8)
        buf = bytearray(self.num_envs * FF_ACTION_SIZE)
        cdef uint8_t[::1] bv = buf
        cdef ff_action_t rec
        cdef int64_t zero[3]
        zero[0] = 0
        zero[1] = 0
        zero[2] = 0
        cdef int i, rc
        cdef const int64_t *ap
        for i in range(self.num_envs):
            if sv[i]:
                ap = &zero[0]
            else:
                ap = &av[i, 0]
            rc = ff_raw_action(&self._prm, &self._ctx[i], ap, &rec)
            if rc == -2:
                raise InvalidArgumentError(f"action of env {i} is outside the action space: "
                                           f"{a[i].tolist()}")
            check(rc, "actions")
            rec.command_id = command_id
            memcpy(&bv[i * FF_ACTION_SIZE], &rec, FF_ACTION_SIZE)
        # zero the 3 padding bytes (docs/design.md §3: zero on the wire)
        for i in range(self.num_envs):
            bv[i * FF_ACTION_SIZE + 1] = 0
            bv[i * FF_ACTION_SIZE + 2] = 0
            bv[i * FF_ACTION_SIZE + 3] = 0
        return bytes(buf)

    def context(self, int env):
        """One env's context as a dict (tests, debugging)."""
        if not 0 <= env < self.num_envs:
            raise InvalidArgumentError(f"env must be 0..{self.num_envs - 1}")
        c = &self._ctx[env]
        return {"step": c.step, "last_action": c.last_action, "milestones": c.milestones,
                "target": (c.target_tx, c.target_ty), "prev_dist": c.prev_dist,
                "position": (c.px, c.py)}
