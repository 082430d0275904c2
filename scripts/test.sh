#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything (Release, Ninja,
# ccache) and runs the whole suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build_dir=${PARE_BUILD_DIR:-build}
jobs=${PARE_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARE_BUILD_TESTS=ON \
  -DPARE_BUILD_BENCH=ON -DPARE_BUILD_EXAMPLES=ON
cmake --build "$build_dir" -j "$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
