import Attention
import Foundation
import Pretrained

/// BERT's forward pass for one sequence in Float64, written from the definition with plain
/// loops and no shared code: the specification the encoder is tested against.
enum BertFloat64Reference {
    /// Final hidden states `[L][H]` and attention weights `[layer][head][i][j]`.
    static func forward(_ model: BertModel, ids: [Int]) -> (hidden: [[Double]], attention: [[[[Double]]]]) {
        let c = model.configuration
        let (h, heads) = (c.hiddenSize, c.headCount)
        let d = h / heads
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.tensor.scalars.map(Double.init)) })
        func p(_ name: String) -> [Double] { parameters[name]! }
        func linear(_ x: [[Double]], _ name: String) -> [[Double]] {
            let w = p(name + ".weight"), b = p(name + ".bias")
            let outputs = b.count, inputs = w.count / outputs
            return x.map { (row: [Double]) -> [Double] in
                (0..<outputs).map { (o: Int) -> Double in
                    var sum = b[o]
                    for i in 0..<inputs { sum += w[o * inputs + i] * row[i] }
                    return sum
                }
            }
        }
        func norm(_ x: [[Double]], _ name: String) -> [[Double]] {
            let g = p(name + ".weight"), b = p(name + ".bias"), eps = Double(c.layerNormEpsilon)
            return x.map { (row: [Double]) -> [Double] in
                let mean: Double = row.reduce(0, +) / Double(row.count)
                var variance = 0.0
                for value in row { variance += (value - mean) * (value - mean) }
                variance /= Double(row.count)
                let inverse = 1 / (variance + eps).squareRoot()
                return row.indices.map { (j: Int) -> Double in (row[j] - mean) * inverse * g[j] + b[j] }
            }
        }
        func add(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
            zip(a, b).map { (x: [Double], y: [Double]) -> [Double] in zip(x, y).map { $0 + $1 } }
        }

        let word = p("embeddings.word_embeddings.weight"), position = p("embeddings.position_embeddings.weight")
        let type = p("embeddings.token_type_embeddings.weight")
        let summed = ids.enumerated().map { (i: Int, id: Int) -> [Double] in
            (0..<h).map { (j: Int) -> Double in word[id * h + j] + position[i * h + j] + type[j] }
        }
        var x = norm(summed, "embeddings.LayerNorm")
        var attention: [[[[Double]]]] = []
        for layer in 0..<c.layerCount {
            let prefix = "encoder.layer.\(layer)."
            let q = linear(x, prefix + "attention.self.query"), k = linear(x, prefix + "attention.self.key")
            let v = linear(x, prefix + "attention.self.value")
            var context = [[Double]](repeating: [Double](repeating: 0, count: h), count: ids.count)
            var maps: [[[Double]]] = []
            for head in 0..<heads {
                let columns = (head * d)..<((head + 1) * d)
                var map: [[Double]] = []
                for i in ids.indices {
                    let scores = ids.indices.map { (j: Int) -> Double in
                        var dot = 0.0
                        for column in columns { dot += q[i][column] * k[j][column] }
                        return dot / Double(d).squareRoot()
                    }
                    let top = scores.max()!
                    let exps = scores.map { exp($0 - top) }
                    let total = exps.reduce(0, +)
                    let weights = exps.map { $0 / total }
                    map.append(weights)
                    for column in columns {
                        var sum = 0.0
                        for j in ids.indices { sum += weights[j] * v[j][column] }
                        context[i][column] = sum
                    }
                }
                maps.append(map)
            }
            attention.append(maps)
            let attended = norm(add(linear(context, prefix + "attention.output.dense"), x), prefix + "attention.output.LayerNorm")
            let inner = linear(attended, prefix + "intermediate.dense").map { (row: [Double]) -> [Double] in
                row.map { (u: Double) -> Double in 0.5 * u * (1 + erf(u / 2.0.squareRoot())) }
            }
            x = norm(add(linear(inner, prefix + "output.dense"), attended), prefix + "output.LayerNorm")
        }
        return (x, attention)
    }
}
