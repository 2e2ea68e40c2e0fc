import Attention
import TinyLLM
import Testing
import Training

/// The README's training loop, compiled and run for a few steps so the documentation cannot rot.
@Suite struct ReadmeTrainingExampleTests {
    @Test func trainingLoopFromTheReadmeLowersTheLoss() throws {
        var g = SeededGenerator(seed: 0)
        var model = TinyLLMModel(configuration: .tiny, generator: &g)
        var optimizer = AdamW(learningRate: 1e-2, weightDecay: 0.1)
        let schedule = LearningRateSchedule(peak: 1e-2, floor: 1e-3, warmupSteps: 2, decaySteps: 30)
        let bytes = Array("To be, or not to be, that is the question.".utf8).map(Int.init)
        let x = [Array(bytes[0..<16])], y = [Array(bytes[1..<17])]
        var losses: [Float] = []
        for step in 0..<30 {
            let tape = Tape(training: true, seed: UInt64(step))
            let loss = model.loss(inputs: x, targets: y, on: tape)
            losses.append(loss.value.scalars[0])
            var gradients = try tape.backward(loss, step: step)
            gradients.clipByGlobalNorm(1)
            optimizer.learningRate = schedule(step)
            try optimizer.update(&model, with: gradients)
        }
        #expect(losses.last! < losses.first! - 1, "loss \(losses.first!) → \(losses.last!)")
    }
}
