import CKernels

extension Tensor {
    /// The shape two shapes broadcast to (NumPy rules: align trailing axes; extents equal or 1),
    /// or `nil` when they are incompatible.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for k in 0..<rank {
            let x = k < rank - a.count ? 1 : a[k - (rank - a.count)]
            let y = k < rank - b.count ? 1 : b[k - (rank - b.count)]
            guard x == y || x == 1 || y == 1 else { return nil }
            out[k] = x == 1 ? y : x
        }
        return out
    }

    /// Strides (in elements) that read `shape` as if it had `target` shape: broadcast axes get stride 0.
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = Tensor.strides(of: shape)
        let pad = target.count - shape.count
        return (0..<target.count).map { k in
            k < pad || shape[k - pad] == 1 ? 0 : own[k - pad]
        }
    }

    /// This tensor materialised at a broadcast-compatible larger shape.
    public func broadcast(to target: [Int]) -> Tensor {
        guard target != shape else { return self }
        checkPrecondition(
            Tensor.broadcastShape(shape, target) == target,
            "broadcast(to:): shape \(shape) cannot broadcast to \(target)")
        let st = Tensor.broadcastStrides(shape, to: target)
        return Tensor(uninitializedShape: target) { out in
            scalars.withUnsafeBufferPointer { src in
                var source = StridedOdometer(extents: target, strides: st)
                for o in 0..<out.count {
                    out[o] = src[source.offset]
                    source.advance()
                }
            }
        }
    }

    /// Elementwise `f(a, b)` with broadcasting; `name` labels shape errors.
    public static func zipWith(_ a: Tensor, _ b: Tensor, name: String = "elementwise op", _ f: (Float, Float) -> Float) -> Tensor {
        if a.shape == b.shape {
            return Tensor(uninitializedShape: a.shape) { out in
                a.scalars.withUnsafeBufferPointer { x in
                    b.scalars.withUnsafeBufferPointer { y in
                        for i in 0..<out.count { out[i] = f(x[i], y[i]) }
                    }
                }
            }
        }
        guard let shape = broadcastShape(a.shape, b.shape) else {
            fatalError("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let x = a.broadcast(to: shape), y = b.broadcast(to: shape)
        return zipWith(x, y, name: name, f)
    }

    /// `f` applied to every element.
    public func map(_ f: (Float) -> Float) -> Tensor {
        Tensor(uninitializedShape: shape) { out in
            scalars.withUnsafeBufferPointer { x in for i in 0..<out.count { out[i] = f(x[i]) } }
        }
    }

    /// `a + b` elementwise (broadcasting). `a` is taken as owned: when the caller passes a value
    /// it no longer uses (a layer's fresh output, say `attentionOutput(h) + x`), its storage
    /// becomes the result and nothing is copied.
    public static func + (a: consuming Tensor, b: Tensor) -> Tensor {
        guard a.shape == b.shape, a.count >= 16_384 else { return zipWith(a, b, name: "+", +) }
        // Same shape, large (residual streams): `a`'s storage (copied first only when the caller
        // still holds it), then `b` added by the vectorised C rows (`ak_train_add`) in blocks
        // across threads. Each sum is one IEEE addition, as in zipWith, so the bits are the same.
        var out = consume a
        out.withUnsafeMutableBufferPointer { o in
            b.withUnsafeBufferPointer { x in
                guard let ob = o.baseAddress, let xb = x.baseAddress else { return }
                parallelChunks(o.count, minimumChunk: 16_384) { range in
                    ak_train_add(ob + range.lowerBound, xb + range.lowerBound, range.count)
                }
            }
        }
        return out
    }
    public static func - (a: Tensor, b: Tensor) -> Tensor { zipWith(a, b, name: "-", -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { zipWith(a, b, name: "*", *) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { zipWith(a, b, name: "/", /) }
    public static func + (a: Tensor, b: Float) -> Tensor { a.map { $0 + b } }
    public static func - (a: Tensor, b: Float) -> Tensor { a.map { $0 - b } }
    public static func * (a: Tensor, b: Float) -> Tensor { a.map { $0 * b } }
    public static func * (a: Float, b: Tensor) -> Tensor { b.map { a * $0 } }
    public static func / (a: Tensor, b: Float) -> Tensor { a.map { $0 / b } }
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }

    /// Sum of all elements (accumulated in Double).
    public func sum() -> Float {
        Float(scalars.reduce(0.0) { $0 + Double($1) })
    }

    /// Sum over `axis`, removing it (or keeping it with extent 1).
    public func sum(axis: Int, keepingAxis: Bool = false) -> Tensor {
        checkPrecondition(axis >= 0 && axis < rank, "sum(axis:): axis \(axis) out of range for shape \(shape)")
        let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var newShape = shape
        if keepingAxis { newShape[axis] = 1 } else { newShape.remove(at: axis) }
        var out = [Float](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { x in
            for o in 0..<outer {
                for k in 0..<n {
                    let base = (o * n + k) * inner
                    for i in 0..<inner { out[o * inner + i] += x[base + i] }
                }
            }
        }
        return Tensor(shape: newShape, scalars: out)
    }

    /// Mean of all elements.
    public func mean() -> Float { count == 0 ? 0 : sum() / Float(count) }

    /// Largest absolute difference between two same-shaped tensors.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        checkPrecondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape) differ")
        var m: Float = 0
        for i in 0..<count { m = Swift.max(m, abs(scalars[i] - other.scalars[i])) }
        return m
    }
}
