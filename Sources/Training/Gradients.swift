import Attention
import CKernels

/// Gradients of a loss with respect to named parameters, in registration order.
///
/// Names are the checkpoint names (`blocks.0.attention.wq.weight`). Gradient accumulation,
/// clipping and the non-finite check are loops over this list.
public struct Gradients: Sendable {
    /// `(name, gradient)` in the order first added; `slots[name]` is the name's index there.
    private var entries: [(name: String, tensor: Tensor)] = []
    private var slots: [String: Int] = [:]

    /// Parameter names with a gradient, in the order they were first added.
    public var names: [String] { entries.map(\.name) }

    /// No gradients.
    public init() {}

    /// Gradients from `(name, tensor)` pairs, in that order.
    public init(_ pairs: [(name: String, tensor: Tensor)]) {
        for (name, tensor) in pairs { set(name, tensor) }
    }

    /// The gradient of parameter `name`, or nil when the loss did not depend on it.
    public subscript(name: String) -> Tensor? { slots[name].map { entries[$0].tensor } }

    /// Every gradient as `(name, tensor)`, in order.
    public var namedTensors: [(name: String, tensor: Tensor)] { entries }

    /// Sets (or replaces) the gradient of `name`.
    public mutating func set(_ name: String, _ gradient: Tensor) {
        if let slot = slots[name] {
            entries[slot].tensor = gradient
        } else {
            slots[name] = entries.count
            entries.append((name, gradient))
        }
    }

    /// Removes and returns the gradient of `name` (ownership moves to the caller, no copy).
    mutating func remove(_ name: String) -> Tensor? {
        guard let slot = slots.removeValue(forKey: name) else { return nil }
        let tensor = entries.remove(at: slot).tensor
        for i in slot..<entries.count { slots[entries[i].name] = i }
        return tensor
    }

    /// Adds `other` elementwise (gradient accumulation): `g[name] += other[name]`.
    /// - Precondition: shared names have equal shapes.
    public mutating func add(_ other: Gradients) {
        for (name, g) in other.entries {
            guard let slot = slots[name] else { set(name, g); continue }
            checkPrecondition(entries[slot].tensor.shape == g.shape,
                "Gradients.add: \(name) has shape \(entries[slot].tensor.shape) here and \(g.shape) in the other")
            entries[slot].tensor.withUnsafeMutableBufferPointer { acc in g.withUnsafeBufferPointer { addInPlace(acc, $0) } }
        }
    }

    /// Multiplies every gradient by `factor` (e.g. `1 / microBatches` after accumulation).
    public mutating func scale(by factor: Float) {
        entries.withUnsafeMutableBufferPointer { all in
            let base = UncheckedSendableBox(all.baseAddress!)
            parallelFor(all.count) { slot in
                base.value[slot].tensor.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= factor } }
            }
        }
    }

    /// `Σ_s weights[s] · parts[s]`, parameter by parameter: the gradient of a batch from the
    /// mean gradients of its shards (`weights[s]` = shard `s`'s share of the batch), summed in
    /// shard order, so the result depends only on the parts, not on the thread count.
    /// - Precondition: at least one part, one weight per part, and every part has the same
    ///   parameters with the same shapes (they come from the same model).
    package static func weightedSum(_ parts: consuming [Gradients], weights: [Float]) -> Gradients {
        weightedSumAndNorms(parts, weights: weights).sum
    }

    /// ``weightedSum(_:weights:)`` and the ``GradientNorms`` of the sum, taken in the same pass
    /// over each parameter as its last part is added (`ak_train_weighted_add`: each product
    /// rounded, then added, as `sum *= w₀; sum += w_s·part_s` in Swift gives).
    package static func weightedSumAndNorms(_ parts: consuming [Gradients], weights: [Float]) -> (sum: Gradients, norms: GradientNorms) {
        checkPrecondition(!parts.isEmpty && parts.count == weights.count,
            "Gradients.weightedSum: \(parts.count) parts and \(weights.count) weights (want as many, at least one)")
        var result = parts.removeFirst()   // moved out: its tensors are scaled in place, not copied
        let others = parts
        for (s, other) in others.enumerated() {
            checkPrecondition(other.names == result.names,
                "Gradients.weightedSum: part \(s + 1) has parameters \(other.names), part 0 \(result.names)")
        }
        guard !others.isEmpty else {
            if weights[0] != 1 { result.scale(by: weights[0]) }
            return (result, result.norms())
        }
        let first = weights[0], rest = Array(weights.dropFirst())
        var checks = [(sum: Double, finite: Bool)](repeating: (0, true), count: result.entries.count)
        result.entries.withUnsafeMutableBufferPointer { all in
            checks.withUnsafeMutableBufferPointer { out in
                let base = UncheckedSendableBox(all.baseAddress!), target = UncheckedSendableBox(out.baseAddress!)
                parallelFor(all.count) { slot in
                    let name = base.value[slot].name
                    base.value[slot].tensor.withUnsafeMutableBufferPointer { sum in
                        for (s, (other, weight)) in zip(others, rest).enumerated() {
                            let part = other.entries[slot].tensor
                            checkPrecondition(part.count == sum.count,
                                "Gradients.weightedSum: \(name) has \(part.count) elements in one part and \(sum.count) in part 0")
                            part.withUnsafeBufferPointer { g in
                                guard let sp = sum.baseAddress, let gp = g.baseAddress else { return }
                                var finite: Int32 = 1
                                let squares = ak_train_weighted_add(sp, s == 0 ? first : 1, gp, weight, sum.count, &finite)
                                target.value[slot] = (squares, finite != 0)
                            }
                        }
                    }
                }
            }
        }
        return (result, GradientNorms(names: result.names, checks: checks))
    }

    /// Per parameter, in order: Σ g² (in Float64) and whether every element is finite. One
    /// parameter per work item, so each sum is the same for any thread count.
    private func squaredNormsAndFiniteness() -> [(sum: Double, finite: Bool)] {
        var results = [(sum: Double, finite: Bool)](repeating: (0, true), count: entries.count)
        results.withUnsafeMutableBufferPointer { out in
            let target = UncheckedSendableBox(out.baseAddress!)
            parallelFor(entries.count) { slot in
                entries[slot].tensor.withUnsafeBufferPointer { g in
                    guard let base = g.baseAddress, g.count > 0 else { return }
                    var finite: Int32 = 1
                    let sum = ak_train_sum_squares(base, g.count, &finite)
                    target.value[slot] = (sum, finite != 0)
                }
            }
        }
        return results
    }

    /// The global norm and the first non-finite parameter, in one pass over every gradient.
    package func norms() -> GradientNorms {
        GradientNorms(names: names, checks: squaredNormsAndFiniteness())
    }

    /// `‖g‖₂ = √(Σ over every parameter and element of g²)`, accumulated in Float64 (the
    /// parameters' sums added in order).
    public var globalNorm: Float { norms().global }

    /// Clips by global norm: when `‖g‖₂ > maximumNorm`, every gradient is multiplied by
    /// `maximumNorm / ‖g‖₂` (one factor for all parameters, so the direction is kept).
    /// Returns the norm before clipping (what training logs report).
    @discardableResult
    public mutating func clipByGlobalNorm(_ maximumNorm: Float) -> Float {
        checkPrecondition(maximumNorm > 0, "clipByGlobalNorm: maximum norm must be > 0, got \(maximumNorm)")
        let norm = globalNorm
        if norm > maximumNorm { scale(by: maximumNorm / norm) }
        return norm
    }

    /// The first parameter name (in order) whose gradient holds a NaN or ±∞.
    public func firstNonFiniteName() -> String? { norms().firstNonFinite }

    public func checkFinite(step: Int? = nil) throws {
        if let name = firstNonFiniteName() { throw TrainingError.nonFiniteGradient(step: step, parameter: name) }
    }
}

/// What one pass over a set of gradients learns: `‖g‖₂` over all of them and the first
/// parameter (in order) whose gradient holds a NaN or ±∞. The trainer takes it from the pass
/// that sums its shards, clips with it and hands it to AdamW, so no later pass repeats it.
package struct GradientNorms: Sendable {
    /// `√(Σ_parameters Σ g²)`, the parameters' Float64 sums added in order.
    package let global: Float
    /// The first parameter name whose gradient is not finite, or nil.
    package let firstNonFinite: String?

    init(names: [String], checks: [(sum: Double, finite: Bool)]) {
        global = Float(checks.reduce(0.0) { $0 + $1.sum }.squareRoot())
        firstNonFinite = zip(names, checks).first { !$0.1.finite }?.0
    }
}

/// Errors a training step reports instead of silently propagating bad numbers.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// The loss was NaN or ±∞; no gradient was computed.
    case nonFiniteLoss(step: Int?, value: Float)
    /// The gradient of `parameter` (the first in registration order) held a NaN or ±∞.
    case nonFiniteGradient(step: Int?, parameter: String)
    /// A parameter value became NaN or ±∞ after an update.
    case nonFiniteParameter(step: Int?, parameter: String)
    /// Restored optimizer state does not match the model (missing or mis-shaped tensor).
    case stateMismatch(String)

    public var description: String {
        func at(_ step: Int?) -> String { step.map { " at step \($0)" } ?? "" }
        switch self {
        case .nonFiniteLoss(let step, let value):
            return "loss is \(value)\(at(step)); lower the learning rate or check the input data"
        case .nonFiniteGradient(let step, let parameter):
            return "gradient of \(parameter) is not finite\(at(step)) (first parameter affected)"
        case .nonFiniteParameter(let step, let parameter):
            return "parameter \(parameter) is not finite after the update\(at(step))"
        case .stateMismatch(let message):
            return "optimizer state mismatch: \(message)"
        }
    }
}
