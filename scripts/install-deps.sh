#!/usr/bin/env bash
# Installs the Debian 12 packages vwall needs to build, run and test, plus any package
# names given as arguments (scripts/install-bench-deps.sh passes the benchmark's).
# Safe to run again: only missing packages are installed.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config clang clang-format
  # runtime libraries
  libsdl2-dev libsdl2-ttf-dev libepoxy-dev libfontconfig-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libconfig-dev libcjson-dev
  # the browser console: HTTP/WebSocket (libwebsockets, driven through a glib main context)
  libwebsockets-dev libglib2.0-dev
  # headless GL through Mesa (llvmpipe) and a CJK font for labels
  libegl-mesa0 libgl1-mesa-dri libegl-dev libgl1 libglx-mesa0 fonts-wqy-microhei
  # tests: clips, the RTSP camera, window tests
  ffmpeg xvfb xauth socat netcat-openbsd python3-gi python3-gst-1.0 gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # display servers for the output tests: Xorg with the dummy driver (two displays), sway + grim (wayland)
  xserver-xorg-core xserver-xorg-video-dummy x11-xserver-utils sway grim
  # the console's browser tests
  chromium chromium-driver python3-selenium python3-prometheus-client
  # the console in Firefox too (driven over its Marionette protocol; Debian has no geckodriver)
  firefox-esr
  # one wall over several machines: NATS JetStream (the server for tests, the C client)
  nats-server libnats-dev
  # the cluster's nkey test makes its Ed25519 user keys with it (Debian has neither nk nor nsc)
  python3-cryptography
  # the allocation test (heaptrack)
  heaptrack
  # sanitizer and fuzzer runtimes
  libclang-rt-14-dev
  # installing it like a product: sd_notify, man pages, the Debian package and its tests
  # (dpkg-shlibdeps from dpkg-dev, lintian, systemd for sysusers and systemd-analyze, man)
  libsystemd-dev scdoc dpkg-dev lintian systemd man-db
  "$@"
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
