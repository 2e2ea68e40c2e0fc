// Portable micro-kernels of the fused attention backward (see attention_backward_ops.h): the
// readable specification; attention_backward_avx2.c / _avx512.c / _neon.c compute the same sums with
// register blocks and the same exp (ak_exp, vectorised in ak_simd_math.h). ak_backward_ops_for
// picks the table of a SIMD level.
#include "attention_backward_ops.h"
#include "include/ak_cpu.h"
#include "include/ak_math.h"
#include <math.h>

static void gemm_portable(const float *a, long sam, long sak, long m, long kdim,
                          const float *b, long ldb, long n, float *c, long ldc, int accumulate) {
    for (long r = 0; r < m; r++) {
        float *crow = c + r * ldc;
        if (!accumulate) for (long col = 0; col < n; col++) crow[col] = 0.0f;
        for (long k = 0; k < kdim; k++) {
            const float av = a[r * sam + k * sak];
            const float *brow = b + k * ldb;
            for (long col = 0; col < n; col++) crow[col] += av * brow[col];
        }
    }
}

static void probabilities_portable(float *s, long lds, long rows, long cols, const float *lse) {
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        for (long c = 0; c < cols; c++) row[c] = lse[r] == -INFINITY ? 0.0f : ak_exp(row[c] - lse[r]);
    }
}

static void ds_portable(float *s, const float *dp, long lds, long rows, long cols,
                        const float *delta, float scale) {
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        const float *g = dp + r * lds;
        for (long c = 0; c < cols; c++) row[c] = scale * row[c] * (g[c] - delta[r]);
    }
}

static const ak_backward_ops portable_ops = {
    gemm_portable, probabilities_portable, ds_portable,
};

#if defined(__x86_64__)
extern const ak_backward_ops ak_backward_ops_avx2;   /* attention_backward_avx2.c */
extern const ak_backward_ops ak_backward_ops_avx512; /* attention_backward_avx512.c */
#endif
#if defined(__aarch64__)
extern const ak_backward_ops ak_backward_ops_neon;   /* attention_backward_neon.c */
#endif

const ak_backward_ops *ak_backward_ops_for(int level) {
    switch (ak_simd_clamp(level)) {
#if defined(__x86_64__)
    case AK_SIMD_AVX512: return &ak_backward_ops_avx512;
    case AK_SIMD_AVX2: return &ak_backward_ops_avx2;
#endif
#if defined(__aarch64__)
    case AK_SIMD_NEON: return &ak_backward_ops_neon;
#endif
    default: return &portable_ops;
    }
}
