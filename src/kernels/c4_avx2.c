/*
 * c4 on AVX2 + FMA: a 6 x 16 register tile. Twelve ymm accumulators (6 rows
 * x 2 vectors of 8 columns), two loads of the column panel and six
 * broadcasts of the row micro-panel per step of k: 12 FMAs for 8 loads.
 * Zen 3 retires 2 FMAs per cycle with 4 cycles of latency, so 8 chains in
 * flight are needed and 12 leave room; 12 + 2 + 1 = 15 of the 16 registers.
 */
#include <immintrin.h>

#include "kernels.h"

#define BLK_MR 6
#define BLK_NP 1
#define BLK_KC SL_C4_KC
#define BLK_NAME sl_c4_tile_avx2
#define BLK_SRC(op) ((const uint32_t *)(op)->rows)
#define BLK_LDW(op) ((op)->ld)
#define BLK_PACKW(w) (w)

typedef struct blk_side blk_side;

static inline void blk_ukr(int64_t kc, const uint32_t *wa, const uint32_t *wb, int64_t pstride,
                           float *c, int64_t ldc, int first, int last, const blk_side *side)
{
    (void)pstride, (void)last, (void)side;
    const float *a = (const float *)wa, *b = (const float *)wb;
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (first) {
        c00 = c01 = c10 = c11 = c20 = c21 = _mm256_setzero_ps();
        c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    } else {
        c00 = _mm256_loadu_ps(c + 0 * ldc), c01 = _mm256_loadu_ps(c + 0 * ldc + 8);
        c10 = _mm256_loadu_ps(c + 1 * ldc), c11 = _mm256_loadu_ps(c + 1 * ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    }
    for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), x;
        x = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    _mm256_storeu_ps(c + 0 * ldc, c00), _mm256_storeu_ps(c + 0 * ldc + 8, c01);
    _mm256_storeu_ps(c + 1 * ldc, c10), _mm256_storeu_ps(c + 1 * ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

#include "blocked.h"

/* The FMA peak: 12 independent chains, as many as the micro-kernel keeps. */
float sl_peak_fma_avx2(int64_t iters)
{
    __m256 acc[12], m = _mm256_set1_ps(0.999999f), s = _mm256_set1_ps(1e-7f);
    for (int r = 0; r < 12; r++)
        acc[r] = _mm256_set1_ps((float)r);
    for (int64_t i = 0; i < iters; i++)
        for (int r = 0; r < 12; r++)
            acc[r] = _mm256_fmadd_ps(acc[r], m, s);
    __m256 t = acc[0];
    for (int r = 1; r < 12; r++)
        t = _mm256_add_ps(t, acc[r]);
    float out[8];
    _mm256_storeu_ps(out, t);
    return out[0] + out[7];
}
