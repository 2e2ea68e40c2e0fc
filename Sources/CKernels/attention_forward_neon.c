// NEON micro-kernels of the fused attention forward (arm64; layouts in attention_forward_ops.h).
// NEON is architectural on arm64, so no target attribute is needed; attention_forward.c uses
// them at AK_SIMD_NEON (see ak_forward_ops_for).
//
// The twin of attention_forward_avx2.c with 4-wide vectors: a 16-query panel is four q
// registers, both products use 6×16 register blocks (24 accumulators, four loads of the
// 16-wide operand and the broadcast scalar: 28 of the 32 v registers). Every lane does the same
// arithmetic in the same order as the AVX2 kernels (the same exp, ak_simd_math.h, the same
// even/odd column split of the softmax sums), so the two levels agree to rounding.
#if defined(__aarch64__)
#include "attention_forward_ops.h"
#include "ak_simd_math.h"
#include <arm_neon.h>
#include "ak_target.h"
#include <math.h>

static void pack_queries_neon(const float *q, long rows, long rows_padded, long d, float scale,
                              float *qhat) {
    // A transpose, once per query block and reused by every key tile: plain loops suffice.
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (long p0 = 0; p0 < rows_padded; p0 += 16) {
        float *panel = qhat + p0 * d;
        for (long k = 0; k < d; k++)
            for (int h = 0; h < 16; h += 4) vst1q_f32(panel + k * 16 + h, zero);
        const long width = rows - p0 < 16 ? rows - p0 : 16;
        for (long t = 0; t < width; t++) {
            const float *row = q + (p0 + t) * d;
            for (long k = 0; k < d; k++) panel[k * 16 + t] = scale * row[k];
        }
    }
}

// Sᵀ[i][0..16) = Σₖ key[i][k]·panel[k][0..16) for i < mr (keys), over 16 queries.
AK_NEON_INLINE void scores_block(const int mr, const float *panel, long d, const float *k,
                                 float *st, long ld) {
    float32x4_t acc[6][4];
    AK_UNROLL for (int i = 0; i < mr; i++)
        AK_UNROLL for (int h = 0; h < 4; h++) acc[i][h] = vdupq_n_f32(0.0f);
    for (long kk = 0; kk < d; kk++) {
        const float *b = panel + kk * 16;
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
        AK_UNROLL for (int i = 0; i < mr; i++) {
            const float a = k[i * d + kk];
            acc[i][0] = vfmaq_n_f32(acc[i][0], b0, a);
            acc[i][1] = vfmaq_n_f32(acc[i][1], b1, a);
            acc[i][2] = vfmaq_n_f32(acc[i][2], b2, a);
            acc[i][3] = vfmaq_n_f32(acc[i][3], b3, a);
        }
    }
    AK_UNROLL for (int i = 0; i < mr; i++)
        AK_UNROLL for (int h = 0; h < 4; h++) vst1q_f32(st + i * ld + 4 * h, acc[i][h]);
}

static void scores_neon(const float *qhat, long rows_padded, long d, const float *k, long cols,
                        float *st, long ld) {
    for (long p0 = 0; p0 < rows_padded; p0 += 16) {
        const float *panel = qhat + p0 * d;
        long c = 0;
        for (; c + 6 <= cols; c += 6) scores_block(6, panel, d, k + c * d, st + c * ld + p0, ld);
        const float *kc = k + c * d;
        float *sc = st + c * ld + p0;
        switch (cols - c) {
        case 5: scores_block(5, panel, d, kc, sc, ld); break;
        case 4: scores_block(4, panel, d, kc, sc, ld); break;
        case 3: scores_block(3, panel, d, kc, sc, ld); break;
        case 2: scores_block(2, panel, d, kc, sc, ld); break;
        case 1: scores_block(1, panel, d, kc, sc, ld); break;
        default: break;
        }
    }
}

static void softmax_neon(float *st, long ld, long rows_padded, long cols, float *m, float *l,
                         float *alpha) {
    const float32x4_t minus_inf = vdupq_n_f32(-INFINITY);
    for (long r = 0; r < rows_padded; r += 4) {
        float32x4_t mx0 = minus_inf, mx1 = minus_inf;
        long c = 0;
        for (; c + 2 <= cols; c += 2) {
            mx0 = vmaxq_f32(mx0, vld1q_f32(st + c * ld + r));
            mx1 = vmaxq_f32(mx1, vld1q_f32(st + (c + 1) * ld + r));
        }
        if (c < cols) mx0 = vmaxq_f32(mx0, vld1q_f32(st + c * ld + r));
        const float32x4_t m_old = vld1q_f32(m + r);
        const float32x4_t m_new = vmaxq_f32(m_old, vmaxq_f32(mx0, mx1));
        // μ = 0 where nothing is allowed yet, so exp(−inf − μ) is 0 rather than NaN.
        const float32x4_t mu = vreinterpretq_f32_u32(
            vbicq_u32(vreinterpretq_u32_f32(m_new), vceqq_f32(m_new, minus_inf)));
        const float32x4_t a = ak_exp_neon(vsubq_f32(m_old, mu));
        float32x4_t sum0 = vdupq_n_f32(0.0f), sum1 = vdupq_n_f32(0.0f);
        c = 0;
        for (; c + 2 <= cols; c += 2) {
            const float32x4_t e0 = ak_exp_neon(vsubq_f32(vld1q_f32(st + c * ld + r), mu));
            const float32x4_t e1 = ak_exp_neon(vsubq_f32(vld1q_f32(st + (c + 1) * ld + r), mu));
            vst1q_f32(st + c * ld + r, e0);
            vst1q_f32(st + (c + 1) * ld + r, e1);
            sum0 = vaddq_f32(sum0, e0);
            sum1 = vaddq_f32(sum1, e1);
        }
        if (c < cols) {
            const float32x4_t e0 = ak_exp_neon(vsubq_f32(vld1q_f32(st + c * ld + r), mu));
            vst1q_f32(st + c * ld + r, e0);
            sum0 = vaddq_f32(sum0, e0);
        }
        vst1q_f32(alpha + r, a);
        vst1q_f32(l + r, vfmaq_f32(vaddq_f32(sum0, sum1), a, vld1q_f32(l + r)));
        vst1q_f32(m + r, m_new);
    }
}

// O[i][0..16) ← α[i]·O[i][0..16) + Σ_c Sᵀ[c][i]·v[c][0..16) for i < mr (queries).
AK_NEON_INLINE void accumulate_block(const int mr, const float *st, long ld, long cols, const float *v,
                                     long ldv, float *o, long ldo, const float *alpha) {
    float32x4_t acc[6][4];
    AK_UNROLL for (int i = 0; i < mr; i++)
        AK_UNROLL for (int h = 0; h < 4; h++) acc[i][h] = vmulq_n_f32(vld1q_f32(o + i * ldo + 4 * h), alpha[i]);
    for (long c = 0; c < cols; c++) {
        const float *b = v + c * ldv;
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
        AK_UNROLL for (int i = 0; i < mr; i++) {
            const float p = st[c * ld + i];
            acc[i][0] = vfmaq_n_f32(acc[i][0], b0, p);
            acc[i][1] = vfmaq_n_f32(acc[i][1], b1, p);
            acc[i][2] = vfmaq_n_f32(acc[i][2], b2, p);
            acc[i][3] = vfmaq_n_f32(acc[i][3], b3, p);
        }
    }
    AK_UNROLL for (int i = 0; i < mr; i++)
        AK_UNROLL for (int h = 0; h < 4; h++) vst1q_f32(o + i * ldo + 4 * h, acc[i][h]);
}

static void accumulate_neon(const float *st, long ld, long rows, long cols, const float *v,
                            long ldv, long dv_padded, float *o, long ldo, const float *alpha) {
    long r = 0;
    for (; r + 6 <= rows; r += 6)
        for (long x = 0; x < dv_padded; x += 16)
            accumulate_block(6, st + r, ld, cols, v + x, ldv, o + r * ldo + x, ldo, alpha + r);
    if (r == rows) return;
    for (long x = 0; x < dv_padded; x += 16) {
        const float *sr = st + r;
        float *orx = o + r * ldo + x;
        switch (rows - r) {
        case 5: accumulate_block(5, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        case 4: accumulate_block(4, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        case 3: accumulate_block(3, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        case 2: accumulate_block(2, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        case 1: accumulate_block(1, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        default: break;
        }
    }
}

const ak_forward_ops ak_forward_ops_neon = {
    pack_queries_neon, scores_neon, softmax_neon, accumulate_neon,
};
#endif
