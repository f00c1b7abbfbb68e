/* Shared by the harnesses: the contract every parser keeps on failure, and
 * a walk over a parsed view that reads each element through its strides,
 * so AddressSanitizer sees any view that reaches past the input. */
#ifndef SL_FUZZ_COMMON_H
#define SL_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "io.h"

/* A failure message is one non-empty line that fits its buffer. */
static void check_msg(const char *msg)
{
    size_t n = strnlen(msg, SL_MSG);
    if (n == 0 || n == SL_MSG || memchr(msg, '\n', n))
        abort();
}

static unsigned walk_view(const sl_view *v)
{
    size_t item = v->dtype == SL_F64 ? 8 : v->dtype == SL_F32 ? 4 : 2;
    const unsigned char *p = v->data;
    unsigned acc = 0;
    if (v->n <= 0 || v->d <= 0)
        abort();
    for (int64_t r = 0; r < v->n; r++)
        for (int64_t c = 0; c < v->d; c++) {
            const unsigned char *e = p + r * v->row_stride + c * v->col_stride;
            acc += e[0] + e[item - 1];
        }
    return acc;
}

#endif
