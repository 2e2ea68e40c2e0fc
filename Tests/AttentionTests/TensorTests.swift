import Attention
import Testing

@Suite struct TensorTests {
    /// The loaders' placeholder generator: constant tensors, nothing drawn; a seeded one samples.
    @Test func placeholderGeneratorSamplesNothing() {
        var placeholder = SeededGenerator.placeholder
        #expect(placeholder.isPlaceholder)
        #expect(Tensor.randomNormal([3, 4], mean: 0.5, standardDeviation: 2, generator: &placeholder).scalars == Array(repeating: 0.5, count: 12))
        #expect(Tensor.randomUniform([5], low: -1, high: 1, generator: &placeholder).scalars == Array(repeating: -1, count: 5))
        #expect(placeholder == SeededGenerator(seed: 0))   // its state did not move
        var seeded = SeededGenerator(seed: 0)
        #expect(!seeded.isPlaceholder)
        let drawn = Tensor.randomNormal([64], generator: &seeded).scalars
        #expect(Set(drawn).count == 64)
        #expect(seeded != SeededGenerator(seed: 0))
    }

    @Test func shapeAndScalarsRoundTrip() {
        let t = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(t.shape == [2, 3])
        #expect(t.scalars == [1, 2, 3, 4, 5, 6])
        #expect(t[1, 2] == 6)
    }

    @Test func transposeAndPermute() {
        let t = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(t.transposed().scalars == [1, 4, 2, 5, 3, 6])
        let u = Tensor(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6]).permuted([2, 0, 1])
        #expect(u.shape == [3, 2, 1])
        #expect(u.scalars == [1, 4, 2, 5, 3, 6])
    }

    /// Large enough to be split across threads (≥ 2 × 16 384 elements, so two threads take a block each), every permutation of four
    /// awkward axes (the last axis kept or moved), against index arithmetic; empty shapes too.
    @Test func permuteMatchesIndexArithmeticOnLargeShapes() {
        let shape = [3, 17, 13, 71]
        let t = Tensor(shape: shape, scalars: (0..<(3 * 17 * 13 * 71)).map { Float($0) })
        func permutations(_ xs: [Int]) -> [[Int]] {
            xs.count <= 1 ? [xs] : xs.indices.flatMap { i in
                permutations(Array(xs[..<i] + xs[(i + 1)...])).map { [xs[i]] + $0 }
            }
        }
        for axes in permutations([0, 1, 2, 3]) {
            let p = t.permuted(axes)
            let newShape = axes.map { shape[$0] }
            #expect(p.shape == newShape)
            var mismatches = 0
            for flat in 0..<p.count {
                var rest = flat, index = [Int](repeating: 0, count: 4)
                for axis in stride(from: 3, through: 0, by: -1) { index[axis] = rest % newShape[axis]; rest /= newShape[axis] }
                var source = [Int](repeating: 0, count: 4)
                for (k, axis) in axes.enumerated() { source[axis] = index[k] }
                let want = ((source[0] * 17 + source[1]) * 13 + source[2]) * 71 + source[3]
                if p.scalars[flat] != Float(want) { mismatches += 1 }
            }
            #expect(mismatches == 0, "permuted(\(axes)): \(mismatches) elements out of place")
        }
        let empty = Tensor.zeros([2, 0, 3]).permuted([2, 1, 0])
        #expect(empty.shape == [3, 0, 2] && empty.count == 0)
    }

    @Test func matmulMatchesHandComputed() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        #expect(a.matmul(b).scalars == [58, 64, 139, 154])
        #expect(a.matmul(a, transposingOther: true).scalars == [14, 32, 32, 77])
    }

    @Test func softmaxOfAllMaskedRowIsZero() {
        let t = Tensor(shape: [2, 2], scalars: [-.infinity, -.infinity, 0, 0]).softmax()
        #expect(t.scalars == [0, 0, 0.5, 0.5])
    }

    @Test func broadcastingAdd() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3], scalars: [10, 20, 30])
        #expect((a + b).scalars == [11, 22, 33, 14, 25, 36])
    }

    /// `fresh + b` (a residual stream: a layer's new output plus its input) adds into the
    /// storage of a left operand no one else holds; one still in use is copied first and keeps
    /// its values.
    @Test func addingToAFreshTensorReusesItsStorage() {
        let n = 20_000
        let b = Tensor(shape: [n], scalars: (0..<n).map { Float($0) })
        nonisolated(unsafe) var address: UnsafePointer<Float>?
        func fresh() -> Tensor {
            let t = Tensor(shape: [n], scalars: [Float](repeating: 0.5, count: n))
            address = t.withUnsafeBufferPointer { $0.baseAddress }
            return t
        }
        let sum = fresh() + b
        #expect(sum.withUnsafeBufferPointer { $0.baseAddress } == address)
        #expect(sum.scalars == (0..<n).map { 0.5 + Float($0) })
        let held = fresh()
        let other = held + b
        #expect(!other.sharesStorage(with: held) && held.scalars.allSatisfy { $0 == 0.5 })
        #expect(other.scalars == sum.scalars)
    }
}
