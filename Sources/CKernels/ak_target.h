// Per-function target attributes for the SIMD kernels: the package needs no compiler flags
// (no unsafeFlags), each fast function says which instructions it may use, and the dispatch in
// ak_cpu.h calls it only when the CPU and OS support them. One definition for every file.
#ifndef AK_TARGET_H
#define AK_TARGET_H

#define AK_AVX2 __attribute__((target("avx2,fma")))
#define AK_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define AK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define AK_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
// NEON is architectural on arm64: no target attribute, only the forced inlining of the blocks.
#define AK_NEON_INLINE static inline __attribute__((always_inline))

// Loops over a register block (bounds are compile-time constants after inlining) must be fully
// unrolled, or the accumulators live in memory.
#if defined(__clang__)
#define AK_UNROLL _Pragma("clang loop unroll(full)")
#else
#define AK_UNROLL _Pragma("GCC unroll 32")
#endif

#endif
