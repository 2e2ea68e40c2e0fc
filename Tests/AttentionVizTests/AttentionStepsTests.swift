import Attention
import AttentionViz
import Foundation
import TestSupport
import Testing

/// Every intermediate of the toy model, and of `--json`, recomputes from the one before it in
/// Float64: X·W_Q = Q, Qₕ·Kₕᵀ = S, S/√d_k = Ŝ, softmax(Ŝ) = A, A·V = Z, concat·W^O = output.
@Suite struct AttentionStepsTests {
    /// Error budget: Float32 dot products of length n with entries of size ~|x|·|w| ≤ 10
    /// round to ~n·ε·10 ≈ 1e-5; 1e-4 (relative to 1 + |value|) leaves room for the GEMM's order.
    static let tolerance = 1e-4

    struct Matrix {
        var rows: Int, columns: Int, values: [Double]
        subscript(i: Int, j: Int) -> Double { values[i * columns + j] }
        init(rows: Int, columns: Int, values: [Double]) { self.rows = rows; self.columns = columns; self.values = values }
        init(_ t: Tensor) { self.init(rows: t.shape[0], columns: t.shape[1], values: t.scalars.map(Double.init)) }
        init(json: Any?) throws {
            let object = try #require(json as? [String: Any], "a tensor object")
            let shape = try #require(object["shape"] as? [Int], "shape")
            let data = try #require(object["data"] as? [[Any]], "2-d data")
            let values = data.flatMap { $0.map { ($0 as? Double) ?? -.infinity } }
            self.init(rows: shape[0], columns: shape[1], values: values)
        }
        func times(_ o: Matrix, transposingOther: Bool = false) -> Matrix {
            let inner = columns, n = transposingOther ? o.rows : o.columns
            var out = [Double](repeating: 0, count: rows * n)
            for i in 0..<rows { for j in 0..<n { for k in 0..<inner {
                out[i * n + j] += self[i, k] * (transposingOther ? o[j, k] : o[k, j])
            } } }
            return Matrix(rows: rows, columns: n, values: out)
        }
        func columns(_ range: Range<Int>) -> Matrix {
            Matrix(rows: rows, columns: range.count, values: (0..<rows).flatMap { i in range.map { self[i, $0] } })
        }
        func softmaxRows() -> Matrix {
            var out = values
            for i in 0..<rows {
                let row = values[i * columns..<(i + 1) * columns]
                let m = row.max()!
                let s = row.reduce(0) { $0 + exp($1 - m) }
                for j in 0..<columns { out[i * columns + j] = exp(values[i * columns + j] - m) / s }
            }
            return Matrix(rows: rows, columns: columns, values: out)
        }
    }

    static func expectClose(_ a: Matrix, _ b: Matrix, _ name: String) {
        #expect(a.rows == b.rows && a.columns == b.columns, "\(name): shape \(a.rows)×\(a.columns) vs \(b.rows)×\(b.columns)")
        let worst = zip(a.values, b.values).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
        #expect(worst < tolerance, "\(name): relative error \(worst)")
    }

    @Test(arguments: [(1, 2, "cat"), (3, 1, "The cat sat on the mat"), (4, 2, "How are you doing? Fine, thanks.")])
    func jsonRecomputesStepByStep(heads: Int, layer: Int, text: String) throws {
        var configuration = ToyAttentionModel.Configuration()
        configuration.heads = heads
        configuration.modelSize = 4 * heads
        let model = try ToyAttentionModel(bytes: Array(text.utf8), configuration: configuration)
        var options = ExplainOptions()
        options.layer = layer - 1
        let json = ExplainJSON.make(model, options: options).serialized()
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let steps = try #require(root["steps"] as? [String: Any], "steps object")
        let x = try Matrix(json: steps["X"]), wq = try Matrix(json: steps["W_Q"])
        let wk = try Matrix(json: steps["W_K"]), wv = try Matrix(json: steps["W_V"]), wo = try Matrix(json: steps["W_O"])
        let q = x.times(wq), k = x.times(wk), v = x.times(wv)
        Self.expectClose(try Matrix(json: steps["Q"]), q, "Q = X·W_Q (\(text))")
        Self.expectClose(try Matrix(json: steps["K"]), k, "K = X·W_K")
        Self.expectClose(try Matrix(json: steps["V"]), v, "V = X·W_V")
        let dk = try #require(steps["d_k"] as? Int)
        let headObjects = try #require(steps["heads"] as? [[String: Any]])
        #expect(headObjects.count == heads, "one entry per head")
        var concatenated: [Matrix] = []
        for (h, head) in headObjects.enumerated() {
            let cols = h * dk..<(h + 1) * dk
            let qh = try Matrix(json: head["Q"]), kh = try Matrix(json: head["K"]), vh = try Matrix(json: head["V"])
            Self.expectClose(qh, q.columns(cols), "head \(h + 1): Qₕ is columns \(cols) of Q")
            let s = qh.times(kh, transposingOther: true)
            Self.expectClose(try Matrix(json: head["scores"]), s, "head \(h + 1): S = QₕKₕᵀ")
            let scaled = Matrix(rows: s.rows, columns: s.columns, values: s.values.map { $0 / Double(dk).squareRoot() })
            Self.expectClose(try Matrix(json: head["scaledScores"]), scaled, "head \(h + 1): Ŝ = S/√d_k")
            let a = scaled.softmaxRows()
            Self.expectClose(try Matrix(json: head["weights"]), a, "head \(h + 1): A = softmax(Ŝ)")
            let z = a.times(vh)
            Self.expectClose(try Matrix(json: head["Z"]), z, "head \(h + 1): Z = A·V")
            concatenated.append(try Matrix(json: head["Z"]))
        }
        let t = x.rows
        let concat = Matrix(rows: t, columns: heads * dk, values: (0..<t).flatMap { i in concatenated.flatMap { m in (0..<dk).map { m[i, $0] } } })
        Self.expectClose(try Matrix(json: steps["concatenated"]), concat, "concat = [Z₁ … Z_H]")
        Self.expectClose(try Matrix(json: steps["output"]), concat.times(wo), "output = concat·W^O")
    }

    @Test func stepsAgreeWithTheFloat64AttentionReference() throws {
        let model = try ToyAttentionModel(bytes: Array("a b c d e f g".utf8))
        let s = try #require(model.steps(layer: 1))
        for h in 0..<s.headCount {
            let t = s.tokenCount, d = s.headSize
            let reference = Float64Reference.attention(
                queries: s.headQueries[h].reshaped([1, 1, t, d]), keys: s.headKeys[h].reshaped([1, 1, t, d]),
                values: s.headValues[h].reshaped([1, 1, t, d]))
            #expect(Float64Reference.maxAbsError(s.headOutputs[h], reference) < 1e-5, "head \(h + 1): Z vs Float64 reference")
        }
        #expect(s.fusedKernelDifference < 1e-5, "the fused kernel agrees with the reference: \(s.fusedKernelDifference)")
    }

    @Test func equalWordsShareAnEmbedding() throws {
        let model = try ToyAttentionModel(bytes: Array("The cat saw the cat".utf8))
        let x = try #require(model.steps(layer: 0)).input
        #expect(row(x, 0) == row(x, 3) && row(x, 1) == row(x, 4), "The/the and cat/cat get one embedding each")
        #expect(row(x, 0) != row(x, 1), "different words differ")
    }

    func row(_ t: Tensor, _ i: Int) -> [Float] { Array(t.scalars[i * t.shape[1]..<(i + 1) * t.shape[1]]) }
}
