"""The seed's performance monitoring, as a measured suite: ``factorio-fast bench``.

For every scenario: env steps per second (env steps, not vector steps), µs per vector step and
per hand-off, observation bytes, memory (RSS and shared bytes), against the seed's target
table, with baselines measured in the same run (Gymnasium ``SyncVectorEnv`` and
``AsyncVectorEnv(shared_memory=True)`` over the single-env version of the same scenario), so the
figures are ratios that survive a noisy machine.

Timing: each configuration runs ``repeats`` timed blocks of about ``block_s`` seconds after a
warm-up block; the row reports the median block.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Config", "Row", "plan", "run", "render_table", "write_plot", "machine_info"]

SEED_TABLE = [  # the seed's "Target Performance Goals"
    ("movement_micro", 1000, 64, "Shared Memory"),
    ("mining_micro", 500, 256, "TCP Socket"),
    ("building_micro", 200, 512, "TCP Socket"),
    ("full_game", 50, 2048, "File/TCP"),
]


@dataclass
class Config:
    scenario: str
    backend: str            # sim | gymnasium-sync | gymnasium-async | factorio
    num_envs: int
    num_workers: int = 0


@dataclass
class Row:
    scenario: str
    backend: str
    num_envs: int
    num_workers: int
    sps: float | None
    us_per_step: float | None
    us_per_handoff: float | None
    obs_bytes: int
    target_sps: int | None
    passed: bool | None
    rss_mb: float
    shared_bytes: int
    repeats: list = field(default_factory=list)
    note: str = ""


def machine_info() -> dict:
    import numpy
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    import factorio_fast
    return {"platform": platform.platform(), "python": platform.python_version(),
            "numpy": numpy.__version__, "cpus": cpus, "cpu_model": model,
            "factorio_fast": factorio_fast.__version__,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def plan(quick: bool = False, scenarios=None) -> list[Config]:
    """The configurations measured by default (about a minute on a 2-core machine)."""
    from factorio_fast.scenarios import SCENARIOS
    names = list(scenarios or SCENARIOS)
    sizes = [1, 4096] if quick else [1, 64, 1024, 4096]
    out = []
    for name in names:
        out += [Config(name, "sim", n) for n in sizes]
        out += [Config(name, "sim", 4096, w) for w in (1, 2)]
        out += [Config(name, "gymnasium-sync", 8), Config(name, "gymnasium-async", 4 if quick else 8)]
        # the mod on one server (FACTORIO_PATH, else the emulator: the row says which)
        out.append(Config(name, "factorio", FACTORIO_ENVS_PER_SERVER))
    return out


FACTORIO_ENVS_PER_SERVER = 16


def factorio_executable(tmpdir: str | None = None) -> tuple[str | None, bool]:
    """(executable, emulated): ``$FACTORIO_PATH``, else the emulator as an executable written
    into ``tmpdir``; (None, False) when neither is there. ``emulated`` is read from the
    binary's ``--version`` (the emulator says it is one)."""
    import subprocess
    import tempfile

    exe = os.environ.get("FACTORIO_PATH")
    if not exe:
        try:
            from factorio_fast.emulator.server import write_launcher
        except ImportError:
            return None, False
        exe = str(write_launcher(tmpdir or tempfile.mkdtemp(prefix="ff_bench_emu_")))
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return exe, False
    return exe, b"Emulator:" in out


def measure_factorio(scenario: str, num_servers: int, envs_per_server: int,
                     steps: int | None, *, factorio_path: str, game_speed: float | None = None,
                     repeats: int = 3, seed: int = 0, block_s: float = 0.15) -> dict:
    """Env steps per second of ``backend="factorio"`` on ``num_servers`` x ``envs_per_server``
    envs driven from this process (random actions, ``repeats`` timed blocks of ``steps``
    vector steps after one warm-up block; medians; ``steps=None``: as many as take about
    ``block_s``, from two probe steps). ``game_speed``: pace the servers (a real server runs
    60 x game.speed ticks a second); None leaves the mod's (unpaced)."""
    from factorio_fast.vector import make_vec

    n = num_servers * envs_per_server
    env = make_vec(scenario, n, backend="factorio", envs_per_server=envs_per_server,
                   factorio_path=factorio_path, game_speed=game_speed, copy=False)
    try:
        t0 = time.perf_counter()
        env.reset(seed=seed)
        start_s = time.perf_counter() - t0
        step = _stepper(env, env.single_action_space, n, np.random.default_rng(seed))
        probe_used = steps is None
        if probe_used:
            probe = _timed_blocks(step, 2, 1)[0] / 2  # (after one warm-up step)
            steps = max(2, int(block_s / max(probe, 1e-6)))
        times = _timed_blocks(step, steps, repeats)
        stepper = env._sims[0]
        space = env.single_observation_space
        return {"sps": statistics.median(n * steps / t for t in times),
                "us_per_step": statistics.median(times) / steps * 1e6,
                "repeats": [round(n * steps / t, 1) for t in times],
                "requests_per_step": stepper.requests / ((repeats + 1) * steps + 1
                                                         + (3 if probe_used else 0)),
                "start_s": start_s, "rss_mb": _rss_mb(),
                "obs_bytes": int(np.prod(space.shape)) * space.dtype.itemsize}
    finally:
        env.close()


def _measure_factorio_row(cfg: Config, block_s: float, repeats: int, exe, emulated: bool,
                          target) -> Row:
    backend = "factorio-emu" if emulated else "factorio"
    if exe is None:
        return Row(cfg.scenario, backend, cfg.num_envs, 0, None, None, None, 0, target, None,
                   _rss_mb(), 0, note="no server: set FACTORIO_PATH")
    m = measure_factorio(cfg.scenario, 1, cfg.num_envs, None, factorio_path=exe,
                         repeats=repeats, block_s=block_s)
    note = ("emulated: factorio-fast-emulator, not Factorio; " if emulated else "") + \
        f"1 server x {cfg.num_envs} envs, {m['requests_per_step']:.1f} requests/step"
    return Row(cfg.scenario, backend, cfg.num_envs, 0, m["sps"], m["us_per_step"], None,
               m["obs_bytes"], target, None, m["rss_mb"], 0, m["repeats"], note=note)


def _timed_blocks(step: Callable[[], None], steps_per_block: int, repeats: int) -> list[float]:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps_per_block):
            step()
        times.append(time.perf_counter() - t0)
    return times


def _calibrate(step: Callable[[], None], block_s: float) -> int:
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        t = time.perf_counter() - t0
        if t >= block_s / 4 or n >= 1 << 20:
            return max(1, int(n * block_s / max(t, 1e-9)))
        n *= 4


POOL = 61      # random action batches drawn per configuration (a prime: no short cycles)
ORDER = 4096   # length of the random sequence of pool indices, replayed


def _stepper(env, space, num_envs: int, rng):
    """A step function feeding random actions: each call takes a random batch of the pool.
    (Cycling a few fixed batches would give every env a constant drift into the map's edge,
    which changes how often the collision slow path runs.)"""
    pool = _action_pool(space, num_envs, rng, POOL)
    order = rng.integers(0, POOL, ORDER)
    i = [0]

    def step():
        env.step(pool[order[i[0] % ORDER]])
        i[0] += 1

    return step


def _action_pool(space, num_envs: int, rng, k: int = 8):
    nvec = np.atleast_1d(getattr(space, "nvec", getattr(space, "n", None)))
    shape = () if hasattr(space, "n") and not hasattr(space, "nvec") else nvec.shape
    return [rng.integers(0, nvec.reshape((1,) * 1 + nvec.shape) if shape else int(nvec[0]),
                         size=(num_envs,) + shape).astype(np.int32) for _ in range(k)]


def _rss_mb(children: bool = True) -> float:
    """Resident memory of this process and (by default) its live children, in MiB."""
    import psutil
    me = psutil.Process()
    procs = [me] + (me.children(recursive=True) if children else [])
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def _measure_vec(cfg: Config, block_s: float, repeats: int, kwargs: dict):
    from factorio_fast.vector import make_vec
    rng = np.random.default_rng(0)
    # copy=False: the zero-copy path a training loop that consumes each result uses (the
    # default, copy=True, adds one memcpy of the batch per step)
    env = make_vec(cfg.scenario, cfg.num_envs, num_workers=cfg.num_workers, copy=False, **kwargs)
    try:
        env.reset(seed=0)
        step = _stepper(env, env.single_action_space, cfg.num_envs, rng)

        n = _calibrate(step, block_s)
        times = _timed_blocks(step, n, repeats)
        space = env.single_observation_space
        obs_bytes = int(np.prod(space.shape)) * space.dtype.itemsize
        return ([n * cfg.num_envs / t for t in times], [t / n for t in times], obs_bytes,
                env.shared_bytes, _rss_mb())
    finally:
        env.close()


def _measure_handoff(cfg: Config, block_s: float, repeats: int, kwargs: dict) -> float | None:
    """Median µs a worker hand-off adds to a vector step: one env per worker, against the same
    envs stepped in-process, timed in alternating blocks so both see the same machine load."""
    if not cfg.num_workers:
        return None
    from factorio_fast.vector import make_vec
    n_env = cfg.num_workers
    envs = [make_vec(cfg.scenario, n_env, num_workers=w, copy=False, **kwargs)
            for w in (0, cfg.num_workers)]
    try:
        a = _action_pool(envs[0].single_action_space, n_env, np.random.default_rng(1), 1)[0]
        steps = []
        for env in envs:
            env.reset(seed=0)
            steps.append(lambda env=env: env.step(a))
        n = max(_calibrate(s, block_s / 4) for s in steps)
        diffs = []
        for _ in range(repeats):
            t_in, t_wk = (_timed_blocks(s, n, 1)[0] for s in steps)
            diffs.append((t_wk - t_in) / n * 1e6)
        return statistics.median(diffs)
    finally:
        for env in envs:
            env.close()


def _measure_gym(cfg: Config, block_s: float, repeats: int, kwargs: dict):
    import gymnasium as gym

    from factorio_fast.env import make
    fns = [lambda: make(cfg.scenario, **kwargs) for _ in range(cfg.num_envs)]
    if cfg.backend == "gymnasium-sync":
        env = gym.vector.SyncVectorEnv(fns)
    else:
        env = gym.vector.AsyncVectorEnv(fns, shared_memory=True)
    try:
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        step = _stepper(env, env.single_action_space, cfg.num_envs, rng)

        n = _calibrate(step, block_s)
        times = _timed_blocks(step, n, repeats)
        space = env.single_observation_space
        return ([n * cfg.num_envs / t for t in times], [t / n for t in times],
                int(np.prod(space.shape)) * space.dtype.itemsize, _rss_mb())
    finally:
        env.close()


def run(configs: list[Config], *, block_s: float = 0.15, repeats: int = 5,
        progress: bool = True, scenario_kwargs: dict | None = None) -> list[Row]:
    """Measure every configuration; return one Row each, plus the seed's full_game row
    (measured on the factorio rows' server, when the configurations have factorio rows)."""
    from factorio_fast.scenarios import SCENARIOS
    kwargs = scenario_kwargs or {}
    rows = []
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(configs), desc="bench", unit="cfg", leave=False)
        except ImportError:
            bar = None
    factorio_exe = emu_dir = None
    for cfg in configs:
        if bar is not None:
            bar.set_postfix_str(f"{cfg.scenario} {cfg.backend} n={cfg.num_envs} w={cfg.num_workers}")
        target = getattr(SCENARIOS[cfg.scenario], "target_sps", None)
        if cfg.backend == "factorio":
            if factorio_exe is None:
                import tempfile
                emu_dir = tempfile.TemporaryDirectory(prefix="ff_bench_emu_")
                factorio_exe = factorio_executable(emu_dir.name)
            rows.append(_measure_factorio_row(cfg, block_s, repeats, *factorio_exe, target))
            if bar is not None:
                bar.update(1)
            continue
        handoff_us = None
        shared = 0
        if cfg.backend == "sim":
            sps_list, step_s, obs_bytes, shared, rss = _measure_vec(cfg, block_s, repeats, kwargs)
            handoff_us = _measure_handoff(cfg, block_s, repeats, kwargs)
        else:
            sps_list, step_s, obs_bytes, rss = _measure_gym(cfg, block_s, repeats, kwargs)
        sps = statistics.median(sps_list)
        rows.append(Row(cfg.scenario, cfg.backend, cfg.num_envs, cfg.num_workers, sps,
                        statistics.median(step_s) * 1e6, handoff_us, obs_bytes, target,
                        (sps >= target) if target else None, rss, shared,
                        [round(s, 1) for s in sps_list]))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    # the seed's full_game row: the mod on the same server executable as the factorio rows
    # (FACTORIO_PATH, else the emulator's stand-in map: then the row says so and has no verdict)
    full_target = next(t for name, t, _b, _i in SEED_TABLE if name == "full_game")
    if factorio_exe is not None:
        rows.append(_measure_factorio_row(Config("full_game", "factorio", FACTORIO_ENVS_PER_SERVER),
                                          block_s, repeats, *factorio_exe, full_target))
    else:
        rows.append(Row("full_game", "factorio", 0, 0, None, None, None, 2048, full_target, None,
                        _rss_mb(), 0, note="not measured: this run has no factorio rows "
                        "(full_game needs backend='factorio')"))
    if emu_dir is not None:
        emu_dir.cleanup()
    return rows


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def render_table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table with PASS/FAIL against the seed's targets
    (``factorio-emu`` rows ran on the emulator, not on Factorio: no verdict)."""
    head = (f"{'scenario':<15} {'backend':<16} {'envs':>5} {'wrk':>3} {'SPS':>13} "
            f"{'µs/step':>10} {'µs/handoff':>10} {'obs B':>5} {'RSS MiB':>7} {'shm MiB':>7} "
            f"{'target':>6} {'×target':>9} {'result':>6}")
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = (r.sps / r.target_sps) if (r.sps and r.target_sps) else None
        result = "n/a" if r.passed is None else ("PASS" if r.passed else "FAIL")
        lines.append(
            f"{r.scenario:<15} {r.backend:<16} {r.num_envs:>5} {r.num_workers:>3} "
            f"{_fmt(r.sps, ',.0f'):>13} {_fmt(r.us_per_step, ',.1f'):>10} "
            f"{_fmt(r.us_per_handoff, '.1f'):>10} {r.obs_bytes:>5} {r.rss_mb:>7.0f} "
            f"{r.shared_bytes / 2**20:>7.1f} {_fmt(r.target_sps, 'd'):>6} "
            f"{_fmt(ratio, ',.0f'):>9} {result:>6}")
    lines.append("")
    lines += summary(rows)
    return "\n".join(lines)


def summary(rows: list[Row]) -> list[str]:
    """Same-run ratios: ours vs the Gymnasium baselines, and workers vs in-process."""
    out = []
    by = {(r.scenario, r.backend, r.num_envs, r.num_workers): r for r in rows}
    for name in dict.fromkeys(r.scenario for r in rows if r.backend == "sim"):
        big = max((r.num_envs for r in rows if r.scenario == name and r.backend == "sim"), default=0)
        inproc = by.get((name, "sim", big, 0))
        parts = []
        for key, label in (("gymnasium-sync", "SyncVectorEnv"), ("gymnasium-async", "AsyncVectorEnv")):
            base = next((r for r in rows if r.scenario == name and r.backend == key), None)
            if inproc and base and base.sps:
                parts.append(f"{inproc.sps / base.sps:,.0f}× {label}")
        w1, w2 = by.get((name, "sim", big, 1)), by.get((name, "sim", big, 2))
        if w1 and inproc:
            parts.append(f"1 worker = {w1.sps / inproc.sps:.2f}× in-process")
        if w1 and w2:
            parts.append(f"2 workers = {w2.sps / w1.sps:.2f}× 1 worker")
        if parts:
            out.append(f"{name} @ {big} envs: " + ", ".join(parts))
    if any(r.backend == "factorio-emu" for r in rows):
        out.append("factorio-emu: backend='factorio' on factorio-fast-emulator (the mod in Lua 5.2 "
                   "over the simulator, in Python), not on Factorio; a real server's speed is its "
                   "own (set FACTORIO_PATH to measure one)")
    return out


def write_json(rows: list[Row], path: str, machine: dict | None = None) -> None:
    with open(path, "w") as f:
        json.dump({"machine": machine or machine_info(), "rows": [asdict(r) for r in rows]}, f,
                  indent=1)


def write_plot(rows: list[Row], path: str) -> bool:
    """PNG: SPS against num_envs (in-process) and worker counts, per scenario, log scale."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = list(dict.fromkeys(r.scenario for r in rows if r.backend == "sim"))
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        mine = [r for r in rows if r.scenario == name]
        inproc = sorted((r for r in mine if r.backend == "sim" and r.num_workers == 0),
                        key=lambda r: r.num_envs)
        ax.plot([r.num_envs for r in inproc], [r.sps for r in inproc], "o-", label="sim, in-process")
        for r in mine:
            if r.backend == "sim" and r.num_workers:
                ax.plot([r.num_envs], [r.sps], "s", label=f"sim, {r.num_workers} worker(s)")
            elif r.backend.startswith("gymnasium"):
                ax.plot([r.num_envs], [r.sps], "x", ms=9, label=r.backend)
        target = mine[0].target_sps if mine else None
        if target:
            ax.axhline(target, color="red", ls="--", lw=1, label=f"seed target {target}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("num_envs")
        ax.set_ylabel("env steps / s")
        ax.set_title(name)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
