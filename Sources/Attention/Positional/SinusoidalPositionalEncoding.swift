#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The fixed sinusoidal position encoding of "Attention Is All You Need" (Vaswani et al. 2017):
///
///     PE[pos, 2i]     = sin(pos / base^(2i/d))
///     PE[pos, 2i + 1] = cos(pos / base^(2i/d)),     base = 10 000
///
/// added to the token embeddings. Each pair of columns is a rotation at its own frequency, so
/// `PE[pos + k]` is a fixed linear function of `PE[pos]`, which lets attention learn relative
/// offsets. Values are computed in Double and rounded once; an odd `d` ends with a sine column.
public struct SinusoidalPositionalEncoding: Sendable, Equatable {
    /// `d`, the embedding width.
    public let size: Int
    /// The wavelength base (10 000 in the paper).
    public let base: Double

    public init(size: Int, base: Double = 10_000) {
        checkPrecondition(size > 0, "SinusoidalPositionalEncoding: size must be positive, got \(size)")
        self.size = size; self.base = base
    }

    /// The encodings of `positions`, `[positions.count, size]`.
    public func encodings(positions: Range<Int>) -> Tensor {
        checkPrecondition(positions.lowerBound >= 0, "SinusoidalPositionalEncoding: positions \(positions) must be ≥ 0")
        let d = size
        return Tensor(uninitializedShape: [positions.count, d]) { out in
            for (row, p) in positions.enumerated() {
                for column in 0..<d {
                    let i = column / 2
                    let angle = Double(p) / pow(base, Double(2 * i) / Double(d))
                    out[row * d + column] = Float(column % 2 == 0 ? sin(angle) : cos(angle))
                }
            }
        }
    }

    /// `x + PE`: `x` is `[B, L, size]` or `[L, size]`; row `l` is at position `startPosition + l`.
    public func callAsFunction(_ x: Tensor, startPosition: Int = 0) -> Tensor {
        checkPrecondition((x.rank == 2 || x.rank == 3) && x.shape[x.rank - 1] == size,
            "SinusoidalPositionalEncoding: input shape \(x.shape) must be [B, L, \(size)] or [L, \(size)]")
        let length = x.shape[x.rank - 2]
        return x + encodings(positions: startPosition..<(startPosition + length))
    }
}
