"""BatchSim API: determinism, observation spaces, bad actions, reset of selected envs, render."""

import numpy as np
import pytest

from factorio_fast._sim import BatchSim, World
from factorio_fast.errors import ClosedError, InvalidArgumentError

SCENARIOS = ("movement_micro", "mining_micro", "building_micro")
OBS_BYTES = {"movement_micro": 64, "mining_micro": 256, "building_micro": 512}  # the seed's budget


def buffers(sim):
    n = sim.num_envs
    return dict(obs=np.zeros((n,) + sim.obs_shape, np.uint8), rewards=np.zeros(n, np.float32),
                terminated=np.zeros(n, bool), truncated=np.zeros(n, bool))


def rollout(scenario, seeds, steps, action_seed=0, **kw):
    sim = BatchSim(scenario, len(seeds), **kw)
    b = buffers(sim)
    sim.reset(np.asarray(seeds, np.uint64), obs=b["obs"])
    rng = np.random.default_rng(action_seed)
    out = [b["obs"].copy()]
    for _ in range(steps):
        a = rng.integers(0, sim.action_nvec, (sim.num_envs, len(sim.action_nvec)))
        a = a[:, 0] if len(sim.action_nvec) == 1 else a
        sim.step(a, **b)
        out.append(np.concatenate([b["obs"], b["rewards"].view(np.uint8).reshape(-1, 4),
                                   b["terminated"][:, None], b["truncated"][:, None]], axis=1))
    return out, sim


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_obs_size_and_spaces(scenario):
    sim = BatchSim(scenario, 3)
    assert sim.obs_shape == (OBS_BYTES[scenario],)
    assert sim.single_observation_space.shape == sim.obs_shape
    assert sim.single_observation_space.dtype == np.uint8


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_seed_same_trajectory(scenario):
    a, _ = rollout(scenario, [3, 4], 150)
    b, _ = rollout(scenario, [3, 4], 150)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_different_seed_different_world(scenario):
    a, _ = rollout(scenario, [3, 4], 5)
    b, _ = rollout(scenario, [5, 6], 5)
    assert not np.array_equal(a[0][0], b[0][0])
    assert not np.array_equal(a[0][0], a[0][1])       # env seeds 3 and 4 differ as well


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_observations_inside_declared_space(scenario):
    out, sim = rollout(scenario, [1, 2, 3, 4], 200, obstacles=sim_obstacles(scenario))
    space = sim.single_observation_space
    for frame in out:
        for row in frame[:, :sim.obs_shape[0]]:
            assert space.contains(np.ascontiguousarray(row))


def sim_obstacles(scenario):
    return {"movement_micro": 100, "mining_micro": 300, "building_micro": 1000}[scenario]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sampled_actions_accepted(scenario):
    sim = BatchSim(scenario, 2)
    b = buffers(sim)
    sim.reset(np.array([0, 1]), obs=b["obs"])
    sim.single_action_space.seed(0)
    for _ in range(20):
        a = np.stack([np.asarray(sim.single_action_space.sample()) for _ in range(2)])
        sim.step(a, **b)


def test_truncation_at_episode_length_then_autoreset():
    sim = BatchSim("movement_micro", 1, obstacles=0)
    b = buffers(sim)
    sim.reset(np.array([9]), obs=b["obs"])
    flags = []
    for _ in range(100):                              # stand still: never reaches the target
        sim.step(np.zeros(1, np.int64), **b)
        flags.append((bool(b["terminated"][0]), bool(b["truncated"][0])))
    assert flags[-1] == (False, True) and not any(t for _, t in flags[:-1])
    sim.step(np.zeros(1, np.int64), **b)             # next_step autoreset: reward 0, flags 0
    assert b["rewards"][0] == 0 and not b["terminated"][0] and not b["truncated"][0]
    assert int.from_bytes(bytes(b["obs"][0, 42:44]), "little") == 0   # the step counter


def test_same_step_autoreset_reports_final_obs():
    sim = BatchSim("movement_micro", 2, obstacles=0)
    b = buffers(sim)
    fo = np.zeros_like(b["obs"])
    fm = np.zeros(2, bool)
    sim.reset(np.array([1, 2]), obs=b["obs"])
    for _ in range(100):
        sim.step(np.zeros(2, np.int64), **b, autoreset="same_step", final_obs=fo, final_mask=fm)
    assert fm.all() and b["truncated"].all()
    assert (fo[:, 42] | fo[:, 43].astype(int) << 8).tolist() == [100, 100]
    assert (b["obs"][:, 42:44] == 0).all()


def test_reset_selected_envs_only():
    sim = BatchSim("mining_micro", 3)
    b = buffers(sim)
    sim.reset(np.array([1, 2, 3]), obs=b["obs"])
    before = b["obs"].copy()
    sim.step(np.full(3, 3), **b)
    moved = b["obs"].copy()
    sim.reset(np.array([1]), np.array([0]), obs=b["obs"])
    assert np.array_equal(b["obs"][0], before[0])
    assert np.array_equal(b["obs"][1:], moved[1:])
    assert sim.ticks().tolist() == [0, 10, 10]


# ---- bad actions raise InvalidArgumentError and change nothing --------------------------------

BAD = [
    ("movement_micro", np.array([0, 9]), "valid range 0..8"),
    ("movement_micro", np.array([0, -1]), "valid range"),
    ("movement_micro", np.array([0.0, np.nan]), "NaN"),
    ("movement_micro", np.array([0.0, 1.0]), "integer"),
    ("movement_micro", np.array([[0], [1]]), "shape"),
    ("movement_micro", np.array([1, 2, 3]), "shape"),
    ("movement_micro", np.array([True, False]), "integer"),
    ("mining_micro", np.array([34, 0]), "valid range 0..33"),
    ("mining_micro", np.array([0, 2**63], np.uint64), "env 1"),
    ("building_micro", np.array([[0, 4, 4], [20, 4, 4]]), "valid range 0..19"),
    ("building_micro", np.array([[0, 4, 9], [0, 4, 4]]), "component 2"),
    ("building_micro", np.array([0, 4]), "shape"),
]


@pytest.mark.parametrize("scenario,actions,message", BAD)
def test_bad_actions_raise_and_do_not_mutate(scenario, actions, message):
    sim = BatchSim(scenario, 2)
    b = buffers(sim)
    sim.reset(np.array([1, 2]), obs=b["obs"])
    sim.step(np.zeros((2,) + sim.action_shape, np.int64), **b)
    snap = (sim.positions().copy(), sim.ticks().copy(), sim.inventories().copy(),
            sim.observe(0), sim.observe(1))
    outs = {k: v.copy() for k, v in b.items()}
    with pytest.raises(InvalidArgumentError, match=message):
        sim.step(actions, **b)
    assert np.array_equal(sim.positions(), snap[0]) and np.array_equal(sim.ticks(), snap[1])
    assert np.array_equal(sim.inventories(), snap[2])
    assert np.array_equal(sim.observe(0), snap[3]) and np.array_equal(sim.observe(1), snap[4])
    for k, v in b.items():
        assert np.array_equal(v, outs[k]), k


@pytest.mark.parametrize("kw,message", [
    (dict(obs=np.zeros((2, 63), np.uint8)), "obs must have shape"),
    (dict(obs=np.zeros((2, 64), np.int8)), "dtype"),
    (dict(rewards=np.zeros(2, np.float64)), "rewards must have dtype"),
    (dict(terminated=np.zeros(3, bool)), "terminated must have shape"),
    (dict(autoreset="sometimes"), "autoreset"),
    (dict(autoreset="same_step"), "final_obs"),
])
def test_bad_output_buffers_raise(kw, message):
    sim = BatchSim("movement_micro", 2)
    b = buffers(sim)
    sim.reset(np.array([1, 2]), obs=b["obs"])
    t0 = sim.ticks().copy()
    b.update(kw)
    with pytest.raises(InvalidArgumentError, match=message):
        sim.step(np.zeros(2, np.int64), **b)
    assert np.array_equal(sim.ticks(), t0)


@pytest.mark.parametrize("kw", [dict(ticks_per_step=0), dict(ticks_per_step=601),
                                dict(obstacles=-1), dict(obstacles=10**6), dict(goal=5),
                                dict(ticks_per_step=2.5)])
def test_bad_constructor_arguments(kw):
    with pytest.raises(InvalidArgumentError):
        BatchSim("movement_micro", 1, **kw)


def test_bad_scenario_and_num_envs():
    with pytest.raises(InvalidArgumentError, match="valid choices"):
        BatchSim("nope", 1)
    with pytest.raises(InvalidArgumentError):
        BatchSim("movement_micro", 0)


def test_bad_reset_arguments():
    sim = BatchSim("movement_micro", 2)
    obs = np.zeros((2, 64), np.uint8)
    with pytest.raises(InvalidArgumentError):
        sim.reset(np.array([1]), obs=obs)
    with pytest.raises(InvalidArgumentError):
        sim.reset(np.array([-1, 2]), obs=obs)
    with pytest.raises(InvalidArgumentError):
        sim.reset(np.array([1]), np.array([2]), obs=obs)


def test_closed_sim_raises():
    sim = BatchSim("movement_micro", 1)
    sim.close()
    sim.close()
    with pytest.raises(ClosedError):
        sim.positions()


# ---- render --------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario,side", [("movement_micro", 32), ("mining_micro", 64),
                                           ("building_micro", 128)])
def test_render_rgb_uint8(scenario, side):
    sim = BatchSim(scenario, 1)
    sim.reset(np.array([4]), obs=np.zeros((1,) + sim.obs_shape, np.uint8))
    img = sim.render(0)
    assert img.dtype == np.uint8 and img.shape == (side * 4, side * 4, 3)
    assert sim.render(0, scale=1).shape == (side, side, 3)
    x, y = sim.positions()[0]
    assert tuple(img[int(y / 256 * 4), int(x / 256 * 4)]) == (255, 255, 255)   # the character
    with pytest.raises(InvalidArgumentError):
        sim.render(0, scale=0)


def test_render_shows_water_and_ore():
    w = World(8, 8)
    w.set_tile(1, 1, 11)
    w.add_resource(5, 5, 1, 10)
    from factorio_fast.render import ENTITY_COLOURS, TILE_COLOURS, render_world
    img = render_world(w, scale=2)
    assert tuple(img[2, 2]) == tuple(TILE_COLOURS[11])
    assert tuple(img[10, 10]) == tuple(ENTITY_COLOURS[1])


def test_world_view_refuses_use_after_its_batchsim_is_closed():
    sim = BatchSim("movement_micro", 2)
    w = sim.world(1)
    assert w.width == 32
    sim.close()
    with pytest.raises(ClosedError):
        w.tick()
    with pytest.raises(ClosedError):
        w.cells()


def test_movement_sees_map_edits_made_through_a_world_view():
    # movement_micro keeps the map as bits beside each env; an edit through World must reach
    # both the observation and the walk (docs/factorio-facts.md §4.6: a band of water 3 wide
    # blocks the centre point as whole tiles; a 1-wide strip would be walkable).
    sim = BatchSim("movement_micro", 1, obstacles=0)
    b = buffers(sim)
    sim.reset(np.array([3], np.uint64), obs=b["obs"])
    w = sim.world(0)
    x, y = w.position
    tx = x >> 8
    wall = tx + 1 if tx + 1 < 32 else tx - 1
    east = 3 if wall > tx else 7  # action = direction + 1: E is 2, W is 6
    side = 1 if wall > tx else -1
    for row in range(32):
        for k in range(3):  # a water band beside the character (the map edge counts as water)
            if 0 <= wall + side * k < 32:
                w.set_tile(wall + side * k, row, 11)
    obs = sim.observe(0)
    bits = np.unpackbits(obs[:32].reshape(16, 2), axis=1, bitorder="little")
    assert bits[:, 8 + wall - tx].all() and not bits[8, 8]
    for _ in range(5):
        sim.step(np.array([east]), **b)
    nx, _ = w.position
    assert (nx >> 8) == tx  # stopped at the water, never on it
    assert w.tick_count == 5 * sim.ticks_per_step


def test_movement_observation_when_the_character_is_placed_off_the_map():
    # Bit c of row r is tile (tx - 8 + c, ty - 8 + r): with the character just west of the map,
    # the columns that fall inside it show open grass, the others blocked (as in the reference).
    sim = BatchSim("movement_micro", 1, obstacles=0)
    b = buffers(sim)
    sim.reset(np.array([5], np.uint64), obs=b["obs"])
    sim.world(0).set_position(-10, 16 * 256 + 128)  # tile (-1, 16)
    bits = np.unpackbits(sim.observe(0)[:32].reshape(16, 2), axis=1, bitorder="little")
    assert bits[8, :9].all() and not bits[8, 9:].any()
    assert bits.all(axis=1).tolist() == [False] * 16  # every row reaches into the map
