import Attention
import Testing
import Training

/// Finite-difference checks of every primitive's backward rule, on awkward shapes.
@Suite struct OperationGradientTests {
    static let cases: [GradientCase] = [
        GradientCase(name: "add same shape [3,7]", inputs: [randomTensor([3, 7], seed: 1), randomTensor([3, 7], seed: 2)]) { $0[0] + $0[1] },
        GradientCase(name: "add broadcast [2,1,5]+[3,5]", inputs: [randomTensor([2, 1, 5], seed: 3), randomTensor([3, 5], seed: 4)]) { $0[0] + $0[1] },
        GradientCase(name: "add row vector [4,7]+[7]", inputs: [randomTensor([4, 7], seed: 5), randomTensor([7], seed: 6)]) { $0[0] + $0[1] },
        GradientCase(name: "sub broadcast [3,1]-[2,3,4]", inputs: [randomTensor([3, 1], seed: 7), randomTensor([2, 3, 4], seed: 8)]) { $0[0] - $0[1] },
        GradientCase(name: "mul broadcast [2,3,4]*[3,1]", inputs: [randomTensor([2, 3, 4], seed: 9), randomTensor([3, 1], seed: 10)]) { $0[0] * $0[1] },
        GradientCase(name: "mul same variable twice", inputs: [randomTensor([5], seed: 11)]) { $0[0] * $0[0] },
        GradientCase(name: "scale, negate, divide, add scalar", inputs: [randomTensor([1, 7], seed: 12)]) { ((-$0[0]) * 2.5 / 3 + 1.5).scaled(by: 0.7) },
        GradientCase(name: "sum and mean", inputs: [randomTensor([3, 5], seed: 13)]) { $0[0].sum() + $0[0].mean() },
        GradientCase(name: "reshape then permute [2,3,4]→[4,2,3]", inputs: [randomTensor([2, 3, 4], seed: 14)]) {
            $0[0].reshaped([6, 4]).reshaped([2, 3, 4]).permuted([2, 0, 1])
        },
        GradientCase(name: "transpose [2,3,5]", inputs: [randomTensor([2, 3, 5], seed: 15)]) { $0[0].transposed() },
        GradientCase(name: "slice axis 1 of [2,7,3]", inputs: [randomTensor([2, 7, 3], seed: 16)]) { $0[0].sliced(axis: 1, 2..<5) },
        GradientCase(name: "concat axis 1 of [2,1,3],[2,4,3],[2,2,3]",
            inputs: [randomTensor([2, 1, 3], seed: 17), randomTensor([2, 4, 3], seed: 18), randomTensor([2, 2, 3], seed: 19)]) {
            Variable.concatenated($0, axis: 1)
        },
        GradientCase(name: "matmul [7,5]·[5,3]", inputs: [randomTensor([7, 5], seed: 20), randomTensor([5, 3], seed: 21)]) { $0[0].matmul($0[1]) },
        GradientCase(name: "matmul [5,7]ᵀ·[5,3]", inputs: [randomTensor([5, 7], seed: 22), randomTensor([5, 3], seed: 23)]) {
            $0[0].matmul($0[1], transposingSelf: true)
        },
        GradientCase(name: "matmul [7,5]·[3,5]ᵀ", inputs: [randomTensor([7, 5], seed: 24), randomTensor([3, 5], seed: 25)]) {
            $0[0].matmul($0[1], transposingOther: true)
        },
        GradientCase(name: "matmul [5,7]ᵀ·[3,5]ᵀ", inputs: [randomTensor([5, 7], seed: 26), randomTensor([3, 5], seed: 27)]) {
            $0[0].matmul($0[1], transposingSelf: true, transposingOther: true)
        },
        GradientCase(name: "batched broadcast matmul [2,3,4,5]·[3,5,6]", inputs: [randomTensor([2, 3, 4, 5], seed: 28), randomTensor([3, 5, 6], seed: 29)]) {
            $0[0].matmul($0[1])
        },
        GradientCase(name: "batched matmul [2,1,3,4]·[2,5,6,4]ᵀ", inputs: [randomTensor([2, 1, 3, 4], seed: 30), randomTensor([2, 5, 6, 4], seed: 31)]) {
            $0[0].matmul($0[1], transposingOther: true)
        },
        GradientCase(name: "matmul [1,1]·[1,65]", inputs: [randomTensor([1, 1], seed: 32), randomTensor([1, 65], seed: 33)]) { $0[0].matmul($0[1]) },
        GradientCase(name: "softmax [3,7]", inputs: [randomTensor([3, 7], seed: 34)]) { $0[0].softmax() },
        GradientCase(name: "logSoftmax [2,3,5]", inputs: [randomTensor([2, 3, 5], seed: 35)]) { $0[0].logSoftmax() },
        GradientCase(name: "crossEntropy [6,11]", inputs: [randomTensor([6, 11], seed: 36, scale: 2)]) {
            $0[0].crossEntropy(targets: [0, 10, 3, 3, 7, 1])
        },
        GradientCase(name: "crossEntropy [2,3,5] ignoring -1", inputs: [randomTensor([2, 3, 5], seed: 37, scale: 2)]) {
            $0[0].crossEntropy(targets: [4, -1, 0, 2, -1, 1], ignoreIndex: -1)
        },
        GradientCase(name: "layerNorm [5,7] with bias",
            inputs: [randomTensor([5, 7], seed: 38), randomTensor([7], seed: 39), randomTensor([7], seed: 40)]) {
            $0[0].layerNorm(weight: $0[1], bias: $0[2])
        },
        GradientCase(name: "layerNorm [1,65] without bias",
            inputs: [randomTensor([1, 65], seed: 41), randomTensor([65], seed: 42)]) {
            $0[0].layerNorm(weight: $0[1], bias: nil)
        },
        GradientCase(name: "rmsNorm [4,9]", inputs: [randomTensor([4, 9], seed: 43), randomTensor([9], seed: 44)]) {
            $0[0].rmsNorm(weight: $0[1])
        },
        GradientCase(name: "gelu tanh [3,7]", inputs: [randomTensor([3, 7], seed: 45, scale: 2)]) { $0[0].gelu(.tanh) },
        GradientCase(name: "gelu exact [3,7]", inputs: [randomTensor([3, 7], seed: 46, scale: 2)]) { $0[0].gelu(.exact) },
        GradientCase(name: "relu [3,7] (away from 0)", inputs: [randomTensor([3, 7], seed: 47).map { $0 + ($0 > 0 ? 0.1 : -0.1) }]) { $0[0].relu() },
        GradientCase(name: "linear [2,3,5]→4 with bias",
            inputs: [randomTensor([2, 3, 5], seed: 48), randomTensor([4, 5], seed: 49), randomTensor([4], seed: 50)]) {
            $0[0].linear(weight: $0[1], bias: $0[2])
        },
        GradientCase(name: "linear [7,5]→1 no bias", inputs: [randomTensor([7, 5], seed: 51), randomTensor([1, 5], seed: 52)]) {
            $0[0].linear(weight: $0[1], bias: nil)
        },
        GradientCase(name: "linear + gelu tanh [3,6]→5",
            inputs: [randomTensor([3, 6], seed: 53), randomTensor([5, 6], seed: 54), randomTensor([5], seed: 55)]) {
            $0[0].linear(weight: $0[1], bias: $0[2], activation: .tanh)
        },
        GradientCase(name: "linear + gelu exact [3,6]→5",
            inputs: [randomTensor([3, 6], seed: 56), randomTensor([5, 6], seed: 57), randomTensor([5], seed: 58)]) {
            $0[0].linear(weight: $0[1], bias: $0[2], activation: .exact)
        },
        GradientCase(name: "gatheringRows repeated ids from [7,3]", inputs: [randomTensor([7, 3], seed: 59)]) {
            $0[0].gatheringRows([6, 0, 6, 2, 6])
        },
        GradientCase(name: "dropout p=0.3 [4,9] (same seed each evaluation)", inputs: [randomTensor([4, 9], seed: 60)]) {
            $0[0].dropout(probability: 0.3)
        },
        GradientCase(name: "rope [2,3,5,6] at offset 4", inputs: [randomTensor([2, 3, 5, 6], seed: 61)]) {
            $0[0].rotated(by: RotaryEmbedding(headDimension: 6), startPosition: 4)
        },
        GradientCase(name: "tied use: gather then matmul with the same table", inputs: [randomTensor([5, 3], seed: 62)]) {
            $0[0].gatheringRows([1, 4, 1]).matmul($0[0], transposingOther: true)
        },
    ]

    @Test(arguments: cases)
    func backwardMatchesCentralDifferences(_ c: GradientCase) {
        let failures = GradientChecker.check(c)
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
    }
}
