import Attention
import Testing

/// One GEMM problem: sizes, which operands are stored transposed, accumulate, and extra
/// padding on every leading dimension (so lda/ldb/ldc exceed the logical widths).
struct GemmCase: Sendable, CustomTestStringConvertible {
    let m: Int, n: Int, k: Int
    let transposeA: Bool, transposeB: Bool
    let accumulate: Bool
    let padding: Int

    var testDescription: String {
        "\(m)×\(n)×\(k) A\(transposeA ? "ᵀ" : "")·B\(transposeB ? "ᵀ" : "")"
            + (accumulate ? " accumulate" : "") + (padding > 0 ? " ld+\(padding)" : "")
    }

    var lda: Int { (transposeA ? m : k) + padding }
    var ldb: Int { (transposeB ? k : n) + padding }
    var ldc: Int { n + padding }

    /// Awkward sizes: not multiples of the 6×16 or 14×32 register tiles, the MC=168 row block or
    /// the KC=256 depth slice (513 needs three slices), one dimension 1, n past NC=4096, and
    /// few-row products (m ≤ 4) with column and depth tails for the 16-wide decode kernels.
    /// The AVX-512 kernel's 14×32 tile adds (15, 33, 31) and (29, 95, 300): one past a tile
    /// both ways, and a tile and a half with a ragged depth.
    static let sizes: [(Int, Int, Int)] = [
        (1, 1, 1), (7, 7, 7), (17, 65, 129), (65, 17, 7), (129, 129, 129), (257, 65, 257),
        (1, 257, 65), (257, 1, 17), (6, 16, 256), (7, 17, 513), (200, 33, 300), (5, 4100, 3),
        (15, 33, 31), (29, 95, 300), (3, 70, 41), (4, 129, 17),
    ]

    static let all: [GemmCase] = sizes.enumerated().flatMap { index, size in
        [(false, false), (true, false), (false, true), (true, true)].enumerated().map { variant, t in
            GemmCase(
                m: size.0, n: size.1, k: size.2, transposeA: t.0, transposeB: t.1,
                accumulate: (index + variant) % 2 == 1, padding: (index + variant) % 3 == 0 ? 0 : 3)
        }
    }
}

/// Operands and the Float64 reference for one case, with the error bound each entry must meet.
struct GemmProblem {
    let spec: GemmCase
    let a: [Float], b: [Float], c0: [Float]
    /// Exact (Float64) C and, per entry, Σₚ |op(A)ᵢₚ·op(B)ₚⱼ| + |C₀ᵢⱼ| for the error bound.
    let reference: [Double], magnitude: [Double]

    init(_ spec: GemmCase, seed: UInt64) {
        self.spec = spec
        var g = SeededGenerator(seed: seed)
        let aRows = spec.transposeA ? spec.k : spec.m, bRows = spec.transposeB ? spec.n : spec.k
        a = (0..<(aRows * spec.lda)).map { _ in g.nextNormal() }
        b = (0..<(bRows * spec.ldb)).map { _ in g.nextNormal() }
        c0 = (0..<(spec.m * spec.ldc)).map { _ in g.nextNormal() }
        var reference = [Double](repeating: 0, count: spec.m * spec.ldc)
        var magnitude = reference
        for i in 0..<spec.m {
            for j in 0..<spec.n {
                var s = spec.accumulate ? Double(c0[i * spec.ldc + j]) : 0
                var t = abs(s)
                for p in 0..<spec.k {
                    let x = Double(spec.transposeA ? a[p * spec.lda + i] : a[i * spec.lda + p])
                    let y = Double(spec.transposeB ? b[j * spec.ldb + p] : b[p * spec.ldb + j])
                    s += x * y
                    t += abs(x * y)
                }
                reference[i * spec.ldc + j] = s
                magnitude[i * spec.ldc + j] = t
            }
        }
        self.reference = reference
        self.magnitude = magnitude
    }

    /// Runs the product through `path` at SIMD `level` on `threads` threads and returns C
    /// (padding included).
    func run(_ path: GemmPath, level: SIMDLevel = .current, threads: Int = Threading.threadCount) -> [Float] {
        var c = c0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    MatrixMultiply.gemm(
                        m: spec.m, n: spec.n, k: spec.k,
                        a: pa.baseAddress!, lda: spec.lda, transposeA: spec.transposeA,
                        b: pb.baseAddress!, ldb: spec.ldb, transposeB: spec.transposeB,
                        c: pc.baseAddress!, ldc: spec.ldc, accumulate: spec.accumulate,
                        path: path, level: level, threads: threads)
                }
            }
        }
        return c
    }

    /// Error budget of a Float32 sum of k+1 terms in any order: |ĉ − c| ≤ γ·Σ|terms| with
    /// γ = (k+1)·u, u = 2⁻²⁴ (each product is exact in the budget's first-order term; one
    /// more u covers the product rounding). Doubled for headroom; still catches any real bug.
    func bound(_ index: Int) -> Double {
        let u = 1.0 / Double(1 << 24)
        return 2 * Double(spec.k + 2) * u * magnitude[index] + 1e-30
    }
}

/// One way through `MatrixMultiply.gemm`: a path and, for the paths with SIMD kernels, a level.
struct GemmRoute: Sendable, CustomTestStringConvertible {
    let path: GemmPath
    let level: SIMDLevel

    var testDescription: String { "\(path) at \(level)" }

    /// Every path; those with SIMD kernels once per SIMD level this machine has (portable
    /// included). Levels the machine lacks are reported as skipped by `SIMDLevelTests`.
    static let all: [GemmRoute] = GemmPath.allCases.flatMap { path -> [GemmRoute] in
        switch path {
        case .automatic, .packedSIMD, .rowsSIMD: return SIMDLevel.available.map { GemmRoute(path: path, level: $0) }
        default: return [GemmRoute(path: path, level: .portable)]
        }
    }
}

@Suite struct GemmTests {
    @Test(arguments: GemmCase.all, GemmRoute.all)
    func matchesFloat64Reference(_ spec: GemmCase, _ route: GemmRoute) {
        let path = route.path
        let problem = GemmProblem(spec, seed: UInt64(spec.m * 1_000_003 + spec.n * 1009 + spec.k))
        let c = problem.run(path, level: route.level)
        var worst = 0.0, worstIndex = -1
        for i in 0..<spec.m {
            for j in 0..<spec.n {
                let e = i * spec.ldc + j
                let excess = abs(Double(c[e]) - problem.reference[e]) / problem.bound(e)
                if !(excess <= worst) { worst = excess; worstIndex = e }
            }
        }
        #expect(worst <= 1, "\(spec.testDescription) via \(route.testDescription): error \(worst)× the budget at entry \(worstIndex)")
        // Padding columns of C are never written.
        for i in 0..<spec.m {
            for j in spec.n..<spec.ldc where c[i * spec.ldc + j] != problem.c0[i * spec.ldc + j] {
                Issue.record("\(spec.testDescription) via \(route.testDescription): wrote padding C[\(i), \(j)]")
                return
            }
        }
    }

    /// Packed (rows and columns split) and few-row products at every SIMD level this machine has.
    @Test(arguments: GemmRoute.all.filter { [.packedSIMD, .packedPortable, .rowsSIMD].contains($0.path) })
    func resultDoesNotDependOnThreadCount(_ route: GemmRoute) {
        // Wide: the columns are split; tall: the rows are; 3 rows: the few-row path's columns.
        let specs = [
            GemmCase(m: 131, n: 203, k: 301, transposeA: false, transposeB: true, accumulate: true, padding: 1),
            GemmCase(m: 203, n: 45, k: 97, transposeA: true, transposeB: false, accumulate: false, padding: 2),
            GemmCase(m: 3, n: 1000, k: 77, transposeA: false, transposeB: true, accumulate: false, padding: 0),
        ]
        for spec in specs {
            let problem = GemmProblem(spec, seed: 7)
            let one = problem.run(route.path, level: route.level, threads: 1)
            for threads in [2, 3, 5] {
                #expect(problem.run(route.path, level: route.level, threads: threads) == one,
                        "\(route.testDescription) \(spec.testDescription): \(threads) threads differ from 1")
            }
        }
    }

    @Test func zeroDepthClearsOrKeepsC() {
        for accumulate in [false, true] {
            var c: [Float] = [1, 2, 3, 4]
            let a: [Float] = [0], b: [Float] = [0]
            MatrixMultiply.gemm(
                m: 2, n: 2, k: 0, a: a, lda: 1, transposeA: false, b: b, ldb: 2, transposeB: false,
                c: &c, ldc: 2, accumulate: accumulate, path: .packedSIMD)
            #expect(c == (accumulate ? [1, 2, 3, 4] : [0, 0, 0, 0]), "k = 0, accumulate \(accumulate)")
        }
    }

    /// Batch shapes (left, right) that broadcast, including a weight shared across the batch.
    static let batchShapes: [([Int], [Int])] = [
        ([3], [3]), ([2, 3], []), ([2, 1], [1, 3]), ([], [4]), ([5], [1]), ([2, 3], [3]),
    ]

    @Test(arguments: batchShapes, [false, true])
    func batchedBroadcastMatchesPerMatrixReference(_ shapes: ([Int], [Int]), _ transposed: Bool) {
        let (m, n, k) = (7, 19, 33)
        let a = Tensor.randomNormal(shapes.0 + (transposed ? [k, m] : [m, k]), seed: 1)
        let b = Tensor.randomNormal(shapes.1 + (transposed ? [n, k] : [k, n]), seed: 2)
        let c = a.matmul(b, transposingSelf: transposed, transposingOther: transposed)
        let batch = Tensor.broadcastShape(shapes.0, shapes.1)!
        #expect(c.shape == batch + [m, n], "batch \(shapes)")
        let aOffsets = MatrixMultiply.batchOffsets(of: shapes.0, matrixSize: m * k, in: batch)
        let bOffsets = MatrixMultiply.batchOffsets(of: shapes.1, matrixSize: k * n, in: batch)
        var worst = 0.0
        for e in 0..<batch.reduce(1, *) {
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0, t = 0.0
                    for p in 0..<k {
                        let x = Double(a.scalars[aOffsets[e] + (transposed ? p * m + i : i * k + p)])
                        let y = Double(b.scalars[bOffsets[e] + (transposed ? j * k + p : p * n + j)])
                        s += x * y
                        t += abs(x * y)
                    }
                    let bound = 2 * Double(k + 2) / Double(1 << 24) * t
                    worst = max(worst, abs(Double(c.scalars[(e * m + i) * n + j]) - s) / bound)
                }
            }
        }
        #expect(worst <= 1, "batch \(shapes) transposed \(transposed): error \(worst)× the budget")
    }

    @Test func batchOffsetsReadBroadcastAxesInPlace() {
        // Left batch [2, 1] against [2, 3]: each left matrix is reused for all 3 columns.
        #expect(MatrixMultiply.batchOffsets(of: [2, 1], matrixSize: 10, in: [2, 3]) == [0, 0, 0, 10, 10, 10])
        #expect(MatrixMultiply.batchOffsets(of: [3], matrixSize: 4, in: [2, 3]) == [0, 4, 8, 0, 4, 8])
        #expect(MatrixMultiply.batchOffsets(of: [], matrixSize: 4, in: [2]) == [0, 0])
    }
}
