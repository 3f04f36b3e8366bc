#!/usr/bin/env bash
# The demo wall: installs what is missing, builds, makes the demo clips and starts vwall on
# layouts/demo.cfg (a 2×2 wall of clips). Without a display it writes out/demo.png instead.
#   scripts/demo.sh [vwall options...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
scripts/make-clips.sh demo
exec build/vwall "$@"
