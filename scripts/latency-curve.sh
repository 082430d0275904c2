#!/usr/bin/env bash
# The latency-vs-target curve of docs/benchmarks.md: one latency profile of MODEL, then
# `pare prune --groups --target-latency T` for T = 0.9 .. 0.2 and, beside it, Torch-Pruning-style
# uniform ratios (`--ratio R`, every group alike) for R = 0.1 .. 0.8; every pruned model is then
# timed by one `pare bench` run against the dense model (same process, same session), and
# scripts/plot_latency_curve.py writes the table, the monotonicity check and an SVG plot.
#
#   scripts/latency-curve.sh bench/models/resnet18.pare curve-out [--batch 1] [--threads 1]
#
# Needs a built tree (build/tools/pare). Writes OUT/profile.json, OUT/*.pare, OUT/*.report.json,
# OUT/bench.json, OUT/curve.md and OUT/curve.svg.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
model=$1
out=$2
shift 2
batch=1
threads=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "latency-curve.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
pare=${PARE_BIN:-$root/build/tools/pare}
mkdir -p "$out"

echo "== profile ($model, batch $batch, threads $threads)"
time "$pare" profile "$model" --batch "$batch" --threads "$threads" -o "$out/profile.json" \
  > "$out/profile.txt"
models=()
for target in 0.9 0.8 0.7 0.6 0.5 0.4 0.3 0.2; do
  echo "== --target-latency $target"
  "$pare" prune "$model" -o "$out/latency_$target.pare" --groups --target-latency "$target" \
    --batch "$batch" --threads "$threads" --profile "$out/profile.json" \
    --report "$out/latency_$target.report.json" --no-verify > "$out/latency_$target.txt"
  models+=("$out/latency_$target.pare")
done
for ratio in 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8; do
  echo "== --ratio $ratio"
  "$pare" prune "$model" -o "$out/ratio_$ratio.pare" --groups --ratio "$ratio" \
    --report "$out/ratio_$ratio.report.json" --no-verify > "$out/ratio_$ratio.txt"
  models+=("$out/ratio_$ratio.pare")
done
echo "== bench"
"$pare" bench "$model" "${models[@]}" --batch "$batch" --threads "$threads" \
  --json "$out/bench.json" > "$out/bench.txt"
python3 "$root/scripts/plot_latency_curve.py" "$out"
