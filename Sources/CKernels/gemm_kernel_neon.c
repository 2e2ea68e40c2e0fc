// NEON 6×16 GEMM micro-kernel (arm64): 24 q-register accumulators (four 4-wide vectors per
// row of the 6×16 tile), four for the B row, one for the A values. NEON is architectural on
// arm64, so no attribute is needed; gemm.c selects it at AK_SIMD_NEON.
#include "gemm_internal.h"
#include "ak_gemm.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void ak_gemm_kernel_neon(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta) {
    float32x4_t acc[AK_GEMM_MR][4];
    for (int r = 0; r < AK_GEMM_MR; ++r)
        for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_f32(0.0f);
    for (size_t p = 0; p < kc; ++p) {
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        const float32x4_t b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
        for (int r = 0; r < AK_GEMM_MR; ++r) {
            const float ar = a[r];
            acc[r][0] = vfmaq_n_f32(acc[r][0], b0, ar);
            acc[r][1] = vfmaq_n_f32(acc[r][1], b1, ar);
            acc[r][2] = vfmaq_n_f32(acc[r][2], b2, ar);
            acc[r][3] = vfmaq_n_f32(acc[r][3], b3, ar);
        }
        a += AK_GEMM_MR;
        b += AK_GEMM_NR;
    }
    for (int r = 0; r < AK_GEMM_MR; ++r) {
        float *cr = c + (size_t)r * ldc;
        for (int q = 0; q < 4; ++q) {
            float32x4_t v = acc[r][q];
            if (beta) v = vaddq_f32(vld1q_f32(cr + 4 * q), v);
            vst1q_f32(cr + 4 * q, v);
        }
    }
}
#endif
