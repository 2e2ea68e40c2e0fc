#!/usr/bin/env bash
# Data-parallel throughput of `attend train` (issue 14): tokens/s and scaling efficiency for
# the baby and default presets with 1 rank × 2 threads, 2 ranks × 1 thread and 4 ranks ×
# 1 thread (oversubscribed on a 2-core machine), the same global batch in every row.
#
#   scripts/bench-mpi.sh [CORPUS] [STEPS]       (defaults: ../shared/data/tinyshakespeare.txt, 30)
#
# Needs a release build (swift build -c release) and Open MPI (scripts/ci/mpi.sh installs it).
# tokens/s is the step throughput `attend train` reports (startup, evaluation and checkpoints
# excluded); comm is the mean time per step a rank waited in the gradient all-reduce
# (rank 0's view); efficiency = tokens/s ÷ tokens/s of 1 rank × 2 threads.
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
printf '| preset | ranks × threads | step ms | tokens/s | comm ms/step | comm share | efficiency |\n'
printf '|---|---|---:|---:|---:|---:|---:|\n'

summarise() {  # $1 preset, $2 layout, $3 json log, $4 baseline tok/s (or empty)
  python3 - "$@" <<'PY'
import json, sys
preset, layout, path, base = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
steps = [json.loads(l) for l in open(path) if '"event":"step"' in l]
last = steps[-1]
tps = last["tokensPerSecond"]
comm = [s.get("communicationSeconds", 0.0) for s in steps[3:]] or [0.0]   # skip warm-up steps
comm_ms = 1000 * sum(comm) / len(comm)
start = [json.loads(l) for l in open(path) if '"event":"start"' in l][0]
tokens = start["batchSize"] * start["contextLength"]
step_ms = 1000 * tokens / tps
eff = f"{tps / float(base):.2f}" if base else "1.00"
print(f"| {preset} | {layout} | {step_ms:.0f} | {tps:.0f} | {comm_ms:.1f} | {100 * comm_ms / step_ms:.1f}% | {eff} |")
open(path + ".tps", "w").write(str(tps))
PY
}

for preset in baby default; do
  common=(train --corpus "$corpus" --preset "$preset" --steps "$steps" --batch-size 12 --eval-interval 0
          --checkpoint-interval 0 --json --log-interval 1 --overwrite)
  ATTEND_THREADS=2 "$attend" "${common[@]}" --out "$work/$preset-1" > "$work/$preset-1.json"
  summarise "$preset" "1 × 2" "$work/$preset-1.json" ""
  base="$(cat "$work/$preset-1.json.tps")"
  for ranks in 2 4; do
    "$mpirun" --allow-run-as-root --oversubscribe -np "$ranks" -x ATTEND_THREADS=1 \
      "$attend" "${common[@]}" --out "$work/$preset-$ranks" > "$work/$preset-$ranks.json"
    summarise "$preset" "$ranks × 1" "$work/$preset-$ranks.json" "$base"
  done
done
