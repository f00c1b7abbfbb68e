/*
 * simladder: exact cosine similarity over dense float vectors.
 *
 * One header, the whole public API. Every function is thread-safe: the only
 * state the library keeps between calls is the CPU feature cache, filled once.
 *
 * Semantics (the same for every kernel):
 *   cos(x, y) = x.y / (|x| |y|), and 0 when |x| = 0 or |y| = 0.
 *   NaN or Inf anywhere in an input is an error (SL_EVALUE) naming row and column.
 *   fp32 kernels agree with a float64 evaluation within sl_error_bound(d).
 *
 * Ownership: the library never keeps a pointer the caller gave it after the
 * call returns, and never frees one. Buffers the library allocates for the
 * caller (only sl_join's result) are released with the matching sl_*_free.
 */
#ifndef SIMLADDER_H
#define SIMLADDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_VERSION "0.1.0"

typedef enum sl_status {
    SL_OK = 0,
    SL_EINVAL = 1,     /* bad argument: shape, k, tau, null pointer, ... */
    SL_EVALUE = 2,     /* NaN or Inf in an input */
    SL_ENOMEM = 3,     /* an allocation failed */
    SL_ELIMIT = 4,     /* the job needs more memory than the caller's limit */
    SL_EKERNEL = 5,    /* unknown kernel, or one this CPU cannot run */
    SL_ECANCELLED = 6, /* the progress callback asked to stop */
    SL_EINTERNAL = 7   /* a bug: please report it */
} sl_status;

/* Filled on failure (left untouched on success). */
typedef struct sl_error {
    sl_status code;
    char message[256];
    /* SL_EVALUE only: where the first bad value is (operand 0: x, 1: y or
     * the queries), so a front end can name its own file. */
    int operand;
    int64_t row, col;
} sl_error;

typedef enum sl_dtype { SL_F32 = 0, SL_F64 = 1, SL_F16 = 2 } sl_dtype;

/*
 * A read-only view of n vectors of dimension d. Element (r, c) is at
 * (const char *)data + r * row_stride + c * col_stride. Strides are in bytes
 * and may be anything (C order, Fortran order, a slice); swap_bytes says the
 * elements are stored big-endian. The library reads the view during the call
 * only. sl_view_f32() builds the common case.
 */
typedef struct sl_view {
    const void *data;
    int64_t n, d;
    sl_dtype dtype;
    int64_t row_stride, col_stride;
    int swap_bytes;
} sl_view;

/* A C-contiguous float32 n x d view. */
sl_view sl_view_f32(const float *data, int64_t n, int64_t d);

/* Progress: called from the calling thread with the fraction done (0..1);
 * return non-zero to cancel the job (it then fails with SL_ECANCELLED). */
typedef int (*sl_progress_fn)(void *ctx, double fraction);

/* Statistics a job reports when sl_options.stats is set. */
typedef struct sl_stats {
    char kernel[32];       /* the kernel that ran, e.g. "c3-avx2" */
    int threads;           /* threads used */
    size_t memory_planned; /* bytes the library allocated for the job (not the output) */
    double seconds_prepare;
    double seconds_compute; /* tiles + epilogues */
    double seconds_finish;  /* merge, sort */
    /* Reduced-precision kernels (c6, c7): pairs re-scored in fp32, the most
     * re-scores any one row took part in, and the thread-seconds they cost
     * (compare with seconds_compute * threads). */
    int64_t candidates;
    int64_t candidates_max_row;
    double seconds_rerank;
    /* knn on c6, c7: the pairs the tiles' filter let through (each pair
     * once, for whichever of its rows it passed), of which the candidates
     * are what the floors left at the end. How wide the bound is for this
     * data, before the fp32 re-score. */
    int64_t filtered;
    /* knn on c7: rows whose speculative floors (docs/ACCURACY.md) proved
     * too high at the end, and were re-scored against every column. */
    int64_t rows_redone;
} sl_stats;

/* Options; a zeroed struct (or NULL) means: automatic kernel, all cores, no
 * memory limit, no progress callback. */
typedef struct sl_options {
    const char *kernel;  /* NULL or "auto", a rung ("c3") or a kernel ("c3-avx2");
                            when NULL/"auto", the environment variable SL_KERNEL
                            is honoured. auto is the best fp32 rung, except for
                            knn and join jobs of 2^30 multiply-adds or more, where
                            a reduced-precision rung (c6, c7: exact through an
                            fp32 re-score) is taken when a timing probe of this
                            machine and a pilot on the job's data predict it at
                            most 0.8 of the fp32 time; stats.kernel says which
                            ran. Rungs agree within sl_error_bound(d), so another
                            choice can change the last bits and tie order. */
    const char *isa;     /* cap the CPU features used: NULL, "scalar", "avx2", "avx512"
                            (AVX-512 without AMX), "amx" (no cap);
                            when NULL, the environment variable SL_ISA is honoured */
    int threads;         /* 0: all cores. Rungs below c5 always use one thread. */
    size_t memory_limit; /* bytes the job may allocate (output excluded); 0: no limit */
    sl_progress_fn progress;
    void *progress_ctx;
    sl_stats *stats; /* optional out */
} sl_options;

/*
 * matrix: out[i * ldo + j] = cos(x_i, y_j) for i < x.n, j < y.n.
 * y == NULL is the self job (y = x): the output is exactly symmetric and each
 * pair is computed once. out is the caller's, at least x.n rows of ldo >= y.n
 * floats; ldo = 0 means y.n.
 */
sl_status sl_matrix(const sl_view *x, const sl_view *y, float *out, int64_t ldo,
                    const sl_options *opt, sl_error *err);

/*
 * knn: for each query row q_i, the k database rows x_j with the highest
 * cos(q_i, x_j), best first; ties broken by the lower index j. Results go to
 * sims[i * k + r] and idx[i * k + r] (both the caller's, q.n * k entries).
 * q == NULL is the self job: queries are the rows of x, and row i is excluded
 * from its own list by index (an exact duplicate at another index is kept).
 * Where fewer than k candidates exist (k >= n), the tail is idx -1, sim -inf.
 * k >= 1; x.n <= 2^32 (SL_EINVAL beyond). The n x n matrix is never built.
 */
sl_status sl_knn(const sl_view *x, const sl_view *q, int64_t k, float *sims, int64_t *idx,
                 const sl_options *opt, sl_error *err);

/* Pairs found by sl_join; arrays owned by the library until sl_pairs_free. */
typedef struct sl_pairs {
    int64_t count;
    int64_t *i, *j;
    float *sim;
} sl_pairs;

/*
 * join: every pair with cos >= tau, tau in [-1, 1], sorted by (i, j).
 * y == NULL is the self job: each unordered pair once, as i < j.
 * Otherwise i indexes x and j indexes y. On success *out holds the pairs
 * (free them with sl_pairs_free); on failure *out is empty.
 */
sl_status sl_join(const sl_view *x, const sl_view *y, double tau, sl_pairs *out,
                  const sl_options *opt, sl_error *err);
void sl_pairs_free(sl_pairs *p);

/*
 * Memory the library will allocate for a job (prepared copies, per-thread
 * buffers), not counting the caller's output buffers; join's pair lists grow
 * with the output and are counted against the limit as they grow.
 * op: "matrix", "knn" or "join". k is ignored except for knn.
 */
sl_status sl_plan(const char *op, const sl_view *x, const sl_view *y, int64_t k,
                  const sl_options *opt, size_t *bytes, sl_error *err);

/* Worst-case absolute error of fp32 kernels against exact arithmetic for
 * dimension d (see docs/ACCURACY.md), and the tolerance the tests use. */
double sl_error_bound(int64_t d);

/* ---- introspection ---- */

/* CPU features, as bits. */
enum {
    SL_CPU_SSE2 = 1u << 0,
    SL_CPU_AVX2 = 1u << 1,
    SL_CPU_FMA = 1u << 2,
    SL_CPU_F16C = 1u << 3,
    SL_CPU_AVX512F = 1u << 4,
    SL_CPU_AVX512BW = 1u << 5,
    SL_CPU_AVX512VL = 1u << 6,
    SL_CPU_AVX512DQ = 1u << 7,
    SL_CPU_AVX512VNNI = 1u << 8,
    SL_CPU_AVX512BF16 = 1u << 9,
    SL_CPU_AVXVNNI = 1u << 10,
    SL_CPU_AMXINT8 = 1u << 11, /* AMX tiles with int8 products, usable by this process */
    SL_CPU_AMXBF16 = 1u << 12  /* AMX tiles with bf16 products, likewise */
};

/* Features this CPU has (detected once), and the ones in use after the
 * SL_ISA / isa cap. */
unsigned sl_cpu_detected(void);
unsigned sl_cpu_usable(const char *isa);
/* Writes a space-separated list of feature names; returns buf. */
const char *sl_cpu_names(unsigned features, char *buf, size_t len);

typedef struct sl_kernel_info {
    const char *name;  /* "c3-avx2" */
    const char *rung;  /* "c3" */
    const char *about; /* one line */
    unsigned needs;    /* SL_CPU_* bits */
    int usable;        /* this CPU (after the cap) can run it */
} sl_kernel_info;

/* The registry: i in [0, sl_kernel_count()). */
int sl_kernel_count(void);
sl_status sl_kernel_get(int i, const char *isa, sl_kernel_info *info);
/* The kernel "auto" resolves to under the given cap (NULL: SL_ISA). */
const char *sl_kernel_auto(const char *isa);

/* The machine's fp32 FMA peak in GFLOP/s (2 flops per lane per FMA), on
 * `threads` threads at once (0: all cores), with the widest FMA the capped
 * CPU has; the best of several runs over about `seconds` in all. 0 when the
 * CPU has no FMA. */
double sl_peak_gflops(const char *isa, int threads, double seconds);

const char *sl_status_name(sl_status s);
int sl_hardware_threads(void);

#ifdef __cplusplus
}
#endif
#endif
