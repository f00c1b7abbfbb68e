/*
 * What an fp32 re-score costs when its rows come from memory, and what an
 * order of the pairs could save: the question behind c7's settle
 * (perf/README.md, "Where the settle's time goes").
 *
 *     make build && build/random_dots [rows d pairs_per_row rounds]
 *
 * (defaults 10000 768 24 5; x86 with AVX2 and FMA). The dot is the
 * library's fp32 re-score for this CPU, the one c7's settle calls.
 *
 * Two threads, as the settle runs, each with half the pairs. Part 1: dots
 * of random pairs among the first m rows, for several m: how large a set
 * of rows the cache keeps for a random stream. Part 2: the settle's shape,
 * every row of a chunk with pairs_per_row random partners anywhere in the
 * set, the chunk's pairs sorted by partner, for several chunk sizes: one
 * pass per chunk. The pairs are drawn and sorted before the clock starts.
 * Each line is the median of the rounds, in ns a dot a thread.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels.h"

typedef struct run {
    const float *x;
    int64_t d, np;
    const uint32_t *pr; /* np pairs: row, partner */
    float sink;
} run;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static sl_dot_fn *dot; /* the re-score c7 itself uses on this CPU */

static void *dots(void *arg)
{
    run *r = arg;
    float acc = 0;
    int64_t d = r->d, bytes = d * 4;
    for (int64_t q = 0; q < r->np; q++) {
        const float *a = r->x + r->pr[2 * q] * d, *b = r->x + r->pr[2 * q + 1] * d;
        if (q + 4 < r->np) { /* as the settle does: both rows, four pairs ahead */
            const char *p = (const char *)(r->x + r->pr[2 * (q + 4)] * d);
            const char *s = (const char *)(r->x + r->pr[2 * (q + 4) + 1] * d);
            for (int64_t c = 0; c < bytes; c += 64) {
                __builtin_prefetch(p + c);
                __builtin_prefetch(s + c);
            }
        }
        acc += dot(a, b, d);
    }
    r->sink = acc;
    return NULL;
}

static uint64_t rng = 88172645463325252u;
static uint32_t draw(uint32_t n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)((rng >> 11) % n);
}

static int by_partner(const void *a, const void *b)
{
    uint32_t x = ((const uint32_t *)a)[1], y = ((const uint32_t *)b)[1];
    return (x > y) - (x < y);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Time the two threads' pair lists; returns ns a dot a thread. */
static double timed(const float *x, int64_t d, uint32_t *pr[2], int64_t np[2])
{
    run r[2];
    pthread_t th[2];
    double t0 = now();
    for (int t = 0; t < 2; t++) {
        r[t] = (run){x, d, np[t], pr[t], 0};
        pthread_create(&th[t], NULL, dots, &r[t]);
    }
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    return (now() - t0) * 1e9 / (double)(np[0] > np[1] ? np[0] : np[1]);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 10000, d = argc > 2 ? atoll(argv[2]) : 768;
    int64_t per = argc > 3 ? atoll(argv[3]) : 24;
    int rounds = argc > 4 ? atoi(argv[4]) : 5;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        dot = sl_dot_f32_avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        dot = sl_dot_f32_avx2;
    else {
        fprintf(stderr, "random_dots: this CPU has no AVX2 and FMA\n");
        return 2;
    }
    if (n < 16 || d < 16 || d % 16 || per < 1 || rounds < 1 || rounds > 99) {
        fprintf(stderr,
                "random_dots: want rows >= 16, d a multiple of 16, pairs >= 1, rounds 1-99\n");
        return 2;
    }
    float *x = aligned_alloc(64, (size_t)(n * d * 4 + 63) / 64 * 64);
    int64_t total = n * per; /* pairs in all; a thread holds at most all of them */
    uint32_t *pr[2] = {malloc((size_t)total * 8), malloc((size_t)total * 8)};
    if (!x || !pr[0] || !pr[1]) {
        fprintf(stderr, "random_dots: out of memory\n");
        return 1;
    }
    for (int64_t i = 0; i < n * d; i++)
        x[i] = (float)(i % 7) - 3;
    printf("# %lld rows of %lld floats (%.1f MiB), %lld pairs, 2 threads, medians of %d\n",
           (long long)n, (long long)d, (double)(n * d * 4) / (1 << 20), (long long)(n * per),
           rounds);
    double t[99];
    int64_t np[2] = {total / 2, total / 2};
    for (int64_t m = n / 10; m <= n; m += n / 10 > 0 ? n / 10 : 1) {
        for (int k = 0; k < rounds; k++) {
            for (int th = 0; th < 2; th++)
                for (int64_t q = 0; q < np[th]; q++)
                    pr[th][2 * q] = draw((uint32_t)m), pr[th][2 * q + 1] = draw((uint32_t)m);
            t[k] = timed(x, d, pr, np);
        }
        printf("random pairs among %6lld rows (%6.1f MiB): %6.1f ns a dot\n", (long long)m,
               (double)(m * d * 4) / (1 << 20), median(t, rounds));
    }
    static const int64_t chunks[] = {128, 512, 1024, 2048, 4096};
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        int64_t rb = chunks[c] < n ? chunks[c] : n;
        for (int k = 0; k < rounds; k++) {
            /* chunks alternate between the threads, as the settle's claims do */
            np[0] = np[1] = 0;
            for (int64_t r0 = 0, ch = 0; r0 < n; r0 += rb, ch++) {
                int th = (int)(ch & 1);
                int64_t at = np[th];
                for (int64_t r = r0; r < r0 + rb && r < n; r++)
                    for (int64_t q = 0; q < per; q++, np[th]++)
                        pr[th][2 * np[th]] = (uint32_t)r,
                                   pr[th][2 * np[th] + 1] = draw((uint32_t)n);
                qsort(pr[th] + 2 * at, (size_t)(np[th] - at), 8, by_partner);
            }
            t[k] = timed(x, d, pr, np);
        }
        printf("chunks of %5lld rows, pairs sorted by partner: %6.1f ns a dot\n", (long long)rb,
               median(t, rounds));
    }
    free(x);
    free(pr[0]);
    free(pr[1]);
    return 0;
}
