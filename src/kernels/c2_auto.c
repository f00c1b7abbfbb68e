/*
 * c2, the compiler rung: rows normalised once and stored contiguously with
 * zero padding to a multiple of 16, restrict pointers, and a dot product
 * written so the compiler can vectorise it without -ffast-math: sixteen
 * independent partial sums, which is exactly the reassociation the compiler
 * may not invent on its own. The file is built twice: for baseline x86-64
 * (SSE2) and, through c2_auto_avx2.c, for AVX2 + FMA.
 */
#include "kernels.h"

#ifndef SL_C2_NAME
#define SL_C2_NAME sl_c2_tile_sse2
#endif

static float dot_unit(const float *restrict a, const float *restrict b, int64_t ld)
{
    float acc[16] = {0};
    for (int64_t k = 0; k < ld; k += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += a[k + l] * b[k + l];
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0];
}

void SL_C2_NAME(const sl_tile *t)
{
    sl__unit_tile(t, dot_unit);
}
