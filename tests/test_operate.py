#!/usr/bin/env python3
"""Operating the wall at scale, through the real vwall and its real control socket (issue 11
and the restore of issue 15): seats and roles, tile.list / assign / swap / reset, picks that
survive incidents, saved scenes that survive a restart, scene.clear and scene.list's marks,
ad-hoc cameras by URL, source.list search and paging (Chinese queries), source.reconnect,
bursts of commands from several consoles, the state restored after kill -9, and a 20,000-
camera catalog: memory per idle camera, the whole source.list read by a slow client, and a
reload while frames and pings go on.

    test_operate.py --vwall BUILD/vwall --clips BUILD/clips [--keep] [only...]
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vwtest  # noqa: E402
from vwtest import Client, check, free_port, wait_for  # noqa: E402

SEATS = {"viewer": ("tok-view", "view"), "op1": ("tok-op1", "operate"),
         "boss": ("tok-boss", "admin")}

WALL = """// test_operate.py: a 2x2 wall of 160x90 panels
wall = {{
  name = "operate test";
  screen = {{ width = 160; height = 90; }};
  grid = {{ columns = 2; rows = 2; }};
  labels = false;
}};
sources = (
  {{ id = "red";     name = "红色 Red camera"; group = "乡镇/王口镇"; url = "{clips}/red.mp4";     loop = true; }},
  {{ id = "green";   name = "绿色";            group = "乡镇/台头镇"; url = "{clips}/green.mp4";   loop = true; }},
  {{ id = "blue";    name = "蓝色";            group = "城区/华康街道"; url = "{clips}/blue.mp4";  loop = true; }},
  {{ id = "yellow";  name = "黄色";            group = "城区/朝阳街道"; url = "{clips}/yellow.mp4"; loop = true; }},
  {{ id = "magenta"; name = "品红";            url = "{clips}/magenta.mp4"; loop = true; }},
  {{ id = "white";   name = "白色";            url = "{clips}/white.mp4";   loop = true; }}
);
scenes = (
  {{ id = "main"; name = "总览"; default = true; grid = [2, 2];
    tiles = ( {{ id = "a"; source = "red";    cell = [0, 0]; }},
              {{ id = "b"; source = "green";  cell = [1, 0]; }},
              {{ id = "c"; source = "blue";   cell = [0, 1]; }},
              {{ id = "d"; source = "yellow"; cell = [1, 1]; }} ); }},
  {{ id = "alt"; name = "Alt"; grid = [2, 2];
    tiles = ( {{ source = "white"; cell = [0, 0]; span = [2, 2]; }} ); }},
  {{ id = "incident"; name = "事件"; grid = [2, 2];
    tiles = ( {{ source = "magenta"; cell = [0, 0]; span = [2, 2]; }} ); }}
);
control = {{
  seats = ( {{ name = "viewer"; token = "tok-view"; role = "view"; }},
            {{ name = "op1"; token = "tok-op1"; role = "operate"; }},
            {{ name = "boss"; token = "tok-boss"; role = "admin"; }} );
}};
"""



class Wall(vwtest.Vwall):
    """One vwall process on a wall file of its own, with a Unix and a TCP socket (tests/
    vwtest.py's Vwall); a restart adds to its log, and it has 30 s for a clean exit."""

    grace = 30

    def __init__(self, vwall, folder, cfg_text, name="wall"):
        cfg = os.path.join(folder, name + ".cfg")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(cfg_text)
        self.port = free_port()
        super().__init__(vwall, cfg, os.path.join(folder, name + ".sock"),
                         os.path.join(folder, name + ".log"),
                         extra=["--control", f"tcp:127.0.0.1:{self.port}"],
                         state_home=os.path.join(folder, "state"), keep_client=False,
                         append_log=True)
        self.dir = folder

    def unix(self):
        return Client(self.sock)

    def seat(self, name):
        c = Client(("127.0.0.1", self.port))
        r = c.call("auth", token=SEATS[name][0])
        assert r and r.get("ok"), r
        return c

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def tiles(c):
    return {t["index"]: t for t in c.call("tile.list")["tiles"]}


# ---- the operate wall ------------------------------------------------------------------------

def test_seats(w):
    view = w.seat("viewer")
    r = view.call("scene.switch", scene="alt")
    check(r.get("error") == "forbidden" and "operate" in r.get("message", ""),
          f"a view seat may not switch scenes, and is told which role it needs: {r}")
    check(view.call("status").get("role") == "view", "status says the seat's role")
    check(view.call("tile.list").get("ok") is True, "a view seat may read the tiles")
    bad = Client(("127.0.0.1", w.port))
    check(bad.call("auth", token="nope").get("error") == "unauthorized", "a wrong token is refused")
    check(bad.call("status").get("error") == "unauthorized", "...and nothing else is answered")
    bad.close()
    sub = w.unix()
    sub.call("subscribe", events=["scene.changed"])
    op = w.seat("op1")
    r = op.call("scene.switch", scene="alt")
    check(r.get("ok") is True and r.get("current") == "alt" and isinstance(r.get("revision"), int),
          f"an operate seat switches; the reply has the revision: {r}")
    ev = sub.wait_event("scene.changed")
    check(ev and ev.get("by") == "op1" and ev.get("revision") == r["revision"],
          f"the event names the seat and the revision: {ev}")
    check(op.call("config.reload").get("error") == "forbidden", "reload needs the admin role")
    boss = w.seat("boss")
    check(boss.call("config.reload").get("ok") is True, "an admin seat reloads")
    check(re.search(r"audit: client=op1 \(tcp:127\.0\.0\.1:\d+\) cmd=scene\.switch",
                    w.log_text()) is not None, "the audit line names the seat")
    op.call("scene.switch", scene="main")
    for c in (view, sub, op, boss):
        c.close()


def test_tiles_and_picks(w):
    c = w.unix()
    c.call("scene.switch", scene="main")
    sub = w.unix()
    sub.call("subscribe", events=["tile.assigned"])
    t = tiles(c)
    check(len(t) == 4 and t[0]["id"] == "a" and t[0]["source"] == "red" and
          t[0]["configured_source"] == "red" and t[0]["assigned_by"] is None and
          t[0]["rect"] == [0, 0, 1, 1] and t[0]["state"] in ("connecting", "live"),
          f"tile.list: index, id, rect, source, configured_source, assigned_by, state: {t.get(0)}")
    op = w.seat("op1")
    r = op.call("tile.assign", tile="a", source="white")
    check(r.get("ok") is True, f"tile.assign by tile id: {r}")
    t = tiles(c)
    check(t[0]["source"] == "white" and t[0]["configured_source"] == "red" and
          t[0]["assigned_by"] == "op1", f"the pick shows in tile.list: {t[0]}")
    ev = sub.wait_event("tile.assigned")
    check(ev and ev["tile"] == 0 and ev["source"] == "white" and ev["by"] == "op1",
          f"tile.assigned tells every console: {ev}")
    check(c.call("tile.assign", tile=7, source="red").get("error") == "bad_tile", "bad tile")
    check(c.call("tile.assign", tile=0, source="nosuch").get("error") == "unknown_source",
          "unknown source")
    check(c.call("tile.assign", tile=0).get("error") == "bad_args", "source or url is needed")

    # An incident leaves the picks alone: ttl expiry, pop and clear bring them back.
    r = c.call("scene.push", scene="incident", ttl=1.5, priority=3)
    check(r.get("current") == "incident", "the incident shows")
    check(tiles(c)[0]["source"] == "magenta", "tile.list follows the scene showing")
    back = wait_for(lambda: c.call("status")["scene"] == "main", 6)
    check(back, "the incident expires by itself")
    check(tiles(c)[0]["source"] == "white", "after expiry the pick is back")
    c.call("scene.push", scene="incident")
    c.call("scene.pop", scene="incident")
    check(tiles(c)[0]["source"] == "white", "after pop the pick is back")
    c.call("scene.push", scene="incident", priority=1)
    c.call("scene.push", scene="alt", priority=2)
    r = c.call("scene.clear")
    check(r.get("current") == "main", f"scene.clear pops every incident: {r}")
    check(tiles(c)[0]["source"] == "white", "after clear the pick is back")

    # swap and reset
    r = c.call("tile.swap", a=0, b="b")
    t = tiles(c)
    check(r.get("ok") and t[0]["source"] == "green" and t[1]["source"] == "white",
          f"tile.swap exchanges what two tiles show: {t[0]['source']}, {t[1]['source']}")
    r = c.call("tile.reset", tile=1)
    check(r.get("ok") and tiles(c)[1]["source"] == "green", "tile.reset: back to configured")
    check(c.call("tile.reset", tile=3).get("error") == "not_assigned",
          "resetting a tile that shows its configured source says so")
    c.call("tile.assign", tile=3, source="magenta")
    r = c.call("tile.reset", tile="all")
    t = tiles(c)
    check(r.get("ok") and all(t[i]["assigned_by"] is None for i in t),
          "tile.reset all: every tile back")

    # A switch to another base and back clears the picks.
    c.call("tile.assign", tile=2, source="white")
    c.call("scene.switch", scene="alt")
    c.call("scene.switch", scene="main")
    check(tiles(c)[2]["source"] == "blue", "switching away and back drops the picks")
    for x in (c, sub, op):
        x.close()


def test_scene_list_and_saved(w):
    c = w.unix()
    c.call("scene.switch", scene="main")
    c.call("tile.assign", tile=2, source="white")
    r = c.call("scene.save", scene="night", name="夜间值守")
    check(r.get("ok") is True, f"scene.save: {r}")
    check(c.call("scene.save", scene="main").get("error") == "scene_exists",
          "a saved scene cannot take a wall-file scene's id")
    c.call("scene.push", scene="incident", priority=5, ttl=30)
    scenes = {s["id"]: s for s in c.call("scene.list")["scenes"]}
    night, inc, main = scenes.get("night", {}), scenes["incident"], scenes["main"]
    check(night.get("saved") is True and night.get("name") == "夜间值守" and
          main.get("saved") is False, f"scene.list marks saved scenes: {night}")
    check(inc["showing"] and inc["stack_position"] == 0 and inc["priority"] == 5 and
          25 < inc["ttl_left"] <= 30, f"scene.list marks the pushed one with its ttl: {inc}")
    check(main["base"] and not main["showing"] and main["stack_position"] is None,
          f"...and the base: {main}")
    c.call("scene.clear")
    c.call("tile.reset", tile="all")
    r = c.call("scene.switch", scene="night")
    t = tiles(c)
    check(r.get("current") == "night" and len(t) == 4 and t[2]["source"] == "white" and
          t[0]["source"] == "red", f"the saved scene shows what the wall showed: {t}")
    c.call("scene.switch", scene="main")
    c.close()


def test_restart(w):
    """Saved scenes, an incident with its ttl and a pick survive kill -9."""
    c = w.unix()
    c.call("scene.switch", scene="main")
    c.call("tile.assign", tile=1, source="white")
    c.call("scene.push", scene="incident", priority=2, ttl=30)
    c.close()
    time.sleep(0.5)  # the writer thread has the newest state on disk by now
    w.kill()  # kill -9
    down = time.monotonic()
    time.sleep(2)
    w.start()
    c = w.unix()
    st = c.call("status")
    left = st["stack"][0]["ttl_left"] if st["stack"] else None
    elapsed = time.monotonic() - down
    check(st["scene"] == "incident" and left is not None and 30 - elapsed - 3 < left < 30 - elapsed + 1,
          f"after kill -9 the incident shows with ~30 s minus the downtime left: {st['stack']} "
          f"({elapsed:.1f} s down)")
    check("state: restored from" in w.log_text(), "the wall logs that it restored the state")
    c.call("scene.pop", scene="incident")
    check(tiles(c)[1]["source"] == "white", "the pick is back")
    scenes = [s["id"] for s in c.call("scene.list")["scenes"]]
    check("night" in scenes, f"the saved scene survived: {scenes}")
    r = c.call("scene.delete", scene="night")
    check(r.get("ok") is True and "night" not in [s["id"] for s in c.call("scene.list")["scenes"]],
          "scene.delete removes it")
    check(c.call("scene.delete", scene="main").get("error") == "not_saved",
          "a wall-file scene cannot be deleted")
    c.call("tile.reset", tile="all")
    c.close()

    # A corrupt state file: the default scene, and the log says why.
    w.stop()
    state = os.path.join(w.state_home, "vwall", "wall.state.json")
    check(os.path.exists(state), f"the state file is where the docs say: {state}")
    with open(state, "w") as f:
        f.write('{"vwall_state": 1, "wall_file": "')
    w.start()
    c = w.unix()
    check(c.call("status")["scene"] == "main", "a corrupt state file: the default scene")
    check("is not JSON" in w.log_text(), "...and the log says why")
    c.close()


def test_adhoc(w, clips):
    c = w.unix()
    c.call("scene.switch", scene="main")
    url = "file://" + os.path.join(clips, "magenta.mp4")
    r = c.call("tile.assign", tile=3, url=url, name="临时 camera")
    check(r.get("ok") is True, f"tile.assign with a url: {r}")
    t = tiles(c)[3]
    check(t["source"].startswith("adhoc-") and t["name"] == "临时 camera",
          f"the tile shows an ad-hoc source: {t}")
    lst = c.call("source.list", query="临时")
    ad = lst["sources"][0] if lst["sources"] else {}
    check(lst["total"] == 1 and ad.get("adhoc") is True and ad.get("url") == url,
          f"source.list shows it with adhoc: true: {ad}")
    live = wait_for(lambda: c.call("source.list", query="临时")["sources"][0]["state"] == "live",
                    10)
    check(live, "the ad-hoc camera goes live")
    check(c.call("tile.assign", tile=3, url="not a url").get("error") == "bad_args",
          "a url must look like one")
    c.call("tile.reset", tile=3)
    gone = wait_for(lambda: c.call("source.list", query="临时")["total"] == 0, 16)
    check(gone, "once no tile shows it and its linger ends, the ad-hoc camera is gone")
    c.close()


def test_adhoc_saved(w, clips):
    """An ad-hoc camera named only by a saved scene stays while the scene does and goes when
    it is deleted; a saved scene that a reloaded wall file hides is logged once, not on every
    command."""
    c = w.unix()
    c.call("scene.switch", scene="main")
    url = "file://" + os.path.join(clips, "white.mp4")
    c.call("tile.assign", tile=1, url=url, name="saved ad-hoc")
    check(c.call("scene.save", scene="keeps-adhoc").get("ok") is True, "scene.save with it")
    live = wait_for(lambda: c.call("source.list", query="saved ad-hoc")["sources"][0]
                    ["state"] == "live", 10)
    check(live, "the ad-hoc camera goes live")  # so "idle" below means its decoder stopped
    c.call("tile.reset", tile=1)
    # Its decoder lingers 10 s, then stops; the saved scene still names it.
    stopped = wait_for(lambda: c.call("source.list", query="saved ad-hoc")["sources"][0]
                       ["state"] == "idle", 16)
    lst = c.call("source.list", query="saved ad-hoc")
    check(stopped and lst["total"] == 1,
          f"named by a saved scene, it stays (its decoder stopped): {lst['sources']}")
    with open(w.cfg, encoding="utf-8") as f:
        good = f.read()
    hidden_before = w.log_text().count("is hidden")
    try:
        with open(w.cfg, "w", encoding="utf-8") as f:
            f.write(good.replace('  {{ id = "alt";'.replace("{{", "{"),
                                 '  { id = "keeps-adhoc"; grid = [1, 1];\n'
                                 '    tiles = ( { source = "red"; cell = [0, 0]; } ); },\n'
                                 '  { id = "alt";', 1))
        r = c.call("config.reload", timeout=60)
        check(r.get("ok") is True, f"a wall file with a scene of the saved scene's id loads: {r}")
        for i in range(5):
            c.call("tile.assign", tile=0, source=("green", "red")[i % 2])
        c.call("tile.reset", tile=0)
        told = w.log_text().count("is hidden") - hidden_before
        check(told == 1, f"the hidden saved scene is logged once, not per command ({told} times)")
    finally:
        with open(w.cfg, "w", encoding="utf-8") as f:
            f.write(good)
    check(c.call("config.reload", timeout=60).get("ok") is True, "the wall file reloads back")
    check(c.call("scene.delete", scene="keeps-adhoc").get("ok") is True, "scene.delete")
    gone = wait_for(lambda: c.call("source.list", query="saved ad-hoc")["total"] == 0, 3)
    check(gone, "deleting the last saved scene naming it removes the ad-hoc camera at once")
    c.close()


def test_source_list(w):
    c = w.unix()
    everything = c.call("source.list")
    check(everything["total"] == 6 and len(everything["sources"]) == 6, "all sources, no paging")
    r = c.call("source.list", query="红色")
    check([s["id"] for s in r["sources"]] == ["red"] and r["total"] == 1, f"Chinese query: {r}")
    r = c.call("source.list", query="RED CAM")
    check([s["id"] for s in r["sources"]] == ["red"], "ASCII without case")
    r = c.call("source.list", query="王口")
    check([s["id"] for s in r["sources"]] == ["red"], "the query searches groups too")
    r = c.call("source.list", group="城区/")
    check(sorted(s["id"] for s in r["sources"]) == ["blue", "yellow"] and
          r["sources"][0]["group"].startswith("城区/"), f"group prefix: {r['sources']}")
    r = c.call("source.list", offset=2, limit=3)
    check(r["total"] == 6 and [s["id"] for s in r["sources"]] ==
          [s["id"] for s in everything["sources"]][2:5], "offset and limit page; total counts all")
    r = c.call("source.list", state=["live", "connecting"])
    check(r.get("ok") and all(s["state"] in ("live", "connecting") for s in r["sources"]),
          "state filter (a list)")
    check(c.call("source.list", state="asleep").get("error") == "bad_args", "unknown state name")
    before = next(s for s in c.call("source.list", query="red")["sources"])["reconnects"]
    r = c.call("source.reconnect", source="red")
    check(r.get("ok") is True, f"source.reconnect: {r}")
    check(c.call("source.reconnect", source="nosuch").get("error") == "unknown_source",
          "reconnect of an unknown source")
    after = wait_for(lambda: next(s for s in c.call("source.list", query="red")[
        "sources"])["reconnects"] > before, 10)
    check(after, "the source reconnected (its reconnects count went up)")
    c.close()


def test_bursts(w):
    c = w.unix()
    c.call("scene.switch", scene="main")
    burst = b"".join(b'{"id":%d,"cmd":"tile.assign","tile":%d,"source":"%s"}\n' %
                     (i, i % 4, [b"red", b"green", b"blue", b"white"][i % 4]) for i in range(100))
    t0 = time.monotonic()
    c.send_raw(burst)
    replies = [c.reply(30) for _ in range(100)]
    dt = time.monotonic() - t0
    check(all(r and r.get("ok") for r in replies) and [r["id"] for r in replies] == list(range(100)),
          "100 pipelined tile.assign: 100 replies, in order")
    print(f"   100 pipelined tile.assign answered in {dt * 1000:.0f} ms", flush=True)
    results = {}

    def console(k):
        cl = w.unix()
        lines = b"".join(b'{"id":%d,"cmd":"tile.assign","tile":%d,"source":"red"}\n' % (i, k)
                         for i in range(100))
        s = time.monotonic()
        cl.send_raw(lines)
        got = [cl.reply(30) for _ in range(100)]
        results[k] = (time.monotonic() - s, all(r and r.get("ok") for r in got))
        cl.close()

    threads = [threading.Thread(target=console, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    check(len(results) == 4 and all(ok for _, ok in results.values()),
          "4 consoles sending 100 each: every request answered")
    print("   4 consoles x 100: answered in " +
          ", ".join(f"{v[0] * 1000:.0f} ms" for v in results.values()), flush=True)
    c.call("tile.reset", tile="all")
    c.close()


def test_busy_socket_and_offline_screenshot(w, vwall, folder):
    """A second vwall on a busy socket stops before it opens any camera; --screenshot does
    not wait for a camera already known to be offline, and says so."""
    log = os.path.join(folder, "second.log")
    with open(log, "wb") as f:
        rc = subprocess.run([vwall, "-c", w.cfg, "--output", "offscreen", "--control",
                             "unix:" + w.sock], stdout=f, stderr=subprocess.STDOUT,
                            env=dict(os.environ, SDL_VIDEODRIVER="offscreen"), timeout=60).returncode
    text = open(log, encoding="utf-8", errors="replace").read()
    check(rc == 1 and "source '" not in text and "video driver" not in text,
          f"a second vwall on the busy socket exits 1 before any camera or window ({rc}): {text[-300:]}")
    check(w.unix().call("ping").get("ok") is True, "the first wall is untouched")
    dead = os.path.join(folder, "dead.cfg")
    with open(dead, "w") as f:
        f.write("""wall = { screen = { width = 160; height = 90; }; grid = { columns = 1; rows = 1; }; };
sources = ( { id = "gone"; url = "rtsp://127.0.0.1:9/nothing"; } );
scenes = ( { id = "s"; grid = [1, 1]; tiles = ( { source = "gone"; cell = [0, 0]; } ); } );
""")
    png = os.path.join(folder, "dead.png")
    t0 = time.monotonic()
    r = subprocess.run([vwall, "-c", dead, "--screenshot", png, "--timeout", "60"],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, SDL_VIDEODRIVER="offscreen"))
    dt = time.monotonic() - t0
    check(r.returncode == 0 and os.path.exists(png), f"the screenshot is written ({r.returncode})")
    check("camera 'gone' is offline" in r.stderr, f"...saying which camera is offline: "
          f"{r.stderr[-400:]}")
    print(f"   --screenshot with an offline camera and --timeout 60 took {dt:.1f} s", flush=True)


def test_reload_refusals_and_limits(w):
    """A reload refuses what it cannot apply, naming the key, and keeps the old file; a
    65,536-byte request ending in CRLF is within the limit."""
    c = w.unix()
    with open(w.cfg, encoding="utf-8") as f:
        good = f.read()
    try:
        for change, key in (
                ('control = {\n  listen = ["unix:/tmp/vwall-never-opened.sock"];\n', "control.listen"),
                ('control = {\n  socket_group = "no-such-group-vwall";\n', "socket_group"),
                ('wall = {\n  state_dir = "elsewhere";\n', "state_dir")):
            with open(w.cfg, "w", encoding="utf-8") as f:
                f.write(good.replace("control = {\n" if key != "state_dir" else "wall = {\n",
                                     change, 1))
            r = c.call("config.reload", timeout=60)
            errs = " ".join(r.get("errors", []))
            check(r.get("error") == "config_error" and key in errs,
                  f"a reload changing {key} is refused, naming it: {errs or r}")
            check(not os.path.exists("/tmp/vwall-never-opened.sock"), "no socket was opened")
    finally:
        with open(w.cfg, "w", encoding="utf-8") as f:
            f.write(good)
    check(c.call("config.reload", timeout=60).get("ok") is True, "the good file reloads again")
    for size, want in ((65536, True), (65537, False)):
        head, tail = b'{"id":"', b'","cmd":"ping"}'
        line = head + b"x" * (size - len(head) - len(tail)) + tail
        assert len(line) == size
        r = Client(w.sock)
        r.send_raw(line + b"\r\n")
        rep = r.reply(20)
        if want:
            check(rep and rep.get("ok") is True and len(rep.get("id", "")) == size - 22,
                  "a 65,536-byte request ending in CRLF is answered")
        else:
            check(rep and rep.get("error") == "too_large", f"65,537 bytes are too large: {rep}")
        r.close()
    c.close()


# ---- a county: 20,000 cameras ----------------------------------------------------------------

def county(vwall, folder, count):
    sub = os.path.join(folder, f"county{count}")
    subprocess.run([sys.executable, os.path.join(HERE, "..", "scripts", "make-catalog.py"), sub,
                    "--count", str(count)], check=True)
    with open(os.path.join(sub, "wall.cfg"), encoding="utf-8") as f:
        text = f.read()
    text = text.replace("1920", "160").replace("1080", "90")
    return Wall(vwall, sub, text, name="county")


def test_county(vwall, folder):
    small = county(vwall, folder, 16)
    big = county(vwall, folder, 20000)
    small.start()
    big.start()
    time.sleep(3)
    rs, rb = small.rss_kib(), big.rss_kib()
    per = (rb - rs) * 1024 / (20000 - 16)
    print(f"   RSS: 16 cameras {rs} KiB, 20,000 cameras {rb} KiB: {per:.0f} bytes per idle camera",
          flush=True)
    check(per < 2048, f"an idle catalog camera costs about 1 KiB at most ({per:.0f} bytes)")
    small.stop()
    c = big.unix()
    st = c.call("status")
    check(st["sources"] == 20000 and st["sources_decoding"] <= 16,
          f"only the cameras shown decode: {st['sources_decoding']} of {st['sources']}")
    r = c.call("source.list", query="王口镇", limit=50)
    check(r["total"] > 100 and len(r["sources"]) == 50 and
          all("王口镇" in (s["name"] + s["group"]) for s in r["sources"]),
          f"Chinese search over 20,000: {r['total']} matches, paged by 50")
    page2 = c.call("source.list", query="王口镇", offset=50, limit=50)
    check(page2["total"] == r["total"] and
          not set(s["id"] for s in page2["sources"]) & set(s["id"] for s in r["sources"]),
          "the next page holds the next cameras")
    check(c.call("source.list", group="城区/华康街道")["total"] > 0, "group prefix over 20,000")

    # The whole list, read by a slow client: delivered whole, the client is not dropped.
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(big.sock)
    slow.sendall(b'{"id":"all","cmd":"source.list"}\n')
    buf = b""
    t0 = time.monotonic()
    while not buf.endswith(b"\n") and time.monotonic() - t0 < 120:
        chunk = slow.recv(32768)
        if not chunk:
            break
        buf += chunk
        time.sleep(0.01)
    slow.close()
    reply = json.loads(buf) if buf.endswith(b"\n") else {}
    check(reply.get("total") == 20000 and len(reply.get("sources", [])) == 20000,
          f"a slow client reads the whole 20,000-camera list ({len(buf)} bytes in "
          f"{time.monotonic() - t0:.1f} s)")
    check("dropping" not in big.log_text(), "...and is not dropped")

    # Reload 20,000 cameras while a client pings and frames are drawn.
    gaps = []
    stop = threading.Event()
    lost = []

    def pinger():
        p = big.unix()
        while not stop.is_set():
            s = time.monotonic()
            r = p.call("ping", timeout=10)
            if not r or not r.get("ok"):
                lost.append(r)
            gaps.append(time.monotonic() - s)
        p.close()

    th = threading.Thread(target=pinger)
    th.start()
    time.sleep(0.5)
    f0 = c.call("status")["frames_rendered"]
    s = time.monotonic()
    r = c.call("config.reload", timeout=60)
    reload_s = time.monotonic() - s
    time.sleep(0.5)
    stop.set()
    th.join(20)
    f1 = c.call("status")["frames_rendered"]
    check(r.get("ok") is True, f"the 20,000-camera reload is applied: {r}")
    check(not lost and len(gaps) > 10, f"every ping answered during the reload ({len(gaps)} pings)")
    check(f1 > f0, "frames kept being drawn")
    print(f"   reload of 20,000 cameras: {reload_s * 1000:.0f} ms until its reply; longest ping "
          f"round trip meanwhile {max(gaps) * 1000:.0f} ms", flush=True)
    c.close()
    big.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vwall", required=True)
    ap.add_argument("--clips", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("only", nargs="*")
    a = ap.parse_args()
    clips = os.path.abspath(a.clips)
    folder = tempfile.mkdtemp(prefix="vwall-operate-")
    w = Wall(a.vwall, folder, WALL.format(clips=clips))
    tests = [("seats", lambda: test_seats(w)), ("tiles_and_picks", lambda: test_tiles_and_picks(w)),
             ("scene_list_and_saved", lambda: test_scene_list_and_saved(w)),
             ("restart", lambda: test_restart(w)), ("adhoc", lambda: test_adhoc(w, clips)),
             ("adhoc_saved", lambda: test_adhoc_saved(w, clips)),
             ("source_list", lambda: test_source_list(w)), ("bursts", lambda: test_bursts(w)),
             ("busy_socket_and_offline_screenshot",
              lambda: test_busy_socket_and_offline_screenshot(w, a.vwall, folder)),
             ("reload_refusals_and_limits", lambda: test_reload_refusals_and_limits(w)),
             ("county", lambda: test_county(a.vwall, folder))]
    w.start()
    try:
        vwtest.run_each([(name, fn) for name, fn in tests if not a.only or name in a.only], w)
    finally:
        rc = w.stop()
        check(rc == 0, f"vwall exits 0 on SIGTERM (got {rc})")
        if vwtest.failed:
            print("---- vwall log (last 60 lines) ----", file=sys.stderr)
            print("\n".join(w.log_text().splitlines()[-60:]), file=sys.stderr)
        if a.keep or vwtest.failed:
            print(f"files kept in {folder}", file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", folder])
    vwtest.finish("operate")


if __name__ == "__main__":
    main()
