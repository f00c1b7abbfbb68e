/*
 * The epilogues' filter on AVX2: sl_scan_avx512's loop, 8 columns per
 * compare. Baseline SSE2 compares 4, which on an AVX2-only machine leaves
 * the knn epilogue's scan at twice the instructions it needs.
 */
#include <immintrin.h>
#include <math.h>

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

/* AVX2 has no compress: the set bits of each 8-column step are written out
 * one by one, behind one branch on whether any passed. */
int64_t sl_scan_lp_avx2(const float *row, const float *bn, const float *br, float ai, float ri,
                        float c, const float *thr, float th, int64_t j, int64_t end, int32_t *out,
                        float *ov, float *ol)
{
    __m256 va = _mm256_set1_ps(ai), vr = _mm256_set1_ps(ri), vc = _mm256_set1_ps(c);
    __m256 t = _mm256_set1_ps(th);
    int64_t n = 0;
    for (; j + 8 <= end; j += 8) {
        __m256 r = _mm256_loadu_ps(br + j), a = _mm256_loadu_ps(bn + j);
        __m256 e = _mm256_fmadd_ps(vr, _mm256_add_ps(a, r), _mm256_fmadd_ps(va, r, vc));
        __m256 sv = _mm256_loadu_ps(row + j), v = _mm256_add_ps(sv, e);
        __m256 m = _mm256_cmp_ps(v, t, _CMP_GE_OQ);
        if (thr)
            m = _mm256_or_ps(m, _mm256_cmp_ps(v, _mm256_loadu_ps(thr + j), _CMP_GE_OQ));
        unsigned bits = (unsigned)_mm256_movemask_ps(m);
        if (!bits)
            continue;
        float vs[8], ls[8];
        _mm256_storeu_ps(vs, v);
        _mm256_storeu_ps(ls, _mm256_sub_ps(sv, e));
        for (; bits; bits &= bits - 1, n++) {
            int b = __builtin_ctz(bits);
            out[n] = (int32_t)(j + b);
            ov[n] = vs[b];
            ol[n] = ls[b];
        }
    }
    for (; j < end; j++) {
        float e = fmaf(ri, bn[j] + br[j], fmaf(ai, br[j], c)), v = row[j] + e;
        if (v >= th || (thr && v >= thr[j])) {
            out[n] = (int32_t)j;
            ov[n] = v;
            ol[n++] = row[j] - e;
        }
    }
    return n;
}
