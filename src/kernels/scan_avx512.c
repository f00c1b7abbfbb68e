/*
 * The epilogues' filter on AVX-512: the first j in [j, end) with row[j] >= th
 * or (thr given) row[j] >= thr[j], 16 columns per compare. Once the top-k
 * lists are warm almost nothing passes, so this loop is most of what a knn
 * epilogue costs, and the wider compare is most of what it can save.
 */
#include "avx512.h"

#include "kernels.h"

int64_t sl_scan_avx512(const float *row, const float *thr, float th, int64_t j, int64_t end)
{
    __m512 t = _mm512_set1_ps(th);
    if (thr) {
        for (; j + 16 <= end; j += 16) {
            __m512 s = _mm512_loadu_ps(row + j);
            __mmask16 m = _mm512_cmp_ps_mask(s, t, _CMP_GE_OQ) |
                          _mm512_cmp_ps_mask(s, _mm512_loadu_ps(thr + j), _CMP_GE_OQ);
            if (m)
                return j + __builtin_ctz(m);
        }
    } else {
        for (; j + 16 <= end; j += 16) {
            __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(row + j), t, _CMP_GE_OQ);
            if (m)
                return j + __builtin_ctz(m);
        }
    }
    for (; j < end; j++)
        if (row[j] >= th || (thr && row[j] >= thr[j]))
            return j;
    return end;
}
