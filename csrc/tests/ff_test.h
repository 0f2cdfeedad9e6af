/*
 * ff_test.h - a tiny assert header for the C unit tests beside the core (no vendored framework).
 *
 *   FF_TEST(name) { FF_CHECK(cond); FF_CHECK_EQ(a, b); }
 *   int main(void) { FF_RUN(name); ...; return FF_TEST_SUMMARY(); }
 *
 * Prints one line per failed check and a closing "N passed, N failed" line.
 */
#ifndef FF_TEST_H
#define FF_TEST_H

#include <stdio.h>
#include <string.h>

static int ff_test_failed_checks = 0;
static int ff_test_passed = 0;
static int ff_test_failed = 0;

#define FF_TEST(name) static void name(void)

#define FF_CHECK(cond)                                                              \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            ff_test_failed_checks++;                                                \
        }                                                                           \
    } while (0)

#define FF_CHECK_EQ(a, b)                                                               \
    do {                                                                                \
        long long ff_a_ = (long long)(a), ff_b_ = (long long)(b);                       \
        if (ff_a_ != ff_b_) {                                                           \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, \
                    #a, #b, ff_a_, ff_b_);                                              \
            ff_test_failed_checks++;                                                    \
        }                                                                               \
    } while (0)

#define FF_RUN(name)                                              \
    do {                                                          \
        int ff_before_ = ff_test_failed_checks;                   \
        name();                                                   \
        if (ff_test_failed_checks == ff_before_) ff_test_passed++; \
        else {                                                    \
            ff_test_failed++;                                     \
            fprintf(stderr, "FAILED %s\n", #name);                \
        }                                                         \
    } while (0)

#define FF_TEST_SUMMARY() \
    (printf("%s: %d passed, %d failed\n", __FILE__, ff_test_passed, ff_test_failed), ff_test_failed != 0)

#endif /* FF_TEST_H */
