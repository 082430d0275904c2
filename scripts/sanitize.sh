#!/usr/bin/env bash
# The memory-safety run: builds the `pare` CLI and the hostile-input tests (tests/security/)
# with AddressSanitizer + UndefinedBehaviorSanitizer, every report fatal, and runs them
# (`ctest -L security`: malformed files, configs, masks and inputs against the library and the
# CLI, and the concurrency test). Then the ThreadSanitizer run of the concurrency test
# (scripts/sanitize-thread.sh). Exits non-zero on any failure or sanitizer report.
#
#   bash scripts/sanitize.sh              # build-asan/ (PARE_SANITIZE_BUILD_DIR to change)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
build_dir=${PARE_SANITIZE_BUILD_DIR:-build-asan}
jobs=${PARE_JOBS:-$(nproc)}
# -O1: the sanitizers need no more to find what they find, and it compiles much faster than -O3.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1" \
  -DPARE_SANITIZE=ON \
  -DPARE_BUILD_TESTS=ON -DPARE_BUILD_BENCH=OFF -DPARE_BUILD_EXAMPLES=OFF >/dev/null

security_tests=()
for source in tests/security/test_*.cpp; do
  security_tests+=("$(basename "$source" .cpp)")
done
cmake --build "$build_dir" -j "$jobs" --target pare_cli "${security_tests[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" -L security --output-on-failure -j "$jobs"

bash scripts/sanitize-thread.sh
