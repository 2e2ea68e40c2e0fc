// Packed, cache-blocked SGEMM (GotoBLAS / BLIS loop structure); see include/ak_gemm.h.
//
// Dimensions: op(A) is m×k, op(B) is k×n, C is m×n, all row-major with leading dimensions.
// Loops, outermost first:  jc over n (NC) → pc over k (KC) → pack B slice → ic over m (MC)
//   → pack A block (row-major A at AVX2: read in place, prepare_a) → jr over the B panels (NR)
//   → ir over the A panels (MR) → micro-kernel.
#include "ak_gemm.h"
#include "ak_cpu.h"
#include "gemm_internal.h"

#include <string.h>

enum { MC = AK_GEMM_MC, KC = AK_GEMM_KC, NC = AK_GEMM_NC };

static size_t min_size(size_t x, size_t y) { return x < y ? x : y; }
static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

/// Every level's micro-kernel and blocking; MC (168) is a multiple of each MR, NC of each NR,
/// and no level's kc exceeds KC (the packing buffers are sized for all of them).
static const ak_gemm_blocking portable_blocking = {AK_GEMM_MR, AK_GEMM_NR, KC, ak_gemm_kernel_portable, NULL, NULL, NULL, NULL};
#if defined(__x86_64__)
static const ak_gemm_blocking avx2_blocking = {AK_GEMM_MR, AK_GEMM_NR, KC, ak_gemm_kernel_avx2, NULL, NULL, NULL,
                                               ak_gemm_direct_avx2};
static const ak_gemm_blocking avx512_blocking = {14, 32, KC, ak_gemm_kernel_avx512, ak_gemm_transpose_avx512,
                                                 ak_gemm_copy_panel_avx512, ak_gemm_edge_avx512, NULL};
#endif
#if defined(__aarch64__)
static const ak_gemm_blocking neon_blocking = {AK_GEMM_MR, AK_GEMM_NR, KC, ak_gemm_kernel_neon, NULL, NULL, NULL, NULL};
#endif

static const ak_gemm_blocking *blocking_for(int level) {
    switch (ak_simd_clamp(level)) {
#if defined(__x86_64__)
    case AK_SIMD_AVX512: return &avx512_blocking;
    case AK_SIMD_AVX2: return &avx2_blocking;
#endif
#if defined(__aarch64__)
    case AK_SIMD_NEON: return &neon_blocking;
#endif
    default: return &portable_blocking;
    }
}

void ak_sgemm_tile(int level, size_t *mr, size_t *nr) {
    const ak_gemm_blocking *blocking = blocking_for(level);
    *mr = blocking->mr;
    *nr = blocking->nr;
}

size_t ak_sgemm_pack_a_floats(void) { return (size_t)MC * KC; }

size_t ak_sgemm_pack_b_floats(size_t n) { return (size_t)KC * round_up(min_size(n == 0 ? 1 : n, NC), AK_GEMM_MAX_NR); }

// Packs rows [i0, i0+mc) × depth [p0, p0+kc) of op(A) into MR-tall panels: panel t holds
// rows i0+t·MR …, element (r, p) at out[t·MR·kc + p·MR + r]; rows past m are zero.
static void pack_a(size_t mc, size_t kc, const float *a, size_t lda, int transpose_a,
                   size_t i0, size_t p0, float *out, const ak_gemm_blocking *blocking) {
    const size_t MR = blocking->mr;
    for (size_t t = 0; t < mc; t += MR) {
        const size_t rows = min_size(MR, mc - t);
        float *panel = out + t * kc;
        if (transpose_a && blocking->copy_panel) {
            blocking->copy_panel(a + p0 * lda + i0 + t, lda, rows, kc, panel, MR);
        } else if (transpose_a && rows == AK_GEMM_MR && MR == AK_GEMM_MR) {
            // A whole panel: one fixed-size copy per depth step, which the compiler inlines as
            // two moves instead of a loop of `rows` iterations (AVX2, one core: the dW = dzᵀ·x
            // products of `baby`, 128×128×384 and 384×128×384, 3–8% faster).
            for (size_t p = 0; p < kc; ++p)
                memcpy(panel + p * AK_GEMM_MR, a + (p0 + p) * lda + i0 + t, AK_GEMM_MR * sizeof(float));
        } else if (transpose_a) {
            // op(A)(i, p) = a[p·lda + i]: the MR rows of one depth step are contiguous.
            for (size_t p = 0; p < kc; ++p) {
                const float *src = a + (p0 + p) * lda + i0 + t;
                float *dst = panel + p * MR;
                size_t r = 0;
                for (; r < rows; ++r) dst[r] = src[r];
                for (; r < MR; ++r) dst[r] = 0.0f;
            }
        } else if (blocking->transpose) {
            // MR rows × 16 depth steps at a time, transposed in registers.
            for (size_t p = 0; p < kc; p += 16)
                blocking->transpose(a + (i0 + t) * lda + p0 + p, lda, rows, min_size(16, kc - p), panel + p * MR, MR, MR);
        } else {
            for (size_t r = 0; r < rows; ++r) {
                const float *src = a + (i0 + t + r) * lda + p0;
                for (size_t p = 0; p < kc; ++p) panel[p * MR + r] = src[p];
            }
            for (size_t r = rows; r < MR; ++r)
                for (size_t p = 0; p < kc; ++p) panel[p * MR + r] = 0.0f;
        }
    }
}

// Packs depth [p0, p0+kc) × columns [j0, j0+nc) of op(B) into NR-wide panels: panel t holds
// columns j0+t·NR …, element (p, j) at out[t·NR·kc + p·NR + j]; columns past n are zero.
static void pack_b(size_t kc, size_t nc, const float *b, size_t ldb, int transpose_b,
                   size_t p0, size_t j0, float *out, const ak_gemm_blocking *blocking) {
    const size_t NR = blocking->nr;
    for (size_t t = 0; t < nc; t += NR) {
        const size_t cols = min_size(NR, nc - t);
        float *panel = out + t * kc;
        if (transpose_b && blocking->transpose) {
            // 16 stored rows (columns of op(B)) × 16 depth steps at a time, transposed in
            // registers; columns past n come out zero.
            for (size_t h = 0; h < NR; h += 16) {
                const size_t live = cols > h ? min_size(16, cols - h) : 0;
                for (size_t p = 0; p < kc; p += 16)
                    blocking->transpose(b + (j0 + t + h) * ldb + p0 + p, ldb, live, min_size(16, kc - p),
                                        panel + p * NR + h, NR, 16);
            }
        } else if (transpose_b) {
            // op(B)(p, j) = b[j·ldb + p]: read each stored row contiguously, write strided.
            for (size_t j = 0; j < cols; ++j) {
                const float *src = b + (j0 + t + j) * ldb + p0;
                for (size_t p = 0; p < kc; ++p) panel[p * NR + j] = src[p];
            }
            for (size_t j = cols; j < NR; ++j)
                for (size_t p = 0; p < kc; ++p) panel[p * NR + j] = 0.0f;
        } else if (blocking->copy_panel) {
            blocking->copy_panel(b + p0 * ldb + j0 + t, ldb, cols, kc, panel, NR);
        } else {
            for (size_t p = 0; p < kc; ++p) {
                const float *src = b + (p0 + p) * ldb + j0 + t;
                float *dst = panel + p * NR;
                if (cols == NR && NR == AK_GEMM_NR) {
                    memcpy(dst, src, AK_GEMM_NR * sizeof(float));  // a constant size: inline moves, no call
                } else if (cols == NR) {
                    memcpy(dst, src, NR * sizeof(float));
                } else {
                    size_t j = 0;
                    for (; j < cols; ++j) dst[j] = src[j];
                    for (; j < NR; ++j) dst[j] = 0.0f;
                }
            }
        }
    }
}

// C block (mc × nc at c) from packed panels; partial edge tiles go to the level's edge kernel,
// or else through a scratch tile so the micro-kernel only ever sees full MR×NR tiles (either way
// summed in the same order as full ones). With `da` (row-major A at the block's first row and
// depth, rows lda apart) the full-height tiles read A there through the direct kernel, and
// only a partial last row panel comes from `pa` (packed at its usual offset).
static void macro_kernel(size_t mc, size_t nc, size_t kc, const float *pa, const float *da, size_t lda,
                         const float *pb, float *c, size_t ldc, int beta, const ak_gemm_blocking *blocking) {
    const size_t MR = blocking->mr, NR = blocking->nr;
    const ak_gemm_microkernel kernel = blocking->kernel;
    const ak_gemm_direct_kernel direct = da ? blocking->direct : NULL;
    float edge[AK_GEMM_MAX_TILE] __attribute__((aligned(64)));
    for (size_t jr = 0; jr < nc; jr += NR) {
        const size_t cols = min_size(NR, nc - jr);
        for (size_t ir = 0; ir < mc; ir += MR) {
            const size_t rows = min_size(MR, mc - ir);
            float *tile = c + ir * ldc + jr;
            const int whole = rows == MR && cols == NR;
            if (whole && direct) {
                direct(kc, da + ir * lda, lda, pb + jr * kc, tile, ldc, beta);
            } else if (whole) {
                kernel(kc, pa + ir * kc, pb + jr * kc, tile, ldc, beta);
            } else if (blocking->edge && !direct) {
                blocking->edge(kc, pa + ir * kc, pb + jr * kc, tile, ldc, beta, rows, cols);
            } else {
                if (direct && rows == MR) {
                    direct(kc, da + ir * lda, lda, pb + jr * kc, edge, NR, 0);
                } else {
                    kernel(kc, pa + ir * kc, pb + jr * kc, edge, NR, 0);
                }
                for (size_t r = 0; r < rows; ++r) {
                    float *dst = tile + r * ldc;
                    const float *src = edge + r * NR;
                    if (beta) {
                        for (size_t j = 0; j < cols; ++j) dst[j] += src[j];
                    } else {
                        for (size_t j = 0; j < cols; ++j) dst[j] = src[j];
                    }
                }
            }
        }
    }
}

/// Rows [ic, ic+mc) × depth [pc, pc+kc) of op(A) for macro_kernel: the whole block packed, or,
/// when `direct` and A is row-major at a level with a direct kernel, only the partial last row
/// panel packed (at its usual offset) and the returned pointer to A itself for the rest.
/// Rows a multiple of 4 KiB apart are packed all the same: the MR rows of a tile would then
/// share one set of the L1 cache (one core, 1024³: up to 4% slower read in place).
static const float *prepare_a(size_t mc, size_t kc, const float *a, size_t lda, int transpose_a, size_t ic, size_t pc,
                              float *pack_a_buffer, const ak_gemm_blocking *blocking, int direct) {
    if (!direct || transpose_a || !blocking->direct || lda * sizeof(float) % 4096 == 0) {
        pack_a(mc, kc, a, lda, transpose_a, ic, pc, pack_a_buffer, blocking);
        return NULL;
    }
    const size_t full = mc / blocking->mr * blocking->mr;
    if (full < mc) pack_a(mc - full, kc, a, lda, 0, ic + full, pc, pack_a_buffer + full * kc, blocking);
    return a + ic * lda + pc;
}

/// Equal k slices (e.g. 300 → 150 + 150, not 256 + 44) keep every slice deep enough to
/// amortise the C loads and stores. The split depends on k alone, so results do not change
/// with the caller's row/column split (or with B packed once ahead, ak_sgemm_prepacked).
static size_t slice_depth(size_t k, const ak_gemm_blocking *blocking) {
    if (k == 0) return 1;  // no slices at all (an empty weight packs to nothing)
    const size_t slices = (k + blocking->kc - 1) / blocking->kc;
    return (k + slices - 1) / slices;
}

/// A product with nothing to sum: m or n zero (nothing to write) or k zero (C = 0, or C kept
/// when accumulating). Returns 1 when it was one.
static int trivial_product(size_t m, size_t n, size_t k, float *c, size_t ldc, int accumulate) {
    if (m == 0 || n == 0) return 1;
    if (k != 0) return 0;
    if (!accumulate)
        for (size_t i = 0; i < m; ++i) memset(c + i * ldc, 0, n * sizeof(float));
    return 1;
}

void ak_sgemm_packed(size_t m, size_t n, size_t k,
                     const float *a, size_t lda, int transpose_a,
                     const float *b, size_t ldb, int transpose_b,
                     float *c, size_t ldc, int accumulate,
                     float *pack_a_buffer, float *pack_b_buffer, int level) {
    ak_sgemm_packed_route(m, n, k, a, lda, transpose_a, b, ldb, transpose_b, c, ldc, accumulate,
                          pack_a_buffer, pack_b_buffer, level, 1);
}

void ak_sgemm_packed_route(size_t m, size_t n, size_t k, const float *a, size_t lda, int transpose_a,
                           const float *b, size_t ldb, int transpose_b, float *c, size_t ldc, int accumulate,
                           float *pack_a_buffer, float *pack_b_buffer, int level, int direct) {
    if (trivial_product(m, n, k, c, ldc, accumulate)) return;
    const ak_gemm_blocking *blocking = blocking_for(level);
    const size_t kc_step = slice_depth(k, blocking);
    for (size_t jc = 0; jc < n; jc += NC) {
        const size_t nc = min_size(NC, n - jc);
        for (size_t pc = 0; pc < k; pc += kc_step) {
            const size_t kc = min_size(kc_step, k - pc);
            const int beta = accumulate || pc > 0;
            pack_b(kc, nc, b, ldb, transpose_b, pc, jc, pack_b_buffer, blocking);
            for (size_t ic = 0; ic < m; ic += MC) {
                const size_t mc = min_size(MC, m - ic);
                const float *da = prepare_a(mc, kc, a, lda, transpose_a, ic, pc, pack_a_buffer, blocking, direct);
                macro_kernel(mc, nc, kc, pack_a_buffer, da, lda, pack_b_buffer, c + ic * ldc + jc, ldc, beta, blocking);
            }
        }
    }
}

void ak_sgemm_small(size_t m, size_t n, size_t k,
                    const float *a, size_t lda, int transpose_a,
                    const float *b, size_t ldb, int transpose_b,
                    float *c, size_t ldc, int accumulate) {
    for (size_t i = 0; i < m; ++i) {
        float *ci = c + i * ldc;
        if (transpose_b) {
            // Row of C as dot products of row i of op(A) with the stored rows of B.
            for (size_t j = 0; j < n; ++j) {
                const float *bj = b + j * ldb;
                float s = 0.0f;
                for (size_t p = 0; p < k; ++p) s += (transpose_a ? a[p * lda + i] : a[i * lda + p]) * bj[p];
                ci[j] = accumulate ? ci[j] + s : s;
            }
        } else {
            // Row of C as a sum of rows of B scaled by row i of op(A) (unit stride in j).
            if (!accumulate) memset(ci, 0, n * sizeof(float));
            for (size_t p = 0; p < k; ++p) {
                const float aip = transpose_a ? a[p * lda + i] : a[i * lda + p];
                const float *bp = b + p * ldb;
                for (size_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
            }
        }
    }
}

// MARK: pre-packed B (weights reused across calls)

size_t ak_sgemm_prepacked_b_floats(size_t n, size_t k, int level) {
    return round_up(n == 0 ? 1 : n, blocking_for(level)->nr) * k;
}

void ak_sgemm_prepack_b(size_t n, size_t k, const float *b, size_t ldb, int transpose_b, float *out, int level) {
    const ak_gemm_blocking *blocking = blocking_for(level);
    const size_t np = round_up(n == 0 ? 1 : n, blocking->nr), step = slice_depth(k, blocking);
    // Slice pc holds depth [pc, pc+kc) of all n columns: kc × np floats, starting at pc·np.
    for (size_t pc = 0; pc < k; pc += step)
        pack_b(min_size(step, k - pc), n, b, ldb, transpose_b, pc, 0, out + pc * np, blocking);
}

void ak_sgemm_prepacked(size_t m, size_t n, size_t k, const float *a, size_t lda, int transpose_a,
                        const float *packed_b, size_t n_total, size_t j0,
                        float *c, size_t ldc, int accumulate, float *pack_a_buffer, int level) {
    if (trivial_product(m, n, k, c, ldc, accumulate)) return;
    const ak_gemm_blocking *blocking = blocking_for(level);
    const size_t np = round_up(n_total, blocking->nr), step = slice_depth(k, blocking);
    for (size_t pc = 0; pc < k; pc += step) {
        const size_t kc = min_size(step, k - pc);
        const int beta = accumulate || pc > 0;
        const float *pb = packed_b + pc * np + j0 * kc;  // panels j0/NR … of this slice
        for (size_t ic = 0; ic < m; ic += MC) {
            const size_t mc = min_size(MC, m - ic);
            const float *da = prepare_a(mc, kc, a, lda, transpose_a, ic, pc, pack_a_buffer, blocking, 1);
            macro_kernel(mc, n, kc, pack_a_buffer, da, lda, pb, c + ic * ldc, ldc, beta, blocking);
        }
    }
}
