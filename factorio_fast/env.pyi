"""Type stubs of factorio_fast.env: the single environment and ``make``.

The module's own reset/step/render/close carry no annotations (their behaviour is Gymnasium's
``Env`` API); this stub gives type checkers their types. tests/test_stubs.py holds it to the
module's names and signatures."""

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import numpy.typing as npt

_Obs = npt.NDArray[np.uint8] | npt.NDArray[np.float32]
_Action = int | np.integer[Any] | npt.ArrayLike

class FactorioEnv(gym.Env[_Obs, _Action]):
    """One environment of a scenario (see ``factorio_fast.SCENARIOS``)."""

    metadata: ClassVar[dict[str, Any]]
    name: str
    backend: str
    obs_mode: str
    render_mode: str | None
    def __init__(
        self,
        name: str,
        *,
        render_mode: str | None = None,
        backend: str = "sim",
        obs: str = "bytes",
        **scenario_kwargs: Any,
    ) -> None: ...
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[_Obs, dict[str, Any]]: ...
    def step(self, action: _Action) -> tuple[_Obs, float, bool, bool, dict[str, Any]]: ...
    def render(self) -> npt.NDArray[np.uint8] | None: ...
    def close(self) -> None: ...

def make(
    name: str,
    *,
    backend: str = "sim",
    render_mode: str | None = None,
    obs: str = "bytes",
    **scenario_kwargs: Any,
) -> FactorioEnv: ...
