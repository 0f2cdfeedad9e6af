"""The C simulator against its pure-Python oracle (factorio_fast._reference_sim).

For the same seeds and actions, every observation byte, reward and flag must be identical, step
after step, through autoresets, obstacles and the interesting parts of each task (mined ores,
crafts, a drill feeding a furnace). Actions come from uniform random policies and from scripted
policies with random noise (the scripts read the reference's state, which equals the C state as
long as the test is passing).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factorio_fast import _reference_sim as ref
from factorio_fast import codec
from factorio_fast._sim import RECIPES, WALK_DIAGONAL, WALK_STRAIGHT, BatchSim, World

SCENARIOS = ("movement_micro", "mining_micro", "building_micro")


# ---------------------------------------------------------------------------------------------
# helpers


class Pair:
    """A C BatchSim and a RefBatch stepped together, compared after every call."""

    def __init__(self, scenario, n, **kw):
        self.sim = BatchSim(scenario, n, **kw)
        self.ref = ref.RefBatch(scenario, n, **kw)
        self.n = n
        ob = self.sim.obs_shape[0]
        self.obs = np.zeros((n, ob), np.uint8)
        self.rew = np.zeros(n, np.float32)
        self.term = np.zeros(n, bool)
        self.trunc = np.zeros(n, bool)
        self.final_obs = np.zeros((n, ob), np.uint8)
        self.final_mask = np.zeros(n, bool)
        self.steps = 0
        self.dones = 0
        self.reward_sum = 0.0

    def reset(self, seeds, env_ids=None):
        seeds = np.asarray(seeds, np.uint64)
        self.sim.reset(seeds, env_ids, obs=self.obs)
        got = self.ref.reset(seeds, env_ids)
        for i, o in got.items():
            assert bytes(self.obs[i]) == o, f"reset obs differs for env {i}"

    def step(self, actions, mode="next_step"):
        actions = np.asarray(actions, np.int64)
        self.sim.step(actions, obs=self.obs, rewards=self.rew, terminated=self.term,
                      truncated=self.trunc, autoreset=mode, final_obs=self.final_obs,
                      final_mask=self.final_mask)
        obs, rew, term, trunc, fobs, fmask = self.ref.step(actions, mode)
        for i in range(self.n):
            diff = np.flatnonzero(self.obs[i] != obs[i])
            assert diff.size == 0, (f"step {self.steps} env {i}: obs bytes {diff[:16].tolist()} "
                                    f"C {self.obs[i][diff[:8]]} ref {obs[i][diff[:8]]}")
        np.testing.assert_array_equal(self.rew, rew, err_msg=f"rewards at step {self.steps}")
        np.testing.assert_array_equal(self.term, term, err_msg=f"terminated at {self.steps}")
        np.testing.assert_array_equal(self.trunc, trunc, err_msg=f"truncated at {self.steps}")
        if mode == "same_step":
            np.testing.assert_array_equal(self.final_mask, fmask)
            np.testing.assert_array_equal(self.final_obs[fmask], fobs[fmask])
        self.steps += 1
        self.dones += int(term.sum() + trunc.sum())
        self.reward_sum += float(rew.sum())


def random_actions(rng, nvec, n):
    a = rng.integers(0, nvec, size=(n, len(nvec)))
    return a[:, 0] if len(nvec) == 1 else a


def _toward(px, py, gx, gy):
    """Discrete walking code 1..8 (N, NE, ..., NW) from (px, py) toward (gx, gy) (1/256 tile)."""
    dx, dy = gx - px, gy - py
    sx = (dx > 48) - (dx < -48)
    sy = (dy > 48) - (dy < -48)
    table = {(0, -1): 1, (1, -1): 2, (1, 0): 3, (1, 1): 4, (0, 1): 5, (-1, 1): 6, (-1, 0): 7,
             (-1, -1): 8}
    return table.get((sx, sy), 0)


def movement_policy(env, rng):
    wd = env.world
    return _toward(wd.px, wd.py, env.target[0] * 256 + 128, env.target[1] * 256 + 128)


def mining_policy(env, rng):
    wd = env.world
    tx, ty = wd.px >> 8, wd.py >> 8
    best = None
    for r in wd.res:
        if r.type:
            d = abs(r.tx - tx) + abs(r.ty - ty)
            if best is None or d < best[0]:
                best = (d, r.tx, r.ty)
    if best is None:
        return 0
    _, ox, oy = best
    if abs(ox - tx) <= 2 and abs(oy - ty) <= 2 and wd.in_resource_reach(ox, oy):
        return 9 + (oy - ty + 2) * 5 + (ox - tx + 2)
    return _toward(wd.px, wd.py, ox * 256 + 128, oy * 256 + 128)


def building_policy(env, rng):
    """Craft a drill, put it on iron ore under a furnace, fuel both, then wait."""
    wd = env.world
    inv = wd.inv
    drills = [b for b in wd.bld if b.type == ref.DRILL_E]
    if not drills and inv[ref.DRILL] == 0:
        if wd.queue:
            return (0, 4, 4)
        if inv[ref.FURNACE] < 2 and inv[ref.STONE] >= 5:
            return (ref.CRAFT_FURNACE, 4, 4)
        if inv[ref.GEAR] < 3 and inv[ref.PLATE] >= 2:
            return (ref.CRAFT_GEAR, 4, 4)
        return (ref.CRAFT_DRILL, 4, 4)
    tx, ty = wd.px >> 8, wd.py >> 8
    if not drills:
        if not hasattr(env, "_site"):
            env._site = None
            for r in wd.res:
                if r.type == ref.IRON_ORE_E and all(
                        wd.in_map(x, y) and wd.free_tile(x, y) or wd.resg[y * wd.w + x]
                        for x in range(r.tx, r.tx + 4) for y in range(r.ty - 2, r.ty + 2)):
                    env._site = (r.tx, r.ty)
                    break
        if env._site is None:
            return (int(rng.integers(0, 9)), 4, 4)
        ox, oy = env._site
        stand = (ox + 3, oy)
        if (tx, ty) != stand:
            return (_toward(wd.px, wd.py, stand[0] * 256 + 128, stand[1] * 256 + 128), 4, 4)
        return (ref.PLACE_DRILL, ox - tx + 4, oy - ty + 4)
    d = drills[0]
    if (tx, ty) != (d.tx + 3, d.ty):
        return (_toward(wd.px, wd.py, (d.tx + 3) * 256 + 128, d.ty * 256 + 128), 4, 4)
    if wd.building_at(d.tx, d.ty - 1) < 0:
        return (ref.PLACE_FURNACE, d.tx - tx + 4, d.ty - 2 - ty + 4)
    if d.fuel == 0 and d.energy == 0 and inv[ref.COAL]:
        return (ref.INSERT_COAL, d.tx - tx + 4, d.ty - ty + 4)
    f = wd.bld[wd.building_at(d.tx, d.ty - 1)]
    if f.fuel == 0 and f.energy == 0 and inv[ref.COAL]:
        return (ref.INSERT_COAL, f.tx - tx + 4, f.ty - ty + 4)
    if f.out >= 2:
        return (ref.TAKE_PLATES, f.tx - tx + 4, f.ty - ty + 4)
    return (0, 4, 4)


POLICIES = {"movement_micro": movement_policy, "mining_micro": mining_policy,
            "building_micro": building_policy}


def run_scripted(pair, steps, rng, eps):
    nvec = pair.sim.action_nvec
    policy = POLICIES[pair.sim.scenario]
    for _ in range(steps):
        acts = []
        for i, env in enumerate(pair.ref.envs):
            if pair.ref.needs_reset[i] and hasattr(env, "_site"):
                del env._site
            if rng.random() < eps:
                acts.append(random_actions(rng, nvec, 1)[0])
            else:
                acts.append(policy(env, rng))
        pair.step(np.array(acts, np.int64))


# ---------------------------------------------------------------------------------------------
# tables


def test_reference_tables_equal_compiled_tables():
    # docs/factorio-facts.md §4.6 (blocking tiles), §4.2 (speed modifiers), §4.4 (stacks)
    assert tuple(t[0] for t in ref.TILES) == codec.TILE_NAMES
    assert tuple(t[1] for t in ref.TILES) == codec.TILE_BLOCKS
    assert tuple(t[2] for t in ref.TILES) == codec.TILE_SPEED
    assert tuple(e[0] for e in ref.ENTITIES) == codec.ENTITY_NAMES
    assert tuple(i[0] for i in ref.ITEMS) == codec.ITEM_NAMES
    assert tuple(i[1] for i in ref.ITEMS) == codec.ITEM_STACK
    assert ref.WALK_STRAIGHT == WALK_STRAIGHT
    assert ref.WALK_DIAGONAL == WALK_DIAGONAL
    for (inputs, out, count, ticks), c in zip(ref.RECIPES, RECIPES):
        assert c == {"inputs": inputs, "output": (out, count), "ticks": ticks}


def test_reference_scenarios_equal_c_table():
    from factorio_fast._sim import scenario_info
    for name, cfg in ref.SCENARIOS.items():
        info = scenario_info(name)
        assert info["map_size"] == (cfg["side"], cfg["side"])
        for k in ("obs_bytes", "episode_steps", "nvec", "ticks_per_step", "obstacles",
                  "max_obstacles", "goal"):
            assert info[k] == cfg[k], (name, k)


def test_splitmix64_golden():
    # splitmix64 from seed 0 (Steele, Lea, Flood 2014; the reference values of Vigna's C code)
    rng = ref.SplitMix64(0)
    assert [rng.next() for _ in range(3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


# ---------------------------------------------------------------------------------------------
# batch parity


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
@pytest.mark.parametrize("scenario,n,steps,kw", [
    ("movement_micro", 8, 400, {}),
    ("movement_micro", 8, 250, {"obstacles": 200}),
    ("mining_micro", 6, 350, {"obstacles": 600}),
    ("building_micro", 3, 520, {"obstacles": 2000}),
])
def test_random_actions_match_reference(scenario, n, steps, kw, mode):
    pair = Pair(scenario, n, **kw)
    pair.reset(np.arange(n) * 7919 + 11)
    rng = np.random.default_rng(n + steps)
    for _ in range(steps):
        pair.step(random_actions(rng, pair.sim.action_nvec, n), mode)
    assert pair.dones >= n   # every env went through at least one autoreset


@pytest.mark.parametrize("scenario,n,steps,kw", [
    ("movement_micro", 8, 300, {}),
    ("mining_micro", 4, 400, {"goal": 3}),
    ("building_micro", 3, 300, {"obstacles": 0, "goal": 2}),
])
def test_scripted_play_matches_reference(scenario, n, steps, kw):
    pair = Pair(scenario, n, **kw)
    pair.reset(np.arange(n) + 100)
    run_scripted(pair, steps, np.random.default_rng(5), eps=0.05)
    assert pair.reward_sum > n          # the scripts did succeed: ores, plates, targets
    assert pair.sim.ticks().min() > 0


def test_reset_of_selected_envs_matches_reference():
    pair = Pair("mining_micro", 5)
    pair.reset([1, 2, 3, 4, 5])
    rng = np.random.default_rng(0)
    for k in range(60):
        pair.step(random_actions(rng, pair.sim.action_nvec, 5))
        if k % 20 == 19:
            ids = np.array([4, 0])
            pair.reset([1000 + k, 2000 + k], ids)
    pair.reset([7, 8], np.array([3, 1]))
    for _ in range(20):
        pair.step(random_actions(rng, pair.sim.action_nvec, 5), "same_step")


def test_non_default_ticks_per_step_matches_reference():
    for scenario in SCENARIOS:
        pair = Pair(scenario, 2, ticks_per_step=3)
        pair.reset([5, 6])
        rng = np.random.default_rng(1)
        for _ in range(80):
            pair.step(random_actions(rng, pair.sim.action_nvec, 2))
        assert pair.sim.ticks().tolist() == [240, 240]


@pytest.mark.parametrize("tps", [1, 13, 37])
def test_movement_long_and_short_steps_in_a_crowded_map_match_reference(tps):
    # movement_micro's bit-map walk takes up to 8 ticks at once; steps that are not a multiple
    # of 8 ticks, on a map crowded with water and chests, exercise its stretch boundaries.
    pair = Pair("movement_micro", 6, ticks_per_step=tps, obstacles=150)
    pair.reset(np.arange(6) + 40)
    rng = np.random.default_rng(tps)
    for _ in range(150):
        pair.step(random_actions(rng, pair.sim.action_nvec, 6))
    assert pair.sim.ticks().min() > 0


# ---------------------------------------------------------------------------------------------
# tick-level parity of the World (collision, slide, belts, mining, machines)

OPS = st.one_of(
    st.tuples(st.just("walk"), st.integers(-1, 7), st.integers(1, 40)),
    st.tuples(st.just("mine"), st.integers(-3, 3), st.integers(-3, 3), st.integers(1, 130)),
    st.tuples(st.just("place"), st.sampled_from([7, 8, 9]), st.integers(-4, 4),
              st.integers(-4, 4), st.sampled_from([0, 2, 4, 6])),
    st.tuples(st.just("craft"), st.integers(0, 3), st.integers(1, 3)),
    st.tuples(st.just("insert"), st.sampled_from([1, 3]), st.integers(-4, 4),
              st.integers(-4, 4), st.integers(1, 10)),
    st.tuples(st.just("take"), st.integers(-4, 4), st.integers(-4, 4)),
)


class RefAPI:
    """RefWorld with the method names of _sim.World, for side-by-side driving."""

    def __init__(self, w, h):
        self.w = ref.RefWorld(w, h)

    def __getattr__(self, name):
        return getattr(self.w, name)

    @property
    def position(self):
        return (self.w.px, self.w.py)

    def set_position(self, x, y):
        self.w.px, self.w.py = x, y

    def set_walking(self, d):
        self.w.walk_dir = -1 if d is None else d

    def set_mining(self, target):
        if target is None:
            self.w.set_mining(False)
        else:
            self.w.set_mining(True, *target)

    def set_item(self, item, count):
        self.w.inv[item] = count

    def inventory(self):
        return np.array(self.w.inv, np.uint16)

    def buildings(self):
        return [{"entity": b.type, "x": b.tx, "y": b.ty, "direction": b.dir, "fuel": b.fuel,
                 "src": b.src, "out": b.out, "progress": b.progress, "produced": b.produced,
                 "energy": b.energy, "heat": b.heat, "work": b.work} for b in self.w.bld]

    @property
    def mining_progress(self):
        return self.w.mine_progress

    @property
    def craft_queue_length(self):
        return len(self.w.queue)

    @property
    def craft_progress(self):
        return self.w.craft_progress

    def ground_items(self):
        return [(item, x, y, n) for x, y, item, n in self.w.ground]

    @staticmethod
    def ground_position(x, y):
        from factorio_fast._reference_sim import RefWorld
        return RefWorld.ground_position(x, y)

    def pick_ground(self, x, y, check_reach=True):
        return self.w.pick_ground(x, y, check_reach)

    def remove_ground(self, x, y):
        i = self.w.ground_at(x, y)
        if i < 0:
            return False
        del self.w.ground[i]
        return True

    def add_ground(self, x, y, item, count=1):
        from factorio_fast.errors import StateError
        if not self.w.add_ground(x, y, item, count):
            raise StateError("ground stack refused")

    def craft_queue(self):
        return [(r, c, bool(p)) for r, c, p in self.w.queue]

    def craftable(self, recipe, count=0xFFFF):
        return self.w.craftable(recipe, count)

    def cancel_craft(self, index, count):
        from factorio_fast.errors import InvalidArgumentError
        try:
            return self.w.cancel_craft(index, count)
        except IndexError as e:
            raise InvalidArgumentError(str(e)) from None

    def cells(self):
        return np.array([[self.w.cell(x, y) for x in range(self.w.w)] for y in range(self.w.h)],
                        np.uint32)


def _try_add(world, entity, x, y):
    from factorio_fast.errors import FactorioFastError
    try:
        world.add_building(entity, x, y)
    except FactorioFastError:
        pass


def _state(world):
    return (world.position, world.inventory().tolist(), world.mining_progress)


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ops=st.lists(OPS, min_size=5, max_size=30))
def test_world_ticks_match_reference(seed, ops):
    rng = np.random.default_rng(seed)
    c, r = World(24, 24), RefAPI(24, 24)
    for wd in (c, r):
        wd.set_item(ref.FURNACE, 3)
        wd.set_item(ref.DRILL, 2)
        wd.set_item(ref.BELT_ITEM, 6)
        wd.set_item(ref.PLATE, 20)
        wd.set_item(ref.STONE, 10)
        wd.set_item(ref.COAL, 20)
        wd.set_item(ref.IRON_ORE, 10)
    for _ in range(int(rng.integers(0, 40))):      # water, shallow water, ore, chests, furnaces
        kind, x, y = int(rng.integers(0, 5)), int(rng.integers(0, 24)), int(rng.integers(0, 24))
        amount = int(rng.integers(1, 5))
        if 10 <= x <= 12 and 10 <= y <= 12:           # keep the start (12.5, 12.5) free
            continue
        for wd in (c, r):
            if kind == 0:
                wd.set_tile(x, y, ref.WATER)
            elif kind == 1:
                wd.set_tile(x, y, 9)                     # water-shallow: walkable, slower
            elif kind == 2 and not wd.cell(x, y) & 0xF000:
                wd.add_resource(x, y, ref.IRON_ORE_E, amount)
            elif kind == 3:
                wd.add_building(ref.CHEST_E, x, y) if wd is r else _try_add(wd, ref.CHEST_E, x, y)
            elif kind == 4:
                x2, y2 = min(x, 22), min(y, 22)
                if wd is r:
                    wd.add_building(ref.FURNACE_E, x2, y2)
                else:
                    _try_add(wd, ref.FURNACE_E, x2, y2)
    assert np.array_equal(c.cells(), r.cells())
    for op in ops:
        tx, ty = c.position[0] >> 8, c.position[1] >> 8
        for wd in (c, r):
            if op[0] == "walk":
                wd.set_walking(op[1])
                wd.set_mining(None)
                wd.tick(op[2])
            elif op[0] == "mine":
                wd.set_walking(None)
                wd.set_mining((tx + op[1], ty + op[2]))
                wd.tick(op[3])
            elif op[0] == "place":
                got = wd.place(op[1], tx + op[2], ty + op[3], op[4])
                if wd is c:
                    placed = got
                else:
                    assert got == placed
                wd.tick(1)
            elif op[0] == "craft":
                got = wd.craft(op[1], op[2])
                if wd is c:
                    crafted = got
                else:
                    assert got == crafted
                wd.tick(5)
            elif op[0] == "insert":
                got = wd.insert(tx + op[2], ty + op[3], op[1], op[4])
                if wd is c:
                    moved = got
                else:
                    assert got == moved
                wd.tick(3)
            else:
                got = wd.take(tx + op[1], ty + op[2])
                if wd is c:
                    took = got
                else:
                    assert got == took
                wd.tick(2)
        assert _state(c) == _state(r), op
    assert np.array_equal(c.cells(), r.cells())
    assert c.tick_count == r.tick_count
