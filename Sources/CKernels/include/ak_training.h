#ifndef AK_TRAINING_H
#define AK_TRAINING_H

// Row and elementwise kernels of the training step (forward and backward of GELU, LayerNorm,
// RMSNorm, softmax, cross-entropy; the AdamW update). Each loop is written once as plain C
// over contiguous rows and compiled once per SIMD level: for the baseline ISA and, on x86-64,
// with per-function target attributes for AVX2+FMA (8 wide) and AVX-512 (16 wide); the entry
// points run the variant of the process-wide level, ak_simd_level(). No allocation, no threads: Swift splits rows
// across threads and every row is written by one thread, so results do not depend on the
// thread count.
//
// Shapes: R rows of width C (the last axis), row-major and contiguous. `accumulate` = 0
// overwrites the output, 1 adds to it.

#include <stddef.h>
#include <stdint.h>

/// y = GELU_tanh(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))) elementwise over R×C. When
/// bias != NULL, x is first updated in place, x[r, j] += bias[j]; y == NULL only adds the bias.
void ak_train_bias_gelu_tanh(float *x, const float *bias, float *y, size_t rows, size_t cols);

/// The training forward of a GELU layer: after the optional bias add (x[r, j] += bias[j]),
/// y = GELU_tanh(x) and x is overwritten with the slope GELU_tanh′(x), from one tanh per element,
/// so the backward is ak_train_multiply(g, slope) instead of a second tanh. y != NULL. The values
/// are those of ak_train_bias_gelu_tanh and of ak_train_gelu_tanh_backward with g = 1, bit for bit.
void ak_train_bias_gelu_tanh_slope(float *x, const float *bias, float *y, size_t rows, size_t cols);

/// out[i] (+)= a[i] · b[i], n elements (the GELU backward from a kept slope: dz = g ⊙ GELU′).
void ak_train_multiply(const float *a, const float *b, float *out, size_t n, int accumulate);

/// dx[i] (+)= g[i] · GELU_tanh′(x[i]), n elements.
void ak_train_gelu_tanh_backward(const float *x, const float *g, float *dx, size_t n, int accumulate);

/// out[j] (+)= Σ_r g[r·stride + j] for j < cols (bias gradients; a block of columns of a
/// wider matrix when stride > cols, so threads can split the columns with no partial sums).
void ak_train_column_sums(const float *g, size_t rows, size_t cols, size_t stride, float *out, int accumulate);

/// LayerNorm (centred != 0) or RMSNorm (centred == 0) of each row:
/// y = (x − μ)·rstd·w + b, rstd = 1/√(mean((x − μ)²) + ε) (μ = 0 for RMSNorm). b may be NULL.
/// Saves mean[r] (ignored when centred == 0, may be NULL then) and rstd[r].
void ak_train_norm_forward(const float *x, const float *w, const float *b, float *y,
                           float *mean, float *rstd, size_t rows, size_t cols, float epsilon, int centred);

/// The backward of ak_train_norm_forward for rows [0, rows): with norm = (x − μ)·rstd and
/// dnorm = g·w, dx (+)= rstd·(dnorm − mean(dnorm) − norm·mean(dnorm·norm)) (no mean(dnorm)
/// term for RMSNorm); dw_partial[j] += Σ_r g·norm and, when db_partial != NULL,
/// db_partial[j] += Σ_r g. dx may be NULL (input needs no gradient).
void ak_train_norm_backward(const float *x, const float *w, const float *g, const float *mean,
                            const float *rstd, float *dx, int accumulate, float *dw_partial,
                            float *db_partial, size_t rows, size_t cols, int centred);

/// Softmax of each row; a row whose maximum is −∞ (fully masked) becomes zeros.
void ak_train_softmax_rows(const float *x, float *y, size_t rows, size_t cols);

/// dx (+)= y ⊙ (g − Σ_j g_j y_j) per row (the softmax backward from its output y).
void ak_train_softmax_backward(const float *y, const float *g, float *dx, size_t rows, size_t cols, int accumulate);

/// Cross-entropy forward for rows [0, rows) of logits R×V: lse[r] = log Σ_j exp(x[r, j]) and
/// loss[r] = lse[r] − x[r, t_r] (0 for rows whose target == ignore).
void ak_train_cross_entropy_forward(const float *logits, const int64_t *targets, size_t rows, size_t classes,
                                    int64_t ignore, float *lse, float *loss);

/// dx[r, j] (+)= factor · (exp(x[r, j] − lse[r]) − [j == t_r]) (0 for ignored rows).
void ak_train_cross_entropy_backward(const float *logits, const int64_t *targets, const float *lse,
                                     size_t rows, size_t classes, int64_t ignore, float factor,
                                     float *dx, int accumulate);

/// One AdamW update of n elements (see AdamW.swift for the formula), from the gradient
/// g = gradient_scale·g[i] (the clipping factor; 1 leaves g as it is, bit for bit):
/// m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; p −= lr·((m/c₁)/(√(v/c₂) + ε) + λp).
void ak_train_adamw(float *p, const float *g, float gradient_scale, float *m, float *v, size_t n,
                    float lr, float beta1, float beta2, float epsilon,
                    float correction1, float correction2, float decay);

/// acc[i] += x[i].
void ak_train_add(float *acc, const float *x, size_t n);

/// x ← GELU(x) in place over n values, exact (`ak_gelu_exact`, erf) or tanh (`ak_gelu_tanh`),
/// vectorised by the compiler at SIMD `level` (clamped; the formulas of ak_math.h lane by lane).
void ak_gelu_inplace(float *x, size_t n, int exact, int level);

/// Σ x[i]² in double (the global gradient norm), and whether every element is finite.
double ak_train_sum_squares(const float *x, size_t n, int *all_finite);

/// sum[i] = scale·sum[i] + weight·part[i] over n elements, each product rounded and then added
/// (no FMA contraction under clang: the values of the two Swift statements `sum[i] *= scale;
/// sum[i] += weight * part[i]`), and, in the same pass, Σ sum[i]² over the result in double with
/// whether every element of the result is finite (as ak_train_sum_squares, but summed block by
/// block of 2048 elements, so its last bits may differ from one sum over all n). The gradient of
/// a batch from its shards' gradients, and its norm.
double ak_train_weighted_add(float *sum, float scale, const float *part, float weight, size_t n, int *all_finite);

/// Every kernel above, as compiled for one SIMD level (same signatures and meaning as the
/// `ak_train_*` entry points, which call the table of `ak_simd_level()`).
typedef struct ak_train_ops {
    void (*bias_gelu_tanh)(float *x, const float *bias, float *y, size_t rows, size_t cols);
    void (*gelu_tanh_backward)(const float *x, const float *g, float *dx, size_t n, int accumulate);
    void (*column_sums)(const float *g, size_t rows, size_t cols, size_t stride, float *out, int accumulate);
    void (*norm_forward)(const float *x, const float *w, const float *b, float *y,
                         float *mean, float *rstd, size_t rows, size_t cols, float epsilon, int centred);
    void (*norm_backward)(const float *x, const float *w, const float *g, const float *mean,
                          const float *rstd, float *dx, int accumulate, float *dw_partial,
                          float *db_partial, size_t rows, size_t cols, int centred);
    void (*softmax_rows)(const float *x, float *y, size_t rows, size_t cols);
    void (*softmax_backward)(const float *y, const float *g, float *dx, size_t rows, size_t cols, int accumulate);
    void (*cross_entropy_forward)(const float *logits, const int64_t *targets, size_t rows, size_t classes,
                                  int64_t ignore, float *lse, float *loss);
    void (*cross_entropy_backward)(const float *logits, const int64_t *targets, const float *lse,
                                   size_t rows, size_t classes, int64_t ignore, float factor,
                                   float *dx, int accumulate);
    void (*adamw)(float *p, const float *g, float gradient_scale, float *m, float *v, size_t n,
                  float lr, float beta1, float beta2, float epsilon,
                  float correction1, float correction2, float decay);
    void (*add)(float *acc, const float *x, size_t n);
    double (*sum_squares)(const float *x, size_t n, int *all_finite);
    void (*bias_gelu_tanh_slope)(float *x, const float *bias, float *y, size_t rows, size_t cols);
    void (*multiply)(const float *a, const float *b, float *out, size_t n, int accumulate);
    double (*weighted_add)(float *sum, float scale, const float *part, float weight, size_t n, int *all_finite);
} ak_train_ops;

/// The kernels of SIMD `level` (clamped to what the CPU has): portable, AVX2+FMA or AVX-512.
/// At neon the portable table runs: NEON (with FMA) is the arm64 baseline, and clang -O2 (the
/// compiler of SwiftPM) vectorises its row loops 4 wide there, the inlined ak_exp of softmax and
/// cross-entropy and the reductions under `fp reassociate` included, as a NEON table would
/// (docs/notes/neon.md has the evidence).
const ak_train_ops *ak_train_ops_for(int level);

/// glibc only: raise the mmap threshold to 32 MiB and the trim threshold to 256 MiB so the
/// large buffers a training step frees are reused by the next step instead of being unmapped
/// and page-faulted in again. Returns 1 when applied, 0 elsewhere (not glibc).
int ak_train_tune_allocator(void);

#endif
