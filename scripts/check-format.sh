#!/usr/bin/env bash
# Fails when a C++ file under the project's own folders is not clang-format clean
# (Google style, 100 columns; see .clang-format). Installs clang-format when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || bash scripts/install-deps.sh clang-format
mapfile -t files < <(git ls-files '*.h' '*.cpp' '*.cu')
if ((${#files[@]} == 0)); then exit 0; fi
clang-format --dry-run --Werror "${files[@]}"
echo "check-format: ${#files[@]} files clean"
