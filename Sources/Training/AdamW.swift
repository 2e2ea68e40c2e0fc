import Attention
import CKernels

/// Which parameters AdamW decays.
///
/// The rule (nanoGPT's, made explicit): decay a parameter iff it is a matrix (rank ≥ 2) and
/// its name does not end in `bias`. Rank-1 tensors are biases and LayerNorm/RMSNorm gains,
/// which weight decay would pull toward 0 (a norm gain of 0 silences its layer), so they are
/// never decayed. Embedding tables are matrices and are decayed by default, as in nanoGPT;
/// names containing any of `excludedSubstrings` (e.g. `"embedding"`) are also exempt.
public struct WeightDecayRule: Sendable, Equatable {
    /// Parameter names containing any of these are never decayed.
    public var excludedSubstrings: [String]

    /// The default rule, optionally also exempting embeddings (names containing `embedding`).
    public init(decayEmbeddings: Bool = true, excludedSubstrings: [String] = []) {
        self.excludedSubstrings = excludedSubstrings + (decayEmbeddings ? [] : ["embedding", "Embedding"])
    }

    /// Whether the parameter `name` of shape `shape` is decayed.
    public func decays(name: String, shape: [Int]) -> Bool {
        shape.count >= 2 && !name.hasSuffix("bias") && !excludedSubstrings.contains { name.contains($0) }
    }
}

/// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay and bias correction.
///
/// At step `t` (1-based), for each parameter `θ` with gradient `g`:
/// ```
/// m ← β₁·m + (1 − β₁)·g            v ← β₂·v + (1 − β₂)·g²
/// m̂ = m / (1 − β₁ᵗ)                 v̂ = v / (1 − β₂ᵗ)
/// θ ← θ − lr·(m̂ / (√v̂ + ε) + λ·θ)   (λ only where `decayRule` decays θ)
/// ```
/// Parameters without a gradient this step are left alone (their moments too).
/// The state (`adam.m.<name>`, `adam.v.<name>`, `step`) saves and restores exactly.
public struct AdamW: Sendable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// λ, the decoupled weight decay coefficient.
    public var weightDecay: Float
    public var decayRule: WeightDecayRule
    /// Number of updates applied so far (`t` of the last update).
    public private(set) var step: Int = 0
    private var firstMoments: [String: Tensor] = [:]
    private var secondMoments: [String: Tensor] = [:]

    public init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0.01, decayRule: WeightDecayRule = WeightDecayRule()
    ) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.weightDecay = weightDecay; self.decayRule = decayRule
    }

    /// Applies one update to every parameter of `model` that has a gradient.
    /// - Throws: ``TrainingError/nonFiniteGradient(step:parameter:)`` before touching anything
    ///   if a gradient holds a NaN or ±∞ (the step is the one that would have been taken).
    public mutating func update<Model: ParameterContainer>(_ model: inout Model, with gradients: Gradients) throws {
        try update(&model, with: gradients, norms: gradients.norms(), gradientScale: 1)
    }

    /// ``update(_:with:)`` with every gradient multiplied by `gradientScale` as it is read (the
    /// clipping factor: the same values as `Gradients.scale(by:)` first, without that pass), and
    /// the non-finite check taken from `norms`, which must be those of `gradients` (from
    /// `Gradients.norms()` or the shard sum), instead of another pass.
    /// - Throws: ``TrainingError/nonFiniteGradient(step:parameter:)`` before touching anything
    ///   when `norms` names a non-finite gradient.
    package mutating func update<Model: ParameterContainer>(_ model: inout Model, with gradients: Gradients,
                                                            norms: GradientNorms, gradientScale: Float) throws {
        if let name = norms.firstNonFinite { throw TrainingError.nonFiniteGradient(step: step + 1, parameter: name) }
        step += 1
        let t = Double(step)
        let correction1 = Float(1 - _pow(Double(beta1), t)), correction2 = Float(1 - _pow(Double(beta2), t))
        model.visitParameters(prefix: "") { name, parameter in
            guard let g = gradients[name] else { return }
            checkPrecondition(g.shape == parameter.shape, "AdamW: gradient of \(name) has shape \(g.shape), parameter \(parameter.shape)")
            var m = firstMoments.removeValue(forKey: name) ?? .zeros(parameter.shape)
            var v = secondMoments.removeValue(forKey: name) ?? .zeros(parameter.shape)
            let decay = decayRule.decays(name: name, shape: parameter.shape) ? weightDecay : 0
            let (lr, b1, b2, eps) = (learningRate, beta1, beta2, epsilon)
            parameter.withUnsafeMutableBufferPointer { pInout in m.withUnsafeMutableBufferPointer { mInout in
            v.withUnsafeMutableBufferPointer { vInout in g.withUnsafeBufferPointer { gp in
                let (p, mp, vp) = (pInout, mInout, vInout)
                parallelChunks(p.count, minimumChunk: 8192) { range in
                    let i = range.lowerBound
                    ak_train_adamw(p.baseAddress! + i, gp.baseAddress! + i, gradientScale, mp.baseAddress! + i, vp.baseAddress! + i, range.count,
                                   lr, b1, b2, eps, correction1, correction2, decay)
                }
            } } } }
            firstMoments[name] = m
            secondMoments[name] = v
        }
    }

    /// The optimizer state as named tensors, sorted by name: `adam.m.<param>` and
    /// `adam.v.<param>` (the step count is ``step``).
    public var state: [(name: String, tensor: Tensor)] {
        firstMoments.sorted { $0.key < $1.key }.flatMap { name, m in
            [("adam.m." + name, m),
             ("adam.v." + name, checkNotNil(secondMoments[name], "AdamW.state: \(name) has a first moment but no second"))]
        }
    }

    /// Restores state saved from ``state`` and ``step``; it continues bit-identically.
    /// - Throws: ``TrainingError/stateMismatch(_:)`` when a name is not `adam.m.*`/`adam.v.*`,
    ///   a moment lacks its partner, or the partners' shapes differ.
    public mutating func restore(state tensors: [(name: String, tensor: Tensor)], step: Int) throws {
        var m: [String: Tensor] = [:], v: [String: Tensor] = [:]
        for (name, tensor) in tensors {
            if name.hasPrefix("adam.m.") { m[String(name.dropFirst(7))] = tensor }
            else if name.hasPrefix("adam.v.") { v[String(name.dropFirst(7))] = tensor }
            else { throw TrainingError.stateMismatch("unexpected AdamW state tensor \(name)") }
        }
        for (name, tensor) in m {
            guard let partner = v[name] else { throw TrainingError.stateMismatch("adam.m.\(name) has no adam.v.\(name)") }
            guard partner.shape == tensor.shape else {
                throw TrainingError.stateMismatch("adam.m.\(name) has shape \(tensor.shape) but adam.v.\(name) has \(partner.shape)")
            }
        }
        if let orphan = v.keys.first(where: { m[$0] == nil }) {
            throw TrainingError.stateMismatch("adam.v.\(orphan) has no adam.m.\(orphan)")
        }
        guard step >= 0 else { throw TrainingError.stateMismatch("negative step \(step)") }
        firstMoments = m; secondMoments = v; self.step = step
    }
}

#if canImport(Glibc)
import Glibc
func _pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
#elseif canImport(Musl)
import Musl
func _pow(_ x: Double, _ y: Double) -> Double { Musl.pow(x, y) }
#else
import Darwin
func _pow(_ x: Double, _ y: Double) -> Double { Darwin.pow(x, y) }
#endif
