"""Helpers shared by the Python integration tests: a failure counter, PNG pixels through the
ffmpeg command line, and clients of vwall's control socket."""
import json
import socket
import subprocess
import sys
import time

passed = failed = 0


def check(cond, what):
    """Records one check; a failure is printed with what was expected and what was seen.
    Returns cond, so a test can go on only when it held."""
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}", file=sys.stderr, flush=True)
    return cond


def finish(name):
    """Prints 'name: N passed, M failed' and exits non-zero on a failure or on no check."""
    print(f"{name}: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


class Image:
    """The first frame of a PNG or clip as RGB pixels (decoded by the ffmpeg CLI)."""

    def __init__(self, path):
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
