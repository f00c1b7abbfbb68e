/* The quantiser (quantise.h) on AVX-512: 8 doubles are one zmm, so the
 * float64 sums, most of the work, take half the instructions of AVX2's. */
#include <immintrin.h>

typedef __m512d qd;

static inline qd qd_zero(void)
{
    return _mm512_setzero_pd();
}

static inline qd qd_set1(double v)
{
    return _mm512_set1_pd(v);
}

static inline qd qd_ps(__m256 x)
{
    return _mm512_cvtps_pd(x);
}

static inline qd qd_epi32(__m256i q)
{
    return _mm512_cvtepi32_pd(q);
}

static inline qd qd_add(qd a, qd b)
{
    return _mm512_add_pd(a, b);
}

static inline qd qd_sub(qd a, qd b)
{
    return _mm512_sub_pd(a, b);
}

static inline qd qd_mul(qd a, qd b)
{
    return _mm512_mul_pd(a, b);
}

static inline double qd_sum(qd a)
{
    __m256d s = _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1));
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

static inline __m256 qd_to_ps(qd a)
{
    return _mm512_cvtpd_ps(a);
}

#define QNT_NAME sl_quantise_row_avx512
#define QNT_UNIT sl_unit_avx512_
#include "quantise.h"
