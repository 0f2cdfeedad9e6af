"""full_game (backend="factorio" only): the mod on an ordinary generated map, over the emulator.

In process (ModBatch over the emulator's Lua) for the behaviour, and once through
``make("full_game", backend="factorio")`` over the server executable (FACTORIO_PATH, else the
emulator). The emulator's map is its stand-in generator's (docs/emulator.md), so these tests
read the map's resources from the emulator to know where to walk.
"""

import struct

import numpy as np
import pytest

pytest.importorskip("lupa.lua52")

from test_factorio_backend import factorio_path  # noqa: E402,F401  (the server fixture)

import factorio_fast  # noqa: E402
from factorio_fast import codec  # noqa: E402
from factorio_fast._rawobs import FULL_GAME  # noqa: E402
from factorio_fast.emulator import wire  # noqa: E402
from factorio_fast.emulator.batch import (  # noqa: E402
    FULL_GAME_INVENTORY,
    EmulatorLink,
    ModBatch,
)
from factorio_fast.emulator.game import Emulator  # noqa: E402
from factorio_fast.errors import FactorioServerError, InvalidArgumentError  # noqa: E402

OBS = FULL_GAME["obs_bytes"]
SIDE = FULL_GAME["window"]
STAND = [0, 4, 4]


def tail(o):
    """(x, y in tiles, inventory by item id, step, last action) of one observation."""
    px, py = struct.unpack_from("<ii", o, 1764)
    inv = np.frombuffer(bytes(o[1772:1804]), np.uint16)
    step, = struct.unpack_from("<H", o, 1810)
    return px / 256, py / 256, inv, step, int(o[1812])


def cells(o):
    """The 21 x 21 window decoded (codec.decode_cells) as a dict of its four planes."""
    planes = codec.decode_cells(np.frombuffer(bytes(o[:4 * SIDE * SIDE]), np.uint32)
                                .reshape(SIDE, SIDE))
    return dict(zip(("tile", "amount", "entity", "blocked"), planes))


class Run:
    def __init__(self, n=1, seeds=(7,), **kw):
        self.emu = Emulator()
        self.mod = ModBatch("full_game", n, EmulatorLink(self.emu), **kw)
        self.n = n
        self.obs = np.zeros((n, self.mod.obs_bytes), np.uint8)
        self.rew = np.zeros(n, np.float32)
        self.term = np.zeros(n, np.bool_)
        self.trunc = np.zeros(n, np.bool_)
        self.steps = 0
        self.mod.reset(np.array(seeds, np.uint64), obs=self.obs)

    def step(self, *actions):
        self.mod.step(np.array(actions, np.int64).reshape(self.n, 3), obs=self.obs,
                      rewards=self.rew, terminated=self.term, truncated=self.trunc)
        self.steps += 1
        return self.rew.copy()

    def surface(self, env=0):
        """The env's current surface (the newest ff_full_<env>_<episode>)."""
        names = [k for k in self.emu.game._surfaces if k.startswith(f"ff_full_{env}_")]
        return self.emu.game._surfaces[max(names, key=lambda k: int(k.rsplit("_", 1)[1]))]

    def close(self):
        self.mod.close()


def test_reset_observation_layout():
    r = Run(2, seeds=(7, 8))
    try:
        assert r.obs.shape == (2, OBS) and OBS <= 2048
        for o in r.obs:
            x, y, inv, step, last = tail(o)
            assert abs(x) <= 2 and abs(y) <= 2 and (x * 2) % 1 == 0  # a tile centre near spawn
            want = np.zeros(16, np.uint16)
            for name, n in FULL_GAME_INVENTORY.items():
                want[codec.ITEM_IDS[name]] = n
            np.testing.assert_array_equal(inv, want)
            assert step == 0 and last == 0
            assert not o[1813:1816].any() and not o[1880:].any()
            assert not o[1816:1880].any()  # no buildings yet
            c = cells(o)
            tiles = c["tile"]
            assert tiles.shape == (SIDE, SIDE)
            assert not c["blocked"][SIDE // 2, SIDE // 2]  # the character's own tile
            assert set(np.unique(tiles)) <= set(range(16))
        # the two seeds' maps differ (the generator's seed is the episode's), the same seed agrees
        assert r.surface(0).map.res_table() != r.surface(1).map.res_table()
        again = Run(1, seeds=(7,))
        try:
            np.testing.assert_array_equal(again.obs[0], r.obs[0])
        finally:
            again.close()
    finally:
        r.close()


def _walk_to(r, tx, ty, limit=80):
    """Walk env 0 until its tile is within 1 of (tx, ty) on each axis (8-way walk codes)."""
    for _ in range(limit):
        x, y = tail(r.obs[0])[:2]
        dx, dy = tx + 0.5 - x, ty + 0.5 - y
        if abs(dx) < 1.5 and abs(dy) < 1.5:
            return
        sx = 0 if abs(dx) < 0.5 else (1 if dx > 0 else -1)
        sy = 0 if abs(dy) < 0.5 else (1 if dy > 0 else -1)
        d = {(0, -1): 0, (1, -1): 1, (1, 0): 2, (1, 1): 3, (0, 1): 4, (-1, 1): 5, (-1, 0): 6,
             (-1, -1): 7}[(sx, sy)]
        r.step([1 + d, 4, 4])
    raise AssertionError(f"did not reach {(tx, ty)}: at {tail(r.obs[0])[:2]}")


def test_walk_moves_and_mining_gives_ore():
    r = Run(1, seeds=(11,))
    try:
        x0, y0 = tail(r.obs[0])[:2]
        r.step([3, 4, 4])  # walk east (code 1 + 2)
        x1, y1 = tail(r.obs[0])[:2]
        assert x1 > x0 and y1 == y0
        m = r.surface().map
        ores = [(wx - m.ox, wy - m.oy) for (wx, wy), (t, _a) in m.res_table().items()
                if t == codec.ENTITY_IDS["iron-ore"]]
        assert ores, "the stand-in map has an iron patch"
        tx, ty = min(ores, key=lambda p: abs(p[0] - x1) + abs(p[1] - y1))
        _walk_to(r, tx, ty)
        x, y = tail(r.obs[0])[:2]
        a = [9, tx - int(np.floor(x)) + 4, ty - int(np.floor(y)) + 4]
        # the ore shows in the window where the action points
        c = cells(r.obs[0])
        assert c["entity"][a[2] - 4 + SIDE // 2, a[1] - 4 + SIDE // 2] == codec.ENTITY_IDS["iron-ore"]
        ore = codec.ITEM_IDS["iron-ore"]
        rewards = []
        for _ in range(20):
            rewards.append(r.step(a)[0])
            if tail(r.obs[0])[2][ore] > 0:
                break
        assert tail(r.obs[0])[2][ore] >= 1
        assert all(v == 0.0 for v in rewards)  # the default reward counts plates, not ore
        assert tail(r.obs[0])[3] == r.steps and tail(r.obs[0])[4] == 9  # step, last action
    finally:
        r.close()


def test_default_reward_is_plate_change_and_callable_reward():
    r = Run(1, seeds=(3,))
    try:
        total = 0.0
        for _ in range(6):  # craft one gear: 2 plates leave the inventory
            total += r.step([10, 4, 4])[0]
            if tail(r.obs[0])[2][codec.ITEM_IDS["iron-gear-wheel"]]:
                break
        plates = int(tail(r.obs[0])[2][codec.ITEM_IDS["iron-plate"]])
        assert total == plates - FULL_GAME_INVENTORY["iron-plate"] < 0
    finally:
        r.close()
    seen = []

    def reward(prev, obs):
        seen.append((prev.shape, obs.shape, tail(prev)[3], tail(obs)[3]))
        return tail(obs)[0] - tail(prev)[0]  # metres walked east

    r = Run(1, seeds=(3,), reward=reward)
    try:
        got = r.step([3, 4, 4])[0]
        assert got > 0 and seen == [((OBS,), (OBS,), 0, 1)]
    finally:
        r.close()


def test_place_shows_a_building_and_truncation_starts_a_new_map():
    r = Run(1, seeds=(5,), episode_steps=3)
    try:
        r.step([15, 6, 4])  # place the stone furnace 2 tiles east
        slot = r.obs[0, 1816:1824]
        assert slot[0] == codec.ENTITY_IDS["stone-furnace"] and slot[1] == 2 and slot[2] == 0
        c = cells(r.obs[0])
        assert c["entity"][SIDE // 2, SIDE // 2 + 2] == codec.ENTITY_IDS["stone-furnace"]
        first = r.surface()
        r.step(STAND)
        r.step(STAND)
        assert r.trunc[0] and not r.term[0]
        r.step(STAND)  # next_step autoreset: a new episode on a new surface
        assert not r.trunc[0] and tail(r.obs[0])[3] == 0
        assert not first.is_valid() and r.surface() is not first
        assert not r.obs[0, 1816:1880].any()
    finally:
        r.close()


def test_bad_requests_refused():
    for kw, match in (({"obstacles": 1}, "no obstacles"), ({"goal": 3}, "no obstacles or goal"),
                      ({"reward": "shaped"}, "callable"), ({"episode_steps": 0}, "episode_steps"),
                      ({"start_inventory": {"uranium": 1}}, "unknown item"),
                      ({"start_inventory": {"coal": -1}}, "count")):
        with pytest.raises(InvalidArgumentError, match=match):
            ModBatch("full_game", 1, None, **kw)
    r = Run(1, seeds=(1,))
    try:
        with pytest.raises(InvalidArgumentError, match="valid range"):
            r.step([20, 4, 4])
        # the mod refuses a full_game WORLD with a map size, or of the wrong length
        for payload in (wire.world_payload(3, 1, 10, 8, 8, [wire.full_game_record(0, 1, [0])]),
                        wire.world_payload(3, 1, 10, 0, 0, [wire.full_game_record(0, 1, [0])])
                        + b"\0"):
            with pytest.raises(FactorioServerError, match="full_game"):
                r.mod.drive(r.mod.request(wire.T_WORLD, payload))
        r.step(STAND)  # the env still steps after the refusals
        assert tail(r.obs[0])[3] == 1
    finally:
        r.close()


@pytest.mark.factorio
def test_make_full_game_over_the_server(factorio_path):  # noqa: F811
    env = factorio_fast.make("full_game", backend="factorio", factorio_path=factorio_path)
    try:
        assert env.observation_space.shape == (OBS,)
        assert list(env.action_space.nvec) == [20, 9, 9]
        obs, info = env.reset(seed=21)
        assert obs.shape == (OBS,) and obs.dtype == np.uint8
        assert info["inventory"] == FULL_GAME_INVENTORY
        x0 = info["position"][0]
        obs, rew, term, trunc, info = env.step(np.array([3, 4, 4]))
        assert info["position"][0] > x0 and tail(obs)[0] == info["position"][0]
        assert rew == 0.0 and not term and not trunc
        with pytest.raises(InvalidArgumentError):
            env.step(np.array([0, 9, 4]))
    finally:
        env.close()
