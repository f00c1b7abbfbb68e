/*
 * The library against the float64 oracle: every kernel this CPU can run (and
 * every ISA tier under "auto"), every operation, self and cross, over a grid
 * of shapes with edge tiles everywhere, then the edge cases one by one.
 *
 * Environment: SL_TEST_QUICK=1 shrinks the grid (sanitizer builds);
 * SL_TEST_ONLY=substr restricts the kernels tested by name;
 * SL_SHARED_DATA=dir points at shared/data (default ../shared/data).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h" /* sl__stream_min */
#include "oracle.h"
#include "simladder.h"
#include "testdata.h"
#include "testhelp.h"

static int quick;

/* ---- data ---- */

static float *random_rows(int64_t n, int64_t d)
{
    float *x = malloc((size_t)(n * d + 1) * sizeof *x);
    for (int64_t i = 0; i < n * d; i++)
        x[i] = gauss();
    return x;
}

/* ---- the kernels to test ---- */

static const char *kernels[64];
static int nkernels;

static void list_kernels(void)
{
    for (int i = 0; i < sl_kernel_count(); i++) {
        sl_kernel_info ki;
        sl_kernel_get(i, NULL, &ki);
        if (!td_selected(ki.name))
            continue;
        if (!ki.usable) {
            printf("skipped kernel %s: this CPU lacks its features\n", ki.name);
            continue;
        }
        kernels[nkernels++] = ki.name;
    }
}

static int slow(const char *k)
{
    return !strcmp(k, "ref") || !strcmp(k, "c0") || !strcmp(k, "c1") || !strncmp(k, "c2", 2) ||
           !strncmp(k, "c3", 2);
}

/* ---- checks of one result against the oracle ---- */

static double max_err_seen[64];

static void check_matrix(const char *kern, int ki, const float *out, int64_t ldo, const double *s,
                         int64_t n, int64_t m, int64_t d, int self)
{
    double tol = sl_error_bound(d), worst = 0;
    int sym = 1, pad = 1;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < m; j++) {
            double e = fabs(out[i * ldo + j] - s[i * m + j]);
            worst = e > worst ? e : worst;
            if (self && memcmp(&out[i * ldo + j], &out[j * ldo + i], 4))
                sym = 0;
        }
        for (int64_t j = m; j < ldo; j++)
            pad &= out[i * ldo + j] == 12345.0f;
    }
    if (worst > max_err_seen[ki])
        max_err_seen[ki] = worst;
    CHECKF(worst <= tol, "%s matrix n=%lld m=%lld d=%lld: error %.3g > bound %.3g", kern,
           (long long)n, (long long)m, (long long)d, worst, tol);
    CHECKF(sym, "%s matrix n=%lld d=%lld: self output not exactly symmetric", kern, (long long)n,
           (long long)d);
    CHECKF(pad, "%s matrix: wrote past the %lld columns into the ldo padding", kern, (long long)m);
}

/* The oracle's ordering of every row, computed once per matrix s and kept
 * while the kernels are checked against it (order_reset() before s is freed). */
static int64_t *order_rows, order_cnt;
static const double *order_s;

static void order_reset(void)
{
    free(order_rows);
    order_rows = NULL;
    order_s = NULL;
}

static const int64_t *oracle_order(const double *s, int64_t n, int64_t m, int self, int64_t *cnt)
{
    if (order_s != s) {
        order_reset();
        order_rows = malloc((size_t)(n * m) * sizeof *order_rows);
        for (int64_t i = 0; i < n; i++)
            order_cnt = oracle_topk(s + i * m, m, self ? i : -1, m, order_rows + i * m);
        order_s = s;
    }
    *cnt = order_cnt;
    return order_rows;
}

static void check_knn(const char *kern, const float *sims, const int64_t *idx, const double *s,
                      int64_t n, int64_t m, int64_t d, int self, int64_t k)
{
    double tol = sl_error_bound(d);
    int64_t all_cnt, *seen = malloc((size_t)m * sizeof *seen);
    const int64_t *order = oracle_order(s, n, m, self, &all_cnt);
    for (int64_t j = 0; j < m; j++)
        seen[j] = -1;
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 3; i++) {
        const double *row = s + i * m;
        const int64_t *ref = order + i * m;
        int64_t cnt = all_cnt < k ? all_cnt : k;
        const float *rs = sims + i * k;
        const int64_t *ri = idx + i * k;
        for (int64_t r = 0; r < k; r++) {
            if (r >= cnt) { /* padding */
                if (ri[r] != -1 || rs[r] != -INFINITY) {
                    bad++;
                    CHECKF(0, "%s knn row %lld slot %lld: expected padding, got %lld %g", kern,
                           (long long)i, (long long)r, (long long)ri[r], rs[r]);
                }
                continue;
            }
            int64_t j = ri[r];
            if (j < 0 || j >= m || (self && j == i)) {
                bad++;
                CHECKF(0, "%s knn row %lld: bad index %lld", kern, (long long)i, (long long)j);
                break;
            }
            if (seen[j] == i) {
                bad++;
                CHECKF(0, "%s knn row %lld: index %lld twice", kern, (long long)i, (long long)j);
            }
            seen[j] = i;
            if (fabs(rs[r] - row[j]) > tol) {
                bad++;
                CHECKF(0, "%s knn row %lld: sim %g of %lld, oracle %g", kern, (long long)i, rs[r],
                       (long long)j, row[j]);
            }
            if (r > 0 && (rs[r] > rs[r - 1] || (rs[r] == rs[r - 1] && ri[r] < ri[r - 1]))) {
                bad++;
                CHECKF(0, "%s knn row %lld: not sorted at %lld", kern, (long long)i, (long long)r);
            }
            /* The set: every returned neighbour is at least as good as the
             * oracle's k-th, up to ties within twice the bound. */
            if (row[j] < row[ref[cnt - 1]] - 2 * tol) {
                bad++;
                CHECKF(0, "%s knn row %lld: %lld (%.9f) is worse than the oracle's last %.9f", kern,
                       (long long)i, (long long)j, row[j], row[ref[cnt - 1]]);
            }
        }
    }
    free(seen);
}

static int cmp_pair(int64_t ai, int64_t aj, int64_t bi, int64_t bj)
{
    return ai != bi ? (ai < bi ? -1 : 1) : (aj < bj ? -1 : aj > bj);
}

static void check_join(const char *kern, const sl_pairs *p, const double *s, int64_t n, int64_t m,
                       int64_t d, int self, double tau)
{
    double tol = sl_error_bound(d);
    int64_t must = 0, found_must = 0;
    for (int64_t q = 0; q < p->count; q++) {
        int64_t i = p->i[q], j = p->j[q];
        int ok = i >= 0 && i < n && j >= 0 && j < m && (!self || i < j);
        CHECKF(ok, "%s join tau=%g: bad pair (%lld, %lld)", kern, tau, (long long)i, (long long)j);
        if (!ok)
            return;
        CHECKF(s[i * m + j] >= tau - tol, "%s join tau=%g: (%lld,%lld) has cos %.9f", kern, tau,
               (long long)i, (long long)j, s[i * m + j]);
        CHECKF(fabs(p->sim[q] - s[i * m + j]) <= tol, "%s join: sim %g vs %g", kern, p->sim[q],
               s[i * m + j]);
        CHECKF(p->sim[q] >= (float)tau || p->sim[q] >= tau, "%s join: returned sim %g < tau %g",
               kern, p->sim[q], tau);
        if (q > 0)
            CHECKF(cmp_pair(p->i[q - 1], p->j[q - 1], i, j) < 0, "%s join: not sorted at %lld",
                   kern, (long long)q);
        if (s[i * m + j] >= tau + tol)
            found_must++;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = self ? i + 1 : 0; j < m; j++)
            must += s[i * m + j] >= tau + tol;
    CHECKF(found_must == must, "%s join tau=%g n=%lld d=%lld: %lld of %lld certain pairs", kern,
           tau, (long long)n, (long long)d, (long long)found_must, (long long)must);
}

/* ---- the grid ---- */

static void grid_case(int64_t n, int64_t d, int self)
{
    int64_t m = self ? n : n / 2 + 1; /* cross: m queries / columns */
    float *x = random_rows(n, d), *y = self ? NULL : random_rows(m, d);
    /* Plant near-duplicates so joins at high tau find pairs. */
    for (int64_t i = 1; i < n; i += 5)
        for (int64_t k = 0; k < d; k++)
            x[i * d + k] = x[(i - 1) * d + k] + 0.01f * gauss();
    int64_t cols = self ? n : m;
    double *s = malloc((size_t)(n * cols) * sizeof *s);
    oracle_matrix(x, n, y, m, d, s);
    sl_view vx = sl_view_f32(x, n, d), vy = self ? vx : sl_view_f32(y, m, d);
    int64_t ldo = cols + 3;
    float *out = malloc((size_t)(n * ldo) * sizeof *out);
    for (int ki = 0; ki < nkernels; ki++) {
        const char *kern = kernels[ki];
        if (slow(kern) && n * cols * d > (quick ? 2000000 : 60000000))
            continue; /* the pair-at-a-time rungs on the biggest shapes: minutes for nothing */
        sl_options o = {0};
        o.kernel = kern;
        sl_error e;
        sl_status st = SL_OK;
        /* Twice: with the output's normal stores, and with every store
         * non-temporal (job.c takes that path for outputs over 64 MiB). */
        size_t stream_min = sl__stream_min;
        for (int nt = 0; nt < 2; nt++) {
            for (int64_t q = 0; q < n * ldo; q++)
                out[q] = 12345.0f;
            sl__stream_min = nt ? 0 : stream_min;
            st = sl_matrix(&vx, self ? NULL : &vy, out, ldo, &o, &e);
            sl__stream_min = stream_min;
            CHECKF(st == SL_OK, "%s matrix%s: %s", kern, nt ? " (streamed)" : "", e.message);
            if (st == SL_OK)
                check_matrix(kern, ki, out, ldo, s, n, cols, d, self);
        }

        /* knn: queries are the rows of the matrix above (x), database y. */
        /* 40: a reservoir list (topk.c) that fills and is cut back */
        int64_t ks[] = {1, 10, 40, n - 1, n, n + 5};
        for (int kk = 0; kk < 6; kk++) {
            int64_t k = ks[kk];
            if (k < 1 || (kk > 0 && k == ks[kk - 1]) || (quick && kk == 4))
                continue;
            if (n >= 1000 && (kk == 3 || kk == 4))
                continue; /* k near n: the small shapes cover it; here it is n^2 heap work */
            float *sims = malloc((size_t)(n * k) * sizeof *sims);
            int64_t *idx = malloc((size_t)(n * k) * sizeof *idx);
            st = sl_knn(self ? &vx : &vy, self ? NULL : &vx, k, sims, idx, &o, &e);
            CHECKF(st == SL_OK, "%s knn: %s", kern, e.message);
            if (st == SL_OK)
                check_knn(kern, sims, idx, s, n, cols, d, self, k);
            free(sims);
            free(idx);
        }
        double taus[] = {0.999, 0.9, 0.0, -1.0};
        for (int t = 0; t < 4; t++) {
            if (taus[t] <= 0 && n * cols > 100000)
                continue; /* every pair passes: a big output that checks nothing new */
            sl_pairs p;
            st = sl_join(&vx, self ? NULL : &vy, taus[t], &p, &o, &e);
            CHECKF(st == SL_OK, "%s join: %s", kern, e.message);
            if (st == SL_OK)
                check_join(kern, &p, s, n, cols, d, self, taus[t]);
            sl_pairs_free(&p);
        }
    }
    free(out);
    order_reset();
    free(s);
    free(x);
    free(y);
}

static void test_grid(void)
{
    int64_t ns_full[] = {1, 2, 3, 17, 257, 1000}, ds_full[] = {1, 3, 15, 16, 17, 100, 768, 1000};
    int64_t ns_quick[] = {1, 2, 17, 200}, ds_quick[] = {1, 3, 17, 100};
    int64_t *ns = quick ? ns_quick : ns_full, *ds = quick ? ds_quick : ds_full;
    int nn = quick ? 4 : 6, nd = quick ? 4 : 8;
    for (int a = 0; a < nn; a++)
        for (int b = 0; b < nd; b++)
            for (int self = 1; self >= 0; self--)
                grid_case(ns[a], ds[b], self);
    for (int ki = 0; ki < nkernels; ki++)
        printf("  %-12s max |error| vs float64 over the grid: %.3g\n", kernels[ki],
               max_err_seen[ki]);
}

/* ---- auto under every ISA cap ---- */

static void test_tiers(void)
{
    const char *tiers[] = {"scalar", "avx2", "avx512", "amx"};
    unsigned need[] = {0, SL_CPU_AVX2 | SL_CPU_FMA, SL_CPU_AVX512F, SL_CPU_AMXINT8};
    int64_t n = 300, d = 77;
    float *x = random_rows(n, d);
    double *s = malloc((size_t)(n * n) * sizeof *s);
    oracle_matrix(x, n, NULL, n, d, s);
    sl_view v = sl_view_f32(x, n, d);
    for (int t = 0; t < 4; t++) {
        if ((sl_cpu_detected() & need[t]) != need[t]) {
            printf("  skipped tier %s: this CPU lacks it\n", tiers[t]);
            continue;
        }
        const char *a = sl_kernel_auto(tiers[t]);
        CHECKF(a != NULL, "no auto kernel under %s", tiers[t]);
        printf("  tier %-6s -> auto kernel %s\n", tiers[t], a ? a : "?");
        if (t == 0)
            CHECKF(a && !strstr(a, "avx"), "scalar tier chose %s", a);
        sl_options o = {0};
        o.isa = tiers[t];
        float sims[300 * 10];
        int64_t idx[300 * 10];
        sl_error e;
        CHECK(sl_knn(&v, NULL, 10, sims, idx, &o, &e) == SL_OK);
        check_knn(tiers[t], sims, idx, s, n, n, d, 1, 10);
    }
    order_reset();
    free(x);
    free(s);
    /* A job large enough (2^30 multiply-adds) for auto to weigh c6 and c7,
     * under every cap: where a rung has no kernel the choice must pass it
     * over (it dereferenced a NULL error instead, on AVX2 and scalar). */
    int64_t nb = 2000, db = 768;
    float *xb = random_rows(nb, db);
    float *sb = malloc((size_t)(nb * 5) * sizeof *sb);
    int64_t *ib = malloc((size_t)(nb * 5) * sizeof *ib),
            *i5 = malloc((size_t)(nb * 5) * sizeof *i5);
    sl_view vb = sl_view_f32(xb, nb, db);
    sl_error e;
    sl_options o5 = {0};
    o5.kernel = "c5";
    o5.isa = "scalar";
    CHECK(sl_knn(&vb, NULL, 5, sb, i5, &o5, &e) == SL_OK);
    for (int t = 0; t < 4; t++) {
        if ((sl_cpu_detected() & need[t]) != need[t])
            continue;
        sl_options o = {0};
        sl_stats st;
        o.isa = tiers[t];
        o.stats = &st;
        CHECKF(sl_knn(&vb, NULL, 5, sb, ib, &o, &e) == SL_OK, "auto under %s: %s", tiers[t],
               e.message);
        int64_t differ = 0;
        for (int64_t q = 0; q < nb * 5; q++)
            differ += ib[q] != i5[q];
        printf("  tier %-6s, 2000 x 768: auto ran %s, %lld of %lld neighbours differ from c5's\n",
               tiers[t], st.kernel, (long long)differ, (long long)(nb * 5));
        CHECKF(differ <= nb / 100, "auto under %s: %lld neighbours differ", tiers[t],
               (long long)differ);
    }
    free(xb);
    free(sb);
    free(ib);
    free(i5);
}

/* ---- edge cases ---- */

static void test_zero_rows(void)
{
    int64_t n = 40, d = 19;
    float *x = random_rows(n, d);
    memset(x + 7 * d, 0, (size_t)d * sizeof *x);
    memset(x + 8 * d, 0, (size_t)d * sizeof *x);
    for (int ki = 0; ki < nkernels; ki++) {
        sl_options o = {0};
        o.kernel = kernels[ki];
        sl_view v = sl_view_f32(x, n, d);
        float m[40 * 40];
        sl_error e;
        CHECK(sl_matrix(&v, NULL, m, 0, &o, &e) == SL_OK);
        int ok = 1;
        for (int64_t j = 0; j < n; j++)
            ok &= m[7 * n + j] == 0 && m[j * n + 8] == 0;
        CHECKF(ok, "%s: a zero row must have similarity 0 to everything, itself included",
               kernels[ki]);
        sl_pairs p;
        CHECK(sl_join(&v, NULL, 0.0, &p, &o, &e) == SL_OK);
        int64_t with_zero = 0;
        for (int64_t q = 0; q < p.count; q++)
            with_zero += p.i[q] == 7 || p.j[q] == 7;
        CHECKF(with_zero == n - 1, "%s: tau 0 joins the zero row with all %lld others (got %lld)",
               kernels[ki], (long long)(n - 1), (long long)with_zero);
        sl_pairs_free(&p);
    }
    free(x);
}

static void test_ties(void)
{
    /* All rows from three patterns: neighbours tie exactly, so every kernel
     * must return the lowest indices, with either form of top-k list (k = 5
     * a heap, k = 40 a reservoir that fills and is cut back many times). */
    int64_t n = 300, d = 33, ks[] = {5, 40};
    float *pat = random_rows(3, d), *x = malloc((size_t)(n * d) * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        memcpy(x + i * d, pat + (i % 3) * d, (size_t)d * sizeof *x);
    sl_view v = sl_view_f32(x, n, d);
    float *sims = malloc((size_t)(n * 40) * sizeof *sims);
    int64_t *idx = malloc((size_t)(n * 40) * sizeof *idx);
    for (int ki = 0; ki < nkernels; ki++) {
        for (int kk = 0; kk < 2; kk++) {
            int64_t k = ks[kk];
            sl_options o = {0};
            o.kernel = kernels[ki];
            sl_error e;
            CHECK(sl_knn(&v, NULL, k, sims, idx, &o, &e) == SL_OK);
            int ok = 1;
            for (int64_t i = 0; i < n; i++) {
                int64_t want = i % 3, r = 0;
                for (int64_t j = want; j < n && r < k; j += 3)
                    if (j != i)
                        ok &= idx[i * k + r++] == j;
            }
            CHECKF(ok,
                   "%s k=%lld: exact ties must come back lowest index first (row 4: %lld %lld "
                   "%lld)",
                   kernels[ki], (long long)k, (long long)idx[4 * k], (long long)idx[4 * k + 1],
                   (long long)idx[4 * k + 2]);
        }
    }
    free(sims);
    free(idx);
    free(pat);
    free(x);
}

static void test_small_n(void)
{
    float x[3] = {1, 2, 3};
    sl_view v = sl_view_f32(x, 1, 3);
    float sims[4];
    int64_t idx[4];
    sl_error e;
    for (int ki = 0; ki < nkernels; ki++) {
        sl_options o = {0};
        o.kernel = kernels[ki];
        CHECK(sl_knn(&v, NULL, 4, sims, idx, &o, &e) == SL_OK);
        CHECKF(idx[0] == -1 && idx[3] == -1 && sims[0] == -INFINITY,
               "%s: n = 1 self knn is all padding", kernels[ki]);
        sl_pairs p;
        CHECK(sl_join(&v, NULL, -1.0, &p, &o, &e) == SL_OK && p.count == 0);
        sl_pairs_free(&p);
        float m;
        CHECK(sl_matrix(&v, NULL, &m, 0, &o, &e) == SL_OK && fabsf(m - 1) < 1e-6f);
    }
}

static void test_bad_values(void)
{
    int64_t n = 20, d = 9;
    float *x = random_rows(n, d), *q = random_rows(4, d);
    sl_error e;
    float sims[20 * 3];
    int64_t idx[20 * 3];
    float bad[] = {NAN, INFINITY, -INFINITY};
    for (int b = 0; b < 3; b++) {
        float keep = x[13 * d + 6];
        x[13 * d + 6] = bad[b];
        sl_view v = sl_view_f32(x, n, d);
        memset(&e, 0, sizeof e);
        CHECK(sl_knn(&v, NULL, 3, sims, idx, NULL, &e) == SL_EVALUE);
        CHECKF(strstr(e.message, "row 13") && strstr(e.message, "column 6") && e.row == 13 &&
                   e.col == 6 && e.operand == 0,
               "message: %s", e.message);
        x[13 * d + 6] = keep;
    }
    q[2 * d + 1] = NAN;
    sl_view v = sl_view_f32(x, n, d), vq = sl_view_f32(q, 4, d);
    CHECK(sl_knn(&v, &vq, 3, sims, idx, NULL, &e) == SL_EVALUE && e.operand == 1 && e.row == 2);
    free(x);
    free(q);
}

static void test_bad_args(void)
{
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, sims[8];
    int64_t idx[8];
    sl_error e;
    sl_pairs p;
    sl_view v = sl_view_f32(x, 4, 3), v2 = sl_view_f32(x, 3, 4), v0 = sl_view_f32(x, 0, 3);
    sl_view vd = sl_view_f32(x, 4, 0), vn = sl_view_f32(NULL, 4, 3);
    sl_options o = {0};
#define BAD(call, code)                                                                            \
    do {                                                                                           \
        memset(&e, 0, sizeof e);                                                                   \
        sl_status st_ = (call);                                                                    \
        CHECKF(st_ == (code) && e.message[0], "%s gave %d (%s)", #call, (int)st_, e.message);      \
    } while (0)
    BAD(sl_knn(&v, NULL, 0, sims, idx, NULL, &e), SL_EINVAL);
    BAD(sl_knn(&v, NULL, -2, sims, idx, NULL, &e), SL_EINVAL);
    BAD(sl_knn(&v, &v2, 1, sims, idx, NULL, &e), SL_EINVAL);
    BAD(sl_knn(&v0, NULL, 1, sims, idx, NULL, &e), SL_EINVAL);
    BAD(sl_knn(&vd, NULL, 1, sims, idx, NULL, &e), SL_EINVAL);
    BAD(sl_knn(&vn, NULL, 1, sims, idx, NULL, &e), SL_EINVAL);
    BAD(sl_knn(NULL, NULL, 1, sims, idx, NULL, &e), SL_EINVAL);
    BAD(sl_knn(&v, NULL, 1, NULL, idx, NULL, &e), SL_EINVAL);
    BAD(sl_join(&v, NULL, 1.5, &p, NULL, &e), SL_EINVAL);
    BAD(sl_join(&v, NULL, NAN, &p, NULL, &e), SL_EINVAL);
    BAD(sl_join(&v, NULL, -1.01, &p, NULL, &e), SL_EINVAL);
    BAD(sl_matrix(&v, NULL, NULL, 0, NULL, &e), SL_EINVAL);
    BAD(sl_matrix(&v, NULL, sims, 2, NULL, &e), SL_EINVAL);
    o.kernel = "c99";
    BAD(sl_knn(&v, NULL, 1, sims, idx, &o, &e), SL_EKERNEL);
    o.kernel = "c3-avx2";
    o.isa = "scalar";
    BAD(sl_knn(&v, NULL, 1, sims, idx, &o, &e), SL_EKERNEL);
    o.kernel = NULL;
    o.isa = "sse9";
    BAD(sl_knn(&v, NULL, 1, sims, idx, &o, &e), SL_EINVAL);
    o.isa = NULL;
    o.memory_limit = 1;
    BAD(sl_knn(&v, NULL, 1, sims, idx, &o, &e), SL_ELIMIT);
    /* More vectors to search than a list's 32-bit indices reach: refused
     * before any memory is planned (the view repeats one row). */
    sl_view huge = sl_view_f32(x, ((int64_t)1 << 32) + 1, 1), one = sl_view_f32(x, 1, 1);
    huge.row_stride = 0;
    o.memory_limit = 0;
    o.kernel = "c5";
    BAD(sl_knn(&huge, &one, 1, sims, idx, &o, &e), SL_EINVAL);
    o.kernel = NULL;
    for (int s = 0; s <= SL_EINTERNAL; s++)
        CHECK(sl_status_name((sl_status)s) != NULL);
    sl_pairs empty = {0};
    sl_pairs_free(&empty);
    size_t bytes = 0;
    CHECK(sl_plan("knn", &v, NULL, 3, NULL, &bytes, &e) == SL_OK && bytes > 0);
    CHECK(sl_plan("join", &v, NULL, 0, NULL, &bytes, &e) == SL_OK && bytes > 0);
    CHECK(sl_plan("matrix", &v, &v, 0, NULL, &bytes, &e) == SL_OK && bytes > 0);
    BAD(sl_plan("sort", &v, NULL, 0, NULL, &bytes, &e), SL_EINVAL);
#undef BAD
}

static int stop_now(void *ctx, double f)
{
    (void)f;
    return ++*(int *)ctx > 0;
}

static void test_cancel_and_limits(void)
{
    int64_t n = 3000, d = 64;
    float *x = random_rows(n, d);
    sl_view v = sl_view_f32(x, n, d);
    int calls = 0;
    sl_options o = {0};
    o.progress = stop_now;
    o.progress_ctx = &calls;
    o.kernel = "c4";
    float *sims = malloc((size_t)n * 10 * sizeof *sims);
    int64_t *idx = malloc((size_t)n * 10 * sizeof *idx);
    sl_error e;
    sl_status st = sl_knn(&v, NULL, 10, sims, idx, &o, &e);
    CHECKF(st == SL_ECANCELLED || calls > 0, "cancel: %d (%s), %d calls", (int)st, e.message,
           calls);
    /* A join whose output passes the limit stops with SL_ELIMIT. */
    sl_options lim = {0};
    size_t plan = 0;
    sl_plan("join", &v, NULL, 0, NULL, &plan, &e);
    lim.memory_limit = plan + 100000;
    sl_pairs p;
    st = sl_join(&v, NULL, -1.0, &p, &lim, &e);
    CHECKF(st == SL_ELIMIT && p.count == 0 && p.i == NULL, "join over the limit: %d (%s)", (int)st,
           e.message);
    free(sims);
    free(idx);
    free(x);
}

static uint16_t to_half(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t sign = (b >> 16) & 0x8000, e = (b >> 23) & 0xff, m = b & 0x7fffff;
    if (e < 103)
        return (uint16_t)sign;
    if (e < 113) /* subnormal half */
        return (uint16_t)(sign | ((m | 0x800000) >> (126 - e)));
    if (e > 142)
        return (uint16_t)(sign | 0x7bff);
    return (uint16_t)(sign | ((e - 112) << 10) | (m >> 13));
}

static void test_layouts(void)
{
    /* float64, float16, Fortran order, strided slices, big-endian, and
     * extreme magnitudes: all must give the float32 C-order answer. */
    int64_t n = 50, d = 21, k = 4;
    float *x = random_rows(n, d);
    for (int64_t i = 0; i < n * d; i++) /* exactly representable in float16 */
        x[i] = (float)((int)(x[i] * 64)) / 64.0f;
    sl_view base = sl_view_f32(x, n, d);
    float s0[50 * 4], s1[50 * 4];
    int64_t i0[50 * 4], i1[50 * 4];
    sl_error e;
    sl_options o = {0};
    o.kernel = "c4";
    CHECK(sl_knn(&base, NULL, k, s0, i0, &o, &e) == SL_OK);

    double *x64 = malloc((size_t)(n * d) * sizeof *x64);
    float *xf = malloc((size_t)(n * d) * sizeof *xf), *xs = malloc((size_t)(n * d * 3) * 4);
    uint16_t *x16 = malloc((size_t)(n * d) * 2);
    uint32_t *xbe = malloc((size_t)(n * d) * 4);
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < d; c++) {
            float f = x[i * d + c];
            x64[i * d + c] = f;
            xf[c * n + i] = f;
            xs[(i * d + c) * 3] = f;
            x16[i * d + c] = to_half(f);
            uint32_t b;
            memcpy(&b, &f, 4);
            xbe[i * d + c] = __builtin_bswap32(b);
        }
    sl_view views[] = {
        {x64, n, d, SL_F64, d * 8, 8, 0}, {x16, n, d, SL_F16, d * 2, 2, 0},
        {xf, n, d, SL_F32, 4, n * 4, 0},  {xs, n, d, SL_F32, d * 12, 12, 0},
        {xbe, n, d, SL_F32, d * 4, 4, 1},
    };
    const char *names[] = {"float64", "float16", "Fortran", "strided", "big-endian"};
    for (int t = 0; t < 5; t++) {
        CHECK(sl_knn(&views[t], NULL, k, s1, i1, &o, &e) == SL_OK);
        CHECKF(!memcmp(i0, i1, sizeof i0) && !memcmp(s0, s1, sizeof s0), "%s input differs",
               names[t]);
    }
    /* Scaled rows: cosine ignores scale; huge and tiny must not overflow. */
    float scales[] = {1e30f, 1e-30f, 1e37f, 1e-37f};
    for (int t = 0; t < 4; t++) {
        for (int64_t i = 0; i < n * d; i++)
            xs[i] = x[i] * ((i / d) % 2 ? scales[t] : 1.0f);
        sl_view sv = sl_view_f32(xs, n, d);
        for (int ki = 0; ki < nkernels; ki++) {
            sl_options ok = {0};
            ok.kernel = kernels[ki];
            CHECK(sl_knn(&sv, NULL, k, s1, i1, &ok, &e) == SL_OK);
            int same = 1;
            for (int64_t q = 0; q < n * k; q++)
                same &= fabsf(s1[q] - s0[q]) <= 1e-5f;
            CHECKF(same, "%s: rows scaled by %g change the cosines", kernels[ki], scales[t]);
        }
    }
    free(x64);
    free(xf);
    free(xs);
    free(x16);
    free(xbe);
    free(x);
}

static void determinism_case(int64_t k)
{
    int64_t n = 1500, d = 100;
    float *x = random_rows(n, d);
    sl_view v = sl_view_f32(x, n, d);
    float *a = malloc((size_t)(n * k) * 4), *b = malloc((size_t)(n * k) * 4);
    int64_t *ia = malloc((size_t)(n * k) * 8), *ib = malloc((size_t)(n * k) * 8);
    float *ma = malloc((size_t)(n * n) * 4), *mb = malloc((size_t)(n * n) * 4);
    sl_error e;
    for (int ki = 0; ki < nkernels; ki++) {
        if (slow(kernels[ki]))
            continue;
        sl_options o1 = {0}, o2 = {0};
        o1.kernel = o2.kernel = kernels[ki];
        o1.threads = 1;
        o2.threads = 2;
        CHECK(sl_knn(&v, NULL, k, a, ia, &o1, &e) == SL_OK);
        CHECK(sl_knn(&v, NULL, k, b, ib, &o2, &e) == SL_OK);
        CHECKF(!memcmp(a, b, (size_t)(n * k) * 4) && !memcmp(ia, ib, (size_t)(n * k) * 8),
               "%s knn: 1 and 2 threads differ", kernels[ki]);
        CHECK(sl_matrix(&v, NULL, ma, 0, &o1, &e) == SL_OK);
        CHECK(sl_matrix(&v, NULL, mb, 0, &o2, &e) == SL_OK);
        CHECKF(!memcmp(ma, mb, (size_t)(n * n) * 4), "%s matrix: 1 and 2 threads differ",
               kernels[ki]);
    }
    free(a);
    free(b);
    free(ia);
    free(ib);
    free(ma);
    free(mb);
    free(x);
}

/* Both forms of top-k list (a heap at k = 10, a reservoir at k = 50). */
static void test_determinism(void)
{
    determinism_case(10);
    determinism_case(50);
}

/* ---- real data: shared/data, when it is there ---- */

static void test_shared_data(void)
{
    const char *dir = td_dir();
    int found = 0;
    for (int s = 0; s < TD_NSETS; s++) {
        if (quick && s >= 8)
            break;
        const char *const *sets = td_sets;
        char p[512];
        int64_t n, d, gn, gd;
        snprintf(p, sizeof p, "%s/%s.npy", dir, sets[s]);
        size_t item;
        float *x = load_npy(p, &n, &d, &item);
        snprintf(p, sizeof p, "%s/%s.gt_cos_top10_sim.npy", dir, sets[s]);
        double *gt = load_npy(p, &gn, &gd, &item);
        if (!x || !gt) {
            free(x);
            free(gt);
            continue;
        }
        found++;
        sl_view v = sl_view_f32(x, n, d);
        float *sims = malloc((size_t)(n * 10) * 4);
        int64_t *idx = malloc((size_t)(n * 10) * 8);
        for (int ki = 0; ki < nkernels; ki++) {
            if ((slow(kernels[ki]) || strstr(kernels[ki], "portable")) && n > 2000)
                continue; /* the 10k sets on the slow rungs: covered by the grid */
            sl_options o = {0};
            o.kernel = kernels[ki];
            sl_error e;
            CHECK(sl_knn(&v, NULL, 10, sims, idx, &o, &e) == SL_OK);
            double worst = 0;
            for (int64_t q = 0; q < n * 10; q++)
                worst = fabs(sims[q] - gt[q]) > worst ? fabs(sims[q] - gt[q]) : worst;
            CHECKF(worst <= 1e-5, "%s on %s: r-th similarity off by %.3g from ground truth",
                   kernels[ki], sets[s], worst);
        }
        free(sims);
        free(idx);
        free(x);
        free(gt);
    }
    if (!found)
        SKIP("no shared data under %s", dir);
    else
        printf("  shared data: %d sets checked against their ground truth\n", found);
}

int main(void)
{
    quick = getenv("SL_TEST_QUICK") && atoi(getenv("SL_TEST_QUICK"));
    char buf[256];
    printf("cpu: %s (usable: %s)\n", sl_cpu_names(sl_cpu_detected(), buf, sizeof buf),
           sl_cpu_names(sl_cpu_usable(NULL), buf + 128, 128));
    list_kernels();
    printf("kernels under test:");
    for (int i = 0; i < nkernels; i++)
        printf(" %s", kernels[i]);
    printf("\n");
    RUN(test_bad_args);
    RUN(test_bad_values);
    RUN(test_small_n);
    RUN(test_zero_rows);
    RUN(test_ties);
    RUN(test_layouts);
    RUN(test_cancel_and_limits);
    RUN(test_determinism);
    RUN(test_tiers);
    RUN(test_grid);
    RUN(test_shared_data);
    return DONE();
}
