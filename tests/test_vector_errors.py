"""Vector env error paths found in review: a timed-out worker breaks the env, non-integer env
ids are refused, the timeout must be positive."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import factorio_fast
from factorio_fast.errors import InvalidArgumentError, WaitTimeoutError, WorkerError

NAME = "movement_micro"




def _acts(env, n=None):
    n = env.num_envs if n is None else n
    return np.zeros((n,) + env.single_action_space.shape, dtype=np.int64)


def test_vector_timeout_marks_env_broken():
    env = factorio_fast.make_vec(NAME, 4, num_workers=2, timeout=10.0)
    try:
        env.reset(seed=1)
        env._pool.timeout = 0.5  # short from here on: start-up may be slow on a loaded machine
        pid = env._pool.procs[1].pid
        os.kill(pid, signal.SIGSTOP)  # a stuck (alive) worker
        try:
            with pytest.raises(WaitTimeoutError):
                env.step(_acts(env))
        finally:
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.3)  # the worker now finishes the step the trainer gave up on
        # Its shard has advanced without the trainer seeing it; stepping on would return a
        # trajectory with a hidden step (and, had it still been running, race on "actions").
        with pytest.raises(WorkerError):
            env.step(_acts(env))
    finally:
        env.close()


@pytest.mark.parametrize("bad", [np.array([0.9, 1.9]), np.array([False, True])])
def test_vector_send_rejects_non_integer_env_ids(bad):
    env = factorio_fast.make_vec(NAME, 4, batch_size=2)
    try:
        env.async_reset(seed=0)
        _, _, _, _, info = env.recv()
        assert list(info["env_id"]) == [0, 1]
        with pytest.raises(InvalidArgumentError):
            env.send(_acts(env, 2), bad)
    finally:
        env.close()


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), "5", True])
def test_vector_rejects_non_positive_timeout(timeout):
    with pytest.raises(InvalidArgumentError, match="timeout"):
        factorio_fast.make_vec(NAME, 2, num_workers=1, timeout=timeout)


@pytest.mark.parametrize("spin_us", [-1, float("nan"), "5", None])
def test_vector_rejects_bad_spin_us(spin_us):
    with pytest.raises(InvalidArgumentError, match="spin_us"):
        factorio_fast.make_vec(NAME, 2, num_workers=1, spin_us=spin_us)


@pytest.mark.parametrize("spin_us", [0.0, 2000.0])
def test_vector_results_do_not_depend_on_spin_us(spin_us):
    ref = factorio_fast.make_vec(NAME, 8)
    env = factorio_fast.make_vec(NAME, 8, num_workers=2, spin_us=spin_us)
    try:
        assert env.spin_us == spin_us
        a0, _ = ref.reset(seed=4)
        b0, _ = env.reset(seed=4)
        np.testing.assert_array_equal(a0, b0)
        rng = np.random.default_rng(0)
        for _ in range(30):
            act = rng.integers(0, 9, 8)
            for x, y in zip(ref.step(act)[:4], env.step(act)[:4]):
                np.testing.assert_array_equal(x, y)
    finally:
        env.close()
        ref.close()
