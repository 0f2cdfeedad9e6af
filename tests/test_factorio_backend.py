"""``backend="factorio"`` over the wire: launcher -> server process -> RCON -> mod -> back.

These run against ``FACTORIO_PATH`` (a real headless server: ``FACTORIO_PATH=/path/to/factorio
pytest -m factorio``) and, when it is unset, against the project's emulator started as a server
executable, so CI never skips them. Parity: the same seeds and actions give byte-identical
observations, rewards and flags through ``backend="sim"`` and ``backend="factorio"``, with 1 and
4 servers, 1 and 16 envs per server, sync and async, in process and with workers (short here;
10,000 actions under ``-m slow``).
"""

import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import factorio_fast
from factorio_fast.errors import (
    FactorioServerError,
    InvalidArgumentError,
    StateError,
    WaitTimeoutError,
)

from conftest import wait_gone

pytestmark = pytest.mark.factorio


@pytest.fixture(scope="module")
def factorio_path():
    """FACTORIO_PATH, else the emulator as an executable running this checkout's package."""
    env = os.environ.get("FACTORIO_PATH")
    if env:
        yield env
        return
    d = tempfile.mkdtemp(prefix="ff_test_emu_")
    try:
        try:
            from factorio_fast.emulator.server import write_launcher
            exe = write_launcher(d)
        except ImportError:
            found = shutil.which("factorio-fast-emulator") or \
                Path(sys.executable).with_name("factorio-fast-emulator")
            if not Path(found).is_file():
                pytest.fail("no server: set FACTORIO_PATH or install factorio-fast-emulator")
            exe = found
        yield str(exe)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _server_dirs():
    return set(Path(tempfile.gettempdir()).glob(f"factorio_fast_srv_{os.getpid()}_*"))


@pytest.fixture
def no_leftovers():
    before = _server_dirs()
    yield
    deadline = time.monotonic() + 10
    while _server_dirs() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _server_dirs() - before == set()


def _actions(env, rng, n):
    space = getattr(env, "single_action_space", None) or env.action_space
    if hasattr(space, "nvec"):
        return np.stack([rng.integers(0, v, n) for v in space.nvec], 1)
    return rng.integers(0, space.n, n)


def _same(a, b, where):
    for k, (x, y) in enumerate(zip(a, b)):
        assert np.array_equal(x, y), f"{where}: result {k} differs"


def run_parity(name, num_envs, steps, factorio_path, seed=0, **kw):
    """Step ``sim`` and ``factorio`` with the same seeds and random actions; compare all."""
    kw_f = dict(kw)
    kw_f.setdefault("factorio_path", factorio_path)
    common = {k: kw.pop(k) for k in ("autoreset_mode", "batch_size", "infos", "copy")
              if k in kw}
    for k in common:
        kw_f.pop(k, None)
    for k in ("envs_per_server", "num_servers", "factorio_path", "server_timeout",
              "num_workers", "start_method", "udp"):
        kw.pop(k, None)
    ref = factorio_fast.make_vec(name, num_envs, **common, **kw)
    env = factorio_fast.make_vec(name, num_envs, backend="factorio", **common, **kw_f)
    rng = np.random.default_rng(seed)
    episodes = 0
    try:
        if env.is_async:  # in process: both return the same groups in the same order
            env.async_reset(seed=seed)
            ref.async_reset(seed=seed)
            for i in range(steps):
                got, want = env.recv(), ref.recv()
                ids = got[4]["env_id"]
                assert np.array_equal(ids, want[4]["env_id"]), f"step {i}: env ids"
                _same(got[:4], want[:4], f"step {i}")
                a = _actions(env, rng, len(ids))
                env.send(a, ids)
                ref.send(a, ids)
                episodes += int((got[2] | got[3]).sum())
        else:
            (o1, i1), (o2, i2) = env.reset(seed=seed), ref.reset(seed=seed)
            assert np.array_equal(o1, o2) and i1.keys() == i2.keys()
            for key in i2:
                assert np.array_equal(i1[key], i2[key]), f"reset: {key}"
            for i in range(steps):
                a = _actions(env, rng, num_envs)
                got, want = env.step(a), ref.step(a)
                _same(got[:4], want[:4], f"step {i}")
                for key in ("final_obs", "_final_obs", "position", "tick", "inventory"):
                    if key in want[4]:
                        assert np.array_equal(got[4][key], want[4][key]), f"step {i}: {key}"
                episodes += int((got[2] | got[3]).sum())
    finally:
        env.close()
        ref.close()
    return episodes


def test_parity_four_servers_one_env_each(factorio_path, no_leftovers):
    run_parity("movement_micro", 4, 60, factorio_path, envs_per_server=1,
               infos=("position", "tick"))


def test_parity_sixteen_envs_on_one_server_same_step(factorio_path, no_leftovers):
    run_parity("mining_micro", 16, 40, factorio_path, envs_per_server=16,
               autoreset_mode="same_step", infos=("inventory", "tick"))


def test_parity_async_groups(factorio_path, no_leftovers):
    run_parity("building_micro", 4, 30, factorio_path, batch_size=2, envs_per_server=2, seed=3)


def test_parity_with_worker_processes(factorio_path, no_leftovers):
    run_parity("movement_micro", 4, 30, factorio_path, num_workers=2, start_method="fork",
               envs_per_server=2, seed=5, autoreset_mode="same_step")


def _udp_capable(factorio_path):
    from factorio_fast.launcher import UDP_VERSION, find_executable, read_version

    return read_version(find_executable(factorio_path)) >= UDP_VERSION


def test_parity_over_udp(factorio_path, no_leftovers):
    """The mod pushes the states by Lua UDP: one RCON request a step, the same bytes."""
    if not _udp_capable(factorio_path):
        pytest.fail("FACTORIO_PATH is older than 2.0.59: no Lua UDP to test")
    ref = factorio_fast.make_vec("mining_micro", 8, autoreset_mode="same_step")
    env = factorio_fast.make_vec("mining_micro", 8, backend="factorio", udp=True,
                                 envs_per_server=4, factorio_path=factorio_path,
                                 autoreset_mode="same_step")
    try:
        _same(env.reset(seed=4)[:1], ref.reset(seed=4)[:1], "reset")
        st = env._sims[0]
        before = st.requests
        rng = np.random.default_rng(4)
        for i in range(40):
            a = _actions(env, rng, 8)
            got, want = env.step(a), ref.step(a)
            _same(got[:4], want[:4], f"step {i}")
            assert np.array_equal(got[4]["final_obs"], want[4]["final_obs"])
        assert [m.pushes for m in st.mods] == [40, 40] and st.push_timeouts == 0
        # one request (ACTIONS) per server and step, plus the WORLD requests of autoresets
        resets = st.requests - before - 2 * 40
        assert 0 <= resets <= 8
        # datagrams lost: each step falls back to polling over RCON, bytes unchanged
        st.udp_timeout = 0.05
        st._read_datagrams = lambda: []
        for i in range(5):
            a = _actions(env, rng, 8)
            _same(env.step(a)[:4], ref.step(a)[:4], f"lossy step {i}")
        assert st.push_timeouts == 10
    finally:
        env.close()
        ref.close()


def test_single_env_make(factorio_path, no_leftovers):
    ref = factorio_fast.make("mining_micro")
    env = factorio_fast.make("mining_micro", backend="factorio", factorio_path=factorio_path)
    try:
        o1, i1 = env.reset(seed=11)
        o2, i2 = ref.reset(seed=11)
        assert np.array_equal(o1, o2) and i1 == i2
        rng = np.random.default_rng(1)
        for _ in range(20):
            a = _actions(env, rng, 1)[0]
            got, want = env.step(a), ref.step(a)
            assert np.array_equal(got[0], want[0]) and got[1:] == want[1:]
            if got[2] or got[3]:
                env.reset()
                ref.reset()
        with pytest.raises(StateError, match="render"):
            env.unwrapped._sim.render(0)
    finally:
        env.close()
        ref.close()


def test_server_killed_mid_episode(factorio_path, no_leftovers):
    env = factorio_fast.make_vec("movement_micro", 2, backend="factorio",
                                 factorio_path=factorio_path, envs_per_server=1,
                                 server_timeout=20)
    try:
        env.reset(seed=1)
        env.step(np.zeros(2, np.int64))
        pids = [s.proc.pid for s in env._sims[0].servers]
        os.kill(pids[1], signal.SIGKILL)
        with pytest.raises(FactorioServerError, match=r"died with signal 9 \(SIGKILL\)"):
            env.step(np.zeros(2, np.int64))
        with pytest.raises(StateError, match="failed earlier"):
            env.step(np.zeros(2, np.int64))
    finally:
        env.close()
    assert wait_gone(pids, 5) == []


def test_server_not_answering_times_out(factorio_path, no_leftovers):
    env = factorio_fast.make_vec("movement_micro", 1, backend="factorio",
                                 factorio_path=factorio_path, server_timeout=1.5)
    srv = None
    try:
        env.reset(seed=1)
        srv = env._sims[0].servers[0]
        os.kill(srv.proc.pid, signal.SIGSTOP)
        t = time.monotonic()
        with pytest.raises(WaitTimeoutError):
            env.step(np.zeros(1, np.int64))
        assert time.monotonic() - t < 5
    finally:
        if srv is not None and srv.running:
            os.kill(srv.proc.pid, signal.SIGCONT)
        pids = [s.proc.pid for s in env._sims[0].servers] if env._sims else []
        env.close()
    assert wait_gone(pids, 5) == []


def test_errors_at_make_time(factorio_path, tmp_path):
    with pytest.raises(FactorioServerError, match="FACTORIO_PATH|factorio_path"):
        factorio_fast.make_vec("movement_micro", 2, backend="factorio",
                               factorio_path=str(tmp_path / "missing"))
    with pytest.raises(InvalidArgumentError, match="full_game has no obstacles or goal"):
        factorio_fast.make("full_game", backend="factorio", factorio_path=factorio_path, goal=3)
    with pytest.raises(InvalidArgumentError, match="envs_per_server"):
        factorio_fast.make_vec("movement_micro", 2, backend="factorio",
                               factorio_path=factorio_path, envs_per_server=0)
    from factorio_fast.backends import BatchStepper
    from factorio_fast.factorio_backend import FactorioStepper

    st = FactorioStepper("building_micro", 5, envs_per_server=2, factorio_path=factorio_path)
    try:  # no server starts before the first reset; the spaces are the simulator's
        assert isinstance(st, BatchStepper) and st.farm is None
        assert st.layout() == [(0, 2), (2, 4), (4, 5)]
        sim = factorio_fast.make_vec("building_micro", 1)
        assert st.single_observation_space == sim.single_observation_space
        assert st.single_action_space == sim.single_action_space
        sim.close()
        with pytest.raises(InvalidArgumentError, match="do not fit"):
            FactorioStepper("movement_micro", 5, envs_per_server=2, num_servers=2,
                            factorio_path=factorio_path).layout()
    finally:
        st.close()


SLOW_CASES = [
    ("movement_micro", 4, dict(envs_per_server=1)),
    ("mining_micro", 16, dict(envs_per_server=16, autoreset_mode="same_step")),
    ("building_micro", 64, dict(envs_per_server=16)),
    ("movement_micro", 16, dict(envs_per_server=4, batch_size=8)),
    ("building_micro", 4, dict(envs_per_server=1, autoreset_mode="same_step", batch_size=1)),
    ("movement_micro", 16, dict(envs_per_server=4, udp=True)),
    ("building_micro", 16, dict(envs_per_server=16, udp=True, autoreset_mode="same_step")),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, n, kw", SLOW_CASES)
def test_parity_ten_thousand_actions(factorio_path, no_leftovers, name, n, kw):
    """10,000 random actions per case (steps x envs), sync and async, 1/4 servers, 1/16 envs."""
    from factorio_fast._sim import scenario_info

    # at least 10,000 actions, and past one episode so every env autoresets at least once
    steps = max(10_000 // n, scenario_info(name)["episode_steps"] + 20)
    episodes = run_parity(name, n, steps, factorio_path, seed=7, **kw)
    assert episodes > 0


def test_launcher_against_the_server(factorio_path, no_leftovers, monkeypatch, tmp_path):
    """game_speed reaches the game; the version gate for --enable-lua-udp; the console."""
    from factorio_fast.launcher import UDP_VERSION, FactorioServer

    with FactorioServer(factorio_path, game_speed=3) as srv:
        assert srv.command("/silent-command rcon.print(game.speed)").strip() in ("3", "3.0")
        assert srv.password.reveal() not in srv._read_log()
    if not os.environ.get("FACTORIO_PATH"):  # the emulator can claim an older version
        from factorio_fast.emulator.server import write_launcher

        monkeypatch.setenv("FACTORIO_FAST_EMULATOR_VERSION", "2.0.45")
        old = write_launcher(tmp_path)  # another file: versions are remembered per file
        with pytest.raises(FactorioServerError, match="udp=True needs Factorio 2.0.59"):
            FactorioServer(old, udp=True)
        assert UDP_VERSION == (2, 0, 59)
