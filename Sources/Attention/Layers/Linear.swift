import CKernels

/// A fully connected layer: `y = x·Wᵀ + b`.
///
/// `weight` is `[outputSize, inputSize]` (the PyTorch / safetensors layout), `bias` is
/// `[outputSize]` or absent. Input `[..., inputSize]` gives `[..., outputSize]`.
///
/// ``converted(to:)`` with ``Precision/bfloat16`` makes the product `x·Ŵᵀ + b` with the weights
/// rounded to bfloat16 and FP32 sums (an inference precision; training always runs FP32).
public struct Linear: ParameterContainer, Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    /// `weight` rounded to bfloat16 and packed, after ``converted(to:)`` with ``Precision/bfloat16``.
    /// Used only while it still matches `weight` (``BFloat16Weights/isRounded(from:)``): changing
    /// `weight` afterwards returns the layer to FP32 rather than multiply by stale weights.
    public private(set) var bfloat16Weight: BFloat16Weights?
    /// `Wᵀ` packed for the FP32 GEMM on first use and reused while `weight` stays the same
    /// tensor (``callAsFunction(_:)`` packs only its input; same bits as packing `W` each time).
    let prepacked = PrepackedWeights()

    public var inputSize: Int { weight.shape[1] }
    public var outputSize: Int { weight.shape[0] }

    /// Wraps existing weights (e.g. loaded from a checkpoint).
    public init(weight: Tensor, bias: Tensor? = nil) {
        checkPrecondition(weight.rank == 2, "Linear: weight must be [outputSize, inputSize], got shape \(weight.shape)")
        if let bias {
            checkPrecondition(bias.shape == [weight.shape[0]], "Linear: bias shape \(bias.shape) does not match weight shape \(weight.shape)")
        }
        self.weight = weight
        self.bias = bias
    }

    /// Random init: `W ~ N(0, std²)` with `std = 0.02` by default (GPT-2's), bias zero.
    public init(inputSize: Int, outputSize: Int, bias: Bool = true, standardDeviation: Float = 0.02,
                generator: inout SeededGenerator) {
        self.weight = .randomNormal([outputSize, inputSize], standardDeviation: standardDeviation, generator: &generator)
        self.bias = bias ? .zeros([outputSize]) : nil
    }

    /// The precision ``callAsFunction(_:)`` multiplies in: ``Precision/bfloat16`` while
    /// ``bfloat16Weight`` matches `weight`, else ``Precision/float32``.
    public var precision: Precision {
        if let bfloat16Weight, bfloat16Weight.isRounded(from: weight) { return .bfloat16 }
        return .float32
    }

    /// This layer multiplying in `precision`: ``Precision/bfloat16`` rounds and packs the
    /// weights once (the FP32 `weight` stays, for training and for going back);
    /// ``Precision/float32`` drops the packed copy.
    public func converted(to precision: Precision) -> Linear {
        var copy = self
        switch precision {
        case .float32: copy.bfloat16Weight = nil
        case .bfloat16: if self.precision != .bfloat16 { copy.bfloat16Weight = BFloat16Weights(weight) }
        }
        return copy
    }

    /// `x·Wᵀ + b` over the last axis (in ``precision``).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        checkPrecondition(x.rank >= 1 && x.shape[x.rank - 1] == inputSize,
            "Linear: input shape \(x.shape) must end in inputSize \(inputSize) (weight \(weight.shape))")
        let rows = x.count / inputSize
        let flat = x.reshaped([rows, inputSize])
        var y: Tensor  // [rows, outputSize]
        if let bfloat16Weight, bfloat16Weight.isRounded(from: weight) {
            y = bfloat16Weight.product(flat, bias: bias)
        } else {
            y = MatrixMultiply.productTransposingWeight(flat, weight, cache: prepacked)
            if let bias { y.addRowVector(bias) }  // in place: y is the only reference
        }
        return y.reshaped(Array(x.shape.dropLast()) + [outputSize])
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try body(Self.join(prefix, "weight"), &weight)
        if var b = bias.take() {   // moved out and back, so the body mutates it in place (no copy)
            defer { bias = b }
            try body(Self.join(prefix, "bias"), &b)
        }
    }
}

extension Tensor {
    /// Adds `v` (shape `[n]`) to every row of a tensor whose last extent is `n`.
    public func addingRowVector(_ v: Tensor) -> Tensor {
        var out = self
        out.addRowVector(v)
        return out
    }

    /// Adds `v` (shape `[n]`) to every row, in place (no copy when the storage is not shared).
    public mutating func addRowVector(_ v: Tensor) {
        let n = v.count
        checkPrecondition(rank >= 1 && shape[rank - 1] == n, "addRowVector: vector shape \(v.shape) does not match last axis of \(shape)")
        guard n > 0 else { return }
        withUnsafeMutableBufferPointer { o in
            v.withUnsafeBufferPointer { b in
                guard let row = o.baseAddress, let bias = b.baseAddress else { return }
                // Vectorised C row adds; blocks of rows side by side (each row's sums are the
                // same whichever thread adds it).
                let rowsPerChunk = Swift.max(1, 16_384 / n)
                parallelChunks(o.count / n, minimumChunk: rowsPerChunk) { rows in
                    for r in rows { ak_train_add(row + r * n, bias, n) }
                }
            }
        }
    }
}
