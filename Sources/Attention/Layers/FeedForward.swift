/// The position-wise feed-forward network of a Transformer block:
/// `FFN(x) = GELU(x·W₁ᵀ + b₁)·W₂ᵀ + b₂`, widening `size → hiddenSize` (usually 4·size) and back.
///
/// Checkpoint names: `up.weight`, `up.bias`, `down.weight`, `down.bias`.
public struct FeedForward: ParameterContainer, Sendable {
    /// W₁, `[hiddenSize, size]`.
    public var up: Linear
    /// W₂, `[size, hiddenSize]`.
    public var down: Linear
    /// Which GELU formula (GPT-2 uses `.tanh`, BERT `.exact`).
    public var activation: GELUApproximation

    public var size: Int { up.inputSize }
    public var hiddenSize: Int { up.outputSize }

    /// Random init, `N(0, std²)`; `hiddenSize` defaults to `4·size`.
    public init(
        size: Int, hiddenSize: Int? = nil, bias: Bool = true, activation: GELUApproximation = .tanh,
        standardDeviation: Float = 0.02, outputStandardDeviation: Float? = nil, generator: inout SeededGenerator
    ) {
        let hidden = hiddenSize ?? 4 * size
        self.up = Linear(inputSize: size, outputSize: hidden, bias: bias, standardDeviation: standardDeviation, generator: &generator)
        self.down = Linear(inputSize: hidden, outputSize: size, bias: bias,
                           standardDeviation: outputStandardDeviation ?? standardDeviation, generator: &generator)
        self.activation = activation
    }

    /// Wraps loaded projections.
    public init(up: Linear, down: Linear, activation: GELUApproximation = .tanh) {
        checkPrecondition(down.inputSize == up.outputSize && down.outputSize == up.inputSize,
            "FeedForward: down weight \(down.weight.shape) must be [\(up.inputSize), \(up.outputSize)] to invert up weight \(up.weight.shape)")
        self.up = up; self.down = down; self.activation = activation
    }

    /// `[..., size]` → `[..., size]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        down(up(x).gelu(activation))
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try up.visitParameters(prefix: Self.join(prefix, "up"), body)
        try down.visitParameters(prefix: Self.join(prefix, "down"), body)
    }
}
