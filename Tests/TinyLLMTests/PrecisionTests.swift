import Attention
import Testing
import TinyLLM

/// `--precision bf16` on the bundled model: the loss stays within 0.01 nats/byte of FP32, the
/// conversion touches every product and nothing else, and batched decoding still equals
/// decoding each prompt alone.
@Suite struct PrecisionTests {
    /// Public-domain verse in the style the bundled model was trained on.
    static let verse = Array("""
        ROMEO:
        But, soft! what light through yonder window breaks?
        It is the east, and Juliet is the sun.
        Arise, fair sun, and kill the envious moon,
        Who is already sick and pale with grief,
        That thou her maid art far more fair than she.

        JULIET:
        O Romeo, Romeo! wherefore art thou Romeo?
        Deny thy father and refuse thy name;
        Or, if thou wilt not, be but sworn my love,
        And I'll no longer be a Capulet.

        """.utf8)

    @Test func bfloat16LossIsWithinOneHundredthOfFloat32() throws {
        let model = try TinyLLMCheckpoint.loadBundledModel()
        let fast = model.converted(to: .bfloat16)
        #expect(model.precision == .float32 && fast.precision == .bfloat16)
        let (exact, rounded) = (model.averageLoss(on: Self.verse), fast.averageLoss(on: Self.verse))
        #expect(abs(rounded - exact) < 0.01, "bf16 loss \(rounded) vs fp32 \(exact) nats/byte")
        #expect(rounded != exact, "the conversion must change the products")
        #expect(exact < 2.5, "the bundled model should know this verse (loss \(exact))")
        // Back to FP32 is exact, and a converted model still saves its FP32 weights.
        #expect(fast.converted(to: .float32).averageLoss(on: Self.verse) == exact)
        var a = model, b = fast
        var weights: [[Float]] = [], converted: [[Float]] = []
        a.visitParameters(prefix: "") { _, t in weights.append(t.scalars) }
        b.visitParameters(prefix: "") { _, t in converted.append(t.scalars) }
        #expect(weights == converted)
    }

    @Test func batchedBFloat16DecodingEqualsOneAtATime() throws {
        let model = try TinyLLMCheckpoint.loadBundledModel().converted(to: .bfloat16)
        let sampler = try TokenSampler(temperature: 0.9, topK: 30)
        // Prompts long enough (≥ 8 bytes) that their prefill may run on AMX, and short ones
        // that decode with the few-row kernel only; more bytes than the context, so windows slide.
        let prompts = ["ROMEO:\nBut soft, what light", "JULIET:", "O", "First Citizen:\nBefore we proceed any further, hear me speak."]
            .map { Array($0.utf8) }
        let maxBytes = model.configuration.contextLength + 9
        let batched = model.generate(prompts: prompts, maxBytes: maxBytes, sampler: sampler, seed: 4)
        for (row, prompt) in prompts.enumerated() {
            let alone = model.generate(prompt: prompt, maxBytes: maxBytes, sampler: sampler, seed: 4)
            #expect(batched[row] == alone, "row \(row): batched and alone differ in BF16")
        }
    }
}
