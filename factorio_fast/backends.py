"""The backend seam: what steps a batch of envs, and the registry that names them.

A *batch stepper* owns ``num_envs`` environments of one scenario and steps them all in one call,
writing observations, rewards and flags into arrays the caller hands it (plain numpy arrays, or
views into the shared segment of a vector env with workers). The vector env, its worker
processes and the single env only ever talk to this protocol, so a new way of running the world
(the real-Factorio backend) is a new stepper registered under a new name, not an edit of the
vector env.

``"sim"``, the embedded native simulator (:class:`factorio_fast._sim.BatchSim`), is the
reference implementation of the protocol and the default backend. ``"factorio"``
(:class:`factorio_fast.factorio_backend.FactorioStepper`) plays the same scenarios with the mod
on headless Factorio servers (``FACTORIO_PATH``) over RCON.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from factorio_fast.errors import InvalidArgumentError

__all__ = ["BatchStepper", "BACKENDS", "register_backend", "new_stepper", "check_backend"]


@runtime_checkable
class BatchStepper(Protocol):
    """A batch of ``num_envs`` envs of one scenario, stepped together.

    Arrays passed in are written in place; their first axis is the env. ``obs`` rows have
    ``obs_shape`` and ``obs_dtype``; actions have ``action_shape`` (int64, each entry in
    ``0..action_nvec-1``). Implementations validate what they are given and raise
    :mod:`factorio_fast.errors` classes; after an error nothing the caller passed is half
    written.
    """

    num_envs: int
    obs_shape: tuple[int, ...]
    obs_dtype: np.dtype
    action_shape: tuple[int, ...]
    action_nvec: npt.NDArray[np.int64]
    single_observation_space: spaces.Space
    single_action_space: spaces.Space
    bytes_per_env: int  # memory one env holds in this process (checked before a big batch)

    def reset(self, seeds: npt.ArrayLike, env_ids: npt.ArrayLike | None = None, *,
              obs: np.ndarray) -> None:
        """Start new episodes: env ``env_ids[k]`` (default: env ``k``) from ``seeds[k]``,
        writing its first observation to ``obs[env_ids[k]]``."""

    def step(self, actions: np.ndarray, *, obs: np.ndarray, rewards: np.ndarray,
             terminated: np.ndarray, truncated: np.ndarray, autoreset: str = "next_step",
             final_obs: np.ndarray | None = None, final_mask: np.ndarray | None = None) -> None:
        """Step every env once. ``autoreset="next_step"``: an env that ended last step is
        reset by this step (reward 0, flags False). ``"same_step"``: an env that ends now is
        reset at once; its last observation goes to ``final_obs`` and ``final_mask`` is set."""

    def positions(self) -> npt.NDArray[np.int32]:
        """Character positions, ``(num_envs, 2)`` in 1/256 tile."""

    def ticks(self) -> npt.NDArray[np.uint64]:
        """Game ticks since each env's episode began."""

    def inventories(self) -> npt.NDArray[np.uint16]:
        """Item counts, ``(num_envs, number of item ids)``."""

    def render(self, env_id: int) -> npt.NDArray[np.uint8]:
        """An RGB picture of one env."""

    def close(self) -> None:
        """Release everything; idempotent."""


StepperFactory = Callable[..., BatchStepper]


def _sim_factory(scenario: str, num_envs: int, **kwargs: Any) -> BatchStepper:
    from factorio_fast._sim import SCENARIO_NAMES, BatchSim
    from factorio_fast.factorio_backend import FACTORIO_ONLY_SCENARIOS
    if scenario in FACTORIO_ONLY_SCENARIOS:
        from factorio_fast.errors import InvalidArgumentError
        raise InvalidArgumentError(
            f"scenario {scenario!r} is played by the Factorio mod only, not the embedded simulator: "
            "use backend='factorio' (a real server via FACTORIO_PATH; docs/factorio.md); "
            f"the simulator's scenarios are {', '.join(SCENARIO_NAMES)}")
    return BatchSim(scenario, num_envs, **kwargs)


def _factorio_factory(scenario: str, num_envs: int, **kwargs: Any) -> BatchStepper:
    from factorio_fast.factorio_backend import FactorioStepper
    return FactorioStepper(scenario, num_envs, **kwargs)


# name -> factory(scenario, num_envs, **scenario_kwargs) -> BatchStepper
BACKENDS: dict[str, StepperFactory] = {"sim": _sim_factory, "factorio": _factorio_factory}

# Names that are known to be coming, so the error says "not in this release" instead of "unknown".
_PLANNED: dict[str, str] = {}


def register_backend(name: str, factory: StepperFactory, *, replace: bool = False) -> None:
    """Make ``make(..., backend=name)`` and ``make_vec(..., backend=name)`` use ``factory``.

    ``factory(scenario, num_envs, **scenario_kwargs)`` returns a :class:`BatchStepper`. In
    worker mode it is called inside each worker process, so it must be importable there (a
    module-level function, registered when its module is imported).
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"backend name must be a non-empty str, got {name!r}")
    if not callable(factory):
        raise InvalidArgumentError(f"backend factory must be callable, got {factory!r}")
    if name in BACKENDS and not replace:
        raise InvalidArgumentError(f"backend {name!r} is already registered (pass replace=True)")
    BACKENDS[name] = factory
    _PLANNED.pop(name, None)


def check_backend(backend: str) -> None:
    """Raise ``InvalidArgumentError`` naming the known backends if ``backend`` is not one."""
    if isinstance(backend, str) and backend in BACKENDS:
        return
    known = ", ".join(repr(b) for b in BACKENDS)
    if isinstance(backend, str) and backend in _PLANNED:
        raise InvalidArgumentError(
            f"backend={backend!r} ({_PLANNED[backend]}); known backends: {known}")
    raise InvalidArgumentError(f"unknown backend {backend!r}; known backends: {known}")


def new_stepper(backend: str, scenario: str, num_envs: int, kwargs: dict) -> BatchStepper:
    """A new stepper of ``num_envs`` envs of ``scenario`` from the backend named ``backend``."""
    check_backend(backend)
    return BACKENDS[backend](scenario, num_envs, **kwargs)
