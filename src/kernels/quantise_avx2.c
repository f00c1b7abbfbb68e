/* The quantiser (quantise.h) on AVX2: 8 doubles are two ymm. */
#include <immintrin.h>

typedef struct qd {
    __m256d lo, hi;
} qd;

static inline qd qd_zero(void)
{
    return (qd){_mm256_setzero_pd(), _mm256_setzero_pd()};
}

static inline qd qd_set1(double v)
{
    return (qd){_mm256_set1_pd(v), _mm256_set1_pd(v)};
}

static inline qd qd_ps(__m256 x)
{
    return (qd){_mm256_cvtps_pd(_mm256_castps256_ps128(x)),
                _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))};
}

static inline qd qd_epi32(__m256i q)
{
    return (qd){_mm256_cvtepi32_pd(_mm256_castsi256_si128(q)),
                _mm256_cvtepi32_pd(_mm256_extracti128_si256(q, 1))};
}

static inline qd qd_add(qd a, qd b)
{
    return (qd){_mm256_add_pd(a.lo, b.lo), _mm256_add_pd(a.hi, b.hi)};
}

static inline qd qd_sub(qd a, qd b)
{
    return (qd){_mm256_sub_pd(a.lo, b.lo), _mm256_sub_pd(a.hi, b.hi)};
}

static inline qd qd_mul(qd a, qd b)
{
    return (qd){_mm256_mul_pd(a.lo, b.lo), _mm256_mul_pd(a.hi, b.hi)};
}

static inline double qd_sum(qd a)
{
    __m256d s = _mm256_add_pd(a.lo, a.hi);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

static inline __m256 qd_to_ps(qd a)
{
    return _mm256_set_m128(_mm256_cvtpd_ps(a.hi), _mm256_cvtpd_ps(a.lo));
}

#define QNT_NAME sl_quantise_row_avx2
#define QNT_UNIT sl_unit_avx2_
#include "quantise.h"
