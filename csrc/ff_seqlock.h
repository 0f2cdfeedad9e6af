/*
 * ff_seqlock.h - a per-record seqlock for torn-free copies of records in shared memory (the
 * SharedMemoryBridge's state and action slots).
 *
 * One writer per record. seq is a 32-bit word in shared memory, odd while a write is in
 * progress. ff_seqlock_write copies n bytes from src to dst between the two increments.
 * ff_seqlock_read copies n bytes from src to dst and retries (up to max_tries, yielding the CPU
 * between tries after the first few) until it read a stable even sequence: FF_OK, or
 * FF_ETIMEDOUT if the writer kept it busy. *seq_out (may be NULL) gets the sequence read.
 *
 * Header-only (a dozen lines each), with the compiler's __atomic builtins rather than
 * <stdatomic.h> so the same code compiles as C and as C++ (the Cython module is C++). Safe
 * across processes; any number of readers.
 */
#ifndef FF_SEQLOCK_H
#define FF_SEQLOCK_H

#include <sched.h>
#include <string.h>

#include "ff_common.h"
#include "ff_wait.h" /* ff_cpu_relax */

static inline void ff_seqlock_write(uint32_t *seq, void *dst, const void *src, size_t n) {
    uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);
    __atomic_store_n(seq, s + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE); /* odd seq is visible before any data byte */
    memcpy(dst, src, n);
    __atomic_store_n(seq, s + 2, __ATOMIC_RELEASE);
}

static inline int ff_seqlock_read(const uint32_t *seq, void *dst, const void *src, size_t n,
                                  uint32_t max_tries, uint32_t *seq_out) {
    for (uint32_t t = 0; t < max_tries; t++) {
        uint32_t s1 = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
        if ((s1 & 1u) == 0) {
            memcpy(dst, src, n);
            __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the copy happens before the re-read */
            uint32_t s2 = __atomic_load_n(seq, __ATOMIC_RELAXED);
            if (s1 == s2) {
                if (seq_out) *seq_out = s1;
                return FF_OK;
            }
        }
        if (t < 16) ff_cpu_relax();
        else sched_yield(); /* the writer may be descheduled on a busy machine */
    }
    return FF_ETIMEDOUT;
}

#endif /* FF_SEQLOCK_H */
