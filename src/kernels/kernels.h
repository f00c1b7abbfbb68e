/*
 * THE kernel contract. Every rung of the ladder is a kernel: a function that
 * fills one tile of cosine similarities from operands the job layer prepared.
 *
 *   for i in [i0, i1), j in [j0, j1):
 *       c[(i - i0) * ldc + (j - j0)] = cos(a_i, b_j)
 *
 * Operands. What an operand holds depends on the kernel's `input`:
 *   SL_IN_RAW   rows: the input as float32, n rows of ld floats (ld >= d).
 *               Rows were scaled by a power of two where needed so that a
 *               float32 sum of squares neither overflows nor underflows;
 *               that changes no cosine. norm[]: unused.
 *   SL_IN_NORMS as RAW, plus norm[r] = |row r| in float32 (0 for a zero row).
 *   SL_IN_UNIT  rows: each row divided by its norm (computed in float64),
 *               rounded to float32; zero rows stay zero. ld is a multiple of
 *               16 and rows are 64-byte aligned; the padding columns
 *               [d, ld) are zero, so a kernel may run its vector loop over ld
 *               and needs no tail.
 *   SL_IN_PANELS unit rows (as SL_IN_UNIT) stored in panels of SL_PANEL rows:
 *               element (r, k) is at rows[(r / SL_PANEL) * SL_PANEL * ld +
 *               k * SL_PANEL + r % SL_PANEL]. ld is the depth padded to a
 *               multiple of 16; rows past n and columns past d are zero. One
 *               panel is the vector side of a micro-kernel as it stands: for
 *               each k, SL_PANEL consecutive floats (one 64-byte line).
 *               Rows past n are zero up to a multiple of SL_PANEL_PAD.
 *   SL_IN_BF16, SL_IN_INT8, SL_IN_INT7, SL_IN_INT16 (the reduced-precision rungs):
 *               rows: unit rows as SL_IN_UNIT (the fp32 re-score reads
 *               them), and lp: each unit row x quantised to x~, in panels
 *               of 32-bit words laid out as SL_IN_PANELS lays out floats
 *               (word w of row r at lp[(r / 16) * 16 * lpld + w * 16 +
 *               r % 16], lpld words per row, a multiple of 16, rows past n
 *               zero up to SL_PANEL_PAD). A word holds consecutive depth:
 *               2 bf16 (element 2w in the low half), 4 int8 q (element 4w
 *               in the low byte) or 2 int16 q (element 2w in the low half).
 *               bf16: x~ = bf16(x), rounded to nearest.
 *               int8/int7/int16: x~ = lpscale[r] * q, q in [-L, L] with
 *               L = 127, 63 or sl__int16_levels(d) (d L^2 < 2^31), and
 *               lpcorr[r] = off * sum(q) with off = 128, 64 or 0: the byte
 *               kernels turn one side's q into unsigned q + off and take
 *               lpcorr of the row side off again. lpnorm[r] >= |x~| and
 *               lpres[r] >= |x - x~|, computed in float64, rounded up;
 *               lpmax_norm, lpmax_res: their largest values.
 *               A kernel writes s~ = x~.y~ as float32 (its own rounding
 *               bounded in docs/ACCURACY.md), not the cosine: the job layer
 *               bounds |s~ - cos| and re-scores in fp32 what could matter.
 *
 * Self jobs. When the job is a self job and the kernel is `symmetric`, the
 * job layer asks only for tiles with j0 >= i0 and sets `upper`: the kernel
 * must fill every entry with j >= i and may leave entries with j < i
 * untouched. A non-symmetric kernel is asked for every tile of the square.
 *
 * Rules. Kernels allocate nothing, start no threads and keep no state: all
 * memory they touch is the operands, the tile and `scratch` (per thread,
 * kernel->scratch(d) bytes, 64-byte aligned, zeroed at the start of a job
 * and handed to the same thread's later tiles, so a kernel may keep packed
 * rows there and reuse them while the tile rows stay the same). A kernel computes each entry
 * with a fixed order of operations that depends only on the two rows, never
 * on the tile bounds or the thread: results are deterministic and a self
 * matrix is exactly symmetric after the job layer mirrors it.
 *
 * Accuracy. fp32 kernels: |c - cos| <= sl_error_bound(d) (docs/ACCURACY.md).
 *
 * Naming: sl_<rung>_tile_<isa>, file <rung>_<idea>[_<isa>].c; ISA-specific
 * files are compiled with their own flags and nothing else is.
 */
#ifndef SL_KERNELS_H
#define SL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

enum {
    SL_IN_RAW = 0,
    SL_IN_NORMS = 1,
    SL_IN_UNIT = 2,
    SL_IN_PANELS = 3,
    SL_IN_BF16 = 4,
    SL_IN_INT8 = 5,
    SL_IN_INT7 = 6,
    SL_IN_INT16 = 7
};
#define SL_IN_LOWP(in) ((in) >= SL_IN_BF16)
#define SL_PANEL 16
/* Panel operands hold zero rows up to a multiple of this (the widest
 * register tile's columns), so a micro-kernel may read a whole tile's width. */
#define SL_PANEL_PAD 32

/* c4's cache blocking (see blocked.h and perf/README.md for the
 * reasoning): tile rows, tile columns, depth chunk in 32-bit words. These
 * are the defaults; the AVX-512 fp32 kernel takes taller tiles and a shorter
 * depth chunk (SL_C4W_*). */
#ifndef SL_C4_MC
#define SL_C4_MC 192
#endif
#ifndef SL_C4W_MC
#define SL_C4W_MC 448 /* a multiple of the tile's 14 rows and of SL_PANEL_PAD */
#endif
#ifndef SL_C4W_KC
#define SL_C4W_KC 128
#endif
#ifndef SL_C4_NC
#define SL_C4_NC 256
#endif
#ifndef SL_C4_KC
#define SL_C4_KC 256
#endif

typedef struct sl_operand {
    int64_t n, d, ld;
    const float *rows;
    const float *norm;
    /* Low-precision inputs (SL_IN_BF16, SL_IN_INT8/INT7/INT16), beside
     * unit rows in `rows`: see the contract above. NULL otherwise. */
    const uint32_t *lp;
    int64_t lpld;
    const float *lpscale;
    const int32_t *lpcorr;
    const float *lpnorm, *lpres;
    float lpmax_norm, lpmax_res;
} sl_operand;

typedef struct sl_tile {
    const sl_operand *a, *b; /* a: tile rows, b: tile columns */
    int64_t i0, i1, j0, j1;
    float *c;
    int64_t ldc;
    int upper;
    void *scratch;
} sl_tile;

typedef void sl_tile_fn(const sl_tile *t);

/* The unit-row dot product of c2/c3: the one shape they all share. */
typedef float sl_dot_fn(const float *a, const float *b, int64_t ld);

/* The tile loop the unit-row rungs share: one pair at a time. Inlined into
 * each ISA's file so the dot is inlined too. */
static inline void sl__unit_tile(const sl_tile *t, sl_dot_fn *dot)
{
    const sl_operand *a = t->a, *b = t->b;
    for (int64_t i = t->i0; i < t->i1; i++) {
        const float *x = a->rows + i * a->ld;
        float *out = t->c + (i - t->i0) * t->ldc - t->j0;
        int64_t j = t->upper && i > t->j0 ? i : t->j0;
        for (; j < t->j1; j++)
            out[j] = dot(x, b->rows + j * b->ld, a->ld);
    }
}

/* ---- the rungs ---- */
sl_tile_fn sl_ref_tile;           /* float64 oracle, per pair, never optimised */
sl_tile_fn sl_c0_tile;            /* naive: norms recomputed for every pair */
sl_tile_fn sl_c1_tile;            /* norms once, symmetry */
sl_tile_fn sl_c2_tile_sse2;       /* unit rows, restrict, auto-vectorised */
sl_tile_fn sl_c2_tile_avx2;       /* the same source, built for AVX2 + FMA */
sl_tile_fn sl_c3_tile_avx2;       /* explicit AVX2 dot, four accumulators */
sl_tile_fn sl_c3_tile_avx512;     /* explicit AVX-512 dot, four accumulators */
sl_tile_fn sl_c4_tile_portable;   /* blocked, register-tiled 2 x 16, plain C */
sl_tile_fn sl_c4_tile_avx2;       /* blocked, register-tiled 6 x 16 */
sl_tile_fn sl_c4_tile_avx512;     /* blocked, register-tiled 14 x 32 */
size_t sl_c4_scratch(int64_t d);  /* a blocked kernel's scratch, SL_C4_MC rows */
size_t sl_c4w_scratch(int64_t d); /* the same for SL_C4W_MC rows */
sl_tile_fn sl_c6_tile_avx512;     /* bf16 words, 12 x 32, vdpbf16ps */
sl_tile_fn sl_c7_tile_avx512;     /* int8 words, 12 x 32, vpdpbusd */
sl_tile_fn sl_c7_tile_avx2;       /* int16 words, 6 x 16, vpmaddwd */
sl_tile_fn sl_c7b_tile_avx2;      /* int7 or int8 words, 4 x 16, vpmaddubsw (a build variant) */
sl_tile_fn sl_c6_tile_amx;        /* bf16 words, 32 x 32, tdpbf16ps */
sl_tile_fn sl_c7_tile_amx;        /* int8 words, 32 x 32, tdpbssd */

/* The knn and join epilogues' filter: the first j in [j, end) with
 * row[j] >= th or (when thr is not NULL) row[j] >= thr[j]; end if none. */
typedef int64_t sl_scan_fn(const float *row, const float *thr, float th, int64_t j, int64_t end);
sl_scan_fn sl_scan_avx2, sl_scan_avx512;

/* The reduced-precision epilogues' filter, with each pair's own error
 * bound: for every j in [j, end) where v = row[j] + e, with e = ai * br[j]
 * + ri * (bn[j] + br[j]) + c, satisfies v >= th or (when thr is not NULL)
 * v >= thr[j], writes j to out, v to ov and row[j] - e to ol (each with
 * room for end - j + 16 entries), in order; returns how many. ai and ri are
 * the row's |x~| and |x - x~|, bn and br the columns' (the bound e of
 * docs/ACCURACY.md, evaluated in float32 in whichever order the ISA does
 * it best: the bound's constant pays for the difference). The epilogue
 * takes each hit's v and l = s~ - e from here, not evaluating e again. */
typedef int64_t sl_scan_lp_fn(const float *row, const float *bn, const float *br, float ai,
                              float ri, float c, const float *thr, float th, int64_t j, int64_t end,
                              int32_t *out, float *ov, float *ol);
sl_scan_lp_fn sl_scan_lp_avx2, sl_scan_lp_avx512;

/* The reduced-precision rungs' quantiser, once per row of a job: unit row
 * x (d floats) to x~ as the contract above stores it, for input SL_IN_BF16
 * or one of the integer kinds with levels = L. Writes all ldw words of the
 * row's panel column (word w at out[w * SL_PANEL], zeros past d) and
 * returns scale (sigma, 1 for bf16), qsum = sum(q) (0 for bf16), and nn =
 * |x~|^2 and rr = |x - x~|^2 in float64 from the values stored: element k
 * goes to partial sum k mod 16, in order of k, and the 16 sums are then
 * added halves to halves (h + 8 onto h, then h + 4, h + 2, h + 1), without
 * fused multiply-adds, so every ISA returns the same bits.
 * src/core/quantise.c has the scalar reference, which spells out the
 * arithmetic, and picks the variant (sl__quantiser); d <= 65,536. */
typedef struct sl_quantised {
    float scale;
    int64_t qsum;
    double nn, rr;
} sl_quantised;
typedef void sl_quantise_fn(const float *x, int64_t d, int input, int levels, uint32_t *out,
                            int64_t ldw, sl_quantised *res);
sl_quantise_fn sl_quantise_row_avx2, sl_quantise_row_avx512;

/* The unit rows of every blocked and reduced-precision rung, by
 * src/core/prepare.c (which has the scalar reference and picks the
 * variant): sumsq, the float64 sum of x_k^2 by the quantiser's 16 partials
 * and order (above); row, out_k = (float)(x_k * scale) for k < d; panel,
 * the same for SL_PANEL rows x[q] with their scales into one panel (element
 * (q, k) at out[k * SL_PANEL + q], k < d). Every variant returns the same
 * bits. */
typedef double sl_unit_sumsq_fn(const float *x, int64_t d);
typedef void sl_unit_row_fn(const float *x, int64_t d, double scale, float *out);
typedef void sl_unit_panel_fn(const float *const *x, const double *scale, int64_t d, float *out);
typedef struct sl_unit_fns {
    sl_unit_sumsq_fn *sumsq;
    sl_unit_row_fn *row;
    sl_unit_panel_fn *panel;
} sl_unit_fns;
sl_unit_sumsq_fn sl_unit_avx2_sumsq, sl_unit_avx512_sumsq;
sl_unit_row_fn sl_unit_avx2_row, sl_unit_avx512_row;
sl_unit_panel_fn sl_unit_avx2_panel, sl_unit_avx512_panel;

/* The fp32 re-score of the reduced-precision rungs: unit rows of ld floats
 * (a multiple of 16, 64-byte aligned). */
sl_dot_fn sl_dot_f32_avx2, sl_dot_f32_avx512;

/* The FMA peak: fmas independent chains of the ISA's widest FMA, timed by
 * the caller. Returns a value that depends on every lane (so nothing is
 * optimised away). */
float sl_peak_fma_avx2(int64_t iters);
float sl_peak_fma_avx512(int64_t iters);

#endif
