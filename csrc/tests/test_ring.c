/* C unit tests of the SPSC ring (single process, plus a two-thread stress). */
#include "ff_ring.h"
#include "ff_test.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static void *aligned(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n) != 0) return NULL;
    return p;
}

FF_TEST(ring_size_rejects_bad_arguments) {
    FF_CHECK_EQ(ff_ring_size(0, 64), 0);
    FF_CHECK_EQ(ff_ring_size(3, 64), 0);
    FF_CHECK_EQ(ff_ring_size(4, 0), 0);
    FF_CHECK(ff_ring_size(4, 64) >= 4 * 64 + 4 * 4);
    ff_ring_t r;
    void *mem = aligned(4096);
    FF_CHECK_EQ(ff_ring_init(&r, mem, 16, 4, 64, 0), FF_EINVAL);
    FF_CHECK_EQ(ff_ring_init(&r, (char *)mem + 8, 4000, 4, 64, 0), FF_EINVAL);
    FF_CHECK_EQ(ff_ring_attach(&r, mem, 4096, 0, 0, 0), FF_ELAYOUT); /* not initialised */
    free(mem);
}

FF_TEST(ring_put_get_fifo_full_empty) {
    size_t sz = ff_ring_size(4, 16);
    void *mem = aligned(sz);
    ff_ring_t r, r2;
    FF_CHECK_EQ(ff_ring_init(&r, mem, sz, 4, 16, 0), FF_OK);
    FF_CHECK_EQ(ff_ring_attach(&r2, mem, sz, 4, 16, 0), FF_OK);
    FF_CHECK_EQ(ff_ring_attach(&r2, mem, sz, 8, 16, 0), FF_ELAYOUT);
    uint8_t buf[16];
    uint32_t len = 0;
    FF_CHECK_EQ(ff_ring_get(&r, buf, 16, &len, 0), FF_EEMPTY);
    for (uint8_t i = 0; i < 4; i++) FF_CHECK_EQ(ff_ring_put(&r, &i, 1, 0), FF_OK);
    uint8_t x = 9;
    FF_CHECK_EQ(ff_ring_put(&r, &x, 1, 0), FF_EFULL);
    FF_CHECK_EQ(ff_ring_put(&r, &x, 1, 1000000), FF_EFULL); /* 1 ms timeout */
    FF_CHECK_EQ(ff_ring_count(&r), 4);
    uint8_t big[17] = {0};
    FF_CHECK_EQ(ff_ring_put(&r, big, 17, 0), FF_EINVAL);
    for (uint8_t i = 0; i < 4; i++) {
        FF_CHECK_EQ(ff_ring_get(&r2, buf, 16, &len, 0), FF_OK);
        FF_CHECK_EQ(len, 1);
        FF_CHECK_EQ(buf[0], i);
    }
    FF_CHECK_EQ(ff_ring_get(&r, buf, 16, &len, 1000000), FF_EEMPTY);
    free(mem);
}

FF_TEST(ring_batches_wrap_and_keep_lengths) {
    size_t sz = ff_ring_size(8, 8);
    void *mem = aligned(sz);
    ff_ring_t r;
    FF_CHECK_EQ(ff_ring_init(&r, mem, sz, 8, 8, 0), FF_OK);
    uint8_t items[6 * 8], out[8 * 8];
    uint32_t lens[6], olens[8], done = 0, got = 0;
    for (int k = 0; k < 6; k++) {
        lens[k] = (uint32_t)(k + 1);
        for (int b = 0; b < 8; b++) items[k * 8 + b] = (uint8_t)(k * 10 + b);
    }
    FF_CHECK_EQ(ff_ring_put_many(&r, items, 8, lens, 6, 0, &done), FF_OK);
    FF_CHECK_EQ(done, 6);
    FF_CHECK_EQ(ff_ring_put_many(&r, items, 8, lens, 6, 0, &done), FF_EFULL); /* all or none */
    FF_CHECK_EQ(done, 0);
    FF_CHECK_EQ(ff_ring_get_many(&r, out, 8, olens, 4, 0, &got), FF_OK);
    FF_CHECK_EQ(got, 4);
    /* now tail = 4, head = 6: put 6 more wraps around the end */
    FF_CHECK_EQ(ff_ring_put_many(&r, items, 8, lens, 6, 0, &done), FF_OK);
    FF_CHECK_EQ(ff_ring_get_many(&r, out, 8, olens, 8, 0, &got), FF_OK);
    FF_CHECK_EQ(got, 8);
    FF_CHECK_EQ(olens[0], 5);
    FF_CHECK_EQ(out[0], 40);
    FF_CHECK_EQ(olens[2], 1);
    FF_CHECK_EQ(out[2 * 8], 0);
    FF_CHECK_EQ(olens[7], 6);
    FF_CHECK_EQ(out[7 * 8 + 5], 55);
    FF_CHECK_EQ(ff_ring_get_many(&r, out, 8, olens, 8, 0, &got), FF_OK);
    FF_CHECK_EQ(got, 0);
    lens[2] = 9;
    FF_CHECK_EQ(ff_ring_put_many(&r, items, 8, lens, 6, 0, &done), FF_EINVAL);
    FF_CHECK_EQ(ff_ring_count(&r), 0);
    free(mem);
}

#define STRESS_N 2000000u
static ff_ring_t g_ring;

static void *producer(void *arg) {
    (void)arg;
    uint64_t buf[8] = {0};
    uint64_t seq = 0;
    while (seq < STRESS_N) {
        uint64_t batch[16 * 8];
        uint32_t k = (uint32_t)(seq % 16) + 1, done = 0;
        if (seq + k > STRESS_N) k = (uint32_t)(STRESS_N - seq);
        if (seq % 3 == 0) {
            buf[0] = seq++;
            if (ff_ring_put(&g_ring, buf, 64, -1) != FF_OK) return (void *)1;
            continue;
        }
        for (uint32_t j = 0; j < k; j++) batch[j * 8] = seq + j;
        if (ff_ring_put_many(&g_ring, (uint8_t *)batch, 64, NULL, k, -1, &done) != FF_OK)
            return (void *)1;
        seq += k;
    }
    return NULL;
}

FF_TEST(ring_two_thread_stress_loses_nothing) {
    size_t sz = ff_ring_size(256, 64);
    void *mem = aligned(sz);
    FF_CHECK_EQ(ff_ring_init(&g_ring, mem, sz, 256, 64, 20000), FF_OK);
    pthread_t th;
    pthread_create(&th, NULL, producer, NULL);
    uint64_t expect = 0, bad = 0;
    uint64_t out[32 * 8];
    while (expect < STRESS_N) {
        uint32_t got = 0;
        if (ff_ring_get_many(&g_ring, (uint8_t *)out, 64, NULL, 32, 5000000000LL, &got) != FF_OK)
            break;
        for (uint32_t j = 0; j < got; j++) bad += out[j * 8] != expect++;
    }
    void *ret = NULL;
    pthread_join(th, &ret);
    FF_CHECK(ret == NULL);
    FF_CHECK_EQ(expect, STRESS_N);
    FF_CHECK_EQ(bad, 0);
    free(mem);
}

/* A huge finite timeout (start + timeout overflows int64) must wait, not fail at once. */
static void *get_later(void *arg) {
    ff_ring_t *r = (ff_ring_t *)arg;
    struct timespec ts = {0, 30000000};
    nanosleep(&ts, NULL);
    uint8_t out[8];
    uint32_t len = 0;
    ff_ring_get(r, out, sizeof out, &len, 0);
    return NULL;
}

FF_TEST(ring_huge_timeout_does_not_overflow) {
    size_t n = ff_ring_size(1, 8);
    void *mem = aligned(n);
    ff_ring_t r;
    FF_CHECK_EQ(ff_ring_init(&r, mem, n, 1, 8, 0), FF_OK);
    FF_CHECK_EQ(ff_ring_put(&r, "a", 1, 0), FF_OK);
    pthread_t t;
    FF_CHECK_EQ(pthread_create(&t, NULL, get_later, &r), 0);
    FF_CHECK_EQ(ff_ring_put(&r, "b", 1, INT64_MAX), FF_OK);
    pthread_join(t, NULL);
    FF_CHECK_EQ(pthread_create(&t, NULL, get_later, &r), 0);
    uint32_t done = 0;
    const uint8_t msg[8] = {'c'}; /* one item of slot_size (8) bytes */
    FF_CHECK_EQ(ff_ring_put_many(&r, msg, 8, NULL, 1, INT64_MAX, &done), FF_OK);
    FF_CHECK_EQ(done, 1);
    pthread_join(t, NULL);
    free(mem);
}

int main(void) {
    FF_RUN(ring_huge_timeout_does_not_overflow);
    FF_RUN(ring_size_rejects_bad_arguments);
    FF_RUN(ring_put_get_fifo_full_empty);
    FF_RUN(ring_batches_wrap_and_keep_lengths);
    FF_RUN(ring_two_thread_stress_loses_nothing);
    return FF_TEST_SUMMARY();
}
