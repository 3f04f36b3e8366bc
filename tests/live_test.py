#!/usr/bin/python3
"""Live-wall integration test: the real vwall (headless, SDL offscreen + Mesa) against a real
RTSP server (tests/rtsp_server.py, GStreamer), checking what an operator would see.

  a. RTSP H.264 and H.265 tiles go live: 320x180, ~30 fps, video in the screenshot.
  b. Frozen camera (SIGSTOP the server): "stalled" within stall_timeout, the last picture
     kept with a red badge at the tile's top-right, last_frame_age_ms growing; SIGCONT: live
     again, badge gone.
  c. Dead camera (SIGKILL the server): leaves live, the last picture kept with a badge
     (never a blank tile); the server back on the same port: live again within the source's
     backoff_ms + 2 s, reconnects >= 1.
  d. Bad streams next to a good one: garbage, a truncated MP4, a file without video, an
     unknown video codec, an unresolvable host and a black-hole RTSP server show the slate
     with an error; the good tile (hwaccel = "auto": hardware, or the software fallback
     logged) stays live at ~30 fps and the wall keeps rendering.
  e. Make-before-break scene switch: A→B→A within linger keeps cam1 decoding (no reconnect,
     no state change), after linger it stops ("idle"); a warm source decodes though never
     shown; status.switch_ms after a switch.
  f. Substreams: small tile → substream (320 wide), whole wall → main stream (1280 wide)
     without blanking the tile; a 6x6 grid of 36 sources all on their substreams.

usage: live_test.py --vwall BIN --clips DIR [--keep] [TEST ...]   (TEST: a b c d e f)
Debian's python3 (stdlib only; the server needs its gi bindings) and the ffmpeg CLI (test
inputs, reading the PNG screenshots). Only 127.0.0.1 is ever contacted. Exit status 0 when
every check passed.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

import vwtest  # the harness: checks, vwall, the RTSP server, the control client, PNGs
from vwtest import check, near, note

SLATE = (0x1a, 0x1f, 0x2b)


class BlackHole(vwtest.LoopbackServer):
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""

    def __init__(self):
        self.conns = []
        super().__init__(backlog=64)

    def handle(self, conn):
        self.conns.append(conn)  # kept open, never read or written

    def close(self):
        super().close()
        for c in self.conns:
            c.close()


# ---- vwall ---------------------------------------------------------------------------------

class LiveWall(vwtest.Vwall):
    """One vwall process on a wall file written into its own folder (tests/vwtest.py's Vwall,
    with a control client that raises on a closed connection); stop_checked() wants a clean
    exit within 5 s."""

    grace = 5

    def __init__(self, args, name, cfg_text):
        folder = os.path.join(args.workdir, name)
        self.shots = os.path.join(folder, "shots")
        os.makedirs(self.shots)
        cfg = os.path.join(folder, "wall.cfg")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(cfg_text.replace("@SHOTS@", self.shots))
        super().__init__(args.vwall, cfg, os.path.join(folder, "s.sock"),
                         os.path.join(folder, "vwall.log"), name=name,
                         client=vwtest.StrictClient)
        self.dir = folder
        self.n_shots = 0

    def sources(self):
        r = self.c.call("source.list")
        return {s["id"]: s for s in r["sources"]}

    def status(self):
        return self.c.call("status")

    def switch(self, scene, quiet=False):
        """scene.switch; quiet: only a failure is reported (a check that fails)."""
        r = self.c.call("scene.switch", scene=scene)
        ok = r.get("ok") and r.get("current") == scene
        if not ok or not quiet:
            check(ok, f"{self.name}: switch to {scene}: {r}")
        return ok

    def switch_measured(self, scene, then=None, timeout=10):
        """Switches, runs then() at once, and waits for the wall's own "every tile has a
        picture, N ms after the switch" log line. Returns (N, status.switch_ms then,
        then()'s result)."""
        pat = re.compile(r"scene '([^']*)': every tile has a picture, (\d+) ms after the switch")
        before = len(pat.findall(self.log_text()))
        self.switch(scene)
        got = then() if then else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pat.findall(self.log_text())
            if len(found) > before and found[-1][0] == scene:
                return int(found[-1][1]), self.status().get("switch_ms"), got
            time.sleep(0.05)
        return None, self.status().get("switch_ms"), got

    def shot(self):
        self.n_shots += 1
        name = f"shot-{self.n_shots:03d}.png"
        r = self.c.call("screenshot", file=name)
        if not r.get("ok"):
            raise RuntimeError(f"screenshot failed: {r}")
        return Image(r["path"])

    def wait(self, what, pred, timeout, interval=0.15):
        """Polls source.list until pred(sources) is true. Returns (ok, sources, seconds)."""
        t0 = time.monotonic()
        while True:
            src = self.sources()
            if pred(src):
                return True, src, time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                return False, src, time.monotonic() - t0
            time.sleep(interval)


# ---- screenshots --------------------------------------------------------------------------

class Image(vwtest.Image):
    """A screenshot, with what a tile of it shows: video, the slate, a badge."""

    def samples(self, box, step=6):
        """Pixels on a grid over the box's body (x0, y0, x1, y1), leaving out the label strip
        at the bottom and the badge strip at the top (a quarter of the height each)."""
        x0, y0, x1, y1 = box
        h = y1 - y0
        ys = range(y0 + h // 4, y1 - h // 4, max(1, step))
        xs = range(x0 + 2, x1 - 2, max(1, step))
        return [self.px(x, y) for y in ys for x in xs]

    def slate_fraction(self, box):
        s = self.samples(box)
        return sum(1 for p in s if near(p, SLATE, 10)) / max(1, len(s))

    def shows_video(self, box):
        """Not the slate: a picture (the slate's background covers most of its tile)."""
        return self.slate_fraction(box) < 0.15

    def shows_slate(self, box):
        return self.slate_fraction(box) > 0.6

    def badge(self, box):
        """The colour of the badge at the tile's top-right: "red", "amber" or None."""
        x0, y0, x1, y1 = box
        reds = ambers = 0
        pts = [(x1 - dx, y0 + dy) for dx in (2, 3, 4) for dy in (2, 3, 4)]
        for x, y in pts:
            r, g, b = self.px(x, y)
            if r > 150 and g < 80 and b < 80:
                reds += 1
            elif r > 170 and 100 <= g <= 200 and b < 80:
                ambers += 1
        if reds >= len(pts) - 1:
            return "red"
        if ambers >= len(pts) - 1:
            return "amber"
        return None


def grid_box(cols, rows, c, r, W, H, span=(1, 1)):
    """The physical box of a scene-grid cell on a wall W x H pixels in all (no bezels)."""
    return (c * W // cols, r * H // rows, (c + span[0]) * W // cols, (r + span[1]) * H // rows)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


# ---- a, b, c: live, frozen and dead cameras ----------------------------------------------

def test_live_frozen_dead(args, srv):
    W, H = 640, 180  # two 320x180 panels
    cfg = f"""
wall = {{ name = "live"; screen = {{ width = 320; height = 180; }}; grid = {{ columns = 2; rows = 1; }};
  label_size = 20; }};
sources = (
  {{ id = "h264"; url = "{srv.url('h264')}"; stall_timeout = 2; }},
  {{ id = "h265"; url = "{srv.url('h265')}"; stall_timeout = 2; }}
);
scenes = ( {{ id = "a"; grid = [2, 1];
  tiles = ( {{ source = "h264"; cell = [0, 0]; }}, {{ source = "h265"; cell = [1, 0]; }} ); }} );
control = {{ screenshot_dir = "@SHOTS@"; }};
"""
    ids = ["h264", "h265"]
    box = {"h264": grid_box(2, 1, 0, 0, W, H), "h265": grid_box(2, 1, 1, 0, W, H)}
    v = LiveWall(args, "live", cfg).start()
    ev = v.client()
    ev.call("subscribe", events=["source.state"])
    try:
        # a. live
        ok, src, t = v.wait("live", lambda s: all(s[i]["state"] == "live" and s[i]["fps"] >= 15
                                                 for i in ids), 20)
        check(ok, f"a: H.264 and H.265 live within 20 s ({t:.1f} s): "
              f"{ {i: src[i]['state'] for i in ids} }")
        time.sleep(1.0)  # a full fps window
        src = v.sources()
        for i in ids:
            s = src[i]
            check(s["state"] == "live" and (s["width"], s["height"]) == (320, 180),
                  f"a: {i} live at 320x180 (got {s['state']} {s['width']}x{s['height']})")
            check(15 <= s["fps"] <= 45, f"a: {i} fps {s['fps']} in 15..45")
            check(s["error"] is None and s["reconnects"] == 0,
                  f"a: {i} no error, no reconnect ({s['error']}, {s['reconnects']})")
        img = v.shot()
        check((img.w, img.h) == (W, H), f"a: screenshot {img.w}x{img.h}")
        for i in ids:
            check(img.shows_video(box[i]), f"a: {i} tile shows video "
                  f"(slate fraction {img.slate_fraction(box[i]):.2f})")
            check(img.badge(box[i]) is None, f"a: {i} tile has no badge")

        # b. frozen camera: SIGSTOP the server
        ev.drain_events()
        srv.signal(signal.SIGSTOP)
        t_stop = time.monotonic()
        try:
            ok, src, t = v.wait("stalled", lambda s: all(s[i]["state"] == "stalled" for i in ids),
                                2 + 2.5, interval=0.1)
            img = v.shot()
            after = v.sources()
            check(ok, f"b: both stalled within stall_timeout 2 s + 2.5 s ({t:.1f} s after SIGSTOP): "
                  f"{ {i: (src[i]['state'], src[i]['error']) for i in ids} }")
            for i in ids:
                check(img.shows_video(box[i]), f"b: {i} frozen: last picture kept, not the slate "
                      f"(slate fraction {img.slate_fraction(box[i]):.2f})")
                if after[i]["state"] == "stalled":
                    check(img.badge(box[i]) == "red",
                          f"b: {i} frozen: red badge at the tile's top-right (got {img.badge(box[i])}, "
                          f"pixel {img.px(box[i][2] - 3, box[i][1] + 3)})")
                else:
                    check(img.badge(box[i]) in ("red", "amber"),
                          f"b: {i} frozen, {after[i]['state']} by the screenshot: a badge "
                          f"(got {img.badge(box[i])})")
            ages0 = {i: src[i]["last_frame_age_ms"] for i in ids}
            time.sleep(1.2)
            src = v.sources()
            for i in ids:
                check(src[i]["last_frame_age_ms"] is not None and ages0[i] is not None and
                      src[i]["last_frame_age_ms"] >= ages0[i] + 1000,
                      f"b: {i} last_frame_age_ms grows while frozen ({ages0[i]} → "
                      f"{src[i]['last_frame_age_ms']})")
                check(src[i]["state"] != "live", f"b: {i} not live while frozen ({src[i]['state']})")
        finally:
            srv.signal(signal.SIGCONT)
        frozen_for = time.monotonic() - t_stop
        evs = ev.drain_events()
        for i in ids:
            seq = [e["state"] for e in evs if e.get("source") == i]
            note(f"b: {i} after SIGSTOP (frozen {frozen_for:.1f} s): {seq}")
        ok, src, t = v.wait("live again", lambda s: all(s[i]["state"] == "live" for i in ids), 15)
        check(ok, f"b: live again after SIGCONT within 15 s ({t:.1f} s): "
              f"{ {i: (src[i]['state'], src[i]['error'], src[i]['backoff_ms']) for i in ids} }")
        time.sleep(0.5)
        img = v.shot()
        for i in ids:
            check(img.shows_video(box[i]) and img.badge(box[i]) is None,
                  f"b: {i} after SIGCONT: video, badge gone (badge {img.badge(box[i])})")

        # c. dead camera: SIGKILL the server, keep it down, restart it on the same port
        ev.drain_events()
        before = v.sources()
        srv.kill()
        t_kill = time.monotonic()
        ok, src, t = v.wait("not live", lambda s: all(s[i]["state"] != "live" for i in ids), 2 + 3)
        check(ok, f"c: both leave live after the server is killed ({t:.1f} s): "
              f"{ {i: (src[i]['state'], src[i]['error']) for i in ids} }")
        blanks = []
        badges = set()
        n_shots = 0
        while time.monotonic() - t_kill < 4.5:
            img = v.shot()
            n_shots += 1
            for i in ids:
                if not img.shows_video(box[i]):
                    blanks.append((i, round(time.monotonic() - t_kill, 1)))
                badges.add((i, img.badge(box[i])))
            time.sleep(0.5)
        check(not blanks, f"c: while the camera is dead the last picture stays ({n_shots} screenshots, "
              f"blank/slate at {blanks})")
        for i in ids:
            check({b for j, b in badges if j == i} <= {"red", "amber"},
                  f"c: {i} dead: a badge on every screenshot (saw {[b for j, b in badges if j == i]})")
        src = v.sources()
        check(all(src[i]["state"] in ("offline", "stalled", "connecting") and src[i]["error"]
                  for i in ids),
              f"c: offline with an error while down: "
              f"{ {i: (src[i]['state'], src[i]['error']) for i in ids} }")
        srv.start()
        t_up = time.monotonic()
        backoff = {i: s["backoff_ms"] for i, s in v.sources().items()}
        seen_backoff = dict(backoff)
        live_at = {}
        while time.monotonic() - t_up < max(backoff.values()) / 1000 + 2 + 3:
            src = v.sources()
            for i in ids:
                if src[i]["state"] != "live":
                    seen_backoff[i] = max(seen_backoff[i], src[i]["backoff_ms"] or 0)
                elif i not in live_at:
                    live_at[i] = time.monotonic() - t_up
            if len(live_at) == len(ids):
                break
            time.sleep(0.1)
        for i in ids:
            limit = backoff[i] / 1000 + 2
            got = live_at.get(i)
            check(got is not None and got <= limit,
                  f"c: {i} live again {got if got is None else round(got, 2)} s after the server is "
                  f"back (limit backoff_ms {backoff[i]} + 2 s = {limit:.1f} s)")
        src = v.sources()
        for i in ids:
            check(src[i]["reconnects"] >= 1 and src[i]["reconnects"] > before[i]["reconnects"],
                  f"c: {i} reconnects counted ({before[i]['reconnects']} → {src[i]['reconnects']})")
        note(f"c: backoff_ms when the server came back {backoff}; live again after "
             f"{ {i: round(t, 2) for i, t in live_at.items()} } s")
        time.sleep(0.3)
        img = v.shot()
        for i in ids:
            check(img.shows_video(box[i]) and img.badge(box[i]) is None,
                  f"c: {i} back: video, no badge (badge {img.badge(box[i])})")
    finally:
        ev.close()
        v.stop_checked()


# ---- d: bad streams next to a good one ---------------------------------------------------

def make_bad_inputs(args):
    d = os.path.join(args.workdir, "inputs")
    os.makedirs(d, exist_ok=True)
    audio = os.path.join(d, "sine.m4a")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", audio)
    # A video stream whose codec no decoder knows: red.mp4 with its sample entry renamed.
    with open(os.path.join(args.clips, "red.mp4"), "rb") as f:
        data = f.read()
    at = data.find(b"stsd")
    entry = data.find(b"avc1", at)
    if at < 0 or entry < 0:
        raise RuntimeError("red.mp4 has no avc1 sample entry")
    unknown = os.path.join(d, "unknown-codec.mp4")
    with open(unknown, "wb") as f:
        f.write(data[:entry] + b"zzzz" + data[entry + 4:])
    return audio, unknown


def test_bad_streams(args, srv):
    audio, unknown = make_bad_inputs(args)
    hole = BlackHole()
    clips = os.path.abspath(args.clips)
    bad = [
        ("garbage", f"{clips}/garbage.mp4", "loop = true;"),
        ("truncated", f"{clips}/truncated.mp4", "loop = true;"),
        ("novideo", audio, "loop = true;"),
        ("codec", unknown, "loop = true;"),
        ("nohost", "rtsp://nonexistent.invalid/x", ""),
        ("blackhole", f"rtsp://127.0.0.1:{hole.port}/x", ""),
    ]
    W, H = 960, 270  # 4x2 panels of 240x135; one cell each
    # The good camera asks for hardware decoding: with no usable device it must fall back
    # to software and say so once.
    sources = [f'  {{ id = "good"; url = "{srv.url("cam1")}"; hwaccel = "auto"; }}'] + \
              [f'  {{ id = "{i}"; url = "{u}"; {extra} }}' for i, u, extra in bad]
    order = ["good"] + [b[0] for b in bad]
    tiles = [f'{{ source = "{i}"; cell = [{n % 4}, {n // 4}]; }}' for n, i in enumerate(order)]
    src_text = ",\n".join(sources)
    cfg = f"""
wall = {{ name = "bad"; screen = {{ width = 240; height = 135; }}; grid = {{ columns = 4; rows = 2; }};
  label_size = 12; }};
sources = (
{src_text}
);
scenes = ( {{ id = "all"; grid = [4, 2]; tiles = ( {", ".join(tiles)} ); }} );
control = {{ screenshot_dir = "@SHOTS@"; }};
"""
    box = {i: grid_box(4, 2, n % 4, n // 4, W, H) for n, i in enumerate(order)}
    v = LiveWall(args, "bad", cfg).start()
    try:
        def settled(s):
            return s["good"]["state"] == "live" and all(
                s[i]["state"] in ("offline", "connecting") and (s[i]["error"] or i == "blackhole")
                for i, _, _ in bad)
        # The black hole gives up at the open deadline (5 s); wait a little past it so that
        # every bad source has failed at least once.
        ok, src, t = v.wait("settled", settled, 20)
        check(ok, f"d: the good source live, every bad one offline/connecting with an error "
              f"({t:.1f} s)")
        time.sleep(max(0.0, 6.5 - t))
        src = v.sources()
        for i, url, _ in bad:
            s = src[i]
            if i == "blackhole":
                check(s["state"] in ("offline", "connecting"),
                      f"d: {i}: not live ({s['state']}, error {s['error']!r})")
            else:
                check(s["state"] in ("offline", "connecting") and isinstance(s["error"], str)
                      and s["error"] != "", f"d: {i}: {s['state']} with error {s['error']!r}")
            note(f"d: {i}: state {s['state']}, error {s['error']!r}, reconnects {s['reconnects']}, "
                 f"backoff_ms {s['backoff_ms']}")
        check(hole.accepted >= 1, f"d: vwall connected to the black hole ({hole.accepted} times)")
        st0 = v.status()
        f0 = src["good"]["frames_decoded"]
        time.sleep(2.5)
        img = v.shot()
        src = v.sources()
        st1 = v.status()
        for i, _, _ in bad:
            check(img.shows_slate(box[i]), f"d: {i} tile shows the slate "
                  f"(slate fraction {img.slate_fraction(box[i]):.2f})")
        check(img.shows_video(box["good"]), "d: the good tile shows video")
        g = src["good"]
        check(g["state"] == "live" and 15 <= g["fps"] <= 45 and g["frames_decoded"] > f0 + 40,
              f"d: the good source stays live at ~30 fps ({g['state']}, fps {g['fps']}, "
              f"{g['frames_decoded'] - f0} frames in 2.5 s)")
        fallback = "hardware decoding unavailable" in v.log_text()
        check(g["hw"] or fallback, f"d: hwaccel = auto: decoding in hardware (hw {g['hw']}) or the "
              f"software fallback logged ({fallback})")
        note(f"d: the good source with hwaccel = auto: hw {g['hw']}, fallback logged {fallback}")
        check(st1["frames_rendered"] > st0["frames_rendered"] + 30,
              f"d: the wall keeps rendering ({st0['frames_rendered']} → {st1['frames_rendered']}, "
              f"render_fps {st1['render_fps']})")
    finally:
        v.stop_checked()
        hole.close()


# ---- e: make-before-break scene switch, linger, warm ---------------------------------------

def test_scene_switch(args, srv):
    LINGER = 3.0
    cfg = f"""
wall = {{ name = "switch"; screen = {{ width = 320; height = 180; }}; grid = {{ columns = 2; rows = 1; }};
  label_size = 16; }};
sources = (
  {{ id = "cam1"; url = "{srv.url('cam1')}"; linger = {LINGER}; }},
  {{ id = "cam2"; url = "{srv.url('cam2')}"; linger = {LINGER}; }},
  {{ id = "cam3"; url = "{srv.url('cam3')}"; linger = 1; }},
  {{ id = "cam4"; url = "{srv.url('cam4')}"; warm = true; }}
);
scenes = (
  {{ id = "A"; default = true; grid = [2, 1];
    tiles = ( {{ source = "cam1"; cell = [0, 0]; }}, {{ source = "cam2"; cell = [1, 0]; }} ); }},
  {{ id = "B"; grid = [2, 1]; tiles = ( {{ source = "cam3"; cell = [0, 0]; span = [2, 1]; }} ); }}
);
control = {{ screenshot_dir = "@SHOTS@"; }};
"""
    W, H = 640, 180
    v = LiveWall(args, "switch", cfg).start()
    ev = v.client()
    ev.call("subscribe", events=["source.state", "scene.changed"])
    warm_states = set()
    switch_ms = []

    def sample(expect_cam1=None, log=None):
        s = v.sources()
        warm_states.add(s["cam4"]["state"])
        if log is not None:
            log.append((s["cam1"]["state"], s["cam1"]["frames_decoded"], s["cam1"]["reconnects"]))
        return s

    def after_switch(scene, what, then=None):
        ms, status_ms, got = v.switch_measured(scene, then)
        switch_ms.append((what, ms))
        check(ms is not None and status_ms == ms,
              f"e: {what}: status.switch_ms is the switch's time ({status_ms}; log says {ms})")
        return got

    try:
        ok, src, t = v.wait("A live", lambda s: all(s[i]["state"] == "live" for i in
                                                     ("cam1", "cam2", "cam4")), 20)
        check(ok, f"e: A's cameras and the warm cam4 live ({t:.1f} s): "
              f"{ {i: s['state'] for i, s in src.items()} }")
        check(src["cam4"]["warm"] is True and src["cam3"]["state"] == "idle",
              f"e: cam4 warm, cam3 (in no scene shown) idle ({src['cam3']['state']})")
        st = v.status()
        note(f"e: switch_ms at start (every tile's first picture): {st.get('switch_ms')}")
        ev.drain_events()
        log = []
        c0 = sample()
        f_start = c0["cam1"]["frames_decoded"]

        t_left = time.monotonic()
        after_switch("B", "A→B")
        while time.monotonic() - t_left < 1.5 or not log:  # a slow switch may take it all
            sample(log=log)
            time.sleep(0.15)
        f_mid = log[-1][1]
        check(f_mid >= f_start + 20, f"e: cam1 keeps decoding off-screen during linger "
              f"({f_start} → {f_mid} frames in {time.monotonic() - t_left:.1f} s)")
        # The screenshot at once: the lingering sources' pictures, before any new frame.
        img = after_switch("A", "B→A", then=v.shot)
        for n, i in enumerate(("cam1", "cam2")):
            b = grid_box(2, 1, n, 0, W, H)
            check(img.shows_video(b) and img.badge(b) is None,
                  f"e: back on A right away: {i} shows video, no badge "
                  f"(slate fraction {img.slate_fraction(b):.2f}, badge {img.badge(b)})")
        t_back = time.monotonic()
        while time.monotonic() - t_back < 1.0:
            sample(log=log)
            time.sleep(0.15)
        frames = [f for _, f, _ in log]
        check(all(s == "live" for s, _, _ in log) and all(r == 0 for _, _, r in log),
              f"e: cam1 live with reconnects 0 throughout A→B→A ({len(log)} samples: "
              f"{sorted(set((s, r) for s, _, r in log))})")
        check(frames == sorted(frames) and frames[-1] > f_mid,
              f"e: cam1 frames_decoded only grows ({frames[0]} … {frames[-1]})")
        evs = ev.drain_events()
        cam1_ev = [(e["state"], e["error"]) for e in evs if e.get("event") == "source.state"
                   and e.get("source") == "cam1"]
        check(not cam1_ev, f"e: no source.state event for cam1 during A→B→A: {cam1_ev}")

        # B held past linger: cam1 and cam2 stop (idle); cam4 stays live.
        t_left = time.monotonic()
        after_switch("B", "A→B again")
        idle_at = None
        while time.monotonic() - t_left < LINGER + 4:
            s = sample()
            if s["cam1"]["state"] == "idle" and idle_at is None:
                idle_at = time.monotonic() - t_left
                if s["cam2"]["state"] == "idle":
                    break
            time.sleep(0.15)
        s = v.sources()
        check(idle_at is not None and LINGER - 0.5 <= idle_at <= LINGER + 2,
              f"e: cam1 stops (idle) after B is held past linger {LINGER} s "
              f"(idle at {idle_at if idle_at is None else round(idle_at, 2)} s)")
        check(s["cam2"]["state"] == "idle", f"e: cam2 stopped too ({s['cam2']['state']})")
        check(s["cam3"]["state"] == "live", f"e: cam3 live on B ({s['cam3']['state']})")
        check(warm_states == {"live"} and s["cam4"]["state"] == "live",
              f"e: warm cam4 live the whole time though never shown (saw {sorted(warm_states)})")
        check(s["cam4"]["frames_decoded"] > c0["cam4"]["frames_decoded"] + 100,
              f"e: cam4 keeps decoding ({c0['cam4']['frames_decoded']} → "
              f"{s['cam4']['frames_decoded']})")
        note(f"e: status.switch_ms after each switch: {switch_ms}")
    finally:
        ev.close()
        v.stop_checked()


# ---- f: substreams -------------------------------------------------------------------------

def test_substreams(args):
    d = os.path.join(args.workdir, "inputs")
    os.makedirs(d, exist_ok=True)
    main, sub = os.path.join(d, "main-1280.mp4"), os.path.join(d, "sub-320.mp4")
    for path, size in ((main, "1280x720"), (sub, "320x180")):
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration=2", "-c:v", "libx264",
               "-preset", "ultrafast", "-g", "30", "-bf", "0", "-pix_fmt", "yuv420p", "-an", path)
    N = 36
    sources = [f'  {{ id = "dual"; url = "{main}"; substream = "{sub}"; loop = true; }}'] + \
              [f'  {{ id = "m{k}"; url = "{main}"; substream = "{sub}"; loop = true; linger = 0; }}'
               for k in range(N)]
    src_text = ",\n".join(sources)
    many = ", ".join(f'{{ source = "m{k}"; cell = [{k % 6}, {k // 6}]; label = false; }}'
                     for k in range(N))
    cfg = f"""
wall = {{ name = "substreams"; screen = {{ width = 640; height = 360; }}; grid = {{ columns = 2; rows = 2; }};
  label_size = 16; }};
sources = (
{src_text}
);
scenes = (
  {{ id = "small"; default = true; grid = [4, 4]; tiles = ( {{ source = "dual"; cell = [0, 0]; }} ); }},
  {{ id = "big"; grid = [1, 1]; tiles = ( {{ source = "dual"; cell = [0, 0]; }} ); }},
  {{ id = "many"; grid = [6, 6]; tiles = ( {many} ); }}
);
control = {{ screenshot_dir = "@SHOTS@"; }};
"""
    W, H = 1280, 720
    v = LiveWall(args, "substreams", cfg).start()
    try:
        ok, src, t = v.wait("sub", lambda s: s["dual"]["state"] == "live" and s["dual"]["substream"]
                            and s["dual"]["width"] == 320, 15)
        d0 = src["dual"]
        check(ok, f"f: a 320x180 tile decodes the substream ({t:.1f} s): substream={d0['substream']} "
              f"width={d0['width']} state={d0['state']}")
        v.switch("big")
        img = v.shot()
        full = (0, 0, W, H)
        check(img.shows_video(full), f"f: right after the switch to the whole wall the tile is not "
              f"blank (slate fraction {img.slate_fraction(full):.2f})")
        ok, src, t = v.wait("main", lambda s: s["dual"]["state"] == "live" and
                            not s["dual"]["substream"] and s["dual"]["width"] == 1280, 15)
        d1 = src["dual"]
        check(ok, f"f: the whole-wall tile decodes the main stream ({t:.1f} s): "
              f"substream={d1['substream']} width={d1['width']} state={d1['state']}")
        img = v.shot()
        check(img.shows_video(full), "f: the main stream shows")
        check(d1["reconnects"] == d0["reconnects"], f"f: a stream switch is no reconnect "
              f"({d0['reconnects']} → {d1['reconnects']})")
        v.switch("small")
        img = v.shot()
        small = grid_box(4, 4, 0, 0, W, H)
        check(img.shows_video(small), "f: back to the small tile: not blank")
        ok, src, t = v.wait("sub again", lambda s: s["dual"]["substream"] and
                            s["dual"]["width"] == 320, 15)
        check(ok, f"f: back on the substream ({t:.1f} s)")

        v.switch("many")
        ids = [f"m{k}" for k in range(N)]
        ok, src, t = v.wait("36 subs", lambda s: all(s[i]["state"] == "live" and s[i]["substream"]
                                                     and s[i]["width"] == 320 for i in ids), 60,
                            interval=0.3)
        subs = sum(1 for i in ids if src[i]["substream"] and src[i]["width"] == 320)
        live = sum(1 for i in ids if src[i]["state"] == "live")
        check(ok, f"f: 6x6 grid: all {N} sources decode their substreams ({subs} on the substream, "
              f"{live} live, {t:.1f} s)")
        st = v.status()
        note(f"f: 36 tiles: render_fps {st.get('render_fps')}, switch_ms {st.get('switch_ms')}, "
             f"frames_dropped {st.get('frames_dropped')}")
        opened_main = [i for i in ids if f"source '{i}': switching to the substream" in v.log_text()]
        if opened_main:
            note(f"f: {len(opened_main)} of {N} small-tile sources opened the main stream first and "
                 f"then switched to the substream (wall.c asks for the substream only after the "
                 f"source's thread has started)")
        img = v.shot()
        blank = [k for k in range(N) if not img.shows_video(grid_box(6, 6, k % 6, k // 6, W, H))]
        check(not blank, f"f: every one of the 36 tiles shows video (not: {blank})")
    finally:
        v.stop_checked()


TESTS = "abcdef"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vwall", required=True)
    ap.add_argument("--clips", required=True, help="the test clips (scripts/make-clips.sh test)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("tests", nargs="*", help="a b c d e f (default: all)")
    args = ap.parse_args()
    vwtest.verbose = True  # every check printed: the log reads as a report
    want = set(args.tests or "abcdef")
    if want - set(TESTS):
        ap.error(f"unknown tests {sorted(want - set(TESTS))}")
    args.vwall = os.path.abspath(args.vwall)
    t0 = time.monotonic()
    with vwtest.work_folder("vwall-live-", args.keep) as args.workdir:
        srv = vwtest.RtspServer(args.workdir, cams=4)
        try:
            if want & set("abcde"):
                srv.start()
                print(f"rtsp_server on 127.0.0.1:{srv.port}", flush=True)
            steps = []
            if want & set("abc"):
                steps.append(("a/b/c", lambda: test_live_frozen_dead(args, srv)))
            if "d" in want:
                steps.append(("d", lambda: test_bad_streams(args, srv)))
            if "e" in want:
                steps.append(("e", lambda: test_scene_switch(args, srv)))
            if "f" in want:
                steps.append(("f", lambda: test_substreams(args)))
            for name, fn in steps:
                t = time.monotonic()
                print(f"== {name}", flush=True)
                try:
                    fn()
                except Exception as e:  # a broken step fails, the others still run
                    import traceback
                    traceback.print_exc()
                    check(False, f"{name}: {type(e).__name__}: {e}")
                print(f"== {name}: {time.monotonic() - t:.1f} s", flush=True)
        finally:
            srv.stop()
    print(f"live: {vwtest.passed} passed, {vwtest.failed} failed "
          f"({time.monotonic() - t0:.0f} s)")
    return 1 if vwtest.failed or vwtest.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
