// Shared by the files of the C test driver (scripts/test_neon_qemu.sh builds them with every
// Sources/CKernels/*.c): attention_levels_test.c holds main and these helpers.
#ifndef AK_DRIVER_H
#define AK_DRIVER_H

#include <stddef.h>

/// One "FAIL: …" line.
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/// Counts a check as passed (ok ≠ 0) or failed.
void tally(int ok);

/// The driver's one random stream (xorshift64*, fixed seed): uniform in (0, 1), standard normal,
/// and n normals in a new buffer.
double uniform(void);
float normal(void);
float *normals(long n);
/// calloc of at least one element.
void *zeros(size_t count, size_t size);

/// The BF16 GEMM at every variant this machine has (bf16_test.c).
void check_bf16_variants(void);

/// The training row kernels (ak_train_ops_for) at each of `levels` (training_rows_test.c).
void check_training_rows(const int *levels, int nlevels);

#endif
