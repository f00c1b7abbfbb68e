/* c6_bf16_avx512.c compiled against SIMDe: the bf16 logic, run on AVX2. */
#define SL_SIMDE 1
#include "../../src/kernels/c6_bf16_avx512.c"
