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
#include <stdint.h>
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
    size_t n = (size_t)v->n, d = (size_t)v->d;
    if (input == SL_IN_UNIT)
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
    return sl__fail(err, SL_EVALUE, "%s: row %lld, column %lld is %s",
                    which ? "queries" : "input", (long long)r, (long long)c,
                    isnan(x) ? "NaN" : (x > 0 ? "+Inf" : "-Inf"));
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

sl_status sl__prepare(const sl_view *v, int input, int which, sl_prepared *p, sl_error *err)
{
    memset(p, 0, sizeof *p);
    int64_t n = v->n, d = v->d;
    p->op.n = n;
    p->op.d = d;

    if (input != SL_IN_UNIT && borrowable(v)) {
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
                    return sl__fail(err, SL_ENOMEM, "out of memory for %lld norms",
                                    (long long)n);
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

    int64_t ld = input == SL_IN_UNIT ? unit_ld(d) : d;
    size_t rows_bytes = sl__mul(sl__mul((size_t)n, (size_t)ld), 4);
    size_t norm_bytes = input == SL_IN_NORMS ? sl__mul((size_t)n, 4) : 0;
    size_t row_buf = sl__mul((size_t)d, 8);
    char *mem = sl__alloc(sl__add(sl__add(rows_bytes, norm_bytes), sl__add(row_buf, 128)));
    if (!mem)
        return sl__fail(err, SL_ENOMEM, "out of memory preparing %lld x %lld rows",
                        (long long)n, (long long)d);
    float *rows = (float *)mem;
    float *norm = (float *)(mem + rows_bytes);
    double *buf = (double *)(mem + ((rows_bytes + norm_bytes + 63) & ~(size_t)63));
    p->owned = mem;

    for (int64_t r = 0; r < n; r++) {
        double m = 0;
        read_row(v, r, buf);
        sl_status st = row_max(buf, d, r, which, &m, err);
        if (st != SL_OK) {
            sl__prepared_free(p);
            return st;
        }
        float *out = rows + r * ld;
        if (input == SL_IN_UNIT) {
            /* Normalise in double, after scaling by the largest magnitude so
             * that no square overflows or underflows; round once. */
            double inv = row_scale(buf, d, m), s = 0;
            for (int64_t c = 0; c < d; c++)
                s += (buf[c] * inv) * (buf[c] * inv);
            double scale = s > 0 ? inv / sqrt(s) : 0.0;
            for (int64_t c = 0; c < d; c++)
                out[c] = (float)(buf[c] * scale);
            for (int64_t c = d; c < ld; c++)
                out[c] = 0;
        } else {
            double scale = (m >= SAFE_LO && m <= SAFE_HI) ? 1.0 : row_scale(buf, d, m);
            for (int64_t c = 0; c < d; c++)
                out[c] = (float)(buf[c] * scale);
            if (input == SL_IN_NORMS) {
                float s = 0;
                for (int64_t c = 0; c < d; c++)
                    s += out[c] * out[c];
                norm[r] = sqrtf(s);
            }
        }
    }
    p->op.rows = rows;
    p->op.ld = ld;
    p->op.norm = input == SL_IN_NORMS ? norm : NULL;
    return SL_OK;
}

void sl__prepared_free(sl_prepared *p)
{
    sl__free(p->owned);
    p->owned = NULL;
}
