"""The compiled cell codec equals the pure-Python reference bit for bit."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from factorio_fast import _reference as ref
from factorio_fast import codec
from factorio_fast.errors import InvalidArgumentError

tiles = st.integers(0, 15)
entities = st.integers(0, 15)
amounts = st.integers(0, 2**40)


@pytest.fixture(scope="module")
def golden(data_dir):
    return json.loads((data_dir / "golden_cells.json").read_text())


def test_codec_golden_cells_scalar(golden):
    for t, a, e, b, cell in golden["rows"]:
        assert codec.encode_cell(t, a, e, b) == cell == ref.encode_cell(t, a, e, b)
        assert codec.decode_cell(cell) == (t, min(a, 4095), e, b)


def test_codec_golden_cells_bulk(golden):
    rows = np.array([r[:4] + [r[4]] for r in golden["rows"]], dtype=np.int64)
    cells = codec.encode_cells(rows[:, 0].astype(np.uint8), rows[:, 1].astype(np.uint32)
                               if rows[:, 1].max() < 2**32 else rows[:, 1],
                               rows[:, 2].astype(np.uint8), rows[:, 3].astype(bool))
    np.testing.assert_array_equal(cells, rows[:, 4].astype(np.uint32))
    t, a, e, b = codec.decode_cells(cells)
    np.testing.assert_array_equal(t, rows[:, 0])
    np.testing.assert_array_equal(a, np.minimum(rows[:, 1], 4095))
    np.testing.assert_array_equal(e, rows[:, 2])
    np.testing.assert_array_equal(b, rows[:, 3].astype(bool))


def test_codec_golden_planes(golden):
    cells = np.array([c for c, _ in golden["planes"]], dtype=np.uint32).reshape(1, 1, -1)
    planes = codec.unpack_planes(cells)
    expected = np.array([p for _, p in golden["planes"]], dtype=np.uint8)
    np.testing.assert_array_equal(planes[0, 0], expected)


@given(tiles, amounts, entities, st.booleans())
def test_codec_encode_equals_reference(t, a, e, b):
    cell = codec.encode_cell(t, a, e, b)
    assert cell == ref.encode_cell(t, a, e, b)
    assert codec.decode_cell(cell) == ref.decode_cell(cell) == (t, min(a, 4095), e, b)


@given(st.integers(0, 2**32 - 1))
def test_codec_decode_any_word_equals_reference(cell):
    try:
        expected = ref.decode_cell(cell)
    except InvalidArgumentError:
        with pytest.raises(InvalidArgumentError, match="reserved"):
            codec.decode_cell(cell)
    else:
        assert codec.decode_cell(cell) == expected


def test_codec_amount_saturates_at_4095_not_wraps():
    # The seed's `amount & 0xFFF` maps 4096 to 0; we saturate.
    assert codec.decode_cell(codec.encode_cell(0, 4096, 0, False))[1] == 4095
    assert codec.decode_cell(codec.encode_cell(0, 4095, 0, False))[1] == 4095
    assert codec.decode_cell(codec.encode_cell(0, 4094, 0, False))[1] == 4094
    big = codec.encode_cells(np.zeros(3, np.uint8), np.array([4096, 70000, 2**32 - 1], np.uint32),
                             np.zeros(3, np.uint8), np.zeros(3, bool))
    assert ((big >> 16) & 0xFFF).tolist() == [4095, 4095, 4095]


@pytest.mark.parametrize("field,value", [("tile", 16), ("tile", -1), ("entity", 16), ("entity", -3)])
def test_codec_encode_cell_rejects_out_of_range_ids(field, value):
    kw = {"tile": 0, "amount": 0, "entity": 0, "blocked": False, field: value}
    with pytest.raises(InvalidArgumentError, match=f"{field} id must be in 0..15"):
        codec.encode_cell(**kw)


def test_codec_encode_cell_rejects_negative_amount_and_non_integers():
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        codec.encode_cell(0, -1, 0, False)
    with pytest.raises(InvalidArgumentError, match="integer"):
        codec.encode_cell(1.5, 0, 0, False)
    with pytest.raises(InvalidArgumentError, match="32-bit"):
        codec.decode_cell(2**32)


cell_fields = st.tuples(
    hnp.array_shapes(min_dims=0, max_dims=3, max_side=7),
    st.sampled_from([np.uint16, np.uint32, np.int64]),
)


@given(cell_fields, st.data())
def test_codec_bulk_equals_reference_any_shape(spec, data):
    shape, amount_dtype = spec
    hi = 70000 if amount_dtype != np.uint16 else 65535
    t = data.draw(hnp.arrays(np.uint8, shape, elements=tiles))
    a = data.draw(hnp.arrays(amount_dtype, shape, elements=st.integers(0, hi)))
    e = data.draw(hnp.arrays(np.uint8, shape, elements=entities))
    b = data.draw(hnp.arrays(np.bool_, shape))
    cells = codec.encode_cells(t, a, e, b)
    assert cells.shape == shape and cells.dtype == np.uint32
    flat = [ref.encode_cell(int(x), int(y), int(z), bool(w))
            for x, y, z, w in zip(t.ravel(), a.ravel(), e.ravel(), b.ravel())]
    assert cells.ravel().tolist() == flat
    dt, da, de, db = codec.decode_cells(cells)
    np.testing.assert_array_equal(dt, t)
    np.testing.assert_array_equal(da, np.minimum(a, 4095))
    np.testing.assert_array_equal(de, e)
    np.testing.assert_array_equal(db, b)


def test_codec_bulk_rejects_bad_ids_with_index():
    t = np.zeros(10, np.uint8)
    t[7] = 16
    with pytest.raises(InvalidArgumentError, match="element 7 has tile 16"):
        codec.encode_cells(t, np.zeros(10, np.uint16), np.zeros(10, np.uint8), np.zeros(10, bool))
    with pytest.raises(InvalidArgumentError, match="0..15"):
        codec.encode_cells(np.array([-1]), [0], [0], [False])
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        codec.encode_cells([0], np.array([-5]), [0], [False])
    with pytest.raises(InvalidArgumentError, match="integers"):
        codec.encode_cells(np.array([0.5]), [0], [0], [False])


def test_codec_bulk_broadcasts_and_writes_into_out():
    out = np.zeros((4, 3), np.uint32)
    res = codec.encode_cells(np.uint8(1), np.arange(3, dtype=np.uint16), np.zeros((4, 1), np.uint8),
                             True, out=out)
    assert res is out
    assert out[2, 2] == ref.encode_cell(1, 2, 0, True)
    with pytest.raises(InvalidArgumentError, match="out must be"):
        codec.encode_cells(0, 0, 0, False, out=np.zeros(2, np.uint32))


def test_codec_decode_cells_rejects_reserved_bits():
    cells = np.zeros(5, np.uint32)
    cells[3] = 0x10
    with pytest.raises(InvalidArgumentError, match="cell 3"):
        codec.decode_cells(cells)
    with pytest.raises(InvalidArgumentError, match="uint32"):
        codec.decode_cells(np.array([-1]))


@given(hnp.arrays(np.uint32, hnp.array_shapes(min_dims=2, max_dims=4, max_side=6),
                  elements=st.builds(ref.encode_cell, tiles, st.integers(0, 5000), entities,
                                     st.booleans())))
def test_codec_unpack_planes_equals_reference(cells):
    hwc = codec.unpack_planes(cells)
    chw = codec.unpack_planes(cells, layout="chw")
    assert hwc.shape == cells.shape + (8,)
    assert chw.shape == cells.shape[:-2] + (8,) + cells.shape[-2:]
    expected = np.array([ref.unpack_planes_cell(int(c)) for c in cells.ravel()],
                        dtype=np.uint8).reshape(hwc.shape)
    np.testing.assert_array_equal(hwc, expected)
    np.testing.assert_array_equal(np.moveaxis(chw, -3, -1), expected)


def test_codec_unpack_planes_reuses_out_and_fills_state_local_map():
    import factorio_fast
    state = np.zeros(2, factorio_fast.STATE_DTYPE)
    state["local_map"][:] = 77  # stale values must be overwritten, reserved channels zeroed
    cells = np.full((2, 32, 32), ref.encode_cell(11, 4095, 1, True), np.uint32)
    out = codec.unpack_planes(cells, out=state["local_map"].copy())
    assert out[0, 5, 5].tolist() == [11, 1, 1, 255, 0, 0, 0, 0]
    with pytest.raises(InvalidArgumentError, match="shape"):
        codec.unpack_planes(np.zeros(5, np.uint32))
    with pytest.raises(InvalidArgumentError, match="layout"):
        codec.unpack_planes(cells, layout="nhwc")


def test_codec_decode_cells_into_caller_arrays_equals_new_arrays():
    rng = np.random.default_rng(5)
    cells = codec.encode_cells(rng.integers(0, 16, (7, 9)), rng.integers(0, 5000, (7, 9)),
                               rng.integers(0, 16, (7, 9)), rng.integers(0, 2, (7, 9)))
    out = (np.empty((7, 9), np.uint8), np.empty((7, 9), np.uint16), np.empty((7, 9), np.uint8),
           np.empty((7, 9), np.bool_))
    got = codec.decode_cells(cells, out)
    assert all(g is o for g, o in zip(got, out))
    for g, want in zip(got, codec.decode_cells(cells)):
        np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("out", [
    "nope",
    (np.empty(4, np.uint8),) * 3,
    (np.empty(4, np.uint8), np.empty(4, np.uint8), np.empty(4, np.uint8), np.empty(4, np.bool_)),
    (np.empty(4, np.uint8), np.empty(4, np.uint16), np.empty(4, np.uint8), np.empty(5, np.bool_)),
])
def test_codec_decode_cells_rejects_bad_out(out):
    with pytest.raises(InvalidArgumentError, match="out"):
        codec.decode_cells(np.zeros(4, np.uint32), out)


def test_codec_encode_cells_error_leaves_out_untouched():
    tile = np.array([1, 2, 16, 3], np.uint8)  # 16 is out of range
    out = np.full(4, 0xDEADBEEF, np.uint32)
    with pytest.raises(InvalidArgumentError, match="element 2"):
        codec.encode_cells(tile, np.zeros(4, np.uint16), np.zeros(4, np.uint8), np.zeros(4, bool),
                           out=out)
    assert (out == 0xDEADBEEF).all()
