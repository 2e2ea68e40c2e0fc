import Attention

/// One character of a byte string as UTF-8 decodes it: the bytes it spans and how to show it.
public struct UTF8CharacterSpan: Sendable, Equatable {
    /// The bytes of the character in the input (`count` 1…4; 1 for an invalid byte).
    public var byteRange: Range<Int>
    /// The decoded character (escaped like ``TextSegmentation/label(_:)``), or `\xNN` for a byte
    /// that is not part of valid UTF-8.
    public var label: String
    /// False for a byte that does not start a valid UTF-8 sequence (shown as `\xNN`).
    public var isValid: Bool
    /// The bytes in hexadecimal, space-separated ("F0 9F 98 80").
    public var hexBytes: String

    public init(byteRange: Range<Int>, label: String, isValid: Bool, hexBytes: String) {
        self.byteRange = byteRange; self.label = label; self.isValid = isValid; self.hexBytes = hexBytes
    }
}

extension TextSegmentation {
    /// The characters of `bytes` in order: each valid UTF-8 sequence of 1–4 bytes is one span
    /// (so 😀 = F0 9F 98 80 is one span of four bytes); every byte that does not start a valid
    /// sequence (a stray continuation byte, a truncated or overlong sequence, a surrogate) is a
    /// span of its own, labelled `\xNN` as everywhere else. The spans tile `0..<bytes.count`.
    public static func characters(_ bytes: [UInt8]) -> [UTF8CharacterSpan] {
        var spans: [UTF8CharacterSpan] = []
        var offset = 0
        for piece in decodePieces(bytes[...]) {
            let range = offset..<(offset + piece.byteCount)
            let hex = range.map { hex2(bytes[$0]) }.joined(separator: " ")
            switch piece {
            case let .scalar(scalar, _):
                spans.append(UTF8CharacterSpan(byteRange: range, label: escaped(scalar), isValid: true, hexBytes: hex))
            case let .invalid(byte):
                spans.append(UTF8CharacterSpan(byteRange: range, label: "\\x" + hex2(byte), isValid: false, hexBytes: hex))
            }
            offset += piece.byteCount
        }
        return spans
    }

    /// One label per byte for a byte-level model's tables, naming each multi-byte character
    /// once: its first byte is labelled with the character ("😀"), each continuation byte with
    /// `·` and its hex value ("·9F", "·98", "·80"); single bytes and invalid bytes keep
    /// ``byteLabel(_:)`` (`␠`, `\n`, `\xFF`).
    public static func characterByteLabels(_ bytes: [UInt8]) -> [String] {
        var labels = bytes.map(byteLabel)
        for span in characters(bytes) where span.isValid && span.byteRange.count > 1 {
            labels[span.byteRange.lowerBound] = span.label
            for b in span.byteRange.dropFirst() { labels[b] = "·" + hex2(bytes[b]) }
        }
        return labels
    }

    /// Two aligned lines that show each character once over its bytes in hex:
    ///
    ///     М     о     😀
    ///     D0 9C D0 BE F0 9F 98 80
    ///
    /// Each character (or invalid byte, as `\xNN`) starts at the column of its first byte;
    /// a byte takes three columns ("F0 "), a column wider than its bytes is padded.
    public static func characterRows(_ bytes: [UInt8]) -> (characters: String, bytes: String) {
        var top = "", bottom = ""
        for span in characters(bytes) {
            let hex = span.hexBytes + " "
            let label = span.label == " " ? "␠" : span.label
            let width = max(hex.count, DisplayWidth.of(label) + 1)
            top += label + String(repeating: " ", count: width - DisplayWidth.of(label))
            bottom += hex + String(repeating: " ", count: width - hex.count)
        }
        func trimmed(_ s: String) -> String { String(s.reversed().drop { $0 == " " }.reversed()) }
        return (trimmed(top), trimmed(bottom))
    }

    /// For each byte, the index of its character in ``characters(_:)``.
    public static func characterIndexOfEachByte(_ bytes: [UInt8]) -> [Int] {
        var result = [Int](repeating: 0, count: bytes.count)
        for (index, span) in characters(bytes).enumerated() { for b in span.byteRange { result[b] = index } }
        return result
    }
}

/// Statistics of a byte-level model's attention that test what byte-level models are said to
/// learn (seed 003): relationships inside multi-byte characters, attention between byte values,
/// and attention to word boundaries. Pure arithmetic on causal weight matrices (rows sum to 1,
/// zero above the diagonal), in Double; the model runs elsewhere.
public enum ByteAttentionStatistics {
    // MARK: Inside characters

    /// A continuation byte: position `position` (`i`) inside a multi-byte character that starts
    /// at `characterStart` (`s < i`).
    public struct ContinuationByte: Sendable, Equatable {
        public var position: Int
        public var characterStart: Int
        public init(position: Int, characterStart: Int) { self.position = position; self.characterStart = characterStart }
        /// The earlier bytes of the same character, `s..<i`.
        public var ownEarlierBytes: Range<Int> { characterStart..<position }
    }

    /// Every continuation byte of a valid multi-byte character (the 2nd, 3rd, 4th bytes).
    public static func continuationBytes(_ bytes: [UInt8]) -> [ContinuationByte] {
        TextSegmentation.characters(bytes).filter { $0.isValid && $0.byteRange.count > 1 }.flatMap { span in
            span.byteRange.dropFirst().map { ContinuationByte(position: $0, characterStart: span.byteRange.lowerBound) }
        }
    }

    /// The share of row `i`'s attention on the earlier bytes of its own character,
    ///
    ///     share(i) = Σ_{j=s}^{i−1} A[i, j],
    ///
    /// and what a uniform causal head (`A[i, j] = 1/(i+1)` for `j ≤ i`) would give,
    /// `uniform(i) = (i − s)/(i + 1)`. Returns the means over `bytes`:
    /// `(share: (1/n) Σ share(i), uniform: (1/n) Σ uniform(i))`, or (0, 0) when there are none.
    ///
    /// - Parameter row: `row(i)` gives the attention row of position `i` (at least `i + 1` values).
    public static func withinCharacterShare(
        _ bytes: [ContinuationByte], row: (Int) -> [Double]
    ) -> (share: Double, uniform: Double) {
        guard !bytes.isEmpty else { return (0, 0) }
        var share = 0.0, uniform = 0.0
        for c in bytes {
            let r = row(c.position)
            checkPrecondition(r.count > c.position, "withinCharacterShare: row \(c.position) has \(r.count) values")
            share += c.ownEarlierBytes.reduce(0.0) { $0 + r[$1] }
            uniform += Double(c.position - c.characterStart) / Double(c.position + 1)
        }
        let n = Double(bytes.count)
        return (share / n, uniform / n)
    }

    /// The same share for every layer and head: `result[l][h]` from layer `l`'s weights
    /// `[H, T, T]`.
    public static func withinCharacterShares(_ bytes: [ContinuationByte], layers: [Tensor]) -> [[Double]] {
        layers.map { layer in
            checkPrecondition(layer.rank == 3 && layer.shape[1] == layer.shape[2], "withinCharacterShares: weights \(layer.shape) must be [H, T, T]")
            let t = layer.shape[1]
            let scalars = layer.scalars
            return (0..<layer.shape[0]).map { h in
                withinCharacterShare(bytes) { i in (0..<t).map { Double(scalars[(h * t + i) * t + $0]) } }.share
            }
        }
    }

    /// Knockout effects on continuation bytes, by where the removed edge points: with
    /// `K[i][j]` the effect on the prediction at `i` (the next byte) of removing the edge
    /// `i → j` in every layer and head, the mean effect per edge to the character's own earlier
    /// bytes and per edge to every other earlier byte,
    ///
    ///     own   = Σ_c Σ_{j ∈ [s_c, i_c)} K[i_c][j] / Σ_c (i_c − s_c)
    ///     other = Σ_c Σ_{j ∈ [0, s_c)}   K[i_c][j] / Σ_c s_c
    ///
    /// (the edge to itself, `j = i`, counts in neither). `other` is 0 when no continuation byte
    /// has earlier characters.
    public static func knockoutByTarget(_ bytes: [ContinuationByte], knockout: [[Float]]) -> (own: Double, other: Double) {
        var own = 0.0, ownCount = 0, other = 0.0, otherCount = 0
        for c in bytes {
            let row = knockout[c.position]
            for j in c.ownEarlierBytes { own += Double(row[j]); ownCount += 1 }
            for j in 0..<c.characterStart { other += Double(row[j]); otherCount += 1 }
        }
        return (ownCount > 0 ? own / Double(ownCount) : 0, otherCount > 0 ? other / Double(otherCount) : 0)
    }

    // MARK: Byte pairs

    /// Mean attention between byte values, accumulated over windows: for a window `b` and a
    /// head's weights `A`, every earlier pair `j < i` adds `A[i, j]` to `sum[b_i][b_j]` and 1 to
    /// `count[b_i][b_j]`, and `1/(i+1)` (a uniform causal head's weight) to `uniform[b_i][b_j]`.
    /// The mean attention from byte value `a` to an earlier byte value `b` is
    /// `sum[a][b] / count[a][b]`, and its lift over uniform is `sum[a][b] / uniform[a][b]`.
    public struct BytePairMap: Sendable {
        /// `sum[a·256 + b]`.
        public var sum: [Double]
        public var count: [Double]
        public var uniform: [Double]

        public init() {
            sum = [Double](repeating: 0, count: 65536); count = sum; uniform = sum
        }

        /// Adds one window: `bytes` and its weights `A` as `[T·T]` row-major.
        public mutating func add(bytes: [UInt8], weights: UnsafeBufferPointer<Float>) {
            let t = bytes.count
            checkPrecondition(weights.count >= t * t, "BytePairMap.add: \(weights.count) weights for \(t) bytes")
            for i in 1..<max(t, 1) {
                let a = Int(bytes[i]) << 8, u = 1 / Double(i + 1)
                for j in 0..<i {
                    let k = a | Int(bytes[j])
                    sum[k] += Double(weights[i * t + j]); count[k] += 1; uniform[k] += u
                }
            }
        }

        /// `sum[a][b] / count[a][b]`, or nil when the pair never occurs.
        public func mean(_ a: UInt8, _ b: UInt8) -> Double? {
            let k = Int(a) << 8 | Int(b)
            return count[k] > 0 ? sum[k] / count[k] : nil
        }

        /// `sum[a][b] / uniform[a][b]` (1 = what a uniform causal head would give), or nil.
        public func lift(_ a: UInt8, _ b: UInt8) -> Double? {
            let k = Int(a) << 8 | Int(b)
            return uniform[k] > 0 ? sum[k] / uniform[k] : nil
        }

        /// The 256×256 mean map, `map[a][b]`, 0 where a pair never occurs.
        public var meanMap: [[Double]] {
            (0..<256).map { a in (0..<256).map { b in count[a << 8 | b] > 0 ? sum[a << 8 | b] / count[a << 8 | b] : 0 } }
        }

        /// Pairs seen at least `minimumCount` times, by mean attention (largest first; ties by
        /// `(a, b)`).
        public func ranked(minimumCount: Double) -> [(from: UInt8, to: UInt8, mean: Double, lift: Double, count: Double)] {
            (0..<65536).filter { count[$0] >= minimumCount && count[$0] > 0 }
                .map { (from: UInt8($0 >> 8), to: UInt8($0 & 255), mean: sum[$0] / count[$0], lift: sum[$0] / uniform[$0], count: count[$0]) }
                .sorted { $0.mean != $1.mean ? $0.mean > $1.mean : ($0.from, $0.to) < ($1.from, $1.to) }
        }
    }

    // MARK: Word boundaries

    /// Attention to boundary bytes (spaces and newlines by default) against their frequency:
    /// over rows `i` of a head's causal weights `A`,
    ///
    ///     share    = (1/T) Σ_i Σ_{j ≤ i, b_j boundary} A[i, j]
    ///     uniform  = (1/T) Σ_i #{j ≤ i : b_j boundary} / (i + 1)
    ///     frequency = #{j : b_j boundary} / T
    ///
    /// accumulated over windows (the sums and `T` add up).
    public struct BoundaryShare: Sendable, Equatable {
        public var attention = 0.0
        public var uniform = 0.0
        public var boundaryBytes = 0.0
        public var rows = 0.0
        public init() {}

        /// Adds one window: `bytes` and its weights `[T·T]` row-major.
        public mutating func add(bytes: [UInt8], weights: UnsafeBufferPointer<Float>, isBoundary: (UInt8) -> Bool = ByteAttentionStatistics.isBoundary) {
            let t = bytes.count
            checkPrecondition(weights.count >= t * t, "BoundaryShare.add: \(weights.count) weights for \(t) bytes")
            var seen = 0
            for i in 0..<t {
                if isBoundary(bytes[i]) { seen += 1; boundaryBytes += 1 }
                var s = 0.0
                for j in 0...i where isBoundary(bytes[j]) { s += Double(weights[i * t + j]) }
                attention += s
                uniform += Double(seen) / Double(i + 1)
                rows += 1
            }
        }

        /// Mean share of a row's attention on boundary bytes.
        public var share: Double { rows > 0 ? attention / rows : 0 }
        /// What a uniform causal head would give.
        public var uniformShare: Double { rows > 0 ? uniform / rows : 0 }
        /// The boundary bytes' frequency in the text.
        public var frequency: Double { rows > 0 ? boundaryBytes / rows : 0 }
    }

    /// Space (0x20) and newline (0x0A).
    public static func isBoundary(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A }

    // MARK: Verdicts

    /// The three outcomes of a measurement, computed from its numbers.
    public enum Verdict: String, Sendable {
        case supported, partly, not
    }

    /// Ratio thresholds the verdicts use: a head "specialises" when its share is at least
    /// `specialisationRatio` × the uniform share (and at least `minimumShare`).
    public static let specialisationRatio = 2.0
    public static let minimumShare = 0.25

    /// Inside characters: supported when at least one head specialises **and** knocking out
    /// own-character edges hurts at least twice as much per edge as other edges; partly when
    /// only one of the two holds; not otherwise.
    public static func withinCharacterVerdict(specialisedHeads: Int, knockoutRatio: Double) -> Verdict {
        let a = specialisedHeads > 0, b = knockoutRatio >= 2
        return a && b ? .supported : (a || b ? .partly : .not)
    }

    /// A ratio-of-uniform verdict: supported at ≥ `specialisationRatio` with at least
    /// `minimumShare`, partly above 1.25×, not otherwise.
    public static func liftVerdict(ratio: Double, share: Double) -> Verdict {
        if ratio >= specialisationRatio && share >= minimumShare { return .supported }
        return ratio > 1.25 ? .partly : .not
    }
}
