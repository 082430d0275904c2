#!/usr/bin/env bash
# Builds pare_make_large_mlp and the `pare` CLI, writes the 109M-parameter MLP (4096-8192-8192-
# 1024-10, a 436 MB .pare) and measures peak RSS and wall time of loading and pruning it next to
# the I/O baseline of cat and cp on the same file (docs/benchmarks.md, "Loading and pruning large
# models"). Not part of the test run: it needs about 2 GB of disk and 1.5 GB of memory.
#
#   bash scripts/make-large-mlp.sh                  # model in /tmp/pare-large/, then measures
#   PARE_LARGE_DIR=/data bash scripts/make-large-mlp.sh
#
# Settings (environment): PARE_BUILD_DIR (build), PARE_JOBS (2), PARE_LARGE_DIR
# (/tmp/pare-large), PARE_MEASURE (1; 0 only writes the model).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${PARE_BUILD_DIR:-build}
jobs=${PARE_JOBS:-2}
out_dir=${PARE_LARGE_DIR:-/tmp/pare-large}
mkdir -p "$out_dir"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARE_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" -j "$jobs" --target pare_make_large_mlp pare_cli
model="$out_dir/mlp109m.pare"
[ -f "$model" ] || "$build_dir/bench/pare_make_large_mlp" "$model"
[ "${PARE_MEASURE:-1}" = 1 ] || exit 0

pare="$build_dir/tools/pare"
# Prints "<what>: max RSS <MiB> MiB, wall <s> s" from GNU time's verbose report.
measure() {
  local what=$1
  shift
  local report
  report=$( { /usr/bin/time -v "$@" >/dev/null; } 2>&1 )
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' <<<"$report")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' <<<"$report")
  echo "$what: max RSS $rss MiB, wall $wall"
}
echo "model: $(stat -c %s "$model") bytes"
sync
measure "cat > /dev/null" cat "$model"
measure "cp" cp "$model" "$out_dir/copy.pare"
measure "pare info" "$pare" info "$model"
measure "pare prune" "$pare" prune "$model" -o "$out_dir/pruned.pare" --sparsity 0.5
rm -f "$out_dir/copy.pare"
