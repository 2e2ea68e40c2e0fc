// Portable C micro-kernels of the fused attention forward: the readable specification of the
// layouts in attention_forward_ops.h, and the path used when the CPU lacks AVX2+FMA or
// ATTEND_SIMD=portable is set. Same arithmetic as the SIMD kernels (the same exp, ak_exp), up to
// summation order and FMA contraction.
#include "attention_forward_ops.h"
#include "include/ak_math.h"
#include <math.h>
#include <string.h>

static void pack_queries_portable(const float *q, long rows, long rows_padded, long d, float scale,
                                  float *qhat) {
    for (long p0 = 0; p0 < rows_padded; p0 += 16) {
        float *panel = qhat + p0 * d;
        for (long k = 0; k < d; k++)
            for (long t = 0; t < 16; t++)
                panel[k * 16 + t] = p0 + t < rows ? scale * q[(p0 + t) * d + k] : 0.0f;
    }
}

static void scores_portable(const float *qhat, long rows_padded, long d, const float *k, long cols,
                            float *st, long ld) {
    for (long p0 = 0; p0 < rows_padded; p0 += 16) {
        const float *panel = qhat + p0 * d;
        for (long c = 0; c < cols; c++) {
            float acc[16] = {0};
            for (long kk = 0; kk < d; kk++) {
                const float kv = k[c * d + kk];
                for (long t = 0; t < 16; t++) acc[t] += kv * panel[kk * 16 + t];
            }
            memcpy(st + c * ld + p0, acc, sizeof acc);
        }
    }
}

static void softmax_portable(float *st, long ld, long rows_padded, long cols, float *m, float *l,
                             float *alpha) {
    for (long r = 0; r < rows_padded; r++) {
        float m_new = m[r];
        for (long c = 0; c < cols; c++) m_new = st[c * ld + r] > m_new ? st[c * ld + r] : m_new;
        // μ = 0 while nothing is allowed: exp(−inf − μ) is then 0 rather than NaN.
        const float mu = m_new == -INFINITY ? 0.0f : m_new;
        const float a = ak_exp(m[r] - mu);
        float sum = 0.0f;
        for (long c = 0; c < cols; c++) {
            const float e = ak_exp(st[c * ld + r] - mu);
            st[c * ld + r] = e;
            sum += e;
        }
        alpha[r] = a;
        l[r] = a * l[r] + sum;
        m[r] = m_new;
    }
}

static void accumulate_portable(const float *st, long ld, long rows, long cols, const float *v,
                                long ldv, long dv_padded, float *o, long ldo, const float *alpha) {
    for (long r = 0; r < rows; r++) {
        float *orow = o + r * ldo;
        for (long x = 0; x < dv_padded; x++) orow[x] *= alpha[r];
        for (long c = 0; c < cols; c++) {
            const float pr = st[c * ld + r];
            if (pr == 0.0f) continue;
            for (long x = 0; x < dv_padded; x++) orow[x] += pr * v[c * ldv + x];
        }
    }
}

const ak_forward_ops ak_forward_ops_portable = {
    pack_queries_portable, scores_portable, softmax_portable, accumulate_portable,
};
