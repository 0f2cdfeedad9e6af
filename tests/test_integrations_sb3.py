"""Stable-Baselines3: its env checker on single envs, and the native VecEnv adapter
(factorio_fast.integrations.sb3) held to SB3's conventions and to DummyVecEnv of single envs.

Needs the optional extra ``[sb3]`` (``make install`` installs it)."""

import numpy as np
import pytest

sb3 = pytest.importorskip("stable_baselines3", reason="the [sb3] extra is not installed")

from stable_baselines3.common.env_checker import check_env  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor, VecNormalize  # noqa: E402

import factorio_fast  # noqa: E402
from factorio_fast.errors import ClosedError, InvalidArgumentError, ResetNeededError  # noqa: E402
from factorio_fast.integrations.sb3 import FactorioSB3VecEnv  # noqa: E402

SCEN = ["movement_micro", "mining_micro", "building_micro"]


@pytest.mark.parametrize("name", SCEN)
@pytest.mark.parametrize("obs", ["bytes", "features"])
def test_sb3_check_env_passes_on_single_envs(name, obs):
    env = factorio_fast.make(name, obs=obs)
    check_env(env, warn=True)
    env.close()


@pytest.mark.parametrize("name,obs", [("movement_micro", "features"), ("mining_micro", "bytes"),
                                      ("building_micro", "features")])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_sb3_adapter_equals_dummy_vec_env_of_single_envs(name, obs, num_workers):
    """Same seeds, same actions: observations, rewards, dones, terminal observations, time
    limits and episode statistics equal SB3's own DummyVecEnv over ``make()`` envs, across
    several autoresets (ticks_per_step=60 ends movement episodes early)."""
    n = 4
    kw = dict(ticks_per_step=60)
    ours = FactorioSB3VecEnv(name, n, obs=obs, num_workers=num_workers, **kw)
    theirs = DummyVecEnv([lambda: factorio_fast.make(name, obs=obs, **kw) for _ in range(n)])
    try:
        assert isinstance(ours, VecEnv)
        assert ours.observation_space == theirs.observation_space
        assert ours.action_space == theirs.action_space
        assert ours.seed(7) == theirs.seed(7) == [7, 8, 9, 10]
        np.testing.assert_array_equal(ours.reset(), theirs.reset())
        ours.action_space.seed(3)
        ends = truncs = 0
        steps = {"movement_micro": 130, "mining_micro": 310, "building_micro": 30}[name]
        for _ in range(steps):
            a = np.stack([ours.action_space.sample() for _ in range(n)])
            o1, r1, d1, i1 = ours.step(a)
            o2, r2, d2, i2 = theirs.step(a)
            np.testing.assert_array_equal(o1, o2)
            np.testing.assert_array_equal(r1, r2)
            np.testing.assert_array_equal(d1, d2)
            assert d1.dtype == np.bool_ and r1.dtype == np.float32
            for k in np.flatnonzero(d1):
                ends += 1
                np.testing.assert_array_equal(i1[k]["terminal_observation"], i2[k]["terminal_observation"])
                assert i1[k]["TimeLimit.truncated"] == i2[k]["TimeLimit.truncated"]
                truncs += i1[k]["TimeLimit.truncated"]
                assert set(i1[k]["episode"]) == {"r", "l", "t"}
            for k in np.flatnonzero(~d1):
                assert i1[k] == {}
        if name != "building_micro":
            assert ends >= n and truncs >= 1
        # reset() without a new seed: each env goes on as DummyVecEnv's single env does
        np.testing.assert_array_equal(ours.reset(), theirs.reset())
        for _ in range(10):
            a = np.stack([ours.action_space.sample() for _ in range(n)])
            for x, y in zip(ours.step(a)[:3], theirs.step(a)[:3]):
                np.testing.assert_array_equal(x, y)
    finally:
        ours.close()
        theirs.close()


def test_sb3_adapter_episode_statistics_equal_vec_monitor():
    n = 4
    ours = FactorioSB3VecEnv("movement_micro", n, ticks_per_step=60)
    mon = VecMonitor(FactorioSB3VecEnv("movement_micro", n, ticks_per_step=60))
    try:
        ours.seed(1)
        mon.seed(1)
        ours.reset()
        mon.reset()
        seen = 0
        for _ in range(150):
            a = np.full(n, 3, np.int64)
            _, _, d1, i1 = ours.step(a)
            _, _, d2, i2 = mon.step(a)
            for k in np.flatnonzero(d1):
                seen += 1
                assert i1[k]["episode"]["l"] == i2[k]["episode"]["l"]
                assert i1[k]["episode"]["r"] == pytest.approx(i2[k]["episode"]["r"], abs=1e-5)
        assert seen >= n
    finally:
        ours.close()
        mon.close()


def test_sb3_adapter_attributes_methods_render_and_errors():
    env = FactorioSB3VecEnv("movement_micro", 3, render_mode="rgb_array", render_envs=2)
    try:
        assert env.get_attr("name") == ["movement_micro"] * 3
        assert env.get_attr("num_envs", indices=[0, 2]) == [3, 3]
        with pytest.raises(AttributeError):
            env.get_attr("no_such_attribute")
        assert env.has_attr("obs_mode") and not env.has_attr("no_such_attribute")
        env.set_attr("timeout", 12.0)
        assert env.venv.timeout == 12.0
        with pytest.raises(InvalidArgumentError, match="share"):
            env.set_attr("timeout", 1.0, indices=[0])
        assert env.env_is_wrapped(VecNormalize) == [False, False, False]
        img = env.env_method("render", 1, indices=[1])[0]
        assert img.ndim == 3 and img.dtype == np.uint8
        env.reset()
        assert len(env.get_images()) == 2
        tiled = env.render()
        assert tiled.ndim == 3 and tiled.shape[-1] == 3
    finally:
        env.close()
    with pytest.raises(InvalidArgumentError, match="num_envs"):
        FactorioSB3VecEnv("movement_micro")
    with pytest.raises(InvalidArgumentError, match="fixed"):
        FactorioSB3VecEnv("movement_micro", 2, autoreset_mode="next_step")
    native = factorio_fast.make_vec("movement_micro", 2)
    with pytest.raises(InvalidArgumentError, match="same_step"):
        FactorioSB3VecEnv(native)
    native.close()
    native = factorio_fast.make_vec("movement_micro", 2, autoreset_mode="same_step", infos=("episode",),
                                    obs="features")
    wrapped = FactorioSB3VecEnv(native)
    assert wrapped.observation_space.dtype == np.float32
    wrapped.close()
    assert native._closed


@pytest.mark.parametrize("obs", ["features", "bytes"])
def test_sb3_adapter_one_call_step_refuses_bad_input(obs):
    """In-process batches step in one compiled call; what it refuses, it refuses before any
    env moves, with the vector env's error classes."""
    env = FactorioSB3VecEnv("building_micro", 3, obs=obs)
    try:
        assert env._batch is not None
        with pytest.raises(ResetNeededError):
            env.step(np.zeros((3, 3), np.int64))
        env.seed(3)
        first = env.reset().copy()
        bad = np.zeros((3, 3), np.int64)
        bad[1, 0] = 99
        with pytest.raises(InvalidArgumentError, match="env 1 is 99"):
            env.step(bad)
        bad[1, 0] = -1
        with pytest.raises(InvalidArgumentError, match="env 1"):
            env.step(bad)
        with pytest.raises(InvalidArgumentError, match="shape"):
            env.step(np.zeros((3, 2), np.int64))
        with pytest.raises(InvalidArgumentError):
            env.step(np.full((3, 3), np.nan))
        with pytest.raises(InvalidArgumentError):
            env.step_wait()  # no step_async
        # nothing moved: the first step from here equals one from a fresh reset
        ref = FactorioSB3VecEnv("building_micro", 3, obs=obs)
        ref.seed(3)
        ref.reset()
        ok = np.ones((3, 3), np.int64)
        o1, r1, d1, _ = env.step(ok)
        o2, r2, d2, _ = ref.step(ok.astype(np.int32))  # another dtype: the general path
        assert ref._batch is not None
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(d1, d2)
        assert not np.array_equal(first, o1)
        ref.close()
    finally:
        env.close()
    with pytest.raises(ClosedError):
        env.step(np.ones((3, 3), np.int64))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_sb3_ppo_learns_through_the_adapter(num_workers):
    """A short PPO run: SB3's rollout collection, terminal-observation bootstrapping and
    episode logging all go through the adapter."""
    import torch

    torch.set_num_threads(1)
    env = FactorioSB3VecEnv("movement_micro", 16, num_workers=num_workers, ticks_per_step=30)
    try:
        model = sb3.PPO("MlpPolicy", env, n_steps=32, batch_size=128, n_epochs=1, seed=0,
                        device="cpu", policy_kwargs={"net_arch": [32]})
        model.learn(total_timesteps=16 * 32 * 2)
        assert model.num_timesteps == 16 * 32 * 2
        assert len(model.ep_info_buffer) > 0  # episodes ended and were logged from our infos
        action, _ = model.predict(env.reset(), deterministic=True)
        assert action.shape == (16,)
    finally:
        env.close()
