/*
 * c7 on AVX2: int7 words, a 4 x 16 register tile of int32 sums. AVX2 has no
 * vpdpbusd; vpmaddubsw multiplies unsigned by signed bytes and adds pairs
 * into int16 lanes *with saturation*, and vpmaddwd against ones adds the
 * int16 pairs into int32 lanes. Saturation is why this path quantises to 7
 * bits: with q in [-63, 63] and the column side made unsigned as q + 64
 * (at most 127), a pair sums to at most 2 * 127 * 63 = 16,002, far from
 * 32,767, so no lane ever saturates and the int32 sums are exact. The
 * finish takes 64 * sum(q_row) (lpcorr) off, converts and scales, as in
 * the AVX-512 version. 8 accumulators + 2 column registers + 4 constants
 * and temporaries: 14 of the 16 ymm registers.
 */
#include <immintrin.h>

#include "kernels.h"

#define BLK_MR 4
#define BLK_NP 1
#define BLK_KC SL_C4_KC
#define BLK_NAME sl_c7_tile_avx2
#define BLK_SRC(op) ((op)->lp)
#define BLK_LDW(op) ((op)->lpld)
#define BLK_PACKW(w) (w)

#define C7_ROWS(X) X(0) X(1) X(2) X(3)
#define C7_DECL(r) __m256i x##r, y##r;
#define C7_ZERO(r) x##r = _mm256_setzero_si256(), y##r = _mm256_setzero_si256();
#define C7_LOAD(r)                                                                                 \
    x##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc)),                                     \
    y##r = _mm256_loadu_si256((const __m256i *)(c + r * ldc + 8));
#define C7_STEP(r)                                                                                 \
    {                                                                                              \
        __m256i s = _mm256_set1_epi32((int)a[r]);                                                  \
        x##r = _mm256_add_epi32(x##r, _mm256_madd_epi16(_mm256_maddubs_epi16(b0, s), ones));       \
        y##r = _mm256_add_epi32(y##r, _mm256_madd_epi16(_mm256_maddubs_epi16(b1, s), ones));       \
    }
#define C7_RAW(r)                                                                                  \
    _mm256_storeu_si256((__m256i *)(c + r * ldc), x##r),                                           \
        _mm256_storeu_si256((__m256i *)(c + r * ldc + 8), y##r);
#define C7_FIN(r)                                                                                  \
    c7_finish(x##r, side->rcorr[r], side->rscale[r], cs0, c + r * ldc),                            \
        c7_finish(y##r, side->rcorr[r], side->rscale[r], cs1, c + r * ldc + 8);

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
    const __m256i off = _mm256_set1_epi8(64), ones = _mm256_set1_epi16(1);
    C7_ROWS(C7_DECL)
    if (first) {
        C7_ROWS(C7_ZERO)
    } else {
        C7_ROWS(C7_LOAD)
    }
    for (int64_t k = 0; k < kw; k++, a += 4, b += 16) {
        __m256i b0 = _mm256_add_epi8(_mm256_load_si256((const __m256i *)b), off);
        __m256i b1 = _mm256_add_epi8(_mm256_load_si256((const __m256i *)(b + 8)), off);
        C7_ROWS(C7_STEP)
    }
    if (!last) {
        C7_ROWS(C7_RAW)
        return;
    }
    __m256 cs0 = _mm256_loadu_ps(side->cscale), cs1 = _mm256_loadu_ps(side->cscale + 8);
    C7_ROWS(C7_FIN)
}
