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

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-bench-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-bench-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
