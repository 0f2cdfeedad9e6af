"""Vector env step throughput: make_vec (in-process and with workers) vs Gymnasium vector envs.

Group ``vecenv``; items = env steps per call, so throughput = items / time. Run:

    pytest bench/bench_vecenv.py --benchmark-only --benchmark-columns=median,ops
"""

import gymnasium as gym
import numpy as np
import pytest

import factorio_fast

NAME = "movement_micro"


def actions(space, n, k=8, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, space.n, n) for _ in range(k)]


def bench_env(benchmark, env, n):
    env.reset(seed=0)
    pool = actions(env.single_action_space, n)
    i = [0]

    def step():
        env.step(pool[i[0] & 7])
        i[0] += 1

    benchmark.extra_info["items"] = n
    benchmark(step)
    env.close()


@pytest.mark.benchmark(group="vecenv")
@pytest.mark.parametrize("num_envs", [64, 4096])
def test_make_vec_in_process(benchmark, num_envs):
    bench_env(benchmark, factorio_fast.make_vec(NAME, num_envs), num_envs)


@pytest.mark.benchmark(group="vecenv")
@pytest.mark.parametrize("num_workers", [1, 2])
def test_make_vec_workers(benchmark, num_workers):
    bench_env(benchmark, factorio_fast.make_vec(NAME, 4096, num_workers=num_workers), 4096)


@pytest.mark.benchmark(group="vecenv")
def test_baseline_gym_sync(benchmark):
    env = gym.vector.SyncVectorEnv([lambda: factorio_fast.make(NAME) for _ in range(16)])
    bench_env(benchmark, env, 16)


@pytest.mark.benchmark(group="vecenv")
def test_baseline_gym_async(benchmark):
    env = gym.vector.AsyncVectorEnv([lambda: factorio_fast.make(NAME) for _ in range(4)],
                                    shared_memory=True)
    bench_env(benchmark, env, 4)
