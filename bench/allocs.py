#!/usr/bin/python3
"""Who allocates heap memory per frame while vwall shows a steady wall.

Runs vwall under heaptrack (Debian's `heaptrack`) twice on the same wall, for T and for
2T seconds, and subtracts: what is left is T seconds of steady state, without start-up
and shut-down. Every allocation is charged to the call in vwall's own code it came from
(the innermost frame in src/) and to the library that made it (the innermost frame
outside libc and FFmpeg's allocation wrappers): vwall itself, FFmpeg, Mesa, SDL, ...
Prints allocations per shown frame and per redraw by library and by call site, and
writes bench/results/allocs-latest.json.

    bench/allocs.py                 # 9 x 720p30 on a 3x3 wall of 640x360, T = 10 s
    bench/allocs.py --n 4 -T 20
    bench/allocs.py --vwall build/vwall --clip a.mp4 --clip b.mp4 ... --check

vwall is built with debug info (RelWithDebInfo) into build-allocs/ so that the stacks
name files and lines (or --vwall names a build with debug info).

--check (the ctest `allocs`): a third run of 3T, and exits 1 when anything but decoding
(FFmpeg) and drawing (Mesa) allocated over both T-second intervals: vwall's own code, or
a library it calls for itself (cJSON, SDL, SDL_ttf, libc, ...). Allowed: under 0.01
allocations per shown frame. Library constructors (run at load) are start-up, not counted.
"""

import argparse
import collections
import json
import math
import os
import re
import subprocess
import sys

import bench

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Frames that only pass an allocation on: the library that called them is charged.
WRAPPERS = re.compile(r"^(av_malloc|av_mallocz|av_realloc|av_realloc_f|av_calloc|av_strdup|"
                      r"av_buffer_\w+|av_dict_set|av_packet_\w+|av_frame_\w+|av_fast_\w+|"
                      r"malloc|calloc|realloc|free|operator new.*|strdup|__libc_\w+)$")
LIBS = [("vwall", re.compile(r"/vwall$")), ("FFmpeg", re.compile(r"lib(av|sw)\w+\.so")),
        ("Mesa", re.compile(r"(swrast_dri|libgallium|libGL|libEGL|libglapi|libgbm|libLLVM)")),
        ("SDL", re.compile(r"libSDL2")), ("FreeType/SDL_ttf", re.compile(r"(libfreetype|libSDL2_ttf)")),
        ("libc", re.compile(r"libc\.so"))]


def lib_of(where):
    for name, rx in LIBS:
        if rx.search(where):
            return name
    return os.path.basename(where) if where else "?"


def parse(text):
    """heaptrack_print's "MOST CALLS TO ALLOCATION FUNCTIONS" → Counter of (library, vwall call site)."""
    out = collections.Counter()
    block = text.split("MOST CALLS TO ALLOCATION FUNCTIONS", 1)[-1]
    block = re.split(r"\n(PEAK MEMORY CONSUMERS|MOST TEMPORARY ALLOCATIONS|total runtime)", block)[0]
    entries = re.split(r"\n(?=\d+ calls with )", block)
    for e in entries:
        m = re.match(r"(\d+) calls with ", e)
        if not m:
            continue
        lines = [l.strip() for l in e.split("\n")[1:] if l.strip()]
        # pairs: function, then "in LIB" or "at FILE:LINE" (+ "in LIB" for the first of a binary)
        frames, cur = [], None
        for l in lines:
            if l.startswith("in ") or l.startswith("at "):
                if cur is not None:
                    cur[l[:2]] = l[3:]
            else:
                cur = {"fn": l}
                frames.append(cur)
        # the library of a frame: the last "in" seen at or before it (heaptrack prints it once)
        lib = None
        for f in frames:
            lib = f.get("in", lib)
            f["lib"] = lib
        if any(f["fn"].startswith(("_dl_init", "call_init")) for f in frames):
            continue  # a library's constructor, run when it is loaded: start-up by definition
        owner, site = None, None
        for f in frames:
            if owner is None and not WRAPPERS.match(f["fn"].split("(")[0]):
                owner = lib_of(f["lib"] or "")
            if site is None and "/src/" in f.get("at", ""):
                site = "%s (%s)" % (f["fn"].split("(")[0], os.path.relpath(f["at"], ROOT)
                                    if f["at"].startswith(ROOT) else f["at"])
        out[(owner or "?", site or "(a thread of a library: no vwall frame)")] += int(m.group(1))
    return out


def run(vwall, cfg, T, tag, outdir):
    """vwall under heaptrack for T seconds → (Counter by (library, site), final status)."""
    data = os.path.join(outdir, "heaptrack-%s" % tag)
    stats = os.path.join(outdir, "stats-%s.json" % tag)
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    cmd = ["heaptrack", "-o", data, vwall, "-c", cfg, "--output", "offscreen", "--duration", "%g" % T,
           "--control", "none", "--stats", stats, "--shaders", os.path.join(ROOT, "shaders")]
    with open(os.path.join(outdir, "vwall-%s.log" % tag), "w") as log:
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=log)
    zst = [f for f in os.listdir(outdir) if f.startswith("heaptrack-%s." % tag)][0]
    text = subprocess.run(["heaptrack_print", "-f", os.path.join(outdir, zst), "--print-peaks", "0",
                           "--print-temporary", "0", "--print-leaks", "0", "-n", "100000", "-s", "100000"],
                          check=True, capture_output=True, text=True).stdout
    with open(stats) as f:
        st = json.load(f)["status"]
    return parse(text), st


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=9, help="720p30 streams, a square (default 9)")
    ap.add_argument("--duration", "-T", type=float, default=10, help="steady-state seconds (default 10)")
    ap.add_argument("--clips", default=os.path.join(HERE, "clips"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--vwall", help="a vwall built with debug info (default: build it into build-allocs/)")
    ap.add_argument("--clip", action="append", help="a clip to show instead of the generated 720p ones "
                    "(repeat; their number must be a square); the wall is then 160x90 panels")
    ap.add_argument("--check", action="store_true", help="exit 1 when vwall allocates per frame")
    args = ap.parse_args()
    n = len(args.clip) if args.clip else args.n
    k = math.isqrt(n)
    if k * k != n:
        sys.exit("allocs: the number of streams must be a square")

    vwall = args.vwall
    if not vwall:
        build = os.path.join(ROOT, "build-allocs")
        subprocess.run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", build, "-j", str(os.cpu_count() or 2), "--target", "vwall"],
                       check=True, stdout=subprocess.DEVNULL)
        vwall = os.path.join(build, "vwall")
    outdir = os.path.join(args.out, "allocs")
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        os.unlink(os.path.join(outdir, f))
    if args.clip:
        clips = [os.path.abspath(c) for c in args.clip]
        pw, ph = 160, 90
    else:
        os.makedirs(args.clips, exist_ok=True)
        clips = [bench.make_clip(args.clips, 720, i) for i in range(n)]
        pw, ph = bench.OUT_W // k, bench.OUT_H // k
    cfg = bench.wall_cfg(os.path.join(outdir, "wall.cfg"), "allocs-x%d" % n, pw, ph, k, k, clips, (k, k))

    a, sa = run(vwall, cfg, args.duration, "short", outdir)
    b, sb = run(vwall, cfg, 2 * args.duration, "long", outdir)
    shown = sb["frames_uploaded"] - sa["frames_uploaded"]
    redraws = sb["frames_rendered"] - sa["frames_rendered"]
    diff = {key: b[key] - a.get(key, 0) for key in b}
    by_lib = collections.Counter()
    for (lib, _), v in diff.items():
        by_lib[lib] += v
    total = sum(diff.values())

    print("steady state, %d streams on a %dx%d wall of %dx%d panels, %g s: %d frames shown, %d redraws, "
          "%d allocations (%.1f per shown frame)" % (n, k, k, pw, ph, args.duration, shown, redraws, total,
                                                      total / max(shown, 1)))
    print("\nby library (the innermost caller that is not an allocation wrapper):")
    for lib, v in by_lib.most_common():
        if abs(v) < max(shown, 1) * 0.01 and lib != "vwall":
            continue
        print("  %-18s %8d   %6.2f per shown frame  %6.2f per redraw" % (lib, v, v / max(shown, 1),
                                                                         v / max(redraws, 1)))
    print("\nby call in vwall's code:")
    rows = sorted(diff.items(), key=lambda kv: -kv[1])
    for (lib, site), v in rows:
        if v > 0 and v / max(shown, 1) >= 0.01:
            print("  %-8s %6.2f/frame  %s" % (lib, v / max(shown, 1), site))
    result = {"n": n, "duration_s": args.duration, "frames_shown": shown, "redraws": redraws,
              "allocations": total, "per_frame": total / max(shown, 1),
              "by_library": {lib: {"allocations": v, "per_frame": v / max(shown, 1)} for lib, v in by_lib.items()},
              "by_site": [{"library": lib, "site": site, "allocations": v, "per_frame": v / max(shown, 1)}
                          for (lib, site), v in rows if v > 0]}
    path = os.path.join(args.out, "allocs-latest.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print("\nwrote %s" % os.path.relpath(path, ROOT))
    if not args.check:
        return 0
    # Anything but decoding and drawing: vwall's code or a library it calls for itself.
    # Start-up is not the same in every run (a slate drawn before the first frame or not,
    # state events seen one by one or merged), so a third run of 3T: an allocation made
    # per frame grows over both intervals, start-up noise does not. A library counts with
    # the smaller of its two growths.
    c, sc = run(vwall, cfg, 3 * args.duration, "longer", outdir)
    diff2 = {key: c[key] - b.get(key, 0) for key in c}
    by_lib2 = collections.Counter()
    for (lib, _), v in diff2.items():
        by_lib2[lib] += v
    own = {lib: min(v, by_lib2.get(lib, 0)) for lib, v in by_lib.items() if lib not in ("FFmpeg", "Mesa")}
    own = {lib: v for lib, v in own.items() if v > 0}
    for (lib, site), v in sorted(diff.items(), key=lambda kv: -kv[1]):
        if lib in own and v > 0:
            print("  grew: %-14s %5d then %5d  %s" % (lib, v, diff2.get((lib, site), 0), site))
    bad = sum(own.values())
    ok = shown >= 10 * n and sc["frames_uploaded"] - sb["frames_uploaded"] >= 10 * n and bad < 0.01 * shown
    print("allocs: %d frames shown; %d allocations outside decoding and drawing (%s): %s"
          % (shown, bad, ", ".join("%s %d" % kv for kv in own.items()) or "none", "ok" if ok else "FAIL"))
    print("allocs: %d passed, %d failed" % ((1, 0) if ok else (0, 1)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
