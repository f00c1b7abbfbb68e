/*
 * Private declarations shared by the core files (prefix sl__). Nothing here
 * depends on an ISA: the core is built for baseline x86-64.
 */
#ifndef SL_INTERNAL_H
#define SL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dispatch.h"
#include "kernels.h"
#include "simladder.h"

/* Set *err (when non-NULL) and return code. printf-style message. */
sl_status sl__fail(sl_error *err, sl_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 64-byte aligned allocation, zeroed or not; NULL on failure or overflow. */
void *sl__alloc(size_t bytes);
void sl__free(void *p);

/* a * b, or SIZE_MAX on overflow; sl__add likewise. */
size_t sl__mul(size_t a, size_t b);
size_t sl__add(size_t a, size_t b);

double sl__now(void);

/* Run fn(arg, tid) on `threads` threads, the caller being tid 0; returns how
 * many ran (fewer when a thread could not be started). Work must be claimed
 * dynamically, so that the result does not depend on that number. */
int sl__run(int threads, void (*fn)(void *arg, int tid), void *arg);

/* ---- prepare: validate and convert a view into a kernel operand ---- */

typedef struct sl_prepared {
    sl_operand op;
    void *owned;    /* freed by sl__prepared_free */
    void *owned_lp; /* the quantised panels, likewise */
} sl_prepared;

/* Checks the view's shape and fields (not its values). which: 0 x, 1 y/queries. */
sl_status sl__view_check(const sl_view *v, const char *name, sl_error *err);
/* Bytes sl__prepare will allocate for this view and input kind (upper bound). */
size_t sl__prepare_bytes(const sl_view *v, int input);
/* Reads every value once: rejects NaN/Inf (naming the first one in row-major
 * order), then builds the operand. */
sl_status sl__prepare(const sl_view *v, int input, int which, int threads, sl_prepared *p,
                      sl_error *err);
/* The same with the ISA cap (as for sl__kernel_resolve; NULL: $SL_ISA) that
 * picks the quantiser of the reduced-precision inputs; sl__prepare passes
 * NULL. Any cap gives the same operand, only sooner or later. */
sl_status sl__prepare_isa(const sl_view *v, int input, int which, int threads, const char *isa,
                          sl_prepared *p, sl_error *err);
void sl__prepared_free(sl_prepared *p);

/* ---- quantise: the reduced-precision panels (quantise.c) ---- */

size_t sl__quantise_bytes(int64_t n, int64_t d, int input);
/* Allocate p's quantised panels and per-row quantities (op.n, op.d set);
 * then quantise each unit row x into them with the quantiser for the
 * job's features (any thread, any order: rows are independent; every
 * quantiser gives the same bits), then take the maxima. prepare does all
 * three. */
sl_status sl__quantise_alloc(sl_prepared *p, int input, sl_error *err);
sl_quantise_fn *sl__quantiser(unsigned features);
/* The unit-row functions for these CPU features (prepare.c). */
sl_unit_fns sl__unit_fns(unsigned features);
void sl__quantise_row(const sl_operand *op, int input, int64_t r, const float *x,
                      sl_quantise_fn *fn);
int sl__int16_levels(int64_t d);
void sl__quantise_finish(sl_operand *op);

/* ---- top-k lists ---- */

/* Per row the k best (sim, idx) so far, in one of two forms (topk.c): a
 * binary heap of at most k, worst entry at the root (k <
 * SL_TOPK_RESERVOIR_K), or a reservoir of up to SL_TOPK_SPARE * k entries
 * in no order, cut back to the k best whenever it fills; "worse" is lower
 * sim, or equal sim and higher idx. Entries are 64-bit keys that order the
 * same way, so idx must fit 32 bits. thr[r] is the filter a candidate of
 * row r must pass (s >= thr[r]), so that most are dropped without looking
 * at the list: -inf at first, then a lower bound of the row's final k-th
 * best: the heap's root once it is full, the reservoir's k-th best when it
 * was last cut back, or a higher floor the caller raised it to (such as
 * another thread's). A push never lowers it. */
#ifndef SL_TOPK_RESERVOIR_K
#define SL_TOPK_RESERVOIR_K 32
#endif
#ifndef SL_TOPK_SPARE
#define SL_TOPK_SPARE 2
#endif
_Static_assert(SL_TOPK_SPARE >= 2, "a reservoir holds more than k entries a row");
#define SL_TOPK_MAX_INDEX 0xffffffffLL /* columns a list can index */
typedef struct sl_topk {
    int64_t rows, k;
    int64_t cap, depth; /* slots a row has (a heap's padded to a full tree); its levels */
    uint64_t *key;      /* rows x cap */
    int64_t *count;
    float *thr;
    float *out_sim; /* where finish writes rows x k, best first */
    int64_t *out_idx;
} sl_topk;

/* A list entry as one key (topk.c): s's bits mapped to unsigned order above
 * the complement of j, so that a higher key is a higher s, or an equal s
 * and a lower j. */
static inline uint64_t sl__key_of(float s, int64_t j)
{
    float z = s + 0.0f; /* -0 becomes +0: the two compare equal */
    uint32_t u;
    memcpy(&u, &z, sizeof u);
    u = u >> 31 ? ~u : u | 0x80000000u;
    return (uint64_t)u << 32 | (uint32_t) ~(uint32_t)j;
}

static inline float sl__key_sim(uint64_t key)
{
    uint32_t u = (uint32_t)(key >> 32);
    u = u >> 31 ? u & 0x7fffffffu : ~u;
    float s;
    memcpy(&s, &u, sizeof s);
    return s;
}

static inline int64_t sl__key_idx(uint64_t key)
{
    return (int64_t)(uint32_t) ~(uint32_t)key;
}

/* Levels below the root of a complete binary tree of at least k slots. */
static inline int64_t sl__heap_depth(int64_t k)
{
    int64_t depth = 0;
    while (((int64_t)2 << depth) - 1 < k)
        depth++;
    return depth;
}

/* Reorder h[0, n) so that [0, m) hold the m largest keys (in no order). */
void sl__select_best(uint64_t *h, int64_t n, int64_t m);

/* Lists for rows x k; out_sim/out_idx (rows x k) receive the result at
 * finish; NULL for a list that is only ever merged into another. 0 when out
 * of memory (free it anyway). */
int sl__topk_init(sl_topk *t, int64_t rows, int64_t k, float *out_sim, int64_t *out_idx);
/* What init allocates, for the memory plan. */
size_t sl__topk_bytes(int64_t rows, int64_t k);
void sl__topk_free(sl_topk *t);
/* Offer (s, j) to row r, 0 <= j <= SL_TOPK_MAX_INDEX. Call only when s >=
 * thr[r]. */
void sl__topk_push(sl_topk *t, int64_t r, float s, int64_t j);
/* Ask for row r's list ahead of its pushes: a heap's slots (two lines at
 * k < 16), or where a reservoir's next entry goes. */
static inline void sl__topk_prefetch(const sl_topk *t, int64_t r)
{
    const uint64_t *h = t->key + r * t->cap;
    if (t->k >= SL_TOPK_RESERVOIR_K)
        h += t->count[r];
    __builtin_prefetch(h, 1);
    __builtin_prefetch(h + 8, 1);
}
/* Write rows [r0, r1) best first to out; pad with (-inf, -1). */
void sl__topk_finish(sl_topk *t, int64_t r0, int64_t r1);
/* Move every entry of src into dst. */
void sl__topk_merge(sl_topk *dst, const sl_topk *src);
/* Row r's k-th best similarity, or -inf while it holds fewer than k
 * (heap lists only: k < SL_TOPK_RESERVOIR_K). */
float sl__topk_kth(const sl_topk *t, int64_t r);
/* Empty row r's list and its filter. */
void sl__topk_clear(sl_topk *t, int64_t r);

/* The reduced-precision bound e for rows with |x~| = a1, |x - x~| = r1 and
 * a2, r2 (docs/ACCURACY.md), plus the constant c; job.c and choose.c
 * evaluate it in this one order. */
static inline float sl__lp_bound(float a1, float r1, float a2, float r2, float c)
{
    return a1 * r2 + r1 * a2 + r1 * r2 + c;
}

/* ---- job ---- */

/* Matrix outputs of more bytes than this are stored past the caches
 * (non-temporal stores, job.c); tests set it to 0 to run that path on
 * small shapes. */
extern size_t sl__stream_min;

/* The reduced-precision knn's speculative floors (job.c): negative, the
 * job's probe sets how far they go; 0 to 1, tests fix it (1: none). */
extern float sl__lp_alpha;

/* ---- choose: auto between fp32 and the reduced-precision rungs ---- */

/* op: 1 knn, 2 join. rows/cols: the tile rows' and columns' views. Returns
 * fp32 or a reduced-precision kernel predicted to be faster on this data. */
const sl_kernel *sl__choose(int op, const sl_view *rows, const sl_view *cols, int self, int sym,
                            int64_t k, double tau, const sl_kernel *fp32, const char *isa);

#endif
