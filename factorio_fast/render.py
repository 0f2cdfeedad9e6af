"""RGB pictures of a simulator world (``BatchSim.render`` / ``render_world``).

One tile is ``scale`` x ``scale`` pixels: the tile's colour, a resource or building drawn over
it, and the character as a white square of its 0.4-tile collision box (docs/factorio-facts.md §4.1).
Only for looking at episodes; nothing here is on the stepping path.
"""

from __future__ import annotations

import numpy as np

from factorio_fast.errors import InvalidArgumentError

__all__ = ["render_world", "TILE_COLOURS", "ENTITY_COLOURS"]

# By tile id (csrc/ff_ids.h): out-of-map, grass, dirt, sand, red desert, stone path, concrete,
# refined concrete, landfill, shallow water, mud, water, deep water, green water, deep green,
# lab tile.
TILE_COLOURS = np.array([
    (0, 0, 0), (60, 110, 40), (110, 85, 55), (190, 170, 110), (150, 90, 60), (120, 120, 110),
    (140, 140, 140), (170, 170, 170), (100, 90, 70), (70, 120, 150), (80, 90, 70),
    (30, 70, 160), (15, 40, 120), (30, 110, 100), (15, 70, 60), (40, 40, 50),
], np.uint8)

# By entity id: none, iron ore, copper ore, coal, stone, stone furnace, burner drill, belt,
# wooden chest, character.
ENTITY_COLOURS = np.array([
    (0, 0, 0), (105, 130, 160), (200, 110, 60), (25, 25, 25), (175, 160, 130),
    (150, 70, 40), (90, 90, 100), (220, 190, 40), (140, 100, 50), (255, 255, 255),
], np.uint8)


def render_world(world, scale=None) -> np.ndarray:
    """Picture of a whole ``World``: uint8 array of shape ``(H*scale, W*scale, 3)``.

    Parameters
    ----------
    world : factorio_fast._sim.World
        The world (or ``BatchSim.world(i)``).
    scale : int, optional
        Pixels per tile, 1..32 (default 4).
    """
    if scale is None:
        scale = 4
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= scale <= 32:
        raise InvalidArgumentError(f"scale must be an integer in 1..32, got {scale!r}")
    scale = int(scale)
    cells = world.cells()
    tile = (cells >> 28).astype(np.intp)
    entity = ((cells >> 12) & 0xF).astype(np.intp)
    rgb = TILE_COLOURS[tile]
    has = entity > 0
    rgb[has] = ENTITY_COLOURS[np.minimum(entity[has], len(ENTITY_COLOURS) - 1)]
    img = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    # The character: its +-0.2 box, at least one pixel.
    px, py = world.position
    half = max(0.2 * scale, 0.5)
    x0, x1 = int(px / 256 * scale - half), int(np.ceil(px / 256 * scale + half))
    y0, y1 = int(py / 256 * scale - half), int(np.ceil(py / 256 * scale + half))
    h, w = img.shape[:2]
    img[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w)] = ENTITY_COLOURS[9]
    return np.ascontiguousarray(img)
