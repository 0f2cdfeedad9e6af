/*
 * ff_handoff.c - trainer <-> worker hand-off, futex waits, liveness checks and the seqlock.
 * See ff_handoff.h for the protocol.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "ff_handoff.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free (shared memory)");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free (shared memory)");

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

/* How often a sleeping waiter wakes to check its peers' liveness. */
#define FF_LIVENESS_NS 5000000LL

/* ---- waits and process helpers --------------------------------------------------------------- */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

int64_t ff_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t ff_deadline_ns(int64_t start, int64_t timeout_ns) {
    if (timeout_ns < 0 || timeout_ns > INT64_MAX - start) return INT64_MAX;
    return start + timeout_ns;
}

int ff_usable_cpus(void) {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int ff_spin_check(int64_t start, int64_t spin_end) {
    int64_t now = ff_now_ns();
    if (now >= spin_end) return 1;
    if (now - start >= FF_SPIN_YIELD_NS) sched_yield();
    return 0;
}

int ff_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns) {
    if (timeout_ns == 0) return FF_ETIMEDOUT;
#ifdef __linux__
    struct timespec ts, *tsp = NULL;
    if (timeout_ns > 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
        ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
        tsp = &ts;
    }
    /* Shared futex (no FUTEX_PRIVATE_FLAG): the word lives in memory mapped by several
     * processes, and the kernel keys it by the backing page. */
    long r = syscall(SYS_futex, word, FUTEX_WAIT, expected, tsp, NULL, 0);
    if (r != 0 && errno == ETIMEDOUT) return FF_ETIMEDOUT;
    return FF_OK; /* woken, EAGAIN (value changed) or EINTR: the caller re-checks */
#else
    /* Portable fallback: poll with short sleeps. */
    int64_t slice = 50000;
    if (timeout_ns > 0 && timeout_ns < slice) slice = timeout_ns;
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != expected) return FF_OK;
    struct timespec ts = {0, (long)slice};
    nanosleep(&ts, NULL);
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != expected) return FF_OK;
    return timeout_ns > 0 && timeout_ns <= slice ? FF_ETIMEDOUT : FF_OK;
#endif
}

int ff_futex_wake(uint32_t *word, int n) {
#ifdef __linux__
    syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
#else
    (void)word;
    (void)n;
#endif
    return FF_OK;
}

int ff_pid_alive(int32_t pid, int32_t *exitcode, int32_t *exit_known) {
    if (exit_known) *exit_known = 0;
    if (exitcode) *exitcode = 0;
    if (pid <= 0) return 1;
    /* Our own child: waitid(WNOWAIT) sees a zombie and its status without reaping it, so
     * multiprocessing can still join() it. */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
        if (si.si_pid != pid) return 1; /* still running */
        if (exit_known) *exit_known = 1;
        if (exitcode) *exitcode = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
        return 0;
    }
    /* Not our child (or already reaped). */
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
#ifdef __linux__
    /* kill() succeeds on a zombie: read its state from /proc. */
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? 0 : 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')'); /* comm may contain spaces and parentheses */
    if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X')) return 0;
#endif
    return 1;
}

/* ---- hand-off ------------------------------------------------------------------------------- */

size_t ff_handoff_size(uint32_t num_workers) {
    if (num_workers == 0 || num_workers > FF_HANDOFF_MAX_WORKERS) return 0;
    return sizeof(hdr_t) + (size_t)num_workers * sizeof(slot_t);
}

static int64_t policy_spin(uint32_t num_workers, int mode, int64_t spin_ns) {
    if (spin_ns < 0) spin_ns = FF_DEFAULT_SPIN_NS;
    switch (mode) {
    case FF_WAIT_SPIN: return spin_ns;
    case FF_WAIT_BLOCK: return 0;
    default:
        /* Spinners that outnumber cores steal the CPU the peer needs to make progress (the
         * 370x collapse): spin only if every party can own a core. */
        return (int64_t)num_workers + 1 <= (int64_t)ff_usable_cpus() ? spin_ns : 0;
    }
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
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&s->sleeping, memory_order_relaxed))
        ff_futex_wake((uint32_t *)&s->cmd_seq, 1);
    return FF_OK;
}

enum { TW_ONE, TW_ALL, TW_ANY };

/* Is the trainer's wait satisfied? For TW_ANY, fills ready/count with the completed ones. */
static int trainer_ready(ff_handoff_t *h, int kind, uint32_t w) {
    if (kind == TW_ONE) return is_done(SLOT(h, w));
    int any = 0, all = 1;
    for (uint32_t i = 0; i < h->num_workers; i++) {
        slot_t *s = SLOT(h, i);
        if (!s->pending) continue;
        if (is_done(s)) any = 1;
        else all = 0;
    }
    return kind == TW_ALL ? all : any;
}

/* Check the workers the trainer is waiting on. FF_OK or FF_EPEERDEAD (+death). */
static int check_workers(ff_handoff_t *h, int kind, uint32_t w, ff_peer_death_t *death) {
    uint32_t lo = kind == TW_ONE ? w : 0, hi = kind == TW_ONE ? w + 1 : h->num_workers;
    for (uint32_t i = lo; i < hi; i++) {
        slot_t *s = SLOT(h, i);
        if (is_done(s)) continue;
        int32_t pid = atomic_load_explicit(&s->pid, memory_order_acquire);
        int32_t code = 0, known = 0;
        if (!ff_pid_alive(pid, &code, &known)) {
            /* It may have completed just before dying: that is not a failure of this wait. */
            if (is_done(s)) continue;
            if (death) {
                death->worker = (int32_t)i;
                death->pid = pid;
                death->exitcode = code;
                death->exit_known = known;
            }
            return FF_EPEERDEAD;
        }
    }
    return FF_OK;
}

static int trainer_wait(ff_handoff_t *h, int kind, uint32_t w, int64_t timeout_ns,
                        ff_peer_death_t *death) {
    if (trainer_ready(h, kind, w)) return FF_OK;
    hdr_t *hd = HDR(h);
    int64_t start = ff_now_ns();
    int64_t deadline = ff_deadline_ns(start, timeout_ns);
    if (h->spin_ns > 0) {
        int64_t spin_end = ff_deadline_ns(start, h->spin_ns);
        if (spin_end > deadline) spin_end = deadline;
        for (unsigned i = 1;; i++) {
            cpu_relax();
            if (trainer_ready(h, kind, w)) return FF_OK;
            if ((i & 63) == 0 && ff_spin_check(start, spin_end)) break;
        }
    }
    int64_t last_check = start;
    for (;;) {
        uint32_t bell = atomic_load_explicit(&hd->doorbell, memory_order_acquire);
        atomic_store_explicit(&hd->trainer_sleeping, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (trainer_ready(h, kind, w)) break;
        int64_t now = ff_now_ns();
        if (now - last_check >= FF_LIVENESS_NS || now >= deadline) {
            last_check = now;
            int rc = check_workers(h, kind, w, death);
            if (rc != FF_OK) {
                atomic_store_explicit(&hd->trainer_sleeping, 0, memory_order_relaxed);
                return rc;
            }
            if (now >= deadline) {
                atomic_store_explicit(&hd->trainer_sleeping, 0, memory_order_relaxed);
                return trainer_ready(h, kind, w) ? FF_OK : FF_ETIMEDOUT;
            }
        }
        int64_t slice = deadline - now;
        if (slice > FF_LIVENESS_NS) slice = FF_LIVENESS_NS;
        ff_futex_wait((uint32_t *)&hd->doorbell, bell, slice);
    }
    atomic_store_explicit(&hd->trainer_sleeping, 0, memory_order_relaxed);
    return FF_OK;
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

/* Is the trainer gone? FF_OK or FF_EPEERDEAD (+death). */
static int check_trainer(ff_handoff_t *h, ff_peer_death_t *death) {
    int32_t pid = HDR(h)->trainer_pid, code = 0, known = 0;
    if (ff_pid_alive(pid, &code, &known)) return FF_OK;
    if (death) {
        death->worker = -1;
        death->pid = pid;
        death->exitcode = code;
        death->exit_known = known;
    }
    return FF_EPEERDEAD;
}

static inline int has_command(slot_t *s) {
    return atomic_load_explicit(&s->cmd_seq, memory_order_acquire) !=
           atomic_load_explicit(&s->done_seq, memory_order_relaxed);
}

int ff_handoff_wait_command(ff_handoff_t *h, uint32_t w, uint32_t *command, uint64_t *arg,
                            int64_t timeout_ns, ff_peer_death_t *death) {
    CHECK_W(h, w);
    if (!command || !arg) return FF_EINVAL;
    slot_t *s = SLOT(h, w);
    int rc = FF_OK;
    if (has_command(s)) goto got;
    int64_t start = ff_now_ns();
    int64_t deadline = ff_deadline_ns(start, timeout_ns);
    if (h->spin_ns > 0) {
        int64_t spin_end = ff_deadline_ns(start, h->spin_ns);
        if (spin_end > deadline) spin_end = deadline;
        for (unsigned i = 1;; i++) {
            cpu_relax();
            if (has_command(s)) goto got;
            if ((i & 63) == 0 && ff_spin_check(start, spin_end)) break;
        }
    }
    int64_t last_check = start;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&s->cmd_seq, memory_order_acquire);
        atomic_store_explicit(&s->sleeping, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (has_command(s)) break;
        int64_t now = ff_now_ns();
        if (now - last_check >= FF_LIVENESS_NS || now >= deadline) {
            last_check = now;
            rc = check_trainer(h, death);
            if (rc == FF_OK && now >= deadline) rc = has_command(s) ? FF_OK : FF_ETIMEDOUT;
            if (rc != FF_OK || has_command(s)) break;
        }
        int64_t slice = deadline - now;
        if (slice > FF_LIVENESS_NS) slice = FF_LIVENESS_NS;
        ff_futex_wait((uint32_t *)&s->cmd_seq, seq, slice);
    }
    atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
    if (rc != FF_OK) return rc;
got:
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
    /* Pairs with the trainer's fence before it sleeps (see trainer_wait). */
    atomic_thread_fence(memory_order_seq_cst);
    hdr_t *hd = HDR(h);
    if (atomic_load_explicit(&hd->trainer_sleeping, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&hd->doorbell, 1, memory_order_release);
        ff_futex_wake((uint32_t *)&hd->doorbell, INT_MAX);
    }
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

/* ---- seqlock ------------------------------------------------------------------------------- */

void ff_seqlock_write(uint32_t *seq, void *dst, const void *src, size_t n) {
    _Atomic uint32_t *sq = (_Atomic uint32_t *)seq;
    uint32_t s = atomic_load_explicit(sq, memory_order_relaxed);
    atomic_store_explicit(sq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release); /* odd seq is visible before any data byte */
    memcpy(dst, src, n);
    atomic_store_explicit(sq, s + 2, memory_order_release);
}

int ff_seqlock_read(const uint32_t *seq, void *dst, const void *src, size_t n, uint32_t max_tries,
                    uint32_t *seq_out) {
    _Atomic uint32_t *sq = (_Atomic uint32_t *)(uintptr_t)seq;
    for (uint32_t t = 0; t < max_tries; t++) {
        uint32_t s1 = atomic_load_explicit(sq, memory_order_acquire);
        if ((s1 & 1u) == 0) {
            memcpy(dst, src, n);
            atomic_thread_fence(memory_order_acquire); /* the copy happens before the re-read */
            uint32_t s2 = atomic_load_explicit(sq, memory_order_relaxed);
            if (s1 == s2) {
                if (seq_out) *seq_out = s1;
                return FF_OK;
            }
        }
        if (t < 16) cpu_relax();
        else sched_yield(); /* the writer may be descheduled on a busy machine */
    }
    return FF_ETIMEDOUT;
}
