"""torchrl, with no adapter: ``GymEnv("factorio_fast/<name>-v0")`` and
``GymWrapper(make_vec(...))``; their rollouts hold exactly the native env's observations,
rewards and flags. Needs torchrl (``make install`` installs it)."""

import multiprocessing as mp

import numpy as np
import pytest

_before = mp.get_start_method(allow_none=True)
torchrl = pytest.importorskip("torchrl", reason="torchrl is not installed")
# `import torchrl` makes 'spawn' the default start method of this whole test process; the rest
# of the suite is written for the platform default (test_integrations_spawn.py runs spawn).
mp.set_start_method(_before, force=True)

import torch  # noqa: E402
from torchrl.envs import GymEnv, GymWrapper  # noqa: E402

import factorio_fast  # noqa: E402

TICKS = 60  # long steps: movement episodes end within the rollouts


def _nvec(space):
    return list(np.atleast_1d(getattr(space, "nvec", getattr(space, "n", None))))


def _one_hot(actions: np.ndarray, nvec) -> torch.Tensor:
    """torchrl's default action encoding of Discrete (one-hot) and MultiDiscrete (concatenated
    one-hots)."""
    a = torch.as_tensor(actions.reshape(actions.shape[:actions.ndim - (len(nvec) > 1)] + (len(nvec),)))
    return torch.cat([torch.nn.functional.one_hot(a[..., k], int(n)) for k, n in enumerate(nvec)], -1)


class Scripted:
    """A policy replaying a fixed action sequence (what the native env is stepped with)."""

    def __init__(self, actions, nvec):
        self.actions, self.nvec, self.t = actions, nvec, 0

    def __call__(self, td):
        td["action"] = _one_hot(self.actions[self.t], self.nvec)
        self.t += 1
        return td


@pytest.mark.parametrize("name,obs", [("movement_micro", "bytes"), ("building_micro", "features")])
def test_torchrl_gym_env_rollout_equals_the_native_env(name, obs):
    steps = 250 if name == "movement_micro" else 40
    env = GymEnv(f"factorio_fast/{name}-v0", ticks_per_step=TICKS, obs=obs)
    native = factorio_fast.make(name, ticks_per_step=TICKS, obs=obs)
    native.action_space.seed(0)
    actions = np.array([native.action_space.sample() for _ in range(steps)])
    try:
        td0 = env.reset(seed=11)
        data = env.rollout(steps, Scripted(actions, _nvec(native.action_space)), auto_reset=False,
                           tensordict=td0, break_when_any_done=False)
        o, _ = native.reset(seed=11)
        ends = 0
        for t in range(steps):
            np.testing.assert_array_equal(data["observation"][t].numpy(), o)
            o2, r, term, trunc, _ = native.step(actions[t])
            np.testing.assert_array_equal(data["next", "observation"][t].numpy(), o2)
            assert data["next", "reward"][t].item() == np.float32(r)
            assert data["next", "terminated"][t].item() == term
            assert data["next", "truncated"][t].item() == trunc
            assert data["next", "done"][t].item() == (term or trunc)
            o = o2
            if term or trunc:  # torchrl resets an ended env without a seed: so do we
                ends += 1
                o, _ = native.reset()
        if name == "movement_micro":
            assert ends >= 2
    finally:
        env.close()
        native.close()


# (sign x, sign y) of the target delta -> movement_micro's walk action (N is -y)
_TOWARD = {(0, -1): 1, (1, -1): 2, (1, 0): 3, (1, 1): 4, (0, 1): 5, (-1, 1): 6, (-1, 0): 7,
           (-1, -1): 8, (0, 0): 0}


def _greedy(obs: np.ndarray, t: int) -> np.ndarray:
    """Walk toward the target (with a fixed pattern of detours), from either observation
    kind: a deterministic function of the observation, so episodes end by reaching the
    target at different steps and torchrl resets some envs while others go on."""
    if obs.dtype == np.uint8:
        d = obs[:, 36:40].copy().view("<i2")
    else:
        d = obs[:, 258:260]
    sx, sy = np.sign(d[:, 0]).astype(int), np.sign(d[:, 1]).astype(int)
    a = np.array([_TOWARD[(x, y)] for x, y in zip(sx, sy)], np.int64)
    detour = (np.arange(len(a)) + t) % 5 == 0
    return np.where(detour, (a + 2) % 9, a)


class Greedy:
    def __init__(self):
        self.t = 0

    def __call__(self, td):
        td["action"] = _one_hot(_greedy(td["observation"].numpy(), self.t), [9])
        self.t += 1
        return td


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("obs", ["features", "bytes"])
def test_torchrl_gym_wrapper_of_make_vec_equals_the_native_env(obs, num_workers):
    """``autoreset_mode="same_step"``: torchrl puts ``final_obs`` in ``("next",
    "observation")`` of the envs that ended and the new episode's first observation at the next
    step's root; both equal the native vector env's.

    (torchrl's full reset, ``reset()`` without a seed: the next test.)"""
    n, steps = 6, 99
    kw = dict(autoreset_mode="same_step", obs=obs)  # default 8 ticks: the greedy walk arrives
    env = GymWrapper(factorio_fast.make_vec("movement_micro", n, num_workers=num_workers, **kw))
    native = factorio_fast.make_vec("movement_micro", n, **kw)
    try:
        assert env.batch_size == torch.Size([n])
        td0 = env.reset(seed=21)
        data = env.rollout(steps, Greedy(), auto_reset=False, tensordict=td0, break_when_any_done=False)
        assert data.batch_size == torch.Size([n, steps])
        o, _ = native.reset(seed=21)
        ends = 0
        for t in range(steps):
            np.testing.assert_array_equal(data["observation"][:, t].numpy(), o)
            o, r, term, trunc, info = native.step(_greedy(o, t))
            nxt = np.where((term | trunc)[:, None], info["final_obs"], o)
            np.testing.assert_array_equal(data["next", "observation"][:, t].numpy(), nxt)
            np.testing.assert_array_equal(data["next", "reward"][:, t, 0].numpy(), r)
            np.testing.assert_array_equal(data["next", "terminated"][:, t, 0].numpy(), term)
            np.testing.assert_array_equal(data["next", "truncated"][:, t, 0].numpy(), trunc)
            ends += int((term | trunc).sum())
        assert ends >= n  # envs ended (and were reset by torchrl) while others kept going
        # the kept tensors are distinct per step (owned copies): not one buffer seen 99 times
        assert len({bytes(data["observation"][0, t].numpy()) for t in range(steps)}) > 10
    finally:
        env.close()
        native.close()


@pytest.mark.parametrize("num_workers", [0, 2])
def test_torchrl_full_reset_equals_sync_vector_env_of_single_envs(num_workers):
    """A second rollout starts with torchrl's full reset, ``reset()`` without a seed: each env
    goes on as a single env does (``SyncVectorEnv`` over ``make()`` envs reset the same way),
    so the rollouts after it still hold the same data."""
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode

    n, steps = 4, 60
    env = GymWrapper(factorio_fast.make_vec("movement_micro", n, autoreset_mode="same_step",
                                            num_workers=num_workers))
    sync = gym.vector.SyncVectorEnv([lambda: factorio_fast.make("movement_micro") for _ in range(n)],
                                    autoreset_mode=AutoresetMode.SAME_STEP)
    try:
        policy = Greedy()
        rollouts = [env.rollout(steps, policy, auto_reset=False, tensordict=env.reset(seed=5),
                                break_when_any_done=False)]
        for _ in range(2):  # auto_reset: torchrl resets every env without a seed
            rollouts.append(env.rollout(steps, policy, break_when_any_done=False))
        t = ends = 0
        for k, data in enumerate(rollouts):
            o, _ = sync.reset(seed=5 if k == 0 else None)
            for s in range(steps):
                np.testing.assert_array_equal(data["observation"][:, s].numpy(), o)
                o, r, term, trunc, info = sync.step(_greedy(o, t))
                t += 1
                np.testing.assert_array_equal(data["next", "reward"][:, s, 0].numpy(), r)
                np.testing.assert_array_equal(data["next", "terminated"][:, s, 0].numpy(), term)
                ends += int((term | trunc).sum())
        assert ends >= n
    finally:
        env.close()
        sync.close()


def test_torchrl_gym_wrapper_disabled_autoreset_runs_episodes_to_the_end():
    """``autoreset_mode="disabled"`` (torchrl's preferred mode): torchrl restarts ended envs
    with ``reset(options={"reset_mask": ...})``; each episode's rewards and flags are the ones
    its observations imply (the step counter in the bytes restarts at 0 after each end)."""
    n, steps = 4, 150
    env = GymWrapper(factorio_fast.make_vec("movement_micro", n, autoreset_mode="disabled",
                                            ticks_per_step=TICKS))
    try:
        env.set_seed(0)
        data = env.rollout(steps, break_when_any_done=False)
        done = data["next", "done"][..., 0].numpy()
        obs = data["observation"].numpy()
        counter = obs[..., 42].astype(np.int64) | (obs[..., 43].astype(np.int64) << 8)
        assert done.sum() >= n
        for i in range(n):
            for t in range(steps - 1):
                want = 0 if done[i, t] else counter[i, t] + 1
                assert counter[i, t + 1] == want
    finally:
        env.close()
