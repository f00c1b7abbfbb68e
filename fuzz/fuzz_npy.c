#define _POSIX_C_SOURCE 200809L
/* libFuzzer harness for the .npy parser (and fuzz_replay's npy entry). */
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_array a;
    char msg[SL_MSG] = "";
    if (sl_npy_parse(data, size, &a, msg) != 0) {
        check_msg(msg);
        return 0;
    }
    if (a.data_offset + a.data_bytes != size)
        abort(); /* trailing bytes are an error, so the data must end the buffer */
    volatile unsigned sink = walk_view(&a.view);
    (void)sink;
    return 0;
}
