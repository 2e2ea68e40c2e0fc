// Private to CKernels: the elementwise step of the attention backward, per instruction set.
#ifndef AK_ATTENTION_BACKWARD_OPS_H
#define AK_ATTENTION_BACKWARD_OPS_H

typedef struct ak_backward_ops {
    /// s[r, c] ← scale·s[r, c]·(dp[r, c] − delta[r]) for r < rows, c < cols (row stride lds):
    /// turns the probabilities P into dS given dP = dO·Vᵀ and δ.
    void (*ds)(float *s, const float *dp, long lds, long rows, long cols, const float *delta, float scale);
} ak_backward_ops;

const ak_backward_ops *ak_backward_ops_select(int use_simd);

#endif
