/* C unit tests of the hand-off, its liveness checks and the seqlock (ff_seqlock.h). */
#include "ff_handoff.h"
#include "ff_seqlock.h"
#include "ff_test.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

FF_TEST(handoff_init_attach_validate) {
    FF_CHECK_EQ(ff_handoff_size(0), 0);
    FF_CHECK_EQ(ff_handoff_size(2), 64 + 2 * 128);
    void *mem = NULL;
    FF_CHECK_EQ(posix_memalign(&mem, 64, 4096), 0);
    ff_handoff_t h, h2;
    FF_CHECK_EQ(ff_handoff_attach(&h2, mem, 4096, 2, FF_WAIT_AUTO, -1), FF_ELAYOUT);
    FF_CHECK_EQ(ff_handoff_init(&h, mem, 100, 2, getpid(), FF_WAIT_AUTO, -1), FF_EINVAL);
    FF_CHECK_EQ(ff_handoff_init(&h, mem, 4096, 2, getpid(), 7, -1), FF_EINVAL);
    FF_CHECK_EQ(ff_handoff_init(&h, mem, 4096, 2, getpid(), FF_WAIT_BLOCK, -1), FF_OK);
    FF_CHECK_EQ(h.spin_ns, 0);
    FF_CHECK_EQ(ff_handoff_attach(&h2, mem, 4096, 3, FF_WAIT_AUTO, -1), FF_ELAYOUT);
    FF_CHECK_EQ(ff_handoff_attach(&h2, mem, 4096, 0, FF_WAIT_SPIN, 123), FF_OK);
    FF_CHECK_EQ(h2.num_workers, 2);
    FF_CHECK_EQ(h2.spin_ns, 123);
    /* single-threaded protocol */
    uint32_t cmd = 0, ready[2], count = 9;
    uint64_t arg = 0;
    ff_peer_death_t d;
    FF_CHECK_EQ(ff_handoff_wait_any(&h, ready, &count, 0, &d), FF_OK);
    FF_CHECK_EQ(count, 0);
    FF_CHECK_EQ(ff_handoff_complete(&h2, 0, 1), FF_ESTATE);
    FF_CHECK_EQ(ff_handoff_wait_command(&h2, 0, &cmd, &arg, 1000000, &d), FF_ETIMEDOUT);
    FF_CHECK_EQ(ff_handoff_post(&h, 1, 5, 77), FF_OK);
    FF_CHECK_EQ(ff_handoff_post(&h, 1, 5, 77), FF_ESTATE);
    FF_CHECK_EQ(ff_handoff_outstanding(&h, 1), 1);
    FF_CHECK_EQ(ff_handoff_wait(&h, 1, 1000000, &d), FF_ETIMEDOUT);
    FF_CHECK_EQ(ff_handoff_wait_command(&h2, 1, &cmd, &arg, 0, &d), FF_OK);
    FF_CHECK_EQ(cmd, 5);
    FF_CHECK_EQ(arg, 77);
    FF_CHECK_EQ(ff_handoff_complete(&h2, 1, -3), FF_OK);
    FF_CHECK_EQ(ff_handoff_wait_any(&h, ready, &count, 0, &d), FF_OK);
    FF_CHECK_EQ(count, 1);
    FF_CHECK_EQ(ready[0], 1);
    int32_t st = 0;
    FF_CHECK_EQ(ff_handoff_status(&h, 1, &st), FF_OK);
    FF_CHECK_EQ(st, -3);
    FF_CHECK_EQ(ff_handoff_post(&h, 2, 0, 0), FF_EINVAL);
    free(mem);
}

/* Worker thread serving commands (blocking mode exercises the futex path). */
static ff_handoff_t g_h;
static _Alignas(64) uint8_t g_msg_buf[2][128];
static void *g_msg[2] = {g_msg_buf[0], NULL};
static void *serve(void *arg) {
    uint64_t served = 0;
    ff_peer_death_t d;
    uint32_t w = (uint32_t)(uintptr_t)arg;
    int rc = ff_handoff_bench_worker(&g_h, w, 99, &served, g_msg[w], w == 0 ? 64 : 0,
                                     5000000000LL, &d);
    return (void *)(intptr_t)(rc == FF_OK ? (intptr_t)served : -1);
}

FF_TEST(handoff_round_trips_with_threads_spin_and_block) {
    void *mem = NULL;
    FF_CHECK_EQ(posix_memalign(&mem, 64, 4096), 0);
    for (int mode = FF_WAIT_SPIN; mode <= FF_WAIT_BLOCK; mode++) {
        FF_CHECK_EQ(ff_handoff_init(&g_h, mem, 4096, 2, getpid(), mode, 20000), FF_OK);
        pthread_t t0, t1;
        pthread_create(&t0, NULL, serve, (void *)0);
        pthread_create(&t1, NULL, serve, (void *)1);
        ff_peer_death_t d;
        uint32_t ready[2], count = 0;
        for (int i = 0; i < 2000; i++) {
            FF_CHECK_EQ(ff_handoff_post(&g_h, 0, 1, (uint64_t)i), FF_OK);
            FF_CHECK_EQ(ff_handoff_post(&g_h, 1, 1, (uint64_t)i), FF_OK);
            if (i % 2) {
                FF_CHECK_EQ(ff_handoff_wait_all(&g_h, 5000000000LL, &d), FF_OK);
            } else {
                uint32_t seen = 0;
                while (seen < 2) {
                    FF_CHECK_EQ(ff_handoff_wait_any(&g_h, ready, &count, 5000000000LL, &d),
                                FF_OK);
                    if (count == 0) break;
                    seen += count;
                }
                FF_CHECK_EQ(seen, 2);
            }
            int32_t st = 0;
            ff_handoff_status(&g_h, 1, &st);
            FF_CHECK_EQ(st, i);
        }
        /* worker 0 echoes a 64-byte message through "shared" memory; bad lengths refused */
        FF_CHECK_EQ(ff_handoff_bench_trainer(&g_h, 0, 1, 1000, g_msg[0], 64, 5000000000LL, &d),
                    FF_OK);
        FF_CHECK_EQ(ff_handoff_bench_trainer(&g_h, 0, 1, 1, g_msg[0], 4, 5000000000LL, &d),
                    FF_EINVAL);
        FF_CHECK_EQ(ff_handoff_bench_trainer(&g_h, 0, 1, 1, NULL, 64, 5000000000LL, &d),
                    FF_EINVAL);
        FF_CHECK_EQ(ff_handoff_post(&g_h, 0, 99, 0), FF_OK);
        FF_CHECK_EQ(ff_handoff_post(&g_h, 1, 99, 0), FF_OK);
        FF_CHECK_EQ(ff_handoff_wait_all(&g_h, 5000000000LL, &d), FF_OK);
        void *r0, *r1;
        pthread_join(t0, &r0);
        pthread_join(t1, &r1);
        FF_CHECK_EQ((intptr_t)r0, 3000);
        FF_CHECK_EQ((intptr_t)r1, 2000);
    }
    free(mem);
}

FF_TEST(handoff_dead_worker_reported_with_signal) {
    size_t sz = ff_handoff_size(1);
    void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    FF_CHECK(mem != MAP_FAILED);
    ff_handoff_t h;
    FF_CHECK_EQ(ff_handoff_init(&h, mem, sz, 1, getpid(), FF_WAIT_AUTO, -1), FF_OK);
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    ff_handoff_set_worker_pid(&h, 0, pid);
    FF_CHECK_EQ(ff_handoff_post(&h, 0, 1, 0), FF_OK);
    kill(pid, SIGKILL);
    ff_peer_death_t d = {0, 0, 0, 0};
    int64_t t0 = ff_now_ns();
    FF_CHECK_EQ(ff_handoff_wait(&h, 0, 2000000000LL, &d), FF_EPEERDEAD);
    FF_CHECK(ff_now_ns() - t0 < 1000000000LL);
    FF_CHECK_EQ(d.worker, 0);
    FF_CHECK_EQ(d.pid, pid);
    FF_CHECK_EQ(d.exit_known, 1);
    FF_CHECK_EQ(d.exitcode, -SIGKILL);
    /* still a zombie: our waitid used WNOWAIT, so we can reap it ourselves */
    int status = 0;
    FF_CHECK_EQ(waitpid(pid, &status, 0), pid);
    FF_CHECK(WIFSIGNALED(status));
    /* after reaping, the pid is simply gone */
    FF_CHECK_EQ(ff_pid_alive(pid, NULL, NULL), 0);
    FF_CHECK_EQ(ff_pid_alive(getpid(), NULL, NULL), 1);
    munmap(mem, 4096);
}

FF_TEST(seqlock_round_trip_and_busy_writer) {
    uint32_t seq = 0;
    char src[32] = "hello seqlock", dst[32] = {0}, data[32] = {0};
    ff_seqlock_write(&seq, data, src, sizeof src);
    FF_CHECK_EQ(seq, 2);
    uint32_t s = 0;
    FF_CHECK_EQ(ff_seqlock_read(&seq, dst, data, sizeof dst, 10, &s), FF_OK);
    FF_CHECK_EQ(s, 2);
    FF_CHECK(memcmp(dst, src, sizeof src) == 0);
    seq = 3; /* a writer stuck mid-write */
    FF_CHECK_EQ(ff_seqlock_read(&seq, dst, data, sizeof dst, 20, NULL), FF_ETIMEDOUT);
}

/* A huge finite timeout (start + timeout overflows int64) must wait, not time out at once. */
static void *complete_later(void *arg) {
    ff_handoff_t *h = (ff_handoff_t *)arg;
    uint32_t cmd = 0;
    uint64_t a = 0;
    ff_peer_death_t d;
    if (ff_handoff_wait_command(h, 0, &cmd, &a, 5000000000LL, &d) != FF_OK) return NULL;
    struct timespec ts = {0, 30000000};
    nanosleep(&ts, NULL);
    ff_handoff_complete(h, 0, 42);
    return NULL;
}

FF_TEST(handoff_huge_timeout_does_not_overflow) {
    void *mem = NULL;
    FF_CHECK_EQ(posix_memalign(&mem, 64, 4096), 0);
    ff_handoff_t h, hw;
    FF_CHECK_EQ(ff_handoff_init(&h, mem, 4096, 1, getpid(), FF_WAIT_BLOCK, -1), FF_OK);
    FF_CHECK_EQ(ff_handoff_attach(&hw, mem, 4096, 1, FF_WAIT_BLOCK, -1), FF_OK);
    FF_CHECK_EQ(ff_handoff_post(&h, 0, 1, 0), FF_OK);
    pthread_t t;
    FF_CHECK_EQ(pthread_create(&t, NULL, complete_later, &hw), 0);
    ff_peer_death_t d;
    FF_CHECK_EQ(ff_handoff_wait(&h, 0, INT64_MAX, &d), FF_OK);
    pthread_join(t, NULL);
    int32_t st = 0;
    FF_CHECK_EQ(ff_handoff_status(&h, 0, &st), FF_OK);
    FF_CHECK_EQ(st, 42);
    free(mem);
}

int main(void) {
    FF_RUN(handoff_init_attach_validate);
    FF_RUN(handoff_huge_timeout_does_not_overflow);
    FF_RUN(handoff_round_trips_with_threads_spin_and_block);
    FF_RUN(handoff_dead_worker_reported_with_signal);
    FF_RUN(seqlock_round_trip_and_busy_writer);
    return FF_TEST_SUMMARY();
}
