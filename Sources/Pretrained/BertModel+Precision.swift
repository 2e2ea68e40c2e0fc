import Attention
import Foundation

extension BertLayer {
    /// This layer with every projection (Q/K/V, attention output, both feed-forward layers)
    /// multiplying in `precision` (``Linear/converted(to:)``); norms, softmax and GELU stay FP32.
    public func converted(to precision: Precision) -> BertLayer {
        var copy = self
        copy.query = query.converted(to: precision)
        copy.key = key.converted(to: precision)
        copy.value = value.converted(to: precision)
        copy.queryKeyValue = queryKeyValue.converted(to: precision)
        copy.attentionOutput = attentionOutput.converted(to: precision)
        copy.intermediate = intermediate.converted(to: precision)
        copy.output = output.converted(to: precision)
        return copy
    }

    /// The precision the layer's projections run in (``Precision/bfloat16`` only when all do).
    public var precision: Precision {
        [queryKeyValue, attentionOutput, intermediate, output].allSatisfy { $0.precision == .bfloat16 } ? .bfloat16 : .float32
    }
}

extension BertModel {
    /// This model with the projections of every layer multiplying in `precision` (see
    /// ``Precision``). The embeddings (table look-ups) and every norm stay FP32; the FP32
    /// weights are kept, so converting back is exact.
    ///
    /// ```swift
    /// let fast = try BertModel(modelDirectory: folder).converted(to: .bfloat16)
    /// ```
    public func converted(to precision: Precision) -> BertModel {
        var copy = self
        copy.layers = layers.map { $0.converted(to: precision) }
        return copy
    }

    /// ``Precision/bfloat16`` when every layer multiplies in BF16, else ``Precision/float32``.
    public var precision: Precision {
        layers.allSatisfy { $0.precision == .bfloat16 } && !layers.isEmpty ? .bfloat16 : .float32
    }
}

extension SentenceEncoder {
    /// This encoder with its model converted to `precision` (``BertModel/converted(to:)``).
    public func converted(to precision: Precision) -> SentenceEncoder {
        SentenceEncoder(tokenizer: tokenizer, model: model.converted(to: precision), pooling: pooling)
    }

    /// Loads the model in `directory` (``init(modelDirectory:)``) and converts it to `precision`.
    public init(modelDirectory directory: URL, precision: Precision) throws {
        self = try SentenceEncoder(modelDirectory: directory).converted(to: precision)
    }
}
