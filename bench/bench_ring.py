"""Ring throughput across processes, 64-byte messages, single and batched.

Group ``ring``. A producer process (started once per benchmark, fork) pushes
``extra_info["items"]`` messages per benchmark call when told to over a pipe; the benchmark
times the consumer (this process) receiving all of them, so the figure is end-to-end
producer -> consumer throughput: msgs/s = items / median. Baselines in the same run:
``multiprocessing.Queue`` and ``faster_fifo.Queue`` (a C++ shared-memory queue), each with the
same message size, single items and batches of ``BATCH``.

    pytest bench/bench_ring.py --benchmark-only --benchmark-columns=median,ops

``tools/bench_bridge.py`` runs this file and prints msgs/s and ratios.
"""

import multiprocessing as mp

import numpy as np
import pytest

from factorio_fast._bridge import RingBuffer, SharedArena

MSG = 64
BATCH = 1024
CAP = 4096
N_BATCH = 1 << 20     # messages per call, batched (amortises the per-call start signal)
N_SINGLE = 20_000     # messages per call, one at a time
N_BASE_BATCH = 100_000  # baselines are 10-100x slower: fewer messages, same bookkeeping
N_BASE_SINGLE = 5_000
TIMEOUT = 60.0


def _ring_producer(name, conn):
    a = SharedArena.attach(name)
    r = RingBuffer(a, 0, CAP, MSG, create=False)
    block = np.zeros((BATCH, MSG), np.uint8)
    seqs = block.view(np.uint64)[:, 0]
    msg = bytearray(MSG)
    while True:
        cmd = conn.recv()
        if cmd is None:
            break
        mode, n = cmd
        if mode == "single":
            put = r.put
            for _ in range(n):
                put(msg, True, TIMEOUT)
        else:
            k = 0
            while k < n:
                m = min(BATCH, n - k)
                seqs[:m] = np.arange(k, k + m, dtype=np.uint64)
                r.put_many(block[:m], timeout=TIMEOUT)
                k += m
    r.close()
    a.close()


@pytest.fixture(scope="module")
def ring_pair():
    ctx = mp.get_context("fork")
    a = SharedArena.create(RingBuffer.size_for(CAP, MSG), expected_attaches=1)
    r = RingBuffer(a, 0, CAP, MSG, create=True)
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_ring_producer, args=(a.name, child), daemon=True)
    p.start()
    yield r, parent
    parent.send(None)
    p.join(TIMEOUT)
    if p.is_alive():
        p.kill()
        p.join()
    r.close()
    a.close()


@pytest.mark.benchmark(group="ring")
def test_ring_single(benchmark, ring_pair):
    r, conn = ring_pair
    get = r.get

    def run():
        conn.send(("single", N_SINGLE))
        for _ in range(N_SINGLE):
            get(True, TIMEOUT)

    benchmark.extra_info["items"] = N_SINGLE
    benchmark.extra_info["message_bytes"] = MSG
    benchmark(run)


@pytest.mark.benchmark(group="ring")
def test_ring_batched(benchmark, ring_pair):
    r, conn = ring_pair
    out = np.empty((BATCH, MSG), np.uint8)
    seq_col = out.view(np.uint64)[:, 0]

    def run():
        conn.send(("batch", N_BATCH))
        got = 0
        last = -1
        while got < N_BATCH:
            k = r.get_many(out=out, timeout=TIMEOUT)
            got += k
            last = seq_col[k - 1]
        return int(last)

    benchmark.extra_info["items"] = N_BATCH
    benchmark.extra_info["message_bytes"] = MSG
    benchmark.extra_info["batch"] = BATCH
    assert benchmark(run) == N_BATCH - 1


# ---- baselines ---------------------------------------------------------------------------

def _queue_producer(q, conn, batched_kind):
    msg = bytes(MSG)
    # distinct objects: pickle memoises repeated ones, which would flatter the batched queue
    batch = [k.to_bytes(8, "little") + bytes(MSG - 8) for k in range(BATCH)]
    while True:
        cmd = conn.recv()
        if cmd is None:
            break
        mode, n = cmd
        if mode == "single":
            for _ in range(n):
                q.put(msg)
        else:
            k = 0
            while k < n:
                m = min(BATCH, n - k)
                if batched_kind == "faster_fifo":
                    q.put_many(batch[:m], timeout=TIMEOUT)
                else:  # multiprocessing.Queue has no batch put: one pickled list per batch
                    q.put(batch[:m])
                k += m


def _queue_fixture(kind):
    ctx = mp.get_context("fork")
    if kind == "faster_fifo":
        faster_fifo = pytest.importorskip("faster_fifo")
        q = faster_fifo.Queue(max_size_bytes=CAP * (MSG + 64))
    else:
        q = ctx.Queue(maxsize=CAP)
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_queue_producer, args=(q, child, kind), daemon=True)
    p.start()
    return q, parent, p


def _stop(conn, p):
    conn.send(None)
    p.join(TIMEOUT)
    if p.is_alive():
        p.kill()
        p.join()


@pytest.fixture(scope="module")
def mp_queue():
    q, conn, p = _queue_fixture("mp")
    yield q, conn
    _stop(conn, p)
    q.close()
    q.join_thread()


@pytest.fixture(scope="module")
def ff_queue():
    q, conn, p = _queue_fixture("faster_fifo")
    yield q, conn
    _stop(conn, p)


def _bench_queue_single(benchmark, queue_and_conn):
    q, conn = queue_and_conn

    def run():
        conn.send(("single", N_BASE_SINGLE))
        for _ in range(N_BASE_SINGLE):
            q.get(True, TIMEOUT)

    benchmark.extra_info["items"] = N_BASE_SINGLE
    benchmark.extra_info["message_bytes"] = MSG
    benchmark(run)


def _bench_queue_batched(benchmark, queue_and_conn, get_batch):
    q, conn = queue_and_conn

    def run():
        conn.send(("batch", N_BASE_BATCH))
        got = 0
        while got < N_BASE_BATCH:
            got += len(get_batch(q))

    benchmark.extra_info["items"] = N_BASE_BATCH
    benchmark.extra_info["message_bytes"] = MSG
    benchmark.extra_info["batch"] = BATCH
    benchmark(run)


@pytest.mark.benchmark(group="ring")
def test_baseline_mp_queue_single(benchmark, mp_queue):
    _bench_queue_single(benchmark, mp_queue)


@pytest.mark.benchmark(group="ring")
def test_baseline_mp_queue_batched(benchmark, mp_queue):
    # the producer puts lists of BATCH messages
    _bench_queue_batched(benchmark, mp_queue, lambda q: q.get(True, TIMEOUT))


@pytest.mark.benchmark(group="ring")
def test_baseline_faster_fifo_single(benchmark, ff_queue):
    _bench_queue_single(benchmark, ff_queue)


@pytest.mark.benchmark(group="ring")
def test_baseline_faster_fifo_batched(benchmark, ff_queue):
    _bench_queue_batched(benchmark, ff_queue, lambda q: q.get_many(True, TIMEOUT, BATCH))
