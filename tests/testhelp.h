/*
 * A tiny test runner: CHECK counts failures inside the current test, RUN
 * runs a test function and counts it passed or failed, and DONE prints the
 * summary as the last line ("N passed, N failed, N skipped") and returns
 * the exit status.
 */
#ifndef SL_TESTHELP_H
#define SL_TESTHELP_H

#include <stdio.h>
#include <time.h>

static double th_now(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

static int th_tests_passed, th_tests_failed, th_tests_skipped, th_fail_here, th_skip_here;

#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (th_fail_here++ < 5) {                                                              \
                printf("  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                           \
                printf(__VA_ARGS__);                                                               \
                printf("\n");                                                                      \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK(cond) CHECKF(cond, "%s", "")

#define SKIP(...)                                                                                  \
    do {                                                                                           \
        printf("  skipped: ");                                                                     \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        th_skip_here = 1;                                                                          \
    } while (0)

#define RUN(fn, ...)                                                                               \
    do {                                                                                           \
        th_fail_here = th_skip_here = 0;                                                           \
        double th_t0_ = th_now();                                                                  \
        fn(__VA_ARGS__);                                                                           \
        printf("%-28s %6.1f s cpu\n", #fn, th_now() - th_t0_);                                     \
        if (th_fail_here) {                                                                        \
            th_tests_failed++;                                                                     \
            printf("FAIL %s (%d checks)\n", #fn, th_fail_here);                                    \
        } else if (th_skip_here) {                                                                 \
            th_tests_skipped++;                                                                    \
        } else {                                                                                   \
            th_tests_passed++;                                                                     \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

#define DONE()                                                                                     \
    (printf("%d passed, %d failed, %d skipped\n", th_tests_passed, th_tests_failed,                \
            th_tests_skipped),                                                                     \
     th_tests_failed ? 1 : 0)

#endif
