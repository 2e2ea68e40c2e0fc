import Attention
import CKernels
import Foundation
import Testing

/// The training row kernels (`ak_train_ops_for`) at every SIMD level this machine has, called
/// directly so one process tests each level: forward values against Float64, and every kernel
/// (backwards, AdamW, sums included) against the portable table. Widths 1, 7, 17, 65, 129, 257
/// are not multiples of the 8- or 16-wide vectors. Levels the machine lacks are skipped by name
/// (`avx2TableIsTested`, `avx512TableIsTested`).
@Suite struct TrainingRowLevelTests {
    static let widths = [1, 7, 17, 65, 129, 257]
    static let rows = 3

    static func table(_ level: SIMDLevel) -> ak_train_ops { ak_train_ops_for(level.rawValue).pointee }

    static func values(_ count: Int, seed: UInt64, scale: Float = 3, shift: Float = 0) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in scale * g.nextNormal() + shift }
    }

    /// Largest |a − b| / (1 + |b|).
    static func relative(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { max($0, abs(Double($1.0) - Double($1.1)) / (1 + abs(Double($1.1)))) }
    }

    @Test(arguments: SIMDLevel.available, widths)
    func forwardKernelsMatchFloat64(_ level: SIMDLevel, _ width: Int) {
        let ops = Self.table(level), n = Self.rows * width
        // Softmax, with row 2 fully masked (zeros, not NaN).
        var x = Self.values(n, seed: UInt64(width))
        for j in 0..<width { x[2 * width + j] = -.infinity }
        var y = [Float](repeating: .nan, count: n)
        ops.softmax_rows!(x, &y, Self.rows, width)
        for r in 0..<Self.rows {
            let row = (0..<width).map { Double(x[r * width + $0]) }
            let m = row.max()!
            let e = row.map { m == -.infinity ? 0 : exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<width {
                #expect(abs(Double(y[r * width + j]) - (s == 0 ? 0 : e[j] / s)) <= 1e-6, "\(level) softmax width \(width) [\(r), \(j)]")
            }
        }
        // LayerNorm and RMSNorm.
        let xn = Self.values(n, seed: 60 + UInt64(width), shift: 2)
        let w = Self.values(width, seed: 1, scale: 1), b = Self.values(width, seed: 2, scale: 1)
        for centred in [true, false] {
            var out = [Float](repeating: 0, count: n), mean = [Float](repeating: 0, count: Self.rows)
            var rstd = [Float](repeating: 0, count: Self.rows)
            ops.norm_forward!(xn, w, centred ? b : nil, &out, &mean, &rstd, Self.rows, width, 1e-5, centred ? 1 : 0)
            for r in 0..<Self.rows {
                let row = (0..<width).map { Double(xn[r * width + $0]) }
                let mu = centred ? row.reduce(0, +) / Double(width) : 0
                let s = 1 / (row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(width) + 1e-5).squareRoot()
                for j in 0..<width {
                    let expected = (row[j] - mu) * s * Double(w[j]) + (centred ? Double(b[j]) : 0)
                    #expect(abs(Double(out[r * width + j]) - expected) <= 1e-5 * (1 + abs(expected)),
                            "\(level) \(centred ? "LayerNorm" : "RMSNorm") width \(width) [\(r), \(j)]")
                }
            }
        }
        // Cross-entropy forward on large logits (stability), one ignored row.
        let logits = Self.values(n, seed: 40 + UInt64(width), scale: 30)
        let targets: [Int64] = [0, Int64(width - 1), -100]
        var lse = [Float](repeating: 0, count: Self.rows), loss = lse
        ops.cross_entropy_forward!(logits, targets, Self.rows, width, -100, &lse, &loss)
        for r in 0..<Self.rows {
            let row = (0..<width).map { Double(logits[r * width + $0]) }
            let m = row.max()!
            let expectedLSE = m + log(row.map { exp($0 - m) }.reduce(0, +))
            #expect(abs(Double(lse[r]) - expectedLSE) <= 1e-5 * (1 + abs(expectedLSE)), "\(level) lse width \(width) row \(r)")
            let expectedLoss = targets[r] == -100 ? 0 : expectedLSE - row[Int(targets[r])]
            #expect(abs(Double(loss[r]) - expectedLoss) <= 1e-5 * (1 + abs(expectedLSE)), "\(level) loss width \(width) row \(r)")
        }
        // GELU (tanh form), bias added in place first.
        var xg = Self.values(n, seed: 80 + UInt64(width))
        let xg0 = xg, bias = Self.values(width, seed: 3, scale: 1)
        var gelu = [Float](repeating: 0, count: n)
        ops.bias_gelu_tanh!(&xg, bias, &gelu, Self.rows, width)
        for i in 0..<n {
            let v = Double(xg0[i]) + Double(bias[i % width])
            let expected = 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
            #expect(abs(Double(xg[i]) - v) <= 1e-6 * (1 + abs(v)), "\(level) bias width \(width) [\(i)]")
            #expect(abs(Double(gelu[i]) - expected) <= 2e-6 * (1 + abs(expected)), "\(level) GELU width \(width) [\(i)]")
        }
        // AdamW, one step.
        var p = Self.values(n, seed: 90), m = Self.values(n, seed: 91, scale: 0.1)
        var v = Self.values(n, seed: 92, scale: 0.1).map { $0 * $0 }
        let (p0, m0, v0) = (p, m, v), g = Self.values(n, seed: 93)
        ops.adamw!(&p, g, 1, &m, &v, n, 1e-3, 0.9, 0.95, 1e-8, 0.5, 0.25, 0.1)
        for i in 0..<n {
            let mi = 0.9 * Double(m0[i]) + 0.1 * Double(g[i])
            let vi = 0.95 * Double(v0[i]) + 0.05 * Double(g[i]) * Double(g[i])
            let expected = Double(p0[i]) - 1e-3 * ((mi / 0.5) / ((vi / 0.25).squareRoot() + 1e-8) + 0.1 * Double(p0[i]))
            #expect(abs(Double(p[i]) - expected) <= 1e-6 * (1 + abs(expected)), "\(level) AdamW width \(width) [\(i)]")
        }
    }

    @Test(arguments: SIMDLevel.available.filter { $0 != .portable }, widths)
    func everyKernelAgreesWithPortable(_ level: SIMDLevel, _ width: Int) {
        let simd = Self.table(level), portable = Self.table(.portable), n = Self.rows * width
        let x = Self.values(n, seed: 7 + UInt64(width), shift: 1), g = Self.values(n, seed: 8 + UInt64(width))
        let w = Self.values(width, seed: 9, scale: 1)
        func both(_ body: (ak_train_ops, inout [Float]) -> Void, _ name: String, count: Int = n) {
            var a = [Float](repeating: 0.5, count: count), b = a
            body(portable, &a)
            body(simd, &b)
            #expect(Self.relative(b, a) <= 2e-5, "\(level) \(name) width \(width): \(Self.relative(b, a)) from portable")
        }
        // GELU backward against Float64: for large |x|, 1 − tanh² cancels, so the tanh
        // approximation's 4e-7 absolute error is amplified by ~x³ (and FMA contraction differs
        // between levels); the bound follows that.
        for ops in [portable, simd] {
            var dx = [Float](repeating: 0.5, count: n)
            ops.gelu_tanh_backward!(x, g, &dx, n, 1)
            for i in 0..<n {
                let xi = Double(x[i]), u = (2 / Double.pi).squareRoot() * (xi + 0.044715 * xi * xi * xi)
                let t = tanh(u)
                let derivative = 0.5 * (1 + t) + 0.5 * xi * (1 - t * t) * (2 / Double.pi).squareRoot() * (1 + 3 * 0.044715 * xi * xi)
                let expected = 0.5 + Double(g[i]) * derivative
                let bound = 2e-6 * (1 + abs(xi * xi * xi)) * abs(Double(g[i])) + 1e-6
                #expect(abs(Double(dx[i]) - expected) <= bound, "\(level) GELU backward width \(width) [\(i)]: \(dx[i]) vs \(expected)")
            }
        }
        both({ ops, out in ops.column_sums!(g, Self.rows, width, width, &out, 1) }, "column sums", count: width)
        both({ ops, out in ops.softmax_backward!(x, g, &out, Self.rows, width, 0) }, "softmax backward")
        both({ ops, out in ops.add!(&out, x, n) }, "add")
        for centred in [true, false] {
            var mean = [Float](repeating: 0, count: Self.rows), rstd = mean, y = x
            portable.norm_forward!(x, w, nil, &y, &mean, &rstd, Self.rows, width, 1e-5, centred ? 1 : 0)
            both({ ops, out in
                var dw = [Float](repeating: 0, count: width), db = dw
                ops.norm_backward!(x, w, g, mean, rstd, &out, 0, &dw, &db, Self.rows, width, centred ? 1 : 0)
                out += dw + db
            }, centred ? "LayerNorm backward" : "RMSNorm backward")
        }
        let targets: [Int64] = [0, Int64(width / 2), -1]
        var lse = [Float](repeating: 0, count: Self.rows), loss = lse
        portable.cross_entropy_forward!(x, targets, Self.rows, width, -1, &lse, &loss)
        both({ ops, out in ops.cross_entropy_backward!(x, targets, lse, Self.rows, width, -1, 0.25, &out, 1) }, "cross-entropy backward")
        var finiteA: Int32 = 0, finiteB: Int32 = 0
        let sa = portable.sum_squares!(x, n, &finiteA), sb = simd.sum_squares!(x, n, &finiteB)
        #expect(abs(sa - sb) <= 1e-9 * sa && finiteA == 1 && finiteB == 1, "\(level) sum of squares width \(width)")
        var bad = x
        bad[n - 1] = .nan
        _ = simd.sum_squares!(bad, n, &finiteB)
        #expect(finiteB == 0, "\(level) sum of squares flags NaN at width \(width)")
    }

    /// The forward that keeps the GELU slope (what `linear` with the tanh GELU runs) gives the
    /// bias-added input's GELU as `bias_gelu_tanh` does, and `g ⊙ slope` through `multiply` gives
    /// the backward `gelu_tanh_backward` gives, bit for bit, overwriting and accumulating.
    @Test(arguments: SIMDLevel.available, widths)
    func keptSlopeGivesTheBackwardsBits(_ level: SIMDLevel, _ width: Int) {
        let ops = Self.table(level), n = Self.rows * width
        let x0 = Self.values(n, seed: 60 + UInt64(width)), bias = Self.values(width, seed: 61, scale: 1)
        let g = Self.values(n, seed: 62 + UInt64(width))
        var x = x0, y = [Float](repeating: 0, count: n)
        ops.bias_gelu_tanh!(&x, bias, &y, Self.rows, width)
        var slope = x0, y2 = [Float](repeating: 0, count: n)
        ops.bias_gelu_tanh_slope!(&slope, bias, &y2, Self.rows, width)
        #expect(y.map(\.bitPattern) == y2.map(\.bitPattern), "\(level) GELU with slope, width \(width)")
        for accumulate: Int32 in [0, 1] {
            var dx = Self.values(n, seed: 63, scale: 1), dx2 = dx
            ops.gelu_tanh_backward!(x, g, &dx, n, accumulate)
            ops.multiply!(g, slope, &dx2, n, accumulate)
            #expect(dx.map(\.bitPattern) == dx2.map(\.bitPattern), "\(level) g ⊙ slope, width \(width), accumulate \(accumulate)")
        }
    }

    /// What the trainer runs after its shards keeps the bits of the separate passes it replaces:
    /// `weighted_add` is Swift's `sum *= w₀; sum += w₁·part` and its Σ sum² is `sum_squares` of
    /// the result (within 1e-12); AdamW with a gradient scale is AdamW on the scaled gradient.
    @Test(arguments: SIMDLevel.available, widths)
    func fusedPassesKeepTheBits(_ level: SIMDLevel, _ width: Int) {
        let ops = Self.table(level), n = 5 * Self.rows * width
        let part0 = Self.values(n, seed: 70 + UInt64(width)), part1 = Self.values(n, seed: 71 + UInt64(width))
        var fused = part0, separate = part0
        var finite: Int32 = 0
        let squares = ops.weighted_add!(&fused, 0.375, part1, 0.625, n, &finite)
        for i in 0..<n { separate[i] *= 0.375 }
        for i in 0..<n { separate[i] += 0.625 * part1[i] }
        #expect(fused.map(\.bitPattern) == separate.map(\.bitPattern), "\(level) weighted add, width \(width)")
        var finiteAgain: Int32 = 0
        let again = ops.sum_squares!(separate, n, &finiteAgain)
        #expect(abs(squares - again) <= 1e-12 * again && finite == 1 && finiteAgain == 1, "\(level) Σ sum², width \(width)")

        let factor: Float = 0.8125
        let scaled = part1.map { $0 * factor }
        var p = Self.values(n, seed: 72), m = Self.values(n, seed: 73, scale: 0.1)
        var v = Self.values(n, seed: 74, scale: 0.1).map { $0 * $0 }
        var (p2, m2, v2) = (p, m, v)
        ops.adamw!(&p, part1, factor, &m, &v, n, 1e-3, 0.9, 0.95, 1e-8, 0.5, 0.25, 0.1)
        ops.adamw!(&p2, scaled, 1, &m2, &v2, n, 1e-3, 0.9, 0.95, 1e-8, 0.5, 0.25, 0.1)
        #expect(p.map(\.bitPattern) == p2.map(\.bitPattern) && m.map(\.bitPattern) == m2.map(\.bitPattern)
                && v.map(\.bitPattern) == v2.map(\.bitPattern), "\(level) AdamW with a gradient scale, width \(width)")
    }

    @Test(.enabled(if: SIMDLevel.avx2.isAvailable, "AVX2+FMA not on this CPU: its training kernels are not tested here"))
    func avx2TableIsTested() {
        #expect(SIMDLevel.available.contains(.avx2) && ak_train_ops_for(SIMDLevel.avx2.rawValue) != ak_train_ops_for(0))
    }

    @Test(.enabled(if: SIMDLevel.avx512.isAvailable,
                   "AVX-512 not on this machine: its training kernels are not tested here"))
    func avx512TableIsTested() {
        #expect(SIMDLevel.available.contains(.avx512)
                && ak_train_ops_for(SIMDLevel.avx512.rawValue) != ak_train_ops_for(SIMDLevel.avx2.rawValue))
    }
}
