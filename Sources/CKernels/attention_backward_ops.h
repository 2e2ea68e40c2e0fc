// Private to CKernels: the micro-kernels of the fused attention backward, one set per
// SIMD level, chosen at run time by ak_backward_ops_for (see attention_backward.c for the algorithm).
//
// Layouts, for a tile of `rows` queries and a key block of `cols` keys padded to `padded`
// (a multiple of 16):
//   K̂, V̂ the key block transposed, [width][padded]: K̂[k][t] = k[t][k] (0 in padding), packed
//     once per block by attention_backward.c, so a product with queries on the left produces a
//     whole row of keys (B's row stride is padded);
//   S, dP tiles [rows][lds] (queries down, keys across, lds ≥ padded); only the first `cols`
//     columns are meaningful and only they are read.
#ifndef AK_ATTENTION_BACKWARD_OPS_H
#define AK_ATTENTION_BACKWARD_OPS_H

typedef struct ak_backward_ops {
    /// C[r, c] (+)= Σₖ A(r, k)·B[k, c] for r < m, c < n, with A(r, k) = a[r·sam + k·sak]
    /// (so Aᵀ is free) and B row-major with row stride ldb. Overwrites C when !accumulate.
    void (*gemm)(const float *a, long sam, long sak, long m, long kdim,
                 const float *b, long ldb, long n, float *c, long ldc, int accumulate);
    /// S[r][c] ← exp(S[r][c] − lse[r]) for r < rows, c < cols, with ak_exp (the exp of the
    /// forward's softmax, so P is the function the forward summed into lse); a row with
    /// lse = −inf (no allowed key) becomes 0 (exp(−inf + inf) would be NaN).
    void (*probabilities)(float *s, long lds, long rows, long cols, const float *lse);
    /// S[r][c] ← scale·S[r][c]·(dP[r][c] − delta[r]) for r < rows, c < cols: P becomes dS.
    void (*ds)(float *s, const float *dp, long lds, long rows, long cols, const float *delta, float scale);
} ak_backward_ops;

/// The ops table of SIMD `level` (clamped to what the CPU has): AVX-512, AVX2+FMA, NEON or portable.
const ak_backward_ops *ak_backward_ops_for(int level);

#endif
