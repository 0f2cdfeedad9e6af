"""factorio_fast: fast reinforcement-learning environments for Factorio.

One API, two backends with identical observation and action spaces: the embedded native
simulator (``backend="sim"``, default) and real headless Factorio (``backend="factorio"``).
"""

from factorio_fast import errors
from factorio_fast._layout import ACTION_DTYPE, STATE_DTYPE
from factorio_fast.errors import FactorioFastError, ProtocolError

__version__ = "0.1.0"

__all__ = [
    "ACTION_DTYPE",
    "STATE_DTYPE",
    "FactorioFastError",
    "ProtocolError",
    "errors",
    "__version__",
]
