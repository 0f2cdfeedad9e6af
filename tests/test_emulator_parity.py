"""Parity in process: the mod running in the emulator gives byte-identical observations, rewards
and flags to BatchSim for the same seeds and actions (random actions with autoresets at 1 and 16
envs per server, and scripted play that reaches what random play does not: terminations, hand
mining to the goal, a resource mined out, a drill feeding a furnace, smelting, taking plates)."""

import numpy as np
import pytest

pytest.importorskip("lupa.lua52")

from factorio_fast._sim import BatchSim  # noqa: E402
from factorio_fast.emulator.batch import EmulatorLink, ModBatch  # noqa: E402
from factorio_fast.emulator.game import Emulator  # noqa: E402

SCENARIOS = ("movement_micro", "mining_micro", "building_micro")
DIRS = [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)]


class Pair:
    """The same envs in BatchSim and in the emulated mod, stepped with the same actions."""

    def __init__(self, scenario, n, seed=0, encoding="Z", **kw):
        self.sim = BatchSim(scenario, n, **kw)
        self.emu = Emulator()
        self.mod = ModBatch(scenario, n, EmulatorLink(self.emu), encoding=encoding, **kw)
        self.n = n
        ob = self.sim.obs_shape[0]
        self.o = [np.zeros((n, ob), np.uint8) for _ in range(2)]
        self.fo = [np.zeros((n, ob), np.uint8) for _ in range(2)]
        self.fm = [np.zeros(n, np.bool_) for _ in range(2)]
        self.r = [np.zeros(n, np.float32) for _ in range(2)]
        self.te = [np.zeros(n, np.bool_) for _ in range(2)]
        self.tr = [np.zeros(n, np.bool_) for _ in range(2)]
        seeds = np.arange(n, dtype=np.uint64) + np.uint64(1000 * seed + 1)
        self.sim.reset(seeds, obs=self.o[0])
        self.mod.reset(seeds, obs=self.o[1])
        self.check("reset")
        self.episodes = 0
        self.rewards = 0.0

    def check(self, where):
        for name, a, b in (("obs", *self.o), ("rewards", *self.r), ("terminated", *self.te),
                           ("truncated", *self.tr)):
            if not np.array_equal(a, b):
                bad = np.flatnonzero((a != b).reshape(self.n, -1).any(1))
                i = int(bad[0])
                detail = ""
                if name == "obs":
                    cols = np.flatnonzero(a[i] != b[i])
                    detail = f" bytes {cols[:12].tolist()}: sim {a[i][cols[:12]].tolist()} " \
                             f"mod {b[i][cols[:12]].tolist()}"
                raise AssertionError(f"{where}: {name} differ for env {i}{detail}")

    def step(self, actions, autoreset="next_step"):
        for k, target in enumerate((self.sim, self.mod)):
            target.step(actions, obs=self.o[k], rewards=self.r[k], terminated=self.te[k],
                        truncated=self.tr[k], autoreset=autoreset, final_obs=self.fo[k],
                        final_mask=self.fm[k])
        self.check(f"step {actions.tolist() if self.n == 1 else ''}")
        if autoreset == "same_step":
            assert np.array_equal(self.fm[0], self.fm[1])
            assert np.array_equal(self.fo[0][self.fm[0]], self.fo[1][self.fm[1]])
        self.episodes += int((self.te[0] | self.tr[0]).sum())
        self.rewards += float(self.r[0].sum())


def random_actions(sim, rng):
    if sim.action_shape:
        return np.stack([rng.integers(0, v, sim.num_envs) for v in sim.action_nvec], 1)
    return rng.integers(0, sim.action_nvec[0], sim.num_envs)


def run_random(scenario, n, steps, seed=0, autoreset="next_step", **kw):
    pair = Pair(scenario, n, seed=seed, **kw)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        pair.step(random_actions(pair.sim, rng).astype(np.int64), autoreset)
    return pair


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_parity_random_one_env_10000_steps(scenario):
    pair = run_random(scenario, 1, 10_000)
    assert pair.episodes >= 10  # autoresets happened


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_parity_random_16_envs_10000_actions(scenario):
    pair = run_random(scenario, 16, 625, seed=1)
    assert pair.episodes >= (16 if scenario == "building_micro" else 32)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_parity_random_16_envs_3000_steps(scenario):
    # 48,000 actions per scenario (the 10,000-action test above runs in every test run); 3,000
    # steps keep the slow suite's share of CI near 100 s
    pair = run_random(scenario, 16, 3_000, seed=2)
    assert pair.episodes >= 64


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_parity_random_same_step_autoreset_and_plain_base64(scenario):
    steps = 520 if scenario == "building_micro" else 400  # past the 500-step episodes
    pair = run_random(scenario, 4, steps, seed=3, autoreset="same_step", encoding="B")
    assert pair.episodes >= 4


def test_parity_other_parameters():
    pair = run_random("mining_micro", 3, 300, seed=4, ticks_per_step=37, obstacles=200, goal=3)
    assert pair.episodes >= 3
    run_random("movement_micro", 3, 300, seed=5, ticks_per_step=1, obstacles=0)


@pytest.mark.parametrize("scenario", ["mining_micro", "building_micro"])
def test_parity_sparse_reward(scenario):
    # the task reward alone (reward="sparse") through the mod's encoder equals BatchSim's too
    pair = run_random(scenario, 4, 200, seed=6, reward="sparse")
    shaped = run_random(scenario, 4, 200, seed=6)
    assert pair.rewards != shaped.rewards  # the shaping is on by default and off here


# ---- scripted play ----

def toward(px, py, gx, gy):
    """The walk action (1..8) from (px, py) toward the tile (gx, gy)'s centre, 0 if there."""
    dx, dy = gx * 256 + 128 - px, gy * 256 + 128 - py
    sx = 0 if abs(dx) < 40 else (1 if dx > 0 else -1)
    sy = 0 if abs(dy) < 40 else (1 if dy > 0 else -1)
    if sx == 0 and sy == 0:
        return 0
    return DIRS.index((sx, sy)) + 1


def test_parity_scripted_movement_reaches_targets():
    pair = Pair("movement_micro", 8, seed=6)
    rng = np.random.default_rng(6)
    for _ in range(600):
        a = np.zeros(8, np.int64)
        for i in range(8):
            o = pair.o[0][i]
            px, py = int(o[32:34].view(np.uint16)[0]), int(o[34:36].view(np.uint16)[0])
            dx, dy = (int(v) for v in o[36:40].view(np.int16))
            a[i] = toward(px, py, (px + dx) >> 8, (py + dy) >> 8) or 1
            if rng.random() < 0.2:
                a[i] = rng.integers(1, 9)
        pair.step(a)
    assert pair.rewards > 8  # targets reached (+1 each)


def test_parity_scripted_mining_to_the_goal_and_a_mined_out_tile():
    # 600 ticks a step: 5 ores a step, so a tile (100..499 ore) is mined out within the episode
    pair = Pair("mining_micro", 4, seed=7, ticks_per_step=600, goal=1000)
    goals = [None] * 4
    mined_out = 0
    for _ in range(400):
        a = np.zeros(4, np.int64)
        for i in range(4):
            w = pair.sim.world(i)
            px, py = w.position
            tx, ty = px >> 8, py >> 8
            res = {(x, y) for _, x, y, _ in w.resources()}
            if goals[i] not in res:
                if goals[i] is not None:
                    mined_out += 1
                goals[i] = min(res, key=lambda r: abs(r[0] - tx) + abs(r[1] - ty)) if res else None
            g = goals[i]
            if g is None:
                continue
            if abs(g[0] - tx) <= 2 and abs(g[1] - ty) <= 2 and w.in_resource_reach(*g):
                a[i] = 9 + (g[0] - tx + 2) + 5 * (g[1] - ty + 2)
            else:
                a[i] = toward(px, py, *g) or 1
        pair.step(a)
    assert mined_out >= 2


def building_plan(w):
    """A drill top-left on iron ore with a furnace over its drop tile (both footprints free),
    or None."""
    blocked = {(b["x"] + dx, b["y"] + dy) for b in w.buildings() for dx in (0, 1) for dy in (0, 1)}
    px, py = w.position
    best = None
    for e, x, y, _ in w.resources():
        if e != 1:
            continue
        for dx0 in (0, -1):
            for dy0 in (0, -1):
                tx, ty = x + dx0, y + dy0
                tiles = [(tx + i, ty + j) for i in (0, 1) for j in (-2, -1, 0, 1)]
                if any(not (0 <= u < w.width and 0 <= v < w.height) or (u, v) in blocked
                       or w.collides(u * 256 + 128, v * 256 + 128) for u, v in tiles):
                    continue
                d = abs(tx * 256 - px) + abs(ty * 256 - py)
                if best is None or d < best[0]:
                    best = (d, tx, ty)
    return None if best is None else best[1:]


def test_parity_scripted_building_drill_feeds_furnace_and_plates():
    n = 6
    pair = Pair("building_micro", n, seed=8)
    step_of = [0] * n
    plans = [None] * n
    seen = np.zeros(n, np.uint8)
    smelted = 0
    for _ in range(900):
        a = np.zeros((n, 3), np.int64)
        a[:, 1:] = 4
        for i in range(n):
            o = pair.o[0][i]
            if o[364:366].view(np.uint16)[0] == 0:  # a new episode
                step_of[i] = 0
                plans[i] = building_plan(pair.sim.world(i))
            k = step_of[i]
            step_of[i] += 1
            w = pair.sim.world(i)
            px, py = w.position
            tx, ty = px >> 8, py >> 8
            crafts = [10, 10, 10, 11, 11]
            if k < len(crafts):
                a[i, 0] = crafts[k]
                continue
            inv = w.inventory()
            if inv[8] == 0 and w.craft_queue_length == 0 and inv[6] >= 3:
                a[i, 0] = 12
                continue
            plan = plans[i]
            if plan is None or (inv[8] == 0 and not w.buildings()):
                continue  # wait for the crafts (or no plan: stand)
            dxl, dyl = plan
            stand_at = (dxl + 2, dyl + 1)
            if inv[8] and (abs(dxl - tx) > 4 or abs(dyl - 2 - ty) > 4 or (tx, ty) != stand_at):
                act = toward(px, py, *stand_at)
                if act:
                    a[i, 0] = act
                    continue
            def rel(x, y, tx=tx, ty=ty):
                return x - tx + 4, y - ty + 4

            if not all(0 <= v <= 8 for v in (*rel(dxl, dyl), *rel(dxl, dyl - 2))):
                continue
            if inv[8]:
                a[i] = (14, *rel(dxl, dyl))
            elif inv[7] and w.building_at(dxl, dyl - 2) < 0:
                a[i] = (15, *rel(dxl, dyl - 2))
            elif inv[3] and k % 2:
                a[i] = (17, *rel(dxl, dyl if k % 4 == 1 else dyl - 2))
            elif k % 7 == 0:
                a[i] = (19, *rel(dxl, dyl - 2))
            elif k % 11 == 0:
                a[i] = (9, *rel(dxl + 1, dyl + 1))  # hand-mine under the drill...
            elif k % 13 == 0 and inv[1]:
                a[i] = (18, *rel(dxl, dyl - 2))  # ...and feed the furnace by hand
        pair.step(a)
        seen |= pair.o[0][:, 367]
        smelted = max(smelted, int(pair.o[0][:, 368:370].view(np.uint16).max()))
    assert (seen & 1).any() and (seen & 2).any(), "no drill was placed on ore and fed a furnace"
    assert smelted >= 1
    assert pair.episodes >= n


def test_parity_scripted_chain_craft_then_pick_up_a_smelting_furnace_and_its_drill():
    """Issue 12, items 2 and 5 through the mod: the drill is crafted from plates and stone alone
    (its gears and furnace chain-crafted first, prerequisite entries in the queue), then, once
    the furnace has smelted, the furnace and the drill are mined: both are picked up with their
    contents, and the smelted and fed counts keep what they did (lifetime totals)."""
    n = 2
    pair = Pair("building_micro", n, seed=9, obstacles=0)
    plans = [building_plan(pair.sim.world(i)) for i in range(n)]
    assert all(plans)
    phase = [0] * n
    prereq_seen = picked = 0
    for k in range(480):
        a = np.zeros((n, 3), np.int64)
        a[:, 1:] = 4
        for i in range(n):
            w = pair.sim.world(i)
            px, py = w.position
            tx, ty = px >> 8, py >> 8
            inv = w.inventory()
            dxl, dyl = plans[i]

            def rel(x, y, tx=tx, ty=ty):
                return x - tx + 4, y - ty + 4

            if k == 0:
                a[i, 0] = 12  # the drill, from 12 plates and 10 stone
                continue
            if k == 1:
                a[i, 0] = 11  # the second furnace from the 5 stone left
                prereq_seen += any(p for _, _, p in w.craft_queue())
                continue
            if phase[i] == 0:  # walk next to the plan, then build and fuel
                near = all(0 <= v <= 8 for v in (*rel(dxl, dyl), *rel(dxl + 1, dyl - 2)))
                if not near or (tx, ty) in {(dxl + u, dyl + v) for u in (0, 1) for v in (-2, -1, 0, 1)}:
                    a[i, 0] = toward(px, py, dxl + 2, dyl + 1) or 3
                elif inv[8]:
                    a[i] = (14, *rel(dxl, dyl))
                elif inv[7]:
                    a[i] = (15, *rel(dxl, dyl - 2))
                elif w.building_count < 2:
                    pass  # the crafts are not done yet
                elif w.buildings()[1]["produced"]:  # the furnace smelted a plate
                    phase[i] = 1
                    a[i] = (9, *rel(dxl, dyl - 2))
                elif inv[3] and not w.buildings()[0]["fuel"]:
                    a[i] = (17, *rel(dxl, dyl))
                elif inv[3] and not w.buildings()[1]["fuel"]:
                    a[i] = (17, *rel(dxl, dyl - 2))
                continue
            if phase[i] == 1:  # mine the furnace until it is picked up, then the drill
                if w.building_count == 2:
                    a[i] = (9, *rel(dxl, dyl - 2))
                elif w.building_count == 1:
                    a[i] = (9, *rel(dxl + 1, dyl + 1))
                else:
                    phase[i] = 2
                    picked += 1
        pair.step(a)
    assert prereq_seen == n
    assert picked == n  # both envs picked up both buildings
    for i in range(n):
        o = pair.o[0][i]
        assert o[368:370].view(np.uint16)[0] >= 1  # the smelted count kept the furnace's plates
        assert pair.sim.world(i).inventory()[8] == 1  # the drill is back in the inventory


def test_parity_scripted_drill_output_on_the_ground_taken_and_built_over():
    """Issue 12, item 4 through the mod: a drill with nothing at its drop point leaves its ore
    on the ground (an item-on-ground entity in the game), shown in the drill's flags byte; the
    take action picks the stack up (mine_entity); the next stack is collected by placing the
    furnace over it."""
    n = 2
    pair = Pair("building_micro", n, seed=10, obstacles=0)
    plans = [building_plan(pair.sim.world(i)) for i in range(n)]
    assert all(plans)
    phase = [0] * n
    seen_flag = 0
    for k in range(400):
        a = np.zeros((n, 3), np.int64)
        a[:, 1:] = 4
        for i in range(n):
            w = pair.sim.world(i)
            px, py = w.position
            tx, ty = px >> 8, py >> 8
            inv = w.inventory()
            dxl, dyl = plans[i]

            def rel(x, y, tx=tx, ty=ty):
                return x - tx + 4, y - ty + 4

            if k == 0:
                a[i, 0] = 12
                continue
            if k == 1:
                a[i, 0] = 11
                continue
            near = all(0 <= v <= 8 for v in (*rel(dxl, dyl), *rel(dxl + 1, dyl - 2)))
            if not near or (tx, ty) in {(dxl + u, dyl + v) for u in (0, 1) for v in (-2, -1, 0, 1)}:
                a[i, 0] = toward(px, py, dxl + 2, dyl + 1) or 3
                continue
            ground = w.ground_items()
            if phase[i] == 0:
                if inv[8]:
                    a[i] = (14, *rel(dxl, dyl))
                elif w.building_count and not w.buildings()[0]["fuel"] and inv[3]:
                    a[i] = (17, *rel(dxl, dyl))
                elif ground:
                    a[i] = (19, *rel(dxl, dyl - 1))  # take the stack
                    phase[i] = 1
            elif phase[i] == 1 and ground and inv[7]:
                a[i] = (15, *rel(dxl, dyl - 2))  # the furnace over the next stack
                phase[i] = 2
        pair.step(a)
        flags = pair.o[0][:, 372 + 7:372 + 64:8]
        seen_flag |= int(((flags >> 4) == 1).any())
    assert seen_flag  # a drill's flags showed iron ore on the ground
    for i in range(n):
        w = pair.sim.world(i)
        assert phase[i] == 2 and w.building_count == 2
        assert w.inventory()[1] == 2  # both stacks: one taken, one collected by building
