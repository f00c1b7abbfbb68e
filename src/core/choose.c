/*
 * The automatic choice between the fp32 top rung and the reduced-precision
 * rungs, for knn and join. A reduced-precision rung wins when its cheaper
 * tiles save more than its re-scores cost, and both sides depend on the
 * machine (vdpbf16ps is fast on Zen 4 and slow on some Intel cores; AMX is
 * another story again) and on the data (the bound's width next to the gaps
 * between similarities). So both are measured, not assumed:
 *
 *   - the machine, once per process and kernel: the time of one tile of
 *     each kernel on synthetic data, and of the fp32 re-score dot;
 *   - the data, per job: a pilot of 32 rows against up to 2,048 columns
 *     (strided samples, no copy), quantised as the rung would, counts the
 *     pairs whose f + 2 e reaches the row's estimated k-th best (knn) or
 *     tau (join): what the rung would have to re-score.
 *
 * The prediction is tiles x tile time + candidates x per re-score times,
 * plus, for knn, rows x k x LIST_DOTS re-score times on every side (fp32
 * too): the upkeep of each row's k best, which grows with k. A
 * reduced-precision rung is chosen when it predicts at most KNN_MARGIN
 * (0.85) of the fp32 time for knn, JOIN_MARGIN (0.8) for join, the faster
 * of c6 and c7 when both do. per is CAND_DOTS and CAND_DOTS_WIDE (int8,
 * int7) for join, and for knn KNN_DOTS (bf16), knn_dots_wide(k) and
 * knn_dots_i16(k) (16-bit integers). The probe's
 * re-score has both rows in cache, where a job's comes from L3 or memory
 * and brings its share of the filter's passes, the cuts and the settle;
 * and the pilot counts every pair within 2 e of the k-th best, which for
 * int8's wide bound is far more than the job re-scores. The knn constants
 * fit sl_worker's times on the Zen 5 of perf/README.md ("Auto's model"),
 * 7 December: c5, c6 and c7 at k = 10, 20, 30, 50 and 100. c5's time
 * beyond its tiles is about 5 re-scores a row and k at every k; beyond
 * that and its tiles, a candidate the pilot counts cost c6 2.7 to 4.4
 * re-scores, and c7 1.0 to 1.1 up to k = 20, 1.7 at 30, 2.7 at 50 and 2.9
 * at 100 (the heaps and the speculative floors stop above k = 32). The
 * model before (5 and 1 re-scores a candidate, no lists, 0.8) took c7 at
 * k = 30, where c6 took 0.83 of its time, and at k = 50, where c7 took
 * 1.74 times c5's. Earlier fits: 6.3 (c6, k = 10), 8.1 (c6, k = 100) and
 * 1.3 (c7, k = 10) on the Zen 5 of 2 December; c7 on 16-bit words (AVX2)
 * 7.5 to 9.6 at k = 10; capped at AVX2 on 7 December, 7.3 at k = 10
 * falling to 1.7 at k = 100 (perf/README.md). Jobs under 2^30
 * multiply-adds stay on fp32: the pilot would cost a visible share of them.
 * The choice only ever selects among exact paths, so a wrong guess costs
 * time, never correctness.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { PROBE_N = 256, PROBE_D = 768, PILOT_ROWS = 32, PILOT_COLS = 512 };

/* The model's constants, in probe re-scores (see the comment above and
 * sl__choose). */
#define CAND_DOTS 5.0      /* a join's candidate, bf16 and 16-bit integers */
#define CAND_DOTS_WIDE 1.0 /* a join's candidate, int8 and int7 */
#define KNN_DOTS 3.7       /* a knn candidate, bf16 */
#define LIST_DOTS 5.0      /* every knn rung: a row's list, per k */
#define KNN_MARGIN 0.85    /* a reduced-precision knn must predict this share of fp32's */
#define JOIN_MARGIN 0.8    /* and a join this share */

/* A knn candidate of int8 or int7: 1.1 probe re-scores up to k = 20, where
 * the job keeps heaps of lower bounds and speculates, then more as k grows
 * and the filter's floors come later (none of either from k = 33). */
static double knn_dots_wide(int64_t k)
{
    double f = 1.1 + 0.053 * (double)(k > 20 ? k - 20 : 0);
    return f < 2.9 ? f : 2.9;
}

/* A knn candidate of 16-bit integers (c7 on AVX2): about 7 probe
 * re-scores at k = 10, 3.7 at 30, 2.7 at 50 and 1.7 at 100 (capped at AVX2
 * on the Zen 5): the narrow bound leaves few candidates, and each row's
 * share of the filter's and the settle's fixed work is spread over more
 * of them as k grows. */
static double knn_dots_i16(int64_t k)
{
    return 7.3 * pow(10.0 / (double)(k > 10 ? k : 10), 0.63);
}

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static double pair_secs[64]; /* per kernel index: seconds per pair at d = 768 */
static double dot_secs[64];  /* per kernel index: its re-score, per pair */
static volatile float probe_sink;

static double probe_tile(const sl_kernel *k, const char *isa)
{
    float *x = malloc((size_t)PROBE_N * PROBE_D * sizeof *x);
    if (!x)
        return 0;
    uint64_t s = 12345;
    for (int64_t i = 0; i < (int64_t)PROBE_N * PROBE_D; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((int64_t)(s >> 40) - (1 << 23)) * 0x1p-23f;
    }
    sl_view v = sl_view_f32(x, PROBE_N, PROBE_D);
    sl_prepared p;
    double best = 0;
    if (sl__prepare_isa(&v, k->input, 0, 1, isa, &p, NULL) == SL_OK) {
        size_t sb = k->scratch ? k->scratch(PROBE_D) : 0;
        void *scratch = sb ? sl__alloc(sb) : NULL;
        float *c = sl__alloc((size_t)PROBE_N * PROBE_N * 4);
        if (c && (!sb || scratch)) {
            for (int rep = 0; rep < 7; rep++) { /* a tile takes 40-150 us: best of 6 */
                if (scratch)
                    memset(scratch, 0, sb);
                int64_t rows = k->task_rows < 96 ? k->task_rows : 96;
                sl_tile t = {&p.op, &p.op, 0, rows, 0, PROBE_N, c, PROBE_N, 0, scratch};
                double t0 = sl__now();
                k->tile(&t);
                double dt = (sl__now() - t0) / ((double)rows * PROBE_N);
                if (rep > 0 && (best == 0 || dt < best)) /* the first warms the caches */
                    best = dt;
            }
            for (int rep = 0; k->rescore && rep < 3; rep++) { /* best of 3 */
                double t0 = sl__now();
                float acc = 0;
                for (int i = 0; i < 4 * PROBE_N; i++)
                    acc += k->rescore(p.op.rows + (i % PROBE_N) * p.op.ld,
                                      p.op.rows + ((i * 7 + 3) % PROBE_N) * p.op.ld, p.op.ld);
                double dt = (sl__now() - t0) / (4 * PROBE_N);
                if (rep == 0 || dt < dot_secs[k - sl__kernels])
                    dot_secs[k - sl__kernels] = dt;
                probe_sink = acc; /* keeps the dots from being optimised away */
            }
        }
        sl__free(c);
        sl__free(scratch);
        sl__prepared_free(&p);
    }
    free(x);
    return best;
}

/* Seconds per pair at d = 768, measured once per process. */
static double tile_cost(const sl_kernel *k, const char *isa)
{
    int i = (int)(k - sl__kernels);
    pthread_mutex_lock(&probe_lock);
    if (pair_secs[i] == 0)
        pair_secs[i] = probe_tile(k, isa);
    double c = pair_secs[i];
    pthread_mutex_unlock(&probe_lock);
    return c;
}

/* A view of every *step-th row of v, at most n of them, starting at row 0. */
static sl_view every(const sl_view *v, int64_t n, int64_t *step)
{
    sl_view s = *v;
    *step = v->n > n ? v->n / n : 1;
    s.n = v->n / *step < n ? v->n / *step : n;
    s.row_stride = v->row_stride * *step;
    return s;
}

/* The pilot: the share of pairs the rung would re-score. */
static double pilot_share(const sl_kernel *k, int op, const sl_view *rows, const sl_view *cols,
                          int self, int64_t k_nn, double tau, const char *isa)
{
    int64_t step_r, step_c, rsub = 1;
    sl_view vr = every(rows, PILOT_ROWS, &step_r), vc = every(cols, PILOT_COLS, &step_c);
    sl_prepared pr, pc;
    if (sl__prepare_isa(&vc, k->input, 1, 1, isa, &pc, NULL) != SL_OK)
        return 1;
    int64_t m = vc.n;
    if (self) { /* the row sample: every few of the column sample, already prepared */
        rsub = m > PILOT_ROWS ? m / PILOT_ROWS : 1;
        step_r = step_c * rsub;
        pr = pc;
        pr.owned = pr.owned_lp = NULL; /* pc owns the memory */
        vr.n = (m + rsub - 1) / rsub;
    } else if (sl__prepare_isa(&vr, k->input, 0, 1, isa, &pr, NULL) != SL_OK) {
        sl__prepared_free(&pc);
        return 1;
    }
    float *f = malloc((size_t)m * sizeof *f), *e = malloc((size_t)m * sizeof *e);
    float *g = malloc((size_t)m * sizeof *g); /* knn: f again, partly sorted */
    double C = sl_error_bound(rows->d) * 2 + 1e-6, hits = 0, total = 0;
    /* The k-th best of n columns is about the (k m / n)-th best of m of them. */
    int64_t kk = (int64_t)ceil((double)k_nn * (double)m / (double)cols->n);
    kk = kk < 1 ? 1 : kk > m ? m : kk;
    for (int64_t ii = 0; f && e && g && ii < vr.n; ii++) {
        int64_t i = ii * (self ? rsub : 1);
        const float *xi = pr.op.rows + i * pr.op.ld;
        int64_t live = 0;
        for (int64_t j = 0; j < m; j++) {
            if (self && ii * step_r == j * step_c)
                continue; /* the row itself */
            f[live] = k->rescore(xi, pc.op.rows + j * pc.op.ld, pr.op.ld);
            e[live++] = sl__lp_bound(pr.op.lpnorm[i], pr.op.lpres[i], pc.op.lpnorm[j],
                                     pc.op.lpres[j], (float)C);
        }
        float line = (float)tau;
        if (op != 2) { /* knn: the estimated k-th best, from a copy */
            memcpy(g, f, (size_t)live * sizeof *g);
            for (int64_t a = 0; a < kk && a < live; a++) /* partial selection: kk is small */
                for (int64_t b = a + 1; b < live; b++)
                    if (g[b] > g[a]) {
                        float t = g[a];
                        g[a] = g[b];
                        g[b] = t;
                    }
            line = live ? g[(kk < live ? kk : live) - 1] : -INFINITY;
        }
        for (int64_t j = 0; j < live; j++)
            hits += f[j] + 2 * e[j] >= line;
        total += (double)live;
    }
    free(f);
    free(e);
    free(g);
    sl__prepared_free(&pr);
    sl__prepared_free(&pc);
    return total > 0 ? hits / total : 1;
}

const sl_kernel *sl__choose(int op, const sl_view *rows, const sl_view *cols, int self, int sym,
                            int64_t k, double tau, const sl_kernel *fp32, const char *isa)
{
    double d = (double)rows->d, pairs = (double)rows->n * (double)cols->n / (sym ? 2 : 1);
    if (op == 0 /* matrix */ || pairs * d < 0x1p30 || rows->d > 65536 || (op == 1 && k > 1000))
        return fp32;
    double scale = d / PROBE_D, fp32_t = tile_cost(fp32, isa) * scale * pairs;
    double best_t = 0;
    const sl_kernel *best = fp32;
    const char *rungs[] = {"c6", "c7"};
    for (int r = 0; r < 2; r++) {
        const sl_kernel *lk;
        if (sl__kernel_resolve(rungs[r], isa, &lk, NULL) != SL_OK || !SL_IN_LOWP(lk->input))
            continue;
        double tile = tile_cost(lk, isa) * scale * pairs; /* measures the dot too */
        double dot = dot_secs[lk - sl__kernels] * scale;
        /* knn: every rung keeps each row's k best, at a cost that grows with
         * k (LIST_DOTS a row and k fits c5's time beyond its tiles from k =
         * 10 to 100 on the Zen 5), which sets the margin the tiles must win. */
        double lists = op == 1 ? (double)rows->n * (double)k * LIST_DOTS * dot : 0;
        double margin = op == 1 ? KNN_MARGIN : JOIN_MARGIN;
        if (tile + lists >= margin * (fp32_t + lists))
            continue; /* no data makes it win */
        double share = pilot_share(lk, op, rows, cols, self, k, tau, isa);
        double cand = share * (double)rows->n * (double)cols->n;
        int wide = lk->input == SL_IN_INT8 || lk->input == SL_IN_INT7;
        double per = op != 1                    ? (wide ? CAND_DOTS_WIDE : CAND_DOTS)
                     : wide                     ? knn_dots_wide(k)
                     : lk->input == SL_IN_INT16 ? knn_dots_i16(k)
                                                : KNN_DOTS;
        double t = tile + lists + cand * dot * per;
        /* the fastest reduced-precision rung, if it beats fp32 by the margin */
        if (t < margin * (fp32_t + lists) && (best == fp32 || t < best_t)) {
            best_t = t;
            best = lk;
        }
    }
    return best;
}
