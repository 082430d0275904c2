#!/usr/bin/env bash
# Builds the benchmark programs in Release and runs them with fixed flags at 1 and 2 OpenMP
# threads, then prints the markdown tables of docs/benchmarks.md (pare vs oneDNN used directly).
#
#   scripts/run-benchmarks.sh                         # everything, results under /tmp/pare-bench
#   PARE_BENCH_FILTER='conv2d/' PARE_BENCH_THREADS=1 scripts/run-benchmarks.sh
#
# Settings (environment): PARE_BUILD_DIR (build), PARE_BENCH_OUT (/tmp/pare-bench),
# PARE_BENCH_MIN_TIME (seconds per repetition, 0.5), PARE_BENCH_REPETITIONS (5),
# PARE_BENCH_THREADS ("1 2"), PARE_BENCH_FILTER (all), PARE_JOBS (2).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${PARE_BUILD_DIR:-build}
out_dir=${PARE_BENCH_OUT:-/tmp/pare-bench}
min_time=${PARE_BENCH_MIN_TIME:-0.5}
repetitions=${PARE_BENCH_REPETITIONS:-5}
thread_counts=${PARE_BENCH_THREADS:-1 2}
filter=${PARE_BENCH_FILTER:-.}

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARE_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" --target bench_kernels bench_engine -j "${PARE_JOBS:-2}"

mkdir -p "$out_dir"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out_dir/load.txt"
for threads in $thread_counts; do
  for program in bench_kernels bench_engine; do
    # Random interleaving spreads each benchmark's repetitions over the whole run, so a burst
    # of load from other processes hits pare and oneDNN alike instead of one of them.
    OMP_NUM_THREADS=$threads "$build_dir/bench/$program" \
      --benchmark_filter="$filter" \
      --benchmark_min_time="$min_time" \
      --benchmark_repetitions="$repetitions" \
      --benchmark_enable_random_interleaving=true \
      --benchmark_report_aggregates_only=true \
      --benchmark_out="$out_dir/${program}_t${threads}.json" \
      --benchmark_out_format=json >/dev/null
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out_dir/load.txt"

python3 scripts/bench_table.py "$out_dir"/bench_*_t*.json
