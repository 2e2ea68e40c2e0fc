import Attention

/// Stochastic gradient descent with momentum (PyTorch's formulation, no dampening):
/// ```
/// g ← g + λ·θ            (L2 weight decay, when λ > 0)
/// b ← μ·b + g            (b starts at 0, so the first step has b = g)
/// θ ← θ − lr·b           (Nesterov: θ ← θ − lr·(g + μ·b))
/// ```
/// The momentum buffers save and restore as `sgd.momentum.<param>`.
public struct SGD: Sendable {
    public var learningRate: Float
    /// μ.
    public var momentum: Float
    /// λ (coupled L2 decay; use AdamW for decoupled decay).
    public var weightDecay: Float
    public var nesterov: Bool
    /// Number of updates applied so far.
    public private(set) var step: Int = 0
    private var buffers: [String: Tensor] = [:]

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate; self.momentum = momentum
        self.weightDecay = weightDecay; self.nesterov = nesterov
    }

    /// Applies one update to every parameter of `model` that has a gradient.
    /// - Throws: ``TrainingError/nonFiniteGradient(step:parameter:)`` before touching anything.
    public mutating func update<Model: ParameterContainer>(_ model: inout Model, with gradients: Gradients) throws {
        try gradients.checkFinite(step: step + 1)
        step += 1
        let (lr, mu, lambda, nesterov) = (learningRate, momentum, weightDecay, nesterov)
        model.visitParameters(prefix: "") { name, parameter in
            guard let g = gradients[name] else { return }
            checkPrecondition(g.shape == parameter.shape, "SGD: gradient of \(name) has shape \(g.shape), parameter \(parameter.shape)")
            var buffer = buffers.removeValue(forKey: name) ?? .zeros(parameter.shape)
            parameter.withUnsafeMutableBufferPointer { p in buffer.withUnsafeMutableBufferPointer { b in
                g.withUnsafeBufferPointer { gp in
                    for i in 0..<p.count {
                        let gi = gp[i] + lambda * p[i]
                        b[i] = mu * b[i] + gi
                        p[i] -= lr * (nesterov ? gi + mu * b[i] : b[i])
                    }
                }
            } }
            if mu != 0 { buffers[name] = buffer }
        }
    }

    /// The momentum buffers as `sgd.momentum.<param>`, sorted by name.
    public var state: [(name: String, tensor: Tensor)] {
        buffers.sorted { $0.key < $1.key }.map { ("sgd.momentum." + $0.key, $0.value) }
    }

    /// Restores ``state`` and ``step``.
    /// - Throws: ``TrainingError/stateMismatch(_:)`` on a name that is not `sgd.momentum.*`.
    public mutating func restore(state tensors: [(name: String, tensor: Tensor)], step: Int) throws {
        var restored: [String: Tensor] = [:]
        for (name, tensor) in tensors {
            guard name.hasPrefix("sgd.momentum.") else { throw TrainingError.stateMismatch("unexpected SGD state tensor \(name)") }
            restored[String(name.dropFirst(13))] = tensor
        }
        buffers = restored; self.step = step
    }
}
