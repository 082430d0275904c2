#!/usr/bin/env bash
# Fails when a C++ file under the project's own folders is not clang-format clean
# (Google style, 100 columns; see .clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "check-format: installing clang-format" >&2
  sudo_cmd=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { echo "check-format: need root or sudo to install clang-format" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    clang-format >/dev/null
fi
mapfile -t files < <(git ls-files '*.h' '*.cpp' '*.cu')
if ((${#files[@]} == 0)); then exit 0; fi
clang-format --dry-run --Werror "${files[@]}"
echo "check-format: ${#files[@]} files clean"
