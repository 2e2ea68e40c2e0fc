#!/usr/bin/env bash
# Overlap off against on, in alternating pairs (issue 14): on a machine whose cores other work
# shares, load drifts over minutes, so a run with the gradients summed in one all-reduce after
# the backward pass (ATTEND_MPI_BUCKET_MB=0) and one with 1 MB buckets during it are taken
# back to back, PAIRS times, and compared pair by pair.
#
#   scripts/bench-mpi-overlap.sh [PRESET] [RANKS] [PAIRS] [STEPS] [CORPUS]
#                                (defaults: baby 2 4 30 ../shared/data/tinyshakespeare.txt)
#
# Needs a release build and Open MPI (scripts/ci/mpi.sh). Per run: tokens/s of the steps, and
# rank 0's mean comm wait (after its backward pass) and time in MPI per step, warm-up excluded.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-baby}" ranks="${2:-2}" pairs="${3:-4}" steps="${4:-30}"
corpus="${5:-../shared/data/tinyshakespeare.txt}"
mpirun="${ATTEND_MPIRUN:-mpirun}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "$preset, $ranks ranks × 1 thread, $steps steps, global batch 12; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| pair | overlap | tokens/s | comm wait ms/step | in MPI ms/step |\n|---:|---|---:|---:|---:|\n'
for pair in $(seq "$pairs"); do
  for overlap in off on; do
    buckets=$([ "$overlap" = off ] && echo 0 || echo 1)
    "$mpirun" --allow-run-as-root --oversubscribe -np "$ranks" -x ATTEND_THREADS=1 -x ATTEND_MPI_BUCKET_MB="$buckets" \
      .build/release/attend train --corpus "$corpus" --preset "$preset" --steps "$steps" --batch-size 12 \
      --eval-interval 0 --checkpoint-interval 0 --json --log-interval 1 --overwrite --out "$work/run" > "$work/log.json"
    python3 - "$pair" "$overlap" "$work/log.json" <<'PY'
import json, sys
pair, overlap, path = sys.argv[1:4]
steps = [json.loads(l) for l in open(path) if '"event":"step"' in l]
kept = steps[3:] or steps                                   # skip warm-up steps
mean_ms = lambda key: 1000 * sum(s[key] for s in kept) / len(kept)
print(f"| {pair} | {overlap} | {steps[-1]['tokensPerSecond']:.0f} | {mean_ms('communicationSeconds'):.1f} | {mean_ms('communicationTotalSeconds'):.1f} |")
PY
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
