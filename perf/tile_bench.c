/*
 * One kernel's tile function on one thread, without a job around it: how
 * close the blocked body gets to the FMA peak for tiles of a given shape,
 * with the rows packed once and the same column range every call (so the
 * operands sit in cache as well as they can), against the 1-thread peak
 * measured by the same run.
 *
 *     build/tile_bench [kernel [d [quick]]]   e.g. build/tile_bench c4-avx512 768
 *
 * quick: the full-height tile of 256 columns alone (perf/test_gates.py).
 * Without it, the full-height tile also runs with its columns moving through
 * the operand, as in a job.
 *
 * A whole knn job loses more than this to the epilogue, the heaps, the
 * packing and the columns' trips from L3; a tile that runs far below the
 * peak here points at the micro-kernel or the blocking, not at those.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "internal.h"

/* GFLOP/s of mr x nc tiles, the best of 5 runs of about 0.2 s: every call
 * on columns [j0, j0 + nc), or with j0 < 0 on the next nc columns of the
 * operand each call, starting over at its end. */
static double rate(const sl_kernel *k, const sl_operand *op, int64_t mr, int64_t nc, int64_t j0,
                   float *c, void *scratch)
{
    double flops = 2.0 * (double)mr * (double)nc * (double)op->d, best = 1e30;
    int reps = (int)(4e10 / flops) + 1, moving = j0 < 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = sl__now();
        for (int r = 0; r < reps; r++) {
            if (moving)
                j0 = j0 < 0 || j0 + 2 * nc > op->n ? 0 : j0 + nc;
            sl_tile t = {op, op, 0, mr, j0, j0 + nc, c, nc, 0, scratch};
            k->tile(&t);
        }
        double dt = (sl__now() - t0) / reps;
        best = dt < best ? dt : best;
    }
    return flops / best * 1e-9;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "c4";
    int64_t n = 10000, d = argc > 2 ? atoll(argv[2]) : 768;
    int quick = argc > 3 && !strcmp(argv[3], "quick");
    if (d < 1 || d > 65536) {
        fprintf(stderr, "tile_bench: d must be 1 to 65,536\n");
        return 2;
    }
    const sl_kernel *k;
    sl_error err;
    if (sl__kernel_resolve(name, NULL, &k, &err) != SL_OK || !k->scratch) {
        fprintf(stderr, "tile_bench: %s\n", k ? "not a blocked kernel (c4 and up)" : err.message);
        return 2;
    }
    float *x = malloc((size_t)(n * d) * sizeof *x);
    if (!x)
        return 1;
    uint64_t s = 1;
    for (int64_t i = 0; i < n * d; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((int64_t)(s >> 40) - (1 << 23)) * 0x1p-23f;
    }
    sl_view v = sl_view_f32(x, n, d);
    sl_prepared p;
    if (sl__prepare(&v, k->input, 0, 1, &p, &err) != SL_OK) {
        fprintf(stderr, "tile_bench: %s\n", err.message);
        return 1;
    }
    size_t sb = k->scratch(d);
    void *scratch = sl__alloc(sb);
    float *c = sl__alloc((size_t)k->task_rows * 1024 * sizeof *c);
    if (!scratch || !c)
        return 1;
    memset(scratch, 0, sb);
    /* The peak of the widest FMA the kernel itself uses. */
    const char *isa = k->needs & SL_CPU_AVX512F ? NULL : k->needs & SL_CPU_AVX2 ? "avx2" : "scalar";
    double peak = sl_peak_gflops(isa, 1, 0.5), g[9];
    int64_t rows[] = {k->task_rows / 8, k->task_rows / 2, k->task_rows};
    int64_t cols[] = {32, 256, 1024};
    int a0 = quick ? 2 : 0, b0 = quick ? 1 : 0, b1 = quick ? 2 : 3; /* the shapes run */
    for (int a = a0; a < 3; a++)
        for (int b = b0; b < b1; b++)
            g[3 * a + b] = rate(k, &p.op, rows[a], cols[b], n / 2, c, scratch);
    /* The full-height tile again, its columns moving on by 256 each call
     * through the whole operand, as a job's tiles do: the columns then come
     * from L3 (or memory) every call, and the difference from the fixed
     * range above is what those trips cost. Not with quick, whose last
     * line perf/test_gates.py reads. */
    double moving = quick ? 0 : rate(k, &p.op, k->task_rows, 256, -1, c, scratch);
    /* The peak before and after: the larger, so a busy moment lowers it
     * (and raises the percentages) less. */
    double again = sl_peak_gflops(isa, 1, 0.5);
    peak = again > peak ? again : peak;
    printf("%s, d = %lld, 1 thread, %s FMA peak %.1f GFLOP/s (larger of before and after); "
           "best of 5 runs of about 0.2 s\n",
           k->name, (long long)d, isa ? isa : "widest", peak);
    printf("%8s %8s %10s %8s\n", "rows", "cols", "GFLOP/s", "% peak");
    for (int a = a0; a < 3; a++)
        for (int b = b0; b < b1; b++)
            printf("%8lld %8lld %10.1f %7.1f%%\n", (long long)rows[a], (long long)cols[b],
                   g[3 * a + b], 100 * g[3 * a + b] / peak);
    if (!quick)
        printf("%8lld %8s %10.1f %7.1f%%  (columns moving through the operand)\n",
               (long long)k->task_rows, "256", moving, 100 * moving / peak);
    sl__free(c);
    sl__free(scratch);
    sl__prepared_free(&p);
    free(x);
    return 0;
}
