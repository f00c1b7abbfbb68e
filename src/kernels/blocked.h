/*
 * The blocked rungs (c4 and up): one body, instantiated per ISA and element
 * type by the file that includes it, which defines
 *
 *   BLK_MR       rows of the register tile (the broadcast side)
 *   BLK_NP       operand panels per register tile: its columns are
 *                BLK_NP * SL_PANEL (the vector side)
 *   BLK_KC       depth chunk, in 32-bit words
 *   BLK_NAME     the tile function this instantiates
 *   BLK_SRC(op)  the operand's panels as 32-bit words (const uint32_t *)
 *   BLK_LDW(op)  words per row in those panels (a multiple of 16)
 *   BLK_PACKW(w) what a word becomes on the broadcast side (identity, or a
 *                change of sign convention for int8)
 *
 * and the micro-kernel
 *
 *   static inline void blk_ukr(int64_t kw, const uint32_t *a, const uint32_t *b,
 *                              int64_t pstride, float *c, int64_t ldc,
 *                              int first, int last, const blk_side *s);
 *
 * computing the BLK_MR x (BLK_NP * 16) block of c from kw words of depth: a
 * is a packed micro-panel of tile rows (word ii of depth step k at
 * a[k * BLK_MR + ii]), b the slice of the first operand panel (word of
 * column jj at b[k * 16 + jj]), the next panel pstride words further on.
 * first: start from zero (else add to what c holds); last: this is the last
 * chunk of the depth, so finish the values (a low-precision kernel converts
 * its accumulators to similarities here; until then c may hold raw
 * accumulator bits). s: the per-row and per-column quantities of the
 * finish, for the block's rows and columns.
 *
 * A word is one float for c4 and a group of 2 bf16 or 4 int8 values of
 * consecutive depth for c6 and c7: the layout, the packing and the blocking
 * are the same for every element type, only the micro-kernel differs.
 *
 * Blocking, for a tile of MC rows [i0, i1) (BLK_MC at most: 192, or 448 for
 * the AVX-512 fp32 kernel) and NC columns
 * [j0, j1) (at most SL_C4_NC):
 *   - the tile rows are packed once into MR-row micro-panels over the whole
 *     depth and kept in scratch for the thread's next tiles of the same rows
 *     (the job layer hands out tiles row block first);
 *   - the depth is cut in chunks of BLK_KC words; per chunk the rows' part
 *     (MC x KC words) sits in L2 and the register tile's column slice
 *     (NP * 16 x KC words, at most half of L1) sits in L1 while every row
 *     micro-panel streams past it, so each slice is fetched once and used
 *     MC / MR times;
 *   - the next slice is prefetched a few lines per micro-kernel call, since
 *     it comes from L3 or memory and its first use would otherwise stall;
 *   - the operand panels are never copied: the column side reads them in
 *     place, which is why one packed copy serves both sides.
 * The tile (MC x NC floats: 192 or 448 KiB) stays in L2 across the depth
 * chunks, next to the rows' chunk, and the job layer runs the epilogue on it
 * right after. perf/README.md has the reasoning per machine.
 */
#include <stdint.h>
#include <string.h>

#include "kernels.h"

/* Tile rows: the registry hands this kernel tiles of at most BLK_MC rows,
 * and its scratch is sized for them (sl_c4_scratch, sl_c4w_scratch). */
#ifndef BLK_MC
#define BLK_MC SL_C4_MC
#endif
/* A self job's tiles start their columns at their first row: a multiple of
 * the tile rows must then be one of SL_PANEL_PAD too, or a column slice could
 * begin 16 columns off the padding and read a panel past the operand's end. */
_Static_assert(BLK_MC % SL_PANEL_PAD == 0 && BLK_MC % BLK_MR == 0,
               "tile rows: a multiple of the register tile's rows and of SL_PANEL_PAD");
/* Where word (ii, k) of a micro-panel's depth chunk of kc words goes: the
 * broadcast kernels want each depth step's MR words together; an AMX kernel
 * wants 16 rows of 16 words (one tile) at a time, and defines its own. */
#ifndef BLK_AIDX
#define BLK_AIDX(ii, k, kc) ((k)*BLK_MR + (ii))
#else
#define BLK_AIDX_OWN
#endif
/* Run at the start and end of each tile (an AMX kernel configures its
 * tiles there). */
#ifndef BLK_BEGIN
#define BLK_BEGIN()
#define BLK_END()
#endif
#ifndef BLK_PREFETCH
#define BLK_PREFETCH 1
#endif
#define BLK_NR (BLK_NP * SL_PANEL)

/* X(r) for the rows of a 12- or 14-row register tile, which the
 * micro-kernels spell out so that every accumulator is a named register. */
#define BLK_ROWS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define BLK_ROWS14(X) BLK_ROWS12(X) X(12) X(13)

/* What the scratch holds: which rows are packed, then (64 bytes in) the
 * rows' finish quantities and their packed words. */
typedef struct blk_cache {
    const void *src;
    int64_t i0, i1;
} blk_cache;

typedef struct blk_side {
    const float *rscale;  /* BLK_MR tile rows: int8 scale, else unused */
    const int32_t *rcorr; /* BLK_MR tile rows: int8 offset correction */
    const float *cscale;  /* BLK_NR columns: int8 scale */
} blk_side;

/* Defined by the including file, before or after this header. */
static inline void blk_ukr(int64_t kw, const uint32_t *a, const uint32_t *b, int64_t pstride,
                           float *c, int64_t ldc, int first, int last, const blk_side *s);

/* Gather rows [i0, i0 + rows) of a panel operand into MR-row micro-panels,
 * chunk by chunk of the depth: chunk pc holds every micro-panel's slice
 * [pc, pc + kc) back to back, so that the micro-kernel calls of one column
 * slice read one contiguous stream (which the hardware prefetcher follows)
 * instead of restarting at each micro-panel. Rows past the end are zeros. */
static inline void blk_pack(const sl_operand *a, int64_t i0, int64_t rows, uint32_t *dst,
                            float *rscale, int32_t *rcorr)
{
    const uint32_t *w = BLK_SRC(a);
    int64_t ld = BLK_LDW(a);
    for (int64_t r = 0; r < rows; r++) {
        int live = i0 + r < a->n;
        rscale[r] = live && a->lpscale ? a->lpscale[i0 + r] : 0;
        rcorr[r] = live && a->lpcorr ? a->lpcorr[i0 + r] : 0;
    }
    for (int64_t pc = 0; pc < ld; pc += BLK_KC) {
        int64_t kc = ld - pc < BLK_KC ? ld - pc : BLK_KC;
        for (int64_t p = 0; p < rows; p += BLK_MR) {
            uint32_t *out = dst + pc * rows + p * kc;
#ifndef BLK_AIDX_OWN
            /* The common case, a micro-panel of live rows laid out step by
             * step: each step's MR words are the step's line of one panel
             * from row offset o on, then the next panel's line from its
             * start: two short runs that copy a vector at a time, where a
             * row at a time reads one word in 16. */
            int64_t r0 = i0 + p, o = r0 % SL_PANEL;
            if (r0 + BLK_MR <= a->n) {
                const uint32_t *s0 = w + (r0 - o) * ld + pc * SL_PANEL + o;
                const uint32_t *s1 = w + (r0 - o + SL_PANEL) * ld + pc * SL_PANEL;
                int64_t n0 = SL_PANEL - o < BLK_MR ? SL_PANEL - o : BLK_MR, n1 = BLK_MR - n0;
                for (int64_t k = 0; k < kc; k++, out += BLK_MR, s0 += SL_PANEL, s1 += SL_PANEL) {
                    for (int64_t q = 0; q < n0; q++)
                        out[q] = BLK_PACKW(s0[q]);
                    for (int64_t q = 0; q < n1; q++)
                        out[n0 + q] = BLK_PACKW(s1[q]);
                }
                continue;
            }
#endif
            for (int ii = 0; ii < BLK_MR; ii++) {
                int64_t r = i0 + p + ii;
                if (r >= a->n) {
                    for (int64_t k = 0; k < kc; k++)
                        out[BLK_AIDX(ii, k, kc)] = 0;
                    continue;
                }
                const uint32_t *src =
                    w + (r / SL_PANEL) * SL_PANEL * ld + pc * SL_PANEL + r % SL_PANEL;
                for (int64_t k = 0; k < kc; k++)
                    out[BLK_AIDX(ii, k, kc)] = BLK_PACKW(src[k * SL_PANEL]);
            }
        }
    }
}

static inline void blk_body(const sl_tile *t)
{
    const sl_operand *a = t->a, *b = t->b;
    const uint32_t *bw = BLK_SRC(b);
    int64_t ld = BLK_LDW(a), i0 = t->i0, i1 = t->i1, j0 = t->j0, j1 = t->j1;
    int64_t rows = (i1 - i0 + BLK_MR - 1) / BLK_MR * BLK_MR, pstride = SL_PANEL * ld;
    blk_cache *cache = t->scratch;
    float *rscale = (float *)((char *)t->scratch + 64);
    int32_t *rcorr = (int32_t *)(rscale + BLK_MC + 32);
    uint32_t *packed = (uint32_t *)(rcorr + BLK_MC + 32); /* 64-byte aligned */
    if (cache->src != BLK_SRC(a) || cache->i0 != i0 || cache->i1 != i1) {
        blk_pack(a, i0, rows, packed, rscale, rcorr);
        cache->src = BLK_SRC(a);
        cache->i0 = i0;
        cache->i1 = i1;
    }
    float edge[BLK_MR * BLK_NR];
    BLK_BEGIN();
    for (int64_t pc = 0; pc < ld; pc += BLK_KC) {
        int64_t kc = ld - pc < BLK_KC ? ld - pc : BLK_KC;
        int first = pc == 0, last = pc + BLK_KC >= ld;
        for (int64_t j = j0; j < j1; j += BLK_NR) {
            const uint32_t *bp = bw + (j / SL_PANEL) * pstride + pc * SL_PANEL;
            int64_t nj = j1 - j < BLK_NR ? j1 - j : BLK_NR;
            blk_side side = {rscale, rcorr, b->lpscale ? b->lpscale + j : NULL};
            /* The next slice comes from L3 or memory: fetch it a piece per
             * micro-kernel call, so it is in L1 when its turn comes. */
            const uint32_t *next = bp;
            if (j + BLK_NR < j1)
                next = bp + BLK_NP * pstride;
            else if (pc + BLK_KC < ld)
                next = bw + (j0 / SL_PANEL) * pstride + (pc + BLK_KC) * SL_PANEL;
            int64_t lines = kc * SL_PANEL * 4 / 64, calls = rows / BLK_MR;
            int64_t per = (BLK_NP * lines + calls - 1) / calls, line = 0, panel = 0;
            for (int64_t i = i0; i < i1; i += BLK_MR) {
                for (int64_t q = 0; q < per && panel < BLK_NP; q++) {
                    if (BLK_PREFETCH)
                        __builtin_prefetch((const char *)(next + panel * pstride) + line * 64);
                    if (++line == lines)
                        line = 0, panel++;
                }
                /* In a self tile, a block wholly below the diagonal is the
                 * mirror of one computed elsewhere. */
                if (t->upper && j + BLK_NR <= i)
                    continue;
                const uint32_t *ap = packed + pc * rows + (i - i0) * kc;
                float *c = t->c + (i - i0) * t->ldc + (j - j0);
                int64_t ni = i1 - i < BLK_MR ? i1 - i : BLK_MR;
                side.rscale = rscale + (i - i0);
                side.rcorr = rcorr + (i - i0);
                if (ni == BLK_MR && nj == BLK_NR) {
                    blk_ukr(kc, ap, bp, pstride, c, t->ldc, first, last, &side);
                    continue;
                }
                /* An edge block: run the same micro-kernel on a full-size
                 * copy, so edge entries round exactly like the others. The
                 * operand has zero rows up to a multiple of BLK_NR, so the
                 * columns past the end are there to read. */
                for (int64_t ii = 0; ii < ni && !first; ii++)
                    memcpy(edge + ii * BLK_NR, c + ii * t->ldc, (size_t)nj * sizeof(float));
                blk_ukr(kc, ap, bp, pstride, edge, BLK_NR, first, last, &side);
                for (int64_t ii = 0; ii < ni; ii++)
                    memcpy(c + ii * t->ldc, edge + ii * BLK_NR, (size_t)nj * sizeof(float));
            }
        }
    }
    BLK_END();
}

void BLK_NAME(const sl_tile *t)
{
    blk_body(t);
}
