#!/usr/bin/env bash
# Builds the CKernels C sources with the C test driver Tests/CKernelsNative/*.c
# (attention_levels_test.c holds main) and runs it:
#   native   the host compiler (cc): every SIMD level of this machine (x86-64: portable,
#            avx2+fma, avx512 where present) against portable and a double reference, and every
#            BF16 variant it has (avx2+fma, avx512-bf16, amx-bf16);
#   aarch64  cross-compiled with Debian's aarch64-linux-gnu-gcc and run under qemu-user
#            (qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu: Armv8.x up to FEAT_BF16 and beyond),
#            levels portable and neon; built once with gcc and, when clang is installed (it comes
#            with Swift), once more with clang; the gcc build runs a second time as a Neoverse-N1
#            (-cpu neoverse-n1: Armv8.2 without FEAT_BF16), where the run-time detection must
#            fall back to the NEON BF16 kernel.
# What the driver checks, at every level or variant the machine (or qemu's CPU) has: the fused
# attention forward and backward, the packed and few-row GEMM, exp and its vector twins, the
# BF16 GEMM (neon, neon-bf16 on arm64), and the training row kernels, each against a double
# reference (see the header of Tests/CKernelsNative/attention_levels_test.c).
# Usage: scripts/test_neon_qemu.sh [native|aarch64|all]   (default all)
# Exits non-zero when a build fails, a driver reports a failure, or (aarch64) the cross
# toolchain or qemu is missing (scripts/ci/neon.sh installs them). Build outputs go to a temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
build="$(mktemp -d "${TMPDIR:-/tmp}/attend-neon.XXXXXX")"
trap 'rm -rf "$build"' EXIT
sources=(Sources/CKernels/*.c Tests/CKernelsNative/*.c)
flags=(-O2 -std=gnu11 -Wall -Wextra -ISources/CKernels/include -ISources/CKernels -ITests/CKernelsNative)

# Runs a driver; passes only when it exits 0 and its last line reads "N passed, 0 failed".
run_driver() {
  local label="$1"; shift
  local log="$build/$label.log" status=0
  "$@" >"$log" 2>&1 || status=$?
  cat "$log"
  if [ "$status" -ne 0 ] || ! tail -n 1 "$log" | grep -Eq '^[0-9]+ passed, 0 failed$'; then
    echo "neon: $label driver FAILED (exit status $status)" >&2
    return 1
  fi
}

native=0 cross=0
case "$mode" in
  native) native=1 ;;
  aarch64) cross=1 ;;
  all) native=1 cross=1 ;;
  *) echo "usage: $0 [native|aarch64|all]" >&2; exit 64 ;;
esac
if [ "$cross" = 1 ]; then
  qemu="$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)"
  if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || [ -z "$qemu" ]; then
    echo "neon: aarch64-linux-gnu-gcc or qemu-aarch64 missing (apt-get install gcc-aarch64-linux-gnu qemu-user)" >&2
    exit 1
  fi
fi

# Both builds at once (each compiler is single-threaded), then the runs.
pids=()
if [ "$native" = 1 ]; then
  echo "neon: native build ($(cc --version | head -n 1))"
  cc "${flags[@]}" "${sources[@]}" -lm -o "$build/native" & pids+=($!)
fi
if [ "$cross" = 1 ]; then
  echo "neon: aarch64 build ($(aarch64-linux-gnu-gcc --version | head -n 1)), run under $qemu"
  aarch64-linux-gnu-gcc "${flags[@]}" "${sources[@]}" -lm -o "$build/aarch64" & pids+=($!)
fi
# The same for aarch64 with clang (the compiler of Apple and of SwiftPM), when there is one:
# clang compiles, the cross gcc links against Debian's aarch64 libc.
clang_cross=0
if [ "$cross" = 1 ] && command -v clang >/dev/null 2>&1; then
  clang_cross=1
  echo "neon: aarch64 build with $(clang --version | head -n 1), run under $qemu"
  (
    mkdir -p "$build/clang"
    for source in "${sources[@]}"; do
      clang --target=aarch64-linux-gnu -isystem /usr/aarch64-linux-gnu/include "${flags[@]}" \
        -c "$source" -o "$build/clang/$(basename "$source" .c).o"
    done
    aarch64-linux-gnu-gcc "$build"/clang/*.o -lm -o "$build/aarch64-clang"
  ) & pids+=($!)
elif [ "$cross" = 1 ]; then
  echo "neon: no clang here; the aarch64 build with clang is skipped"
fi
for pid in "${pids[@]}"; do
  wait "$pid" || { echo "neon: a build failed" >&2; exit 1; }
done
status=0
if [ "$native" = 1 ]; then run_driver native "$build/native" || status=1; fi
if [ "$cross" = 1 ]; then
  run_driver aarch64 "$qemu" -cpu max -L /usr/aarch64-linux-gnu "$build/aarch64" || status=1
  run_driver aarch64-n1 "$qemu" -cpu neoverse-n1 -L /usr/aarch64-linux-gnu "$build/aarch64" || status=1
fi
if [ "$clang_cross" = 1 ]; then run_driver aarch64-clang "$qemu" -cpu max -L /usr/aarch64-linux-gnu "$build/aarch64-clang" || status=1; fi
exit "$status"
