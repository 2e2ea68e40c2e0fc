# shellcheck shell=bash
# Open MPI for the data-parallel training tests (MPITrainingTests, run by .ci/run's MPI step).
# Sourced by .ci/run (bash, set -euo pipefail): finds mpirun and Open MPI's libmpi.so.40,
# installs them from the system packages when missing (Debian/Ubuntu: apt-get install
# openmpi-bin libopenmpi-dev), and exports
#   ATTEND_MPIRUN=<path>      the launcher the MPI tests run
# Idempotent and fast when Open MPI is already installed (no apt-get call at all).
# `attend` itself links nothing: it dlopens libmpi.so.40 only when started by mpirun/srun.

_attend_find_mpirun() {
  local candidate
  for candidate in "${ATTEND_MPIRUN:-}" mpirun /usr/bin/mpirun; do
    [ -n "$candidate" ] || continue
    if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
    if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
  done
  return 1
}

_attend_has_libmpi() {
  # Open MPI 4/5 ship libmpi.so.40; ldconfig knows it once the package is installed.
  ldconfig -p 2>/dev/null | grep -q 'libmpi\.so\.40 ' || [ -e /usr/lib/x86_64-linux-gnu/libmpi.so.40 ] \
    || [ -e /usr/lib/aarch64-linux-gnu/libmpi.so.40 ]
}

_attend_mpirun="$(_attend_find_mpirun || true)"
if { [ -z "$_attend_mpirun" ] || ! _attend_has_libmpi; } && command -v apt-get >/dev/null 2>&1; then
  echo "mpi: Open MPI missing; installing openmpi-bin libopenmpi-dev with apt-get"
  _attend_sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then _attend_sudo="sudo"; fi
  $_attend_sudo apt-get update -qq || echo "mpi: apt-get update failed"
  if ! DEBIAN_FRONTEND=noninteractive $_attend_sudo apt-get install -y -qq --no-install-recommends openmpi-bin libopenmpi-dev; then
    # An interrupted earlier install leaves dpkg half-configured; finish it and retry once.
    echo "mpi: apt-get install failed; running dpkg --configure -a and retrying"
    DEBIAN_FRONTEND=noninteractive $_attend_sudo dpkg --configure -a || true
    DEBIAN_FRONTEND=noninteractive $_attend_sudo apt-get install -y -qq --no-install-recommends openmpi-bin libopenmpi-dev \
      || echo "mpi: apt-get install openmpi-bin libopenmpi-dev failed"
  fi
  _attend_mpirun="$(_attend_find_mpirun || true)"
fi

if [ -n "$_attend_mpirun" ]; then
  export ATTEND_MPIRUN="$_attend_mpirun"
  echo "mpi: ATTEND_MPIRUN=$ATTEND_MPIRUN ($("$ATTEND_MPIRUN" --version 2>/dev/null | head -n 1 || echo 'version unknown'))"
else
  echo "mpi: no mpirun found; the MPI step of .ci/run will fail"
fi
unset _attend_mpirun _attend_sudo
unset -f _attend_find_mpirun _attend_has_libmpi
