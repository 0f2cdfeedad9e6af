"""The numpy dtypes equal the C structs the compiler laid out (size, offsets, field shapes)."""

import numpy as np

import factorio_fast
from factorio_fast import codec


def test_layout_state_dtype_matches_c():
    c = codec.c_layout()["FactorioState"]
    dt = factorio_fast.STATE_DTYPE
    assert dt.itemsize == c["size"] == 8592
    for name in ("player_pos", "local_map", "inventory", "entities", "timestamp"):
        assert dt.fields[name][1] == c[name], name
    assert dt["player_pos"].shape == (2,) and dt["player_pos"].base == np.dtype("<f4")
    assert dt["local_map"].shape == (32, 32, 8) and dt["local_map"].base == np.uint8
    assert dt["inventory"].shape == (64,) and dt["inventory"].base == np.dtype("<u2")
    assert dt["entities"].shape == (16, 4) and dt["entities"].base == np.dtype("<u4")
    assert dt["timestamp"].base == np.dtype("<u8")


def test_layout_action_dtype_matches_c():
    c = codec.c_layout()["FactorioAction"]
    dt = factorio_fast.ACTION_DTYPE
    assert dt.itemsize == c["size"] == 48
    for name in ("action_type", "parameters", "command_id"):
        assert dt.fields[name][1] == c[name], name
    assert dt["parameters"].shape == (8,) and dt["parameters"].base == np.dtype("<f4")


def test_layout_local_map_depth_is_the_plane_count():
    assert factorio_fast.STATE_DTYPE["local_map"].shape[-1] == codec.NUM_PLANES


def test_layout_hash_is_stable_and_64_bit():
    h = codec.layout_hash()
    assert h == codec.layout_hash()
    assert 0 < h < 2**64
