// The elementwise step of the attention backward (see attention_backward_ops.h): the portable
// version is the specification; the AVX2 one computes the same products lane by lane.
#include "attention_backward_ops.h"
#include "include/ak_cpu.h"

static void ds_portable(float *s, const float *dp, long lds, long rows, long cols, const float *delta, float scale) {
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        const float *g = dp + r * lds;
        for (long c = 0; c < cols; c++) row[c] = scale * row[c] * (g[c] - delta[r]);
    }
}

static const ak_backward_ops portable_ops = { ds_portable };

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma")))
static void ds_avx2(float *s, const float *dp, long lds, long rows, long cols, const float *delta, float scale) {
    const __m256 sc = _mm256_set1_ps(scale);
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        const float *g = dp + r * lds;
        const __m256 dl = _mm256_set1_ps(delta[r]);
        long c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 x = _mm256_mul_ps(_mm256_mul_ps(sc, _mm256_loadu_ps(row + c)),
                                     _mm256_sub_ps(_mm256_loadu_ps(g + c), dl));
            _mm256_storeu_ps(row + c, x);
        }
        for (; c < cols; c++) row[c] = scale * row[c] * (g[c] - delta[r]);
    }
}

static const ak_backward_ops avx2_ops = { ds_avx2 };
#endif

const ak_backward_ops *ak_backward_ops_select(int use_simd) {
#if defined(__x86_64__)
    if (use_simd && ak_cpu_has_simd()) return &avx2_ops;
#endif
    (void)use_simd;
    return &portable_ops;
}
