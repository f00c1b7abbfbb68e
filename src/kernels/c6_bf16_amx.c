/* c6 on AMX: c7_int8_amx.c with bf16 tiles (tdpbf16ps), fp32 sums. */
#define SL_AMX_BF16 1
#include "c7_int8_amx.c"
