#!/usr/bin/env bash
# The README's main command: installs what is missing (the Fashion-MNIST package included),
# builds the `pare` command and runs the demo: train a CNN on Fashion-MNIST, prune it, fine-tune,
# and print dense vs pruned. Extra arguments go to `pare demo` (see `pare demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

PARE_WITH_DATASET=1 bash scripts/install-deps.sh
build_dir=${PARE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARE_BUILD_EXAMPLES=ON \
  -DPARE_BUILD_TESTS=OFF -DPARE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target pare_cli
"$build_dir/tools/pare" demo --out "${PARE_DEMO_OUT:-demo-out}" "$@"
