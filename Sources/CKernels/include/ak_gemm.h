#ifndef AK_GEMM_H
#define AK_GEMM_H

#include <stddef.h>

// Single-precision GEMM, row-major: C = op(A)·op(B)  (or C += op(A)·op(B) when accumulate),
// with op(A) m×k, op(B) k×n, C m×n. op(X) is X or Xᵀ; lda/ldb/ldc are row strides in elements.
// transpose_a: A is stored k×m (element (i, p) at a[p*lda + i]); transpose_b: B is stored n×k.
//
// Structure (GotoBLAS / BLIS): the k dimension is cut into KC-deep slices and n into NC-wide
// blocks; each B slice is packed once into NR-wide column panels (kc×NR, contiguous) and each
// MC×KC block of A into MR-tall row panels, so the micro-kernel streams both operands with unit
// stride while its MR×NR tile of C stays in registers. Packing reads op(A)/op(B) directly, so
// transposed operands need no separate copy. Edges are zero-padded in the panels.
//
// No allocation and no threads here: the caller passes the packing buffers (sizes below) and
// splits large products across threads by handing each thread a disjoint block of rows or
// columns of C. Each element of C is always summed in the same order (k slices in order, each
// slice left to right), so results do not depend on how the caller splits the work.

/// Register tile of the portable, AVX2+FMA and NEON micro-kernels: an MR×NR block of C stays in
/// registers (6×16 = 12 ymm). The AVX-512 kernel uses 14×32 (28 zmm); `ak_sgemm_tile` gives the
/// tile of any level.
#define AK_GEMM_MR 6
#define AK_GEMM_NR 16
/// Cache blocking: an MC×KC panel of A stays in L2, a KC×NR micro-panel of B in L1. MC is a
/// multiple of every level's MR; NC of every level's NR.
#define AK_GEMM_MC 168
#define AK_GEMM_KC 256
#define AK_GEMM_NC 4096

/// Floats needed in the packed-A buffer (independent of the problem and of the level).
size_t ak_sgemm_pack_a_floats(void);
/// Floats needed in the packed-B buffer for a product with n columns (at any level).
size_t ak_sgemm_pack_b_floats(size_t n);

/// The register tile (rows *mr × columns *nr of C) of the micro-kernel `ak_sgemm_packed` runs
/// at `level` (after `ak_simd_clamp`), so callers can split C along whole tiles.
void ak_sgemm_tile(int level, size_t *mr, size_t *nr);

/// Packed, cache-blocked GEMM over the whole m×n×k problem, single-threaded, with the
/// micro-kernel of SIMD `level` (an `ak_simd_level`; a level the CPU lacks runs the best one
/// below it). pack_a needs ak_sgemm_pack_a_floats() floats, pack_b ak_sgemm_pack_b_floats(n);
/// 64-byte-aligned buffers are faster (none is required). k == 0 sets C to 0 (or leaves it
/// when accumulate).
void ak_sgemm_packed(size_t m, size_t n, size_t k,
                     const float *a, size_t lda, int transpose_a,
                     const float *b, size_t ldb, int transpose_b,
                     float *c, size_t ldc, int accumulate,
                     float *pack_a, float *pack_b, int level);

/// Floats of op(B) (k×n) packed once for `level` by ak_sgemm_prepack_b: k × n rounded up to
/// the level's NR.
size_t ak_sgemm_prepacked_b_floats(size_t n, size_t k, int level);

/// Packs the whole of op(B) (k×n) for `level` into `out`: the k slices ak_sgemm_packed would
/// cut, one after another, each as NR-wide panels of all n columns (zero-padded). A weight
/// packed once serves every later product with it (ak_sgemm_prepacked).
void ak_sgemm_prepack_b(size_t n, size_t k, const float *b, size_t ldb, int transpose_b, float *out, int level);

/// ak_sgemm_packed with op(B) already packed by ak_sgemm_prepack_b (n_total columns, same
/// `level`): C gets columns j0 ..< j0+n of the product (j0 a multiple of the level's NR; c
/// points at column j0). Same micro-kernel calls on the same panels, so the same bits as
/// ak_sgemm_packed; only A is packed here (pack_a needs ak_sgemm_pack_a_floats()). No buffer
/// needs any alignment; 64-byte-aligned ones are faster.
void ak_sgemm_prepacked(size_t m, size_t n, size_t k, const float *a, size_t lda, int transpose_a,
                        const float *packed_b, size_t n_total, size_t j0,
                        float *c, size_t ldc, int accumulate, float *pack_a_buffer, int level);

/// Unpacked GEMM for small products (no buffers, single-threaded): row-times-panel loops that
/// vectorise well when m·n·k is too small for packing to pay off.
void ak_sgemm_small(size_t m, size_t n, size_t k,
                    const float *a, size_t lda, int transpose_a,
                    const float *b, size_t ldb, int transpose_b,
                    float *c, size_t ldc, int accumulate);

/// Few-row GEMM without packing, for products where op(A) has a handful of rows (decoding one
/// token: m = 1): packing B would cost as much as the product itself, since every element of B
/// is used only m times. Rows of op(A) go four at a time so each element of B loaded feeds four
/// FMAs. transpose_b (B stored n×k, a weight matrix in `x·Wᵀ`): each C entry is a dot product of
/// two contiguous k-vectors. Otherwise C's rows are sums of B's rows scaled by A's entries.
/// Single-threaded; callers split the columns of C across threads. `level` (an `ak_simd_level`,
/// clamped to what the CPU has) selects the AVX-512, AVX2+FMA or NEON variant; portable loops
/// otherwise. Each C entry is Σ_p op(A)[i,p]·op(B)[p,j] (plus C when accumulating), one rounding
/// per step, so every variant is within 2(k+2)·2⁻²⁴·Σ_p |op(A)[i,p]·op(B)[p,j]| (+|C|) of it.
void ak_sgemm_rows(size_t m, size_t n, size_t k,
                   const float *a, size_t lda, int transpose_a,
                   const float *b, size_t ldb, int transpose_b,
                   float *c, size_t ldc, int accumulate, int level);

#endif
