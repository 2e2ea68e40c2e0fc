/// The fused, tiled attention forward (FlashAttention-2 style). Placeholder that routes to the
/// reference path until the tiled kernel lands.
package enum FusedAttention {
    package static func forward(_ p: AttentionProblem, queries: Tensor, keys: Tensor, values: Tensor)
        -> (output: Tensor, logSumExp: Tensor)
    {
        ReferenceAttention.forward(p, queries: queries, keys: keys, values: values)
    }
}
