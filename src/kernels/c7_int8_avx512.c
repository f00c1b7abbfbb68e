/*
 * c7 on AVX-512 VNNI: int8 words, a 12 x 32 register tile of int32 sums.
 * vpdpbusd multiplies 4 unsigned bytes of its first source by 4 signed
 * bytes of its second and adds the four products to an int32 lane: 64
 * multiply-adds per instruction where an fp32 FMA does 16. The column side
 * (two zmm loads per step of 4 depth values) becomes unsigned by flipping
 * the sign bit (q + 128); the row side is broadcast as it is, 4 signed
 * bytes at a time. So each lane gets sum (q_col + 128) q_row, and the
 * finish takes 128 * sum(q_row) (lpcorr) off again: exact integer
 * arithmetic while d * 127 * 255 fits in an int32 (d < 66,000; the job
 * layer checks), then one conversion and two products give s~.
 */
#include "avx512.h"

#include "kernels.h"

/* SL_C7V_I16=1 (a build variant, perf/README.md): int16 words of the
 * c7-avx2 kind (SL_IN_INT16) and vpdpwssd, which multiplies 2 signed int16
 * pairs per lane and adds both products to it: half the multiply-adds of
 * vpdpbusd per instruction, for a quantisation step 13 times finer, so
 * that about k pairs a row reach the re-score instead of 4k. Exact for the
 * same reason as c7-avx2's: d L^2 < 2^31. No offset, no correction. */
#ifndef SL_C7V_I16
#define SL_C7V_I16 0
#endif

#define BLK_MR 12
#define BLK_NP 2
#define BLK_KC SL_C4_KC
#define BLK_NAME sl_c7_tile_avx512
#define BLK_SRC(op) ((op)->lp)
#define BLK_LDW(op) ((op)->lpld)
#define BLK_PACKW(w) (w)

#define C7_DECL(r) __m512i x##r, y##r;
#define C7_ZERO(r) x##r = _mm512_setzero_si512(), y##r = _mm512_setzero_si512();
#define C7_LOAD(r)                                                                                 \
    x##r = _mm512_loadu_si512((const void *)(c + r * ldc)),                                        \
    y##r = _mm512_loadu_si512((const void *)(c + r * ldc + 16));
#if SL_C7V_I16
#define C7_OP "vpdpwssd"
#define C7_DOT(acc, b, s) _mm512_dpwssd_epi32(acc, b, s)
#define C7_FLIP(v) (v)
#else
#define C7_OP "vpdpbusd"
#define C7_DOT(acc, b, s) _mm512_dpbusd_epi32(acc, b, s)
#define C7_FLIP(v) _mm512_xor_si512(v, flip)
#endif
/* gcc 12 compiles the intrinsic's accumulate with a copy of the
 * accumulator in and out of another register and a store of it to the
 * stack on every step (objdump of the object shows it), which held this
 * tile to 37% of the int8 rate on a Zen 5 where the bf16 tile, the same
 * loop otherwise, reaches 95% of its own. So natively the step is the
 * instruction itself; the emulated build (SL_SIMDE) keeps the intrinsic.
 * The row word is broadcast to a register first (vpbroadcastd) and both
 * products read it there: with the broadcast inside each vpdpbusd
 * ({1to16}, a load in every instruction) the tile reached 944-964 GFLOP/s
 * of fp32 work on a Zen 5 core, with the register 1,058-1,100
 * (build/tile_bench c7-avx512 768 quick), and a self knn took x0.91-0.99
 * of the time (perf/README.md). */
#if defined(SL_SIMDE)
#define C7_STEP(r)                                                                                 \
    {                                                                                              \
        __m512i s = _mm512_set1_epi32((int)a[r]);                                                  \
        x##r = C7_DOT(x##r, b0, s);                                                                \
        y##r = C7_DOT(y##r, b1, s);                                                                \
    }
#else
#define C7_STEP(r)                                                                                 \
    {                                                                                              \
        __m512i s;                                                                                 \
        __asm__("vpbroadcastd %[w], %[s]" : [s] "=v"(s) : [w] "m"(a[r]));                          \
        __asm__(C7_OP " %[s], %[p], %[x]\n\t" C7_OP " %[s], %[q], %[y]"                            \
                : [x] "+v"(x##r), [y] "+v"(y##r)                                                   \
                : [p] "v"(b0), [q] "v"(b1), [s] "v"(s));                                           \
    }
#endif
#define C7_RAW(r)                                                                                  \
    _mm512_storeu_si512((void *)(c + r * ldc), x##r),                                              \
        _mm512_storeu_si512((void *)(c + r * ldc + 16), y##r);
#define C7_FIN(r)                                                                                  \
    c7_finish(x##r, side->rcorr[r], side->rscale[r], cs0, c + r * ldc),                            \
        c7_finish(y##r, side->rcorr[r], side->rscale[r], cs1, c + r * ldc + 16);

#include "blocked.h"

static inline void c7_finish(__m512i acc, int32_t corr, float rs, __m512 cs, float *c)
{
    __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, _mm512_set1_epi32(corr)));
    _mm512_storeu_ps(c, _mm512_mul_ps(_mm512_mul_ps(v, _mm512_set1_ps(rs)), cs));
}

static inline void blk_ukr(int64_t kw, const uint32_t *a, const uint32_t *b, int64_t pstride,
                           float *c, int64_t ldc, int first, int last, const blk_side *side)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    (void)flip;
    BLK_ROWS12(C7_DECL)
    if (first) {
        BLK_ROWS12(C7_ZERO)
    } else {
        BLK_ROWS12(C7_LOAD)
    }
    for (int64_t k = 0; k < kw; k++, a += 12, b += 16) {
        __m512i b0 = C7_FLIP(_mm512_load_si512((const void *)b));
        __m512i b1 = C7_FLIP(_mm512_load_si512((const void *)(b + pstride)));
        BLK_ROWS12(C7_STEP)
    }
    if (!last) {
        BLK_ROWS12(C7_RAW)
        return;
    }
    __m512 cs0 = _mm512_loadu_ps(side->cscale), cs1 = _mm512_loadu_ps(side->cscale + 16);
    BLK_ROWS12(C7_FIN)
}
