#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embedding (RoPE, Su et al. 2021), in the GPT-NeoX / Llama "rotate half"
/// layout.
///
/// A head vector `x` of even width `D` is split into halves `x₁ = x[0..<D/2]`,
/// `x₂ = x[D/2..<D]`; pair `i` (`x₁[i]`, `x₂[i]`) at position `p` is rotated by the angle
/// `p·θᵢ` with `θᵢ = base^(−2i/D)`:
///
///     out[i]       = x₁[i]·cos(p·θᵢ) − x₂[i]·sin(p·θᵢ)
///     out[i + D/2] = x₂[i]·cos(p·θᵢ) + x₁[i]·sin(p·θᵢ)
///
/// Applied to queries and keys, the score `rope(q, m)·rope(k, n)` depends on `m − n` only,
/// which is what makes the encoding relative. (The original paper and GPT-J rotate adjacent
/// pairs `(x[2i], x[2i+1])` instead; the two differ by a fixed permutation of the weights.)
///
/// Angles for positions `0..<tableLength` are precomputed in Double and stored as Float;
/// later positions are computed on the fly, so any position works.
public struct RotaryEmbedding: Sendable, Equatable {
    /// `D`, the head width the rotation acts on (even).
    public let headDimension: Int
    /// The frequency base (10 000 in RoFormer, GPT-NeoX, Llama 1/2).
    public let base: Double
    /// Number of precomputed positions.
    public let tableLength: Int
    // [tableLength, D/2] each.
    let cosTable: [Float]
    let sinTable: [Float]

    /// - Precondition: `headDimension` is even and positive.
    public init(headDimension: Int, base: Double = 10_000, tableLength: Int = 2048) {
        checkPrecondition(headDimension > 0 && headDimension % 2 == 0,
            "RotaryEmbedding: headDimension must be even and positive, got \(headDimension)")
        checkPrecondition(tableLength >= 0, "RotaryEmbedding: tableLength must be ≥ 0, got \(tableLength)")
        self.headDimension = headDimension
        self.base = base
        self.tableLength = tableLength
        let half = headDimension / 2
        var c = [Float](repeating: 0, count: tableLength * half)
        var s = c
        for p in 0..<tableLength {
            for i in 0..<half {
                let angle = Double(p) * RotaryEmbedding.frequency(i, headDimension: headDimension, base: base)
                c[p * half + i] = Float(cos(angle))
                s[p * half + i] = Float(sin(angle))
            }
        }
        self.cosTable = c
        self.sinTable = s
    }

    /// `θᵢ = base^(−2i/D)`.
    public static func frequency(_ i: Int, headDimension: Int, base: Double) -> Double {
        pow(base, -2.0 * Double(i) / Double(headDimension))
    }

    /// `x` rotated position by position: `x` is `[..., L, D]` (typically `[B, H, L, D]`);
    /// row `l` along axis −2 is at position `startPosition + l`.
    ///
    /// With `inverse: true` every pair is rotated by `−p·θᵢ` instead, which undoes the
    /// rotation (the transpose of an orthogonal map, as a backward pass needs).
    public func callAsFunction(_ x: Tensor, startPosition: Int = 0, inverse: Bool = false) -> Tensor {
        checkPrecondition(x.rank >= 2 && x.shape[x.rank - 1] == headDimension,
            "RotaryEmbedding: input shape \(x.shape) must be [..., L, \(headDimension)] (headDimension \(headDimension))")
        checkPrecondition(startPosition >= 0, "RotaryEmbedding: startPosition must be ≥ 0, got \(startPosition)")
        let d = headDimension, half = d / 2
        let length = x.shape[x.rank - 2]
        let outer = length == 0 ? 0 : x.count / (length * d)
        let sign: Float = inverse ? -1 : 1
        // Per-position cos/sin for this call, [L, D/2]: from the table, or computed past its end.
        var cosines = [Float](repeating: 0, count: length * half)
        var sines = cosines
        for l in 0..<length {
            let p = startPosition + l
            for i in 0..<half {
                if p < tableLength {
                    cosines[l * half + i] = cosTable[p * half + i]
                    sines[l * half + i] = sinTable[p * half + i]
                } else {
                    let angle = Double(p) * RotaryEmbedding.frequency(i, headDimension: d, base: base)
                    cosines[l * half + i] = Float(cos(angle))
                    sines[l * half + i] = Float(sin(angle))
                }
            }
        }
        return Tensor(uninitializedShape: x.shape) { out in
            x.withUnsafeBufferPointer { src in
                for o in 0..<outer {
                    for l in 0..<length {
                        let row = (o * length + l) * d
                        for i in 0..<half {
                            let c = cosines[l * half + i], s = sign * sines[l * half + i]
                            let x1 = src[row + i], x2 = src[row + half + i]
                            out[row + i] = x1 * c - x2 * s
                            out[row + half + i] = x2 * c + x1 * s
                        }
                    }
                }
            }
        }
    }
}
