import Attention
import AttentionViz
import Testing

@Suite struct AttributionMathTests {
    @Test func ranksAverageTies() {
        #expect(AttributionMath.ranks([1, 3, 3, 2, 0.5]) == [2, 4.5, 4.5, 3, 1])
    }

    @Test func spearmanMatchesKnownValues() throws {
        #expect(AttributionMath.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1)
        #expect(AttributionMath.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1)
        // numpy: corrcoef of the fractional ranks [1,4,2,5,3] and [2,4.5,4.5,3,1].
        let rho = try #require(AttributionMath.spearman([0.1, 0.4, 0.2, 0.9, 0.3], [1, 3, 3, 2, 0.5]))
        #expect(abs(rho - 0.20519567041703085) < 1e-12)
        #expect(AttributionMath.spearman([1, 1, 1], [1, 2, 3]) == nil)
    }

    @Test func rolloutOfOneLayerIsHalfMeanPlusHalfIdentity() {
        // Two heads over two tokens: mean = [[0.5, 0.5], [0.25, 0.75]].
        let layer = Tensor(shape: [2, 2, 2], scalars: [1, 0, 0.5, 0.5, 0, 1, 0, 1])
        let r = AttributionMath.rollout([layer])
        #expect(r == [[0.75, 0.25], [0.125, 0.875]])
        // Two layers: R = Â₂·Â₁ (the later layer on the left).
        let identity = Tensor(shape: [1, 2, 2], scalars: [0, 1, 1, 0])   // Â = [[.5,.5],[.5,.5]]
        let r2 = AttributionMath.rollout([layer, identity])
        #expect(r2 == [[0.4375, 0.5625], [0.4375, 0.5625]])
    }

    @Test func focusAcceptsWordsOccurrencesAndZeroBasedIndices() throws {
        let tokens = ["[CLS]", "the", "cat", "saw", "the", "dog", "[SEP]"]
        #expect(try AttributionFocus.resolve("cat", tokens: tokens) == 2)
        #expect(try AttributionFocus.resolve("The", tokens: tokens) == 1)
        #expect(try AttributionFocus.resolve("the#2", tokens: tokens) == 4)
        #expect(try AttributionFocus.resolve("#0", tokens: tokens) == 0)
        #expect(try AttributionFocus.resolve("#6", tokens: tokens) == 6)
        #expect(throws: AttributionError.self) { try AttributionFocus.resolve("#7", tokens: tokens) }
        do {
            _ = try AttributionFocus.resolve("bird", tokens: tokens)
            Issue.record("expected an error")
        } catch let error as AttributionError {
            #expect(error.description.contains("2:cat") && error.description.contains("bird"))
        }
        // Byte-level: a word that is no single token picks its last byte.
        #expect(try AttributionFocus.resolve("cat", tokens: ["c", "a", "t", "␠"], words: [(label: "cat", lastToken: 2)]) == 2)
    }

    @Test func verdictNamesTheTokensWhereWeightAndEffectDisagree() {
        let attribution = Attribution(
            tokens: ["a", "b", "c", "d"], focus: 0,
            weights: [[[0.7, 0.2, 0.05, 0.05]]], rollout: [0.85, 0.1, 0.025, 0.025],
            knockout: [0.001, 0.002, 0.5, 0.003], headAblation: [[0.1]])
        #expect(attribution.rankCorrelation.map { abs($0 - -0.9487) < 1e-3 } == true, "\(String(describing: attribution.rankCorrelation))")
        let worst = attribution.disagreements(count: 1)
        #expect(worst.first?.token == 0 && worst.first?.weightRank == 1 && worst.first?.knockoutRank == 4)
        #expect(attribution.verdict().contains("poor guide"))
    }
}
