"""Ray shards vs local worker processes at the same total envs, measured in one run.

For each shard size ``s`` both vector envs hold ``2 s`` envs of one scenario (``--scenario``,
default movement_micro; ``copy=False``, the fastest path of each):

* ``workers``: ``make_vec(name, 2 s, num_workers=2)``, two worker processes over shared memory;
* ``ray``: ``make_vec(name, 2 s, cluster="ray", num_shards=2)``, two Ray actors on a local
  cluster of this machine, each stepping its shard in its own process.

Each step is timed on its own; the two envs take turns in blocks of ``--steps`` steps for
``--rounds`` rounds, so load from elsewhere falls on both alike, and each figure is the median
over all of its steps. The overhead Ray adds is ``median(ray) - median(workers)`` per step, and
its share of the step is ``overhead / median(ray)``; the script reports the smallest measured
shard size at which that share is under 10 % (or, if none is, where the line through the
measured overheads and step times puts it). Run:

    python bench/bench_ray.py [--scenario movement_micro] [--sizes 2048,8192,32768] [--steps 100]
                              [--rounds 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

# A one-machine cluster: every Ray server on 127.0.0.1 (read when ray is imported).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

NAME = "movement_micro"
SHARDS = 2


def step_times(env, steps: int, rng) -> np.ndarray:
    """Seconds of each of ``steps`` steps, actions drawn from a pool of 61 random batches (a
    fixed short cycle would walk the envs into the map's edge and change the work per step)."""
    n, space = env.num_envs, env.single_action_space
    nvec = np.asarray(getattr(space, "nvec", getattr(space, "n", None)))
    pool = [rng.integers(0, nvec, (n,) + nvec.shape) for _ in range(61)]
    out = np.empty(steps)
    for i in range(steps):
        a = pool[int(rng.integers(61))]
        t = time.perf_counter()
        env.step(a)
        out[i] = time.perf_counter() - t
    return out


def compare(name: str, per_shard: int, steps: int, rounds: int) -> dict:
    import factorio_fast

    n = SHARDS * per_shard
    envs = {"workers": factorio_fast.make_vec(name, n, num_workers=SHARDS, copy=False),
            "ray": factorio_fast.make_vec(name, n, cluster="ray", num_shards=SHARDS, copy=False)}
    times = {k: [] for k in envs}
    try:
        for env in envs.values():
            env.reset(seed=0)
            step_times(env, 20, np.random.default_rng(1))  # warm-up: caches, object store
        for r in range(rounds):
            for k, env in envs.items():
                times[k].append(step_times(env, steps, np.random.default_rng(100 + r)))
    finally:
        for env in envs.values():
            env.close()
    med = {k: float(np.median(np.concatenate(v))) for k, v in times.items()}
    over = med["ray"] - med["workers"]
    return {"scenario": name, "per_shard": per_shard, "num_envs": n, "num_shards": SHARDS,
            "us_per_step_workers": med["workers"] * 1e6, "us_per_step_ray": med["ray"] * 1e6,
            "sps_workers": n / med["workers"], "sps_ray": n / med["ray"],
            "ray_overhead_us": over * 1e6, "ray_overhead_share": over / med["ray"]}


def crossover(rows: list[dict], share: float = 0.10) -> dict:
    """The smallest measured shard size whose overhead share is under ``share``; else where the
    least-squares lines overhead(s) = a + b s and step(s) = c s (workers) say it would be."""
    for r in sorted(rows, key=lambda r: r["per_shard"]):
        if r["ray_overhead_share"] < share:
            return {"per_shard": r["per_shard"], "measured": True}
    s = np.array([r["per_shard"] for r in rows], float)
    over = np.array([r["ray_overhead_us"] for r in rows])
    step = np.array([r["us_per_step_workers"] for r in rows])
    b, a = np.polyfit(s, over, 1) if len(rows) > 1 else (0.0, over[0])
    c = float(np.dot(s, step) / np.dot(s, s))
    # share(s) = over / (step + over) < share  <=>  over (1 - share) < share * step
    denom = share * c - (1 - share) * b
    if denom <= 0:
        return {"per_shard": None, "measured": False, "note": "the overhead grows as fast as the step"}
    return {"per_shard": int(np.ceil((1 - share) * a / denom)), "measured": False,
            "fit_us": {"overhead_a": a, "overhead_b_per_env": b, "step_per_env": c}}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="2048,8192,32768",
                   help="envs per shard, comma-separated (2048: 4096 envs in all)")
    p.add_argument("--scenario", default=NAME)
    p.add_argument("--steps", type=int, default=100, help="steps per block")
    p.add_argument("--rounds", type=int, default=5, help="blocks per env")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args(argv)
    import ray

    ray.init(num_cpus=SHARDS, include_dashboard=False, log_to_driver=False,
             object_store_memory=512 * 2**20)
    try:
        rows = []
        for size in (int(x) for x in args.sizes.split(",")):
            rows.append(compare(args.scenario, size, args.steps, args.rounds))
            r = rows[-1]
            print(f"{r['num_envs']:7d} envs ({r['per_shard']} per shard): workers "
                  f"{r['us_per_step_workers']:9.0f} us/step {r['sps_workers']:11.0f} steps/s | ray "
                  f"{r['us_per_step_ray']:9.0f} us/step {r['sps_ray']:11.0f} steps/s | overhead "
                  f"{r['ray_overhead_us']:7.0f} us ({100 * r['ray_overhead_share']:.0f} % of the step)",
                  flush=True)
    finally:
        ray.shutdown()
    cross = crossover(rows)
    print("overhead under 10 % of the step from", cross.get("per_shard"), "envs per shard",
          "(measured)" if cross["measured"] else "(extrapolated)", flush=True)
    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "ray": ray.__version__, "load_avg_1m": os.getloadavg()[0]},
           "rows": rows, "crossover_10pct": cross}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
