// Converting whole layers to an inference precision: every ``Linear`` inside changes, nothing
// else does (norms, embeddings, attention scores and activations stay FP32).

extension FeedForward {
    /// This block with `up` and `down` multiplying in `precision` (``Linear/converted(to:)``).
    public func converted(to precision: Precision) -> FeedForward {
        var copy = self
        copy.up = up.converted(to: precision)
        copy.down = down.converted(to: precision)
        return copy
    }
}

extension MultiHeadAttention {
    /// This layer with `W_Q`, `W_K`, `W_V` and `W^O` multiplying in `precision`
    /// (``Linear/converted(to:)``); the attention itself (`softmax(QKᵀ/√D)·V`) stays FP32.
    public func converted(to precision: Precision) -> MultiHeadAttention {
        var copy = self
        copy.wq = wq.converted(to: precision)
        copy.wk = wk.converted(to: precision)
        copy.wv = wv.converted(to: precision)
        copy.wo = wo.converted(to: precision)
        return copy
    }
}

extension TransformerBlock {
    /// This block with every projection of its attention and feed-forward multiplying in
    /// `precision` (``Linear/converted(to:)``).
    public func converted(to precision: Precision) -> TransformerBlock {
        var copy = self
        copy.attention = attention.converted(to: precision)
        copy.feedForward = feedForward.converted(to: precision)
        return copy
    }
}
