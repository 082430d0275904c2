#!/usr/bin/env bash
# Installs the Debian packages pare needs, only those that are missing, plus any packages named
# as arguments (the checks that need a tool of their own: clang-format, a sanitizer runtime).
# Runs as root (or with sudo when available). Safe to run repeatedly.
#
#   bash scripts/install-deps.sh                 # the build's packages
#   bash scripts/install-deps.sh clang-format    # and clang-format
set -euo pipefail

packages=(cmake ninja-build g++ ccache pkg-config libdnnl-dev libeigen3-dev nlohmann-json3-dev
          doctest-dev libbenchmark-dev zlib1g-dev python3
          # libdnnl-dev only recommends the OpenCL loader, but its CMake config requires it.
          ocl-icd-opencl-dev)
packages+=("$@")
if [[ "${PARE_WITH_DATASET:-0}" == 1 ]]; then
  packages+=(dataset-fashion-mnist)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "pare: installing missing Debian packages: ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || { echo "pare: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
