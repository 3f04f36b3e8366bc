#!/usr/bin/python3
"""vwall benchmark driver (run it through scripts/bench.sh).

For each case (N streams of the same generated H.264 clips) it runs, one after the
other on this machine:
  floor  one `ffmpeg -re -stream_loop -1 -threads 2 -i CLIP -f null -` per stream:
         decoding alone at real-time pace, the least any player can cost;
  vwall  vwall showing the N streams on a wall of the same total size, rendered into an
         offscreen framebuffer (SDL offscreen video driver, Mesa llvmpipe);
  mpv    mpv showing them in one window under Xvfb (--vo=gpu, OpenGL on llvmpipe),
         composited with --lavfi-complex xstack at the same output size.
and records CPU seconds per wall second of the whole process (user+sys from wait4's
rusage, the numbers /usr/bin/time prints), peak RSS (summed over the floor's processes),
source frames shown against the frames the sources held over the run, each tool's own
drop count, and vwall's decode->present latency. Results go to bench/results/ as CSV,
JSON and a PNG plot; one summary line per case goes to stdout.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FPS = 30
CLIP_SECONDS = 10
CODEC_THREADS = 2  # src/feeds/source.c: MAX_CODEC_THREADS, thread_count = min(cpus, 2)
OUT_W, OUT_H = 1920, 1080

# Clip recipe version: bump when the encoding below changes, so cached clips are remade.
CLIP_VERSION = "b1"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- clips ----------------------------------------------------------------------------

def clip_path(clips, res, i):
    return os.path.join(clips, "%s-%sp-%02d.mp4" % (CLIP_VERSION, res, i))


def make_clip(clips, res, i):
    """One ~10 s H.264 clip, camera-like: moving test pattern, its own hue, start
    offset and sensor noise (so every stream differs and costs about the same to decode),
    1 s GOP, no B-frames, constant bitrate (3 Mbit/s at 720p, 6 at 1080p)."""
    path = clip_path(clips, res, i)
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return path
    w, h, rate = (1280, 720, "3M") if res == 720 else (1920, 1080, "6M")
    offset = 0.37 * i
    hue = (i * 360.0 / 16 + (0 if res == 720 else 20)) % 360
    src = ("testsrc2=size=%dx%d:rate=%d,trim=start=%.2f:duration=%d,setpts=PTS-STARTPTS,"
           "hue=h=%.1f,noise=alls=10:allf=t+u:all_seed=%d" % (w, h, FPS, offset, CLIP_SECONDS, hue, 1000 + i))
    tmp = path + ".tmp.mp4"
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i", src,
           "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-g", str(2 * FPS), "-bf", "0",
           "-b:v", rate, "-maxrate", rate, "-bufsize", str(2 * int(rate[:-1])) + "M",
           "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709",
           "-color_trc", "bt709", "-color_range", "tv", "-an", tmp]
    log("bench: making %s" % os.path.relpath(path, ROOT))
    subprocess.run(cmd, check=True)
    os.rename(tmp, path)
    return path


# ---- process accounting ---------------------------------------------------------------

class Run:
    """A child process whose rusage (user+sys of it and its waited-for children, peak
    RSS) is collected by wait4 when it ends."""

    def __init__(self, cmd, env=None, stdout=None, stderr=None, cwd=None):
        self.cmd = cmd
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                                  cwd=cwd)
        self.ru = None
        self.rc = None
        self.wall = None

    def signal(self, sig):
        if self.rc is None:
            try:
                self.p.send_signal(sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        end = time.monotonic() + timeout
        while self.rc is None:
            pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid == self.p.pid:
                self.rc = os.waitstatus_to_exitcode(status)
                self.ru = ru
                self.wall = time.monotonic() - self.t0
                self.p.returncode = self.rc
                break
            if time.monotonic() > end:
                return False
            time.sleep(0.02)
        return True

    def finish(self, grace=10):
        """Waits; SIGTERM then SIGKILL when it does not end in `grace` seconds."""
        if not self.wait(grace):
            self.signal(signal.SIGTERM)
            if not self.wait(5):
                self.signal(signal.SIGKILL)
                self.wait(5)

    @property
    def cpu(self):
        return self.ru.ru_utime + self.ru.ru_stime

    @property
    def rss_mb(self):
        return self.ru.ru_maxrss / 1024.0


def proc_cpu(pid):
    """utime+stime of a running process, seconds (from /proc/PID/stat)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def sys_busy():
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_wait, limit=0.25):
    """Waits (at most max_wait s) until other processes use less than `limit` cores, so
    that a run does not share the two cores with a compiler or a test. Returns the load
    (cores) seen last."""
    end = time.monotonic() + max_wait
    while True:
        b0, t0 = sys_busy(), time.monotonic()
        time.sleep(0.5)
        load = (sys_busy() - b0) / (time.monotonic() - t0)
        if load < limit or time.monotonic() >= end:
            return load


def measured(fn, *a, **kw):
    """Runs fn (one of the run_* below) and adds other_cpu_per_s: what the rest of the
    machine used meanwhile (cores), so a run disturbed by other work is visible."""
    b0, t0 = sys_busy(), time.monotonic()
    r = fn(*a, **kw)
    busy, wall = sys_busy() - b0, time.monotonic() - t0
    own = r.get("cpu_s", 0) + (r.get("xvfb_cpu_per_s") or 0) * r.get("wall_s", 0)
    r["other_cpu_per_s"] = max(0.0, (busy - own) / wall)
    return r


# ---- the three players ----------------------------------------------------------------

def run_floor(clips, T, logdir, tag):
    """Decode-only floor: one real-time ffmpeg per stream, threads as vwall's decoder."""
    runs, progress = [], []
    for i, clip in enumerate(clips):
        prog = os.path.join(logdir, "%s-floor-%d.progress" % (tag, i))
        progress.append(prog)
        cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-re",
               "-stream_loop", "-1", "-threads", str(CODEC_THREADS), "-i", clip,
               "-map", "0:v", "-f", "null", "-progress", prog, "-"]
        runs.append(Run(cmd, stderr=open(os.path.join(logdir, "%s-floor-%d.log" % (tag, i)), "w")))
    time.sleep(T)
    for r in runs:
        r.signal(signal.SIGINT)  # ffmpeg ends cleanly on the first SIGINT and writes its totals
    for r in runs:
        r.finish()
    frames = 0
    for prog in progress:
        got = 0
        try:
            with open(prog) as f:
                for line in f:
                    if line.startswith("frame="):
                        got = int(line.split("=", 1)[1])
        except (OSError, ValueError):
            pass
        frames += got
    wall = max(r.wall for r in runs)
    cpu = sum(r.cpu for r in runs)
    return {
        "wall_s": wall, "cpu_s": cpu, "cpu_per_s": cpu / wall,
        "peak_rss_mb": sum(r.rss_mb for r in runs),
        "frames_shown": frames, "dropped": 0,
        "rc": max(abs(r.rc) for r in runs),
    }


def wall_cfg(path, name, panel_w, panel_h, cols, rows, clips, scene_grid, extra_sources=None,
             extra_scenes=None, source_opts=""):
    """Writes a wall file: `clips` as sources s0.., one scene "all" placing them in a
    scene_grid (cols, rows) over the whole wall, row by row."""
    gc, gr = scene_grid
    srcs = ['  { id = "s%d"; url = "%s"; loop = true;%s }' % (i, c, source_opts) for i, c in enumerate(clips)]
    srcs += extra_sources or []
    tiles = ['      { source = "s%d"; cell = [%d, %d]; }' % (i, i % gc, i // gc) for i in range(len(clips))]
    scenes = ['  { id = "all"; default = true; grid = [%d, %d];\n    tiles = (\n%s\n    ); }'
              % (gc, gr, ",\n".join(tiles))]
    scenes += extra_scenes or []
    text = ('wall = { name = "%s"; screen = { width = %d; height = %d; }; grid = { columns = %d; rows = %d; }; };\n'
            'sources = (\n%s\n);\nscenes = (\n%s\n);\n'
            % (name, panel_w, panel_h, cols, rows, ",\n".join(srcs), ",\n".join(scenes)))
    with open(path, "w") as f:
        f.write(text)
    return path


def run_vwall(vwall, cfg, T, logdir, tag, extra_args=(), env_extra=None, shown_prefix="s"):
    stats = os.path.join(logdir, "%s-vwall.json" % tag)
    if os.path.exists(stats):
        os.unlink(stats)
    env = dict(os.environ)
    env.setdefault("SDL_VIDEODRIVER", "offscreen")
    env.update(env_extra or {})
    cmd = [vwall, "-c", cfg, "--output", "offscreen", "--duration", "%g" % T, "--stats", stats,
           "--control", "none"] + list(extra_args)
    if env_extra and env_extra.get("SDL_VIDEODRIVER") == "x11":
        cmd[cmd.index("offscreen")] = "window"
    r = Run(cmd, env=env, stderr=open(os.path.join(logdir, "%s-vwall.log" % tag), "w"), cwd=ROOT)
    r.finish(grace=T + 60)
    res = {"wall_s": r.wall, "cpu_s": r.cpu, "cpu_per_s": r.cpu / r.wall, "peak_rss_mb": r.rss_mb, "rc": r.rc}
    try:
        with open(stats) as f:
            st = json.load(f)
    except (OSError, ValueError):
        res["error"] = "no --stats output (exit %s); see %s-vwall.log" % (r.rc, tag)
        return res
    s = st.get("status", {})
    # Only the sources that tiles show (ids s0, s1, ...): vwall also counts frames of
    # hidden warm sources as shown, because it uploads them too.
    srcs = [x for x in st.get("sources", []) if str(x.get("id", "")).startswith(shown_prefix)]
    hidden = [x for x in st.get("sources", []) if not str(x.get("id", "")).startswith(shown_prefix)]
    if hidden:
        res["hidden_frames_counted_as_shown"] = sum(x.get("frames_shown", 0) for x in hidden)
    res.update({
        "frames_shown": sum(x.get("frames_shown", 0) for x in srcs),
        "frames_decoded": sum(x.get("frames_decoded", 0) for x in srcs),
        # decoded but never shown, as status.frames_dropped counts it, over the shown sources
        "dropped": sum(max(0, x.get("frames_decoded", 0) - x.get("frames_shown", 0) - 1) for x in srcs),
        "status_frames_dropped": s.get("frames_dropped"),
        "frames_rendered": s.get("frames_rendered"),
        # the render thread alone: composing and drawing, without decoding
        "render_thread_cpu_per_s": (s["render_cpu_s"] / s["uptime_s"]
                                    if s.get("render_cpu_s") is not None and s.get("uptime_s") else None),
        "frames_uploaded": s.get("frames_uploaded"),
        "frames_late": sum(x.get("frames_late", 0) for x in srcs),
        "render_fps": s.get("render_fps"),
        "latency_p50_ms": s.get("latency_p50_ms"),
        "latency_p99_ms": s.get("latency_p99_ms"),
        "switch_ms": s.get("switch_ms"),
        "compose": s.get("compose"),
        "gl_renderer": s.get("gl_renderer"),
        "source_states": sorted(set(x.get("state") for x in srcs)),
    })
    return res


class Xvfb:
    """An X server of one screen, for mpv's window; its own CPU is read from /proc."""

    def __init__(self, w, h, logdir):
        self.display = None
        for n in range(90, 140):
            if not os.path.exists("/tmp/.X%d-lock" % n) and not os.path.exists("/tmp/.X11-unix/X%d" % n):
                self.display = ":%d" % n
                break
        self.p = subprocess.Popen(["Xvfb", self.display, "-screen", "0", "%dx%dx24" % (w, h), "-nolisten", "tcp",
                                   "-noreset"], stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(logdir, "xvfb.log"), "a"))
        sock = "/tmp/.X11-unix/X%s" % self.display[1:]
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        time.sleep(0.2)

    def cpu(self):
        return proc_cpu(self.p.pid)

    def close(self):
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def mpv_lavfi(n, tile_w, tile_h, cols, scale):
    """The xstack graph: n inputs, cols per row, each scaled to tile_w x tile_h."""
    parts, labels, layout = [], [], []
    for i in range(n):
        if scale:
            parts.append("[vid%d]scale=%d:%d:flags=bilinear[t%d]" % (i + 1, tile_w, tile_h, i))
            labels.append("[t%d]" % i)
        else:
            labels.append("[vid%d]" % (i + 1))
        layout.append("%d_%d" % ((i % cols) * tile_w, (i // cols) * tile_h))
    parts.append("%sxstack=inputs=%d:layout=%s[vo]" % ("".join(labels), n, "|".join(layout)))
    return ";".join(parts)


def run_mpv(clips, T, out_w, out_h, cols, tile_w, tile_h, scale, logdir, tag):
    xdg = os.path.join(logdir, "xdg")
    os.makedirs(xdg, mode=0o700, exist_ok=True)
    stats = os.path.join(logdir, "%s-mpv.json" % tag)
    if os.path.exists(stats):
        os.unlink(stats)
    x = Xvfb(out_w, out_h, logdir)
    env = dict(os.environ, DISPLAY=x.display, XDG_RUNTIME_DIR=xdg)
    env.pop("WAYLAND_DISPLAY", None)
    cmd = ["mpv", "--no-config", "--no-terminal", "--vo=gpu", "--gpu-api=opengl", "--gpu-sw=yes",
           "--untimed=no", "--loop-file=inf", "--no-audio", "--vd-lavc-threads=%d" % CODEC_THREADS,
           "--geometry=%dx%d+0+0" % (out_w, out_h), "--no-border", "--osc=no", "--osd-level=0",
           "--script=%s" % os.path.join(HERE, "benchstats.lua"),
           "--script-opts=benchstats-duration=%g,benchstats-out=%s" % (T, stats),
           "--log-file=%s" % os.path.join(logdir, "%s-mpv.log" % tag)]
    if len(clips) > 1:
        cmd += ["--external-files=%s" % ":".join(clips[1:]),
                "--lavfi-complex=%s" % mpv_lavfi(len(clips), tile_w, tile_h, cols, scale)]
    cmd.append(clips[0])
    xcpu0 = x.cpu()
    r = Run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r.finish(grace=T + 60)
    xcpu = x.cpu()
    x.close()
    res = {"wall_s": r.wall, "cpu_s": r.cpu, "cpu_per_s": r.cpu / r.wall, "peak_rss_mb": r.rss_mb, "rc": r.rc,
           "xvfb_cpu_per_s": (xcpu - xcpu0) / r.wall if xcpu is not None and xcpu0 is not None else None}
    try:
        with open(stats) as f:
            st = json.load(f)
    except (OSError, ValueError):
        res["error"] = "no stats from the mpv script (exit %s); see %s-mpv.log" % (r.rc, tag)
        return res
    n = len(clips)
    fps = st.get("fps") or FPS
    drops = st["frame_drop_count"] + st["decoder_frame_drop_count"]
    out_frames = max(0, round(st["video_s"] * fps) - drops)
    # One composite frame carries one frame of every stream: count source frames.
    res.update({"frames_shown": n * out_frames, "dropped": n * drops, "mpv": st})
    return res


# ---- scene switching -------------------------------------------------------------------

class Control:
    """A newline-delimited JSON client of vwall's control socket."""

    def __init__(self, path, timeout=5):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.n = 0

    def call(self, cmd, **args):
        self.n += 1
        req = dict(args, cmd=cmd, id=self.n)
        self.s.sendall(json.dumps(req).encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise ConnectionError("vwall closed the control socket")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if msg.get("id") == self.n:  # events have no id
                return msg

    def close(self):
        self.s.close()


def find_key(obj, key):
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            got = find_key(v, key)
            if got is not None:
                return got
    return None


def run_switch(vwall, clips, logdir, reps):
    """Scene switch to first frame of every tile: warm sources (warm = true, decoding
    while hidden) against cold ones (not started until the switch). Three scenes of four
    720p tiles on a 2x2 wall of 960x540 panels."""
    sock = os.path.join(logdir, "vwall-switch.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    src, scenes = [], []
    for k, (sid, opts) in enumerate((("w", " warm = true;"), ("c", " linger = 0;"))):
        for i in range(4):
            src.append('  { id = "%s%d"; url = "%s"; loop = true;%s }' % (sid, i, clips[4 * (k + 1) + i], opts))
        tiles = ['      { source = "%s%d"; cell = [%d, %d]; }' % (sid, i, i % 2, i // 2) for i in range(4)]
        scenes.append('  { id = "%s"; grid = [2, 2];\n    tiles = (\n%s\n    ); }'
                      % ("warm" if sid == "w" else "cold", ",\n".join(tiles)))
    cfg = wall_cfg(os.path.join(logdir, "switch.cfg"), "bench-switch", 960, 540, 2, 2, clips[:4], (2, 2),
                   extra_sources=src, extra_scenes=scenes)
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    errlog = os.path.join(logdir, "switch-vwall.log")
    r = Run([vwall, "-c", cfg, "--output", "offscreen", "--control", "unix:" + sock],
            env=env, stderr=open(errlog, "w"), cwd=ROOT)
    res = {"warm_ms": [], "cold_ms": []}
    ctl = None
    try:
        for _ in range(100):
            if os.path.exists(sock) or r.p.poll() is not None:
                break
            time.sleep(0.05)
        try:
            ctl = Control(sock)
        except OSError as e:
            res["error"] = "no control socket (%s)" % e
            return res
        time.sleep(1.5)  # home scene up, warm sources decoding

        pattern = re.compile(r"scene '([^']*)': every tile has a picture, (\d+) ms after the switch")

        def completions():
            with open(errlog) as f:
                return pattern.findall(f.read())

        def switch(scene):
            """Switches and returns status.switch_ms once every tile has a picture. vwall
            rewrites switch_ms only then, and logs it: the log line says which switch the
            value belongs to."""
            seen = len(completions())
            rep = ctl.call("scene.switch", scene=scene)
            if rep.get("ok") is False or rep.get("error"):
                raise RuntimeError("scene.switch %s: %s" % (scene, json.dumps(rep)))
            t_end = time.monotonic() + 5
            while time.monotonic() < t_end:
                done = completions()
                if len(done) > seen and done[-1][0] == scene:
                    ms = find_key(ctl.call("status"), "switch_ms")
                    return ms if ms is not None else int(done[-1][1])
                time.sleep(0.01)
            raise RuntimeError("scene %s: no first frame on every tile within 5 s" % scene)

        for _ in range(reps):
            res["warm_ms"].append(switch("warm"))
            time.sleep(0.3)
            switch("all")
            time.sleep(1.0)  # cold sources: linger 0, so they were stopped when their scene left
            res["cold_ms"].append(switch("cold"))
            time.sleep(0.3)
            switch("all")
            time.sleep(1.0)
    except (OSError, RuntimeError, ValueError) as e:
        res["error"] = str(e)
    finally:
        if ctl:
            ctl.close()
        r.signal(signal.SIGTERM)
        r.finish(grace=10)
    for k in ("warm_ms", "cold_ms"):
        v = sorted(res[k])
        if v:
            res[k.replace("_ms", "_p50_ms")] = v[len(v) // 2]
            res[k.replace("_ms", "_max_ms")] = v[-1]
    return res


# ---- the cases -------------------------------------------------------------------------

def cases_for(args):
    cases = []
    for n in args.n:
        k = int(math.isqrt(n))
        if k * k != n:
            sys.exit("bench: N=%d: the wall is sqrt(N) x sqrt(N) panels, N must be a square" % n)
        cases.append({"name": "720p-x%d" % n, "res": 720, "n": n, "cols": k, "rows": k,
                      "panel_w": OUT_W // k, "panel_h": OUT_H // k, "scene_grid": (k, k),
                      "out_w": OUT_W, "out_h": OUT_H, "tile_w": OUT_W // k, "tile_h": OUT_H // k, "scale": True,
                      "floor_key": "720-%d" % n,
                      "wall": "%dx%d panels of %dx%d" % (k, k, OUT_W // k, OUT_H // k)})
    if args.hd:
        cases.append({"name": "1080p-x4-1panel", "res": 1080, "n": 4, "cols": 1, "rows": 1,
                      "panel_w": OUT_W, "panel_h": OUT_H, "scene_grid": (2, 2), "out_w": OUT_W, "out_h": OUT_H,
                      "tile_w": OUT_W // 2, "tile_h": OUT_H // 2, "scale": True, "floor_key": "1080-4",
                      "wall": "1 panel of 1920x1080 (2x2 tiles)"})
        cases.append({"name": "1080p-x4-2x2wall", "res": 1080, "n": 4, "cols": 2, "rows": 2,
                      "panel_w": OUT_W, "panel_h": OUT_H, "scene_grid": (2, 2), "out_w": 2 * OUT_W,
                      "out_h": 2 * OUT_H, "tile_w": OUT_W, "tile_h": OUT_H, "scale": False, "floor_key": "1080-4",
                      "wall": "2x2 panels of 1920x1080 (3840x2160)"})
    return cases


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def summarise(case, rows, T):
    by = {r["tool"]: r for r in rows if r["case"] == case["name"]}
    f, v, m = by.get("floor", {}), by.get("vwall", {}), by.get("mpv", {})

    def part(name, r, extra=""):
        if not r:
            return "%s skipped" % name
        if r.get("error"):
            return "%s FAILED (%s)" % (name, r["error"])
        busy = r.get("other_cpu_per_s") or 0
        return "%s %s cores %s MB shown %s%% dropped %s%s%s" % (
            name, fmt(r.get("cpu_per_s")), fmt(r.get("peak_rss_mb"), "%.0f"), fmt(r.get("shown_pct"), "%.1f"),
            fmt(r.get("dropped"), "%d"), extra, " [DISTURBED: others used %.2f cores]" % busy if busy > 0.15 else "")
    vx = ""
    if v and v.get("latency_p50_ms") is not None:
        vx = " latency p50/p99 %s/%s ms, %s redraws/s" % (
            fmt(v["latency_p50_ms"], "%.1f"), fmt(v["latency_p99_ms"], "%.1f"),
            fmt(v["frames_rendered"] / v["wall_s"] if v.get("frames_rendered") else None, "%.1f"))
    return "%-17s %2d x %dp on %s, T=%gs | %s | %s | %s | vwall/floor %s x, vwall/mpv %s x" % (
        case["name"], case["n"], case["res"], case["wall"], T, part("floor", f), part("vwall", v, vx),
        part("mpv", m), fmt(v.get("cpu_vs_floor")), fmt(v.get("cpu_vs_mpv")))


CSV_COLS = ["case", "tool", "streams", "stream_res", "wall", "out_w", "out_h", "duration_s", "wall_s", "cpu_s",
            "cpu_per_s", "peak_rss_mb", "frames_expected", "frames_shown", "shown_pct", "dropped",
            "latency_p50_ms", "latency_p99_ms", "render_fps", "frames_rendered", "frames_uploaded", "frames_late", "render_cpu_ms", "render_thread_cpu_per_s", "xvfb_cpu_per_s", "other_cpu_per_s", "cpu_vs_floor", "cpu_vs_mpv",
            "rss_vs_floor", "compose", "gl_renderer", "note", "error"]


def write_csv(path, rows):
    import csv
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def ver(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return None
    src_dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "shaders"],
                               capture_output=True, text=True).stdout.strip() != ""
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "git": (ver(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) or "?") + (
                " + uncommitted src/ changes" if src_dirty else ""),
            "gl": "Mesa llvmpipe (software), SDL offscreen driver for vwall",
            "ffmpeg": ver(["ffmpeg", "-hide_banner", "-version"]), "mpv": ver(["mpv", "--version"])}


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="T=5 s, N in {1,4}, no 1080p, A/B or switch runs (< 2 min)")
    ap.add_argument("--duration", "-T", type=float, help="seconds per run (default 30, --quick 5)")
    ap.add_argument("--n", type=lambda s: [int(x) for x in s.split(",")],
                    help="720p stream counts, comma-separated squares (default 1,4,9,16)")
    ap.add_argument("--no-hd", dest="hd", action="store_false", default=None, help="skip the 4 x 1080p cases")
    ap.add_argument("--tools", default="floor,vwall,mpv", help="which of floor,vwall,mpv to run")
    ap.add_argument("--no-ab", dest="ab", action="store_false", default=None,
                    help="skip the vwall A/B runs (--max-fps 30, window under Xvfb)")
    ap.add_argument("--no-switch", dest="switch", action="store_false", default=None,
                    help="skip the scene-switch timing")
    ap.add_argument("--settle", type=float, help="before each run, wait up to this many seconds for the "
                    "machine to be idle (default 30, --quick 5; 0: do not wait)")
    ap.add_argument("--vwall", default=os.path.join(ROOT, "build-bench", "vwall"), help="the vwall binary")
    ap.add_argument("--clips", default=os.path.join(HERE, "clips"), help="clip cache folder")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="results folder")
    args = ap.parse_args()
    T = args.duration or (5.0 if args.quick else 30.0)
    if args.settle is None:
        args.settle = 5.0 if args.quick else 30.0
    if args.n is None:
        args.n = [1, 4] if args.quick else [1, 4, 9, 16]
    for opt in ("hd", "ab", "switch"):
        if getattr(args, opt) is None:
            setattr(args, opt, not args.quick)
    tools = set(args.tools.split(","))
    for tool, needs in (("mpv", ("mpv", "Xvfb")), ("floor", ("ffmpeg",))):
        missing = [x for x in needs if not shutil.which(x)]
        if tool in tools and missing:
            log("bench: %s missing (scripts/install-bench-deps.sh installs it): %s runs skipped"
                % (", ".join(missing), tool))
            tools.discard(tool)
    if "vwall" in tools and not os.access(args.vwall, os.X_OK):
        log("bench: %s is missing: vwall runs skipped" % args.vwall)
        tools.discard("vwall")

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    os.makedirs(args.out, exist_ok=True)
    logdir = os.path.join(args.out, "logs-" + stamp)
    os.makedirs(logdir, exist_ok=True)
    os.makedirs(args.clips, exist_ok=True)

    cases = cases_for(args)
    need720 = max([c["n"] for c in cases if c["res"] == 720] + [12 if args.switch and "vwall" in tools else 0])
    if args.ab and "vwall" in tools:
        need720 = max(need720, max([c["n"] for c in cases if c["res"] == 720] or [0]) + 4)
    clips = {720: [make_clip(args.clips, 720, i) for i in range(need720)],
             1080: [make_clip(args.clips, 1080, i) for i in range(4)] if args.hd else []}

    mach = machine()  # now: the vwall just built is of this commit
    t_start = time.monotonic()
    rows, floors = [], {}
    busy_warnings = []

    def settle():
        load = wait_quiet(args.settle) if args.settle > 0 else 0.0
        if load >= 0.25:
            busy_warnings.append(load)
            log("bench: other processes use %.2f cores; measuring anyway" % load)
    for case in cases:
        n = case["n"]
        cl = clips[case["res"]][:n]
        expected = n * FPS * T
        common = {"case": case["name"], "streams": n, "stream_res": "%dp%d" % (case["res"], FPS),
                  "wall": case["wall"], "out_w": case["out_w"], "out_h": case["out_h"], "duration_s": T,
                  "frames_expected": expected}
        tag = case["name"]
        if "floor" in tools:
            if case["floor_key"] not in floors:
                log("bench: %s: floor (%d x ffmpeg -re, %d threads each)" % (tag, n, CODEC_THREADS))
                settle()
                floors[case["floor_key"]] = measured(run_floor, cl, T, logdir, tag)
                time.sleep(1)
            rows.append(dict(common, tool="floor", **floors[case["floor_key"]]))
        if "vwall" in tools:
            log("bench: %s: vwall (%s, offscreen)" % (tag, case["wall"]))
            cfg = wall_cfg(os.path.join(logdir, tag + ".cfg"), "bench-" + tag, case["panel_w"], case["panel_h"],
                           case["cols"], case["rows"], cl, case["scene_grid"])
            settle()
            rows.append(dict(common, tool="vwall", **measured(run_vwall, args.vwall, cfg, T, logdir, tag)))
            time.sleep(1)
        if "mpv" in tools:
            log("bench: %s: mpv (%dx%d window under Xvfb, xstack)" % (tag, case["out_w"], case["out_h"]))
            settle()
            rows.append(dict(common, tool="mpv", **measured(run_mpv, cl, T, case["out_w"], case["out_h"], case["cols"] if
                                                           case["res"] == 720 else 2, case["tile_w"],
                                                           case["tile_h"], case["scale"], logdir, tag)))
            time.sleep(1)
        # Ratios and frame shares for this case.
        by = {r["tool"]: r for r in rows if r["case"] == case["name"]}
        for r in by.values():
            if r.get("frames_shown") is not None:
                r["shown_pct"] = 100.0 * r["frames_shown"] / expected
        v = by.get("vwall")
        if v and not v.get("error"):
            if "floor" in by:
                v["cpu_vs_floor"] = v["cpu_per_s"] / by["floor"]["cpu_per_s"]
                v["rss_vs_floor"] = v["peak_rss_mb"] / by["floor"]["peak_rss_mb"]
                if v.get("frames_rendered"):
                    # CPU above the floor per wall redraw: what compositing one output frame costs
                    v["render_cpu_ms"] = 1000.0 * (v["cpu_s"] - by["floor"]["cpu_per_s"] * v["wall_s"]) / v[
                        "frames_rendered"]
            if "mpv" in by and not by["mpv"].get("error"):
                v["cpu_vs_mpv"] = v["cpu_per_s"] / by["mpv"]["cpu_per_s"]
        print(summarise(case, rows, T), flush=True)

    # A/B runs of vwall knobs, on the 9-stream case (the target case).
    ab = []
    ab_case = next((c for c in cases if c["name"] == "720p-x9"), None) or next(
        (c for c in cases if c["res"] == 720), None)
    if args.ab and "vwall" in tools and ab_case:
        n = ab_case["n"]
        cl = clips[720][:n]
        cfg = os.path.join(logdir, ab_case["name"] + ".cfg")
        base = next((r for r in rows if r["case"] == ab_case["name"] and r["tool"] == "vwall"), None)
        variants = [
            ("compose-gpu", cfg, ["--compose", "gpu"], None,
             "--compose gpu (YUV shaders on llvmpipe; auto picks cpu here)"),
            ("max-fps-30", cfg, ["--max-fps", "30"], None, "--max-fps 30 (default 60)"),
            ("warm-hidden-4", None, [], None, "plus 4 warm sources that no tile shows"),
            ("x11-window", cfg, [], "x11", "--output window on Xvfb (SDL x11 driver, llvmpipe)"),
        ]
        for name, vcfg, extra, driver, note in variants:
            log("bench: A/B %s: vwall %s" % (ab_case["name"], note))
            if vcfg is None:  # warm-hidden: the same wall and scene, 4 more warm sources
                hidden = ['  { id = "h%d"; url = "%s"; loop = true; warm = true; }' % (i, c)
                          for i, c in enumerate(clips[720][n:n + 4])]
                vcfg = wall_cfg(os.path.join(logdir, ab_case["name"] + "-" + name + ".cfg"), "bench-" + name,
                                ab_case["panel_w"], ab_case["panel_h"], ab_case["cols"], ab_case["rows"], cl,
                                ab_case["scene_grid"], extra_sources=hidden)
            x = Xvfb(OUT_W, OUT_H, logdir) if driver == "x11" else None
            try:
                envx = {"SDL_VIDEODRIVER": "x11", "DISPLAY": x.display} if x else None
                xcpu0 = x.cpu() if x else None
                settle()
                r = measured(run_vwall, args.vwall, vcfg, T, logdir, ab_case["name"] + "-" + name, extra, envx)
                if x and xcpu0 is not None and x.cpu() is not None:
                    r["xvfb_cpu_per_s"] = (x.cpu() - xcpu0) / r["wall_s"]
            finally:
                if x:
                    x.close()
            r.update({"case": ab_case["name"] + "-" + name, "tool": "vwall", "streams": n, "stream_res": "720p30",
                      "wall": ab_case["wall"], "out_w": OUT_W, "out_h": OUT_H, "duration_s": T,
                      "frames_expected": n * FPS * T, "note": note})
            if r.get("frames_shown") is not None:
                r["shown_pct"] = 100.0 * r["frames_shown"] / r["frames_expected"]
            fl = floors.get(ab_case["floor_key"])
            if fl and not r.get("error"):
                r["cpu_vs_floor"] = r["cpu_per_s"] / fl["cpu_per_s"]
                if r.get("frames_rendered") and name != "warm-hidden-4":
                    r["render_cpu_ms"] = 1000.0 * (r["cpu_s"] - fl["cpu_per_s"] * r["wall_s"]) / r["frames_rendered"]
            ab.append(r)
            rows.append(r)
            def redraws(x):
                return x["frames_rendered"] / x["wall_s"] if x and x.get("frames_rendered") else None
            print("A/B %-28s %s cores (default: %s), shown %s%% (default: %s%%), dropped %s (default: %s), "
                  "latency p50/p99 %s/%s ms, %s redraws/s (default: %s)" % (
                      r["case"], fmt(r.get("cpu_per_s")), fmt(base and base.get("cpu_per_s")),
                      fmt(r.get("shown_pct"), "%.1f"), fmt(base and base.get("shown_pct"), "%.1f"),
                      fmt(r.get("dropped"), "%d"), fmt(base and base.get("dropped"), "%d"),
                      fmt(r.get("latency_p50_ms"), "%.1f"), fmt(r.get("latency_p99_ms"), "%.1f"),
                      fmt(redraws(r), "%.1f"), fmt(redraws(base), "%.1f")), flush=True)
            time.sleep(1)

    sw = None
    if args.switch and "vwall" in tools:
        log("bench: scene switch, warm vs cold sources")
        sw = run_switch(args.vwall, clips[720], logdir, reps=5)
        if sw.get("error") and not sw["warm_ms"]:
            print("switch: not measured (%s)" % sw["error"], flush=True)
        else:
            print("switch: to first frame of every tile, warm sources p50 %s ms (max %s), cold p50 %s ms (max %s)%s"
                  % (sw.get("warm_p50_ms"), sw.get("warm_max_ms"), sw.get("cold_p50_ms"), sw.get("cold_max_ms"),
                     " (error: %s)" % sw["error"] if sw.get("error") else ""), flush=True)

    result = {"when": stamp, "duration_s": T, "quick": args.quick, "fps": FPS, "codec_threads": CODEC_THREADS,
              "machine": mach, "elapsed_s": round(time.monotonic() - t_start, 1),
              "vwall": args.vwall if "vwall" in tools else None, "rows": rows, "switch": sw,
              "logs": os.path.relpath(logdir, ROOT)}
    for name in ("bench-%s.json" % stamp, "latest.json"):
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(result, f, indent=1, default=str)
    for name in ("bench-%s.csv" % stamp, "latest.csv"):
        write_csv(os.path.join(args.out, name), rows)
    png = os.path.join(args.out, "latest.png")
    try:
        import plot
        plot.plot(result, png)
        shutil.copy(png, os.path.join(args.out, "bench-%s.png" % stamp))
    except ImportError as e:
        log("bench: no plot (%s); scripts/install-bench-deps.sh installs matplotlib" % e)
    log("bench: results in %s/{latest.csv,latest.json,latest.png}, logs in %s"
        % (os.path.relpath(args.out, ROOT), os.path.relpath(logdir, ROOT)))
    disturbed = [r for r in rows if (r.get("other_cpu_per_s") or 0) > 0.15]
    if disturbed:
        print("bench: WARNING: %d of %d runs shared the machine with other work (> 0.15 cores): %s"
              % (len(disturbed), len(rows), ", ".join("%s/%s %.2f" % (r["case"], r["tool"], r["other_cpu_per_s"])
                                                     for r in disturbed)), flush=True)
    failed = [r for r in rows if r.get("error")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
