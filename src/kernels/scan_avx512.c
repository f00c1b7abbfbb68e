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

/* The hits of one 16-column step go out as compressed vector stores (a
 * compress into a register, then a plain store: the compress to memory is
 * microcoded on Zen 4), so the loop has no branch on what passed. */
int64_t sl_scan_lp_avx512(const float *row, const float *bn, const float *br, float ai, float ri,
                          float c, const float *thr, float th, int64_t j, int64_t end, int32_t *out,
                          float *ov, float *ol)
{
    __m512 va = _mm512_set1_ps(ai), vr = _mm512_set1_ps(ri), vc = _mm512_set1_ps(c);
    __m512 t = _mm512_set1_ps(th);
    __m512i idx =
        _mm512_add_epi32(_mm512_set1_epi32((int32_t)j),
                         _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    int64_t n = 0;
    for (; j < end; j += 16) {
        __mmask16 live = end - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (end - j)) - 1);
        __m512 r = _mm512_maskz_loadu_ps(live, br + j), a = _mm512_maskz_loadu_ps(live, bn + j);
        __m512 e = _mm512_fmadd_ps(vr, _mm512_add_ps(a, r), _mm512_fmadd_ps(va, r, vc));
        __m512 sv = _mm512_maskz_loadu_ps(live, row + j), v = _mm512_add_ps(sv, e);
        __mmask16 m = _mm512_mask_cmp_ps_mask(live, v, t, _CMP_GE_OQ);
        if (thr)
            m |= _mm512_mask_cmp_ps_mask(live, v, _mm512_maskz_loadu_ps(live, thr + j), _CMP_GE_OQ);
        _mm512_storeu_si512((void *)(out + n), _mm512_maskz_compress_epi32(m, idx));
        _mm512_storeu_ps(ov + n, _mm512_maskz_compress_ps(m, v));
        _mm512_storeu_ps(ol + n, _mm512_maskz_compress_ps(m, _mm512_sub_ps(sv, e)));
        n += __builtin_popcount((unsigned)m);
        idx = _mm512_add_epi32(idx, _mm512_set1_epi32(16));
    }
    return n;
}
