/*
 * c6 on AVX-512 BF16: bf16 words, a 12 x 32 register tile of fp32 sums.
 * vdpbf16ps multiplies the two bf16 of each 32-bit lane of its sources
 * (exact in fp32: 8-bit significands) and adds both products to an fp32
 * lane: 32 multiply-adds per instruction where an fp32 FMA does 16. The
 * structure is c4's (blocked.h): two zmm loads of the column side per step
 * of 2 depth values, 12 broadcasts of row words, 24 accumulators, and the
 * sums are s~ as they stand, so the finish has nothing to do.
 */
#include "avx512.h"

#include "kernels.h"

#define BLK_MR 12
#define BLK_NP 2
#define BLK_KC SL_C4_KC
#define BLK_NAME sl_c6_tile_avx512
#define BLK_SRC(op) ((op)->lp)
#define BLK_LDW(op) ((op)->lpld)
#define BLK_PACKW(w) (w)

#define C6_DECL(r) __m512 x##r, y##r;
#define C6_ZERO(r) x##r = _mm512_setzero_ps(), y##r = _mm512_setzero_ps();
#define C6_LOAD(r) x##r = _mm512_loadu_ps(c + r * ldc), y##r = _mm512_loadu_ps(c + r * ldc + 16);
#define C6_STEP(r)                                                                                 \
    {                                                                                              \
        __m512bh s = c6_bh(_mm512_set1_epi32((int)a[r]));                                          \
        x##r = _mm512_dpbf16_ps(x##r, b0, s);                                                      \
        y##r = _mm512_dpbf16_ps(y##r, b1, s);                                                      \
    }
#define C6_STORE(r) _mm512_storeu_ps(c + r * ldc, x##r), _mm512_storeu_ps(c + r * ldc + 16, y##r);

#include "blocked.h"

/* A bit-for-bit reinterpretation (the compiler emits nothing for it). */
static inline __m512bh c6_bh(__m512i v)
{
    __m512bh r;
    memcpy(&r, &v, sizeof r);
    return r;
}

static inline void blk_ukr(int64_t kw, const uint32_t *a, const uint32_t *b, int64_t pstride,
                           float *c, int64_t ldc, int first, int last, const blk_side *side)
{
    (void)last, (void)side;
    BLK_ROWS12(C6_DECL)
    if (first) {
        BLK_ROWS12(C6_ZERO)
    } else {
        BLK_ROWS12(C6_LOAD)
    }
    for (int64_t k = 0; k < kw; k++, a += 12, b += 16) {
        __m512bh b0 = c6_bh(_mm512_load_si512((const void *)b));
        __m512bh b1 = c6_bh(_mm512_load_si512((const void *)(b + pstride)));
        BLK_ROWS12(C6_STEP)
    }
    BLK_ROWS12(C6_STORE)
}
