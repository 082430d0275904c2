#!/usr/bin/env bash
# Fuzzes the .pare reader (pare::ir::decode_pare) with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer for SECONDS seconds, starting from the seed corpus in fuzz/corpus.
# Exits non-zero when the fuzzer finds a crash, a hang, a leak or a sanitizer report; the input
# that triggered it is left in build-fuzz/artifacts/.
#
#   scripts/fuzz.sh 600                      # ten minutes
#   PARE_FUZZ_JOBS=2 scripts/fuzz.sh 60      # build with two jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ne 1 || ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh SECONDS" >&2
  exit 2
fi
seconds=$1
build_dir=${PARE_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${PARE_FUZZ_JOBS:-$(nproc)}

# clang and its libFuzzer runtime come from Debian's clang and libclang-rt-dev packages.
fuzzer_runtime_present() {
  command -v clang++ >/dev/null &&
    [[ -f $(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a) ]]
}
if ! fuzzer_runtime_present; then
  echo "fuzz.sh: installing clang and libclang-rt-dev"
  sudo_cmd=""
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq clang libclang-rt-dev libomp-dev
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DPARE_FUZZ=ON \
  -DPARE_BUILD_TESTS=OFF -DPARE_BUILD_BENCH=OFF -DPARE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build_dir" --target fuzz_pare_inputs make_pare_corpus -j "$jobs"

# New inputs the fuzzer finds go to the working corpus; fuzz/corpus stays as committed.
mkdir -p "$build_dir/corpus" "$build_dir/artifacts"
export OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
set +e
"$build_dir/fuzz/fuzz_pare_inputs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=16384 -dict=fuzz/pare.dict -print_final_stats=1 \
  -artifact_prefix="$build_dir/artifacts/" "$build_dir/corpus" fuzz/corpus 2>&1 |
  tee "$build_dir/fuzz.log"
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 ]]; then
  echo "fuzz.sh: the fuzzer stopped with status $status; see $build_dir/artifacts/" >&2
  exit "$status"
fi
echo "fuzz.sh: no crash, hang or sanitizer report in $seconds s"
