// NEON micro-kernels of the fused attention backward (arm64; see attention_backward_ops.h).
// NEON is architectural on arm64, so no target attribute is needed; ak_backward_ops_for picks
// them at AK_SIMD_NEON.
//
// The twin of attention_backward_avx2.c with 4-wide vectors: 6×16 register blocks (24
// accumulators, four loads of B, one broadcast A value), the same exp (ak_simd_math.h), so the
// levels agree to rounding. NEON has no masked loads: a strip narrower than 16 columns (the
// tail of dV, dK, dQ when D or Dv is not a multiple of 16) goes through a 16-float copy on the
// stack, so no load or store touches memory past the row.
#if defined(__aarch64__)
#include "attention_backward_ops.h"
#include "ak_simd_math.h"
#include <arm_neon.h>
#include "ak_target.h"
#include <math.h>
#include <string.h>

// 16 floats of a row that has `live` (< 16) readable ones, the rest 0.
AK_NEON_INLINE void load_partial(const float *p, long live, float32x4_t out[4]) {
    float buf[16] = {0};
    memcpy(buf, p, sizeof(float) * (size_t)live);
    for (int h = 0; h < 4; h++) out[h] = vld1q_f32(buf + 4 * h);
}

// Stores the first `live` (< 16) lanes of four vectors.
AK_NEON_INLINE void store_partial(float *p, long live, const float32x4_t in[4]) {
    float buf[16];
    for (int h = 0; h < 4; h++) vst1q_f32(buf + 4 * h, in[h]);
    memcpy(p, buf, sizeof(float) * (size_t)live);
}

// C[0..mr, 0..16) (+)= A(0..mr, :)·B[:, 0..16): 24 accumulators, mr broadcasts and 4 loads of
// B per k. When `live` < 16 only the first `live` columns of B and C are read and written.
AK_NEON_INLINE void block(const int mr, const long live, const float *a, long sam, long sak, long kdim,
                          const float *b, long ldb, float *c, long ldc, int accumulate) {
    const int full = live >= 16;
    float32x4_t acc[6][4];
    AK_UNROLL
    for (int r = 0; r < mr; r++) {
        if (!accumulate) {
            AK_UNROLL
            for (int h = 0; h < 4; h++) acc[r][h] = vdupq_n_f32(0.0f);
        } else if (full) {
            AK_UNROLL
            for (int h = 0; h < 4; h++) acc[r][h] = vld1q_f32(c + r * ldc + 4 * h);
        } else {
            load_partial(c + r * ldc, live, acc[r]);
        }
    }
    for (long k = 0; k < kdim; k++) {
        const float *bk = b + k * ldb;
        float32x4_t bv[4];
        if (full) {
            AK_UNROLL
            for (int h = 0; h < 4; h++) bv[h] = vld1q_f32(bk + 4 * h);
        } else {
            load_partial(bk, live, bv);
        }
        const float *ak = a + k * sak;
        AK_UNROLL
        for (int r = 0; r < mr; r++) {
            const float av = ak[r * sam];
            acc[r][0] = vfmaq_n_f32(acc[r][0], bv[0], av);
            acc[r][1] = vfmaq_n_f32(acc[r][1], bv[1], av);
            acc[r][2] = vfmaq_n_f32(acc[r][2], bv[2], av);
            acc[r][3] = vfmaq_n_f32(acc[r][3], bv[3], av);
        }
    }
    AK_UNROLL
    for (int r = 0; r < mr; r++) {
        if (full) {
            AK_UNROLL
            for (int h = 0; h < 4; h++) vst1q_f32(c + r * ldc + 4 * h, acc[r][h]);
        } else {
            store_partial(c + r * ldc, live, acc[r]);
        }
    }
}

// One 16-column strip (`live` columns of it): full 6-row blocks, then the remaining rows.
AK_NEON_INLINE void strip(const long live, const float *a, long sam, long sak, long m, long kdim,
                          const float *b, long ldb, float *c, long ldc, int accumulate) {
    long r = 0;
    for (; r + 6 <= m; r += 6) block(6, live, a + r * sam, sam, sak, kdim, b, ldb, c + r * ldc, ldc, accumulate);
    const float *ar = a + r * sam;
    float *cr = c + r * ldc;
    switch (m - r) {
    case 5: block(5, live, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate); break;
    case 4: block(4, live, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate); break;
    case 3: block(3, live, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate); break;
    case 2: block(2, live, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate); break;
    case 1: block(1, live, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate); break;
    default: break;
    }
}

static void gemm_neon(const float *a, long sam, long sak, long m, long kdim,
                      const float *b, long ldb, long n, float *c, long ldc, int accumulate) {
    long c0 = 0;
    for (; c0 + 16 <= n; c0 += 16) strip(16, a, sam, sak, m, kdim, b + c0, ldb, c + c0, ldc, accumulate);
    if (c0 < n) strip(n - c0, a, sam, sak, m, kdim, b + c0, ldb, c + c0, ldc, accumulate);
}

static void probabilities_neon(float *s, long lds, long rows, long cols, const float *lse) {
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        if (lse[r] == -INFINITY) {
            for (long c = 0; c < cols; c++) row[c] = 0.0f;
            continue;
        }
        const float32x4_t sub = vdupq_n_f32(lse[r]);
        long c = 0;
        for (; c + 4 <= cols; c += 4) vst1q_f32(row + c, ak_exp_neon(vsubq_f32(vld1q_f32(row + c), sub)));
        if (c < cols) {   // the tail through the same polynomial, so every key rounds alike
            float buf[4] = {0};
            memcpy(buf, row + c, sizeof(float) * (size_t)(cols - c));
            vst1q_f32(buf, ak_exp_neon(vsubq_f32(vld1q_f32(buf), sub)));
            memcpy(row + c, buf, sizeof(float) * (size_t)(cols - c));
        }
    }
}

static void ds_neon(float *s, const float *dp, long lds, long rows, long cols,
                    const float *delta, float scale) {
    const float32x4_t sc = vdupq_n_f32(scale);
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        const float *g = dp + r * lds;
        const float32x4_t dl = vdupq_n_f32(delta[r]);
        long c = 0;
        for (; c + 4 <= cols; c += 4)
            vst1q_f32(row + c, vmulq_f32(vmulq_f32(sc, vld1q_f32(row + c)), vsubq_f32(vld1q_f32(g + c), dl)));
        for (; c < cols; c++) row[c] = scale * row[c] * (g[c] - delta[r]);
    }
}

const ak_backward_ops ak_backward_ops_neon = {
    gemm_neon, probabilities_neon, ds_neon,
};
#endif
