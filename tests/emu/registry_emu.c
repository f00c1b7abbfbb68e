/* The registry with the AVX-512 kernels marked as needing AVX2 only. */
#define SL_AVX512_EMULATED 1
#include "../../src/dispatch/registry.c"
