"""Vector env shards on a Ray cluster: ``make_vec(name, n, cluster="ray", num_shards=K)``.

When one machine is not enough (a farm of real Factorio servers needs a core each), the batch is
split into ``K`` contiguous shards of envs, each owned by one Ray actor that runs an ordinary
local :func:`factorio_fast.make_vec` on its node (in its own process, or over
``num_workers`` worker processes of its own). The driver sees one
:class:`gymnasium.vector.VectorEnv` with the same spaces, seeding (env ``i`` gets ``seed + i``
across all shards), autoreset modes, ``infos``, ``obs`` and ``copy`` choices and async
``send``/``recv`` as the local env, because it *is* the local env class
(:class:`factorio_fast.FactorioVectorEnv`) with its worker pool replaced by Ray actors:

* one remote call per shard per step, carrying the actions of the whole shard; the reply is the
  shard's arrays (observations, rewards, flags and what ``infos`` asks for), which Ray moves as
  numpy buffers through its object store. On our side each array is copied once per shard into
  the batch (a slice assignment), never per env;
* async mode steps shards as groups: ``batch_size`` must be a whole number of shards, and
  ``recv()`` returns the first shards to answer (``info["env_id"]``);
* placement by resource requests: each actor asks for ``num_cpus`` CPUs (default
  ``max(1, num_workers)``) and, with ``factorio_servers=s``, ``s`` of the custom resource
  ``factorio_servers`` (start nodes with ``ray start --resources='{"factorio_servers": N}'``);
  ``ray_options`` adds any other ``actor.options(...)`` keyword (``scheduling_strategy``,
  ``runtime_env``, ...). A shard that cannot be placed within ``timeout`` raises
  :class:`~factorio_fast.errors.WaitTimeoutError` naming it and what it asked for.

Faults: a shard whose actor dies (killed, its node lost) or fails raises
:class:`~factorio_fast.errors.WorkerError` naming the shard, its pid and node and Ray's account of
the cause, as soon as Ray reports it (a shard silent for longer than ``timeout`` raises
``WaitTimeoutError``). Shards are **not** restarted: as with local workers, the env is broken
from then on and every call raises ``WorkerError`` until it is closed; make a new one.
``close()`` asks every actor to close its env, then kills it.

Ray is started with ``ray.init()`` when no cluster is connected yet (a local one, or the cluster
named by ``RAY_ADDRESS``); the env never shuts Ray down. Every node needs factorio_fast installed
(or a ``runtime_env`` that provides it). The core package never imports Ray; this module needs
the ``[ray]`` extra.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

try:
    import ray
    import ray.exceptions
    import ray.util
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("factorio_fast.integrations.ray needs Ray: "
                      "pip install 'factorio_fast[ray]'") from exc

import factorio_fast
from factorio_fast import _validate
from factorio_fast._workers import ARG_MASKED, ARG_STATE, CMD_RESET, CMD_STEP, Layout
from factorio_fast.errors import ArgumentTypeError, InvalidArgumentError, WaitTimeoutError, WorkerError
from factorio_fast.vector import FactorioVectorEnv

__all__ = ["RayVectorEnv", "make_ray_vec"]

_CAUSE_CHARS = 1500  # Ray's error texts carry whole tracebacks; the first part names the cause


class _Shard:
    """The actor's body: one local vector env of the shard's envs, stepped in place.

    Each call returns a dict of views of that env's buffers (built once); Ray serialises them
    when the call returns, before the actor runs its next call, so the views can be reused.
    """

    def __init__(self, name: str, num_envs: int, env_kwargs: dict):
        self._env = FactorioVectorEnv(name, num_envs, copy=False, **env_kwargs)
        env, b = self._env, self._env._bufs
        key = env._obs_key
        if env._want_state and env._fused_state:
            # The driver reads the state infos from the batch buffers each call returns, so the
            # shard's steps fill those buffers (ARG_STATE) instead of the local env's fused reader.
            env._fused_state = False
            env._state_arg = ARG_STATE
        state = []
        if env._state_arg:
            state = ["positions", "ticks"] + (["inventories"] if "inventory" in env.infos else [])
        self._after_reset = {k: b[k] for k in [key] + state}
        final = ["final_" + key, "final_mask"] if env.autoreset_mode == AutoresetMode.SAME_STEP else []
        self._after_step = {k: b[k] for k in [key, "rewards", "terminated", "truncated"] + final + state}

    def ready(self) -> dict:
        ctx = ray.get_runtime_context()
        return {"pid": os.getpid(), "node": ctx.get_node_id(), "ip": ray.util.get_node_ip_address(),
                "version": factorio_fast.__version__, "obs_shape": tuple(self._env._obs_shape)}

    def reset(self, seeds: np.ndarray, mask: np.ndarray | None) -> dict:
        self._env.reset(seed=seeds, options=None if mask is None else {"reset_mask": mask})
        return self._after_reset

    def step(self, actions: np.ndarray) -> dict:
        self._env.step(actions)
        return self._after_step

    def close(self) -> None:
        self._env.close()


_ShardActor = ray.remote(_Shard)


def _cause(exc: BaseException) -> str:
    """Ray's account of why a call failed, as one line of bounded length."""
    cause = getattr(exc, "cause", None)  # RayTaskError: the exception the actor raised
    if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(cause, BaseException):
        text = f"{type(cause).__name__}: {cause}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= _CAUSE_CHARS else text[:_CAUSE_CHARS] + " ..."


class RayShardPool:
    """The driver's side: one Ray actor per group of envs, behind ``WorkerPool``'s interface.

    ``bufs`` holds the whole batch in this process; ``post`` sends a shard its slice (one
    remote call), and the waits copy each answer into the shard's slice of ``bufs``. After a
    failure the pool is *broken* (the env refuses further calls until closed).
    """

    def __init__(self, layout_args: dict, shards: list[tuple[int, int]], backend: str, name: str,
                 kwargs: dict, *, start_method: str | None, timeout: float, spin_us: float,
                 env_kwargs: dict, workers_per_shard: int, num_cpus: float,
                 factorio_servers: float, ray_options: dict):
        self.shards = shards
        self.timeout = timeout
        self.broken = False
        self.actors: list = []
        self.info: list[dict] = [{} for _ in shards]
        self.layout = Layout(num_workers=len(shards), handoff_size=0, **layout_args)
        self.bufs = self.layout.local_buffers()
        self._refs: dict[int, Any] = {}   # shard -> the ObjectRef of its outstanding call
        # Actions travel in the narrowest integer type that holds every valid one (set by the
        # env once it knows the action space): a uint8 batch of 32768 envs still fits in the
        # call itself, where int64 would go through the object store (Ray inlines < 100 KiB)
        self.action_dtype: np.dtype | None = None
        self._posted_at: dict[int, float] = {}
        resources = {"factorio_servers": factorio_servers} if factorio_servers else {}
        self.request = {"num_cpus": num_cpus, **({"resources": resources} if resources else {})}
        options = {"max_restarts": 0, "max_task_retries": 0, **self.request, **ray_options}
        kw = dict(env_kwargs, backend=backend, num_workers=workers_per_shard, timeout=timeout,
                  spin_us=spin_us, start_method=start_method, **kwargs)
        if not ray.is_initialized():
            ray.init()
        try:
            for lo, hi in shards:
                self.actors.append(_ShardActor.options(**options).remote(name, hi - lo, kw))
            self._handshake(layout_args)
        except BaseException:
            self.close()
            raise

    @property
    def num_workers(self) -> int:
        return len(self.shards)

    def _where(self, g: int) -> str:
        i = self.info[g]
        where = f"shard {g} (envs {self.shards[g][0]}..{self.shards[g][1] - 1}"
        if i:
            where += f", pid {i['pid']} on node {i['ip']}"
        return where + ")"

    def _handshake(self, layout_args: dict) -> None:
        """Every actor is placed and has built its env; its build matches ours."""
        refs = {a.ready.remote(): g for g, a in enumerate(self.actors)}
        deadline = time.monotonic() + self.timeout
        todo = list(refs)
        while todo:
            done, todo = ray.wait(todo, num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
            if not done:
                waiting = sorted(refs[r] for r in todo)
                raise WaitTimeoutError(
                    f"Ray shards {waiting} did not start within {self.timeout} s; each asks for "
                    f"{self.request} and the cluster has {ray.available_resources()} available "
                    "(too few CPUs or factorio_servers?)")
            for r in done:
                g = refs[r]
                try:
                    self.info[g] = ray.get(r)
                except ray.exceptions.RayError as exc:
                    self._fail(g, exc, "failed to start")
                i = self.info[g]
                want = (factorio_fast.__version__, tuple(layout_args["obs_shape"]))
                if (i["version"], i["obs_shape"]) != want:
                    self.broken = True
                    raise WorkerError(
                        f"{self._where(g)} runs factorio_fast {i['version']} (observations "
                        f"{i['obs_shape']}), this process {want[0]} ({want[1]}); install the same "
                        "version on every node", pid=i["pid"])

    def _fail(self, g: int, exc: BaseException, how: str | None = None) -> None:
        self.broken = True
        if how is None:
            how = "died" if isinstance(exc, ray.exceptions.RayActorError) else "failed"
        raise WorkerError(f"{self._where(g)} {how}: {_cause(exc)}",
                          pid=self.info[g].get("pid")) from exc

    def post(self, g: int, cmd: int, arg: int = 0) -> None:
        lo, hi = self.shards[g]
        b = self.bufs
        if cmd == CMD_STEP:  # the autoreset mode in arg is the shard's env's own
            a = b["actions"][lo:hi]
            if self.action_dtype is not None:  # validated already: narrowing loses nothing
                a = a.astype(self.action_dtype)
            self._refs[g] = self.actors[g].step.remote(a)
        elif cmd == CMD_RESET:
            mask = b["reset_mask"][lo:hi] if arg & ARG_MASKED else None
            self._refs[g] = self.actors[g].reset.remote(b["seeds"][lo:hi], mask)
        else:
            raise InvalidArgumentError(f"unknown command {cmd}")
        self._posted_at[g] = time.monotonic()

    def _store(self, g: int, result: dict) -> None:
        lo, hi = self.shards[g]
        for k, v in result.items():
            self.bufs[k][lo:hi] = v  # one copy of the shard's array out of the object store

    def _collect(self, groups: list[int]) -> None:
        """Copy the answers of ``groups`` (whose calls have all completed or failed) into the
        batch; raise WorkerError naming the first shard that failed."""
        refs = [self._refs[g] for g in groups]
        try:
            results = ray.get(refs, timeout=self.timeout)
        except ray.exceptions.GetTimeoutError:
            self._timed_out(groups)
        except ray.exceptions.RayError as exc:
            self._attribute(groups, exc)
        for g, result in zip(groups, results):
            del self._refs[g]
            self._store(g, result)

    def _attribute(self, groups: list[int], exc: BaseException) -> None:
        """One of ``groups`` failed (``exc``, from a call over several): raise for that shard."""
        for g in groups:
            try:
                ray.get(self._refs[g], timeout=0)
            except ray.exceptions.GetTimeoutError:
                continue  # still running: not the one
            except ray.exceptions.RayError as e:
                self._fail(g, e)
        self._fail(groups[0], exc)

    def _timed_out(self, groups) -> None:
        self.broken = True
        now = time.monotonic()
        g = min(groups, key=lambda k: self._posted_at.get(k, now))
        raise WaitTimeoutError(
            f"{self._where(g)} has not answered for {now - self._posted_at.get(g, now):.1f} s "
            f"(timeout {self.timeout} s); its actor is alive but stuck or its node is unreachable")

    def wait(self, groups) -> None:
        """Wait for the outstanding call of each of ``groups``; raise if one failed.

        One ``ray.get`` over all of them: it returns as soon as any shard is found dead, even
        while others still run; past the timeout the shards that did not answer are named."""
        groups = list(groups)
        refs = [self._refs[g] for g in groups]
        try:
            results = ray.get(refs, timeout=self.timeout)
        except ray.exceptions.GetTimeoutError:
            self._timed_out([g for g in groups if not ray.wait([self._refs[g]], timeout=0)[0]])
        except ray.exceptions.RayError as exc:
            self._attribute(groups, exc)
        for g, result in zip(groups, results):
            del self._refs[g]
            self._store(g, result)

    def wait_any(self, pending=()) -> list[int]:
        """Block until at least one outstanding call completes; return those shards.

        The others in ``pending`` are checked too: one silent for longer than the timeout raises
        ``WaitTimeoutError`` even while the rest keep answering (a dead one answers at once, with
        its error)."""
        pending = [g for g in pending if g in self._refs]
        refs = [self._refs[g] for g in pending]
        done, todo = ray.wait(refs, num_returns=1, timeout=self.timeout)
        if not done:
            self._timed_out(pending)
        if todo:  # take whatever else is ready too
            more, todo = ray.wait(todo, num_returns=len(todo), timeout=0)
            done += more
        finished = [pending[refs.index(r)] for r in done]
        self._collect(finished)
        now = time.monotonic()
        late = [g for g in pending if g not in finished and now - self._posted_at[g] > self.timeout]
        if late:
            self._timed_out(late)
        return finished

    def close(self) -> None:
        """Close every shard's env, then kill its actor. Idempotent; safe after a shard died."""
        actors, self.actors = self.actors, []
        self._refs.clear()
        self.bufs = {}
        if not actors or not ray.is_initialized():
            return
        try:  # only shards that started have an env to close (others may never be placed)
            refs = [a.close.remote() for a, i in zip(actors, self.info) if i]
            if refs:
                ray.wait(refs, num_returns=len(refs), timeout=min(self.timeout, 5.0))
        except Exception:
            pass  # a shard that died or hangs is killed below all the same
        for a in actors:
            try:
                ray.kill(a, no_restart=True)
            except Exception:
                pass


class RayVectorEnv(FactorioVectorEnv):
    """A :class:`factorio_fast.FactorioVectorEnv` whose envs run in Ray actors, one per shard.

    Create it with ``make_vec(name, num_envs, cluster="ray", num_shards=K, ...)`` (or directly).
    Every option of ``make_vec`` keeps its meaning except ``num_workers``, which here is the
    number of worker processes *inside each shard* (0: the shard steps in its actor's process).

    Parameters
    ----------
    num_shards : int
        Number of Ray actors; shard ``k`` owns a contiguous range of envs (sizes differ by at
        most one; ``shard_envs`` lists them). In async mode (``batch_size < num_envs``) the
        shards are the groups that step together, so ``batch_size`` is a multiple of the shard
        size.
    num_cpus : float, optional
        CPUs each actor reserves (default ``max(1, num_workers)``).
    factorio_servers : float
        Units of the custom resource ``factorio_servers`` each actor reserves (0: none), so
        shards of the Factorio backend land on nodes that can run their servers.
    ray_options : dict, optional
        More ``actor.options(...)`` keywords (``scheduling_strategy``, ``runtime_env``, ...).
    """

    def __init__(self, name: str, num_envs: int, *, num_shards: int | None = None, num_workers: int = 0,
                 num_cpus: float | None = None, factorio_servers: float = 0,
                 ray_options: dict | None = None, **kwargs: Any):
        num_envs = _validate.integer("num_envs", num_envs, 1)
        if num_shards is None:
            raise ArgumentTypeError("cluster='ray' needs num_shards (the number of Ray actors)")
        num_shards = _validate.integer("num_shards", num_shards, 1, num_envs)
        num_workers = _validate.integer("num_workers", num_workers, 0, num_envs // num_shards)
        if num_cpus is None:
            num_cpus = max(1, num_workers)
        num_cpus = _validate.number("num_cpus", num_cpus, positive=False)
        factorio_servers = _validate.number("factorio_servers", factorio_servers, positive=False)
        if ray_options is None:
            ray_options = {}
        if not isinstance(ray_options, dict):
            raise ArgumentTypeError(f"ray_options must be a dict, got {type(ray_options).__name__}")
        if "_pool_factory" in kwargs:
            raise ArgumentTypeError("unexpected keyword argument '_pool_factory'")
        # what each shard's own env gets besides its share of the envs (it reports no episode
        # statistics: this env keeps them over the whole batch, as the local env does)
        env_kwargs = {k: kwargs[k] for k in ("autoreset_mode", "obs") if k in kwargs}
        infos = kwargs.get("infos", ())
        if isinstance(infos, (tuple, list)):
            env_kwargs["infos"] = tuple(k for k in infos if k != "episode")
        self.num_shards = num_shards
        self.shard_workers = num_workers
        factory = functools.partial(RayShardPool, env_kwargs=env_kwargs, workers_per_shard=num_workers,
                                    num_cpus=num_cpus, factorio_servers=factorio_servers,
                                    ray_options=ray_options)
        super().__init__(name, num_envs, num_workers=num_shards, _pool_factory=factory, **kwargs)
        self._pool.action_dtype = np.min_scalar_type(max(int(self._nvec.max()) - 1, 0))

    @property
    def shard_envs(self) -> list[tuple[int, int]]:
        """``(first, last + 1)`` env ids of each shard."""
        return list(self._groups)

    @property
    def shard_info(self) -> list[dict]:
        """Where each shard runs: ``pid``, ``node`` (Ray node id) and ``ip`` of its actor."""
        return [dict(i) for i in self._pool.info] if self._pool is not None else []

    @property
    def shared_bytes(self) -> int:
        """0: a Ray env maps no shared segment here (the shards' own envs may, on their nodes)."""
        return 0


def make_ray_vec(name: str, num_envs: int, num_shards: int, **kwargs: Any) -> RayVectorEnv:
    """``make_vec(name, num_envs, cluster="ray", num_shards=num_shards, **kwargs)``."""
    return RayVectorEnv(name, num_envs, num_shards=num_shards, **kwargs)
