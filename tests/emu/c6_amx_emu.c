/* c6_bf16_amx.c with the tiles emulated in C and AVX-512 through SIMDe. */
#define SL_SIMDE 1
#define SL_AMX_EMULATED 1
#include "../../src/kernels/c6_bf16_amx.c"
