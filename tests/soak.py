#!/usr/bin/python3
"""Soak test: the real vwall under the mixed 24/7 load of issue 12 (class 8).

    /usr/bin/python3 tests/soak.py --vwall build/vwall                  # 30 minutes
    /usr/bin/python3 tests/soak.py --vwall build/vwall --minutes 2.5    # the ctest `soak`

It starts tests/rtsp_server.py with --cams N (default 8) and vwall (headless) on a wall file of
those cameras in three scenes (the first half, the second half, all of them) with linger 2 s,
so streams really stop and start. Every scene also shows two more tiles: a flapping camera
(an HTTP server on loopback that sends two seconds of MPEG-TS per connection and hangs up)
and a looped MPEG-TS file whose picture size changes mid-stream (320x180, then 640x360). For
--minutes (or --duration seconds), all at once:
  - the camera server is SIGKILLed and restarted on the same port (up --up s, down --down s:
    every 20 s by default);
  - the scene switches every --switch-every s (2; seeded random order, --seed);
  - the wall file is rewritten (cam1's stall_timeout 2 <-> 3) and reloaded every
    --reload-every s (15);
  - a screenshot is taken every --shot-every s (5) and deleted;
  - --clients-per-s control clients (5) connect every second, ping (half of them subscribe
    to every event first) and leave: 100+ within the first half minute;
  - status and source.list are polled once a second (vwall must answer every time).

At two checkpoints, the end of warm-up (a third of the run) and the end, the server is
killed and restarted once more with the "all" scene showing, and then:
  - every source shown is live again within its backoff_ms (read when the server is back)
    + 2 s, and the screenshot shows video in every tile;
  - RSS (VmRSS), open file descriptors and threads of vwall are read from /proc.
At the end: RSS within 10 % of warm-up, fds and threads no more than a small slack above it,
vwall still answering, and a clean exit (status 0 within 5 s of SIGTERM, no ASan/UBSan/LSan
report in its log). Prints a summary line and `soak: N passed, M failed`; exit status 0 when
all passed.
"""
import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import live_test as lt  # noqa: E402  (the live wall: its helpers, screenshots and tiles)
import vwtest  # noqa: E402  (the harness: checks, the RTSP server, the control client)
from vwtest import check  # noqa: E402

FD_SLACK = 4
THREAD_SLACK = 2
RSS_TOLERANCE = 0.10


def proc_stats(pid):
    with open(f"/proc/{pid}/status") as f:
        rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return {"rss_kb": rss_kb, "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": len(os.listdir(f"/proc/{pid}/task"))}


def is_asan(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def grid_for(n):
    cols = math.ceil(math.sqrt(n))
    return cols, math.ceil(n / cols)


def make_ts(workdir):
    """fwd.ts: 2 s of 320x180 at 25 fps (the flapping camera's burst); fmt.ts: that, then 2 s
    at 640x360 (a picture size change mid-stream, and timestamps that start over)."""
    def ff(*a):
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *a], check=True)
    fwd = os.path.join(workdir, "fwd.ts")
    big = os.path.join(workdir, "big.ts")
    fmt = os.path.join(workdir, "fmt.ts")
    for path, size in ((fwd, "320x180"), (big, "640x360")):
        ff("-f", "lavfi", "-i", f"testsrc=size={size}:rate=25", "-t", "2", "-c:v", "libx264",
           "-g", "25", "-pix_fmt", "yuv420p", "-f", "mpegts", path)
    with open(fmt, "wb") as out:
        for path in (fwd, big):
            with open(path, "rb") as f:
                out.write(f.read())
    return fwd, fmt


class FlapServer(vwtest.LoopbackServer):
    """HTTP on 127.0.0.1: every connection gets `data` (a 2 s MPEG-TS) and is closed, like a
    camera that drops its clients after a moment."""

    def __init__(self, data):
        self.data = data
        super().__init__(backlog=16)

    def handle(self, c):
        try:
            c.settimeout(5)
            c.recv(4096)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\n\r\n" + self.data)
        except OSError:
            pass
        c.close()


EXTRA = ["flap", "fmt"]  # shown in every scene; not expected to be steadily live


def wall_file(srv, cams, linger, flap_url=None, fmt_path=None, stall_cam1=2):
    ids = [f"cam{i}" for i in range(1, cams + 1)]
    half = max(1, cams // 2)
    scenes = {"north": ids[:half], "south": ids[half:] or ids[:1], "all": ids}
    sources = ",\n".join(f'  {{ id = "{i}"; url = "{srv.url(i)}"; linger = {linger}; '
                         f'stall_timeout = {stall_cam1 if i == "cam1" else 2}; }}' for i in ids)
    extra = []
    if flap_url:
        sources += f',\n  {{ id = "flap"; url = "{flap_url}"; stall_timeout = 2; }}'
        extra.append("flap")
    if fmt_path:
        sources += f',\n  {{ id = "fmt"; url = "{fmt_path}"; loop = true; }}'
        extra.append("fmt")
    sc = []
    for name, cams_shown in scenes.items():
        members = cams_shown + extra
        c, r = grid_for(len(members))
        tiles = ", ".join(f'{{ source = "{m}"; cell = [{k % c}, {k // c}]; }}'
                          for k, m in enumerate(members))
        sc.append(f'  {{ id = "{name}"; grid = [{c}, {r}]; tiles = ( {tiles} ); }}')
    scene_text = ",\n".join(sc)
    text = f"""
wall = {{ name = "soak"; screen = {{ width = 320; height = 180; }}; grid = {{ columns = 2; rows = 2; }};
  label_size = 12; }};
sources = (
{sources}
);
scenes = (
{scene_text}
);
control = {{ screenshot_dir = "@SHOTS@"; }};
"""
    return text, scenes


class Soak:
    def __init__(self, args):
        self.args = args
        self.srv = vwtest.RtspServer(args.workdir, cams=args.cams)
        self.v = None
        self.flap = None
        self.fmt_path = None
        self.restarts = 0
        self.switches = 0
        self.polls = 0
        self.poll_failures = 0
        self.events = 0
        self.reloads = 0
        self.reload_failures = 0
        self.shots = 0
        self.clients = 0
        self.stall_cam1 = 2
        self.rss_log = []  # (seconds since start, RSS KiB, fds, threads)
        self.t0 = time.monotonic()
        self.recovery = []  # (checkpoint, source, seconds, backoff_ms)

    def wall_text(self):
        return wall_file(self.srv, self.args.cams, self.args.linger,
                         self.flap and f"http://127.0.0.1:{self.flap.port}/flap", self.fmt_path,
                         self.stall_cam1)

    def reload(self):
        """Rewrites the wall file with cam1's stall_timeout toggled and reloads it."""
        self.stall_cam1 = 5 - self.stall_cam1
        text, _ = self.wall_text()
        with open(self.v.cfg, "w", encoding="utf-8") as f:
            f.write(text.replace("@SHOTS@", self.v.shots))
        r = self.v.c.call("config.reload")
        self.reloads += 1
        if not r.get("ok"):
            self.reload_failures += 1
            print(f"soak: config.reload failed: {r}", file=sys.stderr, flush=True)

    def screenshot(self):
        self.shots += 1
        r = self.v.c.call("screenshot", file=f"churn-{self.shots % 4}.png")
        if r.get("ok"):
            try:
                os.unlink(r["path"])
            except OSError:
                pass
        else:
            print(f"soak: screenshot failed: {r}", file=sys.stderr, flush=True)

    def visitors(self, n, rng):
        """n control clients that connect, ping (some subscribe first) and leave."""
        for k in range(n):
            try:
                c = self.v.client()
                if rng.random() < 0.5:
                    c.call("subscribe", events=["*"])
                c.call("ping")
                c.close()
                self.clients += 1
            except (OSError, ConnectionError) as e:
                print(f"soak: a visiting client failed: {e}", file=sys.stderr, flush=True)
                self.poll_failures += 1

    def sample(self):
        st = proc_stats(self.v.proc.pid)
        self.rss_log.append((time.monotonic() - self.t0, st["rss_kb"], st["fds"], st["threads"]))

    def answering(self):
        try:
            st = self.v.status()
            self.v.sources()
            self.polls += 1
            return st
        except Exception as e:  # noqa: BLE001 - any failure to answer counts
            self.poll_failures += 1
            print(f"soak: vwall did not answer: {type(e).__name__}: {e}", file=sys.stderr)
            return None

    def churn(self, until, rng, scenes):
        """Kills/restarts the server and switches scenes until `until` (monotonic)."""
        a = self.args
        server_up = True
        next_server = time.monotonic() + a.up
        next_switch = time.monotonic() + a.switch_every
        next_poll = time.monotonic() + 1
        next_reload = time.monotonic() + a.reload_every
        next_shot = time.monotonic() + a.shot_every
        next_sample = time.monotonic()
        names = list(scenes)
        while time.monotonic() < until:
            now = time.monotonic()
            if a.reload_every > 0 and now >= next_reload:
                self.reload()
                next_reload = now + a.reload_every
            if a.shot_every > 0 and now >= next_shot:
                self.screenshot()
                next_shot = now + a.shot_every
            if now >= next_sample:
                self.sample()
                next_sample = now + 10
            if now >= next_server:
                if server_up:
                    self.srv.kill()
                    next_server = now + a.down
                else:
                    self.srv.start()
                    self.restarts += 1
                    next_server = time.monotonic() + a.up
                server_up = not server_up
            if now >= next_switch:
                current = self.v.status().get("scene")
                self.v.switch(rng.choice([n for n in names if n != current]), quiet=True)
                self.switches += 1
                next_switch = now + a.switch_every * rng.uniform(0.75, 1.25)
            if now >= next_poll:
                next_poll = now + 1
                if self.v.proc.poll() is not None:
                    check(False, f"vwall still running (exited {self.v.proc.returncode})")
                    return False
                st = self.answering()
                if st is None:
                    if self.poll_failures > 3:
                        check(False, "vwall answers its control socket")
                        return False
                self.events += len(self.ev.drain_events())
                self.visitors(a.clients_per_s, rng)
            time.sleep(0.05)
        if not server_up:
            self.srv.start()
            self.restarts += 1
        return True

    def checkpoint(self, name, scenes):
        """Server killed and back with the "all" scene showing: every source live again
        within backoff_ms + 2 s; then the process's RSS, fds and threads."""
        a = self.args
        self.v.switch("all", quiet=True)
        self.srv.kill()
        time.sleep(a.down)
        self.srv.start()
        self.restarts += 1
        t_up = time.monotonic()
        ids = scenes["all"]
        src = self.v.sources()
        backoff = {i: src[i]["backoff_ms"] for i in ids}
        live_at = {}
        while time.monotonic() - t_up < max(backoff.values()) / 1000 + 2 + 5:
            src = self.v.sources()
            for i in ids:
                if src[i]["state"] == "live" and i not in live_at:
                    live_at[i] = time.monotonic() - t_up
            if len(live_at) == len(ids):
                break
            time.sleep(0.1)
        late = {i: (round(live_at[i], 2) if i in live_at else None, backoff[i]) for i in ids
                if i not in live_at or live_at[i] > backoff[i] / 1000 + 2}
        for i in ids:
            self.recovery.append((name, i, live_at.get(i), backoff[i]))
        check(not late, f"{name}: every source of the scene live again within backoff_ms + 2 s "
              f"after the server's restart (late: {late}; slowest "
              f"{max(live_at.values(), default=0):.2f} s, backoff_ms "
              f"{min(backoff.values())}..{max(backoff.values())})")
        # Sources of other scenes have stopped (linger); let the decoders settle.
        time.sleep(a.linger + 1.5)
        img = self.v.shot()
        c, r = grid_for(len(ids) + (2 if self.args.mixed else 0))
        W, H = 640, 360
        blank = [i for k, i in enumerate(ids)
                 if not img.shows_video(lt.grid_box(c, r, k % c, k // c, W, H))]
        check(not blank, f"{name}: every tile shows video (not: {blank})")
        # Five samples half a second apart: the least fds and threads (the flapping camera's
        # decoder threads come and go between its connections), the median RSS.
        samples = []
        for _ in range(5):
            samples.append(proc_stats(self.v.proc.pid))
            time.sleep(0.5)
        st = {"rss_kb": sorted(x["rss_kb"] for x in samples)[2],
              "fds": min(x["fds"] for x in samples),
              "threads": min(x["threads"] for x in samples)}
        status = self.v.status()
        print(f"soak: {name}: RSS {st['rss_kb'] / 1024:.1f} MiB, {st['fds']} fds, "
              f"{st['threads']} threads, frames_rendered {status.get('frames_rendered')}, "
              f"render_fps {status.get('render_fps')}", flush=True)
        return st

    def run(self):
        a = self.args
        rng = random.Random(a.seed)
        t0 = self.t0 = time.monotonic()
        self.srv.start()
        if a.mixed:
            fwd, self.fmt_path = make_ts(a.workdir)
            with open(fwd, "rb") as f:
                self.flap = FlapServer(f.read())
        cfg, scenes = self.wall_text()
        self.v = lt.LiveWall(a, "soak", cfg)
        if a.asan:
            # ASan keeps freed memory in quarantine (256 MiB by default), which would read as
            # RSS growth; a small quarantine keeps use-after-free detection and a flat RSS.
            os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                                          ":quarantine_size_mb=16").lstrip(":")
        self.v.start()
        self.ev = self.v.client()
        self.ev.call("subscribe", events=["*"])
        print(f"soak: vwall pid {self.v.proc.pid}, rtsp_server on 127.0.0.1:{self.srv.port}, "
              f"{a.cams} cams, {a.duration:.0f} s, seed {a.seed}{', ASan build' if a.asan else ''}",
              flush=True)
        warm = end = None
        try:
            ok = self.churn(t0 + a.duration / 3, rng, scenes)
            if ok:
                warm = self.checkpoint("warm-up", scenes)
                ok = self.churn(t0 + a.duration, rng, scenes)
            if ok:
                end = self.checkpoint("end", scenes)
                check(self.answering() is not None and self.v.proc.poll() is None,
                      "vwall still running and answering at the end")
            check(self.poll_failures == 0, f"vwall answered every poll ({self.polls} answered, "
                  f"{self.poll_failures} not)")
            check(self.reload_failures == 0,
                  f"every reload accepted ({self.reloads}, {self.reload_failures} refused)")
            if warm and end:
                growth = (end["rss_kb"] - warm["rss_kb"]) / warm["rss_kb"]
                check(abs(growth) <= RSS_TOLERANCE,
                      f"RSS flat within {RSS_TOLERANCE:.0%}: {warm['rss_kb'] / 1024:.1f} → "
                      f"{end['rss_kb'] / 1024:.1f} MiB ({growth:+.1%})")
                check(end["fds"] <= warm["fds"] + FD_SLACK,
                      f"no leaked file descriptors: {warm['fds']} → {end['fds']} "
                      f"(slack {FD_SLACK})")
                check(end["threads"] <= warm["threads"] + THREAD_SLACK,
                      f"no leaked threads: {warm['threads']} → {end['threads']} "
                      f"(slack {THREAD_SLACK})")
        finally:
            events = self.events
            try:
                self.ev.close()
            except OSError:
                pass
            self.v.stop_checked()  # exit status 0 within 5 s of SIGTERM, no sanitizer report
            self.srv.stop()
            if self.flap:
                self.flap.close()
        elapsed = time.monotonic() - t0
        rec = [t for _, _, t, _ in self.recovery if t is not None]
        summary = (f"soak: {elapsed:.0f} s, {a.cams} cams, {self.restarts} server restarts, "
                   f"{self.switches} scene switches, {self.reloads} reloads, {self.shots} "
                   f"screenshots, {self.clients} visiting clients, "
                   f"{self.flap.accepted if self.flap else 0} flapping-camera connections, "
                   f"{self.polls} polls, {events} events")
        if warm and end:
            summary += (f"; RSS {warm['rss_kb'] / 1024:.1f} → {end['rss_kb'] / 1024:.1f} MiB, "
                        f"fds {warm['fds']} → {end['fds']}, threads {warm['threads']} → "
                        f"{end['threads']}")
        if rec:
            summary += f"; back live {min(rec):.2f}..{max(rec):.2f} s after a restart"
        print(summary, flush=True)
        if self.rss_log:
            step = max(1, len(self.rss_log) // 15)
            print("soak: RSS MiB / fds / threads over time: " + ", ".join(
                f"{t / 60:.1f}m {r / 1024:.0f}/{fd}/{th}" for t, r, fd, th in
                self.rss_log[::step]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vwall", required=True)
    ap.add_argument("--duration", type=float, default=None, help="seconds of churn")
    ap.add_argument("--minutes", type=float, default=None,
                    help="minutes of churn (default 30)")
    ap.add_argument("--cams", type=int, default=8)
    ap.add_argument("--up", type=float, default=18, help="seconds the server stays up")
    ap.add_argument("--down", type=float, default=2, help="seconds the server stays down")
    ap.add_argument("--switch-every", type=float, default=2, help="seconds between scene switches")
    ap.add_argument("--linger", type=float, default=2)
    ap.add_argument("--reload-every", type=float, default=15, help="seconds (0: no reloads)")
    ap.add_argument("--shot-every", type=float, default=5, help="seconds (0: no screenshots)")
    ap.add_argument("--clients-per-s", type=int, default=5,
                    help="control clients that come and go every second")
    ap.add_argument("--no-mixed", dest="mixed", action="store_false",
                    help="without the flapping camera and the size-changing file")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = ap.parse_args()
    vwtest.verbose = True  # every check printed: the log reads as a report
    if args.duration is None:
        args.duration = (args.minutes if args.minutes is not None else 30) * 60
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    if args.cams < 2 or args.duration < 10:
        ap.error("at least 2 cams and 10 s")
    args.vwall = os.path.abspath(args.vwall)
    args.asan = is_asan(args.vwall)
    args.workdir = tempfile.mkdtemp(prefix="vwall-soak-")
    try:
        Soak(args).run()
    except Exception as e:  # noqa: BLE001 - report, fail
        import traceback
        traceback.print_exc()
        check(False, f"soak: {type(e).__name__}: {e}")
    finally:
        if args.keep or vwtest.failed:
            print(f"soak: logs in {args.workdir}")
        else:
            shutil.rmtree(args.workdir, ignore_errors=True)
    print(f"soak: {vwtest.passed} passed, {vwtest.failed} failed")
    return 1 if vwtest.failed or vwtest.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
