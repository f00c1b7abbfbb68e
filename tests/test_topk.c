/*
 * The top-k lists (src/core/topk.c) on their own, against a sort: every k
 * on both sides of the heap / reservoir switch and of the heap's full-tree
 * sizes, streams in the orders that work them hardest (ascending: every
 * entry gets in; descending: none after the first k; random; few distinct
 * values, so ties decide), fed as a job feeds them (an entry is offered only
 * when it passes the row's filter), and split over two lists that are
 * merged, with the filter raised to the other list's as the shared floors
 * do. The result must be the sort's first k exactly, padding included.
 *
 * Then two pieces the reduced-precision knn leans on: sl__select_best,
 * whose front is a guess at the pivot (good, as after a cut, or not), and
 * the vector filters with each pair's bound, against the same test in C.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "internal.h"
#include "kernels.h"
#include "testhelp.h"

typedef struct entry {
    float s;
    int64_t j;
} entry;

static uint64_t seed = 12345;

static uint64_t next(void)
{
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 33;
}

static int better_first(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static int worse_first(const void *a, const void *b)
{
    return better_first(b, a);
}

/* Offer e to row r of t as the epilogues do: only past the filter. */
static void offer(sl_topk *t, int64_t r, entry e)
{
    if (e.s >= t->thr[r])
        sl__topk_push(t, r, e.s, e.j);
}

/* n entries with distinct indices and `levels` distinct similarities (0:
 * all distinct), in order `order` (0 random, 1 ascending, 2 descending). */
static void stream(entry *e, int64_t n, int levels, int order)
{
    for (int64_t q = 0; q < n; q++) {
        e[q].j = q;
        e[q].s = levels ? (float)(next() % (uint64_t)levels) / levels - 0.5f
                        : (float)next() * 0x1p-31f - 0.5f;
    }
    for (int64_t q = n - 1; q > 0; q--) { /* shuffle the indices' order */
        int64_t o = (int64_t)(next() % (uint64_t)(q + 1));
        entry x = e[q];
        e[q] = e[o];
        e[o] = x;
    }
    if (order == 1)
        qsort(e, (size_t)n, sizeof *e, worse_first);
    if (order == 2)
        qsort(e, (size_t)n, sizeof *e, better_first);
}

static void check_case(int64_t k, int64_t n, int levels, int order, int split)
{
    entry *e = malloc((size_t)n * sizeof *e), *ref = malloc((size_t)n * sizeof *ref);
    float *sims = malloc((size_t)(3 * k) * sizeof *sims);
    int64_t *idx = malloc((size_t)(3 * k) * sizeof *idx);
    stream(e, n, levels, order);
    memcpy(ref, e, (size_t)n * sizeof *e);
    qsort(ref, (size_t)n, sizeof *ref, better_first);
    /* Row 1 of each list gets the stream; rows 0 and 2 stay empty, padding
     * only, and show that rows do not share storage. */
    sl_topk a, b;
    CHECK(sl__topk_init(&a, 3, k, sims, idx) && sl__topk_init(&b, 3, k, NULL, NULL));
    /* best[0, nb): the k best similarities offered so far, descending: a
     * list's filter must never pass the k-th of them (it would drop an
     * entry that belongs). */
    float *best = malloc((size_t)k * sizeof *best);
    int64_t nb = 0, early = 0;
    for (int64_t q = 0; q < n; q++) {
        sl_topk *t = split && next() % 2 ? &b : &a;
        offer(t, 1, e[q]);
        int fills = nb < k;
        int64_t p = fills ? nb++ : k - 1;
        if (fills || e[q].s > best[p]) {
            for (; p > 0 && best[p - 1] < e[q].s; p--)
                best[p] = best[p - 1];
            best[p] = e[q].s;
        }
        if (!split && nb == k && a.thr[1] > best[k - 1] && early++ < 1)
            CHECKF(0,
                   "k=%lld n=%lld levels=%d order=%d: after %lld entries the filter is %g, "
                   "the k-th best %g",
                   (long long)k, (long long)n, levels, order, (long long)q + 1, a.thr[1],
                   best[k - 1]);
        if (split && q % 97 == 0) { /* a shared floor: each list may filter by the other's */
            float f = a.thr[1] > b.thr[1] ? a.thr[1] : b.thr[1];
            a.thr[1] = b.thr[1] = f;
        }
    }
    sl__topk_merge(&a, &b);
    sl__topk_finish(&a, 0, 3);
    int64_t have = n < k ? n : k, bad = 0;
    for (int64_t q = 0; q < 3 * k; q++) /* rows 0 and 2: padding */
        if ((q < k || q >= 2 * k) && (idx[q] != -1 || sims[q] != -INFINITY) && bad++ < 2)
            CHECKF(0, "k=%lld: an empty row's slot %lld holds %lld", (long long)k, (long long)q,
                   (long long)idx[q]);
    for (int64_t r = 0; r < k; r++) {
        float got = sims[k + r];
        int64_t gi = idx[k + r];
        int ok = r < have ? gi == ref[r].j && got == ref[r].s : gi == -1 && got == -INFINITY;
        if (!ok && bad++ < 2)
            CHECKF(0,
                   "k=%lld n=%lld levels=%d order=%d split=%d: slot %lld holds %lld (%g), "
                   "expected %lld (%g)",
                   (long long)k, (long long)n, levels, order, split, (long long)r, (long long)gi,
                   got, (long long)(r < have ? ref[r].j : -1), r < have ? ref[r].s : -INFINITY);
    }
    sl__topk_free(&a);
    sl__topk_free(&b);
    free(best);
    free(e);
    free(ref);
    free(sims);
    free(idx);
}

static void test_against_sort(void)
{
    int64_t ks[] = {1, 2, 3, 7, 8, 10, 15, 16, 17, 31, 32, 33, 40, 64, 100, 257};
    int64_t ns[] = {1, 5, 100, 3000};
    int levels[] = {0, 3, 50};
    int cases = 0;
    for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
            for (size_t c = 0; c < sizeof levels / sizeof *levels; c++)
                for (int order = 0; order < 3; order++)
                    for (int split = 0; split < 2; split++, cases++)
                        check_case(ks[a], ns[b], levels[c], order, split);
    /* Many short random streams through the reservoir: each fills and is
     * cut back several times while most entries still pass, which is where
     * a filter set wrongly at a cut would show. */
    for (int round = 0; round < 200; round++)
        for (int64_t k = 32; k <= 64; k += 8, cases++)
            check_case(k, 8 * k, round % 4 == 3 ? 50 : 0, 0, round % 2);
    printf("  %d streams, each against a sort\n", cases);
}

/* -0 and +0 are one similarity (the lower index wins), and the extremes
 * keep their order. */
static void test_signs(void)
{
    float vals[] = {-0.0f, 0.0f, -1.0f, 1.0f, -3.4e38f, 3.4e38f, 1e-45f, -1e-45f};
    int64_t k = 8;
    float sims[8];
    int64_t idx[8];
    sl_topk t;
    CHECK(sl__topk_init(&t, 1, k, sims, idx));
    for (int q = 0; q < 8; q++)
        offer(&t, 0, (entry){vals[q], q});
    sl__topk_finish(&t, 0, 1);
    int64_t want[] = {5, 3, 6, 0, 1, 7, 2, 4};
    for (int q = 0; q < 8; q++)
        CHECKF(idx[q] == want[q], "slot %d: %lld, expected %lld", q, (long long)idx[q],
               (long long)want[q]);
    sl__topk_free(&t);
}

static int key_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

/* Every n and m around the side buffer's size, fronts that are the m best
 * of a prefix (a reservoir between cuts) or arbitrary: the first m must be
 * the m largest, and the list a permutation of what it was. */
static void test_select_best(void)
{
    int64_t ns[] = {1, 2, 3, 10, 31, 64, 77, 128, 257, 1023, 1024, 1025, 1500};
    int cases = 0;
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        int64_t n = ns[a];
        uint64_t *h = malloc((size_t)n * sizeof *h), *want = malloc((size_t)n * sizeof *h);
        uint64_t *got = malloc((size_t)n * sizeof *h);
        for (int64_t m = 0; m <= n; m += m < 12 ? 1 : n / 7 + 1)
            for (int front = 0; front < 3; front++, cases++) {
                for (int64_t q = 0; q < n; q++) /* distinct keys */
                    h[q] = sl__key_of((float)(next() % 97) - 40, q);
                if (front && m > 0 && m < n) { /* the m best of a prefix first */
                    int64_t pre = front == 1 ? m : (m + n) / 2;
                    qsort(h, (size_t)pre, sizeof *h, key_desc);
                }
                memcpy(want, h, (size_t)n * sizeof *h);
                qsort(want, (size_t)n, sizeof *h, key_desc);
                sl__select_best(h, n, m);
                memcpy(got, h, (size_t)n * sizeof *h);
                qsort(got, (size_t)m, sizeof *h, key_desc);
                CHECKF(memcmp(got, want, (size_t)m * sizeof *h) == 0,
                       "n=%lld m=%lld front=%d: not the m best", (long long)n, (long long)m, front);
                qsort(got, (size_t)n, sizeof *h, key_desc);
                CHECKF(memcmp(got, want, (size_t)n * sizeof *h) == 0,
                       "n=%lld m=%lld front=%d: keys lost", (long long)n, (long long)m, front);
            }
        free(h);
        free(want);
        free(got);
    }
    printf("  %d selections, each against a sort\n", cases);
}

/* The filters of the reduced-precision epilogues: every start and end
 * offset within a vector's width of each other, with and without the
 * per-column thresholds, values on both sides of them and NaN. */
static void test_scan_lp(void)
{
    unsigned f = 0;
    sl__cpu_usable(NULL, &f, NULL);
    struct {
        const char *name;
        sl_scan_lp_fn *fn;
        unsigned need;
    } tiers[] = {
#if defined(__x86_64__)
        {"avx2", sl_scan_lp_avx2, SL_CPU_AVX2 | SL_CPU_FMA},
        {"avx512", sl_scan_lp_avx512, SL_CPU_AVX512F},
#endif
        {NULL, NULL, 0}
    };
    enum { N = 80 };
    float row[N], bn[N], br[N], thr[N];
    int32_t out[N + 16];
    float ov[N + 16], ol[N + 16];
    int ran = 0;
    for (int t = 0; tiers[t].name; t++) {
        if ((f & tiers[t].need) != tiers[t].need) {
            printf("  skipped %s: this CPU lacks it\n", tiers[t].name);
            continue;
        }
        ran++;
        for (int rep = 0; rep < 40; rep++) {
            for (int q = 0; q < N; q++) {
                row[q] = (float)((int)(next() % 200) - 100) / 100;
                bn[q] = 1 + (float)(next() % 10) / 1000;
                br[q] = (float)(next() % 50) / 1000;
                thr[q] = (float)((int)(next() % 200) - 100) / 100;
            }
            row[rep % N] = NAN;
            float ai = 1.001f, ri = (float)(rep % 7) / 100, c = 1e-6f,
                  th = (float)(rep % 9) / 10 - 0.4f;
            for (int64_t j = 0; j < 20; j++)
                for (int64_t end = j; end < N; end += end - j < 40 ? 1 : 13)
                    for (int both = 0; both < 2; both++) {
                        const float *tp = both ? thr : NULL;
                        int64_t n = tiers[t].fn(row, bn, br, ai, ri, c, tp, th, j, end, out, ov,
                                                ol),
                                m = 0;
                        int ok = 1;
                        for (int64_t q = j; q < end; q++) {
                            /* the filter's own evaluation order, fused: the
                             * C test below may round differently by an ulp,
                             * so only clear cases are checked */
                            double v = (double)row[q] + ai * (double)br[q] +
                                       ri * ((double)bn[q] + br[q]) + c;
                            int in = v >= th || (tp && v >= tp[q]);
                            int near = fabs(v - th) < 1e-5 || (tp && fabs(v - tp[q]) < 1e-5);
                            int listed = m < n && out[m] == q;
                            /* and each hit's v and l = s - e, to rounding */
                            double e = v - row[q];
                            if (listed)
                                ok &= fabs(ov[m] - v) < 1e-5 && fabs(ol[m] - (row[q] - e)) < 1e-5;
                            m += listed;
                            ok &= near || in == listed;
                        }
                        CHECKF(ok && m == n, "%s: j=%lld end=%lld both=%d: %lld listed",
                               tiers[t].name, (long long)j, (long long)end, both, (long long)n);
                    }
        }
    }
    if (!ran)
        SKIP("no vector filter on this CPU");
}

int main(void)
{
    RUN(test_against_sort);
    RUN(test_signs);
    RUN(test_select_best);
    RUN(test_scan_lp);
    return DONE();
}
