import Attention
import Foundation

/// A file read as bytes and split for training: the first 90% trains, the last 10% validates.
///
/// Training batches are random windows: for each row a start `s` uniform in
/// `0 ... count − L − 1`, inputs `bytes[s ..< s+L]`, targets `bytes[s+1 ..< s+L+1]` (the
/// next byte at every position). The windows come from a caller-owned ``SeededGenerator``,
/// so saving its state saves the data order.
public struct ByteCorpus: Sendable {
    /// Which part of the corpus.
    public enum Split: String, Sendable { case training, validation }

    /// Where the bytes came from (for messages and checkpoints).
    public let name: String
    public let training: [UInt8]
    public let validation: [UInt8]

    /// Splits `bytes` at `⌊0.9 · count⌋`.
    public init(bytes: [UInt8], name: String = "corpus") {
        let cut = bytes.count * 9 / 10
        self.name = name
        self.training = Array(bytes[..<cut])
        self.validation = Array(bytes[cut...])
    }

    /// Reads `path` as bytes.
    /// - Throws: ``TinyLLMError/unreadableFile(path:reason:)``.
    public init(contentsOf path: String) throws {
        do {
            self.init(bytes: [UInt8](try FileAccess.read(path)), name: path)
        } catch {
            throw TinyLLMError.unreadableFile(path: path, reason: error.reason)
        }
    }

    /// Total number of bytes.
    public var count: Int { training.count + validation.count }

    /// The bytes of `split`.
    public func bytes(_ split: Split) -> [UInt8] { split == .training ? training : validation }

    /// Checks that each split holds at least one window of `length + 1` bytes.
    /// - Throws: ``TinyLLMError/corpusTooShort(path:bytes:needed:)``.
    public func checkFits(length: Int) throws {
        // The 10% split must hold length + 1 bytes: count − ⌊0.9·count⌋ ≥ length + 1.
        guard training.count >= length + 1, validation.count >= length + 1 else {
            var needed = length + 1
            while needed - needed * 9 / 10 < length + 1 || needed * 9 / 10 < length + 1 { needed += 1 }
            throw TinyLLMError.corpusTooShort(path: name, bytes: count, needed: needed)
        }
    }

    /// `batchSize` random windows of `length` bytes from `split`: `(inputs, targets)`, each
    /// `batchSize` rows of `length` ids.
    ///
    /// With `rows`, all `batchSize` windows are drawn (the generator advances exactly as
    /// without it) but only rows `rows` of them are returned: data-parallel rank `r` takes
    /// its slice of the very batch one process would draw.
    /// - Precondition: the split holds `length + 1` bytes (see ``checkFits(length:)``);
    ///   `rows` lies within `0 ..< batchSize`.
    public func batch(
        _ split: Split, batchSize: Int, length: Int, rows: Range<Int>? = nil, generator: inout SeededGenerator
    ) -> (inputs: [[Int]], targets: [[Int]]) {
        let source = bytes(split)
        checkPrecondition(length >= 1 && source.count >= length + 1,
            "ByteCorpus.batch: \(split) split has \(source.count) bytes, needs length + 1 = \(length + 1)")
        let kept = rows ?? 0..<batchSize
        checkPrecondition(kept.lowerBound >= 0 && kept.upperBound <= batchSize,
            "ByteCorpus.batch: rows \(kept) outside 0..<\(batchSize)")
        let starts = UInt64(source.count - length)              // s ∈ 0 ..< count − L
        var inputs: [[Int]] = [], targets: [[Int]] = []
        for row in 0..<batchSize {
            let s = Int(generator.next() % starts)
            guard kept.contains(row) else { continue }
            inputs.append(source[s..<(s + length)].map(Int.init))
            targets.append(source[(s + 1)..<(s + length + 1)].map(Int.init))
        }
        return (inputs, targets)
    }

    /// Consecutive non-overlapping windows covering `bytes` (the last may be shorter):
    /// every byte after the first is predicted exactly once. Used for full-split evaluation.
    public static func windows(covering bytes: [UInt8], length: Int) -> [(inputs: [Int], targets: [Int])] {
        checkPrecondition(length >= 1, "ByteCorpus.windows: length must be ≥ 1, got \(length)")
        var out: [(inputs: [Int], targets: [Int])] = []
        var s = 0
        while s + 1 < bytes.count {
            let n = Swift.min(length, bytes.count - 1 - s)
            out.append((bytes[s..<(s + n)].map(Int.init), bytes[(s + 1)..<(s + n + 1)].map(Int.init)))
            s += n
        }
        return out
    }

    /// FNV-1a 64-bit hash of all bytes: a checkpoint remembers which corpus it was trained on.
    public var fingerprint: String {
        var hash = FNV1a64()
        hash.update(training)
        hash.update(validation)
        return String(hash.value, radix: 16)
    }
}
