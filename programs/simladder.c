/*
 * simladder: the command-line tool. Data goes to files (or stdout), every
 * diagnostic to stderr. Exit codes: 0 ok, 1 the job failed, 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "simladder.h"

enum { EXIT_JOB = 1, EXIT_USAGE = 2 };

static const char *prog = "simladder";
static int quiet, verbose;

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    sl_out_abort_all();
    exit(code);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static const char usage_text[] =
    "usage: simladder COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  knn INPUT -k K -o OUT.npz       the K most similar rows of every row (self excluded)\n"
    "  join INPUT --tau T -o OUT.npz   every pair i < j with cosine >= T\n"
    "  matrix INPUT -o OUT.npy         the full cosine similarity matrix (float32)\n"
    "  info                            CPU features, kernels, the automatic choice\n"
    "  bench                           the C rungs side by side on the default workload\n"
    "\n"
    "options:\n"
    "  -q, --queries FILE   cross job: rows of FILE against rows of INPUT\n"
    "  -k K                 neighbours per row (knn); K >= n is allowed, padded with -1\n"
    "  -t, --tau T          similarity threshold in [-1, 1] (join)\n"
    "  -o, --output OUT     output file (written to a temporary file, then renamed)\n"
    "  --kernel NAME        force a kernel or rung (see `simladder info`); default auto\n"
    "  --threads N          threads (0: all cores; rungs below c5 use one)\n"
    "  --memory-limit SIZE  refuse jobs needing more working memory (e.g. 512M, 4G);\n"
    "                       default: the memory available now\n"
    "  --quiet              no plan, no progress on stderr\n"
    "  --verbose            the job's statistics on stderr: phases, and for the\n"
    "                       reduced-precision rungs (c6, c7) the pairs re-scored in fp32\n"
    "  --format FMT         output format: knn npz|npy, join npz|npy|csv|jsonl, matrix npy\n"
    "  --input-format FMT   npy|fvecs|bvecs|ivecs|hdf5 for INPUT and --queries (default:\n"
    "                       by extension: .npy .fvecs .bvecs .ivecs .h5 .hdf5; others npy)\n"
    "\n"
    "bench options: --n N (10000) --d D (768) --budget SECONDS per rung (6) --repeat R (3)\n"
    "               --rungs c0,c1,c2,c3 --op matrix|knn (knn adds c6,c7 and their statistics)\n"
    "\n"
    "INPUT is a float32, float16 or float64 .npy file (2-D, C or Fortran order); a TEXMEX\n"
    ".fvecs (read in place), .bvecs (uint8, converted to float32 in memory) or .ivecs file\n"
    "(int32, converted to float64; only with --input-format ivecs, as .ivecs usually holds\n"
    "ground truth); or an HDF5 file in the ann-benchmarks layout, FILE.h5 for dataset\n"
    "train or FILE.h5:NAME for another (test, ...), if built with libhdf5.\n"
    "knn writes indices (int64) and similarities (float32); join writes i, j (int64) and\n"
    "similarities (float32); by default both as one .npz that numpy.load reads.\n"
    "  --format npy   -o OUT.npy writes OUT.npy (knn: n x k indices; join: m x 2 pairs i, j;\n"
    "                 int64) and OUT.similarities.npy (float32, n x k or m) beside it\n"
    "  --format csv   join: a header line i,j,similarity then one pair per line\n"
    "  --format jsonl join: one {\"i\":..,\"j\":..,\"similarity\":..} per line\n"
    "  similarities in csv and jsonl have 9 significant digits (float32 exactly).\n"
    "\n"
    "examples:\n"
    "  simladder knn vectors.npy -k 10 -o neighbours.npz\n"
    "  simladder join vectors.npy --tau 0.95 -o duplicates.npz\n"
    "  simladder knn base.npy --queries queries.npy -k 100 -o result.npz --threads 2\n"
    "  simladder knn sift_base.fvecs --queries sift_query.fvecs -k 100 -o nn.npz\n"
    "  simladder join vectors.npy --tau 0.9 --format csv -o pairs.csv\n"
    "  simladder knn glove-100-angular.hdf5 -q glove-100-angular.hdf5:test -k 10 -o nn.npz\n"
    "\n"
    "exit status: 0 success, 1 the job failed (bad input file, memory, I/O), 2 bad usage.\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see %s --help)\n", prog);
    va_end(ap);
    exit(EXIT_USAGE);
}

/* ---- argument parsing helpers ---- */

static int64_t parse_int(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        usage_error("%s: '%s' is not an integer", what, s);
    return v;
}

static double parse_double(const char *s, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        usage_error("%s: '%s' is not a number", what, s);
    return v;
}

static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0))
        usage_error("--memory-limit: '%s' is not a size", s);
    double mult = 1;
    switch (*end) {
    case 'k':
    case 'K':
        mult = 1024.0;
        end++;
        break;
    case 'm':
    case 'M':
        mult = 1048576.0;
        end++;
        break;
    case 'g':
    case 'G':
        mult = 1073741824.0;
        end++;
        break;
    case 't':
    case 'T':
        mult = 1099511627776.0;
        end++;
        break;
    }
    if (*end == 'i' && end[-1] != *s)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        usage_error("--memory-limit: '%s' is not a size (e.g. 512M, 4G)", s);
    double b = v * mult;
    return b >= 1.8e19 ? SIZE_MAX : (size_t)b;
}

/* This process's peak resident set (VmHWM: counted from exec, unlike
 * getrusage, which also remembers the parent's image before exec). */
static size_t peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %zu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

static size_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %zu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

static const char *human(double bytes, char *buf)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (bytes >= 1024 && i < 4) {
        bytes /= 1024;
        i++;
    }
    snprintf(buf, 32, i ? "%.1f %s" : "%.0f %s", bytes, u[i]);
    return buf;
}

/* ---- signals: no partial output survives an interrupted run ---- */

static void on_signal(int sig)
{
    sl_out_abort_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error, reported as such */
}

/* ---- progress bar ---- */

typedef struct progress {
    int on;
    double start, pairs;
} progress;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int on_progress(void *ctx, double f)
{
    progress *p = ctx;
    double el = now() - p->start;
    if (!p->on || (el < 1.0 && f < 1.0))
        return 0; /* jobs under a second get no bar */
    int w = 30, fill = (int)(f * w);
    char bar[64];
    for (int i = 0; i < w; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[w] = 0;
    double rate = f > 0 ? f * p->pairs / el : 0, eta = f > 0 ? el * (1 - f) / f : 0;
    fprintf(stderr, "\r[%s] %3.0f%%  %.2f Gpairs/s  ETA %.0fs   ", bar, 100 * f, rate / 1e9, eta);
    if (f >= 1.0)
        fputc('\n', stderr);
    return 0;
}

/* ---- input ---- */

/* Input formats, chosen by extension or by --input-format. */
typedef enum in_fmt { IN_AUTO = 0, IN_NPY, IN_FVECS, IN_BVECS, IN_IVECS, IN_HDF5 } in_fmt;

static const char *fmt_names[] = {"auto", "npy", "fvecs", "bvecs", "ivecs", "hdf5"};

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t k = strlen(suffix);
    return len >= k && !strncasecmp(s + len - k, suffix, k);
}

static in_fmt fmt_by_ext(const char *path, size_t len)
{
    if (ends_with(path, len, ".fvecs"))
        return IN_FVECS;
    if (ends_with(path, len, ".bvecs"))
        return IN_BVECS;
    if (ends_with(path, len, ".ivecs"))
        return IN_IVECS;
    if (ends_with(path, len, ".h5") || ends_with(path, len, ".hdf5"))
        return IN_HDF5;
    return IN_NPY; /* .npy, and anything else (a pipe, /dev/stdin) as before */
}

typedef struct input {
    const char *path; /* as given, for messages */
    sl_mapped map;
    sl_array arr;
    void *owned;     /* converted or HDF5 data, when not a view of the map */
    const char *how; /* "mapped", "read", "converted to float32"... */
    char file[4096]; /* the file part of path (without :DATASET) */
} input;

static const char *dtype_name(sl_dtype t)
{
    return t == SL_F32 ? "float32" : t == SL_F64 ? "float64" : "float16";
}

/* Reads path as fmt (IN_AUTO: by extension). limit caps conversion copies. */
static void load(input *in, const char *path, in_fmt fmt, size_t limit)
{
    char msg[SL_MSG];
    in->path = path;
    size_t len = strlen(path);
    if (len >= sizeof in->file)
        die(EXIT_JOB, "%.200s...: path too long", path);
    memcpy(in->file, path, len + 1);
    /* FILE.h5:DATASET, unless a file really has that name. */
    const char *dataset = "train";
    const char *colon = strrchr(path, ':');
    struct stat st;
    if (colon && colon[1] && stat(path, &st) != 0 &&
        (fmt == IN_HDF5 ||
         (fmt == IN_AUTO && fmt_by_ext(path, (size_t)(colon - path)) == IN_HDF5))) {
        in->file[colon - path] = 0;
        dataset = colon + 1;
        len = (size_t)(colon - path);
    }
    if (fmt == IN_AUTO) {
        fmt = fmt_by_ext(in->file, len);
        if (fmt == IN_IVECS)
            die(EXIT_USAGE,
                "%s: .ivecs holds int32 (usually ground-truth neighbour ids), not vectors; to "
                "use its rows as vectors anyway, pass --input-format ivecs (converted to float64)",
                path);
    }
    if (fmt == IN_HDF5) {
        if (sl_hdf5_read(in->file, dataset, &in->arr.view, &in->owned, msg) != 0)
            die(EXIT_JOB, "%s: %s", path, msg);
        in->how = "read from HDF5";
        return;
    }
    if (sl_map_file(in->file, &in->map, msg) != 0)
        die(EXIT_JOB, "%s: %s", path, msg);
    in->how = in->map.is_mmap ? "mapped" : "read";
    if (fmt == IN_NPY) {
        if (sl_npy_parse(in->map.base, in->map.len, &in->arr, msg) != 0)
            die(EXIT_JOB, "%s: %s", path, msg);
        return;
    }
    sl_vecs v;
    sl_vecs_kind kind = fmt == IN_FVECS ? SL_FVECS : fmt == IN_BVECS ? SL_BVECS : SL_IVECS;
    if (sl_vecs_parse(in->map.base, in->map.len, kind, &v, msg) != 0)
        die(EXIT_JOB, "%s: %s", path, msg);
    if (kind == SL_FVECS) { /* zero copy: the records are strided float32 rows */
        if (sl_vecs_view(&v, &in->arr.view, msg) != 0)
            die(EXIT_JOB, "%s: %s", path, msg);
        return;
    }
    /* The library takes floats only: uint8 becomes float32, int32 float64
     * (both exact). The copy is the price of these formats. */
    sl_dtype to = kind == SL_BVECS ? SL_F32 : SL_F64;
    double bytes = (double)v.n * (double)v.d * (to == SL_F32 ? 4.0 : 8.0);
    char h1[32], h2[32];
    if (limit && bytes > (double)limit)
        die(EXIT_JOB, "%s: converting to %s needs %s but the memory limit is %s", path,
            dtype_name(to), human(bytes, h1), human((double)limit, h2));
    if (sl_vecs_convert(&v, to, &in->owned, msg) != 0)
        die(EXIT_JOB, "%s: %s", path, msg);
    in->arr.view = to == SL_F32 ? sl_view_f32(in->owned, v.n, v.d)
                                : (sl_view){in->owned, v.n, v.d, SL_F64, v.d * 8, 8, 0};
    in->how = kind == SL_BVECS ? "uint8 converted to float32" : "int32 converted to float64";
    sl_unmap(&in->map); /* the copy is all we need */
}

static void unload(input *in)
{
    sl_unmap(&in->map);
    free(in->owned);
    in->owned = NULL;
}

static size_t owned_bytes(const input *in)
{
    if (!in->owned)
        return 0;
    return (size_t)in->arr.view.n * (size_t)in->arr.view.d * (in->arr.view.dtype == SL_F64 ? 8 : 4);
}

static void same_file_check(const char *in, const char *out)
{
    struct stat a, b;
    if (out && strcmp(out, "-") && stat(in, &a) == 0 && stat(out, &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        usage_error("output %s is the input file", out);
}

/* A failed job: name the file where the library names a value. */
static void job_failed(const sl_error *e, const input *x, const input *q)
{
    if (e->code == SL_EVALUE) {
        const input *f = e->operand == 1 && q ? q : x;
        die(EXIT_JOB, "%s: row %lld, column %lld is not finite (NaN and Inf are not allowed)",
            f->path, (long long)e->row, (long long)e->col);
    }
    die(EXIT_JOB, "%s", e->message);
}

/* ---- jobs ---- */

typedef enum out_fmt { OUT_DEFAULT = 0, OUT_NPZ, OUT_NPY, OUT_CSV, OUT_JSONL } out_fmt;

typedef struct args {
    const char *cmd, *input, *queries, *output, *kernel;
    char *output2; /* --format npy: the similarities beside OUT */
    in_fmt in_format;
    out_fmt format;
    int64_t k;
    double tau;
    int have_k, have_tau, threads;
    size_t limit;
} args;

static void run_job(const args *a)
{
    input x = {0}, q = {0};
    char msg[SL_MSG], h1[32], h2[32], h3[32];
    same_file_check(a->input, a->output);
    if (a->queries)
        same_file_check(a->queries, a->output);
    double t_read = now();
    load(&x, a->input, a->in_format, a->limit);
    if (a->queries)
        load(&q, a->queries, a->in_format, a->limit);
    t_read = now() - t_read;
    const sl_view *vx = &x.arr.view, *vq = a->queries ? &q.arr.view : NULL;
    if (vq && vq->d != vx->d)
        die(EXIT_JOB, "%s has d = %lld but %s has d = %lld", a->queries, (long long)vq->d, a->input,
            (long long)vx->d);

    sl_stats stats;
    memset(&stats, 0, sizeof stats);
    progress pr = {isatty(2) && !quiet, now(), 0};
    sl_options opt = {a->kernel, NULL, a->threads, a->limit, on_progress, &pr, &stats};
    sl_error err;
    memset(&err, 0, sizeof err);

    int op = !strcmp(a->cmd, "knn") ? 0 : !strcmp(a->cmd, "join") ? 1 : 2;
    int64_t rows = vq ? vq->n : vx->n, cols = vx->n;
    if (op == 2 && vq) { /* matrix: rows of INPUT against rows of the second file */
        rows = vx->n;
        cols = vq->n;
    }
    pr.pairs = vq ? (double)rows * (double)cols : 0.5 * (double)rows * (double)rows;

    size_t work;
    const sl_view *first = vx, *second = vq;
    sl_status st = sl_plan(op == 0   ? "knn"
                           : op == 1 ? "join"
                                     : "matrix",
                           first, second, a->k, &opt, &work, &err);
    if (st != SL_OK)
        job_failed(&err, &x, &q);
    double out_bytes = op == 0   ? (double)rows * (double)a->k * 12.0
                       : op == 2 ? (double)rows * (double)cols * 4.0
                                 : 0;
    const char *kname = a->kernel && *a->kernel ? a->kernel : sl_kernel_auto(NULL);
    note("%s: %s %lld x %lld %s (%s)", a->cmd, a->input, (long long)vx->n, (long long)vx->d,
         dtype_name(vx->dtype), x.how);
    if (vq)
        note(", queries %s %lld x %lld %s", a->queries, (long long)vq->n, (long long)vq->d,
             dtype_name(vq->dtype));
    /* A matrix bound for a regular file is written through a memory map: it
     * needs disk, not memory. */
    struct stat ost;
    int mapped = op == 2 && a->output && strcmp(a->output, "-") &&
                 (stat(a->output, &ost) != 0 || S_ISREG(ost.st_mode));
    note("\n  %s %.3g pair similarities, kernel %s; working memory %s, output %s%s%s%s\n",
         vq ? "computing" : "computing (each pair once)", pr.pairs, kname ? kname : "auto",
         human((double)work, h1), op == 1 ? "grows with the pairs" : human(out_bytes, h2),
         mapped ? " (on disk, through a memory map)" : "", a->limit ? ", limit " : "",
         a->limit ? human((double)a->limit, h3) : "");
    /* Converted inputs are held in memory too; count them against the limit. */
    work += owned_bytes(&x) + owned_bytes(&q);
    if (mapped)
        out_bytes = 0;
    if (a->limit && (double)work + out_bytes > (double)a->limit)
        die(EXIT_JOB, "%s needs %s (working memory + output) but the memory limit is %s", a->cmd,
            human((double)work + out_bytes, h1), human((double)a->limit, h2));

    /* Outputs: one file, or with --format npy a second one beside it for the
     * similarities; both appear together at the end or not at all. */
    sl_out out[2];
    int nout = a->output2 ? 2 : 1;
    if (sl_out_open(&out[0], a->output, msg) != 0)
        die(EXIT_JOB, "%s: %s", a->output, msg);
    if (nout == 2 && sl_out_open(&out[1], a->output2, msg) != 0)
        die(EXIT_JOB, "%s: %s", a->output2, msg);
    int rc = 0;
    const char *failed_path = a->output;
    if (op == 0) {
        size_t cnt = (size_t)rows * (size_t)a->k;
        float *sims = malloc(cnt * sizeof *sims);
        int64_t *idx = malloc(cnt * sizeof *idx);
        if (!sims || !idx)
            die(EXIT_JOB, "out of memory for %lld x %lld results", (long long)rows,
                (long long)a->k);
        if ((st = sl_knn(vx, vq, a->k, sims, idx, &opt, &err)) != SL_OK)
            job_failed(&err, &x, &q);
        if (a->format == OUT_NPY) {
            rc = sl_npy_write(&out[0], "<i8", rows, a->k, idx, 8, msg);
            if (!rc && (rc = sl_npy_write(&out[1], "<f4", rows, a->k, sims, 4, msg)) != 0)
                failed_path = a->output2;
        } else {
            sl_npz_member m[2] = {{"indices", "<i8", rows, a->k, idx, 8},
                                  {"similarities", "<f4", rows, a->k, sims, 4}};
            rc = sl_npz_write(&out[0], m, 2, msg);
        }
        free(sims);
        free(idx);
    } else if (op == 1) {
        sl_pairs p;
        if ((st = sl_join(vx, vq, a->tau, &p, &opt, &err)) != SL_OK)
            job_failed(&err, &x, &q);
        if (a->format == OUT_CSV) {
            rc = sl_pairs_write_csv(&out[0], p.i, p.j, p.sim, p.count, msg);
        } else if (a->format == OUT_JSONL) {
            rc = sl_pairs_write_jsonl(&out[0], p.i, p.j, p.sim, p.count, msg);
        } else if (a->format == OUT_NPY) {
            /* (m, 2) rows of (i, j): one interleaved copy of the pair list. */
            int64_t *ij = malloc((size_t)(p.count ? p.count : 1) * 2 * sizeof *ij);
            if (!ij)
                die(EXIT_JOB, "out of memory for %lld pairs", (long long)p.count);
            for (int64_t r = 0; r < p.count; r++) {
                ij[2 * r] = p.i[r];
                ij[2 * r + 1] = p.j[r];
            }
            rc = sl_npy_write(&out[0], "<i8", p.count, 2, ij, 8, msg);
            free(ij);
            if (!rc && (rc = sl_npy_write(&out[1], "<f4", p.count, -1, p.sim, 4, msg)) != 0)
                failed_path = a->output2;
        } else {
            sl_npz_member m[3] = {{"i", "<i8", p.count, -1, p.i, 8},
                                  {"j", "<i8", p.count, -1, p.j, 8},
                                  {"similarities", "<f4", p.count, -1, p.sim, 4}};
            rc = sl_npz_write(&out[0], m, 3, msg);
        }
        note("  %lld pairs with cosine >= %g\n", (long long)p.count, a->tau);
        sl_pairs_free(&p);
    } else {
        /* The matrix goes straight into a memory map of the output file: the
         * kernel stores into the page cache, which the kernel writes back as
         * it likes, so a matrix larger than RAM streams to disk. Pipes and
         * devices cannot be mapped: there the matrix is built in memory. */
        sl_npy_map map;
        int how = sl_npy_map_open(&out[0], "<f4", rows, cols, 4, &map, msg);
        if (how == 1)
            die(EXIT_JOB, "%s: %s", a->output, msg);
        float *s = how == 0 ? map.data : malloc((size_t)rows * (size_t)cols * sizeof *s);
        if (!s)
            die(EXIT_JOB, "out of memory for the %lld x %lld matrix", (long long)rows,
                (long long)cols);
        if ((st = sl_matrix(vx, vq, s, 0, &opt, &err)) != SL_OK)
            job_failed(&err, &x, &q);
        if (how == 0) {
            rc = sl_npy_map_close(&map, msg);
        } else {
            rc = sl_npy_write(&out[0], "<f4", rows, cols, s, 4, msg);
            free(s);
        }
    }
    if (rc != 0)
        die(EXIT_JOB, "%s: %s", failed_path, msg);
    if (sl_out_commit_all(out, nout, msg) != 0)
        die(EXIT_JOB, "%s: %s", a->output, msg);
    note("  done: kernel %s, %d thread%s, %.3f s (prepare %.3f s), peak memory %s\n", stats.kernel,
         stats.threads, stats.threads == 1 ? "" : "s",
         stats.seconds_prepare + stats.seconds_compute + stats.seconds_finish,
         stats.seconds_prepare, human((double)peak_rss(), h1));
    if (verbose) {
        double busy = (stats.seconds_compute + stats.seconds_finish) * stats.threads;
        fprintf(stderr,
                "  stats: read %.4f s, prepare %.3f s, tiles %.3f s, merge %.3f s, planned "
                "memory %s\n",
                t_read, stats.seconds_prepare, stats.seconds_compute, stats.seconds_finish,
                human((double)stats.memory_planned, h1));
        if (stats.candidates)
            fprintf(stderr,
                    "  stats: %lld pairs re-scored in fp32 (%.1f per row, at most %lld in a row), "
                    "%.1f%% of the thread time; %lld passed the filter (%.1f per row); %lld "
                    "rows re-done against every column\n",
                    (long long)stats.candidates, (double)stats.candidates / (double)rows,
                    (long long)stats.candidates_max_row,
                    busy > 0 ? 100 * stats.seconds_rerank / busy : 0.0, (long long)stats.filtered,
                    (double)stats.filtered / (double)rows, (long long)stats.rows_redone);
    }
    unload(&x);
    if (a->queries)
        unload(&q);
}

/* ---- info ---- */

static int cmd_info(void)
{
    char buf[256];
    unsigned det = sl_cpu_detected(), use = sl_cpu_usable(NULL);
    printf("simladder %s\n", SL_VERSION);
    printf("cpu features: %s\n", sl_cpu_names(det, buf, sizeof buf));
    if (use != det)
        printf("usable (SL_ISA=%s): %s\n", getenv("SL_ISA") ? getenv("SL_ISA") : "",
               sl_cpu_names(use, buf, sizeof buf));
    printf("threads: %d\n", sl_hardware_threads());
    printf("kernels:\n");
    for (int i = 0; i < sl_kernel_count(); i++) {
        sl_kernel_info ki;
        if (sl_kernel_get(i, NULL, &ki) != SL_OK)
            continue;
        printf("  %-12s %-4s %-9s %s\n", ki.name, ki.rung, ki.usable ? "usable" : "-", ki.about);
    }
    const char *a = sl_kernel_auto(NULL);
    if (!a)
        die(EXIT_USAGE, "SL_ISA=%s is not a known tier (scalar, avx2, avx512)", getenv("SL_ISA"));
    printf("auto: %s\n", a);
    if (getenv("SL_KERNEL") && *getenv("SL_KERNEL"))
        printf("forced by SL_KERNEL: %s\n", getenv("SL_KERNEL"));
    return 0;
}

/* ---- bench ---- */

static uint64_t rng_state;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double gauss(void)
{
    double u = ((double)(rng_next() >> 11) + 0.5) * 0x1p-53;
    double v = ((double)(rng_next() >> 11) + 0.5) * 0x1p-53;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench_row {
    const char *rung;
    char kernel[32];
    int64_t n_run;
    double t_run, t_full, err;
    int extrapolated, ok, threads;
    double checksum;
    sl_stats stats; /* of the last run */
} bench_row;

/* One timed run of rung on the first n rows; the median of reps. */
static int bench_once(const char *op, const char *rung, const float *data, int64_t n, int64_t d,
                      int threads, int reps, float *out, float *sims, int64_t *idx, double *t,
                      char *kname, int *used, sl_stats *last)
{
    sl_view v = sl_view_f32(data, n, d);
    double times[16];
    for (int r = 0; r < reps && r < 16; r++) {
        sl_stats st;
        memset(&st, 0, sizeof st);
        sl_options o = {rung, NULL, threads, 0, NULL, NULL, &st};
        sl_error e;
        double t0 = now();
        sl_status s = !strcmp(op, "knn") ? sl_knn(&v, NULL, 10, sims, idx, &o, &e)
                                         : sl_matrix(&v, NULL, out, 0, &o, &e);
        times[r] = now() - t0;
        if (s != SL_OK) {
            fprintf(stderr, "bench: %s: %s\n", rung, e.message);
            return -1;
        }
        snprintf(kname, 32, "%s", st.kernel);
        *used = st.threads;
        *last = st;
    }
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    *t = times[reps / 2];
    return 0;
}

static int cmd_bench(int argc, char **argv)
{
    int64_t n = 10000, d = 768;
    double budget = 6;
    int reps = 3, threads = 0, rungs_given = 0;
    const char *rungs = "c0,c1,c2,c3,c4,c5", *op = "matrix";
    static const struct option lo[] = {
        {"n", 1, 0, 'n'},      {"d", 1, 0, 'd'},     {"budget", 1, 0, 'b'},
        {"repeat", 1, 0, 'r'}, {"rungs", 1, 0, 'R'}, {"threads", 1, 0, 'T'},
        {"op", 1, 0, 'o'},     {"quiet", 0, 0, 'Q'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'n': n = parse_int(optarg, "--n"); break;
        case 'd': d = parse_int(optarg, "--d"); break;
        case 'b': budget = parse_double(optarg, "--budget"); break;
        case 'r': reps = (int)parse_int(optarg, "--repeat"); break;
        case 'R':
            rungs = optarg;
            rungs_given = 1;
            break;
        case 'T': threads = (int)parse_int(optarg, "--threads"); break;
        case 'o': op = optarg; break;
        case 'Q': quiet = 1; break;
        default: usage_error("bench: unknown option");
        }
    }
    if (optind < argc)
        usage_error("bench: unexpected argument '%s'", argv[optind]);
    if (n < 2 || d < 1 || reps < 1 || reps > 15 || !(budget > 0))
        usage_error("bench: need --n >= 2, --d >= 1, 1 <= --repeat <= 15, --budget > 0");
    if (strcmp(op, "matrix") && strcmp(op, "knn"))
        usage_error("bench: --op must be matrix or knn");
    if (!rungs_given && !strcmp(op, "knn"))
        rungs = "c0,c1,c2,c3,c4,c5,c6,c7"; /* the reduced-precision rungs are knn rungs */

    float *data = malloc((size_t)n * (size_t)d * sizeof *data);
    float *out = !strcmp(op, "matrix") ? malloc((size_t)n * (size_t)n * sizeof *out) : NULL;
    float *sims = malloc((size_t)n * 10 * sizeof *sims);
    int64_t *idx = malloc((size_t)n * 10 * sizeof *idx);
    if (!data || (!out && !strcmp(op, "matrix")) || !sims || !idx)
        die(EXIT_JOB, "bench: out of memory for n = %lld", (long long)n);
    rng_state = 42;
    for (size_t i = 0; i < (size_t)n * (size_t)d; i++)
        data[i] = (float)gauss();

    /* Reference for the error column: 16 sample rows in float64. */
    enum { SAMPLES = 16 };
    double flops = (double)n * (double)n * (double)d;
    char buf[256];
    printf("# simladder bench: self %s, n = %lld, d = %lld, seed 42, median of %d\n", op,
           (long long)n, (long long)d, reps);
    printf("# cpu: %s\n", sl_cpu_names(sl_cpu_usable(NULL), buf, sizeof buf));
    /* The peak, measured now: every % below divides by these. A second core
     * that is busy shows as a 2-thread peak well under twice the 1-thread one. */
    int hw = threads > 0 ? threads : sl_hardware_threads();
    double peak1 = sl_peak_gflops(NULL, 1, 1.0), peakT = sl_peak_gflops(NULL, hw, 1.0);
    printf("# fp32 FMA peak measured: %.1f GFLOP/s on 1 thread, %.1f on %d threads", peak1, peakT,
           hw);
    if (hw > 1 && peakT < 0.9 * hw * peak1)
        printf(" -- WARNING: below %d x 1-thread: other work is using the cores, ratios to the "
               "peak are unreliable",
               hw);
    printf("\n");
    printf("# flops counted as n^2*d for every rung (the self job's useful work, each pair "
           "once);\n# a rung too slow for n runs on the largest n that fits the budget and is "
           "extrapolated by n^2.\n");
    printf("%-5s %-11s %3s %7s %10s %11s %8s %6s %8s %9s %10s\n", "rung", "kernel", "thr", "n_run",
           "t_run[s]", "t_full[s]", "GFLOP/s", "%peak", "x_prev", "x_first", "max_err");

    bench_row rows[16];
    int nr = 0;
    char list[256];
    snprintf(list, sizeof list, "%s", rungs);
    for (char *save = NULL, *r = strtok_r(list, ",", &save); r && nr < 16;
         r = strtok_r(NULL, ",", &save), nr++) {
        bench_row *b = &rows[nr];
        memset(b, 0, sizeof *b);
        b->rung = r;
        /* Probe on a small n, then pick the largest n the budget allows. */
        int64_t m = n < 256 ? n : 256;
        double t;
        if (bench_once(op, r, data, m, d, threads, 1, out, sims, idx, &t, b->kernel, &b->threads,
                       &b->stats) != 0)
            continue;
        while (m < n && t * 4 < budget / (reps + 1)) {
            m = m * 2 > n ? n : m * 2;
            if (bench_once(op, r, data, m, d, threads, 1, out, sims, idx, &t, b->kernel,
                           &b->threads, &b->stats) != 0)
                break;
        }
        if (bench_once(op, r, data, m, d, threads, reps, out, sims, idx, &t, b->kernel, &b->threads,
                       &b->stats) != 0)
            continue;
        b->n_run = m;
        b->t_run = t;
        b->extrapolated = m < n;
        b->t_full = t * ((double)n / (double)m) * ((double)n / (double)m);
        /* Error against float64 on sample rows of what was computed. */
        double maxerr = 0;
        for (int s = 0; s < SAMPLES; s++) {
            int64_t i = (int64_t)((double)s * (double)(m - 1) / (SAMPLES - 1));
            const float *xi = data + i * d;
            double xx = 0;
            for (int64_t k = 0; k < d; k++)
                xx += (double)xi[k] * xi[k];
            if (!strcmp(op, "matrix")) {
                for (int64_t j = 0; j < m; j++) {
                    const float *xj = data + j * d;
                    double dot = 0, yy = 0;
                    for (int64_t k = 0; k < d; k++) {
                        dot += (double)xi[k] * xj[k];
                        yy += (double)xj[k] * xj[k];
                    }
                    double ref = dot / sqrt(xx * yy), e = fabs(ref - out[i * m + j]);
                    maxerr = e > maxerr ? e : maxerr;
                    b->checksum += out[i * m + j];
                }
            } else {
                for (int r2 = 0; r2 < 10 && r2 < m - 1; r2++) {
                    const float *xj = data + idx[i * 10 + r2] * d;
                    double dot = 0, yy = 0;
                    for (int64_t k = 0; k < d; k++) {
                        dot += (double)xi[k] * xj[k];
                        yy += (double)xj[k] * xj[k];
                    }
                    double e = fabs(dot / sqrt(xx * yy) - sims[i * 10 + r2]);
                    maxerr = e > maxerr ? e : maxerr;
                    b->checksum += (double)idx[i * 10 + r2];
                }
            }
        }
        b->err = maxerr;
        b->ok = 1;
        double prev = nr > 0 && rows[nr - 1].ok ? rows[nr - 1].t_full : NAN;
        double first = rows[0].ok ? rows[0].t_full : NAN;
        double gf = flops / b->t_full * 1e-9, pk = b->threads > 1 ? peakT : peak1;
        printf("%-5s %-11s %3d %7lld %10.4f %11.4f%s %7.2f %5.0f%% %8.2f %9.1f %10.2e\n", r,
               b->kernel, b->threads, (long long)m, b->t_run, b->t_full,
               b->extrapolated ? "*" : " ", gf, pk > 0 ? 100 * gf / pk : 0.0, prev / b->t_full,
               first / b->t_full, b->err);
        if (b->stats.candidates) {
            const sl_stats *st = &b->stats;
            double busy = (st->seconds_compute + st->seconds_finish) * st->threads;
            printf("#     %s re-scored in fp32: %.1f pairs per row (at most %lld in a row), "
                   "%.1f%% of the thread time; %.1f per row passed the filter\n",
                   b->kernel, (double)st->candidates / (double)m, (long long)st->candidates_max_row,
                   busy > 0 ? 100 * st->seconds_rerank / busy : 0.0,
                   (double)st->filtered / (double)m);
        }
        fflush(stdout);
    }
    printf("# * extrapolated from n_run by (n / n_run)^2\n");
    int mono = 1;
    for (int i = 1; i < nr; i++)
        if (rows[i].ok && rows[i - 1].ok && !(rows[i].t_full < rows[i - 1].t_full))
            mono = 0;
    printf("# each rung faster than the one before: %s\n", mono ? "yes" : "NO");
    free(data);
    free(out);
    free(sims);
    free(idx);
    return 0;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    if (argc < 2)
        usage_error("no command");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("simladder %s\n", SL_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "info"))
        return argc == 2 ? cmd_info() : (usage_error("info takes no arguments"), 0);
    if (!strcmp(cmd, "bench"))
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "knn") && strcmp(cmd, "join") && strcmp(cmd, "matrix"))
        usage_error("unknown command '%s'", cmd);

    args a;
    memset(&a, 0, sizeof a);
    a.cmd = cmd;
    a.limit = mem_available();
    static const struct option lo[] = {
        {"queries", 1, 0, 'q'}, {"output", 1, 0, 'o'},       {"tau", 1, 0, 't'},
        {"kernel", 1, 0, 'K'},  {"threads", 1, 0, 'T'},      {"memory-limit", 1, 0, 'M'},
        {"quiet", 0, 0, 'Q'},   {"verbose", 0, 0, 'V'},      {"help", 0, 0, 'h'},
        {"format", 1, 0, 'F'},  {"input-format", 1, 0, 'I'}, {0, 0, 0, 0}};
    const char *format = NULL;
    int c;
    optind = 2;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":q:o:k:t:h", lo, NULL)) != -1) {
        switch (c) {
        case 'q': a.queries = optarg; break;
        case 'o': a.output = optarg; break;
        case 'k':
            a.k = parse_int(optarg, "-k");
            a.have_k = 1;
            break;
        case 't':
            a.tau = parse_double(optarg, "--tau");
            a.have_tau = 1;
            break;
        case 'K': a.kernel = optarg; break;
        case 'T': {
            int64_t t = parse_int(optarg, "--threads");
            if (t < 0 || t > 4096)
                usage_error("--threads: %lld is out of range (0 to 4096)", (long long)t);
            a.threads = (int)t;
            break;
        }
        case 'M': a.limit = parse_size(optarg); break;
        case 'Q': quiet = 1; break;
        case 'V': verbose = 1; break;
        case 'F': format = optarg; break;
        case 'I': {
            a.in_format = IN_AUTO;
            for (int f = IN_NPY; f <= IN_HDF5; f++)
                if (!strcmp(optarg, fmt_names[f]))
                    a.in_format = (in_fmt)f;
            if (!strcmp(optarg, "h5"))
                a.in_format = IN_HDF5;
            if (a.in_format == IN_AUTO)
                usage_error("--input-format '%s': unknown (npy, fvecs, bvecs, ivecs, hdf5)",
                            optarg);
            break;
        }
        case 'h': fputs(usage_text, stdout); return 0;
        case ':': usage_error("option %s needs a value", argv[optind - 1]);
        default: usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        usage_error("%s: no input file", cmd);
    a.input = argv[optind++];
    if (optind < argc)
        usage_error("%s: unexpected argument '%s'", cmd, argv[optind]);
    if (!a.output)
        usage_error("%s: no output file (-o OUT)", cmd);
    if (!strcmp(cmd, "knn")) {
        if (!a.have_k)
            usage_error("knn: -k is required");
        if (a.k <= 0)
            usage_error("knn: -k %lld: need k >= 1", (long long)a.k);
    } else if (a.have_k) {
        usage_error("%s: -k applies to knn only", cmd);
    }
    if (!strcmp(cmd, "join")) {
        if (!a.have_tau)
            usage_error("join: --tau is required");
        if (!(a.tau >= -1 && a.tau <= 1))
            usage_error("join: --tau %g: need -1 <= tau <= 1", a.tau);
    } else if (a.have_tau) {
        usage_error("%s: --tau applies to join only", cmd);
    }
    if (format) {
        static const char *names[] = {"", "npz", "npy", "csv", "jsonl"};
        for (int f = OUT_NPZ; f <= OUT_JSONL; f++)
            if (!strcmp(format, names[f]))
                a.format = (out_fmt)f;
        if (a.format == OUT_DEFAULT)
            usage_error("--format '%s': unknown (npz, npy, csv, jsonl)", format);
        int ok = !strcmp(cmd, "join") || (!strcmp(cmd, "knn") && a.format <= OUT_NPY) ||
                 (!strcmp(cmd, "matrix") && a.format == OUT_NPY);
        if (!ok)
            usage_error("%s: --format %s: %s writes %s", cmd, format, cmd,
                        !strcmp(cmd, "knn") ? "npz or npy" : "npy only");
    }
    if (a.format == OUT_NPY && strcmp(cmd, "matrix")) {
        /* OUT.npy gets the int64 indices (knn) or pairs (join); the float32
         * similarities go to OUT.similarities.npy beside it. */
        if (!strcmp(a.output, "-"))
            usage_error("%s: --format npy writes two files; -o needs a file name, not -", cmd);
        size_t len = strlen(a.output);
        size_t stem = len >= 4 && !strcmp(a.output + len - 4, ".npy") ? len - 4 : len;
        a.output2 = malloc(stem + 20);
        if (!a.output2)
            die(EXIT_JOB, "out of memory");
        snprintf(a.output2, stem + 20, "%.*s.similarities.npy", (int)stem, a.output);
        same_file_check(a.input, a.output2);
        if (a.queries)
            same_file_check(a.queries, a.output2);
    }
    if (a.kernel) { /* an unknown kernel is a usage error, caught before any work */
        int found = !strcmp(a.kernel, "auto");
        for (int i = 0; i < sl_kernel_count() && !found; i++) {
            sl_kernel_info ki;
            if (sl_kernel_get(i, "avx512", &ki) == SL_OK &&
                (!strcmp(ki.name, a.kernel) || !strcmp(ki.rung, a.kernel)))
                found = 1;
        }
        if (!found)
            usage_error("--kernel '%s': unknown (see simladder info)", a.kernel);
    }
    install_signals();
    run_job(&a);
    free(a.output2);
    return 0;
}
