// The C test driver's BF16 GEMM checks (include/ak_bf16.h): every variant this machine has
// (ak_bf16_clamp keeps it: portable; NEON and, with FEAT_BF16, NEON-BF16 on arm64; AVX2,
// AVX512-BF16 and AMX on x86-64), against a Float64 reference on the BF16-rounded operands.
#include "ak_bf16.h"
#include "ak_cpu.h"
#include "gemm_bf16_internal.h"
#include "driver.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { long m, n, k; } gemm_shape;

/// Every variant of ak_bf16.h; a machine tests those ak_bf16_clamp keeps.
static const int bf16_variants[] = {AK_BF16_PORTABLE, AK_BF16_NEON, AK_BF16_AVX2, AK_BF16_AVX512, AK_BF16_AMX, AK_BF16_NEON_BF16};
enum { BF16_VARIANTS = sizeof bf16_variants / sizeof bf16_variants[0] };

/// Whether `variant` computes the FMA sequence of ak_bf16.h (the portable kernel's bits), not
/// sums of its own rounding (AMX, BFDOT).
static int bf16_fma_sequence(int variant) { return variant != AK_BF16_AMX && variant != AK_BF16_NEON_BF16; }

/// C = copy of c0 (m + 1 rows of ldc = n + 3), then the product by `variant` in row blocks
/// [0, i1), [i1, m) × column blocks [0, j1), [j1, n) (j1 a multiple of 16), each its own call.
static float *bf16_run(int variant, gemm_shape s, const float *x, const uint16_t *packed, const float *bias,
                       const float *c0, int accumulate, long i1, long j1) {
    const long m = s.m, n = s.n, k = s.k, ldc = n + 3;
    float *c = malloc(sizeof(float) * (size_t)((m + 1) * ldc));
    memcpy(c, c0, sizeof(float) * (size_t)((m + 1) * ldc));
    uint16_t *scratch = malloc(sizeof(uint16_t) * ak_bf16_scratch_count((size_t)k));
    const long rows[3] = {0, i1, m}, cols[3] = {0, j1, n};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            const long i = rows[a], j = cols[b], mm = rows[a + 1] - i, nn = cols[b + 1] - j;
            if (mm > 0 && nn > 0)
                ak_bf16_gemm((size_t)mm, (size_t)nn, (size_t)k, x + i * k, (size_t)k, packed, (size_t)j, bias,
                             c + i * ldc + j, (size_t)ldc, accumulate, scratch, variant);
        }
    free(scratch);
    return c;
}

/// One product at one variant: within (k+2)·2⁻²⁴·(Σ|x̂Ŵ| + |bias| + |C|) of the Float64 sum on
/// the BF16-rounded operands (BFloat16Tests' bound), nothing written outside C (the padding
/// columns and the row after it), the same bits when split into row and column blocks, and
/// (FMA-sequence variants) the portable kernel's bits.
static int check_bf16(int variant, gemm_shape s, int with_bias, int accumulate, double *worst_out) {
    const long m = s.m, n = s.n, k = s.k, ldc = n + 3;
    float *x = normals(m * k), *w = normals(n * k), *bias = normals(n), *c0 = normals((m + 1) * ldc);
    uint16_t *packed = malloc(sizeof(uint16_t) * (ak_bf16_packed_count((size_t)n, (size_t)k) + 1));
    ak_bf16_pack_weights(w, (size_t)n, (size_t)k, (size_t)k, packed);
    const float *b = with_bias ? bias : NULL;
    float *whole = bf16_run(variant, s, x, packed, b, c0, accumulate, m, n);
    float *split = bf16_run(variant, s, x, packed, b, c0, accumulate, m / 2, n / 32 * 16);
    float *portable = bf16_run(AK_BF16_PORTABLE, s, x, packed, b, c0, accumulate, m, n);
    const double u = 1.0 / 16777216.0;
    double worst = 0;
    int untouched = 1, same_split = 1, same_portable = 1;
    for (long i = 0; i <= m; i++)
        for (long j = 0; j < ldc; j++) {
            const long e = i * ldc + j;
            if (i == m || j >= n) { if (memcmp(&whole[e], &c0[e], 4) || memcmp(&split[e], &c0[e], 4)) untouched = 0; continue; }
            if (memcmp(&whole[e], &split[e], 4)) same_split = 0;
            if (memcmp(&whole[e], &portable[e], 4)) same_portable = 0;
            double want = accumulate ? c0[e] : 0, magnitude = fabs(want);
            if (b) { want += b[j]; magnitude += fabs(b[j]); }
            for (long p = 0; p < k; p++) {
                const double t = (double)ak_float_from_bf16(ak_bf16_from_float(x[i * k + p]))
                               * ak_float_from_bf16(ak_bf16_from_float(w[j * k + p]));
                want += t;
                magnitude += fabs(t);
            }
            const double ratio = fabs((double)whole[e] - want) / ((double)(k + 2) * u * magnitude + 1e-30);
            if (!(ratio <= worst)) worst = ratio;
        }
    const int bits_ok = !bf16_fma_sequence(variant) || same_portable;
    const int ok = worst <= 1 && untouched && same_split && bits_ok;
    if (!ok) fail("bf16 %s %ldx%ldx%ld bias=%d accumulate=%d: %.3g× the Float64 bound%s%s%s", ak_bf16_variant_name(variant),
                  m, n, k, with_bias, accumulate, worst, untouched ? "" : ", wrote outside C",
                  same_split ? "" : ", split into blocks gives other bits", bits_ok ? "" : ", bits differ from portable");
    if (worst > *worst_out || worst != worst) *worst_out = worst;
    free(x); free(w); free(bias); free(c0); free(packed); free(whole); free(split); free(portable);
    return ok;
}

/// With W = I, every variant's output is x̂ = bf16(x) exactly (ak_bf16_from_float), for ties,
/// subnormals (to ±0), huge and tiny values: the rounding of the rows of x is the scalar one.
static int check_bf16_rounding(int variant) {
    enum { M = 9, K = 37 };
    static const float specials[] = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, -(1 + 0x1p-8f), 0x1p-130f, -0x1p-140f, 0x1p-126f,
                                     3e38f, -3.3e38f, 1e-30f, 0.0f, 65504.0f, 1.00390625f, -2.0078125f};
    float x[M * K], identity[K * K], y[M * K];
    for (int e = 0; e < M * K; e++) x[e] = e % 3 == 0 ? specials[e / 3 % (int)(sizeof specials / sizeof specials[0])] : normal();
    for (int e = 0; e < K * K; e++) identity[e] = e % (K + 1) == 0 ? 1.0f : 0.0f;
    uint16_t *packed = malloc(sizeof(uint16_t) * ak_bf16_packed_count(K, K));
    uint16_t *scratch = malloc(sizeof(uint16_t) * ak_bf16_scratch_count(K));
    ak_bf16_pack_weights(identity, K, K, K, packed);
    ak_bf16_gemm(M, K, K, x, K, packed, 0, NULL, y, K, 0, scratch, variant);
    int ok = 1;
    for (int e = 0; e < M * K; e++)
        if (!(y[e] == ak_float_from_bf16(ak_bf16_from_float(x[e])))) {
            if (ok) fail("bf16 %s: with W = I, x = %.9g gave %.9g, bf16(x) = %.9g", ak_bf16_variant_name(variant), x[e], y[e],
                         ak_float_from_bf16(ak_bf16_from_float(x[e])));
            ok = 0;
        }
    free(packed); free(scratch);
    return ok;
}

void check_bf16_variants(void) {
    // BF16 GEMM: every variant this machine has (ak_bf16_clamp keeps it), rows 1–40 (the 1–4-row
    // tiles, the 12-row block, AMX's 32-row block and past it), n not a multiple of the 16-column
    // panel, odd k (the zero partner of the last pair), k = 0 (the product is the bias).
    static const gemm_shape bf16_shapes[] = {{1, 1, 1}, {1, 17, 3}, {3, 33, 41}, {7, 70, 17}, {17, 40, 65}, {12, 32, 64},
                                             {13, 100, 129}, {33, 19, 7}, {3, 5, 0}, {1, 150, 300}, {40, 47, 33},
                                             {2, 16, 2}, {4, 129, 17}, {5, 48, 2}, {7, 31, 9}};
    {
        const int process = ak_bf16_variant_for_level(ak_simd_detected());
        int expected = AK_BF16_PORTABLE;
#if defined(__aarch64__)
        expected = AK_BF16_NEON_BF16_BUILT && ak_cpu_has_arm_bf16() ? AK_BF16_NEON_BF16 : AK_BF16_NEON;
#elif defined(__x86_64__)
        expected = ak_cpu_has_amx_bf16() ? AK_BF16_AMX : ak_cpu_has_avx512_bf16() ? AK_BF16_AVX512
                 : ak_simd_available(AK_SIMD_AVX2) ? AK_BF16_AVX2 : AK_BF16_PORTABLE;
#endif
        const int ok = process == expected && ak_bf16_variant_for_level(AK_SIMD_PORTABLE) == AK_BF16_PORTABLE;
        if (!ok) fail("bf16: the detected level chooses %s, expected %s", ak_bf16_variant_name(process), ak_bf16_variant_name(expected));
        tally(ok);
        printf("bf16     variants:");
        for (int v = 0; v < BF16_VARIANTS; v++)
            if (ak_bf16_clamp(bf16_variants[v]) == bf16_variants[v]) printf(" %s", ak_bf16_variant_name(bf16_variants[v]));
        printf(" (the detected level runs %s; arm BF16 %s, AVX512-BF16 %s, AMX-BF16 %s)\n", ak_bf16_variant_name(process),
               ak_cpu_has_arm_bf16() ? "yes" : "no", ak_cpu_has_avx512_bf16() ? "yes" : "no", ak_cpu_has_amx_bf16() ? "yes" : "no");
    }
    for (int v = 0; v < BF16_VARIANTS; v++) {
        const int variant = bf16_variants[v];
        if (ak_bf16_clamp(variant) != variant) continue;
        double worst = 0;
        long count = 0;
        for (size_t s = 0; s < sizeof bf16_shapes / sizeof bf16_shapes[0]; s++, count++)
            tally(check_bf16(variant, bf16_shapes[s], (int)(s % 2), (int)(s / 2 % 2), &worst));
        tally(check_bf16_rounding(variant));
        printf("bf16     %-11s %ld products: worst %.3f× the Float64 bound on rounded operands; split-invariant%s; rounds like ak_bf16_from_float\n",
               ak_bf16_variant_name(variant), count, worst, bf16_fma_sequence(variant) ? ", portable's bits" : "");
    }
}
