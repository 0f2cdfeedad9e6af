# cython: language_level=3, boundscheck=False, wraparound=False
"""The embedded native simulator (thin wrappers over csrc/ff_sim.h and csrc/ff_world.h).

``BatchSim`` steps a whole batch of envs of one scenario in one C call with the GIL released,
writing observations, rewards and flags into caller-provided arrays (which may be shared
memory). ``World`` is one world driven tick by tick (the emulator of the real-Factorio backend
runs the mod's Lua against it). Scenario layouts: ``docs/scenarios.md``; the readable oracle:
``factorio_fast._reference_sim``.
"""

import numpy as np

from factorio_fast.errors import ArgumentTypeError, BusyError, InvalidArgumentError

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from factorio_fast._ffcore cimport FF_ERANGE, FF_ESTATE, FF_NUM_TILES, check
from factorio_fast._ffsim cimport *

__all__ = ["BatchSim", "World", "SCENARIO_NAMES", "scenario_info", "NUM_ITEMS",
           "HAND_MINING_TICKS", "DRILL_MINING_TICKS", "SMELT_TICKS", "INVENTORY_SLOTS",
           "RECIPES", "WALK_STRAIGHT", "WALK_DIAGONAL"]

SCENARIO_NAMES = tuple(ff_scenario_info(i).name.decode() for i in range(FF_NUM_SCENARIOS))
# Item counts per inventory row: the C inventory array's length (ff_world.h asserts that it
# holds every item id, 0..FF_NUM_ITEMS-1).
NUM_ITEMS = FF_WORLD_ITEMS
HAND_MINING_TICKS = FF_HAND_MINING_TICKS
DRILL_MINING_TICKS = FF_DRILL_MINING_TICKS
SMELT_TICKS = FF_SMELT_TICKS
INVENTORY_SLOTS = FF_INVENTORY_SLOTS_MAIN
WALK_STRAIGHT = tuple(ff_walk_straight[i] for i in range(FF_NUM_TILES))
WALK_DIAGONAL = tuple(ff_walk_diagonal[i] for i in range(FF_NUM_TILES))
RECIPES = tuple(
    {"inputs": tuple((ff_recipe_table[r].in_item[k], ff_recipe_table[r].in_count[k])
                     for k in range(3) if ff_recipe_table[r].in_count[k]),
     "output": (ff_recipe_table[r].out_item, ff_recipe_table[r].out_count),
     "ticks": ff_recipe_table[r].ticks}
    for r in range(FF_NUM_RECIPES))

_COMMON_KWARGS = ("ticks_per_step", "obstacles")
# Builtin dtypes are singletons: `arr.dtype is _U8` is the cheap test of BatchSim.step's fast
# path (anything else takes the full validation, which gives the specific error).
_U8, _F32, _BOOL, _I64 = np.dtype(np.uint8), np.dtype(np.float32), np.dtype(np.bool_), \
    np.dtype(np.int64)
_GOAL_SCENARIOS = ("mining_micro", "building_micro")
_REWARDS = {"sparse": 1, "shaped": 2}  # ff_sim_params_t.reward (csrc/sim/ff_shaping.h)


def scenario_info(name):
    """Defaults of a scenario as a dict (from the C table).

    Parameters
    ----------
    name : str
        One of ``SCENARIO_NAMES``.
    """
    cdef int idx = _scenario_index(name)
    cdef const ff_scenario_info_t *i = ff_scenario_info(idx)
    return {"name": name, "map_size": (i.map_w, i.map_h), "obs_bytes": i.obs_bytes,
            "episode_steps": i.episode_steps,
            "nvec": tuple(i.nvec[k] for k in range(i.action_dims)),
            "ticks_per_step": i.ticks_per_step, "obstacles": i.obstacles,
            "max_obstacles": i.max_obstacles, "goal": i.goal, "target_sps": i.target_sps}


cdef int _scenario_index(name) except -1:
    if not isinstance(name, str) or name not in SCENARIO_NAMES:
        raise InvalidArgumentError(
            f"unknown scenario {name!r}; valid choices: {', '.join(SCENARIO_NAMES)}")
    return SCENARIO_NAMES.index(name)


cdef int32_t _int_kw(str scen, str key, value, int lo, int hi) except? -2:
    if value is None:
        return -1
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"{scen}: {key} must be an integer, got {value!r}")
    if not lo <= int(value) <= hi:
        raise InvalidArgumentError(f"{scen}: {key} must be in {lo}..{hi}, got {value!r}")
    return <int32_t>int(value)


def _out_array(a, str name, tuple shape, dtype):
    if not isinstance(a, np.ndarray):
        raise InvalidArgumentError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.dtype != dtype:
        raise InvalidArgumentError(f"{name} must have dtype {np.dtype(dtype)}, got {a.dtype}")
    if a.shape != shape:
        raise InvalidArgumentError(f"{name} must have shape {shape}, got {a.shape}")
    if not a.flags.c_contiguous or not a.flags.writeable:
        raise InvalidArgumentError(f"{name} must be C-contiguous and writeable")
    return a.view(np.uint8) if a.dtype == np.bool_ else a


cdef class BatchSim:
    """A batch of ``num_envs`` envs of one scenario, stepped in one C call.

    Parameters
    ----------
    scenario : str
        ``movement_micro``, ``mining_micro`` or ``building_micro``.
    num_envs : int
        Number of envs (>= 1).
    ticks_per_step : int, optional
        Game ticks per env step (1..600); scenario default if None.
    obstacles : int, optional
        Random obstacles per episode (0 = none); scenario default if None.
    **scenario_kwargs
        ``goal`` (mining_micro: ores to mine; building_micro: plates to smelt) and ``reward``
        (mining_micro, building_micro: ``"shaped"``, the default, adds the potential-based
        shaping of docs/scenarios.md to the task reward; ``"sparse"`` is the task reward alone).

    Notes
    -----
    Every env holds its own RNG (splitmix64) seeded by ``reset``; autoresets re-randomise the
    world from that stream. Outputs are only written, never retained.
    """

    # Attributes and cdef methods: declared in _sim.pxd (so other extensions can cimport the
    # class: factorio_fast._infos reads the simulator handle through it).

    def __cinit__(self, *args, **kwargs):
        self._sim = NULL
        self._busy = 0

    def __init__(self, scenario, num_envs, *, ticks_per_step=None, obstacles=None,
                 **scenario_kwargs):
        import gymnasium as gym
        cdef int idx = _scenario_index(scenario)
        cdef const ff_scenario_info_t *info = ff_scenario_info(idx)
        valid = _COMMON_KWARGS + (("goal", "reward") if scenario in _GOAL_SCENARIOS else ())
        for k in scenario_kwargs:
            if k not in valid:
                raise ArgumentTypeError(  # a TypeError, as Python's own for an unknown keyword
                    f"{scenario}: unexpected keyword argument {k!r}; valid: {', '.join(valid)}")
        if isinstance(num_envs, (bool, np.bool_)) or not isinstance(num_envs, (int, np.integer)) \
                or not 1 <= int(num_envs) <= (1 << 24):
            raise InvalidArgumentError(f"num_envs must be an integer in 1..{1 << 24}, "
                                       f"got {num_envs!r}")
        cdef ff_sim_params_t p
        p.ticks_per_step = _int_kw(scenario, "ticks_per_step", ticks_per_step, 1, 600)
        p.obstacles = _int_kw(scenario, "obstacles", obstacles, 0, info.max_obstacles)
        p.goal = _int_kw(scenario, "goal", scenario_kwargs.get("goal"), 1, 1000)
        reward = scenario_kwargs.get("reward")
        if reward is not None and (not isinstance(reward, str) or reward not in _REWARDS):
            raise InvalidArgumentError(f"{scenario}: reward must be 'shaped' or 'sparse', got {reward!r}")
        p.reward = _REWARDS[reward] if reward is not None else 0
        cdef size_t n = int(num_envs)
        cdef ff_sim_t *sim = NULL
        cdef int rc
        with nogil:
            rc = ff_sim_create(idx, n, &p, &sim)
        check(rc, f"BatchSim({scenario!r}, {num_envs})")
        self._sim = sim
        cdef const ff_scenario_info_t *eff = ff_sim_info(sim)  # with the effective parameters
        self.num_envs = <int>n
        self.scenario = scenario
        self._obs_bytes = eff.obs_bytes
        self._dims = eff.action_dims
        self.obs_shape = (self._obs_bytes,)
        self.obs_dtype = np.dtype(np.uint8)
        self.episode_steps = eff.episode_steps
        self.ticks_per_step = eff.ticks_per_step
        self.obstacles = eff.obstacles
        self.goal = eff.goal
        self.action_nvec = np.array([eff.nvec[k] for k in range(self._dims)], np.int64)
        self.single_observation_space = gym.spaces.Box(0, 255, self.obs_shape, np.uint8)
        if self._dims == 1:
            self.action_shape = ()
            self.single_action_space = gym.spaces.Discrete(int(self.action_nvec[0]))
        else:
            self.action_shape = (self._dims,)
            self.single_action_space = gym.spaces.MultiDiscrete(self.action_nvec)

    def __dealloc__(self):
        if self._sim is not NULL:
            ff_sim_destroy(self._sim)
            self._sim = NULL

    def close(self):
        """Free the C state (idempotent).

        Raises
        ------
        BusyError
            A ``reset``, ``step`` or a ``World`` view's ``tick`` runs in another thread (its C
            code still uses the memory); nothing is freed. Close after it returns.
        """
        if self._busy:
            raise BusyError(f"BatchSim is in use: {self._busy} call(s) in another thread are "
                            "running on it; close() after they return")
        if self._sim is not NULL:
            ff_sim_destroy(self._sim)
            self._sim = NULL

    cdef ff_sim_t *_live(self) except NULL:
        if self._sim is NULL:
            from factorio_fast.errors import ClosedError
            raise ClosedError("BatchSim is closed")
        return self._sim

    def reset(self, seeds, env_ids=None, *, obs):
        """Reset envs with per-env seeds and write their first observations.

        Parameters
        ----------
        seeds : array_like of uint64
            One seed per reset env (the env's RNG state becomes that seed).
        env_ids : array_like of int, optional
            Env indices to reset; None means all, in order.
        obs : numpy.ndarray
            uint8 array of shape ``(num_envs,) + obs_shape``; rows of the reset envs are written.
        """
        cdef ff_sim_t *sim = self._live()
        o = _out_array(obs, "obs", (self.num_envs,) + self.obs_shape, np.uint8)
        s = np.asarray(seeds)
        if s.dtype.kind not in "iu" or s.ndim != 1:
            raise InvalidArgumentError(f"seeds must be a 1-d integer array, got {s.dtype} "
                                       f"with shape {s.shape}")
        if s.dtype.kind == "i" and s.size and s.min() < 0:
            raise InvalidArgumentError("seeds must be non-negative")
        s = np.ascontiguousarray(s, np.uint64)
        if env_ids is None:
            if s.shape[0] != self.num_envs:
                raise InvalidArgumentError(f"need {self.num_envs} seeds, got {s.shape[0]}")
            ids = None
        else:
            ids = np.asarray(env_ids)
            if ids.dtype.kind not in "iu" or ids.ndim != 1 or ids.shape[0] != s.shape[0]:
                raise InvalidArgumentError("env_ids must be a 1-d integer array, one per seed")
            if ids.size and (ids.min() < 0 or ids.max() >= self.num_envs):
                raise InvalidArgumentError(f"env_ids must be in 0..{self.num_envs - 1}")
            ids = np.ascontiguousarray(ids, np.int64)
        cdef uint64_t[::1] sv = s
        cdef int64_t[::1] iv
        cdef uint8_t[:, ::1] ov = o
        cdef const int64_t *ip = NULL
        cdef size_t n = s.shape[0]
        cdef int rc
        if ids is not None:
            iv = ids
            if n:
                ip = &iv[0]
        if n == 0:
            return
        self._busy += 1  # nothing between here and the decrement can raise
        with nogil:
            rc = ff_sim_reset(sim, &sv[0], ip, n, &ov[0, 0])
        self._busy -= 1
        check(rc, "BatchSim.reset")

    def step(self, actions, *, obs, rewards, terminated, truncated, autoreset="next_step",
             final_obs=None, final_mask=None):
        """Step every env once.

        Parameters
        ----------
        actions : numpy.ndarray
            Integer array of shape ``(num_envs,) + action_shape``; validated before any env moves.
        obs, rewards, terminated, truncated : numpy.ndarray
            Outputs: uint8 ``(num_envs,) + obs_shape``, float32 ``(num_envs,)``, bool
            ``(num_envs,)`` twice.
        autoreset : {"next_step", "same_step"}
            Gymnasium autoreset mode.
        final_obs, final_mask : numpy.ndarray, optional
            Required for ``same_step``: uint8 like obs, bool ``(num_envs,)``.

        Raises
        ------
        InvalidArgumentError
            Bad dtype, shape, NaN or an out-of-range action (naming the env and the value).
        """
        cdef ff_sim_t *sim = self._live()
        cdef int mode
        if autoreset == "next_step":
            mode = FF_AUTORESET_NEXT_STEP
        elif autoreset == "same_step":
            mode = FF_AUTORESET_SAME_STEP
        else:
            raise InvalidArgumentError(
                f"autoreset must be 'next_step' or 'same_step', got {autoreset!r}")
        n = self.num_envs
        cdef int64_t[::1] av
        cdef int64_t[:, ::1] av2
        cdef int64_t *ap = NULL
        cdef uint8_t[:, ::1] ov
        cdef float[::1] rv
        cdef uint8_t[::1] tev
        cdef uint8_t[::1] trv
        cdef bint fast = False
        # Fast path (the common case: preallocated outputs, int64 actions): the typed views
        # check contiguity, writability and ndim; dtypes and shapes are checked here. Any
        # mismatch falls through to the full validation below, which raises the specific error.
        if (type(obs) is np.ndarray and type(rewards) is np.ndarray
                and type(terminated) is np.ndarray and type(truncated) is np.ndarray
                and type(actions) is np.ndarray and obs.dtype is _U8 and rewards.dtype is _F32
                and terminated.dtype is _BOOL and truncated.dtype is _BOOL
                and actions.dtype is _I64):
            try:
                ov = obs
                rv = rewards
                tev = terminated   # Cython accepts bool ('?') buffers for uint8_t views
                trv = truncated
                if self._dims == 1 and actions.ndim == 1:
                    av = actions
                    fast = av.shape[0] == n
                    ap = &av[0]
                elif self._dims > 1 and actions.ndim == 2:
                    av2 = actions
                    fast = av2.shape[0] == n and av2.shape[1] == self._dims
                    ap = &av2[0, 0]
                fast = fast and ov.shape[0] == n and ov.shape[1] == self._obs_bytes \
                    and rv.shape[0] == n and tev.shape[0] == n and trv.shape[0] == n
            except (ValueError, TypeError, BufferError):
                fast = False
        if not fast:
            a = self._actions(actions)
            o = _out_array(obs, "obs", (n,) + self.obs_shape, np.uint8)
            r = _out_array(rewards, "rewards", (n,), np.float32)
            te = _out_array(terminated, "terminated", (n,), np.bool_)
            tr = _out_array(truncated, "truncated", (n,), np.bool_)
            av = a.reshape(-1)
            ap = &av[0]
            ov = o
            rv = r
            tev = te
            trv = tr
        cdef uint8_t[:, ::1] fov
        cdef uint8_t[::1] fmv
        cdef uint8_t *fo = NULL
        cdef uint8_t *fm = NULL
        if mode == FF_AUTORESET_SAME_STEP:
            if final_obs is None or final_mask is None:
                raise InvalidArgumentError("autoreset='same_step' needs final_obs and final_mask")
            fov = _out_array(final_obs, "final_obs", (n,) + self.obs_shape, np.uint8)
            fmv = _out_array(final_mask, "final_mask", (n,), np.bool_)
            fo = &fov[0, 0]
            fm = &fmv[0]
        cdef size_t bad_env = 0
        cdef int32_t bad_dim = 0
        cdef int64_t bad_value = 0
        cdef int rc
        self._busy += 1  # nothing between here and the decrement can raise
        with nogil:
            rc = ff_sim_step(sim, ap, &ov[0, 0], &rv[0], &tev[0], &trv[0], mode, fo, fm,
                             &bad_env, &bad_dim, &bad_value)
        self._busy -= 1
        if rc == FF_ERANGE:
            self._bad_action(bad_env, bad_dim, bad_value)
        check(rc, "BatchSim.step")

    def _bad_action(self, size_t env, int dim, long long value):
        nv = int(self.action_nvec[dim])
        comp = f" component {dim}" if self._dims > 1 else ""
        raise InvalidArgumentError(
            f"{self.scenario}: action{comp} of env {env} is {value}; valid range 0..{nv - 1}")

    def _actions(self, actions):
        a = np.asarray(actions)
        shape = (self.num_envs,) + self.action_shape
        if a.dtype.kind not in "iu":
            if a.dtype.kind == "f" and np.isnan(a).any():
                idx = int(np.flatnonzero(np.isnan(a.reshape(-1)))[0]) // max(self._dims, 1)
                raise InvalidArgumentError(f"{self.scenario}: action of env {idx} is NaN; "
                                           f"actions must be integers")
            raise InvalidArgumentError(
                f"{self.scenario}: actions must be an integer array, got dtype {a.dtype}")
        if a.shape != shape:
            raise InvalidArgumentError(
                f"{self.scenario}: actions must have shape {shape}, got {a.shape}")
        if a.dtype == np.uint64 and a.size and a.max() > np.iinfo(np.int64).max:
            flat = a.reshape(-1)
            k = int(np.argmax(flat > np.iinfo(np.int64).max))
            self._bad_action(k // self._dims, k % self._dims, -1)
        return np.ascontiguousarray(a, np.int64)

    @property
    def bytes_per_env(self):
        """Bytes of native state one env takes (its world; the env record adds < 1 KiB): what
        a batch of ``n`` envs allocates, over ``n``."""
        cdef const ff_scenario_info_t *info = ff_sim_info(self._live())
        return int(ff_world_bytes(info.map_w, info.map_h)) + 1024

    def positions(self):
        """Character positions, int32 ``(num_envs, 2)`` in 1/256 tile."""
        cdef ff_sim_t *sim = self._live()
        out = np.empty((self.num_envs, 2), np.int32)
        cdef int32_t[:, ::1] v = out
        check(ff_sim_positions(sim, &v[0, 0]), "BatchSim.positions")
        return out

    def ticks(self):
        """Game tick of each env's world, uint64 ``(num_envs,)``."""
        cdef ff_sim_t *sim = self._live()
        out = np.empty(self.num_envs, np.uint64)
        cdef uint64_t[::1] v = out
        check(ff_sim_ticks(sim, &v[0]), "BatchSim.ticks")
        return out

    def inventories(self):
        """Item counts by item id, uint16 ``(num_envs, NUM_ITEMS)`` (``codec.ITEM_IDS``)."""
        cdef ff_sim_t *sim = self._live()
        out = np.empty((self.num_envs, NUM_ITEMS), np.uint16)
        cdef uint16_t[:, ::1] v = out
        check(ff_sim_inventories(sim, &v[0, 0], NUM_ITEMS), "BatchSim.inventories")
        return out

    def world(self, env_id):
        """A read/write ``World`` view of env ``env_id`` (keeps this BatchSim alive)."""
        cdef ff_sim_t *sim = self._live()
        if not 0 <= int(env_id) < self.num_envs:
            raise InvalidArgumentError(f"env_id must be in 0..{self.num_envs - 1}")
        cdef World w = World.__new__(World)
        w._w = ff_sim_world(sim, <size_t>int(env_id))
        w._owner = self
        w._owned = False
        return w

    def observe(self, env_id):
        """The current observation of one env (a copy), uint8 ``obs_shape``."""
        cdef ff_sim_t *sim = self._live()
        if not 0 <= int(env_id) < self.num_envs:
            raise InvalidArgumentError(f"env_id must be in 0..{self.num_envs - 1}")
        out = np.empty(self._obs_bytes, np.uint8)
        cdef uint8_t[::1] v = out
        check(ff_sim_observe(sim, <size_t>int(env_id), &v[0]), "BatchSim.observe")
        return out

    def render(self, env_id, scale=None):
        """An RGB picture of one env's whole map, uint8 ``(H, W, 3)``."""
        from factorio_fast.render import render_world
        return render_world(self.world(env_id), scale=scale)


cdef class World:
    """One world driven tick by tick (tiles, resources, buildings, one character).

    Parameters
    ----------
    width, height : int
        Map size in tiles (1..128).
    tile : int
        Initial tile id everywhere (``codec.TILE_IDS``, default grass-1).

    Notes
    -----
    Positions are int32 in 1/256 tile; directions 0..7 = N, NE, E, SE, S, SW, W, NW (Factorio 2.0
    direction ``2 * d``), -1 = stand. Game refusals (out of reach, missing items, occupied)
    raise ``FactorioFastError`` from the status code, except where a count is returned.
    """

    cdef ff_world_t *_w
    cdef object _owner
    cdef bint _owned
    cdef int _busy  # ticks running without the GIL (close() refuses meanwhile)

    def __cinit__(self, *args, **kwargs):
        self._w = NULL
        self._owner = None
        self._owned = False
        self._busy = 0

    def __init__(self, int width=32, int height=32, int tile=1):
        cdef ff_world_t *w = NULL
        check(ff_world_create(width, height, <uint8_t>tile if 0 <= tile < 16 else 255, &w),
              "World")
        self._w = w
        self._owned = True

    def __dealloc__(self):
        if self._owned and self._w is not NULL:
            ff_world_destroy(self._w)
        self._w = NULL

    def close(self):
        """Free the world (idempotent; a view of a BatchSim env only drops its reference).

        Raises
        ------
        BusyError
            A ``tick`` runs in another thread; nothing is freed. Close after it returns.
        """
        if self._busy:
            raise BusyError(f"World is in use: {self._busy} tick call(s) in another thread are "
                            "running on it; close() after they return")
        if self._owned and self._w is not NULL:
            ff_world_destroy(self._w)
        self._w = NULL
        self._owner = None

    cdef ff_world_t *_live(self) except NULL:
        if self._owner is not None and (<BatchSim>self._owner)._sim is NULL:
            self._w = NULL  # a view of an env whose BatchSim was closed: its memory is gone
        if self._w is NULL:
            from factorio_fast.errors import ClosedError
            raise ClosedError("World is closed (or the BatchSim it views was closed)")
        return self._w

    @property
    def width(self):
        return self._live().w

    @property
    def height(self):
        return self._live().h

    @property
    def tick_count(self):
        """Game ticks run so far."""
        return self._live().tick

    @property
    def position(self):
        """(x, y) in 1/256 tile."""
        cdef ff_world_t *w = self._live()
        return (w.px, w.py)

    def set_position(self, int32_t x, int32_t y):
        check(ff_world_set_position(self._live(), x, y), "World.set_position")

    def set_tile(self, int x, int y, int tile):
        check(ff_world_set_tile(self._live(), x, y, <uint8_t>tile if 0 <= tile < 256 else 255),
              "World.set_tile")

    def get_tile(self, int x, int y):
        cdef uint8_t t = 0
        check(ff_world_get_tile(self._live(), x, y, &t), "World.get_tile")
        return t

    def add_resource(self, int x, int y, int entity, int amount):
        """Add a resource entity (``codec.ENTITY_IDS``) at tile (x, y), centred."""
        if not 0 < amount < 65536 or not 0 <= entity < 16:
            raise InvalidArgumentError("entity must be 0..15 and amount 1..65535")
        check(ff_world_add_resource(self._live(), x, y, <uint8_t>entity, <uint16_t>amount),
              "World.add_resource")

    def add_building(self, int entity, int x, int y, int direction=0):
        """Add a building without game checks (map setup); returns its index."""
        cdef int32_t idx = -1
        if not 0 <= entity < 16:
            raise InvalidArgumentError("entity must be 0..15")
        check(ff_world_add_building(self._live(), <uint8_t>entity, x, y,
                                    <uint8_t>direction if 0 <= direction < 8 else 255, &idx),
              "World.add_building")
        return idx

    def set_walking(self, direction):
        """Walk in direction 0..7 every tick until changed; None or -1 stands still."""
        check(ff_world_set_walking(self._live(), -1 if direction is None else int(direction)),
              "World.set_walking")

    def set_mining(self, target):
        """Hold mining on tile ``(x, y)``; None releases."""
        if target is None:
            check(ff_world_set_mining(self._live(), 0, 0, 0), "World.set_mining")
        else:
            check(ff_world_set_mining(self._live(), 1, int(target[0]), int(target[1])),
                  "World.set_mining")

    @property
    def mining_progress(self):
        """Ticks of the current hand-mining cycle."""
        return self._live().mine_progress

    def set_item(self, int item, int count):
        if not 0 <= count < 65536 or not 0 <= item < 256:
            raise InvalidArgumentError("item 1..15, count 0..65535")
        check(ff_world_set_item(self._live(), <uint8_t>item, <uint16_t>count), "World.set_item")

    def inventory(self):
        """Item counts by item id, uint16 (16,)."""
        cdef ff_world_t *w = self._live()
        return np.array([w.inv[i] for i in range(NUM_ITEMS)], np.uint16)

    def used_slots(self):
        return ff_world_used_slots(self._live())

    def insert_item(self, int item, int count):
        """Put items straight into the inventory (80 slots); returns how many fit."""
        if not 0 < item < 16:
            raise InvalidArgumentError("item must be 1..15")
        return ff_world_insert_item(self._live(), <uint8_t>item, count)

    def craft(self, int recipe, int count=1):
        """Queue crafts (``RECIPES`` index), crafting a missing gear or stone furnace first (as
        the game does); returns how many crafts of the recipe were started (0: none possible)."""
        cdef int32_t started = 0
        check(ff_world_craft(self._live(), recipe, count, &started), "World.craft")
        return started

    @property
    def craft_queue_length(self):
        return self._live().cq_len

    @property
    def craft_progress(self):
        """Ticks the head craft of the queue has run (0 with an empty queue)."""
        return self._live().craft_progress

    def craft_queue(self):
        """The crafting queue, head first: a list of ``(recipe, count, prerequisite)``, as
        ``LuaControl::crafting_queue`` reports it (prerequisite: the entry crafts a missing
        intermediate for the entry after it)."""
        cdef ff_world_t *w = self._live()
        cdef int32_t r = 0, c = 0, p = 0
        out = []
        for i in range(w.cq_len):
            check(ff_world_craft_entry(w, i, &r, &c, &p), "World.craft_queue")
            out.append((r, c, bool(p)))
        return out

    def craftable(self, int recipe, int count=0xFFFF):
        """How many crafts of the recipe (at most count) ``craft`` could start now, with chain
        crafting (``LuaControl::get_craftable_count``); nothing changes."""
        cdef int32_t n = 0
        check(ff_world_craftable(self._live(), recipe, count, &n), "World.craftable")
        return n

    def push_craft(self, int recipe, int count, bint prerequisite=False):
        """Append a queue entry as is, taking no items (restoring a saved queue). Raises
        ``StateError`` (via the status) if the queue is full."""
        check(ff_world_craft_push(self._live(), recipe, count, prerequisite), "World.push_craft")

    def cancel_craft(self, int index, int count):
        """Cancel up to count crafts of queue entry ``index`` (0 = head), refunding as
        ``ff_world_cancel_craft`` documents (a craft with prerequisites goes whole with them);
        returns the crafts of the consuming entry cancelled."""
        cdef int32_t n = 0
        check(ff_world_cancel_craft(self._live(), index, count, &n), "World.cancel_craft")
        return n

    @property
    def building_count(self):
        """Buildings in the world (mining one picks it up: the later ones move down a slot)."""
        return self._live().n_bld

    def place(self, int item, int x, int y, int direction=0):
        """Place a building item with its footprint's top-left tile at (x, y).

        Returns the building index, or -1 if the game would refuse.
        """
        cdef int32_t idx = -1
        if not 0 <= item < 256 or not 0 <= direction < 8:
            raise InvalidArgumentError("bad item or direction")
        rc = ff_world_place(self._live(), <uint8_t>item, x, y, <uint8_t>direction, &idx)
        if rc == FF_ESTATE:  # refused by the game rules
            return -1
        check(rc, "World.place")
        return idx

    def insert(self, int x, int y, int item, int count):
        """Move items into the building at tile (x, y); returns the count moved."""
        cdef int32_t moved = 0
        if not 0 <= item < 256:
            raise InvalidArgumentError("bad item")
        rc = ff_world_insert(self._live(), x, y, <uint8_t>item, count, &moved)
        if rc == FF_ESTATE:
            return 0
        check(rc, "World.insert")
        return moved

    def take(self, int x, int y):
        """Take the furnace's plates at tile (x, y) into the inventory; returns the count."""
        cdef int32_t moved = 0
        rc = ff_world_take(self._live(), x, y, &moved)
        if rc == FF_ESTATE:
            return 0
        check(rc, "World.take")
        return moved

    def ground_items(self):
        """The stacks lying on the ground: a list of ``(item, x, y, count)`` (tile x, y)."""
        cdef ff_world_t *w = self._live()
        return [(w.ground[i].item, w.ground[i].tx, w.ground[i].ty, w.ground[i].count)
                for i in range(w.n_ground)]

    @staticmethod
    def ground_position(int x, int y):
        """The 1/256 position of a stack on tile (x, y) as a drill drops it."""
        cdef int32_t gx = 0, gy = 0
        ff_ground_position(x, y, &gx, &gy)
        return (gx, gy)

    def pick_ground(self, int x, int y, bint check_reach=True):
        """Pick the stack on tile (x, y) up into the inventory, whole or not at all (with
        check_reach: within reach 10 of it); returns the count (0: refused)."""
        cdef int32_t moved = 0
        rc = ff_world_pick_ground(self._live(), x, y, check_reach, &moved)
        if rc == FF_ESTATE:
            return 0
        check(rc, "World.pick_ground")
        return moved

    def remove_ground(self, int x, int y):
        """Remove the stack on tile (x, y) without taking it; returns False if none lies there."""
        rc = ff_world_remove_ground(self._live(), x, y)
        if rc == FF_ESTATE:
            return False
        check(rc, "World.remove_ground")
        return True

    def add_ground(self, int x, int y, int item, int count=1):
        """Put a stack on tile (x, y) (map setup)."""
        if not 0 < item < 16 or not 0 < count < 256:
            raise InvalidArgumentError("item must be 1..15 and count 1..255")
        check(ff_world_add_ground(self._live(), x, y, <uint8_t>item, <uint8_t>count),
              "World.add_ground")

    def tick(self, int n=1):
        """Advance n ticks (without the GIL: ``close()`` of this world, or of the ``BatchSim``
        it views, raises ``BusyError`` meanwhile)."""
        cdef ff_world_t *w = self._live()
        cdef int _
        if n < 0:
            raise InvalidArgumentError(f"n must be >= 0, got {n}")
        cdef BatchSim owner = self._owner  # None for a standalone world
        self._busy += 1  # nothing between here and the decrements can raise
        if owner is not None:
            owner._busy += 1
        with nogil:
            for _ in range(n):
                ff_world_tick(w)
        self._busy -= 1
        if owner is not None:
            owner._busy -= 1

    def collides(self, int32_t x, int32_t y):
        """Would the character collide at (x, y) (1/256 tile)?"""
        return bool(ff_world_collides(self._live(), x, y))

    def in_resource_reach(self, int x, int y):
        return bool(ff_world_in_resource_reach(self._live(), x, y))

    def cell(self, int x, int y):
        """The 32-bit cell of tile (x, y)."""
        return ff_world_cell(self._live(), x, y)

    def cells(self):
        """All cells, uint32 (height, width)."""
        cdef ff_world_t *w = self._live()
        out = np.empty((w.h, w.w), np.uint32)
        cdef uint32_t[:, ::1] v = out
        check(ff_world_cells(w, &v[0, 0], <size_t>(w.w * w.h)), "World.cells")
        return out

    def resources(self):
        """List of live resources: (entity, x, y, amount)."""
        cdef ff_world_t *w = self._live()
        return [(w.res[i].type, w.res[i].tx, w.res[i].ty, w.res[i].amount)
                for i in range(w.n_res) if w.res[i].type]

    def buildings(self):
        """List of buildings as dicts (entity, x, y, direction, fuel, src, out, progress, produced,
        energy, heat, work). energy: joules held (the burner's heat buffer plus what is left of
        the fuel item burning); heat: the buffer alone; work: the drill's mining progress (1 =
        one ore) or the furnace's seconds of smelting done (3.2 = one plate)."""
        cdef ff_world_t *w = self._live()
        return [{"entity": w.bld[i].type, "x": w.bld[i].tx, "y": w.bld[i].ty,
                 "direction": w.bld[i].dir, "fuel": w.bld[i].fuel, "src": w.bld[i].src,
                 "out": w.bld[i].out, "progress": w.bld[i].progress,
                 "produced": w.bld[i].produced,
                 "energy": w.bld[i].heat + w.bld[i].burning, "heat": w.bld[i].heat,
                 "work": w.bld[i].work}
                for i in range(w.n_bld)]

    def building_at(self, int x, int y):
        return ff_world_building_at(self._live(), x, y)
