/*
 * Top-k lists, in one of two forms chosen by k (internal.h):
 *
 *   a heap (k < SL_TOPK_RESERVOIR_K): per row a binary heap with the worst
 *   kept entry at the root, so that a candidate is compared with one value
 *   and, when it gets in, moves down log k levels;
 *
 *   a reservoir (larger k): per row room for SL_TOPK_SPARE * k entries,
 *   appended as they come; when the room is full the k best are selected
 *   (a partition, linear on average) and the rest dropped, and the filter
 *   becomes the k-th best. A heap's log k levels are each a dependent load,
 *   and at k = 100 they cost more than the tiles; the reservoir pays one
 *   store per entry and a partition per k of them.
 *
 * An entry is one 64-bit key: the similarity's bits, mapped so that
 * unsigned order is float order, above the complement of the index. Higher
 * key is better: higher similarity first, and among equal similarities the
 * lower index. That order is total, which makes every result independent
 * of the order candidates arrive in (and so of tiling and threads), and it
 * is one integer compare, where a (similarity, index) pair takes two with a
 * branch between them. Indices therefore fit 32 bits (sl_knn checks).
 *
 * The heap is padded to a complete tree (cap = 2^(depth+1) - 1 slots) whose
 * slots from k on hold the largest key, which no entry beats: a new root
 * then moves down exactly depth levels, each a select between the two
 * children with no branch on the data, instead of a mispredicted branch or
 * two per level.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define KEY_PAD UINT64_MAX

/* Heap order on [0, n): every entry at most its children. */
static void sift_down(uint64_t *h, int64_t n, int64_t pos)
{
    uint64_t v = h[pos];
    for (;;) {
        int64_t c = 2 * pos + 1;
        if (c >= n)
            break;
        c += c + 1 < n && h[c + 1] < h[c];
        if (h[c] >= v)
            break;
        h[pos] = h[c];
        pos = c;
    }
    h[pos] = v;
}

/* Quickselect with the median of three as the pivot: [0, m) of h[0, n)
 * end up the m largest. */
static void quickselect(uint64_t *h, int64_t n, int64_t m)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        uint64_t x;
#define SWAP(a, b) (x = h[a], h[a] = h[b], h[b] = x)
        if (h[mid] < h[lo])
            SWAP(mid, lo);
        if (h[hi] < h[lo])
            SWAP(hi, lo);
        if (h[mid] < h[hi])
            SWAP(mid, hi);
        /* h[hi] is now the median of the three: the pivot */
        uint64_t pv = h[hi];
        int64_t st = lo;
        /* Lomuto's partition without a branch on the comparison, which
         * would be mispredicted about half the time: every entry is
         * swapped with the first not known to beat the pivot, and that
         * boundary moves on when the entry beat it. [lo, st) beat the
         * pivot, [st, q) do not. */
        for (int64_t q = lo; q < hi; q++) {
            uint64_t v = h[q];
            h[q] = h[st];
            h[st] = v;
            st += v > pv;
        }
        SWAP(st, hi); /* the pivot, now at st */
#undef SWAP
        if (st == m || st + 1 == m)
            return;
        if (st > m)
            hi = st - 1;
        else
            lo = st + 1;
    }
}

/* Reorder h[0, n) so that [0, m) hold the m largest (in no order), m <= n.
 * Keys are distinct (a row never holds one index twice).
 *
 * The callers mostly hand over a list whose front is the m best of what it
 * held at the last selection, with new keys appended since (a reservoir
 * between two cuts). The least of the front is then a pivot that few keys
 * beat, so one pass that sets the keys at or above it apart leaves
 * quickselect a short list instead of the whole. The pass is right for any
 * front (the m keys of the front are at or above their least, so at least m
 * are set apart), and costs little when the guess is poor. It goes from the
 * back: the others are written back at the end, at or after the place just
 * read, and the few above the pivot to a side buffer, then to the front, so
 * no load waits on a store of the loop (a partition in place, swapping,
 * does: each swap reads the place the last one may have written). */
void sl__select_best(uint64_t *h, int64_t n, int64_t m)
{
    if (m <= 0 || m >= n)
        return;
    enum { SIDE = 1024 };
    if (n > SIDE) {
        quickselect(h, n, m);
        return;
    }
    uint64_t side[SIDE], pv = h[0];
    for (int64_t q = 1; q < m; q++)
        pv = h[q] < pv ? h[q] : pv;
    int64_t a = 0, w = n - 1;
    for (int64_t q = n - 1; q >= 0; q--) {
        uint64_t v = h[q];
        int up = v >= pv;
        side[a] = v;
        h[w] = v;
        a += up;
        w -= !up;
    }
    memcpy(h, side, (size_t)a * sizeof *h);
    if (a > m)
        quickselect(h, a, m);
}

static int64_t list_cap(int64_t k)
{
    return k < SL_TOPK_RESERVOIR_K ? ((int64_t)2 << sl__heap_depth(k)) - 1 : SL_TOPK_SPARE * k;
}

int sl__topk_init(sl_topk *t, int64_t rows, int64_t k, float *out_sim, int64_t *out_idx)
{
    memset(t, 0, sizeof *t);
    t->rows = rows;
    t->k = k;
    t->cap = list_cap(k);
    t->depth = sl__heap_depth(k);
    t->out_sim = out_sim;
    t->out_idx = out_idx;
    size_t n = sl__mul((size_t)rows, (size_t)t->cap);
    t->key = sl__alloc(sl__mul(n, sizeof *t->key));
    t->count = sl__alloc((size_t)rows * sizeof *t->count);
    t->thr = sl__alloc((size_t)rows * sizeof *t->thr);
    if (!t->key || !t->count || !t->thr)
        return 0;
    if (k < SL_TOPK_RESERVOIR_K) /* the padding; the rest is written before it is read */
        for (int64_t r = 0; r < rows; r++)
            for (int64_t q = k; q < t->cap; q++)
                t->key[r * t->cap + q] = KEY_PAD;
    memset(t->count, 0, (size_t)rows * sizeof *t->count);
    for (int64_t r = 0; r < rows; r++)
        t->thr[r] = -INFINITY;
    return 1;
}

size_t sl__topk_bytes(int64_t rows, int64_t k)
{
    size_t lists = sl__mul(sl__mul((size_t)rows, (size_t)list_cap(k)), sizeof(uint64_t));
    return sl__add(lists, sl__mul((size_t)rows, sizeof(int64_t) + sizeof(float)));
}

void sl__topk_free(sl_topk *t)
{
    sl__free(t->key);
    sl__free(t->count);
    sl__free(t->thr);
    memset(t, 0, sizeof *t);
}

static inline void raise_thr(sl_topk *t, int64_t r, uint64_t kth)
{
    float f = sl__key_sim(kth);
    if (f > t->thr[r])
        t->thr[r] = f;
}

/* A full reservoir: keep the k best, and filter by the k-th of them. */
static int64_t shrink(sl_topk *t, int64_t r)
{
    int64_t k = t->k;
    uint64_t *h = t->key + r * t->cap;
    sl__select_best(h, t->cap, k);
    uint64_t kth = h[0]; /* after the selection: the k-th best of the k kept */
    for (int64_t q = 1; q < k; q++)
        kth = h[q] < kth ? h[q] : kth;
    raise_thr(t, r, kth);
    return k;
}

static void push_key(sl_topk *t, int64_t r, uint64_t v)
{
    int64_t k = t->k, n = t->count[r];
    uint64_t *h = t->key + r * t->cap;
    if (k >= SL_TOPK_RESERVOIR_K) { /* a reservoir */
        h[n] = v;
        t->count[r] = ++n == t->cap ? shrink(t, r) : n;
        return;
    }
    if (n < k) {
        int64_t pos = n;
        while (pos > 0 && h[(pos - 1) / 2] > v) { /* sift up */
            h[pos] = h[(pos - 1) / 2];
            pos = (pos - 1) / 2;
        }
        h[pos] = v;
        t->count[r] = ++n;
        if (n == k)
            raise_thr(t, r, h[0]);
        return;
    }
    if (v <= h[0])
        return; /* a tie with the root that loses on index */
    /* The new entry replaces the root and moves down to its level: the
     * padded tree has two children at every level above the last. */
    int64_t pos = 0;
    for (int64_t l = 0; l < t->depth; l++) {
        int64_t c = 2 * pos + 1;
        uint64_t a = h[c], b = h[c + 1];
        int right = b < a, down = (right ? b : a) < v;
        h[pos] = down ? (right ? b : a) : h[pos];
        pos = down ? c + right : pos;
    }
    h[pos] = v;
    raise_thr(t, r, h[0]);
}

void sl__topk_push(sl_topk *t, int64_t r, float sv, int64_t j)
{
    push_key(t, r, sl__key_of(sv, j));
}

void sl__topk_finish(sl_topk *t, int64_t r0, int64_t r1)
{
    int64_t k = t->k;
    for (int64_t r = r0; r < r1; r++) {
        uint64_t *h = t->key + r * t->cap;
        int64_t n = t->count[r];
        if (k >= SL_TOPK_RESERVOIR_K) { /* a reservoir: the k best, then into heap order */
            if (n > k) {
                sl__select_best(h, n, k);
                n = k;
            }
            for (int64_t p = n / 2 - 1; p >= 0; p--)
                sift_down(h, n, p);
        }
        /* Heap sort: repeatedly move the worst to the end. */
        for (int64_t end = n - 1; end > 0; end--) {
            uint64_t x = h[0];
            h[0] = h[end];
            h[end] = x;
            sift_down(h, end, 0);
        }
        float *os = t->out_sim + r * k;
        int64_t *oi = t->out_idx + r * k;
        for (int64_t p = 0; p < n; p++) {
            os[p] = sl__key_sim(h[p]);
            oi[p] = sl__key_idx(h[p]);
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
        const uint64_t *h = src->key + r * src->cap;
        for (int64_t p = 0; p < src->count[r]; p++)
            if (sl__key_sim(h[p]) >= dst->thr[r])
                push_key(dst, r, h[p]);
    }
}

float sl__topk_kth(const sl_topk *t, int64_t r)
{
    return t->count[r] == t->k ? sl__key_sim(t->key[r * t->cap]) : -INFINITY;
}

void sl__topk_clear(sl_topk *t, int64_t r)
{
    t->count[r] = 0; /* a heap's padding past k stays as it is */
    t->thr[r] = -INFINITY;
}
