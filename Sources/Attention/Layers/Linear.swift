/// A fully connected layer: `y = x·Wᵀ + b`.
///
/// `weight` is `[outputSize, inputSize]` (the PyTorch / safetensors layout), `bias` is
/// `[outputSize]` or absent. Input `[..., inputSize]` gives `[..., outputSize]`.
public struct Linear: ParameterContainer, Sendable {
    public var weight: Tensor
    public var bias: Tensor?

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

    /// `x·Wᵀ + b` over the last axis.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        checkPrecondition(x.rank >= 1 && x.shape[x.rank - 1] == inputSize,
            "Linear: input shape \(x.shape) must end in inputSize \(inputSize) (weight \(weight.shape))")
        let rows = x.count / inputSize
        let flat = x.reshaped([rows, inputSize])
        var y = flat.matmul(weight, transposingOther: true)  // [rows, outputSize]
        if let bias { y = y.addingRowVector(bias) }
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
        let n = v.count
        checkPrecondition(rank >= 1 && shape[rank - 1] == n, "addingRowVector: vector shape \(v.shape) does not match last axis of \(shape)")
        var out = self
        out.withUnsafeMutableBufferPointer { o in
            v.withUnsafeBufferPointer { b in
                for r in 0..<(o.count / Swift.max(n, 1)) { for j in 0..<n { o[r * n + j] += b[j] } }
            }
        }
        return out
    }
}
