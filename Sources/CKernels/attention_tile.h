// Private to CKernels: the tile-level building blocks the fused attention forward and backward
// share. One set of micro-kernels per instruction set behind `ak_tile_ops`, chosen at run time.
//
// Tiles: a query block of `rows` queries against a key tile of `cols` keys. Score tiles are
// row-major with a row stride that is a multiple of 16; packed B panels hold 16 columns each.
#ifndef AK_ATTENTION_TILE_H
#define AK_ATTENTION_TILE_H

#include "include/ak_attention.h"

typedef struct ak_tile_ops {
    /// Packs n rows of B ([n, kdim], row stride ldb) as panels [ceil(n/16)][kdim][16] so that
    /// A·Bᵀ reads 16 consecutive columns per step; the padding columns are zero.
    void (*pack_rows)(const float *b, long n, long kdim, long ldb, float *packed);
    /// C[r, c] = Σₖ A[r, k]·B[c, k] for r < m and c < roundup16(n) (padding columns get 0).
    void (*abt)(const float *a, long lda, long m, long kdim, const float *packed, long n, float *c, long ldc);
    /// C[r, c] += Σₖ A(r, k)·B[k, c], with A(r, k) = a[r·sam + k·sak] (so Aᵀ is free) and
    /// B row-major [kdim, n] with row stride ldb.
    void (*ab_acc)(const float *a, long sam, long sak, long m, long kdim,
                   const float *b, long ldb, long n, float *c, long ldc);
    /// max over x[0..n) (−inf when n == 0).
    float (*row_max)(const float *x, long n);
    /// x[j] ← exp(x[j] − sub) for j < n; returns the sum. exp(−inf) is exactly 0.
    float (*exp_sub_sum)(float *x, long n, float sub);
} ak_tile_ops;

const ak_tile_ops *ak_tile_ops_select(int use_simd);

/// First allowed key of query i by position (causal window), ≥ 0.
static inline long ak_key_lo(const ak_attention_problem *p, long i) {
    if (p->window <= 0) return 0;
    long lo = i + (p->lk - p->lq) + 1 - p->window;
    return lo > 0 ? lo : 0;
}

/// One past the last allowed key of query i by position (causal, padding), ≥ 0.
static inline long ak_key_hi(const ak_attention_problem *p, long i) {
    long hi = p->causal ? i + (p->lk - p->lq) + 1 : p->lk;
    if (hi > p->key_limit) hi = p->key_limit;
    return hi > 0 ? hi : 0;
}

/// Turns raw dot products s[r, c] = q[i0+r]·k[j0+c] into scores: multiplies by the scale,
/// adds ALiBi and an additive mask, and sets forbidden pairs to −inf.
void ak_tile_finish_scores(const ak_attention_problem *p, float *s, long lds,
                           long i0, long rows, long j0, long cols);

#endif
