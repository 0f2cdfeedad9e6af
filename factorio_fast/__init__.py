"""factorio_fast: fast reinforcement-learning environments for Factorio.

One API, two backends with identical observation and action spaces: the embedded native
simulator (``backend="sim"``, default) and real headless Factorio (``backend="factorio"``, not
part of this release yet).

>>> import factorio_fast
>>> env = factorio_fast.make("movement_micro")
>>> envs = factorio_fast.make_vec("mining_micro", num_envs=4096, num_workers=0)
"""

from factorio_fast import errors
from factorio_fast._layout import ACTION_DTYPE, STATE_DTYPE
from factorio_fast.env import FactorioEnv, make
from factorio_fast.errors import (
    FactorioFastError,
    InvalidArgumentError,
    ProtocolError,
    WorkerError,
)
from factorio_fast.scenarios import SCENARIOS, Scenario
from factorio_fast.vector import FactorioVectorEnv, make_vec

__version__ = "0.1.0"

__all__ = [
    "ACTION_DTYPE",
    "SCENARIOS",
    "STATE_DTYPE",
    "FactorioEnv",
    "FactorioFastError",
    "FactorioVectorEnv",
    "InvalidArgumentError",
    "ProtocolError",
    "Scenario",
    "WorkerError",
    "errors",
    "make",
    "make_vec",
    "__version__",
]
