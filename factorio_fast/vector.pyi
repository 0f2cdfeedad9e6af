"""Type stubs of factorio_fast.vector: the vector environment and ``make_vec``.

The module's reset/step/send/recv/render carry no annotations (their behaviour is Gymnasium's
``VectorEnv`` API plus EnvPool-style send/recv); this stub gives type checkers their types.
tests/test_stubs.py holds it to the module's names and signatures."""

from typing import Any

import numpy as np
import numpy.typing as npt
from gymnasium.vector import AutoresetMode, VectorEnv

_Obs = npt.NDArray[np.uint8] | npt.NDArray[np.float32]
_Actions = npt.ArrayLike
_Result = tuple[_Obs, npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_],
                dict[str, Any]]

INFO_KEYS: tuple[str, ...]
AUTORESET_CODES: dict[AutoresetMode, int]

class FactorioVectorEnv(VectorEnv[_Obs, _Actions, npt.NDArray[np.float32]]):
    """A batch of ``num_envs`` environments of one scenario. Create it with ``make_vec``."""

    name: str
    num_envs: int
    num_workers: int
    batch_size: int
    is_async: bool
    copy: bool
    timeout: float
    spin_us: float
    backend: str
    obs_mode: str
    infos: tuple[str, ...]
    autoreset_mode: AutoresetMode
    render_mode: str | None
    def __init__(
        self,
        name: str,
        num_envs: int,
        *,
        num_workers: int = 0,
        autoreset_mode: str | AutoresetMode = ...,
        batch_size: int | None = None,
        copy: bool = True,
        start_method: str | None = None,
        timeout: float = 30.0,
        spin_us: float = 2000.0,
        backend: str = "sim",
        max_episode_steps: int | None = None,
        infos: tuple[str, ...] | list[str] = (),
        obs: str = "bytes",
        _pool_factory: Any = None,  # the Ray shards' pool (factorio_fast.integrations.ray)
        **scenario_kwargs: Any,
    ) -> None: ...
    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[_Obs, dict[str, Any]]: ...
    def step(self, actions: _Actions) -> _Result: ...
    def async_reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> None: ...
    def send(self, actions: _Actions, env_id: npt.ArrayLike | None = None) -> None: ...
    def recv(self) -> _Result: ...
    def render(self, env_id: int = 0) -> npt.NDArray[np.uint8]: ...
    @property
    def shared_bytes(self) -> int: ...
    def close(self, **kwargs: Any) -> None: ...

def make_vec(
    name: str,
    num_envs: int,
    backend: str = "sim",
    num_workers: int = 0,
    cluster: str | None = None,
    **kwargs: Any,
) -> FactorioVectorEnv: ...
