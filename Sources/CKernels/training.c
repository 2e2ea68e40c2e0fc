// Training kernels (see ak_training.h). Each body is an always-inline function over plain
// loops; `AK_VARIANTS` compiles it once per SIMD level (baseline ISA, AVX2+FMA, AVX-512) and the
// compiler vectorises the loops 4, 8 or 16 wide; one ops table per level (`ak_train_ops_for`),
// and the entry points call the table of the process-wide level, `ak_simd_level()`. Reductions sit under `fp reassociate(on)` so they vectorise
// too; their order is then fixed by the code, not by the thread count.
#include "ak_training.h"
#include "ak_math.h"
#include "ak_cpu.h"
#include <math.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#define AK_INLINE static inline __attribute__((always_inline))

#if defined(__clang__)
#define AK_REASSOCIATE _Pragma("clang fp reassociate(on)")
#define AK_NO_CONTRACT _Pragma("clang fp contract(off)")
// Four vector iterations interleaved: each element's GELU is one long dependent chain (the tanh
// polynomials, a division), and a core with a small FP scheduler (Zen 1) otherwise waits on
// every link. Each element's operations are unchanged, so are its bits.
#define AK_INTERLEAVE4 _Pragma("clang loop interleave_count(4)")
#else
#define AK_REASSOCIATE
#define AK_NO_CONTRACT
#define AK_INTERLEAVE4
#endif

// sqrtf may set errno, which stops the vectoriser; the elementwise builtin does not.
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define AK_SQRT(x) __builtin_elementwise_sqrt(x)
#endif
#endif
#ifndef AK_SQRT
#define AK_SQRT(x) sqrtf(x)
#endif

#if defined(__x86_64__)
#define AK_HAS_X86_VARIANTS 1
#include "ak_target.h"
#else
#define AK_HAS_X86_VARIANTS 0
#endif

// MARK: - Scalar math (inlined into every variant; exp, tanh, erf and GELU are in include/ak_math.h)

/// max over n ≥ 1 elements, with eight running maxima so the loop vectorises.
AK_INLINE float ak_row_max(const float *x, size_t n) {
    float m[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
    for (; j < n; j++) m[0] = x[j] > m[0] ? x[j] : m[0];
    float best = m[0];
    for (int k = 1; k < 8; k++) best = m[k] > best ? m[k] : best;
    return best;
}

// MARK: - Bodies

AK_INLINE void bias_gelu_body(float *restrict x, const float *restrict bias, float *restrict y, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * cols, *yr = y ? y + r * cols : NULL;
        if (bias)
            for (size_t j = 0; j < cols; j++) xr[j] += bias[j];
        if (y) {
            AK_INTERLEAVE4
            for (size_t j = 0; j < cols; j++) yr[j] = ak_gelu_tanh(xr[j]);
        }
    }
}

AK_INLINE void bias_gelu_slope_body(float *restrict x, const float *restrict bias, float *restrict y, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * cols, *yr = y + r * cols;
        if (bias)
            for (size_t j = 0; j < cols; j++) xr[j] += bias[j];
        AK_INTERLEAVE4
        for (size_t j = 0; j < cols; j++) {
            float value, slope;
            ak_gelu_tanh_and_slope(xr[j], &value, &slope);
            yr[j] = value;
            xr[j] = slope;
        }
    }
}

AK_INLINE void multiply_body(const float *restrict a, const float *restrict b, float *restrict out, size_t n, int accumulate) {
    if (accumulate)
        for (size_t i = 0; i < n; i++) out[i] += a[i] * b[i];
    else
        for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

AK_INLINE void gelu_backward_body(const float *restrict x, const float *restrict g, float *restrict dx, size_t n, int accumulate) {
    if (accumulate) {
        AK_INTERLEAVE4
        for (size_t i = 0; i < n; i++) dx[i] += g[i] * ak_gelu_tanh_derivative(x[i]);
    } else {
        AK_INTERLEAVE4
        for (size_t i = 0; i < n; i++) dx[i] = g[i] * ak_gelu_tanh_derivative(x[i]);
    }
}

AK_INLINE void column_sums_body(const float *restrict g, size_t rows, size_t cols, size_t stride, float *restrict out, int accumulate) {
    if (!accumulate)
        for (size_t j = 0; j < cols; j++) out[j] = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) out[j] += g[r * stride + j];
}

AK_INLINE void norm_forward_body(const float *restrict x, const float *restrict w, const float *restrict b, float *restrict y,
                                 float *restrict mean, float *restrict rstd, size_t rows, size_t cols, float epsilon, int centred) {
    AK_REASSOCIATE
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = 0;
        if (centred) {
            for (size_t j = 0; j < cols; j++) m += xr[j];
            m /= (float)cols;
            mean[r] = m;
        }
        float variance = 0;
        for (size_t j = 0; j < cols; j++) { float d = xr[j] - m; variance += d * d; }
        float s = 1.0f / sqrtf(variance / (float)cols + epsilon);
        rstd[r] = s;
        if (b)
            for (size_t j = 0; j < cols; j++) yr[j] = (xr[j] - m) * s * w[j] + b[j];
        else
            for (size_t j = 0; j < cols; j++) yr[j] = (xr[j] - m) * s * w[j];
    }
}

AK_INLINE void norm_backward_body(const float *restrict x, const float *restrict w, const float *restrict g,
                                  const float *restrict mean, const float *restrict rstd, float *restrict dx, int accumulate,
                                  float *restrict dw, float *restrict db, size_t rows, size_t cols, int centred) {
    AK_REASSOCIATE
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *gr = g + r * cols;
        float m = centred ? mean[r] : 0.0f, s = rstd[r];
        float dnormMean = 0, dnormNormMean = 0;
        for (size_t j = 0; j < cols; j++) {
            float norm = (xr[j] - m) * s;
            float dnorm = gr[j] * w[j];
            dnormMean += dnorm;
            dnormNormMean += dnorm * norm;
            dw[j] += gr[j] * norm;
        }
        if (db)
            for (size_t j = 0; j < cols; j++) db[j] += gr[j];
        dnormMean = centred ? dnormMean / (float)cols : 0.0f;
        dnormNormMean /= (float)cols;
        if (!dx) continue;
        float *dxr = dx + r * cols;
        if (accumulate)
            for (size_t j = 0; j < cols; j++) dxr[j] += (gr[j] * w[j] - dnormMean - (xr[j] - m) * s * dnormNormMean) * s;
        else
            for (size_t j = 0; j < cols; j++) dxr[j] = (gr[j] * w[j] - dnormMean - (xr[j] - m) * s * dnormNormMean) * s;
    }
}

AK_INLINE void softmax_body(const float *restrict x, float *restrict y, size_t rows, size_t cols) {
    AK_REASSOCIATE
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = ak_row_max(xr, cols);
        if (m == -INFINITY) {  // every key masked: the row attends nothing
            for (size_t j = 0; j < cols; j++) yr[j] = 0;
            continue;
        }
        float sum = 0;
        for (size_t j = 0; j < cols; j++) { float e = ak_exp(xr[j] - m); yr[j] = e; sum += e; }
        float inverse = 1.0f / sum;
        for (size_t j = 0; j < cols; j++) yr[j] *= inverse;
    }
}

AK_INLINE void softmax_backward_body(const float *restrict y, const float *restrict g, float *restrict dx, size_t rows, size_t cols, int accumulate) {
    AK_REASSOCIATE
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *gr = g + r * cols;
        float *dxr = dx + r * cols;
        float dot = 0;
        for (size_t j = 0; j < cols; j++) dot += gr[j] * yr[j];
        if (accumulate)
            for (size_t j = 0; j < cols; j++) dxr[j] += yr[j] * (gr[j] - dot);
        else
            for (size_t j = 0; j < cols; j++) dxr[j] = yr[j] * (gr[j] - dot);
    }
}

AK_INLINE void cross_entropy_forward_body(const float *restrict logits, const int64_t *restrict targets, size_t rows, size_t classes,
                                          int64_t ignore, float *restrict lse, float *restrict loss) {
    AK_REASSOCIATE
    for (size_t r = 0; r < rows; r++) {
        const float *xr = logits + r * classes;
        float m = ak_row_max(xr, classes);
        float sum = 0;
        for (size_t j = 0; j < classes; j++) sum += ak_exp(xr[j] - m);
        lse[r] = m + logf(sum);
        loss[r] = targets[r] == ignore ? 0.0f : lse[r] - xr[targets[r]];
    }
}

AK_INLINE void cross_entropy_backward_body(const float *restrict logits, const int64_t *restrict targets, const float *restrict lse,
                                           size_t rows, size_t classes, int64_t ignore, float factor, float *restrict dx, int accumulate) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = logits + r * classes;
        float *dxr = dx + r * classes;
        int ignored = targets[r] == ignore;
        float f = ignored ? 0.0f : factor, l = lse[r];
        if (accumulate)
            for (size_t j = 0; j < classes; j++) dxr[j] += f * ak_exp(xr[j] - l);
        else
            for (size_t j = 0; j < classes; j++) dxr[j] = f * ak_exp(xr[j] - l);
        if (!ignored) dxr[targets[r]] -= factor;
    }
}

AK_INLINE void adamw_body(float *restrict p, const float *restrict g, float gradient_scale, float *restrict m, float *restrict v,
                          size_t n, float lr, float beta1, float beta2, float epsilon, float correction1, float correction2,
                          float decay) {
    float inverse1 = 1.0f / correction1, inverse2 = 1.0f / correction2;
    for (size_t i = 0; i < n; i++) {
        float gi = gradient_scale * g[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr * ((mi * inverse1) / (AK_SQRT(vi * inverse2) + epsilon) + decay * p[i]);
    }
}

AK_INLINE void add_body(float *restrict acc, const float *restrict x, size_t n) {
    for (size_t i = 0; i < n; i++) acc[i] += x[i];
}

AK_INLINE double sum_squares_body(const float *restrict x, size_t n, int *all_finite) {
    AK_REASSOCIATE
    double total = 0;
    float bad = 0;  // x − x is 0 for finite x and NaN for NaN or ±∞
    for (size_t i = 0; i < n; i++) {
        double d = x[i];
        total += d * d;
        bad += x[i] - x[i];
    }
    *all_finite = bad == 0.0f;
    return total;
}

/// sum[i] = scale·sum[i] + weight·part[i] with no FMA contraction (each product rounded, then
/// the sum: Swift's `sum[i] *= scale; sum[i] += weight * part[i]`), in blocks that stay in L1
/// while their Σ sum² (sum_squares_body) is taken.
AK_INLINE void weighted_add_block(float *restrict sum, float scale, const float *restrict part, float weight, size_t n) {
    AK_NO_CONTRACT
    for (size_t i = 0; i < n; i++) sum[i] = scale * sum[i] + weight * part[i];
}

AK_INLINE double weighted_add_body(float *restrict sum, float scale, const float *restrict part, float weight, size_t n,
                                   int *all_finite) {
    enum { BLOCK = 2048 };
    double total = 0;
    int finite = 1;
    for (size_t start = 0; start < n; start += BLOCK) {
        const size_t count = n - start < BLOCK ? n - start : BLOCK;
        weighted_add_block(sum + start, scale, part + start, weight, count);
        int block_finite = 1;
        total += sum_squares_body(sum + start, count, &block_finite);
        finite &= block_finite;
    }
    *all_finite = finite;
    return total;
}

/// GELU in place over n values (inference: the encoder's feed-forward).
AK_INLINE void gelu_inplace_body(float *x, size_t n, int exact) {
    if (exact) {
        AK_INTERLEAVE4
        for (size_t i = 0; i < n; i++) x[i] = ak_gelu_exact(x[i]);
    } else {
        AK_INTERLEAVE4
        for (size_t i = 0; i < n; i++) x[i] = ak_gelu_tanh(x[i]);
    }
}

// MARK: - Variants and dispatch

#if AK_HAS_X86_VARIANTS
#define AK_VARIANTS(ret, name, params, args)        \
    static ret name##_base params { return name##_body args; } \
    AK_AVX2 static ret name##_avx2 params { return name##_body args; } \
    AK_AVX512 static ret name##_avx512 params { return name##_body args; }
#define AK_VOID_VARIANTS(name, params, args)        \
    static void name##_base params { name##_body args; } \
    AK_AVX2 static void name##_avx2 params { name##_body args; } \
    AK_AVX512 static void name##_avx512 params { name##_body args; }
#else
#define AK_VARIANTS(ret, name, params, args) \
    static ret name##_base params { return name##_body args; }
#define AK_VOID_VARIANTS(name, params, args) \
    static void name##_base params { name##_body args; }
#endif

AK_VOID_VARIANTS(bias_gelu, (float *x, const float *bias, float *y, size_t rows, size_t cols), (x, bias, y, rows, cols))
AK_VOID_VARIANTS(bias_gelu_slope, (float *x, const float *bias, float *y, size_t rows, size_t cols), (x, bias, y, rows, cols))
AK_VOID_VARIANTS(multiply, (const float *a, const float *b, float *out, size_t n, int accumulate), (a, b, out, n, accumulate))
AK_VOID_VARIANTS(gelu_backward, (const float *x, const float *g, float *dx, size_t n, int accumulate), (x, g, dx, n, accumulate))
AK_VOID_VARIANTS(column_sums, (const float *g, size_t rows, size_t cols, size_t stride, float *out, int accumulate),
                 (g, rows, cols, stride, out, accumulate))
AK_VOID_VARIANTS(norm_forward,
            (const float *x, const float *w, const float *b, float *y, float *mean, float *rstd, size_t rows, size_t cols, float epsilon, int centred),
            (x, w, b, y, mean, rstd, rows, cols, epsilon, centred))
AK_VOID_VARIANTS(norm_backward,
            (const float *x, const float *w, const float *g, const float *mean, const float *rstd, float *dx, int accumulate,
             float *dw, float *db, size_t rows, size_t cols, int centred),
            (x, w, g, mean, rstd, dx, accumulate, dw, db, rows, cols, centred))
AK_VOID_VARIANTS(softmax, (const float *x, float *y, size_t rows, size_t cols), (x, y, rows, cols))
AK_VOID_VARIANTS(softmax_backward, (const float *y, const float *g, float *dx, size_t rows, size_t cols, int accumulate),
            (y, g, dx, rows, cols, accumulate))
AK_VOID_VARIANTS(cross_entropy_forward,
            (const float *logits, const int64_t *targets, size_t rows, size_t classes, int64_t ignore, float *lse, float *loss),
            (logits, targets, rows, classes, ignore, lse, loss))
AK_VOID_VARIANTS(cross_entropy_backward,
            (const float *logits, const int64_t *targets, const float *lse, size_t rows, size_t classes, int64_t ignore, float factor,
             float *dx, int accumulate),
            (logits, targets, lse, rows, classes, ignore, factor, dx, accumulate))
AK_VOID_VARIANTS(adamw,
            (float *p, const float *g, float gradient_scale, float *m, float *v, size_t n, float lr, float beta1, float beta2,
             float epsilon, float correction1, float correction2, float decay),
            (p, g, gradient_scale, m, v, n, lr, beta1, beta2, epsilon, correction1, correction2, decay))
AK_VOID_VARIANTS(add, (float *acc, const float *x, size_t n), (acc, x, n))
AK_VARIANTS(double, sum_squares, (const float *x, size_t n, int *all_finite), (x, n, all_finite))
AK_VARIANTS(double, weighted_add, (float *sum, float scale, const float *part, float weight, size_t n, int *all_finite),
            (sum, scale, part, weight, n, all_finite))
AK_VOID_VARIANTS(gelu_inplace, (float *x, size_t n, int exact), (x, n, exact))

void ak_gelu_inplace(float *x, size_t n, int exact, int level) {
    switch (ak_simd_clamp(level)) {
#if AK_HAS_X86_VARIANTS
    case AK_SIMD_AVX512: gelu_inplace_avx512(x, n, exact); return;
    case AK_SIMD_AVX2: gelu_inplace_avx2(x, n, exact); return;
#endif
    default: gelu_inplace_base(x, n, exact); return;
    }
}

// MARK: - Ops tables and dispatch

static const ak_train_ops portable_ops = {
    bias_gelu_base, gelu_backward_base, column_sums_base, norm_forward_base, norm_backward_base,
    softmax_base, softmax_backward_base, cross_entropy_forward_base, cross_entropy_backward_base,
    adamw_base, add_base, sum_squares_base, bias_gelu_slope_base, multiply_base, weighted_add_base,
};
#if AK_HAS_X86_VARIANTS
static const ak_train_ops avx2_ops = {
    bias_gelu_avx2, gelu_backward_avx2, column_sums_avx2, norm_forward_avx2, norm_backward_avx2,
    softmax_avx2, softmax_backward_avx2, cross_entropy_forward_avx2, cross_entropy_backward_avx2,
    adamw_avx2, add_avx2, sum_squares_avx2, bias_gelu_slope_avx2, multiply_avx2, weighted_add_avx2,
};
static const ak_train_ops avx512_ops = {
    bias_gelu_avx512, gelu_backward_avx512, column_sums_avx512, norm_forward_avx512, norm_backward_avx512,
    softmax_avx512, softmax_backward_avx512, cross_entropy_forward_avx512, cross_entropy_backward_avx512,
    adamw_avx512, add_avx512, sum_squares_avx512, bias_gelu_slope_avx512, multiply_avx512, weighted_add_avx512,
};
#endif

const ak_train_ops *ak_train_ops_for(int level) {
    switch (ak_simd_clamp(level)) {
#if AK_HAS_X86_VARIANTS
    case AK_SIMD_AVX512: return &avx512_ops;
    case AK_SIMD_AVX2: return &avx2_ops;
#endif
    default: return &portable_ops;
    }
}

/// The table of the process-wide level, looked up once.
static const ak_train_ops *ops(void) {
    static const ak_train_ops *cached = NULL;
    const ak_train_ops *t = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (t == NULL) {
        t = ak_train_ops_for(ak_simd_level());
        __atomic_store_n(&cached, t, __ATOMIC_RELAXED);
    }
    return t;
}

void ak_train_bias_gelu_tanh(float *x, const float *bias, float *y, size_t rows, size_t cols) {
    ops()->bias_gelu_tanh(x, bias, y, rows, cols);
}

void ak_train_bias_gelu_tanh_slope(float *x, const float *bias, float *y, size_t rows, size_t cols) {
    ops()->bias_gelu_tanh_slope(x, bias, y, rows, cols);
}

void ak_train_multiply(const float *a, const float *b, float *out, size_t n, int accumulate) {
    ops()->multiply(a, b, out, n, accumulate);
}

void ak_train_gelu_tanh_backward(const float *x, const float *g, float *dx, size_t n, int accumulate) {
    ops()->gelu_tanh_backward(x, g, dx, n, accumulate);
}

void ak_train_column_sums(const float *g, size_t rows, size_t cols, size_t stride, float *out, int accumulate) {
    ops()->column_sums(g, rows, cols, stride, out, accumulate);
}

void ak_train_norm_forward(const float *x, const float *w, const float *b, float *y,
                           float *mean, float *rstd, size_t rows, size_t cols, float epsilon, int centred) {
    ops()->norm_forward(x, w, b, y, mean, rstd, rows, cols, epsilon, centred);
}

void ak_train_norm_backward(const float *x, const float *w, const float *g, const float *mean,
                            const float *rstd, float *dx, int accumulate, float *dw_partial,
                            float *db_partial, size_t rows, size_t cols, int centred) {
    ops()->norm_backward(x, w, g, mean, rstd, dx, accumulate, dw_partial, db_partial, rows, cols, centred);
}

void ak_train_softmax_rows(const float *x, float *y, size_t rows, size_t cols) {
    ops()->softmax_rows(x, y, rows, cols);
}

void ak_train_softmax_backward(const float *y, const float *g, float *dx, size_t rows, size_t cols, int accumulate) {
    ops()->softmax_backward(y, g, dx, rows, cols, accumulate);
}

void ak_train_cross_entropy_forward(const float *logits, const int64_t *targets, size_t rows, size_t classes,
                                    int64_t ignore, float *lse, float *loss) {
    ops()->cross_entropy_forward(logits, targets, rows, classes, ignore, lse, loss);
}

void ak_train_cross_entropy_backward(const float *logits, const int64_t *targets, const float *lse,
                                     size_t rows, size_t classes, int64_t ignore, float factor,
                                     float *dx, int accumulate) {
    ops()->cross_entropy_backward(logits, targets, lse, rows, classes, ignore, factor, dx, accumulate);
}

void ak_train_adamw(float *p, const float *g, float gradient_scale, float *m, float *v, size_t n,
                    float lr, float beta1, float beta2, float epsilon,
                    float correction1, float correction2, float decay) {
    ops()->adamw(p, g, gradient_scale, m, v, n, lr, beta1, beta2, epsilon, correction1, correction2, decay);
}

void ak_train_add(float *acc, const float *x, size_t n) {
    ops()->add(acc, x, n);
}

double ak_train_sum_squares(const float *x, size_t n, int *all_finite) {
    return ops()->sum_squares(x, n, all_finite);
}

double ak_train_weighted_add(float *sum, float scale, const float *part, float weight, size_t n, int *all_finite) {
    return ops()->weighted_add(sum, scale, part, weight, n, all_finite);
}

int ak_train_tune_allocator(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    return 1;
#else
    return 0;
#endif
}
