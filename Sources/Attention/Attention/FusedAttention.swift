import CKernels

/// The fused, tiled attention forward (FlashAttention-2): each work item is one query block
/// of one (batch, query head); it streams key/value tiles through an online softmax in C and
/// writes its output rows and their log-sum-exp. Extra memory per work item is the scratch of
/// `ak_attention_forward_scratch_count`, O(Br·(D + Dv + Bc) + Bc·Dv), never O(Lq·Lk).
package enum FusedAttention {
    /// Keys per tile (Bc). With 64 query rows, the working set of one tile (Q̂, Sᵀ, the K and V
    /// tiles, O: about 80 KiB at D = 64) stays in L2 and each product's operands in L1.
    package static let keyBlock = 64

    /// Query rows per work item (Br): 64, or more when the keys no longer fit in L2 (512 KiB per
    /// core on Zen 3; K and V of one head take 2 MiB at Lk = 4096, D = 64) so that each K/V tile
    /// fetched from L3 serves more queries. Measured with scripts/fused_kernel_bench.c (per-core
    /// CPU time, docs/notes/fused.md): Br = 128 gains ~10% at N = 8192, 256 a little more at
    /// N = 16384. Never so large that the work items could not keep every thread busy.
    package static func queryBlock(for p: AttentionProblem) -> Int {
        let wanted = p.keyLength >= 16_384 ? 256 : p.keyLength >= 4096 ? 128 : 64
        var br = wanted
        while br > 64 && p.batch * p.queryHeads * ((p.queryLength + br - 1) / br) < 4 * Threading.available { br /= 2 }
        return min(br, p.queryLength)
    }

    /// Output `[B, Hq, Lq, Dv]` and log-sum-exp `[B, Hq, Lq]` (−inf on rows with no allowed key).
    /// `level` picks the C micro-kernels (the process-wide SIMD level by default; tests run
    /// every available level and compare).
    package static func forward(
        _ p: AttentionProblem, queries: Tensor, keys: Tensor, values: Tensor,
        level: SIMDLevel = .current
    ) -> (output: Tensor, logSumExp: Tensor) {
        let (bn, hq, lq, dv) = (p.batch, p.queryHeads, p.queryLength, p.valueDimension)
        var lse = Tensor(repeating: -.infinity, shape: [bn, hq, lq])
        // Empty problems: no rows, or no keys (every row fully masked) need no kernel; zero
        // widths are degenerate enough to leave to the reference.
        guard bn * hq * lq > 0, p.keyLength > 0 else { return (Tensor.zeros([bn, hq, lq, dv]), lse) }
        guard p.headDimension > 0, dv > 0 else {
            return ReferenceAttention.forward(p, queries: queries, keys: keys, values: values)
        }
        let br = queryBlock(for: p)
        let blocksPerHead = (lq + br - 1) / br
        let scratchCount = ak_attention_forward_scratch_count(br, keyBlock, p.headDimension, dv)
        let simd = level.rawValue
        // The work items cover every (batch, head, row), and the kernel writes each of its rows
        // (zeros where a row may attend to no key), so the output is not zeroed first.
        let output = Tensor(uninitializedShape: [bn, hq, lq, dv]) { o in
            p.withKernelProblems { problemFor in
                queries.withUnsafeBufferPointer { q in
                    keys.withUnsafeBufferPointer { k in
                        values.withUnsafeBufferPointer { v in
                            lse.withUnsafeMutableBufferPointer { l in
                                let (o, l) = (o.baseAddress!, l.baseAddress!)
                                // Work items are disjoint output rows, so no two write the same memory.
                                // One head after another, so that the threads share that head's
                                // keys and values while they are in cache (interleaving heads
                                // streamed every head's K and V through L2 and, at N = 2048 with
                                // 8 heads, overflowed an 8 MiB L3). Within a head, last blocks
                                // first: under a causal mask they see the most keys, so the
                                // dynamic schedule ends on short items and stays balanced.
                                parallelFor(bn * hq * blocksPerHead) { item in
                                    let bh = item / blocksPerHead, block = blocksPerHead - 1 - item % blocksPerHead
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
