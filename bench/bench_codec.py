"""Cell codec throughput: bulk C vs a numpy vectorised implementation vs per-cell Python.

Group ``codec``. Throughput = extra_info["items"] (cells) / time. Run:

    pytest bench/bench_codec.py --benchmark-only --benchmark-columns=median,ops
"""

import numpy as np
import pytest

from factorio_fast import _reference as ref
from factorio_fast import codec

N = 1 << 20          # cells per bulk call (a 1024-env batch of 32x32 maps)
N_PY = 1 << 12       # per-cell Python is ~1000x slower: fewer cells, same items bookkeeping


@pytest.fixture(scope="module")
def fields():
    rng = np.random.default_rng(7)
    return (rng.integers(0, 16, N, dtype=np.uint8), rng.integers(0, 6000, N).astype(np.uint16),
            rng.integers(0, 16, N, dtype=np.uint8), rng.random(N) < 0.2)


def numpy_encode(tile, amount, entity, blocked):
    """The obvious vectorised numpy version of the same codec (saturation included)."""
    return ((tile.astype(np.uint32) << 28) | (np.minimum(amount, 4095).astype(np.uint32) << 16)
            | (entity.astype(np.uint32) << 12) | blocked.astype(np.uint32))


def numpy_decode(cells):
    return ((cells >> 28).astype(np.uint8), ((cells >> 16) & 0xFFF).astype(np.uint16),
            ((cells >> 12) & 0xF).astype(np.uint8), (cells & 1).astype(bool))


@pytest.mark.benchmark(group="codec")
def test_encode_cells(benchmark, fields):
    out = np.empty(N, np.uint32)
    benchmark.extra_info["items"] = N
    res = benchmark(codec.encode_cells, *fields, out=out)
    np.testing.assert_array_equal(res, numpy_encode(*fields))


@pytest.mark.benchmark(group="codec")
def test_baseline_numpy_encode(benchmark, fields):
    benchmark.extra_info["items"] = N
    benchmark(numpy_encode, *fields)


@pytest.mark.benchmark(group="codec")
def test_baseline_python_encode(benchmark, fields):
    rows = list(zip(*(f[:N_PY].tolist() for f in fields)))
    benchmark.extra_info["items"] = N_PY
    benchmark(lambda: [ref.encode_cell(*r) for r in rows])


@pytest.mark.benchmark(group="codec")
def test_decode_cells(benchmark, fields):
    cells = numpy_encode(*fields)
    benchmark.extra_info["items"] = N
    t, a, e, b = benchmark(codec.decode_cells, cells)
    np.testing.assert_array_equal(a, np.minimum(fields[1], 4095))


@pytest.mark.benchmark(group="codec")
def test_decode_cells_into(benchmark, fields):
    cells = numpy_encode(*fields)
    out = (np.empty(N, np.uint8), np.empty(N, np.uint16), np.empty(N, np.uint8),
           np.empty(N, np.bool_))
    benchmark.extra_info["items"] = N
    benchmark(codec.decode_cells, cells, out)
    np.testing.assert_array_equal(out[1], np.minimum(fields[1], 4095))


@pytest.mark.benchmark(group="codec")
def test_baseline_numpy_decode_into(benchmark, fields):
    cells = numpy_encode(*fields)
    tmp = np.empty(N, np.uint32)
    out = (np.empty(N, np.uint8), np.empty(N, np.uint16), np.empty(N, np.uint8),
           np.empty(N, np.bool_))

    def decode():
        np.right_shift(cells, 28, out=tmp)
        np.copyto(out[0], tmp, casting="unsafe")
        np.right_shift(cells, 16, out=tmp)
        np.bitwise_and(tmp, 0xFFF, out=tmp)
        np.copyto(out[1], tmp, casting="unsafe")
        np.right_shift(cells, 12, out=tmp)
        np.bitwise_and(tmp, 0xF, out=tmp)
        np.copyto(out[2], tmp, casting="unsafe")
        np.bitwise_and(cells, 1, out=tmp)
        np.copyto(out[3], tmp, casting="unsafe")

    benchmark.extra_info["items"] = N
    benchmark(decode)
    np.testing.assert_array_equal(out[1], np.minimum(fields[1], 4095))


@pytest.mark.benchmark(group="codec")
def test_baseline_numpy_decode(benchmark, fields):
    cells = numpy_encode(*fields)
    benchmark.extra_info["items"] = N
    benchmark(numpy_decode, cells)


@pytest.mark.benchmark(group="codec")
def test_baseline_python_decode(benchmark, fields):
    cells = numpy_encode(*fields)[:N_PY].tolist()
    benchmark.extra_info["items"] = N_PY
    benchmark(lambda: [ref.decode_cell(c) for c in cells])


@pytest.mark.benchmark(group="codec")
def test_unpack_planes(benchmark, fields):
    cells = numpy_encode(*fields).reshape(-1, 32, 32)
    out = np.empty(cells.shape + (8,), np.uint8)
    benchmark.extra_info["items"] = N
    benchmark(codec.unpack_planes, cells, out)


@pytest.mark.benchmark(group="codec")
def test_baseline_numpy_unpack_planes(benchmark, fields):
    cells = numpy_encode(*fields).reshape(-1, 32, 32)
    out = np.zeros(cells.shape + (8,), np.uint8)

    def planes():
        out[..., 0] = cells >> 28
        out[..., 1] = cells & 1
        out[..., 2] = (cells >> 12) & 0xF
        out[..., 3] = (((cells >> 16) & 0xFFF) * 255 + 2047) // 4095
        return out

    benchmark.extra_info["items"] = N
    benchmark(planes)
    np.testing.assert_array_equal(out, codec.unpack_planes(cells))


@pytest.mark.benchmark(group="frame")
def test_decode_frame_actions(benchmark):
    import factorio_fast
    raw = codec.encode_frame(codec.FrameType.ACTIONS, np.zeros(64, factorio_fast.ACTION_DTYPE))
    benchmark.extra_info["items"] = 1
    benchmark(codec.decode_frame, raw)


@pytest.mark.benchmark(group="frame")
def test_baseline_reference_decode_frame_actions(benchmark):
    import factorio_fast
    raw = codec.encode_frame(codec.FrameType.ACTIONS, np.zeros(64, factorio_fast.ACTION_DTYPE))
    benchmark.extra_info["items"] = 1

    def decode():  # the reference returns raw bytes; give it the same typed, owned result
        ftype, seq, body = ref.decode_frame(raw)
        return ftype, seq, np.frombuffer(bytearray(body), factorio_fast.ACTION_DTYPE)

    benchmark(decode)
