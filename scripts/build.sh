#!/usr/bin/env bash
# Configures and builds vwall into DIR (default build/), with warnings as errors.
#   scripts/build.sh [DIR] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DVWALL_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
