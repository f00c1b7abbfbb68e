/*
 * The FMA peak, measured: every "% of peak" this project prints divides by a
 * number measured in the same run on the same machine, never by a datasheet
 * figure (these are shared virtual machines whose clocks vary).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

typedef struct peak_arg {
    float (*fn)(int64_t);
    int64_t iters;
    atomic_int *go;
    double seconds;
    float sink;
} peak_arg;

static void *peak_thread(void *p)
{
    peak_arg *a = p;
    while (!atomic_load(a->go)) /* start together: a spin, not a sleep */
        ;
    double t0 = sl__now();
    a->sink = a->fn(a->iters);
    a->seconds = sl__now() - t0;
    return NULL;
}

double sl_peak_gflops(const char *isa, int threads, double seconds)
{
    unsigned f;
    if (sl__cpu_usable(isa, &f, NULL) != SL_OK)
        return 0;
    float (*fn)(int64_t) = NULL;
    double flops_per_iter = 0; /* chains x lanes x 2 */
#if defined(__x86_64__)
    unsigned avx512 = SL_CPU_AVX512F | SL_CPU_FMA, avx2 = SL_CPU_AVX2 | SL_CPU_FMA;
    if ((f & avx512) == avx512) {
        fn = sl_peak_fma_avx512;
        flops_per_iter = 16 * 16 * 2;
    } else if ((f & avx2) == avx2) {
        fn = sl_peak_fma_avx2;
        flops_per_iter = 12 * 8 * 2;
    }
#endif
    if (!fn)
        return 0;
    if (threads <= 0)
        threads = sl_hardware_threads();
    if (threads > 256)
        threads = 256;
    /* Calibrate on one thread, then time runs of about seconds / 5 each. */
    int64_t iters = 1 << 16;
    double t;
    for (;;) {
        double t0 = sl__now();
        fn(iters);
        t = sl__now() - t0;
        if (t > 0.01 || iters > (int64_t)1 << 40)
            break;
        iters *= 4;
    }
    iters = (int64_t)((double)iters * (seconds / 5 > 0.02 ? seconds / 5 : 0.02) / t) + 1;
    double best = 0;
    for (int run = 0; run < 5; run++) {
        pthread_t th[256];
        peak_arg arg[256];
        atomic_int go = 0;
        int started = 0;
        for (int i = 1; i < threads; i++, started++) {
            arg[i] = (peak_arg){fn, iters, &go, 0, 0};
            if (pthread_create(&th[i], NULL, peak_thread, &arg[i]) != 0)
                break;
        }
        arg[0] = (peak_arg){fn, iters, &go, 0, 0};
        atomic_store(&go, 1);
        peak_thread(&arg[0]);
        double slowest = arg[0].seconds;
        for (int i = 1; i <= started; i++) {
            pthread_join(th[i], NULL);
            slowest = arg[i].seconds > slowest ? arg[i].seconds : slowest;
        }
        if (started != threads - 1)
            return 0; /* could not run them all: no honest figure */
        double g = (double)threads * (double)iters * flops_per_iter / slowest * 1e-9;
        best = g > best ? g : best;
    }
    return best;
}
