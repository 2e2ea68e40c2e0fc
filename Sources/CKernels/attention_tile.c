// Micro-kernels shared by the fused attention forward and backward (see attention_tile.h).
// The portable versions are the readable specification; the AVX2+FMA versions compute the
// same sums with 6×16 register blocks (12 accumulators) and a polynomial exp.
#include "attention_tile.h"
#include "include/ak_cpu.h"
#include <math.h>
#include <string.h>

// MARK: - Score finishing (portable; one pass over the tile, cheap next to the products)

void ak_tile_finish_scores(const ak_attention_problem *p, float *s, long lds,
                           long i0, long rows, long j0, long cols) {
    const long offset = p->lk - p->lq;
    // The tile is free of positional masking when every row allows every column.
    const int inside = j0 >= ak_key_lo(p, i0 + rows - 1) && j0 + cols <= ak_key_hi(p, i0);
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        const long i = i0 + r;
        for (long c = 0; c < cols; c++) row[c] *= p->scale;
        if (p->alibi_slope != 0.0f) {
            for (long c = 0; c < cols; c++) {
                long dist = i + offset - (j0 + c);
                row[c] -= p->alibi_slope * (float)(dist < 0 ? -dist : dist);
            }
        }
        if (p->mask_kind != 0) {
            const float *m = p->mask + i * p->mask_stride_i + j0 * p->mask_stride_j;
            if (p->mask_kind == 2) {
                for (long c = 0; c < cols; c++) row[c] += m[c * p->mask_stride_j];
            } else {
                for (long c = 0; c < cols; c++)
                    if (m[c * p->mask_stride_j] == 0.0f) row[c] = -INFINITY;
            }
        }
        if (!inside) {
            long lo = ak_key_lo(p, i) - j0, hi = ak_key_hi(p, i) - j0;
            for (long c = 0; c < cols; c++)
                if (c < lo || c >= hi) row[c] = -INFINITY;
        }
    }
}

// MARK: - Portable micro-kernels

static void pack_rows_portable(const float *b, long n, long kdim, long ldb, float *packed) {
    for (long j0 = 0; j0 < n; j0 += 16) {
        float *panel = packed + (j0 / 16) * kdim * 16;
        for (long k = 0; k < kdim; k++)
            for (long jj = 0; jj < 16; jj++)
                panel[k * 16 + jj] = j0 + jj < n ? b[(j0 + jj) * ldb + k] : 0.0f;
    }
}

static void abt_portable(const float *a, long lda, long m, long kdim, const float *packed, long n,
                         float *c, long ldc) {
    for (long j0 = 0; j0 < n; j0 += 16) {
        const float *panel = packed + (j0 / 16) * kdim * 16;
        for (long r = 0; r < m; r++) {
            float acc[16] = {0};
            for (long k = 0; k < kdim; k++) {
                float av = a[r * lda + k];
                for (long jj = 0; jj < 16; jj++) acc[jj] += av * panel[k * 16 + jj];
            }
            memcpy(c + r * ldc + j0, acc, sizeof acc);
        }
    }
}

static void ab_acc_portable(const float *a, long sam, long sak, long m, long kdim,
                            const float *b, long ldb, long n, float *c, long ldc) {
    for (long r = 0; r < m; r++)
        for (long k = 0; k < kdim; k++) {
            float av = a[r * sam + k * sak];
            if (av == 0.0f) continue;
            for (long col = 0; col < n; col++) c[r * ldc + col] += av * b[k * ldb + col];
        }
}

static float row_max_portable(const float *x, long n) {
    float m = -INFINITY;
    for (long j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

static float exp_sub_sum_portable(float *x, long n, float sub) {
    float sum = 0.0f;
    for (long j = 0; j < n; j++) { x[j] = expf(x[j] - sub); sum += x[j]; }
    return sum;
}

static const ak_tile_ops portable_ops = {
    pack_rows_portable, abt_portable, ab_acc_portable, row_max_portable, exp_sub_sum_portable,
};

#if defined(__x86_64__)
extern const ak_tile_ops ak_avx2_tile_ops; /* attention_tile_avx2.c */
#endif

const ak_tile_ops *ak_tile_ops_select(int use_simd) {
#if defined(__x86_64__)
    if (use_simd && ak_cpu_has_simd()) return &ak_avx2_tile_ops;
#endif
    (void)use_simd;
    return &portable_ops;
}
