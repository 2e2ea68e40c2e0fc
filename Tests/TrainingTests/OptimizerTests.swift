import Attention
import Foundation
import Testing
import Training

/// Three named parameters: a matrix (decayed), its bias and a norm gain (never decayed).
struct ThreeParameters: ParameterContainer, Equatable {
    var weight = Tensor(shape: [2, 3], scalars: [0.5, -1, 2, 0.25, -0.75, 1.5])
    var bias = Tensor(shape: [3], scalars: [0.1, -0.2, 0.3])
    var gain = Tensor(shape: [3], scalars: [1, 1.5, 0.5])

    mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try body(Self.join(prefix, "layer.weight"), &weight)
        try body(Self.join(prefix, "layer.bias"), &bias)
        try body(Self.join(prefix, "norm.weight"), &gain)
    }

    static func gradients(_ seed: UInt64) -> Gradients {
        Gradients([("layer.weight", randomTensor([2, 3], seed: seed)), ("layer.bias", randomTensor([3], seed: seed + 1)),
                   ("norm.weight", randomTensor([3], seed: seed + 2))])
    }
}

@Suite struct OptimizerTests {
    /// Two AdamW steps against the formula evaluated in Float64 by hand (bias correction at
    /// t = 1 and t = 2; decay on the matrix only). Float32 rounding of a few operations on
    /// O(1) values: 1e-6 absolute.
    @Test func adamWStepsEqualTheHandComputedUpdate() throws {
        let (lr, b1, b2, eps, wd) = (0.05, 0.9, 0.999, 1e-8, 0.1)
        var model = ThreeParameters()
        var optimizer = AdamW(learningRate: Float(lr), beta1: Float(b1), beta2: Float(b2), epsilon: Float(eps), weightDecay: Float(wd))
        let steps = [ThreeParameters.gradients(10), ThreeParameters.gradients(20)]
        var expected: [String: [Double]] = [:], m: [String: [Double]] = [:], v: [String: [Double]] = [:]
        for (name, t) in model.namedParameters { expected[name] = t.scalars.map(Double.init) }
        for (t, gradients) in steps.enumerated() {
            try optimizer.update(&model, with: gradients)
            let step = Double(t + 1)
            for (name, g) in gradients.namedTensors {
                let decay = name == "layer.weight" ? wd : 0
                for i in 0..<g.count {
                    let gi = Double(g.scalars[i])
                    let mi = b1 * (m[name]?[i] ?? 0) + (1 - b1) * gi
                    let vi = b2 * (v[name]?[i] ?? 0) + (1 - b2) * gi * gi
                    m[name, default: Array(repeating: 0, count: g.count)][i] = mi
                    v[name, default: Array(repeating: 0, count: g.count)][i] = vi
                    let mHat = mi / (1 - pow(b1, step)), vHat = vi / (1 - pow(b2, step))
                    let p = expected[name]![i]
                    expected[name]![i] = p - lr * (mHat / (vHat.squareRoot() + eps) + decay * p)
                }
            }
        }
        #expect(optimizer.step == 2)
        for (name, t) in model.namedParameters {
            let worst = zip(t.scalars, expected[name]!).map { abs(Double($0) - $1) }.max()!
            #expect(worst <= 1e-6, "AdamW \(name): off by \(worst)")
        }
    }

    @Test func weightDecayRuleSkipsBiasesNormsAndOptionallyEmbeddings() {
        let rule = WeightDecayRule()
        #expect(rule.decays(name: "blocks.0.attention.wq.weight", shape: [8, 8]))
        #expect(!rule.decays(name: "blocks.0.attention.wq.bias", shape: [8]))
        #expect(!rule.decays(name: "blocks.0.norm1.weight", shape: [8]))
        #expect(!rule.decays(name: "some.bias", shape: [2, 2]), "a matrix named bias")
        #expect(rule.decays(name: "embedding.weight", shape: [256, 8]))
        #expect(!WeightDecayRule(decayEmbeddings: false).decays(name: "embedding.weight", shape: [256, 8]))
    }

    /// SGD with momentum μ (PyTorch form): b₁ = g₁, θ₁ = θ₀ − lr·g₁; b₂ = μb₁ + g₂,
    /// θ₂ = θ₁ − lr·b₂; Nesterov uses g + μb instead of b.
    @Test(arguments: [false, true])
    func sgdMomentumStepsEqualTheHandComputedUpdate(_ nesterov: Bool) throws {
        let (lr, mu): (Float, Float) = (0.1, 0.9)
        var model = ThreeParameters()
        let start = model
        var optimizer = SGD(learningRate: lr, momentum: mu, nesterov: nesterov)
        let g1 = ThreeParameters.gradients(30), g2 = ThreeParameters.gradients(40)
        try optimizer.update(&model, with: g1)
        try optimizer.update(&model, with: g2)
        for (name, t) in model.namedParameters {
            let p0 = start.namedParameters.first { $0.name == name }!.tensor.scalars
            let a = g1[name]!.scalars, b = g2[name]!.scalars
            for i in 0..<t.count {
                let b1 = a[i], b2 = mu * b1 + b[i]
                let p1 = p0[i] - lr * (nesterov ? a[i] + mu * b1 : b1)
                let p2 = p1 - lr * (nesterov ? b[i] + mu * b2 : b2)
                #expect(abs(t.scalars[i] - p2) <= 1e-6, "SGD nesterov=\(nesterov) \(name)[\(i)]: \(t.scalars[i]) vs \(p2)")
            }
        }
    }

    @Test func clippingByGlobalNormScalesEveryGradientByOneFactor() {
        var g = Gradients([("a", Tensor(shape: [2], scalars: [3, 0])), ("b", Tensor(shape: [1], scalars: [4]))])
        #expect(abs(g.globalNorm - 5) < 1e-6)
        let before = g.clipByGlobalNorm(1)
        #expect(abs(before - 5) < 1e-6)
        #expect(g["a"]!.scalars.elementsEqual([0.6, 0], by: { abs($0 - $1) < 1e-6 }), "\(g["a"]!.scalars)")
        #expect(abs(g["b"]!.scalars[0] - 0.8) < 1e-6)
        let unchanged = g
        g.clipByGlobalNorm(10)
        #expect(g["a"]! == unchanged["a"]! && g["b"]! == unchanged["b"]!, "below the maximum nothing changes")
    }

    @Test func warmupThenCosineSchedule() {
        let s = LearningRateSchedule(peak: 1e-3, floor: 1e-4, warmupSteps: 10, decaySteps: 110)
        #expect(abs(s(0) - 1e-3 / 11) < 1e-9)
        #expect(abs(s(9) - 1e-3 * 10 / 11) < 1e-9)
        #expect(abs(s(10) - 1e-3) < 1e-9, "peak right after warmup")
        #expect(abs(s(60) - 5.5e-4) < 1e-8, "half way: the mean of peak and floor")
        #expect(abs(s(110) - 1e-4) < 1e-9)
        #expect(abs(s(500) - 1e-4) < 1e-9, "after the decay: the floor")
        #expect((10..<110).allSatisfy { s($0 + 1) <= s($0) }, "monotone decay")
        let linear = LearningRateSchedule(peak: 1, floor: 0, warmupSteps: 0, decaySteps: 4, decay: .linear)
        #expect([0, 1, 2, 3, 4].map { linear($0) } == [1, 0.75, 0.5, 0.25, 0])
        #expect(LearningRateSchedule.constant(0.3)(1000) == 0.3)
    }

    /// Accumulating two micro-batches and scaling by ½ gives the gradient of the mean loss
    /// over the whole batch.
    @Test func gradientAccumulationEqualsTheFullBatchGradient() throws {
        var g = SeededGenerator(seed: 9)
        let layer = Linear(inputSize: 5, outputSize: 3, standardDeviation: 0.5, generator: &g)
        let x = randomTensor([4, 5], seed: 3), targets = [0, 2, 1, 2]
        func loss(_ rows: Range<Int>, _ tape: Tape) -> Variable {
            layer(tape.constant(x.sliced(axis: 0, rows)), prefix: "fc").crossEntropy(targets: Array(targets[rows]))
        }
        var accumulated = Gradients()
        for half in [0..<2, 2..<4] {
            let tape = Tape()
            try tape.backward(loss(half, tape), accumulatingInto: &accumulated)
        }
        accumulated.scale(by: 0.5)
        let tape = Tape()
        let full = try tape.backward(loss(0..<4, tape))
        #expect(accumulated.names == full.names)
        for name in full.names {
            #expect(accumulated[name]!.maxAbsDifference(full[name]!) <= 1e-6, "\(name)")
        }
    }

    /// Exported state (named tensors + step) restores into a fresh optimizer that then
    /// continues bit-identically.
    @Test func optimizerStateRoundTripsExactly() throws {
        var a = ThreeParameters(), adam = AdamW(learningRate: 0.01)
        var s = ThreeParameters(), sgd = SGD(learningRate: 0.01, momentum: 0.9)
        for seed in [1, 2, 3] as [UInt64] {
            try adam.update(&a, with: ThreeParameters.gradients(seed))
            try sgd.update(&s, with: ThreeParameters.gradients(seed))
        }
        let adamState = adam.state
        #expect(adamState.map(\.name) == ["adam.m.layer.bias", "adam.v.layer.bias", "adam.m.layer.weight", "adam.v.layer.weight",
                                          "adam.m.norm.weight", "adam.v.norm.weight"])
        var adamCopy = AdamW(learningRate: 0.01), sgdCopy = SGD(learningRate: 0.01, momentum: 0.9)
        try adamCopy.restore(state: adamState, step: adam.step)
        try sgdCopy.restore(state: sgd.state, step: sgd.step)
        var a2 = a, s2 = s
        let next = ThreeParameters.gradients(4)
        try adam.update(&a, with: next); try adamCopy.update(&a2, with: next)
        try sgd.update(&s, with: next); try sgdCopy.update(&s2, with: next)
        #expect(a == a2, "AdamW continues bit-identically")
        #expect(s == s2, "SGD continues bit-identically")

        #expect(throws: TrainingError.self) {
            try adamCopy.restore(state: [("adam.m.x", .zeros([2]))], step: 1)  // no partner
        }
        #expect(throws: TrainingError.self) {
            try adamCopy.restore(state: [("momentum.x", .zeros([2]))], step: 1)
        }
    }
}
