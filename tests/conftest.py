import os
import pathlib

import pytest
from hypothesis import settings

DATA = pathlib.Path(__file__).parent / "data"

settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def data_dir():
    return DATA


def shm_names():
    """Names currently present in /dev/shm that belong to factorio_fast."""
    try:
        return {n for n in os.listdir("/dev/shm") if n.startswith("ff_")}
    except FileNotFoundError:
        return set()


def _ours_or_orphaned(name: str) -> bool:
    """A new segment is the current test's if this process or a (now dead) process created it;
    segments of other live processes (tests or benchmarks running alongside) are not ours."""
    from factorio_fast._bridge import peek_segment
    from factorio_fast.errors import FactorioFastError

    try:
        pid = peek_segment(name)["owner_pid"]
    except FactorioFastError:
        return True  # no valid header: a segment someone failed to set up
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@pytest.fixture(autouse=True)
def no_shm_leaks():
    """Every test must leave nothing of factorio_fast in /dev/shm."""
    before = shm_names()
    yield
    leaked = {n for n in shm_names() - before if _ours_or_orphaned(n)}
    for n in leaked:  # clean up so one failure does not cascade, then fail
        try:
            os.unlink(os.path.join("/dev/shm", n))
        except FileNotFoundError:
            pass
    assert not leaked, f"segments left in /dev/shm: {sorted(leaked)}"


@pytest.fixture(scope="session")
def repo_root():
    return pathlib.Path(__file__).resolve().parents[1]
