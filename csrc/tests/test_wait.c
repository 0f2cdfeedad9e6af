/* C unit tests of the shared wait (ff_wait.h): timeouts, wakes from another thread, dead peers,
 * and the spin policy. */
#include "ff_wait.h"
#include "ff_test.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A condition another thread sets: `flag` becomes 1, and `word` is the futex word it bumps. */
typedef struct {
    uint32_t flag;
    uint32_t word;
    uint32_t sleeping;
    int32_t pid;         /* the peer whose liveness the wait checks (0: none) */
    ff_peer_death_t death;
    int peer_checks;
} cond_t;

static int cond_ready(void *ctx) {
    return __atomic_load_n(&((cond_t *)ctx)->flag, __ATOMIC_ACQUIRE) != 0;
}

static int cond_peer(void *ctx) {
    cond_t *c = (cond_t *)ctx;
    c->peer_checks++;
    return ff_peer_check(c->pid, 7, &c->death);
}

static ff_wait_t make_wait(cond_t *c, int64_t spin_ns, int64_t slice_ns, int with_peer) {
    ff_wait_t w = {
        .ready = cond_ready,
        .check_peer = with_peer ? cond_peer : NULL,
        .ctx = c,
        .word = &c->word,
        .sleeping = &c->sleeping,
        .spin_ns = spin_ns,
        .slice_ns = slice_ns,
    };
    return w;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

FF_TEST(wait_times_out_within_bounds) {
    /* Sleeping at once and after spinning; slices shorter and longer than the timeout. */
    const int64_t spins[] = {0, 20000};
    const int64_t slices[] = {3000000, 1000000000};
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            cond_t c = {0};
            ff_wait_t w = make_wait(&c, spins[i], slices[j], 0);
            int64_t t0 = ff_now_ns();
            FF_CHECK_EQ(ff_wait_for(&w, 20000000), FF_ETIMEDOUT); /* 20 ms */
            int64_t took = ff_now_ns() - t0;
            FF_CHECK(took >= 20000000);
            FF_CHECK(took < 1000000000); /* generous: the machine is shared */
            FF_CHECK_EQ(c.sleeping, 0);  /* the flag is cleared on the way out */
        }
    }
    /* timeout 0 is a poll: no sleep at all */
    cond_t c = {0};
    ff_wait_t w = make_wait(&c, 50000, 1000000000, 0);
    int64_t t0 = ff_now_ns();
    FF_CHECK_EQ(ff_wait_for(&w, 0), FF_ETIMEDOUT);
    FF_CHECK(ff_now_ns() - t0 < 10000000);
    c.flag = 1;
    FF_CHECK_EQ(ff_wait_for(&w, 0), FF_OK);
    FF_CHECK_EQ(ff_wait_for(&w, -1), FF_OK); /* ready: returns at once even without a timeout */
}

FF_TEST(futex_wait_returns_at_once_on_a_changed_word_and_times_out) {
    uint32_t word = 5;
    int64_t t0 = ff_now_ns();
    FF_CHECK_EQ(ff_futex_wait(&word, 4, 1000000000), FF_OK); /* value differs: no sleep */
    FF_CHECK(ff_now_ns() - t0 < 500000000);
    FF_CHECK_EQ(ff_futex_wait(&word, 5, 0), FF_ETIMEDOUT);
    t0 = ff_now_ns();
    FF_CHECK_EQ(ff_futex_wait(&word, 5, 5000000), FF_ETIMEDOUT);
    FF_CHECK(ff_now_ns() - t0 >= 5000000);
    FF_CHECK_EQ(ff_deadline_ns(100, 50), 150);
    FF_CHECK_EQ(ff_deadline_ns(100, -1), INT64_MAX);
    FF_CHECK_EQ(ff_deadline_ns(100, INT64_MAX), INT64_MAX); /* saturates, no overflow */
}

/* The waker: the protocol's other half (publish, then ff_wait_wake). */
static void *wake_later(void *arg) {
    cond_t *c = (cond_t *)arg;
    sleep_ms(50);
    __atomic_store_n(&c->flag, 1, __ATOMIC_RELEASE);
    ff_wait_wake(&c->word, &c->sleeping, 1, 1);
    return NULL;
}

FF_TEST(wait_sees_a_wake_from_another_thread) {
    for (int spin = 0; spin < 2; spin++) {
        cond_t c = {0};
        /* One 10 s slice: returning well before it proves the FUTEX_WAKE reached the sleeper
         * (with spin, the 20 us budget is long over before the 50 ms wake). */
        ff_wait_t w = make_wait(&c, spin ? 20000 : 0, 10000000000LL, 0);
        pthread_t t;
        FF_CHECK_EQ(pthread_create(&t, NULL, wake_later, &c), 0);
        int64_t t0 = ff_now_ns();
        FF_CHECK_EQ(ff_wait_for(&w, 10000000000LL), FF_OK);
        int64_t took = ff_now_ns() - t0;
        pthread_join(t, NULL);
        FF_CHECK(took >= 40000000);
        FF_CHECK(took < 5000000000LL);
        FF_CHECK_EQ(c.word, 1); /* the waker saw the flag and rang */
        FF_CHECK_EQ(c.sleeping, 0);
    }
    /* Nobody sleeps: the waker neither bumps the word nor calls the kernel. */
    cond_t c = {0};
    ff_wait_wake(&c.word, &c.sleeping, 1, 1);
    FF_CHECK_EQ(c.word, 0);
}

FF_TEST(dead_peer_is_reported) {
    FF_CHECK_EQ(ff_peer_check(getpid(), 0, NULL), FF_OK);
    FF_CHECK_EQ(ff_peer_check(0, 0, NULL), FF_OK); /* unknown pid: counts as alive */
    /* A child that exits with a code: reported dead with it, and still a zombie after. */
    pid_t pid = fork();
    if (pid == 0) _exit(3);
    FF_CHECK(pid > 0);
    ff_peer_death_t d = {0, 0, 0, 0};
    int64_t t0 = ff_now_ns();
    while (ff_pid_alive(pid, NULL, NULL) && ff_now_ns() - t0 < 5000000000LL) sleep_ms(1);
    FF_CHECK_EQ(ff_peer_check(pid, 4, &d), FF_EPEERDEAD);
    FF_CHECK_EQ(d.worker, 4);
    FF_CHECK_EQ(d.pid, pid);
    FF_CHECK_EQ(d.exit_known, 1);
    FF_CHECK_EQ(d.exitcode, 3);
    int status = 0;
    FF_CHECK_EQ(waitpid(pid, &status, 0), pid); /* not reaped by the check */
    FF_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);

    /* A wait on a peer killed while it waits stops with FF_EPEERDEAD at the next check, long
     * before its timeout; the check is made once at timeout 0 too. */
    pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    cond_t c = {0};
    c.pid = pid;
    ff_wait_t w = make_wait(&c, 0, 5000000, 1);
    FF_CHECK_EQ(ff_wait_for(&w, 0), FF_ETIMEDOUT); /* alive: a plain timeout */
    FF_CHECK_EQ(c.peer_checks, 1);
    kill(pid, SIGKILL);
    t0 = ff_now_ns();
    FF_CHECK_EQ(ff_wait_for(&w, 10000000000LL), FF_EPEERDEAD);
    FF_CHECK(ff_now_ns() - t0 < 5000000000LL);
    FF_CHECK_EQ(c.death.worker, 7);
    FF_CHECK_EQ(c.death.pid, pid);
    FF_CHECK_EQ(c.death.exit_known, 1);
    FF_CHECK_EQ(c.death.exitcode, -SIGKILL);
    FF_CHECK_EQ(c.sleeping, 0);
    FF_CHECK_EQ(waitpid(pid, &status, 0), pid);
}

FF_TEST(spin_budget_follows_the_cores) {
    int cpus = ff_usable_cpus();
    FF_CHECK(cpus >= 1);
    FF_CHECK_EQ(ff_wait_spin_budget(FF_WAIT_SPIN, 123, 1000), 123);
    FF_CHECK_EQ(ff_wait_spin_budget(FF_WAIT_SPIN, -1, 1000), FF_DEFAULT_SPIN_NS);
    FF_CHECK_EQ(ff_wait_spin_budget(FF_WAIT_BLOCK, 123, 1), 0);
    /* AUTO: spin while every party can own a core, sleep at once when they would outnumber them */
    FF_CHECK_EQ(ff_wait_spin_budget(FF_WAIT_AUTO, 123, cpus), 123);
    FF_CHECK_EQ(ff_wait_spin_budget(FF_WAIT_AUTO, -1, cpus), FF_DEFAULT_SPIN_NS);
    FF_CHECK_EQ(ff_wait_spin_budget(FF_WAIT_AUTO, 123, cpus + 1), 0);
}

int main(void) {
    FF_RUN(wait_times_out_within_bounds);
    FF_RUN(futex_wait_returns_at_once_on_a_changed_word_and_times_out);
    FF_RUN(wait_sees_a_wake_from_another_thread);
    FF_RUN(dead_peer_is_reported);
    FF_RUN(spin_budget_follows_the_cores);
    return FF_TEST_SUMMARY();
}
