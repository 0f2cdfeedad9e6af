"""The shaped rewards of mining_micro and building_micro: the readable specification of
``csrc/sim/ff_shaping.h`` (docs/scenarios.md, "Shaping").

Potential-based shaping (Ng, Harada and Russell 1999): a step from state s to s' adds
``(phi(s') - phi(s)) / scale`` to the task reward, phi being a function of the state alone, so
the additions over an episode sum to ``phi(last) - phi(first)``: no cycle of states earns
anything. phi is read from the observation bytes (identical in the simulator and in the mod's
raw-state path) and is an integer, so the float32 reward is exactly the C one.
"""

from __future__ import annotations

import numpy as np

MINING_SCALE = np.float32(7680.0)     # 32 units per mining tick, 3 per 1/256 tile
BUILDING_SCALE = np.float32(25600.0)  # 256 units = 0.01 of reward, 5 per 1/256 tile
IRON_ORE, FURNACE, DRILL, BELT = 1, 5, 6, 7   # entity ids
GEAR_ITEM, FURNACE_ITEM, DRILL_ITEM, BELT_ITEM = 6, 7, 8, 9   # item ids


def _u16(o: bytes, at: int) -> int:
    return o[at] | o[at + 1] << 8


def _i8(v: int) -> int:
    return v - 256 if v >= 128 else v


def window_ore(o: bytes, side: int, px: int, py: int) -> int:
    """L1 distance (1/256 tile) from (px, py) to the centre of the nearest iron-ore tile of the
    side x side cell window at the start of ``o``; -1 if there is none."""
    x0, y0 = (px >> 8) - side // 2, (py >> 8) - side // 2
    best = -1
    for i in range(side * side):
        c = int.from_bytes(o[4 * i:4 * i + 4], "little")
        if (c >> 12) & 15 != IRON_ORE or not (c >> 16) & 0xFFF:
            continue
        d = abs((x0 + i % side) * 256 + 128 - px) + abs((y0 + i // side) * 256 + 128 - py)
        if best < 0 or d < best:
            best = d
    return best


def gap(window_d: int, blocks: int, blk: int, floor: int, px: int, py: int) -> int:
    """Distance to ore beyond the 2 tiles of resource reach: to the nearest ore tile of the window,
    else to the nearest ore block's centre (at least ``floor``), 0 with no ore left."""
    d = window_d
    if d < 0:
        for k in range(64):
            if (blocks >> k) & 1:
                e = abs(((k & 7) * blk * 2 + blk) * 128 - px) + abs(((k >> 3) * blk * 2 + blk) * 128 - py)
                if d < 0 or e < d:
                    d = e
        if d < 0:
            return 0
        d = max(d, floor)
    return max(d - 512, 0)


def mining_phi(o: bytes) -> int:
    """32 per tick of hand-mining progress, -3 per 1/256 tile of gap to iron ore."""
    px, py = _u16(o, 196), _u16(o, 198)
    blocks = int.from_bytes(o[208:216], "little")
    g = gap(window_ore(o, 7, px, py), blocks, 8, 4 * 256, px, py)
    return 32 * _u16(o, 202) - 3 * g


def building_phi(o: bytes) -> int:
    """In units of 0.01 (256 each): 50 a drill exists, 30 a drill has fuel, 25 a drill exists
    and a furnace is in the inventory or placed, 50 less 10 per tile from a drill's drop tile to a furnace
    (the best pair; 50 when it covers it), 30 a furnace covering it has fuel, -10 per belt held
    or placed and per gear held beyond 3; -5 per 1/256 tile
    of gap: to iron ore, or, once a drill was placed on ore (milestone bit 0) and a drill is
    placed, to the first drill's drop tile."""
    px, py = _u16(o, 356), _u16(o, 358)
    drill = int(_u16(o, 324 + 2 * DRILL_ITEM) > 0)
    held = int(_u16(o, 324 + 2 * FURNACE_ITEM) > 0)
    drill_fuel = near = furnace_fuel = 0
    slots = [o[372 + 8 * k:380 + 8 * k] for k in range(8)]
    drop = None
    # belts held or placed, gears held beyond the drill's 3: their crafts' +0.1 taken back
    waste = _u16(o, 324 + 2 * BELT_ITEM) + max(_u16(o, 324 + 2 * GEAR_ITEM) - 3, 0)
    waste += sum(b[0] == BELT for b in slots)
    for b in slots:
        if b[0] == FURNACE:
            held = 1
        if b[0] != DRILL:
            continue
        drill = 1
        if b[3] or b[7] & 1:
            drill_fuel = 1
        dx, dy = _i8(b[1]), _i8(b[2]) - 1      # the drop tile: above the top-left tile
        if drop is None:
            drop = (dx, dy)
        for f in slots:
            if f[0] != FURNACE:
                continue
            fx, fy = _i8(f[1]), _i8(f[2])
            # tiles from the drop tile to the furnace's 2 x 2 footprint (0: it covers it)
            d = max(fx - dx, 0, dx - fx - 1) + max(fy - dy, 0, dy - fy - 1)
            near = max(near, 50 - 10 * d)
            if d == 0 and (f[3] or f[7] & 1):
                furnace_fuel = 1
    if drop is not None and o[367] & 1:
        d = abs(((px >> 8) + drop[0]) * 256 + 128 - px) + abs(((py >> 8) + drop[1]) * 256 + 128 - py)
        g = max(d - 512, 0)
    else:
        blocks = 0
        for k in range(64):
            if (o[436 + (k >> 1)] >> (4 * (k & 1))) & 1:
                blocks |= 1 << k
        g = gap(window_ore(o, 9, px, py), blocks, 16, 5 * 256, px, py)
    return 256 * (50 * drill + 30 * drill_fuel + 25 * (drill & held) + near + 30 * furnace_fuel
                  - 10 * waste) - 5 * g


PHI = {"mining_micro": mining_phi, "building_micro": building_phi}
SCALE = {"mining_micro": MINING_SCALE, "building_micro": BUILDING_SCALE}


def phi(scenario: str, o: bytes) -> int:
    f = PHI.get(scenario)
    return f(bytes(o)) if f is not None else 0


def shaping_reward(scenario: str, phi0: int, phi1: int) -> np.float32:
    """The float32 reward of a step from potential ``phi0`` to ``phi1`` (one conversion, one
    division, as the C)."""
    return np.float32(np.float32(phi1 - phi0) / SCALE[scenario])
