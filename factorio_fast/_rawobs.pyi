from typing import Any

import numpy as np
import numpy.typing as npt

_Buffer = bytes | bytearray | memoryview

SCENARIO_IDS: dict[str, int]
FULL_GAME: dict[str, Any]
ENTITY_INFO: tuple[tuple[str, int, float, bool, int], ...]
RECORD_FIXED: int
FRAME_WORLD: int
FRAME_RAW: int
STATUS_STATES: int
STATUS_ACCEPTED: int
STATUS_PENDING: int

def record_bytes(side: int) -> int: ...
def window_side(scenario: str | int) -> int: ...
def parse_payload(payload: _Buffer) -> tuple[dict[str, int], list[dict[str, Any]]]: ...

class RawEncoder:
    num_envs: int
    obs_bytes: int
    action_dims: int
    scenario_id: int
    def __init__(self, scenario: str | int, num_envs: int, *, episode_steps: int | None = None,
                 goal: int | None = None, reward: str | None = None) -> None: ...
    def header(self, payload: _Buffer) -> tuple[int, int, int, int, int, int]: ...
    def begin(self, payload: _Buffer, targets: npt.ArrayLike,
              obs: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]: ...
    def step(self, payload: _Buffer, actions: npt.ArrayLike, mask: npt.ArrayLike,
             obs: npt.NDArray[np.uint8], rewards: npt.NDArray[np.float32],
             terminated: npt.NDArray[np.uint8],
             truncated: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]: ...
    def actions(self, actions: npt.ArrayLike, stand: npt.ArrayLike | None = ...,
                command_id: int = ...) -> bytes: ...
    def context(self, env: int) -> dict[str, Any]: ...
