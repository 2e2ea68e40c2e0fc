#!/usr/bin/env bash
# Data-parallel throughput of `attend train` (issue 14): tokens/s and scaling efficiency for
# the baby and default presets with 1 rank × 2 threads, 2 ranks × 1 thread and 4 ranks ×
# 1 thread (oversubscribed on a 2-core machine), the same global batch in every row; the
# parallel rows twice: gradients summed in one all-reduce after the backward pass
# (overlap off, ATTEND_MPI_BUCKET_MB=0) and in 1 MB buckets during it (overlap on, the default).
#
#   scripts/bench-mpi.sh [CORPUS] [STEPS]       (defaults: ../shared/data/tinyshakespeare.txt, 30)
#
# Needs a release build (swift build -c release) and Open MPI (scripts/ci/mpi.sh installs it).
# tokens/s is the step throughput `attend train` reports (startup, evaluation and checkpoints
# excluded); comm wait is the mean time per step rank 0 waited after its backward pass for the
# gradient sums (communicationSeconds), in MPI the mean time per step it spent in MPI calls,
# the wait included (communicationTotalSeconds); efficiency = tokens/s ÷ tokens/s of
# 1 rank × 2 threads.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/data/tinyshakespeare.txt}"
steps="${2:-30}"
attend=.build/release/attend
mpirun="${ATTEND_MPIRUN:-mpirun}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core)' | sed 's/  */ /g'
echo
printf '| preset | ranks × threads | overlap | step ms | tokens/s | comm wait ms/step | wait share | in MPI ms/step | efficiency |\n'
printf '|---|---|---|---:|---:|---:|---:|---:|---:|\n'

summarise() {  # $1 preset, $2 layout, $3 overlap, $4 json log, $5 baseline tok/s (or empty)
  python3 - "$@" <<'PY'
import json, sys
preset, layout, overlap, path, base = sys.argv[1:6]
steps = [json.loads(l) for l in open(path) if '"event":"step"' in l]
last = steps[-1]
tps = last["tokensPerSecond"]
def mean_ms(key):
    values = [s.get(key, 0.0) for s in steps[3:]] or [0.0]   # skip warm-up steps
    return 1000 * sum(values) / len(values)
wait_ms, mpi_ms = mean_ms("communicationSeconds"), mean_ms("communicationTotalSeconds")
start = [json.loads(l) for l in open(path) if '"event":"start"' in l][0]
tokens = start["batchSize"] * start["contextLength"]
step_ms = 1000 * tokens / tps
eff = f"{tps / float(base):.2f}" if base else "1.00"
print(f"| {preset} | {layout} | {overlap} | {step_ms:.0f} | {tps:.0f} | {wait_ms:.1f} | {100 * wait_ms / step_ms:.1f}% | {mpi_ms:.1f} | {eff} |")
open(path + ".tps", "w").write(str(tps))
PY
}

for preset in baby default; do
  common=(train --corpus "$corpus" --preset "$preset" --steps "$steps" --batch-size 12 --eval-interval 0
          --checkpoint-interval 0 --json --log-interval 1 --overwrite)
  ATTEND_THREADS=2 "$attend" "${common[@]}" --out "$work/$preset-1" > "$work/$preset-1.json"
  summarise "$preset" "1 × 2" "–" "$work/$preset-1.json" ""
  base="$(cat "$work/$preset-1.json.tps")"
  for ranks in 2 4; do
    for overlap in off on; do
      buckets=$([ "$overlap" = off ] && echo 0 || echo 1)
      "$mpirun" --allow-run-as-root --oversubscribe -np "$ranks" -x ATTEND_THREADS=1 -x ATTEND_MPI_BUCKET_MB="$buckets" \
        "$attend" "${common[@]}" --out "$work/$preset-$ranks-$overlap" > "$work/$preset-$ranks-$overlap.json"
      summarise "$preset" "$ranks × 1" "$overlap" "$work/$preset-$ranks-$overlap.json" "$base"
    done
  done
done
