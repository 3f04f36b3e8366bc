#!/usr/bin/python3
"""vwallctl --timeout against servers that are not a well-behaved wall (issue 12, minors).

Each server is a real Unix socket on this machine, run in a thread of this script:
  noise     answers every request with endless lines that are not JSON
  silent    accepts, reads the request, never answers
  trickle   sends a valid reply one byte a second (it would be complete after ~27 s)
  events    sends endless JSON event lines, never the reply
  deaf      never accepts: its listen backlog is full, so connect itself has to time out
vwallctl runs with --timeout 2 against each and must exit 2 saying it had no reply (or no
answer) within 2 s. The bound on the subprocess (30 s) is only there so that a vwallctl that
never gives up fails this test instead of hanging it; nothing here measures speed.
    /usr/bin/python3 tests/vwallctl_test.py --vwallctl build/vwallctl
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vwtest  # noqa: E402  (LoopbackServer)

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
    print(f"vwallctl_test: {'ok' if cond else 'FAILED'}: {what}", flush=True)


class Server(vwtest.LoopbackServer):
    """A Unix socket at path served as `mode` says, each connection on a thread of its own
    (deaf: never accepted)."""

    def __init__(self, path, mode):
        self.mode = mode
        self.fillers = []
        deaf = mode == "deaf"
        super().__init__(path, backlog=0 if deaf else 8, accept=not deaf)
        # Deaf: fill the backlog with connections that are never accepted.
        for _ in range(8 if deaf else 0):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(path)
            except (BlockingIOError, InterruptedError):
                c.close()
                break
            self.fillers.append(c)

    def handle(self, c):
        threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            c.settimeout(5)
            c.recv(65536)
            reply = b'{"ok":true,"id":"vwallctl"}\n'
            while not self.stopping.is_set():
                if self.mode == "noise":
                    c.sendall(b"this is not json\n" * 64)
                    time.sleep(0.005)
                elif self.mode == "events":
                    c.sendall(b'{"event":"source.state","source":"cam1","state":"live"}\n' * 32)
                    time.sleep(0.005)
                elif self.mode == "trickle":
                    for b in reply:
                        if self.stopping.is_set():
                            break
                        c.sendall(bytes([b]))
                        time.sleep(1.0)
                    break
                else:  # silent
                    time.sleep(0.1)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        super().close()
        for c in self.fillers:
            c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vwallctl", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="vwallctl-test-")
    for mode, want in (("noise", "no reply from the wall within 2 s"),
                       ("silent", "no reply from the wall within 2 s"),
                       ("trickle", "no reply from the wall within 2 s"),
                       ("events", "no reply from the wall within 2 s"),
                       ("deaf", "no answer within 2 s")):
        path = os.path.join(tmp, f"{mode}.sock")
        srv = Server(path, mode)
        try:
            p = subprocess.run([args.vwallctl, "-s", f"unix:{path}", "--timeout", "2", "ping"],
                               capture_output=True, text=True, timeout=30)
            err = p.stderr.strip()
            print(f"vwallctl_test: {mode}: exit {p.returncode}: {err[-300:]}", flush=True)
            check(p.returncode == 2, f"{mode}: vwallctl gives up with exit status 2")
            check(want in err, f"{mode}: it says '{want}'")
            check(err.count("sent a line that is not JSON") <= 3, f"{mode}: non-JSON lines are not all echoed")
        except subprocess.TimeoutExpired:
            check(False, f"{mode}: vwallctl --timeout 2 still waiting after 30 s")
        finally:
            srv.close()
            os.unlink(path)
    os.rmdir(tmp)

    # The range of --timeout: non-numbers, zero, NaN and huge values are usage errors.
    for bad in ("abc", "0", "-1", "nan", "1e999", "100000"):
        p = subprocess.run([args.vwallctl, "-s", "unix:/nonexistent", "--timeout", bad, "ping"],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 64 and "--timeout" in p.stderr,
              f"--timeout {bad}: usage error (exit {p.returncode})")
    print(f"vwallctl_test: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
