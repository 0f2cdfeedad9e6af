"""RingBuffer: a Hypothesis state machine against collections.deque, the queue.Queue-like API,
and multiprocess stress over a shared segment (zero lost, duplicated or reordered messages)."""

import collections
import multiprocessing as mp
import queue
import time

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from factorio_fast import errors
from factorio_fast._bridge import RingBuffer, SharedArena

TIMEOUT = 30.0




# ---- model-based ----------------------------------------------------------------------------

SLOT = 16
items_st = st.binary(min_size=0, max_size=SLOT)


class RingMachine(RuleBasedStateMachine):
    """Every operation on the ring is mirrored on a deque bounded by the same capacity."""

    def __init__(self):
        super().__init__()
        self.ring = None
        self.cap = 1
        self.model = collections.deque()

    @initialize(cap=st.sampled_from([1, 2, 4, 8]))
    def make_ring(self, cap):
        self.cap = cap
        self.ring = RingBuffer.create(cap, SLOT)

    def teardown(self):
        if self.ring is not None:
            self.ring.close()

    @rule(item=items_st)
    def put(self, item):
        if len(self.model) < self.cap:
            self.ring.put(item, block=False)
            self.model.append(item)
        else:
            with pytest.raises(errors.RingFull):
                self.ring.put(item, block=False)

    @precondition(lambda self: len(self.model) == self.cap)
    @rule(item=items_st)
    def put_timeout_when_full(self, item):
        with pytest.raises(queue.Full):
            self.ring.put(item, timeout=0.001)

    @rule()
    def get(self):
        if self.model:
            assert self.ring.get(block=False) == self.model.popleft()
        else:
            with pytest.raises(errors.RingEmpty):
                self.ring.get(block=False)

    @precondition(lambda self: not self.model)
    @rule()
    def get_timeout_when_empty(self):
        with pytest.raises(queue.Empty):
            self.ring.get(timeout=0.001)

    @rule(items=st.lists(items_st, max_size=10))
    def put_many(self, items):
        if len(self.model) + len(items) <= self.cap:
            assert self.ring.put_many(items, block=False) == len(items)
            self.model.extend(items)
        else:  # non-blocking put_many is all or nothing
            with pytest.raises(errors.RingFull):
                self.ring.put_many(items, block=False)

    @rule(k=st.integers(0, 10), width=st.integers(1, SLOT), seed=st.integers(0, 2**32 - 1))
    def put_many_array(self, k, width, seed):
        arr = np.random.default_rng(seed).integers(0, 256, (k, width), dtype=np.uint8)
        if len(self.model) + k <= self.cap:
            assert self.ring.put_many(arr, block=False) == k
            self.model.extend(bytes(row) for row in arr)
        else:
            with pytest.raises(errors.RingFull):
                self.ring.put_many(arr, block=False)

    @rule(m=st.integers(0, 12))
    def get_many(self, m):
        got = self.ring.get_many(m, block=False)
        want = [self.model.popleft() for _ in range(min(m, len(self.model), self.cap))]
        assert got == want

    @rule(m=st.integers(1, 12))
    def get_many_into_array(self, m):
        out = np.full((m, SLOT), 0xAA, dtype=np.uint8)
        lens = np.zeros(m, np.uint32)
        n = self.ring.get_many(out=out, block=False, lengths=lens)
        want = [self.model.popleft() for _ in range(min(m, len(self.model)))]
        assert n == len(want)
        for i, w in enumerate(want):
            assert lens[i] == len(w) and bytes(out[i, :lens[i]]) == w

    @invariant()
    def sizes_agree(self):
        assert self.ring.qsize() == len(self.model) == len(self.ring)
        assert self.ring.empty() == (not self.model)
        assert self.ring.full() == (len(self.model) == self.cap)


TestRingMachine = RingMachine.TestCase
TestRingMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


# ---- API -----------------------------------------------------------------------------------

def test_ring_errors_subclass_queue_errors():
    assert issubclass(errors.RingFull, queue.Full)
    assert issubclass(errors.RingEmpty, queue.Empty)


@pytest.mark.parametrize("cap,slot", [(0, 8), (3, 8), (1 << 31, 8), (4, 0), (4, 1 << 25),
                                      (-4, 8)])
def test_ring_bad_geometry(cap, slot):
    with pytest.raises(errors.InvalidArgumentError, match="capacity|slot_size"):
        RingBuffer.size_for(cap, slot)
    with pytest.raises(errors.InvalidArgumentError):
        RingBuffer.create(cap, slot)


def test_ring_item_too_big_and_bad_arrays():
    with RingBuffer.create(4, 8) as r:
        with pytest.raises(errors.InvalidArgumentError, match="does not fit"):
            r.put(b"123456789")
        with pytest.raises(errors.InvalidArgumentError, match="does not fit"):
            r.put_many([b"1", b"123456789"])
        with pytest.raises(errors.InvalidArgumentError, match="2-D uint8"):
            r.put_many(np.zeros((2, 8), np.int16))
        with pytest.raises(errors.InvalidArgumentError, match="do not fit"):
            r.put_many(np.zeros((2, 9), np.uint8))
        with pytest.raises(errors.InvalidArgumentError, match="out must be"):
            r.get_many(out=np.zeros((2, 4), np.uint8))
        with pytest.raises(errors.InvalidArgumentError, match="timeout"):
            r.get(timeout=-1)
        with pytest.raises(TypeError):
            r.put(12)
        assert r.qsize() == 0  # nothing half-put


def test_ring_attach_checks_geometry():
    with SharedArena.create(RingBuffer.size_for(16, 32)) as a:
        r = RingBuffer(a, 0, 8, 32)
        with pytest.raises(errors.LayoutMismatchError, match="another capacity"):
            RingBuffer(a, 0, 16, 32, create=False)
        with pytest.raises(errors.LayoutMismatchError):
            RingBuffer(a, 0, 8, 16, create=False)
        with pytest.raises(errors.InvalidArgumentError, match="do not fit"):
            RingBuffer(a, 64, 16, 32, create=False)
        with pytest.raises(errors.InvalidArgumentError, match="multiple of 64"):
            RingBuffer(a, 8, 8, 32, create=False)
        r2 = RingBuffer(a, 0, 8, 32, create=False)
        r.put(b"hello")
        assert r2.get() == b"hello"
        r2.close()
        r.close()
    with SharedArena.create(RingBuffer.size_for(8, 32)) as a:
        with pytest.raises(errors.LayoutMismatchError):  # zeroed memory: never initialised
            RingBuffer(a, 0, 8, 32, create=False)


def test_ring_blocking_timeouts_are_honoured():
    with RingBuffer.create(2, 8) as r:
        t0 = time.monotonic()
        with pytest.raises(errors.RingEmpty):
            r.get(timeout=0.05)
        assert 0.04 <= time.monotonic() - t0 < 5
        r.put_many([b"a", b"b"])
        t0 = time.monotonic()
        with pytest.raises(errors.RingFull):
            r.put(b"c", timeout=0.05)
        assert 0.04 <= time.monotonic() - t0 < 5
        with pytest.raises(errors.RingFull, match="0 of 3"):
            r.put_many([b"x", b"y", b"z"], timeout=0.01)
        assert r.get_many() == [b"a", b"b"]
        with pytest.raises(errors.RingEmpty):
            r.get_many(timeout=0.01)
        assert r.get_many(block=False) == []


def test_ring_blocking_put_many_partial_progress_is_reported():
    with RingBuffer.create(4, 8) as r:
        with pytest.raises(errors.RingFull, match="4 of 6"):
            r.put_many([bytes([i]) for i in range(6)], timeout=0.02)
        assert r.get_many() == [bytes([i]) for i in range(4)]


def test_ring_second_consumer_thread_is_refused_not_corrupting():
    import threading

    with RingBuffer.create(4, 8) as r:
        got = []
        t = threading.Thread(target=lambda: got.append(r.get(timeout=TIMEOUT)))
        t.start()
        deadline = time.monotonic() + TIMEOUT
        while True:  # bounded: until the thread is inside get() (it then refuses others)
            try:
                r.get(block=False)
            except errors.RingEmpty:
                assert time.monotonic() < deadline
                time.sleep(0.001)
                continue
            except errors.StateError as e:
                assert "single-producer/single-consumer" in str(e)
                break
        with pytest.raises(errors.StateError, match="consumer"):
            r.get_many(block=False)
        r.put(b"one")  # the producer side is free
        t.join(TIMEOUT)
        assert got == [b"one"]
        r.put(b"two")
        assert r.get(block=False) == b"two"  # the guard was released


def test_ring_second_producer_thread_and_close_while_busy_are_state_errors():
    import threading

    with RingBuffer.create(1, 8) as r:
        r.put(b"full")
        t = threading.Thread(target=lambda: r.put(b"late", timeout=TIMEOUT))
        t.start()
        deadline = time.monotonic() + TIMEOUT
        while True:  # bounded: until the thread is blocked inside put()
            try:
                r.put_many([b"x"], block=False)
            except errors.RingFull:
                assert time.monotonic() < deadline
                time.sleep(0.001)
                continue
            except errors.StateError as e:
                assert "producer" in str(e) and not isinstance(e, errors.BusyError)
                break
        with pytest.raises(errors.BusyError, match="in use") as ei:
            r.close()  # its C wait still reads the ring's memory
        assert isinstance(ei.value, BufferError)
        assert r.get() == b"full"  # lets the blocked put in
        t.join(TIMEOUT)
        assert r.get(block=False) == b"late"


def test_ring_pickles_and_closes_cleanly():
    import pickle

    with SharedArena.create(RingBuffer.size_for(4, 8)) as a:
        r = RingBuffer(a, 0, 4, 8)
        r2 = pickle.loads(pickle.dumps(r))
        r.put(b"xy")
        assert r2.get() == b"xy"
        r2.close()
        r2.arena.close()
        r.close()
        r.close()
        with pytest.raises(errors.ClosedError):
            r.get()


# ---- across processes ------------------------------------------------------------------------

def _producer(arena_name, cap, slot, n, batch, spin_us):
    a = SharedArena.attach(arena_name)
    r = RingBuffer(a, 0, cap, slot, create=False, spin_us=spin_us)
    if batch == 1:
        msg = bytearray(slot)
        view = np.frombuffer(msg, np.uint64)
        for k in range(n):
            view[0] = k
            r.put(msg, timeout=TIMEOUT)
    else:
        buf = np.zeros((batch, slot), np.uint8)
        seqs = buf.view(np.uint64)[:, 0]
        k = 0
        while k < n:
            m = min(batch, n - k)
            seqs[:m] = np.arange(k, k + m, dtype=np.uint64)
            r.put_many(buf[:m], timeout=TIMEOUT)
            k += m
    r.close()
    a.close()


def _run_stress(method, n, batch, cap=1024, slot=64, spin_us=None):
    """Producer in a child process, consumer here; every message carries its sequence."""
    ctx = mp.get_context(method)
    a = SharedArena.create(RingBuffer.size_for(cap, slot), expected_attaches=1)
    r = RingBuffer(a, 0, cap, slot, create=True, spin_us=spin_us)
    p = ctx.Process(target=_producer, args=(a.name, cap, slot, n, batch, spin_us))
    p.start()
    try:
        out = np.empty((cap, slot), np.uint8)
        seq_col = out.view(np.uint64)[:, 0]
        expect = 0
        deadline = time.monotonic() + 600
        while expect < n:
            assert time.monotonic() < deadline, "stress test ran out of time"
            if batch == 1:
                item = r.get(timeout=TIMEOUT)
                assert len(item) == slot
                assert int.from_bytes(item[:8], "little") == expect
                expect += 1
            else:
                got = r.get_many(out=out, timeout=TIMEOUT)
                seqs = seq_col[:got]
                want = np.arange(expect, expect + got, dtype=np.uint64)
                if not np.array_equal(seqs, want):
                    bad = int(np.flatnonzero(seqs != want)[0])
                    pytest.fail(f"message {expect + bad}: got sequence {int(seqs[bad])}")
                expect += got
        assert r.get_many(block=False) == []  # nothing duplicated at the end
    finally:
        p.join(TIMEOUT)
        if p.is_alive():
            p.kill()
            p.join()
        r.close()
        a.close()
    assert p.exitcode == 0
    assert expect == n


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_ring_cross_process_batched_short(method):
    _run_stress(method, 300_000, batch=256)


def test_ring_cross_process_single_items_short():
    _run_stress("fork", 30_000, batch=1, cap=64)


def test_ring_cross_process_blocking_mode_tiny_ring():
    # No spinning and a 4-slot ring: every hand-over goes through the futex sleep/wake path.
    _run_stress("fork", 20_000, batch=3, cap=4, spin_us=0)


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 64, 1024])
def test_ring_cross_process_stress_1e7(batch):
    n = 10_000_000 if batch > 1 else 2_000_000
    _run_stress("spawn", n, batch=batch, cap=4096)


@pytest.mark.slow
def test_ring_cross_process_stress_1e7_tiny_ring_blocking():
    _run_stress("fork", 10_000_000, batch=7, cap=8, spin_us=0)
