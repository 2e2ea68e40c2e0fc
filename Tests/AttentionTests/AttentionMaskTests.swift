import Attention
import Testing

/// The one mask specification: shorthands, composition, and the key range per row.
@Suite struct AttentionMaskTests {
    @Test func shorthandsAreTheRulesTheyName() {
        #expect(AttentionMask.none.isNone)
        #expect(AttentionMask.causal.isCausal && AttentionMask.causal.window == nil)
        let window = AttentionMask.slidingWindow(3)
        #expect(window.isCausal && window.window == 3)
        #expect(AttentionMask.keyPadding([2, 5]).keyLengths == [2, 5] && !AttentionMask.keyPadding([2]).isCausal)
        #expect(AttentionMask(window: 4).isCausal, "a window implies causal")
    }

    @Test func combinationTakesEveryRestriction() {
        let mask = AttentionMask.slidingWindow(8).combined(with: .keyPadding([10, 3]))
            .combined(with: .slidingWindow(5)).combined(with: .keyPadding([7, 9]))
        #expect(mask.isCausal && mask.window == 5 && mask.keyLengths == [7, 3])
        // Lq = Lk = 12, query 9 (sees keys 5...9 by window 5), row 0 cut at 7, row 1 at 3.
        #expect(mask.keyRange(batch: 0, query: 9, queries: 12, keys: 12) == 5..<7)
        #expect(mask.keyRange(batch: 1, query: 9, queries: 12, keys: 12).isEmpty)
        // Bottom-right alignment with Lq < Lk: the last query sees up to the last key.
        #expect(AttentionMask.causal.keyRange(batch: 0, query: 2, queries: 3, keys: 10) == 0..<10)
        #expect(AttentionMask.causal.keyRange(batch: 0, query: 0, queries: 5, keys: 3).isEmpty, "Lq > Lk: the first rows see nothing")
    }

    /// The specification agrees with brute force over every (row, query, key) of small shapes.
    @Test(arguments: [(4, 4), (3, 7), (6, 2)])
    func keyRangeMatchesTheDefinition(queries: Int, keys: Int) {
        for causal in [false, true] {
            for window in [nil, 1, 2, 5] as [Int?] {
                for lengths in [nil, [keys, 0, max(0, keys - 1)]] as [[Int]?] {
                    let mask = AttentionMask(causal: causal, window: window, keyLengths: lengths)
                    for b in 0..<3 {
                        for i in 0..<queries {
                            let last = i + keys - queries
                            let allowed = (0..<keys).filter { j in
                                (!(causal || window != nil) || j <= last) && (window.map { j > last - $0 } ?? true)
                                    && (lengths.map { j < $0[b] } ?? true)
                            }
                            let range = mask.keyRange(batch: b, query: i, queries: queries, keys: keys)
                            #expect(Array(range) == allowed, "causal \(causal) window \(String(describing: window)) lengths \(String(describing: lengths)) b \(b) i \(i)")
                        }
                    }
                }
            }
        }
    }
}
