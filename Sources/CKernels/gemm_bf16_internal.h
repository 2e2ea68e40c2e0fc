// Private to CKernels: what gemm_bf16.c (rounding, packing, the x86 and portable kernels, the
// driver) shares with gemm_bf16_neon.c (the arm64 kernels). The arithmetic every kernel follows
// and the packed layout are described in include/ak_bf16.h.
#ifndef AK_GEMM_BF16_INTERNAL_H
#define AK_GEMM_BF16_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/// Columns per packed panel; uint16 per pair step of a panel (16 columns × (even, odd)).
#define PANEL 16
#define PANEL_STEP (2 * PANEL)

static inline float float_of(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

/// The columns of one panel that exist (the last panel may be partial).
static inline size_t live_columns(size_t column, size_t n) { return n - column < PANEL ? n - column : PANEL; }

/// acc (which started from C when accumulating) + bias, written to one row's `valid` columns.
static inline void finish_store(const float *acc, float *c, const float *bias, size_t valid) {
    for (size_t j = 0; j < valid; ++j) c[j] = bias ? acc[j] + bias[j] : acc[j];
}

/// A variant's row kernel: C rows 0 ..< rows, columns 0 ..< n (the panels from `panels` on, one
/// every `pstride` uint16) from the rounded rows of x in `xs` (one every `xstride` uint16, each
/// zero-padded to whole 16-pair blocks), over pairs 0 ..< kp (the AMX kernel: kpp, the padded
/// count); bias (or NULL) and C start at column 0 of the block.
typedef void (*ak_bf16_rows_fn)(size_t rows, size_t n, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
                                const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate);

/// The row driver of the kernels with at most 4 accumulator vectors per row block (AVX2, NEON,
/// BFDOT): blocks of up to 4 rows; 4 panels at one row, 2 at two, 1 at three or four (R·J ≤ 4),
/// each block by TILE(R, J, …) with R and J constants. Expands inside a function with the
/// parameters of `ak_bf16_rows_fn`.
#define AK_BF16_SMALL_TILE_LOOP(TILE)                                                                    \
    for (size_t i = 0; i < rows;) {                                                                      \
        const size_t R = rows - i >= 4 ? 4 : rows - i;                                                   \
        const size_t jmax = R == 1 ? 4 : R == 2 ? 2 : 1;                                                 \
        const size_t panel_count = (n + PANEL - 1) / PANEL;                                              \
        for (size_t t = 0; t < panel_count;) {                                                           \
            const size_t J = panel_count - t < jmax ? panel_count - t : jmax;                            \
            const uint16_t *x0 = xs + i * xstride;                                                       \
            const uint16_t *p0 = panels + t * pstride;                                                   \
            float *c0 = c + i * ldc + t * PANEL;                                                         \
            const float *b0 = bias ? bias + t * PANEL : NULL;                                            \
            const size_t nn = n - t * PANEL;                                                             \
            if (R == 1 && J == 1) TILE(1, 1, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate); \
            else if (R == 1 && J == 2) TILE(1, 2, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate); \
            else if (R == 1 && J == 3) TILE(1, 3, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate); \
            else if (R == 1) TILE(1, 4, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate);      \
            else if (R == 2 && J == 1) TILE(2, 1, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate); \
            else if (R == 2) TILE(2, 2, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate);      \
            else if (R == 3) TILE(3, 1, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate);      \
            else TILE(4, 1, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate);                  \
            t += J;                                                                                      \
        }                                                                                                \
        i += R;                                                                                          \
    }

#if defined(__aarch64__)
#include <arm_neon.h>
/// The FMA sequence of ak_bf16.h on widened BF16 (bit-identical to the portable kernel).
void ak_bf16_rows_neon(size_t rows, size_t n, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
                       const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate);
// The BFDOT kernel needs the BF16 intrinsics inside a target-attributed function (no -march).
// gcc's arm_neon.h declares them so from version 10 on; clang's does in the versions whose
// header defines them whatever the command line (older ones hid them behind
// __ARM_FEATURE_BF16), and there the lane forms are macros one can test for.
#if (defined(__clang__) && defined(vbfdotq_laneq_f32)) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 10)
#define AK_BF16_NEON_BF16_BUILT 1
/// FEAT_BF16's BFDOT: the same exact products, its own rounding (within the bound, not the bits).
void ak_bf16_rows_neon_bf16(size_t rows, size_t n, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
                            const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate);
#endif
#endif
#ifndef AK_BF16_NEON_BF16_BUILT
#define AK_BF16_NEON_BF16_BUILT 0
#endif

#endif
