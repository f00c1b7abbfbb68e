/* c2 built for AVX2 + FMA: the same source, other flags. */
#define SL_C2_NAME sl_c2_tile_avx2
#define SL_C2_NO_DOT
#include "c2_auto.c"
