#ifndef AK_BF16_H
#define AK_BF16_H

#include <stddef.h>
#include <stdint.h>

// BF16 inference GEMM: y = x·Wᵀ (+ b) with W held in bfloat16 and every sum kept in FP32.
//
// bfloat16 is the top half of an IEEE binary32: 1 sign, 8 exponent, 7 mantissa bits, so it
// covers FP32's range with ~3 significant digits. A product of two BF16 values has at most
// 16 significant bits and is exact in FP32, which makes the arithmetic below exactly
// specified: for output (i, j), with x̂ = bf16(x) and Ŵ = bf16(W) (round to nearest even;
// subnormals flushed to zero), pair by pair over k,
//
//     acc ← acc + x̂[i,2q+1]·Ŵ[j,2q+1]      (one FP32 rounding)
//     acc ← acc + x̂[i,2q]  ·Ŵ[j,2q]        (one FP32 rounding)         q = 0, 1, …, ⌈k/2⌉−1
//
// which is what AVX512-BF16's `vdpbf16ps` does per lane. The portable, AVX2, AVX512-BF16 and
// NEON kernels compute exactly this sequence (the AVX2, NEON and portable ones with FP32 FMAs
// on widened BF16, where an FMA of an exact product rounds once, as `vdpbf16ps` does), so they
// give the same bits for any split of the rows or columns; only an accumulator that falls below
// FP32's normal range can differ (`vdpbf16ps` flushes it to zero). AMX's `tdpbf16ps` sums the
// same exact products in FP32 but rounds differently inside (measured: results a few ulps
// apart), and Arm's BFDOT (FEAT_BF16) adds each pair's two products and then the accumulator
// with a rounding to odd each (FPCR.EBF = 0, the Linux default): those two kernels meet the
// error bound (k+2)·2⁻²⁴·Σ|x̂Ŵ| (+|bias|) the tests check without matching those bits (BFDOT's
// guaranteed bound is about twice that: two roundings per pair, each below 2⁻²³); their own
// results still do not depend on the split, nor on the other rows of a tile.
//
// Weights are packed once into 16-column panels: panel t holds outputs 16t … 16t+15, and for
// each pair q the 16 columns' (Ŵ[j,2q], Ŵ[j,2q+1]) side by side, 64 bytes per pair; columns
// past n and the odd k's partner are zero. One 512-bit load is then one `vdpbf16ps` operand.

/// Kernel variants of the BF16 GEMM, from least to most capable within an architecture (a
/// request runs the best variant at or below it that this CPU has; see ak_bf16_clamp).
enum {
    /// Plain C on widened BF16.
    AK_BF16_PORTABLE = 0,
    /// arm64 NEON on widened BF16 (4 outputs per vector); every arm64.
    AK_BF16_NEON = 1,
    /// AVX2 + FMA on widened BF16 (8 outputs per vector).
    AK_BF16_AVX2 = 2,
    /// AVX-512 with AVX512-BF16: `vdpbf16ps`, 16 outputs × 2 products per instruction.
    AK_BF16_AVX512 = 3,
    /// AMX-BF16 tiles: `tdpbf16ps`, a 16×16 block of outputs × 32 products per instruction.
    AK_BF16_AMX = 4,
    /// arm64 FEAT_BF16 (Armv8.6, optional from Armv8.2: Apple M2 and later, Neoverse V1/N2 and
    /// later): `BFDOT`, 4 outputs × 2 products per instruction.
    AK_BF16_NEON_BF16 = 5,
};

/// 1 when the CPU has AMX-TILE and AMX-BF16, the OS enables the tile state in XCR0, and (on
/// Linux) the process was granted it (`arch_prctl(ARCH_REQ_XCOMP_PERM)`, asked once here).
int ak_cpu_has_amx_bf16(void);

/// 1 when the CPU has AVX512-BF16 (CPUID.(7,1):EAX bit 5) besides AVX-512 F/BW/VL/DQ and the OS
/// saves the ZMM state, else 0.
int ak_cpu_has_avx512_bf16(void);

/// 1 on an arm64 CPU with FEAT_BF16 (Linux: `getauxval(AT_HWCAP2) & HWCAP2_BF16`; Apple:
/// `sysctlbyname("hw.optional.arm.FEAT_BF16")`), else 0 (0 on other architectures and systems).
int ak_cpu_has_arm_bf16(void);

/// The variant a request for `variant` runs (clamped to what the CPU has: AMX and AVX512-BF16
/// need the instructions, AVX2 needs AVX2+FMA; on arm64 NEON-BF16 needs FEAT_BF16 and a compiler
/// whose arm_neon.h offers it per function, and NEON is always there; portable otherwise).
int ak_bf16_clamp(int variant);

/// The variant the process uses: the best the CPU has at or below the SIMD level `level`
/// (an `ak_simd_level`): avx512 → AMX, else AVX512-BF16, else AVX2; avx2 → AVX2; neon →
/// NEON-BF16, else NEON; else portable.
int ak_bf16_variant_for_level(int level);

/// "portable", "neon", "avx2+fma", "avx512-bf16", "amx-bf16" or "neon-bf16".
const char *ak_bf16_variant_name(int variant);

/// bf16(x): round to nearest, ties to even; NaN stays a (quiet) NaN, ±inf stays ±inf, values
/// that would be BF16 subnormals become ±0 (as `vdpbf16ps` reads them).
uint16_t ak_bf16_from_float(float x);

/// The FP32 value of BF16 bits (exact).
float ak_float_from_bf16(uint16_t bits);

/// Rounds `n` floats to BF16 (`ak_bf16_from_float`).
void ak_bf16_round(const float *x, uint16_t *out, size_t n);

/// Number of uint16 in the packed form of an n×k weight: ⌈n/16⌉ panels × ⌈k/2⌉ pairs × 32.
size_t ak_bf16_packed_count(size_t n, size_t k);

/// Packs W (n rows of k, row stride ldw, FP32) into `packed` (ak_bf16_packed_count(n, k)
/// entries), rounding each weight to BF16.
void ak_bf16_pack_weights(const float *w, size_t n, size_t k, size_t ldw, uint16_t *packed);

/// Number of uint16 the `scratch` of `ak_bf16_gemm` needs for depth k (one block of rows of x
/// rounded to BF16).
size_t ak_bf16_scratch_count(size_t k);

/// C[i, j] = Σ_p x̂[i,p]·Ŵ[j,p] (+ bias[j]) for rows i < m and the packed panels covering
/// columns j0 ..< j0+n of the weight (j0 a multiple of 16, n ≤ what the panels hold from there):
/// c[i·ldc + j − j0] is written (or added to, with accumulate). `packed` points at the whole
/// packed weight of depth k; `bias` (or NULL) at the full bias. The sum order is the one in the
/// comment above, so any split of rows or of 16-column blocks across calls gives the same bits.
/// Single-threaded, no allocation: scratch needs ak_bf16_scratch_count(k) entries.
void ak_bf16_gemm(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                  const uint16_t *packed, size_t j0, const float *bias,
                  float *c, size_t ldc, int accumulate, uint16_t *scratch, int variant);

#endif
