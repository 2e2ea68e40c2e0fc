import Attention
import Testing
import TestSupport

/// The BF16 inference product (`ak_bf16.h`, ``BFloat16Weights``): rounding, the Float64
/// reference on rounded operands, bit-identity across kernels, thread counts and row subsets,
/// and the layer conversion.
@Suite struct BFloat16Tests {
    /// Awkward sizes: not multiples of the 12-row block, the 16-column panel or the pair depth
    /// (odd k), the 1–4-row decode tiles, k = 0 (the product is the bias), n past several panels.
    static let sizes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 17, 3), (2, 70, 41), (3, 5, 0), (4, 129, 17), (5, 48, 2), (12, 32, 64),
        (13, 33, 65), (25, 100, 129), (29, 95, 300), (1, 1536, 384), (40, 19, 7), (70, 50, 97), (33, 17, 33),
    ]

    /// The kernels this machine runs (the others belong to another architecture or CPU; a
    /// failed `#require` would record them as failures, not skips).
    static let availableKernels = BFloat16Kernel.allCases.filter(\.isAvailable)

    @Test func roundingIsToNearestEven() {
        #expect(bfloat16BitsFromFloat(1) == 0x3F80)
        #expect(bfloat16BitsFromFloat(-2) == 0xC000)
        // 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷: ties to the even 1; 1 + 3·2⁻⁸ to 1 + 2⁻⁶.
        #expect(bfloat16BitsFromFloat(1 + 0x1p-8) == 0x3F80)
        #expect(bfloat16BitsFromFloat(1 + 3 * 0x1p-8) == 0x3F82)
        #expect(bfloat16BitsFromFloat(1 + 0x1p-8 + 0x1p-20) == 0x3F81, "just above the tie rounds up")
        #expect(bfloat16BitsFromFloat(.greatestFiniteMagnitude) == 0x7F80, "overflow gives +inf")
        #expect(bfloat16BitsFromFloat(-.infinity) == 0xFF80)
        #expect(floatFromBFloat16Bits(bfloat16BitsFromFloat(.nan)).isNaN)
        #expect(bfloat16BitsFromFloat(.leastNonzeroMagnitude) == 0 && bfloat16BitsFromFloat(-0x1p-130) == 0x8000,
                "subnormals flush to signed zero")
        // Every float's rounding is the nearest of the two bfloat16 neighbours around it.
        var g = SeededGenerator(seed: 7)
        for _ in 0..<20_000 {
            let x = Float(bitPattern: UInt32.random(in: 0x0080_0000...0x7F7F_0000, using: &g)) * (Bool.random(using: &g) ? 1 : -1)
            let r = floatFromBFloat16Bits(bfloat16BitsFromFloat(x))
            let down = Float(bitPattern: x.bitPattern & 0xFFFF_0000), up = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) + 0x1_0000)
            #expect(r == down || r == up, "\(x) rounds to a neighbour")
            #expect(abs(Double(r) - Double(x)) <= min(abs(Double(down) - Double(x)), abs(Double(up) - Double(x))), "\(x) → \(r)")
        }
    }

    /// Every kernel rounds its inputs like `bfloat16BitsFromFloat` (the vectorised conversion
    /// included): with `W = I`, `y = x̂` exactly, for ties, subnormals, huge and tiny values.
    @Test(arguments: Self.availableKernels)
    func kernelsRoundInputsLikeTheScalarFunction(kernel: BFloat16Kernel) {
        let k = 37, m = 9
        var g = SeededGenerator(seed: 3)
        let specials: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, -(1 + 0x1p-8), 0x1p-130, -0x1p-140, .leastNormalMagnitude,
                                 3e38, -3.3e38, 1e-30, 0, 65504, 1.00390625, -2.0078125]
        let values = (0..<(m * k)).map { i in i % 3 == 0 ? specials[i / 3 % specials.count] : g.nextNormal() }
        let x = Tensor(shape: [m, k], scalars: values)
        var identity = Tensor.zeros([k, k])
        for i in 0..<k { identity[i, i] = 1 }
        let y = BFloat16Weights(identity).product(x, bias: nil, kernel: kernel, threads: 1)
        for (i, v) in values.enumerated() {
            let expected = floatFromBFloat16Bits(bfloat16BitsFromFloat(v))
            #expect(y.scalars[i] == expected, "\(kernel): x = \(v) gave \(y.scalars[i]), bf16(x) = \(expected)")
        }
    }

    /// Operands for one size: x `[m, k]`, W `[n, k]`, bias `[n]`.
    static func operands(_ m: Int, _ n: Int, _ k: Int, seed: UInt64) -> (Tensor, Tensor, Tensor) {
        var g = SeededGenerator(seed: seed)
        return (.randomNormal([m, k], standardDeviation: 1, generator: &g),
                .randomNormal([n, k], standardDeviation: 1, generator: &g),
                .randomNormal([n], standardDeviation: 1, generator: &g))
    }

    @Test(arguments: Self.availableKernels)
    func productMatchesFloat64OnRoundedOperands(kernel: BFloat16Kernel) {
        for (index, size) in Self.sizes.enumerated() {
            let (x, w, bias) = Self.operands(size.m, size.n, size.k, seed: UInt64(100 + index))
            let weights = BFloat16Weights(w)
            let y = weights.product(x, bias: bias, kernel: kernel, threads: 1)
            #expect(y.shape == [size.m, size.n])
            let xr = x.scalars.map { Double(floatFromBFloat16Bits(bfloat16BitsFromFloat($0))) }
            let wr = weights.rounded.scalars.map(Double.init)
            for i in 0..<size.m {
                for j in 0..<size.n {
                    var exact = Double(bias.scalars[j]), magnitude = abs(exact)
                    for p in 0..<size.k {
                        let t = xr[i * size.k + p] * wr[j * size.k + p]
                        exact += t
                        magnitude += abs(t)
                    }
                    // k sequential FP32 additions of exact products, then the bias: each rounds
                    // by at most 2⁻²⁴ of the running magnitude.
                    let bound = Double(size.k + 2) * 0x1p-24 * magnitude + 1e-30
                    let got = Double(y.scalars[i * size.n + j])
                    #expect(abs(got - exact) <= bound, "\(kernel) \(size) (\(i), \(j)): \(got) vs \(exact), bound \(bound)")
                }
            }
        }
    }

    /// Entries whose bits differ.
    static func mismatches(_ a: Tensor, _ b: [Float]) -> Int {
        zip(a.scalars, b).filter { $0.0.bitPattern != $0.1.bitPattern }.count + abs(a.count - b.count)
    }

    /// Portable, NEON, AVX2 and AVX512-BF16 give the same bits; AMX and NEON-BF16 give their
    /// own, the same for any thread count; and for every kernel a row alone gets the bits it
    /// gets inside the batch.
    @Test func kernelsThreadCountsAndRowSubsetsAgreeBitForBit() {
        let kernels = BFloat16Kernel.allCases.filter(\.isAvailable)
        for (index, size) in Self.sizes.enumerated() {
            let (x, w, bias) = Self.operands(size.m, size.n, size.k, seed: UInt64(300 + index))
            let weights = BFloat16Weights(w)
            let portable = weights.product(x, bias: bias, kernel: .portable, threads: 1)
            for kernel in kernels {
                let own = weights.product(x, bias: bias, kernel: kernel, threads: 1)
                if kernel.reproducesPortableBits {
                    #expect(Self.mismatches(own, portable.scalars) == 0, "\(kernel) \(size): differs from portable")
                }
                for threads in [2, 3] {
                    let y = weights.product(x, bias: bias, kernel: kernel, threads: threads)
                    #expect(Self.mismatches(y, own.scalars) == 0, "\(kernel), \(threads) threads, \(size): differs from 1 thread")
                }
                let last = size.m - 1
                let alone = weights.product(x.sliced(axis: 0, last..<size.m), bias: bias, kernel: kernel, threads: 1)
                #expect(Self.mismatches(alone, Array(own.scalars[(last * size.n)...])) == 0,
                        "\(kernel) \(size): row \(last) alone differs from the batch")
            }
        }
    }

    @Test(.enabled(if: BFloat16Kernel.current == .amx,
                   "AMX-BF16 is not this process's BF16 kernel: its minimum-rows hand-over is not tested here"))
    func amxGivesWayBelowItsMinimumRowsAndFollowsRowGrouping() {
        #expect(BFloat16Weights.kernel(rows: BFloat16Weights.amxMinimumRows) == .amx)
        #expect(BFloat16Weights.kernel(rows: BFloat16Weights.amxMinimumRows - 1) == .avx512)
        MatrixMultiply.withRowIndependentProducts { #expect(BFloat16Weights.kernel(rows: 64) == .avx512) }
        MatrixMultiply.withStackedProducts(8) {
            #expect(BFloat16Weights.kernel(rows: 8 * 4) == .avx512, "8 sequences of 4 rows choose as 4 rows")
            #expect(BFloat16Weights.kernel(rows: 8 * 16) == .amx)
        }
    }

    @Test func bfloat16LinearIsCloseToFloat32AndFollowsWeightChanges() {
        var g = SeededGenerator(seed: 11)
        let layer = Linear(inputSize: 384, outputSize: 1536, generator: &g)
        let x = Tensor.randomNormal([2, 7, 384], standardDeviation: 1, generator: &g)
        let fast = layer.converted(to: .bfloat16)
        #expect(layer.precision == .float32 && fast.precision == .bfloat16)
        let (a, b) = (layer(x), fast(x))
        #expect(b.shape == [2, 7, 1536])
        var dot = 0.0, na = 0.0, nb = 0.0, worst = 0.0
        for (u, v) in zip(a.scalars, b.scalars) {
            dot += Double(u) * Double(v); na += Double(u * u); nb += Double(v * v)
            worst = max(worst, abs(Double(u - v)))
        }
        let cosine = dot / (na.squareRoot() * nb.squareRoot())
        #expect(cosine > 0.9999, "cosine to FP32 \(cosine)")
        #expect(a.scalars != b.scalars, "BF16 rounding must change something (or the layer did not convert)")
        #expect(worst < 0.05, "largest difference \(worst) for outputs of size ~0.4")
        // A changed weight makes the packed copy stale: the layer multiplies in FP32 again.
        var edited = fast
        edited.weight.withUnsafeMutableBufferPointer { $0[0] += 1 }
        #expect(edited.precision == .float32)
        var reference = layer
        reference.weight.withUnsafeMutableBufferPointer { $0[0] += 1 }
        #expect(edited(x).scalars == reference(x).scalars)
        #expect(fast.converted(to: .float32).precision == .float32)
        #expect(fast.converted(to: .float32)(x).scalars == a.scalars)
    }

    @Test func kernelChoiceFollowsTheSIMDLevel() {
        #expect(BFloat16Kernel.portable.isAvailable)
        #expect(BFloat16Kernel.current.isAvailable)
        #if arch(x86_64)
        #expect(BFloat16Kernel.avx512.isAvailable == BFloat16Kernel.hardwareBFloat16)
        #expect(!BFloat16Kernel.neon.isAvailable && !BFloat16Kernel.neonBF16.isAvailable)
        #elseif arch(arm64)
        #expect(BFloat16Kernel.neon.isAvailable)
        #expect(!BFloat16Kernel.neonBF16.isAvailable || BFloat16Kernel.hardwareBFloat16)
        #expect(!BFloat16Kernel.avx2.isAvailable && !BFloat16Kernel.avx512.isAvailable && !BFloat16Kernel.amx.isAvailable)
        #endif
        if SIMDLevel.current == .avx512 && BFloat16Kernel.avx512.isAvailable {
            #expect(BFloat16Kernel.current == (BFloat16Kernel.amx.isAvailable ? .amx : .avx512))
        }
        if SIMDLevel.current == .neon {
            #expect(BFloat16Kernel.current == (BFloat16Kernel.neonBF16.isAvailable ? .neonBF16 : .neon))
        }
        if SIMDLevel.current == .portable { #expect(BFloat16Kernel.current == .portable) }
        #expect(BFloat16Kernel.allCases.map(\.description)
                == ["portable", "neon", "avx2+fma", "avx512-bf16", "amx-bf16", "neon-bf16"])
    }
}
