// Private to CKernels: the micro-kernel contract shared by gemm.c and the gemm_kernel_*.c files.
#ifndef AK_GEMM_INTERNAL_H
#define AK_GEMM_INTERNAL_H

#include <stddef.h>

// A micro-kernel multiplies one packed A micro-panel (kc × MR, stored p-major: a[p*MR + r])
// by one packed B micro-panel (kc × NR, b[p*NR + j]) and writes the full MR×NR tile of C:
// C = acc when beta == 0, C += acc when beta == 1. Edges never reach it: the caller passes a
// scratch tile for partial tiles. Every c[r][j] is summed over p in increasing order.
typedef void (*ak_gemm_microkernel)(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);

/// One level's micro-kernel with its register tile (mr × nr) and depth slice kc.
typedef struct ak_gemm_blocking {
    size_t mr, nr, kc;
    ak_gemm_microkernel kernel;
} ak_gemm_blocking;

/// The largest register tile of any level (sizes the edge scratch tile) and the widest NR.
enum { AK_GEMM_MAX_TILE = 14 * 32, AK_GEMM_MAX_NR = 32 };

void ak_gemm_kernel_portable(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);
#if defined(__x86_64__)
void ak_gemm_kernel_avx2(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);
/// 14×32 tile (28 zmm accumulators).
void ak_gemm_kernel_avx512(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);
#endif
#if defined(__aarch64__)
void ak_gemm_kernel_neon(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta);
#endif

#endif
