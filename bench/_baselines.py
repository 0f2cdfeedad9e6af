"""Peer baselines for bench_sim.py: the pure-Python reference of a scenario as a single
Gymnasium env, to be stepped in ``gymnasium.vector.SyncVectorEnv`` (docs/design.md §10).

``ReferenceEnv`` wraps ``factorio_fast._reference_sim.RefEnv`` (the readable oracle that
tests/test_sim_reference.py holds the C simulator to), so the baseline runs the very same
mechanics, observation and reward as the C ``BatchSim``, one env at a time in Python.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from factorio_fast._reference_sim import SCENARIOS, RefEnv


class ReferenceEnv(gym.Env):
    """One env of ``scenario`` stepped by the pure-Python reference."""

    metadata = {"render_modes": []}

    def __init__(self, scenario: str):
        cfg = SCENARIOS[scenario]
        self._env = RefEnv(scenario)
        self.observation_space = gym.spaces.Box(0, 255, (cfg["obs_bytes"],), np.uint8)
        nvec = cfg["nvec"]
        self.action_space = (gym.spaces.Discrete(nvec[0]) if len(nvec) == 1
                             else gym.spaces.MultiDiscrete(list(nvec)))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(0, 2**63))
        return np.frombuffer(self._env.reset(int(seed)), np.uint8).copy(), {}

    def step(self, action):
        obs, rew, term, trunc = self._env.step(action)
        return np.frombuffer(obs, np.uint8).copy(), float(rew), bool(term), bool(trunc), {}


def make_sync_vector_env(scenario: str, num_envs: int) -> gym.vector.SyncVectorEnv:
    """``num_envs`` reference envs in Gymnasium's SyncVectorEnv (next-step autoreset)."""
    return gym.vector.SyncVectorEnv([lambda: ReferenceEnv(scenario) for _ in range(num_envs)])
