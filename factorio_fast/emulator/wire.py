"""The mod's wire, Python side: frames as RCON text, and the WORLD request (docs/mod.md).

Frames are the project's (docs/design.md §8, ``csrc/ff_frame.h``): a 16-byte little-endian header
(magic 0xFA57, version 1, type, payload length, sequence) and the payload. The mod adds two
types to ff_frame.h's five: WORLD (6, a reset with the worlds to build) and RAW (7, raw game
state; see ``csrc/ff_rawobs.h``). Over RCON a frame is text: ``B`` + base64, or ``Z`` + deflate +
base64 (what the mod's ``helpers.encode_string`` makes and ``helpers.decode_string`` reads).
"""

from __future__ import annotations

import base64
import binascii
import struct
import sys
import zlib

import numpy as np

from factorio_fast import codec
from factorio_fast.errors import InvalidArgumentError, ProtocolError

__all__ = ["frame", "unframe", "to_text", "from_text", "world_payload", "world_record",
           "T_ACTIONS", "T_ERROR", "T_WORLD", "T_RAW", "MAGIC", "VERSION", "HEADER"]

_STRICT_B64 = sys.version_info >= (3, 11)
MAGIC = codec.FRAME_MAGIC
VERSION = codec.FRAME_VERSION
HEADER = codec.HEADER_SIZE
T_ACTIONS, T_ERROR = int(codec.FrameType.ACTIONS), int(codec.FrameType.ERROR)
T_WORLD, T_RAW = int(codec.FrameType.WORLD), int(codec.FrameType.RAW)
ENV_FIXED = 52


def frame(ftype: int, payload: bytes, sequence: int = 0) -> bytes:
    """One frame of the project's format (the C encoder, ``codec.encode_frame``)."""
    return codec.encode_frame(ftype, payload, sequence)


def unframe(data: bytes, max_payload: int = 1 << 26) -> tuple[int, int, bytes]:
    """(type, sequence, payload bytes) of exactly one frame (the C decoder: every header and
    payload-size rule of ``csrc/ff_frame.h``); ProtocolError otherwise."""
    f = codec.decode_frame(data, max_payload=max_payload)
    p = f.payload
    if isinstance(p, str):
        p = p.encode("utf-8")
    elif not isinstance(p, bytes):  # ACTIONS/STATE arrays; OBSERVATION is not a mod frame
        if not isinstance(p, np.ndarray):
            raise ProtocolError(f"a {f.type.name} frame is not part of the mod's wire")
        p = p.tobytes()
    return int(f.type), f.sequence, p


def to_text(data: bytes, how: str = "Z") -> str:
    """A frame as the text of an RCON command: ``B`` + base64, or ``Z`` + zlib + base64 (what
    ``helpers.decode_string`` reads in the mod)."""
    if how == "Z":
        return "Z" + base64.b64encode(zlib.compress(data, 6)).decode("ascii")
    if how == "B":
        return "B" + base64.b64encode(data).decode("ascii")
    raise InvalidArgumentError(f"encoding must be 'B' or 'Z', got {how!r}")


def from_text(text: str) -> bytes:
    """The frame in a reply (rcon.print ends each line with a newline)."""
    text = text.strip()
    if len(text) < 2 or text[0] not in "BZ":
        raise ProtocolError(f"the reply is not a frame: {text[:80]!r}")
    try:
        # Python >= 3.11's strict decoder is several times faster than b64decode(validate=True)
        # on a large reply, and as strict
        raw = binascii.a2b_base64(text[1:], strict_mode=True) if _STRICT_B64 else \
            base64.b64decode(text[1:], validate=True)
        if text[0] == "B":
            return raw
        try:
            return zlib.decompress(raw)
        except zlib.error:
            return zlib.decompress(raw, -15)  # raw deflate
    except (binascii.Error, zlib.error, ValueError) as e:
        raise ProtocolError(f"the reply's text does not decode: {e}") from None


def _runs(tiles: np.ndarray) -> bytes:
    """Row-major runs (u8 tile id, u16 length) of a tile-id map."""
    flat = tiles.reshape(-1)
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [flat.size]))
    out = bytearray()
    for s, e in zip(starts.tolist(), ends.tolist()):
        n = e - s
        while n > 0:
            k = min(n, 65535)
            out += struct.pack("<BH", int(flat[s]), k)
            n -= k
    return bytes(out)


def world_record(env: int, tiles: np.ndarray, resources, buildings, position, inventory,
                 target=(-1, -1)) -> bytes:
    """One env's part of a WORLD payload.

    tiles: uint8 (h, w) tile ids; resources: (entity, x, y, amount); buildings: (entity, x, y,
    direction index 0..7) with the footprint's top-left tile; position: the character (1/256
    tile); inventory: 16 counts by item id; target: movement's target tile.
    """
    runs = _runs(np.asarray(tiles, np.uint8))
    inv = [int(v) for v in inventory][:16]
    inv += [0] * (16 - len(inv))
    head = struct.pack("<HHHHiihh16H", env, len(runs) // 3, len(resources), len(buildings),
                       int(position[0]), int(position[1]), int(target[0]), int(target[1]), *inv)
    assert len(head) == ENV_FIXED
    res = b"".join(struct.pack("<BBHHH", e, 0, x, y, a) for e, x, y, a in resources)
    bld = b"".join(struct.pack("<BBHH", e, 2 * d, x, y) for e, x, y, d in buildings)
    return head + runs + res + bld


def full_game_record(env: int, seed: int, inventory) -> bytes:
    """One env's part of a full_game WORLD payload (docs/mod.md §3.1): the map seed of the
    episode's surface (the game generates the map) and the starting inventory."""
    inv = [int(v) for v in inventory][:16]
    inv += [0] * (16 - len(inv))
    return struct.pack("<HHI16H", env, 0, int(seed) & 0xFFFFFFFF, *inv)


def world_payload(scenario_id: int, num_envs: int, ticks_per_step: int, width: int, height: int,
                  records: list[bytes]) -> bytes:
    """A WORLD request's payload (docs/mod.md §3): the 16-byte sub-header, then the env records
    that ``world_record`` made."""
    head = struct.pack("<BBHHHHHI", scenario_id, 0, num_envs, len(records), ticks_per_step,
                       width, height, 0)
    return head + b"".join(records)
