// Private to CKernels: the micro-kernel contract shared by gemm.c and the gemm_kernel_*.c files.
#ifndef AK_GEMM_INTERNAL_H
#define AK_GEMM_INTERNAL_H

#include <stddef.h>

// A micro-kernel multiplies one packed A micro-panel (kc × MR, stored p-major: a[p*MR + r])
// by one packed B micro-panel (kc × NR, b[p*NR + j]) and writes the full MR×NR tile of C:
// C = acc when beta == 0, C += acc when beta == 1. Edges never reach it: the caller passes a
// scratch tile for partial tiles. Every c[r][j] is summed over p in increasing order.
typedef void (*ak_gemm_microkernel)(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);

/// Transposes a block of at most 16×16 for packing: output vector c < cols holds column c of
/// the block, lane r = src[r·ld + c] for r < rows and 0 for rows ≤ r < 16; its first `width`
/// lanes are stored at dst + c·dst_stride. Only the rows × cols elements are read.
typedef void (*ak_gemm_transpose)(const float *src, size_t ld, size_t rows, size_t cols,
                                  float *dst, size_t dst_stride, size_t width);

/// Copies `depth` runs of `width` ≤ 32 floats for packing: run p is dst[p·width …] = the `live`
/// floats at src + p·ld, then zeros up to `width`. Only the live floats are read.
typedef void (*ak_gemm_copy_panel)(const float *src, size_t ld, size_t live, size_t depth,
                                   float *dst, size_t width);

/// A partial tile straight into C: rows [0, rows) and columns [0, cols) of the MR×NR product
/// of the same packed panels as the micro-kernel (rows < MR or cols < NR), each entry summed in
/// the micro-kernel's order (from 0 over p, then added to C when beta), so it gives the bits
/// the scratch-tile route gives, computing only the live rows and touching only the live columns.
typedef void (*ak_gemm_edge_kernel)(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta,
                                    size_t rows, size_t cols);

/// The micro-kernel reading A where it is stored, row-major (row r of the tile at a + r·lda,
/// depth p at a[r·lda + p]), instead of from a packed micro-panel: each broadcast reads the
/// same value the packed kernel reads, in the same order, so the tile gets the same bits, and
/// the transposing pack of row-major A is never made. Reads the MR rows × kc depth steps only;
/// the caller passes full-height tiles (partial ones go through a packed panel).
typedef void (*ak_gemm_direct_kernel)(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                                      int beta);

/// One level's micro-kernel with its register tile (mr × nr) and depth slice kc, and optionally
/// a vector transpose for the packings that transpose (A stored row-major, B stored n×k), a
/// vector copy for the ones that do not (A stored k×m, B stored k×n), and an edge kernel for
/// partial tiles, and a kernel reading row-major A unpacked; NULL means the scalar loops
/// (packing), the full kernel into a scratch tile (edges), or packing A (direct). Either way
/// gives the same bits.
typedef struct ak_gemm_blocking {
    size_t mr, nr, kc;
    ak_gemm_microkernel kernel;
    ak_gemm_transpose transpose;
    ak_gemm_copy_panel copy_panel;
    ak_gemm_edge_kernel edge;
    ak_gemm_direct_kernel direct;
} ak_gemm_blocking;

/// ak_sgemm_packed with the route for row-major A chosen: `direct` 1 reads it unpacked where the
/// level has a direct kernel (what ak_sgemm_packed does), 0 always packs it. The same bits
/// either way; the C driver checks that.
void ak_sgemm_packed_route(size_t m, size_t n, size_t k, const float *a, size_t lda, int transpose_a,
                           const float *b, size_t ldb, int transpose_b, float *c, size_t ldc, int accumulate,
                           float *pack_a_buffer, float *pack_b_buffer, int level, int direct);

/// The largest register tile of any level (sizes the edge scratch tile) and the widest NR.
enum { AK_GEMM_MAX_TILE = 14 * 32, AK_GEMM_MAX_NR = 32 };

void ak_gemm_kernel_portable(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);
#if defined(__x86_64__)
void ak_gemm_kernel_avx2(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);
/// The 6×16 kernel on row-major A (ak_gemm_direct_kernel).
void ak_gemm_direct_avx2(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc, int beta);
/// 14×32 tile (28 zmm accumulators).
void ak_gemm_kernel_avx512(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);
/// 16×16 in-register transpose (ak_gemm_transpose).
void ak_gemm_transpose_avx512(const float *src, size_t ld, size_t rows, size_t cols,
                              float *dst, size_t dst_stride, size_t width);
/// Masked 16-lane copies (ak_gemm_copy_panel).
void ak_gemm_copy_panel_avx512(const float *src, size_t ld, size_t live, size_t depth, float *dst, size_t width);
/// Partial 14×32 tiles: only the live rows, masked columns (ak_gemm_edge_kernel).
void ak_gemm_edge_avx512(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta,
                         size_t rows, size_t cols);
#endif
#if defined(__aarch64__)
void ak_gemm_kernel_neon(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);
#endif

#endif
