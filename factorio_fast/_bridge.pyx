# cython: language_level=3, boundscheck=False, wraparound=False
"""Shared memory between the trainer and its workers: named segments (:class:`SharedArena`),
the trainer <-> worker hand-off (:class:`Handoff`), a lock-free SPSC ring (:class:`RingBuffer`)
and the seed's state/action bridge (:class:`SharedMemoryBridge`).

Only the cdef classes here hold C pointers; every C call is checked by one translator
(``factorio_fast._ffcore.check``) and every wait releases the GIL.
"""

import os
import secrets

import numpy as np

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

from factorio_fast._ffbridge cimport *
from factorio_fast._ffcore cimport FF_ELAYOUT, FF_ENOSPC, FF_EPEERDEAD
from factorio_fast._ffcore cimport FF_ETIMEDOUT, FF_OK, FF_EEMPTY, FF_EFULL, FF_ESTATE, check
from factorio_fast._ffcore cimport FF_ACTION_SIZE, FF_STATE_SIZE

from factorio_fast import errors
from factorio_fast._layout import ACTION_DTYPE, STATE_DTYPE

__all__ = ["SharedArena", "Handoff", "RingBuffer", "SharedMemoryBridge", "SHM_HEADER_SIZE",
           "SHM_MAGIC", "shm_free_space", "peek_segment", "remove_segment", "usable_cpus"]

SHM_HEADER_SIZE = FF_SHM_HEADER_SIZE
SHM_MAGIC = FF_SHM_MAGIC
# Every blocking wait (with or without a timeout) runs in slices of this length, checking for
# signals (Ctrl-C) between them: a Python signal handler cannot run while C holds the thread.
cdef int64_t _SLICE_NS = 100_000_000
_MODES = {"auto": FF_WAIT_AUTO, "spin": FF_WAIT_SPIN, "block": FF_WAIT_BLOCK}


cdef int64_t _timeout_ns(object timeout) except? -2:
    """Seconds (None = forever) -> nanoseconds (-1 = forever)."""
    if timeout is None:
        return -1
    t = float(timeout)
    if t < 0 or t != t:
        raise errors.InvalidArgumentError(f"timeout must be a non-negative number, got {timeout!r}")
    if t > 1e9:
        return -1
    return <int64_t>(t * 1e9)


cdef inline int64_t _deadline(int64_t t) noexcept:
    """Deadline (ff_now_ns clock) of a wait of t ns (t < 0: none)."""
    return ff_deadline_ns(ff_now_ns(), t)


cdef inline int64_t _slice(int64_t t, int64_t deadline) noexcept nogil:
    """The next slice of a wait of t ns (< 0: forever) ending at deadline: at most _SLICE_NS."""
    cdef int64_t left
    if t < 0:
        return _SLICE_NS
    left = deadline - ff_now_ns()
    if left <= 0:
        return 0 if t == 0 else 1  # a last, minimal slice (0 would mean "do not wait")
    return _SLICE_NS if left > _SLICE_NS else left


cdef inline bint _more(int64_t t, int64_t deadline) noexcept:
    """True if a wait that timed out its slice has time left (then check signals and go on)."""
    return t < 0 or deadline - ff_now_ns() > 0


# One slice of a blocking call: a C call, made without the GIL, that waits at most slice_ns and
# returns its status. The arguments travel in a small struct behind `args` (see _HandoffCall and
# _RingCall below).
ctypedef int (*_slice_fn)(void *args, int64_t slice_ns) noexcept nogil


cdef int _wait_sliced(_slice_fn call, void *args, int64_t t, int again) except? -999:
    """The one blocking wait of this module: ``call`` in GIL-free slices of at most _SLICE_NS,
    until it returns something other than ``again`` (its "not yet" status) or the wait of ``t``
    ns (< 0: forever) is over. Between slices pending signals are handled, so Ctrl-C raises
    KeyboardInterrupt from here. Returns the last status of ``call``."""
    cdef int64_t deadline = _deadline(t)
    cdef int rc
    while True:
        with nogil:
            rc = call(args, _slice(t, deadline))
        if rc != again or not _more(t, deadline):
            return rc
        PyErr_CheckSignals()


cdef uint32_t _as_u32(v, str what) except? 0xffffffff:
    try:
        return v
    except (OverflowError, TypeError):
        raise errors.InvalidArgumentError(f"{what} must be an int in 0..2**32-1, got {v!r}") from None


cdef uint64_t _as_u64(v, str what) except? 0xffffffffffffffff:
    try:
        return v
    except (OverflowError, TypeError):
        raise errors.InvalidArgumentError(f"{what} must be an int in 0..2**64-1, got {v!r}") from None


cdef int32_t _as_i32(v, str what) except? -1:
    try:
        return v
    except (OverflowError, TypeError):
        raise errors.InvalidArgumentError(
            f"{what} must be an int in -2**31..2**31-1, got {v!r}") from None


cdef bytes _encode_name(str name):
    return name.encode("utf-8", "surrogateescape")


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _check_name(name):
    """Raise InvalidArgumentError unless ``name`` is a valid segment name (the rule of
    ff_shm_name_check, checked here first so the message can say what is wrong)."""
    if not isinstance(name, str):
        raise errors.InvalidArgumentError(f"segment name must be a str, got {type(name).__name__}")
    bad = sorted(set(name) - _NAME_CHARS)
    if not name or bad or len(name) > FF_SHM_NAME_MAX or name in (".", ".."):
        why = (f"characters {bad!r} are not allowed" if bad else
               "it is empty" if not name else f"it is longer than {FF_SHM_NAME_MAX} characters"
               if len(name) > FF_SHM_NAME_MAX else "it is a directory name")
        raise errors.InvalidArgumentError(
            f"invalid segment name {name!r}: {why} (use 1..{FF_SHM_NAME_MAX} of [A-Za-z0-9_.-])")
    return name


def _full_name(name):
    """The segment name for a user's name: ``ff_`` is prefixed unless present."""
    if not isinstance(name, str):
        raise errors.InvalidArgumentError(f"segment name must be a str, got {type(name).__name__}")
    if not name:
        _check_name(name)
    return _check_name(name if name.startswith("ff_") else "ff_" + name)


def _auto_name():
    return f"ff_{os.getpid()}_{secrets.token_hex(6)}"


_LAYOUT_REASONS = {
    FF_SHM_BAD_MAGIC: "it was not created by factorio_fast (bad magic)",
    FF_SHM_BAD_ABI: "it was created by a build with a different ABI version",
    FF_SHM_BAD_HASH: ("it was created by a build with different FactorioState/FactorioAction "
                      "layouts (layout hash mismatch)"),
    FF_SHM_BAD_SIZE: "its header sizes do not match the segment (truncated or corrupt)",
}


def shm_free_space():
    """Bytes free for new segments in ``/dev/shm``."""
    cdef uint64_t avail = 0
    cdef int err = 0
    check(ff_shm_free_space(&avail, &err), "statvfs(/dev/shm)")
    return avail


def usable_cpus():
    """CPUs this process may run on (its affinity mask), as the spin policy counts them."""
    return ff_usable_cpus()


def peek_segment(name):
    """Header of segment ``name`` as a dict, without attaching (raises LayoutMismatchError if it
    is not one of ours, ShmError if it does not exist)."""
    cdef ff_shm_header_t h
    cdef int err = 0
    cdef bytes bname = _encode_name(_check_name(name))
    rc = ff_shm_peek(bname, &h, &err)
    check(rc, f"segment {name!r}" + (f" (errno {err})" if rc != FF_ELAYOUT and err else ""))
    return {"magic": h.magic, "abi_version": h.abi_version, "layout_hash": h.layout_hash,
            "total_size": h.total_size, "user_size": h.user_size, "owner_pid": h.owner_pid,
            "attach_count": h.attach_count, "expected_parties": h.expected_parties,
            "created_ns": h.created_ns}


def remove_segment(name):
    """Remove the name of segment ``name`` (mappings stay valid). Raises ShmError if absent."""
    cdef int err = 0
    cdef bytes bname = _encode_name(_check_name(name))
    check(ff_shm_remove(bname, &err), f"removing segment {name!r}")


cdef class SharedArena:
    """A named shared-memory segment mapped into this process (the only holder of the mapping).

    Create with :meth:`create`, attach from another process with :meth:`attach` (or pickle the
    arena: it unpickles as "attach by name"). Zero-copy numpy views come from :meth:`ndarray`;
    they keep the arena alive, and :meth:`close` refuses (``BufferError``) while any exists.
    """

    cdef ff_shm_t *_shm
    cdef Py_ssize_t _exports
    cdef Py_ssize_t _shape[1]
    cdef Py_ssize_t _strides[1]
    cdef object _name
    cdef bint _creator
    cdef long _pid
    cdef object __weakref__

    def __cinit__(self):
        self._shm = NULL
        self._exports = 0
        self._creator = False
        self._pid = os.getpid()

    def __init__(self):
        # Instances come from create()/attach(); a bare SharedArena() is a closed arena.
        pass

    @staticmethod
    def create(size, name=None, expected_attaches=0):
        """Create a new segment with ``size`` usable bytes, mode 0600.

        Parameters
        ----------
        size : int
            Usable bytes (> 0). The user area starts 64-byte (in fact page-) aligned.
        name : str, optional
            Segment name; ``ff_`` is prefixed unless present. Default ``ff_<pid>_<random>``.
        expected_attaches : int, optional
            If > 0, the attach that brings the count to this number removes the name, so a
            crash afterwards leaves nothing in ``/dev/shm``.

        Raises
        ------
        InvalidArgumentError
            Bad name or size.
        ShmError
            The name exists, ``/dev/shm`` lacks space, or a system call failed.
        """
        cdef SharedArena a = SharedArena.__new__(SharedArena)
        cdef ff_shm_t *shm = NULL
        cdef int err = 0
        cdef uint64_t avail = 0
        full = _auto_name() if name is None else _full_name(name)
        if int(size) <= 0:
            raise errors.InvalidArgumentError(f"arena size must be > 0, got {size}")
        if int(expected_attaches) < 0:
            raise errors.InvalidArgumentError("expected_attaches must be >= 0")
        cdef uint64_t usize = int(size)
        cdef uint32_t parties = int(expected_attaches)
        cdef bytes bname = _encode_name(full)
        rc = ff_shm_create(bname, usize, parties, &shm, &err)
        ctx = f"creating shared segment {full!r} ({usize} bytes)"
        if rc == FF_ENOSPC:
            ff_shm_free_space(&avail, NULL)
            ctx = (f"cannot create shared segment {full!r}: it needs {usize + FF_SHM_HEADER_SIZE}"
                   f" bytes but only {avail} bytes are free in /dev/shm (free some space, or "
                   f"enlarge the tmpfs: mount -o remount,size=<N>G /dev/shm)")
        elif rc < 0 and err:
            ctx += f" (errno {err}: {os.strerror(err)})"
        check(rc, ctx)
        a._shm = shm
        a._name = full
        a._creator = True
        return a

    @staticmethod
    def attach(name):
        """Attach to the existing segment ``name`` and validate its header.

        Raises
        ------
        LayoutMismatchError
            The header's magic, ABI version, layout hash or sizes do not match this build.
        ShmError
            No such segment, or a system call failed.
        """
        cdef SharedArena a = SharedArena.__new__(SharedArena)
        cdef ff_shm_t *shm = NULL
        cdef int err = 0
        full = _full_name(name)
        cdef bytes bname = _encode_name(full)
        rc = ff_shm_open(bname, &shm, &err)
        if rc == FF_ELAYOUT:
            ctx = f"cannot attach shared segment {full!r}: {_LAYOUT_REASONS.get(err, 'bad header')}"
        else:
            ctx = f"attaching shared segment {full!r}"
            if rc < 0 and err:
                ctx += f" (errno {err}: {os.strerror(err)})"
        check(rc, ctx)
        a._shm = shm
        a._name = full
        return a

    def __reduce__(self):
        if self._shm == NULL:
            raise errors.ClosedError("cannot pickle a closed SharedArena")
        return (SharedArena.attach, (self._name,))

    cdef int _check_open(self) except -1:
        if self._shm == NULL:
            raise errors.ClosedError(f"SharedArena {self._name!r} is closed")
        return 0

    cdef char *_data(self) except NULL:
        self._check_open()
        return <char *>ff_shm_data(self._shm)

    @property
    def name(self):
        """The segment's name (as in ``/dev/shm``)."""
        return self._name

    @property
    def size(self):
        """Usable bytes."""
        self._check_open()
        return ff_shm_user_size(self._shm)

    @property
    def closed(self):
        return self._shm == NULL

    @property
    def unlinked(self):
        """True once this handle removed the name (or saw it removed)."""
        return self._shm == NULL or bool(ff_shm_is_unlinked(self._shm))

    @property
    def attach_count(self):
        """How many parties attached after creation."""
        self._check_open()
        return ff_shm_header(self._shm).attach_count

    @property
    def owner_pid(self):
        self._check_open()
        return ff_shm_header(self._shm).owner_pid

    @property
    def exports(self):
        """Live buffer exports (numpy views, rings, hand-offs) that pin the mapping."""
        return self._exports

    def ndarray(self, dtype, shape, Py_ssize_t offset=0):
        """A zero-copy numpy view of ``shape`` items of ``dtype`` at byte ``offset``.

        The view keeps the arena alive; :meth:`close` raises ``BufferError`` until it is gone.
        """
        self._check_open()
        dt = np.dtype(dtype)
        shp = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        count = 1
        for s in shp:
            if s < 0:
                raise errors.InvalidArgumentError(f"negative dimension in shape {shp}")
            count *= s
        nbytes = count * dt.itemsize
        size = ff_shm_user_size(self._shm)
        if offset < 0 or offset + nbytes > size:
            raise errors.InvalidArgumentError(
                f"view of {nbytes} bytes at offset {offset} exceeds the arena ({size} bytes)")
        if dt.alignment > 1 and offset % dt.alignment:
            raise errors.InvalidArgumentError(
                f"offset {offset} is not aligned to {dt.alignment} bytes for {dt}")
        return np.frombuffer(self, dtype=dt, count=count, offset=offset).reshape(shp)

    def __getbuffer__(self, Py_buffer *buf, int flags):
        self._check_open()
        self._shape[0] = <Py_ssize_t>ff_shm_user_size(self._shm)
        self._strides[0] = 1
        buf.buf = ff_shm_data(self._shm)
        buf.obj = self
        buf.len = self._shape[0]
        buf.readonly = 0
        buf.itemsize = 1
        buf.format = "B"
        buf.ndim = 1
        buf.shape = self._shape
        buf.strides = self._strides
        buf.suboffsets = NULL
        buf.internal = NULL
        self._exports += 1

    def __releasebuffer__(self, Py_buffer *buf):
        self._exports -= 1

    def unlink(self):
        """Remove the segment's name (idempotent). Mappings, here and elsewhere, stay valid."""
        cdef int err = 0
        if self._shm == NULL:
            return
        rc = ff_shm_unlink(self._shm, &err)
        check(rc, f"unlinking shared segment {self._name!r}" + (f" (errno {err})" if err else ""))

    def close(self):
        """Unmap (idempotent). Raises ``BufferError`` while views or users of the memory live."""
        if self._shm == NULL:
            return
        if self._exports > 0:
            raise BufferError(f"SharedArena {self._name!r} has {self._exports} live view(s); "
                              "delete them (and close rings/hand-offs) before close()")
        ff_shm_close(self._shm)
        self._shm = NULL

    def __dealloc__(self):
        if self._shm != NULL:
            # The creator's handle being collected without unlink would leak the name.
            if self._creator and self._pid == os.getpid():
                ff_shm_unlink(self._shm, NULL)
            ff_shm_close(self._shm)
            self._shm = NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._creator:
            self.unlink()
        self.close()

    def __repr__(self):
        state = "closed" if self._shm == NULL else f"{ff_shm_user_size(self._shm)} bytes"
        return f"<SharedArena {self._name!r} {state}>"


cdef class _Pinned:
    """Holds one buffer export of an arena for as long as a C handle points into it."""
    cdef Py_buffer _view
    cdef bint _held
    cdef readonly SharedArena arena

    def __cinit__(self):
        self._held = False

    cdef int pin(self, SharedArena arena, Py_ssize_t offset, size_t size) except -1:
        if arena is None:
            raise errors.InvalidArgumentError("arena must be a SharedArena")
        arena._check_open()
        if offset < 0 or offset % 64:
            raise errors.InvalidArgumentError(f"offset must be a non-negative multiple of 64, got {offset}")
        if size == 0 or <uint64_t>offset + size > ff_shm_user_size(arena._shm):
            raise errors.InvalidArgumentError(
                f"{size} bytes at offset {offset} do not fit the arena "
                f"({ff_shm_user_size(arena._shm)} bytes)")
        PyObject_GetBuffer(arena, &self._view, PyBUF_SIMPLE | PyBUF_WRITABLE)
        self._held = True
        self.arena = arena
        return 0

    cdef void *ptr(self, Py_ssize_t offset) except NULL:
        if not self._held:
            raise errors.ClosedError("object is closed")
        return <char *>self._view.buf + offset

    cdef void release(self):
        if self._held:
            PyBuffer_Release(&self._view)
            self._held = False

    def __dealloc__(self):
        self.release()


cdef int _raise_dead(ff_peer_death_t *d, str who_waits) except -1:
    import signal as _signal
    if d.exit_known:
        code = d.exitcode
        if code < 0:
            try:
                signame = _signal.Signals(-code).name
            except ValueError:
                signame = f"signal {-code}"
            how = f"killed by signal {-code} ({signame})"
        else:
            how = f"exited with code {code}"
    else:
        code = None
        how = "exit status unknown"
    if d.worker >= 0:
        msg = f"worker {d.worker} (pid {d.pid}) died ({how}) while {who_waits}"
    else:
        msg = f"trainer (pid {d.pid}) died ({how}); this worker should exit"
    raise errors.WorkerError(msg, pid=d.pid, exitcode=code)


cdef inline int _check_wait(int rc, ff_peer_death_t *d, str who_waits, str ctx) except -1:
    """check() for waits: a dead peer becomes WorkerError(pid, exitcode)."""
    if rc == FF_EPEERDEAD:
        return _raise_dead(d, who_waits)
    return check(rc, ctx)


cdef struct _HandoffCall:
    # The arguments of one Handoff wait (only the fields its C call takes are set).
    ff_handoff_t *h
    uint32_t w
    uint32_t *ready
    uint32_t *count
    uint32_t *command
    uint64_t *arg
    ff_peer_death_t *death


cdef int _handoff_wait(void *p, int64_t slice_ns) noexcept nogil:
    cdef _HandoffCall *c = <_HandoffCall *>p
    return ff_handoff_wait(c.h, c.w, slice_ns, c.death)


cdef int _handoff_wait_all(void *p, int64_t slice_ns) noexcept nogil:
    cdef _HandoffCall *c = <_HandoffCall *>p
    return ff_handoff_wait_all(c.h, slice_ns, c.death)


cdef int _handoff_wait_any(void *p, int64_t slice_ns) noexcept nogil:
    cdef _HandoffCall *c = <_HandoffCall *>p
    return ff_handoff_wait_any(c.h, c.ready, c.count, slice_ns, c.death)


cdef int _handoff_wait_command(void *p, int64_t slice_ns) noexcept nogil:
    cdef _HandoffCall *c = <_HandoffCall *>p
    return ff_handoff_wait_command(c.h, c.w, c.command, c.arg, slice_ns, c.death)


cdef class Handoff:
    """Trainer <-> worker hand-off living in a :class:`SharedArena` at ``offset``.

    One trainer posts commands (an int and a 64-bit argument) to W workers and waits for them;
    each worker waits for its command and completes it with a status. Waits spin briefly (when
    every party can own a core; after 2 µs the spin also yields the CPU, in case the peer was
    scheduled on ours) and then sleep on a shared futex; they always have a timeout and
    check that the peer process is alive (a dead worker raises :class:`WorkerError` naming its
    pid and exit status; a dead trainer raises it in the worker).

    Parameters
    ----------
    arena : SharedArena
    offset : int
        Byte offset in the arena (multiple of 64); :meth:`size_for` bytes are used.
    num_workers : int
    create : bool
        True in the trainer (initialises the memory and records its pid), False to attach.
    mode : {"auto", "spin", "block"}
        ``auto`` spins only while trainer + workers fit in this process's CPUs.
    spin_us : float, optional
        Spin budget before sleeping (default 50 µs).
    """

    cdef ff_handoff_t _h
    cdef _Pinned _pin
    cdef Py_ssize_t _offset
    cdef object _mode
    cdef object _spin_us
    cdef uint32_t *_ready
    cdef int _busy  # calls inside a nogil wait on this handle (close() refuses meanwhile)

    def __cinit__(self):
        self._h.mem = NULL
        self._ready = NULL
        self._busy = 0

    def __init__(self, SharedArena arena not None, Py_ssize_t offset, num_workers, create=True,
                 mode="auto", spin_us=None):
        if mode not in _MODES:
            raise errors.InvalidArgumentError(f"mode must be one of {sorted(_MODES)}, got {mode!r}")
        if not 0 < int(num_workers) <= FF_HANDOFF_MAX_WORKERS:
            raise errors.InvalidArgumentError(
                f"num_workers must be in 1..{FF_HANDOFF_MAX_WORKERS}, got {num_workers}")
        cdef uint32_t n = int(num_workers)
        cdef int64_t spin = -1 if spin_us is None else <int64_t>(float(spin_us) * 1000.0)
        cdef size_t size = ff_handoff_size(n)
        pin = _Pinned()
        pin.pin(arena, offset, size)
        cdef void *mem = pin.ptr(offset)
        if create:
            rc = ff_handoff_init(&self._h, mem, size, n, <int32_t>os.getpid(), _MODES[mode], spin)
        else:
            rc = ff_handoff_attach(&self._h, mem, size, n, _MODES[mode], spin)
        if rc < 0:
            pin.release()
        check(rc, f"hand-off at offset {offset} of {arena.name!r}"
              + (" (not initialised, or initialised for another worker count)"
                 if rc == FF_ELAYOUT else ""))
        self._ready = <uint32_t *>malloc(n * sizeof(uint32_t))
        if self._ready == NULL:
            pin.release()
            self._h.mem = NULL
            raise MemoryError()
        self._pin = pin
        self._offset = offset
        self._mode = mode
        self._spin_us = spin_us

    @staticmethod
    def size_for(num_workers):
        """Bytes a hand-off for ``num_workers`` workers needs in an arena."""
        cdef size_t n = ff_handoff_size(int(num_workers))
        if n == 0:
            raise errors.InvalidArgumentError(
                f"num_workers must be in 1..{FF_HANDOFF_MAX_WORKERS}, got {num_workers}")
        return n

    def __reduce__(self):
        self._live()
        return (_attach_handoff, (self._pin.arena, self._offset, self._h.num_workers, self._mode,
                                  self._spin_us))

    cdef inline int _live(self) except -1:
        if self._h.mem == NULL:
            raise errors.ClosedError("Handoff is closed")
        self._pin.arena._check_open()
        return 0

    cdef inline uint32_t _w(self, w) except? 0xffffffff:
        if not 0 <= w < self._h.num_workers:
            raise errors.InvalidArgumentError(
                f"worker index {w} out of range 0..{self._h.num_workers - 1}")
        return <uint32_t>w

    @property
    def num_workers(self):
        return self._h.num_workers

    @property
    def spin_us(self):
        """This process's effective spin budget in µs (0: sleeps at once)."""
        return self._h.spin_ns / 1000.0

    @property
    def mode(self):
        return self._mode

    @property
    def trainer_pid(self):
        cdef int32_t pid = 0
        self._live()
        check(ff_handoff_trainer_pid(&self._h, &pid))
        return pid

    @property
    def arena(self):
        return self._pin.arena if self._pin is not None else None

    def worker_pid(self, w):
        cdef int32_t pid = 0
        self._live()
        check(ff_handoff_worker_pid(&self._h, self._w(w), &pid))
        return pid

    def set_worker_pid(self, w, pid):
        """Record worker ``w``'s pid; the trainer's waits check it is alive."""
        self._live()
        check(ff_handoff_set_worker_pid(&self._h, self._w(w), <int32_t>int(pid)))

    def post(self, w, command, arg=0):
        """Trainer: post ``command`` (uint32) with ``arg`` (uint64) to worker ``w``; no wait.

        Raises ``StateError`` if ``w``'s previous command has not completed.
        """
        self._live()
        cdef uint32_t ww = self._w(w)
        cdef uint32_t c = _as_u32(command, "command")
        cdef uint64_t a = _as_u64(arg, "arg")
        check(ff_handoff_post(&self._h, ww, c, a), f"post to worker {w} (previous command "
              "not completed)")

    def post_all(self, command, arg=0):
        """Trainer: post the same command to every worker (all or none: raises before posting
        anything if some worker's previous command has not completed)."""
        self._live()
        cdef uint32_t c = _as_u32(command, "command")
        cdef uint64_t a = _as_u64(arg, "arg")
        cdef uint32_t i
        for i in range(self._h.num_workers):
            if ff_handoff_outstanding(&self._h, i) == 1:
                raise errors.StateError(
                    f"post_all: worker {i}'s previous command has not completed (nothing posted)")
        for i in range(self._h.num_workers):
            check(ff_handoff_post(&self._h, i, c, a), f"post to worker {i} (previous command "
                  "not completed)")

    cdef int _wait(self, _slice_fn call, _HandoffCall *c, timeout) except? -999:
        """A wait on this handle: sliced (_wait_sliced), counted in _busy meanwhile so that
        close() from another thread refuses instead of freeing memory the C wait uses."""
        cdef int64_t t = _timeout_ns(timeout)
        c.h = &self._h
        self._busy += 1
        try:
            return _wait_sliced(call, c, t, FF_ETIMEDOUT)
        finally:
            self._busy -= 1

    def wait(self, w, timeout=None):
        """Trainer: wait for worker ``w``'s outstanding command (returns at once if none).

        Raises
        ------
        WorkerError
            The worker died (``.pid``, ``.exitcode``).
        WaitTimeoutError
            It is alive but did not complete within ``timeout`` seconds.
        """
        self._live()
        cdef _HandoffCall c
        cdef ff_peer_death_t d
        c.w = self._w(w)
        c.death = &d
        cdef int rc = self._wait(_handoff_wait, &c, timeout)
        _check_wait(rc, &d, "the trainer waited for it", f"waiting for worker {w}")

    def wait_all(self, timeout=None):
        """Trainer: wait until every outstanding command completed (see :meth:`wait`)."""
        self._live()
        cdef _HandoffCall c
        cdef ff_peer_death_t d
        c.death = &d
        cdef int rc = self._wait(_handoff_wait_all, &c, timeout)
        _check_wait(rc, &d, "the trainer waited for all workers", "waiting for all workers")

    def wait_any(self, timeout=None):
        """Trainer: wait until at least one outstanding command completed; return the ids of
        all completed (and now collected) workers, ascending. ``[]`` if nothing is outstanding.
        """
        self._live()
        cdef _HandoffCall c
        cdef ff_peer_death_t d
        cdef uint32_t count = 0
        c.ready = self._ready
        c.count = &count
        c.death = &d
        cdef int rc = self._wait(_handoff_wait_any, &c, timeout)
        _check_wait(rc, &d, "the trainer waited for any worker", "waiting for any worker")
        return [self._ready[i] for i in range(count)]

    def wait_command(self, w, timeout=None):
        """Worker ``w``: wait for the next command; return ``(command, arg)``.

        Raises ``WorkerError`` if the trainer died (so orphans exit), ``WaitTimeoutError`` on
        timeout. Returns the same command again until :meth:`complete` is called.
        """
        self._live()
        cdef _HandoffCall c
        cdef ff_peer_death_t d
        cdef uint32_t cmd = 0
        cdef uint64_t arg = 0
        c.w = self._w(w)
        c.command = &cmd
        c.arg = &arg
        c.death = &d
        cdef int rc = self._wait(_handoff_wait_command, &c, timeout)
        _check_wait(rc, &d, "", f"worker {w} waiting for a command")
        return cmd, arg

    def complete(self, w, status=0):
        """Worker ``w``: complete the outstanding command with ``status`` (int32)."""
        self._live()
        cdef uint32_t ww = self._w(w)
        cdef int32_t s = _as_i32(status, "status")
        check(ff_handoff_complete(&self._h, ww, s), f"worker {w} has no outstanding command")

    def status(self, w):
        """The status worker ``w`` passed to its last :meth:`complete`."""
        cdef int32_t s = 0
        self._live()
        check(ff_handoff_status(&self._h, self._w(w), &s))
        return s

    def outstanding(self, w):
        """True while worker ``w`` has a posted, not yet completed command."""
        self._live()
        return bool(check(ff_handoff_outstanding(&self._h, self._w(w))))

    cdef void *_bench_msg(self, msg_offset, uint32_t msg_len) except? NULL:
        """Pointer to 2 * msg_len bytes at msg_offset in this hand-off's arena (NULL: none)."""
        if msg_offset is None:
            return NULL
        cdef Py_ssize_t off = msg_offset
        size = self._pin.arena.size
        if not 8 <= msg_len <= 4096 or off < 0 or off % 64 or off + 2 * msg_len > size:
            raise errors.InvalidArgumentError(
                f"bench message: 2 x {msg_len} bytes at offset {msg_offset} do not fit the "
                f"arena ({size} bytes), or msg_len is outside 8..4096")
        return self._pin.ptr(off)

    def _bench_trainer(self, w, uint64_t n, uint32_t command=1, timeout=10.0, msg_offset=None,
                       uint32_t msg_len=64):
        """``n`` post+wait round trips with worker ``w`` entirely in C (benchmark hook).

        With ``msg_offset`` each round trip also sends a ``msg_len``-byte request and receives
        the worker's echo through ``2 * msg_len`` bytes at that offset of the arena.
        """
        self._live()
        cdef uint32_t ww = self._w(w)
        cdef int64_t t = _timeout_ns(timeout)
        cdef void *msg = self._bench_msg(msg_offset, msg_len)
        cdef uint32_t ml = msg_len if msg != NULL else 0
        cdef ff_peer_death_t d
        cdef int rc
        self._busy += 1
        try:
            with nogil:
                rc = ff_handoff_bench_trainer(&self._h, ww, command, n, msg, ml, t, &d)
        finally:
            self._busy -= 1
        _check_wait(rc, &d, "the trainer benchmarked it", "hand-off benchmark (a reply did "
                    "not echo its request)" if rc == FF_ESTATE else "hand-off benchmark")

    def _bench_worker(self, w, uint32_t stop_command=0, timeout=10.0, msg_offset=None,
                      uint32_t msg_len=64):
        """Serve commands in C until ``stop_command`` arrives (echoing the message, see
        :meth:`_bench_trainer`); return how many were served."""
        self._live()
        cdef uint32_t ww = self._w(w)
        cdef int64_t t = _timeout_ns(timeout)
        cdef void *msg = self._bench_msg(msg_offset, msg_len)
        cdef uint32_t ml = msg_len if msg != NULL else 0
        cdef ff_peer_death_t d
        cdef uint64_t served = 0
        cdef int rc
        self._busy += 1
        try:
            with nogil:
                rc = ff_handoff_bench_worker(&self._h, ww, stop_command, &served, msg, ml, t, &d)
        finally:
            self._busy -= 1
        _check_wait(rc, &d, "", "hand-off benchmark worker")
        return served

    def close(self):
        """Release the arena (idempotent). Raises :class:`~factorio_fast.errors.BusyError` (a
        ``BufferError``) while another thread is inside a wait on this handle (its C code still
        uses the memory)."""
        if self._busy:
            raise errors.BusyError(f"Handoff is in use: {self._busy} call(s) in another thread "
                                   "are waiting on it; close() after they return")
        self._h.mem = NULL
        if self._pin is not None:
            self._pin.release()
        if self._ready != NULL:
            free(self._ready)
            self._ready = NULL

    @property
    def closed(self):
        return self._h.mem == NULL

    def __dealloc__(self):
        self._h.mem = NULL
        if self._ready != NULL:
            free(self._ready)
            self._ready = NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _attach_handoff(arena, offset, num_workers, mode, spin_us):
    return Handoff(arena, offset, num_workers, create=False, mode=mode, spin_us=spin_us)


cdef struct _RingCall:
    # The arguments of one RingBuffer call (only the fields its C call takes are set).
    ff_ring_t *r
    const uint8_t *src        # put: the item; put_many: the first item
    uint8_t *dst              # get: the scratch slot; get_many: the output rows
    size_t stride             # put_many / get_many: bytes from one item to the next
    const uint32_t *lens_in   # put_many: item lengths (NULL: whole slots)
    uint32_t *lens_out        # get_many: receives item lengths (may be NULL)
    uint32_t n                # put: the length; get: room in dst; put_many/get_many: items
    uint32_t done             # get: item length; put_many: items put (all slices); get_many: got


cdef int _ring_put(void *p, int64_t slice_ns) noexcept nogil:
    cdef _RingCall *c = <_RingCall *>p
    return ff_ring_put(c.r, c.src, c.n, slice_ns)


cdef int _ring_get(void *p, int64_t slice_ns) noexcept nogil:
    cdef _RingCall *c = <_RingCall *>p
    return ff_ring_get(c.r, c.dst, c.n, &c.done, slice_ns)


cdef int _ring_put_many(void *p, int64_t slice_ns) noexcept nogil:
    # Each slice goes on after the items earlier slices put (a slice may put some and time out).
    cdef _RingCall *c = <_RingCall *>p
    cdef uint32_t done = 0
    cdef const uint32_t *lens = c.lens_in + c.done if c.lens_in != NULL else NULL
    cdef int rc = ff_ring_put_many(c.r, c.src + <size_t>c.done * c.stride, c.stride, lens,
                                   c.n - c.done, slice_ns, &done)
    c.done += done
    return rc


cdef int _ring_get_many(void *p, int64_t slice_ns) noexcept nogil:
    cdef _RingCall *c = <_RingCall *>p
    return ff_ring_get_many(c.r, c.dst, c.stride, c.lens_out, c.n, slice_ns, &c.done)


cdef class RingBuffer:
    """Bounded lock-free ring of fixed-size slots over shared memory, like ``queue.Queue``.

    Supported concurrency: exactly **one producer and one consumer** at a time (SPSC), each in
    any thread or process (the producer may live in one process and the consumer in another, or
    both in one). Several producers or several consumers need external serialisation (a lock
    per side), or one ring per producer. Within one process, a second thread entering the same
    side of the same handle while the first is inside a call (e.g. blocked in ``get``) is
    refused with :class:`~factorio_fast.errors.StateError` instead of corrupting the ring;
    across processes that misuse cannot be detected cheaply and is the caller's
    responsibility. Items are bytes-like of up to ``slot_size`` bytes (their length is kept).
    Full/empty raise
    :class:`~factorio_fast.errors.RingFull` / :class:`~factorio_fast.errors.RingEmpty`
    (subclasses of ``queue.Full`` / ``queue.Empty``).

    Parameters
    ----------
    arena : SharedArena
    offset : int
        Byte offset (multiple of 64); :meth:`size_for` bytes are used.
    capacity : int
        Slots, a power of two.
    slot_size : int
        Bytes per slot.
    create : bool
        True to initialise (empty) the ring, False to attach to an initialised one.
    spin_us : float, optional
        Spin budget of blocking waits before sleeping on a futex.
    """

    cdef ff_ring_t _r
    cdef _Pinned _pin
    cdef Py_ssize_t _offset
    cdef uint8_t *_scratch
    cdef object _spin_us
    cdef bint _owns_arena
    cdef bint _busy_put, _busy_get

    def __cinit__(self):
        self._r.mem = NULL
        self._scratch = NULL
        self._owns_arena = False
        self._busy_put = False
        self._busy_get = False

    def __init__(self, SharedArena arena not None, Py_ssize_t offset, capacity, slot_size,
                 create=True, spin_us=None):
        cdef size_t size = RingBuffer.size_for(capacity, slot_size)
        cdef int64_t spin = -1 if spin_us is None else <int64_t>(float(spin_us) * 1000.0)
        pin = _Pinned()
        pin.pin(arena, offset, size)
        cdef void *mem = pin.ptr(offset)
        if create:
            rc = ff_ring_init(&self._r, mem, size, capacity, slot_size, spin)
        else:
            rc = ff_ring_attach(&self._r, mem, size, capacity, slot_size, spin)
        if rc < 0:
            pin.release()
        check(rc, f"ring at offset {offset} of {arena.name!r}"
              + (" (not initialised, or with another capacity/slot size)"
                 if rc == FF_ELAYOUT else ""))
        self._scratch = <uint8_t *>malloc(self._r.slot_size)
        if self._scratch == NULL:
            pin.release()
            self._r.mem = NULL
            raise MemoryError()
        self._pin = pin
        self._offset = offset
        self._spin_us = spin_us

    @staticmethod
    def size_for(capacity, slot_size):
        """Bytes a ring of ``capacity`` (power of two) slots of ``slot_size`` bytes needs."""
        c, s = int(capacity), int(slot_size)
        if not (0 < c <= FF_RING_MAX_CAPACITY and (c & (c - 1)) == 0):
            raise errors.InvalidArgumentError(
                f"capacity must be a power of two in 1..{FF_RING_MAX_CAPACITY}, got {capacity}")
        if not 0 < s <= FF_RING_MAX_SLOT:
            raise errors.InvalidArgumentError(
                f"slot_size must be in 1..{FF_RING_MAX_SLOT}, got {slot_size}")
        return ff_ring_size(c, s)

    @staticmethod
    def create(capacity, slot_size=64, name=None, spin_us=None):
        """A ring in its own new arena (closed and unlinked by :meth:`close`)."""
        arena = SharedArena.create(RingBuffer.size_for(capacity, slot_size), name=name)
        try:
            ring = RingBuffer(arena, 0, capacity, slot_size, create=True, spin_us=spin_us)
        except BaseException:
            arena.unlink()
            arena.close()
            raise
        ring._owns_arena = True
        return ring

    def __reduce__(self):
        self._live()
        return (_attach_ring, (self._pin.arena, self._offset, self._r.capacity,
                               self._r.slot_size, self._spin_us))

    cdef inline int _live(self) except -1:
        if self._r.mem == NULL:
            raise errors.ClosedError("RingBuffer is closed")
        self._pin.arena._check_open()
        return 0

    cdef inline int _claim(self, bint producer) except -1:
        """Mark one side of the ring busy for the call now starting (the caller clears it in a
        finally). SPSC: a second thread on the same side is refused, not let in to corrupt it."""
        if producer:
            if self._busy_put:
                raise errors.StateError(_SPSC_MSG.format(side="producer"))
            self._busy_put = True
        else:
            if self._busy_get:
                raise errors.StateError(_SPSC_MSG.format(side="consumer"))
            self._busy_get = True
        return 0

    @property
    def capacity(self):
        return self._r.capacity

    @property
    def slot_size(self):
        return self._r.slot_size

    @property
    def arena(self):
        return self._pin.arena if self._pin is not None else None

    @property
    def closed(self):
        return self._r.mem == NULL

    def qsize(self):
        """Items in the ring (a snapshot)."""
        self._live()
        return ff_ring_count(&self._r)

    def empty(self):
        self._live()
        return ff_ring_count(&self._r) == 0

    def full(self):
        self._live()
        return ff_ring_count(&self._r) >= self._r.capacity

    def put(self, item, block=True, timeout=None):
        """Put one bytes-like item (at most ``slot_size`` bytes).

        Raises ``RingFull`` if there is no room (at once with ``block=False``, else after
        ``timeout`` seconds), ``InvalidArgumentError`` if the item is longer than a slot.
        """
        self._claim(True)
        try:
            return self._put_impl(item, block, timeout)
        finally:
            self._busy_put = False

    cdef object _put_impl(self, item, block, timeout):
        self._live()
        cdef Py_buffer view
        cdef int64_t t = 0 if not block else _timeout_ns(timeout)
        cdef _RingCall c
        cdef int rc
        PyObject_GetBuffer(item, &view, PyBUF_SIMPLE)
        try:
            if view.len > self._r.slot_size:
                raise errors.InvalidArgumentError(
                    f"item of {view.len} bytes does not fit a {self._r.slot_size}-byte slot")
            c.r = &self._r
            c.src = <const uint8_t *>view.buf
            c.n = <uint32_t>view.len
            rc = _ring_put(&c, 0)  # with the GIL: a ring with room costs no release
            if rc == FF_EFULL and t != 0:
                rc = _wait_sliced(_ring_put, &c, t, FF_EFULL)
            check(rc, "RingBuffer.put")
        finally:
            PyBuffer_Release(&view)

    def put_nowait(self, item):
        self.put(item, block=False)

    def get(self, block=True, timeout=None):
        """Remove and return one item as ``bytes`` (``RingEmpty`` if none in time)."""
        self._claim(False)
        try:
            return self._get_impl(block, timeout)
        finally:
            self._busy_get = False

    cdef object _get_impl(self, block, timeout):
        self._live()
        cdef int64_t t = 0 if not block else _timeout_ns(timeout)
        cdef _RingCall c
        c.r = &self._r
        c.dst = self._scratch
        c.n = self._r.slot_size
        c.done = 0
        cdef int rc = _ring_get(&c, 0)  # with the GIL: a ring with an item costs no release
        if rc == FF_EEMPTY and t != 0:
            rc = _wait_sliced(_ring_get, &c, t, FF_EEMPTY)
        check(rc, "RingBuffer.get")
        return PyBytes_FromStringAndSize(<char *>self._scratch, c.done)

    def get_nowait(self):
        return self.get(block=False)

    def put_many(self, items, block=True, timeout=None):
        """Put several items with one publish per contiguous batch; return how many.

        ``items`` is a sequence of bytes-like objects or a 2-D uint8 array ``(k, w)`` with
        ``w <= slot_size`` (each row is one item of ``w`` bytes). With ``block=False`` it is all
        or nothing (``RingFull`` if they do not all fit); blocking, items go in as room appears
        and ``RingFull`` after ``timeout`` reports how many went in.
        """
        self._claim(True)
        try:
            return self._put_many_impl(items, block, timeout)
        finally:
            self._busy_put = False

    cdef object _put_many_impl(self, items, block, timeout):
        self._live()
        cdef uint32_t ss = self._r.slot_size
        lens_arr = None
        if isinstance(items, np.ndarray):
            arr = items
            if arr.ndim != 2 or arr.dtype != np.uint8:
                raise errors.InvalidArgumentError(
                    f"put_many needs a 2-D uint8 array (k, w), got {arr.dtype} {arr.shape}")
            if arr.shape[1] > ss:
                raise errors.InvalidArgumentError(
                    f"rows of {arr.shape[1]} bytes do not fit {ss}-byte slots")
            arr = np.ascontiguousarray(arr)
            if arr.shape[1] != ss:
                lens_arr = np.full(arr.shape[0], arr.shape[1], dtype=np.uint32)
        else:
            seq = [memoryview(x).cast("B") for x in items]
            arr = np.zeros((len(seq), ss), dtype=np.uint8)
            lens_arr = np.empty(len(seq), dtype=np.uint32)
            for k, mv in enumerate(seq):
                if mv.nbytes > ss:
                    raise errors.InvalidArgumentError(
                        f"item {k} of {mv.nbytes} bytes does not fit a {ss}-byte slot")
                arr[k, :mv.nbytes] = mv
                lens_arr[k] = mv.nbytes
        cdef Py_ssize_t k_items = arr.shape[0]
        if k_items == 0:
            return 0
        if k_items > 0xffffffff:
            raise errors.InvalidArgumentError("too many items")
        cdef const uint8_t[:, ::1] data = arr
        cdef const uint32_t[::1] lens_v
        cdef const uint32_t *lens_p = NULL
        if lens_arr is not None:
            lens_v = lens_arr
            lens_p = &lens_v[0]
        cdef int64_t t = 0 if not block else _timeout_ns(timeout)
        cdef _RingCall c
        c.r = &self._r
        c.src = &data[0, 0]
        c.stride = data.shape[1]
        c.lens_in = lens_p
        c.n = <uint32_t>k_items
        c.done = 0
        cdef int rc = _ring_put_many(&c, 0)  # all or nothing
        if rc == FF_EFULL and t != 0:
            # Not all fit at once: put them as room appears.
            rc = _wait_sliced(_ring_put_many, &c, t, FF_EFULL)
        check(rc, f"RingBuffer.put_many ({c.done} of {c.n} items put)")
        return c.done

    def get_many(self, max_items=None, out=None, block=True, timeout=None, lengths=None):
        """Remove up to ``max_items`` items with one publish.

        Parameters
        ----------
        max_items : int, optional
            Default: ``len(out)`` if ``out`` is given, else the capacity.
        out : numpy.ndarray, optional
            A C-contiguous uint8 array ``(m, slot_size)``: the items are copied into its first
            rows (whole slots) and the count is returned.
        block, timeout
            Wait for at least one item (``RingEmpty`` on timeout). Non-blocking calls return
            ``0`` / ``[]`` on an empty ring.
        lengths : numpy.ndarray, optional
            uint32 array receiving each item's length.

        Returns
        -------
        int or list of bytes
            The count if ``out`` is given, else the items.
        """
        self._claim(False)
        try:
            return self._get_many_impl(max_items, out, block, timeout, lengths)
        finally:
            self._busy_get = False

    cdef object _get_many_impl(self, max_items, out, block, timeout, lengths):
        self._live()
        cdef uint32_t ss = self._r.slot_size
        if out is None:
            m = self._r.capacity if max_items is None else int(max_items)
            # Clamp before allocating: more than the capacity can never be returned at once.
            buf = np.empty((min(max(m, 0), self._r.capacity), ss), dtype=np.uint8)
            want_list = True
        else:
            buf = out
            if (not isinstance(buf, np.ndarray) or buf.dtype != np.uint8 or buf.ndim != 2
                    or buf.shape[1] != ss or not buf.flags.c_contiguous
                    or not buf.flags.writeable):
                raise errors.InvalidArgumentError(
                    f"out must be a writable C-contiguous uint8 array (m, {ss})")
            m = buf.shape[0] if max_items is None else min(int(max_items), buf.shape[0])
            want_list = False
        if m < 0:
            raise errors.InvalidArgumentError("max_items must be >= 0")
        if m > self._r.capacity:
            m = self._r.capacity
        if m == 0:
            return [] if want_list else 0
        lens_arr = lengths
        if lens_arr is None:
            lens_arr = np.empty(m, dtype=np.uint32) if want_list else None
        elif (not isinstance(lens_arr, np.ndarray) or lens_arr.dtype != np.uint32
              or lens_arr.ndim != 1 or lens_arr.shape[0] < m or not lens_arr.flags.c_contiguous):
            raise errors.InvalidArgumentError(f"lengths must be a contiguous uint32 array of >= {m}")
        cdef uint8_t[:, ::1] dst = buf
        cdef uint32_t[::1] lens_v
        cdef uint32_t *lens_p = NULL
        if lens_arr is not None:
            lens_v = lens_arr
            lens_p = &lens_v[0]
        cdef int64_t t = 0 if not block else _timeout_ns(timeout)
        cdef _RingCall c
        c.r = &self._r
        c.dst = &dst[0, 0]
        c.stride = ss
        c.lens_out = lens_p
        c.n = <uint32_t>m
        c.done = 0
        cdef int rc = _ring_get_many(&c, 0)
        if rc == FF_OK and c.done == 0 and t != 0:
            rc = _wait_sliced(_ring_get_many, &c, t, FF_EEMPTY)
        check(rc, "RingBuffer.get_many")
        if not want_list:
            return c.done
        return [bytes(buf[i, :lens_v[i]]) for i in range(c.done)]

    def close(self):
        """Release the arena (idempotent); a ring from :meth:`create` also unlinks and closes
        its own arena. Raises :class:`~factorio_fast.errors.BusyError` (a ``BufferError``)
        while another thread is inside a call on this ring (its C code still uses the memory)."""
        if self._busy_put or self._busy_get:
            raise errors.BusyError("RingBuffer is in use: another thread is inside a "
                                   f"{'put' if self._busy_put else 'get'} call on it; close() "
                                   "after it returns")
        arena = self._pin.arena if self._pin is not None else None
        self._r.mem = NULL
        if self._pin is not None:
            self._pin.release()
        if self._scratch != NULL:
            free(self._scratch)
            self._scratch = NULL
        if self._owns_arena and arena is not None:
            arena.unlink()
            arena.close()

    def __dealloc__(self):
        self._r.mem = NULL
        if self._scratch != NULL:
            free(self._scratch)
            self._scratch = NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __len__(self):
        return self.qsize()


_SPSC_MSG = ("RingBuffer is single-producer/single-consumer: another thread is already in a "
             "{side} call on this ring (give each thread its own ring, or serialise with a lock)")


def _attach_ring(arena, offset, capacity, slot_size, spin_us):
    return RingBuffer(arena, offset, capacity, slot_size, create=False, spin_us=spin_us)


# ---- SharedMemoryBridge -------------------------------------------------------------------------

# The segment layout (magic, header, offsets) is C's: csrc/ff_bridge_layout.h, which also enters
# the layout hash every segment header carries.


cdef class SharedMemoryBridge:
    """The seed's state/action bridge over one named segment holding ``num_envs`` slots.

    ``states`` and ``actions`` are zero-copy structured views (``STATE_DTYPE`` /
    ``ACTION_DTYPE``, shape ``(num_envs,)``). :meth:`write_state` / :meth:`read_state` (and the
    action pair) go through a per-slot seqlock, so a read never returns a half-written record
    (writing through the raw views bypasses it). One writer per slot and direction.

    Parameters
    ----------
    num_envs : int
    name : str, optional
        Segment name (``ff_`` prefixed); default auto-generated.
    create : bool
        Create the segment (True) or attach to ``name`` (False).
    """

    cdef readonly SharedArena arena
    cdef _Pinned _pin
    cdef uint32_t _n
    cdef char *_base
    cdef ff_bridge_offsets_t _off
    cdef object _states, _actions
    cdef uint32_t _tries
    cdef int _busy  # seqlock copies running without the GIL (close() refuses meanwhile)

    def __cinit__(self):
        self._base = NULL
        self._busy = 0

    def __init__(self, num_envs=1, name=None, create=True, max_read_tries=100000):
        cdef SharedArena arena
        cdef ff_bridge_header_t *hdr
        cdef ff_bridge_header_t seen
        cdef uint32_t n = 0
        if create:
            if not 0 < int(num_envs) <= FF_BRIDGE_MAX_ENVS:
                raise errors.InvalidArgumentError(f"num_envs must be in 1..2^20, got {num_envs}")
            n = int(num_envs)
            arena = SharedArena.create(ff_bridge_offsets(n).total, name=name)
        else:
            if name is None:
                raise errors.InvalidArgumentError("attaching a bridge needs its segment name")
            arena = SharedArena.attach(name)
        try:
            if arena.size < sizeof(ff_bridge_header_t):
                raise errors.LayoutMismatchError(
                    f"segment {arena.name!r} is too small to hold a SharedMemoryBridge")
            hdr = <ff_bridge_header_t *>arena._data()
            if create:
                hdr.num_envs = n
                hdr.state_size = FF_STATE_SIZE
                hdr.action_size = FF_ACTION_SIZE
                hdr.magic = FF_BRIDGE_MAGIC
            seen = hdr[0]  # one read: every party can write the header while we check it
            if (seen.magic != FF_BRIDGE_MAGIC or seen.state_size != FF_STATE_SIZE
                    or seen.action_size != FF_ACTION_SIZE or seen.num_envs == 0
                    or seen.num_envs > FF_BRIDGE_MAX_ENVS
                    or ff_bridge_offsets(seen.num_envs).total > arena.size):
                raise errors.LayoutMismatchError(
                    f"segment {arena.name!r} does not hold a SharedMemoryBridge of this build")
            n = seen.num_envs
            pin = _Pinned()
            pin.pin(arena, 0, ff_bridge_offsets(n).total)
        except BaseException:
            if create:
                arena.unlink()
            arena.close()
            raise
        self.arena = arena
        self._pin = pin
        self._base = <char *>pin.ptr(0)
        self._n = n
        self._off = ff_bridge_offsets(n)
        self._tries = max_read_tries

    cdef inline uint32_t *_seq(self, size_t seq_off, uint32_t i) noexcept nogil:
        """Slot i's seqlock word in the section at seq_off (one word per cache line)."""
        return <uint32_t *>(self._base + seq_off + <size_t>i * FF_BRIDGE_SEQ_STRIDE)

    @staticmethod
    def attach(name):
        """Attach to the bridge in segment ``name``."""
        return SharedMemoryBridge(name=name, create=False)

    def __reduce__(self):
        self._live()
        return (SharedMemoryBridge.attach, (self.arena.name,))

    cdef inline int _live(self) except -1:
        if self._base == NULL:
            raise errors.ClosedError("SharedMemoryBridge is closed")
        return 0

    cdef inline uint32_t _slot(self, i) except? 0xffffffff:
        if not 0 <= i < self._n:
            raise errors.InvalidArgumentError(f"env index {i} out of range 0..{self._n - 1}")
        return <uint32_t>i

    @property
    def name(self):
        return self.arena.name

    @property
    def num_envs(self):
        return self._n

    @property
    def states(self):
        """Zero-copy ``STATE_DTYPE`` view ``(num_envs,)`` (no seqlock)."""
        self._live()
        if self._states is None:
            self._states = self.arena.ndarray(STATE_DTYPE, (self._n,), self._off.states)
        return self._states

    @property
    def actions(self):
        """Zero-copy ``ACTION_DTYPE`` view ``(num_envs,)`` (no seqlock)."""
        self._live()
        if self._actions is None:
            self._actions = self.arena.ndarray(ACTION_DTYPE, (self._n,), self._off.actions)
        return self._actions

    cdef int _write(self, size_t seq_off, size_t data_off, size_t itemsize, uint32_t i, rec,
                    dtype) except -1:
        cdef Py_buffer view
        arr = np.ascontiguousarray(rec)
        if arr.dtype != dtype or arr.size != 1:
            if isinstance(rec, (bytes, bytearray, memoryview)) and len(rec) == itemsize:
                arr = np.frombuffer(rec, dtype=dtype, count=1)
            else:
                raise errors.InvalidArgumentError(
                    f"expected one record of dtype {dtype} (or {itemsize} bytes)")
        PyObject_GetBuffer(arr, &view, PyBUF_SIMPLE)
        try:
            if view.len != <Py_ssize_t>itemsize:
                raise errors.InvalidArgumentError(f"record is {view.len} bytes, not {itemsize}")
            self._busy += 1
            try:
                with nogil:
                    ff_seqlock_write(self._seq(seq_off, i),
                                     self._base + data_off + <size_t>i * itemsize, view.buf,
                                     itemsize)
            finally:
                self._busy -= 1
        finally:
            PyBuffer_Release(&view)
        return 0

    cdef object _read(self, size_t seq_off, size_t data_off, size_t itemsize, uint32_t i, dtype,
                      out):
        if out is None:
            out = np.empty((), dtype=dtype)
        elif (not isinstance(out, np.ndarray) or out.dtype != dtype or out.size != 1
              or not out.flags.c_contiguous or not out.flags.writeable):
            raise errors.InvalidArgumentError(f"out must be a writable array of one {dtype}")
        cdef Py_buffer view
        cdef int rc
        PyObject_GetBuffer(out, &view, PyBUF_SIMPLE | PyBUF_WRITABLE)
        self._busy += 1
        try:
            with nogil:
                rc = ff_seqlock_read(self._seq(seq_off, i), view.buf,
                                     self._base + data_off + <size_t>i * itemsize, itemsize,
                                     self._tries, NULL)
        finally:
            self._busy -= 1
            PyBuffer_Release(&view)
        check(rc, f"slot {i}: the writer kept it busy for {self._tries} read attempts")
        return out

    def write_state(self, i, state=None):
        """Write one ``STATE_DTYPE`` record into slot ``i`` (``write_state(state)``: slot 0)."""
        self._live()
        if state is None:
            i, state = 0, i
        self._write(self._off.state_seq, self._off.states, FF_STATE_SIZE, self._slot(i), state,
                    STATE_DTYPE)

    def read_state(self, i=0, out=None):
        """A consistent copy of slot ``i``'s state (0-d ``STATE_DTYPE`` array)."""
        self._live()
        return self._read(self._off.state_seq, self._off.states, FF_STATE_SIZE, self._slot(i),
                          STATE_DTYPE, out)

    def write_action(self, i, action=None):
        """Write one ``ACTION_DTYPE`` record into slot ``i`` (``write_action(action)``: slot 0,
        the seed's form)."""
        self._live()
        if action is None:
            i, action = 0, i
        self._write(self._off.action_seq, self._off.actions, FF_ACTION_SIZE, self._slot(i),
                    action, ACTION_DTYPE)

    def read_action(self, i=0, out=None):
        """A consistent copy of slot ``i``'s action (0-d ``ACTION_DTYPE`` array)."""
        self._live()
        return self._read(self._off.action_seq, self._off.actions, FF_ACTION_SIZE,
                          self._slot(i), ACTION_DTYPE, out)

    def state_seq(self, i=0):
        """Slot ``i``'s state sequence number (even when stable; +2 per write)."""
        self._live()
        return self._seq(self._off.state_seq, self._slot(i))[0]

    def unlink(self):
        self.arena.unlink()

    def close(self):
        """Drop the views, release and close the arena (idempotent). The creator also unlinks.
        Raises ``BufferError`` if the caller still holds ``states``/``actions`` views, and
        :class:`~factorio_fast.errors.BusyError` (a ``BufferError`` too) while another thread
        is inside a read/write."""
        if self._base == NULL:
            return
        if self._busy:
            raise errors.BusyError(f"SharedMemoryBridge {self.arena.name!r} is in use: another "
                                   "thread is inside a read/write; close() after it returns")
        self._states = None
        self._actions = None
        if self.arena._exports > 1:
            raise BufferError(f"SharedMemoryBridge {self.arena.name!r}: {self.arena._exports - 1}"
                              " live view(s) of states/actions; delete them before close()")
        self._pin.release()
        self._base = NULL
        if self.arena._creator:
            self.arena.unlink()
        self.arena.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
