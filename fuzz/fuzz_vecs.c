#define _POSIX_C_SOURCE 200809L
/* libFuzzer harness for the TEXMEX parsers: every input is tried as .fvecs,
 * .bvecs and .ivecs, and whatever parses is viewed and converted. */
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int k = SL_FVECS; k <= SL_IVECS; k++) {
        sl_vecs v;
        char msg[SL_MSG] = "";
        if (sl_vecs_parse(data, size, (sl_vecs_kind)k, &v, msg) != 0) {
            check_msg(msg);
            continue;
        }
        if ((size_t)v.n * v.record != size || v.d < 1)
            abort();
        sl_view view;
        if (k == SL_FVECS) {
            if (sl_vecs_view(&v, &view, msg) != 0)
                abort();
            volatile unsigned sink = walk_view(&view);
            (void)sink;
        } else if (sl_vecs_view(&v, &view, msg) == 0) {
            abort(); /* only fvecs has a zero-copy view */
        }
        for (int to = SL_F32; to <= SL_F64; to++) {
            void *out = NULL;
            if (sl_vecs_convert(&v, (sl_dtype)to, &out, msg) != 0) {
                check_msg(msg);
                continue;
            }
            volatile unsigned char sink = ((unsigned char *)out)[0];
            (void)sink;
            free(out);
        }
    }
    return 0;
}
