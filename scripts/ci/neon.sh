# shellcheck shell=bash
# The arm64 kernels (NEON attention, packed and few-row GEMM, the NEON and FEAT_BF16 BF16 GEMM)
# and the training rows, tested without an arm64 machine (issue 12).
# Sourced by .ci/run (bash, set -euo pipefail): installs Debian's aarch64 cross compiler and
# qemu-user when missing (apt-get; no call at all when both are present), then runs
# scripts/test_neon_qemu.sh: the C test driver cross-compiled for aarch64 under qemu (NEON vs
# portable vs a double reference; -cpu max and -cpu neoverse-n1) and compiled natively (this
# machine's levels and BF16 variants). Any failure fails CI. Measured on 2 shared cores: 19 s to
# install from scratch, about 36 s to build and run (gcc native, gcc and clang for aarch64 under
# qemu, the gcc build twice); see docs/notes/neon.md.

_attend_neon_missing() {
  ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 \
    || { ! command -v qemu-aarch64 >/dev/null 2>&1 && ! command -v qemu-aarch64-static >/dev/null 2>&1; }
}

if _attend_neon_missing; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "neon: aarch64-linux-gnu-gcc / qemu-aarch64 missing and no apt-get to install them" >&2
    return 1
  fi
  echo "neon: installing gcc-aarch64-linux-gnu and qemu-user with apt-get"
  _attend_sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then _attend_sudo="sudo"; fi
  $_attend_sudo apt-get update -qq || echo "neon: apt-get update failed"
  _attend_neon_install() {
    DEBIAN_FRONTEND=noninteractive $_attend_sudo apt-get install -y -qq --no-install-recommends \
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  }
  if ! _attend_neon_install; then
    # An interrupted earlier install leaves dpkg half-configured; finish it and retry once.
    echo "neon: apt-get install failed; running dpkg --configure -a and retrying"
    DEBIAN_FRONTEND=noninteractive $_attend_sudo dpkg --configure -a || true
    _attend_neon_install || echo "neon: apt-get install failed"
  fi
  unset -f _attend_neon_install
  unset _attend_sudo
  if _attend_neon_missing; then
    echo "neon: the aarch64 cross compiler or qemu-aarch64 is still missing" >&2
    return 1
  fi
fi
unset -f _attend_neon_missing

echo "neon: C kernel levels, cross-compiled under qemu and native"
_attend_neon_start=$SECONDS
if ! scripts/test_neon_qemu.sh all; then
  echo "neon: the C kernel level tests failed" >&2
  return 1
fi
echo "neon: passed in $((SECONDS - _attend_neon_start)) s"
unset _attend_neon_start
