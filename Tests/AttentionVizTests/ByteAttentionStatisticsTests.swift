import Attention
import AttentionViz
import Testing

@Suite struct ByteAttentionStatisticsTests {
    /// "aé中😀" + a stray continuation byte + a truncated 3-byte lead: 1-, 2-, 3- and 4-byte
    /// characters, then two invalid bytes that stay escapes, and "b".
    static let mixed: [UInt8] = [0x61, 0xC3, 0xA9, 0xE4, 0xB8, 0xAD, 0xF0, 0x9F, 0x98, 0x80, 0x80, 0xE4, 0xB8, 0x62]

    @Test func groupsCharactersOfOneToFourBytesAndInvalidBytes() {
        let spans = TextSegmentation.characters(Self.mixed)
        #expect(spans.map(\.byteRange) == [0..<1, 1..<3, 3..<6, 6..<10, 10..<11, 11..<12, 12..<13, 13..<14])
        #expect(spans.map(\.label) == ["a", "é", "中", "😀", "\\x80", "\\xE4", "\\xB8", "b"])
        #expect(spans.map(\.isValid) == [true, true, true, true, false, false, false, true])
        #expect(spans[3].hexBytes == "F0 9F 98 80")
        #expect(TextSegmentation.characterIndexOfEachByte(Self.mixed) == [0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 5, 6, 7])
        // Continuation bytes: only those of valid multi-byte characters.
        let c = ByteAttentionStatistics.continuationBytes(Self.mixed)
        #expect(c.map(\.position) == [2, 4, 5, 7, 8, 9])
        #expect(c.map(\.characterStart) == [1, 3, 3, 6, 6, 6])
    }

    @Test func multiByteCharactersAreLabelledOnceOverTheirBytes() {
        #expect(TextSegmentation.characterByteLabels(Self.mixed)
            == ["a", "é", "·A9", "中", "·B8", "·AD", "😀", "·9F", "·98", "·80", "\\x80", "\\xE4", "\\xB8", "b"])
        let rows = TextSegmentation.characterRows([0xF0, 0x9F, 0x98, 0x80, 0x20, 0xD0, 0x9C, 0xFF])
        #expect(rows.characters == "😀          ␠  М     \\xFF")
        #expect(rows.bytes == "F0 9F 98 80 20 D0 9C FF")
        // The word view keeps each multi-byte character's bytes in one word.
        let grouping = WordGrouping(bytes: Array("ab 中😀 é".utf8))
        #expect(grouping.words == ["ab", "中😀", "é"])
        #expect(grouping.wordOfToken == [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2])
    }

    /// Hand-built rows for "aé" + "中": continuation bytes 2 (é, start 1), 4 and 5 (中, start 3).
    @Test func withinCharacterShareEqualsHandComputation() {
        let bytes: [UInt8] = [0x61, 0xC3, 0xA9, 0xE4, 0xB8, 0xAD]
        let rows: [[Double]] = [
            [1, 0, 0, 0, 0, 0],
            [0.5, 0.5, 0, 0, 0, 0],
            [0.2, 0.7, 0.1, 0, 0, 0],          // own earlier: byte 1 → 0.7
            [0.25, 0.25, 0.25, 0.25, 0, 0],
            [0.1, 0.1, 0.1, 0.6, 0.1, 0],      // own earlier: byte 3 → 0.6
            [0.0, 0.1, 0.1, 0.3, 0.4, 0.1],    // own earlier: bytes 3, 4 → 0.7
        ]
        let c = ByteAttentionStatistics.continuationBytes(bytes)
        let (share, uniform) = ByteAttentionStatistics.withinCharacterShare(c) { rows[$0] }
        #expect(abs(share - (0.7 + 0.6 + 0.7) / 3) < 1e-12)
        // Uniform causal: (i − s)/(i + 1) = 1/3, 1/5, 2/6.
        #expect(abs(uniform - (1.0 / 3 + 1.0 / 5 + 2.0 / 6) / 3) < 1e-12)
        // The same through a [H, T, T] tensor, two heads (the second uniform).
        let uniformRows = (0..<6).map { i in (0..<6).map { j in j <= i ? 1.0 / Double(i + 1) : 0 } }
        let tensor = Tensor(shape: [2, 6, 6], scalars: (rows + uniformRows).flatMap { $0.map(Float.init) })
        let shares = ByteAttentionStatistics.withinCharacterShares(c, layers: [tensor])
        #expect(abs(shares[0][0] - share) < 1e-6 && abs(shares[0][1] - uniform) < 1e-6)
        // Knockouts: own edges (2→1, 4→3, 5→3, 5→4) vs other earlier edges (2→0, 4→0..2, 5→0..2).
        var k = [[Float]](repeating: [Float](repeating: 0, count: 6), count: 6)
        k[2] = [0.1, 0.8, 9, 0, 0, 0]; k[4] = [0.1, 0.2, 0.3, 0.5, 9, 0]; k[5] = [0, 0, 0.3, 0.4, 0.3, 9]
        let effects = ByteAttentionStatistics.knockoutByTarget(c, knockout: k)
        #expect(abs(effects.own - (0.8 + 0.5 + 0.4 + 0.3) / 4) < 1e-6)
        #expect(abs(effects.other - (0.1 + 0.1 + 0.2 + 0.3 + 0 + 0 + 0.3) / 7) < 1e-6)
    }

    @Test func bytePairMapEqualsHandComputation() {
        // "HiHi": pairs (i, j<i): (i,H) .4 at i=1; (H,H) .5, (H,i) .3 at i=2; (i,H) .2 and .1, (i,i) .5 at i=3.
        let bytes: [UInt8] = [72, 105, 72, 105]
        let w: [Float] = [1, 0, 0, 0,  0.4, 0.6, 0, 0,  0.5, 0.3, 0.2, 0,  0.2, 0.5, 0.1, 0.2]
        var map = ByteAttentionStatistics.BytePairMap()
        w.withUnsafeBufferPointer { map.add(bytes: bytes, weights: $0) }
        #expect(abs(map.mean(105, 72)! - (0.4 + 0.2 + 0.1) / 3) < 1e-6)
        #expect(abs(map.mean(72, 72)! - 0.5) < 1e-6)
        #expect(abs(map.mean(72, 105)! - 0.3) < 1e-6)
        #expect(abs(map.mean(105, 105)! - 0.5) < 1e-6)
        #expect(map.mean(72, 0) == nil)
        // Lift: Σ weight / Σ 1/(i+1); 72→105 occurs once at i = 2: 0.3 / (1/3).
        #expect(abs(map.lift(72, 105)! - 0.9) < 1e-6)
        #expect(abs(map.lift(105, 72)! - 0.7 / (0.5 + 0.25 + 0.25)) < 1e-6)
        let ranked = map.ranked(minimumCount: 1)
        // By mean: (H,H) .5 and (i,i) .5 (tie: by value), (H,i) .3, (i,H) .233.
        #expect(ranked.map { [$0.from, $0.to] } == [[72, 72], [105, 105], [72, 105], [105, 72]])
        #expect(map.ranked(minimumCount: 2).map(\.from) == [105])
        #expect(map.meanMap[72][105] == Double(Float(0.3)) && map.meanMap[0][0] == 0)
    }

    @Test func boundaryShareEqualsHandComputation() {
        // "a b\n": boundaries at 1 and 3.
        let bytes: [UInt8] = [0x61, 0x20, 0x62, 0x0A]
        let w: [Float] = [1, 0, 0, 0,  0.3, 0.7, 0, 0,  0.2, 0.5, 0.3, 0,  0.1, 0.2, 0.3, 0.4]
        var s = ByteAttentionStatistics.BoundaryShare()
        w.withUnsafeBufferPointer { s.add(bytes: bytes, weights: $0) }
        #expect(abs(s.share - (0 + 0.7 + 0.5 + (0.2 + 0.4)) / 4) < 1e-6)
        #expect(abs(s.uniformShare - (0 + 1.0 / 2 + 1.0 / 3 + 2.0 / 4) / 4) < 1e-12)
        #expect(s.frequency == 0.5)
    }

    @Test func verdictsFollowTheirRules() {
        #expect(ByteAttentionStatistics.withinCharacterVerdict(specialisedHeads: 1, knockoutRatio: 2) == .supported)
        #expect(ByteAttentionStatistics.withinCharacterVerdict(specialisedHeads: 0, knockoutRatio: 3) == .partly)
        #expect(ByteAttentionStatistics.withinCharacterVerdict(specialisedHeads: 0, knockoutRatio: 1.5) == .not)
        #expect(ByteAttentionStatistics.liftVerdict(ratio: 2.5, share: 0.3) == .supported)
        #expect(ByteAttentionStatistics.liftVerdict(ratio: 2.5, share: 0.1) == .partly)
        #expect(ByteAttentionStatistics.liftVerdict(ratio: 1.1, share: 0.5) == .not)
    }
}
