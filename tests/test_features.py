"""obs="features": float32 observations decoded in C from the observation bytes.

Three ways to the same numbers must agree exactly: the env's own features (computed by the
stepping side, in the workers when there are workers), ``factorio_fast.decode`` of the byte
observations of an identical env, and the pure-Python reference written from docs/scenarios.md.
"""

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import factorio_fast
from factorio_fast import _reference_features as ref
from factorio_fast.errors import ArgumentTypeError, InvalidArgumentError
from factorio_fast.features import FEATURE_SCENARIOS, decoder, feature_fields, feature_space

SCEN = ["movement_micro", "mining_micro", "building_micro"]


def test_features_every_scenario_has_a_table():
    assert set(FEATURE_SCENARIOS) == set(factorio_fast.SCENARIOS)
    for name in SCEN:
        assert decoder(name).obs_bytes == factorio_fast.SCENARIOS[name].obs_bytes


@pytest.mark.parametrize("name", SCEN)
def test_features_of_random_bytes_equal_the_reference(name):
    """Every byte value in every position: ids past a one-hot block, negative deltas, set
    reserved bits and the padding (which the features ignore)."""
    rng = np.random.default_rng(14)
    raw = rng.integers(0, 256, (200, decoder(name).obs_bytes), dtype=np.uint8)
    raw[:20] = 0
    raw[20:40] = 255
    got = factorio_fast.decode(raw, name)
    assert got.dtype == np.float32 and got.shape == (200, decoder(name).width)
    np.testing.assert_array_equal(got, ref.decode(raw, name))
    space = feature_space(name)
    assert all(space.contains(row) for row in got)
    padding_changed = raw.copy()
    padding_changed[:, -8:] ^= 0x5A  # every layout ends in zero padding today
    np.testing.assert_array_equal(factorio_fast.decode(padding_changed, name), got)


@pytest.mark.parametrize("name", SCEN)
@pytest.mark.parametrize("num_workers,mode", [(0, "next_step"), (0, "same_step"), (2, "next_step"),
                                              (2, "same_step")])
def test_features_of_the_env_equal_decode_and_reference(name, num_workers, mode):
    # past the end of the first episodes (truncation at the latest), but building_micro's 500
    n, steps = 6, 40 if name == "building_micro" else factorio_fast.SCENARIOS[name].episode_steps + 10
    kw = dict(autoreset_mode=mode, ticks_per_step=30)  # long steps: episodes end in the test
    feat = factorio_fast.make_vec(name, n, num_workers=num_workers, obs="features", **kw)
    raw = factorio_fast.make_vec(name, n, **kw)
    try:
        assert feat.single_observation_space == feature_space(name)
        assert feat.observation_space.shape == (n, decoder(name).width)
        feat.action_space.seed(1)
        f, _ = feat.reset(seed=5)
        b, _ = raw.reset(seed=5)
        checked = ended = 0
        for t in range(steps):
            np.testing.assert_array_equal(f, factorio_fast.decode(b, name))
            if t % 25 == 0:  # the reference is slow: every 25th step
                np.testing.assert_array_equal(f, ref.decode(b, name))
                checked += 1
            assert feat.observation_space.contains(f)
            a = feat.action_space.sample()
            f, fr, fte, ftr, finfo = feat.step(a)
            b, br, bte, btr, binfo = raw.step(a)
            np.testing.assert_array_equal(fr, br)
            np.testing.assert_array_equal(fte, bte)
            np.testing.assert_array_equal(ftr, btr)
            ended += int((bte | btr).sum())
            if mode == "same_step":
                m = binfo["_final_obs"]
                np.testing.assert_array_equal(finfo["_final_obs"], m)
                if m.any():
                    np.testing.assert_array_equal(finfo["final_obs"][m],
                                                  factorio_fast.decode(binfo["final_obs"][m], name))
        assert checked >= 2
        if name != "building_micro":
            assert ended > 0  # autoresets happened and were decoded too
    finally:
        feat.close()
        raw.close()


def test_features_after_a_masked_reset_in_the_workers():
    feat = factorio_fast.make_vec("movement_micro", 8, num_workers=2, obs="features")
    raw = factorio_fast.make_vec("movement_micro", 8)
    try:
        mask = np.array([True, False] * 4)
        for env in (feat, raw):
            env.reset(seed=1)
            env.step(np.full(8, 2, np.int64))
        f, _ = feat.reset(seed=9, options={"reset_mask": mask})
        b, _ = raw.reset(seed=9, options={"reset_mask": mask})
        np.testing.assert_array_equal(f, factorio_fast.decode(b, "movement_micro"))
    finally:
        feat.close()
        raw.close()


def test_features_async_recv():
    """In-process async (groups come back in a fixed order, so two envs can be compared)."""
    feat = factorio_fast.make_vec("movement_micro", 8, batch_size=4, obs="features")
    raw = factorio_fast.make_vec("movement_micro", 8, batch_size=4)
    try:
        feat.async_reset(seed=2)
        raw.async_reset(seed=2)
        for _ in range(20):
            f, _, _, _, fi = feat.recv()
            b, _, _, _, bi = raw.recv()
            np.testing.assert_array_equal(fi["env_id"], bi["env_id"])
            np.testing.assert_array_equal(f, factorio_fast.decode(b, "movement_micro"))
            a = np.full(len(fi["env_id"]), 3, np.int64)
            feat.send(a, fi["env_id"])
            raw.send(a, bi["env_id"])
    finally:
        feat.close()
        raw.close()


@pytest.mark.parametrize("name", SCEN)
def test_features_single_env(name):
    env = factorio_fast.make(name, obs="features")
    raw = factorio_fast.make(name)
    assert env.observation_space == feature_space(name)
    f, _ = env.reset(seed=3)
    b, _ = raw.reset(seed=3)
    np.testing.assert_array_equal(f, factorio_fast.decode(b, name))
    for _ in range(30):
        a = env.action_space.sample()
        f, *_ = env.step(a)
        b, *_ = raw.step(a)
        np.testing.assert_array_equal(f, ref.decode(b, name))
    env.close()
    raw.close()
    check_env(factorio_fast.make(name, obs="features").unwrapped, skip_render_check=True)
    g = gym.make(f"factorio_fast/{name}-v0", obs="features")
    assert g.observation_space.dtype == np.float32 and g.spec.kwargs["obs"] == "features"
    g.close()


def test_features_decode_shapes_and_out():
    name = "movement_micro"
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (2, 3, 64), dtype=np.uint8)
    got = factorio_fast.decode(raw, name)
    assert got.shape == (2, 3, 274)
    np.testing.assert_array_equal(got[1, 2], factorio_fast.decode(raw[1, 2], name))
    out = np.full((2, 3, 274), np.nan, np.float32)
    assert factorio_fast.decode(raw, name, out=out) is out
    np.testing.assert_array_equal(out, got)
    np.testing.assert_array_equal(factorio_fast.decode(raw[:, ::2], name), got[:, ::2])  # strided


def test_features_bad_input():
    with pytest.raises(InvalidArgumentError, match="obs must be one of"):
        factorio_fast.make("movement_micro", obs="pixels")
    with pytest.raises(InvalidArgumentError, match="obs must be one of"):
        factorio_fast.make_vec("movement_micro", 2, obs="pixels")
    with pytest.raises(InvalidArgumentError, match="no feature table"):
        factorio_fast.decode(np.zeros(64, np.uint8), "nope")
    with pytest.raises(ArgumentTypeError):
        factorio_fast.decode(np.zeros(64, np.uint8), 3)
    with pytest.raises(InvalidArgumentError, match="uint8"):
        factorio_fast.decode(np.zeros(64, np.float32), "movement_micro")
    with pytest.raises(InvalidArgumentError, match="64 bytes"):
        factorio_fast.decode(np.zeros(63, np.uint8), "movement_micro")
    with pytest.raises(InvalidArgumentError, match="out must be"):
        factorio_fast.decode(np.zeros(64, np.uint8), "movement_micro", out=np.zeros(274, np.float64))
    d = decoder("movement_micro")
    with pytest.raises(InvalidArgumentError, match="out must have shape"):
        d.fill(np.zeros((2, 64), np.uint8), np.zeros((3, 274), np.float32))
    with pytest.raises(InvalidArgumentError, match="mask"):
        d.fill(np.zeros((2, 64), np.uint8), np.zeros((2, 274), np.float32), np.zeros(3, np.uint8))


def test_features_documented_columns_equal_the_tables(repo_root):
    """docs/scenarios.md lists every field of every table at its columns and byte offset."""
    text = (repo_root / "docs" / "scenarios.md").read_text()
    for name in SCEN:
        section = text.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        feats = section.split('### Features (`obs="features"`)', 1)[1]
        rows = re.findall(r"^\| (\d+)(?:\.\.(\d+))? \| (\w+) \| (\d+)", feats, re.M)
        documented = [(int(a), int(b or a), f, int(off)) for a, b, f, off in rows]
        fields = feature_fields(name)
        expected = [(f["start"], f["start"] + f["width"] * f["count"] - 1, f["name"], f["offset"])
                    for f in fields]
        assert documented == expected, name
        assert f"{decoder(name).width} columns." in feats


def test_features_stub_covers_the_module():
    import ast
    import pathlib

    from factorio_fast import _features

    tree = ast.parse(pathlib.Path(_features.__file__).with_name("_features.pyi").read_text())
    top = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    classes = {n.name: {m.name for m in n.body if isinstance(m, ast.FunctionDef)}
               | {m.target.id for m in n.body if isinstance(m, ast.AnnAssign)}
               for n in tree.body if isinstance(n, ast.ClassDef)}
    for name in _features.__all__:
        assert name in top or name in classes, name
    public = {m for m in dir(_features.Decoder) if not m.startswith("_")}
    assert public <= classes["Decoder"], sorted(public - classes["Decoder"])


def test_features_near_range_columns():
    """The position within the tile and movement_micro's clipped target delta, by hand: px =
    5 tiles + 64/256, a target 1.5 tiles east and 9 tiles north (clipped at 4 tiles)."""
    raw = np.zeros(64, np.uint8)
    raw[32:44] = np.frombuffer(np.array([5 * 256 + 64, 7 * 256 + 255, 384, -9 * 256, 0, 0],
                                        "<i2").tobytes(), np.uint8)
    cols = {f["name"]: f["start"] for f in feature_fields("movement_micro")}
    got = factorio_fast.decode(raw, "movement_micro")
    assert got[cols["px_in_tile"]] == 0.25 and got[cols["py_in_tile"]] == np.float32(255 / 256)
    assert got[cols["target_dx_near"]] == 0.375 and got[cols["target_dy_near"]] == -1.0
    low, high = feature_space("movement_micro").low, feature_space("movement_micro").high
    assert (low[cols["target_dx_near"]], high[cols["target_dx_near"]]) == (-1.0, 1.0)
    assert (low[cols["px_in_tile"]], high[cols["px_in_tile"]]) == (0.0, np.float32(255 / 256))
    for name, off in (("mining_micro", 196), ("building_micro", 356)):
        raw = np.zeros(decoder(name).obs_bytes, np.uint8)
        raw[off:off + 4] = [200, 3, 128, 9]
        f = {x["name"]: x["start"] for x in feature_fields(name)}
        got = factorio_fast.decode(raw, name)
        assert got[f["px_in_tile"]] == np.float32(200 / 256) and got[f["py_in_tile"]] == 0.5, name


def test_features_building_layout_columns():
    """building_micro's layout columns by hand: a drill at (2, 3) fuelled, a furnace on its
    spot (2, 1) burning, a second drill out of range, iron ore at (-1, 0) and (3, -4) (the
    nearer one wins), a furnace and coal held; then C == reference on 300 rows of random slots
    drawn among the two building ids, so the search paths are all taken."""
    name = "building_micro"
    raw = np.zeros(512, np.uint8)
    inv = np.zeros(16, "<u2")
    inv[3], inv[7] = 4, 1                       # coal, stone furnace
    raw[324:356] = np.frombuffer(inv.tobytes(), np.uint8)
    raw[367] = 1                                # a drill was placed on ore

    def slot(k, ent, dx, dy, fuel=0, flags=0):
        raw[372 + 8 * k:380 + 8 * k] = [ent, dx & 255, dy & 255, fuel, 0, 0, 0, flags]

    slot(0, 5, 9, 0)                            # a furnace, off the drill's drop tile
    slot(1, 6, 2, 3, fuel=5)                    # the first drill
    slot(2, 5, 2, 1, flags=1)                   # on its drop tile (2, 2), burning
    slot(3, 6, -7, 20)
    for x, y in ((-1, 0), (3, -4)):             # iron-ore cells with ore left
        i = (y + 4) * 9 + x + 4
        raw[4 * i:4 * i + 4] = np.frombuffer(np.array([(1 << 12) | (300 << 16)], "<u4").tobytes(), np.uint8)
    f = {x["name"]: x["start"] for x in feature_fields(name)}
    got = factorio_fast.decode(raw, name)

    def tile(col):
        block = got[col:col + 20]
        assert block.sum() in (0, 2)
        return (int(np.argmax(block[:10])) - 4, int(np.argmax(block[10:])) - 4) if block.sum() else None

    assert tile(f["drill_tile"]) == (2, 3)
    assert tile(f["furnace_spot"]) == (2, 1)
    assert tile(f["furnace_tile"]) == (5, 0)    # dx 9 is out of range: column 9, i.e. "+5"
    assert tile(f["ore_tile"]) == (-1, 0)
    np.testing.assert_array_equal(got[f["plan_bits"]:f["plan_bits"] + 7], [0, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(got, ref.decode(raw, name))
    empty = factorio_fast.decode(np.zeros(512, np.uint8), name)
    assert not empty[f["drill_tile"]:].any()    # no building, no ore, nothing held
    rng = np.random.default_rng(3)
    rows = np.tile(raw, (300, 1))
    for k in range(8):
        rows[:, 372 + 8 * k] = rng.choice([0, 5, 6], 300)
        rows[:, 373 + 8 * k:375 + 8 * k] = rng.integers(-6, 7, (300, 2)).astype(np.uint8)
        rows[:, 375 + 8 * k] = rng.integers(0, 2, 300)
        rows[:, 379 + 8 * k] = rng.integers(0, 2, 300)
    rows[:, 324:356] = rng.integers(0, 2, (300, 32))
    np.testing.assert_array_equal(factorio_fast.decode(rows, name), ref.decode(rows, name))
    on = factorio_fast.decode(rows, name)[:, f["plan_bits"] + 4]
    assert 0 < on.mean() < 1                   # both outcomes drawn
