"""Helpers shared by the Python integration tests: a failure counter and notes, PNG pixels
through the ffmpeg command line, clients of vwall's control socket, vwall itself as a process
of the test (Vwall), the GStreamer RTSP camera (RtspServer, tests/rtsp_server.py), and small
servers on this machine that a test runs in a thread (LoopbackServer)."""
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's: it has the GStreamer gi bindings (rtsp_server.py)

passed = failed = 0
verbose = False  # True: a check that holds is printed too, "ok: what" (the log reads as a report)
notes = []  # measurements worth reading, in the order note() took them


def check(cond, what):
    """Records one check; a failure is printed with what was expected and what was seen (and
    with `verbose`, a check that held). Returns cond, so a test can go on only when it held."""
    global passed, failed
    if cond:
        passed += 1
        if verbose:
            print(f"ok: {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL: {what}", file=sys.stderr, flush=True)
    return cond


def checked(cond, what):
    """check() that prints what held whatever `verbose` says: a check worth reading."""
    if cond and not verbose:
        print(f"ok: {what}", flush=True)
    return check(cond, what)


def note(text):
    """A measurement worth reading (not a check): printed now, and kept in `notes`."""
    notes.append(text)
    print(f"note: {text}", flush=True)


def finish(name):
    """Prints 'name: N passed, M failed' and exits non-zero on a failure or on no check."""
    print(f"{name}: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


@contextlib.contextmanager
def work_folder(prefix, keep=False, keep_failed=False):
    """A temporary folder for a run's files (wall files, logs, screenshots), removed at the
    end unless keep, or keep_failed and a check failed: then "kept FOLDER" is printed."""
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        yield folder
    finally:
        if keep or (keep_failed and failed):
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run_each(steps, wall):
    """Runs the (name, fn) steps in order against one running wall (a Vwall), each under a
    "-- name" line and followed by the seconds it took. A step that raises is a failed check
    and the next one still runs; a vwall that died is a failed check that ends the run."""
    for name, fn in steps:
        print(f"-- {name}", flush=True)
        t0 = time.monotonic()
        try:
            fn()
        except Exception as e:  # one broken step should not hide the others
            traceback.print_exc()
            check(False, f"{name} raised {e!r}")
        print(f"   {time.monotonic() - t0:.1f} s", flush=True)
        if not wall.running():
            check(False, f"vwall died during {name} (exit {wall.proc.returncode})")
            break


def wait_for(fn, timeout, interval=0.1):
    """Calls fn() every `interval` s until it returns something true or `timeout` s have
    passed; returns its last value (fn runs at least once)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


class Image:
    """The first frame of a PNG or clip as RGB pixels (decoded by the ffmpeg CLI; a PNG's
    size comes from its header, a clip's from ffprobe)."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            head = f.read(24)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            self.w = int.from_bytes(head[16:20], "big")
            self.h = int.from_bytes(head[20:24], "big")
        else:
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                 "stream=width,height", "-of", "csv=p=0", path],
                check=True, capture_output=True, text=True).stdout.strip()
            self.w, self.h = (int(v) for v in probe.split(","))
        self.data = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo",
             "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout

    def px(self, x, y):
        i = (y * self.w + x) * 3
        return tuple(self.data[i:i + 3])


def near(got, want, tol=3):
    return all(abs(a - b) <= tol for a, b in zip(got, want))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(sock_path, cmd, **args):
    """One request on a connection of its own to a Unix control socket; the reply."""
    c = Client(sock_path)
    try:
        return c.call(cmd, timeout=10, **args)
    finally:
        c.close()


class Client:
    """One connection. call() sends a request and returns its reply; events that arrive
    in between are kept in self.events."""

    def __init__(self, address, timeout=10):
        fam = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        self.buf = b""
        self.events = []
        self.next_id = 1

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_line(self, timeout=10):
        """Next line as bytes, b"" at EOF; raises socket.timeout."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no line")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                return b""
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read_msg(self, timeout=10):
        line = self.read_line(timeout)
        if not line:
            return None
        return json.loads(line)

    def reply(self, timeout=10):
        """The next reply (a line with "ok"), keeping events aside."""
        while True:
            msg = self.read_msg(timeout)
            if msg is None:
                return None
            if "event" in msg and "ok" not in msg:
                self.events.append(msg)
                continue
            return msg

    def call(self, cmd, timeout=30, **args):
        rid = self.next_id
        self.next_id += 1
        req = {"id": rid, "cmd": cmd, **args}
        self.send_raw((json.dumps(req) + "\n").encode())
        r = self.reply(timeout)
        if r is not None and r.get("id") != rid:
            raise AssertionError(f"reply out of order: sent id {rid}, got {r}")
        return r

    def request(self, line, timeout=10):
        """Sends a raw line (str/bytes, newline added) and returns the reply."""
        if isinstance(line, str):
            line = line.encode()
        self.send_raw(line + b"\n")
        return self.reply(timeout)

    def wait_event(self, name, timeout=10, pred=lambda e: True):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("event") == name and pred(e):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                msg = self.read_msg(left)
            except socket.timeout:
                return None
            if msg is None:
                return None
            self.events.append(msg)

    def drain_events(self, wait=0.0):
        """The events that have arrived (waiting up to `wait` s for the first), taken."""
        deadline = time.monotonic() + wait
        while True:
            try:
                msg = self.read_msg(max(0.0, deadline - time.monotonic()) or 0.001)
            except socket.timeout:
                break
            if msg is None:
                break
            self.events.append(msg)
        out, self.events = self.events, []
        return out


class StrictClient(Client):
    """A Client whose call() raises ConnectionError when vwall closes the connection (rather
    than returning None), and waits 20 s for a reply unless told otherwise."""

    def call(self, cmd, timeout=20, **args):
        r = super().call(cmd, timeout=timeout, **args)
        if r is None:
            raise ConnectionError("vwall closed the control connection")
        return r


# ---- vwall as a process of the test --------------------------------------------------------

# What a sanitizer build writes into vwall's log when it finds something.
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")


class StartError(RuntimeError):
    """vwall exited, or its control socket did not answer, before it was ready."""


class Vwall:
    """One vwall of a test: `vwall -c CFG --output offscreen --control unix:SOCK EXTRA...`
    (--control none when sock is None), its stdout and stderr in the file log_path, SDL's
    offscreen driver, XDG_STATE_HOME=state_home (when given) and env in its environment.

    start() runs it and waits until the control socket answers a ping; that connection stays
    open as self.c (keep_client) until stop(). stop() sends SIGTERM and returns the exit
    status, after a SIGKILL when `grace` s were not enough; stop_checked() also checks that
    exit. A subclass adds its options by overriding command(); `name` starts its messages."""

    grace = 10  # seconds stop() waits after SIGTERM before SIGKILL

    def __init__(self, vwall, cfg, sock, log_path, *, extra=(), env=None, state_home=None,
                 cwd=None, name=None, client=Client, keep_client=True, append_log=False):
        self.vwall = vwall
        self.cfg = cfg
        self.sock = sock
        self.log_path = log_path
        self.extra = list(extra)
        self.env = dict(env or {})
        self.state_home = state_home
        self.cwd = cwd
        self.name = name
        self.who = f"{name}: " if name else ""  # what starts the messages about it
        self.client_class = client
        self.keep_client = keep_client
        self.append_log = append_log  # a restart adds to the log rather than replacing it
        self.proc = None
        self.c = None
        self.started_at = None  # time.time() of the last start
        self.killed = False  # kill() ended it: no clean exit expected
        self.timed_out = False  # the last wait_exit() ran out and used SIGKILL

    def command(self):
        control = "unix:" + self.sock if self.sock else "none"
        return [self.vwall, "-c", self.cfg, "--output", "offscreen", "--control", control,
                *self.extra]

    def environment(self):
        env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
        if self.state_home:
            env["XDG_STATE_HOME"] = self.state_home
        env.update(self.env)
        return env

    def start(self, wait=True, timeout=60):
        """Runs vwall; with wait (and a socket) returns once the socket answers (wait_socket),
        and a vwall that does not is killed and StartError raised. Returns self."""
        with open(self.log_path, "ab" if self.append_log else "wb") as log:
            self.started_at = time.time()
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         env=self.environment(), cwd=self.cwd)
        self.killed = self.timed_out = False
        if wait and self.sock:
            try:
                self.wait_socket(timeout)
            except BaseException:
                self.kill()  # no vwall is left running when the harness itself fails
                raise
        return self

    def wait_socket(self, timeout=60):
        """Waits until the control socket answers a ping; that connection becomes self.c
        (keep_client) or is closed. StartError, quoting the log's tail, when vwall exits
        first or does not answer within `timeout` s (it is left running then)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"{self.who}vwall exited {self.proc.returncode} before its "
                                 f"control socket answered:\n{self.log_tail()}")
            c = None
            try:
                c = self.client_class(self.sock)
                r = c.call("ping")
                if r and r.get("ok"):
                    if self.keep_client:
                        self.close_client()
                        self.c = c
                    else:
                        c.close()
                    return
            except OSError:
                pass
            if c:
                c.close()
            time.sleep(0.1)
        raise StartError(f"{self.who}vwall's control socket did not answer within "
                         f"{timeout} s:\n{self.log_tail()}")

    def client(self):
        """A new connection to the control socket."""
        return self.client_class(self.sock)

    def close_client(self):
        if self.c:
            self.c.close()
            self.c = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        """Ends vwall with sig at once (no clean exit: stop_checked() then expects none) and
        waits for it; the exit status."""
        self.close_client()
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.killed = True
            self.proc.send_signal(sig)
            self.proc.wait(10)
        return self.proc.returncode

    def wait_exit(self, timeout):
        """Waits up to `timeout` s for vwall to exit, then SIGKILLs it; the exit status."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def stop(self, sig=signal.SIGTERM, grace=None):
        """Closes self.c, sends sig (SIGTERM: a clean exit) and waits up to `grace` s (the
        class's `grace` by default), then SIGKILL; the exit status, None if never started."""
        self.close_client()
        if not self.proc:
            return None
        self.timed_out = False
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            return self.wait_exit(self.grace if grace is None else grace)
        return self.proc.returncode

    def stop_checked(self, grace=None):
        """stop(), checking a clean exit: within `grace` s of SIGTERM, with status 0 (unless
        kill() ended it), no sanitizer report in the log (whose tail is printed then). The
        process is forgotten: a second call checks nothing. Returns the exit status."""
        if not self.proc:
            return None
        grace = self.grace if grace is None else grace
        rc = self.stop(grace=grace)
        if self.timed_out:
            check(False, f"{self.who}vwall exits within {grace} s of SIGTERM")
        elif not self.killed:
            check(rc == 0, f"{self.who}vwall exit status 0 (got {rc})")
        reports = self.sanitizer_reports()
        for bad in reports:
            check(False, f"{self.who}sanitizer report in the log: {bad}")
        if reports:
            print(self.log_text()[-6000:], file=sys.stderr)
        self.proc = None
        return rc

    def log_text(self):
        """vwall's output so far ("" before it has any)."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, chars=3000):
        return self.log_text()[-chars:]

    def sanitizer_reports(self):
        """The SANITIZER_REPORTS found in the log."""
        log = self.log_text()
        return [bad for bad in SANITIZER_REPORTS if bad in log]


# ---- the RTSP camera -----------------------------------------------------------------------

class RtspServer:
    """tests/rtsp_server.py (GStreamer) in its own process, its stderr in rtsp_server.log in
    workdir: /h264, /h265 and /cam1../camN (N = cams). port 0: any free port, which start()
    again after kill() reuses."""

    def __init__(self, workdir, cams=4, port=0):
        self.cams = cams
        self.port = port
        self.proc = None
        self.log_path = os.path.join(workdir, "rtsp_server.log")
        self.starts = 0

    def start(self, timeout=30):
        """Runs the server until it says READY; its port."""
        log = open(self.log_path, "ab")
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen(
                [PYTHON, os.path.join(HERE, "rtsp_server.py"), "--port", str(self.port),
                 "--cams", str(self.cams)],
                stdout=subprocess.PIPE, stderr=log)
            line = b""
            while time.monotonic() < deadline:
                r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
                if r:
                    line = self.proc.stdout.readline()
                    break
                if self.proc.poll() is not None:
                    break
            if line.startswith(b"READY "):
                self.port = int(line.split()[1])
                self.starts += 1
                log.close()
                return self.port
            # The port may still be held a moment after a kill: try again until the deadline.
            self.proc.kill()
            self.proc.wait()
            if time.monotonic() >= deadline:
                log.close()
                raise RuntimeError(f"rtsp_server.py did not start on port {self.port}: "
                                   f"{line!r}\n{self.log_text()}")
            time.sleep(0.3)

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL: the camera gone at once."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
            self.proc.stdout.close()

    def stop(self):
        """SIGTERM (after SIGCONT, should it be stopped), SIGKILL after 5 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def url(self, path):
        return f"rtsp://127.0.0.1:{self.port}/{path}"

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""


# ---- servers in a thread of the test -------------------------------------------------------

class LoopbackServer:
    """A listening socket on this machine, TCP on 127.0.0.1 (self.port) or Unix at `path`,
    whose connections a thread of the test accepts and hands to handle(); `accepted` counts
    them. With accept=False nothing is ever accepted: connections wait in the backlog."""

    def __init__(self, path=None, backlog=16, accept=True):
        self.stopping = threading.Event()
        self.accepted = 0
        self.thread = None
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
        else:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(backlog)
        if accept:
            self.sock.settimeout(0.2)
            self.thread = threading.Thread(target=self._serve, daemon=True)
            self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self.handle(c)

    def handle(self, conn):
        """One accepted connection, on the accepting thread (the next waits meanwhile)."""
        conn.close()

    def close(self):
        self.stopping.set()
        if self.thread:
            self.thread.join()
        self.sock.close()
