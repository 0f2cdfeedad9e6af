"""The wire frame: golden vectors, round trips, strict rejection, and a differential fuzz run."""

import json
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import factorio_fast
from factorio_fast import _fuzz, codec
from factorio_fast import _reference as ref
from factorio_fast.codec import FrameType
from factorio_fast.errors import InvalidArgumentError, ProtocolError


@pytest.fixture(scope="module")
def golden(data_dir):
    return {name: bytes.fromhex(h) for name, h in
            json.loads((data_dir / "golden_frames.json").read_text())["frames"]}


def test_frame_golden_vectors_decode(golden):
    f = codec.decode_frame(golden["actions"])
    assert f.type == FrameType.ACTIONS and f.sequence == 12345
    assert f.payload.dtype == factorio_fast.ACTION_DTYPE and f.payload.shape == (2,)
    assert f.payload[0]["action_type"] == 3
    assert f.payload[0]["parameters"].tolist() == [1.0, -2.5, 0, 0, 0, 0, 0, 0.25]
    assert f.payload[1]["command_id"] == 2**63
    s = codec.decode_frame(golden["state"])
    assert s.sequence == 2**64 - 1 and s.payload[0]["timestamp"] == 600
    assert s.payload[0]["player_pos"].tolist() == [12.5, -3.25]
    o = codec.decode_frame(golden["observation"]).payload
    assert o.scenario_id == 1 and o.obs.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert o.rewards.tolist() == [1.0, -0.5]
    assert o.terminated.tolist() == [True, False] and o.truncated.tolist() == [False, True]
    assert codec.decode_frame(golden["reset"]).payload.tolist() == [0, 41]
    assert codec.decode_frame(golden["error"]).payload == "bad action: 9 ∉ 0..8"
    assert codec.decode_frame(golden["actions_empty"]).payload.shape == (0,)


def test_frame_golden_vectors_reencode_identically(golden):
    for name, raw in golden.items():
        f = codec.decode_frame(raw)
        if f.type == FrameType.OBSERVATION:
            p = f.payload
            again = codec.encode_observations(p.obs, p.rewards, p.terminated, p.truncated,
                                              p.scenario_id, f.sequence)
        else:
            again = codec.encode_frame(f.type, f.payload, f.sequence)
        assert again == raw, name


def test_frame_header_layout_is_little_endian():
    raw = codec.encode_frame(FrameType.RESET, [7], sequence=0x0102030405060708)
    assert struct.unpack("<HBBIQ", raw[:16]) == (0xFA57, 1, 4, 8, 0x0102030405060708)
    assert raw[:2] == b"\x57\xfa"


@given(st.lists(st.tuples(st.integers(0, 255), st.lists(st.floats(width=32, allow_nan=False),
                                                          min_size=8, max_size=8),
                          st.integers(0, 2**64 - 1)), max_size=20),
       st.integers(0, 2**64 - 1))
def test_frame_actions_round_trip(records, seq):
    acts = np.zeros(len(records), factorio_fast.ACTION_DTYPE)
    for i, (t, p, c) in enumerate(records):
        acts[i] = (t, p, c)
    raw = codec.encode_frame(FrameType.ACTIONS, acts, seq)
    assert ref.decode_frame(raw)[1] == seq
    back = codec.decode_frame(raw)
    assert back.sequence == seq
    np.testing.assert_array_equal(back.payload, acts)
    # padding bytes are zero on the wire whatever the array held
    assert all(raw[16 + 48 * i + 1:16 + 48 * i + 4] == b"\0\0\0" for i in range(len(records)))


def test_frame_rejections_are_specific():
    good = codec.encode_frame(FrameType.ACTIONS, np.zeros(2, factorio_fast.ACTION_DTYPE), 5)
    cases = {
        "truncated": good[:-1],
        "magic": b"\x00" + good[1:],
        "version": good[:2] + b"\x02" + good[3:],
        "unknown frame type": good[:3] + b"\x09" + good[4:],
        "trailing": good + b"\0",
        "maximum": good,
    }
    for what, raw in cases.items():
        with pytest.raises(ProtocolError, match=what):
            codec.decode_frame(raw, max_payload=95 if what == "maximum" else 1 << 20)
    bad_len = bytearray(good[:16 + 47])
    struct.pack_into("<I", bad_len, 4, 47)
    with pytest.raises(ProtocolError, match="does not fit the frame type"):
        codec.decode_frame(bytes(bad_len))
    with pytest.raises(ProtocolError, match="need 16"):
        codec.decode_frame(good[:9])
    with pytest.raises(ProtocolError, match="bytes-like"):
        codec.decode_frame(12)
    bad_utf8 = ref.HEADER.pack(0xFA57, 1, 5, 2, 0) + b"\xff\xfe"
    with pytest.raises(ProtocolError, match="UTF-8"):
        codec.decode_frame(bad_utf8)


def test_frame_errors_are_value_errors():
    with pytest.raises(ValueError):
        codec.decode_frame(b"garbage!")


def test_frame_encode_validates_payload_type():
    with pytest.raises(InvalidArgumentError, match="ACTION_DTYPE"):
        codec.encode_frame(FrameType.ACTIONS, np.zeros(3, np.uint8))
    with pytest.raises(InvalidArgumentError, match="malformed"):
        codec.encode_frame(FrameType.STATE, b"\0" * 100)
    with pytest.raises(InvalidArgumentError, match="unknown frame type"):
        codec.encode_frame(42, b"")
    with pytest.raises(InvalidArgumentError, match="u64"):
        codec.encode_frame(FrameType.RESET, [], sequence=-1)


def test_frame_peek_frames_a_stream():
    a = codec.encode_frame(FrameType.ERROR, "one", 1)
    b = codec.encode_frame(FrameType.RESET, [1, 2], 2)
    stream = a + b
    t, seq, size = codec.peek_frame(stream)
    assert (t, seq, size) == (FrameType.ERROR, 1, len(a))
    assert codec.decode_frame(stream[:size]).payload == "one"
    t, seq, size = codec.peek_frame(stream[len(a):])
    assert codec.decode_frame(stream[len(a):len(a) + size]).payload.tolist() == [1, 2]
    with pytest.raises(ProtocolError, match="truncated"):
        codec.peek_frame(b[:10])
    with pytest.raises(ProtocolError, match="magic"):
        codec.peek_frame(b"\x01\x02")  # garbage is refused as soon as the first bytes disagree


def test_frame_decode_copies_payload_so_buffer_can_be_reused():
    buf = bytearray(codec.encode_frame(FrameType.RESET, [99], 0))
    f = codec.decode_frame(buf)
    buf[16] = 0
    assert f.payload.tolist() == [99]


def test_frame_fuzz_differential_100k():
    """100k random and mutated frames: only ProtocolError, and the same verdicts as _reference."""
    stats = _fuzz.run(100_000, seed=1234)
    assert stats["accepted"] > 5_000 and stats["rejected"] > 50_000, stats


# ---- RESET seeds: the whole uint64 range, and an empty reset --------------------------------

U64 = st.integers(0, 2**64 - 1)


def _reset_reference(seeds, seq):
    return ref.encode_frame(ref.RESET, struct.pack(f"<{len(seeds)}Q", *seeds), seq)


def test_frame_reset_accepts_empty_and_values_past_int64():
    for seeds in ([], (), [1, 2**63], [0, 2**64 - 1], [2**63 - 1, 2**63, 2**64 - 1]):
        raw = codec.encode_frame(FrameType.RESET, seeds, 3)
        assert raw == _reset_reference(list(seeds), 3)
        back = codec.decode_frame(raw).payload
        assert back.dtype == np.uint64 and back.tolist() == list(seeds)
    assert codec.encode_frame(FrameType.RESET, np.array([2**64 - 1], np.uint64)) == \
        _reset_reference([2**64 - 1], 0)
    assert codec.encode_frame(FrameType.RESET, np.array([2**64 - 1], object)) == \
        _reset_reference([2**64 - 1], 0)
    assert codec.encode_frame(FrameType.RESET, np.zeros(0, np.int64)) == _reset_reference([], 0)
    assert codec.encode_frame(FrameType.RESET, 2**64 - 1) == _reset_reference([2**64 - 1], 0)


@given(st.lists(U64, max_size=40), U64, st.sampled_from(["list", "tuple", "u64", "object"]))
def test_frame_reset_round_trips_any_uint64_seeds(seeds, seq, form):
    payload = {"list": list, "tuple": tuple, "u64": lambda s: np.array(s, dtype=np.uint64),
               "object": lambda s: np.array(s, dtype=object)}[form](seeds)
    raw = codec.encode_frame(FrameType.RESET, payload, seq)
    assert raw == _reset_reference(seeds, seq)
    back = codec.decode_frame(raw)
    assert back.type == FrameType.RESET and back.sequence == seq
    assert back.payload.dtype == np.uint64 and back.payload.tolist() == seeds


BAD_SEED = st.one_of(st.integers(max_value=-1), st.integers(min_value=2**64),
                     st.floats(), st.text(max_size=3), st.none(), st.booleans(),
                     st.lists(U64, min_size=1, max_size=2))


@given(st.lists(U64, max_size=5), BAD_SEED, st.lists(U64, max_size=5))
def test_frame_reset_refuses_seeds_outside_uint64(before, bad, after):
    with pytest.raises(InvalidArgumentError, match="seed"):
        codec.encode_frame(FrameType.RESET, [*before, bad, *after])


def test_frame_reset_refuses_non_integer_arrays():
    for arr in (np.array([1.0]), np.array([-1]), np.array([True]), np.array(["7"]),
                np.array([-1], object), np.array([2**64], object), np.array([1.5], object)):
        with pytest.raises(InvalidArgumentError, match="seed"):
            codec.encode_frame(FrameType.RESET, arr)
    for scalar in (-1, 2**64, 1.0, None, object()):
        with pytest.raises(InvalidArgumentError, match="seed"):
            codec.encode_frame(FrameType.RESET, scalar)


# ---- the mod's frames: WORLD (6) and RAW (7), docs/mod.md §3-4 --------------------------------

def _raw_payload(count, record_bytes, fill=b"\x5a"):
    return struct.pack("<BBHHHII", 0, 1, count, record_bytes, 0, 100, 110) + \
        fill * (count * record_bytes)


def test_frame_world_and_raw_round_trip_as_bytes():
    world = struct.pack("<BBHHHHHI", 1, 0, 4, 0, 10, 32, 32, 0)
    raw = _raw_payload(3, 276)
    udp = struct.pack("<HHHH", 40000, 40001, 0, 0)
    for ftype, body in ((FrameType.WORLD, world), (FrameType.RAW, raw), (FrameType.RAW, b""),
                        (FrameType.UDP, udp)):
        frame = codec.encode_frame(ftype, body, 77)
        assert frame == ref.encode_frame(int(ftype), body, 77)
        back = codec.decode_frame(frame)
        assert back.type == ftype and back.sequence == 77 and back.payload == body


@pytest.mark.parametrize("ftype,body", [
    (FrameType.WORLD, b"\0" * 15),                      # shorter than its sub-header
    (FrameType.RAW, b"\0" * 15),                        # (empty is the poll: legal)
    (FrameType.RAW, _raw_payload(3, 276)[:-1]),          # one byte short of count * record
    (FrameType.RAW, _raw_payload(3, 276) + b"\0"),       # one byte over
    (FrameType.RAW, _raw_payload(0, 276) + b"\0" * 276),  # records the count does not declare
    (FrameType.UDP, b"\0" * 7),
    (FrameType.UDP, b"\0" * 9),
])
def test_frame_world_and_raw_sizes_are_checked(ftype, body):
    with pytest.raises(InvalidArgumentError, match="malformed"):
        codec.encode_frame(ftype, body)
    forged = ref.HEADER.pack(0xFA57, 1, int(ftype), len(body), 0) + body
    with pytest.raises(ProtocolError, match="does not fit the frame type"):
        codec.decode_frame(forged)
    with pytest.raises(ProtocolError, match="does not fit the frame type"):
        ref.decode_frame(forged)
