/*
 * ff_handoff.c - trainer <-> worker hand-off. See ff_handoff.h for the protocol; the waits are
 * ff_wait_for (ff_wait.c).
 */
#include "ff_handoff.h"

#include <limits.h>
#include <stdatomic.h>
#include <string.h>

/* ---- shared layout (private to this file) -------------------------------------------------- */

typedef struct {
    _Atomic uint32_t magic;
    uint32_t num_workers;
    int32_t trainer_pid;
    uint32_t reserved;
    _Atomic uint32_t doorbell;         /* bumped by workers when the trainer sleeps */
    _Atomic uint32_t trainer_sleeping;
    char pad[FF_CACHE_LINE - 24];
} hdr_t;

typedef struct {
    /* line 1: written by the trainer only */
    _Atomic uint32_t cmd_seq;
    uint32_t command;
    uint64_t arg;
    uint32_t pending; /* posted and not collected (trainer-private bookkeeping) */
    _Atomic int32_t pid;
    char pad1[FF_CACHE_LINE - 24];
    /* line 2: written by the worker only */
    _Atomic uint32_t done_seq;
    _Atomic int32_t status;
    _Atomic uint32_t sleeping;
    char pad2[FF_CACHE_LINE - 12];
} slot_t;

_Static_assert(sizeof(hdr_t) == FF_CACHE_LINE, "hand-off header is one cache line");
_Static_assert(sizeof(slot_t) == 2 * FF_CACHE_LINE, "worker slot is two cache lines");

#define HDR(h) ((hdr_t *)(h)->mem)
#define SLOT(h, w) ((slot_t *)((char *)(h)->mem + FF_CACHE_LINE) + (w))

/* ---- hand-off ------------------------------------------------------------------------------- */

/* How often a sleeping waiter wakes to check its peers' liveness. */
#define FF_LIVENESS_NS 5000000LL

/* Every hand-off wait: this handle's spin budget, then sleeps of at most FF_LIVENESS_NS on
 * `word` with `sleeping` raised, checking the peer between them. Inlined into its callers, so
 * the common case (already done) is a direct check with no call into ff_wait.c. */
static inline int handoff_wait_for(const ff_handoff_t *h, int (*ready)(void *),
                                   int (*check_peer)(void *), void *ctx, _Atomic uint32_t *word,
                                   _Atomic uint32_t *sleeping, int64_t timeout_ns) {
    if (ready(ctx)) return FF_OK;
    ff_wait_t w = {ready, check_peer, ctx, (uint32_t *)word, (uint32_t *)sleeping, h->spin_ns,
                   FF_LIVENESS_NS};
    return ff_wait_for(&w, timeout_ns);
}

size_t ff_handoff_size(uint32_t num_workers) {
    if (num_workers == 0 || num_workers > FF_HANDOFF_MAX_WORKERS) return 0;
    return sizeof(hdr_t) + (size_t)num_workers * sizeof(slot_t);
}

/* Everyone may spin at once: the trainer and every worker. */
static int64_t policy_spin(uint32_t num_workers, int mode, int64_t spin_ns) {
    return ff_wait_spin_budget(mode, spin_ns, (int64_t)num_workers + 1);
}

int ff_handoff_init(ff_handoff_t *h, void *mem, size_t size, uint32_t num_workers,
                    int32_t trainer_pid, int mode, int64_t spin_ns) {
    if (!h || !mem || ((uintptr_t)mem % FF_CACHE_LINE) != 0) return FF_EINVAL;
    if (mode < FF_WAIT_AUTO || mode > FF_WAIT_BLOCK) return FF_EINVAL;
    size_t need = ff_handoff_size(num_workers);
    if (need == 0 || size < need) return FF_EINVAL;
    memset(mem, 0, need);
    hdr_t *hd = (hdr_t *)mem;
    hd->num_workers = num_workers;
    hd->trainer_pid = trainer_pid;
    h->mem = mem;
    h->num_workers = num_workers;
    h->spin_ns = policy_spin(num_workers, mode, spin_ns);
    atomic_store_explicit(&hd->magic, FF_HANDOFF_MAGIC, memory_order_release);
    return FF_OK;
}

int ff_handoff_attach(ff_handoff_t *h, void *mem, size_t size, uint32_t num_workers, int mode,
                      int64_t spin_ns) {
    if (!h || !mem || ((uintptr_t)mem % FF_CACHE_LINE) != 0 || size < sizeof(hdr_t))
        return FF_EINVAL;
    if (mode < FF_WAIT_AUTO || mode > FF_WAIT_BLOCK) return FF_EINVAL;
    hdr_t *hd = (hdr_t *)mem;
    if (atomic_load_explicit(&hd->magic, memory_order_acquire) != FF_HANDOFF_MAGIC)
        return FF_ELAYOUT;
    uint32_t n = hd->num_workers;
    if (num_workers != 0 && num_workers != n) return FF_ELAYOUT;
    size_t need = ff_handoff_size(n);
    if (need == 0 || size < need) return FF_ELAYOUT;
    h->mem = mem;
    h->num_workers = n;
    h->spin_ns = policy_spin(n, mode, spin_ns);
    return FF_OK;
}

#define CHECK_W(h, w) \
    if (!(h) || !(h)->mem || (w) >= (h)->num_workers) return FF_EINVAL

int ff_handoff_set_worker_pid(ff_handoff_t *h, uint32_t w, int32_t pid) {
    CHECK_W(h, w);
    atomic_store_explicit(&SLOT(h, w)->pid, pid, memory_order_release);
    return FF_OK;
}

int ff_handoff_worker_pid(const ff_handoff_t *h, uint32_t w, int32_t *pid) {
    CHECK_W(h, w);
    if (!pid) return FF_EINVAL;
    *pid = atomic_load_explicit(&SLOT(h, w)->pid, memory_order_acquire);
    return FF_OK;
}

int ff_handoff_trainer_pid(const ff_handoff_t *h, int32_t *pid) {
    if (!h || !h->mem || !pid) return FF_EINVAL;
    *pid = HDR(h)->trainer_pid;
    return FF_OK;
}

static inline int is_done(slot_t *s) {
    return atomic_load_explicit(&s->done_seq, memory_order_acquire) ==
           atomic_load_explicit(&s->cmd_seq, memory_order_relaxed);
}

int ff_handoff_post(ff_handoff_t *h, uint32_t w, uint32_t command, uint64_t arg) {
    CHECK_W(h, w);
    slot_t *s = SLOT(h, w);
    uint32_t seq = atomic_load_explicit(&s->cmd_seq, memory_order_relaxed);
    if (atomic_load_explicit(&s->done_seq, memory_order_acquire) != seq) return FF_ESTATE;
    s->command = command;
    s->arg = arg;
    s->pending = 1;
    atomic_store_explicit(&s->cmd_seq, seq + 1, memory_order_release);
    /* Pairs with the worker's fence in wait_command: either it sees the new seq before it
     * sleeps, or we see its sleeping flag and wake it. */
    ff_wait_wake((uint32_t *)&s->cmd_seq, (const uint32_t *)&s->sleeping, 0, 1);
    return FF_OK;
}

enum { TW_ONE, TW_ALL, TW_ANY };

/* What the trainer waits for: worker w (TW_ONE), every pending worker (TW_ALL) or any of them
 * (TW_ANY). */
typedef struct {
    ff_handoff_t *h;
    int kind;
    uint32_t w;
    ff_peer_death_t *death;
} trainer_cond_t;

static int trainer_ready(void *ctx) {
    const trainer_cond_t *c = (const trainer_cond_t *)ctx;
    if (c->kind == TW_ONE) return is_done(SLOT(c->h, c->w));
    int any = 0, all = 1;
    for (uint32_t i = 0; i < c->h->num_workers; i++) {
        slot_t *s = SLOT(c->h, i);
        if (!s->pending) continue;
        if (is_done(s)) any = 1;
        else all = 0;
    }
    return c->kind == TW_ALL ? all : any;
}

/* Check the workers the trainer is waiting on. FF_OK or FF_EPEERDEAD (+death). */
static int check_workers(void *ctx) {
    const trainer_cond_t *c = (const trainer_cond_t *)ctx;
    uint32_t lo = c->kind == TW_ONE ? c->w : 0;
    uint32_t hi = c->kind == TW_ONE ? c->w + 1 : c->h->num_workers;
    for (uint32_t i = lo; i < hi; i++) {
        slot_t *s = SLOT(c->h, i);
        if (is_done(s)) continue;
        int32_t pid = atomic_load_explicit(&s->pid, memory_order_acquire);
        ff_peer_death_t d;
        if (ff_peer_check(pid, (int32_t)i, &d) != FF_OK) {
            /* It may have completed just before dying: that is not a failure of this wait. */
            if (is_done(s)) continue;
            if (c->death) *c->death = d;
            return FF_EPEERDEAD;
        }
    }
    return FF_OK;
}

/* The trainer sleeps on the doorbell, which every completing worker rings while it sleeps. */
static int trainer_wait(ff_handoff_t *h, int kind, uint32_t w, int64_t timeout_ns,
                        ff_peer_death_t *death) {
    trainer_cond_t c = {h, kind, w, death};
    return handoff_wait_for(h, trainer_ready, check_workers, &c, &HDR(h)->doorbell,
                            &HDR(h)->trainer_sleeping, timeout_ns);
}

int ff_handoff_wait(ff_handoff_t *h, uint32_t w, int64_t timeout_ns, ff_peer_death_t *death) {
    CHECK_W(h, w);
    int rc = trainer_wait(h, TW_ONE, w, timeout_ns, death);
    if (rc == FF_OK) SLOT(h, w)->pending = 0;
    return rc;
}

int ff_handoff_wait_all(ff_handoff_t *h, int64_t timeout_ns, ff_peer_death_t *death) {
    if (!h || !h->mem) return FF_EINVAL;
    int rc = trainer_wait(h, TW_ALL, 0, timeout_ns, death);
    if (rc == FF_OK)
        for (uint32_t i = 0; i < h->num_workers; i++) SLOT(h, i)->pending = 0;
    return rc;
}

int ff_handoff_wait_any(ff_handoff_t *h, uint32_t *ready, uint32_t *count, int64_t timeout_ns,
                        ff_peer_death_t *death) {
    if (!h || !h->mem || !ready || !count) return FF_EINVAL;
    *count = 0;
    int outstanding = 0;
    for (uint32_t i = 0; i < h->num_workers; i++) outstanding |= SLOT(h, i)->pending != 0;
    if (!outstanding) return FF_OK;
    int rc = trainer_wait(h, TW_ANY, 0, timeout_ns, death);
    if (rc != FF_OK) return rc;
    uint32_t n = 0;
    for (uint32_t i = 0; i < h->num_workers; i++) {
        slot_t *s = SLOT(h, i);
        if (s->pending && is_done(s)) {
            s->pending = 0;
            ready[n++] = i;
        }
    }
    *count = n;
    return FF_OK;
}

/* What worker w waits for: a command (cmd_seq moved past done_seq), while the trainer lives. */
typedef struct {
    ff_handoff_t *h;
    slot_t *s;
    ff_peer_death_t *death;
} worker_cond_t;

static int has_command(void *ctx) {
    slot_t *s = ((const worker_cond_t *)ctx)->s;
    return atomic_load_explicit(&s->cmd_seq, memory_order_acquire) !=
           atomic_load_explicit(&s->done_seq, memory_order_relaxed);
}

static int check_trainer(void *ctx) {
    const worker_cond_t *c = (const worker_cond_t *)ctx;
    return ff_peer_check(HDR(c->h)->trainer_pid, -1, c->death);
}

int ff_handoff_wait_command(ff_handoff_t *h, uint32_t w, uint32_t *command, uint64_t *arg,
                            int64_t timeout_ns, ff_peer_death_t *death) {
    CHECK_W(h, w);
    if (!command || !arg) return FF_EINVAL;
    slot_t *s = SLOT(h, w);
    worker_cond_t c = {h, s, death};
    /* The worker sleeps on cmd_seq itself: the trainer's post changes it. */
    int rc = handoff_wait_for(h, has_command, check_trainer, &c, &s->cmd_seq, &s->sleeping,
                              timeout_ns);
    if (rc != FF_OK) return rc;
    *command = s->command;
    *arg = s->arg;
    return FF_OK;
}

int ff_handoff_complete(ff_handoff_t *h, uint32_t w, int32_t status) {
    CHECK_W(h, w);
    slot_t *s = SLOT(h, w);
    uint32_t seq = atomic_load_explicit(&s->cmd_seq, memory_order_acquire);
    if (atomic_load_explicit(&s->done_seq, memory_order_relaxed) == seq) return FF_ESTATE;
    atomic_store_explicit(&s->status, status, memory_order_relaxed);
    atomic_store_explicit(&s->done_seq, seq, memory_order_release);
    /* The doorbell is shared by all workers: bump it so a sleeping trainer's FUTEX_WAIT sees a
     * change, and wake it (INT_MAX: whoever sleeps there). */
    hdr_t *hd = HDR(h);
    ff_wait_wake((uint32_t *)&hd->doorbell, (const uint32_t *)&hd->trainer_sleeping, 1, INT_MAX);
    return FF_OK;
}

int ff_handoff_status(const ff_handoff_t *h, uint32_t w, int32_t *status) {
    CHECK_W(h, w);
    if (!status) return FF_EINVAL;
    *status = atomic_load_explicit(&SLOT(h, w)->status, memory_order_acquire);
    return FF_OK;
}

int ff_handoff_outstanding(const ff_handoff_t *h, uint32_t w) {
    CHECK_W(h, w);
    return !is_done(SLOT(h, w));
}

#define FF_BENCH_MSG_MAX 4096u

static int bench_msg_ok(const void *msg, uint32_t msg_len) {
    return msg ? (msg_len >= 8 && msg_len <= FF_BENCH_MSG_MAX) : msg_len == 0;
}

int ff_handoff_bench_trainer(ff_handoff_t *h, uint32_t w, uint32_t command, uint64_t n,
                             void *msg, uint32_t msg_len, int64_t timeout_ns,
                             ff_peer_death_t *death) {
    CHECK_W(h, w);
    if (!bench_msg_ok(msg, msg_len)) return FF_EINVAL;
    uint8_t local[FF_BENCH_MSG_MAX];
    uint8_t *req = (uint8_t *)msg, *rep = req + msg_len;
    if (msg) memset(local, 0x5a, msg_len);
    for (uint64_t i = 0; i < n; i++) {
        if (msg) {
            memcpy(local, &i, sizeof i);
            memcpy(req, local, msg_len); /* published by post()'s release store */
        }
        int rc = ff_handoff_post(h, w, command, i);
        if (rc == FF_OK) rc = ff_handoff_wait(h, w, timeout_ns, death);
        if (rc != FF_OK) return rc;
        if (msg) {
            memcpy(local, rep, msg_len); /* ordered after the worker's release of done_seq */
            uint64_t stamp;
            memcpy(&stamp, local, sizeof stamp);
            if (stamp != i) return FF_ESTATE;
        }
    }
    return FF_OK;
}

int ff_handoff_bench_worker(ff_handoff_t *h, uint32_t w, uint32_t stop_command, uint64_t *served,
                            void *msg, uint32_t msg_len, int64_t timeout_ns,
                            ff_peer_death_t *death) {
    CHECK_W(h, w);
    if (!served || !bench_msg_ok(msg, msg_len)) return FF_EINVAL;
    uint8_t local[FF_BENCH_MSG_MAX];
    uint8_t *req = (uint8_t *)msg, *rep = req + msg_len;
    *served = 0;
    for (;;) {
        uint32_t cmd = 0;
        uint64_t arg = 0;
        int rc = ff_handoff_wait_command(h, w, &cmd, &arg, timeout_ns, death);
        if (rc != FF_OK) return rc;
        if (msg && cmd != stop_command) {
            memcpy(local, req, msg_len);
            memcpy(rep, local, msg_len);
        }
        rc = ff_handoff_complete(h, w, (int32_t)(arg & 0x7fffffff));
        if (rc != FF_OK) return rc;
        if (cmd == stop_command) return FF_OK;
        (*served)++;
    }
}
