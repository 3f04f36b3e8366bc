#!/usr/bin/env bash
# Generates the video clips vwall's demo and tests play, with the ffmpeg command line.
#   scripts/make-clips.sh demo [OUTDIR]   demo wall clips   (default assets/clips)
#   scripts/make-clips.sh test [OUTDIR]   test clips of known colours and patterns (default tests/clips)
# Clips that already exist are kept, so running it again is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-demo}
case "$kind" in
  demo) out=${2:-assets/clips} ;;
  test) out=${2:-tests/clips} ;;
  *) echo "usage: $0 demo|test [OUTDIR]" >&2; exit 2 ;;
esac
mkdir -p "$out"

ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# make NAME LAVFI_SOURCE [extra args]: H.264 yuv420p BT.709 limited range, unless extra args say otherwise
make() {
  local name=$1 src=$2; shift 2
  [ -s "$out/$name" ] && return 0
  ff -f lavfi -i "$src" "$@" -an "$out/$name.tmp.mp4"
  mv "$out/$name.tmp.mp4" "$out/$name"
}
h264_709=(-vf "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" -c:v libx264 -preset veryfast -g 30 -bf 0
          -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv)
h264_601=(-vf "scale=out_color_matrix=bt601:out_range=tv,format=yuv420p" -c:v libx264 -preset veryfast -g 30 -bf 0
          -colorspace smpte170m -color_primaries smpte170m -color_trc smpte170m -color_range tv)

if [ "$kind" = demo ]; then
  make demo-1.mp4 "testsrc2=size=640x360:rate=30:duration=20" "${h264_709[@]}"
  make demo-2.mp4 "smptehdbars=size=640x360:rate=30:duration=20,drawtext=text='%{pts\:hms}':x=20:y=20:fontsize=32:fontcolor=white" "${h264_709[@]}" 2>/dev/null \
    || make demo-2.mp4 "smptehdbars=size=640x360:rate=30:duration=20" "${h264_709[@]}"
  make demo-3.mp4 "mandelbrot=size=640x360:rate=30,trim=duration=20" "${h264_709[@]}"
  make demo-4.mp4 "life=size=640x360:rate=30:mold=10:ratio=0.1:death_color=#202040:life_color=#60c060,trim=duration=20" "${h264_709[@]}"
  echo "make-clips: demo clips in $out"
  exit 0
fi

# Test clips: 2 s, 30 fps, small.
# Solid colours, BT.709 limited range (the usual HD camera), 160x90.
for c in red:FF0000 green:00FF00 blue:0000FF white:FFFFFF yellow:FFFF00 magenta:FF00FF cyan:00FFFF gray:808080; do
  n=${c%%:*}; hex=${c#*:}
  make "$n.mp4" "color=c=0x$hex:size=160x90:rate=30:duration=2" "${h264_709[@]}"
done
# The same colours in BT.601 (SD cameras), 160x120.
for c in red:FF0000 green:00FF00 blue:0000FF gray:808080; do
  n=${c%%:*}; hex=${c#*:}
  make "${n}-601.mp4" "color=c=0x$hex:size=160x120:rate=30:duration=2" "${h264_601[@]}"
done
# Full range (yuvj420p, as many IP cameras send MJPEG/H.264): orange.
make orange-full.mp4 "color=c=0xFF8000:size=160x90:rate=30:duration=2" \
  -vf "scale=out_color_matrix=bt709:out_range=pc,format=yuvj420p" -c:v libx264 -preset veryfast -g 30 -bf 0 \
  -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range pc
# 4:3 picture (white with a red top band and a blue bottom band) for fit/fill tests: 160x120,
# bands 30 px high.
make bands-4x3.mp4 "color=c=white:size=160x120:rate=30:duration=2,drawbox=x=0:y=0:w=160:h=30:color=red:t=fill,drawbox=x=0:y=90:w=160:h=30:color=blue:t=fill" "${h264_709[@]}"
# Vertical stripes 10 px wide alternating black/white, 320x90, for bezel tests.
make stripes.mp4 "color=c=white:size=320x90:rate=30:duration=2,geq=lum='if(lt(mod(X\,20)\,10)\,16\,235)':cb=128:cr=128" "${h264_709[@]}"
# Horizontal grey ramp 340x90 (luma 16 at x=0 to 235 at x=339, so RGB ≈ 255·x/339), for the
# bezel test: spread over two 160-pixel panels with a 20-pixel bezel, it maps 1:1.
make ramp.mp4 "color=c=black:size=340x90:rate=30:duration=2,format=yuv420p,geq=lum='16+219*X/339':cb=128:cr=128" "${h264_709[@]}"
# Left half green, right half magenta, 320x180, for spans across panels.
make halves.mp4 "color=c=0x00FF00:size=320x180:rate=30:duration=2,drawbox=x=160:y=0:w=160:h=180:color=0xFF00FF:t=fill" "${h264_709[@]}"
# Moving pattern for liveness and frame-rate tests, 10 s.
make moving.mp4 "testsrc2=size=320x180:rate=30:duration=10" "${h264_709[@]}"
# A heavy stream for load tests: 1080p60 with non-reference B-frames (what skipping them
# saves), 3 s.
make heavy-1080p60.mp4 "testsrc2=size=1920x1080:rate=60:duration=3" \
  -vf "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" -c:v libx264 -preset veryfast -g 60 -bf 3 \
  -x264-params b-pyramid=none -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv
# HEVC and NV12-decoding inputs.
make red-hevc.mp4 "color=c=0xFF0000:size=160x90:rate=30:duration=2" \
  -vf "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" -c:v libx265 -preset ultrafast -x265-params log-level=error \
  -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv
# Pixel formats other than 8-bit 4:2:0, losslessly (FFV1, raw video), with no range tag:
# gray (shown at its true values: untagged gray is full range), a 1x1 rgb24 picture, planar
# RGB at 10 bits, packed 4:2:2 (yuyv422, as USB cameras send), 1-bit video (monow) in bands
# 40 px wide for a cropped fill tile, and a picture wider than llvmpipe's texture limit (16384).
make fmt-gray.mkv "color=c=0x505050:size=160x90:rate=10:duration=1,format=gray" -c:v ffv1 -f matroska
make fmt-rgb24-1x1.nut "color=c=0xFF8000:size=1x1:rate=10:duration=1,format=rgb24" -c:v rawvideo -f nut
make fmt-gbrp10.mkv "color=c=0x2040FF:size=160x90:rate=10:duration=1,format=gbrp10le" -c:v ffv1 -f matroska
make fmt-yuyv422.nut "color=c=0xFFFF00:size=160x90:rate=5:duration=1,format=yuyv422" -c:v rawvideo -f nut
make fmt-monow.nut "color=c=black:size=320x90:rate=5:duration=1,geq=lum='if(lt(mod(X\,80)\,40)\,0\,255)',format=monow" -c:v rawvideo -f nut
make fmt-huge.mkv "color=c=0x00FF80:size=16448x32:rate=10:duration=1,format=yuv420p" -c:v ffv1 -f matroska
# Quadrants (red, green / blue, white) in H.264 whose display-orientation SEI says: turn 90
# degrees anticlockwise to show (FFmpeg's decoder attaches it to each frame as a display
# matrix; ffprobe: rotation=90).
make rot90-sei.mp4 "color=c=red:size=160x90:rate=10:duration=1,drawbox=x=80:y=0:w=80:h=45:color=0x00FF00:t=fill,drawbox=x=0:y=45:w=80:h=45:color=blue:t=fill,drawbox=x=80:y=45:w=80:h=45:color=white:t=fill" \
  "${h264_709[@]}" -bsf:v h264_metadata=display_orientation=insert:rotate=90
# Broken inputs: garbage bytes, and an H.264 file cut in half.
[ -s "$out/garbage.mp4" ] || head -c 200000 /dev/urandom > "$out/garbage.mp4"
if [ ! -s "$out/truncated.mp4" ]; then
  size=$(stat -c %s "$out/moving.mp4"); head -c $((size / 2)) "$out/moving.mp4" > "$out/truncated.mp4"
fi
echo "make-clips: test clips in $out"
