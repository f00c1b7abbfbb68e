/*
 * c7 on AMX (and, built again by c6_bf16_amx.c, c6): the same quantised
 * panels and blocking as the AVX-512 versions, multiplied by tiles instead
 * of vectors. A tile register holds 16 rows of 64 bytes; one tdpbssd
 * multiplies a 16 x 64 int8 tile by a 64 x 16 one into 16 x 16 int32 sums
 * (16,384 multiply-adds; tdpbf16ps does 16 x 32 x 16 bf16 ones into fp32).
 *
 * The register tile is 32 x 32: four accumulator tiles (two row groups by
 * two column panels), two row tiles and two column tiles, all eight tile
 * registers. The column tile is a panel exactly as stored (16 depth words of
 * 16 columns: the "VNNI" layout tdpbssd wants for its second source), read
 * in place; the row tiles need each row's words side by side, so blocked.h
 * packs this kernel's micro-panels as 16 x 16-word blocks (BLK_AIDX).
 *
 * int8 as signed x signed (tdpbssd): no unsigned offset, so lpcorr is not
 * used; the finish converts the int32 sums and scales them by the two rows'
 * steps with AVX-512, as c7_int8_avx512.c does. bf16 sums are s~ already.
 * Accumulation: exact int32 for int8 (d * 127^2 fits); fp32 with one
 * rounding per product for bf16, as vdpbf16ps (docs/ACCURACY.md).
 */
#include "avx512.h"
#if defined(SL_AMX_EMULATED) /* test builds: tiles emulated in C (tests/emu/) */
#include "amx_emu.h"
#endif

#include <string.h>

#include "kernels.h"

#define BLK_MR 32
#define BLK_NP 2
#define BLK_KC 128 /* AMX: two 16 KiB row tiles and two column tiles per step stay in L1 */
#define BLK_SRC(op) ((op)->lp)
#define BLK_LDW(op) ((op)->lpld)
#define BLK_PACKW(w) (w)
#define BLK_AIDX(ii, k, kc) (((k) / 16) * BLK_MR * 16 + (ii)*16 + (k) % 16)
#define BLK_BEGIN() amx_begin()
#define BLK_END() _tile_release()
#ifdef SL_AMX_BF16
#define BLK_NAME sl_c6_tile_amx
#define AMX_DP(c, a, b) _tile_dpbf16ps(c, a, b)
#else
#define BLK_NAME sl_c7_tile_amx
#define AMX_DP(c, a, b) _tile_dpbssd(c, a, b)
#endif

/* Tiles 0-3 accumulate (row group g, panel p) at 2g + p; 4, 5 hold the row
 * groups, 6, 7 the panels. Every tile is 16 rows of 64 bytes. */
static inline void amx_begin(void)
{
    struct {
        uint8_t palette, start_row, reserved[14];
        uint16_t colsb[16];
        uint8_t rows[16];
    } cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

#include "blocked.h"

static inline void blk_ukr(int64_t kw, const uint32_t *a, const uint32_t *b, int64_t pstride,
                           float *c, int64_t ldc, int first, int last, const blk_side *side)
{
    size_t stride = (size_t)ldc * 4;
    if (first) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    } else {
        _tile_loadd(0, c, stride);
        _tile_loadd(1, c + 16, stride);
        _tile_loadd(2, c + 16 * ldc, stride);
        _tile_loadd(3, c + 16 * ldc + 16, stride);
    }
    for (int64_t k = 0; k < kw; k += 16, a += BLK_MR * 16, b += 16 * 16) {
        _tile_loadd(4, a, 64);
        _tile_loadd(5, a + 16 * 16, 64);
        _tile_loadd(6, b, 64);
        _tile_loadd(7, b + pstride, 64);
        AMX_DP(0, 4, 6);
        AMX_DP(1, 4, 7);
        AMX_DP(2, 5, 6);
        AMX_DP(3, 5, 7);
    }
    _tile_stored(0, c, stride);
    _tile_stored(1, c + 16, stride);
    _tile_stored(2, c + 16 * ldc, stride);
    _tile_stored(3, c + 16 * ldc + 16, stride);
#ifdef SL_AMX_BF16
    (void)last, (void)side;
#else
    if (!last)
        return;
    __m512 cs0 = _mm512_loadu_ps(side->cscale), cs1 = _mm512_loadu_ps(side->cscale + 16);
    for (int ii = 0; ii < BLK_MR; ii++) {
        float *row = c + ii * ldc;
        __m512 rs = _mm512_set1_ps(side->rscale[ii]);
        __m512 v0 = _mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)row));
        __m512 v1 = _mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)(row + 16)));
        _mm512_storeu_ps(row, _mm512_mul_ps(_mm512_mul_ps(v0, rs), cs0));
        _mm512_storeu_ps(row + 16, _mm512_mul_ps(_mm512_mul_ps(v1, rs), cs1));
    }
#endif
}
