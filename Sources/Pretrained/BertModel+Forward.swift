import Attention

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What ``BertModel/encode(_:returningAttention:)`` computes for a batch of sequences.
public struct BertEncoding: Sendable {
    /// The last layer's hidden state of every token, sequences one after another with no
    /// padding: `[Σ lengths, hidden]`. Sequence `s` occupies rows `offsets[s] ..< offsets[s] + lengths[s]`.
    public var hiddenStates: Tensor
    public var lengths: [Int]
    public var offsets: [Int]
    /// When requested: `attentions[s][layer]` is sequence `s`'s softmax weights in that
    /// layer, `[heads, length, length]` (row `i` is where token `i` looks; each row sums to 1).
    public var attentions: [[Tensor]]?

    /// Sequence `s`'s hidden states, `[lengths[s], hidden]`.
    public func hiddenStates(ofSequence s: Int) -> Tensor {
        hiddenStates.sliced(axis: 0, offsets[s]..<(offsets[s] + lengths[s]))
    }
}

extension BertModel {
    /// Runs the encoder on a batch of token-id sequences of any lengths.
    ///
    /// Dimensions: `B` sequences, `N = Σ Lₛ` tokens, `H` hidden, `h` heads of width `d = H/h`,
    /// `L` the longest sequence. The projections and feed-forward run once on all `N` tokens
    /// packed without padding (`[N, H]`); only attention, which mixes tokens within a
    /// sequence, works on a zero-padded `[B, h, L, d]` layout, with key padding so no query
    /// ever sees another sequence's (or a padding) position. A sequence's result therefore
    /// does not depend on what else is in the batch.
    ///
    /// - Precondition: every sequence is non-empty, at most `maximumPositions` long, and its
    ///   ids lie in the vocabulary (``WordPieceTokenizer`` guarantees all three).
    public func encode(_ sequences: [[Int]], returningAttention: Bool = false) -> BertEncoding {
        let c = configuration
        let lengths = sequences.map(\.count)
        for (s, length) in lengths.enumerated() {
            checkPrecondition(length >= 1 && length <= c.maximumPositions,
                "BertModel.encode: sequence \(s) has \(length) tokens; allowed 1...\(c.maximumPositions)")
        }
        var offsets = [Int](repeating: 0, count: lengths.count)
        for s in lengths.indices.dropFirst() { offsets[s] = offsets[s - 1] + lengths[s - 1] }

        var x = embed(sequences)  // [N, H]
        var attentions: [[Tensor]]? = returningAttention ? Array(repeating: [], count: sequences.count) : nil
        for layer in layers {
            let (next, weights) = layer.forward(x, lengths: lengths, offsets: offsets, configuration: c,
                                                returningAttention: returningAttention)
            x = next
            if let weights {
                for s in sequences.indices {
                    // [B, h, L, L] → this sequence's [h, Lₛ, Lₛ] block.
                    let own = weights.sliced(axis: 0, s..<(s + 1))
                        .sliced(axis: 2, 0..<lengths[s]).sliced(axis: 3, 0..<lengths[s])
                    attentions?[s].append(own.reshaped([c.headCount, lengths[s], lengths[s]]))
                }
            }
        }
        return BertEncoding(hiddenStates: x, lengths: lengths, offsets: offsets, attentions: attentions)
    }

    /// `LayerNorm(word[tᵢ] + position[i] + tokenType[0])` for every token, packed `[N, H]`.
    func embed(_ sequences: [[Int]]) -> Tensor {
        let h = configuration.hiddenSize, vocabulary = configuration.vocabularySize
        let total = sequences.reduce(0) { $0 + $1.count }
        let summed = Tensor(uninitializedShape: [total, h]) { out in
            embeddings.words.weight.withUnsafeBufferPointer { word in
                embeddings.positions.weight.withUnsafeBufferPointer { position in
                    embeddings.tokenTypes.weight.withUnsafeBufferPointer { type in
                        var row = 0
                        for (s, ids) in sequences.enumerated() {
                            for (i, id) in ids.enumerated() {
                                checkPrecondition(id >= 0 && id < vocabulary,
                                    "BertModel.encode: token id \(id) at position \(i) of sequence \(s) is outside 0..<\(vocabulary)")
                                for j in 0..<h { out[row * h + j] = word[id * h + j] + position[i * h + j] + type[j] }
                                row += 1
                            }
                        }
                    }
                }
            }
        }
        return embeddings.norm(summed)
    }
}

extension BertLayer {
    /// One layer on packed tokens `x: [N, H]`; see ``BertModel/encode(_:returningAttention:)``.
    /// Returns the new `[N, H]` and, when asked, the attention weights `[B, h, L, L]`.
    func forward(
        _ x: Tensor, lengths: [Int], offsets: [Int], configuration c: BertConfiguration, returningAttention: Bool
    ) -> (Tensor, Tensor?) {
        let longest = lengths.max() ?? 0
        let layout = PaddedHeads(lengths: lengths, offsets: offsets, longest: longest, heads: c.headCount, headSize: c.headSize)
        let (q, k, v) = layout.scatterQueryKeyValue(queryKeyValue(x))  // each [B, h, L, d]
        let mask: AttentionMask = lengths.allSatisfy { $0 == longest } ? .none : .keyPadding(lengths)
        let context: Tensor  // [B, h, L, d]
        var weights: Tensor? = nil
        if returningAttention {
            // The same softmax(QKᵀ/√d) the kernel computes, materialised so it can be returned.
            let w = attentionWeights(queries: q, keys: k, mask: mask)
            context = w.matmul(v)
            weights = w
        } else {
            context = scaledDotProductAttention(queries: q, keys: k, values: v, mask: mask)
        }
        let attended = attentionNorm(attentionOutput(layout.gather(context)) + x)  // post-norm residual
        var hidden = intermediate(attended)
        hidden.applyGELU(c.activation)
        return (outputNorm(output(hidden) + attended), weights)
    }
}

/// Moves packed token rows `[N, h·d]` to the padded per-head layout `[B, h, L, d]` and back.
struct PaddedHeads {
    let lengths: [Int], offsets: [Int], longest: Int, heads: Int, headSize: Int

    /// `[N, 3·h·d]` (queries | keys | values per row) → three `[B, h, L, d]`, zeros past
    /// each sequence's end.
    func scatterQueryKeyValue(_ packed: Tensor) -> (Tensor, Tensor, Tensor) {
        (scatter(packed, part: 0), scatter(packed, part: 1), scatter(packed, part: 2))
    }

    /// Columns `part·h·d ..< (part+1)·h·d` of `[N, parts·h·d]` → `[B, h, L, d]`, padded rows
    /// zero. (Sequence, head) pairs run in parallel; each copies its own `d`-long runs and
    /// zeroes its own padded rows (no whole-tensor zeroing pass on one thread first).
    func scatter(_ packed: Tensor, part: Int) -> Tensor {
        let (b, l, d) = (lengths.count, longest, headSize)
        let width = heads * d, rowStride = packed.shape[1]
        return Tensor(uninitializedShape: [b, heads, l, d]) { o in
            packed.withUnsafeBufferPointer { p in
                guard let ob = o.baseAddress, let pb = p.baseAddress else { return }
                forEachSequenceHead { s, head in
                    let block = ob + (s * heads + head) * l * d
                    for i in 0..<lengths[s] {
                        let source = (offsets[s] + i) * rowStride + part * width + head * d
                        (block + i * d).update(from: pb + source, count: d)
                    }
                    (block + lengths[s] * d).update(repeating: 0, count: (l - lengths[s]) * d)
                }
            }
        }
    }

    /// `[B, h, L, d]` → `[N, h·d]`, dropping padded rows.
    func gather(_ padded: Tensor) -> Tensor {
        let (l, d) = (longest, headSize)
        let total = lengths.reduce(0, +)
        return Tensor(uninitializedShape: [total, heads * d]) { o in
            padded.withUnsafeBufferPointer { p in
                guard let ob = o.baseAddress, let pb = p.baseAddress else { return }
                forEachSequenceHead { s, head in
                    for i in 0..<lengths[s] {
                        let source = ((s * heads + head) * l + i) * d
                        (ob + (offsets[s] + i) * heads * d + head * d).update(from: pb + source, count: d)
                    }
                }
            }
        }
    }

    /// `body(s, head)` for every sequence and head, blocks of pairs across threads.
    private func forEachSequenceHead(_ body: (Int, Int) -> Void) {
        let pairs = lengths.count * heads
        let rowsPerPair = max(1, longest)
        parallelChunks(pairs, minimumChunk: max(1, 4096 / (rowsPerPair * max(1, headSize)))) { range in
            for pair in range { body(pair / heads, pair % heads) }
        }
    }
}
