/*
 * The registry: every kernel, the features it needs, and how the job layer
 * drives it. The reference kernel is first and needs nothing. Rank orders
 * the automatic choice: the fastest rung the CPU can run wins.
 */
#include <stdio.h>
#include <string.h>

#include "dispatch.h"

#define AVX2 (SL_CPU_AVX2 | SL_CPU_FMA)
#if defined(SL_AVX512_EMULATED)
/* The test-only build of tests/emu/: the AVX-512 kernels are compiled
 * against SIMDe, which emulates them with AVX2, so AVX2 is all they need. */
#define AVX512 AVX2
#define AVX512BF16 AVX2
#define AVX512VNNI AVX2
#define AMXBF16 AVX2
#define AMXINT8 AVX2
#else
#define AVX512 (SL_CPU_AVX512_SET | SL_CPU_FMA)
#define AVX512BF16 (AVX512 | SL_CPU_AVX512BF16)
#define AVX512VNNI (AVX512 | SL_CPU_AVX512VNNI)
#define AMXBF16 (AVX512 | SL_CPU_AMXBF16)
#define AMXINT8 (AVX512 | SL_CPU_AMXINT8)
#endif

/* The pair-at-a-time rungs take row strips: few rows against many columns,
 * so that they get no cache blocking they did not earn (that is c4's idea). */
#define STRIP 16, 4096
/* The blocked rungs: 192 rows (SL_C4_MC, a multiple of every MR and of the
 * panel) by 256 columns, so that the tile (192 KiB) and a depth chunk of the
 * packed rows share L2; the AVX-512 fp32 kernel takes 448 rows (SL_C4W_MC)
 * with a shorter depth chunk, and its own scratch. See src/kernels/blocked.h. */
#define BLOCK SL_C4_MC, SL_C4_NC
#define BLOCK_W SL_C4W_MC, SL_C4_NC
/* fp32 kernels re-score nothing and do their own matrix jobs. */
#define FP32 NULL, NULL

const sl_kernel sl__kernels[] = {
    {"ref", "ref", "float64 oracle, per pair, from the definition", 0, SL_IN_RAW, 0, 0, 0, STRIP,
     sl_ref_tile, NULL, FP32},
    {"c0", "c0", "naive C: norms recomputed for every pair, full square", 0, SL_IN_RAW, 0, 0, 1,
     STRIP, sl_c0_tile, NULL, FP32},
    {"c1", "c1", "norms once, each pair once (symmetry)", 0, SL_IN_NORMS, 1, 0, 2, STRIP,
     sl_c1_tile, NULL, FP32},
#if defined(__x86_64__)
    {"c2-sse2", "c2", "unit rows, restrict, compiler-vectorised (baseline x86-64)", SL_CPU_SSE2,
     SL_IN_UNIT, 1, 0, 3, STRIP, sl_c2_tile_sse2, NULL, FP32},
    {"c2-avx2", "c2", "unit rows, restrict, compiler-vectorised (built for AVX2+FMA)", AVX2,
     SL_IN_UNIT, 1, 0, 4, STRIP, sl_c2_tile_avx2, NULL, FP32},
    {"c3-avx2", "c3", "explicit AVX2 dot, 4 accumulators, one pair at a time", AVX2, SL_IN_UNIT, 1,
     0, 5, STRIP, sl_c3_tile_avx2, NULL, FP32},
    {"c3-avx512", "c3", "explicit AVX-512 dot, 4 accumulators, one pair at a time", AVX512,
     SL_IN_UNIT, 1, 0, 6, STRIP, sl_c3_tile_avx512, NULL, FP32},
#endif
    {"c4-portable", "c4", "packed panels, 2x16 register tile in plain C, cache blocking", 0,
     SL_IN_PANELS, 1, 0, 7, BLOCK, sl_c4_tile_portable, sl_c4_scratch, FP32},
#if defined(__x86_64__)
    {"c4-avx2", "c4", "packed panels, 6x16 AVX2 register tile, cache blocking", AVX2, SL_IN_PANELS,
     1, 0, 8, BLOCK, sl_c4_tile_avx2, sl_c4_scratch, FP32},
    {"c4-avx512", "c4", "packed panels, 14x32 AVX-512 register tile, cache blocking", AVX512,
     SL_IN_PANELS, 1, 0, 9, BLOCK_W, sl_c4_tile_avx512, sl_c4w_scratch, FP32},
#endif
    {"c5-portable", "c5", "c4-portable on every core, tiles balanced over the triangle", 0,
     SL_IN_PANELS, 1, 1, 10, BLOCK, sl_c4_tile_portable, sl_c4_scratch, FP32},
#if defined(__x86_64__)
    {"c5-avx2", "c5", "c4-avx2 on every core, tiles balanced over the triangle", AVX2, SL_IN_PANELS,
     1, 1, 11, BLOCK, sl_c4_tile_avx2, sl_c4_scratch, FP32},
    {"c5-avx512", "c5", "c4-avx512 on every core, tiles balanced over the triangle", AVX512,
     SL_IN_PANELS, 1, 1, 12, BLOCK_W, sl_c4_tile_avx512, sl_c4w_scratch, FP32},
    /* The reduced-precision rungs: threaded like c5; candidates within the
     * proven bound are re-scored in fp32 (docs/ACCURACY.md). */
    {"c6-avx512", "c6", "bf16 panels, 12x32 vdpbf16ps tile, fp32 re-score of bounded candidates",
     AVX512BF16, SL_IN_BF16, 1, 1, 13, BLOCK, sl_c6_tile_avx512, sl_c4_scratch, sl_dot_f32_avx512,
     "c5-avx512"},
#if defined(SL_C7B_BITS) /* a build variant: the byte kernel in c7-avx2's place (perf/) */
    {"c7-avx2", "c7", "int7/int8 panels, 4x16 vpmaddubsw tile, fp32 re-score of bounded candidates",
     AVX2, SL_C7B_BITS == 8 ? SL_IN_INT8 : SL_IN_INT7, 1, 1, 14, BLOCK, sl_c7b_tile_avx2,
     sl_c4_scratch, sl_dot_f32_avx2, "c5-avx2"},
#else
    {"c7-avx2", "c7", "int16 panels, 6x16 vpmaddwd tile, fp32 re-score of bounded candidates", AVX2,
     SL_IN_INT16, 1, 1, 14, BLOCK, sl_c7_tile_avx2, sl_c4_scratch, sl_dot_f32_avx2, "c5-avx2"},
#endif
#if defined(SL_C7V_I16) && SL_C7V_I16 /* a build variant: int16 words, vpdpwssd (perf/) */
    {"c7-avx512", "c7", "int16 panels, 12x32 vpdpwssd tile, fp32 re-score of bounded candidates",
     AVX512VNNI, SL_IN_INT16, 1, 1, 15, BLOCK, sl_c7_tile_avx512, sl_c4_scratch, sl_dot_f32_avx512,
     "c5-avx512"},
#else
    {"c7-avx512", "c7", "int8 panels, 12x32 vpdpbusd tile, fp32 re-score of bounded candidates",
     AVX512VNNI, SL_IN_INT8, 1, 1, 15, BLOCK, sl_c7_tile_avx512, sl_c4_scratch, sl_dot_f32_avx512,
     "c5-avx512"},
#endif
    {"c6-amx", "c6",
     "bf16 panels, 32x32 AMX tiles (tdpbf16ps), fp32 re-score of bounded candidates", AMXBF16,
     SL_IN_BF16, 1, 1, 16, BLOCK, sl_c6_tile_amx, sl_c4_scratch, sl_dot_f32_avx512, "c5-avx512"},
    {"c7-amx", "c7", "int8 panels, 32x32 AMX tiles (tdpbssd), fp32 re-score of bounded candidates",
     AMXINT8, SL_IN_INT8, 1, 1, 17, BLOCK, sl_c7_tile_amx, sl_c4_scratch, sl_dot_f32_avx512,
     "c5-avx512"},
#endif
};
const int sl__nkernels = (int)(sizeof sl__kernels / sizeof sl__kernels[0]);

int sl_kernel_count(void)
{
    return sl__nkernels;
}

sl_status sl_kernel_get(int i, const char *isa, sl_kernel_info *info)
{
    unsigned f;
    if (i < 0 || i >= sl__nkernels || !info)
        return SL_EINVAL;
    if (sl__cpu_usable(isa, &f, NULL) != SL_OK)
        return SL_EINVAL;
    const sl_kernel *k = &sl__kernels[i];
    info->name = k->name;
    info->rung = k->rung;
    info->about = k->about;
    info->needs = k->needs;
    info->usable = (k->needs & f) == k->needs;
    return SL_OK;
}

static const sl_kernel *best(const char *rung, unsigned f)
{
    const sl_kernel *b = NULL;
    for (int i = 0; i < sl__nkernels; i++) {
        const sl_kernel *k = &sl__kernels[i];
        if ((k->needs & f) != k->needs)
            continue;
        if (rung ? strcmp(k->rung, rung) != 0 : k->rank == 0)
            continue;
        /* Plain auto is fp32; whether a reduced-precision rung pays off
         * depends on the data, which the job layer judges (job.c). */
        if (!rung && SL_IN_LOWP(k->input))
            continue;
        if (!b || k->rank > b->rank)
            b = k;
    }
    return b;
}

const char *sl_kernel_auto(const char *isa)
{
    unsigned f;
    if (sl__cpu_usable(isa, &f, NULL) != SL_OK)
        return NULL;
    const sl_kernel *k = best(NULL, f);
    return k ? k->name : NULL;
}

sl_status sl__kernel_resolve(const char *name, const char *isa, const sl_kernel **out,
                             sl_error *err)
{
    sl_error ignored; /* a caller that only asks whether it resolves passes no err */
    if (!err)
        err = &ignored;
    unsigned f;
    sl_status st = sl__cpu_usable(isa, &f, err);
    if (st != SL_OK)
        return st;
    if (!name || !*name || !strcmp(name, "auto")) {
        *out = best(NULL, f);
        return SL_OK; /* c0 needs nothing, so auto always finds one */
    }
    const sl_kernel *named = NULL;
    int is_rung = 0;
    for (int i = 0; i < sl__nkernels; i++) {
        if (!strcmp(sl__kernels[i].name, name))
            named = &sl__kernels[i];
        if (!strcmp(sl__kernels[i].rung, name))
            is_rung = 1;
    }
    if (named && (named->needs & f) == named->needs) {
        *out = named;
        return SL_OK;
    }
    if (!named && is_rung) {
        const sl_kernel *k = best(name, f);
        if (k) {
            *out = k;
            return SL_OK;
        }
    }
    err->code = SL_EKERNEL;
    if (!named && !is_rung) {
        char list[256] = "";
        size_t used = 0;
        for (int i = 0; i < sl__nkernels && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     sl__kernels[i].name);
        snprintf(err->message, sizeof err->message, "unknown kernel '%.40s' (known: auto, %.180s)",
                 name, list);
    } else {
        /* Name the features the first matching variant lacks. */
        const sl_kernel *k = named;
        for (int i = 0; !k && i < sl__nkernels; i++)
            if (!strcmp(sl__kernels[i].rung, name))
                k = &sl__kernels[i];
        char need[128], have[160];
        sl_cpu_names(k->needs & ~f, need, sizeof need);
        sl_cpu_names(f, have, sizeof have);
        snprintf(err->message, sizeof err->message,
                 "kernel '%.30s' needs %.60s, which this CPU (as capped) lacks; usable: %.90s",
                 name, need, have);
    }
    return SL_EKERNEL;
}
