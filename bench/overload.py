#!/usr/bin/python3
"""Overload benchmark: walls of 64 and 100 decoding tiles on this machine.

Every tile shows its own camera-like source: a distinct 1280x720 main stream (2 Mbit/s)
with a distinct 640x360 substream (512 kbit/s), both H.264 25 fps, 2 s GOP, no B-frames
(what IP cameras send). The wall is 4x4 panels of 480x270 (1920x1080 in all) drawn
offscreen with software GL; the scene is an 8x8 or 10x10 grid. Far more than two cores
can decode at full rate: the wall must degrade instead of falling behind.

For each scene it runs each given vwall binary in turn (e.g. the build before a change and
the one after it) and measures, over a window after a warm-up, through the control socket:
  redraws/s            frames_rendered grown / seconds
  latency p50/p99      status.latency_p50_ms / _p99_ms (decode -> present, the wall's last
                       1024 new frames) at the end of the window; "worst p99" the highest
                       p99 of those read once a second through the window
  fps per tile         frames_shown grown / seconds, per source: min, median, max; tiles
                       that got no new frame at all in the window ("starved")
  status reply         how long a `status` request took to be answered (the render loop
                       also serves the control socket)
  overloaded           status.overloaded and overload_reason at the end
  CPU                  the process's cores used over the window (/proc)

usage: bench/overload.py [--tiles 64,100] [--duration 20] [--warmup 8] [--settle 60]
                         --vwall NAME=PATH [--vwall NAME=PATH ...]
Results: one line per run on stdout, bench/results/overload.json, and a markdown table.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import proc_cpu, sys_busy, wait_quiet  # noqa: E402

FPS = 25
CLIP_SECONDS = 6
CLIP_VERSION = "o1"  # bump when the recipe below changes


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def make_clip(clips, res, i):
    """One camera-like clip: moving pattern with its own hue, start and noise seed."""
    path = os.path.join(clips, "%s-%dp-%03d.mp4" % (CLIP_VERSION, res, i))
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return path
    w, h, rate = (1280, 720, 2) if res == 720 else (640, 360, 0.5)
    src = ("testsrc2=size=%dx%d:rate=%d,trim=start=%.2f:duration=%d,setpts=PTS-STARTPTS,"
           "hue=h=%.1f,noise=alls=8:allf=t+u:all_seed=%d"
           % (w, h, FPS, 0.13 * i, CLIP_SECONDS, (i * 37.0) % 360, 500 + i))
    kb = int(rate * 1000)
    tmp = path + ".tmp.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
                    "-i", src, "-c:v", "libx264", "-preset", "veryfast", "-g", str(2 * FPS), "-bf", "0",
                    "-b:v", "%dk" % kb, "-maxrate", "%dk" % kb, "-bufsize", "%dk" % (2 * kb),
                    "-pix_fmt", "yuv420p", "-an", tmp], check=True)
    os.rename(tmp, path)
    return path


def wall_file(path, n, clips720, clips360):
    side = int(round(n ** 0.5))
    srcs = ['  { id = "c%03d"; url = "%s"; substream = "%s"; loop = true; }'
            % (i, clips720[i], clips360[i]) for i in range(n)]
    tiles = ['      { source = "c%03d"; cell = [%d, %d]; }' % (i, i % side, i // side) for i in range(n)]
    with open(path, "w") as f:
        f.write('wall = { name = "overload-%d"; screen = { width = 480; height = 270; };\n'
                '  grid = { columns = 4; rows = 4; }; };\n' % n)
        f.write("sources = (\n%s\n);\n" % ",\n".join(srcs))
        f.write('scenes = ( { id = "grid"; default = true; grid = [%d, %d];\n    tiles = (\n%s\n    ); } );\n'
                % (side, side, ",\n".join(tiles)))


def call(sock_path, cmd, timeout=60):
    """One request on its own connection; (reply, seconds to the reply)."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall((json.dumps({"cmd": cmd, "id": 1}) + "\n").encode())
    buf = b""
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            msg = json.loads(line)
            if msg.get("id") == 1:
                s.close()
                return msg, time.monotonic() - t0
        chunk = s.recv(1 << 20)
        if not chunk:
            raise RuntimeError("vwall closed the connection")
        buf += chunk


def run(vwall, cfg, warmup, duration, logpath):
    d = tempfile.mkdtemp(prefix="vwall-overload-")
    sock = os.path.join(d, "s.sock")
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    p = subprocess.Popen([vwall, "-c", cfg, "--output", "offscreen", "--control", "unix:" + sock,
                          "--state-file", "none"], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(logpath, "w"), cwd=ROOT)
    try:
        for _ in range(300):
            if os.path.exists(sock) or p.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(warmup)
        st0, _ = call(sock, "status")
        src0, _ = call(sock, "source.list")
        cpu0, busy0, t0 = proc_cpu(p.pid), sys_busy(), time.monotonic()
        replies = []
        p99s = []  # status.latency_p99_ms once a second: the worst of the window, not only its end
        end = t0 + duration
        while time.monotonic() < end:
            time.sleep(1.0)
            st, dt = call(sock, "status")
            replies.append(dt)
            if st.get("latency_p99_ms") is not None:
                p99s.append(st["latency_p99_ms"])
        st1, dt = call(sock, "status")
        src1, _ = call(sock, "source.list")
        cpu1, busy1, t1 = proc_cpu(p.pid), sys_busy(), time.monotonic()
    finally:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    secs = t1 - t0
    before = {s["id"]: s for s in src0["sources"]}
    fps = []
    subs = skips = 0
    for s in src1["sources"]:
        b = before.get(s["id"], {})
        fps.append((s.get("frames_shown", 0) - b.get("frames_shown", 0)) / secs)
        subs += bool(s.get("substream"))
        skips += bool(s.get("skip_nonref"))
    fps.sort()
    return {
        "seconds": round(secs, 1),
        "redraws_per_s": round((st1["frames_rendered"] - st0["frames_rendered"]) / secs, 2),
        "latency_p50_ms": st1.get("latency_p50_ms"),
        "latency_p99_ms": st1.get("latency_p99_ms"),
        "latency_p99_worst_ms": max(p99s) if p99s else None,
        "latency_p99_each_s": p99s,
        "tile_fps_min": round(fps[0], 2),
        "tile_fps_median": round(statistics.median(fps), 2),
        "tile_fps_max": round(fps[-1], 2),
        "tiles_starved": sum(1 for f in fps if f == 0),
        "shown_per_s": round(sum(fps), 1),
        "status_reply_max_s": round(max(replies), 3) if replies else None,
        "overloaded": st1.get("overloaded"),
        "overload_reason": st1.get("overload_reason"),
        "substreams": subs,
        "skipping": skips,
        "cpu_cores": round((cpu1 - cpu0) / secs, 2) if cpu0 is not None and cpu1 is not None else None,
        "machine_cores_busy": round((busy1 - busy0) / secs, 2),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiles", default="64,100")
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=8)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each build per scene, interleaved")
    ap.add_argument("--settle", type=float, default=60,
                    help="before each run, wait up to this many seconds for the machine to be quiet")
    ap.add_argument("--vwall", action="append", required=True, help="NAME=PATH, in the order to run")
    ap.add_argument("--clips", default=os.path.join(HERE, "clips"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    tiles = [int(x) for x in args.tiles.split(",")]
    builds = [v.split("=", 1) for v in args.vwall]
    os.makedirs(args.clips, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    n_max = max(tiles)
    log("overload: making %d + %d clips (cached in %s)" % (n_max, n_max, args.clips))
    c720 = [make_clip(args.clips, 720, i) for i in range(n_max)]
    c360 = [make_clip(args.clips, 360, i) for i in range(n_max)]
    results = []
    for n in tiles:
        cfg = os.path.join(args.out, "overload-%d.cfg" % n)
        wall_file(cfg, n, c720, c360)
        for name, path in [b for _ in range(args.repeat) for b in builds]:
            load = wait_quiet(args.settle)
            log("overload: %d tiles, %s (others' load before: %.2f cores)" % (n, name, load))
            r = run(os.path.abspath(path), cfg, args.warmup, args.duration,
                    os.path.join(args.out, "overload-%d-%s.log" % (n, name)))
            r.update({"tiles": n, "build": name, "others_load_before": round(load, 2)})
            results.append(r)
            print(json.dumps(r), flush=True)
    with open(os.path.join(args.out, "overload.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("\n| tiles | build | redraws/s | latency p50 / p99 ms | fps per tile min / median / max | "
          "starved tiles | status reply max s | CPU cores (vwall / machine) | overloaded |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print("| %d | %s | %.1f | %s / %s / %s | %.1f / %.1f / %.1f | %d | %s | %s / %s | %s |"
              % (r["tiles"], r["build"], r["redraws_per_s"], r["latency_p50_ms"], r["latency_p99_ms"],
                 r["latency_p99_worst_ms"], r["tile_fps_min"], r["tile_fps_median"], r["tile_fps_max"], r["tiles_starved"],
                 r["status_reply_max_s"], r["cpu_cores"], r["machine_cores_busy"],
                 r["overload_reason"] if r["overloaded"] else "no"))


if __name__ == "__main__":
    main()
