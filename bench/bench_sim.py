"""Embedded simulator throughput (issue 4): env steps per second on one core, with the peer
baselines measured in the same run (docs/design.md §10).

Groups ``sim-<scenario>``, each holding:

* ``test_batchsim[<scenario>-<n>]``: ``factorio_fast._sim.BatchSim`` stepping n = 1, 64, 4096
  envs per call (random actions, default parameters, next-step autoreset, outputs into
  preallocated arrays). Each benchmark call runs ``max(4096 // n, episode_steps)`` steps, so the
  Python cost of a call is included as a user would pay it and every call holds its share of
  autoreset steps (with one step per call, the median would drop the steps where the envs, all
  reset together, regenerate their worlds). Actions: a pool of 61 fixed-seed random batches, one
  chosen at random per step (cycling the pool would make each env's actions periodic, a steady
  drift that pins it to the map edges more than random actions do); the C harness
  tools/bench_sim_c.c uses the same scheme.
* ``test_sync_vector_reference[<scenario>]``: Gymnasium ``SyncVectorEnv`` over 16 single-env
  Gymnasium envs whose step is the pure-Python reference (bench/_baselines.py).
* ``test_numpy_movement[<n>]`` (movement group only): the numpy-vectorised movement_micro
  (bench/_numpy_movement.py) at the same n.

SPS = num_envs x steps / median time of a call, stored in ``extra_info["sps"]``;
``test_zz_summary`` prints the medians and the ratios (C / baseline) of this run. Run:

    pytest bench/bench_sim.py --benchmark-only --benchmark-min-rounds=3 \\
        --benchmark-columns=median,ops,rounds
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from factorio_fast._sim import BatchSim, scenario_info

sys.path.insert(0, str(Path(__file__).resolve().parent))

SCENARIOS = ("movement_micro", "mining_micro", "building_micro")
SIZES = (1, 64, 4096)
REF_ENVS = 16
POOL = 61
RESULTS: dict[tuple[str, str, int], float] = {}


def _action_pool(nvec, n, seed=0):
    rng = np.random.default_rng(seed)
    if len(nvec) == 1:
        return [rng.integers(0, nvec[0], n, dtype=np.int64) for _ in range(POOL)]
    return [np.stack([rng.integers(0, k, n, dtype=np.int64) for k in nvec], 1) for _ in range(POOL)]


def _schedule(seed=1):
    """Pool indices, one per step, drawn at random (a step takes ``pool[sched[s % len]]``)."""
    return np.random.default_rng(seed).integers(0, POOL, 1 << 16).tolist()


SCHED = _schedule()


def _record(benchmark, scenario, label, n, steps_per_call):
    med = benchmark.stats.stats.median
    sps = n * steps_per_call / med
    benchmark.extra_info.update(num_envs=n, steps_per_call=steps_per_call, sps=sps)
    RESULTS[(scenario, label, n)] = sps


@pytest.mark.parametrize("num_envs", SIZES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_batchsim(benchmark, scenario, num_envs):
    benchmark.group = f"sim-{scenario}"
    sim = BatchSim(scenario, num_envs)
    ob = scenario_info(scenario)["obs_bytes"]
    obs = np.zeros((num_envs, ob), np.uint8)
    rew = np.zeros(num_envs, np.float32)
    term = np.zeros(num_envs, bool)
    trunc = np.zeros(num_envs, bool)
    sim.reset(np.arange(num_envs, dtype=np.uint64) + 1000, obs=obs)
    pool = _action_pool(scenario_info(scenario)["nvec"], num_envs)
    steps = max(4096 // num_envs, scenario_info(scenario)["episode_steps"])
    k = [0]
    ns = len(SCHED)

    def run():
        i = k[0]
        for s in range(steps):
            sim.step(pool[SCHED[(i + s) % ns]], obs=obs, rewards=rew, terminated=term,
                     truncated=trunc)
        k[0] = i + steps

    run()  # warm up
    benchmark(run)
    _record(benchmark, scenario, "batchsim", num_envs, steps)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sync_vector_reference(benchmark, scenario):
    from _baselines import make_sync_vector_env

    benchmark.group = f"sim-{scenario}"
    env = make_sync_vector_env(scenario, REF_ENVS)
    env.reset(seed=1000)
    space = env.single_action_space
    nvec = (space.n,) if hasattr(space, "n") else tuple(int(v) for v in space.nvec)
    pool = _action_pool(nvec, REF_ENVS)
    k = [0]

    def run():
        env.step(pool[SCHED[k[0] % len(SCHED)]])
        k[0] += 1

    benchmark(run)
    env.close()
    _record(benchmark, scenario, "sync_vector_reference", REF_ENVS, 1)


@pytest.mark.parametrize("num_envs", SIZES)
def test_numpy_movement(benchmark, num_envs):
    from _numpy_movement import NumpyMovement

    benchmark.group = "sim-movement_micro"
    env = NumpyMovement(num_envs, seed=1000)
    pool = _action_pool((9,), num_envs)
    steps = max(1, 4096 // num_envs) if num_envs > 1 else 64
    k = [0]
    ns = len(SCHED)

    def run():
        i = k[0]
        for s in range(steps):
            env.step(pool[SCHED[(i + s) % ns]])
        k[0] = i + steps

    run()
    benchmark(run)
    _record(benchmark, "movement_micro", "numpy", num_envs, steps)


def test_zz_summary(benchmark, capsys):
    """Medians and ratios of this run (printed, and stored in this benchmark's extra_info)."""
    benchmark.group = "sim-summary"
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    lines = ["", "embedded simulator, one core: SPS medians and ratios (this run)"]
    ratios = {}
    for sc in SCENARIOS:
        ref = RESULTS.get((sc, "sync_vector_reference", REF_ENVS))
        for n in SIZES:
            c = RESULTS.get((sc, "batchsim", n))
            if c is None:
                continue
            line = f"  {sc:15s} n={n:5d}  BatchSim {c:12,.0f} SPS"
            if ref:
                ratios[f"{sc}/{n}/vs_sync_vector_reference"] = c / ref
                line += f"   x{c / ref:9.1f} vs SyncVectorEnv(reference) {ref:9,.0f}"
            npv = RESULTS.get((sc, "numpy", n))
            if npv:
                ratios[f"{sc}/{n}/vs_numpy"] = c / npv
                line += f"   x{c / npv:7.1f} vs numpy {npv:11,.0f}"
            lines.append(line)
    benchmark.extra_info.update(sps={f"{a}/{b}/{n}": v for (a, b, n), v in RESULTS.items()},
                                ratios=ratios)
    with capsys.disabled():
        print("\n".join(lines))
