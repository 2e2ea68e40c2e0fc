import Attention
import Testing
import Training

/// A NaN or ±∞ loss or gradient stops the step with the step number and the first parameter
/// (in registration order) where it appeared; the model is left untouched.
@Suite struct NonFiniteTests {
    @Test func nonFiniteLossIsReportedWithTheStep() {
        let tape = Tape()
        let w = tape.parameter("w", Tensor(shape: [2], scalars: [1, .nan]))
        do {
            _ = try tape.backward(w.sum(), step: 7)
            Issue.record("expected a non-finite loss error")
        } catch {
            guard case .nonFiniteLoss(let step, let value)? = error as? TrainingError else {
                Issue.record("unexpected \(error)"); return
            }
            #expect(step == 7 && value.isNaN, "\(error)")
        }
        let logits = Tape()
        let x = logits.parameter("logits", Tensor(shape: [1, 3], scalars: [0, .infinity, 1]))
        #expect {
            _ = try logits.backward(x.crossEntropy(targets: [0]), step: 3)
        } throws: { error in
            guard case .nonFiniteLoss(let step, _)? = error as? TrainingError else { return false }
            return step == 3
        }
    }

    /// The loss is finite (0) but `second`'s gradient overflows: `d/ds Σ (s·C)·C = C·C = ∞`
    /// for `C = 3e38`. `third` overflows too, but `second` was registered first.
    @Test func firstNonFiniteGradientIsNamed() throws {
        let tape = Tape()
        let first = tape.parameter("first", Tensor(shape: [2], scalars: [1, 2]))
        let second = tape.parameter("second", .zeros([2]))
        let third = tape.parameter("third", .zeros([2]))
        let huge = tape.constant(Tensor(repeating: 3e38, shape: [2]))
        let loss = first.sum() + ((second * huge) * huge).sum() + ((third * huge) * huge).sum()
        #expect(loss.value.scalars[0].isFinite)
        do {
            _ = try tape.backward(loss, step: 12)
            Issue.record("expected a non-finite gradient error")
        } catch let error as TrainingError {
            #expect(error == .nonFiniteGradient(step: 12, parameter: "second"))
            #expect(error.description.contains("second") && error.description.contains("step 12"), "\(error)")
        }
    }

    @Test func optimizersRefuseNonFiniteGradientsWithoutTouchingTheModel() {
        var model = ThreeParameters()
        let before = model
        var bad = ThreeParameters.gradients(1)
        bad.set("norm.weight", Tensor(shape: [3], scalars: [0, .infinity, 0]))
        var adam = AdamW()
        #expect(throws: TrainingError.nonFiniteGradient(step: 1, parameter: "norm.weight")) {
            try adam.update(&model, with: bad)
        }
        var sgd = SGD(learningRate: 0.1, momentum: 0.9)
        #expect(throws: TrainingError.nonFiniteGradient(step: 1, parameter: "norm.weight")) {
            try sgd.update(&model, with: bad)
        }
        #expect(model == before && adam.step == 0 && sgd.step == 0)
    }
}
