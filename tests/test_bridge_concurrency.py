"""Bridge robustness: Ctrl-C during timed waits, close() racing a wait in another thread, a
header rewritten by a peer, huge arguments. Each test failed before its fix (real processes,
real shared memory, bounded waits, /dev/shm left clean)."""

import mmap
import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from factorio_fast import errors
from factorio_fast._bridge import Handoff, RingBuffer, SharedArena

TIMEOUT = 20.0




class _Interrupted(Exception):
    pass


def _raise_interrupted(signum, frame):
    raise _Interrupted()


def _interrupt_after(delay):
    """Deliver SIGINT to this process after ``delay`` s (from a helper thread: the handler runs
    in the main thread, as Ctrl-C's does)."""
    t = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    t.daemon = True
    t.start()
    return t


@pytest.fixture
def sigint_raises():
    old = signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


# ---- Ctrl-C during a wait with a (long) finite timeout ------------------------------------------
# Only waits without a timeout were sliced for PyErr_CheckSignals; FactorioVectorEnv always waits
# with a finite timeout (30 s by default), so Ctrl-C was ignored until the timeout expired.

@pytest.mark.parametrize("call", ["wait", "wait_all", "wait_any"])
def test_handoff_trainer_wait_with_timeout_is_interruptible(sigint_raises, call):
    with SharedArena.create(Handoff.size_for(1)) as a:
        h = Handoff(a, 0, 1, create=True, mode="block")
        h.set_worker_pid(0, os.getpid())  # an alive "worker" that never completes
        h.post(0, 1)
        t = _interrupt_after(0.2)
        t0 = time.monotonic()
        try:
            with pytest.raises(_Interrupted):
                getattr(h, call)(*((0,) if call == "wait" else ()), timeout=10.0)
            assert time.monotonic() - t0 < 3.0
        finally:
            t.join()
            h.close()


def test_handoff_worker_wait_command_with_timeout_is_interruptible(sigint_raises):
    with SharedArena.create(Handoff.size_for(1)) as a:
        h = Handoff(a, 0, 1, create=True, mode="block")
        t = _interrupt_after(0.2)
        t0 = time.monotonic()
        try:
            with pytest.raises(_Interrupted):
                h.wait_command(0, timeout=10.0)
            assert time.monotonic() - t0 < 3.0
        finally:
            t.join()
            h.close()


@pytest.mark.parametrize("call", ["get", "get_many", "put", "put_many"])
def test_ring_blocking_call_with_timeout_is_interruptible(sigint_raises, call):
    with RingBuffer.create(2, 8, spin_us=0) as r:
        if call.startswith("put"):
            r.put_many([b"a", b"b"])
        args = {"get": (), "get_many": (), "put": (b"c",), "put_many": ([b"c", b"d"],)}[call]
        t = _interrupt_after(0.2)
        t0 = time.monotonic()
        try:
            with pytest.raises(_Interrupted):
                getattr(r, call)(*args, timeout=10.0)
            assert time.monotonic() - t0 < 3.0
        finally:
            t.join()


def test_handoff_sliced_timeout_still_times_out_on_time():
    with SharedArena.create(Handoff.size_for(1)) as a:
        h = Handoff(a, 0, 1, create=True, mode="block")
        h.set_worker_pid(0, os.getpid())
        h.post(0, 1)
        t0 = time.monotonic()
        try:
            with pytest.raises(errors.WaitTimeoutError):
                h.wait(0, timeout=0.35)
            assert 0.3 <= time.monotonic() - t0 < 2.0
        finally:
            h.close()


# ---- the exported buffer length came from the (peer-writable) segment header ------------------

def test_arena_size_is_the_validated_size_not_the_live_header():
    """A peer (bug or hostile process of the same user) rewriting user_size in the header after
    attach made SharedArena export a buffer longer than its mapping (reads/writes past it:
    SIGSEGV), and let ndarray()/Handoff/RingBuffer place views outside the mapping."""
    with SharedArena.create(4096) as a:
        b = SharedArena.attach(a.name)
        fd = os.open(os.path.join("/dev/shm", a.name), os.O_RDWR)
        try:
            with mmap.mmap(fd, 512) as m:
                off = 8 + 4 + 4 + 8 + 8  # magic, abi, header_size, layout_hash, total_size
                assert struct.unpack_from("<Q", m, off)[0] == 4096
                struct.pack_into("<Q", m, off, 1 << 40)
        finally:
            os.close(fd)
        try:
            for arena in (a, b):
                assert arena.size == 4096
                with memoryview(arena) as mv:
                    assert mv.nbytes == 4096
                with pytest.raises(errors.InvalidArgumentError):
                    arena.ndarray("u1", 8192)
                with pytest.raises(errors.InvalidArgumentError):
                    RingBuffer(arena, 1 << 20, 4, 8)
        finally:
            b.close()


# ---- close() from another thread while a wait runs in C (GIL released) ---------------------------

_CLOSE_WHILE_WAITING = textwrap.dedent("""
    import sys, threading, time
    from factorio_fast import errors
    from factorio_fast._bridge import Handoff, RingBuffer, SharedArena, peek_segment
    kind = sys.argv[1]
    if kind == "ring":
        obj = RingBuffer.create(4, 8, spin_us=0)
        arena = obj.arena
        wait = lambda: obj.get(timeout=1.5)
        expected = errors.RingEmpty
    elif kind == "bridge":
        import numpy as np
        from factorio_fast._bridge import SharedMemoryBridge
        obj = SharedMemoryBridge(1, max_read_tries=4_000_000)  # ~3 s of retries
        arena = obj.arena
        seq = arena.ndarray(np.uint32, (1,), 64)
        seq[0] = 1  # a writer stuck mid-write: read_state retries without the GIL
        del seq
        wait = lambda: obj.read_state(0)
        expected = errors.WaitTimeoutError
    else:
        arena = SharedArena.create(Handoff.size_for(1))
        obj = Handoff(arena, 0, 1, create=True, mode="block")
        if kind == "handoff_worker":
            wait = lambda: obj.wait_command(0, timeout=1.5)
        else:
            obj.post(0, 1)
            wait = lambda: obj.wait(0, timeout=1.5)
        expected = errors.WaitTimeoutError
    out = []
    def run():
        try:
            wait()
        except BaseException as e:
            out.append(e)
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)  # the thread is now inside the C wait
    try:
        obj.close()
        arena.unlink()
        arena.close()  # with the export gone this unmaps the memory the C wait is reading
        print("closed")
    except BufferError as e:  # the fix: refuse while a call is inside the C wait
        print("refused", type(e).__name__, e)
    t.join(10)
    print("waiter", type(out[0]).__name__ if out else None)
    assert out and isinstance(out[0], expected), out
    obj.close()
    arena.unlink()
    arena.close()
    print("ok")
""")


@pytest.mark.parametrize("kind", ["ring", "handoff_trainer", "handoff_worker", "bridge"])
def test_close_while_another_thread_waits_is_refused_not_a_crash(kind):
    """close() freed the scratch/ready buffer and dropped the arena export while another thread
    was blocked in a nogil wait on that memory; the arena could then be unmapped under it
    (SIGSEGV) or the C code wrote into freed memory."""
    p = subprocess.run([sys.executable, "-c", _CLOSE_WHILE_WAITING, kind], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert "refused BusyError" in p.stdout and "ok" in p.stdout, p.stdout


def test_ring_get_many_huge_max_items_does_not_allocate_it():
    """max_items was used to size the output buffer before being clamped to the capacity."""
    with RingBuffer.create(4, 8) as r:
        r.put(b"x")
        assert r.get_many(max_items=1 << 50, block=False) == [b"x"]
