/*
 * .npy parsing from memory. The header is a Python dict literal; we accept
 * exactly what NumPy writes (and reasonable spacing), check every number
 * against the buffer before trusting it, and never read past len.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

static int fail(char *msg, const char *text)
{
    snprintf(msg, SL_MSG, "%s", text);
    return 1;
}

/* A cursor over the header text. */
typedef struct cur {
    const char *p, *end;
} cur;

static void skip_ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int eat(cur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string into out (at most cap-1 chars). */
static int quoted(cur *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= cap)
            return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    out[n] = 0;
    return 1;
}

static int number(cur *c, int64_t *v)
{
    skip_ws(c);
    if (c->p >= c->end || !isdigit((unsigned char)*c->p))
        return 0;
    uint64_t x = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        unsigned dgt = (unsigned)(*c->p++ - '0');
        if (x > (UINT64_C(1) << 62) / 10)
            return 0; /* absurd: far beyond any addressable array */
        x = x * 10 + dgt;
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l')) /* Python 2 longs */
        c->p++;
    *v = (int64_t)x;
    return 1;
}

int sl_npy_parse(const void *buf, size_t len, sl_array *out, char *msg)
{
    const unsigned char *b = buf;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return fail(msg, "empty file");
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return fail(msg, "not a .npy file (bad magic)");
    unsigned major = b[6];
    size_t hlen, start;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return fail(msg, "truncated header");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        start = 12;
    } else {
        snprintf(msg, SL_MSG, "unsupported .npy version %u.%u", major, b[7]);
        return 1;
    }
    if (hlen > len - start)
        return fail(msg, "truncated header");
    cur c = {(const char *)b + start, (const char *)b + start + hlen};
    /* Version 3 allows UTF-8 in the header; field names we need are ASCII. */
    char descr[32] = "";
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0, ndim = 0;
    int64_t shape[2] = {0, 0};
    if (!eat(&c, '{'))
        return fail(msg, "malformed header (no dict)");
    while (!eat(&c, '}')) {
        char key[32];
        if (!quoted(&c, key, sizeof key) || !eat(&c, ':'))
            return fail(msg, "malformed header (bad key)");
        if (!strcmp(key, "descr")) {
            skip_ws(&c);
            if (c.p < c.end && *c.p == '[')
                return fail(msg, "unsupported dtype: structured array (need float16, float32 "
                                 "or float64)");
            if (!quoted(&c, descr, sizeof descr))
                return fail(msg, "malformed header (descr)");
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            skip_ws(&c);
            if (c.end - c.p >= 4 && !memcmp(c.p, "True", 4)) {
                fortran = 1;
                c.p += 4;
            } else if (c.end - c.p >= 5 && !memcmp(c.p, "False", 5)) {
                c.p += 5;
            } else {
                return fail(msg, "malformed header (fortran_order)");
            }
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (!eat(&c, '('))
                return fail(msg, "malformed header (shape)");
            while (!eat(&c, ')')) {
                int64_t v;
                if (!number(&c, &v))
                    return fail(msg, "malformed header (shape)");
                if (ndim < 2)
                    shape[ndim] = v;
                ndim++;
                if (!eat(&c, ',')) {
                    if (!eat(&c, ')'))
                        return fail(msg, "malformed header (shape)");
                    break;
                }
            }
            have_shape = 1;
        } else {
            return fail(msg, "malformed header (unknown key)");
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                return fail(msg, "malformed header (expected , or })");
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return fail(msg, "malformed header (descr, fortran_order and shape are required)");

    /* descr is echoed in messages, which are one line each: the file's
     * bytes must not bring their own newlines (a fuzzer found this). */
    for (char *ch = descr; *ch; ch++)
        if (!isprint((unsigned char)*ch))
            *ch = '?';
    sl_dtype dt;
    size_t item;
    int big = 0;
    char kind = descr[0] ? descr[1] : 0;
    if (strlen(descr) != 3 || !strchr("<>=|", descr[0]) || kind != 'f') {
        if (!strcmp(descr, "|O") || !strcmp(descr, "O"))
            return fail(msg, "unsupported dtype: object array (need float16, float32 or "
                             "float64)");
        snprintf(msg, SL_MSG, "unsupported dtype '%.20s' (need float16, float32 or float64)",
                 descr);
        return 1;
    }
    switch (descr[2]) {
    case '2':
        dt = SL_F16;
        item = 2;
        break;
    case '4':
        dt = SL_F32;
        item = 4;
        break;
    case '8':
        dt = SL_F64;
        item = 8;
        break;
    default:
        snprintf(msg, SL_MSG, "unsupported dtype '%.20s' (need float16, float32 or float64)",
                 descr);
        return 1;
    }
    big = descr[0] == '>';
    if (ndim == 1) { /* one vector */
        shape[1] = shape[0];
        shape[0] = 1;
    } else if (ndim != 2) {
        snprintf(msg, SL_MSG, "%d-D array: need a 2-D array of vectors (n x d)", ndim);
        return 1;
    }
    if (shape[0] == 0)
        return fail(msg, "n = 0: the file holds no vectors");
    if (shape[1] == 0)
        return fail(msg, "d = 0: the vectors have no components");
    size_t data = start + hlen;
    uint64_t n = (uint64_t)shape[0], d = (uint64_t)shape[1];
    if (n > SIZE_MAX / d || n * d > SIZE_MAX / item || n * d * item > (uint64_t)INT64_MAX)
        return fail(msg, "shape too large to address");
    size_t bytes = (size_t)(n * d * item);
    if (bytes > len - data) {
        snprintf(msg, SL_MSG, "truncated data: the header promises %zu bytes, the file has %zu",
                 bytes, len - data);
        return 1;
    }
    if (bytes < len - data) {
        snprintf(msg, SL_MSG, "%zu bytes after the data the header describes (shape wrong?)",
                 len - data - bytes);
        return 1;
    }
    out->data_offset = data;
    out->data_bytes = bytes;
    out->view.data = b + data;
    out->view.n = (int64_t)n;
    out->view.d = (int64_t)d;
    out->view.dtype = dt;
    out->view.row_stride = fortran ? (int64_t)item : (int64_t)(d * item);
    out->view.col_stride = fortran ? (int64_t)(n * item) : (int64_t)item;
    out->view.swap_bytes = big;
    return 0;
}

size_t sl_npy_header(char *buf, size_t cap, const char *descr, int64_t rows, int64_t cols)
{
    char dict[192];
    int w = cols < 0 ? snprintf(dict, sizeof dict,
                                "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }",
                                descr, (long long)rows)
                     : snprintf(dict, sizeof dict,
                                "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }",
                                descr, (long long)rows, (long long)cols);
    if (w < 0 || (size_t)w >= sizeof dict)
        return 0;
    size_t total = (10 + (size_t)w + 1 + 63) / 64 * 64; /* magic..len + dict + '\n', padded */
    if (total > cap || total - 10 > 65535)
        return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    memcpy(buf + 10, dict, (size_t)w);
    memset(buf + 10 + w, ' ', total - 10 - (size_t)w - 1);
    buf[total - 1] = '\n';
    return total;
}
