import CKernels

/// The number format an inference forward pass multiplies by its weights in.
///
/// - ``float32``: every weight and every sum in IEEE binary32. The default, and exact: the
///   reference every other result is compared with.
/// - ``bfloat16``: the weights of the linear layers rounded once to bfloat16 (1 sign, 8
///   exponent, 7 mantissa bits: FP32's range, about 3 significant digits) and each input row
///   rounded to bfloat16 on the fly; products are exact in FP32 and every sum is kept in FP32:
///   ```
///   y[i, j] = b[j] + Σ_p bf16(x[i, p]) · bf16(W[j, p])      (FP32 accumulation)
///   ```
///   Norms, softmax, attention scores and activations stay FP32. On a CPU with AVX512-BF16
///   this runs `vdpbf16ps` (two products per lane per instruction) and halves the bytes of
///   weights read per product (AMX-BF16 and Arm's FEAT_BF16 `BFDOT` likewise, with their own
///   rounding inside the same bound); elsewhere the same sums run in FP32 on widened values
///   (the `vdpbf16ps` bits, no speed-up). Relative error of a product: about 2⁻⁸·√k in the
///   worst case, far less on average (see ``BFloat16Weights``).
public enum Precision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE binary32 weights and sums (the default).
    case float32 = "fp32"
    /// bfloat16 weights and inputs to the weight products, FP32 sums.
    case bfloat16 = "bf16"

    public var description: String { rawValue }
}

/// Which BF16 GEMM kernel runs (`ak_bf16.h`). Every kernel gives the same bits except AMX and
/// NEON-BF16 (see ``reproducesPortableBits``), which meet the same error bound.
package enum BFloat16Kernel: Int32, CaseIterable, Sendable, CustomStringConvertible {
    /// Plain C on widened BF16.
    case portable = 0
    /// arm64 NEON on widened BF16 (every arm64).
    case neon = 1
    /// AVX2 + FMA on widened BF16.
    case avx2 = 2
    /// AVX512-BF16 `vdpbf16ps`.
    case avx512 = 3
    /// AMX-BF16 tiles (`tdpbf16ps`): a few ulps from the others' bits (same error bound).
    case amx = 4
    /// arm64 FEAT_BF16 `BFDOT` (Apple M2 and later, Neoverse V1/N2 and later): rounds each
    /// pair's sum and the accumulation to odd, so its bits differ from the others' (same bound).
    case neonBF16 = 5

    /// The kernel for the process-wide SIMD level (`ATTEND_SIMD` included): at avx512, AMX when
    /// the CPU has it, else AVX512-BF16 when it has that; else AVX2+FMA; at neon, NEON-BF16 when
    /// the CPU has FEAT_BF16, else NEON; else portable.
    package static var current: BFloat16Kernel {
        BFloat16Kernel(rawValue: ak_bf16_variant_for_level(SIMDLevel.current.rawValue)) ?? .portable
    }

    /// Whether this machine runs the kernel itself (not a lower one).
    package var isAvailable: Bool { ak_bf16_clamp(rawValue) == rawValue }

    /// Whether the kernel multiplies in BF16 hardware (AVX512-BF16, AMX or FEAT_BF16) rather
    /// than on widened values.
    package var isHardware: Bool { self == .avx512 || self == .amx || self == .neonBF16 }

    /// Whether the kernel computes the FMA sequence of `ak_bf16.h` and so gives the portable
    /// kernel's bits (all but AMX and NEON-BF16, whose instructions round their own way).
    package var reproducesPortableBits: Bool { self != .amx && self != .neonBF16 }

    /// "portable", "neon", "avx2+fma", "avx512-bf16", "amx-bf16" or "neon-bf16".
    package var description: String { String(cString: ak_bf16_variant_name(rawValue)) }

    /// Whether the CPU has BF16 dot-product instructions: AVX512-BF16 (with the ZMM state saved
    /// by the OS) on x86-64, FEAT_BF16 on arm64.
    package static var hardwareBFloat16: Bool { ak_cpu_has_avx512_bf16() != 0 || ak_cpu_has_arm_bf16() != 0 }
}

/// A weight matrix `W` (`[outputSize, inputSize]`, the ``Linear`` layout) rounded to bfloat16
/// and packed for the BF16 product `y = x·Ŵᵀ + b` (see ``Precision/bfloat16``).
///
/// Rounding is to nearest, ties to even; values below bfloat16's normal range become ±0.
/// The packed form holds 16 outputs side by side per pair of inputs, so one 512-bit load
/// feeds one `vdpbf16ps`; it takes `2·⌈n/16⌉·16·⌈k/2⌉` bytes, half the FP32 matrix.
///
/// Each output is summed in one fixed order (input pairs in turn, the odd product then the
/// even one, each added with one FP32 rounding), so the result does not depend on the thread
/// count or on the other rows multiplied with it, and the portable, NEON, AVX2 and AVX512-BF16
/// kernels give the same bits. AMX sums the same exact products with its own internal rounding
/// (a few ulps apart, within the same bound); it runs only for products of at least
/// 8 rows per sequence, so a row of a batch still gets the bits it gets alone. Arm's `BFDOT`
/// (NEON-BF16) also rounds its own way, the same for every row count, within the same bound.
public struct BFloat16Weights: Sendable {
    /// `n`: rows of `W`, columns of the product.
    public let outputSize: Int
    /// `k`: columns of `W`, the depth of the product.
    public let inputSize: Int
    /// The panels (`ak_bf16_pack_weights`).
    let packed: [UInt16]
    /// The FP32 weights this was rounded from, kept to tell whether they changed since
    /// (``isRounded(from:)``); sharing the storage costs no memory.
    let source: Tensor

    /// Rounds and packs `weight` (`[outputSize, inputSize]`).
    public init(_ weight: Tensor) {
        checkPrecondition(weight.rank == 2, "BFloat16Weights: weight must be [outputSize, inputSize], got shape \(weight.shape)")
        let (n, k) = (weight.shape[0], weight.shape[1])
        outputSize = n
        inputSize = k
        source = weight
        packed = weight.withUnsafeBufferPointer { w in
            [UInt16](unsafeUninitializedCapacity: ak_bf16_packed_count(n, k)) { out, initialized in
                if let base = w.baseAddress, let target = out.baseAddress { ak_bf16_pack_weights(base, n, k, k, target) }
                initialized = out.count
            }
        }
    }

    /// Whether these are `weight` rounded, i.e. `weight` is the very tensor they were made from
    /// and has not been modified since (a modification copies the shared storage first).
    public func isRounded(from weight: Tensor) -> Bool {
        source.sharesStorage(with: weight)
    }

    /// The FP32 value of every rounded weight, `[outputSize, inputSize]`: `bf16(W)`.
    public var rounded: Tensor {
        var out = source
        out.withUnsafeMutableBufferPointer { w in
            for i in w.indices { w[i] = ak_float_from_bf16(ak_bf16_from_float(w[i])) }
        }
        return out
    }

    /// `x·Ŵᵀ + bias` for `x: [rows, inputSize]` → `[rows, outputSize]` (see ``Precision/bfloat16``).
    public func product(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        product(x, bias: bias, kernel: Self.kernel(rows: x.rank == 2 ? x.shape[0] : 0), threads: Threading.available)
    }

    /// Fewer rows than this do not fill an AMX tile enough to pay: they run `vdpbf16ps`.
    package static let amxMinimumRows = 8

    /// The kernel for a product of `rows` rows: the process's, except that AMX (whose bits
    /// differ from the other kernels') gives way to AVX512-BF16 below ``amxMinimumRows``. The
    /// choice follows the rows one sequence would have (`MatrixMultiply.rowIndependent` and
    /// `rowGroups`, as for FP32), so a row of a batch gets the bits it gets alone.
    package static func kernel(rows: Int) -> BFloat16Kernel {
        let current = BFloat16Kernel.current
        guard current == .amx else { return current }
        return MatrixMultiply.choiceRows(rows) < amxMinimumRows ? .avx512 : .amx
    }

    /// The product with a chosen kernel and thread count (tests and benchmarks).
    package func product(_ x: Tensor, bias: Tensor?, kernel: BFloat16Kernel, threads: Int) -> Tensor {
        checkPrecondition(x.rank == 2 && x.shape[1] == inputSize,
            "BFloat16Weights.product: x shape \(x.shape) must be [rows, \(inputSize)] (weights [\(outputSize), \(inputSize)])")
        if let bias {
            checkPrecondition(bias.shape == [outputSize],
                "BFloat16Weights.product: bias shape \(bias.shape) must be [\(outputSize)] (weights [\(outputSize), \(inputSize)])")
        }
        let (m, n, k) = (x.shape[0], outputSize, inputSize)
        return Tensor(uninitializedShape: [m, n]) { out in
            guard let c = out.baseAddress, m > 0, n > 0 else { return }
            x.withUnsafeBufferPointer { xs in
                packed.withUnsafeBufferPointer { panels in
                    withOptionalPointer(bias) { b in
                        run(m: m, n: n, k: k, x: xs.baseAddress, panels: panels.baseAddress, bias: b, c: c,
                            kernel: kernel, threads: threads)
                    }
                }
            }
        }
    }

    /// Splits C across threads: whole 32-row blocks when there are enough rows, else whole
    /// 16-column panels (decoding: a few rows, many columns). Each part has its own scratch.
    private func run(m: Int, n: Int, k: Int, x: UnsafePointer<Float>?, panels: UnsafePointer<UInt16>?,
                     bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, kernel: BFloat16Kernel, threads: Int) {
        let rowBlock = 32, panel = 16  // whole AMX blocks (two 16-row tiles); 16-column panels
        let rowBlocks = (m + rowBlock - 1) / rowBlock, panelCount = (n + panel - 1) / panel
        let work = m * n * k
        let workers = work < MatrixMultiply.threadingThreshold ? 1 : max(1, threads)
        let splitRows = rowBlocks >= 2 * workers || rowBlocks >= panelCount
        let chunks = max(1, min(workers, splitRows ? rowBlocks : panelCount))
        let scratchCount = ak_bf16_scratch_count(k)
        func runChunk(_ chunk: Int) {
            var scratch = [UInt16](repeating: 0, count: scratchCount)
            scratch.withUnsafeMutableBufferPointer { s in
                if splitRows {
                    let i0 = min(m, rowBlocks * chunk / chunks * rowBlock), i1 = min(m, rowBlocks * (chunk + 1) / chunks * rowBlock)
                    guard i0 < i1 else { return }
                    ak_bf16_gemm(i1 - i0, n, k, x.map { $0 + i0 * k }, k, panels, 0, bias, c + i0 * n, n, 0,
                                 s.baseAddress, kernel.rawValue)
                } else {
                    let j0 = min(n, panelCount * chunk / chunks * panel), j1 = min(n, panelCount * (chunk + 1) / chunks * panel)
                    guard j0 < j1 else { return }
                    ak_bf16_gemm(m, j1 - j0, k, x, k, panels, j0, bias, c + j0, n, 0, s.baseAddress, kernel.rawValue)
                }
            }
        }
        if chunks == 1 { runChunk(0) } else { parallelFor(chunks, runChunk) }
    }
}

/// `body` with the tensor's base address, or nil.
private func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Rounds a `Float` to bfloat16 bits (its top 16 bits after rounding to nearest, ties to even):
/// NaN stays a quiet NaN, ±infinity stays, overflow gives ±infinity, and values below
/// bfloat16's normal range (|x| < 2⁻¹²⁶) give ±0, as `vdpbf16ps` reads them.
public func bfloat16BitsFromFloat(_ value: Float) -> UInt16 { ak_bf16_from_float(value) }

/// The `Float` whose top 16 bits are `bits` (exact).
public func floatFromBFloat16Bits(_ bits: UInt16) -> Float { ak_float_from_bf16(bits) }
