/// A lookup table: token id `t` maps to row `t` of `weight` (`[vocabularySize, size]`).
public struct Embedding: ParameterContainer, Sendable {
    public var weight: Tensor

    public var vocabularySize: Int { weight.shape[0] }
    public var size: Int { weight.shape[1] }

    public init(weight: Tensor) {
        checkPrecondition(weight.rank == 2, "Embedding: weight must be [vocabularySize, size], got shape \(weight.shape)")
        self.weight = weight
    }

    /// `N(0, std²)` rows.
    public init(vocabularySize: Int, size: Int, standardDeviation: Float = 0.02, generator: inout SeededGenerator) {
        self.weight = .randomNormal([vocabularySize, size], standardDeviation: standardDeviation, generator: &generator)
    }

    /// Rows for `ids` (any shape `S`, flattened row-major) → `[ids.count, size]`; reshape as needed.
    /// - Precondition: every id is in `0..<vocabularySize`.
    public func callAsFunction(_ ids: [Int]) -> Tensor {
        let (v, d) = (vocabularySize, size)
        return Tensor(uninitializedShape: [ids.count, d]) { out in
            weight.withUnsafeBufferPointer { w in
                for (r, id) in ids.enumerated() {
                    checkPrecondition(id >= 0 && id < v, "Embedding: id \(id) at position \(r) is outside 0..<\(v)")
                    for c in 0..<d { out[r * d + c] = w[id * d + c] }
                }
            }
        }
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try body(Self.join(prefix, "weight"), &weight)
    }
}
