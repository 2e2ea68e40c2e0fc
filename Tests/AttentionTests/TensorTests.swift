import Attention
import Testing

@Suite struct TensorTests {
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
}
