#!/usr/bin/env bash
# Builds pare_make_bench_models and the `pare` CLI, and writes the models `pare bench` is measured
# on (mlp.pare, cnn.pare, lstm.pare, seeded weights) into bench/models/out/ (not committed).
#
#   bash scripts/make-bench-models.sh
#   build/tools/pare bench bench/models/out/{mlp,cnn,lstm}.pare --batch 1,32 --threads 1,2
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${PARE_BUILD_DIR:-build}
jobs=${PARE_JOBS:-$(nproc)}
out_dir=bench/models/out
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARE_BUILD_BENCH=ON
cmake --build "$build_dir" -j "$jobs" --target pare_make_bench_models pare_cli
"$build_dir/bench/pare_make_bench_models" "$out_dir"

# TODO(pare prune): once `pare prune` lands, also write the pruned versions here, e.g.
#   "$build_dir/tools/pare" prune "$out_dir/mlp.pare" -o "$out_dir/mlp_pruned.pare" --sparsity 0.5
# (likewise cnn and lstm with --pruner lstm_saliency), so that
# `pare bench "$out_dir/cnn.pare" "$out_dir/cnn_pruned.pare"` shows the speedup.
