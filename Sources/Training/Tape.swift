import Attention
import CKernels

/// A reverse-mode differentiation tape: it records each differentiable operation together
/// with the rule that turns the gradient of its output into gradients of its inputs, and
/// replays those rules backwards from a scalar loss.
///
/// One tape is built per training step:
///
/// ```swift
/// let tape = Tape(seed: step)                      // dropout stream for this step
/// tape.register(model)                             // leaf variables named like the checkpoint
/// let loss = model.loss(tokens, targets, on: tape) // differentiable forward
/// let gradients = try tape.backward(loss, step: step)
/// ```
///
/// Values flowing through the tape are ``Variable``s; inference stays on plain `Tensor`.
/// Gradients come back as ``Gradients`` keyed by parameter name, so optimizers, clipping and
/// checkpoints are loops over names. `backward` consumes the graph (the recorded rules and the
/// intermediate values are released, as PyTorch does without `retain_graph`); the loss value
/// stays readable.
public final class Tape {
    struct Node {
        var value: Tensor
        var gradient: Tensor?
        /// Adds this node's input gradients to the tape, given the node's output gradient.
        var backward: ((Tensor, Tape) -> Void)?
        var requiresGradient: Bool
        /// The lowest index of a node recorded with this one among its inputs: in the backward
        /// sweep (highest index first) the last rule that can add to this node's gradient.
        var firstConsumer: Int? = nil
        /// Set once an observed backward reported this parameter's gradient as final; a later
        /// contribution would mean an operation did not list all of its inputs.
        var gradientReported = false
    }

    var nodes: [Node] = []
    var parameterIndices: [String: Int] = [:]
    /// Registered parameters (name, node index) in registration order.
    private var parameters: [(name: String, index: Int)] = []
    /// Registered parameter names in registration order (the order gradients are reported in).
    public var parameterNames: [String] { parameters.map(\.name) }
    /// Whether stochastic operations (dropout) are active. `false` makes dropout the identity.
    public var isTraining: Bool
    /// The random stream dropout draws from; save `generator.state` to resume exactly.
    public var generator: SeededGenerator
    private var consumed = false

    /// A tape in training mode whose dropout stream starts from `seed`.
    public init(training: Bool = true, seed: UInt64 = 0) {
        self.isTraining = training
        self.generator = SeededGenerator(seed: seed)
    }

    /// A tape drawing dropout masks from an existing generator state.
    public init(training: Bool = true, generator: SeededGenerator) {
        self.isTraining = training
        self.generator = generator
    }

    /// A value that takes part in computation but receives no gradient (data, masks).
    public func constant(_ value: Tensor) -> Variable {
        nodes.append(Node(value: value, gradient: nil, backward: nil, requiresGradient: false))
        return Variable(tape: self, index: nodes.count - 1)
    }

    /// The leaf variable for parameter `name`, registering it with `value` on first use.
    ///
    /// Later calls with the same name return the same variable, so a parameter used twice
    /// (a tied embedding and output head) accumulates both gradients.
    /// - Precondition: a re-used name has the same shape.
    public func parameter(_ name: String, _ value: Tensor) -> Variable {
        if let index = parameterIndices[name] {
            checkPrecondition(
                nodes[index].value.shape == value.shape,
                "Tape.parameter: \(name) registered with shape \(nodes[index].value.shape), now used with \(value.shape)")
            return Variable(tape: self, index: index)
        }
        nodes.append(Node(value: value, gradient: nil, backward: nil, requiresGradient: true))
        parameterIndices[name] = nodes.count - 1
        parameters.append((name, nodes.count - 1))
        return Variable(tape: self, index: nodes.count - 1)
    }

    /// The leaf variable registered as `name`, if any.
    public func parameter(named name: String) -> Variable? {
        parameterIndices[name].map { Variable(tape: self, index: $0) }
    }

    /// Registers every parameter of `container` under its checkpoint name (`prefix.name`).
    @discardableResult
    public func register<Container: ParameterContainer>(_ container: Container, prefix: String = "") -> [Variable] {
        container.namedParameters.map { parameter(Container.join(prefix, $0.name), $0.tensor) }
    }

    /// Records an operation's result and its backward rule (for custom differentiable ops).
    ///
    /// `backward` receives the gradient of the loss with respect to `value` and must add the
    /// gradient of each input with ``accumulate(_:into:)``. It runs only if some input needs a
    /// gradient, and at most once, during ``backward(_:step:)``.
    public func record(_ value: Tensor, inputs: [Variable], backward: @escaping (Tensor, Tape) -> Void) -> Variable {
        checkPrecondition(!consumed, "Tape: cannot record after backward(); make a new Tape for the next step")
        let needs = inputs.contains { nodes[$0.index].requiresGradient }
        let index = nodes.count
        for input in inputs where nodes[input.index].firstConsumer == nil { nodes[input.index].firstConsumer = index }
        nodes.append(Node(value: value, gradient: nil, backward: needs ? backward : nil, requiresGradient: needs))
        return Variable(tape: self, index: index)
    }

    /// Whether `variable` takes part in differentiation (a backward rule may skip it otherwise).
    func needsGradient(_ variable: Variable) -> Bool { nodes[variable.index].requiresGradient }

    /// Adds `gradient` (same element count as the variable) to the variable's gradient, inside
    /// a backward rule. The first contribution is stored without a copy.
    public func accumulate(_ gradient: Tensor, into variable: Variable) {
        let i = variable.index
        guard nodes[i].requiresGradient else { return }
        checkNotReported(i)
        checkPrecondition(gradient.count == nodes[i].value.count, "Tape: gradient of \(gradient.shape) for value of \(nodes[i].value.shape)")
        if nodes[i].gradient == nil {
            nodes[i].gradient = gradient.shape == nodes[i].value.shape ? gradient : gradient.reshaped(nodes[i].value.shape)
            return
        }
        nodes[i].gradient?.withUnsafeMutableBufferPointer { acc in
            gradient.withUnsafeBufferPointer { g in addInPlace(acc, g) }
        }
    }

    /// Gives write access to the variable's gradient buffer. `accumulate` is false on the first
    /// contribution, when the buffer is uninitialised and must be overwritten (this lets a GEMM
    /// write or accumulate straight into the gradient, with no temporary).
    func withGradient(of variable: Variable, _ body: (UnsafeMutableBufferPointer<Float>, _ accumulate: Bool) -> Void) {
        let i = variable.index
        guard nodes[i].requiresGradient else { return }
        checkNotReported(i)
        if nodes[i].gradient == nil {
            nodes[i].gradient = Tensor(uninitializedShape: nodes[i].value.shape) { body($0, false) }
        } else {
            nodes[i].gradient?.withUnsafeMutableBufferPointer { body($0, true) }
        }
    }

    /// Runs every recorded rule backwards from the scalar `loss` and returns the gradient of
    /// the loss with respect to each registered parameter (parameters the loss does not depend
    /// on are absent).
    ///
    /// - Throws: ``TrainingError/nonFiniteLoss(step:value:)`` when the loss is NaN or ±∞ (no
    ///   rule runs), ``TrainingError/nonFiniteGradient(step:parameter:)`` naming the first
    ///   parameter, in registration order, whose gradient holds a NaN or ±∞. Whether it
    ///   returns or throws, the graph is released and the tape is consumed.
    public func backward(_ loss: Variable, step: Int? = nil) throws -> Gradients {
        var gradients = Gradients()
        try backward(loss, accumulatingInto: &gradients, step: step)
        return gradients
    }

    /// Like ``backward(_:step:)``, and reports each parameter's gradient as soon as it is
    /// final, while the sweep is still running: data-parallel training starts reducing a
    /// bucket of gradients across processes while the rest of the backward pass computes
    /// (see ``GradientReduction``).
    ///
    /// A parameter's gradient is final once the rule of every operation that took it as an
    /// input has run. The sweep runs the rules from the last recorded operation to the first,
    /// so that is right after the rule of the *first* operation recorded with the parameter
    /// among its inputs (a tied embedding used at the start and at the end of the forward is
    /// final only at the end of the sweep).
    ///
    /// - Parameters:
    ///   - loss: the scalar to differentiate, recorded on this tape.
    ///   - step: the training step, named in the errors.
    ///   - onParameterGradientReady: called once for every registered parameter with its
    ///     name and final gradient (nil when the loss does not depend on it), as soon as it is
    ///     final; parameters no rule of this sweep can reach are reported after the sweep, in
    ///     registration order. Not called at all when the loss is not finite.
    ///   - afterEachRule: called after every rule that ran (hundreds per step; keep it cheap):
    ///     a chance to let non-blocking communication progress.
    /// - Returns: the same gradients as ``backward(_:step:)``, bit for bit; it throws the same
    ///   errors.
    /// - Important: every operation must list each variable its rule accumulates into among
    ///   the `inputs` of ``record(_:inputs:backward:)`` (all built-in operations do). A rule
    ///   that adds to a parameter already reported final stops the program with a message.
    public func backward(_ loss: Variable, step: Int? = nil,
                         onParameterGradientReady: (_ name: String, _ gradient: Tensor?) -> Void,
                         afterEachRule: () -> Void = {}) throws -> Gradients {
        var gradients = Gradients()
        try withoutActuallyEscaping(onParameterGradientReady) { ready in
            try withoutActuallyEscaping(afterEachRule) { after in
                try backward(loss, accumulatingInto: &gradients, step: step,
                             observer: Observer(parameterReady: ready, ruleFinished: after))
            }
        }
        return gradients
    }

    /// ``backward(_:step:)`` without its last pass, the scan of every gradient for a NaN or ±∞:
    /// for a caller that makes that check itself in a pass it needs anyway (the trainer's sum
    /// of its shards, which is non-finite wherever a part is, as its weights are positive).
    /// A non-finite loss still throws.
    package func backwardSkippingFiniteCheck(_ loss: Variable, step: Int? = nil) throws -> Gradients {
        var gradients = Gradients()
        try backward(loss, accumulatingInto: &gradients, step: step, observer: nil, checkFinite: false)
        return gradients
    }

    /// Like ``backward(_:step:)`` but adds this loss's gradients to `gradients` in place
    /// (gradient accumulation over micro-batches: call once per micro-batch, then scale).
    public func backward(_ loss: Variable, accumulatingInto gradients: inout Gradients, step: Int? = nil) throws {
        try backward(loss, accumulatingInto: &gradients, step: step, observer: nil)
    }

    /// The callbacks of an observed backward sweep.
    private struct Observer {
        var parameterReady: (String, Tensor?) -> Void
        var ruleFinished: () -> Void
    }

    private func backward(_ loss: Variable, accumulatingInto gradients: inout Gradients, step: Int?,
                          observer: Observer?, checkFinite: Bool = true) throws {
        checkPrecondition(loss.tape === self, "Tape.backward: the loss was recorded on another tape")
        checkPrecondition(!consumed, "Tape.backward: this tape was already consumed by backward()")
        let lossValue = nodes[loss.index].value
        checkPrecondition(lossValue.count == 1, "Tape.backward: the loss must be a scalar, got shape \(lossValue.shape)")
        let value = lossValue.scalars[0]
        guard value.isFinite else {
            consumed = true
            releaseGraph(keeping: loss.index)
            throw TrainingError.nonFiniteLoss(step: step, value: value)
        }
        // Seed parameter slots with the gradients accumulated so far, so rules add into them.
        for (name, index) in parameters {
            if let existing = gradients.remove(name) { nodes[index].gradient = existing }
        }
        if nodes[loss.index].requiresGradient {
            accumulate(Tensor(repeating: 1, shape: lossValue.shape), into: loss)
        }
        let finalAfterRule = observer == nil ? [:] : parametersFinal(inSweepFrom: loss.index)
        for i in stride(from: loss.index, through: 0, by: -1) {
            let ran = runRule(at: i)
            guard let observer else { continue }
            for parameter in finalAfterRule[i] ?? [] { report(parameter, to: observer) }
            if ran { observer.ruleFinished() }
        }
        if let observer {
            for parameter in parameters where !nodes[parameter.index].gradientReported {
                report(parameter, to: observer)
            }
        }
        consumed = true
        for (name, index) in parameters {
            if let g = nodes[index].gradient { gradients.set(name, g) }
        }
        releaseGraph(keeping: loss.index)
        if checkFinite, let name = gradients.firstNonFiniteName() {
            throw TrainingError.nonFiniteGradient(step: step, parameter: name)
        }
    }

    /// Runs node `i`'s rule, once, if it has one and a gradient reached the node; returns
    /// whether it ran.
    private func runRule(at i: Int) -> Bool {
        guard let rule = nodes[i].backward else { return false }
        nodes[i].backward = nil
        guard let g = nodes[i].gradient else { return false }
        nodes[i].gradient = nil
        rule(g, self)
        return true
    }

    /// The parameters whose gradient is final right after the rule of node `i`, keyed by `i`
    /// (the first operation recorded with the parameter as an input), in registration order.
    /// Parameters without such an operation at or before `lossIndex` are left out: no rule of
    /// this sweep adds to them.
    private func parametersFinal(inSweepFrom lossIndex: Int) -> [Int: [(name: String, index: Int)]] {
        var final: [Int: [(name: String, index: Int)]] = [:]
        for (name, index) in parameters {
            if let consumer = nodes[index].firstConsumer, consumer <= lossIndex {
                final[consumer, default: []].append((name, index))
            }
        }
        return final
    }

    private func report(_ parameter: (name: String, index: Int), to observer: Observer) {
        nodes[parameter.index].gradientReported = true
        observer.parameterReady(parameter.name, nodes[parameter.index].gradient)
    }

    /// Stops when a rule adds to a parameter gradient that was already reported final (an
    /// operation that did not list all its inputs would otherwise corrupt data-parallel sums).
    @inline(__always)
    private func checkNotReported(_ i: Int) {
        checkPrecondition(!nodes[i].gradientReported,
            "Tape: a backward rule added to the gradient of parameter \(parameterIndices.first { $0.value == i }?.key ?? "#\(i)") after backward reported it final; record(_:inputs:backward:) must list every variable the rule accumulates into")
    }
}

extension Tape {
    /// Releases every node but `kept` (values, gradients and rules): parameter values share
    /// storage with the model, and dropping them lets the optimizer update the model in place
    /// without copy-on-write copies.
    private func releaseGraph(keeping kept: Int) {
        for i in nodes.indices where i != kept {
            nodes[i] = Node(value: Tensor(shape: [0], scalars: []), gradient: nil, backward: nil, requiresGradient: false)
        }
    }
}

/// A value recorded on a ``Tape``: the differentiable counterpart of `Tensor`.
///
/// Operations on variables (`matmul`, `+`, `softmax`, `layerNorm`, …) compute their result
/// eagerly and record their backward rule on the tape of their inputs.
public struct Variable {
    /// The tape this value is recorded on.
    public var tape: Tape { owner ?? unownedTape }
    /// Keeps the tape alive while someone holds this value; nil in the ``detached`` copies that
    /// backward rules capture. The tape owns the rules, so a strong reference from a rule back to
    /// the tape would be a cycle: the whole graph would outlive a forward-only tape or a
    /// throwing `backward`.
    private let owner: Tape?
    private unowned let unownedTape: Tape
    let index: Int

    init(tape: Tape, index: Int) {
        self.owner = tape
        self.unownedTape = tape
        self.index = index
    }

    /// This value without a strong reference to its tape: what a backward rule captures (the
    /// rule only runs from `Tape.backward`, while the tape is alive).
    var detached: Variable {
        Variable(detachedFrom: unownedTape, index: index)
    }

    private init(detachedFrom tape: Tape, index: Int) {
        self.owner = nil
        self.unownedTape = tape
        self.index = index
    }

    /// The computed value.
    public var value: Tensor { tape.nodes[index].value }
    /// The value's shape.
    public var shape: [Int] { tape.nodes[index].value.shape }
    /// Number of axes.
    public var rank: Int { shape.count }
    /// Whether a gradient flows to this value (it depends on a registered parameter).
    public var requiresGradient: Bool { tape.nodes[index].requiresGradient }
}

/// `acc[i] += x[i]`.
@inline(__always)
func addInPlace(_ acc: UnsafeMutableBufferPointer<Float>, _ x: UnsafeBufferPointer<Float>) {
    guard let a = acc.baseAddress, let b = x.baseAddress else { return }
    ak_train_add(a, b, acc.count)
}
