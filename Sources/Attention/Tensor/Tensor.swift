/// A dense, row-major N-dimensional array of `Float` with value semantics.
///
/// Storage is a Swift `Array`, so copies are cheap and copy-on-write: mutating one copy never
/// changes another. The element at multi-index `(i₀, …, iₙ₋₁)` lives at offset
/// `Σₖ iₖ · strideₖ` with `strideₙ₋₁ = 1` and `strideₖ = strideₖ₊₁ · shapeₖ₊₁`.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// x[1, 2]            // 6
/// x.transposed()     // shape [3, 2]
/// ```
public struct Tensor: Sendable, Equatable {
    /// The extent of each axis. A scalar tensor has shape `[]` and one element.
    public internal(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public internal(set) var scalars: [Float]

    /// Creates a tensor from its shape and row-major elements.
    ///
    /// - Precondition: every extent is ≥ 0 and `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        checkPrecondition(shape.allSatisfy { $0 >= 0 }, "Tensor(shape:scalars:): negative extent in shape \(shape)")
        let count = shape.reduce(1, *)
        checkPrecondition(
            scalars.count == count,
            "Tensor(shape:scalars:): shape \(shape) needs \(count) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of the given shape with every element equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// A rank-0 tensor holding one value.
    public init(_ value: Float) { self.init(shape: [], scalars: [value]) }

    /// Creates a tensor whose storage is filled by `body`, without zeroing it first.
    /// `body` must initialise every one of the `shape.reduce(1, *)` elements.
    public init(uninitializedShape shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let count = shape.reduce(1, *)
        self.shape = shape
        self.scalars = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try body(buffer)
            initialized = count
        }
    }

    /// Number of axes.
    @inlinable public var rank: Int { shape.count }
    /// Number of elements.
    @inlinable public var count: Int { scalars.count }

    /// Row-major strides of `shape`, in elements.
    public var strides: [Int] { Tensor.strides(of: shape) }

    /// Row-major strides of a shape, in elements.
    public static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// The element at a full multi-index (one index per axis).
    public subscript(indices: Int...) -> Float {
        get { scalars[offset(of: indices)] }
        set { scalars[offset(of: indices)] = newValue }
    }

    func offset(of indices: [Int]) -> Int {
        checkPrecondition(indices.count == rank, "Tensor subscript: \(indices.count) indices for shape \(shape)")
        var offset = 0
        var running = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            let index = indices[axis]
            checkPrecondition(index >= 0 && index < shape[axis], "Tensor subscript: index \(indices) out of range for shape \(shape)")
            offset += index * running
            running *= shape[axis]
        }
        return offset
    }

    /// Calls `body` with read access to the contiguous row-major elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with write access to the contiguous row-major elements (copying first if shared).
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer(body)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String(format4: $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), scalars: [\(shown)\(count > 8 ? ", …" : "")])"
    }
}

extension String {
    /// A compact decimal rendering with four significant decimals, locale-independent.
    init(format4 value: Float) {
        if value.isNaN { self = "nan"; return }
        if value.isInfinite { self = value > 0 ? "inf" : "-inf"; return }
        let rounded = (Double(value) * 10_000).rounded() / 10_000
        self = String(rounded)
    }
}

extension Tensor {
    /// Whether `other` is this very storage (same shape, same buffer), not merely equal values.
    /// A cache that keeps a copy of a tensor can tell this way that the tensor was not modified
    /// since: a modification of a shared buffer copies it first.
    package func sharesStorage(with other: Tensor) -> Bool {
        shape == other.shape && withUnsafeBufferPointer { a in other.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
    }
}

/// Pins the storage of several tensors for the duration of `body`: what nested
/// `withUnsafeBufferPointer` calls do, without the pyramid.
package func withUnsafeBufferPointers<R>(_ tensors: [Tensor], _ body: ([UnsafeBufferPointer<Float>]) -> R) -> R {
    func pin(_ index: Int, _ pinned: [UnsafeBufferPointer<Float>]) -> R {
        if index == tensors.count { return body(pinned) }
        return tensors[index].withUnsafeBufferPointer { pin(index + 1, pinned + [$0]) }
    }
    return pin(0, [])
}
