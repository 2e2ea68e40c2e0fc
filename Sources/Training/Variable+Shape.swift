import Attention
import CKernels

// Shape operations move elements without arithmetic; their backward moves the gradient back.

extension Variable {
    /// The same elements with a new shape (one extent may be `-1`). No copy.
    public func reshaped(_ newShape: [Int]) -> Variable {
        let y = value.reshaped(newShape)
        let original = shape
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y = a.reshaped(newShape)  →  da += g.reshaped(a.shape)
            tape.accumulate(g.reshaped(original), into: self)
        }
    }

    /// Axes reordered: result axis `k` is input axis `axes[k]`.
    public func permuted(_ axes: [Int]) -> Variable {
        let y = value.permuted(axes)
        var inverse = [Int](repeating: 0, count: axes.count)
        for (k, a) in axes.enumerated() { inverse[a] = k }
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y = a.permuted(axes)  →  da += g.permuted(axes⁻¹)
            tape.accumulate(g.permuted(inverse), into: self)
        }
    }

    /// The last two axes swapped.
    public func transposed() -> Variable {
        checkPrecondition(rank >= 2, "transposed: needs rank ≥ 2, got shape \(shape)")
        var axes = Array(0..<rank)
        axes.swapAt(rank - 1, rank - 2)
        return permuted(axes)
    }

    /// Elements `range` along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) -> Variable {
        let full = shape
        checkPrecondition(axis >= 0 && axis < full.count && range.lowerBound >= 0 && range.upperBound <= full[axis],
            "sliced: range \(range) on axis \(axis) is out of bounds for shape \(full)")
        let outer = full[..<axis].reduce(1, *), inner = full[(axis + 1)...].reduce(1, *)
        let block = range.count * inner, stride = full[axis] * inner, skip = range.lowerBound * inner
        var newShape = full
        newShape[axis] = range.count
        // Each outer index owns one contiguous run of `block` elements on both sides.
        let y = Tensor(uninitializedShape: newShape) { out in
            value.withUnsafeBufferPointer { src in
                for o in 0..<outer where block > 0 {
                    (out.baseAddress! + o * block).update(from: src.baseAddress! + o * stride + skip, count: block)
                }
            }
        }
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y = a[…, range, …]  →  da[…, range, …] += g (the rest gets nothing)
            tape.withGradient(of: self) { acc, accumulate in
                g.withUnsafeBufferPointer { gp in
                    guard let base = acc.baseAddress else { return }
                    if !accumulate { base.update(repeating: 0, count: acc.count) }
                    for o in 0..<outer where block > 0 {
                        ak_train_add(base + o * stride + skip, gp.baseAddress! + o * block, block)
                    }
                }
            }
        }
    }

    /// Variables joined along `axis`; all other extents must match.
    public static func concatenated(_ parts: [Variable], axis: Int) -> Variable {
        checkPrecondition(!parts.isEmpty, "concatenated: no variables")
        let y = Tensor.concatenated(parts.map(\.value), axis: axis)
        let extents = parts.map { $0.shape[axis] }
        return parts[0].tape.record(y, inputs: parts) { [parts = parts.map(\.detached)] g, tape in
            // forward: y = concat(parts, axis)  →  d(part k) += g[…, offset_k ..< offset_k + n_k, …]
            var start = 0
            for (part, n) in zip(parts, extents) {
                if tape.needsGradient(part) { tape.accumulate(g.sliced(axis: axis, start..<(start + n)), into: part) }
                start += n
            }
        }
    }
}
