"""numpy dtypes of the seed's binary layouts (csrc/ff_layout.h).

``align=True`` reproduces natural C alignment; tests check these equal the C structs field by
field (size, offsets, shapes).
"""

from __future__ import annotations

import numpy as np

STATE_DTYPE = np.dtype(
    [
        ("player_pos", "<f4", (2,)),
        ("local_map", "u1", (32, 32, 8)),
        ("inventory", "<u2", (64,)),
        ("entities", "<u4", (16, 4)),
        ("timestamp", "<u8"),
    ],
    align=True,
)
"""``FactorioState``: 8592 bytes; ``local_map`` holds the 8 planes of ``codec.unpack_planes``."""

ACTION_DTYPE = np.dtype(
    [
        ("action_type", "u1"),
        ("parameters", "<f4", (8,)),
        ("command_id", "<u8"),
    ],
    align=True,
)
"""``FactorioAction``: 48 bytes (3 padding bytes after ``action_type``)."""

assert STATE_DTYPE.itemsize == 8592 and ACTION_DTYPE.itemsize == 48
