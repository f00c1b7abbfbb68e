/* c7_int8_avx512.c compiled against SIMDe: the VNNI logic, run on AVX2. */
#define SL_SIMDE 1
#include "../../src/kernels/c7_int8_avx512.c"
