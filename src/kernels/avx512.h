/*
 * The AVX-512 intrinsics, native or (test builds, tests/emu/) emulated on
 * AVX2 by SIMDe: the kernel files include this instead of immintrin.h.
 */
#ifndef SL_AVX512_H
#define SL_AVX512_H
#if defined(SL_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#else
#include <immintrin.h>
#endif
#endif
