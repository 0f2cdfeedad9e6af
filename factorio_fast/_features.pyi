from typing import Any

import numpy as np
import numpy.typing as npt

KINDS: dict[int, str]
CELL_WIDTH: int
SCENARIOS: tuple[str, ...]

class Decoder:
    """The feature decoder of one scenario (its field table in csrc/ff_features.c)."""

    scenario: str
    """The scenario whose observations it decodes."""
    obs_bytes: int
    """Bytes of one observation it reads."""
    width: int
    """float32 features it writes per observation."""
    def __init__(self, scenario: str) -> None: ...
    def fields(self) -> list[dict[str, Any]]: ...
    def bounds(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
    def fill(self, obs: npt.NDArray[np.uint8], out: npt.NDArray[np.float32],
             mask: npt.NDArray[np.uint8] | None = None) -> None: ...
