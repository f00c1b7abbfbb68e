/*
 * The AMX instructions the c6/c7 AMX kernels use, in plain C, so that their
 * logic (tile layouts, packing, strides, the finish) is tested on machines
 * without AMX. Eight tiles of 16 rows x 64 bytes per thread; the products
 * follow the instruction set reference: tdpbssd sums 4 signed byte products
 * per int32 lane exactly, tdpbf16ps adds the odd then the even bf16 product
 * of each pair to the fp32 lane, rounding each time.
 */
#ifndef SL_AMX_EMU_H
#define SL_AMX_EMU_H

#include <stdint.h>
#include <string.h>

static _Thread_local uint8_t emu_tile[8][16][64];

static inline void emu_loadconfig(const void *cfg)
{
    (void)cfg; /* every tile is 16 x 64 bytes in these kernels */
}
static inline void emu_loadd(int t, const void *base, size_t stride)
{
    for (int r = 0; r < 16; r++)
        memcpy(emu_tile[t][r], (const char *)base + r * stride, 64);
}
static inline void emu_stored(int t, void *base, size_t stride)
{
    for (int r = 0; r < 16; r++)
        memcpy((char *)base + r * stride, emu_tile[t][r], 64);
}
static inline void emu_dpbssd(int c, int a, int b)
{
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            int32_t acc;
            memcpy(&acc, &emu_tile[c][m][4 * n], 4);
            for (int k = 0; k < 16; k++)
                for (int e = 0; e < 4; e++)
                    acc += (int8_t)emu_tile[a][m][4 * k + e] * (int8_t)emu_tile[b][k][4 * n + e];
            memcpy(&emu_tile[c][m][4 * n], &acc, 4);
        }
}
static inline float emu_bf16(const uint8_t *p)
{
    uint32_t u = (uint32_t)(p[0] | p[1] << 8) << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline void emu_dpbf16ps(int c, int a, int b)
{
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 16; n++) {
            float acc;
            memcpy(&acc, &emu_tile[c][m][4 * n], 4);
            for (int k = 0; k < 16; k++) {
                acc += emu_bf16(&emu_tile[a][m][4 * k + 2]) * emu_bf16(&emu_tile[b][k][4 * n + 2]);
                acc += emu_bf16(&emu_tile[a][m][4 * k]) * emu_bf16(&emu_tile[b][k][4 * n]);
            }
            memcpy(&emu_tile[c][m][4 * n], &acc, 4);
        }
}

/* immintrin.h may have its own (macro) versions: these replace them. */
#undef _tile_loadconfig
#undef _tile_release
#undef _tile_zero
#undef _tile_loadd
#undef _tile_stored
#undef _tile_dpbssd
#undef _tile_dpbf16ps
#define _tile_loadconfig(cfg) emu_loadconfig(cfg)
#define _tile_release() ((void)0)
#define _tile_zero(t) memset(emu_tile[t], 0, sizeof emu_tile[t])
#define _tile_loadd(t, base, stride) emu_loadd(t, base, stride)
#define _tile_stored(t, base, stride) emu_stored(t, base, stride)
#define _tile_dpbssd(c, a, b) emu_dpbssd(c, a, b)
#define _tile_dpbf16ps(c, a, b) emu_dpbf16ps(c, a, b)

#endif
