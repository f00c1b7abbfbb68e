/*
 * c4 in plain C for machines without AVX2: a 2 x 16 register tile that the
 * compiler maps onto SSE2 (8 accumulators of 4 lanes, 4 loads of the column
 * panel, 2 broadcasts per k). Same blocking, same packing, same results
 * order as the vector versions' structure; slower arithmetic.
 */
#include "kernels.h"

#define C4_MR 2
#define C4_NAME sl_c4_tile_portable

static inline void c4_ukr(int64_t kc, const float *restrict a, const float *restrict b,
                          float *restrict c, int64_t ldc, int first)
{
    float acc[2][16];
    for (int ii = 0; ii < 2; ii++)
        for (int jj = 0; jj < 16; jj++)
            acc[ii][jj] = first ? 0.0f : c[ii * ldc + jj];
    for (int64_t k = 0; k < kc; k++, a += 2, b += 16)
        for (int ii = 0; ii < 2; ii++)
            for (int jj = 0; jj < 16; jj++)
                acc[ii][jj] += a[ii] * b[jj];
    for (int ii = 0; ii < 2; ii++)
        for (int jj = 0; jj < 16; jj++)
            c[ii * ldc + jj] = acc[ii][jj];
}

#include "c4_blocked.h"

size_t sl_c4_scratch(int64_t d)
{
    int64_t ld = (d + 15) / 16 * 16;
    return 64 + (size_t)C4_MC * (size_t)ld * sizeof(float);
}
