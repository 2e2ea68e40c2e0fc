/// Which keys each query may attend to, and any additive bias on the scores: one value that
/// combines every rule the kernels honour, in any combination.
///
/// Shapes below use `B` batch, `Hq` query heads, `Lq` queries, `Lk` keys. Query `i` of batch
/// row `b` may attend key `j` iff every rule that is set allows it:
///
/// ```
/// causal        j ≤ i + (Lk − Lq)                          (bottom-right aligned)
/// window w      j > i + (Lk − Lq) − w                       (implies causal)
/// key lengths   j < keyLengths[b]                          (padding per batch row)
/// boolean t     t[b, h, i, j] ≠ 0                          (t broadcast to [B, Hq, Lq, Lk])
/// additive t    score(i, j) += t[b, h, i, j]               (−∞ forbids)
/// ```
///
/// The position rules (causal, window, lengths) give each row a contiguous key range
/// (``keyRange(batch:query:queries:keys:)``), which the fused kernels use to skip whole tiles;
/// an element tensor is read in place through broadcast strides, never materialised.
///
/// **Causal alignment.** `.causal` aligns the query block to the *end* of the keys: with
/// `Lq == Lk` this is the usual lower triangle; with `Lq < Lk` (incremental decoding against a
/// KV cache holding earlier tokens) the last query sees every key. This is the bottom-right
/// convention of flash-attn and MLX; PyTorch's `is_causal` aligns top-left (`j ≤ i`), which
/// differs whenever `Lq ≠ Lk`.
///
/// A query row that may attend to no key at all produces a zero output row (never NaN).
///
/// ```swift
/// let mask = AttentionMask.causal.combined(with: .keyPadding([7, 4]))   // a batch of prompts
/// let same = AttentionMask(causal: true, keyLengths: [7, 4])
/// let local = AttentionMask(window: 128, keyLengths: lengths, element: .boolean(allowed))
/// ```
public struct AttentionMask: Sendable {
    /// An element-wise mask tensor, broadcastable to `[B, Hq, Lq, Lk]`.
    public enum Element: Sendable {
        /// Nonzero means "may attend".
        case boolean(Tensor)
        /// Added to the scaled scores (use `-Float.infinity` to forbid a pair).
        case additive(Tensor)

        /// The tensor, whichever kind.
        public var tensor: Tensor {
            switch self {
            case .boolean(let t), .additive(let t): return t
            }
        }
    }

    /// Query `i` attends only keys `j ≤ i + (Lk − Lq)`.
    public var isCausal: Bool
    /// At most this many most recent keys, the query's own position included (implies causal).
    public var window: Int?
    /// One valid length per batch row (`B` entries): keys at index `≥ keyLengths[b]` are ignored.
    public var keyLengths: [Int]?
    /// An element mask, applied on top of the position rules.
    public var element: Element?

    /// A mask with the given rules (a `window` makes it causal).
    public init(causal: Bool = false, window: Int? = nil, keyLengths: [Int]? = nil, element: Element? = nil) {
        self.isCausal = causal || window != nil
        self.window = window
        self.keyLengths = keyLengths
        self.element = element
    }

    /// Every query attends every key.
    public static var none: AttentionMask { AttentionMask() }
    /// Query `i` attends key `j` iff `j ≤ i + (Lk − Lq)` (bottom-right aligned).
    public static var causal: AttentionMask { AttentionMask(causal: true) }
    /// Causal, and at most `window` most recent keys including the query's own position:
    /// `i + (Lk − Lq) − window < j ≤ i + (Lk − Lq)`. `window` must be ≥ 1.
    public static func slidingWindow(_ window: Int) -> AttentionMask { AttentionMask(window: window) }
    /// One valid length per batch row: keys at index `≥ lengths[b]` are ignored.
    public static func keyPadding(_ lengths: [Int]) -> AttentionMask { AttentionMask(keyLengths: lengths) }
    /// A tensor broadcastable to `[B, Hq, Lq, Lk]`; nonzero means "may attend".
    public static func boolean(_ tensor: Tensor) -> AttentionMask { AttentionMask(element: .boolean(tensor)) }
    /// A tensor broadcastable to `[B, Hq, Lq, Lk]` added to the scaled scores.
    public static func additive(_ tensor: Tensor) -> AttentionMask { AttentionMask(element: .additive(tensor)) }

    /// Whether no rule is set.
    public var isNone: Bool { !isCausal && keyLengths == nil && element == nil }

    /// A query sees a key only where both masks allow it: causal if either is, the smaller
    /// window, the smaller length per row, and the one element tensor.
    /// - Precondition: at most one of the two carries an element tensor, and key lengths have
    ///   the same count.
    public func combined(with other: AttentionMask) -> AttentionMask {
        checkPrecondition(element == nil || other.element == nil,
            "AttentionMask.combined: both masks carry an element tensor; combine them into one tensor first")
        var lengths = keyLengths ?? other.keyLengths
        if let a = keyLengths, let b = other.keyLengths {
            checkPrecondition(a.count == b.count,
                "AttentionMask.combined: key lengths for \(a.count) and \(b.count) batch rows")
            lengths = zip(a, b).map { Swift.min($0, $1) }
        }
        let windows = [window, other.window].compactMap { $0 }
        return AttentionMask(causal: isCausal || other.isCausal, window: windows.min(), keyLengths: lengths,
                             element: element ?? other.element)
    }

    /// The contiguous range of keys query `query` of batch row `batch` may attend by position
    /// (causal, window, key length); an element mask applies on top. The one specification of
    /// the position rules: the reference paths use it, the C kernels compute the same bounds
    /// (`ak_key_range` in `attention_mask.h`), and the tests check both against it.
    public func keyRange(batch: Int, query: Int, queries: Int, keys: Int) -> Range<Int> {
        let last = query + (keys - queries)          // the aligned position of the query
        var hi = isCausal ? Swift.min(keys, last + 1) : keys
        if let keyLengths { hi = Swift.min(hi, keyLengths[batch]) }
        let lo = window.map { Swift.max(0, last + 1 - $0) } ?? 0
        return lo < hi ? lo..<hi : 0..<0
    }
}

/// Which implementation computes attention.
public enum AttentionImplementation: Sendable, CaseIterable {
    /// The fused kernel (the default choice).
    case automatic
    /// Materialises the `Lq × Lk` scores: the readable specification, O(Lq·Lk) memory.
    case reference
    /// FlashAttention-2-style tiled kernel with an online softmax: O(Lq·D) extra memory.
    case fused
}
