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


@pytest.fixture(scope="session")
def repo_root():
    return pathlib.Path(__file__).resolve().parents[1]
