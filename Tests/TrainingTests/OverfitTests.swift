import Attention
import Testing
import Training

/// The end-to-end check that the pieces train together: a one-block GPT memorises one fixed
/// batch of random bytes (nothing to generalise, so only fitting can lower the loss) from
/// ln 256 ≈ 5.55 to near zero with AdamW.
@Suite struct OverfitTests {
    @Test func smallTransformerOverfitsOneBatch() throws {
        var model = TinyGPT(layers: 1, heads: 2, width: 32, context: 12, seed: 4)
        var g = SeededGenerator(seed: 8)
        let rows = (0..<4).map { _ in (0...12).map { _ in Int(g.next() % 256) } }
        let tokens = rows.map { Array($0.dropLast()) }, targets = rows.map { Array($0.dropFirst()) }
        var optimizer = AdamW(learningRate: 1e-2, weightDecay: 0)
        var first: Float = 0, last: Float = 0
        for step in 0..<150 {
            let tape = Tape(seed: UInt64(step))
            let loss = model.loss(tokens: tokens, targets: targets, on: tape)
            if step == 0 { first = loss.value.scalars[0] }
            last = loss.value.scalars[0]
            var gradients = try tape.backward(loss, step: step)
            gradients.clipByGlobalNorm(1)
            try optimizer.update(&model, with: gradients)
        }
        #expect(abs(first - 5.55) < 0.2, "initial loss \(first) should be near ln 256")
        #expect(last < 0.05, "loss after 150 steps: \(last) (from \(first))")
    }
}
