#!/usr/bin/python3
"""Control-socket integration suite: starts the real `vwall` headless on a 2x1 test wall
(tests/control-wall.cfg) with a Unix and a TCP endpoint, and drives it the way consoles do:
every command and error code, pixels checked through `screenshot`, reloads good and
broken, the framing limits, 100 clients at once, clients that stall or never read (while
the wall keeps rendering), the TCP token, events, the audit log, and vwallctl.

usage: test_control.py --vwall BIN --vwallctl BIN --clips DIR [--keep] [TEST ...]
Debian's python3, standard library only, and the ffmpeg CLI (tests/vwtest.py reads the
screenshots).
"""
import argparse
import functools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import vwtest
from vwtest import Client, Image, check, free_port, near

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "s3cret-令牌"
COLOURS = {
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
    "magenta": (255, 0, 255), "white": (255, 255, 255), "cyan": (0, 255, 255),
}
LEFT, RIGHT = (80, 45), (240, 45)  # panel centres on the 320x90 wall
TOL = 24  # how far a channel of a screenshot's pixel may be from the clip's colour


# ---- clients ----------------------------------------------------------------------------

def is_error(r, code):
    return r is not None and r.get("ok") is False and r.get("error") == code and \
        isinstance(r.get("message"), str) and r["message"] != ""


# ---- the wall under test ----------------------------------------------------------------

class Wall(vwtest.Vwall):
    """vwall on tests/control-wall.cfg in a temporary folder, with a Unix and a TCP endpoint
    (tests/vwtest.py's Vwall); 20 s for a clean exit."""

    grace = 20

    def __init__(self, args):
        folder = tempfile.mkdtemp(prefix="vwall-control-")
        super().__init__(args.vwall, os.path.join(folder, "wall.cfg"),
                         os.path.join(folder, "s.sock"), os.path.join(folder, "vwall.log"),
                         state_home=os.path.join(folder, "state"), keep_client=False)
        self.args = args
        self.dir = folder
        self.shots = os.path.join(self.dir, "shots")
        os.mkdir(self.shots)
        with open(os.path.join(HERE, "control-wall.cfg"), encoding="utf-8") as f:
            self.template = f.read()
        self.write_cfg(self.text())
        self.port = free_port()

    def text(self, shots=True):
        t = self.template.replace("@CLIPS@", os.path.abspath(self.args.clips))
        t = t.replace("@TOKEN@", TOKEN)
        if shots:
            return t.replace("@SHOTS@", self.shots)
        return t.replace('  screenshot_dir = "@SHOTS@";\n', "")

    def write_cfg(self, text):
        tmp = self.cfg + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.cfg)

    def line_of(self, needle):
        for i, line in enumerate(self.text().splitlines(), 1):
            if needle in line:
                return i
        raise KeyError(needle)

    def command(self, sock=None, port=None):
        return [self.vwall, "-c", self.cfg, "--control", "unix:" + (sock or self.sock),
                "--control", f"tcp:127.0.0.1:{port or self.port}", "--output", "offscreen"]

    def unix(self):
        return Client(self.sock)

    def tcp(self, auth=True):
        c = Client(("127.0.0.1", self.port))
        if auth:
            r = c.call("auth", token=TOKEN)
            assert r and r.get("ok"), r
        return c



def shot(wall, c, name):
    r = c.call("screenshot", file=name)
    if not check(r and r.get("ok") and r.get("path") == os.path.join(wall.shots, name),
                 f"screenshot {name}: {r}"):
        return None
    return Image(r["path"])


def wait_pixels(wall, c, left, right, what, timeout=8):
    """Screenshots until the two panels show these colours (frames take a moment)."""
    deadline = time.monotonic() + timeout
    n = 0
    got = None
    while True:
        n += 1
        img = shot(wall, c, f"wait-{n}.png")
        if img:
            got = (img.px(*LEFT), img.px(*RIGHT))
            if ((img.w, img.h) == (320, 90) and near(got[0], COLOURS[left], TOL)
                    and near(got[1], COLOURS[right], TOL)):
                check(True, what)
                return True
        if time.monotonic() > deadline:
            return check(False, f"{what}: panels show {got}, expected {left}/{right}")
        time.sleep(0.2)


def frames(c):
    r = c.call("status")
    return r["frames_rendered"] if r and r.get("ok") else -1


# ---- tests ------------------------------------------------------------------------------

def test_basics(wall):
    u = wall.unix()
    check(u.call("ping") == {"id": 1, "ok": True}, "ping over Unix")
    r = u.request('{"cmd":"ping"}')
    check(r == {"ok": True}, f"a request without id gets a reply without id: {r}")
    r = u.request('{"id":{"a":[1,"二"]},"cmd":"ping"}')
    check(r == {"id": {"a": [1, "二"]}, "ok": True}, f"any JSON id is echoed: {r}")
    mode = os.stat(wall.sock).st_mode & 0o777
    check(mode == 0o600, f"Unix socket mode 0600 (got {oct(mode)})")

    r = u.call("scene.list")
    check(r["ok"] and [s["id"] for s in r["scenes"]] == ["main", "alt", "incident", "calm"],
          f"scene.list in file order: {r}")
    check(r["scenes"][0]["name"] == "Main 主", "scene names are UTF-8")
    check(r["current"] == "main", "the default scene shows first")

    r = u.call("source.list")
    check(r["ok"] and [s["id"] for s in r["sources"]] ==
          ["red", "green", "blue", "yellow", "magenta", "white"], f"source.list: {r}")
    check(all("state" in s for s in r.get("sources", [])), "sources carry their state")

    r = u.call("status")
    check(r["ok"] and r["scene"] == "main" and isinstance(r["frames_rendered"], (int, float))
          and r["clients"] >= 1, f"status: {r}")
    # one thread's CPU clock: above zero (it drew) and never more than the time it has run
    check(isinstance(r.get("render_cpu_s"), (int, float)) and 0 < r["render_cpu_s"] <= r["uptime_s"] + 0.1,
          f"status.render_cpu_s within 0..uptime_s: {r.get('render_cpu_s')}, {r.get('uptime_s')}")

    r = u.call("help")
    names = [c["name"] for c in r.get("commands", [])]
    check(r["ok"] and names == sorted(names) and {"ping", "scene.push", "tile.assign",
          "subscribe", "auth"} <= set(names), f"help lists the commands, sorted: {names}")
    wait_pixels(wall, u, "red", "green", "main: left red, right green")
    u.close()


def test_errors(wall):
    u = wall.unix()
    cases = [
        (b'{"cmd":"ping"', "parse_error", None),
        (b"not json at all", "parse_error", None),
        (b'{"cmd":"ping"} trailing', "parse_error", None),
        (b'{"cmd":"ping","x":"\xff\xfe"}', "parse_error", None),
        (b"[1,2,3]", "bad_request", None),
        (b'"ping"', "bad_request", None),
        (b"42", "bad_request", None),
        (b'{"id":7}', "bad_request", 7),
        (b'{"id":8,"cmd":5}', "bad_request", 8),
        (b'{"id":9,"cmd":"warp.drive"}', "unknown_command", 9),
        (b'{"id":10,"cmd":"scene.switch"}', "bad_args", 10),
        (b'{"id":11,"cmd":"scene.switch","scene":3}', "bad_args", 11),
        (b'{"id":12,"cmd":"scene.push","scene":"alt","ttl":-1}', "bad_args", 12),
        (b'{"id":13,"cmd":"scene.push","scene":"alt","ttl":"soon"}', "bad_args", 13),
        (b'{"id":14,"cmd":"scene.push","scene":"alt","priority":1.5}', "bad_args", 14),
        (b'{"id":15,"cmd":"scene.push","scene":"alt","tll":5}', "bad_args", 15),
        (b'{"id":16,"cmd":"tile.assign","tile":0.5,"source":"red"}', "bad_args", 16),
        (b'{"id":17,"cmd":"tile.assign","tile":true,"source":"red"}', "bad_args", 17),
        (b'{"id":18,"cmd":"tile.assign","tile":0}', "bad_args", 18),
        (b'{"id":19,"cmd":"subscribe","events":"scene.changed"}', "bad_args", 19),
        (b'{"id":20,"cmd":"screenshot"}', "bad_args", 20),
        (b'{"id":21,"cmd":"screenshot","file":"../x.png"}', "bad_args", 21),
        (b'{"id":22,"cmd":"screenshot","file":"a/b.png"}', "bad_args", 22),
        (b'{"id":23,"cmd":"screenshot","file":""}', "bad_args", 23),
        (b'{"id":24,"cmd":"screenshot","file":"wall.jpg"}', "bad_args", 24),
        (b'{"id":25,"cmd":"scene.switch","scene":"nowhere"}', "unknown_scene", 25),
        (b'{"id":26,"cmd":"scene.push","scene":"nowhere"}', "unknown_scene", 26),
        (b'{"id":27,"cmd":"scene.pop","scene":"nowhere"}', "unknown_scene", 27),
        (b'{"id":28,"cmd":"scene.pop","scene":"incident"}', "not_pushed", 28),
        (b'{"id":29,"cmd":"tile.assign","tile":5,"source":"red"}', "bad_tile", 29),
        (b'{"id":30,"cmd":"tile.assign","tile":-1,"source":"red"}', "bad_tile", 30),
        (b'{"id":31,"cmd":"tile.assign","tile":"middle","source":"red"}', "bad_tile", 31),
        (b'{"id":32,"cmd":"tile.assign","tile":0,"source":"nosuch"}', "unknown_source", 32),
    ]
    for line, code, rid in cases:
        r = u.request(line)
        ok = is_error(r, code) and r.get("id") == rid and ("id" in r) == (rid is not None)
        check(ok, f"{line[:60]!r} -> {code} (id {rid}): got {r}")
        check(u.call("ping").get("ok") is True, f"connection usable after {line[:40]!r}")
    # Empty lines are ignored: only the ping answers.
    u.send_raw(b"\n   \n\r\n")
    r = u.call("ping")
    check(r.get("ok") is True, f"empty lines ignored: {r}")
    # Pipelined requests are answered in order.
    u.send_raw(b"".join(json.dumps({"id": i, "cmd": "ping" if i % 3 else "status"}).encode() + b"\n"
                        for i in range(200)))
    ids = [u.reply()["id"] for _ in range(200)]
    check(ids == list(range(200)), "replies in request order")
    # A request split across writes.
    u.send_raw(b'{"id":"sp')
    time.sleep(0.2)
    u.send_raw(b'lit","cmd":"pi')
    time.sleep(0.2)
    u.send_raw(b'ng"}\n')
    check(u.reply() == {"id": "split", "ok": True}, "a request split over three writes")
    # A line of 64 KiB is fine; over it: too_large, then the connection closes.
    pad = "x" * (65536 - len('{"cmd":"ping","pad":""}'))
    r = u.request('{"cmd":"ping","pad":"%s"}' % pad)
    check(is_error(r, "bad_args"), f"a 64 KiB line is read (and its extra arg refused): {r}")
    big = b'{"cmd":"ping","pad":"' + b"y" * (70 * 1024) + b'"}\n'
    try:
        u.send_raw(big)
    except OSError:
        pass
    try:
        r = u.reply()
        check(is_error(r, "too_large"), f"70 KiB line -> too_large: {r}")
        check(u.read_line(5) == b"", "then the wall closes the connection")
    except OSError as e:
        check(False, f"too_large reply lost: {e}")
    u.close()


def test_scenes_and_pixels(wall):
    u = wall.unix()
    watcher = wall.unix()
    r = watcher.call("subscribe", events=["scene.changed"])
    check(r.get("ok") and r.get("events") == ["scene.changed"], f"subscribe: {r}")

    r = u.call("scene.switch", scene="alt")
    check(r.get("ok") and r.get("current") == "alt", f"scene.switch alt: {r}")
    e = watcher.wait_event("scene.changed", pred=lambda e: e.get("scene") == "alt")
    check(e is not None and str(e.get("by", "")).startswith("unix:pid="),
          f"the watcher sees scene.changed by the other connection: {e}")
    wait_pixels(wall, u, "blue", "yellow", "after scene.switch alt")

    r = u.call("scene.push", scene="incident", ttl=2, priority=5)
    check(r.get("ok") and r.get("current") == "incident", f"scene.push incident ttl 2: {r}")
    pushed_at = time.monotonic()
    wait_pixels(wall, u, "magenta", "magenta", "during the pushed incident", timeout=1.5)
    st = u.call("status")
    check([s["scene"] for s in st.get("stack", [])] == ["incident"], f"status.stack: {st}")
    e = watcher.wait_event("scene.changed", timeout=6, pred=lambda e: e.get("scene") == "alt")
    check(e is not None and time.monotonic() - pushed_at >= 1.5,
          f"the incident leaves by itself after its ttl: {e}")
    wait_pixels(wall, u, "blue", "yellow", "after the ttl expired")
    check(u.call("scene.list").get("current") == "alt", "alt shows again after the ttl")

    # Priority: a lower push does not cover a higher one; pops uncover.
    check(u.call("scene.push", scene="incident", priority=5).get("ok"), "push incident prio 5")
    r = u.call("scene.push", scene="calm", priority=1)
    check(r.get("ok") and r.get("current") == "incident", f"a lower priority stays below: {r}")
    r = u.call("scene.pop", scene="incident")
    check(r.get("ok") and r.get("current") == "calm", f"pop uncovers the next: {r}")
    wait_pixels(wall, u, "white", "white", "calm after popping incident")
    r = u.call("scene.pop", scene="calm")
    check(r.get("ok") and r.get("current") == "alt", f"pop back to the base: {r}")
    check(is_error(u.call("scene.pop", scene="calm"), "not_pushed"), "pop twice: not_pushed")

    # tile.assign by index and by id, on the scene showing.
    r = u.call("tile.assign", tile=0, source="magenta")
    check(r.get("ok"), f"tile.assign 0 magenta: {r}")
    r = u.call("tile.assign", tile="right", source="white")
    check(r.get("ok"), f"tile.assign right white: {r}")
    wait_pixels(wall, u, "magenta", "white", "after tile.assign")
    u.call("scene.switch", scene="main")
    wait_pixels(wall, u, "red", "green", "back on main")
    watcher.close()
    u.close()


def test_tcp_and_token(wall):
    t = wall.tcp(auth=False)
    check(is_error(t.call("ping"), "unauthorized"), "TCP before auth: unauthorized")
    check(is_error(t.call("scene.switch", scene="alt"), "unauthorized"),
          "TCP scene.switch before auth: unauthorized")
    check(is_error(t.call("subscribe"), "unauthorized"), "TCP subscribe before auth: unauthorized")
    check(is_error(t.request('{"cmd":"nope"}'), "unauthorized"),
          "unknown commands before auth: unauthorized too")
    check(is_error(t.call("auth", token="wrong"), "unauthorized"), "wrong token: unauthorized")
    check(is_error(t.call("auth"), "bad_args"), "auth without token: bad_args")
    check(is_error(t.call("ping"), "unauthorized"), "still unauthorized after a wrong token")
    check(t.call("auth", token=TOKEN).get("ok") is True, "right token")
    check(t.call("ping").get("ok") is True, "ping over TCP after auth")
    r = t.call("scene.list")
    check(r.get("ok") and r.get("current") == "main", f"scene.list over TCP: {r}")
    # Over TCP too, a line over 64 KiB gets too_large and the connection closes.
    try:
        t.send_raw(b'{"cmd":"ping","pad":"' + b"z" * (70 * 1024) + b'"}\n')
    except OSError:
        pass
    try:
        check(is_error(t.reply(), "too_large"), "TCP: 70 KiB line -> too_large")
        check(t.read_line(5) == b"", "TCP: then the wall closes the connection")
    except OSError as e:
        check(False, f"TCP: too_large reply lost: {e}")
    t.close()
    u = wall.unix()
    check(u.call("auth", token="whatever").get("ok") is True, "Unix clients need no token")
    u.close()
    # A client that sends its requests and shuts down its side still gets every reply
    # (as `socat` and `nc -N` do), the last line even without its newline.
    h = wall.unix()
    h.send_raw(b'{"id":1,"cmd":"ping"}\n{"id":2,"cmd":"ping"}')
    h.sock.shutdown(socket.SHUT_WR)
    got = [h.reply(), h.reply()]
    check(got == [{"id": 1, "ok": True}, {"id": 2, "ok": True}], f"half-closed client: {got}")
    check(h.read_line(5) == b"", "then the wall closes it")
    h.close()


def test_many_clients(wall):
    clients = [wall.unix() for _ in range(100)]
    for i, c in enumerate(clients):
        c.send_raw(json.dumps({"id": i, "cmd": "ping"}).encode() + b"\n")
    ok = sum(1 for i, c in enumerate(clients) if c.reply() == {"id": i, "ok": True})
    check(ok == 100, f"100 concurrent clients get their ping ({ok})")
    r = clients[0].call("status")
    check(r.get("clients", 0) >= 100, f"status.clients counts them: {r.get('clients')}")
    for c in clients:
        c.close()
    tcp = [wall.tcp() for _ in range(20)]
    check(all(c.call("ping").get("ok") for c in tcp), "20 TCP clients at once")
    for c in tcp:
        c.close()


def test_stalled_clients(wall):
    u = wall.unix()
    silent = wall.unix()
    half = wall.unix()
    half.send_raw(b'{"id":"half","cmd":"pi')
    reader_gone = threading.Event()
    sent = [0]
    paused = [False]

    def never_read():
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(wall.sock)
        c.settimeout(2)
        req = b'{"cmd":"help"}\n' * 64
        deadline = time.monotonic() + 40
        try:
            while time.monotonic() < deadline:
                try:
                    c.sendall(req)
                    sent[0] += len(req)
                except socket.timeout:
                    # Our own send buffer is full: the wall stopped reading us.
                    paused[0] = True
                    break
        except OSError:
            pass
        reader_gone.set()
        c.close()

    th = threading.Thread(target=never_read, daemon=True)
    f0 = frames(u)
    th.start()
    worst = 0.0
    samples = []
    t_start = time.monotonic()
    while (not reader_gone.is_set() or time.monotonic() - t_start < 2) and \
            time.monotonic() - t_start < 45:
        t0 = time.monotonic()
        r = u.call("status")
        worst = max(worst, time.monotonic() - t0)
        samples.append(r["frames_rendered"])
        time.sleep(0.05)
    th.join(45)
    # Its replies are never dropped: once it has over 1 MiB unread, the wall answers and
    # reads none of its requests until it reads (they wait in the socket buffers).
    check(paused[0], f"a client that never reads is no longer read from (it sent {sent[0]} bytes)")
    check(sent[0] < 16 * 1024 * 1024, f"what it got in stays bounded ({sent[0]} bytes sent)")
    check("dropping" not in wall.log_text(), "nobody was dropped for unread replies")
    check(worst < 1.0, f"other clients stay responsive meanwhile (slowest status {worst:.3f} s)")
    time.sleep(0.5)
    f1 = frames(u)
    check(f1 > f0 and len(samples) >= 10 and samples[-1] > samples[0],
          f"frames_rendered advances throughout ({f0} -> {samples[:1]}..{samples[-1:]} -> {f1})")
    # The silent and the half-line clients are still there and still served.
    half.send_raw(b'ng"}\n')
    check(half.reply() == {"id": "half", "ok": True}, "the half-line client finishes its request")
    check(silent.call("ping").get("ok") is True, "the silent client is still served")

    # Events are another matter: a subscriber that leaves over 1 MiB of them unread is
    # dropped, and says why in the log.
    sub = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sub.connect(wall.sock)
    sub.sendall(b'{"id":1,"cmd":"subscribe","events":["scene.changed"]}\n')
    time.sleep(0.2)
    burst = b"".join(b'{"cmd":"scene.switch","scene":"%s"}\n' % (b"main" if i % 2 else b"alt")
                     for i in range(200))
    for _ in range(60):  # 12,000 switches: ~2 MiB of scene.changed events
        u.send_raw(burst)
        for _ in range(200):
            u.reply()
        if "does not read its events" in wall.log_text():
            break
    check("does not read its events" in wall.log_text(), "a subscriber that never reads is dropped")
    sub.close()
    check(u.call("ping").get("ok") is True, "the wall still answers after the burst")
    for c in (u, silent, half):
        c.close()


def test_screenshot_and_reload(wall):
    u = wall.unix()
    watcher = wall.unix()
    watcher.call("subscribe", events=["*"])
    wait_pixels(wall, u, "red", "green", "before reloads")
    before = u.call("scene.list")

    # A broken wall file: the wall keeps the old one and lists every error with its line.
    line = wall.line_of('source = "yellow"')
    broken = wall.text().replace('source = "yellow"', 'source = "nosuch"')
    broken = broken.replace('labels = false;', 'labels = false;\n  colour = "red";')
    wall.write_cfg(broken)
    r = u.call("config.reload")
    errs = r.get("errors", []) if r else []
    check(is_error(r, "config_error") and len(errs) >= 2, f"broken reload: config_error {r}")
    check(any(e.startswith(f"{wall.cfg}:{line + 1}:") for e in errs),
          f"errors name path:line ({wall.cfg}:{line + 1}:): {errs}")
    check(all(":" in e and e.split(":")[1].isdigit() for e in errs),
          f"every error reads path:line: message: {errs}")
    after = u.call("scene.list")
    check(after.get("current") == before.get("current") and after.get("scenes") == before.get("scenes"),
          "the wall keeps its scenes after a failed reload")
    wait_pixels(wall, u, "red", "green", "pixels unchanged after a failed reload")

    # A good reload that changes a tile.
    wall.write_cfg(wall.text().replace('source = "green"; cell = [1, 0]', 'source = "white"; cell = [1, 0]'))
    r = u.call("config.reload")
    check(r == {"id": r.get("id"), "ok": True}, f"good reload: {r}")
    e = watcher.wait_event("config.reloaded")
    check(e is not None, f"subscribers see config.reloaded: {e}")
    wait_pixels(wall, u, "red", "white", "the reloaded wall file shows")

    # Labels on, and their size, apply at reload: the label box is label_size rows high.
    for size, dark_at, red_at in [(40, (2, 60), (2, 45)), (12, (2, 85), (2, 70))]:
        wall.write_cfg(wall.text().replace('labels = false;', f'labels = true; label_size = {size};'))
        check(u.call("config.reload").get("ok") is True, f"reload with label_size = {size}")
        img = shot(wall, u, f"label-{size}.png")
        if img:
            check(img.px(*dark_at)[0] < 150 and near(img.px(*red_at), COLOURS["red"], TOL),
                  f"label_size {size}: label box at {dark_at} ({img.px(*dark_at)}), picture at "
                  f"{red_at} ({img.px(*red_at)})")

    # Without a screenshot_dir, screenshots are disabled.
    wall.write_cfg(wall.text(shots=False))
    check(u.call("config.reload").get("ok") is True, "reload without screenshot_dir")
    check(is_error(u.call("screenshot", file="x.png"), "disabled"), "screenshot: disabled")
    wall.write_cfg(wall.text())
    check(u.call("config.reload").get("ok") is True, "reload back to the test wall")
    wait_pixels(wall, u, "red", "green", "back to the original wall")
    watcher.close()
    u.close()


def test_socket_group(wall):
    import grp
    group = grp.getgrgid(os.getgid()).gr_name
    u = wall.unix()
    wall.write_cfg(wall.text().replace("control = {\n", f'control = {{\n  socket_group = "{group}";\n'))
    r = u.call("config.reload")
    st = os.stat(wall.sock)
    check(r.get("ok") is True and st.st_mode & 0o777 == 0o660 and st.st_gid == os.getgid(),
          f"control.socket_group: mode 0660, group {group} ({r}, {oct(st.st_mode & 0o777)})")
    wall.write_cfg(wall.text())
    r = u.call("config.reload")
    check(r.get("ok") is True and os.stat(wall.sock).st_mode & 0o777 == 0o600,
          "without socket_group the socket is 0600 again")
    u.close()


def test_unsubscribe(wall):
    u = wall.unix()
    w = wall.unix()
    r = w.call("subscribe", events=["tile.assigned", "scene.changed"])
    check(sorted(r.get("events", [])) == ["scene.changed", "tile.assigned"], f"subscribe two: {r}")
    r = w.call("unsubscribe", events=["scene.changed"])
    check(r.get("events") == ["tile.assigned"], f"unsubscribe one: {r}")
    u.call("scene.switch", scene="alt")
    u.call("tile.assign", tile=1, source="red")
    e = w.wait_event("tile.assigned", timeout=5)
    check(e is not None and e.get("source") == "red", f"tile.assigned event: {e}")
    check(w.wait_event("scene.changed", timeout=0.5) is None, "no scene.changed after unsubscribe")
    r = w.call("unsubscribe")
    check(r.get("events") == [], f"unsubscribe all: {r}")
    u.call("scene.switch", scene="main")
    check(w.wait_event("scene.changed", timeout=0.5) is None, "no events after unsubscribe all")
    u.close()
    w.close()


def test_audit(wall):
    log = wall.log_text()
    lines = [l for l in log.splitlines() if "audit: " in l]
    check(any("client=unix:pid=" in l and "cmd=scene.switch" in l and 'args={"scene":"alt"}' in l
              and l.endswith("result=ok") for l in lines), "audit line for a Unix scene.switch")
    check(any("cmd=scene.switch" in l and l.endswith("result=unknown_scene") for l in lines),
          "audit line for a failed scene.switch")
    check(any("client=tcp:127.0.0.1:" in l and l.endswith("result=unauthorized") for l in lines),
          "audit line for an unauthorized TCP scene.switch")
    check(any("cmd=config.reload" in l and l.endswith("result=config_error") for l in lines),
          "audit line for a failed reload")
    check(not any("cmd=ping" in l or "cmd=status" in l for l in lines), "reads are not audited")
    check(TOKEN not in log, "the token never reaches the log")


def run_ctl(wall, *args, env=None, timeout=30):
    e = dict(os.environ, **(env or {}))
    e.pop("VWALL_SOCKET", None)
    e.pop("VWALL_TOKEN", None)
    if env:
        e.update(env)
    p = subprocess.run([wall.args.vwallctl, *args], capture_output=True, text=True, env=e,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def test_vwallctl(wall):
    s = ["-s", "unix:" + wall.sock]
    rc, out, err = run_ctl(wall, *s, "scene", "list")
    check(rc == 0 and "main" in out and "Main 主" in out and "incident" in out,
          f"vwallctl scene list: {rc} {out!r} {err!r}")
    rc, out, err = run_ctl(wall, *s, "scene", "switch", "alt")
    check(rc == 0, f"vwallctl scene switch alt: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "scene", "switch", "nowhere")
    check(rc == 1 and "unknown_scene" in err, f"vwallctl scene switch nowhere exits 1: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "scene", "push", "incident", "--ttl", "300", "--priority", "5")
    check(rc == 0, f"vwallctl scene push: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "--json", "status")
    st = json.loads(out) if rc == 0 else {}
    check(st.get("scene") == "incident" and st.get("stack", [{}])[0].get("priority") == 5,
          f"vwallctl --json status after push: {out!r}")
    rc, out, err = run_ctl(wall, *s, "scene", "pop", "incident")
    check(rc == 0, f"vwallctl scene pop: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "scene", "pop", "incident")
    check(rc == 1 and "not_pushed" in err, f"vwallctl scene pop again exits 1: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "tile", "assign", "0", "red")
    check(rc == 0, f"vwallctl tile assign 0 red: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "tile", "assign", "right", "nosuch")
    check(rc == 1 and "unknown_source" in err, f"vwallctl tile assign unknown source: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "status")
    check(rc == 0 and "frames_rendered" in out and "clients" in out, f"vwallctl status: {out!r}")
    rc, out, err = run_ctl(wall, *s, "sources")
    check(rc == 0 and "magenta" in out, f"vwallctl sources: {out!r}")
    rc, out, err = run_ctl(wall, *s, "sources", "红", "--limit", "5")
    rows = [line for line in out.splitlines() if line and not line.startswith("ID")]
    check(rc == 0 and out.startswith("ID") and len(rows) == 1 and rows[0].startswith("red"),
          f"vwallctl sources QUERY: a table with a header, the matching source: {out!r}")
    rc, out, err = run_ctl(wall, *s, "sources", "--limit", "2")
    check(rc == 0 and "(2 of 6 shown" in out, f"vwallctl sources --limit pages: {out!r}")
    rc, out, err = run_ctl(wall, *s, "sources", "--state", "asleep")
    check(rc == 1 and "bad_args" in err, f"vwallctl sources --state of no state: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "tile", "list")
    check(rc == 0 and "configured_source" in out, f"vwallctl tile list: {out!r}")
    rc, out, err = run_ctl(wall, *s, "reload")
    check(rc == 0, f"vwallctl reload: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "screenshot", "ctl.png")
    check(rc == 0 and os.path.exists(os.path.join(wall.shots, "ctl.png")),
          f"vwallctl screenshot: {rc} {out!r} {err!r}")
    rc, out, err = run_ctl(wall, *s, "screenshot", "../ctl.png")
    check(rc == 1 and "bad_args" in err, f"vwallctl screenshot ../: exits 1 {err!r}")
    rc, out, err = run_ctl(wall, *s, "--json", "raw", '{"cmd":"ping","id":"r"}')
    check(rc == 0 and json.loads(out) == {"id": "r", "ok": True}, f"vwallctl raw: {out!r}")
    rc, out, err = run_ctl(wall, *s, "raw", '{"cmd":"warp"}')
    check(rc == 1 and "unknown_command" in err, f"vwallctl raw unknown: {rc} {err!r}")
    rc, out, err = run_ctl(wall, "scene", "list", env={"VWALL_SOCKET": "unix:" + wall.sock})
    check(rc == 0 and "main" in out, f"VWALL_SOCKET picks the socket: {rc} {err!r}")
    tcp = f"tcp:127.0.0.1:{wall.port}"
    rc, out, err = run_ctl(wall, "-s", tcp, "--token", TOKEN, "scene", "switch", "main")
    check(rc == 0, f"vwallctl over TCP with --token: {rc} {err!r}")
    rc, out, err = run_ctl(wall, "-s", tcp, "status")
    check(rc == 1 and "unauthorized" in err, f"vwallctl over TCP without token exits 1: {rc} {err!r}")
    rc, out, err = run_ctl(wall, "-s", tcp, "--token", "wrong", "status")
    check(rc == 1 and "unauthorized" in err, f"vwallctl with a wrong token exits 1: {rc} {err!r}")
    rc, out, err = run_ctl(wall, "-s", tcp, "status", env={"VWALL_TOKEN": TOKEN})
    check(rc == 0, f"VWALL_TOKEN supplies the token: {rc} {err!r}")
    rc, out, err = run_ctl(wall, "-s", "unix:" + os.path.join(wall.dir, "nobody.sock"), "status")
    check(rc == 2, f"unreachable socket exits 2: {rc} {err!r}")
    rc, out, err = run_ctl(wall, "-s", f"tcp:127.0.0.1:{free_port()}", "status")
    check(rc == 2, f"unreachable TCP port exits 2: {rc} {err!r}")
    rc, out, err = run_ctl(wall, *s, "scene", "frobnicate")
    check(rc == 64, f"usage errors exit 64: {rc} {err!r}")

    # watch: events one per line until interrupted.
    w = subprocess.Popen([wall.args.vwallctl, *s, "watch"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    run_ctl(wall, *s, "scene", "switch", "alt")
    ready, _, _ = select.select([w.stdout], [], [], 10)
    line = w.stdout.readline() if ready else ""
    ev = json.loads(line) if line.startswith("{") else {}
    check(ev.get("event") == "scene.changed" and ev.get("scene") == "alt",
          f"vwallctl watch prints the event: {line!r}")
    w.send_signal(signal.SIGINT)
    try:
        rc = w.wait(10)
    except subprocess.TimeoutExpired:
        w.kill()
        rc = None
    check(rc == 0, f"vwallctl watch exits 0 on SIGINT: {rc}")
    run_ctl(wall, *s, "scene", "switch", "main")


def test_socket_files(wall):
    # A second vwall on the same Unix socket refuses (the first one answers there).
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    p = subprocess.run(wall.command(port=free_port()), capture_output=True, text=True, env=env,
                       timeout=60)
    check(p.returncode != 0 and "listening" in p.stderr,
          f"a second vwall on a live socket fails: {p.returncode} {p.stderr[-300:]!r}")
    check(Client(wall.sock).call("ping").get("ok") is True, "the first wall still answers")
    # A stale socket file (nothing answers) is replaced.
    stale = os.path.join(wall.dir, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    other = vwtest.Vwall(wall.vwall, wall.cfg, stale, os.path.join(wall.dir, "stale.log"),
                         extra=["--control", f"tcp:127.0.0.1:{free_port()}"], keep_client=False)
    try:
        ok = other.start(timeout=30) is other
    except vwtest.StartError as e:
        print(e, file=sys.stderr)
        ok = False
    check(ok, "vwall replaces a stale socket file")
    rc = other.stop(grace=20)
    check(rc == 0 and not os.path.exists(stale), f"vwall removes its socket file on exit ({rc})")
    # A path that is not a socket is never removed.
    plain = os.path.join(wall.dir, "plain.sock")
    with open(plain, "w") as f:
        f.write("keep me")
    p = subprocess.run(wall.command(sock=plain, port=free_port()), capture_output=True, text=True,
                       env=env, timeout=60)
    check(p.returncode != 0 and os.path.isfile(plain), f"a non-socket file is kept: {p.stderr[-200:]!r}")


TESTS = [test_basics, test_errors, test_tcp_and_token, test_scenes_and_pixels, test_unsubscribe,
         test_many_clients, test_stalled_clients, test_screenshot_and_reload, test_socket_group, test_vwallctl,
         test_socket_files, test_audit]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vwall", required=True)
    ap.add_argument("--vwallctl", required=True)
    ap.add_argument("--clips", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("only", nargs="*")
    args = ap.parse_args()
    for clip in ("red", "green", "blue", "yellow", "magenta", "white"):
        if not os.path.exists(os.path.join(args.clips, clip + ".mp4")):
            print(f"missing test clip {clip}.mp4 in {args.clips} (scripts/make-clips.sh test DIR)",
                  file=sys.stderr)
            return 1
    wall = Wall(args)
    wall.start(timeout=30)
    try:
        vwtest.run_each([(t.__name__, functools.partial(t, wall)) for t in TESTS
                         if not args.only or t.__name__ in args.only
                         or t.__name__[5:] in args.only], wall)
    finally:
        rc = wall.stop()
        check(rc == 0, f"vwall exits 0 on SIGTERM (got {rc})")
        check(not os.path.exists(wall.sock), "vwall removes its socket on exit")
        if vwtest.failed:
            print("---- vwall log (last 60 lines) ----", file=sys.stderr)
            print("\n".join(wall.log_text().splitlines()[-60:]), file=sys.stderr)
        if args.keep or vwtest.failed:
            print(f"files kept in {wall.dir}", file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", wall.dir])
    print(f"control: {vwtest.passed} passed, {vwtest.failed} failed")
    return 1 if vwtest.failed or not vwtest.passed else 0


if __name__ == "__main__":
    sys.exit(main())
