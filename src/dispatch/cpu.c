/*
 * CPU feature detection: cpuid for what the core implements and xgetbv for
 * what the operating system saves on a context switch (a CPU with AVX-512 in
 * a guest whose kernel does not enable ZMM state must not use it). Read once
 * under pthread_once, so concurrent first calls are safe.
 */
#define _GNU_SOURCE /* syscall */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "simladder.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* AMX tile data is large (8 KiB), so Linux lets a process use it only after
 * asking (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA, feature 18); the
 * permission covers every thread of the process. Asked once, here. */
static int amx_permitted(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18) == 0;
#else
    return 0;
#endif
}

static unsigned long long xgetbv0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static unsigned detect(void)
{
    unsigned a, b, c, d, f = SL_CPU_SSE2;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return f;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    int fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx)
        return f;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
        return f;
    int zmm = (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
    if (f16c)
        f |= SL_CPU_F16C;
    if (fma)
        f |= SL_CPU_FMA;
    unsigned max = __get_cpuid_max(0, NULL);
    if (max < 7)
        return f;
    __cpuid_count(7, 0, a, b, c, d);
    if ((b >> 5) & 1)
        f |= SL_CPU_AVX2;
    if (zmm) {
        if ((b >> 16) & 1)
            f |= SL_CPU_AVX512F;
        if ((b >> 17) & 1)
            f |= SL_CPU_AVX512DQ;
        if ((b >> 30) & 1)
            f |= SL_CPU_AVX512BW;
        if ((b >> 31) & 1)
            f |= SL_CPU_AVX512VL;
        if ((c >> 11) & 1)
            f |= SL_CPU_AVX512VNNI;
    }
    unsigned sub1 = a; /* leaf 7 subleaf 0 EAX: highest subleaf */
    /* AMX: tile support, the OS saving tile state (XCR0 bits 17, 18), the
     * process's permission, and AVX-512, which the kernels finish with. */
    int amx_tile = (d >> 24) & 1, amx_int8 = (d >> 25) & 1, amx_bf16 = (d >> 22) & 1;
    if (amx_tile && zmm && (xcr0 & 0x60000) == 0x60000 && (f & SL_CPU_AVX512F) && amx_permitted()) {
        if (amx_int8)
            f |= SL_CPU_AMXINT8;
        if (amx_bf16)
            f |= SL_CPU_AMXBF16;
    }
    if (sub1 >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        if ((a >> 4) & 1)
            f |= SL_CPU_AVXVNNI;
        if (zmm && ((a >> 5) & 1))
            f |= SL_CPU_AVX512BF16;
    }
    return f;
}
#else
static unsigned detect(void)
{
    return 0;
}
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned detected;

static void init(void)
{
    detected = detect();
}

unsigned sl_cpu_detected(void)
{
    pthread_once(&once, init);
    return detected;
}

#define TIER_AVX2 (SL_CPU_SSE2 | SL_CPU_AVX2 | SL_CPU_FMA | SL_CPU_F16C | SL_CPU_AVXVNNI)

sl_status sl__cpu_usable(const char *isa, unsigned *features, sl_error *err)
{
    unsigned f = sl_cpu_detected();
    const char *src = "isa option";
    if (!isa) {
        isa = getenv("SL_ISA");
        src = "SL_ISA";
    }
    if (!isa || !*isa || !strcmp(isa, "native") || !strcmp(isa, "amx"))
        ; /* no cap: amx is the top tier */
    else if (!strcmp(isa, "avx512"))
        f &= ~(unsigned)(SL_CPU_AMXINT8 | SL_CPU_AMXBF16);
    else if (!strcmp(isa, "avx2"))
        f &= TIER_AVX2;
    else if (!strcmp(isa, "scalar"))
        f &= SL_CPU_SSE2;
    else {
        if (err) {
            err->code = SL_EINVAL;
            snprintf(err->message, sizeof err->message,
                     "%s: unknown ISA tier '%s' (scalar, avx2, avx512, amx)", src, isa);
        }
        return SL_EINVAL;
    }
    *features = f;
    return SL_OK;
}

unsigned sl_cpu_usable(const char *isa)
{
    unsigned f = 0;
    if (sl__cpu_usable(isa, &f, NULL) != SL_OK)
        return 0;
    return f;
}

static const char *const feature_names[] = {
    "sse2",     "avx2",       "fma",        "f16c",    "avx512f",  "avx512bw", "avx512vl",
    "avx512dq", "avx512vnni", "avx512bf16", "avxvnni", "amx-int8", "amx-bf16"};

const char *sl_cpu_names(unsigned features, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = 0;
    for (unsigned i = 0; i < sizeof feature_names / sizeof *feature_names; i++) {
        if (!(features & (1u << i)))
            continue;
        int w = snprintf(buf + used, len > used ? len - used : 0, "%s%s", used ? " " : "",
                         feature_names[i]);
        if (w < 0 || (size_t)w >= (len > used ? len - used : 0))
            break;
        used += (size_t)w;
    }
    return buf;
}
