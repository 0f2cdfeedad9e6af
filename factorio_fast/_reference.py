"""Readable pure-Python reference of the cell codec and the wire frame: the specification.

Tests hold the compiled ``factorio_fast.codec`` to this module bit for bit (golden vectors in
``tests/data/`` and Hypothesis-generated inputs). Nothing here is fast; everything here is meant
to be read.
"""

from __future__ import annotations

import struct

from factorio_fast.errors import InvalidArgumentError, ProtocolError

# ---------------------------------------------------------------------------------------------
# The 32-bit cell (docs/design.md §4)

TILE_SHIFT = 28
AMOUNT_SHIFT = 16
ENTITY_SHIFT = 12
AMOUNT_MAX = 4095
RESERVED_MASK = 0x0000_0FFE


def encode_cell(tile: int, amount: int, entity: int, blocked: bool) -> int:
    """Pack one cell. The seed wrote ``amount & 0xFFF``, which turns 4096 into 0; we saturate."""
    if not 0 <= tile <= 15:
        raise InvalidArgumentError(f"tile id must be in 0..15, got {tile}")
    if not 0 <= entity <= 15:
        raise InvalidArgumentError(f"entity id must be in 0..15, got {entity}")
    if amount < 0:
        raise InvalidArgumentError(f"resource amount must be >= 0, got {amount}")
    value = tile << TILE_SHIFT
    value |= min(amount, AMOUNT_MAX) << AMOUNT_SHIFT
    value |= entity << ENTITY_SHIFT
    value |= 1 if blocked else 0
    return value


def decode_cell(cell: int) -> tuple[int, int, int, bool]:
    """Unpack one cell into ``(tile, amount, entity, blocked)``; reserved bits must be zero."""
    if not 0 <= cell <= 0xFFFF_FFFF:
        raise InvalidArgumentError(f"a cell is an unsigned 32-bit value, got {cell}")
    if cell & RESERVED_MASK:
        raise InvalidArgumentError(f"cell {cell:#010x} has reserved bits 11..1 set")
    return (
        cell >> TILE_SHIFT,
        (cell >> AMOUNT_SHIFT) & AMOUNT_MAX,
        (cell >> ENTITY_SHIFT) & 0xF,
        bool(cell & 1),
    )


def amount_to_plane(amount: int) -> int:
    """Resource amount (0..4095) scaled to a 0..255 plane value, rounded half up."""
    return (amount * 255 + AMOUNT_MAX // 2) // AMOUNT_MAX


def unpack_planes_cell(cell: int) -> list[int]:
    """The 8 plane values of one cell: tile, blocked, entity, amount plane, 4 reserved zeros."""
    tile = cell >> TILE_SHIFT
    amount = (cell >> AMOUNT_SHIFT) & AMOUNT_MAX
    entity = (cell >> ENTITY_SHIFT) & 0xF
    return [tile, cell & 1, entity, amount_to_plane(amount), 0, 0, 0, 0]


# ---------------------------------------------------------------------------------------------
# The wire frame (docs/design.md §8)

MAGIC = 0xFA57
VERSION = 1
HEADER = struct.Struct("<HBBIQ")  # magic, version, type, payload length, sequence
HEADER_SIZE = HEADER.size  # 16

ACTIONS, STATE, OBSERVATION, RESET, ERROR, WORLD, RAW, UDP = 1, 2, 3, 4, 5, 6, 7, 8
TYPES = {ACTIONS: "ACTIONS", STATE: "STATE", OBSERVATION: "OBSERVATION", RESET: "RESET",
         ERROR: "ERROR", WORLD: "WORLD", RAW: "RAW",
         UDP: "UDP"}
ACTION_SIZE = 48
STATE_SIZE = 8592
OBS_SUBHEADER = 8


def payload_ok(ftype: int, payload: bytes) -> bool:
    """Whether ``payload`` has a legal size (and sub-header) for its frame type."""
    n = len(payload)
    if ftype == ACTIONS:
        return n % ACTION_SIZE == 0
    if ftype == STATE:
        return n >= STATE_SIZE and n % STATE_SIZE == 0
    if ftype == OBSERVATION:
        if n < OBS_SUBHEADER:
            return False
        count, obs_bytes = struct.unpack_from("<IH", payload)
        return n == OBS_SUBHEADER + count * (obs_bytes + 5)
    if ftype == RESET:
        return n % 8 == 0
    if ftype == ERROR:
        return True
    if ftype == WORLD:  # a 16-byte sub-header, then env records the mod checks (docs/mod.md §3)
        return n >= 16
    if ftype == RAW:  # u8 status, u8 scenario, u16 count, u16 record bytes, ... (docs/mod.md §4)
        if n == 0:  # the client's poll
            return True
        if n < 16:
            return False
        count, record_bytes = struct.unpack_from("<HH", payload, 2)
        return n == 16 + count * record_bytes
    if ftype == UDP:  # u16 client port, u16 server port, u16 max datagram, u16 0 (docs/mod.md §7)
        return n == 8
    return False


def encode_frame(ftype: int, payload: bytes, sequence: int = 0) -> bytes:
    """Header + payload. The payload must already be valid for its type."""
    if ftype not in TYPES:
        raise InvalidArgumentError(f"unknown frame type {ftype}")
    if not payload_ok(ftype, payload):
        raise InvalidArgumentError(f"{TYPES[ftype]} payload of {len(payload)} bytes is malformed")
    return HEADER.pack(MAGIC, VERSION, ftype, len(payload), sequence) + payload


def decode_frame(buf: bytes, max_payload: int = 16 * 1024 * 1024) -> tuple[int, int, bytes]:
    """Return ``(type, sequence, payload bytes)`` of exactly one frame, or raise ProtocolError.

    The checks run in the order the C decoder runs them, so both report the same error for the
    same bytes: magic, version, type (each as soon as its byte is present), header length,
    maximum payload, exact length, payload shape; then the content checks of the Python layer
    (ERROR text is UTF-8, OBSERVATION flags use only bits 0 and 1).
    """
    n = len(buf)
    if n >= 2 and struct.unpack_from("<H", buf)[0] != MAGIC:
        raise ProtocolError("bad frame magic (expected 0xFA57)")
    if n >= 3 and buf[2] != VERSION:
        raise ProtocolError("unsupported frame version")
    if n >= 4 and buf[3] not in TYPES:
        raise ProtocolError("unknown frame type")
    if n < HEADER_SIZE:
        raise ProtocolError("frame truncated")
    _, _, ftype, length, sequence = HEADER.unpack_from(buf)
    if length > max_payload:
        raise ProtocolError("payload larger than the configured maximum")
    if n < HEADER_SIZE + length:
        raise ProtocolError("frame truncated")
    if n > HEADER_SIZE + length:
        raise ProtocolError("trailing bytes after the frame")
    payload = bytes(buf[HEADER_SIZE:])
    if not payload_ok(ftype, payload):
        raise ProtocolError("payload length does not fit the frame type")
    if ftype == ERROR:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("ERROR frame text is not valid UTF-8") from None
    if ftype == OBSERVATION:
        count = struct.unpack_from("<I", payload)[0]
        if any(flag > 3 for flag in payload[len(payload) - count:]):
            raise ProtocolError("OBSERVATION flags use bits other than terminated/truncated")
    return ftype, sequence, payload
