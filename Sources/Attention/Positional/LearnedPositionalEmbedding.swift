/// A learned absolute position embedding (GPT-2's `wpe`, BERT's `position_embeddings`): row
/// `p` of `weight` `[maximumLength, size]` is added to the token at position `p`.
///
/// Unlike the sinusoidal encoding it cannot extrapolate: positions `≥ maximumLength` have no
/// row, so a decoder that outgrows its context must slide the window and recompute.
///
/// Checkpoint name: `weight`.
public struct LearnedPositionalEmbedding: ParameterContainer, Sendable {
    /// `[maximumLength, size]`.
    public var weight: Tensor

    public var maximumLength: Int { weight.shape[0] }
    public var size: Int { weight.shape[1] }

    /// `N(0, std²)` rows (GPT-2 uses 0.01–0.02).
    public init(maximumLength: Int, size: Int, standardDeviation: Float = 0.02, generator: inout SeededGenerator) {
        checkPrecondition(maximumLength > 0 && size > 0,
            "LearnedPositionalEmbedding: maximumLength \(maximumLength) and size \(size) must be positive")
        self.weight = .randomNormal([maximumLength, size], standardDeviation: standardDeviation, generator: &generator)
    }

    /// Wraps a loaded table.
    public init(weight: Tensor) {
        checkPrecondition(weight.rank == 2, "LearnedPositionalEmbedding: weight must be [maximumLength, size], got shape \(weight.shape)")
        self.weight = weight
    }

    /// Rows `positions` of the table, `[positions.count, size]`.
    public func embeddings(positions: Range<Int>) -> Tensor {
        checkPrecondition(positions.lowerBound >= 0 && positions.upperBound <= maximumLength,
            "LearnedPositionalEmbedding: positions \(positions) outside 0..<\(maximumLength) (weight \(weight.shape))")
        return weight.sliced(axis: 0, positions)
    }

    /// `x + weight[startPosition ..< startPosition + L]`: `x` is `[B, L, size]` or `[L, size]`.
    public func callAsFunction(_ x: Tensor, startPosition: Int = 0) -> Tensor {
        checkPrecondition((x.rank == 2 || x.rank == 3) && x.shape[x.rank - 1] == size,
            "LearnedPositionalEmbedding: input shape \(x.shape) must be [B, L, \(size)] or [L, \(size)]")
        let length = x.shape[x.rank - 2]
        return x + embeddings(positions: startPosition..<(startPosition + length))
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try body(Self.join(prefix, "weight"), &weight)
    }
}
