#!/usr/bin/env bash
# The vwall benchmark: floor (ffmpeg decoding alone), vwall and mpv on the same generated
# H.264 streams, one case after another. See docs/performance.md.
#   scripts/bench.sh                full run: N = 1, 4, 9, 16 x 720p30 and 4 x 1080p30, T = 30 s (~12 min)
#   scripts/bench.sh --quick        N = 1, 4 x 720p30, T = 5 s (< 2 min)
#   scripts/bench.sh --duration 60 --n 9 --no-hd      one case, longer
#   scripts/bench.sh --help         every option
# Results: bench/results/latest.{csv,json,png}; clips are cached in bench/clips/.
# vwall is built (Release) into build-bench/ unless --vwall PATH is given.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3   # Debian's, which has python3-matplotlib (a pyenv python3 may not)
for tool in ffmpeg "$PY"; do   # mpv and Xvfb: bench.py skips the mpv runs without them
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing: run scripts/install-bench-deps.sh" >&2; exit 1; }
done

want_build=1
for a in "$@"; do
  case "$a" in
    --vwall|--vwall=*|-h|--help) want_build=0 ;;
  esac
done
if [ "$want_build" = 1 ]; then
  echo "bench: building vwall (Release) in build-bench/" >&2
  mkdir -p build-bench
  if ! { cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >build-bench/bench-build.log 2>&1 \
         && make -C build-bench -j"$(nproc)" vwall >>build-bench/bench-build.log 2>&1; }; then
    echo "bench: vwall does not build (see build-bench/bench-build.log); running without it" >&2
    rm -f build-bench/vwall
  fi
fi
export PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" bench/bench.py "$@"
