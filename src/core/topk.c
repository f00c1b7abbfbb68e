/*
 * Top-k lists: one binary heap per row with the worst kept entry at the
 * root, so that a candidate is compared with one value and, when it gets in,
 * costs log k moves. The order is total: higher similarity first, and among
 * equal similarities the lower index, which makes every result independent
 * of the order candidates arrive in (and so of tiling and threads).
 */
#include <math.h>
#include <stdlib.h>

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

void sl__topk_push(sl_topk *t, int64_t r, float sv, int64_t j)
{
    int64_t k = t->k, n = t->count[r];
    float *s = t->sim + r * k;
    int64_t *ix = t->idx + r * k;
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

void sl__topk_finish(sl_topk *t)
{
    for (int64_t r = 0; r < t->rows; r++) {
        float *s = t->sim + r * t->k;
        int64_t *ix = t->idx + r * t->k;
        int64_t n = t->count[r];
        /* Heap sort in place: repeatedly move the worst to the end. */
        for (int64_t end = n - 1; end > 0; end--) {
            float ts = s[0];
            int64_t ti = ix[0];
            s[0] = s[end];
            ix[0] = ix[end];
            s[end] = ts;
            ix[end] = ti;
            sift_down(s, ix, end, 0);
        }
        for (int64_t p = n; p < t->k; p++) {
            s[p] = -INFINITY;
            ix[p] = -1;
        }
    }
}

void sl__topk_merge(sl_topk *dst, const sl_topk *src)
{
    for (int64_t r = 0; r < src->rows; r++) {
        const float *s = src->sim + r * src->k;
        const int64_t *ix = src->idx + r * src->k;
        for (int64_t p = 0; p < src->count[r]; p++)
            if (s[p] >= dst->thr[r])
                sl__topk_push(dst, r, s[p], ix[p]);
    }
}
