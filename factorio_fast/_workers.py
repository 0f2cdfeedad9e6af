"""Worker processes over one shared segment, for any batch stepper (``factorio_fast.backends``).

The segment holds the hand-off control words (``factorio_fast.Handoff``), then every array of
the batch (actions, seeds, observations, rewards, flags, ``final_obs``) and one error slot per
worker. Each worker owns a contiguous shard of envs and steps it with a stepper made by the
backend's factory inside the worker; the trainer posts one command per worker per step and
waits (spin briefly, then futex sleep), never one hand-off per env.

This module knows the stepper protocol and nothing about scenarios or Gymnasium:
:class:`WorkerPool` is the trainer's side, :func:`_worker_main` the worker's.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass

import numpy as np

from factorio_fast.backends import new_stepper
from factorio_fast.errors import StateError, WaitTimeoutError, WorkerError

MAIN_GUARD_HINT = (
    "with the {method!r} start method (the default once torchrl is imported, and on macOS and "
    "Windows) each worker starts a fresh Python that imports your main module again; a script "
    "must create vector envs with workers under `if __name__ == \"__main__\":` (or pass "
    "start_method=\"fork\" on Linux)")

CMD_READY, CMD_STEP, CMD_RESET, CMD_CLOSE = 1, 2, 3, 4
AUTORESET_NAMES = {0: "next_step", 1: "same_step"}  # bit 0 of CMD_STEP's arg
ARG_MASKED = 1      # bit 0 of CMD_RESET's arg: reset only the envs in reset_mask
ARG_STATE = 2       # bit 1 of either arg: also copy positions, ticks and inventories out
ERROR_BYTES = 2048  # per-worker slot for an error message written by the worker
_ALIGN = 64


@dataclass(frozen=True)
class Layout:
    """Byte offsets of every array in the shared segment (computed identically on both sides)."""

    num_envs: int
    num_workers: int
    obs_shape: tuple
    obs_dtype: str
    action_shape: tuple
    handoff_size: int
    num_items: int = 0  # inventory columns (0: the stepper reports no inventory)
    feat_width: int = 0  # float32 feature columns (0: obs="bytes", no feature arrays used)

    def arrays(self):
        n = self.num_envs
        return [
            ("actions", np.int64, (n,) + self.action_shape),  # the steppers' own dtype: no conversion
            ("seeds", np.uint64, (n,)),
            ("reset_mask", np.bool_, (n,)),
            ("obs", np.dtype(self.obs_dtype), (n,) + self.obs_shape),
            ("final_obs", np.dtype(self.obs_dtype), (n,) + self.obs_shape),
            ("rewards", np.float32, (n,)),
            ("terminated", np.bool_, (n,)),
            ("truncated", np.bool_, (n,)),
            ("final_mask", np.bool_, (n,)),
            ("positions", np.int32, (n, 2)),
            ("ticks", np.uint64, (n,)),
            ("inventories", np.uint16, (n, self.num_items)),
            # obs="features": float32 rows decoded from obs / final_obs by whoever stepped them
            ("features", np.float32, (n, self.feat_width)),
            ("final_features", np.float32, (n, self.feat_width)),
            ("errors", np.uint8, (max(self.num_workers, 1), ERROR_BYTES)),
        ]

    def offsets(self):
        off = _round_up(self.handoff_size)
        out = {}
        for name, dtype, shape in self.arrays():
            out[name] = (off, dtype, shape)
            off = _round_up(off + int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize)
        return out, off

    def local_buffers(self) -> dict:
        """The same arrays as plain process-local numpy arrays (in-process mode)."""
        return {n: np.zeros(shape, dtype) for n, dtype, shape in self.arrays()}


def _round_up(x: int) -> int:
    return (x + _ALIGN - 1) // _ALIGN * _ALIGN


def _views(arena, layout: Layout) -> dict:
    offsets, _ = layout.offsets()
    return {name: arena.ndarray(dtype, shape, off) for name, (off, dtype, shape) in offsets.items()}


def shard_bounds(num_envs: int, parts: int) -> list[tuple[int, int]]:
    """Split ``0..num_envs`` into ``parts`` contiguous ranges whose sizes differ by at most 1."""
    base, extra = divmod(num_envs, parts)
    bounds, lo = [], 0
    for i in range(parts):
        hi = lo + base + (1 if i < extra else 0)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def _obs_rows(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0], -1)


def step_shard(stepper, bufs: dict, lo: int, hi: int, arg: int, features=None) -> None:
    """Step envs ``lo..hi`` of the batch buffers with their stepper (``arg``: CMD_STEP's).
    ``features``: a ``factorio_fast.features.Decoder`` that turns the shard's new observation
    bytes into its rows of ``features`` (and ``final_features`` where ``final_mask`` is set)."""
    sl = slice(lo, hi)
    stepper.step(bufs["actions"][sl], obs=bufs["obs"][sl], rewards=bufs["rewards"][sl],
                 terminated=bufs["terminated"][sl], truncated=bufs["truncated"][sl],
                 autoreset=AUTORESET_NAMES[arg & 1], final_obs=bufs["final_obs"][sl],
                 final_mask=bufs["final_mask"][sl])
    if features is not None:
        features.fill(_obs_rows(bufs["obs"][sl]), bufs["features"][sl])
        final_mask = bufs["final_mask"][sl]
        if arg & 1 and final_mask.any():  # same_step: final observations of the envs that ended
            features.fill(_obs_rows(bufs["final_obs"][sl]), bufs["final_features"][sl],
                          final_mask.view(np.uint8))
    if arg & ARG_STATE:
        copy_state(stepper, bufs, sl)


def reset_shard(stepper, bufs: dict, lo: int, hi: int, arg: int, features=None) -> None:
    """Reset envs ``lo..hi`` (only those in ``reset_mask`` if ``arg & ARG_MASKED``) from
    ``seeds``."""
    sl = slice(lo, hi)
    if arg & ARG_MASKED:
        ids = np.flatnonzero(bufs["reset_mask"][sl])
        if ids.size:
            stepper.reset(bufs["seeds"][sl][ids], ids, obs=bufs["obs"][sl])
    else:
        stepper.reset(bufs["seeds"][sl], obs=bufs["obs"][sl])
    bufs["final_mask"][sl] = False
    if features is not None:
        features.fill(_obs_rows(bufs["obs"][sl]), bufs["features"][sl],
                      bufs["reset_mask"][sl].view(np.uint8) if arg & ARG_MASKED else None)
    if arg & ARG_STATE:
        copy_state(stepper, bufs, sl)


def copy_state(stepper, bufs: dict, sl: slice) -> None:
    """The per-env state the env reports in ``info``, into the batch buffers."""
    bufs["positions"][sl] = stepper.positions()
    bufs["ticks"][sl] = stepper.ticks()
    if bufs["inventories"].shape[1]:
        bufs["inventories"][sl] = stepper.inventories()


def _attach_when_ready(arena_name: str, layout: Layout, spin_us: float, deadline: float):
    """A spawned worker's attach: the trainer creates the segment only after the workers run
    (see WorkerPool), so poll until it exists and its hand-off is initialised. Returns
    ``(arena, handoff)``, or ``None`` if the trainer died first or the deadline passed."""
    from factorio_fast._bridge import Handoff, SharedArena

    parent = os.getppid()
    while True:
        trainer_gone = os.getppid() != parent  # reparented: the trainer (or forkserver) died
        arena = None
        try:
            arena = SharedArena.attach(arena_name)
            return arena, Handoff(arena, 0, layout.num_workers, create=False, spin_us=spin_us)
        except Exception:
            if arena is not None and trainer_gone:
                arena.unlink()  # created, then the trainer died before initialising it
            if trainer_gone or time.monotonic() > deadline:
                return None
        time.sleep(0.001)


def _worker_main(arena, layout: Layout, worker: int, lo: int, hi: int, backend: str,
                 name: str, kwargs: dict, poll_s: float, spin_us: float = 50.0,
                 attach_timeout: float = 30.0) -> None:
    """Body of a worker process: attach, build the shard's stepper, serve commands.

    ``arena`` is the trainer's SharedArena itself when the worker was forked (the mapping is
    inherited and the name already removed), or the segment's name when it was spawned.
    """
    # Ctrl-C goes to the whole process group; the trainer shuts workers down cleanly instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from factorio_fast._bridge import Handoff

    if isinstance(arena, str):
        attached = _attach_when_ready(arena, layout, spin_us, time.monotonic() + attach_timeout)
        if attached is None:
            return
        arena, handoff = attached
    else:
        handoff = Handoff(arena, 0, layout.num_workers, create=False, spin_us=spin_us)
    bufs = _views(arena, layout)
    err = bufs["errors"][worker]
    try:
        stepper = new_stepper(backend, name, hi - lo, kwargs)
        features = None
        if layout.feat_width:
            from factorio_fast.features import decoder
            features = decoder(name)
    except BaseException as exc:  # report and stop: the trainer raises WorkerError
        _write_error(err, exc)
        handoff.wait_command(worker, 60.0)
        handoff.complete(worker, 1)
        return
    try:
        while True:
            try:
                cmd, arg = handoff.wait_command(worker, poll_s)
            except TimeoutError:
                continue  # the trainer is alive but idle; Handoff raises if it died
            except Exception:
                # Trainer gone: exit instead of lingering as an orphan, and remove the name in
                # case it died before doing so itself (idempotent).
                arena.unlink()
                return
            if cmd == CMD_CLOSE:
                handoff.complete(worker, 0)
                return
            try:
                if cmd == CMD_STEP:
                    step_shard(stepper, bufs, lo, hi, arg, features)
                elif cmd == CMD_RESET:
                    reset_shard(stepper, bufs, lo, hi, arg, features)
                status = 0
            except BaseException as exc:
                _write_error(err, exc)
                status = 1
            handoff.complete(worker, status)
    finally:
        stepper.close()


def _write_error(slot: np.ndarray, exc: BaseException) -> None:
    msg = f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[: ERROR_BYTES - 1]
    slot[: len(msg)] = np.frombuffer(msg, np.uint8)
    slot[len(msg)] = 0


@contextlib.contextmanager
def _unimportable_main_hidden(forked: bool):
    """Let spawned workers start when the main module is no file (``python - < script.py``).

    A spawned child re-runs the parent's main module from ``__main__.__file__``; for a program
    read from stdin that is ``"<stdin>"``, which does not exist, so every child would die
    before reaching our worker function (which needs nothing from the main module). While the
    workers start, such a ``__file__`` is hidden, as it is absent for ``python -c``.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    hide = (not forked and main is not None and isinstance(path, str)
            and getattr(main, "__spec__", None) is None and not os.path.isfile(path))
    if hide:
        del main.__file__
    try:
        yield
    finally:
        if hide:
            main.__file__ = path


def _error_slot_written(errors: np.ndarray, exc: WorkerError) -> bool:
    """Whether some worker wrote its own error message (then the cause is known)."""
    return bool(errors[:, 0].any())


def _read_error(slot: np.ndarray) -> str:
    raw = bytes(slot)
    return raw[: raw.index(0)].decode("utf-8", "replace") if 0 in raw else raw.decode("utf-8", "replace")


class WorkerPool:
    """The trainer's side: ``len(shards)`` worker processes over one shared segment.

    ``bufs`` maps each array name of the layout to its view in the segment. Commands are posted
    per worker (``post``) and waited for (``wait``, ``wait_all``, ``wait_any``); a dead worker
    raises :class:`WorkerError` with its pid and exit status or signal, a live one silent past
    ``timeout`` raises :class:`WaitTimeoutError`. After either the pool is *broken*: a worker
    may still be using the arrays for a command nobody waits for, so the owner must close it.
    """

    def __init__(self, layout_args: dict, shards: list[tuple[int, int]], backend: str, name: str,
                 kwargs: dict, *, start_method: str | None, timeout: float, spin_us: float):
        from factorio_fast._bridge import Handoff, SharedArena

        self.shards = shards
        self.timeout = timeout
        self.broken = False
        self.procs: list = []
        self.arena = self.handoff = None
        self._posted_at: dict[int, float] = {}
        nw = len(shards)
        self.layout = Layout(num_workers=nw, handoff_size=Handoff.size_for(nw), **layout_args)
        _, total = self.layout.offsets()
        ctx = mp.get_context(start_method)
        method = ctx.get_start_method()
        forked = method == "fork"
        if getattr(mp.process.current_process(), "_inheriting", False):
            # We run while a spawned process imports its parent's main module: the script
            # makes this env at import time, so every worker would start workers of its own.
            raise StateError("factorio_fast: a vector env with workers was created while a "
                             "worker process was starting; " + MAIN_GUARD_HINT.format(method=method))
        poll = min(1.0, max(0.05, timeout))  # how often idle workers check the trainer
        # Nothing may be left in /dev/shm whenever the trainer dies, also during start-up:
        # * fork: the workers inherit the mapping, so the name goes right after creation;
        # * spawn/forkserver: the workers need the name, so they start first and poll for it;
        #   the segment then exists only while live workers know it, and a worker that finds
        #   the trainer dead removes the name (see _attach_when_ready and _worker_main).
        seg_name = f"ff_{os.getpid()}_{secrets.token_hex(6)}"

        def start(arena_arg):
            with _unimportable_main_hidden(forked):
                for w, (lo, hi) in enumerate(shards):
                    p = ctx.Process(target=_worker_main, name=f"factorio_fast-{name}-{w}",
                                    args=(arena_arg, self.layout, w, lo, hi, backend, name,
                                          kwargs, poll, spin_us, timeout), daemon=True)
                    p.start()
                    self.procs.append(p)

        try:
            if not forked:
                start(seg_name)
            self.arena = SharedArena.create(total, name=seg_name)
            if forked:
                self.arena.unlink()
            self.handoff = Handoff(self.arena, 0, nw, create=True, spin_us=spin_us)
            self.bufs = _views(self.arena, self.layout)
            if forked:
                start(self.arena)
            for w, p in enumerate(self.procs):
                self.handoff.set_worker_pid(w, p.pid)
            # Handshake: every worker has attached and built its stepper.
            self.handoff.post_all(CMD_READY)
            try:
                self.wait_all()
            except WorkerError as exc:
                if forked or _error_slot_written(self.bufs["errors"], exc):
                    raise
                # Died before reporting anything: under spawn the usual cause is a script
                # without the main guard (its traceback is on the worker's stderr).
                raise WorkerError(f"{exc}; it died while starting: "
                                  + MAIN_GUARD_HINT.format(method=method),
                                  pid=exc.pid, exitcode=exc.exitcode) from exc
        except BaseException:
            stop_workers(self.procs, self.handoff, 1.0)
            if self.arena is not None:
                self.arena.unlink()
            raise
        # Everyone is attached: drop the name so a crash cannot leak it in /dev/shm.
        self.arena.unlink()

    @property
    def num_workers(self) -> int:
        return len(self.shards)

    def post(self, w: int, cmd: int, arg: int = 0) -> None:
        self.handoff.post(w, cmd, arg)
        self._posted_at[w] = time.monotonic()

    def _wait(self, fn, *args):
        try:
            return fn(*args, self.timeout)
        except WorkerError as exc:
            self.raise_worker_error(self._dead_worker(exc), exc)
        except WaitTimeoutError:
            self.broken = True
            raise

    def check_statuses(self, workers) -> None:
        for w in workers:
            if self.handoff.status(w) != 0:
                self.raise_worker_error(w)

    def wait(self, workers) -> None:
        """Wait until each of ``workers`` has completed its command; raise if one failed."""
        for w in workers:
            self._wait(self.handoff.wait, w)
        self.check_statuses(workers)

    def wait_all(self) -> None:
        self._wait(self.handoff.wait_all)
        self.check_statuses(range(self.num_workers))

    def wait_any(self, pending=()) -> list[int]:
        """Block until at least one outstanding command completes; return those workers.

        ``pending``: the workers with a command outstanding. Those that did not finish are
        checked too, so a dead worker raises WorkerError, and one silent for longer than the
        timeout (stopped, hung) WaitTimeoutError, even while the others keep answering.
        """
        finished = self._wait(self.handoff.wait_any)
        self.check_statuses(finished)
        now = time.monotonic()
        for w in pending:
            if w in finished:
                continue
            p = self.procs[w]
            if not p.is_alive():
                self.raise_worker_error(w)
            if now - self._posted_at.get(w, now) > self.timeout:
                self.broken = True
                raise WaitTimeoutError(
                    f"worker {w} (pid {p.pid}) has not answered for {now - self._posted_at[w]:.1f} s "
                    f"(timeout {self.timeout} s); it is alive but stopped or stuck")
        return finished

    def _dead_worker(self, exc: WorkerError) -> int:
        for w, p in enumerate(self.procs):
            if exc.pid is not None and p.pid == exc.pid:
                return w
        for w, p in enumerate(self.procs):
            if not p.is_alive():
                return w
        return 0

    def raise_worker_error(self, w: int, exc: BaseException | None = None) -> None:
        p = self.procs[w] if w < len(self.procs) else None
        code = None
        if p is not None:
            p.join(0.2)
            code = p.exitcode
        detail = _read_error(self.bufs["errors"][w])
        if code is not None and code < 0:
            how = f"was killed by signal {-code} ({signal.Signals(-code).name})"
        elif code is not None:
            how = f"exited with status {code}"
        else:
            how = "failed"
        msg = f"worker {w} (pid {p.pid if p else '?'}) {how}"
        if detail:
            msg += f": {detail}"
        self.broken = True
        raise WorkerError(msg, pid=p.pid if p else None, exitcode=code) from exc

    def close(self) -> None:
        """Stop the workers and release the segment. Idempotent; safe after a worker died."""
        if self.arena is None:
            return
        stop_workers(self.procs, self.handoff, self.timeout)
        self.bufs = {}
        self.handoff = None
        self.arena.unlink()
        try:
            self.arena.close()
        except BufferError:
            pass  # the caller still holds views; the mapping goes with the last of them
        self.arena = None


def stop_workers(procs: list, handoff, timeout: float) -> None:
    """Ask live workers to close, give them until ``min(timeout, 5 s)``, then kill the rest.

    Takes plain arguments (no pool) so a ``weakref.finalize`` can run it after the pool's owner
    is gone.
    """
    if handoff is not None:
        for w, p in enumerate(procs):
            if p.is_alive():
                try:
                    handoff.post(w, CMD_CLOSE, 0)
                except Exception:
                    pass
    deadline = time.monotonic() + min(timeout, 5.0)
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join(1.0)
