import Attention
import Testing
import Training

/// The tape owns its nodes and their backward rules; the rules refer back to the tape without
/// keeping it alive, so a tape is freed on every path: forward only, a successful backward,
/// and a backward that throws (non-finite loss, non-finite gradient).
@Suite struct TapeLifetimeTests {
    /// A small graph through the ops with captured variables: linear (+GELU), layerNorm,
    /// matmul, broadcasting arithmetic, softmax, slicing, concatenation, cross-entropy.
    static func loss(on tape: Tape, scale: Float = 1) -> Variable {
        var generator = SeededGenerator(seed: 2)
        let x = tape.constant(.randomNormal([3, 4], standardDeviation: 1, generator: &generator))
        let w = tape.parameter("w", .randomNormal([5, 4], standardDeviation: 0.5, generator: &generator))
        let b = tape.parameter("b", .zeros([5]))
        let gamma = tape.parameter("gamma", .ones([5]))
        let h = x.linear(weight: w, bias: b, activation: .tanh).layerNorm(weight: gamma, bias: nil)
        let mixed = (h * h + h).matmul(w).softmax()                              // [3, 4]
        let both = Variable.concatenated([mixed.sliced(axis: 1, 0..<2), mixed], axis: 1)
        return both.scaled(by: scale).crossEntropy(targets: [0, 1, 2])
    }

    @Test func forwardOnlyTapeIsFreed() {
        weak var weakTape: Tape?
        do {
            let tape = Tape()
            weakTape = tape
            #expect(Self.loss(on: tape).value.scalars[0].isFinite)
        }
        #expect(weakTape == nil, "a tape used for a forward pass only was not freed")
    }

    @Test func tapeIsFreedAfterBackward() throws {
        weak var weakTape: Tape?
        do {
            let tape = Tape()
            weakTape = tape
            let gradients = try tape.backward(Self.loss(on: tape))
            #expect(gradients.names.count == 3)
        }
        #expect(weakTape == nil, "a tape was not freed after a successful backward")
    }

    @Test func tapeIsFreedAfterANonFiniteLoss() {
        weak var weakTape: Tape?
        do {
            let tape = Tape()
            weakTape = tape
            #expect(throws: TrainingError.self) { try tape.backward(Self.loss(on: tape, scale: .nan)) }
        }
        #expect(weakTape == nil, "a tape was not freed after backward threw for a non-finite loss")
    }

    @Test func tapeIsFreedAfterANonFiniteGradient() {
        weak var weakTape: Tape?
        do {
            let tape = Tape()
            weakTape = tape
            let loss = Self.loss(on: tape)
            // A custom rule (captures nothing) that sends +∞ to `w`.
            let poisoned = tape.record(loss.value, inputs: [loss]) { g, tape in
                let w = tape.parameter(named: "w")!
                tape.accumulate(Tensor(repeating: .infinity, shape: w.shape), into: w)
            }
            #expect(throws: TrainingError.self) { try tape.backward(poisoned) }
        }
        #expect(weakTape == nil, "a tape was not freed after backward threw for a non-finite gradient")
    }
}
