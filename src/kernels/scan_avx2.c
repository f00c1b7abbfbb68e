/*
 * The epilogues' filter on AVX2: sl_scan_avx512's loop, 8 columns per
 * compare. Baseline SSE2 compares 4, which on an AVX2-only machine leaves
 * the knn epilogue's scan at twice the instructions it needs.
 */
#include <immintrin.h>

#include "kernels.h"

int64_t sl_scan_avx2(const float *row, const float *thr, float th, int64_t j, int64_t end)
{
    __m256 t = _mm256_set1_ps(th);
    if (thr) {
        for (; j + 8 <= end; j += 8) {
            __m256 s = _mm256_loadu_ps(row + j);
            __m256 m = _mm256_or_ps(_mm256_cmp_ps(s, t, _CMP_GE_OQ),
                                    _mm256_cmp_ps(s, _mm256_loadu_ps(thr + j), _CMP_GE_OQ));
            int bits = _mm256_movemask_ps(m);
            if (bits)
                return j + __builtin_ctz((unsigned)bits);
        }
    } else {
        for (; j + 8 <= end; j += 8) {
            int bits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row + j), t, _CMP_GE_OQ));
            if (bits)
                return j + __builtin_ctz((unsigned)bits);
        }
    }
    for (; j < end; j++)
        if (row[j] >= th || (thr && row[j] >= thr[j]))
            return j;
    return end;
}
