"""Argument checks shared by the env layers: each raises a specific ``factorio_fast.errors`` class
with a message that says what was expected, before anything is allocated or changed."""

from __future__ import annotations

import numbers
import os

import numpy as np

from factorio_fast.errors import ArgumentTypeError, InsufficientMemoryError, InvalidArgumentError

U64 = 2**64


def integer(name: str, value, lo: int, hi: int | None = None) -> int:
    """``value`` as an int in ``lo..hi``; bools and floats (even 2.0) are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ArgumentTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise InvalidArgumentError(f"{name} must be {rng}, got {v}")
    return v


def number(name: str, value, *, positive: bool) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not (v > 0 if positive else v >= 0):
        raise InvalidArgumentError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return v


def seed(value, count: int = 1) -> int:
    """A base seed for ``count`` envs (env i gets ``seed + i``): an int with
    ``0 <= seed`` and ``seed + count - 1 < 2**64``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ArgumentTypeError(f"seed must be None or an int, got {type(value).__name__} {value!r}")
    v = int(value)
    if v < 0 or v + count - 1 >= U64:
        top = f"2**64 - {count}" if count > 1 else "2**64 - 1"
        raise InvalidArgumentError(f"seed must be in 0..{top}" +
                                   (f" (env i gets seed + i, {count} envs)" if count > 1 else "") +
                                   f", got {v}")
    return v


def available_memory() -> int:
    """Bytes this process could still get: the machine's available memory (and the cgroup's
    limit, where one is set)."""
    import psutil

    avail = psutil.virtual_memory().available
    try:  # a container's limit is what counts there
        with open("/sys/fs/cgroup/memory.max") as f:
            raw = f.read().strip()
        if raw != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                avail = min(avail, int(raw) - int(f.read().strip()))
    except (OSError, ValueError):
        pass
    return max(0, avail)


def check_memory(nbytes: int, what: str) -> None:
    """Refuse a request for ``nbytes`` if it exceeds what the machine has available
    (``FACTORIO_FAST_NO_MEMORY_CHECK=1`` turns the check off)."""
    if os.environ.get("FACTORIO_FAST_NO_MEMORY_CHECK", "") not in ("", "0"):
        return
    avail = available_memory()
    if nbytes > avail:
        raise InsufficientMemoryError(
            f"{what} needs about {nbytes / 2**30:.1f} GiB but only {avail / 2**30:.1f} GiB are "
            "available; use fewer envs (or set FACTORIO_FAST_NO_MEMORY_CHECK=1 to try anyway)")
