# cython: language_level=3
# Declarations of the C core's foundation headers (csrc/ff_common.h, ff_layout.h, ff_ids.h,
# ff_codec.h, ff_frame.h), 1:1, and the one status-code translator used at every call site.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t


cdef extern from "ff_common.h" nogil:
    enum:
        FF_OK
        FF_EINVAL
        FF_ERANGE
        FF_ETRUNC
        FF_EMAGIC
        FF_EVERSION
        FF_ETYPE
        FF_ELENGTH
        FF_ETOOBIG
        FF_EFULL
        FF_EEMPTY
        FF_ETIMEDOUT
        FF_EPEERDEAD
        FF_ESHM
        FF_ELAYOUT
        FF_ENOSPC
        FF_EEXIST
        FF_ENOENT
        FF_ENOMEM
        FF_ECLOSED
        FF_EEXTRA
        FF_ESTATE
    const char *ff_strerror(int status) noexcept


cdef extern from "ff_layout.h" nogil:
    enum:
        FF_MAP_SIDE
        FF_MAP_CHANNELS
        FF_INVENTORY_SLOTS
        FF_STATE_ENTITIES
        FF_ACTION_PARAMS
        FF_ABI_VERSION
        FF_STATE_SIZE
        FF_ACTION_SIZE
    ctypedef struct ff_state_t:
        float player_pos[2]
        uint8_t local_map[32][32][8]
        uint16_t inventory[64]
        uint32_t entities[16][4]
        uint64_t timestamp
    ctypedef struct ff_action_t:
        uint8_t action_type
        float parameters[8]
        uint64_t command_id
    uint64_t ff_layout_hash() noexcept
    uint64_t ff_fnv1a64(uint64_t h, const void *data, size_t n) noexcept


cdef extern from "ff_ids.h" nogil:
    enum:
        FF_NUM_TILES
        FF_NUM_ENTITIES
        FF_NUM_ITEMS
    ctypedef struct ff_tile_info_t:
        const char *name
        uint8_t blocks_character
        double walking_speed_modifier
    ctypedef struct ff_entity_info_t:
        const char *name
        uint8_t kind
        double half_extent
        uint8_t blocks_character
        uint8_t footprint
    ctypedef struct ff_item_info_t:
        const char *name
        uint16_t stack_size
    const ff_tile_info_t ff_tile_table[]
    const ff_entity_info_t ff_entity_table[]
    const ff_item_info_t ff_item_table[]


cdef extern from "ff_codec.h" nogil:
    enum:
        FF_CELL_AMOUNT_MAX
        FF_PLANES
    int ff_encode_cell(uint32_t tile, uint64_t amount, uint32_t entity, int blocked,
                       uint32_t *out) noexcept
    int ff_decode_cell(uint32_t cell, uint32_t *tile, uint32_t *amount, uint32_t *entity,
                       uint32_t *blocked) noexcept
    int ff_encode_cells_u16(const uint8_t *tile, const uint16_t *amount, const uint8_t *entity,
                            const uint8_t *blocked, uint32_t *out, size_t n,
                            size_t *bad_index) noexcept
    int ff_encode_cells_u32(const uint8_t *tile, const uint32_t *amount, const uint8_t *entity,
                            const uint8_t *blocked, uint32_t *out, size_t n,
                            size_t *bad_index) noexcept
    int ff_decode_cells(const uint32_t *cells, uint8_t *tile, uint16_t *amount, uint8_t *entity,
                        uint8_t *blocked, size_t n, size_t *bad_index) noexcept
    int ff_unpack_planes(const uint32_t *cells, size_t n_maps, size_t h, size_t w, uint8_t *out,
                         int chw) noexcept


cdef extern from "ff_frame.h" nogil:
    enum:
        FF_FRAME_MAGIC
        FF_FRAME_VERSION
        FF_FRAME_HEADER_SIZE
        FF_FRAME_DEFAULT_MAX_PAYLOAD
        FF_FRAME_ACTIONS
        FF_FRAME_STATE
        FF_FRAME_OBSERVATION
        FF_FRAME_RESET
        FF_FRAME_ERROR
        FF_FRAME_WORLD
        FF_FRAME_RAW
        FF_FRAME_UDP
    ctypedef struct ff_frame_header_t:
        uint16_t magic
        uint8_t version
        uint8_t type
        uint32_t length
        uint64_t sequence
    int ff_frame_check_payload(uint32_t type, const uint8_t *payload, uint64_t length) noexcept
    int ff_frame_write_header(uint8_t *out, uint32_t type, uint32_t length,
                              uint64_t sequence) noexcept
    int ff_frame_peek(const uint8_t *buf, size_t n, uint32_t max_payload,
                      ff_frame_header_t *hdr, size_t *frame_size) noexcept
    int ff_frame_decode(const uint8_t *buf, size_t n, uint32_t max_payload,
                        ff_frame_header_t *hdr, const uint8_t **payload) noexcept


cdef inline int check(int rc, str context=None) except -1:
    """Return rc if it is a success (>= 0); otherwise raise the exception for that status."""
    if rc >= 0:
        return rc
    raise_status(rc, context)
    return -1


cdef inline int raise_status(int rc, str context) except -1:
    from factorio_fast import errors
    msg = ff_strerror(rc).decode("ascii")
    if context:
        msg = f"{context}: {msg}"
    if rc in (FF_ETRUNC, FF_EMAGIC, FF_EVERSION, FF_ETYPE, FF_ELENGTH, FF_ETOOBIG, FF_EEXTRA):
        raise errors.ProtocolError(msg)
    if rc == FF_EFULL:
        raise errors.RingFull(msg)
    if rc == FF_EEMPTY:
        raise errors.RingEmpty(msg)
    if rc == FF_ETIMEDOUT:
        raise errors.WaitTimeoutError(msg)
    if rc == FF_EPEERDEAD:
        raise errors.WorkerError(msg)
    if rc == FF_ELAYOUT:
        raise errors.LayoutMismatchError(msg)
    if rc in (FF_ESHM, FF_ENOSPC, FF_EEXIST, FF_ENOENT):
        raise errors.ShmError(msg)
    if rc == FF_ENOMEM:
        raise MemoryError(msg)
    if rc == FF_ECLOSED:
        raise errors.ClosedError(msg)
    if rc == FF_ESTATE:
        raise errors.StateError(msg)
    raise errors.InvalidArgumentError(msg)
