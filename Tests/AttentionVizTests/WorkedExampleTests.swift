import Attention
import AttentionViz
import Foundation
import TestSupport
import Testing

/// The examples' numbers are the seeds' arithmetic and the true softmax, computed here
/// independently in Float64.
@Suite struct WorkedExampleTests {
    static func softmax(_ x: [Double]) -> [Double] {
        let m = x.max()!
        let e = x.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    @Test func itCatScoreIsTheSeedsPointEightFive() {
        let example = ItCatExample.compute()
        #expect(abs(example.scoreItCat - 0.85) < 1e-6, "q_it · k_cat = \(example.scoreItCat), seed 000 says 0.85")
        let text = WorkedExample.itCat.run(style: TerminalStyle(color: false)).text
        #expect(text.contains("= 0.72 + 0.02 + 0 + 0.02 + 0.09 = 0.85"), "the seed's written-out sum is printed:\n\(text)")
    }

    @Test func itCatWeightsAndOutputAreTheTrueSoftmax() {
        let e = ItCatExample.compute()
        let q = [ItCatExample.queryIt, ItCatExample.queryCat]
        let k = [ItCatExample.keyIt, ItCatExample.keyCat]
        let v = [ItCatExample.valueIt, ItCatExample.valueCat]
        for i in 0..<2 {
            let weights = Self.softmax((0..<2).map { Self.dot(q[i], k[$0]) / 5.0.squareRoot() })
            for j in 0..<2 {
                #expect(abs(Double(e.weights[i, j]) - weights[j]) < 1e-6, "A[\(i), \(j)] = \(e.weights[i, j]) vs \(weights[j])")
            }
            for c in 0..<5 {
                let z = weights[0] * Double(v[0][c]) + weights[1] * Double(v[1][c])
                #expect(abs(Double(e.output[i, c]) - z) < 1e-6, "Z[\(i), \(c)] = \(e.output[i, c]) vs \(z)")
            }
        }
        let text = WorkedExample.itCat.run(style: TerminalStyle(color: false)).text
        let catWeight = Self.softmax([Self.dot(q[0], k[0]) / 5.0.squareRoot(), Self.dot(q[0], k[1]) / 5.0.squareRoot()])[1]
        #expect(text.contains("\"it\" → \"cat\" \(String(format: "%.2f", catWeight))"), "printed weight for cat is \(catWeight)")
    }

    @Test func satRowShowsTheTrueSoftmaxBesideTheDocument() throws {
        let e = SatExample.compute()
        let truth = Self.softmax(SatExample.scores.map(Double.init))
        for j in 0..<6 {
            #expect(abs(Double(e.softmax[j]) - truth[j]) < 1e-6, "softmax[\(SatExample.tokens[j])] = \(e.softmax[j]) vs \(truth[j])")
        }
        #expect(abs(SatExample.documentWeights.reduce(0, +) - 1) < 1e-6, "the document's weights sum to 1")
        #expect(abs(e.sharpened[5] - 0.56) < 1e-3, "τ gives mat the document's 56%: \(e.sharpened[5])")
        let sharpened = Self.softmax(SatExample.scores.map { Double($0) / Double(e.temperature) })
        #expect(abs(sharpened[5] - 0.56) < 1e-3, "independently, softmax(S/τ)[mat] = \(sharpened[5])")
        let text = WorkedExample.sat.run(style: TerminalStyle(color: false)).text
        let printed = truth.map { String(format: "%.2f", $0) }.joined(separator: " ")
        #expect(text.contains("softmax   " + printed), "the printed softmax row is the true one (\(printed)):\n\(text)")
        #expect(text.contains("0.56 × v(mat) + 0.25 × v(cat)"), "the document's weighted sum is written out")
    }

    @Test func threeTokensMatchTheFloat64Reference() {
        let e = ThreeTokenExample.compute()
        let q = ExampleInputs.tensor(ThreeTokenExample.queries), k = ExampleInputs.tensor(ThreeTokenExample.keys)
        let v = ExampleInputs.tensor(ThreeTokenExample.values)
        let reference = Float64Reference.attention(queries: q, keys: k, values: v)
        #expect(Float64Reference.maxAbsError(e.output, reference) < 1e-6, "Z vs Float64 reference")
        #expect(e.scores.scalars == [0, 2, 1, 1, 0, 1, 1, 1, 0], "integer scores: \(e.scores.scalars)")
        #expect(e.weights[0, 1] > e.weights[0, 0] && e.weights[0, 1] > e.weights[0, 2], "X1 attends most to X2")
    }

    @Test func scalingKeepsTheSpreadNearOne() {
        let rows = ScalingExample.compute().rows
        for r in rows {
            let expected = Double(r.headSize).squareRoot()
            #expect(abs(r.scoreStandardDeviation / expected - 1) < 0.35, "d_k \(r.headSize): std(q·k) \(r.scoreStandardDeviation) ≈ √d_k")
            #expect(abs(r.scaledStandardDeviation - 1) < 0.35, "d_k \(r.headSize): scaled std \(r.scaledStandardDeviation) ≈ 1")
        }
        #expect(rows.last!.peakUnscaled > 0.9 && rows.last!.peakScaled < 0.5,
                "d_k 256: unscaled softmax is nearly one-hot (\(rows.last!.peakUnscaled)), scaled is not (\(rows.last!.peakScaled))")
    }

    @Test func unknownExampleNamesTheValidOnes() {
        #expect(throws: VizError.unknownExample(name: "dog", valid: WorkedExample.allCases.map(\.rawValue))) {
            try WorkedExample.named("dog")
        }
        #expect(WorkedExample.listing().contains("it-cat"), "listing names every example")
    }

    @Test(arguments: WorkedExample.allCases)
    func everyExampleHasJSONAndText(example: WorkedExample) throws {
        let (text, json) = example.run(style: TerminalStyle(color: false))
        #expect(text.hasPrefix("Worked example \"\(example.rawValue)\""), "\(example.rawValue) header")
        let parsed = try JSONSerialization.jsonObject(with: Data(json.serialized().utf8)) as? [String: Any]
        #expect(parsed?["example"] as? String == example.rawValue, "\(example.rawValue): JSON parses and names the example")
    }
}

enum ExampleInputs {
    /// `[n, d]` rows as the engine's `[1, 1, n, d]`.
    static func tensor(_ rows: [[Float]]) -> Tensor {
        Tensor(shape: [1, 1, rows.count, rows[0].count], scalars: rows.flatMap { $0 })
    }
}

@Suite struct Seed004ExampleTests {
    @Test func permutingWordsPermutesOutputsOnlyWithoutPositions() {
        let example = PositionalExample.compute()
        #expect(example.differenceWithout < 1e-4, "without positions: \(example.differenceWithout)")
        #expect(example.differenceWith > 0.1, "with positions: \(example.differenceWith)")
    }

    @Test func crossAttentionHasOneRowPerQueryOverTheOtherSequence() {
        let example = CrossAttentionExample.compute()
        #expect(example.weights.shape == [3, 5] && example.output.shape == [3, CrossAttentionExample.width])
        for i in 0..<3 { #expect(abs((0..<5).reduce(Float(0)) { $0 + example.weights[i, $1] } - 1) < 1e-5) }
        #expect(example.consistency < 1e-5)
    }

    @Test func complexityReportsEveryLengthAndTheQuadraticMemory() {
        let example = ComplexityExample.compute(lengths: [16, 32], repeats: 1)
        #expect(example.rows.map(\.length) == [16, 32])
        #expect(example.rows.map(\.referenceExtraBytes) == [2 * 16 * 16 * 4, 2 * 32 * 32 * 4])
        #expect(example.rows.allSatisfy { $0.fusedExtraBytes == $0.length * 4 && $0.fusedSeconds >= 0 && $0.referenceSeconds >= 0 })
    }
}
