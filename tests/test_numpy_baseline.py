"""The numpy movement baseline (bench/_numpy_movement.py) moves exactly like the C core on open
grass maps, against the map edge (same positions tick by tick as factorio_fast._sim.World).
Its water obstacles follow the old whole-tile rule, not the C core's tile transitions and tile
slide (an approximation the baseline's docstring states), so they are left out here."""

import sys
from pathlib import Path

import numpy as np
import pytest

_sim = pytest.importorskip("factorio_fast._sim")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from _numpy_movement import SIDE, NumpyMovement  # noqa: E402

WATER = 11


@pytest.mark.parametrize("seed", range(6))
def test_numpy_baseline_positions_match_c_world(seed):
    rng = np.random.default_rng(seed)
    n = 48
    env = NumpyMovement(n, obstacles=0, seed=seed)
    assert not env.blocked.any()
    worlds = []
    for i in range(n):
        w = _sim.World(SIDE, SIDE)
        for ty, tx in zip(*np.nonzero(env.blocked[i])):
            w.set_tile(int(tx), int(ty), WATER)
        w.set_position(int(env.pos[i, 0]), int(env.pos[i, 1]))
        worlds.append(w)
    for _ in range(100):                    # long enough to press against the map edges
        codes = rng.integers(0, 9, n)
        for i, w in enumerate(worlds):
            w.set_walking(int(codes[i]) - 1)
        for _ in range(8):
            env.tick(codes.astype(np.int32))
            for w in worlds:
                w.tick()
            got = np.array([w.position for w in worlds])
            np.testing.assert_array_equal(env.pos, got)
    for w in worlds:
        w.close()


def test_numpy_baseline_step_contract():
    env = NumpyMovement(256, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(250):
        obs, rew, term, trunc = env.step(rng.integers(0, 9, 256))
        assert obs.shape == (256, 64) and obs.dtype == np.uint8
        assert rew.dtype == np.float32 and term.dtype == bool and trunc.dtype == bool
        assert not (term & trunc).any()
        assert ((env.pos >= 0) & (env.pos < SIDE * 256)).all()
        tx, ty = env.pos[:, 0] >> 8, env.pos[:, 1] >> 8
        assert not env.blocked[np.arange(256), ty, tx].any()   # never on water
