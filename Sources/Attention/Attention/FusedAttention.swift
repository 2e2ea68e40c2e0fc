import CKernels

/// The fused, tiled attention forward (FlashAttention-2): each work item is one query block
/// of one (batch, query head); it streams key/value tiles through an online softmax in C and
/// writes its output rows and their log-sum-exp. Extra memory per work item is the scratch of
/// `ak_attention_forward_scratch_count`, O(Br·(D + Bc)), never O(Lq·Lk).
package enum FusedAttention {
    /// Query rows per work item (Br) and keys per tile (Bc). Measured on a 2-core Zen 3 at
    /// N = 1024, D = 64 (docs/notes/fused.md): 64×64 and 96×64 were best; the working set
    /// (Q̂, Sᵀ, K/V tiles, O ≈ 64 KiB) stays in L2 and a tile's products stay in L1.
    package static let queryBlock = 64
    package static let keyBlock = 64

    /// Output `[B, Hq, Lq, Dv]` and log-sum-exp `[B, Hq, Lq]` (−inf on rows with no allowed key).
    /// `useSIMD: false` forces the portable C micro-kernels (tests compare both paths).
    package static func forward(
        _ p: AttentionProblem, queries: Tensor, keys: Tensor, values: Tensor,
        useSIMD: Bool = true
    ) -> (output: Tensor, logSumExp: Tensor) {
        let (bn, hq, lq, dv) = (p.batch, p.queryHeads, p.queryLength, p.valueDimension)
        var output = Tensor.zeros([bn, hq, lq, dv])
        var lse = Tensor(repeating: -.infinity, shape: [bn, hq, lq])
        // Empty problems: no rows, or no keys (every row fully masked) need no kernel; zero
        // widths are degenerate enough to leave to the reference.
        guard bn * hq * lq > 0, p.keyLength > 0 else { return (output, lse) }
        guard p.headDimension > 0, dv > 0 else {
            return ReferenceAttention.forward(p, queries: queries, keys: keys, values: values)
        }
        let br = min(queryBlock, lq)
        let blocksPerHead = (lq + br - 1) / br
        let scratchCount = ak_attention_forward_scratch_count(br, keyBlock, p.headDimension, dv)
        let simd: Int32 = useSIMD ? 1 : 0
        p.withKernelProblems { problemFor in
            queries.withUnsafeBufferPointer { q in
                keys.withUnsafeBufferPointer { k in
                    values.withUnsafeBufferPointer { v in
                        output.withUnsafeMutableBufferPointer { o in
                            lse.withUnsafeMutableBufferPointer { l in
                                let (o, l) = (o.baseAddress!, l.baseAddress!)
                                // Work items are disjoint output rows, so no two write the same memory.
                                // Last blocks first: under a causal mask they see the most keys,
                                // so the dynamic schedule ends on short items and stays balanced.
                                parallelFor(bn * hq * blocksPerHead) { item in
                                    let bh = item % (bn * hq), block = blocksPerHead - 1 - item / (bn * hq)
                                    let b = bh / hq, h = bh % hq
                                    var problem = problemFor(b, h)
                                    let i0 = block * br, i1 = min(lq, i0 + br)
                                    withScratch(scratchCount) { scratch in
                                        ak_attention_forward_rows(
                                            &problem,
                                            q.baseAddress! + p.queryOffset(b, h),
                                            k.baseAddress! + p.keyOffset(b, h),
                                            v.baseAddress! + p.valueOffset(b, h),
                                            o + p.outputOffset(b, h), l + p.rowOffset(b, h),
                                            i0, i1, keyBlock, scratch, simd)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (output, lse)
    }
}
