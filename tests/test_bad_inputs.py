"""Every bad input to the public API raises a ``factorio_fast.errors`` class (and the builtin a
user would catch), and leaves the object usable: a walk over the inputs an adversarial run
found raising someone else's exception or being accepted wrongly."""

import gymnasium as gym
import numpy as np
import pytest

import factorio_fast
from factorio_fast import errors


def _raises(cls, fn, *args, **kwargs):
    with pytest.raises(errors.FactorioFastError) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, cls), f"{type(info.value).__mro__} is not a {cls}"
    return info.value


@pytest.fixture
def env():
    e = factorio_fast.make("movement_micro")
    yield e
    e.close()


@pytest.mark.parametrize("seed", [2**64, -1, 1.5, True, "3"])
def test_bad_inputs_single_env_seed(env, seed):
    cls = errors.ArgumentTypeError if not isinstance(seed, int) or isinstance(seed, bool) else \
        errors.InvalidArgumentError
    _raises(cls, env.reset, seed=seed)
    obs, _ = env.reset(seed=2**64 - 1)  # the largest valid seed, and the env still works
    assert env.observation_space.contains(obs)


def test_bad_inputs_single_env_step_before_reset_and_after_close(env):
    err = _raises(errors.ResetNeededError, env.step, 0)
    assert isinstance(err, gym.error.ResetNeeded)  # Gymnasium's class stays a base
    env.reset(seed=0)
    _raises(errors.InvalidArgumentError, env.step, [[1, 2], [3]])  # ragged
    env.close()
    _raises(errors.ClosedError, env.step, 0)
    _raises(errors.ClosedError, env.reset, seed=0)


@pytest.mark.parametrize("kwargs, cls", [
    (dict(num_envs=True), errors.ArgumentTypeError),
    (dict(num_envs=0), errors.InvalidArgumentError),
    (dict(num_envs=2.0), errors.ArgumentTypeError),
    (dict(num_envs=4, batch_size="2"), errors.ArgumentTypeError),
    (dict(num_envs=4, batch_size=1.5), errors.ArgumentTypeError),
    (dict(num_envs=4, batch_size=0), errors.InvalidArgumentError),
    (dict(num_envs=4, num_workers=1, start_method="bogus"), errors.InvalidArgumentError),
    (dict(num_envs=4, timeout=True), errors.ArgumentTypeError),
    (dict(num_envs=4, spin_us=-1), errors.InvalidArgumentError),
    (dict(num_envs=10**9), errors.InsufficientMemoryError),
])
def test_bad_inputs_make_vec_arguments(kwargs, cls):
    _raises(cls, factorio_fast.make_vec, "building_micro", **kwargs)


def test_bad_inputs_make_vec_huge_batch_is_refused_before_allocating():
    import psutil
    rss = psutil.Process().memory_info().rss
    err = _raises(errors.InsufficientMemoryError, factorio_fast.make_vec, "movement_micro", 10**9)
    assert isinstance(err, MemoryError) and "GiB" in str(err)
    assert psutil.Process().memory_info().rss - rss < 256 * 2**20


@pytest.mark.parametrize("seed", [2**64, 2**64 - 3, -1, 1.5, [0, 1, 2], [0, 1, 2, -1],
                                  [[0, 1], [2]]])
def test_bad_inputs_vector_seed(seed):
    vec = factorio_fast.make_vec("movement_micro", 4)
    try:
        _raises(errors.InvalidArgumentError, vec.reset, seed=seed)
        obs, _ = vec.reset(seed=2**64 - 4)  # env 3 gets 2**64 - 1: still valid
        assert vec.observation_space.contains(obs)
    finally:
        vec.close()


def test_bad_inputs_vector_actions_and_order():
    vec = factorio_fast.make_vec("movement_micro", 4)
    try:
        _raises(errors.ResetNeededError, vec.step, np.zeros(4, np.int64))
        vec.reset(seed=0)
        _raises(errors.InvalidArgumentError, vec.step, [[1, 2], [3], 4, 5])
        _raises(errors.InvalidArgumentError, vec.step, np.zeros(3, np.int64))
        _raises(errors.InvalidArgumentError, vec.step, np.full(4, 9))
        vec.step(np.zeros(4, np.int64))  # still usable
    finally:
        vec.close()


@pytest.mark.parametrize("num_workers", [0, 2])
def test_bad_inputs_pool_refuses_the_same_ids_twice_without_recv(num_workers):
    pool = factorio_fast.make_vec("movement_micro", 4, batch_size=2, num_workers=num_workers)
    try:
        _raises(errors.ResetNeededError, pool.send, np.zeros(2, np.int64), [0, 1])
        pool.async_reset(seed=0)
        *_, info = pool.recv()
        ids = info["env_id"]
        pool.send(np.zeros(2, np.int64), ids)
        _raises(errors.StateError, pool.send, np.zeros(2, np.int64), ids)
        *_, info2 = pool.recv()  # the other group, ready since async_reset
        *_, info3 = pool.recv()  # the group sent once
        assert np.array_equal(info3["env_id"], ids) and not np.array_equal(info2["env_id"], ids)
        _raises(errors.InvalidArgumentError, pool.send, np.zeros(2, np.int64), [[0], [1, 2]])
        pool.send(np.zeros(2, np.int64), ids)  # received: may be sent again
    finally:
        pool.close()


@pytest.mark.parametrize("make", [lambda **kw: factorio_fast.make("movement_micro", **kw),
                                  lambda **kw: factorio_fast.make_vec("movement_micro", 2, **kw)])
def test_bad_inputs_unknown_keyword_is_a_type_error(make):
    # torchrl's GymEnv passes keywords such as frameskip= and drops them on a TypeError
    with pytest.raises(TypeError, match="unexpected keyword argument 'frameskip'") as info:
        make(frameskip=4)
    assert isinstance(info.value, errors.ArgumentTypeError)
