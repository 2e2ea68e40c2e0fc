#include "ak_cpu.h"
#include <stdlib.h>
#include <string.h>

static int forced_portable(void) {
    const char *v = getenv("ATTEND_NO_SIMD");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

int ak_cpu_has_simd(void) {
    static int cached = -1;
    if (cached >= 0) return cached;
    int has = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#elif defined(__aarch64__)
    has = 1; /* NEON is architectural on arm64 */
#endif
    if (forced_portable()) has = 0;
    cached = has;
    return has;
}

const char *ak_cpu_simd_name(void) {
    if (!ak_cpu_has_simd()) return "portable";
#if defined(__aarch64__)
    return "neon";
#else
    return "avx2+fma";
#endif
}
