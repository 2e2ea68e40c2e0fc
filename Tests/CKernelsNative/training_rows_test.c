// The C test driver's checks of the training row kernels (include/ak_training.h) at every SIMD
// level this machine has, each through its own table (ak_train_ops_for), against a Float64
// reference computed from the same float inputs. Widths 1, 7, 17, 65, 129, 257 (no multiple of
// a 4-, 8- or 16-wide vector), three rows. Bounds: TrainingRowLevelTests' where it has one
// against Float64 (softmax, norms, cross-entropy forward, GELU, AdamW); elsewhere an error
// budget n·2⁻²⁴·(the sum of the magnitudes the result is made of), n the roundings on the way.
// On arm64 the portable table is the one the neon level runs (the compiler vectorises it for
// NEON; see docs/notes/neon.md), so both levels test that code.
#include "ak_training.h"
#include "ak_math.h"
#include "ak_cpu.h"
#include "driver.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 3, KERNELS = 13 };
static const char *kernel_names[KERNELS] = {
    "softmax", "softmax backward", "norm forward", "norm backward", "cross-entropy forward",
    "cross-entropy backward", "bias+GELU", "GELU backward", "AdamW", "column sums, add", "sums of squares", "GELU in place",
    "GELU slope, multiply",
};

static const double U = 1.0 / 16777216.0;   // 2⁻²⁴

/// `worst[kernel]` ← max(worst, |got − want| / bound); 1 when within the bound (NaN fails).
static int within(double *worst, int kernel, double got, double want, double bound) {
    const double ratio = fabs(got - want) / bound;
    if (!(ratio <= worst[kernel])) worst[kernel] = ratio;
    return ratio <= 1;
}

static float *scaled(long n, float scale, float shift) {
    float *x = normals(n);
    for (long i = 0; i < n; i++) x[i] = scale * x[i] + shift;
    return x;
}

static double gelu_tanh64(double v) { return 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); }

/// Softmax (row 2 fully masked: zeros) and its backward dx (+)= y ⊙ (g − Σ g y).
static int check_softmax(const ak_train_ops *ops, long width, double *worst) {
    const long n = ROWS * width;
    float *x = scaled(n, 3, 0), *y = malloc(sizeof(float) * (size_t)n), *g = scaled(n, 3, 0), *dx = scaled(n, 1, 0);
    float *dx0 = malloc(sizeof(float) * (size_t)n);
    for (long j = 0; j < width; j++) x[2 * width + j] = -INFINITY;
    ops->softmax_rows(x, y, ROWS, (size_t)width);
    int ok = 1;
    for (long r = 0; r < ROWS; r++) {
        double m = -INFINITY, s = 0;
        for (long j = 0; j < width; j++) m = fmax(m, x[r * width + j]);
        for (long j = 0; j < width; j++) s += m == -INFINITY ? 0 : exp(x[r * width + j] - m);
        for (long j = 0; j < width; j++) {
            const double want = s == 0 ? 0 : exp(x[r * width + j] - m) / s;
            if (r == 2 && y[r * width + j] != 0.0f) ok = 0;
            ok &= within(worst, 0, y[r * width + j], want, 1e-6);
        }
    }
    // Backward from the (finite) rows' probabilities, overwriting and accumulating: the dot
    // product rounds up to width − 1 times, then g − dot, the product and the sum.
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        memcpy(dx0, dx, sizeof(float) * (size_t)n);
        ops->softmax_backward(y, g, dx, 2, (size_t)width, accumulate);
        for (long r = 0; r < 2; r++) {
            double dot = 0, dot_magnitude = 0;
            for (long j = 0; j < width; j++) {
                dot += (double)g[r * width + j] * y[r * width + j];
                dot_magnitude += fabs((double)g[r * width + j] * y[r * width + j]);
            }
            for (long j = 0; j < width; j++) {
                const long e = r * width + j;
                const double base = accumulate ? dx0[e] : 0;
                const double want = base + y[e] * (g[e] - dot);
                const double magnitude = fabs(base) + y[e] * (fabs(g[e]) + dot_magnitude);
                ok &= within(worst, 1, dx[e], want, (double)(width + 4) * U * magnitude + 1e-30);
            }
        }
    }
    free(x); free(y); free(g); free(dx); free(dx0);
    return ok;
}

/// LayerNorm and RMSNorm forward (TrainingRowLevelTests' 1e-5·(1 + |y|)), then the backward from
/// the saved mean and rstd: with norm = (x − μ)·rstd and dnorm = g·w, dx (+)= rstd·(dnorm −
/// mean(dnorm) − norm·mean(dnorm·norm)) (no mean(dnorm) for RMSNorm), dw += Σ g·norm, db += Σ g.
static int check_norms(const ak_train_ops *ops, long width, double *worst) {
    const long n = ROWS * width;
    float *x = scaled(n, 3, 2), *w = scaled(width, 1, 0), *b = scaled(width, 1, 0), *g = scaled(n, 1, 0);
    float *y = malloc(sizeof(float) * (size_t)n), *dx = scaled(n, 1, 0), *dx0 = malloc(sizeof(float) * (size_t)n);
    float *dw = scaled(width, 1, 0), *db = scaled(width, 1, 0), *dw0 = malloc(sizeof(float) * (size_t)width);
    float *db0 = malloc(sizeof(float) * (size_t)width), mean[ROWS], rstd[ROWS];
    int ok = 1;
    for (int centred = 0; centred < 2; centred++) {
        ops->norm_forward(x, w, centred ? b : NULL, y, mean, rstd, ROWS, (size_t)width, 1e-5f, centred);
        for (long r = 0; r < ROWS; r++) {
            double mu = 0, variance = 0;
            if (centred) {
                for (long j = 0; j < width; j++) mu += x[r * width + j];
                mu /= (double)width;
                ok &= within(worst, 2, mean[r], mu, 1e-5 * (1 + fabs(mu)));
            }
            for (long j = 0; j < width; j++) variance += (x[r * width + j] - mu) * (x[r * width + j] - mu);
            const double s = 1 / sqrt(variance / (double)width + 1e-5);
            ok &= within(worst, 2, rstd[r], s, 1e-5 * s);
            for (long j = 0; j < width; j++) {
                const double want = (x[r * width + j] - mu) * s * w[j] + (centred ? b[j] : 0);
                ok &= within(worst, 2, y[r * width + j], want, 1e-5 * (1 + fabs(want)));
            }
        }
        for (int accumulate = 0; accumulate < 2; accumulate++) {
            memcpy(dx0, dx, sizeof(float) * (size_t)n);
            memcpy(dw0, dw, sizeof(float) * (size_t)width);
            memcpy(db0, db, sizeof(float) * (size_t)width);
            ops->norm_backward(x, w, g, mean, rstd, dx, accumulate, dw, centred ? db : NULL, ROWS, (size_t)width, centred);
            double *dw_want = zeros((size_t)width, sizeof(double)), *dw_magnitude = zeros((size_t)width, sizeof(double));
            double *db_want = zeros((size_t)width, sizeof(double)), *db_magnitude = zeros((size_t)width, sizeof(double));
            for (long r = 0; r < ROWS; r++) {
                const double m = centred ? mean[r] : 0, s = rstd[r];
                double dnorm_mean = 0, dnorm_norm_mean = 0, abs_mean = 0, abs_norm_mean = 0;
                for (long j = 0; j < width; j++) {
                    const double norm = (x[r * width + j] - m) * s, dnorm = (double)g[r * width + j] * w[j];
                    dnorm_mean += dnorm / (double)width;
                    dnorm_norm_mean += dnorm * norm / (double)width;
                    abs_mean += fabs(dnorm) / (double)width;
                    abs_norm_mean += fabs(dnorm * norm) / (double)width;
                    dw_want[j] += g[r * width + j] * norm;
                    dw_magnitude[j] += fabs(g[r * width + j] * norm);
                    db_want[j] += g[r * width + j];
                    db_magnitude[j] += fabs(g[r * width + j]);
                }
                if (!centred) { dnorm_mean = 0; abs_mean = 0; }
                for (long j = 0; j < width; j++) {
                    const long e = r * width + j;
                    const double norm = (x[e] - m) * s, base = accumulate ? dx0[e] : 0;
                    const double want = base + s * ((double)g[e] * w[j] - dnorm_mean - norm * dnorm_norm_mean);
                    const double magnitude = fabs(base) + s * (fabs((double)g[e] * w[j]) + abs_mean + fabs(norm) * abs_norm_mean);
                    ok &= within(worst, 3, dx[e], want, (double)(width + 8) * U * magnitude + 1e-30);
                }
            }
            for (long j = 0; j < width; j++) {
                ok &= within(worst, 3, dw[j], dw0[j] + dw_want[j], (ROWS + 6) * U * (fabs(dw0[j]) + dw_magnitude[j]) + 1e-30);
                if (centred) ok &= within(worst, 3, db[j], db0[j] + db_want[j], (ROWS + 2) * U * (fabs(db0[j]) + db_magnitude[j]) + 1e-30);
                else ok &= !memcmp(&db[j], &db0[j], sizeof(float));   // db == NULL: untouched
            }
            free(dw_want); free(dw_magnitude); free(db_want); free(db_magnitude);
        }
    }
    free(x); free(w); free(b); free(g); free(y); free(dx); free(dx0); free(dw); free(db); free(dw0); free(db0);
    return ok;
}

/// Cross-entropy on logits of scale 30 (stability) with one ignored row: lse and loss
/// (TrainingRowLevelTests' 1e-5·(1 + |lse|)), then dx (+)= f·(exp(x − lse) − [j = t]) from that
/// lse, whose exp carries the rounding of x − lse times |x − lse|.
static int check_cross_entropy(const ak_train_ops *ops, long width, double *worst) {
    const long n = ROWS * width;
    float *x = scaled(n, 30, 0), *dx = scaled(n, 1, 0), *dx0 = malloc(sizeof(float) * (size_t)n);
    const int64_t targets[ROWS] = {0, width - 1, -100};
    float lse[ROWS], loss[ROWS];
    ops->cross_entropy_forward(x, targets, ROWS, (size_t)width, -100, lse, loss);
    int ok = 1;
    for (long r = 0; r < ROWS; r++) {
        double m = -INFINITY, s = 0;
        for (long j = 0; j < width; j++) m = fmax(m, x[r * width + j]);
        for (long j = 0; j < width; j++) s += exp(x[r * width + j] - m);
        const double want = m + log(s);
        ok &= within(worst, 4, lse[r], want, 1e-5 * (1 + fabs(want)));
        ok &= within(worst, 4, loss[r], targets[r] == -100 ? 0 : want - x[r * width + targets[r]], 1e-5 * (1 + fabs(want)));
    }
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        const float factor = 0.25f;
        memcpy(dx0, dx, sizeof(float) * (size_t)n);
        ops->cross_entropy_backward(x, targets, lse, ROWS, (size_t)width, -100, factor, dx, accumulate);
        for (long r = 0; r < ROWS; r++) {
            const double f = targets[r] == -100 ? 0 : factor;
            for (long j = 0; j < width; j++) {
                const long e = r * width + j;
                const double base = accumulate ? dx0[e] : 0, z = (double)x[e] - lse[r], p = exp(z);
                const double one_hot = j == targets[r] ? f : 0;
                const double want = base + f * p - one_hot;
                const double magnitude = fabs(base) + (4 + fabs(z)) * f * p + fabs(one_hot);
                ok &= within(worst, 5, dx[e], want, 4 * U * magnitude + 1e-30);
            }
        }
    }
    free(x); free(dx); free(dx0);
    return ok;
}

/// bias + GELU_tanh in place and out (TrainingRowLevelTests' bounds), bias only (y == NULL), and
/// the backward dx (+)= g·GELU′(x), whose 1 − tanh² cancels for large |x| (bound ∝ |x|³).
static int check_gelu(const ak_train_ops *ops, long width, double *worst) {
    const long n = ROWS * width;
    float *x = scaled(n, 3, 0), *x0 = malloc(sizeof(float) * (size_t)n), *bias = scaled(width, 1, 0);
    float *y = malloc(sizeof(float) * (size_t)n), *g = scaled(n, 1, 0), *dx = scaled(n, 1, 0);
    float *dx0 = malloc(sizeof(float) * (size_t)n);
    memcpy(x0, x, sizeof(float) * (size_t)n);
    ops->bias_gelu_tanh(x, bias, y, ROWS, (size_t)width);
    int ok = 1;
    for (long e = 0; e < n; e++) {
        const double v = (double)x0[e] + bias[e % width];
        ok &= within(worst, 6, x[e], v, 1e-6 * (1 + fabs(v)));
        ok &= within(worst, 6, y[e], gelu_tanh64(v), 2e-6 * (1 + fabs(gelu_tanh64(v))));
    }
    memcpy(x, x0, sizeof(float) * (size_t)n);
    ops->bias_gelu_tanh(x, bias, NULL, ROWS, (size_t)width);
    for (long e = 0; e < n; e++) ok &= within(worst, 6, x[e], (double)x0[e] + bias[e % width], 1e-6 * (1 + fabs(x[e])));
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        memcpy(dx0, dx, sizeof(float) * (size_t)n);
        ops->gelu_tanh_backward(x0, g, dx, (size_t)n, accumulate);
        for (long e = 0; e < n; e++) {
            const double v = x0[e], t = tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v));
            const double derivative = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * sqrt(2 / M_PI) * (1 + 3 * 0.044715 * v * v);
            const double base = accumulate ? dx0[e] : 0;
            const double bound = 2e-6 * (1 + fabs(v * v * v)) * fabs(g[e]) + 1e-6 * (1 + fabs(base));
            ok &= within(worst, 7, dx[e], base + g[e] * derivative, bound);
        }
    }
    // The forward that keeps the slope: y and the bias-added x as bias_gelu_tanh gives them
    // (checked above against Float64), and g ⊙ slope through multiply as gelu_tanh_backward
    // gives it, bit for bit, overwriting and accumulating; multiply itself within two roundings
    // (one with FMA contraction).
    float *slope = malloc(sizeof(float) * (size_t)n), *y2 = malloc(sizeof(float) * (size_t)n);
    float *dx2 = malloc(sizeof(float) * (size_t)n);
    memcpy(x, x0, sizeof(float) * (size_t)n);
    ops->bias_gelu_tanh(x, bias, y, ROWS, (size_t)width);
    memcpy(slope, x0, sizeof(float) * (size_t)n);
    ops->bias_gelu_tanh_slope(slope, bias, y2, ROWS, (size_t)width);
    ok &= memcmp(y, y2, sizeof(float) * (size_t)n) == 0;
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        memcpy(dx2, dx, sizeof(float) * (size_t)n);
        ops->gelu_tanh_backward(x, g, dx, (size_t)n, accumulate);
        ops->multiply(g, slope, dx2, (size_t)n, accumulate);
        ok &= memcmp(dx, dx2, sizeof(float) * (size_t)n) == 0;
        ops->multiply(g, y2, dx2, (size_t)n, accumulate);
        for (long e = 0; e < n; e++) {
            const double base = accumulate ? dx[e] : 0, want = base + (double)g[e] * y2[e];
            ok &= within(worst, 12, dx2[e], want, 2 * U * (fabs(base) + fabs((double)g[e] * y2[e])) + 1e-30);
        }
    }
    free(slope); free(y2); free(dx2);
    free(x); free(x0); free(bias); free(y); free(g); free(dx); free(dx0);
    return ok;
}

/// One AdamW step (TrainingRowLevelTests' 1e-6·(1 + |p|)); the moments within 3 roundings.
static int check_adamw(const ak_train_ops *ops, long width, double *worst) {
    const long n = ROWS * width;
    float *p = scaled(n, 1, 0), *m = scaled(n, 0.1f, 0), *v = scaled(n, 0.1f, 0), *g = scaled(n, 1, 0);
    for (long i = 0; i < n; i++) v[i] *= v[i];
    float *p0 = malloc(sizeof(float) * (size_t)n), *m0 = malloc(sizeof(float) * (size_t)n), *v0 = malloc(sizeof(float) * (size_t)n);
    memcpy(p0, p, sizeof(float) * (size_t)n); memcpy(m0, m, sizeof(float) * (size_t)n); memcpy(v0, v, sizeof(float) * (size_t)n);
    // The gradient enters scaled by 0.7 (a clipping factor), rounded to float first.
    ops->adamw(p, g, 0.7f, m, v, (size_t)n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.5f, 0.25f, 0.1f);
    int ok = 1;
    for (long i = 0; i < n; i++) {
        const double gi = 0.7f * g[i];
        const double mi = 0.9f * (double)m0[i] + (1.0f - 0.9f) * gi;
        const double vi = 0.95f * (double)v0[i] + (1.0f - 0.95f) * gi * gi;
        const double want = p0[i] - 1e-3f * ((mi / 0.5) / (sqrt(vi / 0.25) + 1e-8f) + 0.1f * (double)p0[i]);
        ok &= within(worst, 8, m[i], mi, 3 * U * (fabs(0.9f * m0[i]) + fabs(0.1f * gi)) + 1e-30);
        ok &= within(worst, 8, v[i], vi, 4 * U * (0.95f * v0[i] + 0.05f * gi * gi) + 1e-30);
        ok &= within(worst, 8, p[i], want, 1e-6 * (1 + fabs(want)));
    }
    free(p); free(m); free(v); free(g); free(p0); free(m0); free(v0);
    return ok;
}

/// Column sums of a block of a wider matrix (stride > cols): one rounding per term; acc += x:
/// exactly the float sum; Σx² in double with the finiteness flag (NaN and ∞ clear it).
static int check_sums(const ak_train_ops *ops, long width, double *worst) {
    const long n = ROWS * width, stride = width + 3;
    float *g = scaled(ROWS * stride, 1, 0), *out = scaled(width, 1, 0), *out0 = malloc(sizeof(float) * (size_t)width);
    float *acc = scaled(n, 1, 0), *acc0 = malloc(sizeof(float) * (size_t)n), *x = scaled(n, 1, 0);
    int ok = 1;
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        memcpy(out0, out, sizeof(float) * (size_t)width);
        ops->column_sums(g, ROWS, (size_t)width, (size_t)stride, out, accumulate);
        for (long j = 0; j < width; j++) {
            double want = accumulate ? out0[j] : 0, magnitude = fabs(want);
            for (long r = 0; r < ROWS; r++) { want += g[r * stride + j]; magnitude += fabs(g[r * stride + j]); }
            ok &= within(worst, 9, out[j], want, (ROWS + 1) * U * magnitude + 1e-30);
        }
    }
    memcpy(acc0, acc, sizeof(float) * (size_t)n);
    ops->add(acc, x, (size_t)n);
    for (long i = 0; i < n; i++) ok &= acc[i] == acc0[i] + x[i];   // one float addition: exact
    int finite = -1;
    double want = 0;
    for (long i = 0; i < n; i++) want += (double)x[i] * x[i];
    ok &= within(worst, 10, ops->sum_squares(x, (size_t)n, &finite), want, 1e-12 * want + 1e-300) && finite == 1;
    // sum = 0.75·sum + 0.25·x (two products and a sum, each rounded; one fewer with FMA
    // contraction) and Σ sum² over the result, with the finiteness flag.
    memcpy(acc0, acc, sizeof(float) * (size_t)n);
    want = 0;
    double result = ops->weighted_add(acc, 0.75f, x, 0.25f, (size_t)n, &finite);
    for (long i = 0; i < n; i++) {
        const double w = 0.75 * acc0[i] + 0.25 * x[i];
        ok &= within(worst, 10, acc[i], w, 3 * U * (fabs(0.75 * acc0[i]) + fabs(0.25 * x[i])) + 1e-30);
        want += (double)acc[i] * acc[i];
    }
    ok &= within(worst, 10, result, want, 1e-12 * want + 1e-300) && finite == 1;
    x[n - 1] = INFINITY;
    ops->sum_squares(x, (size_t)n, &finite);
    ok &= finite == 0;
    ops->weighted_add(acc, 1, x, 0.25f, (size_t)n, &finite);
    ok &= finite == 0;
    x[n - 1] = NAN;
    ops->sum_squares(x, (size_t)n, &finite);
    ok &= finite == 0;
    free(g); free(out); free(out0); free(acc); free(acc0); free(x);
    return ok;
}

/// ak_gelu_inplace at `level` (inference): the exact (erf) and tanh forms.
static int check_gelu_inplace(int level, long width, double *worst) {
    const long n = ROWS * width;
    float *x0 = scaled(n, 3, 0), *x = malloc(sizeof(float) * (size_t)n);
    int ok = 1;
    for (int exact = 0; exact < 2; exact++) {
        memcpy(x, x0, sizeof(float) * (size_t)n);
        ak_gelu_inplace(x, (size_t)n, exact, level);
        for (long e = 0; e < n; e++) {
            const double v = x0[e], want = exact ? 0.5 * v * (1 + erf(v / sqrt(2.0))) : gelu_tanh64(v);
            ok &= within(worst, 11, x[e], want, 2e-6 * (1 + fabs(want)));
        }
    }
    free(x0); free(x);
    return ok;
}

void check_training_rows(const int *levels, int nlevels) {
    static const long widths[] = {1, 7, 17, 65, 129, 257};
    for (int li = 0; li < nlevels; li++) {
        const int level = levels[li];
        const ak_train_ops *ops = ak_train_ops_for(level);
        double worst[KERNELS] = {0};
        int (*const checks[])(const ak_train_ops *, long, double *) = {
            check_softmax, check_norms, check_cross_entropy, check_gelu, check_adamw, check_sums,
        };
        for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
            for (size_t c = 0; c <= sizeof checks / sizeof checks[0]; c++) {
                const int ok = c < sizeof checks / sizeof checks[0] ? checks[c](ops, widths[w], worst)
                                                                     : check_gelu_inplace(level, widths[w], worst);
                if (!ok) {
                    fail("training %s width %ld: out of the bound or a wrong special value; worst so far:", ak_simd_level_name(level), widths[w]);
                    for (int k = 0; k < KERNELS; k++) printf("    %-22s %.3g× the bound\n", kernel_names[k], worst[k]);
                }
                tally(ok);
            }
        double all = 0;
        int which = 0;
        for (int k = 0; k < KERNELS; k++)
            if (!(worst[k] <= all)) { all = worst[k]; which = k; }
        printf("training %-9s %s table, %d kernels × 6 widths: worst %.3f of the bound (%s)\n", ak_simd_level_name(level),
               ops == ak_train_ops_for(AK_SIMD_PORTABLE) ? "portable" : ak_simd_level_name(level), KERNELS, all, kernel_names[which]);
    }
}
