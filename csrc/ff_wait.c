/*
 * ff_wait.c - clock, futex, liveness check, spin policy and the spin-then-sleep wait shared by
 * the ring and the hand-off. See ff_wait.h for the protocol.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "ff_wait.h"

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

/* Every word the core shares between processes (ring, hand-off, seqlock) is a 32-bit atomic
 * accessed through this compiler: a lock-based fallback would put the lock in one process's
 * private memory and break across processes. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free (shared memory)");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free (shared memory)");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic words are plain words");

#define AW(p) ((_Atomic uint32_t *)(p))

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

int64_t ff_wait_spin_budget(int mode, int64_t spin_ns, int64_t parties) {
    if (spin_ns < 0) spin_ns = FF_DEFAULT_SPIN_NS;
    switch (mode) {
    case FF_WAIT_SPIN: return spin_ns;
    case FF_WAIT_BLOCK: return 0;
    default:
        /* Spinners that outnumber cores steal the CPU the peer needs to make progress (the
         * 370x collapse): spin only if every party can own a core. */
        return parties <= (int64_t)ff_usable_cpus() ? spin_ns : 0;
    }
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

int ff_peer_check(int32_t pid, int32_t worker, ff_peer_death_t *death) {
    int32_t code = 0, known = 0;
    if (ff_pid_alive(pid, &code, &known)) return FF_OK;
    if (death) {
        death->worker = worker;
        death->pid = pid;
        death->exitcode = code;
        death->exit_known = known;
    }
    return FF_EPEERDEAD;
}

int ff_wait_for(const ff_wait_t *w, int64_t timeout_ns) {
    if (w->ready(w->ctx)) return FF_OK;
    if (timeout_ns == 0) {
        /* A poll: no spin, no sleep, but a dead peer is still reported as such. */
        int rc = w->check_peer ? w->check_peer(w->ctx) : FF_OK;
        if (rc != FF_OK) return rc;
        return w->ready(w->ctx) ? FF_OK : FF_ETIMEDOUT;
    }
    int64_t start = ff_now_ns();
    int64_t deadline = ff_deadline_ns(start, timeout_ns);
    if (w->spin_ns > 0) {
        int64_t spin_end = ff_deadline_ns(start, w->spin_ns);
        if (spin_end > deadline) spin_end = deadline;
        for (unsigned i = 1;; i++) {
            ff_cpu_relax();
            if (w->ready(w->ctx)) return FF_OK;
            /* The clock is read only every 64 pauses: it costs as much as dozens of them. */
            if ((i & 63) == 0 && ff_spin_check(start, spin_end)) break;
        }
    }
    _Atomic uint32_t *word = AW(w->word), *sleeping = AW(w->sleeping);
    int64_t last_check = start;
    int rc = FF_OK;
    for (;;) {
        uint32_t seen = atomic_load_explicit(word, memory_order_acquire);
        atomic_store_explicit(sleeping, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst); /* pairs with the waker's fence */
        if (w->ready(w->ctx)) break;
        int64_t now = ff_now_ns();
        if (now >= deadline || (w->check_peer && now - last_check >= w->slice_ns)) {
            last_check = now;
            rc = w->check_peer ? w->check_peer(w->ctx) : FF_OK;
            if (rc != FF_OK) break;
            if (now >= deadline) {
                /* It may have become ready while we checked the peer. */
                rc = w->ready(w->ctx) ? FF_OK : FF_ETIMEDOUT;
                break;
            }
        }
        int64_t slice = deadline - now;
        if (slice > w->slice_ns) slice = w->slice_ns;
        ff_futex_wait(w->word, seen, slice);
    }
    atomic_store_explicit(sleeping, 0, memory_order_relaxed);
    return rc;
}

void ff_wait_wake(uint32_t *word, const uint32_t *sleeping, int bump, int n) {
    atomic_thread_fence(memory_order_seq_cst); /* pairs with the sleeper's fence */
    if (!atomic_load_explicit(AW(sleeping), memory_order_relaxed)) return;
    if (bump) atomic_fetch_add_explicit(AW(word), 1, memory_order_release);
    ff_futex_wake(word, n);
}
