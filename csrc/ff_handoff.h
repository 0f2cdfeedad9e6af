/*
 * ff_handoff.h - the trainer <-> worker hand-off (one trainer, W workers). Its waits are
 * ff_wait_for (ff_wait.h): spin briefly, then a shared futex, always with a timeout and a peer
 * liveness check.
 *
 * Memory: the caller provides ff_handoff_size(W) bytes, 64-byte aligned (normally inside a
 * shared segment). Layout: one 64-byte header line, then per worker two cache lines: one
 * written only by the trainer {cmd_seq, command, arg, pending}, one written only by the worker
 * {done_seq, status, sleeping}. A command is outstanding while cmd_seq != done_seq.
 *
 * Protocol (release/acquire): the trainer writes command/arg, then stores cmd_seq+1 (release);
 * the worker loads cmd_seq (acquire), reads command/arg, works, writes status, then stores
 * done_seq = cmd_seq (release). A sleeper sets its "sleeping" flag and re-checks before
 * FUTEX_WAIT; the waker stores, issues a seq_cst fence and calls FUTEX_WAKE only if the flag is
 * set, so the fast path makes no system call (the protocol of ff_wait.h). Workers ring one
 * shared "doorbell" word for the trainer so it can sleep while waiting on any/all of them.
 *
 * Thread-safety: one trainer thread and one thread per worker index; the functions are
 * lock-free and safe across processes. ff_handoff_t is a small handle owned by the caller and
 * must outlive no memory: it only points into the caller's buffer.
 */
#ifndef FF_HANDOFF_H
#define FF_HANDOFF_H

#include "ff_common.h"
#include "ff_wait.h" /* wait modes, ff_peer_death_t, the clock and futex helpers */

#define FF_HANDOFF_MAGIC 0x31444846u /* "FHD1" */
#define FF_HANDOFF_MAX_WORKERS 4096u

typedef struct ff_handoff {
    void *mem;            /* caller's memory (not owned) */
    uint32_t num_workers;
    int64_t spin_ns;      /* effective spin budget of this process (0 = block at once) */
} ff_handoff_t;

FF_EXTERN_C_BEGIN

/* Bytes needed for num_workers workers (0 if num_workers is 0 or above the maximum). */
size_t ff_handoff_size(uint32_t num_workers);

/* Initialise the hand-off in mem (size bytes, 64-byte aligned, zeroed or not) for num_workers
 * workers; trainer_pid is recorded for the workers' liveness checks. mode/spin_ns choose the
 * wait policy of this process (spin_ns < 0: default). Returns FF_OK or FF_EINVAL. Call before
 * any other party attaches. */
int ff_handoff_init(ff_handoff_t *h, void *mem, size_t size, uint32_t num_workers,
                    int32_t trainer_pid, int mode, int64_t spin_ns);

/* Attach to an initialised hand-off (any process). Returns FF_OK, FF_EINVAL, or FF_ELAYOUT if
 * the magic or the worker count (num_workers 0 = take it from memory) does not match. */
int ff_handoff_attach(ff_handoff_t *h, void *mem, size_t size, uint32_t num_workers, int mode,
                      int64_t spin_ns);

/* Record worker w's pid (for the trainer's liveness checks). FF_OK or FF_EINVAL. */
int ff_handoff_set_worker_pid(ff_handoff_t *h, uint32_t w, int32_t pid);
int ff_handoff_worker_pid(const ff_handoff_t *h, uint32_t w, int32_t *pid);
int ff_handoff_trainer_pid(const ff_handoff_t *h, int32_t *pid);

/* Trainer: post (command, arg) to worker w. Non-blocking. FF_OK, FF_EINVAL, or FF_ESTATE if
 * w's previous command has not completed yet. Completed but uncollected results are dropped. */
int ff_handoff_post(ff_handoff_t *h, uint32_t w, uint32_t command, uint64_t arg);

/* Trainer: wait until worker w completes its outstanding command (FF_OK at once if none) and
 * collect it. FF_OK, FF_ETIMEDOUT, FF_EPEERDEAD (*death filled), FF_EINVAL. */
int ff_handoff_wait(ff_handoff_t *h, uint32_t w, int64_t timeout_ns, ff_peer_death_t *death);

/* Trainer: wait for every outstanding command. Same codes as ff_handoff_wait. */
int ff_handoff_wait_all(ff_handoff_t *h, int64_t timeout_ns, ff_peer_death_t *death);

/* Trainer: wait until at least one outstanding command completed; collect all completed ones
 * and write their worker ids (ascending) into ready[0..*count) (ready holds num_workers). With
 * nothing outstanding, returns FF_OK and *count = 0 at once. Same codes as ff_handoff_wait. */
int ff_handoff_wait_any(ff_handoff_t *h, uint32_t *ready, uint32_t *count, int64_t timeout_ns,
                        ff_peer_death_t *death);

/* Worker w: wait for the next command. FF_OK (*command, *arg set), FF_ETIMEDOUT, FF_EPEERDEAD
 * (the trainer died; death->worker = -1), FF_EINVAL. Returns at once while a received command
 * is not completed yet (the same command again). */
int ff_handoff_wait_command(ff_handoff_t *h, uint32_t w, uint32_t *command, uint64_t *arg,
                            int64_t timeout_ns, ff_peer_death_t *death);

/* Worker w: complete the outstanding command with status. FF_OK, FF_EINVAL, FF_ESTATE (none
 * outstanding). */
int ff_handoff_complete(ff_handoff_t *h, uint32_t w, int32_t status);

/* Last status worker w completed with. FF_OK or FF_EINVAL. */
int ff_handoff_status(const ff_handoff_t *h, uint32_t w, int32_t *status);

/* 1 if worker w has a command outstanding (posted, not completed), else 0 (or FF_EINVAL). */
int ff_handoff_outstanding(const ff_handoff_t *h, uint32_t w);

/* Benchmark/test hooks in C (no Python per call): the trainer does n round trips with worker w
 * (post command, wait); the worker serves commands until it receives stop_command (which it
 * completes too) and reports how many it served.
 * With msg_len > 0 every round trip also carries a message through shared memory, as a real
 * request/reply would: msg points at 2 * msg_len bytes mapped by both (request, then reply).
 * The trainer stamps the round number into the request; the worker copies the request into the
 * reply before completing; the trainer checks the stamp (FF_ESTATE on a mismatch). msg_len must
 * be 8..4096 when msg is given; both sides must agree on it. */
int ff_handoff_bench_trainer(ff_handoff_t *h, uint32_t w, uint32_t command, uint64_t n,
                             void *msg, uint32_t msg_len, int64_t timeout_ns,
                             ff_peer_death_t *death);
int ff_handoff_bench_worker(ff_handoff_t *h, uint32_t w, uint32_t stop_command, uint64_t *served,
                            void *msg, uint32_t msg_len, int64_t timeout_ns,
                            ff_peer_death_t *death);

FF_EXTERN_C_END

#endif /* FF_HANDOFF_H */
