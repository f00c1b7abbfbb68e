/*
 * c4, the blocked rung: one body, instantiated per ISA by c4_<isa>.c, which
 * define C4_MR, C4_NAME and the micro-kernel
 *
 *   static inline void c4_ukr(int64_t kc, const float *a, const float *b,
 *                             float *c, int64_t ldc, int first);
 *
 * computing the C4_MR x SL_PANEL block c[ii * ldc + jj] (+)= sum over kc of
 * a[k * C4_MR + ii] * b[k * SL_PANEL + jj]: a is a packed micro-panel of tile
 * rows (broadcast side), b a slice of one operand panel (vector side), and
 * first says whether to start from zero or to add to c.
 *
 * Blocking, for a tile of rows [i0, i1) (at most C4_MC) and columns
 * [j0, j1) (at most C4_NC):
 *   - the tile rows are packed once into MR-row micro-panels over the whole
 *     depth (C4_MC x ld floats) and kept in scratch for the thread's next
 *     tiles of the same rows (the job layer hands out tiles row-block first);
 *   - the depth is cut in chunks of C4_KC = 256; per chunk, the rows' part
 *     (192 x 256 x 4 = 192 KiB) sits in L2 and each column panel's slice
 *     (16 x 256 x 4 = 16 KiB) sits in L1 while all 32 row micro-panels
 *     stream past it, so each slice is fetched once and used 32 times;
 *   - the next slice is prefetched a few lines per micro-kernel call, since
 *     it comes from L3 or memory and its first use would otherwise stall;
 *   - the operand panels themselves are never copied: the column side reads
 *     them in place, which is why one packed copy serves both sides.
 * C (the tile, 192 x 256 x 4 = 192 KiB) stays in L2 across the depth chunks
 * and the job layer runs the epilogue on it right after. Zen 3 has 512 KiB
 * of L2 and 32 KiB of L1, Zen 4 1 MiB of L2; the reasoning is written out
 * in perf/README.md.
 */
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#define C4_MC SL_C4_MC
#define C4_KC SL_C4_KC

typedef struct c4_cache {
    const float *src;
    int64_t i0, i1;
} c4_cache;

/* Gather rows [i0, i0 + rows) of a panel operand into MR-row micro-panels,
 * chunk by chunk of the depth: chunk pc holds every micro-panel's slice
 * [pc, pc + kc) back to back, so that the micro-kernel calls of one column
 * panel read one contiguous stream (which the hardware prefetcher follows)
 * instead of restarting at each micro-panel. Rows past the end are zeros. */
static inline void c4_pack(const sl_operand *a, int64_t i0, int64_t rows, float *dst)
{
    int64_t ld = a->ld;
    for (int64_t pc = 0; pc < ld; pc += C4_KC) {
        int64_t kc = ld - pc < C4_KC ? ld - pc : C4_KC;
        for (int64_t p = 0; p < rows; p += C4_MR) {
            float *out = dst + pc * rows + p * kc;
            for (int ii = 0; ii < C4_MR; ii++) {
                int64_t r = i0 + p + ii;
                if (r >= a->n) {
                    for (int64_t k = 0; k < kc; k++)
                        out[k * C4_MR + ii] = 0;
                    continue;
                }
                const float *src =
                    a->rows + (r / SL_PANEL) * SL_PANEL * ld + pc * SL_PANEL + r % SL_PANEL;
                for (int64_t k = 0; k < kc; k++)
                    out[k * C4_MR + ii] = src[k * SL_PANEL];
            }
        }
    }
}

static inline void c4_body(const sl_tile *t)
{
    const sl_operand *a = t->a, *b = t->b;
    int64_t ld = a->ld, i0 = t->i0, i1 = t->i1, j0 = t->j0, j1 = t->j1;
    int64_t rows = (i1 - i0 + C4_MR - 1) / C4_MR * C4_MR;
    c4_cache *cache = t->scratch;
    float *packed = (float *)((char *)t->scratch + 64);
    if (cache->src != a->rows || cache->i0 != i0 || cache->i1 != i1) {
        c4_pack(a, i0, rows, packed);
        cache->src = a->rows;
        cache->i0 = i0;
        cache->i1 = i1;
    }
    float edge[C4_MR * SL_PANEL];
    for (int64_t pc = 0; pc < ld; pc += C4_KC) {
        int64_t kc = ld - pc < C4_KC ? ld - pc : C4_KC;
        int first = pc == 0;
        for (int64_t j = j0; j < j1; j += SL_PANEL) {
            const float *bp = b->rows + (j / SL_PANEL) * SL_PANEL * ld + pc * SL_PANEL;
            int64_t nj = j1 - j < SL_PANEL ? j1 - j : SL_PANEL;
            /* The next panel slice comes from L3 or memory: fetch it a
             * piece per micro-kernel call, so it is in L1 when its turn comes. */
            const float *next = bp;
            if (j + SL_PANEL < j1)
                next = bp + SL_PANEL * ld;
            else if (pc + C4_KC < ld)
                next = b->rows + (j0 / SL_PANEL) * SL_PANEL * ld + (pc + C4_KC) * SL_PANEL;
            int64_t lines = kc * SL_PANEL * 4 / 64, line = 0;
            int64_t per = (lines + rows / C4_MR - 1) / (rows / C4_MR);
            for (int64_t i = i0; i < i1; i += C4_MR) {
                for (int64_t q = 0; q < per && line < lines; q++, line++)
                    __builtin_prefetch((const char *)next + line * 64);
                /* In a self tile, a block wholly below the diagonal is the
                 * mirror of one computed elsewhere. */
                if (t->upper && j + SL_PANEL <= i)
                    continue;
                const float *ap = packed + pc * rows + (i - i0) * kc;
                float *c = t->c + (i - i0) * t->ldc + (j - j0);
                int64_t ni = i1 - i < C4_MR ? i1 - i : C4_MR;
                if (ni == C4_MR && nj == SL_PANEL) {
                    c4_ukr(kc, ap, bp, c, t->ldc, first);
                    continue;
                }
                /* An edge block: run the same micro-kernel on a full-size
                 * copy, so edge entries round exactly like the others. */
                for (int64_t ii = 0; ii < ni && !first; ii++)
                    memcpy(edge + ii * SL_PANEL, c + ii * t->ldc, (size_t)nj * sizeof(float));
                c4_ukr(kc, ap, bp, edge, SL_PANEL, first);
                for (int64_t ii = 0; ii < ni; ii++)
                    memcpy(c + ii * t->ldc, edge + ii * SL_PANEL, (size_t)nj * sizeof(float));
            }
        }
    }
}

void C4_NAME(const sl_tile *t)
{
    c4_body(t);
}
