/*
 * Top-k lists, in one of two forms chosen by k (internal.h):
 *
 *   a heap (k < SL_TOPK_RESERVOIR_K): per row a binary heap with the worst
 *   kept entry at the root, so that a candidate is compared with one value
 *   and, when it gets in, costs log k moves;
 *
 *   a reservoir (larger k): per row room for SL_TOPK_SPARE * k entries,
 *   appended as they come; when the room is full the k best are selected
 *   (a partition, linear on average) and the rest dropped, and the filter
 *   becomes the k-th best. A heap's log k moves are each a dependent load,
 *   and at k = 100 they cost more than the tiles; the reservoir pays one
 *   store per entry and a partition per k of them.
 *
 * The order is total: higher similarity first, and among equal
 * similarities the lower index, which makes every result independent of the
 * order candidates arrive in (and so of tiling and threads). Both forms end
 * with the same k entries.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* a is worse than b */
static inline int worse(float sa, int64_t ia, float sb, int64_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

static void sift_down(float *s, int64_t *ix, int64_t n, int64_t pos)
{
    float sv = s[pos];
    int64_t iv = ix[pos];
    for (;;) {
        int64_t c = 2 * pos + 1;
        if (c >= n)
            break;
        if (c + 1 < n && worse(s[c + 1], ix[c + 1], s[c], ix[c]))
            c++;
        if (!worse(s[c], ix[c], sv, iv))
            break;
        s[pos] = s[c];
        ix[pos] = ix[c];
        pos = c;
    }
    s[pos] = sv;
    ix[pos] = iv;
}

static inline void swap_entry(float *s, int64_t *ix, int64_t a, int64_t b)
{
    float ts = s[a];
    int64_t ti = ix[a];
    s[a] = s[b];
    ix[a] = ix[b];
    s[b] = ts;
    ix[b] = ti;
}

/* Reorder entries [0, n) so that [0, m) hold the m best (in no order), m <=
 * n: quickselect with the median of three as the pivot. Entries are
 * distinct in the total order (a row never holds one index twice). */
static void select_best(float *s, int64_t *ix, int64_t n, int64_t m)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (worse(s[mid], ix[mid], s[lo], ix[lo]))
            swap_entry(s, ix, mid, lo);
        if (worse(s[hi], ix[hi], s[lo], ix[lo]))
            swap_entry(s, ix, hi, lo);
        if (worse(s[mid], ix[mid], s[hi], ix[hi]))
            swap_entry(s, ix, mid, hi);
        /* s[hi] is now the median of the three: the pivot */
        float ps = s[hi];
        int64_t pi = ix[hi], st = lo;
        /* Lomuto's partition without a branch on the comparison, which
         * would be mispredicted about half the time: every entry is
         * swapped with the first not known to beat the pivot, and that
         * boundary moves on when the entry beat it. [lo, st) beat the
         * pivot, [st, q) do not. */
        for (int64_t q = lo; q < hi; q++) {
            float xs = s[q];
            int64_t xi = ix[q];
            int beats = (xs > ps) | ((xs == ps) & (xi < pi));
            s[q] = s[st];
            ix[q] = ix[st];
            s[st] = xs;
            ix[st] = xi;
            st += beats;
        }
        swap_entry(s, ix, st, hi); /* the pivot, now at st */
        if (st == m || st + 1 == m)
            return;
        if (st > m)
            hi = st - 1;
        else
            lo = st + 1;
    }
}

int sl__topk_init(sl_topk *t, int64_t rows, int64_t k, float *out_sim, int64_t *out_idx)
{
    memset(t, 0, sizeof *t);
    t->rows = rows;
    t->k = k;
    t->cap = k < SL_TOPK_RESERVOIR_K ? k : SL_TOPK_SPARE * k;
    t->out_sim = out_sim;
    t->out_idx = out_idx;
    size_t n = sl__mul((size_t)rows, (size_t)t->cap);
    if (t->cap == k && out_sim) { /* a heap sorts in place: the output is the storage */
        t->sim = out_sim;
        t->idx = out_idx;
    } else {
        t->sim = t->own_sim = sl__alloc(sl__mul(n, sizeof *t->sim));
        t->idx = t->own_idx = sl__alloc(sl__mul(n, sizeof *t->idx));
    }
    t->count = sl__alloc((size_t)rows * sizeof *t->count);
    t->thr = sl__alloc((size_t)rows * sizeof *t->thr);
    if (!t->sim || !t->idx || !t->count || !t->thr)
        return 0;
    memset(t->count, 0, (size_t)rows * sizeof *t->count);
    for (int64_t r = 0; r < rows; r++)
        t->thr[r] = -INFINITY;
    return 1;
}

size_t sl__topk_bytes(int64_t rows, int64_t k, int has_out)
{
    size_t cap = (size_t)(k < SL_TOPK_RESERVOIR_K ? k : SL_TOPK_SPARE * k);
    size_t lists = has_out && cap == (size_t)k ? 0 : sl__mul(sl__mul((size_t)rows, cap), 12);
    return sl__add(lists, sl__mul((size_t)rows, 12));
}

void sl__topk_free(sl_topk *t)
{
    sl__free(t->own_sim);
    sl__free(t->own_idx);
    sl__free(t->count);
    sl__free(t->thr);
    memset(t, 0, sizeof *t);
}

/* A full reservoir: keep the k best, and filter by the k-th of them. */
static int64_t shrink(sl_topk *t, int64_t r)
{
    int64_t k = t->k;
    float *s = t->sim + r * t->cap;
    int64_t *ix = t->idx + r * t->cap;
    select_best(s, ix, t->cap, k);
    float kth = s[0];
    for (int64_t q = 1; q < k; q++)
        kth = s[q] < kth ? s[q] : kth;
    if (kth > t->thr[r])
        t->thr[r] = kth;
    return k;
}

void sl__topk_push(sl_topk *t, int64_t r, float sv, int64_t j)
{
    int64_t k = t->k, n = t->count[r];
    float *s = t->sim + r * t->cap;
    int64_t *ix = t->idx + r * t->cap;
    if (t->cap > k) { /* a reservoir */
        s[n] = sv;
        ix[n] = j;
        t->count[r] = ++n == t->cap ? shrink(t, r) : n;
        return;
    }
    if (n < k) {
        int64_t pos = n;
        while (pos > 0) { /* sift up */
            int64_t parent = (pos - 1) / 2;
            if (!worse(sv, j, s[parent], ix[parent]))
                break;
            s[pos] = s[parent];
            ix[pos] = ix[parent];
            pos = parent;
        }
        s[pos] = sv;
        ix[pos] = j;
        t->count[r] = ++n;
        if (n == k && s[0] > t->thr[r])
            t->thr[r] = s[0];
        return;
    }
    if (!worse(s[0], ix[0], sv, j))
        return; /* a tie with the root that loses on index */
    s[0] = sv;
    ix[0] = j;
    sift_down(s, ix, k, 0);
    if (s[0] > t->thr[r])
        t->thr[r] = s[0];
}

void sl__topk_finish(sl_topk *t, int64_t r0, int64_t r1)
{
    int64_t k = t->k;
    for (int64_t r = r0; r < r1; r++) {
        float *s = t->sim + r * t->cap;
        int64_t *ix = t->idx + r * t->cap;
        int64_t n = t->count[r];
        if (t->cap > k) { /* a reservoir: the k best, then into heap order */
            if (n > k) {
                select_best(s, ix, n, k);
                n = k;
            }
            for (int64_t p = n / 2 - 1; p >= 0; p--)
                sift_down(s, ix, n, p);
        }
        /* Heap sort in place: repeatedly move the worst to the end. */
        for (int64_t end = n - 1; end > 0; end--) {
            swap_entry(s, ix, 0, end);
            sift_down(s, ix, end, 0);
        }
        float *os = t->out_sim + r * k;
        int64_t *oi = t->out_idx + r * k;
        if (os != s) {
            memcpy(os, s, (size_t)n * sizeof *os);
            memcpy(oi, ix, (size_t)n * sizeof *oi);
        }
        for (int64_t p = n; p < k; p++) {
            os[p] = -INFINITY;
            oi[p] = -1;
        }
    }
}

void sl__topk_merge(sl_topk *dst, const sl_topk *src)
{
    for (int64_t r = 0; r < src->rows; r++) {
        const float *s = src->sim + r * src->cap;
        const int64_t *ix = src->idx + r * src->cap;
        for (int64_t p = 0; p < src->count[r]; p++)
            if (s[p] >= dst->thr[r])
                sl__topk_push(dst, r, s[p], ix[p]);
    }
}
