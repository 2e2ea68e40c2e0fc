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
// FEAT_BF16 (BFDOT, BFMMLA, BFCVT; optional from Armv8.2, required from Armv8.6), detected at
// run time. One spelling both compilers accept: clang adds the features to whatever the command
// line enables; gcc takes the architecture its arm_neon.h declares the BF16 intrinsics for,
// which needs the baseline armv8-a (its default) to be raised, and "+bf16" when the command line
// already chose Armv8.1 or later (__ARM_FEATURE_ATOMICS; exactly armv8.1-a satisfies neither).
#if defined(__clang__) || !defined(__ARM_FEATURE_ATOMICS)
#define AK_NEON_BF16_TARGET "arch=armv8.2-a+bf16"
#else
#define AK_NEON_BF16_TARGET "+bf16"
#endif
#define AK_NEON_BF16 __attribute__((target(AK_NEON_BF16_TARGET)))
#define AK_NEON_BF16_INLINE static inline __attribute__((always_inline, target(AK_NEON_BF16_TARGET)))

// Loops over a register block (bounds are compile-time constants after inlining) must be fully
// unrolled, or the accumulators live in memory.
#if defined(__clang__)
#define AK_UNROLL _Pragma("clang loop unroll(full)")
#else
#define AK_UNROLL _Pragma("GCC unroll 32")
#endif

#endif
