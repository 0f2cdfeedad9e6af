"""Decoded observations: float32 features a network can read, from the observation bytes.

Every scenario's observation is packed bytes (docs/scenarios.md gives the layouts): the wire
format, compact and exact, and what ``make``/``make_vec`` return by default. ``obs="features"``
returns instead a float32 vector per env, computed in C from those bytes into the batch's
buffers (inside the workers, when there are workers): bits as 0/1, ids one-hot, map cells as
blocked, amount/4095 and one-hot tile and entity ids, positions, deltas and counters scaled to
about -1..1, plus near-range views (the position within its tile, movement_micro's target delta
clipped to 4 tiles) where the map-wide scale is too coarse for a policy. docs/scenarios.md
("Features" of each scenario) lists the columns.

Which to use: features for MLP policies and any library that feeds observations straight to a
network (SB3, torchrl, CleanRL-style loops); bytes to store or send observations (4 to 5 times
smaller), for CNNs over the cells (``codec.unpack_planes``), or your own encoding.

>>> import factorio_fast
>>> env = factorio_fast.make("movement_micro")
>>> obs, _ = env.reset(seed=0)
>>> factorio_fast.decode(obs, "movement_micro").shape
(274,)
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from factorio_fast._features import SCENARIOS as FEATURE_SCENARIOS
from factorio_fast._features import Decoder
from factorio_fast.errors import ArgumentTypeError, InvalidArgumentError

__all__ = ["FEATURE_SCENARIOS", "Decoder", "OBS_MODES", "decode", "decoder", "feature_fields",
           "feature_space", "check_obs_mode"]

OBS_MODES = ("bytes", "features")
_DECODERS: dict[str, Decoder] = {}


def decoder(scenario: str) -> Decoder:
    """The (cached) C decoder of ``scenario``; ``InvalidArgumentError`` if it has no table."""
    d = _DECODERS.get(scenario)
    if d is None:
        if not isinstance(scenario, str):
            raise ArgumentTypeError(f"scenario must be a str, got {type(scenario).__name__}")
        d = _DECODERS[scenario] = Decoder(scenario)
    return d


def check_obs_mode(obs: str) -> str:
    """``obs`` if it is one of ``OBS_MODES``, else ``InvalidArgumentError``."""
    if obs not in OBS_MODES:
        raise InvalidArgumentError(f"obs must be one of {OBS_MODES}, got {obs!r}")
    return obs


def feature_space(scenario: str) -> spaces.Box:
    """The float32 ``Box`` of one env's features, with each column's exact bounds."""
    low, high = decoder(scenario).bounds()
    return spaces.Box(low=low, high=high, dtype=np.float32)


def feature_fields(scenario: str) -> list[dict]:
    """The scenario's field table (name, byte offset, kind, count, scale, output columns)."""
    return decoder(scenario).fields()


def decode(obs, scenario: str, out: np.ndarray | None = None) -> np.ndarray:
    """Features of observation bytes: ``obs`` is one observation (``(obs_bytes,)`` uint8) or a
    batch (``(..., obs_bytes)``); returns float32 ``(..., width)`` (into ``out`` if given).

    The same C code as ``obs="features"``, so ``decode(bytes_obs) == features_obs`` exactly.
    """
    d = decoder(scenario)
    a = np.asarray(obs)
    if a.dtype != np.uint8:
        raise InvalidArgumentError(f"obs must be uint8 observation bytes, got dtype {a.dtype}")
    if a.ndim == 0 or a.shape[-1] != d.obs_bytes:
        raise InvalidArgumentError(
            f"{scenario}: obs must end in an axis of {d.obs_bytes} bytes, got shape {a.shape}")
    lead = a.shape[:-1]
    rows = np.ascontiguousarray(a.reshape(-1, d.obs_bytes))
    if out is None:
        out = np.empty(lead + (d.width,), np.float32)
    elif (not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != lead + (d.width,)
          or not out.flags.c_contiguous):
        raise InvalidArgumentError(f"out must be a C-contiguous float32 array of shape {lead + (d.width,)}")
    d.fill(rows, out.reshape(-1, d.width))
    return out
