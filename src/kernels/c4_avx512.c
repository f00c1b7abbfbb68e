/*
 * c4 on AVX-512: a 24 x 16 register tile. One zmm load of the column panel
 * (a whole 64-byte line) and 24 broadcasts feed 24 accumulators: 24 + 1 + 1
 * of the 32 registers. Zen 4 runs one 512-bit FMA per cycle (two 256-bit
 * halves), so 24 chains hide its latency several times over; the broadcasts
 * are loads from the packed micro-panel, 24 per 24 FMAs, inside the two or
 * three loads Zen 4 issues per cycle.
 */
#if defined(SL_SIMDE) /* test builds: AVX-512 emulated on AVX2 (tests/emu/) */
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#else
#include <immintrin.h>
#endif

#include "kernels.h"

#define C4_MR 24
#define C4_NAME sl_c4_tile_avx512

static inline void c4_ukr(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          int first)
{
    __m512 acc[24];
    for (int ii = 0; ii < 24; ii++)
        acc[ii] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + ii * ldc);
    for (int64_t k = 0; k < kc; k++, a += 24, b += 16) {
        __m512 bv = _mm512_load_ps(b);
        for (int ii = 0; ii < 24; ii++)
            acc[ii] = _mm512_fmadd_ps(_mm512_set1_ps(a[ii]), bv, acc[ii]);
    }
    for (int ii = 0; ii < 24; ii++)
        _mm512_storeu_ps(c + ii * ldc, acc[ii]);
}

#include "c4_blocked.h"

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
