"""End-to-end PPO training speed: factorio_fast.train against Stable-Baselines3's PPO.

Both train on the same env (movement_micro, obs="features", the same batch of ``--num-envs``
in-process envs; SB3 through factorio_fast.integrations.sb3, its fastest path), with the same
network (separate actor and critic MLPs, ``--hidden`` tanh units per layer), the same rollout
(``--num-steps`` per env), minibatches, epochs and budget of env steps, one thread of torch
each, on CPU. Steps/s counts everything: env stepping, inference, GAE, updates; per second of wall-clock
time and per second of the process's CPU time (the fairer figure on a shared machine). One run each
(``--repeats`` for more, interleaved, medians), then factorio_fast.train's own time split.
Needs the [train] and [sb3] extras. Run:

    python bench/bench_train.py [--budget 262144] [--num-envs 256] [--num-steps 32]
"""

from __future__ import annotations

import argparse
import statistics
import time


def time_ours(args) -> tuple[float, float, dict]:
    """(steps/s of wall-clock time, steps per CPU second, factorio_fast.train's time split)."""
    from factorio_fast import train

    cfg = train.Config("movement_micro", total_steps=args.budget, num_envs=args.num_envs,
                       num_steps=args.num_steps, num_minibatches=args.minibatches, update_epochs=args.epochs,
                       hidden=(args.hidden, args.hidden), torch_threads=1, device="cpu", seed=0)
    res = train.train(cfg)
    return res.steps / res.timing["total"], res.steps / res.timing["cpu"], res.timing


def time_sb3(args) -> tuple[float, float]:
    import torch
    from stable_baselines3 import PPO

    from factorio_fast.integrations.sb3 import FactorioSB3VecEnv

    torch.set_num_threads(1)
    env = FactorioSB3VecEnv("movement_micro", args.num_envs)
    try:
        batch = args.num_envs * args.num_steps // args.minibatches
        model = PPO("MlpPolicy", env, n_steps=args.num_steps, batch_size=batch, n_epochs=args.epochs,
                    learning_rate=1e-3, ent_coef=0.0, seed=0, device="cpu", verbose=0,
                    policy_kwargs=dict(net_arch=dict(pi=[args.hidden] * 2, vf=[args.hidden] * 2)))
        t0, c0 = time.perf_counter(), time.process_time()
        model.learn(total_timesteps=args.budget)
        return (model.num_timesteps / (time.perf_counter() - t0),
                model.num_timesteps / (time.process_time() - c0))
    finally:
        env.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=262_144, help="env steps per run")
    ap.add_argument("--num-envs", type=int, default=256)
    ap.add_argument("--num-steps", type=int, default=32)
    ap.add_argument("--minibatches", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args(argv)
    ours, sb3, split = [], [], {}
    for _ in range(args.repeats):  # interleaved: both see the same machine load
        wall, cpu, split = time_ours(args)
        ours.append((wall, cpu))
        sb3.append(time_sb3(args))
    o = [statistics.median(x[k] for x in ours) for k in (0, 1)]
    s = [statistics.median(x[k] for x in sb3) for k in (0, 1)]
    print(f"movement_micro PPO, {args.num_envs} envs x {args.num_steps} steps, {args.minibatches} "
          f"minibatches x {args.epochs} epochs, MLP {args.hidden}x{args.hidden}, {args.budget} steps, "
          f"medians of {args.repeats} (steps/s of wall-clock time, and of this process's CPU time, "
          "which a busy machine's other jobs do not inflate):")
    print(f"  factorio_fast.train {o[0]:10,.0f} steps/s   {o[1]:10,.0f} steps/CPU-s   "
          f"({args.budget / o[0]:.1f} s, {args.budget / o[1]:.1f} s of CPU)")
    print(f"  Stable-Baselines3   {s[0]:10,.0f} steps/s   {s[1]:10,.0f} steps/CPU-s   "
          f"({args.budget / s[0]:.1f} s, {args.budget / s[1]:.1f} s of CPU)")
    print(f"  ratio               {o[0] / s[0]:10.1f}x          {o[1] / s[1]:10.1f}x")
    tot = split["total"]
    print("  factorio_fast.train time split (last run, wall-clock): " + ", ".join(
        f"{k} {split[k]:.1f} s ({100 * split[k] / tot:.0f} %)" for k in ("env", "inference", "update")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
