/*
 * ff_wait.h - the one wait of the core: spin briefly, then sleep on a shared futex, always with
 * a timeout and (optionally) a periodic check that the peer process is still alive. The ring
 * (ff_ring.c) and the hand-off (ff_handoff.c) are both built on it; the clock, the futex, the
 * liveness check and the spin policy live here too.
 *
 * Sleep/wake protocol (no lost wake-ups, no system call on the fast path): the sleeper loads
 * the futex word, sets its "sleeping" flag, issues a seq_cst fence and re-checks its condition
 * before FUTEX_WAIT on the loaded value; the waker publishes its change, issues a seq_cst fence
 * and calls FUTEX_WAKE only if it sees the flag (ff_wait_wake). Either the sleeper sees the
 * change, or the waker sees the flag.
 *
 * Words and flags are passed as plain uint32_t pointers so this header also compiles as C++
 * (the Cython module is C++); they must be 4-byte aligned and only ever accessed atomically.
 * All functions are thread-safe and work across processes (the words may live in a shared
 * segment).
 */
#ifndef FF_WAIT_H
#define FF_WAIT_H

#include "ff_common.h"

/* Wait modes. AUTO spins only while the parties that may spin fit in this process's CPUs. */
enum ff_wait_mode { FF_WAIT_AUTO = 0, FF_WAIT_SPIN = 1, FF_WAIT_BLOCK = 2 };

/* Default spin budget before sleeping on the futex. */
#define FF_DEFAULT_SPIN_NS 50000

/* Spin loops yield the CPU once they have spun this long (see ff_spin_check). */
#define FF_SPIN_YIELD_NS 2000

/* Why a wait stopped with FF_EPEERDEAD: which worker (-1 for the trainer), its pid, and its exit
 * status in the multiprocessing convention (code >= 0, or -signal) when known. */
typedef struct ff_peer_death {
    int32_t worker;
    int32_t pid;
    int32_t exitcode;
    int32_t exit_known;
} ff_peer_death_t;

/* What ff_wait_for waits for. The caller fills it on its stack; nothing is kept after the
 * call. */
typedef struct ff_wait {
    /* Nonzero once the wait is over. Called in the spin loop: cheap, no side effects. */
    int (*ready)(void *ctx);
    /* NULL, or called every slice_ns while sleeping and once more at the deadline: FF_OK if
     * the peer is alive, else the code to stop with (normally FF_EPEERDEAD). */
    int (*check_peer)(void *ctx);
    void *ctx;
    uint32_t *word;     /* futex word the waker changes (or bumps) before waking */
    uint32_t *sleeping; /* the waiter's flag, read by the waker (one waiter per flag) */
    int64_t spin_ns;    /* spin budget before sleeping (0: sleep at once) */
    int64_t slice_ns;   /* longest single sleep (> 0), so check_peer runs at least this often */
} ff_wait_t;

FF_EXTERN_C_BEGIN

/* One pause of a spin loop: tells the CPU we are spinning (saves power, frees the sibling
 * hyper-thread, avoids the memory-order mis-speculation penalty when the word changes). */
static inline void ff_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Monotonic clock in nanoseconds. */
int64_t ff_now_ns(void);

/* The deadline of a wait of timeout_ns (< 0: none) starting at `start` (from ff_now_ns):
 * start + timeout_ns, saturated at INT64_MAX (= no deadline) instead of overflowing, so any
 * huge finite timeout waits rather than expiring at once. Pure. */
int64_t ff_deadline_ns(int64_t start, int64_t timeout_ns);

/* CPUs this process may run on (sched_getaffinity on Linux, else online CPUs; >= 1). */
int ff_usable_cpus(void);

/* The spin budget a party should use: mode FF_WAIT_SPIN -> spin_ns, FF_WAIT_BLOCK -> 0,
 * FF_WAIT_AUTO -> spin_ns only if `parties` spinners (everyone who may spin at once, this
 * party included) fit in this process's CPUs, else 0 (sleep at once). spin_ns < 0 means
 * FF_DEFAULT_SPIN_NS. */
int64_t ff_wait_spin_budget(int mode, int64_t spin_ns, int64_t parties);

/* Called by spin loops every few dozen pauses: returns 1 once the spin budget (spin_end, from
 * ff_now_ns) is spent. After the first FF_SPIN_YIELD_NS of spinning it also yields the CPU
 * (sched_yield): if the peer we wait for was scheduled on our own CPU (the machine is busy, or
 * the scheduler put both on one core), pure spinning would keep it off the CPU for the whole
 * budget on every hand-over (measured: 110 us per round trip instead of a few). */
int ff_spin_check(int64_t start, int64_t spin_end);

/* Sleep until *word != expected, a wake, or timeout_ns (< 0: no timeout) passes. Shared (not
 * private) futex on Linux so it works across processes; elsewhere a short nanosleep poll.
 * Returns FF_OK (woken or value changed; spurious wakeups possible) or FF_ETIMEDOUT. */
int ff_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns);

/* Wake up to n sleepers on word. Returns FF_OK. */
int ff_futex_wake(uint32_t *word, int n);

/* Is process pid alive? 1 alive, 0 dead (including a zombie not yet reaped: detected with
 * waitid(WNOWAIT) for our children, /proc/<pid>/stat elsewhere, without reaping it).
 * exitcode and exit_known receive the exit status when it can be read (multiprocessing
 * convention: -N for signal N). pid <= 0 counts as alive (unknown). */
int ff_pid_alive(int32_t pid, int32_t *exitcode, int32_t *exit_known);

/* The peer check of a wait: FF_OK if pid is alive, else FF_EPEERDEAD with *death (may be NULL)
 * filled for `worker` (-1: the trainer). */
int ff_peer_check(int32_t pid, int32_t worker, ff_peer_death_t *death);

/* Wait until w->ready(w->ctx): check it, spin up to w->spin_ns (never past the deadline), then
 * sleep on w->word in slices of at most w->slice_ns. timeout_ns 0 checks the condition (and
 * the peer) once without spinning or sleeping; < 0 waits forever. Returns FF_OK, FF_ETIMEDOUT,
 * or w->check_peer's error. */
int ff_wait_for(const ff_wait_t *w, int64_t timeout_ns);

/* The waker's half of the protocol, after publishing its change with release order: fence,
 * and if *sleeping is set, bump *word first when `bump` (for words that are not the published
 * value itself, like a doorbell) and wake up to n sleepers on word. */
void ff_wait_wake(uint32_t *word, const uint32_t *sleeping, int bump, int n);

FF_EXTERN_C_END

#endif /* FF_WAIT_H */
