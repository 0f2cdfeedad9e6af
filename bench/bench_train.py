"""End-to-end PPO training speed: factorio_fast.train against Stable-Baselines3's PPO.

Both train on the same env (movement_micro, obs="features", the same batch of ``--num-envs``
in-process envs; SB3 through factorio_fast.integrations.sb3, its fastest path), with the same
network (separate actor and critic MLPs, ``--hidden`` tanh units per layer), the same rollout
(``--num-steps`` per env), minibatch size, epochs, loss and budget of env steps, one thread of
torch each, on CPU. Steps/s counts everything: env stepping, inference, GAE, updates; per second
of wall-clock time and per second of the process's CPU time (the fairer figure on a shared
machine). One run each (``--repeats`` for more, interleaved, medians), then factorio_fast.train's
own time split. The mean episodic return at the end of each run (ours over its last 256 episodes,
SB3's over its last 100) is printed too, as a check that both learn alike.

Two presets (flags given explicitly override the preset's values):

* ``sb3-defaults`` (the default): what ``PPO("MlpPolicy", env)`` does when only ``n_steps`` is
  set, as Stable-Baselines3 2.9.2 defines it (``stable_baselines3/ppo/ppo.py`` lines 84-95,
  ``PPO.__init__``: learning rate 3e-4 constant, batch_size 64, n_epochs 10, gamma 0.99,
  gae_lambda 0.95, clip_range 0.2, clip_range_vf None, advantages normalised per minibatch,
  ent_coef 0.0, vf_coef 0.5, max_grad_norm 0.5; line 244: the value loss is the mean squared
  error; ``common/policies.py`` ``ActorCriticPolicy.__init__``: line 454 tanh, 455 orthogonal
  init, 472 Adam eps 1e-5, 500 net_arch pi [64, 64] / vf [64, 64]). 256 envs x 32 steps = 8192
  samples per rollout: 128 minibatches of 64, 10 epochs, 131 072 steps (16 rollouts).
* ``large-batch``: the earlier configuration (2 minibatches of 4096, 3 epochs, MLPs 128x128),
  where both trainers spend most of their time in the same matrix products.

Needs the [train] and [sb3] extras. Run:

    python bench/bench_train.py [--preset sb3-defaults|large-batch] [--budget N] [--repeats K]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

# Per preset: the shared settings, then what each trainer gets for the settings whose names
# differ. In sb3-defaults both compute the same loss: SB3's value term is vf_coef * MSE, ours is
# vf_coef * 0.5 * MSE (CleanRL's), hence our vf_coef 1.0 against SB3's 0.5.
PRESETS = {
    "sb3-defaults": dict(
        budget=131_072, num_envs=256, num_steps=32, minibatch_size=64, epochs=10, hidden=64,
        ours=dict(learning_rate=3e-4, anneal_lr=False, ent_coef=0.0, clip_vloss=False, vf_coef=1.0,
                  gamma=0.99, gae_lambda=0.95, clip_coef=0.2, max_grad_norm=0.5),
        sb3=dict(learning_rate=3e-4, ent_coef=0.0, clip_range_vf=None, vf_coef=0.5, gamma=0.99,
                 gae_lambda=0.95, clip_range=0.2, max_grad_norm=0.5)),
    # the settings this benchmark used before the presets (kept as they were, to be comparable)
    "large-batch": dict(
        budget=262_144, num_envs=256, num_steps=32, minibatch_size=4096, epochs=3, hidden=128,
        ours=dict(),            # train.Config's defaults
        sb3=dict(learning_rate=1e-3, ent_coef=0.0)),
}


def time_ours(args) -> tuple[float, float, float, dict]:
    """(steps/s of wall-clock time, steps per CPU second, mean return of the last episodes,
    factorio_fast.train's time split)."""
    from factorio_fast import train

    cfg = train.Config("movement_micro", total_steps=args.budget, num_envs=args.num_envs,
                       num_steps=args.num_steps, num_minibatches=args.minibatches, update_epochs=args.epochs,
                       hidden=(args.hidden, args.hidden), torch_threads=1, device="cpu", seed=0,
                       **PRESETS[args.preset]["ours"])
    res = train.train(cfg)
    ret = res.history[-1].get("return", float("nan"))   # over the last 256 episodes
    return res.steps / res.timing["total"], res.steps / res.timing["cpu"], ret, res.timing


def time_sb3(args) -> tuple[float, float, float]:
    """(steps/s of wall-clock time, steps per CPU second, mean return of the last episodes)."""
    import torch
    from stable_baselines3 import PPO

    from factorio_fast.integrations.sb3 import FactorioSB3VecEnv

    torch.set_num_threads(1)
    env = FactorioSB3VecEnv("movement_micro", args.num_envs)
    try:
        model = PPO("MlpPolicy", env, n_steps=args.num_steps, batch_size=args.minibatch_size,
                    n_epochs=args.epochs, seed=0, device="cpu", verbose=0,
                    policy_kwargs=dict(net_arch=dict(pi=[args.hidden] * 2, vf=[args.hidden] * 2)),
                    **PRESETS[args.preset]["sb3"])
        t0, c0 = time.perf_counter(), time.process_time()
        model.learn(total_timesteps=args.budget)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rets = [e["r"] for e in model.ep_info_buffer]   # the last 100 episodes (SB3's window)
        return (model.num_timesteps / wall, model.num_timesteps / cpu,
                statistics.fmean(rets) if rets else float("nan"))
    finally:
        env.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="sb3-defaults")
    ap.add_argument("--budget", type=int, help="env steps per run")
    ap.add_argument("--num-envs", type=int)
    ap.add_argument("--num-steps", type=int)
    ap.add_argument("--minibatch-size", type=int, help="samples per gradient step")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--hidden", type=int, help="tanh units per layer (2 layers, actor and critic)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--only", choices=("ours", "sb3"), help="time one trainer only")
    args = ap.parse_args(argv)
    for k, v in PRESETS[args.preset].items():
        if k not in ("ours", "sb3") and getattr(args, k) is None:
            setattr(args, k, v)
    batch = args.num_envs * args.num_steps
    if args.minibatch_size < 1 or batch % args.minibatch_size:
        ap.error(f"--minibatch-size must divide num_envs * num_steps = {batch}")
    args.minibatches = batch // args.minibatch_size
    load0 = os.getloadavg()[0]
    ours, sb3, split = [], [], {}
    for _ in range(args.repeats):  # interleaved: both see the same machine load
        if args.only != "sb3":
            *run, split = time_ours(args)
            ours.append(run)
        if args.only != "ours":
            sb3.append(time_sb3(args))
    print(f"movement_micro PPO, preset {args.preset}: {args.num_envs} envs x {args.num_steps} steps, "
          f"{args.minibatches} minibatches of {args.minibatch_size} x {args.epochs} epochs, "
          f"MLP {args.hidden}x{args.hidden}, {args.budget} steps, medians of {args.repeats} "
          "(steps/s of wall-clock time, and of this process's CPU time, which a busy machine's other "
          f"jobs do not inflate); load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} "
          "at the end:")
    med = {}
    for name, runs in (("factorio_fast.train", ours), ("Stable-Baselines3", sb3)):
        if runs:
            w, c, r = (statistics.median(x[k] for x in runs) for k in (0, 1, 2))
            med[name] = (w, c)
            print(f"  {name:19} {w:10,.0f} steps/s   {c:10,.0f} steps/CPU-s   "
                  f"({args.budget / w:.1f} s, {args.budget / c:.1f} s of CPU; final mean return {r:.2f})")
    if len(med) == 2:
        (ow, oc), (sw, sc) = med.values()
        print(f"  {'ratio':19} {ow / sw:10.1f}x          {oc / sc:10.1f}x")
    if split:
        tot = split["total"]
        print("  factorio_fast.train time split (last run, wall-clock): " + ", ".join(
            f"{k} {split[k]:.1f} s ({100 * split[k] / tot:.0f} %)" for k in ("env", "inference", "update")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
