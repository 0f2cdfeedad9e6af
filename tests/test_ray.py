"""Ray shards (factorio_fast.integrations.ray) on a real local Ray cluster.

One cluster for the module (starting one costs seconds): two CPUs, no dashboard, every Ray
process on the loopback address. The sharded env must give exactly what the local vector env
gives for the same seeds and actions, in every autoreset mode and in async mode; a killed shard
must raise WorkerError naming it, quickly; and nothing of ours may be left running afterwards.
"""

import os
import signal
import time

import numpy as np
import pytest

from conftest import pid_alive, wait_gone

# Ray on Linux binds its servers to the machine's address unless told this is a one-machine
# cluster; tests talk over 127.0.0.1 only. Read when ray is imported, so set it first.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
if os.environ.get("FF_REQUIRE_RAY"):  # CI installs Ray: a failing import is a failure there
    import ray
else:
    ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")

import factorio_fast  # noqa: E402
from factorio_fast.errors import (  # noqa: E402
    ArgumentTypeError,
    InvalidArgumentError,
    WaitTimeoutError,
    WorkerError,
)

pytestmark = pytest.mark.ray

NAME = "movement_micro"
N = 8          # envs, in 2 shards of 4
STEPS = 110    # past the episode length (100), so every env ends at least once


@pytest.fixture(scope="module")
def cluster():
    import psutil
    from ray._private import ray_constants

    # The same switch for this process, which may have imported ray before this module set the
    # variable (torchrl.envs imports it): Ray reads it when it picks the node's address.
    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] != "0"
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=100 * 2**20)
    try:
        assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
        yield
    finally:
        ours = {p.pid for p in me.children(recursive=True)} - before
        ray.shutdown()
        ray_constants.ENABLE_RAY_CLUSTER = saved
        assert wait_gone(ours, 20.0) == [], "Ray processes left after ray.shutdown()"


def closed_and_gone(env, extra_pids=()):
    """close() the env and check every shard's actor process (and ``extra_pids``) exits."""
    pids = [i["pid"] for i in env.shard_info] + list(extra_pids)
    env.close()
    assert wait_gone(pids, 15.0) == [], "shard processes left after close()"


def equal_results(got, want, steps_key=""):
    for name, x, y in zip(("obs", "rewards", "terminated", "truncated"), got[:4], want[:4]):
        np.testing.assert_array_equal(x, y, err_msg=f"{name} {steps_key}")
    gi, wi = got[4], want[4]
    assert gi.keys() == wi.keys(), steps_key
    for k in wi:
        if k == "episode":  # "t" is wall-clock time: each env measures its own
            for part in ("r", "l"):
                np.testing.assert_array_equal(gi[k][part], wi[k][part], err_msg=f"{k} {steps_key}")
        else:
            np.testing.assert_array_equal(gi[k], wi[k], err_msg=f"{k} {steps_key}")


@pytest.mark.parametrize("mode,obs", [("next_step", "bytes"), ("same_step", "features"),
                                      ("disabled", "bytes")])
def test_ray_sync_equals_local(cluster, mode, obs):
    kw = dict(autoreset_mode=mode, obs=obs, infos=("position", "tick", "inventory", "episode"))
    env = factorio_fast.make_vec(NAME, N, cluster="ray", num_shards=2, **kw)
    ref = factorio_fast.make_vec(NAME, N, **kw)
    try:
        assert env.single_observation_space == ref.single_observation_space
        assert env.action_space == ref.action_space and env.autoreset_mode == ref.autoreset_mode
        assert env.shard_envs == [(0, 4), (4, 8)]
        got, want = env.reset(seed=11), ref.reset(seed=11)
        np.testing.assert_array_equal(got[0], want[0])
        rng = np.random.default_rng(5)
        ended = 0
        for t in range(STEPS):
            if mode == "disabled":
                done = ref._ended.copy()
                if done.any():  # restart the envs that ended, each from a seed of its own
                    opts = {"reset_mask": done}
                    np.testing.assert_array_equal(env.reset(seed=100 + t, options=opts)[0],
                                                  ref.reset(seed=100 + t, options=opts)[0])
            a = rng.integers(0, env.single_action_space.n, N)
            got, want = env.step(a), ref.step(a)
            equal_results(got, want, f"step {t}")
            ended += int((want[2] | want[3]).sum())
        assert ended >= N  # the autoreset (or the masked reset) paths ran
    finally:
        ref.close()
        closed_and_gone(env)


def test_ray_async_equals_local(cluster):
    """recv() returns whichever shard answers first; every env's trajectory equals the local
    env's for the same per-env actions (env j's k-th action is table[k, j]). Then a shard is
    killed with a step in flight."""
    kw = dict(infos=("position",))
    env = factorio_fast.make_vec(NAME, N, cluster="ray", num_shards=2, batch_size=4, copy=False, **kw)
    ref = factorio_fast.make_vec(NAME, N, **kw)
    table = np.random.default_rng(9).integers(0, env.single_action_space.n, (STEPS + 1, N))
    try:
        want = [ref.reset(seed=3)]
        for k in range(STEPS):
            want.append(ref.step(table[k]))
        env.async_reset(seed=3)
        count = np.zeros(N, np.int64)
        seen_first, finished = [], set()
        while len(finished) < 2:  # until both shards returned their STEPS-th step
            obs, rew, term, trunc, info = env.recv()
            ids = info["env_id"]
            assert ids.size == 4 and len({int(i) // 4 for i in ids}) == 1  # one whole shard
            seen_first.append(int(ids[0]))
            k = int(count[ids[0]])
            assert (count[ids] == k).all()
            w = want[k]
            np.testing.assert_array_equal(obs, w[0][ids], err_msg=f"obs of {ids} at {k}")
            np.testing.assert_array_equal(info["position"], w[-1]["position"][ids])
            if k:
                for x, y in zip((rew, term, trunc), w[1:4]):
                    np.testing.assert_array_equal(x, y[ids], err_msg=f"envs {ids} step {k}")
            if k == STEPS:
                finished.add(int(ids[0]))
                continue  # this shard is done; the other one catches up
            env.send(table[k][ids], ids)
            count[ids] += 1
        assert set(seen_first) == {0, 4}
        # a shard killed while its step is in flight: recv() reports it, naming it
        env.send(table[0][:4], np.arange(4))
        os.kill(env.shard_info[0]["pid"], signal.SIGKILL)
        with pytest.raises(WorkerError, match=r"shard 0 \(envs 0\.\.3, .*died"):
            for _ in range(3):
                env.recv()
    finally:
        ref.close()
        closed_and_gone(env)


def test_ray_killed_shard_raises_worker_error(cluster):
    """A shard whose actor process is killed (SIGKILL, as the OOM killer or a lost node would)
    gives WorkerError naming the shard and the cause, at once; close() then releases the rest,
    the shards' own worker processes included."""
    import psutil

    env = factorio_fast.make_vec(NAME, N, cluster="ray", num_shards=2, num_workers=1, timeout=20.0)
    env.reset(seed=0)
    env.step(np.zeros(N, np.int64))
    inner = [c.pid for i in env.shard_info for c in psutil.Process(i["pid"]).children(recursive=True)]
    assert len(inner) == 2  # each shard stepped over one worker process of its own
    victim = env.shard_info[1]["pid"]
    os.kill(victim, signal.SIGKILL)
    t0 = time.monotonic()
    died = r"shard 1 \(envs 4\.\.7, pid \d+ .*\) died: .*ActorDiedError"
    with pytest.raises(WorkerError, match=died) as exc:
        env.step(np.zeros(N, np.int64))
    assert time.monotonic() - t0 < 10.0
    assert exc.value.pid == victim
    with pytest.raises(WorkerError, match="failed earlier"):
        env.step(np.zeros(N, np.int64))
    closed_and_gone(env, inner)
    assert not pid_alive(victim)
    env.close()  # idempotent


def test_ray_unplaceable_shard_times_out(cluster):
    """No node offers the custom resource: the shards are never placed, and the env says so
    within its timeout instead of waiting for ever."""
    t0 = time.monotonic()
    with pytest.raises(WaitTimeoutError, match="factorio_servers"):
        factorio_fast.make_vec(NAME, N, cluster="ray", num_shards=2, factorio_servers=1, timeout=1.0)
    assert time.monotonic() - t0 < 6.0


def test_ray_bad_arguments():
    """Refused before any actor starts (no cluster needed)."""
    with pytest.raises(InvalidArgumentError, match="cluster"):
        factorio_fast.make_vec(NAME, N, cluster="dask", num_shards=2)
    with pytest.raises(InvalidArgumentError, match="cluster"):
        factorio_fast.make_vec(NAME, N, num_shards=2)
    with pytest.raises(ArgumentTypeError, match="needs num_shards"):
        factorio_fast.make_vec(NAME, N, cluster="ray")
    with pytest.raises(InvalidArgumentError, match="num_shards"):
        factorio_fast.make_vec(NAME, N, cluster="ray", num_shards=0)
    with pytest.raises(InvalidArgumentError, match="num_shards"):
        factorio_fast.make_vec(NAME, N, cluster="ray", num_shards=N + 1)
    with pytest.raises(InvalidArgumentError, match="num_workers"):
        factorio_fast.make_vec(NAME, N, cluster="ray", num_shards=2, num_workers=5)


def test_ray_shard_that_cannot_build_its_env(cluster):
    """A backend this process knows but the shards' processes do not (a node without the
    plugin): the shards fail while starting, and the error says which and why."""
    from factorio_fast.backends import BACKENDS, register_backend

    register_backend("driver_only", BACKENDS["sim"])
    try:
        with pytest.raises(WorkerError, match=r"shard \d \(envs \d\.\.\d\) failed to start: .*"
                                              r"unknown backend 'driver_only'"):
            factorio_fast.make_vec(NAME, N, cluster="ray", num_shards=2, backend="driver_only")
    finally:
        del BACKENDS["driver_only"]
