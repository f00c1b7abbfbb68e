/*
 * The reduced-precision rungs (c6 bf16, c7 int8/int7) against their promise.
 *
 *   test_bound     the kernels' s~ against float64 and against the fp32
 *                  re-score, pair by pair: the true error never exceeds the
 *                  bound e(i, j) the job layer filters with, on random data
 *                  and on data built to make quantisation hard;
 *   test_same_as_c5  knn and join give the c5 result (ties within the fp32
 *                  bound aside) on the same data, on the shared real sets,
 *                  on exact duplicates and near-ties, on rows whose values
 *                  span many orders of magnitude;
 *   test_speculation  knn with the heaps' speculative floors forced as far
 *                  as they go (alpha = 0) and at their least (0.25): the
 *                  c5 answer still, through the rows the check re-does;
 *   test_stats     the statistics the job reports;
 *   test_quantisers  every quantiser this CPU can run (scalar, AVX2,
 *                  AVX-512) gives the scalar one's bits, on rows of every
 *                  awkward length and kind, and those bits keep the bound's
 *                  promise: lpnorm >= |x~| and lpres >= |x - x~|;
 *   test_unit_rows  the unit rows every blocked rung reads (one a line, or
 *                  in panels) are the same bits under every ISA cap, and
 *                  within a float's rounding of x / |x| in float64.
 *
 * It drives the kernels directly through the library's internals, so it is
 * built against the library's private headers. Kernels this CPU lacks are
 * skipped and named; SL_TEST_ONLY=substr restricts them by name.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "oracle.h"
#include "testdata.h"
#include "testhelp.h"

static const sl_kernel *lowp[8];
static int nlowp;

/* The data sets, each n x d, chosen to be hard for a per-row int8 scale or
 * for bf16 in their own way. */
enum { D_GAUSS, D_SPIKE, D_WIDE, D_DUPS, D_CONST, D_SPARSE, D_COMMON, D_KINDS };
static const char *kind_name[] = {"gaussian",     "one spike per row", "values over 12 decades",
                                  "duplicates",   "constant rows",     "sparse with zero rows",
                                  "a common mean"};

static float *make(int kind, int64_t n, int64_t d)
{
    float *x = malloc((size_t)(n * d) * sizeof *x);
    for (int64_t i = 0; i < n; i++) {
        float *r = x + i * d;
        for (int64_t k = 0; k < d; k++) {
            float g = gauss();
            switch (kind) {
            case D_GAUSS: r[k] = g; break;
            case D_SPIKE: /* one huge value: the int8 step swallows the rest */
                r[k] = k == (i * 7) % d ? 1000.0f * (1 + (float)uniform()) : g;
                break;
            case D_WIDE: r[k] = g * (float)pow(10.0, 12 * uniform() - 6); break;
            case D_DUPS: /* exact duplicates and near-ties */
                r[k] = i % 3 == 0 || i < 3 ? g : x[(i - i % 3) * d + k] + (i % 3 == 2 ? 1e-6f : 0);
                break;
            case D_CONST: r[k] = (float)(1 + i % 4); break;
            case D_SPARSE: r[k] = i % 9 == 4 || uniform() < 0.9 ? 0 : g; break;
            case D_COMMON: /* every similarity near 1: the bound against tiny gaps */
                r[k] = 5.0f + 0.05f * g;
                break;
            }
        }
    }
    return x;
}

static void find_kernels(void)
{
    unsigned f;
    sl__cpu_usable(NULL, &f, NULL);
    for (int i = 0; i < sl__nkernels; i++) {
        const sl_kernel *k = &sl__kernels[i];
        if (!SL_IN_LOWP(k->input) || !td_selected(k->name))
            continue;
        if ((k->needs & f) != k->needs) {
            printf("skipped kernel %s: this CPU lacks its features\n", k->name);
            continue;
        }
        lowp[nlowp++] = k;
    }
}

/* ---- the bound, pair by pair ---- */

static double worst_ratio[8];

static void bound_case(int ki, int kind, int64_t n, int64_t d)
{
    const sl_kernel *kern = lowp[ki];
    float *x = make(kind, n, d);
    sl_view v = sl_view_f32(x, n, d);
    sl_prepared p;
    sl_error err;
    if (sl__prepare(&v, kern->input, 0, 1, &p, &err) != SL_OK) {
        CHECKF(0, "%s: prepare failed: %s", kern->name, err.message);
        free(x);
        return;
    }
    const sl_operand *op = &p.op;
    void *scratch = sl__alloc(kern->scratch(d));
    memset(scratch, 0, kern->scratch(d));
    float *c = sl__alloc((size_t)(kern->task_rows * kern->task_cols) * 4);
    double C = sl_error_bound(d) * (1.0 + (double)op->lpmax_norm * op->lpmax_norm) + 1e-6;
    int bad = 0;
    for (int64_t i0 = 0; i0 < n && !bad; i0 += kern->task_rows) {
        int64_t i1 = i0 + kern->task_rows < n ? i0 + kern->task_rows : n;
        for (int64_t j0 = 0; j0 < n && !bad; j0 += kern->task_cols) {
            int64_t j1 = j0 + kern->task_cols < n ? j0 + kern->task_cols : n;
            sl_tile t = {op, op, i0, i1, j0, j1, c, j1 - j0, 0, scratch};
            kern->tile(&t);
            for (int64_t i = i0; i < i1 && !bad; i++) {
                const float *xi = op->rows + i * op->ld;
                for (int64_t j = j0; j < j1; j++) {
                    const float *xj = op->rows + j * op->ld;
                    double exact = 0;
                    for (int64_t k = 0; k < d; k++)
                        exact += (double)xi[k] * xj[k];
                    double f = kern->rescore(xi, xj, op->ld);
                    double st = c[(i - i0) * (j1 - j0) + (j - j0)];
                    double e = op->lpnorm[i] * op->lpres[j] + op->lpres[i] * op->lpnorm[j] +
                               op->lpres[i] * op->lpres[j] + C;
                    double err_true = fmax(fabs(st - exact), fabs(st - f));
                    if (e > 0 && err_true / e > worst_ratio[ki])
                        worst_ratio[ki] = err_true / e;
                    if (!(err_true <= e)) {
                        bad++;
                        CHECKF(0,
                               "%s on %s (n=%lld d=%lld): pair (%lld, %lld): s~ %.9g, exact %.9g, "
                               "re-score %.9g, bound %.3g",
                               kern->name, kind_name[kind], (long long)n, (long long)d,
                               (long long)i, (long long)j, st, exact, f, e);
                        break;
                    }
                }
            }
        }
    }
    sl__free(c);
    sl__free(scratch);
    sl__prepared_free(&p);
    free(x);
}

static void test_bound(void)
{
    int quick = getenv("SL_TEST_QUICK") && atoi(getenv("SL_TEST_QUICK"));
    int64_t ds[] = {1, 3, 17, 64, 100, 768, 1000};
    for (int ki = 0; ki < nlowp; ki++) {
        for (int kind = 0; kind < D_KINDS; kind++)
            for (int di = 0; di < 7; di++)
                bound_case(ki, kind,
                           quick                              ? 100
                           : kind == D_GAUSS && ds[di] == 768 ? 700
                                                              : 300,
                           ds[di]);
        /* Long rows: the 16-bit kernel's levels shrink with d (231 at
         * d = 40,000), and constant rows put every sum at d L^2, just
         * under 2^31. */
        bound_case(ki, D_CONST, 40, 40000);
        bound_case(ki, D_GAUSS, 40, 40000);
        printf("  %-10s largest true error / bound: %.3f\n", lowp[ki]->name, worst_ratio[ki]);
    }
}

/* ---- the same answers as c5 ---- */

static int64_t tie_knn, tie_join; /* differences from c5, each checked to be a tie */
static int64_t redone_knn;        /* rows the speculative floors' check re-did */

/* The oracle's cosine of rows i and j of x. */
static double cosine(const float *x, int64_t i, int64_t j, int64_t d)
{
    double c;
    oracle_matrix(x + i * d, 1, x + j * d, 1, d, &c);
    return c;
}

static int in_list(const int64_t *l, int64_t k, int64_t j)
{
    for (int64_t r = 0; r < k; r++)
        if (l[r] == j)
            return 1;
    return 0;
}

/* c7's list and c5's: the same indices, except for neighbours whose true
 * similarity is within twice the fp32 bound of the k-th (a tie). */
static void same_knn(const char *kern, const char *what, const float *x, int64_t n, int64_t d,
                     int64_t k)
{
    sl_view v = sl_view_f32(x, n, d);
    float *s0 = malloc((size_t)(n * k) * 4), *s1 = malloc((size_t)(n * k) * 4);
    int64_t *i0 = malloc((size_t)(n * k) * 8), *i1 = malloc((size_t)(n * k) * 8);
    sl_options o5 = {0}, o7 = {0};
    sl_stats st;
    o5.kernel = "c5";
    o7.kernel = kern;
    o7.stats = &st;
    sl_error e;
    CHECK(sl_knn(&v, NULL, k, s0, i0, &o5, &e) == SL_OK);
    CHECKF(sl_knn(&v, NULL, k, s1, i1, &o7, &e) == SL_OK, "%s: %s", kern, e.message);
    redone_knn += st.rows_redone;
    double tol = 2 * sl_error_bound(d);
    int64_t differ = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t *a = i0 + i * k, *b = i1 + i * k;
        double kth = s0[i * k + k - 1];
        for (int64_t r = 0; r < k; r++) {
            if (!in_list(a, k, b[r]) && b[r] >= 0) {
                differ++;
                double c = cosine(x, i, b[r], d);
                CHECKF(fabs(c - kth) <= tol + sl_error_bound(d),
                       "%s on %s: row %lld has %lld (cos %.9f), not in c5's list (k-th %.9f)", kern,
                       what, (long long)i, (long long)b[r], c, kth);
            }
            CHECKF(s1[i * k + r] == s0[i * k + r] || fabs(s1[i * k + r] - s0[i * k + r]) <= tol,
                   "%s on %s: row %lld slot %lld: %.9f against c5's %.9f", kern, what, (long long)i,
                   (long long)r, s1[i * k + r], s0[i * k + r]);
        }
    }
    tie_knn += differ;
    free(s0);
    free(s1);
    free(i0);
    free(i1);
}

static void same_join(const char *kern, const char *what, const float *x, int64_t n, int64_t d,
                      double tau)
{
    sl_view v = sl_view_f32(x, n, d);
    sl_options o5 = {0}, o7 = {0};
    o5.kernel = "c5";
    o7.kernel = kern;
    sl_error e;
    sl_pairs a, b;
    CHECK(sl_join(&v, NULL, tau, &a, &o5, &e) == SL_OK);
    CHECKF(sl_join(&v, NULL, tau, &b, &o7, &e) == SL_OK, "%s: %s", kern, e.message);
    double tol = sl_error_bound(d);
    /* Both lists are sorted by (i, j): walk them together. */
    int64_t p = 0, q = 0, extra = 0;
    while (p < a.count || q < b.count) {
        int take_a = q >= b.count ||
                     (p < a.count && (a.i[p] < b.i[q] || (a.i[p] == b.i[q] && a.j[p] < b.j[q])));
        int take_b = p >= a.count ||
                     (q < b.count && (b.i[q] < a.i[p] || (b.i[q] == a.i[p] && b.j[q] < a.j[p])));
        if (!take_a && !take_b) { /* the same pair in both */
            CHECKF(fabsf(a.sim[p] - b.sim[q]) <= 2 * tol,
                   "%s join on %s: (%lld, %lld) %.9f vs %.9f", kern, what, (long long)a.i[p],
                   (long long)a.j[p], a.sim[p], b.sim[q]);
            p++, q++;
            continue;
        }
        int64_t i = take_a ? a.i[p] : b.i[q], j = take_a ? a.j[p] : b.j[q];
        double c = cosine(x, i, j, d);
        extra++;
        CHECKF(fabs(c - tau) <= 2 * tol,
               "%s join on %s at tau %.6f: (%lld, %lld) cos %.9f only in %s", kern, what, tau,
               (long long)i, (long long)j, c, take_a ? "c5's" : "its own");
        take_a ? p++ : q++;
    }
    tie_join += extra;
    sl_pairs_free(&a);
    sl_pairs_free(&b);
}

/* Shared real set s as float32 rows; NULL when it is absent or not float32. */
static float *real_set(int s, int64_t *n, int64_t *d)
{
    char p[512];
    size_t item;
    snprintf(p, sizeof p, "%s/%s.npy", td_dir(), td_sets[s]);
    float *x = load_npy(p, n, d, &item);
    if (x && item != 4) {
        free(x);
        return NULL;
    }
    return x;
}

/* A tau near the set's 99.9th percentile of similarities, from a sample. */
static double high_tau(const float *x, int64_t n, int64_t d)
{
    enum { S = 4000 };
    double s[S];
    for (int q = 0; q < S; q++) {
        int64_t i = (int64_t)(next64() % (uint64_t)n), j = (int64_t)(next64() % (uint64_t)n);
        s[q] = i == j ? -1 : cosine(x, i, j, d);
    }
    for (int a = 0; a < S; a++) /* partial selection: the top 4 */
        for (int b = a + 1; b < S && a < 5; b++)
            if (s[b] > s[a]) {
                double t = s[a];
                s[a] = s[b];
                s[b] = t;
            }
    return s[4] < 1 ? s[4] : 1; /* a float64 cosine of duplicates may round past 1 */
}

static void test_same_as_c5(void)
{
    int quick = getenv("SL_TEST_QUICK") && atoi(getenv("SL_TEST_QUICK"));
    for (int ki = 0; ki < nlowp; ki++) {
        const char *kern = lowp[ki]->name;
        for (int kind = 0; kind < D_KINDS; kind++) {
            int64_t n = quick ? 400 : 1500, d = kind == D_GAUSS ? 768 : 97;
            float *x = make(kind, n, d);
            same_knn(kern, kind_name[kind], x, n, d, 10);
            same_knn(kern, kind_name[kind], x, n, d, 1);
            same_join(kern, kind_name[kind], x, n, d, 0.8);
            same_join(kern, kind_name[kind], x, n, d, high_tau(x, n, d));
            free(x);
        }
        int found = 0;
        for (int s = 0; s < TD_NSETS; s++) {
            int64_t n, d;
            float *x = real_set(s, &n, &d);
            if (!x)
                continue;
            if (quick && n > 3000)
                n = 3000; /* the first rows: still real data */
            found++;
            same_knn(kern, td_sets[s], x, n, d, 10);
            same_join(kern, td_sets[s], x, n, d, 0.8);
            same_join(kern, td_sets[s], x, n, d, high_tau(x, n, d));
            free(x);
        }
        if (!found)
            printf("  no shared data under %s: real sets not checked\n", td_dir());
        printf("  %-10s the c5 answer on %d synthetic and %d real sets; %lld neighbours and %lld "
               "join pairs differ, every one a tie within the fp32 bound\n",
               kern, D_KINDS, found, (long long)tie_knn, (long long)tie_join);
        tie_knn = tie_join = 0;
    }
}

/* ---- speculative floors ---- */

static void test_speculation(void)
{
    int quick = getenv("SL_TEST_QUICK") && atoi(getenv("SL_TEST_QUICK"));
    int ran = 0;
    for (int ki = 0; ki < nlowp; ki++) {
        const char *kern = lowp[ki]->name;
        ran++;
        const float alphas[] = {0.0f, 0.25f};
        for (int a = 0; a < 2; a++) {
            sl__lp_alpha = alphas[a];
            redone_knn = 0;
            for (int kind = 0; kind < D_KINDS; kind++) {
                int64_t n = quick ? 400 : 1200, d = kind == D_GAUSS ? 768 : 97;
                float *x = make(kind, n, d);
                same_knn(kern, kind_name[kind], x, n, d, 10);
                same_knn(kern, kind_name[kind], x, n, d, 3);
                same_knn(kern, kind_name[kind], x, 11, d, 10); /* k = n - 1 */
                same_knn(kern, kind_name[kind], x, 5, d, 10);  /* k > n */
                free(x);
            }
            for (int s = 0; s < TD_NSETS; s++) {
                int64_t n, d;
                float *x = real_set(s, &n, &d);
                if (x)
                    same_knn(kern, td_sets[s], x, quick && n > 2000 ? 2000 : n, d, 10);
                free(x);
            }
            printf("  %-10s alpha %.2f: the c5 answer, %lld rows re-done\n", kern,
                   (double)alphas[a], (long long)redone_knn);
            if (alphas[a] == 0)
                CHECKF(redone_knn > 0, "%s: no row re-done at alpha 0: the check went untested",
                       kern);
        }
        sl__lp_alpha = -1;
    }
    if (!ran)
        SKIP("no reduced-precision kernel usable here");
}

/* ---- the quantisers ---- */

enum { Q_KINDS = 10 };

/* Row r of a quantiser test: unit rows as prepare makes them, and rows no
 * unit row would be, which every quantiser must still treat alike. */
static void quant_row_data(float *x, int64_t r, int64_t d)
{
    int kind = (int)(r % Q_KINDS);
    double norm = 0;
    for (int64_t k = 0; k < d; k++) {
        float g = gauss();
        switch (kind) {
        case 0: /* gaussian, made unit below */
        case 9: x[k] = g; break;
        case 1: x[k] = k % 3 ? 0.0f : -0.0f; break;           /* a zero row */
        case 2:                                               /* one huge value, raw */
        case 3: x[k] = k == r % d ? 1e6f * g : g; break;      /* and made unit */
        case 4: x[k] = k == r % d ? 1.0f : g * 1e-39f; break; /* subnormals beside 1 */
        case 5: x[k] = g * 1e-42f; break;                     /* all subnormal: sigma underflows */
        case 6: {                                             /* finite bits up to 2^100 */
            uint32_t u = (uint32_t)(next64() >> 32);
            u = (u & 0x807fffffu) | (uint32_t)(next64() % 228) << 23;
            memcpy(&x[k], &u, 4);
            break;
        }
        case 7: { /* bf16 ties and their neighbours */
            uint32_t u = ((uint32_t)(next64() >> 48) & 0x3fffu) << 16 | 0x3c000000u;
            u |= k % 3 == 0 ? 0x8000u : k % 3 == 1 ? 0x7fffu : 0x8001u;
            u |= (next64() & 1) << 31;
            memcpy(&x[k], &u, 4);
            break;
        }
        case 8: /* halves: ties of the integer rounding when sigma = 1 (int8) */
            x[k] = k == 0 ? 127.0f : (float)((k * 37) % 254 - 127) + 0.5f;
            break;
        }
        norm += (double)x[k] * x[k];
    }
    if ((kind == 0 || kind == 3) && norm > 0)
        for (int64_t k = 0; k < d; k++)
            x[k] = (float)(x[k] / sqrt(norm));
}

/* The bound's promise, from the words stored: |x~| and |x - x~| in long
 * double (far inside round_up's margin), the words past d zero, and the
 * correction off * sum(q). */
static void quant_promise(const sl_operand *op, int input, const float *x, int64_t r)
{
    int64_t d = op->d, ldw = op->lpld, per = input == SL_IN_INT8 || input == SL_IN_INT7 ? 4 : 2;
    const uint32_t *w = op->lp + (r / SL_PANEL) * SL_PANEL * ldw + r % SL_PANEL;
    long double a = 0, b = 0;
    int64_t sum = 0, off = input == SL_IN_INT8 ? 128 : input == SL_IN_INT7 ? 64 : 0, bad = 0;
    for (int64_t k = 0; k < per * ldw; k++) {
        uint32_t word = w[k / per * SL_PANEL];
        long double v;
        if (input == SL_IN_BF16) {
            uint32_t u = (word >> (16 * (k % 2)) & 0xffffu) << 16;
            float f;
            memcpy(&f, &u, 4);
            v = f;
        } else {
            int32_t q =
                per == 4 ? (int8_t)(word >> (8 * (k % 4))) : (int16_t)(word >> (16 * (k % 2)));
            sum += q;
            v = (long double)op->lpscale[r] * q;
        }
        if (k >= d) {
            bad += v != 0;
            continue;
        }
        a += v * v;
        b += (x[k] - v) * (x[k] - v);
    }
    CHECKF(!bad && op->lpcorr[r] == off * sum,
           "input %d row %lld (d=%lld): %lld non-zero pads, "
           "corr %d for sum(q) %lld",
           input, (long long)r, (long long)d, (long long)bad, op->lpcorr[r], (long long)sum);
    CHECKF(op->lpnorm[r] >= sqrtl(a) && op->lpres[r] >= sqrtl(b),
           "input %d row %lld (d=%lld): |x~| %.9Lg, lpnorm %.9g; |x - x~| %.9Lg, lpres %.9g", input,
           (long long)r, (long long)d, sqrtl(a), op->lpnorm[r], sqrtl(b), op->lpres[r]);
}

static void test_quantisers(void)
{
    static const struct {
        const char *name;
        unsigned needs;
    } tiers[] = {{"scalar", 0},
                 {"avx2", SL_CPU_SSE2 | SL_CPU_AVX2},
                 {"avx512", SL_CPU_SSE2 | SL_CPU_AVX2 | SL_CPU_AVX512F | SL_CPU_AVX512BW |
                                SL_CPU_AVX512VL | SL_CPU_AVX512DQ}};
    enum { NT = sizeof tiers / sizeof tiers[0] };
    unsigned have = 0;
    sl__cpu_usable(NULL, &have, NULL);
    sl_quantise_fn *fn[NT];
    int tier[NT], nt = 0;
    for (int t = 0; t < NT; t++) {
        sl_quantise_fn *f = sl__quantiser(tiers[t].needs);
        if ((tiers[t].needs & have) != tiers[t].needs)
            printf("  skipped the %s quantiser: this CPU lacks its features\n", tiers[t].name);
        else if (t && f == fn[nt - 1])
            printf("  skipped the %s quantiser: this build has none\n", tiers[t].name);
        else if (t && !td_selected(tiers[t].name))
            printf("  skipped the %s quantiser: SL_TEST_ONLY\n", tiers[t].name);
        else {
            fn[nt] = f;
            tier[nt++] = t;
        }
    }
    static const int64_t ds[] = {1,  2,  3,  4,  5,   7,   15,  16,   17,   31,   32,
                                 33, 63, 64, 65, 100, 127, 768, 1000, 4099, 65536};
    static const int inputs[] = {SL_IN_BF16, SL_IN_INT8, SL_IN_INT7, SL_IN_INT16};
    int64_t n = 2 * Q_KINDS + 13; /* two of each kind, and a panel part filled */
    int64_t checked = 0;
    for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
        int64_t d = ds[di];
        float *x = malloc((size_t)(n * d) * sizeof *x);
        for (int64_t r = 0; r < n; r++)
            quant_row_data(x + r * d, r, d);
        for (size_t ii = 0; ii < sizeof inputs / sizeof inputs[0]; ii++) {
            int input = inputs[ii];
            sl_prepared p[NT];
            int ok = 1;
            for (int t = 0; t < nt; t++) {
                memset(&p[t], 0, sizeof p[t]);
                p[t].op.n = n;
                p[t].op.d = d;
                ok &= sl__quantise_alloc(&p[t], input, NULL) == SL_OK;
            }
            CHECKF(ok, "out of memory at d = %lld", (long long)d);
            for (int t = 0; ok && t < nt; t++)
                for (int64_t r = 0; r < n; r++)
                    sl__quantise_row(&p[t].op, input, r, x + r * d, fn[t]);
            /* the panels and the per-row arrays after them, in one piece */
            int64_t npad = (n + SL_PANEL_PAD - 1) / SL_PANEL_PAD * SL_PANEL_PAD;
            size_t bytes = (size_t)(npad * p[0].op.lpld * 4 + npad * 16);
            for (int t = 1; ok && t < nt; t++) {
                const unsigned char *a = (const void *)p[0].op.lp, *b = (const void *)p[t].op.lp;
                size_t i = 0;
                while (i < bytes && a[i] == b[i])
                    i++;
                CHECKF(i == bytes,
                       "%s quantiser, input %d, d = %lld: byte %zu of %zu differs "
                       "from the scalar one's",
                       tiers[tier[t]].name, input, (long long)d, i, bytes);
                checked++;
            }
            /* and the float64 sums themselves, before sqrt and the float
             * rounding hide most differences of order */
            int L = input == SL_IN_BF16   ? 0
                    : input == SL_IN_INT8 ? 127
                    : input == SL_IN_INT7 ? 63
                                          : sl__int16_levels(d);
            uint32_t *col = malloc((size_t)(p[0].op.lpld * SL_PANEL) * 4);
            for (int64_t r = 0; ok && col && r < n; r++) {
                sl_quantised q0, qt;
                fn[0](x + r * d, d, input, L, col, p[0].op.lpld, &q0);
                for (int t = 1; t < nt; t++) {
                    fn[t](x + r * d, d, input, L, col, p[0].op.lpld, &qt);
                    CHECKF(!memcmp(&q0.nn, &qt.nn, 8) && !memcmp(&q0.rr, &qt.rr, 8) &&
                               !memcmp(&q0.scale, &qt.scale, 4) && q0.qsum == qt.qsum,
                           "%s quantiser, input %d, d = %lld, row %lld: |x~|^2 %a, |x - x~|^2 "
                           "%a, scale %a, sum(q) %lld; the scalar one: %a %a %a %lld",
                           tiers[tier[t]].name, input, (long long)d, (long long)r, qt.nn, qt.rr,
                           qt.scale, (long long)qt.qsum, q0.nn, q0.rr, q0.scale,
                           (long long)q0.qsum);
                }
                quant_promise(&p[0].op, input, x + r * d, r);
            }
            free(col);
            for (int t = 0; t < nt; t++)
                sl__prepared_free(&p[t]);
        }
        free(x);
    }
    printf("  %d quantisers, %lld comparisons with the scalar one\n", nt, (long long)checked);
}

/* ---- the unit rows ---- */

static void test_unit_rows(void)
{
    static const char *const isas[] = {"scalar", "avx2", "avx512"};
    static const int64_t ds[] = {1, 7, 8, 9, 15, 16, 17, 33, 100, 768, 1000};
    static const int inputs[] = {SL_IN_UNIT, SL_IN_PANELS};
    unsigned have = sl_cpu_usable(NULL), need[] = {0, SL_CPU_AVX2, SL_CPU_AVX512_SET};
    int64_t n = 2 * Q_KINDS + 13, compared = 0; /* two of each kind, a panel part filled */
    for (int t = 1; t < 3; t++)
        if ((have & need[t]) != need[t])
            printf("  skipped the %s unit rows: this CPU lacks its features\n", isas[t]);
    for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
        int64_t d = ds[di];
        float *x = malloc((size_t)(n * d) * sizeof *x);
        for (int64_t r = 0; r < n; r++)
            quant_row_data(x + r * d, r, d);
        sl_view v = sl_view_f32(x, n, d);
        for (size_t ii = 0; ii < sizeof inputs / sizeof inputs[0]; ii++) {
            sl_prepared p[3];
            int ok[3] = {0, 0, 0};
            for (int t = 0; t < 3; t++) {
                sl_error e;
                if ((have & need[t]) != need[t])
                    continue;
                ok[t] = sl__prepare_isa(&v, inputs[ii], 0, 2, isas[t], &p[t], &e) == SL_OK;
                CHECKF(ok[t], "prepare under %s, d = %lld: %s", isas[t], (long long)d, e.message);
            }
            if (!ok[0])
                continue;
            /* the float64 sums, before the square root and the float
             * rounding hide nearly every difference of order */
            for (int t = 1; ii == 0 && t < 3; t++) {
                if (!ok[t])
                    continue;
                sl_unit_sumsq_fn *f0 = sl__unit_fns(0).sumsq, *ft = sl__unit_fns(need[t]).sumsq;
                for (int64_t r = 0; r < n; r++) {
                    double a = f0(x + r * d, d), b = ft(x + r * d, d);
                    CHECKF(!memcmp(&a, &b, 8),
                           "unit sum of squares under %s, d = %lld, row %lld: %a, scalar %a",
                           isas[t], (long long)d, (long long)r, b, a);
                }
            }
            int64_t ld = p[0].op.ld,
                    rows = inputs[ii] == SL_IN_PANELS
                               ? (n + SL_PANEL_PAD - 1) / SL_PANEL_PAD * SL_PANEL_PAD
                               : n;
            for (int t = 1; t < 3; t++)
                if (ok[t]) {
                    CHECKF(!memcmp(p[0].op.rows, p[t].op.rows, (size_t)(rows * ld) * 4),
                           "unit rows under %s, input %d, d = %lld: not the scalar ones' bits",
                           isas[t], inputs[ii], (long long)d);
                    compared++;
                }
            /* and the values themselves: x / |x|, rounded once */
            for (int64_t r = 0; r < n; r++) {
                double s = 0;
                for (int64_t k = 0; k < d; k++)
                    s += (double)x[r * d + k] * x[r * d + k];
                for (int64_t k = 0; k < d; k++) {
                    double want = s > 0 ? x[r * d + k] / sqrt(s) : 0;
                    int64_t at = inputs[ii] == SL_IN_PANELS
                                     ? (r / SL_PANEL) * SL_PANEL * ld + k * SL_PANEL + r % SL_PANEL
                                     : r * ld + k;
                    double got = p[0].op.rows[at];
                    if (fabs(got - want) > 0x1p-23 * fabs(want) + 0x1p-149) {
                        CHECKF(0, "unit row %lld, d = %lld, k = %lld: %a, x / |x| is %a",
                               (long long)r, (long long)d, (long long)k, got, want);
                        r = n;
                        break;
                    }
                }
            }
            for (int t = 0; t < 3; t++)
                if (ok[t])
                    sl__prepared_free(&p[t]);
        }
        free(x);
    }
    printf("  %lld comparisons with the scalar unit rows\n", (long long)compared);
}

/* ---- statistics ---- */

static void test_stats(void)
{
    int64_t n = 900, d = 64;
    float *x = make(D_GAUSS, n, d);
    sl_view v = sl_view_f32(x, n, d);
    float *s = malloc((size_t)n * 10 * 4);
    int64_t *ix = malloc((size_t)n * 10 * 8);
    for (int ki = 0; ki < nlowp; ki++) {
        sl_stats st;
        sl_options o = {0};
        o.kernel = lowp[ki]->name;
        o.stats = &st;
        sl_error e;
        CHECK(sl_knn(&v, NULL, 10, s, ix, &o, &e) == SL_OK);
        CHECKF(!strcmp(st.kernel, lowp[ki]->name), "stats name %s", st.kernel);
        /* every row's k neighbours were re-scored at least */
        CHECKF(st.candidates >= n * 10 / 2 && st.candidates <= n * (n - 1) / 2,
               "%s: %lld candidates", st.kernel, (long long)st.candidates);
        CHECKF(st.candidates_max_row >= 10 && st.candidates_max_row <= n - 1,
               "%s: max per row %lld", st.kernel, (long long)st.candidates_max_row);
        /* every candidate passed the filter, for one row or both (a pair
         * held by both rows can be re-scored for each) */
        CHECKF(st.filtered <= n * (n - 1) / 2 && 2 * st.filtered >= st.candidates,
               "%s: %lld passed the filter, %lld candidates", st.kernel, (long long)st.filtered,
               (long long)st.candidates);
        CHECKF(st.seconds_rerank >= 0 &&
                   st.seconds_rerank <= st.seconds_compute * st.threads + 1e-3,
               "%s: re-rank %.6f s of %.6f", st.kernel, st.seconds_rerank, st.seconds_compute);
        printf("  %-10s %lld candidates for %lld rows (max %lld in a row), re-rank %.1f%% of the "
               "compute\n",
               lowp[ki]->name, (long long)st.candidates, (long long)n,
               (long long)st.candidates_max_row,
               100 * st.seconds_rerank / (st.seconds_compute * st.threads));
        /* matrix jobs go to the fp32 twin */
        float *m = malloc((size_t)(n * n) * 4);
        CHECK(sl_matrix(&v, NULL, m, 0, &o, &e) == SL_OK);
        CHECKF(!strcmp(st.kernel, lowp[ki]->fp32), "matrix ran on %s", st.kernel);
        free(m);
    }
    free(s);
    free(ix);
    free(x);
}

/* ---- the automatic choice ---- */

static void test_auto(void)
{
    int quick = getenv("SL_TEST_QUICK") && atoi(getenv("SL_TEST_QUICK"));
    int64_t n = quick ? 1500 : 4000;
    for (int kind = 0; kind < D_KINDS; kind += 3) {
        int64_t d = kind == D_GAUSS ? 768 : 97;
        float *x = make(kind, n, d);
        sl_view v = sl_view_f32(x, n, d);
        float *s = malloc((size_t)n * 10 * 4);
        int64_t *ix = malloc((size_t)n * 10 * 8);
        sl_stats st;
        sl_options o = {0};
        o.stats = &st;
        sl_error e;
        CHECK(sl_knn(&v, NULL, 10, s, ix, &o, &e) == SL_OK);
        printf("  auto on %s (%lld x %lld): %s\n", kind_name[kind], (long long)n, (long long)d,
               st.kernel);
        same_knn("auto", kind_name[kind], x, n, d, 10);
        same_join("auto", kind_name[kind], x, n, d, 0.8);
        free(s);
        free(ix);
        free(x);
    }
}

int main(void)
{
    td_rng = 7;
    char buf[256];
    printf("cpu: %s\n", sl_cpu_names(sl_cpu_usable(NULL), buf, sizeof buf));
    find_kernels();
    if (!nlowp)
        printf("no reduced-precision kernel usable here\n");
    RUN(test_quantisers);
    RUN(test_unit_rows);
    RUN(test_bound);
    RUN(test_same_as_c5);
    RUN(test_speculation);
    RUN(test_stats);
    RUN(test_auto);
    return DONE();
}
