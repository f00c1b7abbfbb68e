/*
 * c7 on AVX2 with bytes: a 4 x 16 register tile of int32 sums from
 * vpmaddubsw (unsigned bytes times signed bytes, each pair of products
 * added into an int16 lane *with saturation*) and vpmaddwd against ones
 * (int16 pairs into int32 lanes). The registry's c7-avx2 uses the 16-bit
 * kernel (c7_int16_avx2.c); this one is the build variant it is measured
 * against (perf/README.md), in two forms:
 *
 *   SL_C7B_BITS=7: q in [-63, 63], the column side made unsigned as
 *     q + 64 <= 127, so a pair sums to at most 2 * 127 * 63 = 16,002 and
 *     no lane saturates; the finish takes 64 * sum(q_row) (lpcorr) off.
 *   SL_C7B_BITS=8: q in [-127, 127]; vpmaddubsw takes |q_col| as the
 *     unsigned side and q_row with the column's sign (vpsignb) as the
 *     signed one, so a pair sums to at most 2 * 127 * 127 = 32,258: no
 *     saturation, no correction, one more instruction per product.
 */
#include <immintrin.h>

#include "kernels.h"

#ifndef SL_C7B_BITS
#define SL_C7B_BITS 7
#endif

#define BLK_MR 4
#define BLK_NP 1
#define BLK_KC SL_C4_KC
#define BLK_NAME sl_c7b_tile_avx2
#define BLK_SRC(op) ((op)->lp)
#define BLK_LDW(op) ((op)->lpld)
#define BLK_PACKW(w) (w)

#define C7_ROWS(X) X(0) X(1) X(2) X(3)
#define C7_DECL(r) __m256i x##r, y##r;
#define C7_ZERO(r) x##r = _mm256_setzero_si256(), y##r = _mm256_setzero_si256();
#define C7_LOAD(r)                                                                                 \
    x##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc)),                                     \
    y##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc + 8));
#if SL_C7B_BITS == 8
#define C7_PROD(u, b, s) _mm256_maddubs_epi16(u, _mm256_sign_epi8(s, b))
#else
#define C7_PROD(u, b, s) _mm256_maddubs_epi16(u, s)
#endif
#define C7_STEP(r)                                                                                 \
    {                                                                                              \
        __m256i s = _mm256_set1_epi32((int)a[r]);                                                  \
        x##r = _mm256_add_epi32(_mm256_madd_epi16(C7_PROD(u0, b0, s), ones), x##r);                \
        y##r = _mm256_add_epi32(_mm256_madd_epi16(C7_PROD(u1, b1, s), ones), y##r);                \
        __asm__("" : "+x"(x##r), "+x"(y##r));                                                      \
    }
#define C7_RAW(r)                                                                                  \
    _mm256_storeu_si256((__m256i *)(c + r * ldc), x##r),                                           \
        _mm256_storeu_si256((__m256i *)(c + r * ldc + 8), y##r);
#define C7_FIN(r)                                                                                  \
    c7_finish(x##r, corr ? side->rcorr[r] : 0, side->rscale[r], cs0, c + r * ldc),                 \
        c7_finish(y##r, corr ? side->rcorr[r] : 0, side->rscale[r], cs1, c + r * ldc + 8);

#include "blocked.h"

static inline void c7_finish(__m256i acc, int32_t corr, float rs, __m256 cs, float *c)
{
    __m256 v = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc, _mm256_set1_epi32(corr)));
    _mm256_storeu_ps(c, _mm256_mul_ps(_mm256_mul_ps(v, _mm256_set1_ps(rs)), cs));
}

static inline void blk_ukr(int64_t kw, const uint32_t *a, const uint32_t *b, int64_t pstride,
                           float *c, int64_t ldc, int first, int last, const blk_side *side)
{
    (void)pstride;
    const int corr = SL_C7B_BITS == 7;
    const __m256i off = _mm256_set1_epi8(64), ones = _mm256_set1_epi16(1);
    C7_ROWS(C7_DECL)
    if (first) {
        C7_ROWS(C7_ZERO)
    } else {
        C7_ROWS(C7_LOAD)
    }
    for (int64_t k = 0; k < kw; k++, a += 4, b += 16) {
        __m256i b0 = _mm256_load_si256((const __m256i *)b);
        __m256i b1 = _mm256_load_si256((const __m256i *)(b + 8));
#if SL_C7B_BITS == 8
        __m256i u0 = _mm256_abs_epi8(b0), u1 = _mm256_abs_epi8(b1);
        (void)off;
#else
        __m256i u0 = _mm256_add_epi8(b0, off), u1 = _mm256_add_epi8(b1, off);
#endif
        C7_ROWS(C7_STEP)
    }
    if (!last) {
        C7_ROWS(C7_RAW)
        return;
    }
    __m256 cs0 = _mm256_loadu_ps(side->cscale), cs1 = _mm256_loadu_ps(side->cscale + 8);
    C7_ROWS(C7_FIN)
}
