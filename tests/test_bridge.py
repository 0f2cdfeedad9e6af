"""SharedArena (named segments), SharedMemoryBridge (seqlocked state/action slots) and the
reaper, with real processes and real /dev/shm segments."""

import multiprocessing as mp
import os
import stat
import struct
import threading

import numpy as np
import pytest

from factorio_fast import errors, shm
from factorio_fast._bridge import (
    SHM_HEADER_SIZE,
    Handoff,
    RingBuffer,
    SharedArena,
    SharedMemoryBridge,
    peek_segment,
    remove_segment,
    shm_free_space,
)
from factorio_fast._layout import ACTION_DTYPE, STATE_DTYPE

from conftest import shm_names

TIMEOUT = 20.0  # bound for joins and waits; never reached when things work




def _join(p):
    p.join(TIMEOUT)
    if p.is_alive():
        p.kill()
        p.join()
        pytest.fail("child process hung")
    return p.exitcode


# ---- SharedArena ----------------------------------------------------------------------------

def test_arena_create_mode_0600_and_header():
    with SharedArena.create(10_000) as a:
        st = os.stat(os.path.join("/dev/shm", a.name))
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert a.name.startswith("ff_") and a.size == 10_000
        assert st.st_size == 10_000 + SHM_HEADER_SIZE
        h = peek_segment(a.name)
        assert h["owner_pid"] == os.getpid() == a.owner_pid
        assert h["user_size"] == 10_000 and h["total_size"] == st.st_size
        assert h["attach_count"] == 0


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_arena_mode_is_0600_whatever_the_umask(umask):
    old = os.umask(umask)
    try:
        with SharedArena.create(64) as a:
            mode = stat.S_IMODE(os.stat(os.path.join("/dev/shm", a.name)).st_mode)
            assert mode == 0o600, oct(mode)
    finally:
        os.umask(old)


def test_arena_named_and_name_taken_is_clear_error():
    name = f"ff_test_{os.getpid()}_named"
    with SharedArena.create(64, name=name) as a:
        assert a.name == name
        with pytest.raises(errors.ShmError, match="exists"):
            SharedArena.create(64, name=name)
    assert name not in shm_names()


@pytest.mark.parametrize("bad", ["a/b", "", "x" * 300, "sp ace", "nul\0", "é"])
def test_arena_bad_names_raise_invalid_argument(bad):
    with pytest.raises(errors.InvalidArgumentError, match="invalid"):
        SharedArena.create(64, name=bad)
    with pytest.raises(errors.InvalidArgumentError):
        SharedArena.attach(bad)


@pytest.mark.parametrize("bad", [None, 3, b"ff_x"])
def test_arena_non_str_names_rejected(bad):
    with pytest.raises(errors.InvalidArgumentError, match="must be a str"):
        SharedArena.attach(bad)


@pytest.mark.parametrize("size", [0, -1])
def test_arena_bad_size(size):
    with pytest.raises(errors.InvalidArgumentError, match="size"):
        SharedArena.create(size)


def test_arena_too_big_for_dev_shm_fails_clearly():
    free = shm_free_space()
    with pytest.raises(errors.ShmError, match="free in /dev/shm"):
        SharedArena.create(free + (1 << 30))


def test_arena_attach_missing_segment():
    with pytest.raises(errors.ShmError, match="does not exist|no such|not exist"):
        SharedArena.attach(f"ff_missing_{os.getpid()}")


def test_arena_views_keep_it_alive_and_block_close():
    a = SharedArena.create(4096)
    v = a.ndarray(np.uint32, (16,), 64)
    v[:] = np.arange(16)
    mv = memoryview(a)
    assert a.exports == 2
    with pytest.raises(BufferError, match="live view"):
        a.close()
    mv.release()
    a.unlink()
    del a  # the view still holds the arena: the memory stays mapped
    assert v.sum() == sum(range(16))
    base = v.base
    while not isinstance(base, SharedArena):
        base = base.obj if isinstance(base, memoryview) else base.base
    del v
    assert base.exports == 0
    base.close()
    base.close()  # idempotent
    with pytest.raises(errors.ClosedError):
        base.ndarray(np.uint8, 1)
    with pytest.raises(errors.ClosedError):
        memoryview(base)


def test_arena_ring_and_handoff_pin_the_mapping():
    with SharedArena.create(RingBuffer.size_for(8, 64) + Handoff.size_for(2)) as a:
        r = RingBuffer(a, 0, 8, 64)
        h = Handoff(a, RingBuffer.size_for(8, 64), 2)
        with pytest.raises(BufferError):
            a.close()
        r.close()
        with pytest.raises(BufferError):
            a.close()
        h.close()
        with pytest.raises(errors.ClosedError):
            r.put(b"x")


def test_arena_ndarray_bounds_and_alignment():
    with SharedArena.create(256) as a:
        with pytest.raises(errors.InvalidArgumentError, match="exceeds"):
            a.ndarray(np.uint8, 257)
        with pytest.raises(errors.InvalidArgumentError, match="exceeds"):
            a.ndarray(np.uint8, 1, offset=-1)
        with pytest.raises(errors.InvalidArgumentError, match="aligned"):
            a.ndarray(np.uint64, 1, offset=4)
        with pytest.raises(errors.InvalidArgumentError, match="negative"):
            a.ndarray(np.uint8, (-1,))
        assert a.ndarray(np.uint8, 256).shape == (256,)


def test_arena_unlink_idempotent_mapping_survives():
    a = SharedArena.create(64)
    v = a.ndarray(np.uint8, 64)
    a.unlink()
    a.unlink()
    assert a.name not in shm_names() and a.unlinked
    v[:] = 7
    assert v.sum() == 7 * 64
    del v
    a.close()


def test_arena_dealloc_of_creator_removes_name():
    a = SharedArena.create(64)
    name = a.name
    del a
    assert name not in shm_names()


def _child_attach_write(name, value, q):
    a = SharedArena.attach(name)
    a.ndarray(np.int64, 1)[0] = value
    q.put((a.owner_pid, os.getpid()))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_arena_attach_from_child_and_expected_attaches_unlinks(method):
    ctx = mp.get_context(method)
    a = SharedArena.create(64, expected_attaches=1)
    v = a.ndarray(np.int64, 1)
    q = ctx.Queue()
    p = ctx.Process(target=_child_attach_write, args=(a.name, 12345, q))
    p.start()
    owner, child = q.get(timeout=TIMEOUT)
    assert _join(p) == 0
    assert owner == os.getpid() and child == p.pid
    assert v[0] == 12345
    assert a.name not in shm_names()  # the last expected attach removed the name
    assert a.attach_count == 1
    del v
    a.close()


def test_arena_pickles_as_attach_by_name():
    import pickle

    with SharedArena.create(64) as a:
        a.ndarray(np.uint8, 1)[0] = 9
        b = pickle.loads(pickle.dumps(a))
        assert b.name == a.name and b.ndarray(np.uint8, 1)[0] == 9
        b.close()


# ---- header validation --------------------------------------------------------------------

HDR = struct.Struct("<QIIQQQq")  # magic, abi, header_size, layout_hash, total, user, owner


def _patch(name, offset, fmt, value):
    with open(os.path.join("/dev/shm", name), "r+b") as f:
        f.seek(offset)
        f.write(struct.pack(fmt, value))


@pytest.mark.parametrize("offset,fmt,value,reason", [
    (0, "<Q", 0x1122334455667788, "bad magic"),
    (8, "<I", 999, "ABI version"),
    (16, "<Q", 0xDEADBEEF, "layout hash"),
    (24, "<Q", 1 << 40, "sizes"),
    (32, "<Q", 5, "sizes"),
    (12, "<I", 64, "sizes"),
])
def test_attach_header_mismatch_raises_layout_error(offset, fmt, value, reason):
    with SharedArena.create(4096) as a:
        _patch(a.name, offset, fmt, value)
        with pytest.raises(errors.LayoutMismatchError, match=reason) as ei:
            SharedArena.attach(a.name)
        assert isinstance(ei.value, OSError)
        assert a.name in str(ei.value)


def test_attach_foreign_and_truncated_files():
    for size, payload in [(4096, os.urandom(4096)), (100, b"\0" * 100), (0, b"")]:
        name = f"ff_foreign_{os.getpid()}_{size}"
        path = os.path.join("/dev/shm", name)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            os.write(fd, payload)
            with pytest.raises(errors.LayoutMismatchError):
                SharedArena.attach(name)
            with pytest.raises(errors.LayoutMismatchError):
                peek_segment(name)
        finally:
            os.close(fd)
            os.unlink(path)


# ---- SharedMemoryBridge -------------------------------------------------------------------

def test_bridge_views_are_zero_copy_structured():
    with SharedMemoryBridge(num_envs=3) as b:
        assert b.states.dtype == STATE_DTYPE and b.states.shape == (3,)
        assert b.actions.dtype == ACTION_DTYPE and b.actions.shape == (3,)
        assert STATE_DTYPE.itemsize == 8592 and ACTION_DTYPE.itemsize == 48
        b.states[1]["timestamp"] = 77
        assert b.read_state(1)["timestamp"] == 77
        assert b.states.ctypes.data % 64 == 0 and b.actions.ctypes.data % 64 == 0


def test_bridge_seed_interface_round_trip():
    with SharedMemoryBridge() as b:
        act = np.zeros((), ACTION_DTYPE)
        act["action_type"] = 3
        act["parameters"] = np.arange(8)
        act["command_id"] = 2**63 + 5
        b.write_action(act)  # the seed's form: slot 0
        got = b.read_action()
        assert got.tobytes() == act.tobytes()
        st = np.zeros((), STATE_DTYPE)
        st["player_pos"] = (1.5, -2.25)
        st["local_map"][3, 4, 5] = 200
        st["timestamp"] = 99
        b.write_state(st)
        assert b.read_state().tobytes() == st.tobytes()
        assert b.state_seq(0) == 2
        b.write_state(0, st.tobytes())  # raw bytes of one record
        assert b.state_seq(0) == 4
        out = np.empty((), STATE_DTYPE)
        assert b.read_state(0, out=out) is out


def test_bridge_bad_inputs():
    with SharedMemoryBridge(num_envs=2) as b:
        with pytest.raises(errors.InvalidArgumentError, match="out of range"):
            b.read_state(2)
        with pytest.raises(errors.InvalidArgumentError, match="out of range"):
            b.write_action(-1, np.zeros((), ACTION_DTYPE))
        with pytest.raises(errors.InvalidArgumentError, match="dtype"):
            b.write_action(0, np.zeros(3, np.float32))
        with pytest.raises(errors.InvalidArgumentError, match="dtype"):
            b.write_state(0, b"short")
        with pytest.raises(errors.InvalidArgumentError, match="out must be"):
            b.read_state(0, out=np.empty((), ACTION_DTYPE))
    with pytest.raises(errors.InvalidArgumentError):
        SharedMemoryBridge(num_envs=0)
    with pytest.raises(errors.InvalidArgumentError, match="name"):
        SharedMemoryBridge(create=False)


def test_bridge_attach_rejects_other_segments():
    with SharedArena.create(1 << 16) as a:
        with pytest.raises(errors.LayoutMismatchError, match="SharedMemoryBridge"):
            SharedMemoryBridge.attach(a.name)
        assert a.exports == 0


BRIDGE_MAGIC = 0x31474442  # "BDG1", csrc/ff_bridge_layout.h


def test_bridge_segment_layout_is_the_documented_one():
    """The layout of csrc/ff_bridge_layout.h: a 64-byte header {magic, num_envs, state size,
    action size}, one seqlock word per cache line for states then actions, then the records,
    each section 64-byte aligned. Another build (or language) reads segments by it."""
    n = 3
    states_off = 64 + 2 * n * 64
    actions_off = (states_off + n * 8592 + 63) // 64 * 64
    total = (actions_off + n * 48 + 63) // 64 * 64
    with SharedMemoryBridge(num_envs=n) as b:
        assert b.arena.size == total
        hdr = b.arena.ndarray(np.uint32, (4,), 0)
        assert hdr.tolist() == [BRIDGE_MAGIC, n, 8592, 48]
        base = hdr.ctypes.data
        del hdr
        assert b.states.ctypes.data - base == states_off
        assert b.actions.ctypes.data - base == actions_off
        b.write_state(2, np.zeros((), STATE_DTYPE))
        b.write_action(1, np.zeros((), ACTION_DTYPE))
        seqs = b.arena.ndarray(np.uint32, (2 * n, 16), 64)[:, 0]  # word 0 of each line
        assert seqs.tolist() == [0, 0, 2, 0, 2, 0] and b.state_seq(2) == 2
        del seqs


@pytest.mark.parametrize("field,value", [(0, 0x12345678), (1, 0), (1, 1 << 21), (1, 1000),
                                         (2, 8593), (3, 47)])
def test_bridge_attach_checks_every_header_field(field, value):
    with SharedMemoryBridge(num_envs=2) as b:
        _patch(b.name, SHM_HEADER_SIZE + 4 * field, "<I", value)
        with pytest.raises(errors.LayoutMismatchError, match="SharedMemoryBridge"):
            SharedMemoryBridge.attach(b.name)
        _patch(b.name, SHM_HEADER_SIZE + 4 * field, "<I", [BRIDGE_MAGIC, 2, 8592, 48][field])
        SharedMemoryBridge.attach(b.name).close()


def test_bridge_attach_to_a_tiny_segment_is_a_layout_error():
    with SharedArena.create(16) as a:
        with pytest.raises(errors.LayoutMismatchError, match="too small"):
            SharedMemoryBridge.attach(a.name)
        assert a.exports == 0


def test_bridge_close_with_user_views_raises():
    b = SharedMemoryBridge(num_envs=2)
    s = b.states
    with pytest.raises(BufferError, match="live view"):
        b.close()
    del s
    b.close()
    b.close()
    with pytest.raises(errors.ClosedError):
        b.read_state()


def _bridge_writer(name, n, q):
    b = SharedMemoryBridge.attach(name)
    st = np.zeros((), STATE_DTYPE)
    for k in range(1, n + 1):
        # Every byte of the record carries k: a torn read would mix two values.
        st["local_map"] = k & 0xFF
        st["timestamp"] = k
        st["inventory"] = k & 0xFFFF
        b.write_state(0, st)
    q.put("done")
    b.close()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_bridge_seqlock_reads_are_never_torn_across_processes(method):
    ctx = mp.get_context(method)
    n = 20_000
    with SharedMemoryBridge(num_envs=1) as b:
        q = ctx.Queue()
        p = ctx.Process(target=_bridge_writer, args=(b.name, n, q))
        p.start()
        out = np.empty((), STATE_DTYPE)
        last = 0
        reads = 0
        while last < n and reads < 10_000_000:
            b.read_state(0, out=out)
            reads += 1
            k = int(out["timestamp"])
            assert k >= last
            assert (out["local_map"] == (k & 0xFF)).all()
            assert (out["inventory"] == (k & 0xFFFF)).all()
            last = k
            if not p.is_alive() and last < n:
                b.read_state(0, out=out)
                last = int(out["timestamp"])
                break
        assert q.get(timeout=TIMEOUT) == "done"
        assert _join(p) == 0
        assert b.read_state(0)["timestamp"] == n


def test_bridge_threads_write_distinct_slots():
    with SharedMemoryBridge(num_envs=4) as b:
        def work(i):
            a = np.zeros((), ACTION_DTYPE)
            for k in range(2000):
                a["command_id"] = k
                a["parameters"] = i
                b.write_action(i, a)
        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(TIMEOUT)
        for i in range(4):
            r = b.read_action(i)
            assert r["command_id"] == 1999 and (r["parameters"] == i).all()


# ---- reaper -------------------------------------------------------------------------------

def _create_and_die(conn):
    a = SharedArena.create(4096)
    conn.send(a.name)  # synchronous: the name is in the pipe before we die
    os.kill(os.getpid(), 9)


def test_reaper_removes_segments_of_dead_owners_only():
    ctx = mp.get_context("fork")
    r, w = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_create_and_die, args=(w,))
    p.start()
    assert r.poll(TIMEOUT)
    dead_name = r.recv()
    assert _join(p) == -9
    assert dead_name in shm_names()
    with SharedArena.create(64) as live:
        infos = {s.name: s for s in shm.list_segments()}
        assert infos[dead_name].stale and not infos[dead_name].alive
        assert infos[dead_name].owner_pid == p.pid
        assert not infos[live.name].stale and infos[live.name].alive
        assert dead_name in shm.reap_stale_segments(dry_run=True)
        assert dead_name in shm_names()
        removed = shm.reap_stale_segments()
        assert dead_name in removed and live.name not in removed
        assert dead_name not in shm_names() and live.name in shm_names()


def test_reaper_keeps_fresh_headerless_segment_and_removes_old_one():
    name = f"ff_partial_{os.getpid()}"
    path = os.path.join("/dev/shm", name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.close(fd)
    try:
        assert name not in shm.reap_stale_segments(grace_s=60)
        assert name in shm_names()
        os.utime(path, (0, 0))
        assert name in shm.reap_stale_segments(grace_s=60)
        assert name not in shm_names()
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_remove_segment_errors():
    with pytest.raises(errors.ShmError):
        remove_segment(f"ff_nothing_{os.getpid()}")
    with pytest.raises(errors.InvalidArgumentError):
        remove_segment("../etc")
