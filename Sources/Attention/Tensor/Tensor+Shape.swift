extension Tensor {
    /// The same elements viewed with a new shape of equal element count.
    /// One extent may be `-1`, inferred from the others.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            checkPrecondition(known > 0 && count % known == 0, "reshaped: cannot reshape \(shape) to \(newShape)")
            resolved[hole] = count / known
        }
        checkPrecondition(
            resolved.allSatisfy { $0 >= 0 } && resolved.reduce(1, *) == count,
            "reshaped: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        var copy = self
        copy.shape = resolved
        return copy
    }

    /// The axes reordered: result axis `k` is input axis `axes[k]`.
    public func permuted(_ axes: [Int]) -> Tensor {
        checkPrecondition(
            axes.count == rank && Set(axes) == Set(0..<rank),
            "permuted: \(axes) is not a permutation of the axes of shape \(shape)")
        if axes == Array(0..<rank) { return self }
        let newShape = axes.map { shape[$0] }
        let inStrides = strides
        let gathered = axes.map { inStrides[$0] }  // input stride for each output axis
        return Tensor(uninitializedShape: newShape) { out in
            scalars.withUnsafeBufferPointer { src in
                guard !out.isEmpty, let outBase = out.baseAddress, let srcBase = src.baseAddress else { return }
                // Output rows (every axis but the last) in blocks across threads; within a block,
                // an odometer over the rows' input offsets. A kept last axis copies whole runs.
                let last = rank - 1
                let innerCount = newShape[last], innerStride = gathered[last]
                let rows = out.count / innerCount
                parallelChunks(rows, minimumChunk: Swift.max(1, 16_384 / innerCount)) { range in
                    var rowOffsets = StridedOdometer(
                        extents: Array(newShape[..<last]), strides: Array(gathered[..<last]), start: range.lowerBound)
                    for row in range {
                        let target = outBase + row * innerCount, offset = rowOffsets.offset
                        if innerStride == 1 {
                            target.update(from: srcBase + offset, count: innerCount)
                        } else {
                            var s = offset
                            for k in 0..<innerCount { target[k] = srcBase[s]; s += innerStride }
                        }
                        rowOffsets.advance()
                    }
                }
            }
        }
    }

    /// The last two axes swapped (a matrix transpose, batched over leading axes).
    public func transposed() -> Tensor {
        checkPrecondition(rank >= 2, "transposed: needs rank ≥ 2, got shape \(shape)")
        var axes = Array(0..<rank)
        axes.swapAt(rank - 1, rank - 2)
        return permuted(axes)
    }

    /// Elements `range` along `axis` (other axes whole).
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        checkPrecondition(axis >= 0 && axis < rank, "sliced: axis \(axis) out of range for shape \(shape)")
        checkPrecondition(
            range.lowerBound >= 0 && range.upperBound <= shape[axis],
            "sliced: range \(range) out of bounds for axis \(axis) of shape \(shape)")
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        var newShape = shape
        newShape[axis] = range.count
        return Tensor(uninitializedShape: newShape) { out in
            scalars.withUnsafeBufferPointer { src in
                let block = range.count * inner
                for o in 0..<outer {
                    let from = (o * shape[axis] + range.lowerBound) * inner
                    for i in 0..<block { out[o * block + i] = src[from + i] }
                }
            }
        }
    }

    /// Tensors joined along `axis`; all other extents must match.
    public static func concatenated(_ parts: [Tensor], axis: Int) -> Tensor {
        checkPrecondition(!parts.isEmpty, "concatenated: no tensors")
        let first = parts[0]
        checkPrecondition(axis >= 0 && axis < first.rank, "concatenated: axis \(axis) out of range for shape \(first.shape)")
        for (k, part) in parts.enumerated() {
            var a = part.shape, b = first.shape
            checkPrecondition(a.count == b.count, "concatenated: part \(k) has shape \(part.shape), part 0 has \(first.shape)")
            a[axis] = 0; b[axis] = 0
            checkPrecondition(a == b, "concatenated: part \(k) has shape \(part.shape), incompatible with \(first.shape) along axis \(axis)")
        }
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        var newShape = first.shape
        newShape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        var out = [Float]()
        out.reserveCapacity(newShape.reduce(1, *))
        for o in 0..<outer {
            for part in parts {
                let block = part.shape[axis] * inner
                out.append(contentsOf: part.scalars[(o * block)..<((o + 1) * block)])
            }
        }
        return Tensor(shape: newShape, scalars: out)
    }
}

/// A row-major walk over the index space `extents` that keeps `offset = Σₐ index[a]·strides[a]`
/// for arbitrary strides (the input strides of a permutation, zero on broadcast axes), so the
/// element under each output position is found with one add per step instead of a division per
/// axis. Used by permutes, broadcasts and broadcast-reducing sums.
package struct StridedOdometer {
    package private(set) var offset = 0
    private var index: [Int]
    private let extents: [Int], strides: [Int]

    /// Starts at row-major position `start` of `extents`.
    package init(extents: [Int], strides: [Int], start: Int = 0) {
        self.extents = extents
        self.strides = strides
        index = [Int](repeating: 0, count: extents.count)
        var rest = start
        for axis in stride(from: extents.count - 1, through: 0, by: -1) where extents[axis] > 0 {
            index[axis] = rest % extents[axis]
            rest /= extents[axis]
            offset += index[axis] * strides[axis]
        }
    }

    /// Steps to the next position (the last axis fastest); past the end it wraps to the start.
    @inline(__always)
    package mutating func advance() {
        var axis = extents.count - 1
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < extents[axis] { return }
            offset -= strides[axis] * extents[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
