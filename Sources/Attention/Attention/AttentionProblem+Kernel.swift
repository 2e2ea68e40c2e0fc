import CKernels

/// How an ``AttentionProblem`` is handed to the C kernels: one `ak_attention_problem` per
/// (batch, query head), with the element mask read in place through broadcast strides.
extension AttentionProblem {
    /// The `.boolean` / `.additive` mask tensor, if any, and its C kind (1 boolean, 2 additive).
    package var elementMask: (tensor: Tensor, kind: Int)? {
        switch mask.element {
        case .boolean(let t): return (t, Int(AK_MASK_BOOLEAN.rawValue))
        case .additive(let t): return (t, Int(AK_MASK_ADDITIVE.rawValue))
        case nil: return nil
        }
    }

    /// Calls `body` with a factory of per-(batch, head) kernel descriptions. The mask storage
    /// stays pinned for the duration of `body`, so the pointers inside are valid there only.
    package func withKernelProblems<R>(
        _ body: (_ problem: (_ batch: Int, _ head: Int) -> ak_attention_problem) -> R
    ) -> R {
        let element = elementMask
        let strides = element.map {
            AttentionProblem.maskStrides($0.tensor, batch: batch, heads: queryHeads, queries: queryLength, keys: keyLength)
        } ?? [0, 0, 0, 0]
        let scalars = element?.tensor.scalars ?? [0]
        return scalars.withUnsafeBufferPointer { maskBuffer in
            body { b, h in
                let causal = mask.isCausal ? 1 : 0, window = mask.window ?? 0
                let keyLimit = mask.keyLengths?[b] ?? keyLength
                return ak_attention_problem(
                    lq: queryLength, lk: keyLength, d: headDimension, dv: valueDimension,
                    scale: scale, alibi_slope: alibiSlopes?[h] ?? 0,
                    causal: causal, window: window, key_limit: keyLimit,
                    mask_kind: element?.kind ?? Int(AK_MASK_NONE.rawValue),
                    mask: maskBuffer.baseAddress! + b * strides[0] + h * strides[1],
                    mask_stride_i: strides[2], mask_stride_j: strides[3])
            }
        }
    }

    /// Offsets (in elements) of one (batch, head) slice of queries, keys/values, output, lse.
    package func queryOffset(_ b: Int, _ h: Int) -> Int { (b * queryHeads + h) * queryLength * headDimension }
    package func keyOffset(_ b: Int, _ h: Int) -> Int { (b * keyValueHeads + h / groupSize) * keyLength * headDimension }
    package func valueOffset(_ b: Int, _ h: Int) -> Int { (b * keyValueHeads + h / groupSize) * keyLength * valueDimension }
    package func outputOffset(_ b: Int, _ h: Int) -> Int { (b * queryHeads + h) * queryLength * valueDimension }
    package func rowOffset(_ b: Int, _ h: Int) -> Int { (b * queryHeads + h) * queryLength }
}

/// A raw buffer for kernel scratch that is never zeroed (the kernels initialise what they read).
package func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
    defer { buffer.deallocate() }
    return body(buffer)
}
