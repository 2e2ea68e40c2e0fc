// C test driver for the CKernels SIMD levels, outside SwiftPM: every level this machine has
// (portable, and neon on arm64 or avx2+fma / avx512 on x86-64) against the portable kernels and
// a plain double-precision reference, on awkward sizes (nothing a multiple of a tile):
//   - the fused attention forward (ak_attention_forward_rows): output within 1e-5 of Float64
//     and of portable, log-sum-exp within 1e-4, rows with no allowed key exactly 0 / −inf;
//   - the fused attention backward (ak_attention_backward_key_block): dQ, dK, dV within 1e-4
//     of Float64 and of portable, within 3× portable's own worst error + 2e-6, and bit-identical
//     when run twice;
//   - the packed and few-row GEMM (ak_sgemm_packed, ak_sgemm_rows: m = 1 … 7, k = 0, k mod 4 ≠ 0,
//     a transposed A deeper than the row copies): within the Float64 error budget
//     2(k+2)·2⁻²⁴·Σ|a||b|, nothing written outside C; with B packed ahead (ak_sgemm_prepacked)
//     into buffers off a 32-byte boundary, in two column parts: the bits of ak_sgemm_packed;
//     on row-major A read unpacked (the direct kernels): the bits of the route that packs it;
//   - exp (ak_exp, and its vector twin of each level in ak_simd_math.h): within 1.02 ulp of the
//     Float64 exp on a sweep of [−87.33, 88], exactly 0 at −inf and −88, 1 at 0, NaN for NaN;
//     at avx2+fma the four-vector ak_exp4_avx2 gives ak_exp_avx2's bits on all of those inputs;
//   - the backward's probabilities against the forward's log-sum-exp: with dO one-hot (Dv = Lq)
//     dV[j][i] is P(i, j) exactly, and every row Σⱼ P(i, j) is 1 within half an ulp of lse[i]
//     (its own rounding) + 8·2⁻²⁴;
//   - bf16_test.c: the BF16 GEMM (ak_bf16_gemm) at every variant the machine has (portable; neon
//     and, with FEAT_BF16, neon-bf16 on arm64; avx2+fma, avx512-bf16, amx-bf16 on x86-64), rows
//     1–40, n not a multiple of 16, odd k and k = 0: within (k+2)·2⁻²⁴·Σ|x̂Ŵ| of Float64 on the
//     BF16-rounded operands, the portable bits for the FMA-sequence variants, the same bits when
//     split into row and column blocks, inputs rounded like ak_bf16_from_float, nothing written
//     outside C; and that the detected level chooses the best variant;
//   - training_rows_test.c: every training row kernel (ak_train_ops_for) at every level against
//     Float64 (softmax and its backward, LayerNorm/RMSNorm forward and backward, cross-entropy
//     forward and backward, bias+GELU and its backward, AdamW, column sums, add, Σx², GELU in
//     place) on widths 1, 7, 17, 65, 129, 257.
// These are the budgets of Tests/AttentionTests (AttentionForwardTests, AttentionBackwardTests,
// GemmTests, SIMDLevelTests, BFloat16Tests) and Tests/TrainingTests (TrainingRowLevelTests).
// Built and run by scripts/test_neon_qemu.sh (CI: scripts/ci/neon.sh): cross-compiled for
// aarch64 with gcc and clang and run under qemu-user (the NEON kernels; FEAT_BF16 with
// -cpu max, and without it as a Neoverse-N1), and natively (the x86 levels).
// Prints one line per failure and per kernel/level summary, then "N passed, M failed";
// exits 1 when anything failed.
#include "ak_attention.h"
#include "ak_attention_backward.h"
#include "ak_cpu.h"
#include "ak_gemm.h"
#include "driver.h"
#include "attention_forward_ops.h"
#include "attention_backward_ops.h"
#include "ak_simd_math.h"
#include "gemm_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long passed, failed;

void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

void tally(int ok) { if (ok) passed++; else failed++; }

// ---- inputs -------------------------------------------------------------------------------

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
double uniform(void) {   // xorshift64*, in (0, 1)
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0) + 1e-300;
}
float normal(void) { return (float)(sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform())); }
float *normals(long n) {
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) x[i] = normal();
    return x;
}
void *zeros(size_t count, size_t size) { return calloc(count > 0 ? count : 1, size); }

// ---- attention cases ----------------------------------------------------------------------

enum { M_NONE, M_CAUSAL, M_PADDING, M_WINDOW, M_BOOL, M_ADDITIVE, M_ALIBI, M_COUNT };
static const char *mask_names[M_COUNT] = {"none", "causal", "padding", "causal+window", "boolean", "additive", "alibi+causal"};

typedef struct {
    ak_attention_problem p;
    int kind;
    long block_q, block_k;
    float *q, *k, *v, *dout, *mask;
    char name[96];
} attention_case;

static attention_case make_case(long lq, long lk, long d, int kind, long index) {
    attention_case c;
    memset(&c, 0, sizeof c);
    const long dv = (kind == M_ADDITIVE || kind == M_ALIBI) ? d + 5 : d;   // Dv ≠ D now and then
    c.kind = kind;
    c.p.lq = lq; c.p.lk = lk; c.p.d = d; c.p.dv = dv;
    c.p.scale = (float)(1.0 / sqrt((double)d));
    c.p.key_limit = lk;
    c.p.causal = kind == M_CAUSAL || kind == M_WINDOW || kind == M_ALIBI;
    if (kind == M_PADDING) c.p.key_limit = 2 * lk / 3;   // 0 when Lk = 1: every row fully masked
    if (kind == M_WINDOW) c.p.window = 5;
    if (kind == M_ALIBI) c.p.alibi_slope = 0.25f;
    // Swift's blocks (64 × 64) on even cases; 16-query blocks and 16-key tiles on odd ones, so
    // Lk = 33 or 100 crosses several tiles.
    c.block_q = index % 2 ? 16 : 64;
    c.block_k = index % 2 ? 16 : 64;
    c.q = normals(lq * d); c.k = normals(lk * d); c.v = normals(lk * dv); c.dout = normals(lq * dv);
    if (kind == M_BOOL || kind == M_ADDITIVE) {
        c.mask = malloc(sizeof(float) * (size_t)(lq * lk));
        for (long e = 0; e < lq * lk; e++) {
            const double u = uniform();
            if (kind == M_BOOL) c.mask[e] = u < 0.2 ? 0.0f : 1.0f;
            else c.mask[e] = u < 0.15 ? -INFINITY : normal();
        }
        c.p.mask_kind = kind == M_BOOL ? 1 : 2;
        c.p.mask = c.mask;
        c.p.mask_stride_i = lk;
        c.p.mask_stride_j = 1;
    }
    snprintf(c.name, sizeof c.name, "Lq=%ld Lk=%ld D=%ld Dv=%ld %s (blocks %ld×%ld)", lq, lk, d, dv,
             mask_names[kind], c.block_q, c.block_k);
    return c;
}

static void free_case(attention_case *c) { free(c->q); free(c->k); free(c->v); free(c->dout); free(c->mask); }

// ---- the double-precision reference (the specification in ak_attention.h) -----------------

typedef struct { double *out, *lse, *dq, *dk, *dv; } reference_result;

static reference_result reference(const attention_case *c) {
    const ak_attention_problem *p = &c->p;
    const long lq = p->lq, lk = p->lk, d = p->d, dv = p->dv, offset = lk - lq;
    reference_result r;
    r.out = zeros((size_t)(lq * dv), sizeof(double)); r.lse = zeros((size_t)lq, sizeof(double));
    r.dq = zeros((size_t)(lq * d), sizeof(double)); r.dk = zeros((size_t)(lk * d), sizeof(double));
    r.dv = zeros((size_t)(lk * dv), sizeof(double));
    double *s = zeros((size_t)lk, sizeof(double)), *prob = zeros((size_t)lk, sizeof(double));
    double *dp = zeros((size_t)lk, sizeof(double));
    for (long i = 0; i < lq; i++) {
        long lo = p->window > 0 ? i + offset + 1 - p->window : 0;
        long hi = p->causal ? i + offset + 1 : lk;
        if (hi > p->key_limit) hi = p->key_limit;
        double mx = -INFINITY;
        for (long j = 0; j < lk; j++) {
            int allowed = j >= lo && j < hi;
            double x = 0;
            for (long t = 0; t < d; t++) x += (double)c->q[i * d + t] * c->k[j * d + t];
            x *= p->scale;
            if (p->alibi_slope != 0.0f) x -= p->alibi_slope * fabs((double)(i + offset - j));
            if (p->mask_kind == 1 && c->mask[i * lk + j] == 0.0f) allowed = 0;
            if (p->mask_kind == 2) {
                if (isinf(c->mask[i * lk + j])) allowed = 0;
                else x += c->mask[i * lk + j];
            }
            s[j] = allowed ? x : -INFINITY;
            if (s[j] > mx) mx = s[j];
        }
        if (mx == -INFINITY) { r.lse[i] = -INFINITY; continue; }   // no allowed key: zeros
        double sum = 0;
        for (long j = 0; j < lk; j++) { prob[j] = s[j] == -INFINITY ? 0 : exp(s[j] - mx); sum += prob[j]; }
        r.lse[i] = mx + log(sum);
        for (long j = 0; j < lk; j++) prob[j] /= sum;
        for (long j = 0; j < lk; j++)
            for (long x = 0; x < dv; x++) r.out[i * dv + x] += prob[j] * c->v[j * dv + x];
        // Backward: dV += Pᵀ·dO, dP = dO·Vᵀ, δ = Σ P∘dP, dS = P∘(dP − δ), dQ = scale·dS·K, dK = scale·dSᵀ·Q.
        double delta = 0;
        for (long j = 0; j < lk; j++) {
            dp[j] = 0;
            for (long x = 0; x < dv; x++) {
                dp[j] += (double)c->dout[i * dv + x] * c->v[j * dv + x];
                r.dv[j * dv + x] += prob[j] * c->dout[i * dv + x];
            }
            delta += prob[j] * dp[j];
        }
        for (long j = 0; j < lk; j++) {
            const double ds = prob[j] * (dp[j] - delta) * p->scale;
            if (ds == 0) continue;
            for (long t = 0; t < d; t++) {
                r.dq[i * d + t] += ds * c->k[j * d + t];
                r.dk[j * d + t] += ds * c->q[i * d + t];
            }
        }
    }
    free(s); free(prob); free(dp);
    return r;
}

static void free_reference(reference_result *r) { free(r->out); free(r->lse); free(r->dq); free(r->dk); free(r->dv); }

// ---- the fused kernels at one level --------------------------------------------------------

typedef struct { float *out, *lse, *dq, *dk, *dv; } fused_result;

static void fused_forward(const attention_case *c, int level, float *out, float *lse) {
    const ak_attention_problem *p = &c->p;
    float *scratch = malloc(sizeof(float) * ak_attention_forward_scratch_count(c->block_q, c->block_k, p->d, p->dv));
    for (long i0 = 0; i0 < p->lq; i0 += c->block_q) {
        const long i1 = i0 + c->block_q < p->lq ? i0 + c->block_q : p->lq;
        ak_attention_forward_rows(p, c->q, c->k, c->v, out, lse, i0, i1, c->block_k, scratch, level);
    }
    free(scratch);
}

static void fused_backward(const attention_case *c, int level, const float *out, const float *lse,
                           float *dq, float *dk, float *dv) {
    const ak_attention_problem *p = &c->p;
    float *delta = zeros((size_t)p->lq, sizeof(float));
    float *scratch = malloc(sizeof(float) * ak_attention_backward_scratch_count(c->block_q, c->block_k, p->d, p->dv));
    ak_attention_backward_delta(out, c->dout, p->lq, p->dv, delta);
    memset(dq, 0, sizeof(float) * (size_t)(p->lq * p->d));
    memset(dk, 0, sizeof(float) * (size_t)(p->lk * p->d));
    memset(dv, 0, sizeof(float) * (size_t)(p->lk * p->dv));
    for (long j0 = 0; j0 < p->lk; j0 += c->block_k) {
        const long j1 = j0 + c->block_k < p->lk ? j0 + c->block_k : p->lk;
        ak_attention_backward_key_block(p, c->q, c->k, c->v, c->dout, lse, delta, dq, dk, dv,
                                        j0, j1, c->block_q, c->block_k, scratch, level);
    }
    free(scratch); free(delta);
}

static fused_result run_fused(const attention_case *c, int level) {
    const ak_attention_problem *p = &c->p;
    fused_result f;
    f.out = zeros((size_t)(p->lq * p->dv), sizeof(float)); f.lse = zeros((size_t)p->lq, sizeof(float));
    f.dq = zeros((size_t)(p->lq * p->d), sizeof(float)); f.dk = zeros((size_t)(p->lk * p->d), sizeof(float));
    f.dv = zeros((size_t)(p->lk * p->dv), sizeof(float));
    fused_forward(c, level, f.out, f.lse);
    fused_backward(c, level, f.out, f.lse, f.dq, f.dk, f.dv);
    return f;
}

static void free_fused(fused_result *f) { free(f->out); free(f->lse); free(f->dq); free(f->dk); free(f->dv); }

static double max_error(const float *got, const double *want, long n) {
    double worst = 0;
    for (long e = 0; e < n; e++) {
        const double diff = fabs((double)got[e] - want[e]);
        if (!(diff <= worst)) worst = diff;   // NaN propagates as NaN
    }
    return worst;
}

static double max_difference(const float *a, const float *b, long n) {
    double worst = 0;
    for (long e = 0; e < n; e++) {
        const double diff = fabs((double)a[e] - (double)b[e]);
        if (!(diff <= worst)) worst = diff;
    }
    return worst;
}

/// log-sum-exp: both −inf (no allowed key) or within `bound`.
static int lse_ok(const float *got, const double *want, long n, double bound, double *worst) {
    int ok = 1;
    for (long e = 0; e < n; e++) {
        if (want[e] == -INFINITY) { if (got[e] != -INFINITY) ok = 0; continue; }
        const double diff = fabs((double)got[e] - want[e]);
        if (!(diff <= bound)) ok = 0;
        if (diff > *worst) *worst = diff;
    }
    return ok;
}

typedef struct { double fwd64, fwd_portable, lse64, bwd64, bwd_portable; long fwd_cases, bwd_cases; } level_stats;

static void check_attention(const attention_case *c, const int *levels, int nlevels, level_stats *stats) {
    const ak_attention_problem *p = &c->p;
    const long nq = p->lq * p->d, nk = p->lk * p->d, nv = p->lk * p->dv, no = p->lq * p->dv;
    reference_result want = reference(c);
    fused_result portable = run_fused(c, AK_SIMD_PORTABLE);
    for (int li = 0; li < nlevels; li++) {
        const int level = levels[li];
        const char *name = ak_simd_level_name(level);
        fused_result got = level == AK_SIMD_PORTABLE ? portable : run_fused(c, level);
        level_stats *st = &stats[li];

        // Forward: vs Float64, vs portable, exact zeros on rows that saw no key.
        double lse_worst = 0;
        const double out64 = max_error(got.out, want.out, no);
        const double outp = max_difference(got.out, portable.out, no);
        int ok = out64 <= 1e-5 && outp <= 1e-5 && lse_ok(got.lse, want.lse, p->lq, 1e-4, &lse_worst);
        for (long i = 0; i < p->lq; i++)
            if (want.lse[i] == -INFINITY)
                for (long x = 0; x < p->dv; x++) if (got.out[i * p->dv + x] != 0.0f) ok = 0;
        if (!ok) fail("forward %s %s: output vs Float64 %.3g, vs portable %.3g (budget 1e-5), lse %.3g (1e-4)",
                      name, c->name, out64, outp, lse_worst);
        tally(ok);
        if (out64 > st->fwd64 || out64 != out64) st->fwd64 = out64;
        if (outp > st->fwd_portable || outp != outp) st->fwd_portable = outp;
        if (lse_worst > st->lse64) st->lse64 = lse_worst;
        st->fwd_cases++;

        // Backward: vs Float64, vs portable, bit-identical when repeated.
        const double e64[3] = {max_error(got.dq, want.dq, nq), max_error(got.dk, want.dk, nk), max_error(got.dv, want.dv, nv)};
        const double ep[3] = {max_difference(got.dq, portable.dq, nq), max_difference(got.dk, portable.dk, nk),
                              max_difference(got.dv, portable.dv, nv)};
        float *dq2 = zeros((size_t)nq, sizeof(float)), *dk2 = zeros((size_t)nk, sizeof(float)), *dv2 = zeros((size_t)nv, sizeof(float));
        fused_backward(c, level, got.out, got.lse, dq2, dk2, dv2);
        const int repeatable = !memcmp(dq2, got.dq, sizeof(float) * (size_t)nq) && !memcmp(dk2, got.dk, sizeof(float) * (size_t)nk)
            && !memcmp(dv2, got.dv, sizeof(float) * (size_t)nv);
        free(dq2); free(dk2); free(dv2);
        double w64 = 0, wp = 0;
        for (int t = 0; t < 3; t++) {
            if (!(e64[t] <= w64)) w64 = e64[t];
            if (!(ep[t] <= wp)) wp = ep[t];
        }
        // Also within 3× portable's own worst error (+2e-6 where portable happens to be exact), as
        // AttentionBackwardTests does against the Float32 reference: catches systematic errors
        // far below 1e-4.
        const double pe[3] = {max_error(portable.dq, want.dq, nq), max_error(portable.dk, want.dk, nk),
                              max_error(portable.dv, want.dv, nv)};
        // (The bound is portable's worst of the three, so a gradient portable happens to get
        // exactly, e.g. dQ = dK = 0 with one key, does not demand exactness of another level's
        // summation order.)
        const double pworst = fmax(pe[0], fmax(pe[1], pe[2]));
        int relative = 1;
        for (int t = 0; t < 3; t++) if (!(e64[t] <= 3 * pworst + 2e-6)) relative = 0;
        ok = w64 <= 1e-4 && wp <= 1e-4 && repeatable && relative;
        if (!ok) fail("backward %s %s: (dQ, dK, dV) vs Float64 (%.3g, %.3g, %.3g), vs portable (%.3g, %.3g, %.3g) (budget 1e-4; "
                      "and 3× portable's worst of (%.3g, %.3g, %.3g) + 2e-6)%s",
                      name, c->name, e64[0], e64[1], e64[2], ep[0], ep[1], ep[2], pe[0], pe[1], pe[2],
                      repeatable ? "" : ", not bit-identical when repeated");
        tally(ok);
        if (w64 > st->bwd64 || w64 != w64) st->bwd64 = w64;
        if (wp > st->bwd_portable || wp != wp) st->bwd_portable = wp;
        st->bwd_cases++;
        if (level != AK_SIMD_PORTABLE) free_fused(&got);
    }
    free_fused(&portable);
    free_reference(&want);
}

// ---- exp -----------------------------------------------------------------------------------

/// y[e] = exp(x[e]) at `level`: ak_exp, or the level's vector exp (n a multiple of 16).
#if defined(__x86_64__)
AK_AVX2 static void exp_avx2(const float *x, float *y, long n) {
    for (long e = 0; e < n; e += 8) _mm256_storeu_ps(y + e, ak_exp_avx2(_mm256_loadu_ps(x + e)));
}
/// ak_exp4_avx2 (four vectors interleaved, the softmax's and the backward's exp) over x.
AK_AVX2 static void exp4_avx2(const float *x, float *y, long n) {
    for (long e = 0; e < n; e += 32) {
        __m256 v[4];
        for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(x + e + 8 * i);
        ak_exp4_avx2(v);
        for (int i = 0; i < 4; i++) _mm256_storeu_ps(y + e + 8 * i, v[i]);
    }
}
AK_AVX512 static void exp_avx512(const float *x, float *y, long n) {
    for (long e = 0; e < n; e += 16) _mm512_storeu_ps(y + e, ak_exp_avx512(_mm512_loadu_ps(x + e)));
}
#endif
static void exp_level(int level, const float *x, float *y, long n) {
    switch (level) {
#if defined(__x86_64__)
    case AK_SIMD_AVX2: exp_avx2(x, y, n); return;
    case AK_SIMD_AVX512: exp_avx512(x, y, n); return;
#endif
#if defined(__aarch64__)
    case AK_SIMD_NEON:
        for (long e = 0; e < n; e += 4) vst1q_f32(y + e, ak_exp_neon(vld1q_f32(x + e)));
        return;
#endif
    default:
        for (long e = 0; e < n; e++) y[e] = ak_exp(x[e]);
    }
}

/// The level's exp on every 1009th float of [−87.33, 88] (normal results) against the Float64
/// exp, in ulps of the result, plus the special values. Returns the worst ulp error. At
/// avx2+fma the interleaved ak_exp4_avx2 must also give ak_exp_avx2's bits on every input.
static double check_exp(int level) {
    enum { CHUNK = 4096 };
    static float x[CHUNK], y[CHUNK];
#if defined(__x86_64__)
    long exp4_mismatches = 0;   // ak_exp4_avx2 against ak_exp_avx2, bit for bit (x86-64 only)
#endif
    double worst = 0;
    float worst_x = 0;
    const float ends[2][2] = {{-0.0f, -87.33f}, {0.0f, 88.0f}};
    for (int side = 0; side < 2; side++) {
        uint32_t lo, hi;
        memcpy(&lo, &ends[side][0], 4);
        memcpy(&hi, &ends[side][1], 4);
        for (uint64_t u = lo; u <= hi;) {
            long n = 0;
            for (; n < CHUNK && u <= hi; n++, u += 1009) { const uint32_t b = (uint32_t)u; memcpy(&x[n], &b, 4); }
            for (long e = n; e < CHUNK; e++) x[e] = 0.0f;
            exp_level(level, x, y, CHUNK);
#if defined(__x86_64__)
            if (level == AK_SIMD_AVX2) {
                static float y4[CHUNK];
                exp4_avx2(x, y4, CHUNK);
                for (long e = 0; e < CHUNK; e++) exp4_mismatches += memcmp(&y[e], &y4[e], 4) != 0;
            }
#endif
            for (long e = 0; e < n; e++) {
                const double want = exp((double)x[e]);
                const double ulps = fabs((double)y[e] - want) / ldexp(1.0, ilogb(want) - 23);
                if (!(ulps <= worst)) { worst = ulps; worst_x = x[e]; }
            }
        }
    }
    float special[32] = {-INFINITY, -88.0f, -1000.0f, 0.0f, NAN, 1.0f, INFINITY, 88.0f, 1000.0f, -87.5f, -0.0f};
    float out[32];
    exp_level(level, special, out, 32);
#if defined(__x86_64__)
    if (level == AK_SIMD_AVX2) {
        float out4[32];
        exp4_avx2(special, out4, 32);
        for (int e = 0; e < 32; e++) exp4_mismatches += memcmp(&out[e], &out4[e], 4) != 0;
        if (exp4_mismatches) fail("exp4 avx2+fma: %ld inputs where ak_exp4_avx2 differs from ak_exp_avx2", exp4_mismatches);
        tally(exp4_mismatches == 0);
    }
#endif
    const int ok = worst <= 1.02 && out[0] == 0.0f && out[1] == 0.0f && out[2] == 0.0f && out[3] == 1.0f
        && isnan(out[4]) && fabs(out[5] - 2.718281828459045) <= 2.4e-7;
    if (!ok) fail("exp %s: worst %.4f ulp at %.9g (budget 1.02); exp(−inf) %g, exp(−88) %g, exp(−1000) %g, exp(0) %g, "
                  "exp(NaN) %g, exp(1) %.9g", ak_simd_level_name(level), worst, worst_x, out[0], out[1], out[2], out[3],
                  out[4], out[5]);
    tally(ok);
    return worst;
}

/// Rows of the backward's recomputed P against the forward's lse at `level`: dO one-hot
/// (Dv = Lq) makes dV[j][i] = P(i, j) exactly; every row must sum to 1 within half an ulp of
/// lse[i] (the rounding of the stored lse, which scales the whole row) + 8·2⁻²⁴. Scores of a few
/// units (q times `spread`), a scale that is not a power of two (D = 48), several key tiles.
/// Returns the worst |Σⱼ P − 1| − ulp(lse)/2, in units of 2⁻²⁴.
static double check_probability_rows(int level, int causal, float spread) {
    const long lq = 40, lk = 150, d = 48;
    attention_case c;
    memset(&c, 0, sizeof c);
    c.p.lq = lq; c.p.lk = lk; c.p.d = d; c.p.dv = lq;
    c.p.scale = (float)(1.0 / sqrt((double)d));
    c.p.key_limit = lk;
    c.p.causal = causal;
    c.block_q = 16; c.block_k = 64;
    c.q = normals(lq * d); c.k = normals(lk * d); c.v = normals(lk * lq);
    for (long e = 0; e < lq * d; e++) c.q[e] *= spread;
    c.dout = zeros((size_t)(lq * lq), sizeof(float));
    for (long i = 0; i < lq; i++) c.dout[i * lq + i] = 1.0f;
    fused_result f = run_fused(&c, level);
    const double u = 1.0 / 16777216.0;
    double worst = -INFINITY;
    int ok = 1;
    for (long i = 0; i < lq; i++) {
        double sum = 0;
        for (long j = 0; j < lk; j++) sum += f.dv[j * lq + i];
        const double half_ulp = 0.5 * ldexp(1.0, ilogb(f.lse[i]) - 23);
        const double excess = (fabs(sum - 1) - half_ulp) / u;
        if (!(excess <= 8)) ok = 0;
        if (!(excess <= worst)) worst = excess;
    }
    if (!ok) fail("backward %s %s spread %g: a row of P recomputed from the forward's lse sums to 1 ± (ulp(lse)/2 + %.2f·2⁻²⁴), budget 8",
                  ak_simd_level_name(level), causal ? "causal" : "full", spread, worst);
    tally(ok);
    free_fused(&f);
    free_case(&c);
    return worst;
}

// ---- GEMM ----------------------------------------------------------------------------------

typedef struct { long m, n, k; } gemm_shape;

/// One product at one level and route (packed or few-row); 1 when within the budget.
static int check_gemm(gemm_shape s, int ta, int tb, int accumulate, int level, int rows, double *worst_out) {
    const long m = s.m, n = s.n, k = s.k;
    const long lda = ta ? m + 2 : k + 1, ldb = tb ? k + 3 : n + 1, ldc = n + 3;
    const long arows = ta ? k : m, brows = tb ? n : k;
    float *a = normals(arows * lda), *b = normals(brows * ldb), *c = normals(m * ldc);
    float *c0 = malloc(sizeof(float) * (size_t)(m * ldc));
    memcpy(c0, c, sizeof(float) * (size_t)(m * ldc));
    if (rows) {
        ak_sgemm_rows((size_t)m, (size_t)n, (size_t)k, a, (size_t)lda, ta, b, (size_t)ldb, tb, c, (size_t)ldc, accumulate, level);
    } else {
        float *pa = aligned_alloc(64, (sizeof(float) * ak_sgemm_pack_a_floats() + 63) / 64 * 64);
        float *pb = aligned_alloc(64, (sizeof(float) * ak_sgemm_pack_b_floats((size_t)n) + 63) / 64 * 64);
        ak_sgemm_packed((size_t)m, (size_t)n, (size_t)k, a, (size_t)lda, ta, b, (size_t)ldb, tb, c, (size_t)ldc, accumulate, pa, pb, level);
        free(pa); free(pb);
    }
    const double u = 1.0 / 16777216.0;
    double worst = 0;
    int ok = 1;
    for (long i = 0; i < m; i++) {
        for (long j = 0; j < ldc; j++) {
            if (j >= n) { if (memcmp(&c[i * ldc + j], &c0[i * ldc + j], sizeof(float))) ok = 0; continue; }
            double want = accumulate ? c0[i * ldc + j] : 0, magnitude = accumulate ? fabs(c0[i * ldc + j]) : 0;
            for (long t = 0; t < k; t++) {
                const double x = (double)(ta ? a[t * lda + i] : a[i * lda + t]) * (tb ? b[j * ldb + t] : b[t * ldb + j]);
                want += x;
                magnitude += fabs(x);
            }
            const double ratio = fabs((double)c[i * ldc + j] - want) / (2 * (double)(k + 2) * u * magnitude + 1e-30);
            if (!(ratio <= worst)) worst = ratio;
        }
    }
    if (!(worst <= 1)) ok = 0;
    if (!ok) fail("gemm %s %s %ldx%ldx%ld ta=%d tb=%d accumulate=%d: %.3g× the Float64 budget%s",
                  rows ? "few-row" : "packed", ak_simd_level_name(level), m, n, k, ta, tb, accumulate, worst,
                  worst <= 1 ? ", wrote outside C" : "");
    if (worst > *worst_out || worst != worst) *worst_out = worst;
    free(a); free(b); free(c); free(c0);
    return ok;
}

/// ak_sgemm_prepacked with B packed ahead (ak_sgemm_prepack_b) into buffers one float past a
/// 64-byte boundary (Swift arrays and other callers' memory carry no alignment promise), in two
/// column parts (j0 = 0 and the first multiple of NR past n/2): the bits of ak_sgemm_packed on
/// aligned buffers. 1 when equal and nothing outside C was written.
static int check_prepacked(gemm_shape s, int ta, int tb, int level) {
    const long m = s.m, n = s.n, k = s.k;
    const long lda = ta ? m + 2 : k + 1, ldb = tb ? k + 3 : n + 1, ldc = n + 3;
    float *a = normals((ta ? k : m) * lda), *b = normals((tb ? n : k) * ldb);
    float *want = normals(m * ldc), *got = malloc(sizeof(float) * (size_t)(m * ldc));
    memcpy(got, want, sizeof(float) * (size_t)(m * ldc));
    float *pa = aligned_alloc(64, (sizeof(float) * ak_sgemm_pack_a_floats() + 63) / 64 * 64);
    float *pb = aligned_alloc(64, (sizeof(float) * ak_sgemm_pack_b_floats((size_t)n) + 63) / 64 * 64);
    ak_sgemm_packed((size_t)m, (size_t)n, (size_t)k, a, (size_t)lda, ta, b, (size_t)ldb, tb, want, (size_t)ldc, 0, pa, pb, level);
    const size_t panels = ak_sgemm_prepacked_b_floats((size_t)n, (size_t)k, level);
    float *packed_base = aligned_alloc(64, (sizeof(float) * (panels + 1) + 63) / 64 * 64);
    float *pa_base = aligned_alloc(64, (sizeof(float) * (ak_sgemm_pack_a_floats() + 1) + 63) / 64 * 64);
    ak_sgemm_prepack_b((size_t)n, (size_t)k, b, (size_t)ldb, tb, packed_base + 1, level);
    size_t mr, nr;
    ak_sgemm_tile(level, &mr, &nr);
    const size_t split = ((size_t)n / 2 + nr - 1) / nr * nr < (size_t)n ? ((size_t)n / 2 + nr - 1) / nr * nr : (size_t)n;
    ak_sgemm_prepacked((size_t)m, split, (size_t)k, a, (size_t)lda, ta, packed_base + 1, (size_t)n, 0, got, (size_t)ldc, 0,
                       pa_base + 1, level);
    ak_sgemm_prepacked((size_t)m, (size_t)n - split, (size_t)k, a, (size_t)lda, ta, packed_base + 1, (size_t)n, split,
                       got + split, (size_t)ldc, 0, pa_base + 1, level);
    const int ok = memcmp(got, want, sizeof(float) * (size_t)(m * ldc)) == 0;
    if (!ok) fail("gemm prepacked %s %ldx%ldx%ld ta=%d tb=%d (misaligned panels): not the bits of ak_sgemm_packed",
                  ak_simd_level_name(level), m, n, k, ta, tb);
    free(a); free(b); free(want); free(got); free(pa); free(pb); free(packed_base); free(pa_base);
    return ok;
}

/// ak_sgemm_packed on row-major A (read unpacked by the levels with a direct kernel, full-height
/// tiles only) against the route that packs every panel: the same bits, accumulating or not,
/// with rows left over below the last full panel and columns past the last full one.
static int check_direct_route(gemm_shape s, int tb, int accumulate, int level) {
    const long m = s.m, n = s.n, k = s.k;
    const long lda = k + 5, ldb = tb ? k + 3 : n + 1, ldc = n + 3;
    float *a = normals(m * lda), *b = normals((tb ? n : k) * ldb);
    float *want = normals(m * ldc), *got = malloc(sizeof(float) * (size_t)(m * ldc));
    memcpy(got, want, sizeof(float) * (size_t)(m * ldc));
    float *pa = aligned_alloc(64, (sizeof(float) * ak_sgemm_pack_a_floats() + 63) / 64 * 64);
    float *pb = aligned_alloc(64, (sizeof(float) * ak_sgemm_pack_b_floats((size_t)n) + 63) / 64 * 64);
    ak_sgemm_packed_route((size_t)m, (size_t)n, (size_t)k, a, (size_t)lda, 0, b, (size_t)ldb, tb, want, (size_t)ldc,
                          accumulate, pa, pb, level, 0);
    ak_sgemm_packed_route((size_t)m, (size_t)n, (size_t)k, a, (size_t)lda, 0, b, (size_t)ldb, tb, got, (size_t)ldc,
                          accumulate, pa, pb, level, 1);
    const int ok = memcmp(got, want, sizeof(float) * (size_t)(m * ldc)) == 0;
    if (!ok) fail("gemm direct %s %ldx%ldx%ld tb=%d accumulate=%d: not the bits of the packed route",
                  ak_simd_level_name(level), m, n, k, tb, accumulate);
    free(a); free(b); free(want); free(got); free(pa); free(pb);
    return ok;
}

int main(void) {
    int levels[4], nlevels = 0;
    for (int level = AK_SIMD_PORTABLE; level <= AK_SIMD_AVX512; level++)
        if (ak_simd_available(level)) levels[nlevels++] = level;
#if defined(__aarch64__)
    const char *arch = "aarch64";
#elif defined(__x86_64__)
    const char *arch = "x86_64";
#else
    const char *arch = "other";
#endif
    printf("attention_levels_test: %s, detected %s; levels:", arch, ak_simd_level_name(ak_simd_detected()));
    for (int li = 0; li < nlevels; li++) printf(" %s", ak_simd_level_name(levels[li]));
    printf("\n");

    // The dispatch itself: on arm64, NEON is detected and both attention tables have NEON kernels.
#if defined(__aarch64__)
    {
        const int ok = ak_simd_detected() == AK_SIMD_NEON && ak_simd_available(AK_SIMD_NEON)
            && ak_forward_ops_for(AK_SIMD_NEON) == &ak_forward_ops_neon
            && ak_forward_ops_for(AK_SIMD_NEON) != ak_forward_ops_for(AK_SIMD_PORTABLE)
            && ak_backward_ops_for(AK_SIMD_NEON) != ak_backward_ops_for(AK_SIMD_PORTABLE);
        if (!ok) fail("arm64: NEON not detected, or the attention ops tables do not select the NEON kernels");
        tally(ok);
    }
#endif
    for (int li = 0; li < nlevels; li++) {
        const int ok = ak_simd_clamp(levels[li]) == levels[li];
        if (!ok) fail("level %s does not clamp to itself", ak_simd_level_name(levels[li]));
        tally(ok);
    }

    // Attention: Lq, Lk ∈ {1, 7, 33, 100}, D ∈ {8, 20, 64, 100}, every mask kind the problem
    // struct has (D = 100: a 64-wide strip of the backward's products, then a masked one).
    static const long lengths[] = {1, 7, 33, 100}, widths[] = {8, 20, 64, 100};
    level_stats stats[4];
    memset(stats, 0, sizeof stats);
    long index = 0;
    for (int kind = 0; kind < M_COUNT; kind++)
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++)
                for (int w = 0; w < 4; w++) {
                    attention_case c = make_case(lengths[a], lengths[b], widths[w], kind, index++);
                    check_attention(&c, levels, nlevels, stats);
                    free_case(&c);
                }
    for (int li = 0; li < nlevels; li++) {
        printf("forward  %-9s %ld cases: max error vs Float64 %.2e (budget 1e-5), vs portable %.2e (1e-5), lse %.2e (1e-4)\n",
               ak_simd_level_name(levels[li]), stats[li].fwd_cases, stats[li].fwd64, stats[li].fwd_portable, stats[li].lse64);
        printf("backward %-9s %ld cases: max error vs Float64 %.2e (budget 1e-4, and 3x portable's + 2e-6), vs portable %.2e (1e-4), repeatable\n",
               ak_simd_level_name(levels[li]), stats[li].bwd_cases, stats[li].bwd64, stats[li].bwd_portable);
    }

    // exp at every level, and the backward's P rows against the forward's lse.
    for (int li = 0; li < nlevels; li++) {
        const double ulps = check_exp(levels[li]);
        double rows = -INFINITY;
        for (int causal = 0; causal < 2; causal++)
            for (int s = 0; s < 3; s++) rows = fmax(rows, check_probability_rows(levels[li], causal, 0.5f + 1.5f * (float)s));
        printf("exp      %-9s worst %.3f ulp (budget 1.02); rows of P from the forward's lse: 1 ± (ulp(lse)/2 + %.2f·2⁻²⁴) (budget 8)\n",
               ak_simd_level_name(levels[li]), ulps, rows);
    }

    // GEMM: packed (every transpose, accumulate or not) and few-row, at every level.
    static const gemm_shape packed[] = {{1, 1, 1}, {7, 33, 20}, {15, 33, 31}, {29, 95, 300}, {100, 17, 64},
                                        {6, 16, 256}, {13, 47, 257}, {37, 70, 9}};
    // Few-row: every row count of the 4-row tiles and past it (m = 5, 7), n not a multiple of the
    // 4-, 8- or 16-column blocks, k not a multiple of 4 (the lane tails), k = 0, and a transposed A
    // deeper than the variants' 2048-float row copies.
    static const gemm_shape few[] = {{1, 70, 41}, {3, 70, 41}, {4, 129, 17}, {2, 33, 300}, {1, 1, 5},
                                     {5, 39, 7}, {7, 18, 130}, {1, 35, 3}, {2, 6, 0}, {3, 9, 2050}};
    for (int li = 0; li < nlevels; li++) {
        double worst = 0;
        long count = 0;
        for (size_t s = 0; s < sizeof packed / sizeof packed[0]; s++)
            for (int t = 0; t < 4; t++, count++) tally(check_gemm(packed[s], t & 1, t >> 1, (int)((s + t) % 2), levels[li], 0, &worst));
        for (size_t s = 0; s < sizeof few / sizeof few[0]; s++)
            for (int t = 0; t < 4; t++, count++) tally(check_gemm(few[s], t & 1, t >> 1, (int)((s + t) % 2), levels[li], 1, &worst));
        printf("gemm     %-9s %ld products (packed and few-row): worst %.2f× the Float64 budget\n",
               ak_simd_level_name(levels[li]), count, worst);
        long prepacked = 0;
        for (size_t s = 0; s < sizeof packed / sizeof packed[0]; s++)
            for (int t = 0; t < 4; t++, prepacked++) tally(check_prepacked(packed[s], t & 1, t >> 1, levels[li]));
        // k = 0: a weight with no depth packs to nothing and every product is zero (the depth
        // slicing once divided by zero slices here).
        for (int t = 0; t < 4; t++, prepacked++) tally(check_prepacked((gemm_shape){5, 18, 0}, t & 1, t >> 1, levels[li]));
        printf("gemm     %-9s %ld products with B packed ahead into misaligned buffers: ak_sgemm_packed's bits\n",
               ak_simd_level_name(levels[li]), prepacked);
        // Row-major A read where it lies: every shape above plus ones past MC (168) rows and KC
        // (256) depth, so later row blocks and depth slices start inside A.
        static const gemm_shape direct[] = {{175, 40, 300}, {6, 16, 1}, {12, 33, 520}, {341, 18, 7}};
        long routes = 0;
        for (int t = 0; t < 4; t++) {
            for (size_t s = 0; s < sizeof packed / sizeof packed[0]; s++, routes++)
                tally(check_direct_route(packed[s], t & 1, t >> 1, levels[li]));
            for (size_t s = 0; s < sizeof direct / sizeof direct[0]; s++, routes++)
                tally(check_direct_route(direct[s], t & 1, t >> 1, levels[li]));
        }
        printf("gemm     %-9s %ld products on row-major A read unpacked: the packed route's bits\n",
               ak_simd_level_name(levels[li]), routes);
    }

    check_bf16_variants();

    // Training row kernels at every level.
    check_training_rows(levels, nlevels);

    printf("%ld passed, %ld failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
