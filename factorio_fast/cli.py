"""``factorio-fast``: the command line.

    factorio-fast bench [--json PATH] [--plot PATH] [--quick]   the main job: scenario benchmark
    factorio-fast reap                                          remove stale shared segments
    factorio-fast scenarios                                     list the scenarios
"""

from __future__ import annotations

import argparse
import sys


def _bench(args) -> int:
    from factorio_fast import bench

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
    from factorio_fast.shm import reap_stale_segments

    removed = reap_stale_segments()
    for name in removed:
        print(f"removed {name}")
    print(f"{len(removed)} stale segment(s) removed")
    return 0


def _scenarios(args) -> int:
    from factorio_fast.scenarios import SCENARIOS

    for name, t in SCENARIOS.items():
        print(f"{name:<16} {t}")
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
    r = sub.add_parser("reap", help="remove shared segments whose owner process is dead")
    r.set_defaults(fn=_reap)
    s = sub.add_parser("scenarios", help="list the scenarios")
    s.set_defaults(fn=_scenarios)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
