// Private to CKernels: the micro-kernels of the fused attention backward, one set per
// instruction set, chosen at run time (see attention_backward.c for the algorithm).
//
// Layouts, for a tile of `rows` queries padded to `rows_padded` (a multiple of 16) and a key
// block of `cols` keys:
//   X̂ transposed query-side panels [rows_padded/16][width][16]: X̂[p][k][t] = x[16p + t][k]
//     (0 in padding), so a product with keys on the left produces 16 queries per step;
//   Sᵀ, dPᵀ tiles [cols][ld] (keys down, queries across, ld ≥ rows_padded), so the
//     elementwise steps run along queries with per-query vectors (lse, δ), no broadcasts.
#ifndef AK_ATTENTION_BACKWARD_OPS_H
#define AK_ATTENTION_BACKWARD_OPS_H

typedef struct ak_backward_ops {
    /// C[r, c] (+)= Σₖ A(r, k)·B[k, c] for r < m, c < n, with A(r, k) = a[r·sam + k·sak]
    /// (so Aᵀ is free) and B row-major with row stride ldb. Overwrites C when !accumulate.
    void (*gemm)(const float *a, long sam, long sak, long m, long kdim,
                 const float *b, long ldb, long n, float *c, long ldc, int accumulate);
    /// X̂ ← factor·x for rows [0, rows) of x ([rows, width], row stride width), zero padding.
    void (*pack_transposed)(const float *x, long rows, long rows_padded, long width, float factor, float *xhat);
    /// Sᵀ[c][r] ← exp(Sᵀ[c][r] − sub[r]) for c < cols, r < rows_padded. sub[r] = +inf gives 0.
    void (*probabilities)(float *st, long ld, long rows_padded, long cols, const float *sub);
    /// Sᵀ[c][r] ← scale·Sᵀ[c][r]·(dPᵀ[c][r] − delta[r]): the probabilities become dSᵀ.
    void (*ds)(float *st, const float *dpt, long ld, long rows_padded, long cols, const float *delta, float scale);
} ak_backward_ops;

const ak_backward_ops *ak_backward_ops_select(int use_simd);

#endif
