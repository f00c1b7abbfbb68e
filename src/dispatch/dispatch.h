/*
 * Dispatch: CPU features read once, and the registry of kernels with the
 * features each needs. The reference kernel comes first and needs nothing,
 * so every lookup has a valid answer on any x86-64.
 */
#ifndef SL_DISPATCH_H
#define SL_DISPATCH_H

#include "kernels.h"
#include "simladder.h"

/* The AVX-512 subsets every AVX-512 file of the library is compiled with
 * (SL_AVX512_FLAGS in CMakeLists.txt): a CPU needs all of them. */
#define SL_CPU_AVX512_SET (SL_CPU_AVX512F | SL_CPU_AVX512BW | SL_CPU_AVX512VL | SL_CPU_AVX512DQ)

typedef struct sl_kernel {
    const char *name;             /* "c3-avx2" */
    const char *rung;             /* "c3" */
    const char *about;            /* one line, for `simladder info` */
    unsigned needs;               /* SL_CPU_* */
    int input;                    /* SL_IN_* */
    int symmetric;                /* self jobs: each unordered pair once */
    int threaded;                 /* runs on the job's thread count, else on one */
    int rank;                     /* auto picks the highest usable rank; 0: never auto */
    int64_t task_rows, task_cols; /* tile shape the job layer hands out (cols 0: to the end) */
    sl_tile_fn *tile;
    size_t (*scratch)(int64_t d); /* per-thread bytes, NULL: none */
    /* Reduced-precision kernels (input SL_IN_BF16/INT8/INT7/INT16): the fp32 dot
     * that re-scores candidates, and the fp32 kernel that does their matrix
     * jobs (a matrix needs every entry exact: nothing to filter). */
    sl_dot_fn *rescore;
    const char *fp32;
} sl_kernel;

extern const sl_kernel sl__kernels[];
extern const int sl__nkernels;

/* Features after the cap named by isa (NULL: $SL_ISA; NULL or "" there: no
 * cap). Returns SL_EINVAL for an unknown cap name. */
sl_status sl__cpu_usable(const char *isa, unsigned *features, sl_error *err);

/* The kernel for a job: by name, by rung (best usable variant), or auto.
 * SL_EKERNEL with a message when it is unknown or needs missing features. */
sl_status sl__kernel_resolve(const char *name, const char *isa, const sl_kernel **k, sl_error *err);

#endif
