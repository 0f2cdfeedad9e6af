"""Cost of obs="features" per step, against the bytes of the same env (same run).

Group ``features-<scenario>``: a step of 4096 envs in-process returning bytes (the baseline),
returning features (decoded in C after the step), and the decode alone (``Decoder.fill`` of a
batch of bytes). Views (``copy=False``) in every case, so the copy of the result is not
measured. Run:

    pytest bench/bench_features.py --benchmark-only --benchmark-columns=median
"""

import numpy as np
import pytest

import factorio_fast
from factorio_fast.features import decoder

N = 4096
SCEN = ["movement_micro", "mining_micro", "building_micro"]


def _step_bench(benchmark, env):
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    pool = [env.action_space.sample() for _ in range(61)]
    order = rng.integers(0, 61, 4096)
    i = [0]

    def step():
        env.step(pool[order[i[0] % 4096]])
        i[0] += 1

    benchmark.extra_info["items"] = env.num_envs
    benchmark(step)
    env.close()


@pytest.mark.parametrize("name", SCEN)
def test_step_bytes(benchmark, name):
    benchmark.group = f"features-{name}"
    env = factorio_fast.make_vec(name, N, copy=False)
    env.action_space.seed(0)
    _step_bench(benchmark, env)


@pytest.mark.parametrize("name", SCEN)
def test_step_features(benchmark, name):
    benchmark.group = f"features-{name}"
    env = factorio_fast.make_vec(name, N, copy=False, obs="features")
    env.action_space.seed(0)
    _step_bench(benchmark, env)


@pytest.mark.parametrize("name", SCEN)
def test_decode_only(benchmark, name):
    benchmark.group = f"features-{name}"
    env = factorio_fast.make_vec(name, N, copy=False)
    obs, _ = env.reset(seed=0)
    d = decoder(name)
    out = np.empty((N, d.width), np.float32)
    benchmark.extra_info["items"] = N
    benchmark(d.fill, obs, out)
    env.close()
