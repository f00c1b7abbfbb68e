/*
 * The reduced-precision quantiser (sl_quantise_fn in kernels.h): one body,
 * instantiated for AVX2 and for AVX-512 by the file that includes it, which
 * defines
 *
 *   QNT_NAME           the function this instantiates
 *   qd                 a vector of 8 doubles, and on it
 *   qd_zero()          all zeros
 *   qd_set1(v)         v in every lane
 *   qd_ps(x)           the 8 floats of an __m256, widened
 *   qd_epi32(q)        the 8 int32 of an __m256i, converted
 *   qd_add, qd_sub, qd_mul
 *   qd_sum(a)          the lanes added as halves to halves: (h, h + 4),
 *                      then (h, h + 2), then (0, 1)
 *   qd_to_ps(a)        the 8 doubles rounded to floats, as C's cast does
 *   QNT_UNIT           the prefix of the unit-row functions below
 *
 * Everything else is AVX2 on 8 floats at a time, which AVX-512 machines
 * run as well. The 16 partial sums of kernels.h are two qd per quantity:
 * elements k0 + [0, 8) of each block of 16 go to the first, k0 + [8, 16)
 * to the second; the two are added lane by lane, then qd_sum. That is the
 * order of the scalar reference in src/core/quantise.c, operation for
 * operation, so every path returns the same bits. The files are built
 * with -ffp-contract=off: a product fused into its sum would round
 * differently from the reference.
 *
 * Values come 16 at a time from x; the last partial block from a copy with
 * zeros after d (a zero adds exactly nothing to any of the sums, nor to
 * sum(q)), and words past it are zeros.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

/* The words of one block, to their places in the panel column. */
static inline void qnt_put4(uint32_t *out, __m128i w)
{
    out[0] = (uint32_t)_mm_cvtsi128_si32(w);
    out[SL_PANEL] = (uint32_t)_mm_extract_epi32(w, 1);
    out[2 * SL_PANEL] = (uint32_t)_mm_extract_epi32(w, 2);
    out[3 * SL_PANEL] = (uint32_t)_mm_extract_epi32(w, 3);
}

/* Two halves of 16-bit values (int32 lanes in range) as 8 words, in order:
 * the in-lane pack leaves words 0 1 4 5 | 2 3 6 7. */
static inline void qnt_put16(uint32_t *out, __m256i p)
{
    p = _mm256_permute4x64_epi64(p, 0xd8);
    qnt_put4(out, _mm256_castsi256_si128(p));
    qnt_put4(out + 4 * SL_PANEL, _mm256_extracti128_si256(p, 1));
}

/* max |x_k| on the bit patterns, as the reference does (a maximum is the
 * same whatever the order). */
static inline float qnt_max_abs(const float *x, int64_t d)
{
    const __m256i mask = _mm256_set1_epi32(0x7fffffff);
    __m256i m0 = _mm256_setzero_si256(), m1 = m0;
    int64_t k = 0;
    for (; k + 16 <= d; k += 16) {
        m0 = _mm256_max_epu32(m0,
                              _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + k)), mask));
        m1 = _mm256_max_epu32(
            m1, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + k + 8)), mask));
    }
    m0 = _mm256_max_epu32(m0, m1);
    __m128i h = _mm_max_epu32(_mm256_castsi256_si128(m0), _mm256_extracti128_si256(m0, 1));
    h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0xb1));
    uint32_t m = (uint32_t)_mm_cvtsi128_si32(h);
    for (; k < d; k++) {
        uint32_t u;
        memcpy(&u, x + k, 4);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    float f;
    memcpy(&f, &m, 4);
    return f;
}

typedef struct qnt_acc {
    qd a0, a1, b0, b1; /* |x~|^2 and |x - x~|^2: elements [0, 8) and [8, 16) of each block */
    __m256i s;         /* sum(q), by lanes */
} qnt_acc;

static inline void qnt_add(qd *a, qd *b, qd xt, qd dx)
{
    *a = qd_add(*a, qd_mul(xt, xt));
    *b = qd_add(*b, qd_mul(dx, dx));
}

/* Integer kinds: q = round(clamp(x / sigma, -L, L)), by the same float
 * operations as the reference: the product with 1 / sigma, the clamp, and
 * the round to nearest even of adding and taking off 1.5 * 2^23. */
static inline __m256i qnt_q(__m256 x, __m256 inv, __m256 lim)
{
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 t = _mm256_mul_ps(x, inv);
    t = _mm256_max_ps(_mm256_min_ps(t, lim), _mm256_sub_ps(_mm256_setzero_ps(), lim));
    return _mm256_cvttps_epi32(_mm256_sub_ps(_mm256_add_ps(t, magic), magic));
}

static inline void qnt_int_block(const float *x, __m256 inv, __m256 lim, qd sd, int per,
                                 uint32_t *out, qnt_acc *acc)
{
    __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8);
    __m256i q0 = qnt_q(x0, inv, lim), q1 = qnt_q(x1, inv, lim);
    acc->s = _mm256_add_epi32(acc->s, _mm256_add_epi32(q0, q1));
    qd t0 = qd_mul(sd, qd_epi32(q0)), t1 = qd_mul(sd, qd_epi32(q1));
    qnt_add(&acc->a0, &acc->b0, t0, qd_sub(qd_ps(x0), t0));
    qnt_add(&acc->a1, &acc->b1, t1, qd_sub(qd_ps(x1), t1));
    __m256i p = _mm256_packs_epi32(q0, q1); /* |q| <= L: no saturation */
    if (per == 4) {
        /* bytes: words 0 2 (repeated) | 1 3 (repeated) */
        p = _mm256_packs_epi16(p, p);
        qnt_put4(out,
                 _mm_unpacklo_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)));
    } else {
        qnt_put16(out, p);
    }
}

/* bf16: round to nearest even on the bits; x - x~ is exact in float (x~
 * is within a factor 2 of x, or both are subnormal), and so are both
 * squares in double. */
static inline __m256i qnt_bf16(__m256 x, qd *a, qd *b)
{
    __m256i u = _mm256_castps_si256(x);
    __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i h = _mm256_srli_epi32(
        _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), odd), 16);
    __m256 v = _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
    qnt_add(a, b, qd_ps(v), qd_ps(_mm256_sub_ps(x, v)));
    return h;
}

static inline void qnt_bf16_block(const float *x, uint32_t *out, qnt_acc *acc)
{
    __m256i h0 = qnt_bf16(_mm256_loadu_ps(x), &acc->a0, &acc->b0);
    __m256i h1 = qnt_bf16(_mm256_loadu_ps(x + 8), &acc->a1, &acc->b1);
    qnt_put16(out, _mm256_packus_epi32(h0, h1)); /* h <= 0xffff: no saturation */
}

/* kind: 0 for bf16, else the values a word (4 or 2): a constant in each
 * instance, so that every loop is specialised. */
static inline __attribute__((always_inline)) void qnt_row(const float *x, int64_t d, int kind,
                                                          __m256 inv, __m256 lim, qd sd,
                                                          uint32_t *out, int64_t ldw, qnt_acc *acc)
{
    int64_t k0 = 0, step = (kind ? 16 / kind : 8) * SL_PANEL; /* words of a block, apart */
    for (; k0 + 16 <= d; k0 += 16, out += step) {
        if (kind)
            qnt_int_block(x + k0, inv, lim, sd, kind, out, acc);
        else
            qnt_bf16_block(x + k0, out, acc);
    }
    if (k0 < d) {
        float tail[16] = {0};
        memcpy(tail, x + k0, (size_t)(d - k0) * sizeof *tail);
        if (kind)
            qnt_int_block(tail, inv, lim, sd, kind, out, acc);
        else
            qnt_bf16_block(tail, out, acc);
        k0 += 16;
        out += step;
    }
    for (int64_t w = k0 / (kind ? kind : 2); w < ldw; w++, out += SL_PANEL)
        *out = 0;
}

void QNT_NAME(const float *x, int64_t d, int input, int levels, uint32_t *out, int64_t ldw,
              sl_quantised *res)
{
    float sigma = 1, inv = 0;
    if (input != SL_IN_BF16) {
        sigma = qnt_max_abs(x, d) / (float)levels;
        inv = sigma > 0 ? 1.0f / sigma : 0;
        inv = inv < 0x1.fffffep127f ? inv : 0x1.fffffep127f;
    }
    __m256 vinv = _mm256_set1_ps(inv), lim = _mm256_set1_ps((float)levels);
    qd sd = qd_set1((double)sigma);
    qnt_acc acc = {qd_zero(), qd_zero(), qd_zero(), qd_zero(), _mm256_setzero_si256()};
    if (input == SL_IN_BF16)
        qnt_row(x, d, 0, vinv, lim, sd, out, ldw, &acc);
    else if (input == SL_IN_INT16)
        qnt_row(x, d, 2, vinv, lim, sd, out, ldw, &acc);
    else
        qnt_row(x, d, 4, vinv, lim, sd, out, ldw, &acc);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc.s), _mm256_extracti128_si256(acc.s, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    res->scale = sigma;
    res->qsum = _mm_cvtsi128_si32(s);
    res->nn = qd_sum(qd_add(acc.a0, acc.a1));
    res->rr = qd_sum(qd_add(acc.b0, acc.b1));
}

/* The unit rows every fp32 rung and the re-score read (sl_unit_fns in
 * kernels.h): the float64 sum of squares by the same 16 partials, and the
 * row times its scale in float64, rounded once to float: the bits of
 * src/core/prepare.c's scalar reference. */
#define QNT_CAT2(a, b) a##b
#define QNT_CAT(a, b) QNT_CAT2(a, b)

double QNT_CAT(QNT_UNIT, sumsq)(const float *x, int64_t d)
{
    qd a0 = qd_zero(), a1 = qd_zero();
    int64_t k = 0;
    for (; k + 16 <= d; k += 16) {
        qd x0 = qd_ps(_mm256_loadu_ps(x + k)), x1 = qd_ps(_mm256_loadu_ps(x + k + 8));
        a0 = qd_add(a0, qd_mul(x0, x0));
        a1 = qd_add(a1, qd_mul(x1, x1));
    }
    if (k < d) {
        float tail[16] = {0};
        memcpy(tail, x + k, (size_t)(d - k) * sizeof *tail);
        qd x0 = qd_ps(_mm256_loadu_ps(tail)), x1 = qd_ps(_mm256_loadu_ps(tail + 8));
        a0 = qd_add(a0, qd_mul(x0, x0));
        a1 = qd_add(a1, qd_mul(x1, x1));
    }
    return qd_sum(qd_add(a0, a1));
}

static inline __m256 qnt_unit8(const float *x, qd s)
{
    return qd_to_ps(qd_mul(qd_ps(_mm256_loadu_ps(x)), s));
}

void QNT_CAT(QNT_UNIT, row)(const float *x, int64_t d, double scale, float *out)
{
    qd s = qd_set1(scale);
    int64_t k = 0;
    for (; k + 8 <= d; k += 8)
        _mm256_storeu_ps(out + k, qnt_unit8(x + k, s));
    for (; k < d; k++)
        out[k] = (float)(x[k] * scale);
}

/* Eight rows' 8 values, v[q] = row q, into 8 columns: v[c] = column c. */
static inline void qnt_transpose8(__m256 v[8])
{
    __m256 t[8], u[8];
    for (int q = 0; q < 8; q += 2) {
        t[q] = _mm256_unpacklo_ps(v[q], v[q + 1]);
        t[q + 1] = _mm256_unpackhi_ps(v[q], v[q + 1]);
    }
    for (int q = 0; q < 8; q += 4) {
        u[q] = _mm256_shuffle_ps(t[q], t[q + 2], 0x44);
        u[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], 0xee);
        u[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0x44);
        u[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0xee);
    }
    for (int q = 0; q < 4; q++) {
        v[q] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x20);
        v[q + 4] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x31);
    }
}

void QNT_CAT(QNT_UNIT, panel)(const float *const *x, const double *scale, int64_t d, float *out)
{
    int64_t k = 0;
    for (; k + 8 <= d; k += 8)
        for (int h = 0; h < SL_PANEL; h += 8) {
            __m256 v[8];
            for (int q = 0; q < 8; q++)
                v[q] = qnt_unit8(x[h + q] + k, qd_set1(scale[h + q]));
            qnt_transpose8(v);
            for (int c = 0; c < 8; c++)
                _mm256_storeu_ps(out + (k + c) * SL_PANEL + h, v[c]);
        }
    for (; k < d; k++)
        for (int q = 0; q < SL_PANEL; q++)
            out[k * SL_PANEL + q] = (float)(x[q][k] * scale[q]);
}
