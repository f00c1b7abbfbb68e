/*
 * c3 on AVX2: an explicit dot product, one pair at a time. Four independent
 * 8-lane accumulators hide the FMA latency (4 cycles, 2 per cycle on Zen 3:
 * eight in flight would saturate, four already removes most of the stall).
 * Rows are zero-padded to a multiple of 16 floats, so no tail loop.
 */
#include <immintrin.h>

#include "kernels.h"

static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float dot_avx2(const float *a, const float *b, int64_t ld)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= ld; k += 32) {
        s0 = _mm256_fmadd_ps(_mm256_load_ps(a + k), _mm256_load_ps(b + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_load_ps(a + k + 8), _mm256_load_ps(b + k + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_load_ps(a + k + 16), _mm256_load_ps(b + k + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_load_ps(a + k + 24), _mm256_load_ps(b + k + 24), s3);
    }
    if (k < ld) { /* ld is a multiple of 16: one half-step is left at most */
        s0 = _mm256_fmadd_ps(_mm256_load_ps(a + k), _mm256_load_ps(b + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_load_ps(a + k + 8), _mm256_load_ps(b + k + 8), s1);
    }
    return hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

void sl_c3_tile_avx2(const sl_tile *t)
{
    sl__unit_tile(t, dot_avx2);
}

/* The re-score of the reduced-precision rungs (c6, c7). */
float sl_dot_f32_avx2(const float *a, const float *b, int64_t ld)
{
    return dot_avx2(a, b, ld);
}
