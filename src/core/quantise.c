/*
 * Quantised packing for the reduced-precision rungs (c6 bf16, c7 int8,
 * int7 and int16): once per job, each unit row x (float32, as prepared for
 * the fp32 rungs) becomes x~ in the 32-bit-word panels the blocked
 * micro-kernels read (src/kernels/kernels.h has the layout), together with
 * what the error bound needs: |x~| and |x - x~|, evaluated in float64 from
 * the values actually stored and rounded up. docs/ACCURACY.md derives the
 * bound that the job layer builds from them.
 *
 * bf16 rounds each value to nearest even. int8, int7 and int16 scale each
 * row by its own step sigma = max|x| / L (L = 127, 63, or for int16 the
 * largest that keeps d L^2 under 2^31) and round x / sigma to the nearest
 * integer; a row of zeros gets sigma = 0 and q = 0.
 *
 * The per-row work (sl_quantise_fn, kernels.h) runs in the widest ISA the
 * job may use, from src/kernels/quantise_avx2.c or quantise_avx512.c; each
 * returns the same bits as the scalar reference here (tests/test_lowp.c
 * checks it), so a job's answer, its bound and its statistics do not depend
 * on the machine.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Round to the float at or above x (x >= 0), then leave room for the
 * handful of float32 roundings the job layer makes when it evaluates the
 * bound from these values (docs/ACCURACY.md). */
static float round_up(double x)
{
    float f = (float)x;
    if ((double)f < x)
        f = nextafterf(f, INFINITY);
    return f * (1.0f + 0x1p-18f);
}

/* int16: the largest L with d L^2 < 2^31, so that every partial sum of d
 * products of two values in [-L, L] fits an int32 (and each vpmaddwd pair,
 * 2 L^2, does too); at most 32,767. 1,672 at d = 768. */
int sl__int16_levels(int64_t d)
{
    double L = floor(sqrt(2147483647.0 / (double)(d > 0 ? d : 1)));
    while (L > 1 && L * L * (double)d >= 2147483648.0)
        L--;
    return L > 32767 ? 32767 : (int)L;
}

/* max |x_k| over finite x, on the bit patterns (sign cleared, the order of
 * non-negative floats is that of their bits), in 16 lanes so that the
 * compiler vectorises it without one long chain of compares. */
static float max_abs(const float *x, int64_t d)
{
    int32_t m[16] = {0}; /* sign cleared: the signed order is the unsigned one */
    int64_t k = 0;
    for (; k + 16 <= d; k += 16)
        for (int h = 0; h < 16; h++) {
            int32_t u;
            memcpy(&u, x + k + h, 4);
            u &= 0x7fffffff;
            m[h] = u > m[h] ? u : m[h];
        }
    for (; k < d; k++) {
        int32_t u;
        memcpy(&u, x + k, 4);
        u &= 0x7fffffff;
        m[0] = u > m[0] ? u : m[0];
    }
    for (int h = 1; h < 16; h++)
        m[0] = m[h] > m[0] ? m[h] : m[0];
    float f;
    memcpy(&f, &m[0], 4);
    return f;
}

/* The scalar quantiser, the reference for the vector ones
 * (src/kernels/quantise.h), which do these operations in this order on 8
 * or 16 lanes at once: a block of 16 values at a time, element k0 + h into
 * partial sum h, the last partial block padded with zeros (which add
 * exactly nothing), the words past it zeros. The blocks' inner loops are
 * written so that the compiler can vectorise them without reordering
 * anything.
 *
 * bf16: each value rounded on its own to nearest even; x - x~ is exact in
 * float (x~ is within a factor 2 of x, or both are subnormal), and both
 * squares are exact in double. int8/int7/int16 (per = 4, 4 and 2 values a
 * word): q = round(x / sigma), computed as x * (1 / sigma) in float,
 * clamped, and rounded to nearest even by adding and taking off 1.5 * 2^23
 * (|t| <= L < 2^22); any integer q would be correct, since the norms are of
 * what is stored. 1 / sigma is capped at FLT_MAX (sigma below 2^-128, on
 * no unit row) so that no product is NaN. */
enum { QLANES = 16 };
typedef struct qsums {
    double a[QLANES], b[QLANES];
    int64_t sum;
} qsums;

/* One block of 16 values into its words (kind: 0 for bf16, else the values
 * a word). */
static inline __attribute__((always_inline)) void
quantise_block(const float *x, int kind, float sigma, float inv, float fl, uint32_t *out, qsums *s)
{
    uint32_t hb[QLANES];
    if (!kind) {
        for (int h = 0; h < QLANES; h++) {
            uint32_t u;
            memcpy(&u, x + h, 4);
            hb[h] = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16; /* inputs are finite */
            uint32_t vb = hb[h] << 16;
            float v;
            memcpy(&v, &vb, 4);
            double dv = v, dx = x[h] - v;
            s->a[h] += dv * dv;
            s->b[h] += dx * dx;
        }
    } else {
        int32_t q[QLANES];
        for (int h = 0; h < QLANES; h++) {
            float t = x[h] * inv;
            t = t < fl ? t : fl;
            t = t > -fl ? t : -fl;
            q[h] = (int32_t)((t + 12582912.0f) - 12582912.0f);
        }
        for (int h = 0; h < QLANES; h++) {
            double xt = (double)sigma * q[h], dx = x[h] - xt;
            s->a[h] += xt * xt;
            s->b[h] += dx * dx;
            s->sum += q[h];
            hb[h] = kind == 4 ? (uint8_t)q[h] : (uint16_t)q[h];
        }
    }
    if (kind == 4)
        for (int w = 0; w < QLANES / 4; w++)
            out[w * SL_PANEL] =
                hb[4 * w] | hb[4 * w + 1] << 8 | hb[4 * w + 2] << 16 | hb[4 * w + 3] << 24;
    else
        for (int w = 0; w < QLANES / 2; w++)
            out[w * SL_PANEL] = hb[2 * w] | hb[2 * w + 1] << 16;
}

static inline __attribute__((always_inline)) void quantise_blocks(const float *x, int64_t d,
                                                                  int kind, float sigma, float inv,
                                                                  float fl, uint32_t *out,
                                                                  int64_t ldw, qsums *s)
{
    int64_t k0 = 0, step = (kind ? QLANES / kind : QLANES / 2) * SL_PANEL;
    for (; k0 + QLANES <= d; k0 += QLANES, out += step)
        quantise_block(x + k0, kind, sigma, inv, fl, out, s);
    if (k0 < d) {
        float tail[QLANES] = {0};
        memcpy(tail, x + k0, (size_t)(d - k0) * sizeof *tail);
        quantise_block(tail, kind, sigma, inv, fl, out, s);
        k0 += QLANES;
        out += step;
    }
    for (int64_t w = k0 / (kind ? kind : 2); w < ldw; w++, out += SL_PANEL)
        *out = 0;
}

static void quantise_row_c(const float *x, int64_t d, int input, int L, uint32_t *out, int64_t ldw,
                           sl_quantised *res)
{
    float sigma = 1, inv = 0, fl = (float)L;
    if (input != SL_IN_BF16) {
        sigma = max_abs(x, d) / fl; /* 0 for a zero row: then q = 0 and x~ = x = 0 */
        inv = sigma > 0 ? 1.0f / sigma : 0;
        inv = inv < 0x1.fffffep127f ? inv : 0x1.fffffep127f;
    }
    qsums s = {{0}, {0}, 0};
    if (input == SL_IN_BF16)
        quantise_blocks(x, d, 0, sigma, inv, fl, out, ldw, &s);
    else if (input == SL_IN_INT16)
        quantise_blocks(x, d, 2, sigma, inv, fl, out, ldw, &s);
    else
        quantise_blocks(x, d, 4, sigma, inv, fl, out, ldw, &s);
    for (int w = QLANES / 2; w >= 1; w /= 2)
        for (int h = 0; h < w; h++) {
            s.a[h] += s.a[h + w];
            s.b[h] += s.b[h + w];
        }
    res->scale = sigma;
    res->qsum = s.sum;
    res->nn = s.a[0];
    res->rr = s.b[0];
}

sl_quantise_fn *sl__quantiser(unsigned features)
{
#if defined(__x86_64__)
    const unsigned avx512 = SL_CPU_AVX512_SET | SL_CPU_AVX2;
    if ((features & avx512) == avx512)
        return sl_quantise_row_avx512;
    if (features & SL_CPU_AVX2)
        return sl_quantise_row_avx2;
#else
    (void)features;
#endif
    return quantise_row_c;
}

void sl__quantise_row(const sl_operand *op, int input, int64_t r, const float *x,
                      sl_quantise_fn *fn)
{
    int64_t d = op->d, ldw = op->lpld;
    uint32_t *out = (uint32_t *)op->lp + (r / SL_PANEL) * SL_PANEL * ldw + r % SL_PANEL;
    int L = input == SL_IN_BF16   ? 0
            : input == SL_IN_INT8 ? 127
            : input == SL_IN_INT7 ? 63
                                  : sl__int16_levels(d);
    int off = input == SL_IN_INT8 ? 128 : input == SL_IN_INT7 ? 64 : 0;
    sl_quantised q;
    fn(x, d, input, L, out, ldw, &q);
    ((float *)op->lpscale)[r] = q.scale;
    ((int32_t *)op->lpcorr)[r] = (int32_t)(off * q.qsum);
    ((float *)op->lpnorm)[r] = round_up(sqrt(q.nn));
    ((float *)op->lpres)[r] = round_up(sqrt(q.rr));
}

/* Words per row of the panels for a low-precision input kind. */
static int64_t lp_words(int input, int64_t d)
{
    int64_t per = input == SL_IN_BF16 || input == SL_IN_INT16 ? 2 : 4;
    return ((d + per - 1) / per + 15) / 16 * 16;
}

size_t sl__quantise_bytes(int64_t n, int64_t d, int input)
{
    size_t npad = (size_t)((n + SL_PANEL_PAD - 1) / SL_PANEL_PAD * SL_PANEL_PAD);
    size_t lp = sl__mul(sl__mul(npad, (size_t)lp_words(input, d)), 4);
    return sl__add(sl__add(lp, sl__mul(npad, 16)), 64);
}

sl_status sl__quantise_alloc(sl_prepared *p, int input, sl_error *err)
{
    sl_operand *op = &p->op;
    int64_t n = op->n, npad = (n + SL_PANEL_PAD - 1) / SL_PANEL_PAD * SL_PANEL_PAD;
    op->lpld = lp_words(input, op->d);
    size_t lp_bytes = sl__mul(sl__mul((size_t)npad, (size_t)op->lpld), 4);
    char *mem = sl__alloc(sl__quantise_bytes(n, op->d, input));
    if (!mem)
        return sl__fail(err, SL_ENOMEM, "out of memory for the quantised panels (%lld x %lld)",
                        (long long)n, (long long)op->d);
    /* Every row below n is written whole by sl__quantise_row (in the fill's
     * threads, which also take the page faults); rows past n must be zeros
     * throughout, and so must the per-row arrays. So only those are cleared
     * here: the panels from the one that holds row n on, and the arrays. */
    int64_t tail = n / SL_PANEL * SL_PANEL;
    memset(mem + (size_t)(tail * op->lpld) * 4, 0, (size_t)((npad - tail) * op->lpld) * 4);
    memset(mem + lp_bytes, 0, (size_t)npad * 16);
    p->owned_lp = mem;
    op->lp = (const uint32_t *)mem;
    op->lpscale = (const float *)(mem + lp_bytes);
    op->lpcorr = (const int32_t *)(op->lpscale + npad);
    op->lpnorm = (const float *)(op->lpcorr + npad);
    op->lpres = op->lpnorm + npad;
    return SL_OK;
}

void sl__quantise_finish(sl_operand *op)
{
    float mn = 0, mr = 0;
    for (int64_t r = 0; r < op->n; r++) {
        mn = op->lpnorm[r] > mn ? op->lpnorm[r] : mn;
        mr = op->lpres[r] > mr ? op->lpres[r] : mr;
    }
    op->lpmax_norm = mn;
    op->lpmax_res = mr;
}
