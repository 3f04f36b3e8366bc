#!/usr/bin/env bash
# Installs the Debian 12 packages that only the benchmark (scripts/bench.sh) needs,
# on top of scripts/install-deps.sh: mpv (the comparison player), matplotlib (the plot),
# GNU time, Xvfb (mpv's window). Safe to run again: only missing packages are installed.
set -euo pipefail

PKGS=(
  mpv                 # the player vwall is compared with
  python3-matplotlib  # bench/plot.py draws bench/results/*.png with it
  time                # /usr/bin/time -f for CPU seconds and peak RSS
  xvfb xauth          # xvfb-run: a real X window for mpv --vo=gpu
  libgl1-mesa-dri     # llvmpipe, the software OpenGL both vwall and mpv use here
  ffmpeg              # clip generation and the decode-only floor
  procps              # ps, for the process-tree sums
)

exec "$(dirname "$0")/install-deps.sh" "${PKGS[@]}"
