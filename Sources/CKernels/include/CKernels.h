// CKernels: small, flag-free C micro-kernels for swift-attention.
//
// Rules (see docs/ARCHITECTURE.md): plain functions over pointers, sizes and strides;
// no allocation and no threads in C (Swift owns memory and threading); each SIMD kernel is a
// separate function compiled with a per-function target attribute (AVX2+FMA or AVX-512 on
// x86-64) or NEON (arm64), one implementation per SIMD level (ak_cpu.h), chosen at run time from
// the `level` the entry point is given, beside a portable fallback.
#ifndef CKERNELS_H
#define CKERNELS_H

#include "ak_cpu.h"
#include "ak_gemm.h"
#include "ak_bf16.h"
#include "ak_attention.h"
#include "ak_attention_backward.h"
#include "ak_ops.h"
#include "ak_training.h"
#include "ak_math.h"
#include "ak_atomic.h"

#endif
