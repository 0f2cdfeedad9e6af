"""factorio_fast: fast reinforcement-learning environments for Factorio.

One API, two backends with identical observation and action spaces: the embedded native
simulator (``backend="sim"``, default) and real headless Factorio (``backend="factorio"``: servers
running the project's mod, verified against the project's emulator of a server).

>>> import factorio_fast
>>> env = factorio_fast.make("movement_micro")
>>> envs = factorio_fast.make_vec("mining_micro", num_envs=4096, num_workers=0)
>>> envs = factorio_fast.make_vec("mining_micro", num_envs=64, obs="features")  # float32 rows

``factorio_fast.decode(obs_bytes, name)`` turns byte observations into the same features.

Every scenario is also registered with Gymnasium as ``factorio_fast/<name>-v0``:
``gymnasium.make("factorio_fast/movement_micro-v0")`` and
``gymnasium.make_vec("factorio_fast/movement_micro-v0", num_envs=4096)`` (the latter uses
``make_vec``, not a ``SyncVectorEnv``).
"""

from factorio_fast import errors
from factorio_fast._bridge import Handoff, RingBuffer, SharedArena, SharedMemoryBridge
from factorio_fast._layout import ACTION_DTYPE, STATE_DTYPE
from factorio_fast.env import FactorioEnv, make
from factorio_fast.errors import (
    FactorioFastError,
    InvalidArgumentError,
    ProtocolError,
    WorkerError,
)
from factorio_fast.features import decode, feature_space
from factorio_fast.scenarios import SCENARIOS, Scenario
from factorio_fast.vector import FactorioVectorEnv, make_vec

__version__ = "0.2.0"


def _register_with_gymnasium() -> None:
    import gymnasium

    for name in SCENARIOS:
        env_id = f"factorio_fast/{name}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point="factorio_fast.env:FactorioEnv",
                               vector_entry_point="factorio_fast.vector:FactorioVectorEnv",
                               max_episode_steps=SCENARIOS[name].episode_steps,
                               kwargs={"name": name})


_register_with_gymnasium()

__all__ = [
    "ACTION_DTYPE",
    "SCENARIOS",
    "STATE_DTYPE",
    "FactorioEnv",
    "FactorioFastError",
    "FactorioVectorEnv",
    "Handoff",
    "InvalidArgumentError",
    "ProtocolError",
    "RingBuffer",
    "Scenario",
    "SharedArena",
    "SharedMemoryBridge",
    "WorkerError",
    "decode",
    "errors",
    "feature_space",
    "make",
    "make_vec",
    "__version__",
]
