// Private to CKernels: the four micro-kernels of the fused attention forward, one set per
// SIMD level, chosen at run time by ak_forward_ops_for (see attention_forward.c for the algorithm).
//
// Layouts, for a block of `rows` queries padded to `rows_padded` (a multiple of 16) and a key
// tile of `cols` keys:
//   Q̂  query panels [rows_padded/16][D][16]: Q̂[p][k][t] = scale·q[16p + t][k] (0 in padding),
//      so the score kernel loads 16 consecutive queries per step and every score is already
//      scaled (natural units, as the backward recomputes them);
//   Sᵀ scores, then probabilities, stored transposed [cols][ld]: Sᵀ[c][r] is query r vs key c,
//      so the online softmax runs down columns and is vectorised across queries (no
//      horizontal reductions);
//   O  the unnormalised output accumulator [rows][ldo], ldo and the value width a multiple of 16.
#ifndef AK_ATTENTION_FORWARD_OPS_H
#define AK_ATTENTION_FORWARD_OPS_H

#include "include/ak_attention.h"
#include "attention_mask.h"

typedef struct ak_forward_ops {
    /// Q̂ ← scale·q for rows [0, rows) of q ([rows, d], row stride d), zero padding rows.
    void (*pack_queries)(const float *q, long rows, long rows_padded, long d, float scale, float *qhat);
    /// Sᵀ[c][r] = Σₖ k[c·d + k]·Q̂(k, r) for c < cols, r < rows_padded.
    void (*scores)(const float *qhat, long rows_padded, long d, const float *k, long cols,
                   float *st, long ld);
    /// The online-softmax step over one tile, for every r < rows_padded, with exp = ak_exp
    /// (include/ak_math.h; its SIMD twins in ak_simd_math.h):
    ///   m' = max(m, max_c Sᵀ[c][r]);  μ = m' (0 when m' = −inf, so exp(−inf − μ) is 0, not NaN)
    ///   α[r] = exp(m − μ);  Sᵀ[c][r] ← exp(Sᵀ[c][r] − μ);  l ← α·l + Σ_c Sᵀ[c][r];  m ← m'.
    void (*softmax)(float *st, long ld, long rows_padded, long cols, float *m, float *l, float *alpha);
    /// O[r][:] ← α[r]·O[r][:] + Σ_c Sᵀ[c][r]·v[c·ldv + :] for r < rows, over dv_padded columns
    /// (a multiple of 16; v is readable that wide).
    void (*accumulate)(const float *st, long ld, long rows, long cols, const float *v, long ldv,
                       long dv_padded, float *o, long ldo, const float *alpha);
} ak_forward_ops;

extern const ak_forward_ops ak_forward_ops_portable;
#if defined(__x86_64__)
extern const ak_forward_ops ak_forward_ops_avx2;
extern const ak_forward_ops ak_forward_ops_avx512;
#endif
#if defined(__aarch64__)
extern const ak_forward_ops ak_forward_ops_neon;
#endif

/// The ops table of SIMD `level` (clamped to what the CPU has): AVX-512, AVX2+FMA, NEON or portable.
const ak_forward_ops *ak_forward_ops_for(int level);

#endif
