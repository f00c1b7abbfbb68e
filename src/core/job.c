/*
 * Jobs: matrix, knn and join. Each one validates its arguments, plans and
 * checks its memory, prepares the operands once, hands tiles to the kernel
 * over the thread pool and feeds every tile to its epilogue while the tile
 * is still in cache, then merges what the threads found.
 *
 * Ownership of results between threads: a tile belongs to the thread that
 * took it. Matrix tiles write disjoint parts of the output (a self tile (I, J)
 * also writes its mirror (J, I), which no other tile touches). knn gives
 * every thread its own top-k lists for all rows, merged at the end, so one
 * similarity can feed row i and row j without two threads ever writing the
 * same heap. join gives every thread its own pair list.
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#if defined(__SSE2__)
#include <emmintrin.h> /* SSE and SSE2: part of baseline x86-64 */
#include <xmmintrin.h>
#endif

enum { OP_MATRIX, OP_KNN, OP_JOIN };
static const char *const op_names[] = {"matrix", "knn", "join"};

typedef struct pair {
    int64_t i, j;
    float s;
} pair;

#ifndef SL_CHUNK_MAX
#define SL_CHUNK_MAX 16
#endif

typedef struct task {
    int64_t i0, i1, j0, j1;
} task;

struct job;

typedef struct tstate {
    struct job *job;
    int tid;
    void *scratch;
    float *tile;
    sl_topk topk;
    pair *pairs;
    size_t npairs, cap;
    /* reduced-precision kernels: the thread's floor of each row (knn), and
     * what the re-score cost */
    float *lfl;
    int32_t *cand_row;
    int64_t cand, timed, hits;
    uint64_t ticks;
    /* reduced-precision knn: per row, room for bcap candidates not yet
     * re-scored (res: keys of s~ and the other row) and how many it holds */
    uint64_t *res;
    int32_t *rn;
    /* and, when the job has room for them (hk = k), the k best lower
     * bounds s~ - e of the pairs the thread has seen: a min-heap per row,
     * whose least is a floor kept up to date pair by pair */
    float *lbk;
} tstate;

typedef struct job {
    int op;
    const sl_kernel *kern;
    const sl_options *opt;
    sl_operand a, b; /* tile rows come from a, columns from b */
    int self, sym;
    sl_scan_fn *scan;            /* the epilogues' filter, for this CPU */
    sl_scan_lp_fn *scan_lp;      /* the same with each pair's bound (reduced precision) */
    int lowp;                    /* a reduced-precision kernel: bounded candidates, fp32 re-score */
    float bound_c;               /* the bound's constant part (docs/ACCURACY.md) */
    int64_t bcap;                /* knn: candidates a row may hold before they are re-scored */
    int64_t hk;                  /* knn: k when the threads keep heaps of lower bounds, else 0 */
    int64_t hcap, hdepth;        /* their slots a row (a complete tree and one spare) and depth */
    _Atomic float *shared_floor; /* knn: the best floor any thread has, per row */
    float alpha;                 /* knn: the heaps' bounds are s~ - alpha e (1: no speculation) */
    int64_t *redo;               /* knn: rows whose speculative floors proved too high */
    _Atomic int64_t nredo;
    double t0; /* compute's start, for the statistics */
    uint64_t tick0;
    int64_t rows, cols;
    float *out; /* matrix */
    int64_t ldo;
    int stream; /* matrix: store the output past the caches (see put_row) */
    int64_t k;  /* knn */
    float tau;  /* join */
    task *tasks;
    int64_t ntasks;
    int nthreads;
    tstate *ts;
    size_t planned, limit;
    _Atomic int64_t next;
    _Atomic double done; /* pairs computed, for progress */
    double total;
    _Atomic size_t pair_bytes;
    atomic_int stop;
    sl_status status; /* first failure inside the parallel part */
    char message[256];
    pthread_mutex_t lock;
    int has_lock;
    double last_report;
} job;

int sl_hardware_threads(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int c = CPU_COUNT(&set);
        if (c > 0)
            return c;
    }
#endif
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

static void job_fail(job *jb, sl_status st, const char *msg)
{
    pthread_mutex_lock(&jb->lock);
    if (jb->status == SL_OK) {
        jb->status = st;
        snprintf(jb->message, sizeof jb->message, "%s", msg);
    }
    pthread_mutex_unlock(&jb->lock);
    atomic_store(&jb->stop, 1);
}

/* ---- epilogues: what happens to a tile while it is hot ---- */

/* A matrix output larger than this is more than the caches keep for the
 * caller to read back (Zen's last level is 32 MiB a CCD; the Xeons' is
 * shared with the host's other guests), so its stores go around them:
 * a normal store first fetches the line it overwrites (a read for
 * ownership), which doubles the memory traffic of a job whose output is
 * most of its traffic. Non-temporal stores of 16 bytes fill each line in
 * the core's write-combining buffers and send it to memory whole
 * (perf/README.md, "The matrix's stores", has what that saves). */
#ifndef SL_STREAM_MIB
#define SL_STREAM_MIB 64
#endif
size_t sl__stream_min = (size_t)SL_STREAM_MIB << 20; /* tests lower it to cover the path */

static inline void put_row(float *dst, const float *src, int64_t n, int stream)
{
#if defined(__SSE2__)
    if (stream) {
        int64_t q = 0;
        for (; q < n && ((uintptr_t)(dst + q) & 15); q++)
            dst[q] = src[q];
        for (; q + 4 <= n; q += 4)
            _mm_stream_ps(dst + q, _mm_loadu_ps(src + q));
        for (; q < n; q++)
            dst[q] = src[q];
        return;
    }
#endif
    memcpy(dst, src, (size_t)n * sizeof *dst);
}

#if defined(__SSE2__)
static inline void put4(float *dst, __m128 v, int stream)
{
    if (stream && !((uintptr_t)dst & 15))
        _mm_stream_ps(dst, v);
    else
        _mm_storeu_ps(dst, v);
}
#endif

/* A self tile's mirror: its columns become output rows, one output row (a
 * tile column) at a time so the writes are contiguous. */
static void mirror_tile(const job *jb, const task *t, const float *c, int64_t ldc)
{
    float *out = jb->out;
    int64_t ldo = jb->ldo, j = t->j0;
#if defined(__SSE2__)
    /* 4 x 4 blocks transposed in registers: contiguous reads of the tile,
     * contiguous writes of the output. Blocks that touch the diagonal are
     * left to the scalar loop below. */
    for (; j + 4 <= t->j1 && j >= t->i1; j += 4) {
        int64_t i = t->i0;
        for (; i + 4 <= t->i1; i += 4) {
            const float *src = c + (i - t->i0) * ldc + (j - t->j0);
            __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + ldc);
            __m128 r2 = _mm_loadu_ps(src + 2 * ldc), r3 = _mm_loadu_ps(src + 3 * ldc);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            put4(out + j * ldo + i, r0, jb->stream);
            put4(out + (j + 1) * ldo + i, r1, jb->stream);
            put4(out + (j + 2) * ldo + i, r2, jb->stream);
            put4(out + (j + 3) * ldo + i, r3, jb->stream);
        }
        for (; i < t->i1; i++)
            for (int64_t jj = j; jj < j + 4; jj++)
                out[jj * ldo + i] = c[(i - t->i0) * ldc + (jj - t->j0)];
    }
#endif
    for (; j < t->j1; j++) {
        int64_t end = j < t->i1 ? j : t->i1;
        float *dst = out + j * ldo;
        const float *src = c + (j - t->j0);
        for (int64_t i = t->i0; i < end; i++)
            dst[i] = src[(i - t->i0) * ldc];
    }
}

static void epilogue_matrix(job *jb, const task *t, const float *c, int64_t ldc)
{
    /* The tile was computed in the thread's own buffer (computing in place,
     * with the output's long rows as the stride, would put the tile's rows
     * on a few cache sets and thrash them). Copy it out, and in a self job
     * mirror it into the lower triangle; this tile is that region's only
     * writer, so threads mirror in parallel. */
    float *out = jb->out;
    int64_t ldo = jb->ldo;
    for (int64_t i = t->i0; i < t->i1; i++) {
        int64_t j = jb->sym && i > t->j0 ? (i < t->j1 ? i : t->j1) : t->j0;
        put_row(out + i * ldo + j, c + (i - t->i0) * ldc + (j - t->j0), t->j1 - j, jb->stream);
    }
    if (jb->sym)
        mirror_tile(jb, t, c, ldc);
#if defined(__SSE2__)
    /* Non-temporal stores are not ordered with the others: drain them
     * before the task counts as done. */
    if (jb->stream)
        _mm_sfence();
#endif
}

/* The first j in [j, end) where row[j] >= th, or (thr given) row[j] >=
 * thr[j]; end when none. Most of a tile fails both tests once the lists are
 * warm, so this is a vector compare over the tile row that rarely stops.
 * Baseline x86-64 has SSE2; jobs on AVX2 and AVX-512 machines use
 * sl_scan_avx2 and sl_scan_avx512. */
static int64_t scan_sse2(const float *row, const float *thr, float th, int64_t j, int64_t end)
{
#if defined(__SSE2__)
    __m128 t = _mm_set1_ps(th);
    for (; j + 4 <= end; j += 4) {
        __m128 s = _mm_loadu_ps(row + j), m = _mm_cmpge_ps(s, t);
        if (thr)
            m = _mm_or_ps(m, _mm_cmpge_ps(s, _mm_loadu_ps(thr + j)));
        if (_mm_movemask_ps(m))
            break;
    }
#endif
    for (; j < end; j++)
        if (row[j] >= th || (thr && row[j] >= thr[j]))
            return j;
    return end;
}

/* sl_scan_lp_fn in plain C, for machines without AVX2 (where no reduced-
 * precision kernel runs today, but the job layer does not assume it). */
static int64_t scan_lp_c(const float *row, const float *bn, const float *br, float ai, float ri,
                         float c, const float *thr, float th, int64_t j, int64_t end, int32_t *out,
                         float *ov, float *ol)
{
    int64_t n = 0;
    for (; j < end; j++) {
        float e = ri * (bn[j] + br[j]) + (ai * br[j] + c), v = row[j] + e;
        out[n] = (int32_t)j;
        ov[n] = v;
        ol[n] = row[j] - e;
        n += v >= th || (thr && v >= thr[j]);
    }
    return n;
}

static inline int64_t next_hit(const job *jb, const float *row, const float *thr, float th,
                               int64_t j, int64_t end, int both)
{
    return jb->scan(row, both ? thr : NULL, th, j, end);
}

/* knn: the threads share each row's best floor, a lower bound on the k-th
 * best similarity it will end with (any thread's is valid for every thread:
 * k real candidates are at least that good), so a row's filter warms up
 * once, not once per thread. Relaxed atomics: a stale read or a lost store
 * only leaves a lower, still valid, floor. */
static inline float floor_get(const job *jb, int64_t r)
{
    return atomic_load_explicit(&jb->shared_floor[r], memory_order_relaxed);
}

static inline void floor_raise(const job *jb, int64_t r, float f)
{
    if (f > floor_get(jb, r))
        atomic_store_explicit(&jb->shared_floor[r], f, memory_order_relaxed);
}

/* fp32 knn: a thread raises its own filters of a tile's rows (and columns,
 * when symmetric) to the shared floors before the tile, and publishes its
 * own k-th bests after it. */
static void floors_in(const job *jb, float *thr, int64_t r0, int64_t r1)
{
    for (int64_t r = r0; r < r1; r++) {
        float f = floor_get(jb, r);
        if (f > thr[r])
            thr[r] = f;
    }
}

static void floors_out(const job *jb, const sl_topk *tk, int64_t r0, int64_t r1)
{
    for (int64_t r = r0; r < r1; r++)
        floor_raise(jb, r, tk->thr[r]); /* a lower bound of its k-th best */
}

static void epilogue_knn(tstate *ts, const task *t, const float *c, int64_t ldc)
{
    job *jb = ts->job;
    sl_topk *tk = &ts->topk;
    float *thr = tk->thr;
    if (jb->shared_floor) {
        floors_in(jb, thr, t->i0, t->i1);
        if (jb->sym)
            floors_in(jb, thr, t->j0, t->j1);
    }
    /* The lists the tile will push to are mostly out of L2 (a thread's
     * lists for all rows are 1.3 MB at n = 10,000, k = 10): ask for the
     * columns' at once and each row's one row ahead (x0.98 of the time of
     * none in perf/blocking.py git:HEAD@c5 @c5 on a Zen 5). */
    if (jb->sym)
        for (int64_t o = t->j0; o < t->j1; o++)
            sl__topk_prefetch(tk, o);
    for (int64_t i = t->i0; i < t->i1; i++) {
        const float *row = c + (i - t->i0) * ldc - t->j0;
        int64_t j = t->j0;
        if (jb->sym && j <= i)
            j = i + 1;
        if (i + 1 < t->i1)
            sl__topk_prefetch(tk, i + 1);
        float th = thr[i];
        /* Symmetric: one similarity, two rows: i gains j and j gains i. */
        for (j = next_hit(jb, row, thr, th, j, t->j1, jb->sym); j < t->j1;
             j = next_hit(jb, row, thr, th, j + 1, t->j1, jb->sym)) {
            float s = row[j];
            if (s >= th && !(jb->self && j == i)) {
                sl__topk_push(tk, i, s, j);
                th = thr[i];
            }
            if (jb->sym && s >= thr[j])
                sl__topk_push(tk, j, s, i);
        }
    }
    if (jb->shared_floor) {
        floors_out(jb, tk, t->i0, t->i1);
        if (jb->sym)
            floors_out(jb, tk, t->j0, t->j1);
    }
}

static int grow_pairs(tstate *ts)
{
    job *jb = ts->job;
    size_t cap = ts->cap ? 2 * ts->cap : 4096;
    size_t add = (cap - ts->cap) * sizeof(pair);
    size_t used = atomic_fetch_add(&jb->pair_bytes, add) + add;
    if (jb->limit && sl__add(used, jb->planned) > jb->limit) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "join: more than %zu pairs pass tau = %g; holding them exceeds the memory "
                 "limit of %zu bytes (raise the limit or tau)",
                 used / sizeof(pair) / 2, (double)jb->tau, jb->limit);
        job_fail(jb, SL_ELIMIT, msg);
        return 0;
    }
    pair *p = realloc(ts->pairs, cap * sizeof(pair));
    if (!p) {
        job_fail(jb, SL_ENOMEM, "join: out of memory for the pairs found");
        return 0;
    }
    ts->pairs = p;
    ts->cap = cap;
    return 1;
}

/* Append (i, j, s) to the thread's pairs; 0 when they cannot grow. */
static inline int add_pair(tstate *ts, int64_t i, int64_t j, float s)
{
    if (ts->npairs == ts->cap && !grow_pairs(ts))
        return 0;
    pair *p = &ts->pairs[ts->npairs++];
    p->i = i;
    p->j = j;
    p->s = s;
    return 1;
}

static void epilogue_join(tstate *ts, const task *t, const float *c, int64_t ldc)
{
    job *jb = ts->job;
    float tau = jb->tau;
    for (int64_t i = t->i0; i < t->i1; i++) {
        const float *row = c + (i - t->i0) * ldc - t->j0;
        int64_t j = t->j0;
        if (jb->self && j <= i)
            j = i + 1;
        for (j = next_hit(jb, row, NULL, tau, j, t->j1, 0); j < t->j1;
             j = next_hit(jb, row, NULL, tau, j + 1, t->j1, 0))
            if (!add_pair(ts, i, j, row[j]))
                return;
    }
}

/* ---- the reduced-precision epilogues ----
 *
 * The tile holds s~, the similarity of the quantised rows. For the pair
 * (i, j) the re-scored fp32 value f obeys |f - s~| <= e(i, j) =
 * a_i r_j + r_i a_j + r_i r_j + C (a: |x~|, r: |x - x~|, C: bound_c; the
 * derivation is in docs/ACCURACY.md), so a pair whose s~ + e falls below
 * what it would have to beat cannot matter and is never re-scored. Per row
 * the cheap test comes first, against thr - E with E the row's largest e
 * over all columns, as one vector compare over the tile row; the pair's own
 * e next; the fp32 dot of the two unit rows last. Every pair that could be
 * in the result is re-scored, so the result is the fp32 one exactly. */

static inline float pair_bound(const job *jb, int64_t i, int64_t j)
{
    const sl_operand *a = &jb->a, *b = &jb->b;
    return sl__lp_bound(a->lpnorm[i], a->lpres[i], b->lpnorm[j], b->lpres[j], jb->bound_c);
}

static inline uint64_t ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return (uint64_t)(sl__now() * 1e9);
#endif
}

/* The fp32 value of (i, j). One re-score in 8 is timed (reading the clock
 * costs about as much as a short dot), and the job scales the sum. A
 * sample of 2^20 ticks or more (about a third of a millisecond, where one
 * re-score of the longest rows takes tens of microseconds) was interrupted
 * by the scheduler or a page fault: scaled up, one such sample could
 * exceed the whole job's time on a small job, so it is dropped. */
static inline float rescore_rows(tstate *ts, const float *x, const float *y)
{
    const job *jb = ts->job;
    ts->cand++;
    if (ts->cand & 7)
        return jb->kern->rescore(x, y, jb->a.ld);
    uint64_t t0 = ticks();
    float f = jb->kern->rescore(x, y, jb->a.ld);
    uint64_t dt = ticks() - t0;
    if (dt < (uint64_t)1 << 20) {
        ts->ticks += dt;
        ts->timed++;
    }
    return f;
}

static inline float rescore(tstate *ts, int64_t i, int64_t j)
{
    const job *jb = ts->job;
    return rescore_rows(ts, jb->a.rows + i * jb->a.ld, jb->b.rows + j * jb->b.ld);
}

/* Speculative floors. A floor from the heaps of lower bounds is the k-th
 * best s~ - e of the pairs seen, which sits about e below the k-th best
 * fp32 value the row will end with, since the bound e is a worst case that
 * real errors |s~ - f| rarely approach (on embeddings they stay under a
 * tenth of it). The heaps may then take s~ - alpha e with alpha < 1 as a
 * pair's bound: the floors rise sooner and fewer pairs pass the filter,
 * but a floor is now only probably a lower bound. It is checked at the
 * end: every floor any thread used for row r is at most the largest, G, of
 * the shared floor and the threads' own, and a pair was dropped only when
 * its u = s~ + e was under the floor of the time. If the row's exact k-th
 * best f_k is at least G, a dropped pair had f <= u < G <= f_k <= the true
 * k-th best, so it was not among the k best and the row's answer stands;
 * else the row is re-scored against every column (redo_worker). alpha is
 * set by a probe of the job's own data (lp_alpha): 2.5 times the largest
 * |s~ - f| / e it sees in 1,024 pairs spread over the set, at least 0.25
 * and at most 1, which is no speculation. docs/ACCURACY.md has the
 * argument and the figures. */
float sl__lp_alpha = -1.0f;

#ifndef SL_LP_SPEC_MIN
#define SL_LP_SPEC_MIN 0.25f
#endif
#ifndef SL_LP_SPEC_X
#define SL_LP_SPEC_X 2.5
#endif

/* The probe: 1,024 pairs in eight 32 x 32 blocks spread over the set, 128
 * pairs a block (each of its rows and columns in four), their s~ from the
 * kernel's own tile function, so exactly what the filter sees, and their f
 * from the re-score. A block's rows and columns are 64 unit rows and two
 * panels of each operand, read once; pair by pair from the panels (a word
 * a cache line) the probe took 1.7 ms, alone on one thread, of a 90 ms
 * job. */
static float lp_alpha(const job *jb)
{
    if (sl__lp_alpha >= 0)
        return sl__lp_alpha < 1 ? sl__lp_alpha : 1;
    enum { SIDE = 32, BLOCKS = 8, PER = 4 };
    const tstate *ts = &jb->ts[0];
    double worst = 0;
    for (int64_t g = 0; g < BLOCKS; g++) {
        int64_t i0 = (2 * g + 1) * jb->rows / (2 * BLOCKS) / SIDE * SIDE;
        int64_t j0 = (2 * ((5 * g + 3) % BLOCKS) + 1) * jb->cols / (2 * BLOCKS) / SIDE * SIDE;
        int64_t i1 = i0 + SIDE < jb->rows ? i0 + SIDE : jb->rows;
        int64_t j1 = j0 + SIDE < jb->cols ? j0 + SIDE : jb->cols;
        sl_tile tile = {&jb->a, &jb->b, i0, i1, j0, j1, ts->tile, j1 - j0, 0, ts->scratch};
        jb->kern->tile(&tile);
        for (int64_t ii = 0; ii < i1 - i0; ii++)
            for (int64_t q = 0; q < PER; q++) {
                int64_t jj = (ii + q * (SIDE / PER) + g) % SIDE, i = i0 + ii, j = j0 + jj;
                if (j >= j1 || (jb->self && i == j))
                    continue;
                float f = jb->kern->rescore(jb->a.rows + i * jb->a.ld, jb->b.rows + j * jb->b.ld,
                                            jb->a.ld);
                double rho = fabs((double)tile.c[ii * tile.ldc + jj] - f) / pair_bound(jb, i, j);
                worst = rho > worst ? rho : worst;
            }
    }
    double al = SL_LP_SPEC_X * worst;
    return al < SL_LP_SPEC_MIN ? SL_LP_SPEC_MIN : al > 1 ? 1.0f : (float)al;
}

/* The larger of fl and every thread's own floor of row r. */
static float lfl_max(const job *jb, int64_t r, float fl)
{
    for (int t = 0; t < jb->nthreads; t++)
        fl = jb->ts[t].lfl[r] > fl ? jb->ts[t].lfl[r] : fl;
    return fl;
}

/* Whether row r's speculative floors went above its exact k-th best. */
static int lp_spec_high(const job *jb, const sl_topk *tk, int64_t r)
{
    return lfl_max(jb, r, floor_get(jb, r)) > sl__topk_kth(tk, r);
}

/* knn defers the re-score. Per row and thread a reservoir holds the pairs
 * not yet re-scored, as keys of the pair's upper bound u = s~ + e and the
 * other row (ordered as in the top-k lists), behind a filter on the row's
 * floor (lfl). A floor is a lower bound on the fp32 similarity F of the
 * row's final k-th neighbour: a pair whose u falls below it cannot be in the
 * result, so the filter is u >= floor, evaluated for a tile row with one
 * vector compare (scan_lp), and a cut drops what falls under a raised floor
 * with one compare of keys. Floors come from two places: any k pairs of the
 * row, since each has f >= s~ - e = u - 2e, so the least u - 2e of k of them
 * is one (the k best u held give a good one); and the k-th best f re-scored
 * so far (the thread's exact lists, which only rows whose reservoirs
 * overflow fill before the end). The threads share the floors (floor_get,
 * floor_raise). Holding a pair costs a store; when a reservoir fills, its
 * row is cut: a floor from its k best, and what falls under it goes.
 * Re-scoring only at the end, against a floor over every thread's pairs,
 * costs about the candidates that floor lets through, not every pair that
 * was briefly among a row's k best. */
static inline float lp_floor(const tstate *ts, int64_t r)
{
    float sh = floor_get(ts->job, r), ex = ts->topk.thr[r];
    return sh > ex ? sh : ex;
}

/* The least u - 2e, that is s~ - e, of h[0, m): a floor when they are
 * m = k pairs. */
static float floor_of(const job *jb, int64_t r, const uint64_t *h, int64_t m)
{
    float lo = INFINITY;
    for (int64_t q = 0; q < m; q++) {
        float v = sl__key_sim(h[q]) - 2 * pair_bound(jb, r, sl__key_idx(h[q]));
        lo = v < lo ? v : lo;
    }
    return lo;
}

/* Keep the pairs of h[0, n) that the floor fl leaves, u >= fl, in order at
 * the front (a compare of keys written without a branch); returns how many. */
static int64_t keep_above(uint64_t *h, int64_t n, float fl)
{
    int64_t m = 0;
    uint64_t least = sl__key_of(fl, SL_TOPK_MAX_INDEX);
    for (int64_t q = 0; q < n; q++) {
        uint64_t v = h[q];
        h[m] = v;
        m += v >= least;
    }
    return m;
}

/* The best floor h[0, n) and what is known give row r: selects the k best
 * of h to the front on the way. */
static float best_floor(const tstate *ts, int64_t r, uint64_t *h, int64_t n)
{
    const job *jb = ts->job;
    int64_t k = jb->k;
    float fl = lp_floor(ts, r);
    if (n >= k) {
        if (n > k)
            sl__select_best(h, n, k);
        float lo = floor_of(jb, r, h, k);
        fl = lo > fl ? lo : fl;
    }
    return fl;
}

/* Re-score candidate (r, o) and offer it to r's exact list; returns its value. */
static inline float settle(tstate *ts, sl_topk *tk, int64_t r, int64_t o)
{
    float f = rescore(ts, r, o);
    ts->cand_row[r]++;
    if (f >= tk->thr[r])
        sl__topk_push(tk, r, f, o);
    return f;
}

/* Re-score the m best (by u) of row r's candidates h[0, n) that can still
 * beat its floor, the larger of fl and the exact k-th best (which the
 * re-scores raise), into tk; the others of the m are dropped. The m leave
 * h: returns what is left, at the front. */
static int64_t settle_best(tstate *ts, sl_topk *tk, int64_t r, uint64_t *h, int64_t n, float fl,
                           int64_t m)
{
    m = m < n ? m : n;
    if (m < n)
        sl__select_best(h, n, m);
    for (int64_t q = 0; q < m; q++) {
        float floor = fl > tk->thr[r] ? fl : tk->thr[r];
        if (sl__key_sim(h[q]) >= floor)
            settle(ts, tk, r, sl__key_idx(h[q]));
    }
    memmove(h, h + m, (size_t)(n - m) * sizeof *h);
    return n - m;
}

/* Raise the thread's floor of row r to fl. */
static inline void lfl_raise(tstate *ts, int64_t r, float fl)
{
    if (fl > ts->lfl[r])
        ts->lfl[r] = fl;
}

/* A full reservoir: raise the floor and drop what falls under it. Where
 * that frees less than a sixteenth of the room (pairs closer together than
 * the bound), re-score the k best by s~, which lifts the floor to an exact
 * k-th best, and drop again; then, if still too many stay, re-score them
 * all. A cut costs a pass over the room, a re-score a row from memory:
 * cutting often is cheaper than re-scoring early (at k = 100 on the default
 * workload, freeing a quarter re-scored 310 pairs a row, a sixteenth 166). */
static void lp_cut(tstate *ts, int64_t r)
{
    job *jb = ts->job;
    int64_t B = jb->bcap, n = ts->rn[r];
    uint64_t *h = ts->res + r * B;
    for (int pass = 0; pass < 3; pass++) {
        float fl = jb->hk ? lp_floor(ts, r) : best_floor(ts, r, h, n);
        fl = fl > ts->lfl[r] ? fl : ts->lfl[r];
        floor_raise(jb, r, fl);
        lfl_raise(ts, r, fl);
        n = keep_above(h, n, fl);
        if (n <= B - B / 16 - 1)
            break;
        n = settle_best(ts, &ts->topk, r, h, n, fl, pass == 0 ? jb->k : n);
    }
    ts->rn[r] = (int32_t)n;
}

/* Offer the lower bound l of a pair to row r's heap of the k best (hk =
 * k): the least of them, at the root, is a floor once k real pairs are in
 * (the heap starts full of -inf). Returns the new least. The callers offer
 * only an l above the row's floor as it stands (which is at least the
 * root): one at or below it could never be part of k pairs that raise the
 * floor, so the heaps keep the k best of those above the floor at the time
 * they came, and most pairs that pass the filter (u above the floor, l
 * below it) skip the push. Each heap is padded to a complete tree of
 * 2^(depth+1) - 1 slots, those from k on +inf, which no bound beats: l
 * then moves down exactly depth levels, each a select between two
 * children (as topk.c's lists do), instead of a branch per level that the
 * data decides. A row's heap takes hcap = 2^(depth+1) floats, one spare, so
 * that at k = 8 to 15 it is one cache line, not two. */
static inline float lbk_push(float *hp, int64_t depth, float l)
{
    if (!(l > hp[0]))
        return hp[0];
    int64_t pos = 0;
    for (int64_t lv = 0; lv < depth; lv++) { /* l replaces the root */
        int64_t c = 2 * pos + 1;
        float a = hp[c], b = hp[c + 1];
        int64_t right = b < a;
        float m = right ? b : a;
        int64_t down = m < l;
        /* Where l stops, it is written there at every level left (and once
         * more after): the least of m and l is the slot's value either way,
         * and the step is arithmetic, so that gcc emits no branch (with
         * "down ? m : hp[pos]" it took one, mispredicted once a push). */
        hp[pos] = m < l ? m : l;
        pos += down * (pos + 1 + right);
    }
    hp[pos] = l;
    return hp[0];
}

/* Raise a thread's filters of rows [r0, r1) to the shared floors. */
static void lp_floors_in(tstate *ts, int64_t r0, int64_t r1)
{
    for (int64_t r = r0; r < r1; r++)
        lfl_raise(ts, r, floor_get(ts->job, r));
}

/* Whether a row holding n keys, after one more was taken, is cut now: when
 * its room is full, and without the heaps also at every power of two from
 * 2k on the way, which is then how a floor comes before the room fills (a
 * row's first pairs pass no filter). */
static inline int lp_full(int64_t n, int64_t B, int64_t hk, int64_t k2)
{
    return n == B || (!hk && (n & (n - 1)) == 0 && n >= k2);
}

/* Columns of a tile row the filter takes at a time (its hit list's room). */
enum { LP_SPAN = 256 };

static void epilogue_knn_lp(tstate *ts, const task *t, const float *c, int64_t ldc)
{
    job *jb = ts->job;
    float *lfl = ts->lfl, C = jb->bound_c;
    const float *an = jb->a.lpnorm, *ar = jb->a.lpres, *bn = jb->b.lpnorm, *br = jb->b.lpres;
    int64_t B = jb->bcap, k2 = 2 * jb->k, hk = jb->hk, hcap = jb->hcap, hdepth = jb->hdepth;
    float wv = 0.5f * (1 - jb->alpha); /* l + (1 - alpha) e = s~ - alpha e; 0 without speculation */
    int sym = jb->sym, self = jb->self;
    uint64_t *res = ts->res;
    int32_t *rn = ts->rn;
    float *lbk = ts->lbk;
    int32_t hit[LP_SPAN + 16];
    float hv[LP_SPAN + 16], hl[LP_SPAN + 16]; /* each hit's u = s~ + e and l = s~ - e */
    lp_floors_in(ts, t->i0, t->i1);
    if (sym)
        lp_floors_in(ts, t->j0, t->j1);
    for (int64_t i = t->i0; i < t->i1; i++) {
        const float *row = c + (i - t->i0) * ldc - t->j0;
        int64_t j = t->j0;
        if (sym && j <= i)
            j = i + 1;
        /* Row i's reservoir stays in registers over the row: no other
         * row's add or cut touches it. A pair's key is stored whatever the
         * filter said (slot n is free) and counted only if it passed, so
         * that the verdict, often mispredicted, is no branch. */
        float ai = an[i], ri = ar[i], fi = lfl[i];
        uint64_t *hi = res + i * B;
        float *hp = hk ? lbk + i * hcap : NULL;
        int32_t ni = rn[i];
        for (; j < t->j1; j += LP_SPAN) {
            int64_t end = t->j1 - j < LP_SPAN ? t->j1 : j + LP_SPAN;
            int64_t nh =
                jb->scan_lp(row, bn, br, ai, ri, C, sym ? lfl : NULL, fi, j, end, hit, hv, hl);
            ts->hits += nh;
            for (int64_t h = 0; h < nh; h++) {
                int64_t o = hit[h];
                /* The column side's reservoir slot and heap of the hit
                 * three ahead, lines the tile's stream has pushed out of
                 * L1 (x0.97-0.99 of the time of none in perf/blocking.py,
                 * four runs; two or six ahead did no better). */
                if (sym && h + 3 < nh) {
                    int64_t o3 = hit[h + 3];
                    __builtin_prefetch(res + o3 * B + rn[o3], 1);
                    if (hk)
                        __builtin_prefetch(lbk + o3 * hcap, 1);
                }
                float v = hv[h], l = hl[h] + wv * (v - hl[h]);
                int real = !(self && o == i), take = (v >= fi) & real;
                uint64_t vk = sl__key_of(v, SL_TOPK_MAX_INDEX) & 0xffffffff00000000u;
                hi[ni] = vk | (uint32_t) ~(uint32_t)o;
                ni += take;
                if (hp && real && l > fi) {
                    float f = lbk_push(hp, hdepth, l);
                    fi = f > fi ? f : fi;
                }
                if (take & lp_full(ni, B, hk, k2)) {
                    rn[i] = ni;
                    lfl[i] = fi;
                    lp_cut(ts, i);
                    ni = rn[i];
                    fi = lfl[i];
                }
                if (!sym)
                    continue;
                /* The column's side, the same for row o, with the job's
                 * fields in locals (the stores could alias them otherwise),
                 * and a push only for l above the floor (lbk_push says why). */
                float fo = lfl[o];
                int32_t no = rn[o];
                int to = v >= fo;
                res[o * B + no] = vk | (uint32_t) ~(uint32_t)i;
                no += to;
                rn[o] = no;
                if (hk && l > fo) {
                    float f = lbk_push(lbk + o * hcap, hdepth, l);
                    lfl[o] = f > fo ? f : fo;
                }
                if (to & lp_full(no, B, hk, k2))
                    lp_cut(ts, o);
            }
        }
        rn[i] = ni;
        lfl[i] = fi;
        if (hk)
            floor_raise(jb, i, fi);
    }
    if (hk && sym)
        for (int64_t o = t->j0; o < t->j1; o++)
            floor_raise(jb, o, lfl[o]);
}

/* After the tiles: thread 0's exact lists hold every thread's (merged), and
 * each row's candidates from every thread are re-scored against the floor
 * that all of them give. Rows are independent: done in parallel, a chunk of
 * rows at a time. A re-score reads two rows of d floats, and the other row
 * is anywhere in the set: re-scored row by row, nearly every one would come
 * from L3 or memory. So a chunk's re-scores are gathered first and grouped
 * by the other row's block of SETTLE_BLOCK rows (one counting-sort pass),
 * which then stays in cache for every pair of the chunk it has. The floor
 * still rises on the way: the k best s~ of every row are re-scored first,
 * which gives each row an exact k-th best, and only the rest that can beat
 * it are re-scored after. */
typedef struct settle_all {
    job *jb;
    _Atomic int64_t next;
    /* Symmetric jobs: a re-scored pair is wanted by both its rows more often
     * than not (about 32 of the 38 a row re-scores on the default workload
     * at int8, k = 10). A row whose chunk no thread has claimed yet gets the
     * value in its mailbox (mm slots: the other row and f, packed; mn: how
     * many are taken, and MB_CLOSED once its chunk is claimed), and takes
     * from there what its own candidates include instead of re-scoring it.
     * A full or closed mailbox only means the pair is re-scored again. */
    _Atomic uint64_t *mbox;
    _Atomic uint32_t *mn;
    int64_t mm;
} settle_all;

#define MB_CLOSED 0x80000000u
#define MB_EMPTY UINT64_MAX

enum { SETTLE_BLOCK = 64, SETTLE_BUCKETS = 4096 };

/* A re-score to make: the other row and the row's place in its chunk. */
typedef struct lp_pair {
    uint32_t o, r;
} lp_pair;

#ifndef SL_SETTLE_RB
#define SL_SETTLE_RB 128
#endif
#ifndef SL_SETTLE_KEYS
#define SL_SETTLE_KEYS (1 << 17)
#endif
/* Rows a settle chunk holds: at most SL_SETTLE_RB (128), and at most
 * SL_SETTLE_KEYS (2^17) pooled keys. Chunks of 512 to 2,048 rows, which
 * read each other row once for more of their pairs, ran slower: they lose
 * pairs the mailboxes share, and a variant that shared those too (both
 * threads on one block, a table of its pairs) still did not pay
 * (perf/README.md, "Where the settle's time goes"). */
static int64_t settle_rows(const job *jb)
{
    int64_t per = (int64_t)jb->nthreads * jb->bcap,
            rb = ((int64_t)SL_SETTLE_KEYS) / (per ? per : 1);
    return rb < 1 ? 1 : rb > SL_SETTLE_RB ? SL_SETTLE_RB : rb;
}

/* Mailbox slots a row (settle_all): for symmetric jobs, 32, or fewer so
 * that they stay within 8 MiB (10 at n = 100,000); none below 4. */
static int64_t mailbox_slots(const job *jb)
{
    if (!jb->sym)
        return 0;
    int64_t m = (int64_t)((8u << 20) / ((size_t)jb->rows * 8 + 1));
    m = m > 32 ? 32 : m;
    return m < 4 ? 0 : m;
}

/* What settle_worker allocates, per thread. */
static size_t settle_bytes(const job *jb)
{
    size_t keys = sl__mul(sl__mul((size_t)settle_rows(jb), (size_t)jb->nthreads), (size_t)jb->bcap);
    return sl__add(sl__mul(keys, 8 + 2 * sizeof(lp_pair)),
                   (SETTLE_BUCKETS + 1) * 4 + (size_t)settle_rows(jb) * 20);
}

/* Leave f, the value of (r, o), in o's mailbox if o's chunk (of rb rows)
 * is not claimed yet and the mailbox has room. Slot taken first, then the
 * entry stored: a reader that closes the mailbox in between finds the slot
 * still empty and skips it. */
static void deposit(settle_all *sa, int64_t rb, int64_t r, int64_t o, float f)
{
    if (o - o % rb < atomic_load_explicit(&sa->next, memory_order_relaxed))
        return;
    _Atomic uint32_t *mn = &sa->mn[o];
    uint32_t c = atomic_load_explicit(mn, memory_order_relaxed);
    do
        if ((c & MB_CLOSED) || c >= (uint32_t)sa->mm)
            return;
    while (!atomic_compare_exchange_weak_explicit(mn, &c, c + 1, memory_order_relaxed,
                                                  memory_order_relaxed));
    uint32_t bits;
    memcpy(&bits, &f, 4);
    atomic_store_explicit(&sa->mbox[o * sa->mm + c], (uint64_t)r << 32 | bits,
                          memory_order_release);
}

/* Row r's candidates h[0, n) whose value another row left in r's mailbox go
 * to the exact lists; returns how many candidates are left, at the front.
 * The mailbox closes first, so nothing lands in it after. */
static int64_t collect(settle_all *sa, tstate *me, sl_topk *tk, int64_t r, uint64_t *h, int64_t n)
{
    enum { SLOTS = 64 }; /* mm <= 32: at most half full */
    uint32_t c = atomic_fetch_or(&sa->mn[r], MB_CLOSED) & ~MB_CLOSED;
    if (!c)
        return n;
    uint64_t slot[SLOTS];
    memset(slot, 0xff, sizeof slot);
    for (uint32_t q = 0; q < c; q++) {
        uint64_t v = atomic_load_explicit(&sa->mbox[r * sa->mm + q], memory_order_acquire);
        if (v == MB_EMPTY)
            continue;
        uint32_t at = ((uint32_t)(v >> 32) * 0x9e3779b1u) >> 26;
        while (slot[at] != MB_EMPTY)
            at = (at + 1) % SLOTS;
        slot[at] = v;
    }
    int64_t m = 0;
    for (int64_t q = 0; q < n; q++) {
        uint32_t o = (uint32_t)sl__key_idx(h[q]), at = (o * 0x9e3779b1u) >> 26;
        while (slot[at] != MB_EMPTY && (uint32_t)(slot[at] >> 32) != o)
            at = (at + 1) % SLOTS;
        if (slot[at] == MB_EMPTY) {
            h[m++] = h[q];
            continue;
        }
        uint32_t bits = (uint32_t)slot[at];
        float f;
        memcpy(&f, &bits, 4);
        me->cand_row[r]++;
        if (f >= tk->thr[r])
            sl__topk_push(tk, r, f, o);
    }
    return m;
}

/* Re-score the pairs p[0, np) of the chunk from row r0, grouped by the
 * other row's block, into the exact lists. */
static void settle_pairs(settle_all *sa, tstate *me, sl_topk *tk, int64_t r0, const lp_pair *p,
                         lp_pair *tmp, int64_t np, uint32_t *cnt)
{
    const job *jb = me->job;
    int shift = 0;
    while ((1 << shift) < SETTLE_BLOCK || ((jb->cols - 1) >> shift) >= SETTLE_BUCKETS)
        shift++;
    int64_t nb = ((jb->cols - 1) >> shift) + 1;
    memset(cnt, 0, (size_t)(nb + 1) * sizeof *cnt);
    for (int64_t q = 0; q < np; q++)
        cnt[(p[q].o >> shift) + 1]++;
    for (int64_t b = 0; b < nb; b++)
        cnt[b + 1] += cnt[b];
    for (int64_t q = 0; q < np; q++)
        tmp[cnt[p[q].o >> shift]++] = p[q];
    int64_t rb = settle_rows(jb);
    for (int64_t q = 0; q < np; q++) {
        int64_t r = r0 + tmp[q].r, o = tmp[q].o;
        /* The other row comes from L3 or memory: ask for it four pairs
         * ahead, every other line (the hardware fetches the next line with
         * each); x0.97 of the time of none, where one pair ahead or every
         * fourth line did less (perf/README.md). */
        if (q + 4 < np) {
            const char *y = (const char *)(jb->b.rows + tmp[q + 4].o * jb->b.ld);
            for (int64_t c = 0; c < jb->b.ld * 4; c += 128)
                __builtin_prefetch(y + c);
        }
        float f = settle(me, tk, r, o);
        if (sa->mbox)
            deposit(sa, rb, r, o, f);
    }
}

static void settle_worker(void *arg, int tid)
{
    settle_all *sa = arg;
    job *jb = sa->jb;
    tstate *me = &jb->ts[tid];
    sl_topk *tk = &jb->ts[0].topk;
    int64_t T = jb->nthreads, B = jb->bcap, k = jb->k, RB = settle_rows(jb), room = T * B;
    size_t keys = (size_t)(RB * room);
    uint64_t *pool = malloc(sl__mul(keys, sizeof *pool));
    lp_pair *p = malloc(sl__mul(keys, sizeof *p)), *tmp = malloc(sl__mul(keys, sizeof *tmp));
    uint32_t *cnt = malloc((SETTLE_BUCKETS + 1) * sizeof *cnt);
    int64_t *pn = malloc((size_t)RB * sizeof *pn), *done = malloc((size_t)RB * sizeof *done);
    float *pfl = malloc((size_t)RB * sizeof *pfl);
    if (!pool || !p || !tmp || !cnt || !pn || !done || !pfl) {
        job_fail(jb, SL_ENOMEM, "knn: out of memory merging the candidates");
        goto out;
    }
    for (;;) {
        int64_t r0 = atomic_fetch_add(&sa->next, RB);
        if (r0 >= jb->rows)
            break;
        int64_t rows = jb->rows - r0 < RB ? jb->rows - r0 : RB;
        /* Pool each row's candidates and take a floor from them. */
        for (int64_t l = 0; l < rows; l++) {
            int64_t r = r0 + l, n = 0;
            uint64_t *h = pool + l * room;
            if (l + 1 < rows) { /* the next row's keys and mailbox, long out of cache */
                for (int t = 0; t < T; t++)
                    for (int64_t q = 0; q < jb->ts[t].rn[r + 1]; q += 8)
                        __builtin_prefetch(jb->ts[t].res + (r + 1) * B + q);
                if (sa->mbox) {
                    __builtin_prefetch((const void *)&sa->mn[r + 1], 1);
                    for (int64_t q = 0; q < sa->mm; q += 8)
                        __builtin_prefetch((const void *)&sa->mbox[(r + 1) * sa->mm + q]);
                }
            }
            for (int t = 0; t < T; t++) {
                const tstate *ts = &jb->ts[t];
                memcpy(h + n, ts->res + r * B, (size_t)ts->rn[r] * sizeof *h);
                n += ts->rn[r];
            }
            /* With speculative floors the threads' own are higher than a
             * proven one from the pool's k best (s~ - e against s~ - alpha
             * e), so that is not worth its selection. */
            pfl[l] = lfl_max(
                jb, r, jb->alpha < 1 ? lp_floor(&jb->ts[0], r) : best_floor(&jb->ts[0], r, h, n));
            if (sa->mbox)
                n = collect(sa, me, tk, r, h, keep_above(h, n, pfl[l]));
            pn[l] = n;
            done[l] = 0;
        }
        /* Then, round by round, re-score the next k best by s~ of what can
         * still beat each row's floor: the first round gives every row an
         * exact k-th best, which each round raises. */
        for (;;) {
            int64_t np = 0;
            for (int64_t l = 0; l < rows; l++) {
                int64_t r = r0 + l, at = done[l], n = pn[l];
                if (at >= n)
                    continue;
                uint64_t *h = pool + l * room;
                float fl = pfl[l] > tk->thr[r] ? pfl[l] : tk->thr[r];
                n = at + keep_above(h + at, n - at, fl);
                int64_t m = n - at < k ? n - at : k;
                if (m < n - at)
                    sl__select_best(h + at, n - at, m);
                for (int64_t q = at; q < at + m; q++)
                    p[np++] = (lp_pair){(uint32_t)sl__key_idx(h[q]), (uint32_t)l};
                pn[l] = n;
                done[l] = at + m;
            }
            if (!np)
                break;
            settle_pairs(sa, me, tk, r0, p, tmp, np, cnt);
        }
        /* The chunk's lists are final: check the speculative floors. */
        if (jb->alpha < 1)
            for (int64_t l = 0; l < rows; l++)
                if (lp_spec_high(jb, tk, r0 + l))
                    jb->redo[atomic_fetch_add(&jb->nredo, 1)] = r0 + l;
    }
out:
    free(pool);
    free(p);
    free(tmp);
    free(cnt);
    free(pn);
    free(done);
    free(pfl);
}

/* The rows whose speculative floors were too high, re-scored against every
 * column, a group of rows at a time so that each column is read once per
 * group; a group's lists are its thread's alone. */
typedef struct redo_all {
    job *jb;
    _Atomic int64_t next;
} redo_all;

enum { REDO_GROUP = 16 };

static void redo_worker(void *arg, int tid)
{
    redo_all *ra = arg;
    job *jb = ra->jb;
    tstate *me = &jb->ts[tid];
    sl_topk *tk = &jb->ts[0].topk;
    int64_t n = atomic_load(&jb->nredo);
    for (;;) {
        int64_t g0 = atomic_fetch_add(&ra->next, REDO_GROUP);
        if (g0 >= n)
            break;
        int64_t g1 = g0 + REDO_GROUP < n ? g0 + REDO_GROUP : n;
        for (int64_t q = g0; q < g1; q++)
            sl__topk_clear(tk, jb->redo[q]);
        for (int64_t o = 0; o < jb->cols; o++)
            for (int64_t q = g0; q < g1; q++) {
                int64_t r = jb->redo[q];
                if (!(jb->self && o == r))
                    settle(me, tk, r, o);
            }
    }
}

static void epilogue_join_lp(tstate *ts, const task *t, const float *c, int64_t ldc)
{
    job *jb = ts->job;
    const float *an = jb->a.lpnorm, *ar = jb->a.lpres, *bn = jb->b.lpnorm, *br = jb->b.lpres;
    int32_t hit[LP_SPAN + 16];
    float hv[LP_SPAN + 16], hl[LP_SPAN + 16];
    for (int64_t i = t->i0; i < t->i1; i++) {
        const float *row = c + (i - t->i0) * ldc - t->j0;
        int64_t j = t->j0;
        if (jb->self && j <= i)
            j = i + 1;
        for (; j < t->j1; j += LP_SPAN) {
            int64_t end = t->j1 - j < LP_SPAN ? t->j1 : j + LP_SPAN;
            int64_t nh = jb->scan_lp(row, bn, br, an[i], ar[i], jb->bound_c, NULL, jb->tau, j, end,
                                     hit, hv, hl);
            for (int64_t h = 0; h < nh; h++) {
                float f = rescore(ts, i, hit[h]);
                ts->cand_row[i]++;
                if (f >= jb->tau && !add_pair(ts, i, hit[h], f))
                    return;
            }
        }
    }
}

/* ---- the parallel part ---- */

static void run_task(tstate *ts, const task *t)
{
    job *jb = ts->job;
    sl_tile tile = {&jb->a, &jb->b, t->i0, t->i1, t->j0, t->j1, NULL, 0, jb->sym, ts->scratch};
    tile.c = ts->tile;
    tile.ldc = t->j1 - t->j0;
    jb->kern->tile(&tile);
    if (jb->op == OP_MATRIX)
        epilogue_matrix(jb, t, tile.c, tile.ldc);
    else if (jb->op == OP_KNN)
        (jb->lowp ? epilogue_knn_lp : epilogue_knn)(ts, t, tile.c, tile.ldc);
    else
        (jb->lowp ? epilogue_join_lp : epilogue_join)(ts, t, tile.c, tile.ldc);
}

static double task_work(const job *jb, const task *t)
{
    double w = (double)(t->i1 - t->i0) * (double)(t->j1 - t->j0);
    if (jb->sym && t->j0 < t->i1) /* a tile on the diagonal: about half */
        w -= 0.5 * (double)(t->i1 - t->i0) * (double)(t->i1 - t->i0);
    return w;
}

static void report(job *jb, int final)
{
    const sl_options *o = jb->opt;
    if (!o || !o->progress)
        return;
    double now = sl__now();
    if (!final && now - jb->last_report < 0.05)
        return;
    jb->last_report = now;
    double f = final ? 1.0 : atomic_load(&jb->done) / (jb->total > 0 ? jb->total : 1);
    if (o->progress(o->progress_ctx, f > 1 ? 1 : f))
        job_fail(jb, SL_ECANCELLED, "cancelled by the progress callback");
}

static void worker(void *arg, int tid)
{
    job *jb = arg;
    tstate *ts = &jb->ts[tid];
    while (!atomic_load_explicit(&jb->stop, memory_order_relaxed)) {
        /* Guided chunks: a thread claims several consecutive tiles (one row
         * block's neighbours, so its packed rows and the column panels it
         * streams stay its own) while much work remains, one at a time at
         * the end so the threads finish together. */
        int64_t left = jb->ntasks - atomic_load_explicit(&jb->next, memory_order_relaxed);
        int64_t g = left / (8 * (int64_t)jb->nthreads);
        g = g < 1 ? 1 : g > SL_CHUNK_MAX ? SL_CHUNK_MAX : g;
        int64_t t0 = atomic_fetch_add(&jb->next, g);
        if (t0 >= jb->ntasks)
            break;
        int64_t t1 = t0 + g < jb->ntasks ? t0 + g : jb->ntasks;
        for (int64_t t = t0; t < t1; t++) {
            run_task(ts, &jb->tasks[t]);
            double w = task_work(jb, &jb->tasks[t]), old = atomic_load(&jb->done);
            while (!atomic_compare_exchange_weak(&jb->done, &old, old + w))
                ;
            if (tid == 0)
                report(jb, 0);
        }
    }
}

/* ---- setup ---- */

static int64_t make_tasks(job *jb, task *out)
{
    int64_t R = jb->kern->task_rows, C = jb->kern->task_cols ? jb->kern->task_cols : jb->cols;
    int64_t n = 0;
    for (int64_t i0 = 0; i0 < jb->rows; i0 += R) {
        int64_t i1 = i0 + R < jb->rows ? i0 + R : jb->rows;
        for (int64_t j0 = jb->sym ? i0 : 0; j0 < jb->cols; j0 += C, n++)
            if (out)
                out[n] = (task){i0, i1, j0, j0 + C < jb->cols ? j0 + C : jb->cols};
    }
    return n;
}

static int thread_count(const job *jb)
{
    if (!jb->kern->threaded)
        return 1;
    int t = jb->opt && jb->opt->threads > 0 ? jb->opt->threads : sl_hardware_threads();
    if (t > 256)
        t = 256;
    if (t > jb->ntasks)
        t = (int)jb->ntasks;
    return t > 0 ? t : 1;
}

/* knn on a reduced-precision kernel: room for 2k candidates a row, at least
 * a floor set by how wide the kernel's bound is, within 32 MiB over all
 * threads (the n = 100,000 memory bound). Smaller rooms are cut too often,
 * or overflow and re-score early when many pairs lie within the bound of a
 * row's k-th best; larger ones are more memory to fault in and to walk than
 * their fewer cuts save. In perf/blocking.py runs at k = 10 on the default
 * workload (perf/README.md), 48 beat 32, 40, 64 and 128 for bf16 and 16-bit
 * integers, and 128 beat 48 and 96 for int8 and int7, whose bound is
 * several times wider. */
#ifndef SL_LP_BMIN
#define SL_LP_BMIN 48
#endif
#ifndef SL_LP_BMIN_BYTES
#define SL_LP_BMIN_BYTES 128
#endif
static void set_bcap(job *jb)
{
    int in = jb->kern->input, wide = in == SL_IN_INT8 || in == SL_IN_INT7;
    int64_t lo = wide ? SL_LP_BMIN_BYTES : SL_LP_BMIN;
    int64_t k = jb->k, B = 2 * k < lo ? lo : 2 * k > 512 ? 512 : 2 * k;
    int64_t fit = (int64_t)((32u << 20) / ((size_t)jb->rows * (size_t)jb->nthreads * 8 + 1));
    jb->bcap = B < fit ? B : fit < 8 ? 8 : fit;
    /* The heaps of lower bounds, k floats a row and thread (padded to a
     * tree), at k <= 32 (a push costs log k), where they fit in 16 MiB
     * (k <= 15 at n = 100,000 on two threads). In perf/blocking.py runs on
     * the default workload (perf/README.md) they first made c7-amx 7%
     * faster at k = 10 and 30 and 3% slower at k = 100, and c6-amx 3%
     * slower at k = 10 and 23% at k = 100, so only int8 and int7 kept
     * them; with the speculative floors they take, c6-avx512 ran x0.897
     * and c7-avx2 (int16) x0.954 of the time without them on the Zen 5, so
     * every kind keeps them now. */
    jb->hdepth = sl__heap_depth(k);
    jb->hcap = (int64_t)2 << jb->hdepth; /* a power of two: a heap of 16 floats is one line */
    size_t heaps = (size_t)jb->rows * (size_t)jb->nthreads * (size_t)jb->hcap * 4;
    jb->hk = jb->lowp && k <= 32 && heaps <= (16u << 20) ? k : 0;
}

/* Bytes of the job's own allocations (not the caller's output). */
static size_t plan_bytes(const job *jb, const sl_view *va, const sl_view *vb)
{
    size_t b = sl__prepare_bytes(va, jb->kern->input);
    if (!jb->self)
        b = sl__add(b, sl__prepare_bytes(vb, jb->kern->input));
    size_t T = (size_t)jb->nthreads, rows = (size_t)jb->rows;
    b = sl__add(b, sl__mul((size_t)jb->ntasks, sizeof(task)));
    size_t per = jb->kern->scratch ? jb->kern->scratch(jb->a.d) : 0;
    int64_t C = jb->kern->task_cols ? jb->kern->task_cols : jb->cols;
    if (C > jb->cols)
        C = jb->cols;
    per = sl__add(per, sl__mul(sl__mul((size_t)jb->kern->task_rows, (size_t)C), 4));
    b = sl__add(b, sl__mul(T, sl__add(per, 128)));
    if (jb->lowp) /* lowered thresholds and candidate counts per row */
        b = sl__add(b, sl__mul(T, sl__mul(rows, 8)));
    if (jb->lowp && jb->op == OP_KNN) {
        /* per row: its shared floor; per row and thread: the candidate
         * reservoir, its count and the heap of lower bounds */
        size_t per_row = sl__add(sl__add(4, sl__mul((size_t)jb->bcap, 8)),
                                 jb->hk ? sl__mul((size_t)jb->hcap, 4) : 0);
        b = sl__add(b, sl__add(sl__mul(rows, 4), sl__mul(T, sl__mul(rows, per_row))));
        b = sl__add(b, sl__mul(T, settle_bytes(jb))); /* the settle's chunks */
        b = sl__add(b, sl__mul(rows, sl__add(sl__mul((size_t)mailbox_slots(jb), 8), 4)));
        if (jb->hk) /* the rows to re-do, when the floors speculate */
            b = sl__add(b, sl__mul(rows, 8));
    }
    if (jb->op == OP_KNN) {
        /* per thread: the lists, their counts and filters; the shared floors */
        b = sl__add(b, sl__mul(T, sl__topk_bytes(jb->rows, jb->k)));
        if (!jb->lowp && T > 1)
            b = sl__add(b, sl__mul(rows, 4));
    }
    if (jb->op == OP_JOIN)
        b = sl__add(b, sl__mul(rows + 1, 8));
    return b;
}

static sl_status setup(job *jb, int op, const sl_view *x, const sl_view *y, int64_t k, double tau,
                       const sl_options *opt, sl_error *err)
{
    memset(jb, 0, sizeof *jb);
    jb->alpha = 1;
    jb->op = op;
    jb->opt = opt;
    if (opt && opt->stats) /* what the job does not set reads as zero, not as the last job's */
        memset(opt->stats, 0, sizeof *opt->stats);
    sl_status st = sl__view_check(x, op == OP_KNN ? "database" : "x", err);
    if (st != SL_OK)
        return st;
    if (y && (st = sl__view_check(y, op == OP_KNN ? "queries" : "y", err)) != SL_OK)
        return st;
    if (y && y->d != x->d)
        return sl__fail(err, SL_EINVAL, "dimension mismatch: %lld against %lld", (long long)x->d,
                        (long long)y->d);
    const char *name = opt ? opt->kernel : NULL;
    if ((!name || !*name || !strcmp(name, "auto")) && getenv("SL_KERNEL") && *getenv("SL_KERNEL"))
        name = getenv("SL_KERNEL");
    if ((st = sl__kernel_resolve(name, opt ? opt->isa : NULL, &jb->kern, err)) != SL_OK)
        return st;
    if ((!name || !*name || !strcmp(name, "auto")) && op != OP_MATRIX && k >= 1 && tau >= -1 &&
        tau <= 1) { /* auto: reduced precision where it pays (choose.c) */
        const sl_view *rv = op == OP_KNN && y ? y : x, *cv = op == OP_KNN && y ? x : (y ? y : x);
        jb->kern = sl__choose(op, rv, cv, y == NULL, y == NULL && jb->kern->symmetric, k, tau,
                              jb->kern, opt ? opt->isa : NULL);
    }
    if (SL_IN_LOWP(jb->kern->input)) {
        /* A matrix has no candidates to filter: every entry must be exact,
         * so the reduced-precision rungs hand it to their fp32 kernel. */
        if (op == OP_MATRIX && (st = sl__kernel_resolve(jb->kern->fp32, opt ? opt->isa : NULL,
                                                        &jb->kern, err)) != SL_OK)
            return st;
        if (SL_IN_LOWP(jb->kern->input) && x->d > 65536)
            return sl__fail(err, SL_EINVAL,
                            "kernel %s: d = %lld is more than its integer sums hold exactly "
                            "(65,536); use c5",
                            jb->kern->name, (long long)x->d);
        jb->lowp = SL_IN_LOWP(jb->kern->input);
    }
    jb->self = y == NULL;
    jb->sym = jb->self && jb->kern->symmetric;
    unsigned feat = 0;
    sl__cpu_usable(opt ? opt->isa : NULL, &feat, NULL);
    jb->scan = scan_sse2;
    jb->scan_lp = scan_lp_c;
#if defined(__x86_64__)
    if (feat & SL_CPU_AVX2) {
        jb->scan = sl_scan_avx2;
        jb->scan_lp = sl_scan_lp_avx2;
    }
    if ((feat & SL_CPU_AVX512_SET) == SL_CPU_AVX512_SET) {
        jb->scan = sl_scan_avx512;
        jb->scan_lp = sl_scan_lp_avx512;
    }
#endif
    /* knn's rows are the queries; matrix and join rows are x. */
    const sl_view *va = x, *vb = y ? y : x;
    if (op == OP_KNN && y) {
        va = y;
        vb = x;
    }
    jb->rows = va->n;
    jb->cols = vb->n;
    jb->a.n = va->n;
    jb->a.d = va->d;
    jb->ntasks = make_tasks(jb, NULL);
    jb->nthreads = thread_count(jb);
    jb->limit = opt ? opt->memory_limit : 0;
    return SL_OK;
}

/* After setup and the op's own checks: plan, check the limit, prepare. */
static sl_status start(job *jb, const sl_view *x, const sl_view *y, sl_prepared *pa,
                       sl_prepared *pb, sl_error *err)
{
    const sl_view *va = x, *vb = y ? y : x;
    int wa = 0, wb = 1;
    if (jb->op == OP_KNN && y) {
        va = y;
        vb = x;
        wa = 1;
        wb = 0;
    }
    jb->planned = plan_bytes(jb, va, vb);
    if (jb->limit && jb->planned > jb->limit)
        return sl__fail(err, SL_ELIMIT,
                        "%s needs %.1f MiB of working memory (%lld x %lld, d = %lld, kernel %s, "
                        "%d threads); the limit is %.1f MiB",
                        op_names[jb->op], (double)jb->planned / 1048576.0, (long long)jb->rows,
                        (long long)jb->cols, (long long)jb->a.d, jb->kern->name, jb->nthreads,
                        (double)jb->limit / 1048576.0);
    pthread_mutex_init(&jb->lock, NULL);
    jb->has_lock = 1;
    double t0 = sl__now();
    const char *isa = jb->opt ? jb->opt->isa : NULL;
    sl_status st = sl__prepare_isa(va, jb->kern->input, wa, jb->nthreads, isa, pa, err);
    if (st != SL_OK)
        return st;
    jb->a = pa->op;
    if (jb->self) {
        jb->b = pa->op;
    } else {
        if ((st = sl__prepare_isa(vb, jb->kern->input, wb, jb->nthreads, isa, pb, err)) != SL_OK)
            return st;
        jb->b = pb->op;
    }
    if (jb->opt && jb->opt->stats)
        jb->opt->stats->seconds_prepare = sl__now() - t0;
    jb->tasks = malloc(sl__mul((size_t)jb->ntasks, sizeof(task)));
    jb->ts = calloc((size_t)jb->nthreads, sizeof(tstate));
    if (!jb->tasks || !jb->ts)
        return sl__fail(err, SL_ENOMEM, "out of memory for the task list");
    make_tasks(jb, jb->tasks);
    for (int64_t t = 0; t < jb->ntasks; t++)
        jb->total += task_work(jb, &jb->tasks[t]);
    int64_t C = jb->kern->task_cols ? jb->kern->task_cols : jb->cols;
    if (C > jb->cols)
        C = jb->cols;
    for (int t = 0; t < jb->nthreads; t++) {
        tstate *ts = &jb->ts[t];
        ts->job = jb;
        ts->tid = t;
        if (jb->kern->scratch) {
            size_t bytes = jb->kern->scratch(jb->a.d);
            if (!(ts->scratch = sl__alloc(bytes)))
                return sl__fail(err, SL_ENOMEM, "out of memory for kernel scratch");
            memset(ts->scratch, 0, bytes); /* kernels may cache in it: start empty */
        }
        if (!(ts->tile = sl__alloc(sl__mul(sl__mul((size_t)jb->kern->task_rows, (size_t)C), 4))))
            return sl__fail(err, SL_ENOMEM, "out of memory for tile buffers");
        if (jb->lowp) {
            size_t rows = (size_t)jb->rows;
            ts->lfl = sl__alloc(sl__mul(rows, 4));
            ts->cand_row = sl__alloc(sl__mul(rows, 4));
            if (!ts->lfl || !ts->cand_row)
                return sl__fail(err, SL_ENOMEM, "out of memory for candidate counts");
            for (int64_t r = 0; r < jb->rows; r++)
                ts->lfl[r] = -INFINITY;
            memset(ts->cand_row, 0, rows * 4);
        }
        if (jb->lowp && jb->op == OP_KNN) {
            size_t rows = (size_t)jb->rows, B = (size_t)jb->bcap;
            ts->res = sl__alloc(sl__mul(sl__mul(rows, B), sizeof *ts->res));
            ts->rn = sl__alloc(sl__mul(rows, 4));
            if (!ts->res || !ts->rn)
                return sl__fail(err, SL_ENOMEM, "out of memory for knn candidates");
            memset(ts->rn, 0, rows * 4);
            if (jb->hk) {
                size_t hc = (size_t)jb->hcap;
                if (!(ts->lbk = sl__alloc(sl__mul(sl__mul(rows, hc), 4))))
                    return sl__fail(err, SL_ENOMEM, "out of memory for knn floors");
                for (size_t r = 0; r < rows; r++) /* k slots of -inf, the padding +inf */
                    for (size_t q = 0; q < hc; q++)
                        ts->lbk[r * hc + q] = q < (size_t)jb->hk ? -INFINITY : INFINITY;
            }
        }
    }
    if (jb->lowp) {
        /* The re-score's own error and the kernel's accumulation error,
         * both within sl_error_bound(d) per unit of |x~| |y~|, and 1e-6 for
         * the float32 evaluation of the bound itself (docs/ACCURACY.md). */
        double A = (double)jb->a.lpmax_norm * jb->b.lpmax_norm;
        jb->bound_c = (float)(sl_error_bound(jb->a.d) * (1.0 + A) + 1e-6);
    }
    if (jb->op == OP_KNN && (jb->lowp || jb->nthreads > 1)) {
        jb->shared_floor = sl__alloc(sl__mul((size_t)jb->rows, sizeof *jb->shared_floor));
        if (!jb->shared_floor)
            return sl__fail(err, SL_ENOMEM, "out of memory for knn floors");
        for (int64_t r = 0; r < jb->rows; r++)
            atomic_init(&jb->shared_floor[r], -INFINITY);
    }
    return SL_OK;
}

/* Candidates re-scored, the most any row had, and the thread-seconds the
 * re-scores took (the timed share scaled up; ticks converted at the rate
 * they ran at during the compute). */
static void lowp_stats(job *jb)
{
    if (!jb->lowp || !jb->opt || !jb->opt->stats)
        return;
    sl_stats *s = jb->opt->stats;
    double secs = sl__now() - jb->t0, rate = (double)(ticks() - jb->tick0) / (secs > 0 ? secs : 1);
    int64_t cand = 0, timed = 0, most = 0, hits = 0;
    uint64_t tk = 0;
    for (int t = 0; t < jb->nthreads; t++) {
        hits += jb->ts[t].hits;
        cand += jb->ts[t].cand;
        timed += jb->ts[t].timed;
        tk += jb->ts[t].ticks;
    }
    for (int64_t r = 0; r < jb->rows; r++) {
        int64_t c = 0;
        for (int t = 0; t < jb->nthreads; t++)
            c += jb->ts[t].cand_row[r];
        most = c > most ? c : most;
    }
    s->candidates = cand;
    s->filtered = hits;
    s->rows_redone = atomic_load(&jb->nredo);
    s->candidates_max_row = most;
    double est = timed && rate > 0 ? (double)tk / rate * ((double)cand / (double)timed) : 0;
    /* An estimate: never more than the thread-seconds the job had. */
    s->seconds_rerank = est < secs * jb->nthreads ? est : secs * jb->nthreads;
}

static sl_status compute(job *jb, sl_error *err)
{
    double t0 = jb->t0 = sl__now();
    jb->tick0 = ticks();
    sl__run(jb->nthreads, worker, jb);
    if (jb->status == SL_OK)
        report(jb, 1);
    if (jb->opt && jb->opt->stats) {
        sl_stats *s = jb->opt->stats;
        snprintf(s->kernel, sizeof s->kernel, "%s", jb->kern->name);
        s->threads = jb->nthreads;
        s->memory_planned = jb->planned;
        s->seconds_compute = sl__now() - t0;
    }
    if (jb->status != SL_OK)
        return sl__fail(err, jb->status, "%s", jb->message);
    return SL_OK;
}

static void finish_stats(job *jb, double t0)
{
    if (jb->opt && jb->opt->stats)
        jb->opt->stats->seconds_finish = sl__now() - t0;
}

static void teardown(job *jb, sl_prepared *pa, sl_prepared *pb)
{
    if (jb->ts) {
        for (int t = 0; t < jb->nthreads; t++) {
            tstate *ts = &jb->ts[t];
            sl__free(ts->scratch);
            sl__free(ts->tile);
            free(ts->pairs);
            sl__topk_free(&ts->topk);
            sl__free(ts->lfl);
            sl__free(ts->cand_row);
            sl__free(ts->res);
            sl__free(ts->rn);
            sl__free(ts->lbk);
        }
        free(jb->ts);
    }
    sl__free(jb->shared_floor);
    sl__free(jb->redo);
    if (jb->has_lock)
        pthread_mutex_destroy(&jb->lock);
    free(jb->tasks);
    sl__prepared_free(pa);
    sl__prepared_free(pb);
}

/* ---- the public jobs ---- */

sl_status sl_matrix(const sl_view *x, const sl_view *y, float *out, int64_t ldo,
                    const sl_options *opt, sl_error *err)
{
    job jb;
    sl_prepared pa = {0}, pb = {0};
    sl_status st = setup(&jb, OP_MATRIX, x, y, 1, 0, opt, err);
    if (st != SL_OK)
        return st;
    if (!out)
        return sl__fail(err, SL_EINVAL, "matrix: output pointer is NULL");
    if (ldo == 0)
        ldo = jb.cols;
    if (ldo < jb.cols)
        return sl__fail(err, SL_EINVAL, "matrix: ldo = %lld is less than the %lld columns",
                        (long long)ldo, (long long)jb.cols);
    if (sl__mul(sl__mul((size_t)jb.rows, (size_t)ldo), 4) == SIZE_MAX)
        return sl__fail(err, SL_EINVAL, "matrix: %lld x %lld output overflows size_t",
                        (long long)jb.rows, (long long)ldo);
    jb.out = out;
    jb.ldo = ldo;
    jb.stream = (size_t)jb.rows * (size_t)ldo * 4 > sl__stream_min; /* fits: checked above */
    if ((st = start(&jb, x, y, &pa, &pb, err)) == SL_OK)
        st = compute(&jb, err);
    finish_stats(&jb, sl__now());
    teardown(&jb, &pa, &pb);
    return st;
}

/* The merged lists into the caller's arrays, rows shared out in chunks. */
typedef struct finish_all {
    sl_topk *tk;
    _Atomic int64_t next;
} finish_all;

static void finish_worker(void *arg, int tid)
{
    (void)tid;
    finish_all *fa = arg;
    for (;;) {
        int64_t r0 = atomic_fetch_add(&fa->next, 256);
        if (r0 >= fa->tk->rows)
            break;
        sl__topk_finish(fa->tk, r0, r0 + 256 < fa->tk->rows ? r0 + 256 : fa->tk->rows);
    }
}

sl_status sl_knn(const sl_view *x, const sl_view *q, int64_t k, float *sims, int64_t *idx,
                 const sl_options *opt, sl_error *err)
{
    job jb;
    sl_prepared pa = {0}, pb = {0};
    sl_status st = setup(&jb, OP_KNN, x, q, k, 0, opt, err);
    if (st != SL_OK)
        return st;
    if (k < 1)
        return sl__fail(err, SL_EINVAL, "knn: k = %lld: need k >= 1", (long long)k);
    if (!sims || !idx)
        return sl__fail(err, SL_EINVAL, "knn: output pointer is NULL");
    if (sl__mul(sl__mul((size_t)jb.rows, (size_t)k), 12) == SIZE_MAX)
        return sl__fail(err, SL_EINVAL, "knn: %lld x k = %lld results overflow size_t",
                        (long long)jb.rows, (long long)k);
    if (jb.cols > SL_TOPK_MAX_INDEX + 1)
        return sl__fail(err, SL_EINVAL, "knn: %lld vectors to search: at most %lld",
                        (long long)jb.cols, SL_TOPK_MAX_INDEX + 1);
    jb.k = k;
    set_bcap(&jb);
    if ((st = start(&jb, x, q, &pa, &pb, err)) != SL_OK)
        goto done;
    for (int t = 0; t < jb.nthreads; t++) /* thread 0's lists end in the caller's arrays */
        if (!sl__topk_init(&jb.ts[t].topk, jb.rows, k, t ? NULL : sims, t ? NULL : idx)) {
            st = sl__fail(err, SL_ENOMEM, "knn: out of memory for top-k lists");
            goto done;
        }
    if (jb.hk && k < SL_TOPK_RESERVOIR_K && (jb.alpha = lp_alpha(&jb)) < 1 &&
        !(jb.redo = sl__alloc(sl__mul((size_t)jb.rows, sizeof *jb.redo)))) {
        st = sl__fail(err, SL_ENOMEM, "knn: out of memory for the rows to check");
        goto done;
    }
    if ((st = compute(&jb, err)) != SL_OK)
        goto done;
    double t0 = sl__now();
    for (int t = 1; t < jb.nthreads; t++)
        sl__topk_merge(&jb.ts[0].topk, &jb.ts[t].topk);
    if (jb.lowp) {
        settle_all sa = {&jb, 0, NULL, NULL, mailbox_slots(&jb)};
        if (sa.mm) { /* without the room, the pairs are re-scored twice */
            sa.mbox = sl__alloc(sl__mul(sl__mul((size_t)jb.rows, (size_t)sa.mm), 8));
            sa.mn = sl__alloc(sl__mul((size_t)jb.rows, 4));
            if (sa.mbox && sa.mn) {
                memset((void *)sa.mbox, 0xff, (size_t)jb.rows * (size_t)sa.mm * 8);
                memset((void *)sa.mn, 0, (size_t)jb.rows * 4);
            } else {
                sl__free((void *)sa.mbox);
                sl__free((void *)sa.mn);
                sa.mbox = NULL;
                sa.mn = NULL;
            }
        }
        sl__run(jb.nthreads, settle_worker, &sa);
        sl__free((void *)sa.mbox);
        sl__free((void *)sa.mn);
        if (jb.status == SL_OK && atomic_load(&jb.nredo)) {
            redo_all ra = {&jb, 0};
            sl__run(jb.nthreads, redo_worker, &ra);
        }
        if (jb.status != SL_OK) {
            st = sl__fail(err, jb.status, "%s", jb.message);
            goto done;
        }
        lowp_stats(&jb);
    }
    finish_all fa = {&jb.ts[0].topk, 0};
    sl__run(jb.nthreads, finish_worker, &fa);
    finish_stats(&jb, t0);
done:
    teardown(&jb, &pa, &pb);
    return st;
}

static int cmp_j(const void *a, const void *b)
{
    int64_t x = ((const pair *)a)->j, y = ((const pair *)b)->j;
    return (x > y) - (x < y);
}

sl_status sl_join(const sl_view *x, const sl_view *y, double tau, sl_pairs *out,
                  const sl_options *opt, sl_error *err)
{
    job jb;
    sl_prepared pa = {0}, pb = {0};
    if (out)
        memset(out, 0, sizeof *out);
    sl_status st = setup(&jb, OP_JOIN, x, y, 1, tau, opt, err);
    if (st != SL_OK)
        return st;
    if (!out)
        return sl__fail(err, SL_EINVAL, "join: output pointer is NULL");
    if (!(tau >= -1.0 && tau <= 1.0))
        return sl__fail(err, SL_EINVAL, "join: tau = %g: need -1 <= tau <= 1", tau);
    jb.tau = (float)tau;
    if ((float)jb.tau < tau) /* never round tau down: no pair below tau may pass */
        jb.tau = nextafterf(jb.tau, 2.0f);
    int64_t *count = NULL;
    pair *sorted = NULL;
    if ((st = start(&jb, x, y, &pa, &pb, err)) != SL_OK || (st = compute(&jb, err)) != SL_OK)
        goto done;
    lowp_stats(&jb);
    double t0 = sl__now();
    /* Counting sort by i, then each row's run by j. */
    size_t total = 0, rows = (size_t)jb.rows;
    for (int t = 0; t < jb.nthreads; t++)
        total += jb.ts[t].npairs;
    count = calloc(rows + 1, sizeof *count);
    sorted = malloc((total ? total : 1) * sizeof *sorted);
    out->i = malloc((total ? total : 1) * sizeof *out->i);
    out->j = malloc((total ? total : 1) * sizeof *out->j);
    out->sim = malloc((total ? total : 1) * sizeof *out->sim);
    if (!count || !sorted || !out->i || !out->j || !out->sim) {
        st = sl__fail(err, SL_ENOMEM, "join: out of memory for %zu pairs", total);
        goto done;
    }
    for (int t = 0; t < jb.nthreads; t++)
        for (size_t p = 0; p < jb.ts[t].npairs; p++)
            count[jb.ts[t].pairs[p].i + 1]++;
    for (size_t r = 0; r < rows; r++)
        count[r + 1] += count[r];
    for (int t = 0; t < jb.nthreads; t++) {
        for (size_t p = 0; p < jb.ts[t].npairs; p++)
            sorted[count[jb.ts[t].pairs[p].i]++] = jb.ts[t].pairs[p];
        free(jb.ts[t].pairs);
        jb.ts[t].pairs = NULL;
    }
    for (size_t r = 0, begin = 0; r < rows; r++) { /* count[r] is now the end of row r */
        size_t end = (size_t)count[r];
        int ordered = 1;
        for (size_t p = begin + 1; p < end && ordered; p++)
            ordered = sorted[p - 1].j < sorted[p].j;
        if (!ordered)
            qsort(sorted + begin, end - begin, sizeof *sorted, cmp_j);
        begin = end;
    }
    for (size_t p = 0; p < total; p++) {
        out->i[p] = sorted[p].i;
        out->j[p] = sorted[p].j;
        out->sim[p] = sorted[p].s;
    }
    out->count = (int64_t)total;
    finish_stats(&jb, t0);
done:
    free(count);
    free(sorted);
    if (st != SL_OK)
        sl_pairs_free(out);
    teardown(&jb, &pa, &pb);
    return st;
}

void sl_pairs_free(sl_pairs *p)
{
    if (!p)
        return;
    free(p->i);
    free(p->j);
    free(p->sim);
    memset(p, 0, sizeof *p);
}

sl_status sl_plan(const char *op, const sl_view *x, const sl_view *y, int64_t k,
                  const sl_options *opt, size_t *bytes, sl_error *err)
{
    int o = -1;
    for (int i = 0; i < 3 && op; i++)
        if (!strcmp(op, op_names[i]))
            o = i;
    if (o < 0)
        return sl__fail(err, SL_EINVAL, "plan: unknown operation '%s'", op ? op : "(null)");
    if (!bytes)
        return sl__fail(err, SL_EINVAL, "plan: bytes pointer is NULL");
    job jb;
    sl_status st = setup(&jb, o, x, y, k > 0 ? k : 1, 0, opt, err);
    if (st != SL_OK)
        return st;
    jb.k = k > 0 ? k : 1;
    set_bcap(&jb);
    const sl_view *va = x, *vb = y ? y : x;
    if (o == OP_KNN && y) {
        va = y;
        vb = x;
    }
    *bytes = plan_bytes(&jb, va, vb);
    return SL_OK;
}
