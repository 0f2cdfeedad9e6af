"""Vector env step throughput: make_vec (in-process and with workers) vs Gymnasium vector envs.

Group ``vecenv``; items = env steps per call, so throughput = items / time. Run:

    pytest bench/bench_vecenv.py --benchmark-only --benchmark-columns=median,ops
"""

import gymnasium as gym
import numpy as np
import pytest

import factorio_fast

NAME = "movement_micro"


def bench_env(benchmark, env, n):
    """Each call steps with a random batch of a pool of 61 (a fixed short cycle would drive the
    envs into the map's edge and change how much collision work a step does)."""
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    pool = [rng.integers(0, env.single_action_space.n, n) for _ in range(61)]
    order = rng.integers(0, 61, 4096)
    i = [0]

    def step():
        env.step(pool[order[i[0] % 4096]])
        i[0] += 1

    benchmark.extra_info["items"] = n
    benchmark(step)
    env.close()


@pytest.mark.benchmark(group="vecenv")
@pytest.mark.parametrize("num_envs", [64, 4096])
def test_make_vec_in_process(benchmark, num_envs):
    bench_env(benchmark, factorio_fast.make_vec(NAME, num_envs, copy=False), num_envs)


@pytest.mark.benchmark(group="vecenv-infos")
@pytest.mark.parametrize("infos", ["none", "state", "state+episode"])
def test_make_vec_infos(benchmark, infos):
    """What the infos cost per step at 4096 envs: subtract the "none" row. The state infos
    (position, tick, inventory) and the episode statistics are each one compiled pass
    (factorio_fast._infos)."""
    keys = {"none": (), "state": ("position", "tick", "inventory"),
            "state+episode": ("position", "tick", "inventory", "episode")}[infos]
    bench_env(benchmark, factorio_fast.make_vec(NAME, 4096, infos=keys), 4096)


@pytest.mark.benchmark(group="vecenv")
@pytest.mark.parametrize("num_workers", [1, 2])
def test_make_vec_workers(benchmark, num_workers):
    bench_env(benchmark, factorio_fast.make_vec(NAME, 4096, num_workers=num_workers, copy=False), 4096)


@pytest.mark.benchmark(group="vecenv")
def test_baseline_gym_sync(benchmark):
    env = gym.vector.SyncVectorEnv([lambda: factorio_fast.make(NAME) for _ in range(16)])
    bench_env(benchmark, env, 16)


@pytest.mark.benchmark(group="vecenv")
def test_baseline_gym_async(benchmark):
    env = gym.vector.AsyncVectorEnv([lambda: factorio_fast.make(NAME) for _ in range(4)],
                                    shared_memory=True)
    bench_env(benchmark, env, 4)
