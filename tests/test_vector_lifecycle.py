"""Process lifecycle of worker-backed vector envs, with a real trainer process.

The trainer runs in a child Python process so that it can be interrupted (SIGINT, as Ctrl-C
does) or killed outright (SIGKILL) while its workers are busy; afterwards no worker may be left
running and nothing of factorio_fast may be left in /dev/shm.
"""

import signal
import subprocess
import sys
import time

import pytest

from conftest import pid_alive, shm_names, wait_gone

TRAINER = r"""
import sys, numpy as np, factorio_fast
envs = factorio_fast.make_vec("movement_micro", 256, num_workers=2, timeout=10.0)
envs.reset(seed=0)
print(" ".join(str(p.pid) for p in envs._pool.procs), flush=True)
rng = np.random.default_rng(0)
try:
    for _ in range(10_000_000):
        envs.step(rng.integers(0, 9, 256))
except KeyboardInterrupt:
    envs.close()
    print("closed", flush=True)
    sys.exit(0)
"""


def _start_trainer():
    before = shm_names()
    proc = subprocess.Popen([sys.executable, "-c", TRAINER], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.strip():
        proc.kill()
        pytest.fail(f"trainer did not start: {proc.stderr.read()}")
    workers = [int(x) for x in line.split()]
    assert len(workers) == 2 and all(pid_alive(p) for p in workers)
    time.sleep(0.3)  # let it step for a while so the signal lands mid-step or mid-wait
    return proc, workers, before


def test_ctrl_c_in_trainer_closes_workers_and_leaves_nothing():
    proc, workers, before = _start_trainer()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "closed" in out
    assert wait_gone(workers, 10.0) == []
    assert shm_names() - before == set()


def test_killed_trainer_lets_workers_exit_and_leaves_nothing():
    proc, workers, before = _start_trainer()
    proc.kill()
    proc.communicate(timeout=30)
    # Workers poll the trainer's liveness while idle (poll <= 1 s) and then exit on their own.
    assert wait_gone(workers, 15.0) == []
    assert shm_names() - before == set()
