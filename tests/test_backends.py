"""The backend seam: the stepper protocol, the registry, and a backend that is not ``sim``."""

import numpy as np
import pytest

import factorio_fast
from factorio_fast import backends
from factorio_fast._sim import BatchSim
from factorio_fast.errors import InvalidArgumentError


class _MirrorStepper:
    """A second backend: ``sim`` behind a Python wrapper that records what it was asked."""

    calls: list = []

    def __init__(self, scenario, num_envs, **kwargs):
        self._inner = BatchSim(scenario, num_envs, **kwargs)
        for name in ("num_envs", "obs_shape", "obs_dtype", "action_shape", "action_nvec",
                     "single_observation_space", "single_action_space", "bytes_per_env"):
            setattr(self, name, getattr(self._inner, name))

    def reset(self, seeds, env_ids=None, *, obs):
        _MirrorStepper.calls.append(("reset", self.num_envs))
        self._inner.reset(seeds, env_ids, obs=obs)

    def step(self, actions, **kw):
        _MirrorStepper.calls.append(("step", self.num_envs))
        self._inner.step(actions, **kw)

    def positions(self):
        return self._inner.positions()

    def ticks(self):
        return self._inner.ticks()

    def inventories(self):
        return self._inner.inventories()

    def render(self, env_id):
        return self._inner.render(env_id)

    def close(self):
        self._inner.close()


@pytest.fixture
def mirror_backend():
    backends.register_backend("mirror", _MirrorStepper)
    _MirrorStepper.calls.clear()
    yield "mirror"
    del backends.BACKENDS["mirror"]


def test_batchsim_implements_the_stepper_protocol():
    sim = BatchSim("mining_micro", 2)
    assert isinstance(sim, backends.BatchStepper)
    sim.close()


def test_unknown_backend_lists_the_known_ones(mirror_backend):
    with pytest.raises(InvalidArgumentError,
                       match="unknown backend 'nope'; known backends: 'sim', 'factorio', 'mirror'"):
        factorio_fast.make_vec("movement_micro", 2, backend="nope")
    backends._PLANNED["later"] = "coming soon"
    try:
        with pytest.raises(InvalidArgumentError, match="backend='later' .coming soon."):
            factorio_fast.make("movement_micro", backend="later")
    finally:
        del backends._PLANNED["later"]
    with pytest.raises(InvalidArgumentError, match="already registered"):
        backends.register_backend("sim", _MirrorStepper)
    with pytest.raises(InvalidArgumentError, match="callable"):
        backends.register_backend("other", 3)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_a_registered_backend_runs_behind_make_vec(mirror_backend, num_workers):
    kw = dict(num_workers=num_workers, start_method="fork") if num_workers else {}
    ref = factorio_fast.make_vec("mining_micro", 4, autoreset_mode="same_step", copy=True)
    env = factorio_fast.make_vec("mining_micro", 4, backend=mirror_backend,
                                 autoreset_mode="same_step", copy=True, **kw)
    assert env.backend == "mirror"
    env.action_space.seed(0)
    np.testing.assert_array_equal(env.reset(seed=5)[0], ref.reset(seed=5)[0])
    for _ in range(400):  # past the 300-step episode: autoresets go through the backend too
        a = np.asarray(env.action_space.sample())
        got, want = env.step(a), ref.step(a)
        for g, w in zip(got[:4], want[:4]):
            np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(got[4]["final_obs"], want[4]["final_obs"])
    env.close()
    ref.close()
    if not num_workers:  # in-process, the calls are visible here; with workers they ran there
        assert ("step", 4) in _MirrorStepper.calls and ("reset", 4) in _MirrorStepper.calls


def test_a_registered_backend_runs_behind_make(mirror_backend):
    env = factorio_fast.make("movement_micro", backend=mirror_backend)
    ref = factorio_fast.make("movement_micro")
    np.testing.assert_array_equal(env.reset(seed=1)[0], ref.reset(seed=1)[0])
    for a in [3, 3, 5, 0, 7]:
        np.testing.assert_array_equal(env.step(a)[0], ref.step(a)[0])
    assert env.backend == "mirror"
    env.close()
    ref.close()


@pytest.mark.parametrize("maker", [lambda: factorio_fast.make("full_game"),
                                   lambda: factorio_fast.make_vec("full_game", 2)])
def test_full_game_on_the_simulator_points_to_the_factorio_backend(maker):
    # full_game exists only in the mod: the simulator's refusal says where to play it
    with pytest.raises(InvalidArgumentError, match="backend='factorio'"):
        maker()
