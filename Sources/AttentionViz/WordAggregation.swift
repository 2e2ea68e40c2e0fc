import Attention

/// Aggregating token-level attention (bytes, word pieces) to words.
///
/// For query word `a` and key word `b`, with `Tₐ` the tokens of word `a`:
///
///     W[a, b] = (1/|Tₐ|) · Σ_{i ∈ Tₐ} Σ_{j ∈ T_b} A[i, j]
///
/// Sum over the key tokens, because attention to a word is the total mass on its pieces; mean
/// over the query tokens, because each query row is already a distribution and the word's row
/// should be one too. Rows sum to 1 minus the mean mass the word's tokens put on tokens
/// with no word; ``WordGrouping/init(bytes:)`` gives every byte a word, so its rows sum to 1.
public enum WordAggregation {
    /// `weights` `[T, T]` → `[W, W]` with `W = grouping.words.count`.
    ///
    /// - Precondition: `weights` is square with side `grouping.wordOfToken.count`.
    public static func aggregate(_ weights: Tensor, grouping: WordGrouping) -> Tensor {
        let t = grouping.wordOfToken.count
        checkPrecondition(weights.shape == [t, t],
            "WordAggregation.aggregate: weights has shape \(weights.shape), grouping has \(t) tokens (want [\(t), \(t)])")
        let w = grouping.words.count
        var sums = [Double](repeating: 0, count: w * w)
        var queryCounts = [Int](repeating: 0, count: w)
        for i in 0..<t {
            guard let a = grouping.wordOfToken[i] else { continue }
            queryCounts[a] += 1
            for j in 0..<t {
                guard let b = grouping.wordOfToken[j] else { continue }
                sums[a * w + b] += Double(weights.scalars[i * t + j])
            }
        }
        var out = [Float](repeating: 0, count: w * w)
        for a in 0..<w where queryCounts[a] > 0 {
            for b in 0..<w { out[a * w + b] = Float(sums[a * w + b] / Double(queryCounts[a])) }
        }
        return Tensor(shape: [w, w], scalars: out)
    }
}
