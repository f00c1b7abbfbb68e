/* c3_avx512.c compiled against SIMDe: the AVX-512 logic, run on AVX2. */
#define SL_SIMDE 1
#include "../../src/kernels/c3_avx512.c"
