"""The shaped rewards of mining_micro and building_micro (csrc/sim/ff_shaping.h): identical in C
and in the Python reference (factorio_fast/_reference_shaping.py), potential-based (what they
add is phi(s') - phi(s) of the observations), and reward="sparse" is the task reward alone."""

from __future__ import annotations

import numpy as np
import pytest
from test_sim_reference import Pair, random_actions, run_scripted

from factorio_fast import _reference_shaping as shaping
from factorio_fast._sim import BatchSim
from factorio_fast.errors import ArgumentTypeError, InvalidArgumentError
from factorio_fast.vector import make_vec

CASES = [("mining_micro", 4, 400, {"goal": 3}), ("building_micro", 3, 320, {"obstacles": 0, "goal": 2})]


@pytest.mark.parametrize("scenario,n,steps,kw", CASES)
def test_shaping_identical_in_c_and_reference(scenario, n, steps, kw):
    """Scripted play (mostly the task's solution, 5 % random actions): every reward equal to the
    bit in C and in the reference, shaped and sparse, and the shaping is not zero."""
    shaped = Pair(scenario, n, reward="shaped", **kw)
    shaped.reset(np.arange(n) + 100)
    run_scripted(shaped, steps, np.random.default_rng(5), eps=0.05)   # compares every step
    sparse = Pair(scenario, n, reward="sparse", **kw)
    sparse.reset(np.arange(n) + 100)
    run_scripted(sparse, steps, np.random.default_rng(5), eps=0.05)
    assert shaped.reward_sum != pytest.approx(sparse.reward_sum)
    assert sparse.reward_sum > n   # the scripts succeeded


@pytest.mark.parametrize("scenario", ["mining_micro", "building_micro"])
@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_shaping_is_the_potential_difference_of_the_observations(scenario, mode):
    """Random play: shaped - sparse reward of each step is (phi(obs') - phi(obs)) / scale, with
    the episode's last observation (final_obs in same_step mode) and reset steps adding 0."""
    n, steps = 6, 330
    kw = dict(obstacles=0) if scenario == "building_micro" else {}
    a = BatchSim(scenario, n, **kw)
    b = BatchSim(scenario, n, reward="sparse", **kw)
    ob = a.obs_shape[0]
    bufs = [dict(obs=np.zeros((n, ob), np.uint8), rewards=np.zeros(n, np.float32),
                 terminated=np.zeros(n, bool), truncated=np.zeros(n, bool),
                 final_obs=np.zeros((n, ob), np.uint8), final_mask=np.zeros(n, bool)) for _ in (a, b)]
    seeds = np.arange(n, dtype=np.uint64) + 7
    a.reset(seeds, obs=bufs[0]["obs"])
    b.reset(seeds, obs=bufs[1]["obs"])
    phi = [shaping.phi(scenario, o) for o in bufs[0]["obs"]]
    rng = np.random.default_rng(1)
    nonzero = 0
    reset_next = np.zeros(n, bool)
    for _ in range(steps):
        act = random_actions(rng, a.action_nvec, n).astype(np.int64)
        for sim, buf in zip((a, b), bufs):
            sim.step(act, autoreset=mode, **buf)
        np.testing.assert_array_equal(bufs[0]["obs"], bufs[1]["obs"])
        sa, sb = bufs[0], bufs[1]
        for i in range(n):
            if reset_next[i]:            # next_step: the reset step gives 0, a new episode
                assert sa["rewards"][i] == 0.0 and sb["rewards"][i] == 0.0
                phi[i] = shaping.phi(scenario, sa["obs"][i])
                continue
            done = sa["terminated"][i] or sa["truncated"][i]
            last = sa["final_obs"][i] if mode == "same_step" and done else sa["obs"][i]
            p1 = shaping.phi(scenario, last)
            want = np.float32(sb["rewards"][i] + shaping.shaping_reward(scenario, phi[i], p1))
            assert sa["rewards"][i] == want
            nonzero += p1 != phi[i]
            phi[i] = shaping.phi(scenario, sa["obs"][i]) if mode == "same_step" and done else p1
        reset_next = (sa["terminated"] | sa["truncated"]) if mode == "next_step" else reset_next
    assert nonzero > steps  # the potential moved on many steps


def test_shaped_return_telescopes():
    """Over an episode the shaping adds phi(last) - phi(first): no loop of states earns anything."""
    env = make_vec("mining_micro", 4, infos=("episode",))
    sparse = make_vec("mining_micro", 4, infos=("episode",), reward="sparse")
    o, _ = env.reset(seed=3)
    sparse.reset(seed=3)
    first = [shaping.phi("mining_micro", x) for x in o]
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = rng.integers(0, 34, 4)
        o, r, te, tr, info = env.step(a)
        _, rs, _, _, info_s = sparse.step(a)
    assert (tr | te).all()   # every env ended on the last step
    for i in range(4):
        added = info["episode"]["r"][i] - info_s["episode"]["r"][i]
        want = (shaping.phi("mining_micro", o[i]) - first[i]) / 7680.0
        assert added == pytest.approx(want, abs=1e-4)
    env.close()
    sparse.close()


def test_reward_argument_is_checked():
    with pytest.raises(InvalidArgumentError):
        BatchSim("mining_micro", 1, reward="dense")
    with pytest.raises(InvalidArgumentError):
        make_vec("building_micro", 1, reward=1)
    with pytest.raises(ArgumentTypeError):       # movement_micro's reward is dense already
        BatchSim("movement_micro", 1, reward="sparse")


def test_building_phi_terms_by_hand():
    """building_micro's phi (the reference; the C equals it by the tests above) on hand-made
    observations: each layout term and the approach switching to the drill's drop tile."""
    o = np.zeros(512, np.uint8)
    o[356:360] = np.frombuffer(np.array([60 * 256 + 128, 60 * 256 + 128], "<u2").tobytes(), np.uint8)

    def inv(item, n):
        o[324 + 2 * item:326 + 2 * item] = np.frombuffer(np.array([n], "<u2").tobytes(), np.uint8)

    def slot(k, ent, dx, dy, fuel=0):
        o[372 + 8 * k:380 + 8 * k] = [ent, dx & 255, dy & 255, fuel, 0, 0, 0, 0]

    phi = lambda: shaping.building_phi(bytes(o))  # noqa: E731
    assert phi() == 0                                   # no ore anywhere: no gap
    inv(7, 1)
    assert phi() == 0                                   # a furnace without a drill: nothing
    inv(8, 1)
    assert phi() == 256 * (50 + 25)                     # a drill held, and a second furnace
    inv(8, 0)
    slot(0, 6, 3, 0)                                    # the drill placed 3 tiles east
    assert phi() == 256 * (50 + 25) - 5 * 0             # drill + second furnace; gap to ore 0 (none)
    o[367] = 1                                          # it was placed on ore: gap to its drop tile
    d = 3 * 256 + 256                                   # drop tile (3, -1): L1 from the tile centre
    assert phi() == 256 * 75 - 5 * (d - 512)
    inv(7, 0)
    slot(1, 5, 4, -2)                                   # placed one tile too far east: 40 of 50
    assert phi() == 256 * (50 + 25 + 40) - 5 * (d - 512)
    slot(1, 5, 7, 3)                                    # 4 tiles east and 4 south of the drop tile: 0
    assert phi() == 256 * (50 + 25) - 5 * (d - 512)
    slot(1, 5, 3, -2)                                   # the furnace over the drop tile
    assert phi() == 256 * (50 + 25 + 50) - 5 * (d - 512)
    slot(1, 5, 4, -2, fuel=5)                           # fuel in a furnace off the drop tile: nothing
    assert phi() == 256 * (50 + 25 + 40) - 5 * (d - 512)
    slot(1, 5, 2, -2, fuel=5)                           # the other spot covering it, fuelled
    slot(0, 6, 3, 0, fuel=5)
    assert phi() == 256 * (50 + 30 + 25 + 50 + 30) - 5 * (d - 512)
    inv(9, 4)                                           # 4 belts and 5 gears held, a belt placed
    inv(6, 5)
    slot(2, 7, -1, -1)
    assert phi() == 256 * (50 + 30 + 25 + 50 + 30 - 10 * (4 + 2 + 1)) - 5 * (d - 512)
    inv(9, 0)
    inv(6, 0)
    slot(2, 0, 0, 0)
    slot(0, 0, 0, 0)                                    # the drill picked up: a held drill, no layout
    inv(8, 1)
    assert phi() == 256 * (50 + 25) - 5 * 0
