// CPU feature detection and the process-wide SIMD level (see include/ak_cpu.h).
#include "ak_cpu.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

/// XCR0 (the state the OS saves on context switches), read with XGETBV; 0 when the OS has not
/// enabled XSAVE (OSXSAVE, CPUID.1:ECX bit 27), in which case no AVX state may be used at all.
static unsigned long long read_xcr0(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static int detect_x86(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return AK_SIMD_PORTABLE;
    const int fma = (c >> 12) & 1, avx = (c >> 28) & 1;
    if (__get_cpuid_max(0, 0) < 7) return AK_SIMD_PORTABLE;
    unsigned a7, b7, c7, d7;
    __cpuid_count(7, 0, a7, b7, c7, d7);
    const unsigned long long xcr0 = read_xcr0();
    // XMM (bit 1) and YMM (bit 2) state for AVX2; plus opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7).
    const int os_ymm = (xcr0 & 0x6) == 0x6, os_zmm = (xcr0 & 0xE6) == 0xE6;
    const int avx2 = (b7 >> 5) & 1;
    const int avx512f = (b7 >> 16) & 1, avx512dq = (b7 >> 17) & 1;
    const int avx512bw = (b7 >> 30) & 1, avx512vl = (b7 >> 31) & 1;
    if (!(avx && avx2 && fma && os_ymm)) return AK_SIMD_PORTABLE;
    if (avx512f && avx512dq && avx512bw && avx512vl && os_zmm) return AK_SIMD_AVX512;
    return AK_SIMD_AVX2;
}
#endif

int ak_simd_detected(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v >= 0) return v;
#if defined(__x86_64__)
    v = detect_x86();
#elif defined(__aarch64__)
    v = AK_SIMD_NEON; /* NEON is architectural on arm64 */
#else
    v = AK_SIMD_PORTABLE;
#endif
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}

int ak_simd_available(int level) {
    const int best = ak_simd_detected();
    switch (level) {
    case AK_SIMD_PORTABLE: return 1;
    case AK_SIMD_NEON: return best == AK_SIMD_NEON;
    case AK_SIMD_AVX2: return best == AK_SIMD_AVX2 || best == AK_SIMD_AVX512;
    case AK_SIMD_AVX512: return best == AK_SIMD_AVX512;
    default: return 0;
    }
}

int ak_simd_clamp(int level) {
    if (level > AK_SIMD_AVX512) level = AK_SIMD_AVX512;
    for (int l = level; l > AK_SIMD_PORTABLE; --l)
        if (ak_simd_available(l)) return l;
    return AK_SIMD_PORTABLE;
}

static int truthy(const char *v) { return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0; }

static int requested_level(void) {
    const char *v = getenv("ATTEND_SIMD");
    if (v != NULL && v[0] != '\0') {
        if (strcmp(v, "portable") == 0 || strcmp(v, "none") == 0) return AK_SIMD_PORTABLE;
        if (strcmp(v, "neon") == 0) return AK_SIMD_NEON;
        if (strcmp(v, "avx2") == 0 || strcmp(v, "avx2+fma") == 0) return AK_SIMD_AVX2;
        if (strcmp(v, "avx512") == 0) return AK_SIMD_AVX512;
        // Anything else (a typo, "auto"): the detected level.
    }
    if (truthy(getenv("ATTEND_NO_SIMD"))) return AK_SIMD_PORTABLE;
    return ak_simd_detected();
}

int ak_simd_level(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v >= 0) return v;
    v = ak_simd_clamp(requested_level());
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}

const char *ak_simd_level_name(int level) {
    switch (level) {
    case AK_SIMD_NEON: return "neon";
    case AK_SIMD_AVX2: return "avx2+fma";
    case AK_SIMD_AVX512: return "avx512";
    default: return "portable";
    }
}

const char *ak_cpu_simd_name(void) { return ak_simd_level_name(ak_simd_level()); }

// ---- threads ----------------------------------------------------------------------------------
#include "ak_atomic.h"
#include <sched.h>

void ak_thread_yield(void) { sched_yield(); }

// One counter per thread (C11 thread storage): read on every parallelFor, so it must be cheap.
static _Thread_local int serial_depth;

void ak_serial_enter(void) { ++serial_depth; }
void ak_serial_leave(void) { --serial_depth; }
int ak_serial_active(void) { return serial_depth > 0; }
