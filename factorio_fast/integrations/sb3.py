"""A native Stable-Baselines3 ``VecEnv`` over one ``make_vec`` batch.

SB3's own way to run many envs is ``DummyVecEnv`` (a Python loop over single envs) or
``SubprocVecEnv`` (one process per env). This adapter steps the whole batch in one call of
:class:`factorio_fast.FactorioVectorEnv` (in-process, or over worker processes with
``num_workers=k``) and only converts the results to SB3's conventions:

* autoreset in the same step: an env that ends returns its next episode's first observation,
  with the last one in ``infos[i]["terminal_observation"]``;
* ``dones = terminated | truncated``, ``infos[i]["TimeLimit.truncated"]`` for a time limit;
* ``infos[i]["episode"] = {"r", "l", "t"}`` when an episode ends (what ``Monitor`` adds), so
  ``ep_rew_mean`` is logged without a ``VecMonitor``;
* ``reset()`` returns only the observations, seeded from ``seed()`` (env i gets ``seed + i``);
  without a seed each env goes on as DummyVecEnv's single envs do.

>>> from stable_baselines3 import PPO
>>> from factorio_fast.integrations.sb3 import FactorioSB3VecEnv
>>> env = FactorioSB3VecEnv("movement_micro", num_envs=64)     # obs="features" by default
>>> model = PPO("MlpPolicy", env, n_steps=32).learn(2048)      # doctest: +SKIP

``get_attr``/``set_attr``/``env_method`` act on the batch as a whole (the envs of one batch
share every attribute); ``env_method`` calls the method once and returns its result for each
index asked. ``render()`` tiles up to ``render_envs`` envs (in-process batches only).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("factorio_fast.integrations.sb3 needs Stable-Baselines3: "
                      "pip install 'factorio_fast[sb3]'") from exc

from gymnasium.vector import AutoresetMode

from factorio_fast import _infos
from factorio_fast._workers import CMD_STEP
from factorio_fast.errors import InvalidArgumentError, ResetNeededError
from factorio_fast.vector import AUTORESET_CODES, FactorioVectorEnv, make_vec

__all__ = ["FactorioSB3VecEnv"]


class FactorioSB3VecEnv(VecEnv):
    """SB3 ``VecEnv`` of ``num_envs`` envs of scenario ``name``.

    Parameters
    ----------
    env : str or FactorioVectorEnv
        A scenario name (then ``make_vec(env, num_envs, obs=obs, **make_vec_kwargs)`` is
        built here, with ``autoreset_mode="same_step"`` and episode statistics), or a vector
        env made with ``autoreset_mode="same_step"`` and ``infos=("episode", ...)``, whose
        ownership passes to the adapter (``close()`` closes it).
    num_envs : int
        With a name only.
    obs : {"features", "bytes"}
        ``"features"`` (default here): float32 features an MLP policy reads directly.
    render_mode : {None, "rgb_array"}
    render_envs : int
        How many envs ``get_images()``/``render()`` show.
    **make_vec_kwargs
        ``num_workers``, ``ticks_per_step``, ... (see ``factorio_fast.make_vec``).
    """

    def __init__(self, env: str | FactorioVectorEnv, num_envs: int | None = None, *,
                 obs: str = "features", render_mode: str | None = None, render_envs: int = 16,
                 **make_vec_kwargs: Any):
        if isinstance(env, FactorioVectorEnv):
            if num_envs is not None or make_vec_kwargs:
                raise InvalidArgumentError("pass num_envs and make_vec options only with a scenario name")
            venv = env
        elif isinstance(env, str):
            if num_envs is None:
                raise InvalidArgumentError("num_envs is required with a scenario name")
            for key in ("autoreset_mode", "copy", "batch_size"):
                if key in make_vec_kwargs:
                    raise InvalidArgumentError(f"{key} is fixed by the SB3 adapter")
            infos = tuple(make_vec_kwargs.pop("infos", ()))
            venv = make_vec(env, num_envs, obs=obs, autoreset_mode="same_step", copy=True,
                            infos=tuple(dict.fromkeys(("episode",) + infos)), **make_vec_kwargs)
        else:
            raise InvalidArgumentError(f"env must be a scenario name or a FactorioVectorEnv, got {env!r}")
        if venv.autoreset_mode != AutoresetMode.SAME_STEP or venv.is_async or "episode" not in venv.infos:
            raise InvalidArgumentError(
                "the SB3 adapter needs make_vec(..., autoreset_mode='same_step', infos=('episode',)) "
                "without batch_size (SB3 resets an env in the step that ends it)")
        if not venv.copy:
            # SB3 keeps the last observations across the next step (PPO stores _last_obs after
            # stepping): views into buffers the step overwrites would corrupt its rollouts.
            raise InvalidArgumentError("the SB3 adapter needs a vector env with copy=True")
        if render_mode not in (None, "rgb_array"):
            raise InvalidArgumentError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.venv = venv
        venv.render_mode = render_mode
        self.render_envs = int(render_envs)
        self._actions: np.ndarray | None = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._bind(venv)

    def _bind(self, venv: FactorioVectorEnv) -> None:
        """Preallocate what every step needs, so a step builds nothing but its results. The
        adapter steps the batch's buffers itself instead of calling ``venv.step``: SB3 reads
        none of the vector env's infos but the episode statistics (kept here), and
        ``venv.step``'s own bookkeeping and copies cost more than stepping 16 envs (about 2/3
        of the step, by cProfile). An in-process simulator batch steps in one compiled call
        (``factorio_fast._infos.SameStepBatch``: step, features, dones, episode counters)."""
        n = venv.num_envs
        b = venv._bufs
        key = venv._obs_key
        self._obs_buf, self._final_buf = b[key], b["final_" + key]
        self._rew, self._term, self._trunc = b["rewards"], b["terminated"], b["truncated"]
        self._act_buf = b["actions"]
        self._act_shape = venv.action_space.shape
        self._dones = np.zeros(n, np.bool_)
        # episode statistics of the episodes running now (what Monitor adds on their end)
        self._ep_ret = np.zeros(n, np.float64)
        self._ep_len = np.zeros(n, np.int64)
        self._ep_t0 = np.zeros(n, np.float64)
        self._groups = range(len(venv._groups))
        self._batch = None
        if not venv.num_workers and len(venv._sims) == 1 and _infos.supported(venv._sims[0]):
            self._batch = _infos.SameStepBatch(
                venv._sims[0], venv.name if venv._features is not None else None, b["obs"],
                b["final_obs"], b["rewards"], b["terminated"], b["truncated"], b["final_mask"],
                self._dones, b["features"], b["final_features"], self._ep_ret, self._ep_len)

    # ------------------------------------------------------------------ stepping

    def reset(self) -> np.ndarray:
        # SB3's seeds (seed() sets them, reset() uses them once): an env without one goes
        # on as DummyVecEnv's single env would (see FactorioVectorEnv.reset)
        seeds = self._seeds
        seed = None if all(s is None for s in seeds) else [None if s is None else int(s) for s in seeds]
        obs, infos = self.venv.reset(seed=seed)
        self._ep_ret[:] = 0.0
        self._ep_len[:] = 0
        self._ep_t0[:] = time.perf_counter()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        actions, self._actions = self._actions, None
        if actions is None:
            raise InvalidArgumentError("step_wait() without step_async()")
        venv = self.venv
        venv._check_open()
        if venv._needs_reset:
            raise ResetNeededError("call reset() before step()")
        if type(actions) is not np.ndarray or actions.dtype != np.int64:
            actions = np.asarray(actions)
            if actions.dtype.kind == "f" and not np.isnan(actions).any():
                actions = actions.astype(np.int64)  # SB3 may hand float arrays for Discrete
        if actions.shape != self._act_shape:
            try:
                actions = actions.reshape(self._act_shape)
            except ValueError:
                raise InvalidArgumentError(
                    f"actions must have shape {self._act_shape}, got {actions.shape}") from None
        ret, length = self._ep_ret, self._ep_len
        if self._batch is not None and actions.dtype == np.int64:
            ended = self._batch.step(actions)  # validates the actions first
        else:
            self._act_buf[...] = venv._validated_actions(actions, self.num_envs)
            venv._run(CMD_STEP, AUTORESET_CODES[AutoresetMode.SAME_STEP], self._groups)
            np.logical_or(self._term, self._trunc, out=self._dones)
            ret += self._rew
            length += 1
            ended = 1  # looked up below
        obs = self._obs_buf.copy()  # owned: SB3 keeps it across the next step
        rewards = self._rew.copy()
        dones = self._dones.copy()
        term, trunc = self._term, self._trunc
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        ended = dones.nonzero()[0] if ended else ()
        if len(ended):
            final, t0 = self._final_buf, self._ep_t0
            now = time.perf_counter()
            for i in ended.tolist():
                infos[i] = {"terminal_observation": final[i].copy(),
                            "TimeLimit.truncated": bool(trunc[i] and not term[i]),
                            "episode": {"r": float(ret[i]), "l": int(length[i]),
                                        "t": round(now - float(t0[i]), 6)}}
            ret[ended] = 0.0
            length[ended] = 0
            t0[ended] = now
        return obs, rewards, dones, infos

    def close(self) -> None:
        self.venv.close()

    # ------------------------------------------------------------------ attributes

    def _count(self, indices) -> int:
        return len(list(self._get_indices(indices)))

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.venv, attr_name)] * self._count(indices)

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        if indices is not None and self._count(indices) != self.num_envs:
            raise InvalidArgumentError("the envs of one batch share their attributes: set them for all")
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * self._count(indices)

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * self._count(indices)  # no per-env Gymnasium wrappers exist here

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.venv.render_mode != "rgb_array":
            return [None] * min(self.num_envs, self.render_envs)
        return [self.venv.render(i) for i in range(min(self.num_envs, self.render_envs))]
