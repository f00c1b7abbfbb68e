/*
 * c4 on AVX-512: a 14 x 32 register tile. Per step of depth, two zmm loads of
 * the column slice (two panels of 16) and 14 broadcasts of the row
 * micro-panel feed 28 FMAs into 28 accumulators: 28 + 2 + 1 of the 32
 * registers, and 16 loads per 28 FMAs. A 24 x 16 tile needs 25 loads for its
 * 24 FMAs, which a core retiring two 512-bit FMAs per cycle (Intel's server
 * cores) cannot feed; Zen 4 retires one and is content with any of them.
 * 14 x 32 ran 3-6% faster than 12 x 32 on the Xeon (perf/blocking.py with
 * SL_C4W_MR=12 SL_C4W_MC=384 against the defaults; perf/README.md), which is
 * what the two extra accumulators buy: each column vector loaded feeds 14
 * FMAs instead of 12. Those two macros together build the 12 x 32 tile (the
 * tile rows must stay a multiple of the register tile's; blocked.h checks).
 *
 * The accumulators are named one by one: gcc keeps an array of 24 __m512 in
 * memory and reloads it on every FMA, which costs two thirds of the speed.
 */
#include "avx512.h"

#include "kernels.h"

#ifndef SL_C4W_MR
#define SL_C4W_MR 14
#endif
#define BLK_MR SL_C4W_MR
#if BLK_MR == 14
#define C4_ROWS BLK_ROWS14
#else
#define C4_ROWS BLK_ROWS12
#endif
#define BLK_NP 2
#define BLK_MC SL_C4W_MC
#define BLK_KC SL_C4W_KC
#define BLK_NAME sl_c4_tile_avx512
#define BLK_SRC(op) ((const uint32_t *)(op)->rows)
#define BLK_LDW(op) ((op)->ld)
#define BLK_PACKW(w) (w)

/* The 12 rows' accumulators: row r, columns 0-15 (x) and 16-31 (y). */
#define C4_DECL(r) __m512 x##r, y##r;
#define C4_ZERO(r) x##r = _mm512_setzero_ps(), y##r = _mm512_setzero_ps();
#define C4_LOAD(r) x##r = _mm512_loadu_ps(c + r * ldc), y##r = _mm512_loadu_ps(c + r * ldc + 16);
#define C4_STEP(r)                                                                                 \
    {                                                                                              \
        __m512 s = _mm512_set1_ps(fa[r]);                                                          \
        x##r = _mm512_fmadd_ps(s, b0, x##r);                                                       \
        y##r = _mm512_fmadd_ps(s, b1, y##r);                                                       \
    }
#define C4_STORE(r) _mm512_storeu_ps(c + r * ldc, x##r), _mm512_storeu_ps(c + r * ldc + 16, y##r);

#include "blocked.h"

static inline void blk_ukr(int64_t kw, const uint32_t *a, const uint32_t *b, int64_t pstride,
                           float *c, int64_t ldc, int first, int last, const blk_side *side)
{
    (void)last;
    (void)side;
    const float *fa = (const float *)a, *fb = (const float *)b;
    C4_ROWS(C4_DECL)
    if (first) {
        C4_ROWS(C4_ZERO)
    } else {
        C4_ROWS(C4_LOAD)
    }
    for (int64_t k = 0; k < kw; k++, fa += BLK_MR, fb += 16) {
        __m512 b0 = _mm512_load_ps(fb), b1 = _mm512_load_ps(fb + pstride);
        C4_ROWS(C4_STEP)
    }
    C4_ROWS(C4_STORE)
}

float sl_peak_fma_avx512(int64_t iters)
{
    __m512 acc[16], m = _mm512_set1_ps(0.999999f), s = _mm512_set1_ps(1e-7f);
    for (int r = 0; r < 16; r++)
        acc[r] = _mm512_set1_ps((float)r);
    for (int64_t i = 0; i < iters; i++)
        for (int r = 0; r < 16; r++)
            acc[r] = _mm512_fmadd_ps(acc[r], m, s);
    __m512 t = acc[0];
    for (int r = 1; r < 16; r++)
        t = _mm512_add_ps(t, acc[r]);
    float out[16];
    _mm512_storeu_ps(out, t);
    return out[0] + out[15];
}
