/*
 * c4 in plain C for machines without AVX2: a 2 x 16 register tile that the
 * compiler maps onto SSE2 (8 accumulators of 4 lanes, 4 loads of the column
 * panel, 2 broadcasts per k). Same blocking, same packing, same results
 * order as the vector versions' structure; slower arithmetic.
 */
#include "kernels.h"

#define BLK_MR 2
#define BLK_NP 1
#define BLK_KC SL_C4_KC
#define BLK_NAME sl_c4_tile_portable
#define BLK_SRC(op) ((const uint32_t *)(op)->rows)
#define BLK_LDW(op) ((op)->ld)
#define BLK_PACKW(w) (w)

typedef struct blk_side blk_side;

static inline void blk_ukr(int64_t kc, const uint32_t *wa, const uint32_t *wb, int64_t pstride,
                           float *restrict c, int64_t ldc, int first, int last,
                           const blk_side *side)
{
    (void)pstride, (void)last, (void)side;
    const float *restrict a = (const float *)wa, *restrict b = (const float *)wb;
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

#include "blocked.h"

/* A blocked kernel's scratch for tiles of mc rows: the cache tag, the tile
 * rows' finish quantities and their packed words (a float row is the widest
 * there is). The layout is blk_body's. */
static size_t scratch_rows(int64_t d, int64_t mc)
{
    int64_t ld = (d + 15) / 16 * 16;
    return 64 + 2 * (size_t)(mc + 32) * 4 + (size_t)mc * (size_t)ld * 4;
}

size_t sl_c4_scratch(int64_t d)
{
    return scratch_rows(d, SL_C4_MC);
}

size_t sl_c4w_scratch(int64_t d)
{
    return scratch_rows(d, SL_C4W_MC);
}
