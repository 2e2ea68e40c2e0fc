// AVX-512 micro-kernels of the fused attention backward (see attention_backward_ops.h): the
// 16-wide twins of attention_backward_avx2.c. Each function carries a per-function target
// attribute so the package needs no compiler flags; ak_backward_ops_for picks them only at
// AK_SIMD_AVX512. Column tails use opmask loads and stores, which never touch memory past a row.
#if defined(__x86_64__)
#include "attention_backward_ops.h"
#include "ak_simd_math.h"
#include <immintrin.h>
#include "ak_target.h"
#include <math.h>

enum { MR = 12, MR1 = 24 };

// C[0..mr, 0..16·nv) (+)= A(0..mr, :)·B[:, 0..16·nv): mr·nv accumulators (≤ 24), mr broadcasts
// and nv loads of B per k; lanes outside m0/m1 (the last two vectors) are neither read nor written.
AK_AVX512_INLINE void block(const int mr, const int nv, const float *a, long sam, long sak, long kdim,
                         const float *b, long ldb, float *c, long ldc, int accumulate,
                         __mmask16 m0, __mmask16 m1) {
    __m512 acc[MR1][4];
    __mmask16 mask[4];
    AK_UNROLL
    for (int v = 0; v < nv; v++) mask[v] = nv == 4 ? (__mmask16)0xFFFF : v == 0 ? m0 : m1;
    AK_UNROLL
    for (int r = 0; r < mr; r++)
        AK_UNROLL
        for (int v = 0; v < nv; v++)
            acc[r][v] = accumulate ? _mm512_maskz_loadu_ps(mask[v], c + r * ldc + 16 * v) : _mm512_setzero_ps();
    for (long k = 0; k < kdim; k++) {
        const float *bk = b + k * ldb;
        __m512 bv[4];
        AK_UNROLL
        for (int v = 0; v < nv; v++) bv[v] = nv == 4 ? _mm512_loadu_ps(bk + 16 * v) : _mm512_maskz_loadu_ps(mask[v], bk + 16 * v);
        const float *ak = a + k * sak;
        AK_UNROLL
        for (int r = 0; r < mr; r++) {
            const __m512 av = _mm512_set1_ps(ak[r * sam]);
            AK_UNROLL
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    AK_UNROLL
    for (int r = 0; r < mr; r++)
        AK_UNROLL
        for (int v = 0; v < nv; v++) _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], acc[r][v]);
}

#define AK_BLOCK_CASE(n) case n: block(n, nv, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;

// One strip of 16·nv columns: blocks of 24 rows (one vector wide) or 12 rows (two vectors),
// then 12 rows, then the remaining rows with a smaller block.
AK_AVX512_INLINE void strip(const int nv, const float *a, long sam, long sak, long m, long kdim, const float *b,
                         long ldb, float *c, long ldc, int accumulate, __mmask16 m0, __mmask16 m1) {
    long r = 0;
    if (nv == 4) {
        for (; r + 6 <= m; r += 6) block(6, 4, a + r * sam, sam, sak, kdim, b, ldb, c + r * ldc, ldc, accumulate, m0, m1);
        const float *ar = a + r * sam;
        float *cr = c + r * ldc;
        switch (m - r) {
        case 5: block(5, 4, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
        case 4: block(4, 4, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
        case 3: block(3, 4, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
        case 2: block(2, 4, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
        case 1: block(1, 4, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
        default: break;
        }
        return;
    }
    if (nv == 1)
        for (; r + MR1 <= m; r += MR1) block(MR1, 1, a + r * sam, sam, sak, kdim, b, ldb, c + r * ldc, ldc, accumulate, m0, m1);
    for (; r + MR <= m; r += MR) block(MR, nv, a + r * sam, sam, sak, kdim, b, ldb, c + r * ldc, ldc, accumulate, m0, m1);
    const float *ar = a + r * sam;
    float *cr = c + r * ldc;
    switch (m - r) {
    AK_BLOCK_CASE(11) AK_BLOCK_CASE(10) AK_BLOCK_CASE(9) AK_BLOCK_CASE(8) AK_BLOCK_CASE(7) AK_BLOCK_CASE(6)
    AK_BLOCK_CASE(5) AK_BLOCK_CASE(4) AK_BLOCK_CASE(3) AK_BLOCK_CASE(2) AK_BLOCK_CASE(1)
    default: break;
    }
}

/// The first `live` (0…16) lanes.
AK_AVX512_INLINE __mmask16 lanes(long live) {
    return live >= 16 ? (__mmask16)0xFFFF : live <= 0 ? (__mmask16)0 : (__mmask16)((1u << live) - 1u);
}

AK_AVX512_INLINE void gemm_strided(const float *a, long sam, long sak, long m, long kdim,
                                    const float *b, long ldb, long n, float *c, long ldc, int accumulate) {
    // 32-column strips; a last strip of at most 16 columns uses one vector per row and twice
    // the rows.
    long c0 = 0;
    for (; c0 + 64 <= n; c0 += 64) strip(4, a, sam, sak, m, kdim, b + c0, ldb, c + c0, ldc, accumulate, 0xFFFF, 0xFFFF);
    for (; c0 + 32 <= n; c0 += 32) strip(2, a, sam, sak, m, kdim, b + c0, ldb, c + c0, ldc, accumulate, 0xFFFF, 0xFFFF);
    if (n - c0 > 16) strip(2, a, sam, sak, m, kdim, b + c0, ldb, c + c0, ldc, accumulate, lanes(n - c0), lanes(n - c0 - 16));
    else if (c0 < n) strip(1, a, sam, sak, m, kdim, b + c0, ldb, c + c0, ldc, accumulate, lanes(n - c0), 0);
}

AK_AVX512 static void gemm_avx512(const float *a, long sam, long sak, long m, long kdim,
                               const float *b, long ldb, long n, float *c, long ldc, int accumulate) {
    // The A strides of the five products with D = Dv = 64 or 128 and Bc = 64 (lds = 64), as
    // compile-time constants: each broadcast of A is then one address with a constant offset,
    // where a run-time stride costs an integer add or lea per row and k, issued on the FMA ports
    // (measured +8% for the whole backward on one core). Same instructions otherwise, same bits.
    if (sak == 1 && sam == 64) gemm_strided(a, 64, 1, m, kdim, b, ldb, n, c, ldc, accumulate);
    else if (sam == 1 && sak == 64) gemm_strided(a, 1, 64, m, kdim, b, ldb, n, c, ldc, accumulate);
    else if (sak == 1 && sam == 128) gemm_strided(a, 128, 1, m, kdim, b, ldb, n, c, ldc, accumulate);
    else gemm_strided(a, sam, sak, m, kdim, b, ldb, n, c, ldc, accumulate);
}

AK_AVX512 static void probabilities_avx512(float *s, long lds, long rows, long cols, const float *lse) {
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        if (lse[r] == -INFINITY) {
            for (long c = 0; c < cols; c++) row[c] = 0.0f;
            continue;
        }
        const __m512 sub = _mm512_set1_ps(lse[r]);
        long c = 0;
        for (; c + 16 <= cols; c += 16)
            _mm512_storeu_ps(row + c, ak_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(row + c), sub)));
        if (c < cols) {   // the tail through the same polynomial, so every key rounds alike
            const __mmask16 m = lanes(cols - c);
            _mm512_mask_storeu_ps(row + c, m, ak_exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + c), sub)));
        }
    }
}

AK_AVX512 static void ds_avx512(float *s, const float *dp, long lds, long rows, long cols,
                             const float *delta, float scale) {
    const __m512 sc = _mm512_set1_ps(scale);
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        const float *g = dp + r * lds;
        const __m512 dl = _mm512_set1_ps(delta[r]);
        for (long c = 0; c < cols; c += 16) {
            const __mmask16 m = lanes(cols - c);
            const __m512 x = _mm512_mul_ps(_mm512_mul_ps(sc, _mm512_maskz_loadu_ps(m, row + c)),
                                           _mm512_sub_ps(_mm512_maskz_loadu_ps(m, g + c), dl));
            _mm512_mask_storeu_ps(row + c, m, x);
        }
    }
}

const ak_backward_ops ak_backward_ops_avx512 = {
    gemm_avx512, probabilities_avx512, ds_avx512,
};
#endif
