/* Errors, allocation, overflow-checked sizes, the clock, small public helpers. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

sl_status sl__fail(sl_error *err, sl_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void *sl__alloc(size_t bytes)
{
    if (bytes == SIZE_MAX || bytes > SIZE_MAX - 64)
        return NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, rounded ? rounded : 64);
}

void sl__free(void *p)
{
    free(p);
}

size_t sl__mul(size_t a, size_t b)
{
    if (a == SIZE_MAX || b == SIZE_MAX)
        return SIZE_MAX;
    if (b && a > SIZE_MAX / b)
        return SIZE_MAX;
    return a * b;
}

size_t sl__add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

double sl__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

sl_view sl_view_f32(const float *data, int64_t n, int64_t d)
{
    sl_view v = {data, n, d, SL_F32, d * (int64_t)sizeof(float), (int64_t)sizeof(float), 0};
    return v;
}

double sl_error_bound(int64_t d)
{
    /* docs/ACCURACY.md: (2d + 8) units of float32 rounding, the worst case
     * of the least accurate fp32 kernel (c0's three running sums). */
    return (2.0 * (double)(d > 0 ? d : 1) + 8.0) * ldexp(1.0, -24);
}

const char *sl_status_name(sl_status s)
{
    switch (s) {
    case SL_OK: return "ok";
    case SL_EINVAL: return "invalid argument";
    case SL_EVALUE: return "NaN or Inf in input";
    case SL_ENOMEM: return "out of memory";
    case SL_ELIMIT: return "memory limit exceeded";
    case SL_EKERNEL: return "kernel unavailable";
    case SL_ECANCELLED: return "cancelled";
    case SL_EINTERNAL: return "internal error";
    }
    return "unknown status";
}
