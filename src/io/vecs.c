/*
 * TEXMEX .fvecs / .bvecs / .ivecs (the SIFT and GIST benchmark sets) parsed
 * from memory. A file is a run of records, each a little-endian int32 d
 * followed by d elements; there is no header, so the only checks possible
 * are the ones made here: every record says the same d, and the records
 * tile the buffer exactly. Nothing is trusted before it is bounds-checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

static int fail(char *msg, const char *text)
{
    snprintf(msg, SL_MSG, "%s", text);
    return 1;
}

static int32_t rd_i32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, sizeof v); /* two's complement reinterpretation, no UB */
    return v;
}

static int host_is_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

size_t sl_vecs_elem_size(sl_vecs_kind kind)
{
    return kind == SL_BVECS ? 1 : 4;
}

const char *sl_vecs_name(sl_vecs_kind kind)
{
    return kind == SL_FVECS ? ".fvecs" : kind == SL_BVECS ? ".bvecs" : ".ivecs";
}

int sl_vecs_parse(const void *buf, size_t len, sl_vecs_kind kind, sl_vecs *out, char *msg)
{
    const unsigned char *b = buf;
    memset(out, 0, sizeof *out);
    out->kind = kind;
    if (len == 0)
        return fail(msg, "empty file");
    if (len < 4) {
        snprintf(msg, SL_MSG, "truncated: %zu bytes, too short for the first record's int32 d",
                 len);
        return 1;
    }
    int32_t d = rd_i32(b);
    if (d <= 0) {
        snprintf(msg, SL_MSG, "record 0 has d = %ld: need d >= 1 (not a %s file?)", (long)d,
                 sl_vecs_name(kind));
        return 1;
    }
    size_t elem = sl_vecs_elem_size(kind);
    /* d < 2^31 and elem <= 4, so the record size fits in 64 bits; on a 32-bit
     * size_t it may not, and such a file could not be mapped anyway. */
    uint64_t rec64 = 4 + (uint64_t)d * elem;
    if (rec64 > SIZE_MAX)
        return fail(msg, "record too large to address");
    size_t rec = (size_t)rec64;
    if (len % rec != 0) {
        snprintf(msg, SL_MSG,
                 "size %zu is not a multiple of the record size %zu (4 + %ld x %zu bytes, from "
                 "d = %ld in the first record): truncated, or not a %s file",
                 len, rec, (long)d, elem, (long)d, sl_vecs_name(kind));
        return 1;
    }
    size_t n = len / rec;
    for (size_t r = 1; r < n; r++) {
        int32_t dr = rd_i32(b + r * rec);
        if (dr != d) {
            snprintf(msg, SL_MSG, "record %zu has d = %ld but record 0 has d = %ld", r, (long)dr,
                     (long)d);
            return 1;
        }
    }
    out->base = b;
    out->n = (int64_t)n;
    out->d = d;
    out->record = rec;
    return 0;
}

int sl_vecs_view(const sl_vecs *v, sl_view *out, char *msg)
{
    memset(out, 0, sizeof *out);
    if (v->kind != SL_FVECS)
        return fail(msg, "only .fvecs can be viewed in place (bvecs and ivecs need converting)");
    /* The elements of record r start 4 bytes in; the stride skips the next
     * record's d. Records are multiples of 4 bytes, so an aligned buffer
     * gives aligned floats. */
    out->data = v->base + 4;
    out->n = v->n;
    out->d = v->d;
    out->dtype = SL_F32;
    out->row_stride = (int64_t)v->record;
    out->col_stride = 4;
    out->swap_bytes = host_is_big_endian();
    return 0;
}

int sl_vecs_convert(const sl_vecs *v, sl_dtype to, void **data, char *msg)
{
    *data = NULL;
    if (to != SL_F32 && to != SL_F64)
        return fail(msg, "conversion target must be float32 or float64");
    size_t item = to == SL_F32 ? 4 : 8, n = (size_t)v->n, d = (size_t)v->d;
    if (n > SIZE_MAX / d || n * d > SIZE_MAX / item)
        return fail(msg, "too large to convert");
    void *buf = malloc(n * d * item); /* n, d >= 1 after a successful parse */
    if (!buf) {
        snprintf(msg, SL_MSG, "out of memory converting %zu x %zu elements to %s", n, d,
                 to == SL_F32 ? "float32" : "float64");
        return 1;
    }
    float *f = buf;
    double *g = buf;
    for (size_t r = 0; r < n; r++) {
        const unsigned char *e = v->base + r * v->record + 4;
        for (size_t c = 0; c < d; c++) {
            double x;
            if (v->kind == SL_BVECS) {
                x = e[c];
            } else if (v->kind == SL_IVECS) {
                x = rd_i32(e + 4 * c);
            } else {
                uint32_t u = (uint32_t)rd_i32(e + 4 * c);
                float fl;
                memcpy(&fl, &u, sizeof fl);
                x = fl;
            }
            if (to == SL_F32)
                f[r * d + c] = (float)x;
            else
                g[r * d + c] = x;
        }
    }
    *data = buf;
    return 0;
}
