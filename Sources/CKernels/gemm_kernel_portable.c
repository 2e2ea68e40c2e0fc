// Portable 6×16 GEMM micro-kernel: the same packed layout and summation order as the SIMD
// kernels, in plain C (the compiler vectorises the j loops with whatever the baseline ISA has).
#include "gemm_internal.h"
#include "ak_gemm.h"

void ak_gemm_kernel_portable(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta) {
    enum { MR = AK_GEMM_MR, NR = AK_GEMM_NR };
    float acc[MR][NR] = {{0}};
    for (size_t p = 0; p < kc; ++p) {
        const float *bp = b + p * NR;
        const float *ap = a + p * MR;
        for (int r = 0; r < MR; ++r) {
            const float ar = ap[r];
            for (int j = 0; j < NR; ++j) acc[r][j] += ar * bp[j];
        }
    }
    for (int r = 0; r < MR; ++r) {
        float *cr = c + (size_t)r * ldc;
        if (beta) {
            for (int j = 0; j < NR; ++j) cr[j] += acc[r][j];
        } else {
            for (int j = 0; j < NR; ++j) cr[j] = acc[r][j];
        }
    }
}
