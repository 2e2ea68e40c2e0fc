#ifndef AK_CPU_H
#define AK_CPU_H

// Run-time SIMD dispatch: the one idiom every kernel family uses.
//
// A kernel family (GEMM micro-kernel, few-row GEMM, attention forward, attention backward,
// training rows) has one implementation per level, gathered in an ops table or a switch keyed by
// `ak_simd_level`. Entry points take the level they should run at (`int level`, one of the
// values below); they first pass it through `ak_simd_clamp`, so asking for a level the CPU lacks
// runs the best one below it. Callers that have no reason to choose pass `ak_simd_level()`, the
// process-wide level (chosen once, cached); tests pass each available level in turn.

/// SIMD levels, ordered from least to most capable within an architecture.
enum {
    /// Plain C (the compiler may still vectorise it for the baseline ISA: SSE2 / NEON).
    AK_SIMD_PORTABLE = 0,
    /// arm64 NEON (architectural, always present there).
    AK_SIMD_NEON = 1,
    /// x86-64 AVX2 + FMA (8-wide Float32).
    AK_SIMD_AVX2 = 2,
    /// x86-64 AVX-512 F/BW/DQ/VL (16-wide Float32, opmask registers), with the OS saving the
    /// ZMM and opmask state (XCR0 bits 1, 2, 5, 6, 7).
    AK_SIMD_AVX512 = 3,
};

/// 1 when this CPU (and OS) can run kernels of `level`, else 0. Portable is always available.
int ak_simd_available(int level);

/// The best level the CPU and OS support, ignoring the environment.
int ak_simd_detected(void);

/// `level` when available, else the best available level below it (portable at worst).
int ak_simd_clamp(int level);

/// The process-wide level, decided once and cached: `ATTEND_SIMD=portable|neon|avx2|avx512`
/// when set to one of those (clamped to what the CPU has); else `portable` when
/// `ATTEND_NO_SIMD` is set to anything but "" or "0" (the older switch); else
/// `ak_simd_detected()`.
int ak_simd_level(void);

/// "portable", "neon", "avx2+fma" or "avx512" for a level (an unknown value reads "portable").
const char *ak_simd_level_name(int level);

/// The name of the process-wide level, `ak_simd_level_name(ak_simd_level())`.
const char *ak_cpu_simd_name(void);

#endif
