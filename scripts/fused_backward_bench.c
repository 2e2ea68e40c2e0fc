// Single-thread timing of the fused attention backward kernel in C, outside Swift, by per-thread
// CPU time (the twin of fused_kernel_bench.c, which times the forward): one query head, every key
// block, at the process-wide SIMD level (ATTEND_SIMD=portable|avx2|avx512 picks it). Timing only:
// correctness at every level is the C driver's job (Tests/CKernelsNative, scripts/test_neon_qemu.sh).
// GFLOP/s count the backward as 2.5× the forward's 4·N²·D (half when causal), as FlashAttention-2
// and `attend bench backward` do. The printed checksum (Σ dQ + dK + dV) lets two builds be compared.
//
//   cd Sources/CKernels && clang -O2 -Iinclude -I. -o /tmp/fused_backward_bench \
//       ../../scripts/fused_backward_bench.c cpu.c attention_backward*.c attention_forward*.c -lm
//   /tmp/fused_backward_bench N D causal repeats      (defaults 1024 64 0 10)
#include "ak_attention.h"
#include "ak_attention_backward.h"
#include "ak_cpu.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static float uniform(void) { return 2.0f * (float)rand() / (float)RAND_MAX - 1.0f; }

int main(int argc, char **argv) {
    const long n = argc > 1 ? atol(argv[1]) : 1024, d = argc > 2 ? atol(argv[2]) : 64;
    const int causal = argc > 3 ? atoi(argv[3]) : 0, repeats = argc > 4 ? atoi(argv[4]) : 10;
    if (n < 1 || d < 1 || repeats < 1) { fprintf(stderr, "usage: %s N D causal repeats\n", argv[0]); return 2; }
    const long block_q = 64, block_k = 64;
    const int level = ak_simd_level();
    ak_attention_problem p;
    memset(&p, 0, sizeof p);
    p.lq = p.lk = p.key_limit = n;
    p.d = p.dv = d;
    p.scale = 1.0f / sqrtf((float)d);
    p.causal = causal;
    const size_t nd = (size_t)(n * d);
    float *q = malloc(nd * 4), *k = malloc(nd * 4), *v = malloc(nd * 4), *o = malloc(nd * 4), *g = malloc(nd * 4);
    float *lse = malloc((size_t)n * 4), *delta = malloc((size_t)n * 4);
    float *dq = malloc(nd * 4), *dk = malloc(nd * 4), *dv = malloc(nd * 4);
    float *forward_scratch = malloc(ak_attention_forward_scratch_count(block_q, block_k, d, d) * 4);
    float *scratch = malloc(ak_attention_backward_scratch_count(block_q, block_k, d, d) * 4);
    if (!q || !k || !v || !o || !g || !lse || !delta || !dq || !dk || !dv || !forward_scratch || !scratch) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    srand(1);
    for (size_t i = 0; i < nd; i++) { q[i] = uniform(); k[i] = uniform(); v[i] = uniform(); g[i] = uniform(); }
    for (long i0 = 0; i0 < n; i0 += block_q)
        ak_attention_forward_rows(&p, q, k, v, o, lse, i0, i0 + block_q < n ? i0 + block_q : n, block_k, forward_scratch, level);
    ak_attention_backward_delta(o, g, n, d, delta);
    double best = INFINITY;
    for (int r = 0; r < repeats; r++) {
        memset(dq, 0, nd * 4); memset(dk, 0, nd * 4); memset(dv, 0, nd * 4);
        const double t = now_cpu();
        for (long j0 = 0; j0 < n; j0 += block_k)
            ak_attention_backward_key_block(&p, q, k, v, g, lse, delta, dq, dk, dv, j0, j0 + block_k < n ? j0 + block_k : n,
                                            block_q, block_k, scratch, level);
        const double elapsed = now_cpu() - t;
        if (elapsed < best) best = elapsed;
    }
    const double flops = 2.5 * 4.0 * (double)n * (double)n * (double)d * (causal ? 0.5 : 1.0);
    double checksum = 0;
    for (size_t i = 0; i < nd; i++) checksum += (double)dq[i] + dk[i] + dv[i];
    printf("%s N=%ld D=%ld causal=%d: backward cpu %.2f ms %.1f GFLOP/s/core (checksum %.9g)\n",
           ak_simd_level_name(level), n, d, causal, best * 1e3, flops / best / 1e9, checksum);
    free(q); free(k); free(v); free(o); free(g); free(lse); free(delta); free(dq); free(dk); free(dv);
    free(forward_scratch); free(scratch);
    return 0;
}
