/* c2 built for AVX2 + FMA: the same source, other flags. */
#define SL_C2_NAME sl_c2_tile_avx2
#include "c2_auto.c"
