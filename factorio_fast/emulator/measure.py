"""What the mod costs per env step, measured in the emulator.

    python -m factorio_fast.emulator.measure [--steps N]

For each scenario at 1 and 16 envs per server, random actions with autoresets (as the parity
tests play). Per env step: the wall time spent inside the mod's Lua entry points (the /ff
commands and on_tick), split into the time the shim's Python took to answer the mod's API calls
and the rest (the mod's own Lua plus lupa's crossings into Python); the crossings' own cost,
calibrated on a trivial attribute read, is taken out to estimate the mod's own Lua time, which is
what the mod adds to a real server's tick besides the API calls it makes (the game's C++ answers
those). Steps and resets (WORLD requests, amortised over the steps) are reported apart, with
BatchSim's own step in the same run as the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

__all__ = ["measure", "crossing_us"]


def crossing_us(emu, n: int = 20000) -> float:
    """Lupa's cost of one API call from Lua, beyond the shim's Python (µs)."""
    b = emu._bridge
    calls, py = b.calls, b.py_seconds
    t = time.perf_counter()
    emu.sandbox.run(f"local s = 0 for i = 1, {n} do s = s + game.tick end return s")
    wall = time.perf_counter() - t
    spent = b.py_seconds - py
    assert b.calls - calls == n
    return (wall - spent) / n * 1e6


def _sim_us(scenario: str, n: int, steps: int, seed: int) -> float:
    """The baseline: BatchSim's step, µs per env step, on the same kind of actions."""
    from factorio_fast._sim import BatchSim
    sim = BatchSim(scenario, n)
    obs = np.zeros((n,) + sim.obs_shape, np.uint8)
    r = np.zeros(n, np.float32)
    te, tr = np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    sim.reset(np.arange(n, dtype=np.uint64) + seed, obs=obs)
    rng = np.random.default_rng(seed)
    acts = [np.stack([rng.integers(0, v, n) for v in sim.action_nvec], 1).reshape(
        (n,) + sim.action_shape).astype(np.int64) for _ in range(steps)]
    t = time.perf_counter()
    for a in acts:
        sim.step(a, obs=obs, rewards=r, terminated=te, truncated=tr)
    us = (time.perf_counter() - t) / (steps * n) * 1e6
    sim.close()
    return us


def measure(scenario: str, n: int, steps: int, seed: int = 0, repeats: int = 3) -> dict:
    from factorio_fast.emulator.batch import EmulatorLink, ModBatch
    from factorio_fast.emulator.game import Emulator

    runs = []
    for rep in range(repeats):
        emu = Emulator(profile=True)
        mb = ModBatch(scenario, n, EmulatorLink(emu))
        obs = np.zeros((n, mb.obs_bytes), np.uint8)
        r = np.zeros(n, np.float32)
        te, tr = np.zeros(n, np.bool_), np.zeros(n, np.bool_)
        mb.reset(np.arange(n, dtype=np.uint64) + seed + rep, obs=obs)
        rng = np.random.default_rng(seed + rep)
        nvec = np.array(mb._nvec)
        b = emu._bridge
        acc = {"lua": 0.0, "py": 0.0, "calls": 0}
        resets = {"lua": 0.0, "py": 0.0, "calls": 0}
        inner = mb._reset

        def counted(*args, _inner=inner, _emu=emu, _b=b, _acc=resets):
            l0, p0, c0 = sum(_emu.lua_seconds.values()), _b.py_seconds, _b.calls
            try:
                return _inner(*args)
            finally:
                _acc["lua"] += sum(_emu.lua_seconds.values()) - l0
                _acc["py"] += _b.py_seconds - p0
                _acc["calls"] += _b.calls - c0

        mb._reset = counted
        emu.lua_seconds.clear()
        b.calls, b.py_seconds = 0, 0.0
        for _ in range(steps):
            a = np.stack([rng.integers(0, v, n) for v in nvec], 1)
            mb.step(a, obs=obs, rewards=r, terminated=te, truncated=tr)
        acc["lua"] = sum(emu.lua_seconds.values()) - resets["lua"]
        acc["py"] = b.py_seconds - resets["py"]
        acc["calls"] = b.calls - resets["calls"]
        cross = crossing_us(emu)
        k = steps * n
        row = {"crossing_us": cross, "sim_us": _sim_us(scenario, n, steps, seed + rep)}
        for name, d in (("step", acc), ("reset", resets)):
            row[f"{name}_total_us"] = d["lua"] / k * 1e6
            row[f"{name}_shim_us"] = d["py"] / k * 1e6
            row[f"{name}_calls"] = d["calls"] / k
            row[f"{name}_lua_us"] = (d["lua"] - d["py"]) / k * 1e6 - d["calls"] / k * cross
        row["on_tick_us"] = emu.lua_seconds.get("on_tick", 0.0) / k * 1e6
        runs.append(row)
        mb.close()
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=0, help="steps per run (default 2000 / n)")
    args = p.parse_args(argv)
    print("us per env step, medians of 3 runs; 'Lua' is the mod's own Lua (bridge crossings "
          "taken out)")
    print(f"{'scenario':<16} {'envs':>4} | {'step: Lua':>9} {'calls':>6} {'shim':>7} "
          f"{'on_tick':>7} | {'resets: Lua':>11} {'calls':>6} {'shim':>7} | {'crossing':>8} "
          f"{'BatchSim':>8}")
    for scen in ("movement_micro", "mining_micro", "building_micro"):
        for n in (1, 16):
            steps = args.steps or max(2000 // n, 600)
            m = measure(scen, n, steps)
            print(f"{scen:<16} {n:>4} | {m['step_lua_us']:>9.1f} {m['step_calls']:>6.1f} "
                  f"{m['step_shim_us']:>7.1f} {m['on_tick_us']:>7.1f} | "
                  f"{m['reset_lua_us']:>11.1f} {m['reset_calls']:>6.1f} {m['reset_shim_us']:>7.1f} | "
                  f"{m['crossing_us']:>8.2f} {m['sim_us']:>8.2f}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
