import CKernels

/// A SIMD level of the C kernels (`ak_simd_level` in `CKernels/include/ak_cpu.h`). Every kernel
/// family (packed and few-row GEMM, fused attention forward and backward, training rows) has one
/// implementation per level; a call asks for a level and runs the best available one at or
/// below it (`ak_simd_clamp`), so asking for AVX-512 on an AVX2 machine runs AVX2.
package enum SIMDLevel: Int32, CaseIterable, Sendable, CustomStringConvertible {
    /// Plain C (vectorised by the compiler for the baseline ISA only).
    case portable = 0
    /// arm64 NEON, 4 floats per vector: the packed and few-row GEMM, the fused attention forward
    /// and backward, and the NEON BF16 kernels (FEAT_BF16's `BFDOT` where the CPU has it). The
    /// training rows run the portable table there, which the compiler vectorises for NEON.
    case neon = 1
    /// x86-64 AVX2 + FMA, 8 floats per vector.
    case avx2 = 2
    /// x86-64 AVX-512 F/BW/DQ/VL, 16 floats per vector (CPUID and OS-enabled ZMM state).
    case avx512 = 3

    /// The process-wide level, decided once: `ATTEND_SIMD=portable|neon|avx2|avx512` when set
    /// (clamped to what the CPU has), `ATTEND_NO_SIMD=1` as a synonym of portable, else the best
    /// level the CPU and OS support.
    package static var current: SIMDLevel { SIMDLevel(rawValue: ak_simd_level()) ?? .portable }

    /// The best level the CPU and OS support, ignoring the environment.
    package static var detected: SIMDLevel { SIMDLevel(rawValue: ak_simd_detected()) ?? .portable }

    /// Whether this machine can run the level's kernels (portable always can).
    package var isAvailable: Bool { ak_simd_available(rawValue) != 0 }

    /// Every level this machine can run, portable first.
    package static var available: [SIMDLevel] { allCases.filter(\.isAvailable) }

    /// "portable", "neon", "avx2+fma" or "avx512".
    package var name: String { String(cString: ak_simd_level_name(rawValue)) }

    package var description: String { name }
}

extension SIMDLevel {
    /// The level a request for `self` runs at: `self` when available, else the best available
    /// level below it (portable at worst).
    package var clamped: SIMDLevel { SIMDLevel(rawValue: ak_simd_clamp(rawValue)) ?? .portable }
}
