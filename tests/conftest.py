import os
import pathlib
import time

import pytest
from hypothesis import settings

DATA = pathlib.Path(__file__).parent / "data"

settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def data_dir():
    return DATA


def pid_alive(pid: int) -> bool:
    """The process runs (a zombie, which still answers kill(0), does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids, timeout: float) -> list[int]:
    """Wait until none of ``pids`` runs; return those still running after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if pid_alive(p)]
        if not left:
            return []
        time.sleep(0.02)
    return [p for p in pids if pid_alive(p)]


def shm_names():
    """Names currently present in /dev/shm that belong to factorio_fast."""
    try:
        return {n for n in os.listdir("/dev/shm") if n.startswith("ff_")}
    except FileNotFoundError:
        return set()


def _ours(name: str) -> bool:
    """A new entry is the current test's if this process made it: its name carries our pid (the
    default ``ff_<pid>_...``) or its header names us as owner. Entries of other processes
    (suites or benchmarks running alongside, trainers a test ran and checks itself) are not,
    and nothing that is not a regular file is ever opened (a FIFO would block)."""
    from factorio_fast.shm import list_segments

    if name.startswith(f"ff_{os.getpid()}_"):
        return True
    for seg in list_segments():
        if seg.name == name:
            return not seg.foreign and seg.owner_pid == os.getpid()
    return False


def own_shm_names():
    """The entries of /dev/shm this process made (see _ours)."""
    return {n for n in shm_names() if _ours(n)}


@pytest.fixture(autouse=True)
def no_shm_leaks():
    """Every test must leave nothing of factorio_fast in /dev/shm."""
    before = shm_names()
    yield
    leaked = {n for n in shm_names() - before if _ours(n)}
    for n in leaked:  # clean up so one failure does not cascade, then fail
        try:
            os.unlink(os.path.join("/dev/shm", n))
        except FileNotFoundError:
            pass
    assert not leaked, f"segments left in /dev/shm: {sorted(leaked)}"


@pytest.fixture(scope="session")
def repo_root():
    return pathlib.Path(__file__).resolve().parents[1]
