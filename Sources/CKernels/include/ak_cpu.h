#ifndef AK_CPU_H
#define AK_CPU_H

/// 1 when the running CPU has AVX2 and FMA (x86-64) or NEON (arm64), else 0.
/// Honours the environment variable ATTEND_NO_SIMD=1, which forces the portable path.
int ak_cpu_has_simd(void);

/// A short name of the SIMD path in use: "avx2+fma", "neon" or "portable".
const char *ak_cpu_simd_name(void);

#endif
