/*
 * The fp32 micro-kernels' inner loop alone: the same instructions as the
 * depth loop of c4-avx512 (14 x 32 tile: two column loads, 14 broadcasts,
 * 28 FMAs a step) and of c4-avx2 (6 x 16: two loads, 6 broadcasts, 12
 * FMAs), run over operands that sit in L1, with no packing, no stores of c
 * and no epilogue, against the FMA peak of the same ISA measured before and
 * after. What it prints is the ceiling the core itself puts on a tile of
 * that shape; tile_bench shows what the blocking keeps of it, and a whole
 * job what the epilogue and the memory keep of that.
 *
 * Then the rate of each dot-product instruction the AVX-512 rungs use
 * (vfmadd231ps, vpdpbusd, vpdpwssd, vdpbf16ps): 12 independent
 * accumulators, nothing else in the loop, so what it prints is how many of
 * each the core retires a nanosecond, and from that how many multiply-adds
 * each would give a tile against fp32.
 *
 *     build/ukr_bench [rates]     (rates: the instruction rates alone)
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "internal.h"

#define ROWS14(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)

#define W_DECL(r) __m512 x##r = _mm512_setzero_ps(), y##r = _mm512_setzero_ps();
#define W_STEP(r)                                                                                  \
    {                                                                                              \
        __m512 s = _mm512_set1_ps(a[r]);                                                           \
        x##r = _mm512_fmadd_ps(s, b0, x##r);                                                       \
        y##r = _mm512_fmadd_ps(s, b1, y##r);                                                       \
    }
#define W_SUM(r) t = _mm512_add_ps(t, _mm512_add_ps(x##r, y##r));

/* reps passes over kc steps of a 14-row micro-panel and a 32-column slice
 * (two panels of 16, pstride floats apart, as in the packed operand). */
__attribute__((target("avx512f,fma"), noinline)) static float
loop_avx512(const float *pa, const float *pb, int64_t kc, int64_t reps)
{
    ROWS14(W_DECL)
    for (int64_t t = 0; t < reps; t++) {
        const float *a = pa, *b = pb;
        for (int64_t k = 0; k < kc; k++, a += 14, b += 16) {
            __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16 * kc);
            ROWS14(W_STEP)
        }
    }
    __m512 t = _mm512_setzero_ps();
    ROWS14(W_SUM)
    float out[16];
    _mm512_storeu_ps(out, t);
    return out[0];
}

#define A_DECL(r) __m256 x##r = _mm256_setzero_ps(), y##r = _mm256_setzero_ps();
#define A_STEP(r)                                                                                  \
    {                                                                                              \
        __m256 s = _mm256_broadcast_ss(a + r);                                                     \
        x##r = _mm256_fmadd_ps(s, b0, x##r);                                                       \
        y##r = _mm256_fmadd_ps(s, b1, y##r);                                                       \
    }
#define A_SUM(r) t = _mm256_add_ps(t, _mm256_add_ps(x##r, y##r));

__attribute__((target("avx2,fma"), noinline)) static float
loop_avx2(const float *pa, const float *pb, int64_t kc, int64_t reps)
{
    ROWS6(A_DECL)
    for (int64_t t = 0; t < reps; t++) {
        const float *a = pa, *b = pb;
        for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
            __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
            ROWS6(A_STEP)
        }
    }
    __m256 t = _mm256_setzero_ps();
    ROWS6(A_SUM)
    float out[8];
    _mm256_storeu_ps(out, t);
    return out[0];
}

/* 12 chains of one instruction, n instructions in all; the empty asm keeps
 * every accumulator live in a register between steps. */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define KEEP(r) __asm__ volatile("" : "+v"(v##r));
#define RATE_FN(name, tgt, T, init, step)                                                          \
    __attribute__((target(tgt), noinline)) static double name(int64_t n)                           \
    {                                                                                              \
        CHAINS(init)                                                                               \
        __m512i p = _mm512_set1_epi32(0x01010101), q = _mm512_set1_epi32(0x00010001);              \
        __m512 f = _mm512_set1_ps(0.999f);                                                         \
        (void)p, (void)q, (void)f;                                                                 \
        double t0 = sl__now();                                                                     \
        for (int64_t i = 0; i < n / 12; i++) {                                                     \
            CHAINS(step)                                                                           \
            CHAINS(KEEP)                                                                           \
        }                                                                                          \
        double t = sl__now() - t0;                                                                 \
        T out[12];                                                                                 \
        CHAINS(RATE_OUT)                                                                           \
        volatile float z = (float)out[0][0];                                                       \
        (void)z;                                                                                   \
        return t;                                                                                  \
    }
#define RATE_OUT(r) memcpy(out[r], &v##r, sizeof out[r]);
#define I_INIT(r) __m512i v##r = _mm512_set1_epi32(r);
#define F_INIT(r) __m512 v##r = _mm512_set1_ps((float)r);
#define FMA_STEP(r) v##r = _mm512_fmadd_ps(v##r, f, f);
#define BUSD_STEP(r) v##r = _mm512_dpbusd_epi32(v##r, p, p);
#define WSSD_STEP(r) v##r = _mm512_dpwssd_epi32(v##r, q, q);
#define BF16_STEP(r) v##r = _mm512_dpbf16_ps(v##r, (__m512bh)q, (__m512bh)q);
typedef int32_t i32x16[16];
typedef float f32x16[16];
RATE_FN(rate_fma, "avx512f,fma", f32x16, F_INIT, FMA_STEP)
RATE_FN(rate_busd, "avx512f,avx512vnni", i32x16, I_INIT, BUSD_STEP)
RATE_FN(rate_wssd, "avx512f,avx512vnni", i32x16, I_INIT, WSSD_STEP)
RATE_FN(rate_bf16, "avx512f,avx512bf16", f32x16, F_INIT, BF16_STEP)

static void rates(unsigned have)
{
    struct {
        const char *name;
        double (*fn)(int64_t);
        unsigned needs;
        int macs; /* multiply-adds a lane */
    } ins[] = {{"vfmadd231ps", rate_fma, SL_CPU_FMA, 1},
               {"vpdpbusd", rate_busd, SL_CPU_AVX512VNNI, 4},
               {"vpdpwssd", rate_wssd, SL_CPU_AVX512VNNI, 2},
               {"vdpbf16ps", rate_bf16, SL_CPU_AVX512BF16, 2}};
    printf("AVX-512 dot-product instructions, 12 independent chains, 1 thread (best of 5)\n");
    printf("  instruction     per ns   multiply-adds per ns   x fp32\n");
    double fma = 0;
    for (int q = 0; q < 4; q++) {
        if (!(have & ins[q].needs)) {
            printf("  %-12s  skipped: this CPU lacks it\n", ins[q].name);
            continue;
        }
        int64_t n = 240000000;
        double best = 0;
        for (int r = 0; r < 5; r++) {
            double g = (double)(n / 12 * 12) / ins[q].fn(n) * 1e-9;
            best = g > best ? g : best;
        }
        double macs = best * 16 * ins[q].macs;
        if (q == 0)
            fma = macs;
        printf("  %-12s %9.2f %22.1f %8.2f\n", ins[q].name, best, macs, fma > 0 ? macs / fma : 0);
    }
}

typedef float loop_fn(const float *, const float *, int64_t, int64_t);

static void run(const char *name, const char *isa, loop_fn *f, int mr, int nr)
{
    double peak = sl_peak_gflops(isa, 1, 0.5);
    printf("%s loop (%d x %d tile), 1 thread, against the %s FMA peak\n", name, mr, nr,
           isa ? isa : "widest");
    printf("  depth steps per pass    operands   GFLOP/s   %% peak\n");
    int64_t kcs[] = {64, 128, 256};
    for (int q = 0; q < 3; q++) {
        int64_t kc = kcs[q];
        float *a = sl__alloc((size_t)(mr * kc) * sizeof *a);
        float *b = sl__alloc((size_t)(32 * kc) * sizeof *b);
        if (!a || !b)
            exit(1);
        for (int64_t i = 0; i < mr * kc; i++)
            a[i] = 1e-3f * (float)(i % 7);
        for (int64_t i = 0; i < 32 * kc; i++)
            b[i] = 1e-3f * (float)(i % 5);
        double flops_per_pass = 2.0 * mr * nr * (double)kc, best = 0;
        int64_t reps = (int64_t)(2e10 / flops_per_pass) + 1; /* about 0.1 s */
        for (int r = 0; r < 5; r++) {
            double t0 = sl__now();
            volatile float z = f(a, b, kc, reps);
            (void)z;
            double g = flops_per_pass * (double)reps / (sl__now() - t0) * 1e-9;
            best = g > best ? g : best;
        }
        double after = sl_peak_gflops(isa, 1, 0.5);
        peak = after > peak ? after : peak;
        printf("  %19lld %8.0f KiB %9.1f %7.1f%%\n", (long long)kc,
               (double)(mr + nr) * (double)kc * 4 / 1024, best, 100 * best / peak);
        sl__free(a);
        sl__free(b);
    }
    printf("  (peak %.1f GFLOP/s, the larger of before and after each row; best of 5)\n", peak);
}

int main(int argc, char **argv)
{
    unsigned have = 0;
    if (sl__cpu_usable(NULL, &have, NULL) != SL_OK)
        return 2;
    if (argc > 1 && !strcmp(argv[1], "rates")) {
        if (have & SL_CPU_AVX512F)
            rates(have);
        return 0;
    }
    if (have & SL_CPU_AVX512F)
        run("c4-avx512", NULL, loop_avx512, 14, 32);
    else
        printf("c4-avx512 loop: skipped, this CPU has no AVX-512\n");
    if ((have & SL_CPU_AVX2) && (have & SL_CPU_FMA))
        run("c4-avx2", "avx2", loop_avx2, 6, 16);
    else
        printf("c4-avx2 loop: skipped, this CPU has no AVX2 + FMA\n");
    if (have & SL_CPU_AVX512F)
        rates(have);
    return 0;
}
