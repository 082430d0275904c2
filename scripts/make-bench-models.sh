#!/usr/bin/env bash
# Builds pare_make_bench_models and the `pare` CLI, and writes the models `pare bench` is measured
# on (mlp.pare, cnn.pare, lstm.pare and ResNet-18 at 224 x 224, resnet18.pare from
# pare::models::resnet18(); seeded weights) into bench/models/ (not committed), then the 50%-pruned
# forms (mlp_pruned.pare, cnn_pruned.pare, lstm_pruned.pare with `pare prune`, resnet18_half.pare
# with `pare prune --groups`).
#
#   bash scripts/make-bench-models.sh
#   build/tools/pare bench bench/models/{mlp,cnn,lstm}.pare --batch 1,32 --threads 1,2
#   build/tools/pare bench bench/models/cnn.pare bench/models/cnn_pruned.pare   # speedup
#   build/tools/pare bench bench/models/resnet18.pare --batch 1,8 --threads 1
#   build/tools/pare bench bench/models/resnet18{,_half}.pare --batch 1,8 --threads 1  # speedup
#
# Settings (environment): PARE_BUILD_DIR (build), PARE_JOBS (nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${PARE_BUILD_DIR:-build}
jobs=${PARE_JOBS:-$(nproc)}
out_dir=bench/models
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARE_BUILD_BENCH=ON
cmake --build "$build_dir" -j "$jobs" --target pare_make_bench_models pare_cli
"$build_dir/bench/pare_make_bench_models" "$out_dir"

# Half of every hidden layer's units or channels, chosen by L1 norm, with the default group list
# (every Linear, Conv2d and LSTM except the output layer fc3 / fc, whose 10 outputs are the graph's
# output). The LSTM uses the per-gate saliency pruner: it prunes trunc(H x 0.5) rows in each of
# the four gate blocks, so the pruned hidden size is exactly 64 whatever the weights, where plain
# saliency ranks all 4H rows together and the kept width is the number of kept output-gate rows.
# `pare prune` checks each pruned model against the masked one before writing it.
pare="$build_dir/tools/pare"
"$pare" prune "$out_dir/mlp.pare" -o "$out_dir/mlp_pruned.pare" --pruner saliency --sparsity 0.5
"$pare" prune "$out_dir/cnn.pare" -o "$out_dir/cnn_pruned.pare" --pruner saliency --sparsity 0.5
"$pare" prune "$out_dir/lstm.pare" -o "$out_dir/lstm_pruned.pare" --pruner lstm_saliency \
  --sparsity 0.5
# ResNet-18 at ratio 0.5 with dependency groups (the chain flow cannot prune a residual network):
# every conv keeps half its channels by l2 importance; fc, the classifier, keeps its outputs.
"$pare" prune "$out_dir/resnet18.pare" -o "$out_dir/resnet18_half.pare" --groups --ratio 0.5 \
  --ignore fc
