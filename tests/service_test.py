"""vwall as a systemd service, without systemd: the notify protocol against a NOTIFY_SOCKET
datagram socket this test owns, and journald priorities on the log lines.

  service_test.py VWALL CLIPS notify    READY only after the first frame (and never from a
                                        wall that cannot draw), WATCHDOG=1 keeps coming while
                                        the wall draws and stops while its loop is stopped,
                                        STATUS= follows scene changes and cameras going live,
                                        STOPPING=1 on SIGTERM
  service_test.py VWALL CLIPS journal   with JOURNAL_STREAM naming stderr, every line starts
                                        with its syslog priority (<3> <4> <6> <7>); without,
                                        none does
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vwtest import check, finish, request  # noqa: E402

VWALL, CLIPS, PART = sys.argv[1], sys.argv[2], sys.argv[3]
TMP = tempfile.mkdtemp(prefix="vwall-service-")


def clip(name):
    return os.path.join(CLIPS, name)


WALL = f'''wall = {{ name = "svc"; screen = {{ width = 160; height = 90; }};
  grid = {{ columns = 3; rows = 1; }}; labels = false; }};
sources = (
  {{ id = "red"; url = "{clip("red.mp4")}"; loop = true; }},
  {{ id = "moving"; url = "{clip("moving.mp4")}"; loop = true; }},
  {{ id = "dead"; url = "{TMP}/no-such-clip.mp4"; }}
);
scenes = (
  {{ id = "three"; default = true; grid = [3, 1];
    tiles = ( {{ source = "red"; cell = [0, 0]; }}, {{ source = "moving"; cell = [1, 0]; }},
              {{ source = "dead"; cell = [2, 0]; }} ); }},
  {{ id = "one"; grid = [1, 1]; tiles = ( {{ source = "moving"; cell = [0, 0]; }} ); }}
);
'''


def write_wall(name="wall.cfg", text=WALL):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class Notify:
    """The service manager's end: a datagram socket vwall sends its notifications to."""

    def __init__(self, name):
        self.path = os.path.join(TMP, name)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.msgs = []  # (monotonic time received, text)

    def poll(self, wait):
        """Takes what arrives within `wait` s; returns the new messages."""
        deadline = time.monotonic() + wait
        new = []
        while True:
            left = deadline - time.monotonic()
            self.sock.settimeout(max(left, 0.001))
            try:
                data = self.sock.recv(4096)
            except (socket.timeout, BlockingIOError):
                if left <= 0:
                    break
                continue
            m = (time.monotonic(), data.decode())
            self.msgs.append(m)
            new.append(m)
        return new

    def wait_for(self, pred, timeout, since=0):
        """The first message (already seen from index `since` on, or new) for which
        pred(text) holds, or None."""
        for _, text in self.msgs[since:]:
            if pred(text):
                return text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, text in self.poll(0.2):
                if pred(text):
                    return text
        return None

    def close(self):
        self.sock.close()


def fields(text):
    """{"READY": "1", "STATUS": "..."} of one notification."""
    out = {}
    for line in text.split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def start(cfg, notify, *extra, watchdog_usec=None, log="vwall.log"):
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    env.pop("WATCHDOG_USEC", None)
    env.pop("WATCHDOG_PID", None)
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    logf = open(os.path.join(TMP, log), "w")
    return subprocess.Popen([VWALL, "-c", cfg, "--output", "offscreen", "--max-fps", "30", *extra],
                            env=env, stdout=logf, stderr=subprocess.STDOUT)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return None
    return p.returncode


def log_text(name="vwall.log"):
    with open(os.path.join(TMP, name)) as f:
        return f.read()


def test_notify():
    cfg = write_wall()
    ctl = os.path.join(TMP, "ctl.sock")

    # A wall that cannot draw (no shaders) never says READY.
    n0 = Notify("notify-broken.sock")
    p = start(cfg, n0, "--shaders", os.path.join(TMP, "no-shaders"), "--control", "none",
              log="broken.log")
    rc = p.wait(60)
    n0.poll(0.3)
    check(rc == 1, f"a wall without shaders exits 1, got {rc}")
    check(not any("READY=1" in t for _, t in n0.msgs),
          f"a wall that drew nothing sent no READY=1; got {n0.msgs}")
    n0.close()

    n = Notify("notify.sock")
    p = start(cfg, n, "--control", f"unix:{ctl}", watchdog_usec=1000000)
    try:
        ready = n.wait_for(lambda t: "READY=1" in t, 60)
        check(ready is not None, f"READY=1 within 60 s; log:\n{log_text()}")
        if ready is None:
            return
        # READY comes after the first frame: the wall had drawn when it said so.
        st = request(ctl, "status")
        check(st and st.get("ok") and st["frames_rendered"] >= 1,
              f"status after READY: frames_rendered >= 1, got {st}")
        first = n.msgs[0][1]
        check("READY=1" in first, f"READY=1 is the first notification, got {first!r}")
        check(fields(ready).get("STATUS", "").startswith("scene three, "),
              f"READY comes with a STATUS naming the scene, got {ready!r}")

        # STATUS follows the cameras going live: red and moving play, dead never opens.
        live = n.wait_for(lambda t: fields(t).get("STATUS") == "scene three, 2/3 cameras live", 30)
        check(live is not None,
              f"STATUS 'scene three, 2/3 cameras live' within 30 s; got {[t for _, t in n.msgs]}")

        # WATCHDOG=1 keeps coming while the wall draws (every quarter WATCHDOG_USEC: 0.25 s).
        got = n.poll(3.0)
        pings = [t for _, t in got if "WATCHDOG=1" in t]
        check(len(pings) >= 3, f"WATCHDOG=1 at least 3 times in 3 s while drawing, got {len(pings)}")

        # It comes from the loop that draws: with the process stopped, none comes.
        p.send_signal(signal.SIGSTOP)
        n.poll(0.3)  # what was sent before the stop
        during = [t for _, t in n.poll(1.5) if "WATCHDOG=1" in t]
        p.send_signal(signal.SIGCONT)
        check(not during, f"no WATCHDOG=1 while the loop is stopped, got {len(during)}")
        after = [t for _, t in n.poll(2.0) if "WATCHDOG=1" in t]
        check(len(after) >= 1, "WATCHDOG=1 again once the loop runs again")

        # STATUS follows a scene change made through the control socket.
        mark = len(n.msgs)
        r = request(ctl, "scene.switch", scene="one")
        check(r and r.get("ok"), f"scene.switch one: {r}")
        one = n.wait_for(lambda t: fields(t).get("STATUS") == "scene one, 1/1 camera live", 20,
                         since=mark)
        check(one is not None,
              f"STATUS 'scene one, 1/1 camera live' after the switch; got {[t for _, t in n.msgs[-5:]]}")
        mark = len(n.msgs)
        r = request(ctl, "scene.switch", scene="three")
        back = n.wait_for(lambda t: fields(t).get("STATUS", "").startswith("scene three"), 20,
                          since=mark)
        check(back is not None, "STATUS back on 'scene three' after switching back")

        readies = [t for _, t in n.msgs if "READY=1" in t]
        check(len(readies) == 1, f"READY=1 sent once, got {len(readies)}")
    finally:
        rc = stop(p)
    n.poll(0.5)
    check(rc == 0, f"vwall exits 0 on SIGTERM, got {rc}")
    check(any("STOPPING=1" in t for _, t in n.msgs), "STOPPING=1 on SIGTERM")
    n.close()

    # A wall with nothing to draw (every tile a slate, nothing counting) is not stalled:
    # its pings go on.
    n2 = Notify("notify-idle.sock")
    p = start(cfg, n2, "--no-connect", "--control", "none", watchdog_usec=1000000, log="idle.log")
    try:
        check(n2.wait_for(lambda t: "READY=1" in t, 60) is not None, "idle wall: READY=1")
        pings = [t for _, t in n2.poll(2.5) if "WATCHDOG=1" in t]
        check(len(pings) >= 2, f"idle wall: WATCHDOG=1 goes on, got {len(pings)} in 2.5 s")
    finally:
        stop(p)
    n2.close()

    # Without WATCHDOG_USEC, no pings.
    n3 = Notify("notify-nowd.sock")
    p = start(cfg, n3, "--control", "none", log="nowd.log")
    try:
        check(n3.wait_for(lambda t: "READY=1" in t, 60) is not None, "no watchdog: READY=1")
        n3.poll(1.5)
        check(not any("WATCHDOG=1" in t for _, t in n3.msgs),
              "no WATCHDOG=1 when systemd asked for no watchdog")
    finally:
        stop(p)
    n3.close()


def run_logged(args, journal):
    """Runs vwall with stderr to a file; JOURNAL_STREAM names that file when `journal`,
    else another file (as when a child of a service redirected its stderr)."""
    path = os.path.join(TMP, "stderr.txt")
    other = os.path.join(TMP, "other.txt")
    open(other, "w").close()
    with open(path, "w") as f:
        st = os.fstat(f.fileno()) if journal else os.stat(other)
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}", VWALL_LOG="debug")
        env.pop("NOTIFY_SOCKET", None)
        rc = subprocess.run([VWALL, *args], stdout=subprocess.DEVNULL, stderr=f, env=env,
                            timeout=120).returncode
    with open(path) as f:
        return rc, [line for line in f.read().split("\n") if line]


def test_journal():
    bad = write_wall("bad.cfg", WALL.replace('id = "red";', 'id = "red"; colour = 1;'))
    rc, lines = run_logged(["-c", bad, "--check"], True)
    check(rc == 1, f"--check of a bad file exits 1, got {rc}")
    errors = [line for line in lines if not line.startswith("<7>")]  # VWALL_LOG=debug
    check(errors and all(line.startswith("<3>") for line in errors),
          f"under journald every error line starts with <3>: {lines}")
    check(any("unknown key 'colour'" in line and f"{bad}:" in line for line in lines),
          f"the error itself is there, path:line first after the priority: {lines}")

    # A screenshot whose dead tile never gets a picture: info, debug and a warning.
    good = write_wall()
    shot = os.path.join(TMP, "shot.png")
    rc, lines = run_logged(["-c", good, "--screenshot", shot, "--timeout", "3"], True)
    check(rc == 0, f"screenshot exits 0, got {rc}")
    prios = {line[:3] for line in lines}
    check(all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in lines),
          f"every line carries a priority: {[x for x in lines if x[:3] not in ('<3>', '<4>', '<6>', '<7>')]}")
    check({"<4>", "<6>", "<7>"} <= prios, f"warning, info and debug lines seen, got {sorted(prios)}")
    warn = [line for line in lines if line.startswith("<4>")]
    check(any("some tiles still have no picture" in line or "is offline" in line for line in warn),
          f"the missing tile's warning is a <4> line: {warn}")
    check(all(" warn: " in line for line in warn), f"<4> lines are the warnings: {warn}")
    check(all(" info: " in line for line in lines if line.startswith("<6>")), "<6> lines are info")

    # Not under journald (JOURNAL_STREAM names another stream): plain lines with the time.
    rc, lines = run_logged(["-c", bad, "--check"], False)
    check(lines and not any(line.startswith("<") for line in lines),
          f"stderr that is not the journal gets no priority prefix: {lines}")
    rc, lines = run_logged(["-c", good, "--screenshot", shot, "--timeout", "1"], False)
    check(lines and all(line[:2].isdigit() and line[2] == ":" for line in lines),
          f"log lines start with the time when not under journald: {lines[:3]}")


if PART == "notify":
    test_notify()
elif PART == "journal":
    test_journal()
else:
    sys.exit(f"unknown part {PART}")
finish(f"service_{PART}")
