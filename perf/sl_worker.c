/*
 * The simladder side of perf/peers.py: a long-lived process that loads raw
 * float32 matrices once and then times jobs on request, so the timing is of
 * the work and never of process start-up or file reading.
 *
 * stdin, one command per line; stdout, one JSON object per command:
 *   load NAME PATH N D          raw little-endian float32, n x d
 *   knn NAME K KERNEL THREADS [QNAME|-] [OUT]   OUT: indices as raw int64
 *   matrix NAME KERNEL THREADS [reuse]   reuse: into one output kept (and
 *                               written once, untimed) across calls
 *   join NAME TAU KERNEL THREADS
 *   peak THREADS SECONDS
 *   rss                         peak resident set (VmHWM), KiB
 *   quit
 * Results carry a checksum of what was computed, so a wrong kernel cannot
 * win a race (SQLite's speedtest1 --verify habit).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "simladder.h"

/* This process's peak resident set in KiB. Linux's VmHWM, not
 * getrusage's ru_maxrss: that one survives execve, so a worker started by a
 * Python holding a few hundred MiB of arrays would report the parent's peak
 * as its own until it passed it. */
static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

typedef struct set {
    char name[64];
    float *x;
    int64_t n, d;
    float *out; /* matrix ... reuse: n x n, already written */
} set;

static set sets[8];
static int nsets;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static set *find(const char *name)
{
    for (int i = 0; i < nsets; i++)
        if (!strcmp(sets[i].name, name))
            return &sets[i];
    return NULL;
}

static void fail(const char *what, const char *msg)
{
    printf("{\"error\": \"%s: %s\"}\n", what, msg);
    fflush(stdout);
}

/* The matrix's output as NumPy allocates a large array (and so as
 * simladder.matrix returns it): 2 MiB aligned with MADV_HUGEPAGE, so that
 * its first touch takes one fault per 2 MiB, not one per 4 KiB page (a
 * fresh 400 MB matrix is 100,000 faults otherwise). */
static void *big_alloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 2u << 20, bytes))
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

int main(void)
{
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "", a[64] = "", b[512] = "", c[64] = "", e[64] = "", f[64] = "", g[512] = "";
        sscanf(line, "%31s %63s %511s %63s %63s %63s %511s", cmd, a, b, c, e, f, g);
        sl_error err;
        sl_stats st;
        memset(&st, 0, sizeof st);
        if (!strcmp(cmd, "quit")) {
            break;
        } else if (!strcmp(cmd, "load")) {
            if (nsets == 8) {
                fail("load", "too many sets");
                continue;
            }
            set *s = &sets[nsets];
            snprintf(s->name, sizeof s->name, "%s", a);
            s->n = atoll(c);
            s->d = atoll(e);
            s->x = malloc((size_t)s->n * (size_t)s->d * 4);
            FILE *fp = fopen(b, "rb");
            if (!s->x || !fp ||
                fread(s->x, 4, (size_t)(s->n * s->d), fp) != (size_t)(s->n * s->d)) {
                fail("load", b);
                if (fp)
                    fclose(fp);
                continue;
            }
            fclose(fp);
            nsets++;
            printf("{\"ok\": true}\n");
        } else if (!strcmp(cmd, "knn") || !strcmp(cmd, "matrix") || !strcmp(cmd, "join")) {
            set *s = find(a);
            if (!s) {
                fail(cmd, "unknown set");
                continue;
            }
            sl_view v = sl_view_f32(s->x, s->n, s->d);
            int knn = !strcmp(cmd, "knn"), join = !strcmp(cmd, "join");
            const char *kern = knn || join ? c : b;
            int threads = atoi(knn || join ? e : c);
            sl_options o = {kern, NULL, threads, 0, NULL, NULL, &st};
            set *q = knn && *f && strcmp(f, "-") ? find(f) : NULL;
            sl_view qv = q ? sl_view_f32(q->x, q->n, q->d) : v;
            int64_t rows = q ? q->n : s->n, k = knn ? atoll(b) : 0;
            double sum = 0, t0, t;
            sl_status rc;
            if (knn) {
                float *sims = malloc((size_t)(rows * k) * 4);
                int64_t *idx = malloc((size_t)(rows * k) * 8);
                t0 = now();
                rc = sl_knn(&v, q ? &qv : NULL, k, sims, idx, &o, &err);
                t = now() - t0;
                for (int64_t i = 0; rc == SL_OK && i < rows * k; i++)
                    sum += (double)idx[i];
                FILE *out = rc == SL_OK && *g ? fopen(g, "wb") : NULL;
                if (out) {
                    fwrite(idx, 8, (size_t)(rows * k), out);
                    fclose(out);
                }
                free(sims);
                free(idx);
            } else if (join) {
                sl_pairs p;
                t0 = now();
                rc = sl_join(&v, NULL, atof(b), &p, &o, &err);
                t = now() - t0;
                sum = rc == SL_OK ? (double)p.count : 0;
                sl_pairs_free(&p);
            } else {
                /* A fresh output pays for its first writes, which on
                 * these guests is mostly the host's work (perf/README.md,
                 * "Fresh pages"); a reused one measures the job alone. */
                int reuse = !strcmp(e, "reuse");
                size_t bytes = (size_t)(s->n * s->n) * 4;
                if (reuse && !s->out && (s->out = big_alloc(bytes)))
                    memset(s->out, 0, bytes);
                float *m = reuse ? s->out : big_alloc(bytes);
                t0 = now();
                rc = m ? sl_matrix(&v, NULL, m, 0, &o, &err) : SL_ENOMEM;
                t = now() - t0;
                if (!m)
                    snprintf(err.message, sizeof err.message, "out of memory for the output");
                for (int64_t i = 0; rc == SL_OK && i < s->n; i += 97)
                    sum += m[i * s->n + (i * 31) % s->n];
                if (!reuse)
                    free(m);
            }
            if (rc != SL_OK) {
                fail(cmd, err.message);
                continue;
            }
            printf("{\"seconds\": %.6f, \"kernel\": \"%s\", \"threads\": %d, \"checksum\": %.9g, "
                   "\"prepare\": %.6f, \"compute\": %.6f, \"finish\": %.6f, \"candidates\": %lld, "
                   "\"filtered\": %lld, \"redone\": %lld}\n",
                   t, st.kernel, st.threads, sum, st.seconds_prepare, st.seconds_compute,
                   st.seconds_finish, (long long)st.candidates, (long long)st.filtered,
                   (long long)st.rows_redone);
        } else if (!strcmp(cmd, "peak")) {
            double g = sl_peak_gflops(NULL, atoi(a), atof(b));
            printf("{\"gflops\": %.3f}\n", g);
        } else if (!strcmp(cmd, "rss")) {
            printf("{\"maxrss_kib\": %ld}\n", peak_rss_kib());
        } else {
            fail("command", cmd);
        }
        fflush(stdout);
    }
    for (int i = 0; i < nsets; i++) {
        free(sets[i].x);
        free(sets[i].out);
    }
    return 0;
}
