#!/usr/bin/python3
"""Nothing blocks the main thread (issue 12, class 1), through the real vwall:

  - a label font that is a FIFO (or a folder): `--check` and a start fail with
    `FONT: cannot open: not a regular file` instead of hanging in SDL_ttf's open; a reload to
    such a file is refused, the wall keeps the old file and goes on answering;
  - a FIFO among the shaders (--shaders) or as the --stats file: an error, never a hang;
  - control.socket_group after a reload: the group is looked up by the reload's worker, never
    on the main thread (an LD_PRELOAD probe, tests/nss_probe.c, records which thread looks a
    group up by name).

    harden_test.py --vwall BUILD/vwall --clips BUILD/clips --nss-probe BUILD/libnss_probe.so
"""
import argparse
import grp
import os
import shutil
import signal
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vwtest  # noqa: E402
from vwtest import check  # noqa: E402

WALL = """// harden_test.py: one 160x90 panel
wall = {{
  name = "harden test";
  screen = {{ width = 160; height = 90; }};
  grid = {{ columns = 1; rows = 1; }};
  labels = true;
  {font}
}};
sources = ( {{ id = "red"; url = "{clips}/red.mp4"; loop = true; }} );
scenes = ( {{ id = "main"; default = true; grid = [1, 1]; tiles = ( {{ source = "red"; cell = [0, 0]; }} ); }} );
control = {{ {control} }};
"""


class Wall(vwtest.Vwall):
    """vwall on a wall file of its own in work/name (tests/vwtest.py's Vwall)."""

    def __init__(self, args, work, name):
        folder = os.path.join(work, name)
        os.makedirs(folder)
        super().__init__(args.vwall, os.path.join(folder, "wall.cfg"),
                         os.path.join(folder, "s.sock"), os.path.join(folder, "vwall.log"),
                         state_home=os.path.join(folder, "state"))
        self.args = args
        self.dir = folder

    def write(self, font="", control=""):
        tmp = self.cfg + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(WALL.format(clips=os.path.abspath(self.args.clips), font=font,
                                control=control))
        os.replace(tmp, self.cfg)

    def start(self, env=None):
        """Starts vwall with env's variables added; returns self when its socket answers, or
        None when it exited first or did not answer within 30 s (it is left as it is: its
        status and log are in self.proc and self.log_text())."""
        self.env = dict(env or {})
        super().start(wait=False)
        try:
            self.wait_socket(30)
        except vwtest.StartError:
            return None
        return self

    def stop(self, sig=signal.SIGTERM, grace=None):
        """stop(), then one check per kind of sanitizer report that the log holds none."""
        rc = super().stop(sig, grace)
        log = self.log_text()
        for bad in vwtest.SANITIZER_REPORTS:
            check(bad not in log, f"no sanitizer report in the log ({bad})")
        return rc


def test_font_fifo(args, work):
    w = Wall(args, work, "font")
    fifo = os.path.join(w.dir, "fifo.ttf")
    os.mkfifo(fifo)
    folder = os.path.join(w.dir, "folder.ttf")
    os.mkdir(folder)
    want = f"{fifo}: cannot open: not a regular file"

    # --check: an error naming the file, at once (before the fix: "ok", and a start that
    # hangs in SDL_ttf's open of the FIFO).
    w.write(font='font = "fifo.ttf";')
    try:
        r = subprocess.run([args.vwall, "-c", w.cfg, "--check"], capture_output=True, text=True,
                           timeout=20)
        check(r.returncode == 1 and want in r.stderr,
              f"--check with a FIFO as the font: status 1 and '{want}' ({r.returncode}, "
              f"{r.stdout}{r.stderr})")
    except subprocess.TimeoutExpired:
        check(False, "--check with a FIFO as the font: returns (it hung)")
    w.write(font='font = "folder.ttf";')
    r = subprocess.run([args.vwall, "-c", w.cfg, "--check"], capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 1 and f"{folder}: cannot open: not a regular file" in r.stderr,
          f"--check with a folder as the font: refused ({r.returncode}, {r.stderr})")

    # A start with it: exits with the error instead of hanging with no socket.
    w.write(font='font = "fifo.ttf";')
    started = w.start()
    if started:
        check(False, "vwall with a FIFO as the font: refuses to start (it started)")
        w.stop()
    else:
        try:
            w.proc.wait(20)
            check(w.proc.returncode not in (0, None) and want in w.log_text(),
                  f"vwall with a FIFO as the font: exits non-zero with '{want}' "
                  f"({w.proc.returncode}: {w.log_text()[-800:]})")
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait()
            check(False, "vwall with a FIFO as the font: exits (it hung without answering)")

    # A running wall reloading onto it: refused, the wall keeps the old file and answers.
    w.write()
    if not check(w.start() is not None, f"the wall starts with fontconfig's font: {w.log_text()}"):
        return
    w.write(font='font = "fifo.ttf";')
    try:
        r = w.c.call("config.reload", timeout=20)
    except socket.timeout:
        check(False, "reload onto a FIFO font: answered (the wall hung)")
        w.proc.kill()
        return
    check(r and r.get("ok") is False and r.get("error") == "config_error" and
          any(want in e for e in r.get("errors", [])),
          f"reload onto a FIFO font: refused naming the file ({r})")
    check(w.c.call("ping", timeout=5).get("ok") is True, "the wall answers after the refusal")
    st = w.c.call("status")
    check(st.get("ok") and st.get("scene") == "main", f"the wall keeps showing ({st})")

    # And a real font file is still taken (through the opened file, not the path).
    real = subprocess.run(["fc-match", "-f", "%{file}", "sans"], capture_output=True,
                          text=True).stdout.strip()
    if check(os.path.isfile(real), f"fontconfig names a font file ({real!r})"):
        shutil.copy(real, os.path.join(w.dir, "real.ttf"))
        w.write(font='font = "real.ttf";')
        r = w.c.call("config.reload", timeout=20)
        check(r and r.get("ok") is True, f"reload onto a regular font file: ok ({r})")
        check("labels are not drawn" not in w.log_text(),
              "the regular font file is used for labels (no 'labels are not drawn')")
    w.stop()


def test_group_lookup_off_main(args, work):
    w = Wall(args, work, "group")
    group = grp.getgrgid(os.getgid()).gr_name
    probe_log = os.path.join(w.dir, "nss.log")
    w.write(control=f'socket_group = "{group}";')
    env = {"LD_PRELOAD": os.path.abspath(args.nss_probe), "VWALL_NSS_PROBE_LOG": probe_log,
           # the probe is not instrumented: under ASan it comes before the runtime
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    if not check(w.start(env) is not None, f"the wall starts with the probe: {w.log_text()}"):
        return

    def lookups():
        try:
            with open(probe_log) as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    at_start = lookups()
    check(at_start.count("main") >= 1,
          f"the probe sees the start's lookup of '{group}' ({at_start})")
    for i in range(3):
        w.write(control=f'socket_group = "{group}"; token = "t{i}";')
        r = w.c.call("config.reload", timeout=20)
        check(r and r.get("ok") is True, f"reload {i + 1} with socket_group: ok ({r})")
    after = lookups()
    st = os.stat(w.sock)
    check(st.st_mode & 0o777 == 0o660 and st.st_gid == os.getgid(),
          f"the socket keeps mode 0660 and group {group} ({oct(st.st_mode & 0o777)}, {st.st_gid})")
    check(after.count("worker") >= at_start.count("worker") + 3,
          f"each reload looks the group up on its worker ({after})")
    check(after.count("main") == at_start.count("main"),
          f"no group lookup on the main thread after the start ({at_start} -> {after})")

    # A missing group on reload: refused by the worker, the socket stays as it was.
    w.write(control='socket_group = "no-such-group-vwall";')
    r = w.c.call("config.reload", timeout=20)
    check(r and r.get("ok") is False and "no-such-group-vwall" in str(r.get("errors")),
          f"reload with a missing group: refused naming it ({r})")
    check(os.stat(w.sock).st_mode & 0o777 == 0o660, "the socket is unchanged after the refusal")
    check(lookups().count("main") == at_start.count("main"),
          "the refused group was not looked up on the main thread either")
    w.stop()


def run_bounded(argv, env=None, limit=30):
    """Runs vwall; (exit status, stderr), or (None, stderr so far) when it hangs."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        _, err = p.communicate(timeout=limit)
        return p.returncode, err.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return None, err.decode("utf-8", "replace")


def test_shader_and_stats_fifo(args, work):
    """A FIFO among the shaders (--shaders) stops the start with an error instead of
    hanging it; a FIFO as the --stats file does not hold the exit."""
    d = os.path.join(work, "shaders")
    shutil.copytree(os.path.join(os.path.dirname(HERE), "shaders"), d)
    os.remove(os.path.join(d, "copy.frag"))
    os.mkfifo(os.path.join(d, "copy.frag"))
    w = Wall(args, work, "fifos")
    w.write()
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    rc, err = run_bounded([args.vwall, "-c", w.cfg, "--shaders", d, "--screenshot",
                           os.path.join(work, "s.png"), "--timeout", "2"], env)
    check(rc is not None, "a FIFO among the shaders: vwall does not hang")
    check(rc == 1 and "copy.frag: cannot open: not a regular file" in err,
          f"a FIFO among the shaders: exit 1 naming it ({rc}; {err.strip()[-200:]})")

    fifo = os.path.join(work, "stats.fifo")
    os.mkfifo(fifo)
    rc, err = run_bounded([args.vwall, "-c", w.cfg, "--output", "offscreen", "--control",
                           "none", "--duration", "1", "--stats", fifo], env)
    check(rc is not None, "--stats naming a FIFO: vwall still exits")
    check(rc == 0 and "not a regular file" in err,
          f"--stats naming a FIFO: exit 0, the stats refused ({rc}; {err.strip()[-200:]})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vwall", required=True)
    ap.add_argument("--clips", required=True)
    ap.add_argument("--nss-probe", required=True)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    with vwtest.work_folder("vwall-harden-", args.keep) as work:
        test_font_fifo(args, work)
        test_group_lookup_off_main(args, work)
        test_shader_and_stats_fifo(args, work)
    vwtest.finish("harden")


if __name__ == "__main__":
    main()
