#!/usr/bin/env python
"""Benchmark the shared-memory bridge against its baselines and print medians and ratios.

Runs ``bench/bench_handoff.py`` and ``bench/bench_ring.py`` under pytest-benchmark (so the
figures are the same ones ``pytest bench --benchmark-only`` gives), reads the JSON it writes and
prints, per group, the median per item (µs per round trip / per message), items per second, and
the ratio of each of our rows to each baseline measured in the same run, then the goals:

* hand-off round trip (64-byte message, two processes): median <= 1 µs and >= 30x faster than
  ``multiprocessing.Pipe``;
* ring, 64-byte messages across processes, batched: >= 1e7 msgs/s and >= 10x ``faster_fifo``.

Usage::

    python tools/bench_bridge.py [--json results.json] [--quick]

Exit status 0 if every goal was met, 1 otherwise (2 if the benchmarks themselves failed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ["bench/bench_handoff.py", "bench/bench_ring.py"]

# (label, our benchmark, baseline, predicate on (our per-item median, ratio), description)
GOALS = [
    ("handoff", "test_handoff_roundtrip_c", "test_baseline_mp_pipe",
     lambda us, ratio: us <= 1.0 and ratio >= 30.0,
     "hand-off round trip <= 1 us and >= 30x multiprocessing.Pipe"),
    ("ring", "test_ring_batched", "test_baseline_faster_fifo_batched",
     lambda us, ratio: 1e6 / us >= 1e7 and ratio >= 10.0,
     "ring batched >= 1e7 msgs/s and >= 10x faster_fifo batched"),
]


def run_benchmarks(json_path: str, quick: bool) -> int:
    cmd = [sys.executable, "-m", "pytest", *FILES, "--benchmark-only", "-q", "-p", "no:cacheprovider",
           f"--benchmark-json={json_path}", "--benchmark-columns=median,rounds"]
    if quick:
        cmd += ["--benchmark-max-time=0.3", "--benchmark-min-rounds=3"]
    print("$", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def per_item_us(bench: dict) -> float:
    items = bench.get("extra_info", {}).get("items", 1)
    return bench["stats"]["median"] / items * 1e6


def report(data: dict) -> bool:
    groups: dict[str, list[dict]] = {}
    for b in data["benchmarks"]:
        groups.setdefault(b["group"] or "", []).append(b)
    machine = data.get("machine_info", {})
    print(f"\nmachine: {machine.get('node', '?')}, {machine.get('cpu', {}).get('brand_raw', '?')},"
          f" {os.cpu_count()} CPUs, python {machine.get('python_version', '?')}")
    medians: dict[str, float] = {}
    for group, rows in sorted(groups.items()):
        unit = "round trip" if group == "handoff" else "message"
        base = [r for r in rows if r["name"].startswith("test_baseline_")]
        ours = [r for r in rows if not r["name"].startswith("test_baseline_")]
        print(f"\n== {group}: median per {unit} (64-byte messages) ==")
        print(f"{'benchmark':<38}{'items/call':>11}{'median us':>12}{'per second':>14}{'rounds':>8}")
        for r in ours + base:
            us = per_item_us(r)
            medians[r["name"]] = us
            print(f"{r['name']:<38}{r['extra_info'].get('items', 1):>11}{us:>12.4f}"
                  f"{1e6 / us:>14,.0f}{r['stats']['rounds']:>8}")
        if base and ours:
            print("\nratios (baseline median / ours; > 1 means we are faster):")
            print(f"{'':<38}" + "".join(f"{b['name'][len('test_baseline_'):]:>20}" for b in base))
            for r in ours:
                print(f"{r['name']:<38}" + "".join(
                    f"{per_item_us(b) / per_item_us(r):>19.1f}x" for b in base))
    print("\n== goals ==")
    ok_all = True
    for _, ours, base, pred, desc in GOALS:
        if ours not in medians or base not in medians:
            print(f"  [skip] {desc}: not measured")
            continue
        us, ratio = medians[ours], medians[base] / medians[ours]
        ok = pred(us, ratio)
        ok_all &= ok
        print(f"  [{'pass' if ok else 'FAIL'}] {desc}: {us:.4f} us ({1e6 / us:,.0f}/s), "
              f"{ratio:.1f}x")
    return ok_all


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", metavar="PATH", help="keep pytest-benchmark's JSON here")
    p.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    args = p.parse_args(argv)
    path = args.json
    tmp = None
    if path is None:
        fd, tmp = tempfile.mkstemp(suffix=".json", prefix="bench_bridge_")
        os.close(fd)
        path = tmp
    try:
        rc = run_benchmarks(os.path.abspath(path), args.quick)
        if rc != 0:
            print(f"benchmarks failed (pytest exit status {rc})", file=sys.stderr)
            return 2
        with open(path) as f:
            data = json.load(f)
        return 0 if report(data) else 1
    finally:
        if tmp:
            os.unlink(tmp)


if __name__ == "__main__":
    sys.exit(main())
