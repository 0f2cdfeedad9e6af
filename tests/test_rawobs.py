"""csrc/ff_rawobs.c: observations, rewards and flags from raw state equal the simulator's.

Raw records are built here from BatchSim's own worlds (World accessors, no mod involved), so the
encoder is checked on its own; tests/test_emulator_parity.py checks it behind the mod.
"""

import struct

import numpy as np
import pytest

from factorio_fast import _rawobs
from factorio_fast._rawobs import RawEncoder, parse_payload, record_bytes
from factorio_fast._sim import BatchSim
from factorio_fast.errors import InvalidArgumentError, ProtocolError

SIDE = {"movement_micro": 16, "mining_micro": 7, "building_micro": 9}
SID = {"movement_micro": 0, "mining_micro": 1, "building_micro": 2}


def raw_record(scenario, env, w, events=0):
    """The wire record of a World, as docs/mod.md defines it."""
    side = SIDE[scenario]
    px, py = w.position
    inv = [int(v) for v in w.inventory()]
    blds = w.buildings()
    fed = sum(b["produced"] - (1 if b["src"] else 0) for b in blds if b["entity"] == 6)
    smelted = sum(b["produced"] for b in blds if b["entity"] == 5)
    blocks = bytearray(32)
    bs = w.width // 8
    for e, x, y, _a in w.resources():
        bit = {1: 1, 3: 2, 4: 4}.get(e, 8)
        k = (y // bs) * 8 + x // bs
        blocks[k >> 1] |= bit << (4 * (k & 1))
    head = struct.pack("<HBBiiI16HHBBHBBIII", env, SID[scenario], side, px, py,
                       w.tick_count & 0xFFFFFFFF, *inv, w.mining_progress, 0, 0, 0, events,
                       len(blds), 0, smelted, fed)
    assert len(head) == 68
    bl = b""
    for k in range(8):
        if k < len(blds):
            b = blds[k]
            flags = (1 if b["energy"] > 0 else 0) | (2 if b["entity"] == 6 and b["src"] else 0)
            bl += struct.pack("<BBhhHHHH", b["entity"], flags, b["x"], b["y"], b["fuel"],
                              b["src"], b["out"], b["progress"])
        else:
            bl += bytes(14)
    half = side // 2
    tx, ty = px >> 8, py >> 8
    cells = np.array([[w.cell(tx - half + c, ty - half + r) for c in range(side)]
                      for r in range(side)], np.uint32)
    return head + bytes(blocks) + bl + cells.tobytes()


def payload(scenario, records, status=0):
    rb = record_bytes(SIDE[scenario]) if records else 0
    return struct.pack("<BBHHHII", status, SID[scenario], len(records), rb, 0, 0, 0) + \
        b"".join(records)


def target_of(obs):
    px, py = (int(v) for v in obs[32:36].view(np.uint16))
    dx, dy = (int(v) for v in obs[36:40].view(np.int16))
    return (px + dx - 128) // 256, (py + dy - 128) // 256


@pytest.mark.parametrize("scenario", list(SIDE))
def test_rawobs_equals_the_simulator_on_its_own_worlds(scenario):
    n = 8
    sim = BatchSim(scenario, n)
    enc = RawEncoder(scenario, n, episode_steps=sim.episode_steps, goal=sim.goal)
    ob = sim.obs_shape[0]
    o_sim, o_raw = np.zeros((n, ob), np.uint8), np.zeros((n, ob), np.uint8)
    r_sim, r_raw = np.zeros(n, np.float32), np.zeros(n, np.float32)
    t_sim, t_raw = np.zeros(n, np.bool_), np.zeros(n, np.uint8)
    u_sim, u_raw = np.zeros(n, np.bool_), np.zeros(n, np.uint8)
    sim.reset(np.arange(n, dtype=np.uint64) + 11, obs=o_sim)
    targets = np.array([target_of(o) if scenario == "movement_micro" else (-1, -1)
                        for o in o_sim], np.int32)

    def records(events=None):
        return payload(scenario, [raw_record(scenario, i, sim.world(i),
                                             0 if events is None else int(events[i]))
                                  for i in range(n)])

    got = enc.begin(records(), targets, o_raw)
    assert sorted(got.tolist()) == list(range(n))
    np.testing.assert_array_equal(o_raw, o_sim)
    rng = np.random.default_rng(SID[scenario])
    checked = 0
    for _ in range(250):
        if sim.action_shape:
            a = np.stack([rng.integers(0, v, n) for v in sim.action_nvec], 1)
        else:
            a = rng.integers(0, sim.action_nvec[0], n)
        a = a.astype(np.int64)
        before = [sim.world(i).buildings() for i in range(n)]
        sim.step(a, obs=o_sim, rewards=r_sim, terminated=t_sim, truncated=u_sim,
                 autoreset="same_step", final_obs=np.zeros_like(o_sim),
                 final_mask=np.zeros(n, np.bool_))
        done = t_sim | u_sim
        events = np.zeros(n, np.uint8)
        if scenario == "building_micro":
            for i in range(n):  # a drill placed on iron ore this step
                after = sim.world(i).buildings()
                if not done[i] and len(after) > len(before[i]) and after[-1]["entity"] == 6:
                    x, y = after[-1]["x"], after[-1]["y"]
                    events[i] = any(e == 1 and x <= rx < x + 2 and y <= ry < y + 2
                                    for e, rx, ry, _ in sim.world(i).resources())
        live = ~done
        crafting = np.array([sim.world(i).craft_queue_length > 0 for i in range(n)])
        enc.step(records(events), a, live, o_raw, r_raw, t_raw, u_raw)
        # World has no accessor for the crafting queue's head or the items crafted: building
        # envs with a queue are compared outside the crafting fields, rewards without crafting
        # are compared where nothing was crafted (their crafted counters stay 0 here)
        for i in np.flatnonzero(live):
            if scenario == "building_micro" and crafting[i]:
                keep = np.ones(ob, bool)
                keep[360:364] = False
                np.testing.assert_array_equal(o_raw[i][keep], o_sim[i][keep])
            else:
                np.testing.assert_array_equal(o_raw[i], o_sim[i])
                checked += 1
            if scenario != "building_micro":
                assert r_raw[i] == r_sim[i]
            assert bool(t_raw[i]) == t_sim[i] and bool(u_raw[i]) == u_sim[i]
        if done.any():  # the simulator reset these: begin their episodes from the new worlds
            ids = np.flatnonzero(done)
            if scenario == "movement_micro":
                for i in ids:
                    targets[i] = target_of(o_sim[i])
            sub = payload(scenario, [raw_record(scenario, int(i), sim.world(int(i)))
                                     for i in ids])
            enc.begin(sub, targets, o_raw)
            np.testing.assert_array_equal(o_raw[ids], o_sim[ids])
    assert checked > 1000


def test_rawobs_record_and_payload_checks():
    assert record_bytes(16) == 212 + 1024 and record_bytes(7) == 212 + 196
    assert record_bytes(21) == 212 + 1764  # full_game's window
    with pytest.raises(InvalidArgumentError):
        record_bytes(22)
    sim = BatchSim("mining_micro", 1)
    sim.reset(np.array([3], np.uint64), obs=np.zeros((1, 256), np.uint8))
    rec = raw_record("mining_micro", 0, sim.world(0))
    head, recs = parse_payload(payload("mining_micro", [rec]))
    assert head["count"] == 1 and recs[0]["side"] == 7 and recs[0]["px"] == sim.world(0).position[0]
    enc = RawEncoder("mining_micro", 1, episode_steps=300, goal=10)
    obs = np.zeros((1, 256), np.uint8)
    bad = {
        "short": payload("mining_micro", [rec])[:-1],
        "count says two": payload("mining_micro", [rec])[:2] + b"\x02\x00" +
        payload("mining_micro", [rec])[4:],
        "wrong side": payload("mining_micro", [rec[:3] + b"\x09" + rec[4:]]),
        "reserved cell bits": payload("mining_micro", [rec[:-4] + b"\x02\x00\x00\x10"]),
        "entity 12": payload("mining_micro", [rec[:100] + b"\x0c" + rec[101:]]),
        "env out of range": payload("mining_micro", [b"\x05\x00" + rec[2:]]),
        "other scenario": payload("building_micro", [rec]),
        "empty": b"",
    }
    for name, p in bad.items():
        with pytest.raises(ProtocolError):
            enc.begin(p, np.full((1, 2), -1, np.int32), obs)
        assert name


def test_rawobs_actions_map_onto_factorio_actions():
    def one(scenario, action, pos=(10 * 256 + 128, 20 * 256 + 128)):
        enc = RawEncoder(scenario, 1, episode_steps=100, goal=1)
        sim_like = payload(scenario, [_at(scenario, pos)])
        enc.begin(sim_like, np.array([[0, 0]], np.int32), np.zeros((1, enc.obs_bytes), np.uint8))
        rec = enc.actions(np.array([action], np.int64))
        t = rec[0]
        params = struct.unpack_from("<8f", rec, 4)
        assert rec[1:4] == b"\0\0\0" and len(rec) == 48
        return t, params

    assert one("movement_micro", [0]) == (0, (0.0,) * 8)
    assert one("movement_micro", [3]) == (1, (4.0,) + (0.0,) * 7)  # east = 2 * 2
    assert one("mining_micro", [9]) == (2, (8.0, 18.0) + (0.0,) * 6)  # k = 0: (tx-2, ty-2)
    assert one("mining_micro", [33]) == (2, (12.0, 22.0) + (0.0,) * 6)
    assert one("building_micro", [9, 4, 4])[:2] == (2, (10.0, 20.0) + (0.0,) * 6)
    assert one("building_micro", [12, 0, 0]) == (3, (2.0, 1.0) + (0.0,) * 6)
    assert one("building_micro", [14, 8, 0]) == (4, (8.0, 14.0, 16.0, 0.0) + (0.0,) * 4)
    assert one("building_micro", [16, 4, 5]) == (4, (9.0, 10.0, 21.0, 0.0) + (0.0,) * 4)
    assert one("building_micro", [17, 3, 3]) == (5, (3.0, 9.0, 19.0, 5.0) + (0.0,) * 4)
    assert one("building_micro", [18, 3, 3]) == (5, (1.0, 9.0, 19.0, 5.0) + (0.0,) * 4)
    assert one("building_micro", [19, 4, 2]) == (6, (0.0, 10.0, 18.0) + (0.0,) * 5)
    enc = RawEncoder("building_micro", 1, episode_steps=10, goal=1)
    with pytest.raises(InvalidArgumentError):
        enc.actions(np.array([[20, 0, 0]], np.int64))
    with pytest.raises(InvalidArgumentError):
        enc.actions(np.array([[0, 9, 0]], np.int64))
    assert enc.actions(np.array([[20, 0, 0]], np.int64), stand=[True])[0] == 0


def _at(scenario, pos):
    side = SIDE[scenario]
    head = struct.pack("<HBBiiI16HHBBHBBIII", 0, SID[scenario], side, pos[0], pos[1], 0,
                       *([0] * 16), 0, 0, 0, 0, 0, 0, 0, 0, 0)
    return head + bytes(32) + bytes(112) + np.full(side * side, 1 << 28, np.uint32).tobytes()


def _full_record(px, py, inv=(), buildings=(), cells=None):
    inv = list(inv) + [0] * (16 - len(inv))
    head = struct.pack("<HBBiiI16HHBBHBBIII", 0, 3, 21, px, py, 99, *inv, 37, 2, 3, 15, 0,
                       len(buildings), 0, 0, 0)
    bld = b"".join(struct.pack("<BBhhHHHH", *b) for b in buildings)
    bld += bytes(112 - len(bld))
    if cells is None:
        cells = np.arange(441, dtype=np.uint32) << 28 & 0xF0000000
    return head + bytes(32) + bld + np.asarray(cells, np.uint32).tobytes()


def test_rawobs_full_game_layout_reward_and_flags():
    """full_game's bytes at the offsets docs/scenarios.md gives, the plate-change reward, no
    termination, truncation at episode_steps, building_micro's action mapping."""
    full = _rawobs.FULL_GAME
    enc = RawEncoder("full_game", 1, episode_steps=2)
    assert enc.obs_bytes == full["obs_bytes"] == 1888 and enc.action_dims == 3
    assert _rawobs.window_side("full_game") == 21
    cells = (np.arange(441, dtype=np.uint32) % 16) << 28 | (np.arange(441, dtype=np.uint32) % 3)
    cells = cells & ~np.uint32(0xFFE)  # no reserved bits
    px, py = -5 * 256 - 128, 7 * 256 + 64  # an ordinary map: negative coordinates
    inv = [0] * 16
    inv[5] = 8
    furnace = (5, 1 | 4 | 0x30, -8, 9, 300, 2, 7, 150)  # flag bits 2..3 are not in the layout
    rec = _full_record(px, py, inv, [furnace], cells)
    p = struct.pack("<BBHHHII", 0, 3, 1, len(rec), 0, 0, 0) + rec
    obs = np.zeros((1, 1888), np.uint8)
    enc.begin(p, np.full((1, 2), -1, np.int32), obs)
    o = obs[0]
    np.testing.assert_array_equal(o[:1764].view(np.uint32), cells)
    assert struct.unpack_from("<ii", o, 1764) == (px, py)
    assert list(o[1772:1804].view(np.uint16)) == inv
    assert struct.unpack_from("<HBBHHB", o, 1804) == (37, 2, 3, 15, 0, 0)
    assert not o[1813:1816].any() and not o[1824:].any()
    # the furnace relative to the character's tile (-6, 7): (-2, 2); fuel, source, result and
    # progress saturated to a byte; flags without bits 2..3
    assert list(o[1816:1824]) == [5, 256 - 2, 2, 255, 2, 7, 150, 0x31]
    rew = np.zeros(1, np.float32)
    te, tr = np.zeros(1, np.uint8), np.zeros(1, np.uint8)
    inv[5] = 6  # two plates crafted away
    a = np.array([[10, 4, 4]], np.int64)
    p2 = struct.pack("<BBHHHII", 0, 3, 1, len(rec), 0, 0, 0) + _full_record(px, py, inv)
    enc.step(p2, a, np.ones(1, np.bool_), obs, rew, te, tr)
    assert rew[0] == -2.0 and not te[0] and not tr[0]
    assert struct.unpack_from("<HB", obs[0], 1810) == (1, 10)
    assert not obs[0, 1816:1880].any()
    enc.step(p2, a, np.ones(1, np.bool_), obs, rew, te, tr)
    assert rew[0] == 0.0 and not te[0] and tr[0]
    # the action set is building_micro's, relative to the character's tile
    rec = enc.actions(np.array([[15, 6, 2]], np.int64))
    assert rec[0] == 4 and struct.unpack_from("<4f", rec, 4) == (7.0, -4.0, 5.0, 0.0)
    with pytest.raises(InvalidArgumentError):
        enc.actions(np.array([[20, 4, 4]], np.int64))
    with pytest.raises(InvalidArgumentError, match="shaped"):
        RawEncoder("full_game", 1, reward="dense")


def test_rawobs_entity_table_is_the_c_tables():
    from factorio_fast import codec
    assert [e[0] for e in _rawobs.ENTITY_INFO] == list(codec.ENTITY_NAMES)
    assert _rawobs.ENTITY_INFO[5][4] == 2 and _rawobs.ENTITY_INFO[8][2] == 0.35


def test_rawobs_stub_covers_the_public_api():
    import ast
    import pathlib
    stub = {}
    tree = ast.parse(pathlib.Path(_rawobs.__file__).with_name("_rawobs.pyi").read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            stub[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} | {
                n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
        elif isinstance(node, ast.FunctionDef):
            stub[node.name] = None
        elif isinstance(node, ast.AnnAssign):
            stub[node.target.id] = None
    for name in _rawobs.__all__:
        assert name in stub, name
        obj = getattr(_rawobs, name)
        if isinstance(obj, type):
            assert {m for m in vars(obj) if not m.startswith("_")} <= stub[name]
