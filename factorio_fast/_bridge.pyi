"""Type stubs of factorio_fast._bridge (shared memory, hand-off, ring, state/action bridge)."""

from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from factorio_fast.errors import (  # noqa: F401  (documented raises)
    BusyError,
    ClosedError,
    InvalidArgumentError,
    LayoutMismatchError,
    RingEmpty,
    RingFull,
    ShmError,
    StateError,
    WaitTimeoutError,
    WorkerError,
)

__all__ = [
    "SharedArena",
    "Handoff",
    "RingBuffer",
    "SharedMemoryBridge",
    "SHM_HEADER_SIZE",
    "SHM_MAGIC",
    "shm_free_space",
    "peek_segment",
    "remove_segment",
    "usable_cpus",
]

SHM_HEADER_SIZE: int
SHM_MAGIC: int

_Mode = Literal["auto", "spin", "block"]
_Timeout = float | None
_Bytes = bytes | bytearray | memoryview | npt.NDArray[np.uint8]

def shm_free_space() -> int: ...
def usable_cpus() -> int: ...
def peek_segment(name: str) -> dict[str, int]: ...
def remove_segment(name: str) -> None: ...

class SharedArena:
    @staticmethod
    def create(size: int, name: str | None = None, expected_attaches: int = 0) -> SharedArena: ...
    @staticmethod
    def attach(name: str) -> SharedArena: ...
    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def closed(self) -> bool:
        """True once this handle is closed (its mapping released)."""
    @property
    def unlinked(self) -> bool: ...
    @property
    def attach_count(self) -> int: ...
    @property
    def owner_pid(self) -> int:
        """The pid of the process that created the segment (from its header)."""
    @property
    def exports(self) -> int: ...
    def ndarray(
        self, dtype: npt.DTypeLike, shape: int | Sequence[int], offset: int = 0
    ) -> np.ndarray[Any, np.dtype[Any]]: ...
    def __buffer__(self, flags: int) -> memoryview: ...
    def unlink(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> SharedArena: ...
    def __exit__(self, *exc: object) -> None: ...

class Handoff:
    def __init__(
        self,
        arena: SharedArena,
        offset: int,
        num_workers: int,
        create: bool = True,
        mode: _Mode = "auto",
        spin_us: float | None = None,
    ) -> None: ...
    @staticmethod
    def size_for(num_workers: int) -> int: ...
    @property
    def num_workers(self) -> int:
        """Workers this hand-off serves (indices 0 .. num_workers - 1)."""
    @property
    def spin_us(self) -> float: ...
    @property
    def mode(self) -> _Mode:
        """The wait mode given at construction: "auto", "spin" or "block"."""
    @property
    def trainer_pid(self) -> int:
        """The pid of the trainer that created the hand-off (recorded in shared memory)."""
    @property
    def arena(self) -> SharedArena | None:
        """The arena the hand-off lives in; None once closed."""
    @property
    def closed(self) -> bool:
        """True once this handle is closed."""
    def worker_pid(self, w: int) -> int: ...
    def set_worker_pid(self, w: int, pid: int) -> None: ...
    # trainer side
    def post(self, w: int, command: int, arg: int = 0) -> None:
        """Raises StateError if w's previous command has not completed."""
    def post_all(self, command: int, arg: int = 0) -> None:
        """Raises StateError (nothing posted) if some worker's previous command has not
        completed."""
    def wait(self, w: int, timeout: _Timeout = None) -> None: ...
    def wait_all(self, timeout: _Timeout = None) -> None: ...
    def wait_any(self, timeout: _Timeout = None) -> list[int]: ...
    def status(self, w: int) -> int: ...
    def outstanding(self, w: int) -> bool: ...
    # worker side
    def wait_command(self, w: int, timeout: _Timeout = None) -> tuple[int, int]: ...
    def complete(self, w: int, status: int = 0) -> None:
        """Raises StateError if w has no outstanding command."""
    # benchmark hooks (C loops)
    def _bench_trainer(
        self,
        w: int,
        n: int,
        command: int = 1,
        timeout: _Timeout = 10.0,
        msg_offset: int | None = None,
        msg_len: int = 64,
    ) -> None: ...
    def _bench_worker(
        self,
        w: int,
        stop_command: int = 0,
        timeout: _Timeout = 10.0,
        msg_offset: int | None = None,
        msg_len: int = 64,
    ) -> int: ...
    def close(self) -> None:
        """Raises BusyError (a BufferError) while another thread waits on this handle."""
    def __enter__(self) -> Handoff: ...
    def __exit__(self, *exc: object) -> None: ...

class RingBuffer:
    """Single-producer / single-consumer (each in any thread or process). A second thread on
    the same side of one handle raises StateError."""

    def __init__(
        self,
        arena: SharedArena,
        offset: int,
        capacity: int,
        slot_size: int,
        create: bool = True,
        spin_us: float | None = None,
    ) -> None: ...
    @staticmethod
    def size_for(capacity: int, slot_size: int) -> int: ...
    @staticmethod
    def create(
        capacity: int, slot_size: int = 64, name: str | None = None, spin_us: float | None = None
    ) -> RingBuffer: ...
    @property
    def capacity(self) -> int:
        """Slots in the ring: the most items it holds at once."""
    @property
    def slot_size(self) -> int:
        """Bytes per slot: the longest item a put accepts."""
    @property
    def arena(self) -> SharedArena | None:
        """The arena the ring lives in; None once closed."""
    @property
    def closed(self) -> bool:
        """True once this handle is closed."""
    def qsize(self) -> int: ...
    def empty(self) -> bool: ...
    def full(self) -> bool: ...
    def put(self, item: _Bytes, block: bool = True, timeout: _Timeout = None) -> None: ...
    def put_nowait(self, item: _Bytes) -> None: ...
    def get(self, block: bool = True, timeout: _Timeout = None) -> bytes: ...
    def get_nowait(self) -> bytes: ...
    def put_many(
        self,
        items: Sequence[_Bytes] | npt.NDArray[np.uint8],
        block: bool = True,
        timeout: _Timeout = None,
    ) -> int: ...
    @overload
    def get_many(
        self,
        max_items: int | None = None,
        out: None = None,
        block: bool = True,
        timeout: _Timeout = None,
        lengths: npt.NDArray[np.uint32] | None = None,
    ) -> list[bytes]: ...
    @overload
    def get_many(
        self,
        max_items: int | None,
        out: npt.NDArray[np.uint8],
        block: bool = True,
        timeout: _Timeout = None,
        lengths: npt.NDArray[np.uint32] | None = None,
    ) -> int: ...
    @overload
    def get_many(
        self,
        max_items: int | None = None,
        *,
        out: npt.NDArray[np.uint8],
        block: bool = True,
        timeout: _Timeout = None,
        lengths: npt.NDArray[np.uint32] | None = None,
    ) -> int: ...
    def close(self) -> None:
        """Raises BusyError (a BufferError) while another thread is inside a call."""
    def __len__(self) -> int: ...
    def __enter__(self) -> RingBuffer: ...
    def __exit__(self, *exc: object) -> None: ...

class SharedMemoryBridge:
    arena: SharedArena
    """The segment holding the states, the actions and their sequence numbers."""
    def __init__(
        self,
        num_envs: int = 1,
        name: str | None = None,
        create: bool = True,
        max_read_tries: int = 100000,
    ) -> None: ...
    @staticmethod
    def attach(name: str) -> SharedMemoryBridge: ...
    @property
    def name(self) -> str:
        """The segment's name (``attach`` takes it in another process)."""
    @property
    def num_envs(self) -> int:
        """Envs with a state and an action slot each."""
    @property
    def states(self) -> np.ndarray[Any, np.dtype[np.void]]: ...
    @property
    def actions(self) -> np.ndarray[Any, np.dtype[np.void]]: ...
    @overload
    def write_state(self, i: np.ndarray | bytes) -> None: ...
    @overload
    def write_state(self, i: int, state: np.ndarray | bytes) -> None: ...
    def read_state(
        self, i: int = 0, out: np.ndarray | None = None
    ) -> np.ndarray[Any, np.dtype[np.void]]: ...
    @overload
    def write_action(self, i: np.ndarray | bytes) -> None: ...
    @overload
    def write_action(self, i: int, action: np.ndarray | bytes) -> None: ...
    def read_action(
        self, i: int = 0, out: np.ndarray | None = None
    ) -> np.ndarray[Any, np.dtype[np.void]]: ...
    def state_seq(self, i: int = 0) -> int: ...
    def unlink(self) -> None: ...
    def close(self) -> None:
        """Raises BufferError while states/actions views live, BusyError (a BufferError)
        while another thread is inside a read/write."""
    def __enter__(self) -> SharedMemoryBridge: ...
    def __exit__(self, *exc: object) -> None: ...
