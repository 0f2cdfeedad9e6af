"""Stable-Baselines3 through the native adapter vs DummyVecEnv of single envs (same run).

Two measurements, each a median of ``--repeats`` timed blocks, both vector envs built the same
way (movement_micro, obs="features", the same number of envs and seeds):

* env stepping alone: ``venv.step(actions)`` with random actions, steps/s;
* PPO training: ``PPO("MlpPolicy", venv).learn(budget)`` with the same hyperparameters and
  budget of env steps, steps/s of the whole learn call (rollouts and updates).

Prints the medians and the ratios (adapter / DummyVecEnv). Needs the [sb3] extra. Run:

    python bench/bench_sb3.py [--num-envs 16] [--budget 16384] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def make_pair(name: str, n: int, obs: str):
    from stable_baselines3.common.vec_env import DummyVecEnv

    import factorio_fast
    from factorio_fast.integrations.sb3 import FactorioSB3VecEnv

    native = FactorioSB3VecEnv(name, n, obs=obs)
    dummy = DummyVecEnv([lambda: factorio_fast.make(name, obs=obs) for _ in range(n)])
    return native, dummy


def time_stepping(venv, steps: int) -> float:
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(0)
    n = venv.num_envs
    pool = [rng.integers(0, venv.action_space.n, n) for _ in range(61)]
    t0 = time.perf_counter()
    for t in range(steps):
        venv.step(pool[t % 61])
    return steps * n / (time.perf_counter() - t0)


def time_ppo(venv, budget: int, n_steps: int) -> float:
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    model = PPO("MlpPolicy", venv, n_steps=n_steps, batch_size=256, n_epochs=1, seed=0, device="cpu",
                verbose=0)
    t0 = time.perf_counter()
    model.learn(total_timesteps=budget)
    return model.num_timesteps / (time.perf_counter() - t0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="movement_micro")
    ap.add_argument("--obs", default="features", choices=["features", "bytes"])
    ap.add_argument("--num-envs", type=int, default=16)
    ap.add_argument("--step-calls", type=int, default=2000, help="vector steps per stepping block")
    ap.add_argument("--budget", type=int, default=16384, help="env steps per PPO learn call")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    native, dummy = make_pair(args.scenario, args.num_envs, args.obs)
    n_steps = max(8, 2048 // args.num_envs)
    rows = {}
    try:
        for label, fn in (("stepping", lambda v: time_stepping(v, args.step_calls)),
                          ("ppo", lambda v: time_ppo(v, args.budget, n_steps))):
            got = {"native": [], "dummy": []}
            for _ in range(args.repeats):  # interleaved: both see the same machine load
                got["native"].append(fn(native))
                got["dummy"].append(fn(dummy))
            rows[label] = {k: statistics.median(v) for k, v in got.items()}
    finally:
        native.close()
        dummy.close()
    print(f"{args.scenario}, obs={args.obs}, {args.num_envs} envs, medians of {args.repeats}:")
    for label, r in rows.items():
        print(f"  {label:9s} native adapter {r['native']:12,.0f} steps/s   DummyVecEnv "
              f"{r['dummy']:10,.0f} steps/s   ratio {r['native'] / r['dummy']:6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
