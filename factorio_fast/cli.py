"""``factorio-fast``: the command line.

    factorio-fast bench [--json PATH] [--plot PATH] [--quick]   the main job: scenario benchmark
    factorio-fast reap [--dry-run]                              remove stale shared segments
    factorio-fast scenarios                                     list the scenarios
    factorio-fast mod (--path | --zip DIR)                      where the Factorio mod is / zip it
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
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
