import Attention
import Testing
import Training

/// `Tape.backward(_:step:onParameterGradientReady:afterEachRule:)`: what data-parallel training
/// needs to start summing gradients during the backward pass. Each parameter is reported once,
/// with its final gradient, as early as the graph allows, and the observed sweep computes
/// exactly what the plain one computes.
@Suite struct TapeObserverTests {
    struct Report {
        var name: String
        var gradient: Tensor?
        /// Rules that had run when the parameter was reported.
        var rulesBefore: Int
    }

    /// One TinyGPT step, observed: the reports and the returned gradients.
    static func observedStep(_ model: TinyGPT, batch: (tokens: [[Int]], targets: [[Int]])) throws -> (reports: [Report], rules: Int, gradients: Gradients) {
        let tape = Tape()
        let loss = model.loss(tokens: batch.tokens, targets: batch.targets, on: tape)
        var reports: [Report] = []
        var rules = 0
        let gradients = try tape.backward(loss, step: 0, onParameterGradientReady: { name, gradient in
            reports.append(Report(name: name, gradient: gradient, rulesBefore: rules))
        }, afterEachRule: { rules += 1 })
        return (reports, rules, gradients)
    }

    @Test func observedGradientsAreBitIdenticalAndEachIsReportedOnceWithItsFinalValue() throws {
        let model = TinyGPT(layers: 2, heads: 2, width: 16, context: 8)
        let batch = byteBatch(batch: 3, length: 8, seed: 4)
        let plainTape = Tape()
        let plain = try plainTape.backward(model.loss(tokens: batch.tokens, targets: batch.targets, on: plainTape))
        let (reports, rules, observed) = try Self.observedStep(model, batch: batch)

        #expect(observed.names == plain.names)
        for name in plain.names {
            #expect(observed[name]!.scalars.map(\.bitPattern) == plain[name]!.scalars.map(\.bitPattern), "\(name)")
        }
        // Every parameter once, and what was reported is the final gradient.
        #expect(reports.map(\.name).sorted() == model.namedParameters.map(\.name).sorted())
        for report in reports {
            #expect(report.gradient?.scalars.map(\.bitPattern) == plain[report.name]?.scalars.map(\.bitPattern), "\(report.name)")
        }
        // Reports come during the sweep, last layers first; the tied embedding (read by the
        // first operation and by the output head) only once the last rule ran (a report comes
        // right after its rule, before that rule's `afterEachRule`).
        #expect(rules > 20)
        #expect(reports.first!.name.hasPrefix("finalNorm") && reports.first!.rulesBefore < rules / 4)
        #expect(reports.last!.name == "embedding.weight" && reports.last!.rulesBefore == rules - 1)
        let block1 = reports.firstIndex { $0.name.hasPrefix("blocks.1") }!, block0 = reports.firstIndex { $0.name.hasPrefix("blocks.0") }!
        #expect(block1 < block0)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.rulesBefore <= $1.rulesBefore })
    }

    @Test func aParameterTheLossDoesNotReachIsReportedWithoutAGradient() throws {
        let tape = Tape()
        let w = tape.parameter("w", .ones([3]))
        _ = tape.parameter("unused", .ones([2]))
        var reports: [(String, Tensor?)] = []
        let gradients = try tape.backward((w * w).sum(), onParameterGradientReady: { reports.append(($0, $1)) })
        #expect(reports.map(\.0) == ["w", "unused"])
        #expect(reports[0].1?.scalars == [2, 2, 2] && reports[1].1 == nil)
        #expect(gradients.names == ["w"])
    }

    @Test func aNonFiniteLossReportsNothing() {
        let tape = Tape()
        let w = tape.parameter("w", .ones([3]))
        var reported = 0
        #expect(throws: TrainingError.self) {
            try tape.backward((w * tape.constant(Tensor(repeating: .nan, shape: [3]))).sum(),
                              onParameterGradientReady: { _, _ in reported += 1 })
        }
        #expect(reported == 0)
    }

    @Test func aNonFiniteGradientIsReportedThenThrown() {
        let tape = Tape()
        let w = tape.parameter("w", .ones([2]))
        let loss = (w * w).sum()
        let poisoned = tape.record(loss.value, inputs: [loss, w]) { g, tape in
            tape.accumulate(g, into: loss)
            let w = tape.parameter(named: "w")!
            tape.accumulate(Tensor(repeating: .infinity, shape: [2]), into: w)
        }
        var reported: [String] = []
        #expect(throws: TrainingError.nonFiniteGradient(step: 3, parameter: "w")) {
            try tape.backward(poisoned, step: 3, onParameterGradientReady: { name, _ in reported.append(name) })
        }
        #expect(reported == ["w"])
    }

    /// The trainer's shards skip the tape's scan for NaN and ±∞ (their sum is checked instead):
    /// the same non-finite gradient comes back instead of being thrown; a non-finite loss
    /// still throws.
    @Test func theSkippingBackwardReturnsWhatTheCheckingOneThrows() throws {
        let tape = Tape()
        let w = tape.parameter("w", .ones([2]))
        let loss = (w * w).sum()
        let poisoned = tape.record(loss.value, inputs: [loss, w]) { g, tape in
            tape.accumulate(g, into: loss)
            tape.accumulate(Tensor(repeating: .infinity, shape: [2]), into: tape.parameter(named: "w")!)
        }
        let gradients = try tape.backwardSkippingFiniteCheck(poisoned, step: 3)
        #expect(gradients["w"]!.scalars == [.infinity, .infinity])
        #expect(gradients.firstNonFiniteName() == "w")

        let other = Tape()
        let v = other.parameter("v", .ones([3]))
        #expect(throws: TrainingError.nonFiniteLoss(step: 4, value: .infinity)) {
            try other.backwardSkippingFiniteCheck((v * other.constant(Tensor(repeating: .infinity, shape: [3]))).sum(), step: 4)
        }
    }
}
