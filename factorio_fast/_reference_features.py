"""Readable specification of the features (the test oracle of csrc/ff_features.c).

Written from the text of docs/scenarios.md (the observation layouts and each scenario's
"Features" list), not from the C tables: one function per scenario that unpacks the bytes
field by field with ``struct`` and appends the features in the documented order.
"""

from __future__ import annotations

import struct

import numpy as np

NUM_TILES = 16
NUM_ENTITIES = 10


def _bits(raw: bytes, n: int) -> list[float]:
    return [float((raw[k // 8] >> (k % 8)) & 1) for k in range(n)]


def _onehot(v: int, n: int) -> list[float]:
    return [1.0 if v == k else 0.0 for k in range(n)]


def _cell(c: int) -> list[float]:
    tile, amount, entity = c >> 28, (c >> 16) & 0xFFF, (c >> 12) & 0xF
    return [float(c & 1), np.float32(amount) * np.float32(1.0 / 4095.0)] + _onehot(tile, NUM_TILES) \
        + _onehot(entity, NUM_ENTITIES)


def _scaled(v: int, scale: float) -> float:
    return np.float32(v) * np.float32(scale)  # the C multiplies in float32


def _in_tile(px: int, py: int) -> list[float]:
    """Where in its tile the character stands: px mod 256 over 256, likewise py."""
    return [_scaled(px % 256, 1.0 / 256), _scaled(py % 256, 1.0 / 256)]


def _near(d: int) -> float:
    """A delta in 1/256 tile in units of 4 tiles, clipped to -1..1."""
    return float(np.clip(_scaled(d, 1.0 / 1024), np.float32(-1), np.float32(1)))


def movement_micro(raw: bytes) -> list[float]:
    px, py, dx, dy, last, _, steps = struct.unpack_from("<HHhhBBH", raw, 32)
    side = 1.0 / (32 * 256)
    return (_bits(raw[0:32], 256) + [_scaled(px, side), _scaled(py, side), _scaled(dx, side),
                                     _scaled(dy, side)]
            + _onehot(last, 9) + [_scaled(steps, 1.0 / 100)] + _in_tile(px, py)
            + [_near(dx), _near(dy)])


def mining_micro(raw: bytes) -> list[float]:
    out: list[float] = []
    for c in struct.unpack_from("<49I", raw, 0):
        out += _cell(c)
    px, py, ore, progress, steps, last = struct.unpack_from("<HHHHHB", raw, 196)
    side = 1.0 / (64 * 256)
    out += [_scaled(px, side), _scaled(py, side), _scaled(ore, 1.0 / 50), _scaled(progress, 1.0 / 120),
            _scaled(steps, 1.0 / 300)]
    out += _onehot(last, 34)
    out += _bits(raw[208:216], 64)
    out += _in_tile(px, py)
    return out


def building_micro(raw: bytes) -> list[float]:
    out: list[float] = []
    for c in struct.unpack_from("<81I", raw, 0):
        out += _cell(c)
    out += [_scaled(v, 1.0 / 50) for v in struct.unpack_from("<16H", raw, 324)]
    px, py, recipe, queue, craft, steps, last, milestones, plates, mining = struct.unpack_from(
        "<HHBBHHBBHH", raw, 356)
    side = 1.0 / (128 * 256)
    out += [_scaled(px, side), _scaled(py, side)]
    out += _onehot(recipe, 5)
    out += [_scaled(queue, 1.0 / 8), _scaled(craft, 1.0 / 120), _scaled(steps, 1.0 / 500)]
    out += _onehot(last, 20)
    out += _bits(bytes([milestones]), 2)
    out += [_scaled(plates, 1.0 / 10), _scaled(mining, 1.0 / 120)]
    buildings = [struct.unpack_from("<BbbBBBBB", raw, 372 + 8 * k) for k in range(8)]
    for b in buildings:
        out += _onehot(b[0], NUM_ENTITIES)
    for col, scale in ((1, 1.0 / 16), (2, 1.0 / 16), (3, 1.0 / 50), (4, 1.0 / 50), (5, 1.0 / 50),
                       (6, 1.0 / 255)):
        out += [_scaled(b[col], scale) for b in buildings]
    for b in buildings:
        out += _bits(bytes([b[7]]), 2)
    out += _bits(raw[436:468], 256)
    out += _in_tile(px, py)
    out += _layout(raw, buildings)
    return out


DRILL, FURNACE, IRON_ORE = 6, 5, 1   # entity ids
COAL_ITEM, FURNACE_ITEM, DRILL_ITEM = 3, 7, 8


def _tile(d: tuple[int, int] | None) -> list[float]:
    """A relative tile as one-hots of dx and dy: -4..4, then "out of range"; zeros if None."""
    if d is None:
        return [0.0] * 20
    dx, dy = d
    return _onehot(dx + 4 if -4 <= dx <= 4 else 9, 10) + _onehot(dy + 4 if -4 <= dy <= 4 else 9, 10)


def _layout(raw: bytes, buildings: list[tuple]) -> list[float]:
    """building_micro's layout: the first drill's top-left, the furnace spot above it (its
    bottom-left tile on the drill's drop tile), the first furnace's top-left, the nearest iron-ore
    tile of the cells; then 7 bits: holds a drill, a furnace, coal; a drill placed; a furnace on
    a drill's drop tile; a drill fuelled; such a furnace fuelled."""
    drill = next((b for b in buildings if b[0] == DRILL), None)
    furnace = next((b for b in buildings if b[0] == FURNACE), None)
    ore = None
    best = None
    for i, c in enumerate(struct.unpack_from("<81I", raw, 0)):
        if (c >> 12) & 15 == IRON_ORE and (c >> 16) & 0xFFF:
            x, y = i % 9 - 4, i // 9 - 4
            if best is None or abs(x) + abs(y) < best:
                best, ore = abs(x) + abs(y), (x, y)
    out = _tile(None if drill is None else (drill[1], drill[2]))
    out += _tile(None if drill is None else (drill[1], drill[2] - 2))
    out += _tile(None if furnace is None else (furnace[1], furnace[2]))
    out += _tile(ore)
    inv = struct.unpack_from("<16H", raw, 324)
    on = drill_fuel = furnace_fuel = False
    for d in buildings:
        if d[0] != DRILL:
            continue
        drill_fuel |= bool(d[3] or d[7] & 1)
        for f in buildings:
            if f[0] == FURNACE and f[1] <= d[1] <= f[1] + 1 and f[2] <= d[2] - 1 <= f[2] + 1:
                on = True
                furnace_fuel |= bool(f[3] or f[7] & 1)
    return out + [float(v) for v in (inv[DRILL_ITEM] > 0, inv[FURNACE_ITEM] > 0, inv[COAL_ITEM] > 0,
                                     drill is not None, on, drill_fuel, furnace_fuel)]


REFERENCE = {"movement_micro": movement_micro, "mining_micro": mining_micro,
             "building_micro": building_micro}


def decode(obs: np.ndarray, scenario: str) -> np.ndarray:
    """Features of a batch ``(n, obs_bytes)`` (or one row) of observation bytes, row by row."""
    a = np.asarray(obs, np.uint8)
    rows = a.reshape(-1, a.shape[-1])
    out = np.array([REFERENCE[scenario](bytes(r)) for r in rows], np.float32)
    return out.reshape(a.shape[:-1] + (out.shape[-1],))
