"""Fault injection: workers killed, terminated or stopped at random moments in sync and async
(EnvPool) mode, and the trainer killed at random moments while it starts its workers.

Each trial asserts the specific error within the timeout, no hang, no process left and nothing
left in /dev/shm. The quick versions run in every test run; ``-m slow`` runs >= 100 trials each.
"""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import factorio_fast
from factorio_fast.errors import WaitTimeoutError, WorkerError

from conftest import own_shm_names, shm_names, wait_gone

TIMEOUT = 1.0
SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP]


def _worker_fault_trial(rng: random.Random, mode: str, sig: int) -> str:
    """Step an env, hit one worker with ``sig`` after a random number of steps, and expect the
    specific error within the timeout. Returns the error class name."""
    before = own_shm_names()
    kw = dict(batch_size=2) if mode == "async" else {}
    # Start-up and the first reset get a generous wait (on a loaded machine a worker takes more
    # than a second to start); the fault itself must be reported within TIMEOUT.
    env = factorio_fast.make_vec("movement_micro", 4, num_workers=2, timeout=30.0, **kw)
    procs = list(env._pool.procs)
    victim = procs[rng.randrange(2)]
    a = np.zeros(2 if mode == "async" else 4, np.int64)
    err = None
    try:
        if mode == "async":
            env.async_reset(seed=rng.randrange(1000))
            obs, _, _, _, info = env.recv()  # the first group is back: the workers are running
            env.send(a, info["env_id"])
        else:
            env.reset(seed=rng.randrange(1000))
        env._pool.timeout = TIMEOUT
        kill_at = rng.randrange(0, 40)
        t_kill = None
        for i in range(100_000):
            if i == kill_at:
                os.kill(victim.pid, sig)
                t_kill = time.monotonic()
            if t_kill is not None and time.monotonic() - t_kill > 3 * TIMEOUT + 2:
                pytest.fail(f"no error {time.monotonic() - t_kill:.1f} s after {sig!r} ({mode})")
            try:
                if mode == "async":
                    _, _, _, _, info = env.recv()
                    env.send(a, info["env_id"])
                else:
                    env.step(a)
            except (WorkerError, WaitTimeoutError) as exc:
                err = exc
                break
        assert err is not None
        elapsed = time.monotonic() - t_kill
        assert elapsed < TIMEOUT + 2.0, f"{type(err).__name__} after {elapsed:.1f} s"
        if sig == signal.SIGSTOP:
            assert isinstance(err, WaitTimeoutError)
        else:
            assert isinstance(err, WorkerError) and err.pid == victim.pid
            assert err.exitcode == -sig
        with pytest.raises((WorkerError, WaitTimeoutError)):  # broken for good
            env.step(np.zeros(4, np.int64)) if mode == "sync" else env.recv()
    finally:
        if sig == signal.SIGSTOP:
            os.kill(victim.pid, signal.SIGCONT)
        env.close()
    assert wait_gone([p.pid for p in procs], 5.0) == []
    assert own_shm_names() <= before
    return type(err).__name__


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_faults_worker_signal_is_reported_within_timeout(mode, sig):
    _worker_fault_trial(random.Random(f"{mode}{sig}"), mode, sig)


@pytest.mark.slow
def test_faults_worker_random_signals_100_trials():
    rng = random.Random(1234)
    outcomes: dict = {}
    for _ in range(100):
        mode, sig = rng.choice(["sync", "async"]), rng.choice(SIGNALS)
        name = _worker_fault_trial(rng, mode, sig)
        key = (mode, sig.name, name)
        outcomes[key] = outcomes.get(key, 0) + 1
    print("worker fault outcomes:", outcomes)


TRAINER = r"""
import sys, factorio_fast
start = sys.argv[1]
print("go", flush=True)
env = factorio_fast.make_vec("mining_micro", 8, num_workers=2, start_method=start, timeout=1.0)
print("up " + " ".join(str(p.pid) for p in env._pool.procs), flush=True)
env.reset(seed=0)
sys.stdin.read()
"""


def _children_of(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                pass
    return out


def _trainer_kill_trial(rng: random.Random, start: str) -> str:
    """Start a trainer, SIGKILL it at a random moment of its start-up (or just after), then
    check that its workers exit and none of its segments is left in /dev/shm."""
    proc = subprocess.Popen([sys.executable, "-c", TRAINER, start], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "go"
        t0 = time.monotonic()
        delay = rng.uniform(0.0, 0.6 if start == "spawn" else 0.15)
        kids: set = set()
        while time.monotonic() - t0 < delay:  # keep track of the workers as they appear
            kids.update(_children_of(proc.pid))
            time.sleep(0.0005)
        kids.update(_children_of(proc.pid))
        proc.kill()
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
        proc.stdin.close()
    left = wait_gone(sorted(kids), 10.0)
    for pid in left:  # do not leave them to the next trial, but fail
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"workers {left} outlived their trainer"
    prefix = f"ff_{proc.pid}_"
    deadline = time.monotonic() + 10.0
    while any(n.startswith(prefix) for n in shm_names()) and time.monotonic() < deadline:
        time.sleep(0.02)
    leaked = [n for n in shm_names() if n.startswith(prefix)]
    for n in leaked:
        os.unlink(f"/dev/shm/{n}")
    assert leaked == [], f"segment(s) {leaked} left after killing the trainer {delay:.3f} s in"
    return "clean"


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_faults_trainer_killed_during_startup_leaks_nothing(start):
    rng = random.Random(start)
    for _ in range(3):
        _trainer_kill_trial(rng, start)


@pytest.mark.slow
def test_faults_trainer_killed_at_random_100_trials():
    rng = random.Random(99)
    for i in range(100):
        _trainer_kill_trial(rng, "fork" if i % 2 else "spawn")
