"""Helpers shared by the Python integration tests: a failure counter, PNG pixels through the
ffmpeg command line, and one request to vwall's control socket."""
import json
import socket
import subprocess
import sys

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


def request(sock_path, cmd, **args):
    """Sends one request to a Unix control socket and returns the decoded reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(sock_path)
        s.sendall((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)
