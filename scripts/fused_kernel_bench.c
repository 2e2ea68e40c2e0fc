// Single-thread timing of the fused attention forward kernel in C, outside Swift, by per-thread
// CPU time: on a machine shared with other jobs, wall-clock numbers swing with the load, while
// CPU time shows what one core delivers (the kernel is compute-bound; 2 threads ≈ 2× that on an
// idle 2-core machine). It first checks awkward sizes of every positional mask against a
// Float64 loop at every SIMD level the CPU has (prints FAIL lines on a mismatch), then times the
// process-wide level (ATTEND_SIMD=portable|avx2|avx512 picks it).
//
//   cd Sources/CKernels && clang -O2 -Iinclude -I. -o /tmp/fused_kernel_bench \
//       ../../scripts/fused_kernel_bench.c cpu.c attention_forward.c attention_forward_portable.c \
//       attention_forward_avx2.c attention_forward_avx512.c -lm
//   /tmp/fused_kernel_bench N D Br Bc causal repeats      (defaults 1024 64 64 64 0 5)
#include "ak_attention.h"
#include "ak_cpu.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static float rnd(void) { double u1 = (rand() + 1.0) / (RAND_MAX + 2.0), u2 = (rand() + 1.0) / (RAND_MAX + 2.0); return (float)(sqrt(-2 * log(u1)) * cos(6.283185307 * u2)); }

static void run(ak_attention_problem *p, const float *q, const float *k, const float *v, float *o, float *lse, long br, long bc, int level) {
    size_t n = ak_attention_forward_scratch_count(br, bc, p->d, p->dv);
    float *s = malloc(n * sizeof(float));
    for (long i0 = 0; i0 < p->lq; i0 += br) {
        long i1 = i0 + br < p->lq ? i0 + br : p->lq;
        ak_attention_forward_rows(p, q, k, v, o, lse, i0, i1, bc, s, level);
    }
    free(s);
}

static double check(ak_attention_problem *p, const float *q, const float *k, const float *v, const float *o, const float *lse, double *lse_err) {
    double worst = 0; *lse_err = 0;
    long off = p->lk - p->lq;
    double *sc = malloc(sizeof(double) * p->lk);
    for (long i = 0; i < p->lq; i++) {
        double mx = -INFINITY;
        for (long j = 0; j < p->lk; j++) {
            int ok = j < p->key_limit;
            if (p->causal && j > i + off) ok = 0;
            if (p->window > 0 && j <= i + off - p->window) ok = 0;
            double s = 0; for (long c = 0; c < p->d; c++) s += (double)q[i * p->d + c] * k[j * p->d + c];
            s *= p->scale; s -= p->alibi_slope * fabs((double)(i + off - j));
            sc[j] = ok ? s : -INFINITY; if (sc[j] > mx) mx = sc[j];
        }
        double tot = 0; for (long j = 0; j < p->lk; j++) if (sc[j] > -INFINITY) tot += exp(sc[j] - mx);
        for (long c = 0; c < p->dv; c++) {
            double acc = 0; if (tot > 0) for (long j = 0; j < p->lk; j++) if (sc[j] > -INFINITY) acc += exp(sc[j] - mx) / tot * v[j * p->dv + c];
            double e = fabs(acc - o[i * p->dv + c]); if (!(e <= worst)) worst = e;
        }
        double l = tot > 0 ? mx + log(tot) : -INFINITY;
        if (!(l == -INFINITY && lse[i] == -INFINITY)) { double e = fabs(l - lse[i]); if (!(e <= *lse_err)) *lse_err = e; }
    }
    free(sc);
    return worst;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1024, d = argc > 2 ? atol(argv[2]) : 64;
    long br = argc > 3 ? atol(argv[3]) : 64, bc = argc > 4 ? atol(argv[4]) : 64;
    int causal = argc > 5 ? atoi(argv[5]) : 0;
    int reps = argc > 6 ? atoi(argv[6]) : 5;
    // correctness on awkward sizes
    long sizes[][4] = {{7, 65, 13, 7}, {129, 129, 64, 64}, {70, 33, 20, 17}, {1, 200, 64, 64}, {150, 150, 32, 20}, {33, 257, 64, 40}};
    const int levels[] = {AK_SIMD_PORTABLE, AK_SIMD_NEON, AK_SIMD_AVX2, AK_SIMD_AVX512};
    for (int t = 0; t < 6; t++) for (int li = 0; li < 4; li++) for (int mode = 0; mode < 4; mode++) {
        const int simd = levels[li];
        if (!ak_simd_available(simd)) continue;
        long lq = sizes[t][0], lk = sizes[t][1], dd = sizes[t][2], dv = sizes[t][3];
        float *q = malloc(4 * lq * dd), *k = malloc(4 * lk * dd), *v = malloc(4 * lk * dv), *o = malloc(4 * lq * dv), *l = malloc(4 * lq);
        for (long i = 0; i < lq * dd; i++) q[i] = rnd(); for (long i = 0; i < lk * dd; i++) k[i] = rnd(); for (long i = 0; i < lk * dv; i++) v[i] = rnd();
        ak_attention_problem p = {lq, lk, dd, dv, 1.0f / sqrtf((float)dd), mode == 3 ? 0.25f : 0.0f, mode >= 1, mode == 2 ? 17 : 0, mode == 3 ? lk - 3 : lk, 0, NULL, 0, 0};
        run(&p, q, k, v, o, l, 48, 40, simd);
        double le; double e = check(&p, q, k, v, o, l, &le);
        if (e > 1e-5 || le > 1e-4) printf("FAIL lq=%ld lk=%ld d=%ld dv=%ld level=%d mode=%d err=%g lse=%g\n", lq, lk, dd, dv, simd, mode, e, le);
        free(q); free(k); free(v); free(o); free(l);
    }
    // speed, single thread, per-thread CPU time
    float *q = malloc(4 * n * d), *k = malloc(4 * n * d), *v = malloc(4 * n * d), *o = malloc(4 * n * d), *l = malloc(4 * n);
    for (long i = 0; i < n * d; i++) { q[i] = rnd(); k[i] = rnd(); v[i] = rnd(); }
    ak_attention_problem p = {n, n, d, d, 1.0f / sqrtf((float)d), 0, causal, 0, n, 0, NULL, 0, 0};
    const int level = ak_simd_level();
    run(&p, q, k, v, o, l, br, bc, level);
    double best = 1e9, bestw = 1e9;
    for (int r = 0; r < reps; r++) { double t0 = now_cpu(), w0 = now(); run(&p, q, k, v, o, l, br, bc, level); double t = now_cpu() - t0, w = now() - w0; if (t < best) best = t; if (w < bestw) bestw = w; }
    double flops = 4.0 * n * n * d * (causal ? 0.5 : 1);
    printf("%s N=%ld D=%ld Br=%ld Bc=%ld causal=%d: cpu %.2f ms %.1f GFLOP/s/core (wall %.1f)\n", ak_cpu_simd_name(), n, d, br, bc, causal, best * 1e3, flops / best / 1e9, flops / bestw / 1e9);
    return 0;
}
