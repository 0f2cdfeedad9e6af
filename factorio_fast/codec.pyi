from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

_Buffer = bytes | bytearray | memoryview

AMOUNT_MAX: int
NUM_PLANES: int
PLANE_TILE: int
PLANE_BLOCKED: int
PLANE_ENTITY: int
PLANE_AMOUNT: int
TILE_NAMES: tuple[str, ...]
TILE_BLOCKS: tuple[bool, ...]
TILE_SPEED: tuple[float, ...]
ENTITY_NAMES: tuple[str, ...]
ITEM_NAMES: tuple[str, ...]
ITEM_STACK: tuple[int, ...]
TILE_IDS: dict[str, int]
ENTITY_IDS: dict[str, int]
ITEM_IDS: dict[str, int]
FRAME_MAGIC: int
FRAME_VERSION: int
HEADER_SIZE: int
DEFAULT_MAX_PAYLOAD: int

def layout_hash() -> int: ...
def c_layout() -> dict[str, dict[str, int]]: ...
def encode_cell(tile: int, amount: int, entity: int, blocked: bool) -> int: ...
def decode_cell(cell: int) -> tuple[int, int, int, bool]: ...
def encode_cells(tile: npt.ArrayLike, amount: npt.ArrayLike, entity: npt.ArrayLike,
                 blocked: npt.ArrayLike, out: npt.NDArray[np.uint32] | None = ...
                 ) -> npt.NDArray[np.uint32]: ...
def decode_cells(cells: npt.ArrayLike, out: tuple[npt.NDArray[Any], ...] | None = ...
                 ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint16],
                            npt.NDArray[np.uint8], npt.NDArray[np.bool_]]: ...
def unpack_planes(cells: npt.ArrayLike, out: npt.NDArray[np.uint8] | None = ..., *,
                  layout: str = ...) -> npt.NDArray[np.uint8]: ...

class FrameType(IntEnum):
    ACTIONS = 1
    STATE = 2
    OBSERVATION = 3
    RESET = 4
    ERROR = 5
    WORLD = 6
    RAW = 7
    UDP = 8

class ObservationBatch(NamedTuple):
    scenario_id: int
    obs: npt.NDArray[np.uint8]
    rewards: npt.NDArray[np.float32]
    terminated: npt.NDArray[np.bool_]
    truncated: npt.NDArray[np.bool_]

class Frame(NamedTuple):
    type: FrameType
    sequence: int
    payload: Any

def encode_frame(ftype: int, payload: Any, sequence: int = ...) -> bytes: ...
def encode_observations(obs: npt.ArrayLike, rewards: npt.ArrayLike, terminated: npt.ArrayLike,
                        truncated: npt.ArrayLike, scenario_id: int = ...,
                        sequence: int = ...) -> bytes: ...
def peek_frame(buf: _Buffer, *, max_payload: int = ...) -> tuple[FrameType, int, int]: ...
def decode_frame(buf: _Buffer, *, max_payload: int = ...) -> Frame: ...
