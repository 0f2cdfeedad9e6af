"""Exceptions raised by factorio_fast.

Every error is rooted in :class:`FactorioFastError` and also subclasses the builtin that users
already catch (``ValueError``, ``OSError``, ``queue.Full`` ...), so ``except ValueError`` keeps
working around a malformed frame and ``except queue.Empty`` around an empty ring.
"""

from __future__ import annotations

import queue

from gymnasium.error import ResetNeeded as _GymResetNeeded

__all__ = [
    "FactorioFastError",
    "InvalidArgumentError",
    "ArgumentTypeError",
    "InsufficientMemoryError",
    "ResetNeededError",
    "ProtocolError",
    "ShmError",
    "LayoutMismatchError",
    "RingFull",
    "RingEmpty",
    "WaitTimeoutError",
    "WorkerError",
    "ClosedError",
    "StateError",
    "BusyError",
    "FactorioServerError",
]


class FactorioFastError(Exception):
    """Base class of every factorio_fast error."""


class InvalidArgumentError(FactorioFastError, ValueError):
    """An argument (an action, an id, an array's dtype or shape) is outside what is accepted."""


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument has the wrong type, or a keyword argument is unknown (Python's own rule is a
    ``TypeError``, which tools such as torchrl rely on to drop keywords an env does not take)."""


class InsufficientMemoryError(FactorioFastError, MemoryError):
    """A request needs more memory than the machine has; refused before allocating anything."""


class ProtocolError(FactorioFastError, ValueError):
    """Bytes that claim to be a wire frame (or an RCON packet) are malformed."""


class ShmError(FactorioFastError, OSError):
    """A shared-memory segment could not be created, opened or mapped."""


class LayoutMismatchError(ShmError):
    """A shared segment was made by a build with different layouts, sizes or ABI version."""


class RingFull(FactorioFastError, queue.Full):
    """The ring buffer has no free slot (non-blocking put, or the timeout ran out)."""


class RingEmpty(FactorioFastError, queue.Empty):
    """The ring buffer has no item (non-blocking get, or the timeout ran out)."""


class WaitTimeoutError(FactorioFastError, TimeoutError):
    """A wait on a peer ran out of time while the peer was still alive."""


class ClosedError(FactorioFastError, ValueError):
    """The object (arena, ring, env) has been closed."""


class StateError(FactorioFastError, RuntimeError):
    """The call is not valid in the object's current state (the game's rules refuse it, a
    command is still outstanding, a ring side is already in use by another caller, ...)."""


class BusyError(StateError, BufferError):
    """The object is in use by a call in another thread (``close()`` while a wait or a step
    runs with the GIL released)."""


class ResetNeededError(StateError, _GymResetNeeded):
    """``step``/``send`` before ``reset`` (also a ``gymnasium.error.ResetNeeded``)."""


class WorkerError(FactorioFastError, RuntimeError):
    """A worker process died or failed.

    Attributes
    ----------
    pid : int or None
        The worker's process id.
    exitcode : int or None
        Its exit status (``multiprocessing`` convention: ``-N`` means killed by signal ``N``).
    """

    def __init__(self, message: str, pid: int | None = None, exitcode: int | None = None):
        super().__init__(message)
        self.pid = pid
        self.exitcode = exitcode


class FactorioServerError(FactorioFastError, RuntimeError):
    """A Factorio server (or the emulator standing in for it) failed to start or answer."""
