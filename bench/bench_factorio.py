"""``backend="factorio"`` with tick-paced servers: how throughput grows with servers and envs.

Each emulated server (``factorio-fast-emulator``, or ``FACTORIO_PATH``) runs at ``game.speed =
SPEED``, i.e. at most 60 x SPEED ticks a second, as a real server at that speed does, so a step
of ``ticks_per_step`` ticks takes a fixed time whatever our 2 CPUs do, and the figures show what
the client makes of it:

* group ``factorio-servers``: 8 servers x 1 env driven from one process against 1 x 1 (goal:
  >= 6x the env steps per second: the client never waits on one server while another is ready);
* group ``factorio-envs``: 1 server x 16 envs against 1 x 1 (goal: >= 8x; one request carries
  every env's action, one reply every env's state);
* group ``factorio-udp``: 4 x 16 unpaced, the states polled over RCON against pushed by UDP.

``extra_info["env_steps"]`` env steps per call; env steps/s = env_steps / median.

    pytest bench/bench_factorio.py --benchmark-only --benchmark-columns=median,ops
"""

import tempfile

import numpy as np
import pytest

from factorio_fast.bench import factorio_executable
from factorio_fast.vector import make_vec

SPEED = 1.0    # movement_micro: 8 ticks a step = 133 ms a step
STEPS = 6


@pytest.fixture(scope="module")
def exe():
    with tempfile.TemporaryDirectory(prefix="ff_bench_emu_") as d:
        path, emulated = factorio_executable(d)
        if path is None:
            pytest.fail("no server: set FACTORIO_PATH or install the emulator")
        yield path, emulated


def _run(benchmark, exe, servers, per_server, speed=SPEED, udp=False):
    path, emulated = exe
    n = servers * per_server
    env = make_vec("movement_micro", n, backend="factorio", envs_per_server=per_server,
                   factorio_path=path, game_speed=speed, copy=False, udp=udp)
    try:
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        acts = [rng.integers(0, env.single_action_space.n, n) for _ in range(STEPS)]

        def run():
            for a in acts:
                env.step(a)
        benchmark.pedantic(run, rounds=3, warmup_rounds=1)
        benchmark.extra_info.update({"env_steps": n * STEPS, "emulated": emulated,
                                     "game_speed": speed, "udp": udp,
                                     "requests": env._sims[0].requests})
    finally:
        env.close()


@pytest.mark.parametrize("servers", [1, 8])
def test_servers(benchmark, exe, servers):
    benchmark.group = "factorio-servers"
    _run(benchmark, exe, servers, 1)


@pytest.mark.parametrize("per_server", [1, 16])
def test_envs_per_server(benchmark, exe, per_server):
    benchmark.group = "factorio-envs"
    _run(benchmark, exe, 1, per_server)


@pytest.mark.parametrize("udp", [False, True])
def test_rcon_or_udp(benchmark, exe, udp):
    """4 servers x 16 envs at the mod's own speed (unpaced): states polled over RCON or
    pushed by Lua UDP (one request a step instead of two or more)."""
    benchmark.group = "factorio-udp"
    _run(benchmark, exe, 4, 16, speed=None, udp=udp)
