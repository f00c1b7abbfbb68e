/*
 * c7 on AVX2: 16-bit words, a 6 x 16 register tile of int32 sums.
 *
 * AVX2 has no vpdpbusd, and its byte product (vpmaddubsw) adds each pair
 * of products into an int16 lane with saturation, which leaves a byte
 * kernel two poor choices: 7-bit values (a quantisation step twice as
 * coarse) or a vpsignb per product (a quarter more instructions). Either
 * way the step is wide, and so is the bound: too many pairs reach the fp32
 * re-score. vpmaddwd instead multiplies 16 pairs of int16 and adds each
 * pair into an int32 lane, exactly, in one instruction: as many
 * multiply-adds per instruction as the byte path's vpmaddubsw + vpmaddwd
 * pair, with values of up to sl__int16_levels(d) (1,672 at d = 768) instead
 * of 63 or 127. So the quantisation step, and with it the bound, is 13 to
 * 26 times finer, and few pairs beyond the true neighbours reach the
 * re-score. perf/README.md compares the three kernels, with the command.
 *
 * Exactness: |q| <= L with d L^2 < 2^31, so every partial sum of the int32
 * lanes is exact; the finish converts once and scales twice (s~ = acc *
 * sigma_row * sigma_col), which docs/ACCURACY.md bounds. No offset: both
 * sides are signed.
 *
 * 12 accumulators + 2 column registers + the broadcast + one product: all
 * 16 ymm registers. SL_C7W_3X32=1 builds a 3 x 32 tile instead, which
 * llvm-mca's Zen 3 model prefers (perf/mca.py) and the Xeon runs slower
 * (perf/README.md): a variant to measure on a Zen 3.
 *
 * The empty asm after each step keeps gcc from copying every accumulator
 * through a spare register each step (it did, which doubled the
 * instruction count of the loop).
 */
#include <immintrin.h>

#include "kernels.h"

#ifndef SL_C7W_3X32
#define SL_C7W_3X32 0
#endif
#if SL_C7W_3X32
#define BLK_MR 3
#define BLK_NP 2
#define BLK_KC 128
#else
#define BLK_MR 6
#define BLK_NP 1
#define BLK_KC SL_C4_KC
#endif
#define BLK_NAME sl_c7_tile_avx2
#define BLK_SRC(op) ((op)->lp)
#define BLK_LDW(op) ((op)->lpld)
#define BLK_PACKW(w) (w)

#define C7_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define C7_DECL(r) __m256i x##r, y##r;
#define C7_ZERO(r) x##r = _mm256_setzero_si256(), y##r = _mm256_setzero_si256();
#define C7_LOAD(r)                                                                                 \
    x##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc)),                                     \
    y##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc + 8));
#define C7_STEP(r)                                                                                 \
    {                                                                                              \
        __m256i s = _mm256_set1_epi32((int)a[r]);                                                  \
        x##r = _mm256_add_epi32(_mm256_madd_epi16(b0, s), x##r);                                   \
        y##r = _mm256_add_epi32(_mm256_madd_epi16(b1, s), y##r);                                   \
        __asm__("" : "+x"(x##r), "+x"(y##r));                                                      \
    }
#define C7_RAW(r)                                                                                  \
    _mm256_storeu_si256((__m256i *)(c + r * ldc), x##r),                                           \
        _mm256_storeu_si256((__m256i *)(c + r * ldc + 8), y##r);
#define C7_FIN(r)                                                                                  \
    c7_finish(x##r, side->rscale[r], cs0, c + r * ldc),                                            \
        c7_finish(y##r, side->rscale[r], cs1, c + r * ldc + 8);

/* 3 x 32: four accumulators a row (columns 0-7, 8-15 of the first panel,
 * 16-23, 24-31 of the second), the column vectors read by vpmaddwd from
 * memory, in a few lines of assembly: gcc, left to itself, loads each vector
 * once into a register it does not have and shuffles accumulators. */
#define W3_ROWS(X) X(0) X(1) X(2)
#define W3_DECL(r) __m256i p##r, q##r, u##r, v##r;
#define W3_ZERO(r) p##r = _mm256_setzero_si256(), q##r = p##r, u##r = p##r, v##r = p##r;
#define W3_LOAD(r)                                                                                 \
    p##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc)),                                     \
    q##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc + 8)),                                 \
    u##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc + 16)),                                \
    v##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc + 24));
#define W3_STEP(r)                                                                                 \
    {                                                                                              \
        __m256i s = _mm256_set1_epi32((int)a[r]), t;                                               \
        __asm__("vpmaddwd (%[b0]), %[s], %[t]\n\t"                                                 \
                "vpaddd %[t], %[p], %[p]\n\t"                                                      \
                "vpmaddwd 32(%[b0]), %[s], %[t]\n\t"                                               \
                "vpaddd %[t], %[q], %[q]\n\t"                                                      \
                "vpmaddwd (%[b1]), %[s], %[t]\n\t"                                                 \
                "vpaddd %[t], %[u], %[u]\n\t"                                                      \
                "vpmaddwd 32(%[b1]), %[s], %[t]\n\t"                                               \
                "vpaddd %[t], %[v], %[v]"                                                          \
                : [p] "+x"(p##r), [q] "+x"(q##r), [u] "+x"(u##r), [v] "+x"(v##r), [t] "=&x"(t)     \
                : [b0] "r"(b), [b1] "r"(b + pstride), [s] "x"(s)                                   \
                : "memory");                                                                       \
    }
#define W3_RAW(r)                                                                                  \
    _mm256_storeu_si256((__m256i *)(c + r * ldc), p##r),                                           \
        _mm256_storeu_si256((__m256i *)(c + r * ldc + 8), q##r),                                   \
        _mm256_storeu_si256((__m256i *)(c + r * ldc + 16), u##r),                                  \
        _mm256_storeu_si256((__m256i *)(c + r * ldc + 24), v##r);
#define W3_FIN(r)                                                                                  \
    c7_finish(p##r, side->rscale[r], cs0, c + r * ldc),                                            \
        c7_finish(q##r, side->rscale[r], cs1, c + r * ldc + 8),                                    \
        c7_finish(u##r, side->rscale[r], cs2, c + r * ldc + 16),                                   \
        c7_finish(v##r, side->rscale[r], cs3, c + r * ldc + 24);

#include "blocked.h"

static inline void c7_finish(__m256i acc, float rs, __m256 cs, float *c)
{
    __m256 v = _mm256_cvtepi32_ps(acc);
    _mm256_storeu_ps(c, _mm256_mul_ps(_mm256_mul_ps(v, _mm256_set1_ps(rs)), cs));
}

#if SL_C7W_3X32
static inline void blk_ukr(int64_t kw, const uint32_t *a, const uint32_t *b, int64_t pstride,
                           float *c, int64_t ldc, int first, int last, const blk_side *side)
{
    W3_ROWS(W3_DECL)
    if (first) {
        W3_ROWS(W3_ZERO)
    } else {
        W3_ROWS(W3_LOAD)
    }
    for (int64_t k = 0; k < kw; k++, a += BLK_MR, b += 16) {
        W3_ROWS(W3_STEP)
    }
    if (!last) {
        W3_ROWS(W3_RAW)
        return;
    }
    __m256 cs0 = _mm256_loadu_ps(side->cscale), cs1 = _mm256_loadu_ps(side->cscale + 8);
    __m256 cs2 = _mm256_loadu_ps(side->cscale + 16), cs3 = _mm256_loadu_ps(side->cscale + 24);
    W3_ROWS(W3_FIN)
}
#else
static inline void blk_ukr(int64_t kw, const uint32_t *a, const uint32_t *b, int64_t pstride,
                           float *c, int64_t ldc, int first, int last, const blk_side *side)
{
    (void)pstride;
    C7_ROWS(C7_DECL)
    if (first) {
        C7_ROWS(C7_ZERO)
    } else {
        C7_ROWS(C7_LOAD)
    }
    for (int64_t k = 0; k < kw; k++, a += BLK_MR, b += 16) {
        __m256i b0 = _mm256_load_si256((const __m256i *)b);
        __m256i b1 = _mm256_load_si256((const __m256i *)(b + 8));
        C7_ROWS(C7_STEP)
    }
    if (!last) {
        C7_ROWS(C7_RAW)
        return;
    }
    __m256 cs0 = _mm256_loadu_ps(side->cscale), cs1 = _mm256_loadu_ps(side->cscale + 8);
    C7_ROWS(C7_FIN)
}
#endif
