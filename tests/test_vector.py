"""Vector envs: every execution mode gives the in-process results; failures are reported."""

from __future__ import annotations

import os
import signal
import time

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import factorio_fast
from factorio_fast.errors import ClosedError, InvalidArgumentError, WorkerError
from factorio_fast.scenarios import SCENARIOS

from conftest import own_shm_names, shm_names

SCEN = list(SCENARIOS)


def policy(space, num_envs, step, ids=None):
    """A deterministic per-env action stream: env i at its k-th step takes f(i, k)."""
    rng = np.random.default_rng(step)
    a = rng.integers(0, np.atleast_1d(getattr(space, "nvec", getattr(space, "n", 2))),
                     size=(num_envs,) + (space.shape or ()))
    if ids is not None:
        a = a[ids]
    return a.astype(np.int64)


def rollout_sync(env, steps, seed=7):
    obs, _ = env.reset(seed=seed)
    out = [obs.copy()]
    for k in range(steps):
        o, r, te, tr, info = env.step(policy(env.single_action_space, env.num_envs, k))
        rec = [o.copy(), r.copy(), te.copy(), tr.copy()]
        if "final_obs" in info:
            rec += [info["final_obs"].copy(), info["_final_obs"].copy()]
        out.append(rec)
    return out


@pytest.mark.parametrize("name", SCEN)
def test_vector_single_env_passes_gymnasium_checker(name):
    env = factorio_fast.make(name)
    check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("name", SCEN)
def test_vector_single_env_info_and_spaces(name):
    env = factorio_fast.make(name)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    x, y = info["position"]
    assert (x * 256) == int(x * 256) and (y * 256) == int(y * 256)
    assert info["tick"] == 0 or isinstance(info["tick"], int)
    for _ in range(5):
        obs, r, te, tr, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
    if name != "movement_micro":
        assert isinstance(info["inventory"], dict)


@pytest.mark.parametrize("num_workers", [1, 2])
@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_vector_workers_equal_in_process(num_workers, mode):
    name, n, steps = "movement_micro", 6, 250  # 250 steps > 2 episodes: autoreset is exercised
    ref = factorio_fast.make_vec(name, n, autoreset_mode=mode)
    env = factorio_fast.make_vec(name, n, num_workers=num_workers, autoreset_mode=mode)
    try:
        a, b = rollout_sync(ref, steps), rollout_sync(env, steps)
        for k, (x, y) in enumerate(zip(a, b)):
            for u, v in zip(x if isinstance(x, list) else [x], y if isinstance(y, list) else [y]):
                np.testing.assert_array_equal(u, v, err_msg=f"step {k}")
        dones = sum(int(s[2].sum() + s[3].sum()) for s in a[1:])
        assert dones >= n, "the rollout must cross episode boundaries"
    finally:
        ref.close()
        env.close()


@pytest.mark.parametrize("name", SCEN)
def test_vector_in_process_equals_single_envs(name):
    n, steps = 3, 40
    vec = factorio_fast.make_vec(name, n)
    singles = [factorio_fast.make(name) for _ in range(n)]
    obs, _ = vec.reset(seed=11)
    for i, e in enumerate(singles):
        o, _ = e.reset(seed=11 + i)
        np.testing.assert_array_equal(o, obs[i])
    for k in range(steps):
        acts = policy(vec.single_action_space, n, k)
        o, r, te, tr, _ = vec.step(acts)
        for i, e in enumerate(singles):
            if e._needs_reset:
                continue  # next-step autoreset differs from a manual single env; stop comparing
            so, sr, ste, str_, _ = e.step(acts[i])
            np.testing.assert_array_equal(so, o[i])
            assert sr == pytest.approx(float(r[i])) and ste == te[i] and str_ == tr[i]
    vec.close()


def run_async(env, rounds, seed=5):
    """Collect per-env trajectories from EnvPool-style send/recv."""
    env.async_reset(seed=seed)
    traj = {i: [] for i in range(env.num_envs)}
    count = {i: 0 for i in range(env.num_envs)}
    for _ in range(rounds):
        o, r, te, tr, info = env.recv()
        ids = info["env_id"]
        for j, i in enumerate(ids):
            traj[int(i)].append((o[j].copy(), float(r[j]), bool(te[j]), bool(tr[j])))
        acts = np.stack([policy(env.single_action_space, env.num_envs, count[int(i)])[int(i)]
                         for i in ids])
        for i in ids:
            count[int(i)] += 1
        env.send(acts, ids)
    return traj


def sync_per_env(name, n, steps, seed=5):
    env = factorio_fast.make_vec(name, n)
    obs, _ = env.reset(seed=seed)
    traj = {i: [(obs[i].copy(), 0.0, False, False)] for i in range(n)}
    for k in range(steps):
        o, r, te, tr, _ = env.step(policy(env.single_action_space, n, k))
        for i in range(n):
            traj[i].append((o[i].copy(), float(r[i]), bool(te[i]), bool(tr[i])))
    env.close()
    return traj


@pytest.mark.parametrize("num_workers", [0, 2])
def test_vector_async_equals_sync_per_env(num_workers):
    name, n = "movement_micro", 8
    env = factorio_fast.make_vec(name, n, num_workers=num_workers, batch_size=4)
    try:
        got = run_async(env, 120)
    finally:
        env.close()
    want = sync_per_env(name, n, 120)
    for i in range(n):
        assert len(got[i]) >= 20
        for k, (g, w) in enumerate(zip(got[i], want[i])):
            np.testing.assert_array_equal(g[0], w[0], err_msg=f"env {i} step {k}")
            # the first recv after async_reset carries the reset obs, whose reward is 0
            assert g[1:] == w[1:] or k == 0, (i, k)


def test_vector_async_rejects_partial_groups():
    env = factorio_fast.make_vec("movement_micro", 8, batch_size=4)
    try:
        env.async_reset(seed=0)
        o, *_ , info = env.recv()
        with pytest.raises(InvalidArgumentError, match="whole groups"):
            env.send(np.zeros(2, np.int64), info["env_id"][:2])
    finally:
        env.close()


def test_vector_bad_actions_raise_and_change_nothing():
    env = factorio_fast.make_vec("movement_micro", 4, num_workers=1)
    try:
        obs, _ = env.reset(seed=1)
        before = obs.copy()
        nvec = env.single_action_space.n
        for bad, msg in [(np.array([0, 1, nvec, 0]), "env 2 out of range"),
                         (np.array([0, -1, 0, 0]), "env 1 out of range"),
                         (np.zeros(3, np.int64), "shape"),
                         (np.array([0.0, np.nan, 0, 0]), "NaN"),
                         (np.array([0.5, 1, 0, 0]), "integers")]:
            with pytest.raises(InvalidArgumentError, match=msg):
                env.step(bad)
            np.testing.assert_array_equal(env._bufs["obs"], before)
        env.step(np.zeros(4, np.int64))  # still usable
    finally:
        env.close()


def test_vector_returns_views_until_next_step_and_copy_owns():
    env = factorio_fast.make_vec("movement_micro", 4, copy=False)
    env.reset(seed=0)
    o1 = env.step(np.ones(4, np.int64))[0]
    o2 = env.step(np.ones(4, np.int64))[0]
    assert np.shares_memory(o1, o2)  # the same buffer: valid until the next step
    env.close()
    env = factorio_fast.make_vec("movement_micro", 4)  # copies by default
    env.reset(seed=0)
    o1 = env.step(np.ones(4, np.int64))[0]
    o2 = env.step(np.ones(4, np.int64))[0]
    assert not np.shares_memory(o1, o2)
    env.close()


def test_vector_torch_wraps_without_copy():
    torch = pytest.importorskip("torch")
    env = factorio_fast.make_vec("movement_micro", 4, num_workers=1, copy=False)
    try:
        obs, _ = env.reset(seed=0)
        t = torch.from_numpy(obs)
        assert t.data_ptr() == obs.__array_interface__["data"][0]
    finally:
        env.close()


def test_vector_spawn_workers_work():
    before = own_shm_names()
    env = factorio_fast.make_vec("movement_micro", 4, num_workers=2, start_method="spawn")
    try:
        ref = factorio_fast.make_vec("movement_micro", 4)
        a, b = rollout_sync(ref, 20), rollout_sync(env, 20)
        for x, y in zip(a[1:], b[1:]):
            np.testing.assert_array_equal(x[0], y[0])
        ref.close()
    finally:
        env.close()
    assert own_shm_names() <= before


def test_vector_killed_worker_raises_worker_error_and_leaves_nothing():
    before = shm_names()
    env = factorio_fast.make_vec("movement_micro", 8, num_workers=2, timeout=10.0)
    env.reset(seed=0)
    procs = list(env._pool.procs)
    victim = procs[1]
    os.kill(victim.pid, signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(WorkerError) as err:
        for _ in range(1000):
            env.step(np.zeros(8, np.int64))
    assert time.monotonic() - t0 < 10.0
    assert str(victim.pid) in str(err.value) and "SIGKILL" in str(err.value)
    assert err.value.pid == victim.pid and err.value.exitcode == -signal.SIGKILL
    with pytest.raises(WorkerError):
        env.step(np.zeros(8, np.int64))
    env.close()
    assert all(not p.is_alive() for p in procs)
    assert shm_names() <= before


def test_vector_close_is_idempotent_and_final():
    before = shm_names()
    env = factorio_fast.make_vec("movement_micro", 4, num_workers=2)
    env.reset(seed=0)
    procs = list(env._pool.procs)
    env.close()
    env.close()
    assert all(not p.is_alive() for p in procs)
    assert shm_names() <= before
    with pytest.raises(ClosedError):
        env.step(np.zeros(4, np.int64))


def test_vector_segment_is_unlinked_while_running():
    before = shm_names()
    env = factorio_fast.make_vec("movement_micro", 4, num_workers=1)
    try:
        env.reset(seed=0)
        assert shm_names() <= before  # the name is dropped once every worker attached
    finally:
        env.close()


def test_vector_metadata_and_spaces():
    env = factorio_fast.make_vec("mining_micro", 5, autoreset_mode="same_step")
    from gymnasium.vector import AutoresetMode
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs.shape == (5,) + env.single_observation_space.shape
    env.close()
    with pytest.raises(InvalidArgumentError, match="autoreset_mode"):
        factorio_fast.make_vec("mining_micro", 2, autoreset_mode="sometimes")
    with pytest.raises(InvalidArgumentError, match="backend 'quake'; known backends: 'sim'"):
        factorio_fast.make_vec("mining_micro", 2, backend="quake")
    with pytest.raises(InvalidArgumentError, match="backend 'quake'; known backends: 'sim'"):
        factorio_fast.make("mining_micro", backend="quake")


@pytest.mark.parametrize("name", SCEN)
def test_gymnasium_registry_makes_our_envs(name):
    env = gym.make(f"factorio_fast/{name}-v0")
    assert isinstance(env.unwrapped, factorio_fast.FactorioEnv)
    obs, _ = env.reset(seed=3)
    ref = factorio_fast.make(name)
    assert np.array_equal(obs, ref.reset(seed=3)[0])
    env.close()
    ref.close()
    vec = gym.make_vec(f"factorio_fast/{name}-v0", num_envs=16)
    assert isinstance(vec, factorio_fast.FactorioVectorEnv) and vec.num_envs == 16
    vec.close()
