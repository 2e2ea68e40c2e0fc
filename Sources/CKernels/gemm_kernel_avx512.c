// AVX-512 14×32 GEMM micro-kernel (x86-64).
//
// Register budget (32 zmm): 28 accumulators hold the 14×32 tile of C (two 16-wide vectors per
// row), two hold the current row of the B micro-panel, one the broadcast A element. Per k step:
// 2 loads + 14 broadcasts feed 28 FMAs, so the two 512-bit FMA pipes stay busy while the loads
// (16 per 28 FMAs) fit in the load ports. Compiled for AVX-512 by attribute only (no -m flags);
// gemm.c calls it only when ak_simd_available(AK_SIMD_AVX512).
#include "gemm_internal.h"
#include "ak_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include "ak_target.h"

enum { MR = 14, NR = 32 };

#define AK_ROW_FMA(r)                                          \
    do {                                                       \
        const __m512 ar = _mm512_set1_ps(a[r]);                \
        c##r##_0 = _mm512_fmadd_ps(ar, b0, c##r##_0);          \
        c##r##_1 = _mm512_fmadd_ps(ar, b1, c##r##_1);          \
    } while (0)

#define AK_STEP()                                                                      \
    do {                                                                               \
        const __m512 b0 = _mm512_loadu_ps(b);                                           \
        const __m512 b1 = _mm512_loadu_ps(b + 16);                                      \
        AK_ROW_FMA(0); AK_ROW_FMA(1); AK_ROW_FMA(2); AK_ROW_FMA(3); AK_ROW_FMA(4);     \
        AK_ROW_FMA(5); AK_ROW_FMA(6); AK_ROW_FMA(7); AK_ROW_FMA(8); AK_ROW_FMA(9);     \
        AK_ROW_FMA(10); AK_ROW_FMA(11); AK_ROW_FMA(12); AK_ROW_FMA(13);                \
        a += MR;                                                                       \
        b += NR;                                                                       \
    } while (0)

#define AK_STORE_ROW(r)                                                              \
    do {                                                                             \
        float *cr = c + (size_t)(r) * ldc;                                           \
        if (beta) {                                                                  \
            c##r##_0 = _mm512_add_ps(_mm512_loadu_ps(cr), c##r##_0);                 \
            c##r##_1 = _mm512_add_ps(_mm512_loadu_ps(cr + 16), c##r##_1);            \
        }                                                                            \
        _mm512_storeu_ps(cr, c##r##_0);                                              \
        _mm512_storeu_ps(cr + 16, c##r##_1);                                         \
    } while (0)

#define AK_ZERO_ROW(r) __m512 c##r##_0 = _mm512_setzero_ps(), c##r##_1 = _mm512_setzero_ps()

AK_AVX512
void ak_gemm_kernel_avx512(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta) {
    AK_ZERO_ROW(0); AK_ZERO_ROW(1); AK_ZERO_ROW(2); AK_ZERO_ROW(3); AK_ZERO_ROW(4);
    AK_ZERO_ROW(5); AK_ZERO_ROW(6); AK_ZERO_ROW(7); AK_ZERO_ROW(8); AK_ZERO_ROW(9);
    AK_ZERO_ROW(10); AK_ZERO_ROW(11); AK_ZERO_ROW(12); AK_ZERO_ROW(13);

    // Touch the C tile early so its lines arrive while the k loop runs.
    for (int r = 0; r < MR; ++r) {
        _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)r * ldc + 16), _MM_HINT_T0);
    }

    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        AK_STEP();
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        AK_STEP();
        _mm_prefetch((const char *)(a + 8 * MR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        AK_STEP();
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        AK_STEP();
    }
    for (; p < kc; ++p) AK_STEP();

    AK_STORE_ROW(0); AK_STORE_ROW(1); AK_STORE_ROW(2); AK_STORE_ROW(3); AK_STORE_ROW(4);
    AK_STORE_ROW(5); AK_STORE_ROW(6); AK_STORE_ROW(7); AK_STORE_ROW(8); AK_STORE_ROW(9);
    AK_STORE_ROW(10); AK_STORE_ROW(11); AK_STORE_ROW(12); AK_STORE_ROW(13);
}

/// The first `live` lanes of a 16-lane vector (all of them from 16 on).
AK_AVX512_INLINE __mmask16 lanes(size_t live) {
    return (__mmask16)(live >= 16 ? 0xFFFFu : (1u << live) - 1u);
}

// The first `mr` rows of a 14×32 tile: mr·2 accumulators over the same packed panels (A rows
// stay MR apart), summed from 0 over p and then added to C as the full kernel does; columns
// past `cols` are neither read nor written (opmasks).
AK_AVX512_INLINE void edge_rows(const int mr, size_t kc, const float *a, const float *b, float *c, size_t ldc,
                                int beta, __mmask16 m0, __mmask16 m1) {
    __m512 acc[MR][2];
    AK_UNROLL
    for (int r = 0; r < mr; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (size_t p = 0; p < kc; ++p) {
        const __m512 b0 = _mm512_loadu_ps(b + p * NR), b1 = _mm512_loadu_ps(b + p * NR + 16);
        const float *ap = a + p * MR;
        AK_UNROLL
        for (int r = 0; r < mr; ++r) {
            const __m512 ar = _mm512_set1_ps(ap[r]);
            acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
        }
    }
    AK_UNROLL
    for (int r = 0; r < mr; ++r) {
        float *cr = c + (size_t)r * ldc;
        if (beta) {
            acc[r][0] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), acc[r][0]);
            acc[r][1] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), acc[r][1]);
        }
        _mm512_mask_storeu_ps(cr, m0, acc[r][0]);
        _mm512_mask_storeu_ps(cr + 16, m1, acc[r][1]);
    }
}

AK_AVX512 void ak_gemm_edge_avx512(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta,
                                   size_t rows, size_t cols) {
    const __mmask16 m0 = lanes(cols), m1 = lanes(cols > 16 ? cols - 16 : 0);
    switch (rows) {
    case 14: edge_rows(14, kc, a, b, c, ldc, beta, m0, m1); break;
    case 13: edge_rows(13, kc, a, b, c, ldc, beta, m0, m1); break;
    case 12: edge_rows(12, kc, a, b, c, ldc, beta, m0, m1); break;
    case 11: edge_rows(11, kc, a, b, c, ldc, beta, m0, m1); break;
    case 10: edge_rows(10, kc, a, b, c, ldc, beta, m0, m1); break;
    case 9: edge_rows(9, kc, a, b, c, ldc, beta, m0, m1); break;
    case 8: edge_rows(8, kc, a, b, c, ldc, beta, m0, m1); break;
    case 7: edge_rows(7, kc, a, b, c, ldc, beta, m0, m1); break;
    case 6: edge_rows(6, kc, a, b, c, ldc, beta, m0, m1); break;
    case 5: edge_rows(5, kc, a, b, c, ldc, beta, m0, m1); break;
    case 4: edge_rows(4, kc, a, b, c, ldc, beta, m0, m1); break;
    case 3: edge_rows(3, kc, a, b, c, ldc, beta, m0, m1); break;
    case 2: edge_rows(2, kc, a, b, c, ldc, beta, m0, m1); break;
    case 1: edge_rows(1, kc, a, b, c, ldc, beta, m0, m1); break;
    default: break;
    }
}

/// Packs untransposed runs (rows of B stored k×n, columns of A stored k×m): per depth step one
/// or two masked 16-lane loads and stores instead of a memcpy call and a scalar edge loop.
/// Masked-off lanes are neither read (AVX-512 masked loads do not fault on them) nor written.
AK_AVX512 void ak_gemm_copy_panel_avx512(const float *src, size_t ld, size_t live, size_t depth,
                                         float *dst, size_t width) {
    const __mmask16 live0 = lanes(live), live1 = lanes(live > 16 ? live - 16 : 0);
    const __mmask16 out0 = lanes(width), out1 = lanes(width > 16 ? width - 16 : 0);
    if (out1) {
        for (size_t p = 0; p < depth; ++p) {
            const float *s = src + p * ld;
            float *d = dst + p * width;
            _mm512_mask_storeu_ps(d, out0, _mm512_maskz_loadu_ps(live0, s));
            _mm512_mask_storeu_ps(d + 16, out1, _mm512_maskz_loadu_ps(live1, s + 16));
        }
    } else {
        for (size_t p = 0; p < depth; ++p)
            _mm512_mask_storeu_ps(dst + p * width, out0, _mm512_maskz_loadu_ps(live0, src + p * ld));
    }
}

/// 16×16 transpose in registers: 32-bit interleave, 64-bit shuffles, then two 128-bit lane
/// shuffles (the usual sequence); rows past `rows` are zero and nothing past the block is read.
AK_AVX512 void ak_gemm_transpose_avx512(const float *src, size_t ld, size_t rows, size_t cols,
                                        float *dst, size_t dst_stride, size_t width) {
    const __mmask16 in = (__mmask16)((1u << cols) - 1u), out = (__mmask16)((1u << width) - 1u);
    __m512 r[16], t[16], u[16];
    for (size_t i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_maskz_loadu_ps(in, src + i * ld) : _mm512_setzero_ps();
    AK_UNROLL
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    AK_UNROLL
    for (int i = 0; i < 4; ++i) {
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    // u[4g + c], 128-bit lane L: rows 4g … 4g+3 of column 4L + c.
    AK_UNROLL
    for (int c = 0; c < 4; ++c) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), w0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        const __m512 v1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        const __m512 column[4] = {_mm512_shuffle_f32x4(v0, v1, 0x88), _mm512_shuffle_f32x4(w0, w1, 0x88),
                                  _mm512_shuffle_f32x4(v0, v1, 0xDD), _mm512_shuffle_f32x4(w0, w1, 0xDD)};
        AK_UNROLL
        for (int l = 0; l < 4; ++l) {
            const size_t j = (size_t)(4 * l + c);
            if (j < cols) _mm512_mask_storeu_ps(dst + j * dst_stride, out, column[l]);
        }
    }
}
#endif
