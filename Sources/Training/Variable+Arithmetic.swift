import Attention

// Elementwise arithmetic with NumPy broadcasting. The backward of a broadcast operand sums
// the output gradient over the axes it was broadcast along (`reduceSum(_:to:)`).

extension Variable {
    /// `a + b` with broadcasting.
    public static func + (a: Variable, b: Variable) -> Variable {
        // Same shapes (residual streams): Tensor's vectorised add across threads, the same bits.
        let y = a.value.shape == b.value.shape ? a.value + b.value : broadcastingCombine(a.value, b.value, name: "+") { $0 + $1 }
        return a.tape.record(y, inputs: [a, b]) { [a = a.detached, b = b.detached] g, tape in
            // forward: y = a + b  →  da += g, db += g (summed over broadcast axes)
            tape.accumulateReduced(g, into: a)
            tape.accumulateReduced(g, into: b)
        }
    }

    /// `a − b` with broadcasting.
    public static func - (a: Variable, b: Variable) -> Variable {
        let y = broadcastingCombine(a.value, b.value, name: "-") { $0 - $1 }
        return a.tape.record(y, inputs: [a, b]) { [a = a.detached, b = b.detached] g, tape in
            // forward: y = a − b  →  da += g, db −= g
            tape.accumulateReduced(g, into: a)
            if tape.needsGradient(b) { tape.accumulateReduced(g.negatedFast(), into: b) }
        }
    }

    /// `a ⊙ b` (elementwise product) with broadcasting.
    public static func * (a: Variable, b: Variable) -> Variable {
        let (x, z) = (a.value, b.value)
        let y = broadcastingCombine(x, z, name: "*") { $0 * $1 }
        return a.tape.record(y, inputs: [a, b]) { [a = a.detached, b = b.detached] g, tape in
            // forward: y = a ⊙ b  →  da += g ⊙ b, db += g ⊙ a
            if tape.needsGradient(a) { tape.accumulateReduced(broadcastingCombine(g, z, name: "*") { $0 * $1 }, into: a) }
            if tape.needsGradient(b) { tape.accumulateReduced(broadcastingCombine(g, x, name: "*") { $0 * $1 }, into: b) }
        }
    }

    /// `a · s` for a scalar `s`.
    public static func * (a: Variable, s: Float) -> Variable { a.scaled(by: s) }
    /// `s · a` for a scalar `s`.
    public static func * (s: Float, a: Variable) -> Variable { a.scaled(by: s) }
    /// `a / s` for a scalar `s`.
    public static func / (a: Variable, s: Float) -> Variable { a.scaled(by: 1 / s) }
    /// `−a`.
    public static prefix func - (a: Variable) -> Variable { a.scaled(by: -1) }

    /// `a + s` for a scalar `s` (the gradient passes through unchanged).
    public static func + (a: Variable, s: Float) -> Variable {
        let y = a.value.mapFast { $0 + s }
        return a.tape.record(y, inputs: [a]) { [a = a.detached] g, tape in tape.accumulate(g, into: a) }
    }

    /// `s · a`.
    public func scaled(by s: Float) -> Variable {
        let y = value.mapFast { $0 * s }
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y = s · a  →  da += s · g
            tape.withGradient(of: self) { acc, accumulate in
                g.withUnsafeBufferPointer { gp in
                    if accumulate { for i in 0..<acc.count { acc[i] += s * gp[i] } }
                    else { for i in 0..<acc.count { acc[i] = s * gp[i] } }
                }
            }
        }
    }

    /// Sum of every element, as a scalar (shape `[]`).
    public func sum() -> Variable {
        let shape = self.shape
        let y = Tensor(value.withUnsafeBufferPointer { p in Float(p.reduce(0.0) { $0 + Double($1) }) })
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y = Σ a  →  da += g (every element)
            tape.accumulate(Tensor(repeating: g.scalars[0], shape: shape), into: self)
        }
    }

    /// Mean of every element, as a scalar (shape `[]`).
    public func mean() -> Variable { sum().scaled(by: 1 / Float(Swift.max(1, value.count))) }
}

extension Tape {
    /// Adds `gradient` (shaped like the broadcast output) to `variable`, summing over the
    /// axes `variable` was broadcast along.
    func accumulateReduced(_ gradient: Tensor, into variable: Variable) {
        guard needsGradient(variable) else { return }
        let target = variable.shape
        if gradient.shape == target { accumulate(gradient, into: variable); return }
        withGradient(of: variable) { acc, accumulate in
            if !accumulate { for i in acc.indices { acc[i] = 0 } }
            gradient.withUnsafeBufferPointer { g in reduceSum(g, shape: gradient.shape, into: acc, shape: target) }
        }
    }
}

/// `acc += g` summed down to `target` (which broadcasts to `shape`).
func reduceSum(_ g: UnsafeBufferPointer<Float>, shape: [Int], into acc: UnsafeMutableBufferPointer<Float>, shape target: [Int]) {
    let pad = shape.count - target.count
    let padded = [Int](repeating: 1, count: pad) + target
    // Fast path: the target is a trailing block repeated over leading axes ([n] under [.., n]).
    if let split = (0...shape.count).first(where: { Array(padded[$0...]) == Array(shape[$0...]) }),
       padded[..<split].allSatisfy({ $0 == 1 }) {
        let inner = shape[split...].reduce(1, *)
        guard inner > 0 else { return }
        for o in 0..<(g.count / inner) {
            let base = o * inner
            for i in 0..<inner { acc[i] += g[base + i] }
        }
        return
    }
    // General: walk the output with an odometer; broadcast axes have stride 0 in the target.
    let own = Tensor.strides(of: padded)
    let st = (0..<shape.count).map { padded[$0] == 1 ? 0 : own[$0] }
    var target = StridedOdometer(extents: shape, strides: st)
    for o in 0..<g.count {
        acc[target.offset] += g[o]
        target.advance()
    }
}

/// `f(a, b)` with broadcasting; same shapes and a trailing-block operand take tight loops.
@inline(__always)
func broadcastingCombine(_ a: Tensor, _ b: Tensor, name: String, _ f: (Float, Float) -> Float) -> Tensor {
    if a.shape == b.shape {
        return Tensor(uninitializedShape: a.shape) { out in
            a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
                parallelChunks(out.count, minimumChunk: 32768) { range in
                    for i in range { out[i] = f(x[i], y[i]) }
                }
            } }
        }
    }
    guard let shape = Tensor.broadcastShape(a.shape, b.shape) else {
        fatalError("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    // b repeats over a's leading axes (bias rows, position embeddings).
    let stripped = Array(b.shape.drop { $0 == 1 })
    if shape == a.shape, b.count > 0, Array(a.shape.suffix(stripped.count)) == stripped {
        let n = b.count
        return Tensor(uninitializedShape: shape) { out in
            a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
                for o in 0..<(out.count / n) { for i in 0..<n { out[o * n + i] = f(x[o * n + i], y[i]) } }
            } }
        }
    }
    let x = a.broadcast(to: shape), y = b.broadcast(to: shape)
    return broadcastingCombine(x, y, name: name, f)
}

extension Tensor {
    /// `f` elementwise with an inlinable loop (Tensor.map is not specialised across modules).
    @inline(__always)
    func mapFast(_ f: (Float) -> Float) -> Tensor {
        Tensor(uninitializedShape: shape) { out in
            withUnsafeBufferPointer { x in for i in 0..<out.count { out[i] = f(x[i]) } }
        }
    }

    func negatedFast() -> Tensor { mapFast { -$0 } }
}
