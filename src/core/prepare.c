/*
 * Prepare: the one pass over the input. Every value is read once here, so
 * this is where NaN and Inf are caught, where float16/float64, strided and
 * big-endian inputs become float32 rows, and where rows are normalised.
 *
 * Scaling. A float32 sum of squares overflows once |x| passes about 1e19
 * and loses everything below about 1e-19. Cosine ignores the scale of each
 * row, so a row whose largest magnitude lies outside [2^-40, 2^40] is
 * multiplied by a power of two (exact) before the rungs see it.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SAFE_LO 0x1p-40
#define SAFE_HI 0x1p40

sl_status sl__view_check(const sl_view *v, const char *name, sl_error *err)
{
    if (!v)
        return sl__fail(err, SL_EINVAL, "%s: no input", name);
    if (v->n < 1)
        return sl__fail(err, SL_EINVAL, "%s: n = %lld: need at least one vector", name,
                        (long long)v->n);
    if (v->d < 1)
        return sl__fail(err, SL_EINVAL, "%s: d = %lld: need at least one dimension", name,
                        (long long)v->d);
    if (!v->data)
        return sl__fail(err, SL_EINVAL, "%s: data pointer is NULL", name);
    if (v->dtype != SL_F32 && v->dtype != SL_F64 && v->dtype != SL_F16)
        return sl__fail(err, SL_EINVAL, "%s: unknown dtype %d", name, (int)v->dtype);
    if (sl__mul(sl__mul((size_t)v->n, (size_t)v->d), 8) == SIZE_MAX ||
        (uint64_t)v->n > INT64_MAX / 64 || (uint64_t)v->d > INT64_MAX / 64)
        return sl__fail(err, SL_EINVAL, "%s: %lld x %lld is too large to address", name,
                        (long long)v->n, (long long)v->d);
    return SL_OK;
}

static int64_t unit_ld(int64_t d)
{
    return (d + 15) / 16 * 16;
}

static int borrowable(const sl_view *v)
{
    return v->dtype == SL_F32 && !v->swap_bytes && v->col_stride == 4 &&
           v->row_stride >= 4 * v->d && v->row_stride % 4 == 0 && ((uintptr_t)v->data & 3) == 0;
}

size_t sl__prepare_bytes(const sl_view *v, int input)
{
    if (SL_IN_LOWP(input)) /* unit rows for the re-score, and the quantised panels */
        return sl__add(sl__prepare_bytes(v, SL_IN_UNIT), sl__quantise_bytes(v->n, v->d, input));
    size_t n = (size_t)v->n, d = (size_t)v->d;
    if (input == SL_IN_PANELS)
        n = (n + SL_PANEL_PAD - 1) / SL_PANEL_PAD * SL_PANEL_PAD;
    if (input == SL_IN_UNIT || input == SL_IN_PANELS)
        return sl__add(sl__mul(sl__mul(n, (size_t)unit_ld(v->d)), 4), 64);
    size_t bytes = borrowable(v) ? 0 : sl__mul(sl__mul(n, d), 4);
    if (input == SL_IN_NORMS)
        bytes = sl__add(bytes, sl__mul(n, 4));
    return bytes; /* a borrowable view that needs scaling is copied: counted at run time */
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0x1f)
        bits = sign | 0x7f800000u | (m << 13); /* Inf, NaN */
    else if (e)
        bits = sign | ((e + 112) << 23) | (m << 13);
    else if (!m)
        bits = sign;
    else { /* subnormal half: normalise */
        e = 113;
        while (!(m & 0x400)) {
            m <<= 1;
            e--;
        }
        bits = sign | (e << 23) | ((m & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Row r of v as double, into buf[0..d). */
static void read_row(const sl_view *v, int64_t r, double *buf)
{
    const char *p = (const char *)v->data + r * v->row_stride;
    for (int64_t c = 0; c < v->d; c++, p += v->col_stride) {
        switch (v->dtype) {
        case SL_F32: {
            uint32_t b;
            memcpy(&b, p, 4);
            if (v->swap_bytes)
                b = __builtin_bswap32(b);
            float f;
            memcpy(&f, &b, 4);
            buf[c] = f;
            break;
        }
        case SL_F64: {
            uint64_t b;
            memcpy(&b, p, 8);
            if (v->swap_bytes)
                b = __builtin_bswap64(b);
            memcpy(&buf[c], &b, 8);
            break;
        }
        case SL_F16: {
            uint16_t b;
            memcpy(&b, p, 2);
            if (v->swap_bytes)
                b = (uint16_t)((b >> 8) | (b << 8));
            buf[c] = half_to_float(b);
            break;
        }
        }
    }
}

static sl_status nonfinite(sl_error *err, int which, int64_t r, int64_t c, double x)
{
    if (err) {
        err->operand = which;
        err->row = r;
        err->col = c;
    }
    return sl__fail(err, SL_EVALUE, "%s: row %lld, column %lld is %s", which ? "queries" : "input",
                    (long long)r, (long long)c, isnan(x) ? "NaN" : (x > 0 ? "+Inf" : "-Inf"));
}

/* Largest magnitude of the row, or a failure naming the first bad value. */
static sl_status row_max(const double *x, int64_t d, int64_t r, int which, double *max,
                         sl_error *err)
{
    double m = 0;
    for (int64_t c = 0; c < d; c++) {
        double a = fabs(x[c]);
        if (!isfinite(a))
            return nonfinite(err, which, r, c, x[c]);
        m = a > m ? a : m;
    }
    *max = m;
    return SL_OK;
}

/* A power of two s with the row's largest magnitude times s in [1, 2), so
 * that scaling is exact. Rows of float64 subnormals are lifted first, since
 * 2^-ilogb(m) itself would overflow for them. */
static double row_scale(double *x, int64_t d, double m)
{
    if (m == 0)
        return 0;
    if (m < 0x1p-900) {
        for (int64_t c = 0; c < d; c++)
            x[c] *= 0x1p600;
        m *= 0x1p600;
    }
    return ldexp(1.0, -ilogb(m));
}

/* The float32 fast path of the checks: no conversion, no copy. */
static sl_status scan_f32(const sl_view *v, int which, int *needs_scaling, sl_error *err)
{
    *needs_scaling = 0;
    for (int64_t r = 0; r < v->n; r++) {
        const float *x = (const float *)((const char *)v->data + r * v->row_stride);
        float m = 0;
        int bad = 0;
        for (int64_t c = 0; c < v->d; c++) {
            float a = fabsf(x[c]);
            bad |= !(a <= 3.4028234663852886e38f);
            m = a > m ? a : m;
        }
        if (bad) {
            int64_t c = 0;
            while (isfinite(x[c]))
                c++;
            return nonfinite(err, which, r, c, x[c]);
        }
        if (m != 0 && (m < (float)SAFE_LO || m > (float)SAFE_HI))
            *needs_scaling = 1;
    }
    return SL_OK;
}

/* The float32 fast path of the unit rows (sl_unit_fns in kernels.h): no
 * conversion, no copy. A float32 square cannot overflow or underflow a
 * double, so no scaling is needed, and a NaN or Inf shows in the sum. The
 * scalar reference first: 16 partial sums, element k to partial k mod 16 in
 * order of k, then added halves to halves, as the quantiser's sums are and
 * as the vector variants do it, so every ISA writes the same unit rows. */
static double unit_sumsq_c(const float *x, int64_t d)
{
    double p[16] = {0};
    int64_t k = 0;
    for (; k + 16 <= d; k += 16)
        for (int l = 0; l < 16; l++)
            p[l] += (double)x[k + l] * x[k + l];
    for (int l = 0; k + l < d; l++)
        p[l] += (double)x[k + l] * x[k + l];
    for (int h = 8; h >= 1; h /= 2)
        for (int l = 0; l < h; l++)
            p[l] += p[l + h];
    return p[0];
}

static void unit_row_c(const float *x, int64_t d, double scale, float *out)
{
    for (int64_t k = 0; k < d; k++)
        out[k] = (float)(x[k] * scale);
}

/* m <= SL_PANEL rows into one panel, depth step by depth step, so that
 * each 64-byte line of the panel is written whole and once (row by row,
 * each row would touch every line of the panel, 16 times over). */
static void unit_panel_rows(const float *const *x, const double *scale, int64_t m, int64_t d,
                            float *out)
{
    for (int64_t k = 0; k < d; k++, out += SL_PANEL)
        for (int64_t q = 0; q < m; q++)
            out[q] = (float)(x[q][k] * scale[q]);
}

static void unit_panel_c(const float *const *x, const double *scale, int64_t d, float *out)
{
    unit_panel_rows(x, scale, SL_PANEL, d, out);
}

sl_unit_fns sl__unit_fns(unsigned features)
{
#if defined(__x86_64__)
    const unsigned avx512 = SL_CPU_AVX512_SET | SL_CPU_AVX2;
    if ((features & avx512) == avx512)
        return (sl_unit_fns){sl_unit_avx512_sumsq, sl_unit_avx512_row, sl_unit_avx512_panel};
    if (features & SL_CPU_AVX2)
        return (sl_unit_fns){sl_unit_avx2_sumsq, sl_unit_avx2_row, sl_unit_avx2_panel};
#else
    (void)features;
#endif
    return (sl_unit_fns){unit_sumsq_c, unit_row_c, unit_panel_c};
}

/* 1 / |x| (0 for a zero row) in *scale_out; returns the first non-finite
 * column, or -1. */
static int64_t unit_scale_f32(const sl_unit_fns *u, const float *x, int64_t d, double *scale_out)
{
    double s = u->sumsq(x, d);
    if (!isfinite(s)) {
        int64_t c = 0;
        while (isfinite(x[c]))
            c++;
        return c;
    }
    *scale_out = s > 0 ? 1.0 / sqrt(s) : 0.0;
    return -1;
}

static int64_t unit_row_f32(const sl_unit_fns *u, const float *x, int64_t d, int64_t ld, float *out,
                            int64_t step)
{
    double scale;
    int64_t bad = unit_scale_f32(u, x, d, &scale);
    if (bad >= 0)
        return bad;
    if (step == 1) {
        u->row(x, d, scale, out);
        memset(out + d, 0, (size_t)(ld - d) * sizeof *out);
        return -1;
    }
    for (int64_t c = 0; c < d; c++)
        out[c * step] = (float)(x[c] * scale);
    for (int64_t c = d; c < ld; c++)
        out[c * step] = 0;
    return -1;
}

/* m <= SL_PANEL unit rows into one panel: the same values as unit_row_f32
 * writes. */
static void unit_panel_f32(const sl_unit_fns *u, const float *const *x, const double *scale,
                           int64_t m, int64_t d, int64_t ld, float *out)
{
    if (m == SL_PANEL)
        u->panel(x, scale, d, out);
    else
        unit_panel_rows(x, scale, m, d, out);
    for (int64_t c = d; c < ld; c++)
        for (int64_t q = 0; q < m; q++)
            out[c * SL_PANEL + q] = 0;
}

/* Any dtype and layout: through a float64 row buffer, scaled by a power of
 * two so that no square overflows or underflows. */
static sl_status general_row(const sl_view *v, int input, int which, int64_t r, double *buf,
                             float *out, int64_t step, int64_t ld, float *norm, sl_error *err)
{
    int64_t d = v->d;
    double m = 0;
    read_row(v, r, buf);
    sl_status st = row_max(buf, d, r, which, &m, err);
    if (st != SL_OK)
        return st;
    if (input == SL_IN_UNIT || input == SL_IN_PANELS) {
        double inv = row_scale(buf, d, m), s = 0;
        for (int64_t c = 0; c < d; c++)
            s += (buf[c] * inv) * (buf[c] * inv);
        double scale = s > 0 ? inv / sqrt(s) : 0.0;
        for (int64_t c = 0; c < d; c++)
            out[c * step] = (float)(buf[c] * scale);
        for (int64_t c = d; c < ld; c++)
            out[c * step] = 0;
        return SL_OK;
    }
    double scale = (m >= SAFE_LO && m <= SAFE_HI) ? 1.0 : row_scale(buf, d, m);
    for (int64_t c = 0; c < d; c++)
        out[c] = (float)(buf[c] * scale);
    if (input == SL_IN_NORMS) {
        float s = 0;
        for (int64_t c = 0; c < d; c++)
            s += out[c] * out[c];
        norm[r] = sqrtf(s);
    }
    return SL_OK;
}

typedef struct fill {
    const sl_view *v;
    const sl_operand *op; /* lowp: where the quantised rows go */
    int lowp;
    sl_quantise_fn *quantise;
    sl_unit_fns unit;
    int input, which, f32_rows;
    float *rows, *norm;
    int64_t ld;
    _Atomic int64_t next;
    atomic_int failed;
    pthread_mutex_t lock;
    sl_status st;
    sl_error err; /* the failure with the lowest row */
    int64_t err_row;
} fill;

enum { FILL_CHUNK = 64 }; /* rows per claim: a multiple of SL_PANEL */

static void fill_failed(fill *f, sl_status st, const sl_error *e, int64_t r)
{
    /* Chunks are claimed in order, so every row before this one is checked
     * by someone: the lowest failing row wins. */
    pthread_mutex_lock(&f->lock);
    if (f->st == SL_OK || r < f->err_row) {
        f->st = st;
        f->err = *e;
        f->err_row = r;
    }
    pthread_mutex_unlock(&f->lock);
    atomic_store(&f->failed, 1);
}

/* Rows [r0, r1) of float32 input into panels, a panel at a time (r0 is a
 * multiple of SL_PANEL). 0 when a row is not finite: the caller's row by row
 * loop then finds and reports it. */
static int panel_chunk(fill *f, int64_t r0, int64_t r1)
{
    const sl_view *v = f->v;
    for (int64_t g = r0; g < r1; g += SL_PANEL) {
        int64_t m = r1 - g < SL_PANEL ? r1 - g : SL_PANEL;
        const float *x[SL_PANEL];
        double scale[SL_PANEL];
        for (int64_t q = 0; q < m; q++) {
            x[q] = (const float *)((const char *)v->data + (g + q) * v->row_stride);
            if (unit_scale_f32(&f->unit, x[q], v->d, &scale[q]) >= 0)
                return 0;
        }
        unit_panel_f32(&f->unit, x, scale, m, v->d, f->ld, f->rows + g * f->ld);
    }
    return 1;
}

static void fill_worker(void *arg, int tid)
{
    (void)tid;
    fill *f = arg;
    const sl_view *v = f->v;
    int unit = f->input == SL_IN_UNIT || f->input == SL_IN_PANELS;
    double *buf = malloc(sl__mul((size_t)v->d, sizeof(double)));
    if (!buf) {
        pthread_mutex_lock(&f->lock);
        if (f->st == SL_OK)
            f->st = sl__fail(&f->err, SL_ENOMEM, "out of memory for a row buffer");
        pthread_mutex_unlock(&f->lock);
        atomic_store(&f->failed, 1);
        return;
    }
    while (!atomic_load(&f->failed)) {
        int64_t r0 = atomic_fetch_add(&f->next, FILL_CHUNK);
        if (r0 >= v->n)
            break;
        int64_t r1 = r0 + FILL_CHUNK < v->n ? r0 + FILL_CHUNK : v->n;
        if (f->input == SL_IN_PANELS && f->f32_rows && panel_chunk(f, r0, r1))
            continue;
        for (int64_t r = r0; r < r1; r++) {
            /* Where row r goes: its own line of ld floats, or a column of a panel. */
            float *out = f->rows + r * f->ld;
            int64_t step = 1;
            if (f->input == SL_IN_PANELS) {
                out = f->rows + (r / SL_PANEL) * SL_PANEL * f->ld + r % SL_PANEL;
                step = SL_PANEL;
            }
            sl_error e;
            sl_status st = SL_OK;
            if (unit && f->f32_rows) {
                const float *x = (const float *)((const char *)v->data + r * v->row_stride);
                int64_t c = unit_row_f32(&f->unit, x, v->d, f->ld, out, step);
                if (c >= 0)
                    st = nonfinite(&e, f->which, r, c, x[c]);
            } else {
                st = general_row(v, f->input, f->which, r, buf, out, step, f->ld, f->norm, &e);
            }
            if (st == SL_OK && f->lowp)
                sl__quantise_row(f->op, f->lowp, r, out, f->quantise);
            if (st != SL_OK) {
                fill_failed(f, st, &e, r);
                break;
            }
        }
    }
    free(buf);
}

sl_status sl__prepare(const sl_view *v, int input, int which, int threads, sl_prepared *p,
                      sl_error *err)
{
    return sl__prepare_isa(v, input, which, threads, NULL, p, err);
}

sl_status sl__prepare_isa(const sl_view *v, int input, int which, int threads, const char *isa,
                          sl_prepared *p, sl_error *err)
{
    memset(p, 0, sizeof *p);
    int lowp = SL_IN_LOWP(input) ? input : 0;
    if (lowp) /* unit rows for the re-score, each quantised as soon as it is written */
        input = SL_IN_UNIT;
    int64_t n = v->n, d = v->d;
    p->op.n = n;
    p->op.d = d;

    if (input != SL_IN_UNIT && input != SL_IN_PANELS && borrowable(v)) {
        int scale = 0;
        sl_status st = scan_f32(v, which, &scale, err);
        if (st != SL_OK)
            return st;
        if (!scale) {
            p->op.rows = (const float *)v->data;
            p->op.ld = v->row_stride / 4;
            if (input == SL_IN_NORMS) {
                float *norm = sl__alloc(sl__mul((size_t)n, 4));
                if (!norm)
                    return sl__fail(err, SL_ENOMEM, "out of memory for %lld norms", (long long)n);
                for (int64_t r = 0; r < n; r++) {
                    const float *x = p->op.rows + r * p->op.ld;
                    float s = 0;
                    for (int64_t c = 0; c < d; c++)
                        s += x[c] * x[c];
                    norm[r] = sqrtf(s);
                }
                p->op.norm = norm;
                p->owned = norm;
            }
            return SL_OK;
        }
    }

    int unit = input == SL_IN_UNIT || input == SL_IN_PANELS;
    int64_t ld = unit ? unit_ld(d) : d;
    int64_t nalloc =
        input == SL_IN_PANELS ? (n + SL_PANEL_PAD - 1) / SL_PANEL_PAD * SL_PANEL_PAD : n;
    size_t rows_bytes = sl__mul(sl__mul((size_t)nalloc, (size_t)ld), 4);
    size_t norm_bytes = input == SL_IN_NORMS ? sl__mul((size_t)n, 4) : 0;
    char *mem = sl__alloc(sl__add(rows_bytes, norm_bytes));
    if (!mem)
        return sl__fail(err, SL_ENOMEM, "out of memory preparing %lld x %lld rows", (long long)n,
                        (long long)d);
    p->owned = mem;
    if (lowp) {
        sl_status st = sl__quantise_alloc(p, lowp, err);
        if (st != SL_OK) {
            sl__prepared_free(p);
            return st;
        }
    }
    unsigned features = 0; /* an unknown cap (the kernel's lookup refused it): scalar */
    if (sl__cpu_usable(isa, &features, NULL) != SL_OK)
        features = 0;
    fill f = {.v = v,
              .op = &p->op,
              .lowp = lowp,
              .quantise = lowp ? sl__quantiser(features) : NULL,
              .unit = sl__unit_fns(features),
              .input = input,
              .which = which,
              .rows = (float *)mem,
              .norm = input == SL_IN_NORMS ? (float *)(mem + rows_bytes) : NULL,
              .ld = ld};
    f.f32_rows = v->dtype == SL_F32 && !v->swap_bytes && v->col_stride == 4 &&
                 ((uintptr_t)v->data & 3) == 0 && v->row_stride % 4 == 0;
    pthread_mutex_init(&f.lock, NULL);
    int64_t chunks = (n + FILL_CHUNK - 1) / FILL_CHUNK;
    sl__run(threads < chunks ? threads : (int)chunks, fill_worker, &f);
    pthread_mutex_destroy(&f.lock);
    if (f.st != SL_OK) {
        sl__prepared_free(p);
        if (err)
            *err = f.err;
        return f.st;
    }
    for (int64_t r = n; r < nalloc; r++) /* the last panel's missing rows */
        for (int64_t c = 0; c < ld; c++)
            f.rows[(r / SL_PANEL) * SL_PANEL * ld + c * SL_PANEL + r % SL_PANEL] = 0;
    p->op.rows = f.rows;
    p->op.ld = ld;
    p->op.norm = f.norm;
    if (lowp)
        sl__quantise_finish(&p->op);
    return SL_OK;
}

void sl__prepared_free(sl_prepared *p)
{
    sl__free(p->owned);
    sl__free(p->owned_lp);
    p->owned = NULL;
    p->owned_lp = NULL;
}
