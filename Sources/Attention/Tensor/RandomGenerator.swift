/// A small, fast, seedable pseudo-random generator (xoshiro256**, seeded by SplitMix64).
///
/// The same seed gives the same sequence on every platform, so initialisation, dropout,
/// data sampling and text generation are reproducible. The full state is exposed as
/// `state` so that training checkpoints can save and restore it exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    /// The four 64-bit words of generator state.
    public var state: (UInt64, UInt64, UInt64, UInt64) {
        get { (s0, s1, s2, s3) }
        set { (s0, s1, s2, s3) = newValue }
    }
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Whether this is ``placeholder``: `Tensor.randomNormal` and `Tensor.randomUniform` drawn
    /// from it are constant (the mean; the low end) and sample nothing.
    package private(set) var isPlaceholder = false

    /// A generator for building a model whose parameters are overwritten right after (a
    /// checkpoint loader): its "random" weights cost no sampling. Building the bundled
    /// TinyLLM with real draws (1.9 M Box–Muller samples) was ~60% of `attend generate`'s
    /// start-up. Its own `next()` sequence is that of seed 0.
    package static var placeholder: SeededGenerator {
        var generator = SeededGenerator(seed: 0)
        generator.isPlaceholder = true
        return generator
    }

    /// Creates a generator from a seed; equal seeds give equal sequences.
    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool {
        a.s0 == b.s0 && a.s1 == b.s1 && a.s2 == b.s2 && a.s3 == b.s3
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform `Float` in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample (Box–Muller on two uniforms; one of the pair is used).
    public mutating func nextNormal() -> Float {
        var u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }
}

@usableFromInline func _log(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.log(x)
    #elseif canImport(Musl)
    return Musl.log(x)
    #else
    return Darwin.log(x)
    #endif
}
@usableFromInline func _cos(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.cos(x)
    #elseif canImport(Musl)
    return Musl.cos(x)
    #else
    return Darwin.cos(x)
    #endif
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// Samples `N(mean, std²)` elementwise from a seeded generator.
    public static func randomNormal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, generator: inout SeededGenerator
    ) -> Tensor {
        if generator.isPlaceholder { return Tensor(repeating: mean, shape: shape) }
        return Tensor(uninitializedShape: shape) { buffer in
            for i in buffer.indices { buffer[i] = mean + standardDeviation * generator.nextNormal() }
        }
    }

    /// Samples `N(mean, std²)` elementwise from a fresh generator with the given seed.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return randomNormal(shape, mean: mean, standardDeviation: standardDeviation, generator: &generator)
    }

    /// Samples `U[low, high)` elementwise from a seeded generator.
    public static func randomUniform(
        _ shape: [Int], low: Float = 0, high: Float = 1, generator: inout SeededGenerator
    ) -> Tensor {
        if generator.isPlaceholder { return Tensor(repeating: low, shape: shape) }
        return Tensor(uninitializedShape: shape) { buffer in
            for i in buffer.indices { buffer[i] = low + (high - low) * generator.nextUnitFloat() }
        }
    }

    /// Samples `U[low, high)` elementwise from a fresh generator with the given seed.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return randomUniform(shape, low: low, high: high, generator: &generator)
    }
}
