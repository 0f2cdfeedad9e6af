/* ff_frame.c - wire frame header and payload validation. */
#include "ff_frame.h"
#include "ff_layout.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int ff_frame_check_payload(uint32_t type, const uint8_t *payload, uint64_t length) {
    if (length && !payload) return FF_EINVAL;
    switch (type) {
    case FF_FRAME_ACTIONS:
        return (length % FF_ACTION_SIZE == 0) ? FF_OK : FF_ELENGTH;
    case FF_FRAME_STATE:
        return (length >= FF_STATE_SIZE && length % FF_STATE_SIZE == 0) ? FF_OK : FF_ELENGTH;
    case FF_FRAME_OBSERVATION: {
        if (length < FF_FRAME_OBS_SUBHEADER) return FF_ELENGTH;
        uint64_t count = rd32(payload);
        uint64_t obs_bytes = rd16(payload + 4);
        /* count < 2^32 and obs_bytes + 5 < 2^17: the product cannot overflow 64 bits. */
        uint64_t want = FF_FRAME_OBS_SUBHEADER + count * (obs_bytes + 5u);
        return want == length ? FF_OK : FF_ELENGTH;
    }
    case FF_FRAME_RESET:
        return (length % 8u == 0) ? FF_OK : FF_ELENGTH;
    case FF_FRAME_ERROR:
        return FF_OK;
    case FF_FRAME_WORLD:
        return (length >= FF_FRAME_WORLD_SUBHEADER) ? FF_OK : FF_ELENGTH;
    case FF_FRAME_RAW: {
        if (length == 0) return FF_OK; /* the client's poll for the states */
        if (length < FF_FRAME_RAW_SUBHEADER) return FF_ELENGTH;
        /* u16 * u16 fits easily in 64 bits. */
        uint64_t want = FF_FRAME_RAW_SUBHEADER + (uint64_t)rd16(payload + 2) * rd16(payload + 4);
        return want == length ? FF_OK : FF_ELENGTH;
    }
    case FF_FRAME_UDP:
        return length == FF_FRAME_UDP_PAYLOAD ? FF_OK : FF_ELENGTH;
    default:
        return FF_ETYPE;
    }
}

static int known_type(uint32_t type) { return type >= FF_FRAME_ACTIONS && type <= FF_FRAME_UDP; }

int ff_frame_write_header(uint8_t *out, uint32_t type, uint32_t length, uint64_t sequence) {
    if (!out) return FF_EINVAL;
    if (!known_type(type)) return FF_ETYPE;
    wr16(out, (uint16_t)FF_FRAME_MAGIC);
    out[2] = (uint8_t)FF_FRAME_VERSION;
    out[3] = (uint8_t)type;
    wr32(out + 4, length);
    wr64(out + 8, sequence);
    return FF_OK;
}

int ff_frame_peek(const uint8_t *buf, size_t n, uint32_t max_payload, ff_frame_header_t *hdr,
                  size_t *frame_size) {
    if (!hdr || (n && !buf)) return FF_EINVAL;
    /* Check what is there even if the header is incomplete, so garbage fails fast. */
    if (n >= 2 && rd16(buf) != FF_FRAME_MAGIC) return FF_EMAGIC;
    if (n >= 3 && buf[2] != FF_FRAME_VERSION) return FF_EVERSION;
    if (n >= 4 && !known_type(buf[3])) return FF_ETYPE;
    if (n < FF_FRAME_HEADER_SIZE) return FF_ETRUNC;
    hdr->magic = rd16(buf);
    hdr->version = buf[2];
    hdr->type = buf[3];
    hdr->length = rd32(buf + 4);
    hdr->sequence = rd64(buf + 8);
    if (hdr->length > max_payload) return FF_ETOOBIG;
    if (frame_size) *frame_size = (size_t)FF_FRAME_HEADER_SIZE + hdr->length;
    return FF_OK;
}

int ff_frame_decode(const uint8_t *buf, size_t n, uint32_t max_payload, ff_frame_header_t *hdr,
                    const uint8_t **payload) {
    size_t size = 0;
    if (!payload) return FF_EINVAL;
    int rc = ff_frame_peek(buf, n, max_payload, hdr, &size);
    if (rc != FF_OK) return rc;
    if (n < size) return FF_ETRUNC;
    if (n > size) return FF_EEXTRA;
    const uint8_t *p = buf + FF_FRAME_HEADER_SIZE;
    rc = ff_frame_check_payload(hdr->type, p, hdr->length);
    if (rc != FF_OK) return rc;
    *payload = p;
    return FF_OK;
}
