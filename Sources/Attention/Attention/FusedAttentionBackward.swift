import CKernels

/// The fused, tiled attention backward (FlashAttention-2). Probabilities are recomputed tile
/// by tile from the forward's log-sum-exp; no `Lq × Lk` matrix is ever held.
///
/// **Work split and determinism.** The keys of each (batch, kv head) are cut into blocks of
/// ``keyBlock``; block `kb` belongs to key group `kb mod G`. A work item is one (batch, kv
/// head, key group): it alone writes the dK/dV rows of its blocks, visiting the query heads
/// of its group in order and, for each, the query blocks in order. Its dQ contributions go to
/// its group's own dQ buffer; the `G` buffers are then added in the order 0, 1, …, G − 1.
/// `G` depends only on the problem's shape (never on the thread count), so every float sum is
/// taken in one fixed order and the result is bit-identical for any `ATTEND_THREADS`.
/// Interleaving the blocks over groups keeps causal work balanced between groups.
///
/// **Memory.** Per work item, the scratch of `ak_attention_backward_scratch_count`
/// (O(Br·(Bc + D) + Bc·(D + Dv))); overall, `G − 1` extra dQ-sized buffers when `G > 1`, with `G`
/// capped so they stay under ``partialBudget`` floats; plus δ, `[B, Hq, Lq]`. The gradients are
/// not zeroed up front: each work item zeroes the rows it alone accumulates into.
package enum FusedAttentionBackward {
    /// Query rows per tile (Br) and keys per block (Bc).
    package static let queryBlock = 64
    package static let keyBlock = 64
    /// Work items the split aims for, so that a few threads stay busy on one (batch, kv head).
    package static let targetWorkItems = 16
    /// The most floats the extra dQ buffers may take (32 Mi floats = 128 MiB).
    package static let partialBudget = 32 << 20

    /// The number of key groups `G` for a problem (a function of its shape only).
    package static func keyGroups(_ p: AttentionProblem) -> Int {
        let keyBlocks = (p.keyLength + keyBlock - 1) / keyBlock
        let heads = max(1, p.batch * p.keyValueHeads)
        var groups = min(keyBlocks, (targetWorkItems + heads - 1) / heads)
        let dqCount = p.batch * p.queryHeads * p.queryLength * p.headDimension
        if dqCount > 0 { groups = min(groups, 1 + partialBudget / dqCount) }
        return max(1, groups)
    }

    /// `(dQ, dK, dV)`; `level` picks the C micro-kernels (the process-wide SIMD level by
    /// default; tests run every available level).
    /// `serial: true` runs the work items one after another on the calling thread, which is how
    /// the tests show that the thread count does not change a single bit of the result.
    package static func backward(
        _ p: AttentionProblem, outputGradient: Tensor, queries: Tensor, keys: Tensor, values: Tensor,
        output: Tensor, logSumExp: Tensor, level: SIMDLevel = .current, serial: Bool = false
    ) -> (queries: Tensor, keys: Tensor, values: Tensor) {
        let (bn, hq, hkv) = (p.batch, p.queryHeads, p.keyValueHeads)
        let (lq, lk, d, dv) = (p.queryLength, p.keyLength, p.headDimension, p.valueDimension)
        guard bn * hq * lq > 0, lk > 0 else {
            return (Tensor.zeros(queries.shape), Tensor.zeros(keys.shape), Tensor.zeros(values.shape))
        }
        guard d > 0, dv > 0 else {
            return ReferenceAttentionBackward.backward(
                p, outputGradient: outputGradient, queries: queries, keys: keys, values: values)
        }
        let delta = rowDots(output, outputGradient, rows: bn * hq * lq, width: dv)
        let groups = keyGroups(p)
        let keyBlocks = (lk + keyBlock - 1) / keyBlock
        let dqCount = bn * hq * lq * d
        // Buffer 0 is dQ itself; buffers 1..<G are scratch added into it at the end. Nothing is
        // zeroed up front: each work item zeroes what it alone accumulates into (its dQ or
        // partial rows, its blocks' dK/dV rows) just before, on its own thread and while the
        // rows are about to be used, so no whole-tensor pass runs on one thread first.
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: max(1, (groups - 1) * dqCount))
        defer { partials.deallocate() }
        let scratchCount = ak_attention_backward_scratch_count(queryBlock, keyBlock, d, dv)
        let simd = level.rawValue
        var dK: Tensor?, dV: Tensor?
        let dQ = Tensor(uninitializedShape: queries.shape) { dq in
        dK = Tensor(uninitializedShape: keys.shape) { dk in
        dV = Tensor(uninitializedShape: values.shape) { dvOut in
        p.withKernelProblems { problemFor in
            withUnsafeBufferPointers([queries, keys, values, outputGradient, logSumExp, delta]) { inputs in
                let io = KernelPointers(
                    q: inputs[0].baseAddress!, k: inputs[1].baseAddress!, v: inputs[2].baseAddress!,
                    gradOut: inputs[3].baseAddress!, lse: inputs[4].baseAddress!, delta: inputs[5].baseAddress!,
                    dq: dq.baseAddress!, dk: dk.baseAddress!, dv: dvOut.baseAddress!)
                forEach(bn * hkv * groups, serial: serial) { item in
                    let b = item / (hkv * groups), g = (item / groups) % hkv, group = item % groups
                    let dqBase = group == 0 ? io.dq : partials + (group - 1) * dqCount
                    // This item's dQ rows (or partial rows): every query head sharing kv head g.
                    let heads = g * p.groupSize..<(g + 1) * p.groupSize
                    (dqBase + p.queryOffset(b, heads.lowerBound)).initialize(repeating: 0, count: heads.count * lq * d)
                    withScratch(scratchCount) { scratch in
                        accumulateKeyBlocks(p, problemFor: problemFor, io, dqBase: dqBase, batch: b, keyValueHead: g,
                                            blocks: stride(from: group, to: keyBlocks, by: groups), scratch: scratch, level: simd)
                    }
                }
                addPartials(partials, groups: groups, count: dqCount, into: io.dq, serial: serial)
            }
        }
        }
        }
        }
        return (dQ, checkNotNil(dK, "FusedAttentionBackward: dK was not built"),
                checkNotNil(dV, "FusedAttentionBackward: dV was not built"))
    }

    /// The raw pointers of one backward call (pinned by the caller for its duration).
    struct KernelPointers {
        let q, k, v, gradOut, lse, delta: UnsafePointer<Float>
        let dq, dk, dv: UnsafeMutablePointer<Float>
    }

    /// One work item: for key blocks `blocks` of key/value head `keyValueHead` in batch row
    /// `batch`, accumulates `dK`, `dV` (owned by this item) and `dQ` (into `dqBase`, this item's
    /// buffer) over every query head sharing that key/value head.
    static func accumulateKeyBlocks(
        _ p: AttentionProblem, problemFor: (Int, Int) -> ak_attention_problem, _ io: KernelPointers,
        dqBase: UnsafeMutablePointer<Float>, batch b: Int, keyValueHead g: Int, blocks: StrideTo<Int>,
        scratch: UnsafeMutablePointer<Float>, level: Int32
    ) {
        for block in blocks {
            let j0 = block * keyBlock, j1 = min(p.keyLength, j0 + keyBlock)
            // The block's dK/dV rows belong to this item alone: zero them, then every query head
            // of the group adds into them (a block no query can see stays zero).
            let first = g * p.groupSize
            (io.dk + p.keyOffset(b, first) + j0 * p.headDimension).initialize(repeating: 0, count: (j1 - j0) * p.headDimension)
            (io.dv + p.valueOffset(b, first) + j0 * p.valueDimension).initialize(repeating: 0, count: (j1 - j0) * p.valueDimension)
            for h in g * p.groupSize..<(g + 1) * p.groupSize {
                var problem = problemFor(b, h)
                let rows = p.rowOffset(b, h)
                ak_attention_backward_key_block(
                    &problem,
                    io.q + p.queryOffset(b, h), io.k + p.keyOffset(b, h), io.v + p.valueOffset(b, h),
                    io.gradOut + p.outputOffset(b, h), io.lse + rows, io.delta + rows,
                    dqBase + p.queryOffset(b, h), io.dk + p.keyOffset(b, h), io.dv + p.valueOffset(b, h),
                    j0, j1, queryBlock, keyBlock, scratch, level)
            }
        }
    }

    /// `dQ = buffer 0 + buffer 1 + …` in that order, element by element (so the result does not
    /// depend on the thread count): adds the `groups − 1` partial buffers into `dq`.
    static func addPartials(_ partials: UnsafeMutablePointer<Float>, groups: Int, count: Int,
                            into dq: UnsafeMutablePointer<Float>, serial: Bool) {
        guard groups > 1 else { return }
        let chunks = serial ? 1 : Threading.available
        forEach(chunks, serial: serial) { chunk in
            let range = count * chunk / chunks..<count * (chunk + 1) / chunks
            for group in 1..<groups {
                let source = partials + (group - 1) * count
                for index in range { dq[index] += source[index] }
            }
        }
    }

    /// `body(0) … body(count − 1)`: in order on this thread when `serial`, else on the workers.
    static func forEach(_ count: Int, serial: Bool, _ body: (Int) -> Void) {
        if serial {
            for item in 0..<count { body(item) }
        } else {
            parallelFor(count, body)
        }
    }

    /// `δ[r] = Σ_c a[r, c]·b[r, c]` over `rows` rows of `width`.
    static func rowDots(_ a: Tensor, _ b: Tensor, rows: Int, width: Int) -> Tensor {
        Tensor(uninitializedShape: [rows]) { out in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    ak_attention_backward_delta(pa.baseAddress!, pb.baseAddress!, rows, width, out.baseAddress!)
                }
            }
        }
    }
}
