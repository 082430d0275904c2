#!/usr/bin/env bash
# The README's main command: installs what is missing, builds the examples and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build_dir=${PARE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARE_BUILD_EXAMPLES=ON \
  -DPARE_BUILD_TESTS=OFF -DPARE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target train_mlp
"$build_dir/examples/mlp/train_mlp" "$@"
