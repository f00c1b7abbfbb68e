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

static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u); /* nearest, ties to even; inputs are finite */
    return (uint16_t)(u >> 16);
}

static double from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* bf16: each value rounded on its own. The norms are summed in float64
 * from the values stored, so they hold whatever the rounding did. */
static void quantise_bf16(const float *x, int64_t d, int64_t ldw, uint32_t *out, double *nn,
                          double *rr)
{
    double a = 0, b = 0;
    for (int64_t w = 0; w < ldw; w++) {
        float lo = 2 * w < d ? x[2 * w] : 0, hi = 2 * w + 1 < d ? x[2 * w + 1] : 0;
        uint16_t h0 = to_bf16(lo), h1 = to_bf16(hi);
        double v0 = from_bf16(h0), v1 = from_bf16(h1);
        a += v0 * v0 + v1 * v1;
        b += (lo - v0) * (lo - v0) + (hi - v1) * (hi - v1);
        out[w * SL_PANEL] = (uint32_t)h0 | (uint32_t)h1 << 16;
    }
    *nn = a;
    *rr = b;
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

/* int8/int7/int16 (per = 4, 4 and 2 values a word): q = round(x / sigma),
 * computed as x * (1 / sigma) in float and clamped (any integer q would be
 * correct: the norms below are of what is stored). A block of QUANT_BLOCK
 * values at a time, so the float loop vectorises. Returns sum(q). */
enum { QUANT_BLOCK = 256 };
static int64_t quantise_int(const float *x, int64_t d, int64_t ldw, int per, int L, float sigma,
                            uint32_t *out, double *nn, double *rr)
{
    float inv = sigma > 0 ? 1.0f / sigma : 0;
    int32_t qb[QUANT_BLOCK];
    int64_t sum = 0;
    double av[4] = {0, 0, 0, 0}, bv[4] = {0, 0, 0, 0};
    for (int64_t k0 = 0; k0 < per * ldw; k0 += QUANT_BLOCK) {
        int64_t m = per * ldw - k0 < QUANT_BLOCK ? per * ldw - k0 : QUANT_BLOCK;
        int64_t live = d - k0 < m ? (d - k0 > 0 ? d - k0 : 0) : m;
        /* Branch-free, so it vectorises: adding and taking off 1.5 * 2^23
         * rounds |t| < 2^22 to the nearest integer (ties to even). */
        for (int64_t k = 0; k < live; k++) {
            float t = x[k0 + k] * inv;
            t = t > (float)L ? (float)L : t;
            t = t < -(float)L ? -(float)L : t;
            qb[k] = (int32_t)((t + 12582912.0f) - 12582912.0f);
        }
        for (int64_t k = live; k < m; k++)
            qb[k] = 0;
        /* Four float64 sums side by side (a different order from one
         * running sum, well inside round_up's margin), which the compiler
         * can vectorise as it cannot reorder a single chain. */
        int64_t k = 0;
        for (; k + 4 <= live; k += 4)
            for (int h = 0; h < 4; h++) {
                double xt = (double)sigma * qb[k + h], dx = x[k0 + k + h] - xt;
                av[h] += xt * xt;
                bv[h] += dx * dx;
                sum += qb[k + h];
            }
        for (; k < live; k++) {
            double xt = (double)sigma * qb[k], dx = x[k0 + k] - xt;
            av[0] += xt * xt;
            bv[0] += dx * dx;
            sum += qb[k];
        }
        if (per == 4)
            for (int64_t w = 0; w < m / 4; w++)
                out[(k0 / 4 + w) * SL_PANEL] =
                    (uint32_t)(uint8_t)qb[4 * w] | (uint32_t)(uint8_t)qb[4 * w + 1] << 8 |
                    (uint32_t)(uint8_t)qb[4 * w + 2] << 16 | (uint32_t)(uint8_t)qb[4 * w + 3] << 24;
        else
            for (int64_t w = 0; w < m / 2; w++)
                out[(k0 / 2 + w) * SL_PANEL] =
                    (uint32_t)(uint16_t)qb[2 * w] | (uint32_t)(uint16_t)qb[2 * w + 1] << 16;
    }
    *nn = (av[0] + av[1]) + (av[2] + av[3]);
    *rr = (bv[0] + bv[1]) + (bv[2] + bv[3]);
    return sum;
}

/* max |x_k| over finite x, on the bit patterns (sign cleared, the order of
 * non-negative floats is that of their bits), which vectorises. */
static float max_abs(const float *x, int64_t d)
{
    uint32_t m = 0;
    for (int64_t k = 0; k < d; k++) {
        uint32_t u;
        memcpy(&u, x + k, 4);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    float f;
    memcpy(&f, &m, 4);
    return f;
}

void sl__quantise_row(const sl_operand *op, int input, int64_t r, const float *x)
{
    int64_t d = op->d, ldw = op->lpld;
    uint32_t *out = (uint32_t *)op->lp + (r / SL_PANEL) * SL_PANEL * ldw + r % SL_PANEL;
    float *scale = (float *)op->lpscale, *norm = (float *)op->lpnorm, *res = (float *)op->lpres;
    int32_t *corr = (int32_t *)op->lpcorr;
    double nn = 0, rr = 0;
    if (input == SL_IN_BF16) {
        quantise_bf16(x, d, ldw, out, &nn, &rr);
        scale[r] = 1;
        corr[r] = 0;
    } else {
        int L = input == SL_IN_INT8 ? 127 : input == SL_IN_INT7 ? 63 : sl__int16_levels(d);
        int off = input == SL_IN_INT8 ? 128 : input == SL_IN_INT7 ? 64 : 0;
        float amax = max_abs(x, d);
        float sigma = amax / (float)L; /* 0 for a zero row: then q = 0 and x~ = x = 0 */
        int64_t sum =
            quantise_int(x, d, ldw, input == SL_IN_INT16 ? 2 : 4, L, sigma, out, &nn, &rr);
        scale[r] = sigma;
        corr[r] = (int32_t)(off * sum);
    }
    norm[r] = round_up(sqrt(nn));
    res[r] = round_up(sqrt(rr));
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
