/*
 * ff_frame.h - the binary wire frame (docs/design.md §8): one format for RCON (as base64), UDP, TCP
 * and files.
 *
 *   offset 0  u16 magic    0xFA57
 *   offset 2  u8  version  1
 *   offset 3  u8  type     ff_frame_type
 *   offset 4  u32 length   payload bytes that follow the 16-byte header
 *   offset 8  u64 sequence the seed's command_id / timestamp
 *   offset 16 payload
 *
 * All little-endian. Payload rules by type:
 *   ACTIONS      k FactorioAction records of 48 bytes (length % 48 == 0)
 *   STATE        k FactorioState records of 8592 bytes (k >= 1)
 *   OBSERVATION  u32 count, u16 obs_bytes, u16 scenario id, then count*obs_bytes observation
 *                bytes, count float32 rewards, count u8 flags (bit0 terminated, bit1 truncated):
 *                length == 8 + count * (obs_bytes + 5)
 *   RESET        k u64 seeds (length % 8 == 0)
 *   ERROR        UTF-8 text (validity checked by the Python layer)
 *   WORLD        the worlds to build for some envs of a server running the mod (docs/mod.md §3):
 *                a 16-byte sub-header, then env records (length >= 16; the records are
 *                checked by the mod, which builds them)
 *   RAW          raw game state from the mod (docs/mod.md §4, csrc/ff_rawobs.h): u8 status,
 *                u8 scenario, u16 count, u16 record bytes, u16 0, u32 tick, u32 end tick, then
 *                count records: length == 16 + count * record bytes; or empty, the
 *                client's poll for those states
 *   UDP          the client subscribes to the mod's UDP push of each step's states (docs/mod.md
 *                §7): u16 client port, u16 server port, u16 max datagram, u16 0 (length == 8)
 *
 * The decoder never reads outside [buf, buf + n) and trusts nothing in the header.
 */
#ifndef FF_FRAME_H
#define FF_FRAME_H

#include "ff_common.h"

#define FF_FRAME_MAGIC 0xFA57u
#define FF_FRAME_VERSION 1u
#define FF_FRAME_HEADER_SIZE 16u
#define FF_FRAME_OBS_SUBHEADER 8u
#define FF_FRAME_WORLD_SUBHEADER 16u
#define FF_FRAME_RAW_SUBHEADER 16u
#define FF_FRAME_UDP_PAYLOAD 8u
#define FF_FRAME_DEFAULT_MAX_PAYLOAD (16u * 1024u * 1024u)

enum ff_frame_type {
    FF_FRAME_ACTIONS = 1,
    FF_FRAME_STATE = 2,
    FF_FRAME_OBSERVATION = 3,
    FF_FRAME_RESET = 4,
    FF_FRAME_ERROR = 5,
    FF_FRAME_WORLD = 6,
    FF_FRAME_RAW = 7,
    FF_FRAME_UDP = 8,
};

typedef struct ff_frame_header {
    uint16_t magic;
    uint8_t version;
    uint8_t type;
    uint32_t length;
    uint64_t sequence;
} ff_frame_header_t;

FF_STATIC_ASSERT(sizeof(ff_frame_header_t) == FF_FRAME_HEADER_SIZE, "frame header is 16 bytes");

FF_EXTERN_C_BEGIN

/* FF_OK if a payload of `length` bytes (starting at `payload`, may be NULL when length == 0)
 * is well-formed for `type`; FF_ETYPE / FF_ELENGTH otherwise. */
int ff_frame_check_payload(uint32_t type, const uint8_t *payload, uint64_t length);

/* Write a 16-byte header into out[0..16). FF_ETYPE for an unknown type. Payload validity is
 * the caller's business (use ff_frame_check_payload). */
int ff_frame_write_header(uint8_t *out, uint32_t type, uint32_t length, uint64_t sequence);

/* Parse the header of a frame that starts at buf (n bytes available) without requiring the
 * whole payload. On FF_OK *hdr is filled and *frame_size = 16 + length. FF_ETRUNC when fewer
 * than 16 bytes are available; FF_EMAGIC, FF_EVERSION, FF_ETYPE, FF_ETOOBIG as named. Use it
 * to frame a byte stream. */
int ff_frame_peek(const uint8_t *buf, size_t n, uint32_t max_payload, ff_frame_header_t *hdr,
                  size_t *frame_size);

/* Decode exactly one frame occupying buf[0..n): header valid, n == 16 + length (FF_ETRUNC if
 * shorter, FF_EEXTRA if longer), payload well-formed for its type. *payload points into buf. */
int ff_frame_decode(const uint8_t *buf, size_t n, uint32_t max_payload, ff_frame_header_t *hdr,
                    const uint8_t **payload);

FF_EXTERN_C_END

#endif /* FF_FRAME_H */
