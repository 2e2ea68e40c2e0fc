import Attention
import Testing

/// A shape error in a public API stops the process with a message naming the argument and
/// both shapes, in release builds too (`checkPrecondition`, not `precondition`, whose message
/// a release build drops). Each case runs in a child process (a Swift Testing exit test).
@Suite struct ShapeErrorExitTests {
    @Test func attentionShapeErrorNamesBothShapes() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let queries = Tensor.zeros([1, 2, 3, 4])
            let keys = Tensor.zeros([1, 2, 5, 6])              // width 6 ≠ the queries' 4
            _ = scaledDotProductAttention(queries: queries, keys: keys, values: keys)
        }
        let stderr = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(stderr.contains("scaledDotProductAttention: keys width 6 differs from queries width 4 (keys [1, 2, 5, 6], queries [1, 2, 3, 4])"),
                "stderr: \(stderr)")
    }

    @Test func tensorShapeErrorNamesBothShapes() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let a = Tensor.zeros([2, 3]), b = Tensor.zeros([4, 5])
            _ = a.matmul(b)
        }
        let stderr = String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
        #expect(stderr.contains("matmul: inner dimensions differ: left [2, 3] has K=3, right [4, 5] has K=4"), "stderr: \(stderr)")
    }
}
