"""Single environments: ``factorio_fast.make(name, **kw)`` -> ``gymnasium.Env``.

A single env is a batch of one in the native simulator, so it shares every line of mechanics
with the vector env; use ``make_vec`` for speed.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from factorio_fast import _validate
from factorio_fast.backends import new_stepper
from factorio_fast.errors import ClosedError, InvalidArgumentError, ResetNeededError


def _seed_entropy() -> int:
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)


class FactorioEnv(gym.Env):
    """One environment of a scenario (see ``factorio_fast.SCENARIOS``).

    ``info`` holds ``position`` (x, y in tiles, exact multiples of 1/256), ``tick`` and, where
    the scenario has an inventory, ``inventory`` (item name -> count).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, name: str, *, render_mode: str | None = None, backend: str = "sim",
                 obs: str = "bytes", **scenario_kwargs: Any):
        from factorio_fast.features import check_obs_mode, decoder, feature_space

        if render_mode not in (None, "rgb_array"):
            raise InvalidArgumentError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.obs_mode = check_obs_mode(obs)
        self._sim = new_stepper(backend, name, 1, scenario_kwargs)
        self.backend = backend
        self.name = name
        self.render_mode = render_mode
        self.observation_space = self._sim.single_observation_space
        self.action_space = self._sim.single_action_space
        self._features = None
        if self.obs_mode == "features":
            self._features = decoder(name)
            self.observation_space = feature_space(name)
            self._feat = np.zeros((1, self._features.width), np.float32)
        self.spec = _spec_for(name, backend, dict(scenario_kwargs, **(
            {"obs": obs} if obs != "bytes" else {})))
        self._obs = np.zeros((1,) + tuple(self._sim.obs_shape), self._sim.obs_dtype)
        self._rew = np.zeros(1, np.float32)
        self._term = np.zeros(1, np.bool_)
        self._trunc = np.zeros(1, np.bool_)
        self._needs_reset = True
        self._ended = False  # the last episode ended (terminated or truncated)
        from factorio_fast.scenarios import SCENARIOS
        self._has_inventory = bool(getattr(SCENARIOS.get(name), "has_inventory", True))

    def _info(self) -> dict:
        from factorio_fast.codec import ITEM_NAMES
        pos = self._sim.positions()[0]
        info = {"position": (float(pos[0]) / 256.0, float(pos[1]) / 256.0),
                "tick": int(self._sim.ticks()[0])}
        if self._has_inventory:
            inv = self._sim.inventories()[0]
            info["inventory"] = {ITEM_NAMES[i]: int(c) for i, c in enumerate(inv) if c and ITEM_NAMES[i]}
        return info

    def _live(self):
        if self._sim is None:
            raise ClosedError("this env is closed")
        return self._sim

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._live()
        if seed is not None:
            seed = _validate.seed(seed)
        super().reset(seed=seed)
        if seed is None and self._ended:
            # Continue the env's own random stream, as the vector env's autoreset does: a step
            # of the ended env resets it (the stepper's next_step rule; the action is ignored).
            # So SyncVectorEnv over these envs and make_vec give the same episodes.
            self._sim.step(np.zeros((1,) + tuple(self._sim.action_shape), np.int64),
                           obs=self._obs, rewards=self._rew, terminated=self._term,
                           truncated=self._trunc, autoreset="next_step")
        else:
            s = seed if seed is not None else int(self.np_random.integers(0, 2**63 - 1))
            self._sim.reset(np.array([s], np.uint64), obs=self._obs)
        self._needs_reset = self._ended = False
        return self._observation(), self._info()

    def _observation(self) -> np.ndarray:
        if self._features is None:
            return self._obs[0].copy()
        self._features.fill(self._obs.reshape(1, -1), self._feat)
        return self._feat[0].copy()

    def step(self, action):
        self._live()
        if self._needs_reset:
            raise ResetNeededError("call reset() before step() (and after an episode ends)")
        try:
            a = np.asarray(action)
        except (ValueError, TypeError) as exc:
            raise InvalidArgumentError(f"action must be an integer array: {exc}") from None
        if a.shape != tuple(self._sim.action_shape):
            raise InvalidArgumentError(
                f"action must have shape {tuple(self._sim.action_shape)}, got {a.shape}")
        self._sim.step(a.reshape((1,) + a.shape), obs=self._obs, rewards=self._rew,
                       terminated=self._term, truncated=self._trunc, autoreset="next_step")
        term, trunc = bool(self._term[0]), bool(self._trunc[0])
        self._needs_reset = self._ended = term or trunc
        return self._observation(), float(self._rew[0]), term, trunc, self._info()

    def render(self):
        self._live()
        if self.render_mode != "rgb_array":
            return None
        return self._sim.render(0)

    def close(self):
        sim, self._sim = getattr(self, "_sim", None), None
        if sim is not None:
            sim.close()


def _spec_for(name: str, backend: str, scenario_kwargs: dict):
    """The registered spec of ``factorio_fast/<name>-v0`` with this env's arguments, so tools
    that read ``env.spec`` (its id, ``max_episode_steps``) see what ``gym.make`` would give."""
    import dataclasses

    spec = gym.registry.get(f"factorio_fast/{name}-v0")
    if spec is None:
        return None
    kwargs = dict(spec.kwargs, **scenario_kwargs)
    if backend != "sim":
        kwargs["backend"] = backend
    return dataclasses.replace(spec, kwargs=kwargs)


def make(name: str, *, backend: str = "sim", render_mode: str | None = None, obs: str = "bytes",
         **scenario_kwargs: Any) -> FactorioEnv:
    """Create one Gymnasium environment of scenario ``name``.

    Parameters
    ----------
    name : str
        A key of ``factorio_fast.SCENARIOS`` (``movement_micro``, ``mining_micro``,
        ``building_micro``).
    backend : str
        A name in ``factorio_fast.backends.BACKENDS``: ``"sim"``, the embedded native
        simulator, or ``"factorio"``, headless Factorio servers running the project's mod
        (docs/factorio.md).
    render_mode : {None, "rgb_array"}
    obs : {"bytes", "features"}
        ``"bytes"`` (default): the packed observation (``uint8``, docs/scenarios.md).
        ``"features"``: a ``float32`` vector decoded from it in C (see
        ``factorio_fast.features``), for MLP policies.
    **scenario_kwargs
        ``ticks_per_step``, ``obstacles`` and the scenario's own options.
    """
    return FactorioEnv(name, backend=backend, render_mode=render_mode, obs=obs, **scenario_kwargs)
