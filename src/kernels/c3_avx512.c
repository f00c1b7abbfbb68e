/*
 * c3 on AVX-512: the same idea as c3_avx2.c with 16-lane registers. Rows are
 * a multiple of 16 floats, so the remainder after the 64-wide loop is whole
 * registers.
 */
#include "avx512.h"

#include "kernels.h"

static inline float dot_avx512(const float *a, const float *b, int64_t ld)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 64 <= ld; k += 64) {
        s0 = _mm512_fmadd_ps(_mm512_load_ps(a + k), _mm512_load_ps(b + k), s0);
        s1 = _mm512_fmadd_ps(_mm512_load_ps(a + k + 16), _mm512_load_ps(b + k + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_load_ps(a + k + 32), _mm512_load_ps(b + k + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_load_ps(a + k + 48), _mm512_load_ps(b + k + 48), s3);
    }
    for (; k < ld; k += 16)
        s0 = _mm512_fmadd_ps(_mm512_load_ps(a + k), _mm512_load_ps(b + k), s0);
    __m512 s = _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3));
    /* A fixed reduction order (not _mm512_reduce_add_ps, whose order is the
     * compiler's choice) keeps results identical across compilers. */
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

void sl_c3_tile_avx512(const sl_tile *t)
{
    sl__unit_tile(t, dot_avx512);
}

/* The re-score of the reduced-precision rungs (c6, c7). */
float sl_dot_f32_avx512(const float *a, const float *b, int64_t ld)
{
    return dot_avx512(a, b, ld);
}
