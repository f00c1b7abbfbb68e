/*
 * Pairs as text for tools that do not read NumPy files. printf's %.9g is
 * enough digits to read back the exact float32 (FLT_DECIMAL_DIG is 9).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "io.h"

static int text_pairs(sl_out *o, const char *head, const char *fmt, const int64_t *i,
                      const int64_t *j, const float *s, int64_t count, char *msg)
{
    /* A large buffer: millions of short lines otherwise cost a syscall each
     * when the output is a pipe or a terminal. */
    if (o->f != stdout)
        setvbuf(o->f, NULL, _IOFBF, 1 << 16);
    errno = 0;
    int bad = head && fputs(head, o->f) < 0;
    for (int64_t r = 0; r < count && !bad; r++)
        bad = fprintf(o->f, fmt, (long long)i[r], (long long)j[r], (double)s[r]) < 0;
    if (bad || ferror(o->f)) {
        snprintf(msg, SL_MSG, "write failed: %s", strerror(errno ? errno : EIO));
        return 1;
    }
    return 0;
}

int sl_pairs_write_csv(sl_out *o, const int64_t *i, const int64_t *j, const float *s, int64_t count,
                       char *msg)
{
    return text_pairs(o, "i,j,similarity\n", "%lld,%lld,%.9g\n", i, j, s, count, msg);
}

int sl_pairs_write_jsonl(sl_out *o, const int64_t *i, const int64_t *j, const float *s,
                         int64_t count, char *msg)
{
    return text_pairs(o, NULL, "{\"i\":%lld,\"j\":%lld,\"similarity\":%.9g}\n", i, j, s, count,
                      msg);
}
