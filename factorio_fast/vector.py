"""Vector environments: ``make_vec(name, num_envs, num_workers=0, ...)``.

Two execution modes behind one ``gymnasium.vector.VectorEnv``:

* ``num_workers=0``: the whole batch steps in this process, in one C call with the GIL released.
* ``num_workers=k``: k worker processes each own a contiguous shard of envs. Actions,
  observations, rewards and flags live in one shared-memory segment; one hand-off per worker
  per step (``factorio_fast.Handoff``: spin briefly, then futex sleep), never one per env.

And two calling conventions:

* sync: ``step(actions)`` steps every env and returns every env.
* async, EnvPool-style: ``make_vec(..., batch_size=b)`` then ``async_reset()``, ``recv()`` ->
  the first ``b`` envs to finish (``info["env_id"]``), ``send(actions, env_ids)``. Envs step in
  groups (a worker's shard, or ``b`` envs in-process), so ``b`` is a whole number of groups.

Returned arrays are owned copies by default (``copy=True``, as Gymnasium's vector envs do), so
clients that keep them across steps (torchrl, replay buffers) see what was returned. With
``copy=False`` they are views into the env's buffers (shared memory with workers), valid until
the next ``step``/``recv``/``reset``, and wrap zero-copy with ``torch.from_numpy``: the fastest
path for loops that use each result before the next step.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import weakref
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from factorio_fast import _infos, _validate
from factorio_fast._workers import (
    ARG_MASKED,
    ARG_STATE,
    CMD_RESET,
    CMD_STEP,
    Layout,
    WorkerPool,
    reset_shard,
    shard_bounds,
    step_shard,
)
from factorio_fast.backends import check_backend, new_stepper
from factorio_fast.env import _seed_entropy
from factorio_fast.errors import (
    ArgumentTypeError,
    ClosedError,
    InvalidArgumentError,
    ResetNeededError,
    StateError,
    WorkerError,
)
from factorio_fast.features import check_obs_mode, decoder, feature_space
from factorio_fast.scenarios import SCENARIOS

INFO_KEYS = ("episode", "position", "tick", "inventory")

# autoreset mode -> the steppers' mode code (CMD_STEP's arg). DISABLED steps as NEXT_STEP; the
# env refuses to step an env that ended until reset(options={"reset_mask": ...}) restarts it,
# so the steppers' own autoreset never fires.
AUTORESET_CODES = {AutoresetMode.NEXT_STEP: 0, AutoresetMode.SAME_STEP: 1, AutoresetMode.DISABLED: 0}
_AUTORESET_BY_NAME = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP,
                      "disabled": AutoresetMode.DISABLED}


class FactorioVectorEnv(VectorEnv):
    """A batch of ``num_envs`` environments of one scenario. Create it with ``make_vec``."""

    def __init__(self, name: str, num_envs: int, *, num_workers: int = 0,
                 autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
                 batch_size: int | None = None, copy: bool = True,
                 start_method: str | None = None, timeout: float = 30.0,
                 spin_us: float = 2000.0, backend: str = "sim",
                 max_episode_steps: int | None = None,
                 infos: tuple[str, ...] | list[str] = (), obs: str = "bytes",
                 _pool_factory=None, **scenario_kwargs: Any):
        check_backend(backend)
        self.obs_mode = check_obs_mode(obs)
        num_envs = _validate.integer("num_envs", num_envs, 1)
        num_workers = _validate.integer("num_workers", num_workers, 0, num_envs)
        if start_method is not None and start_method not in mp.get_all_start_methods():
            raise InvalidArgumentError(f"start_method must be None or one of "
                                       f"{mp.get_all_start_methods()}, got {start_method!r}")
        try:
            mode = AutoresetMode(autoreset_mode) if not isinstance(autoreset_mode, str) else \
                _AUTORESET_BY_NAME.get(autoreset_mode.lower(), None) or AutoresetMode(autoreset_mode)
        except ValueError:
            mode = None
        if mode not in AUTORESET_CODES:
            raise InvalidArgumentError("autoreset_mode must be 'next_step', 'same_step' or "
                                       f"'disabled', got {autoreset_mode!r}")
        self._closed = True  # until construction completes
        self.name = name
        self.num_envs = int(num_envs)
        self.num_workers = int(num_workers)
        if not isinstance(copy, (bool, np.bool_)):
            raise ArgumentTypeError(f"copy must be a bool, got {type(copy).__name__} {copy!r}")
        self.copy = bool(copy)
        self.timeout = _validate.number("timeout", timeout, positive=True)
        self.spin_us = _validate.number("spin_us", spin_us, positive=False)
        self._mode = mode
        self.autoreset_mode = mode  # Gymnasium >= 1.1 reads it here (torchrl too), not in metadata
        self.backend = backend
        self._kwargs = dict(scenario_kwargs)
        self.metadata = {"autoreset_mode": mode, "render_modes": ["rgb_array"]}
        self.render_mode = None

        # A probe stepper of one env gives the spaces (cheap; validates the kwargs here).
        probe = new_stepper(backend, name, 1, self._kwargs)
        self._obs_shape = tuple(probe.obs_shape)
        self._obs_dtype = np.dtype(probe.obs_dtype)
        # obs="features": the steppers still write bytes; a decoder turns them into float32
        # rows in the same buffers, right after each step (in the workers, with workers)
        self._features = decoder(name) if self.obs_mode == "features" else None
        feat_width = self._features.width if self._features is not None else 0
        self._obs_key = "features" if self._features is not None else "obs"
        self._action_shape = tuple(probe.action_shape)
        self._nvec = np.asarray(probe.action_nvec, dtype=np.int64)
        self._nvec_u = self._nvec.astype(np.uint64)
        if isinstance(infos, str) or not all(isinstance(k, str) for k in infos):
            raise ArgumentTypeError(f"infos must be a tuple of names, got {infos!r}")
        bad = sorted(set(infos) - set(INFO_KEYS))
        if bad:
            raise InvalidArgumentError(f"unknown infos {bad}; choose from {INFO_KEYS}")
        self.infos = tuple(infos)
        num_items = probe.inventories().shape[1] if "inventory" in self.infos else 0
        self._num_items = num_items
        self._want_state = bool({"position", "tick", "inventory"} & set(self.infos))
        self._state_arg = ARG_STATE if self._want_state else 0
        # Refuse a batch the machine cannot hold before anything big is allocated: the
        # steppers' native state, our buffers (obs twice, actions, flags) and the batched
        # spaces Gymnasium builds (a Box keeps low and high arrays of the batch's shape).
        obs_b = int(np.prod(self._obs_shape)) * self._obs_dtype.itemsize
        act_b = 8 * max(1, int(np.prod(self._action_shape)))
        per_env = probe.bytes_per_env + 4 * obs_b + 3 * act_b + 16 + 4 * 4 * feat_width
        _validate.check_memory(per_env * self.num_envs,
                               f"make_vec({name!r}, num_envs={self.num_envs})")
        # gymnasium.make_vec passes the registered time limit; each scenario's is fixed
        steps = SCENARIOS.get(name)
        if max_episode_steps is not None and (steps is None or max_episode_steps != steps.episode_steps):
            raise InvalidArgumentError(
                f"{name}: max_episode_steps is fixed at the scenario's episode length "
                f"({steps.episode_steps if steps else '?'}), got {max_episode_steps!r}")
        self.single_observation_space = probe.single_observation_space if self._features is None \
            else feature_space(name)
        self.single_action_space = probe.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        probe.close()

        # Groups: the unit of stepping (a worker's shard, or a slice in async in-process mode).
        if batch_size is None:
            batch_size = self.num_envs
        self.batch_size = _validate.integer("batch_size", batch_size, 1, self.num_envs)
        self.is_async = self.batch_size < self.num_envs
        if self.num_workers:
            groups = shard_bounds(self.num_envs, self.num_workers)
        elif self.is_async:
            groups = shard_bounds(self.num_envs, self.num_envs // self.batch_size)
        else:
            groups = [(0, self.num_envs)]
        if self.is_async:
            sizes = {hi - lo for lo, hi in groups}
            if self.num_envs % len(groups) or len(sizes) != 1 or self.batch_size % sizes.pop():
                raise InvalidArgumentError(
                    f"async mode steps envs in {len(groups)} equal groups: num_envs "
                    f"({self.num_envs}) must divide evenly and batch_size ({self.batch_size}) "
                    "must be a multiple of the group size")
        self._groups = groups
        self._group_of = np.repeat(np.arange(len(groups)), [hi - lo for lo, hi in groups])
        self._ready: list[int] = []          # groups finished, not yet returned (async)
        self._pending: set[int] = set()      # groups stepping (async)
        self._sent: set[int] = set()         # groups sent whose results recv() has not returned
        self._needs_reset = True
        self._ended = np.zeros(self.num_envs, np.bool_)  # DISABLED mode: ended, not yet reset
        # Episode statistics (RecordEpisodeStatistics' shape), accumulated here, preallocated.
        self._ep_ret = np.zeros(self.num_envs, np.float64)
        self._ep_len = np.zeros(self.num_envs, np.int64)
        self._ep_t0 = np.zeros(self.num_envs, np.float64)
        self._ep_done = np.zeros(self.num_envs, np.bool_)   # ended on its last step
        # Each env's seed generator (what Env.np_random is to a single env), made when first
        # drawn from: the last seed each env was given, and whether it was given one.
        self._gen_seed = np.zeros(self.num_envs, np.uint64)
        self._gen_seeded = np.zeros(self.num_envs, np.bool_)
        self._gens: dict[int, np.random.Generator] = {}

        self._broken = False
        self._pool: WorkerPool | None = None
        self._sims: list = []
        layout_args = dict(num_envs=self.num_envs, obs_shape=self._obs_shape,
                           obs_dtype=self._obs_dtype.str, action_shape=self._action_shape,
                           num_items=num_items, feat_width=feat_width)
        if self.num_workers:
            # _pool_factory: another pool with WorkerPool's interface (the Ray shards of
            # factorio_fast.integrations.ray); each of its workers steps one group
            self._pool = (_pool_factory or WorkerPool)(
                layout_args, groups, backend, name, self._kwargs, start_method=start_method,
                timeout=self.timeout, spin_us=self.spin_us)
            self._bufs = self._pool.bufs
            self._finalizer = weakref.finalize(self, type(self._pool).close, self._pool)
        else:
            self._bufs = Layout(num_workers=0, handoff_size=0, **layout_args).local_buffers()
            self._sims = [new_stepper(backend, name, hi - lo, self._kwargs) for lo, hi in groups]
            self._finalizer = weakref.finalize(self, _close_all, self._sims)
        # In-process simulator batches: the state infos are read from the steppers in one
        # compiled pass when they are asked for (factorio_fast._infos), instead of the three
        # copies into the batch buffers after each step (ARG_STATE) and a conversion here.
        self._fused_state = bool(self._sims) and all(_infos.supported(s) for s in self._sims)
        if self._fused_state and self._want_state:
            self._state_arg = 0
            self._state_bufs = {"position": np.zeros((self.num_envs, 2), np.float64),
                                "tick": np.zeros(self.num_envs, np.uint64),
                                "inventory": np.zeros((self.num_envs, num_items), np.uint16)}
        self._closed = False

    # ---------------------------------------------------------------------------- API

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError("this vector env is closed")
        if self._broken or (self._pool is not None and self._pool.broken):
            raise WorkerError("a worker of this vector env failed earlier; close() it and make a new one")

    def _seeds(self, seed) -> tuple[np.ndarray, np.ndarray]:
        """``(seeds, given)``: each env's seed (uint64) and whether the caller chose it (an
        int gives env i ``seed + i``; a list may hold None for "continue this env")."""
        n = self.num_envs
        if seed is None:
            return np.zeros(n, np.uint64), np.zeros(n, np.bool_)
        if not isinstance(seed, (list, tuple, np.ndarray)):
            base = _validate.seed(seed, n)
            return np.uint64(base) + np.arange(n, dtype=np.uint64), np.ones(n, np.bool_)
        given = np.array([s is not None for s in seed], np.bool_) if not isinstance(seed, np.ndarray) \
            else np.ones(len(seed), np.bool_)
        try:
            seeds = np.asarray([0 if s is None else s for s in seed] if not given.all() else seed)
        except (ValueError, OverflowError, TypeError):
            seeds = np.asarray([-1])
        if seeds.shape != (n,) or seeds.dtype.kind not in "iu" or (seeds < 0).any():
            raise InvalidArgumentError(
                f"seed must be an int or {n} non-negative ints (or None), got {seed!r}")
        return seeds.astype(np.uint64), given

    def _run(self, cmd: int, arg: int, groups) -> None:
        """Run a command on the given groups and wait for them (sync path)."""
        if self._pool is not None:
            for g in groups:
                self._pool.post(g, cmd, arg)
            self._pool.wait(groups)
        else:
            for g in groups:
                lo, hi = self._groups[g]
                # the group's stepper is local: the slice lo..hi of the whole buffers is its shard
                if cmd == CMD_STEP:
                    step_shard(self._sims[g], self._bufs, lo, hi, arg, self._features)
                else:
                    reset_shard(self._sims[g], self._bufs, lo, hi, arg, self._features)

    def reset(self, *, seed=None, options: dict | None = None):
        """Reset every env (or those in ``options["reset_mask"]``); env i gets ``seed + i``.

        With ``seed=None`` each env goes on as a single env (``make()``) does, so the batch
        gives the episodes ``SyncVectorEnv`` over single envs gives: an env whose episode ended
        on its last step starts the next episode of its own random stream (what its autoreset
        would have started); any other env draws its seed from a generator seeded by the last
        seed it was given (``gymnasium.utils.seeding.np_random``, as ``Env.np_random``), or
        from fresh entropy if it never was. A seed in a list may be None to do this for one env.
        With workers, the streams live in the workers: an ended env is continued by one
        autoreset step of its shard, which needs every env of that shard to restart now; an
        ended env of a shard that does not (a reset_mask over part of a shard) draws from its
        generator instead.
        """
        self._check_open()
        if self._pending:
            self._drain()
        seeds, given = self._seeds(seed)
        mask = None if options is None else options.get("reset_mask")
        b = self._bufs
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise InvalidArgumentError(f"reset_mask must be a bool array of shape ({self.num_envs},)")
        restart = np.ones(self.num_envs, np.bool_) if mask is None else mask.copy()
        masked = mask is not None
        free = restart & ~given
        if free.any():
            # Envs that ended on their last step (the steppers' next_step autoreset is armed;
            # same_step mode has already started their next episode) continue their stream.
            cont = free & (b["terminated"] | b["truncated"]) if self._mode != AutoresetMode.SAME_STEP \
                else np.zeros(self.num_envs, np.bool_)
            if cont.any():
                streams = self._streams()
                if streams is not None:
                    seeds[cont] = streams[cont]  # resetting from the stream's state continues it
                else:
                    cont = self._continue_by_stepping(cont, restart)
                    if cont.any():
                        restart &= ~cont  # restarted by the step, not by the reset below
                        masked = True
            self._draw_seeds(seeds, free & ~cont)
        given_now = restart & given
        if given_now.any():  # as Env.reset(seed=s): s seeds the env's generator too
            self._gen_seed[given_now] = seeds[given_now]
            self._gen_seeded[given_now] = True
            for i in np.flatnonzero(given_now).tolist():
                self._gens.pop(i, None)
        b["seeds"][:] = seeds
        if masked:
            b["reset_mask"][:] = restart
        self._run(CMD_RESET, (ARG_MASKED if masked else 0) | self._state_arg,
                  range(len(self._groups)))
        restarted = slice(None) if mask is None else mask
        # the flags tell the next reset which envs ended; a restarted env has not
        b["terminated"][restarted] = False
        b["truncated"][restarted] = False
        self._ended[restarted] = False
        self._ep_ret[restarted] = 0.0
        self._ep_len[restarted] = 0
        self._ep_done[restarted] = False
        self._ep_t0[restarted] = time.perf_counter()
        self._needs_reset = False
        self._ready, self._pending, self._sent = [], set(), set()
        return self._out(b[self._obs_key]), self._state_infos(slice(None))

    def _streams(self) -> np.ndarray | None:
        """Every env's random stream state (in-process simulator batches), else None."""
        if not self._fused_state:
            return None
        return np.concatenate([_infos.streams(s) for s in self._sims])

    def _continue_by_stepping(self, cont: np.ndarray, restart: np.ndarray) -> np.ndarray:
        """Start the next episode of the envs ``cont`` the way their autoreset does: one
        next_step step of their groups (the steppers reset an env that ended and ignore its
        action). Only groups whose every env restarts now can be stepped (the others' envs
        are reset right after, so the extra step is lost); returns the envs so continued."""
        groups = [g for g, (lo, hi) in enumerate(self._groups)
                  if cont[lo:hi].any() and restart[lo:hi].all()]
        done = np.zeros(self.num_envs, np.bool_)
        if groups:
            for g in groups:
                lo, hi = self._groups[g]
                self._bufs["actions"][lo:hi] = 0
                done[lo:hi] = cont[lo:hi]
            self._run(CMD_STEP, AUTORESET_CODES[AutoresetMode.NEXT_STEP], groups)
        return done

    def _draw_seeds(self, seeds: np.ndarray, which: np.ndarray) -> None:
        """Seeds for the envs ``which``, as ``FactorioEnv.reset(seed=None)`` draws them."""
        ids = np.flatnonzero(which)
        if not ids.size:
            return
        fresh = ids[~self._gen_seeded[ids]]
        if fresh.size:  # never seeded: Env.np_random would come from fresh entropy
            seeds[fresh] = np.uint64(_seed_entropy()) + np.arange(fresh.size, dtype=np.uint64)
        for i in ids[self._gen_seeded[ids]].tolist():
            gen = self._gens.get(i)
            if gen is None:
                gen = self._gens[i] = seeding.np_random(int(self._gen_seed[i]))[0]
            seeds[i] = int(gen.integers(0, 2**63 - 1))

    def _out(self, a: np.ndarray) -> np.ndarray:
        return a.copy() if self.copy else a

    def _validated_actions(self, actions, count: int) -> np.ndarray:
        try:
            a = np.asarray(actions)
        except (ValueError, TypeError) as exc:  # ragged nesting, objects numpy cannot convert
            raise InvalidArgumentError(f"actions must be an array of integers: {exc}") from None
        want = (count,) + self._action_shape
        if a.shape != want:
            raise InvalidArgumentError(f"actions must have shape {want}, got {a.shape}")
        if a.dtype.kind not in "iu":
            if a.dtype.kind == "f" and np.isnan(a).any():
                raise InvalidArgumentError("actions contain NaN")
            raise InvalidArgumentError(f"actions must be integers, got dtype {a.dtype}")
        # one pass: viewed unsigned, a negative action is huge, so >= nvec catches it too
        u = a.view(f"u{a.dtype.itemsize}") if a.dtype.kind == "i" else a
        bad = u >= self._nvec_u
        if bad.any():
            i = int(np.argwhere(bad)[0][0])
            raise InvalidArgumentError(
                f"action of env {i} out of range: {a[i].tolist()} (valid: 0..nvec-1, nvec="
                f"{self._nvec.tolist()})")
        return a

    def step(self, actions):
        """Step every env (sync mode). Returns owned arrays, or with copy=False views valid until
        the next call."""
        self._check_open()
        if self.is_async:
            self.send(actions)
            return self.recv()
        if self._needs_reset:
            raise ResetNeededError("call reset() before step()")
        b = self._bufs
        b["actions"][...] = self._validated_actions(actions, self.num_envs)
        if self._mode == AutoresetMode.DISABLED:
            self._refuse_ended(slice(None))
        self._run(CMD_STEP, AUTORESET_CODES[self._mode] | self._state_arg, range(len(self._groups)))
        if self._mode == AutoresetMode.DISABLED:
            self._ended |= b["terminated"] | b["truncated"]
        infos = self._state_infos(slice(None))
        if "episode" in self.infos:
            self._episode_stats(slice(None), infos)
        if self._mode == AutoresetMode.SAME_STEP:
            infos["final_obs"] = self._out(b["final_" + self._obs_key])
            infos["_final_obs"] = self._out(b["final_mask"])
        return (self._out(b[self._obs_key]), self._out(b["rewards"]), self._out(b["terminated"]),
                self._out(b["truncated"]), infos)

    def _state_infos(self, index) -> dict:
        """Per-env state in Gymnasium's vector convention (``info[k]`` and mask ``info["_k"]``)
        for the envs ``index`` (a slice or ids)."""
        b, out = self._bufs, {}
        if not self._want_state:
            return out
        if self._fused_state:
            return self._fused_state_infos(index)
        ones = None
        for key, buf, scale in (("position", "positions", 1.0 / 256.0), ("tick", "ticks", None),
                                ("inventory", "inventories", None)):
            if key in self.infos:
                v = b[buf][index]
                out[key] = v * scale if scale is not None else self._out(v)
                if ones is None:
                    ones = np.ones(len(v), np.bool_)
                out["_" + key] = ones
        return out

    def _fused_state_infos(self, index) -> dict:
        """``_state_infos`` of in-process steppers: one pass over each group's worlds, straight
        into the arrays returned when every env is asked for and copies are returned, else
        into preallocated buffers that are then indexed."""
        keys = [k for k in ("position", "tick", "inventory") if k in self.infos]
        if self.copy and isinstance(index, slice) and index == slice(None):
            n = self.num_envs
            arrays = {"position": np.empty((n, 2), np.float64), "tick": np.empty(n, np.uint64),
                      "inventory": np.empty((n, self._num_items), np.uint16)}
            groups = range(len(self._groups))
            index = None
        else:
            arrays = self._state_bufs
            if isinstance(index, slice):
                lo, hi, _ = index.indices(self.num_envs)
                groups = np.unique(self._group_of[lo:hi]) if hi > lo else ()
            else:
                groups = np.unique(self._group_of[index])
        want = {k: arrays[k] if k in keys else None for k in ("position", "tick", "inventory")}
        for g in groups:
            lo, hi = self._groups[int(g)]
            _infos.state(self._sims[int(g)], *(None if a is None else a[lo:hi] for a in want.values()))
        out = {}
        ones = None
        for k in keys:
            v = arrays[k] if index is None else arrays[k][index]
            out[k] = v if index is None else self._out(v)
            if ones is None:
                ones = np.ones(len(v), np.bool_)
            out["_" + k] = ones
        return out

    def _episode_stats(self, index, infos: dict) -> None:
        """Add the step's rewards to each env's episode; envs that ended report
        ``info["episode"] = {"r", "l", "t"}`` with mask ``info["_episode"]``, as Gymnasium's
        RecordEpisodeStatistics does. In next_step mode the step after an end is the reset
        step: it belongs to no episode."""
        b = self._bufs
        now = time.perf_counter()
        if isinstance(index, slice) and index == slice(None):  # every env: one compiled pass
            got = _infos.episode(b["rewards"], b["terminated"], b["truncated"], self._ep_ret,
                                 self._ep_len, self._ep_t0, self._ep_done.view(np.uint8), now,
                                 self._mode == AutoresetMode.NEXT_STEP)
            if got is not None:  # as the wrapper: the key is there only when an episode ended
                infos["episode"] = {"r": got[0], "l": got[1], "t": got[2]}
                infos["_episode"] = got[3]
            return
        ret, length, t0, done_before = (self._ep_ret[index], self._ep_len[index],
                                        self._ep_t0[index], self._ep_done[index])
        if self._mode == AutoresetMode.NEXT_STEP and done_before.any():
            ret[done_before] = 0.0
            length[done_before] = -1  # the reset step adds 1 below
            t0[done_before] = now
        ret += b["rewards"][index]
        length += 1
        done = b["terminated"][index] | b["truncated"][index]
        if done.any():  # as the wrapper: the key is there only when an episode ended
            infos["episode"] = {"r": np.where(done, ret, 0.0), "l": np.where(done, length, 0),
                                "t": np.where(done, np.round(now - t0, 6), 0.0)}
            infos["_episode"] = done
        if self._mode != AutoresetMode.NEXT_STEP and done.any():  # the next episode starts now
            ret[done] = 0.0
            length[done] = 0
            t0[done] = now
        if isinstance(index, slice):
            self._ep_done[index] = done
        else:
            self._ep_ret[index], self._ep_len[index], self._ep_t0[index] = ret, length, t0
            self._ep_done[index] = done

    def _refuse_ended(self, index) -> None:
        ended = self._ended[index]
        if ended.any():
            ids = np.flatnonzero(self._ended) if isinstance(index, slice) else \
                np.asarray(index)[ended]
            raise ResetNeededError(
                f"autoreset_mode='disabled': envs {ids[:8].tolist()}{' ...' if ids.size > 8 else ''}"
                " ended; reset them first with reset(options={'reset_mask': mask})")

    # ---------------------------------------------------------------------------- async

    def async_reset(self, *, seed=None, options: dict | None = None) -> None:
        """Reset every env; afterwards ``recv()`` returns them ``batch_size`` at a time."""
        self.reset(seed=seed, options=options)
        self._ready = list(range(len(self._groups)))

    def send(self, actions, env_id=None) -> None:
        """Start stepping the envs ``env_id`` (default: all) with ``actions`` (one per env)."""
        self._check_open()
        if self._needs_reset:
            raise ResetNeededError("call reset() or async_reset() before send()")
        try:
            ids = np.arange(self.num_envs) if env_id is None else np.asarray(env_id)
        except (ValueError, TypeError) as exc:
            raise InvalidArgumentError(f"env_id must be 1-D integer ids: {exc}") from None
        if ids.dtype.kind not in "iu":
            raise InvalidArgumentError(f"env_id must be integer ids, got dtype {ids.dtype}")
        ids = ids.astype(np.int64, copy=False)
        if ids.ndim != 1 or ids.size == 0 or (ids < 0).any() or (ids >= self.num_envs).any():
            raise InvalidArgumentError(f"env_id must be 1-D ids in 0..{self.num_envs - 1}")
        a = self._validated_actions(actions, ids.size)
        groups = np.unique(self._group_of[ids])
        covered = np.concatenate([np.arange(*self._groups[g]) for g in groups])
        if covered.size != ids.size or not np.array_equal(np.sort(ids), covered):
            raise InvalidArgumentError("send() takes whole groups: pass the env_id returned by recv()")
        if any(int(g) in self._sent for g in groups):
            raise StateError("some of these envs were sent and not yet received; recv() them first")
        if self._mode == AutoresetMode.DISABLED:
            self._refuse_ended(ids)
        self._bufs["actions"][ids] = a
        mode = AUTORESET_CODES[self._mode] | self._state_arg
        for g in groups:
            g = int(g)
            self._sent.add(g)
            if g in self._ready:
                self._ready.remove(g)
            if self._pool is not None:
                self._pool.post(g, CMD_STEP, mode)
                self._pending.add(g)
            else:
                self._run(CMD_STEP, mode, [g])
                self._ready.append(g)

    def recv(self):
        """Wait for ``batch_size`` envs to finish; return their results and ``info["env_id"]``."""
        self._check_open()
        need = self.batch_size
        done: list[int] = []
        while sum(self._groups[g][1] - self._groups[g][0] for g in done) < need:
            if self._ready:
                done.append(self._ready.pop(0))
                continue
            if not self._pending:
                raise StateError("recv() without enough envs in flight: send() first")
            for g in self._pool.wait_any(self._pending):
                self._pending.discard(g)
                self._ready.append(g)
        self._sent.difference_update(done)
        ids = np.concatenate([np.arange(*self._groups[g]) for g in done])
        b = self._bufs
        if self._mode == AutoresetMode.DISABLED:
            self._ended[ids] |= b["terminated"][ids] | b["truncated"][ids]
        sl = slice(*self._groups[done[0]]) if len(done) == 1 else None

        def take(x):  # one group: a view (or copy); several: gathered into a new array
            return self._out(x[sl]) if sl is not None else x[ids]
        infos = self._state_infos(ids if sl is None else sl)
        if "episode" in self.infos:
            self._episode_stats(ids, infos)
        infos["env_id"] = ids
        if self._mode == AutoresetMode.SAME_STEP:
            infos["final_obs"] = take(b["final_" + self._obs_key])
            infos["_final_obs"] = take(b["final_mask"])
        return (take(b[self._obs_key]), take(b["rewards"]), take(b["terminated"]), take(b["truncated"]),
                infos)

    def _drain(self) -> None:
        while self._pending:
            self._pending.difference_update(self._pool.wait_any(self._pending))

    # ---------------------------------------------------------------------------- misc

    def render(self, env_id: int = 0):
        """RGB array of env ``env_id`` (in-process mode only)."""
        self._check_open()
        if self.num_workers:
            raise InvalidArgumentError("render() of a worker-backed vector env is not supported; "
                                       "use make(name, render_mode='rgb_array')")
        g = int(self._group_of[env_id])
        return self._sims[g].render(env_id - self._groups[g][0])

    @property
    def shared_bytes(self) -> int:
        """Bytes of shared memory the env maps (0 in-process)."""
        return self._pool.arena.size if self._pool is not None else 0

    def close(self, **kwargs) -> None:
        """Stop the workers and release shared memory. Idempotent; safe after a worker died."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        self.closed = True
        self._finalizer()  # stops the workers and releases the segment, or closes the steppers
        self._bufs = {}
        self._pool = None
        self._sims = []


def _close_all(steppers: list) -> None:
    for s in steppers:
        s.close()


def make_vec(name: str, num_envs: int, backend: str = "sim", num_workers: int = 0,
             cluster: str | None = None, **kwargs: Any) -> FactorioVectorEnv:
    """Create a ``gymnasium.vector.VectorEnv`` of ``num_envs`` envs of scenario ``name``.

    Parameters
    ----------
    name : str
        A key of ``factorio_fast.SCENARIOS``.
    num_envs : int
    backend : str
        A name in ``factorio_fast.backends.BACKENDS``: ``"sim"`` (the embedded simulator) or
        ``"factorio"`` (headless servers running the project's mod; ``num_servers`` and
        ``envs_per_server`` choose how many; docs/factorio.md).
    num_workers : int
        0: step the whole batch in this process (one C call). k > 0: k worker processes over
        shared memory.
    autoreset_mode : {"next_step", "same_step", "disabled"}
        Gymnasium's autoreset convention (the ``autoreset_mode`` attribute, also in
        ``metadata["autoreset_mode"]``). In ``same_step`` mode ``infos["final_obs"]`` /
        ``infos["_final_obs"]`` are preallocated arrays (the final observation of envs that
        ended, and the mask). In ``disabled`` mode an env that ended must be restarted with
        ``reset(options={"reset_mask": mask})`` before it is stepped again.
    obs : {"bytes", "features"}
        ``"bytes"`` (default): the scenario's packed observation (``uint8``, layouts in
        docs/scenarios.md), the wire format. ``"features"``: ``float32`` rows decoded from
        those bytes in C right after each step (by the workers, into the shared segment) --
        bits 0/1, ids one-hot, values scaled; what an MLP policy wants. ``final_obs`` follows
        the same choice. ``factorio_fast.decode(bytes, name)`` gives the same features.
    infos : tuple of str
        What ``info`` holds, in Gymnasium's vector convention (``info[k]`` with the mask
        ``info["_k"]``): ``"position"`` (x, y in tiles, float64 ``(n, 2)``), ``"tick"`` (game
        ticks of the episode), ``"inventory"`` (uint16 counts by item id, ``codec.ITEM_IDS``),
        and ``"episode"`` (return ``r``, length ``l``, seconds ``t`` of the envs whose episode
        ended, as Gymnasium's ``RecordEpisodeStatistics`` reports them; off by default because
        that wrapper refuses to run over an env that already reports it). Default ``()``:
        the state infos read every env's world once more after the step. In-process, the
        three state infos are one compiled pass over the worlds and the episode statistics
        another (together about 0.1 ms per step of 4096 envs, measured on a loaded 2-core
        machine, against 0.6 ms for separate readers and numpy); with workers, each worker
        copies its shard's state after its step.
    batch_size : int, optional
        ``< num_envs`` turns on EnvPool-style async ``send``/``recv``.
    copy : bool
        True (default): return owned arrays. False: return views into the env's buffers
        (shared memory with workers), valid until the next ``step``/``recv``/``reset``; no
        copy per step, and ``torch.from_numpy`` wraps them without one either.
    start_method : {"fork", "spawn", "forkserver"}, optional
        Worker start method (default: the platform's).
    timeout : float
        Seconds to wait for a worker before raising (a dead worker is reported sooner).
    spin_us : float
        How long a waiting party (trainer or worker) polls, yielding its CPU between checks,
        before it sleeps on a futex. Polling only happens while the trainer and the workers fit
        on this process's CPUs; otherwise waits sleep at once. The default, 2 ms, covers a
        typical step of 4096 envs, so neither side pays a futex wake-up per step (about 10 % of
        throughput with one worker on our 2-core machines); 0 always sleeps.
    cluster : {None, "ray"}
        ``"ray"``: the envs run in ``num_shards=K`` Ray actors (``num_workers`` worker processes
        inside each), see ``factorio_fast.integrations.ray``; needs the ``[ray]`` extra.
    **kwargs
        Scenario options: ``ticks_per_step``, ``obstacles``, ...
    """
    if cluster is not None or "num_shards" in kwargs:
        if cluster != "ray":
            raise InvalidArgumentError(
                f"cluster must be None or 'ray' (num_shards needs it), got {cluster!r}")
        from factorio_fast.integrations.ray import RayVectorEnv
        return RayVectorEnv(name, num_envs, num_workers=num_workers, backend=backend, **kwargs)
    return FactorioVectorEnv(name, num_envs, num_workers=num_workers, backend=backend, **kwargs)
