# cython: language_level=3
"""The 32-bit map cell codec and the binary wire frame (thin wrappers over csrc/).

Cell layout (docs/design.md §4)::

    bits 31..28  tile id          (TILE_NAMES)
    bits 27..16  resource amount  (saturates at 4095)
    bits 15..12  entity id        (ENTITY_NAMES)
    bits 11..1   reserved, zero
    bit  0       the tile blocks the character

``factorio_fast._reference`` holds a readable pure-Python version of everything here; it is the
specification and the test oracle.
"""

from enum import IntEnum
from typing import NamedTuple

import numpy as np

from factorio_fast._layout import ACTION_DTYPE, STATE_DTYPE
from factorio_fast.errors import InvalidArgumentError, ProtocolError

from libc.stdint cimport uint8_t, uint16_t, uint32_t
from cpython.bytearray cimport PyByteArray_FromStringAndSize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy

from factorio_fast._ffcore cimport *

__all__ = [
    "TILE_NAMES", "ENTITY_NAMES", "ITEM_NAMES", "TILE_IDS", "ENTITY_IDS", "ITEM_IDS",
    "TILE_BLOCKS", "TILE_SPEED", "ITEM_STACK", "AMOUNT_MAX", "NUM_PLANES", "PLANE_TILE",
    "PLANE_BLOCKED", "PLANE_ENTITY", "PLANE_AMOUNT",
    "encode_cell", "decode_cell", "encode_cells", "decode_cells", "unpack_planes",
    "FrameType", "Frame", "ObservationBatch", "FRAME_MAGIC", "FRAME_VERSION", "HEADER_SIZE",
    "DEFAULT_MAX_PAYLOAD", "encode_frame", "decode_frame", "peek_frame", "encode_observations",
    "layout_hash", "c_layout",
]

AMOUNT_MAX = FF_CELL_AMOUNT_MAX
NUM_PLANES = FF_PLANES
PLANE_TILE, PLANE_BLOCKED, PLANE_ENTITY, PLANE_AMOUNT = 0, 1, 2, 3

TILE_NAMES = tuple(ff_tile_table[i].name.decode() for i in range(FF_NUM_TILES))
"""Tile name by id (4-bit cell field)."""
TILE_BLOCKS = tuple(bool(ff_tile_table[i].blocks_character) for i in range(FF_NUM_TILES))
"""Whether the tile collides with the character (tested at its centre point)."""
TILE_SPEED = tuple(ff_tile_table[i].walking_speed_modifier for i in range(FF_NUM_TILES))
"""Walking speed modifier of each tile (Factorio prototype ``walking_speed_modifier``)."""
ENTITY_NAMES = tuple(ff_entity_table[i].name.decode() for i in range(FF_NUM_ENTITIES))
"""Entity name by id (4-bit cell field); id 0 is 'no entity'."""
ITEM_NAMES = tuple(ff_item_table[i].name.decode() for i in range(FF_NUM_ITEMS))
"""Item name by id (index into ``FactorioState.inventory``); id 0 is 'no item'."""
ITEM_STACK = tuple(ff_item_table[i].stack_size for i in range(FF_NUM_ITEMS))
TILE_IDS = {n: i for i, n in enumerate(TILE_NAMES)}
ENTITY_IDS = {n: i for i, n in enumerate(ENTITY_NAMES) if n}
ITEM_IDS = {n: i for i, n in enumerate(ITEM_NAMES) if n}


def layout_hash():
    """64-bit hash of the C layouts and ABI version (stored in shared-segment headers)."""
    return ff_layout_hash()


def c_layout():
    """Sizes and offsets of FactorioState / FactorioAction as the C compiler laid them out."""
    cdef ff_state_t s
    cdef ff_action_t a
    cdef size_t sb = <size_t>&s
    cdef size_t ab = <size_t>&a
    return {
        "FactorioState": {
            "size": sizeof(ff_state_t),
            "player_pos": <size_t>&s.player_pos - sb,
            "local_map": <size_t>&s.local_map - sb,
            "inventory": <size_t>&s.inventory - sb,
            "entities": <size_t>&s.entities - sb,
            "timestamp": <size_t>&s.timestamp - sb,
        },
        "FactorioAction": {
            "size": sizeof(ff_action_t),
            "action_type": <size_t>&a.action_type - ab,
            "parameters": <size_t>&a.parameters - ab,
            "command_id": <size_t>&a.command_id - ab,
        },
    }


# --------------------------------------------------------------------------------------------
# cells

def encode_cell(tile, amount, entity, blocked):
    """Pack one cell into a 32-bit int.

    Parameters
    ----------
    tile : int
        Tile id, 0..15 (``TILE_IDS``).
    amount : int
        Resource amount, >= 0; values above 4095 saturate at 4095.
    entity : int
        Entity id, 0..15 (``ENTITY_IDS``).
    blocked : bool
        Whether the tile blocks the character.
    """
    tile, amount, entity = _as_int(tile, "tile"), _as_int(amount, "amount"), _as_int(entity, "entity")
    if not 0 <= tile <= 15:
        raise InvalidArgumentError(f"tile id must be in 0..15, got {tile}")
    if not 0 <= entity <= 15:
        raise InvalidArgumentError(f"entity id must be in 0..15, got {entity}")
    if amount < 0:
        raise InvalidArgumentError(f"resource amount must be >= 0, got {amount}")
    cdef uint32_t out = 0
    check(ff_encode_cell(tile, min(amount, 0xFFFFFFFFFFFFFFFF), entity, bool(blocked), &out))
    return out


def decode_cell(cell):
    """Unpack one cell into ``(tile, amount, entity, blocked)``; reserved bits must be zero."""
    cell = _as_int(cell, "cell")
    if not 0 <= cell <= 0xFFFFFFFF:
        raise InvalidArgumentError(f"a cell is an unsigned 32-bit value, got {cell}")
    cdef uint32_t t, a, e, b
    if ff_decode_cell(cell, &t, &a, &e, &b) != FF_OK:
        raise InvalidArgumentError(f"cell {cell:#010x} has reserved bits 11..1 set")
    return t, a, e, bool(b)


def _as_int(v, name):
    try:
        return int(v.__index__())
    except AttributeError:
        raise InvalidArgumentError(f"{name} must be an integer, got {type(v).__name__}") from None


def _small_ids(a, name):
    """``a`` as C-contiguous uint8 ids 0..15 (range checked in C for uint8 input)."""
    a = np.asarray(a)
    if a.dtype == np.uint8:
        return np.asarray(a, order="C")
    if a.dtype.kind not in "iub":
        raise InvalidArgumentError(f"{name} ids must be integers, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() > 15):
        raise InvalidArgumentError(f"{name} ids must be in 0..15")
    return np.asarray(a, dtype=np.uint8, order="C")


def _amounts(a):
    a = np.asarray(a)
    if a.dtype == np.uint16 or a.dtype == np.uint32:
        return np.asarray(a, order="C")
    if a.dtype.kind not in "iub":
        raise InvalidArgumentError(f"amounts must be integers, got dtype {a.dtype}")
    if a.dtype.kind == "i" and a.size and a.min() < 0:
        raise InvalidArgumentError("resource amounts must be >= 0")
    return np.asarray(np.minimum(a, AMOUNT_MAX), dtype=np.uint16, order="C")


def _flags(a):
    a = np.asarray(a)
    if a.dtype == np.bool_:
        return np.asarray(a, order="C").view(np.uint8)
    if a.dtype == np.uint8:
        return np.asarray(a, order="C")
    if a.dtype.kind not in "iuf":
        raise InvalidArgumentError(f"blocked must be bool or integer, got dtype {a.dtype}")
    return np.asarray(a != 0, order="C").view(np.uint8)


def encode_cells(tile, amount, entity, blocked, out=None):
    """Pack arrays of fields (any shape, broadcast together) into a uint32 array of cells.

    Fast path (no conversion copies): ``tile``/``entity`` uint8, ``amount`` uint16 or uint32,
    ``blocked`` bool or uint8. Other integer dtypes are range-checked and converted. The C loop
    runs without the GIL. ``out``, if given, must be a C-contiguous uint32 array of the
    broadcast shape.
    """
    t, a, e, b = np.broadcast_arrays(_small_ids(tile, "tile"), _amounts(amount),
                                     _small_ids(entity, "entity"), _flags(blocked))
    shape = t.shape
    t, a, e, b = (np.asarray(x, order="C").reshape(-1) for x in (t, a, e, b))
    if out is None:
        out = np.empty(shape, dtype=np.uint32)
    elif (not isinstance(out, np.ndarray) or out.dtype != np.uint32 or out.shape != shape
          or not out.flags.c_contiguous or not out.flags.writeable):
        raise InvalidArgumentError(f"out must be a writeable C-contiguous uint32 array of shape {shape}")
    cdef const uint8_t[::1] tv = t
    cdef const uint8_t[::1] ev = e
    cdef const uint8_t[::1] bv = b
    cdef uint32_t[::1] ov = out.reshape(-1)
    cdef const uint16_t[::1] a16
    cdef const uint32_t[::1] a32
    cdef size_t n = tv.shape[0]
    cdef size_t bad = 0
    cdef int rc
    if n == 0:
        return out
    if a.dtype == np.uint16:
        a16 = a
        with nogil:
            rc = ff_encode_cells_u16(&tv[0], &a16[0], &ev[0], &bv[0], &ov[0], n, &bad)
    else:
        a32 = a
        with nogil:
            rc = ff_encode_cells_u32(&tv[0], &a32[0], &ev[0], &bv[0], &ov[0], n, &bad)
    if rc == FF_ERANGE:
        raise InvalidArgumentError(
            f"tile and entity ids must be in 0..15: element {bad} has tile {t[bad]}, entity {e[bad]}")
    check(rc)
    return out


def decode_cells(cells, out=None):
    """Unpack a uint32 array of cells (any shape) into ``(tile, amount, entity, blocked)``.

    Returns uint8, uint16, uint8 and bool arrays of the same shape, new or ``out`` (a tuple of
    four C-contiguous writeable arrays of those dtypes and the cells' shape, e.g. reused across
    calls). Raises ``InvalidArgumentError`` if any cell has reserved bits set (the contents of
    ``out`` are then unspecified).
    """
    c = np.asarray(cells)
    if c.dtype != np.uint32:
        if c.dtype.kind not in "iu" or (c.size and (c.min() < 0 or c.max() > 0xFFFFFFFF)):
            raise InvalidArgumentError(f"cells must be uint32 values, got dtype {c.dtype}")
    c = np.asarray(c, dtype=np.uint32, order="C")
    shape = c.shape
    dtypes = (np.uint8, np.uint16, np.uint8, np.bool_)
    if out is None:
        tile, amount, entity, blocked = (np.empty(shape, d) for d in dtypes)
    else:
        if not isinstance(out, tuple) or len(out) != 4:
            raise InvalidArgumentError("out must be a tuple of 4 arrays (tile, amount, entity, "
                                       "blocked)")
        for name, a, d in zip(("tile", "amount", "entity", "blocked"), out, dtypes):
            if (not isinstance(a, np.ndarray) or a.dtype != d or a.shape != shape
                    or not a.flags.c_contiguous or not a.flags.writeable):
                raise InvalidArgumentError(
                    f"out {name} must be a writeable C-contiguous {np.dtype(d)} array of shape "
                    f"{shape}")
        tile, amount, entity, blocked = out
    cdef const uint32_t[::1] cv = c.reshape(-1)
    cdef uint8_t[::1] tv = tile.reshape(-1)
    cdef uint16_t[::1] av = amount.reshape(-1)
    cdef uint8_t[::1] ev = entity.reshape(-1)
    cdef uint8_t[::1] bv = blocked.reshape(-1).view(np.uint8)
    cdef size_t n = cv.shape[0]
    cdef size_t bad = 0
    cdef int rc = FF_OK
    if n:
        with nogil:
            rc = ff_decode_cells(&cv[0], &tv[0], &av[0], &ev[0], &bv[0], n, &bad)
    if rc == FF_ERANGE:
        raise InvalidArgumentError(
            f"cell {bad} ({int(c.reshape(-1)[bad]):#010x}) has reserved bits 11..1 set")
    check(rc)
    return tile, amount, entity, blocked


def unpack_planes(cells, out=None, *, layout="hwc"):
    """Expand cell maps into 8 uint8 planes for a CNN.

    Parameters
    ----------
    cells : array of uint32, shape ``(..., H, W)``
    out : array of uint8, optional
        Preallocated, C-contiguous: ``(..., H, W, 8)`` for ``layout="hwc"`` (the order of
        ``FactorioState.local_map``) or ``(..., 8, H, W)`` for ``layout="chw"`` (PyTorch's).
    layout : {"hwc", "chw"}

    Channels: 0 tile id, 1 blocked (0/1), 2 entity id, 3 resource amount scaled to 0..255
    (``round(amount * 255 / 4095)``), 4..7 reserved (zero). Reserved cell bits are ignored.
    """
    c = np.asarray(cells)
    if c.dtype != np.uint32:
        raise InvalidArgumentError(f"cells must be a uint32 array, got dtype {c.dtype}")
    if c.ndim < 2:
        raise InvalidArgumentError(f"cells must have shape (..., H, W), got {c.shape}")
    if layout not in ("hwc", "chw"):
        raise InvalidArgumentError(f"layout must be 'hwc' or 'chw', got {layout!r}")
    c = np.asarray(c, order="C")
    h, w = c.shape[-2], c.shape[-1]
    lead = c.shape[:-2]
    shape = lead + ((h, w, FF_PLANES) if layout == "hwc" else (FF_PLANES, h, w))
    if out is None:
        out = np.empty(shape, dtype=np.uint8)
    elif (not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.shape != shape
          or not out.flags.c_contiguous or not out.flags.writeable):
        raise InvalidArgumentError(f"out must be a writeable C-contiguous uint8 array of shape {shape}")
    cdef size_t n_maps = int(np.prod(lead, dtype=np.int64)) if lead else 1
    if c.size == 0:
        return out
    cdef const uint32_t[::1] cv = c.reshape(-1)
    cdef uint8_t[::1] ov = out.reshape(-1)
    cdef size_t hh = h, ww = w
    cdef int chw = layout == "chw"
    with nogil:
        ff_unpack_planes(&cv[0], n_maps, hh, ww, &ov[0], chw)
    return out


# --------------------------------------------------------------------------------------------
# frames

FRAME_MAGIC = FF_FRAME_MAGIC
FRAME_VERSION = FF_FRAME_VERSION
HEADER_SIZE = FF_FRAME_HEADER_SIZE
DEFAULT_MAX_PAYLOAD = FF_FRAME_DEFAULT_MAX_PAYLOAD


class FrameType(IntEnum):
    """Frame types of the wire protocol (csrc/ff_frame.h)."""
    ACTIONS = FF_FRAME_ACTIONS
    STATE = FF_FRAME_STATE
    OBSERVATION = FF_FRAME_OBSERVATION
    RESET = FF_FRAME_RESET
    ERROR = FF_FRAME_ERROR
    WORLD = FF_FRAME_WORLD
    RAW = FF_FRAME_RAW
    UDP = FF_FRAME_UDP


class ObservationBatch(NamedTuple):
    """Payload of an OBSERVATION frame."""
    scenario_id: int
    obs: np.ndarray          # uint8, (count, obs_bytes)
    rewards: np.ndarray      # float32, (count,)
    terminated: np.ndarray   # bool, (count,)
    truncated: np.ndarray    # bool, (count,)


_FRAME_TYPES = {int(t): t for t in FrameType}


class Frame(NamedTuple):
    """A decoded frame. ``payload`` is typed by ``type``: ACTIONS -> ACTION_DTYPE array,
    STATE -> STATE_DTYPE array, OBSERVATION -> ObservationBatch, RESET -> uint64 seeds,
    ERROR -> str, WORLD, RAW and UDP (the mod's frames, docs/mod.md) -> bytes."""
    type: FrameType
    sequence: int
    payload: object


def _payload_bytes(ftype, payload):
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(memoryview(payload).cast("B"))
    if ftype == FrameType.ACTIONS:
        arr = np.asarray(payload)
        if arr.dtype != ACTION_DTYPE:
            raise InvalidArgumentError(f"ACTIONS payload must be an ACTION_DTYPE array, got {arr.dtype}")
        clean = np.zeros(arr.size, ACTION_DTYPE)   # zero the padding bytes on the wire
        for name in ACTION_DTYPE.names:
            clean[name] = arr.reshape(-1)[name]
        return clean.tobytes()
    if ftype == FrameType.STATE:
        arr = np.asarray(payload)
        if arr.dtype != STATE_DTYPE:
            raise InvalidArgumentError(f"STATE payload must be a STATE_DTYPE array, got {arr.dtype}")
        return np.asarray(arr, order="C").tobytes()
    if ftype == FrameType.RESET:
        return _seed_bytes(payload)
    if ftype == FrameType.ERROR and isinstance(payload, str):
        return payload.encode("utf-8")
    raise InvalidArgumentError(f"cannot encode a {type(payload).__name__} as a {ftype.name} payload")


_U64_MAX = 0xFFFFFFFFFFFFFFFF


def _seed_bytes(payload):
    """RESET seeds (u64 each) as little-endian bytes.

    Integer arrays go through their dtype. Anything else (a list, a tuple, an object array, one
    int) is checked seed by seed with ``__index__``: ``np.asarray`` would turn a list holding a
    value of 2**63 or more into float64 (losing bits) and an empty list into float64 too.
    """
    if isinstance(payload, (np.ndarray, np.generic)):
        arr = np.asarray(payload)
        kind = arr.dtype.kind
        if kind == "i" and arr.size and arr.min() < 0:
            raise InvalidArgumentError(
                f"RESET seeds must be in 0..2**64-1, got {int(arr.reshape(-1)[arr.argmin()])}")
        if kind in "iu":
            return np.asarray(arr, dtype="<u8", order="C").tobytes()
        if kind != "O":
            raise InvalidArgumentError(f"RESET seeds must be integers, got dtype {arr.dtype}")
        items = arr.reshape(-1).tolist()
    elif hasattr(payload, "__index__") and not isinstance(payload, bool):
        items = [payload]
    else:
        try:
            items = list(payload)  # a copy: the checked values are written back into it
        except TypeError:
            raise InvalidArgumentError(
                "RESET seeds must be an integer or a sequence of integers, got "
                f"{type(payload).__name__}") from None
    cdef Py_ssize_t i
    for i in range(len(items)):
        v = items[i]
        if type(v) is int and 0 <= v <= _U64_MAX:
            continue  # the common case, checked cheaply
        # bool is an int subclass, but True as a seed is a caller's mistake (and a bool array
        # is refused above), so it is refused here too.
        if isinstance(v, (bool, np.bool_)) or not hasattr(v, "__index__"):
            raise InvalidArgumentError(f"RESET seed {i} must be an integer, got "
                                       f"{type(v).__name__}")
        seed = int(v.__index__())
        if not 0 <= seed <= _U64_MAX:
            raise InvalidArgumentError(f"RESET seed {i} must be in 0..2**64-1, got {seed}")
        items[i] = seed
    return np.array(items, dtype="<u8").tobytes()


def encode_frame(ftype, payload, sequence=0):
    """Encode one frame: 16-byte header + payload.

    ``payload`` is an ACTION_DTYPE array (ACTIONS), a STATE_DTYPE array (STATE), integer seeds
    (RESET: an int, a sequence or an integer array of values in 0..2**64-1, possibly empty;
    anything else raises InvalidArgumentError), a str (ERROR) or, for any type, a bytes-like
    object that is already the payload (use ``encode_observations`` to build an OBSERVATION
    payload). The payload is validated exactly as ``decode_frame`` would.
    """
    try:
        ftype = FrameType(ftype)
    except ValueError:
        raise InvalidArgumentError(f"unknown frame type {ftype!r}") from None
    seq = _as_int(sequence, "sequence")
    if not 0 <= seq < 1 << 64:
        raise InvalidArgumentError(f"sequence must fit in u64, got {seq}")
    body = _payload_bytes(ftype, payload)
    if len(body) > 0xFFFFFFFF:
        raise InvalidArgumentError("payload larger than 4 GiB cannot be framed")
    cdef const uint8_t[::1] bv = body
    cdef const uint8_t *bp = &bv[0] if len(body) else NULL
    rc = ff_frame_check_payload(ftype, bp, len(body))
    if rc != FF_OK:
        raise InvalidArgumentError(f"{ftype.name} payload of {len(body)} bytes is malformed: "
                                   f"{ff_strerror(rc).decode()}")
    frame = bytearray(HEADER_SIZE + len(body))
    cdef uint8_t[::1] fv = frame
    check(ff_frame_write_header(&fv[0], ftype, len(body), seq))
    if len(body):
        memcpy(&fv[HEADER_SIZE], bp, len(body))
    return bytes(frame)


def encode_observations(obs, rewards, terminated, truncated, scenario_id=0, sequence=0):
    """Encode an OBSERVATION frame from a batch: ``obs`` uint8 ``(count, obs_bytes)``."""
    o = np.asarray(obs, dtype=np.uint8, order="C")
    if o.ndim != 2 or o.shape[1] > 0xFFFF:
        raise InvalidArgumentError(f"obs must be (count, obs_bytes <= 65535) uint8, got {o.shape}")
    count = o.shape[0]
    r = np.asarray(rewards, dtype="<f4", order="C").reshape(-1)
    term = np.asarray(terminated, dtype=bool).reshape(-1)
    trunc = np.asarray(truncated, dtype=bool).reshape(-1)
    if not (r.size == term.size == trunc.size == count):
        raise InvalidArgumentError("rewards, terminated and truncated need one entry per observation")
    if not 0 <= scenario_id <= 0xFFFF:
        raise InvalidArgumentError("scenario_id must fit in u16")
    head = np.array([count, o.shape[1] | (scenario_id << 16)], dtype="<u4").tobytes()
    flags = (term.astype(np.uint8) | (trunc.astype(np.uint8) << 1)).tobytes()
    return encode_frame(FrameType.OBSERVATION, head + o.tobytes() + r.tobytes() + flags, sequence)


cdef object _protocol_error(int rc, size_t n, ff_frame_header_t *hdr, uint32_t max_payload):
    msg = ff_strerror(rc).decode()
    if rc == FF_ETRUNC:
        need = HEADER_SIZE if n < HEADER_SIZE else HEADER_SIZE + hdr.length
        msg += f" (got {n} bytes, need {need})"
    elif rc == FF_EEXTRA:
        msg += f" ({n - HEADER_SIZE - hdr.length} bytes after a {HEADER_SIZE + hdr.length}-byte frame)"
    elif rc == FF_ETOOBIG:
        msg += f" ({hdr.length} > {max_payload})"
    elif rc == FF_ELENGTH:
        msg += f" (type {FrameType(hdr.type).name}, {hdr.length} bytes)"
    return ProtocolError(msg)


def peek_frame(buf, *, max_payload=DEFAULT_MAX_PAYLOAD):
    """Parse a frame header at the start of ``buf`` (for framing a byte stream).

    Returns ``(type, sequence, frame_size)`` where ``frame_size = 16 + payload length``; raises
    ``ProtocolError`` on a bad header, including when fewer than 16 bytes are available.
    """
    cdef const uint8_t[::1] bv = _readonly_bytes(buf)
    cdef ff_frame_header_t hdr
    cdef size_t size = 0
    cdef size_t n = bv.shape[0]
    cdef uint32_t mp = _max_payload(max_payload)
    rc = ff_frame_peek(&bv[0] if n else NULL, n, mp, &hdr, &size)
    if rc != FF_OK:
        raise _protocol_error(rc, n, &hdr, mp)
    return FrameType(hdr.type), hdr.sequence, size


def _readonly_bytes(buf):
    try:
        mv = memoryview(buf)
    except TypeError:
        raise ProtocolError(f"a frame must be bytes-like, got {type(buf).__name__}") from None
    if not mv.contiguous:
        raise ProtocolError("a frame must be a contiguous buffer")
    return mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv


def _max_payload(v):
    v = _as_int(v, "max_payload")
    if not 0 <= v <= 0xFFFFFFFF:
        raise InvalidArgumentError("max_payload must be in 0..2**32-1")
    return v


def decode_frame(buf, *, max_payload=DEFAULT_MAX_PAYLOAD):
    """Decode exactly one frame (``buf`` must hold the whole frame and nothing more).

    Raises ``ProtocolError`` for a truncated, oversized, wrong-magic, wrong-version, unknown-type
    or ill-sized frame, or trailing bytes. Never reads past ``buf``. The payload is copied out,
    so ``buf`` may be reused afterwards.
    """
    cdef const uint8_t[::1] bv
    cdef const uint8_t *data
    cdef ff_frame_header_t hdr
    cdef const uint8_t *payload = NULL
    cdef size_t n
    cdef uint32_t mp = FF_FRAME_DEFAULT_MAX_PAYLOAD if max_payload is DEFAULT_MAX_PAYLOAD \
        else _max_payload(max_payload)
    if type(buf) is bytes:  # the common case, without a memoryview
        data = <const uint8_t *>PyBytes_AS_STRING(buf)
        n = <size_t>PyBytes_GET_SIZE(buf)
    else:
        bv = _readonly_bytes(buf)
        n = bv.shape[0]
        data = &bv[0] if n else NULL
    rc = ff_frame_decode(data, n, mp, &hdr, &payload)
    if rc != FF_OK:
        raise _protocol_error(rc, n, &hdr, mp)
    ftype = _FRAME_TYPES[hdr.type]
    if hdr.type == FF_FRAME_ACTIONS or hdr.type == FF_FRAME_STATE:
        # one copy into an owned, writeable buffer, viewed as the record dtype
        owned = PyByteArray_FromStringAndSize(<const char *>payload, hdr.length)
        return Frame(ftype, hdr.sequence,
                     np.frombuffer(owned, ACTION_DTYPE if hdr.type == FF_FRAME_ACTIONS
                                   else STATE_DTYPE))
    body = PyBytes_FromStringAndSize(<const char *>payload, hdr.length)
    if ftype == FrameType.RESET:
        value = np.frombuffer(body, dtype="<u8").astype(np.uint64)
    elif hdr.type == FF_FRAME_WORLD or hdr.type == FF_FRAME_RAW or hdr.type == FF_FRAME_UDP:
        value = body
    elif ftype == FrameType.ERROR:
        try:
            value = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"ERROR frame text is not valid UTF-8: {exc}") from None
    else:
        head = np.frombuffer(body[:8], dtype="<u4")
        count, obs_bytes, scen = int(head[0]), int(head[1]) & 0xFFFF, int(head[1]) >> 16
        off = 8 + count * obs_bytes
        obs = np.frombuffer(body[8:off], np.uint8).reshape(count, obs_bytes).copy()
        rewards = np.frombuffer(body[off:off + 4 * count], "<f4").astype(np.float32)
        flags = np.frombuffer(body[off + 4 * count:], np.uint8)
        if flags.size and flags.max() > 3:
            raise ProtocolError("OBSERVATION flags use bits other than terminated/truncated")
        value = ObservationBatch(scen, obs, rewards, (flags & 1).astype(bool),
                                 (flags & 2).astype(bool))
    return Frame(ftype, hdr.sequence, value)
