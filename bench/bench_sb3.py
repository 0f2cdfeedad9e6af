"""Stable-Baselines3 through the native adapter vs DummyVecEnv of single envs (same run).

Two measurements, medians of ``--repeats`` timed blocks, the vector envs built the same way
(movement_micro, obs="features", the same number of envs and seeds), interleaved so both see
the same machine load:

* env stepping alone: ``venv.step(actions)`` with random actions, steps/s, for each of
  ``--step-envs``;
* PPO training: ``PPO("MlpPolicy", venv).learn(budget)`` with the same hyperparameters and
  budget of env steps, steps/s of the whole learn call, and the share of its time spent in
  ``venv.step`` and in ``PPO.train`` (the rest is SB3's rollout loop: the policy's forward
  pass per step, the rollout buffer, callbacks).

The PPO defaults are the configuration at which the adapter trains 2x faster than
DummyVecEnv on our 2-core machines: 256 envs, ``n_steps=8`` (a 2048-step rollout),
``batch_size=2048``, ``n_epochs=1``, the default 64x64 network. With 16 envs SB3's own work per
step bounds the ratio near 1.4x (env stepping is under 30 % of DummyVecEnv's learn time), and
smaller minibatches or more epochs make the update dominate; see the README.

Prints the medians and the ratios (adapter / DummyVecEnv). Needs the [sb3] extra. Run:

    python bench/bench_sb3.py [--step-envs 16 256] [--num-envs 256] [--budget 16384]
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


def time_ppo(venv, budget: int, n_steps: int, batch_size: int = 256, n_epochs: int = 1,
             net_arch=None) -> tuple[float, float, float]:
    """``(steps/s, share of time in venv.step, share in PPO.train)`` of one learn call."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    kw = {"policy_kwargs": {"net_arch": list(net_arch)}} if net_arch else {}
    model = PPO("MlpPolicy", venv, n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs,
                seed=0, device="cpu", verbose=0, **kw)
    spent = {"env": 0.0, "train": 0.0}
    step, train = venv.step, model.train

    def timed_step(actions):
        t = time.perf_counter()
        out = step(actions)
        spent["env"] += time.perf_counter() - t
        return out

    def timed_train():
        t = time.perf_counter()
        train()
        spent["train"] += time.perf_counter() - t

    venv.step, model.train = timed_step, timed_train
    try:
        t0 = time.perf_counter()
        model.learn(total_timesteps=budget)
        dt = time.perf_counter() - t0
    finally:
        del venv.step  # the instance attribute; the class's method again
    return model.num_timesteps / dt, spent["env"] / dt, spent["train"] / dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="movement_micro")
    ap.add_argument("--obs", default="features", choices=["features", "bytes"])
    ap.add_argument("--step-envs", type=int, nargs="*", default=[16, 256],
                    help="batch sizes of the stepping measurement")
    ap.add_argument("--step-calls", type=int, default=32000,
                    help="env steps per stepping block of the adapter (DummyVecEnv: 1/10)")
    ap.add_argument("--num-envs", type=int, default=256, help="envs of the PPO measurement (0: skip)")
    ap.add_argument("--budget", type=int, default=16384, help="env steps per PPO learn call")
    ap.add_argument("--n-steps", type=int, default=None, help="PPO n_steps (default 2048 // num_envs)")
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--n-epochs", type=int, default=1)
    ap.add_argument("--net-arch", type=int, nargs="*", default=None, help="default: SB3's 64 64")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for n in args.step_envs:
        native, dummy = make_pair(args.scenario, n, args.obs)
        try:
            got = {"native": [], "dummy": []}
            for _ in range(args.repeats):
                got["native"].append(time_stepping(native, max(10, args.step_calls // n)))
                got["dummy"].append(time_stepping(dummy, max(2, args.step_calls // 10 // n)))
        finally:
            native.close()
            dummy.close()
        rows.append((f"stepping, {n} envs", {k: statistics.median(v) for k, v in got.items()}, ""))
    if args.num_envs:
        n = args.num_envs
        n_steps = args.n_steps or max(8, 2048 // n)
        native, dummy = make_pair(args.scenario, n, args.obs)
        try:
            got = {"native": [], "dummy": []}
            for _ in range(args.repeats):
                for key, venv in (("native", native), ("dummy", dummy)):
                    got[key].append(time_ppo(venv, args.budget, n_steps, args.batch_size,
                                             args.n_epochs, args.net_arch))
        finally:
            native.close()
            dummy.close()
        med = {k: statistics.median(r[0] for r in v) for k, v in got.items()}
        shares = "; ".join(f"{k}: env {statistics.median(r[1] for r in v):.0%}, "
                           f"train {statistics.median(r[2] for r in v):.0%}" for k, v in got.items())
        rows.append((f"PPO, {n} envs", med,
                     f"\n      n_steps={n_steps} batch_size={args.batch_size} n_epochs={args.n_epochs} "
                     f"net_arch={args.net_arch or [64, 64]}; time in venv.step / PPO.train: {shares}"))
    print(f"{args.scenario}, obs={args.obs}, medians of {args.repeats}:")
    for label, r, extra in rows:
        print(f"  {label:18s} native adapter {r['native']:12,.0f} steps/s   DummyVecEnv "
              f"{r['dummy']:10,.0f} steps/s   ratio {r['native'] / r['dummy']:6.1f}x{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
