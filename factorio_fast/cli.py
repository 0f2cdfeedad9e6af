"""``factorio-fast``: the command line.

    factorio-fast bench [--json PATH] [--plot PATH] [--quick]   the main job: scenario benchmark
    factorio-fast reap [--dry-run]                              remove stale shared segments
    factorio-fast scenarios                                     list the scenarios
    factorio-fast mod (--path | --zip DIR)                      where the Factorio mod is / zip it
    factorio-fast train SCENARIO [--steps N] [--out DIR] ...    PPO, logs, curve, evaluation
"""

from __future__ import annotations

import argparse
import sys


def _bench(args) -> int:
    from factorio_fast import bench
    from factorio_fast.scenarios import SCENARIOS

    unknown = [s for s in args.scenario or () if s not in SCENARIOS]
    if unknown:
        print(f"factorio-fast bench: unknown scenario {unknown[0]!r}; valid choices: "
              f"{', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    if args.block_s is not None and not args.block_s > 0:
        print("factorio-fast bench: --block-s must be > 0", file=sys.stderr)
        return 2
    if args.repeats is not None and args.repeats < 1:
        print("factorio-fast bench: --repeats must be >= 1", file=sys.stderr)
        return 2

    configs = bench.plan(quick=args.quick, scenarios=args.scenario)
    block = args.block_s if args.block_s else (0.06 if args.quick else 0.15)
    repeats = args.repeats if args.repeats else (3 if args.quick else 5)
    print(f"factorio-fast bench: {len(configs)} configurations, {repeats} timed blocks of "
          f"~{block:.2f} s each (medians reported)", file=sys.stderr)
    rows = bench.run(configs, block_s=block, repeats=repeats, progress=not args.no_progress)
    print(bench.render_table(rows))
    if args.json:
        bench.write_json(rows, args.json)
        print(f"\nwrote {args.json}")
    plot = args.plot or (args.json.rsplit(".", 1)[0] + ".png" if args.json else None)
    if plot and bench.write_plot(rows, plot):
        print(f"wrote {plot}")
    measured = [r for r in rows if r.passed is not None and r.backend == "sim"]
    return 0 if all(r.passed for r in measured) else 1


def _reap(args) -> int:
    from factorio_fast.shm import print_reap, reap

    # Exit 1 when some ff_* entry is left behind (not a segment, or its removal failed): the
    # summary names each one; every other stale segment has been removed by then.
    return print_reap(reap(dry_run=args.dry_run))


def _scenarios(args) -> int:
    from factorio_fast.scenarios import SCENARIOS

    print(f"{'scenario':<16} {'map':>7} {'obs B':>5} {'steps':>5} {'ticks':>5} {'actions':<14} "
          f"{'seed SPS':>8}  task")
    for name, t in SCENARIOS.items():
        space = f"Discrete({t.nvec[0]})" if len(t.nvec) == 1 else f"MD{list(t.nvec)}"
        print(f"{name:<16} {t.map_size[0]:>3}x{t.map_size[1]:<3} {t.obs_bytes:>5} "
              f"{t.episode_steps:>5} {t.ticks_per_step:>5} {space:<14} {t.target_sps:>8}  "
              f"{t.description}")
    return 0


def _mod(args) -> int:
    from factorio_fast.emulator import modfiles
    from factorio_fast.errors import FactorioFastError

    try:
        if args.zip is not None:
            path = modfiles.write_zip(args.zip)
            print(path)
        else:
            print(modfiles.mod_dir())
    except (FactorioFastError, OSError) as e:
        print(f"factorio-fast mod: {e}", file=sys.stderr)
        return 2
    return 0


def _train(args) -> int:
    from factorio_fast.scenarios import SCENARIOS

    if args.scenario not in SCENARIOS:
        print(f"factorio-fast train: unknown scenario {args.scenario!r}; valid choices: "
              f"{', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    for flag in ("steps", "num_envs", "num_steps", "eval_episodes"):
        v = getattr(args, flag)
        if v is not None and v < 1:
            print(f"factorio-fast train: --{flag.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    try:
        from factorio_fast import train
    except ImportError as e:
        print(f"factorio-fast train: {e}", file=sys.stderr)
        return 2
    import time

    env_kwargs = {"reward": args.reward} if args.reward else {}
    cfg = train.Config.for_scenario(
        args.scenario, total_steps=args.steps, num_envs=args.num_envs, num_steps=args.num_steps,
        learning_rate=args.lr, seed=args.seed, device=args.device, async_envs=args.async_envs or None,
        torch_threads=args.threads, env_kwargs=env_kwargs)
    out = args.out or f"runs/{args.scenario}-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"factorio-fast train {args.scenario}: {cfg.total_steps} steps, {cfg.num_envs} envs x "
          f"{cfg.num_steps} steps per rollout, device {train.pick_device(cfg.device)}; writing {out}/",
          file=sys.stderr)
    summary = train.run(cfg, out, eval_episodes=args.eval_episodes or 256, progress=not args.no_progress,
                        max_seconds=60.0 * (args.max_minutes or 0),
                        max_cpu_seconds=60.0 * (args.max_cpu_minutes or 0))
    for k, path in summary["files"].items():
        print(f"wrote {path} ({k})")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="factorio-fast", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench", help="benchmark every scenario against the seed's target table")
    b.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    b.add_argument("--plot", metavar="PATH", help="PNG plot (default: next to --json)")
    b.add_argument("--quick", action="store_true", help="fewer sizes and shorter blocks (~20 s)")
    b.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    b.add_argument("--block-s", type=float, help="seconds per timed block")
    b.add_argument("--repeats", type=int, help="timed blocks per configuration")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(fn=_bench)
    r = sub.add_parser("reap", help="remove shared segments whose owner process is dead "
                                    "(exit 1 if some ff_* entry could not be removed)")
    r.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    r.set_defaults(fn=_reap)
    s = sub.add_parser("scenarios", help="list the scenarios")
    s.set_defaults(fn=_scenarios)
    m = sub.add_parser("mod", help="the Factorio mod that plays the scenarios on a real server")
    mg = m.add_mutually_exclusive_group(required=True)
    mg.add_argument("--path", action="store_true", help="print the folder of the installed mod")
    mg.add_argument("--zip", metavar="DIR",
                    help="write factorio_fast_<version>.zip (for a server's mods/) into DIR")
    m.set_defaults(fn=_mod)
    t = sub.add_parser("train", help="train PPO on a scenario (needs the [train] extra: torch)")
    t.add_argument("scenario", help="a scenario name (factorio-fast scenarios)")
    t.add_argument("--steps", type=int, help="env steps in all (default: the scenario's)")
    t.add_argument("--num-envs", type=int, help="envs in the batch")
    t.add_argument("--num-steps", type=int, help="rollout length per env")
    t.add_argument("--lr", type=float, help="learning rate")
    t.add_argument("--seed", type=int, default=0, help="seed of the whole run (default 0)")
    t.add_argument("--device", default="auto", help="torch device (default: CUDA if seen, else CPU)")
    t.add_argument("--threads", type=int, help="torch threads (default 1; 0: torch's default)")
    t.add_argument("--async", dest="async_envs", action="store_true",
                   help="step half the batch in worker processes while the policy runs on the other")
    t.add_argument("--reward", choices=("shaped", "sparse"), help="the scenario's reward (default shaped)")
    t.add_argument("--out", metavar="DIR", help="output folder (default runs/SCENARIO-TIME)")
    t.add_argument("--eval-episodes", type=int, help="episodes of the final evaluation (default 256)")
    t.add_argument("--max-minutes", type=float, help="stop training after this much wall-clock time")
    t.add_argument("--max-cpu-minutes", type=float,
                   help="stop training after this much CPU time of the process (a busy machine's budget)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(fn=_train)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
