/*
 * ff_ring.c - bounded lock-free SPSC ring over caller memory. See ff_ring.h for the protocol.
 */
#include "ff_ring.h"
#include "ff_wait.h"

#include <stdatomic.h>
#include <string.h>

typedef struct {
    /* line 0: immutable after init */
    _Atomic uint32_t magic;
    uint32_t capacity;
    uint32_t slot_size;
    uint32_t reserved;
    char pad0[FF_CACHE_LINE - 16];
    /* line 1: written by the producer */
    _Atomic uint32_t head;
    _Atomic uint32_t consumer_sleeping; /* written by the consumer, read by the producer */
    char pad1[FF_CACHE_LINE - 8];
    /* line 2: written by the consumer */
    _Atomic uint32_t tail;
    _Atomic uint32_t producer_sleeping;
    char pad2[FF_CACHE_LINE - 8];
} ring_hdr_t;

_Static_assert(sizeof(ring_hdr_t) == 3 * FF_CACHE_LINE, "ring header is three cache lines");

#define RH(r) ((ring_hdr_t *)(r)->mem)
#define FF_RING_SLEEP_SLICE_NS 100000000LL

static size_t round_line(size_t n) {
    return (n + FF_CACHE_LINE - 1) & ~(size_t)(FF_CACHE_LINE - 1);
}

static size_t lens_offset(void) { return sizeof(ring_hdr_t); }

static size_t slots_offset(uint32_t capacity) {
    return lens_offset() + round_line((size_t)capacity * sizeof(uint32_t));
}

size_t ff_ring_size(uint32_t capacity, uint32_t slot_size) {
    if (capacity == 0 || capacity > FF_RING_MAX_CAPACITY || (capacity & (capacity - 1)) != 0)
        return 0;
    if (slot_size == 0 || slot_size > FF_RING_MAX_SLOT) return 0;
    return slots_offset(capacity) + round_line((size_t)capacity * slot_size);
}

static void set_handle(ff_ring_t *r, void *mem, uint32_t capacity, uint32_t slot_size,
                       int64_t spin_ns) {
    r->mem = mem;
    r->lens = (uint32_t *)((char *)mem + lens_offset());
    r->slots = (uint8_t *)mem + slots_offset(capacity);
    r->capacity = capacity;
    r->mask = capacity - 1;
    r->slot_size = slot_size;
    /* An explicit budget is used as given; the default spins only if producer and consumer
     * can each own a core. */
    r->spin_ns = ff_wait_spin_budget(spin_ns < 0 ? FF_WAIT_AUTO : FF_WAIT_SPIN, spin_ns, 2);
}

int ff_ring_init(ff_ring_t *r, void *mem, size_t size, uint32_t capacity, uint32_t slot_size,
                 int64_t spin_ns) {
    if (!r || !mem || ((uintptr_t)mem % FF_CACHE_LINE) != 0) return FF_EINVAL;
    size_t need = ff_ring_size(capacity, slot_size);
    if (need == 0 || size < need) return FF_EINVAL;
    memset(mem, 0, slots_offset(capacity));
    ring_hdr_t *h = (ring_hdr_t *)mem;
    h->capacity = capacity;
    h->slot_size = slot_size;
    set_handle(r, mem, capacity, slot_size, spin_ns);
    atomic_store_explicit(&h->magic, FF_RING_MAGIC, memory_order_release);
    return FF_OK;
}

int ff_ring_attach(ff_ring_t *r, void *mem, size_t size, uint32_t capacity, uint32_t slot_size,
                   int64_t spin_ns) {
    if (!r || !mem || ((uintptr_t)mem % FF_CACHE_LINE) != 0 || size < sizeof(ring_hdr_t))
        return FF_EINVAL;
    ring_hdr_t *h = (ring_hdr_t *)mem;
    if (atomic_load_explicit(&h->magic, memory_order_acquire) != FF_RING_MAGIC) return FF_ELAYOUT;
    uint32_t cap = h->capacity, ss = h->slot_size;
    if ((capacity && capacity != cap) || (slot_size && slot_size != ss)) return FF_ELAYOUT;
    size_t need = ff_ring_size(cap, ss);
    if (need == 0 || size < need) return FF_ELAYOUT;
    set_handle(r, mem, cap, ss, spin_ns);
    return FF_OK;
}

uint32_t ff_ring_count(const ff_ring_t *r) {
    if (!r || !r->mem) return 0;
    ring_hdr_t *h = RH(r);
    uint32_t t = atomic_load_explicit(&h->tail, memory_order_acquire);
    uint32_t hd = atomic_load_explicit(&h->head, memory_order_acquire);
    uint32_t n = hd - t;
    return n > r->capacity ? r->capacity : n;
}

/* Free slots as seen by the producer; items as seen by the consumer. */
static inline uint32_t producer_free(ring_hdr_t *h, uint32_t cap) {
    uint32_t hd = atomic_load_explicit(&h->head, memory_order_relaxed);
    uint32_t t = atomic_load_explicit(&h->tail, memory_order_acquire);
    return cap - (hd - t);
}

static inline uint32_t consumer_avail(ring_hdr_t *h) {
    uint32_t t = atomic_load_explicit(&h->tail, memory_order_relaxed);
    uint32_t hd = atomic_load_explicit(&h->head, memory_order_acquire);
    return hd - t;
}

/* What a blocked side waits for: the producer for >= need free slots, the consumer for an
 * item. */
typedef struct {
    ring_hdr_t *h;
    uint32_t capacity;
    uint32_t need; /* 0: the consumer's wait */
} ring_cond_t;

static int ring_ready(void *ctx) {
    const ring_cond_t *c = (const ring_cond_t *)ctx;
    return c->need ? producer_free(c->h, c->capacity) >= c->need : consumer_avail(c->h) >= 1;
}

/* Wait until the producer has >= need free slots (need > 0) or the consumer has an item
 * (need = 0). FF_OK or the side's full/empty code on timeout. The producer sleeps on tail and
 * the consumer on head: the words the other side publishes. */
static int ring_wait(ff_ring_t *r, uint32_t need, int64_t timeout_ns) {
    ring_hdr_t *h = RH(r);
    ring_cond_t c = {h, r->capacity, need};
    int fail = need ? FF_EFULL : FF_EEMPTY;
    /* Fast path without a call: the common case of a ring that is not full/empty. */
    if (ring_ready(&c)) return FF_OK;
    if (timeout_ns == 0) return fail;
    ff_wait_t w = {
        .ready = ring_ready,
        .check_peer = NULL,
        .ctx = &c,
        .word = (uint32_t *)(need ? &h->tail : &h->head),
        .sleeping = (uint32_t *)(need ? &h->producer_sleeping : &h->consumer_sleeping),
        .spin_ns = r->spin_ns,
        .slice_ns = FF_RING_SLEEP_SLICE_NS,
    };
    return ff_wait_for(&w, timeout_ns) == FF_OK ? FF_OK : fail;
}

/* Publish a new head (producer) or tail (consumer) and wake the other side if it sleeps. */
static inline void publish(_Atomic uint32_t *word, uint32_t value, _Atomic uint32_t *flag) {
    atomic_store_explicit(word, value, memory_order_release);
    ff_wait_wake((uint32_t *)word, (const uint32_t *)flag, 0, 1);
}

int ff_ring_put(ff_ring_t *r, const void *item, uint32_t len, int64_t timeout_ns) {
    if (!r || !r->mem || (!item && len) || len > r->slot_size) return FF_EINVAL;
    int rc = ring_wait(r, 1, timeout_ns);
    if (rc != FF_OK) return rc;
    ring_hdr_t *h = RH(r);
    uint32_t hd = atomic_load_explicit(&h->head, memory_order_relaxed);
    uint32_t i = hd & r->mask;
    if (len) memcpy(r->slots + (size_t)i * r->slot_size, item, len);
    r->lens[i] = len;
    publish(&h->head, hd + 1, &h->consumer_sleeping);
    return FF_OK;
}

int ff_ring_put_many(ff_ring_t *r, const uint8_t *items, size_t stride, const uint32_t *lens,
                     uint32_t n, int64_t timeout_ns, uint32_t *done) {
    if (done) *done = 0;
    if (!r || !r->mem || !done || (!items && n)) return FF_EINVAL;
    if (!lens && stride < r->slot_size && n > 1) return FF_EINVAL;
    if (lens) {
        for (uint32_t k = 0; k < n; k++)
            if (lens[k] > r->slot_size || lens[k] > stride) return FF_EINVAL;
    }
    if (n == 0) return FF_OK;
    ring_hdr_t *h = RH(r);
    if (timeout_ns == 0 && producer_free(h, r->capacity) < n) return FF_EFULL;
    int64_t deadline = ff_deadline_ns(ff_now_ns(), timeout_ns);
    uint32_t k = 0;
    while (k < n) {
        uint32_t free = producer_free(h, r->capacity);
        if (free == 0) {
            int64_t left = -1;
            if (deadline != INT64_MAX) {
                left = deadline - ff_now_ns();
                if (left <= 0) return FF_EFULL;
            }
            int rc = ring_wait(r, 1, left);
            if (rc != FF_OK) return rc;
            continue;
        }
        uint32_t batch = n - k < free ? n - k : free;
        uint32_t hd = atomic_load_explicit(&h->head, memory_order_relaxed);
        for (uint32_t j = 0; j < batch; j++) {
            uint32_t i = (hd + j) & r->mask;
            uint32_t len = lens ? lens[k + j] : r->slot_size;
            memcpy(r->slots + (size_t)i * r->slot_size, items + (size_t)(k + j) * stride, len);
            r->lens[i] = len;
        }
        publish(&h->head, hd + batch, &h->consumer_sleeping);
        k += batch;
        *done = k;
    }
    return FF_OK;
}

int ff_ring_get(ff_ring_t *r, void *out, uint32_t out_cap, uint32_t *len, int64_t timeout_ns) {
    if (!r || !r->mem || !len || (!out && out_cap)) return FF_EINVAL;
    int rc = ring_wait(r, 0, timeout_ns);
    if (rc != FF_OK) return rc;
    ring_hdr_t *h = RH(r);
    uint32_t t = atomic_load_explicit(&h->tail, memory_order_relaxed);
    uint32_t i = t & r->mask;
    uint32_t n = r->lens[i];
    if (n > r->slot_size) n = r->slot_size; /* never trust shared memory for a copy length */
    if (n > out_cap) return FF_EINVAL;
    if (n) memcpy(out, r->slots + (size_t)i * r->slot_size, n);
    *len = n;
    publish(&h->tail, t + 1, &h->producer_sleeping);
    return FF_OK;
}

int ff_ring_get_many(ff_ring_t *r, uint8_t *out, size_t stride, uint32_t *lens, uint32_t max,
                     int64_t timeout_ns, uint32_t *got) {
    if (got) *got = 0;
    if (!r || !r->mem || !got || (!out && max) || (max && stride < r->slot_size))
        return FF_EINVAL;
    if (max == 0) return FF_OK;
    ring_hdr_t *h = RH(r);
    int rc = ring_wait(r, 0, timeout_ns);
    if (rc == FF_EEMPTY && timeout_ns == 0) return FF_OK;
    if (rc != FF_OK) return rc;
    uint32_t avail = consumer_avail(h);
    if (avail > r->capacity) avail = r->capacity;
    uint32_t n = avail < max ? avail : max;
    uint32_t t = atomic_load_explicit(&h->tail, memory_order_relaxed);
    uint32_t first = t & r->mask;
    size_t ss = r->slot_size;
    if (stride == ss) {
        /* Contiguous destination: at most two copies (before and after the wrap). */
        uint32_t n1 = r->capacity - first < n ? r->capacity - first : n;
        memcpy(out, r->slots + (size_t)first * ss, (size_t)n1 * ss);
        if (n > n1) memcpy(out + (size_t)n1 * ss, r->slots, (size_t)(n - n1) * ss);
    } else {
        for (uint32_t j = 0; j < n; j++)
            memcpy(out + (size_t)j * stride, r->slots + (size_t)((t + j) & r->mask) * ss, ss);
    }
    if (lens) {
        for (uint32_t j = 0; j < n; j++) {
            uint32_t l = r->lens[(t + j) & r->mask];
            lens[j] = l > r->slot_size ? r->slot_size : l;
        }
    }
    publish(&h->tail, t + n, &h->producer_sleeping);
    *got = n;
    return FF_OK;
}
