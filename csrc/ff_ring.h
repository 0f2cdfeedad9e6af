/*
 * ff_ring.h - a bounded lock-free single-producer / single-consumer ring of fixed-size slots
 * over caller-provided memory (works inside a shared segment across processes).
 *
 * Layout (all 64-byte aligned): a header line {magic, capacity, slot_size}, the producer line
 * {head, consumer_sleeping}, the consumer line {tail, producer_sleeping}, then uint32 lengths
 * [capacity], then capacity * slot_size bytes of payload. head and tail are free-running 32-bit
 * counters (index = counter & (capacity - 1)); the ring holds head - tail items.
 *
 * Protocol: the producer writes payloads and lengths, then publishes head with release order;
 * the consumer reads head with acquire order, copies, then publishes tail with release order.
 * Batch operations publish once per batch. Blocking variants wait with ff_wait_for (ff_wait.h):
 * spin for spin_ns, then sleep on the shared futex over head (consumer) or tail (producer); the
 * other side issues FUTEX_WAKE only when the sleeping flag is set.
 *
 * Supported concurrency: exactly one producer and one consumer at a time (SPSC), each in any
 * process or thread. Several producers or consumers need external serialisation.
 * ff_ring_t is a small caller-owned handle pointing into the caller's memory.
 */
#ifndef FF_RING_H
#define FF_RING_H

#include "ff_common.h"

#define FF_RING_MAGIC 0x31474e52u /* "RNG1" */
#define FF_RING_MAX_CAPACITY (1u << 30)
#define FF_RING_MAX_SLOT (1u << 24)

typedef struct ff_ring {
    void *mem;
    uint32_t *lens;
    uint8_t *slots;
    uint32_t capacity;
    uint32_t mask;
    uint32_t slot_size;
    int64_t spin_ns; /* spin budget of this handle's blocking waits (0 = sleep at once) */
} ff_ring_t;

FF_EXTERN_C_BEGIN

/* Bytes needed for a ring of `capacity` (a power of two, 1..2^30) slots of `slot_size`
 * (1..2^24) bytes; 0 if the arguments are invalid. Pure. */
size_t ff_ring_size(uint32_t capacity, uint32_t slot_size);

/* Initialise an empty ring in mem (64-byte aligned, size >= ff_ring_size()). spin_ns < 0 picks
 * the default for this machine (0 on a single CPU). FF_OK or FF_EINVAL. */
int ff_ring_init(ff_ring_t *r, void *mem, size_t size, uint32_t capacity, uint32_t slot_size,
                 int64_t spin_ns);

/* Attach to a ring initialised by ff_ring_init (any process). capacity/slot_size 0 = take them
 * from memory. FF_OK, FF_EINVAL, FF_ELAYOUT (magic/sizes do not match or exceed size). */
int ff_ring_attach(ff_ring_t *r, void *mem, size_t size, uint32_t capacity, uint32_t slot_size,
                   int64_t spin_ns);

/* Producer: put one item of len (<= slot_size) bytes. timeout_ns 0 = do not wait, < 0 = wait
 * forever. FF_OK, FF_EFULL (no room before the timeout), FF_EINVAL (len > slot_size, NULL). */
int ff_ring_put(ff_ring_t *r, const void *item, uint32_t len, int64_t timeout_ns);

/* Producer: put n items; item i is at items + i*stride with length lens[i] (lens NULL: every
 * item is slot_size bytes). timeout_ns == 0: all or nothing (FF_EFULL if they do not all fit).
 * Otherwise puts as they fit, publishing once per contiguous batch, until all are in or the
 * timeout passes (FF_EFULL). *done gets how many were put. FF_EINVAL for a bad length (nothing
 * is put). */
int ff_ring_put_many(ff_ring_t *r, const uint8_t *items, size_t stride, const uint32_t *lens,
                     uint32_t n, int64_t timeout_ns, uint32_t *done);

/* Consumer: get one item into out (room for out_cap bytes; must hold the item), its length into
 * *len. FF_OK, FF_EEMPTY (nothing before the timeout), FF_EINVAL (out_cap < the item's length:
 * the item stays in the ring). */
int ff_ring_get(ff_ring_t *r, void *out, uint32_t out_cap, uint32_t *len, int64_t timeout_ns);

/* Consumer: get up to max items into out (item i at out + i*stride, stride >= slot_size; the
 * whole slot is copied) and their lengths into lens (may be NULL). Waits up to timeout_ns for
 * the first item; with timeout 0 an empty ring gives FF_OK and *got = 0. One publish per call.
 * FF_OK, FF_EEMPTY (timed out with nothing), FF_EINVAL. */
int ff_ring_get_many(ff_ring_t *r, uint8_t *out, size_t stride, uint32_t *lens, uint32_t max,
                     int64_t timeout_ns, uint32_t *got);

/* Items currently in the ring (a snapshot; exact when called by the producer or consumer with
 * the other side idle). */
uint32_t ff_ring_count(const ff_ring_t *r);

FF_EXTERN_C_END

#endif /* FF_RING_H */
