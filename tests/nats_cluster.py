#!/usr/bin/python3
"""A NATS cluster for the cluster tests: N `nats-server` processes (Debian's, 2.9) on
127.0.0.1, JetStream on, clustered through routes, each with its own storage folder that
survives kill -9 and restarts.

    with NatsCluster(workdir, n=3) as nats:     # started and JetStream ready
        nats.urls                               # ["nats://127.0.0.1:P", ...] for cluster.nats
        nats.kill(2)                            # SIGKILL server 2 (its storage stays)
        nats.stop(0); nats.cont(0)              # SIGSTOP / SIGCONT: a hung server
        nats.restart(2)                         # same ports, same storage; waits until ready
        nats.kill_all(); nats.restart_all()
        nats.kv_revision("district-hall")       # the bucket's last revision, read over NATS

There is no NATS client library for Python on the test machines, so the few JetStream
requests the tests need (is JetStream up, what does a bucket hold) are written in NATS's
text protocol over a socket (RawNats): CONNECT, SUB, PUB with a reply subject, MSG.

`python3 tests/nats_cluster.py selftest` checks the fixture itself (ctest cluster_nats): a
replicated stream keeps taking writes with one server killed, nothing is lost when all are
killed and restarted, a SIGSTOPped server does not stop the others.
"""
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nkeys  # noqa: E402
from vwtest import free_port  # noqa: E402

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


class NatsError(Exception):
    pass


def make_certs(folder):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with the
    openssl command line into folder: {"ca", "cert", "key", "client_cert", "client_key"}."""
    os.makedirs(folder, exist_ok=True)
    f = {k: os.path.join(folder, v) for k, v in
         {"ca": "ca.pem", "ca_key": "ca.key", "cert": "server.pem", "key": "server.key",
          "client_cert": "client.pem", "client_key": "client.key"}.items()}

    def run(*argv):
        subprocess.run(["openssl", *argv], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", f["ca_key"], "-out", f["ca"])
    ext = os.path.join(folder, "san.ext")
    with open(ext, "w") as e:
        e.write("subjectAltName=IP:127.0.0.1\n")
    for cert, key, cn, extra in ((f["cert"], f["key"], "127.0.0.1", ["-extfile", ext]),
                                 (f["client_cert"], f["client_key"], "vwall node", [])):
        csr = cert + ".csr"
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", key,
            "-out", csr)
        run("x509", "-req", "-in", csr, "-CA", f["ca"], "-CAkey", f["ca_key"],
            "-CAcreateserial", "-days", "2", "-out", cert, *extra)
    return f


class RawNats:
    """One connection speaking NATS's text protocol: enough for request/reply."""

    def __init__(self, port, user=None, password=None, token=None, tls=None, nkey=None,
                 timeout=5):
        """nkey: (public key, seed) of a user nkey (tests/nkeys.py): the server's nonce is
        signed with the seed."""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        info = self._line()
        if not info.startswith(b"INFO "):
            raise NatsError(f"no INFO from the server: {info!r}")
        info = json.loads(info[5:])
        if info.get("tls_required"):
            # NATS says INFO in the clear, then the client starts TLS on the same socket.
            if not tls:
                raise NatsError("the server requires TLS")
            ctx = ssl.create_default_context(cafile=tls["ca"])
            ctx.load_cert_chain(tls.get("client_cert", tls["cert"]),
                                tls.get("client_key", tls["key"]))
            self.sock = ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")
        opts = {"verbose": False, "pedantic": False, "protocol": 1, "headers": True,
                "no_responders": True, "name": "vwall-tests"}
        if user is not None:
            opts.update(user=user, **{"pass": password})
        if token is not None:
            opts["auth_token"] = token
        if nkey is not None:
            opts.update(nkey=nkey[0], sig=nkeys.sign(nkey[1], info.get("nonce", "")))
        self.sock.sendall(b"CONNECT " + json.dumps(opts).encode() + b"\r\nPING\r\n")
        while True:
            line = self._line()
            if line == b"PONG":
                break
            if line.startswith(b"-ERR"):
                raise NatsError(line.decode(errors="replace"))
        self.inbox = "_INBOX.vwalltest%d" % os.getpid()
        self.sock.sendall(f"SUB {self.inbox}.* 1\r\n".encode())
        self.seq = 0

    def close(self):
        self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise NatsError("the server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _payload(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject, payload=b"", timeout=5):
        """Publishes with a reply subject of our own and returns the reply's payload; raises
        NatsError on no responders (status 503) or when nothing answers in time."""
        if isinstance(payload, str):
            payload = payload.encode()
        self.seq += 1
        reply = f"{self.inbox}.{self.seq}"
        self.sock.sendall(f"PUB {subject} {reply} {len(payload)}\r\n".encode() + payload +
                          b"\r\n")
        self.sock.settimeout(timeout)
        try:
            while True:
                line = self._line()
                if line == b"PING":
                    self.sock.sendall(b"PONG\r\n")
                    continue
                if line.startswith(b"-ERR"):
                    raise NatsError(line.decode(errors="replace"))
                parts = line.split()
                if parts[:1] == [b"MSG"]:
                    data = self._payload(int(parts[-1]))
                    headers = b""
                elif parts[:1] == [b"HMSG"]:
                    total, hlen = int(parts[-1]), int(parts[-2])
                    raw = self._payload(total)
                    headers, data = raw[:hlen], raw[hlen:]
                else:
                    continue  # +OK, PONG, INFO updates
                if parts[1].decode() != reply:
                    continue  # a late answer to an earlier request that timed out
                if headers.startswith(b"NATS/1.0 503"):
                    raise NatsError(f"{subject}: no responders")
                return data
        except socket.timeout:
            raise NatsError(f"{subject}: no reply within {timeout} s") from None

    def js(self, subject, body=None, timeout=5):
        """A JetStream API request ($JS.API.<subject>); the JSON reply, raising on an error."""
        data = self.request("$JS.API." + subject,
                            b"" if body is None else json.dumps(body).encode(), timeout)
        reply = json.loads(data)
        if "error" in reply:
            raise NatsError(f"$JS.API.{subject}: {reply['error']}")
        return reply


class NatsCluster:
    """N nats-server processes clustered on 127.0.0.1. Servers are numbered 0..n-1; each
    keeps its ports and storage folder for the fixture's life."""

    def __init__(self, workdir, n=3, cluster_name="vwall-test", user=None, password=None,
                 token=None, tls=None, nkey=None, start=True, ready_timeout=30):
        """tls: {"ca", "cert", "key"} PEM files: clients must use TLS and present a
        certificate signed by ca (the servers' own is cert/key); routes stay plain.
        nkey: (public key, seed) of the one user the servers accept, by nkey."""
        self.workdir = workdir
        self.tls = tls
        self.n = n
        self.cluster_name = cluster_name
        self.auth = {"user": user, "password": password, "token": token, "nkey": nkey}
        self.ready_timeout = ready_timeout
        self.client_ports = [free_port() for _ in range(n)]
        self.route_ports = [free_port() for _ in range(n)]
        self.monitor_ports = [free_port() for _ in range(n)]
        self.procs = [None] * n
        self.stopped = [False] * n
        for i in range(n):
            os.makedirs(self.store_dir(i), exist_ok=True)
        if start:
            self.start()

    # ---- addresses ----

    @property
    def urls(self):
        scheme = "tls" if self.tls else "nats"
        return [f"{scheme}://127.0.0.1:{p}" for p in self.client_ports]

    def server_name(self, i):
        return f"n{i}"

    def store_dir(self, i):
        return os.path.join(self.workdir, f"nats-{i}")

    def log_path(self, i):
        return os.path.join(self.workdir, f"nats-{i}.log")

    def log_text(self, i, tail=3000):
        try:
            with open(self.log_path(i), encoding="utf-8", errors="replace") as f:
                return f.read()[-tail:]
        except OSError:
            return ""

    # ---- life cycle ----

    def _argv(self, i):
        routes = ",".join(f"nats://127.0.0.1:{p}"
                          for j, p in enumerate(self.route_ports) if j != i)
        argv = [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.client_ports[i]),
                "-m", str(self.monitor_ports[i]), "-n", self.server_name(i),
                "-js", "-sd", self.store_dir(i)]
        if self.n > 1:  # a JetStream cluster of one would wait for routes forever
            argv += ["--cluster", f"nats://127.0.0.1:{self.route_ports[i]}",
                     "--cluster_name", self.cluster_name, "--routes", routes]
        if self.auth["user"] is not None:
            argv += ["--user", self.auth["user"], "--pass", self.auth["password"]]
        if self.auth["token"] is not None:
            argv += ["--auth", self.auth["token"]]
        if self.auth["nkey"] is not None:  # nkey users have no command-line flag
            conf = os.path.join(self.workdir, "nkey-auth.conf")
            with open(conf, "w") as f:
                f.write('authorization { users = [ { nkey: "%s" } ] }\n' % self.auth["nkey"][0])
            argv += ["-c", conf]
        if self.tls:
            argv += ["--tlsverify", "--tlscert", self.tls["cert"], "--tlskey", self.tls["key"],
                     "--tlscacert", self.tls["ca"]]
        return argv

    def _spawn(self, i):
        with open(self.log_path(i), "ab") as log:
            self.procs[i] = subprocess.Popen(self._argv(i), stdout=log,
                                             stderr=subprocess.STDOUT)
        self.stopped[i] = False

    def start(self):
        """Starts every server. A port picked free may be taken by another program before
        the server binds it (a busy machine): then all start again on new ports."""
        for attempt in range(3):
            for i in range(self.n):
                self._spawn(i)
            time.sleep(0.5)
            if all(self.alive(i) for i in range(self.n)) or attempt == 2:
                break
            self.kill_all()
            self.client_ports = [free_port() for _ in range(self.n)]
            self.route_ports = [free_port() for _ in range(self.n)]
            self.monitor_ports = [free_port() for _ in range(self.n)]
        try:
            self.wait_ready()
        except BaseException:
            self.kill_all()  # nobody else holds them: the caller never got the fixture
            raise
        return self

    def alive(self, i):
        return self.procs[i] is not None and self.procs[i].poll() is None

    def kill(self, i, sig=signal.SIGKILL):
        """Kills server i (SIGKILL by default: no goodbye to clients or peers)."""
        p = self.procs[i]
        if p is None:
            return
        if p.poll() is None:
            if self.stopped[i]:
                p.send_signal(signal.SIGCONT)
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs[i] = None
        self.stopped[i] = False

    def kill_all(self, sig=signal.SIGKILL):
        for i in range(self.n):
            self.kill(i, sig)

    def stop(self, i):
        """SIGSTOP: the server hangs with its sockets open (a frozen machine)."""
        if self.alive(i):
            self.procs[i].send_signal(signal.SIGSTOP)
            self.stopped[i] = True

    def cont(self, i):
        if self.alive(i):
            self.procs[i].send_signal(signal.SIGCONT)
            self.stopped[i] = False

    def restart(self, i, wait=True):
        """Starts server i again on its ports with its storage (killing it first if it
        runs); waits until it is back in the cluster with JetStream up."""
        self.kill(i)
        deadline = time.monotonic() + 10
        while True:  # the ports may be held a moment after a kill
            self._spawn(i)
            time.sleep(0.3)
            if self.procs[i].poll() is None or time.monotonic() > deadline:
                break
        if wait:
            self.wait_ready([i] if self.n_alive() > 1 else None)

    def restart_all(self, wait=True):
        for i in range(self.n):
            if not self.alive(i):
                self._spawn(i)
        if wait:
            self.wait_ready()

    def n_alive(self):
        return sum(1 for i in range(self.n) if self.alive(i) and not self.stopped[i])

    def close(self):
        self.kill_all(signal.SIGTERM)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- readiness and inspection ----

    def monitor(self, i, path, timeout=2):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor_ports[i]}{path}",
                                    timeout=timeout) as r:
            return json.loads(r.read())

    def ready(self, i):
        """Server i routes to every other running server, knows a JetStream meta leader,
        answers a JetStream API request and every stream has a leader: a client may use
        it now."""
        if not self.alive(i) or self.stopped[i]:
            return False
        try:
            peers = self.n_alive() - 1
            if self.monitor(i, "/routez").get("num_routes", 0) < peers:
                return False
            meta = self.monitor(i, "/jsz").get("meta_cluster") or {}
            if self.n > 1 and not meta.get("leader"):
                return False
            c = self.connect(i)
            try:
                c.js("INFO")
                # Every stream (a key-value bucket is one) has its leader: after all
                # servers restart each stream elects one of its own, a few seconds after
                # the meta leader.
                for stream in c.js("STREAM.NAMES").get("streams") or []:
                    if not (c.js(f"STREAM.INFO.{stream}").get("cluster") or {}).get("leader"):
                        return False
            finally:
                c.close()
            return True
        except (OSError, ValueError, NatsError):
            return False

    def wait_ready(self, servers=None, timeout=None):
        servers = range(self.n) if servers is None else servers
        deadline = time.monotonic() + (timeout or self.ready_timeout)
        while True:
            waiting = [i for i in servers if not self.ready(i)]
            if not waiting:
                return
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- nats-{i}.log\n{self.log_text(i)}" for i in waiting)
                raise RuntimeError(f"NATS servers {waiting} not ready within "
                                   f"{timeout or self.ready_timeout} s\n{logs}")
            time.sleep(0.2)

    def connect(self, i=None):
        """A RawNats connection to server i (default: the first one running)."""
        if i is None:
            i = next(j for j in range(self.n) if self.alive(j) and not self.stopped[j])
        return RawNats(self.client_ports[i], user=self.auth["user"],
                       password=self.auth["password"], token=self.auth["token"], tls=self.tls,
                       nkey=self.auth["nkey"])

    def stream_info(self, stream, subjects=False):
        c = self.connect()
        try:
            return c.js(f"STREAM.INFO.{stream}", {"subjects_filter": ">"} if subjects else None)
        finally:
            c.close()

    def kv_revision(self, bucket):
        """The bucket's last revision (its stream's last sequence), or None without one."""
        try:
            return self.stream_info(f"KV_{bucket}")["state"]["last_seq"]
        except NatsError:
            return None

    def kv_keys(self, bucket):
        info = self.stream_info(f"KV_{bucket}", subjects=True)
        prefix = f"$KV.{bucket}."
        return sorted(s[len(prefix):] for s in (info["state"].get("subjects") or {}))

    def kv_get(self, bucket, key):
        """(revision, value bytes) of the key's newest entry, or None when it has none."""
        c = self.connect()
        try:
            r = c.js(f"STREAM.MSG.GET.KV_{bucket}", {"last_by_subj": f"$KV.{bucket}.{key}"})
        except NatsError as e:
            if "no message found" in str(e):
                return None
            raise
        finally:
            c.close()
        m = r["message"]
        return m["seq"], base64.b64decode(m.get("data", ""))


# ---- the fixture's own test ------------------------------------------------------------

def selftest():
    failed = []

    def check(cond, what):
        print(("ok: " if cond else "FAIL: ") + what, flush=True)
        if not cond:
            failed.append(what)

    work = tempfile.mkdtemp(prefix="vwall-nats-")
    t0 = time.monotonic()
    with NatsCluster(work, n=3) as nats:
        check(all(nats.ready(i) for i in range(3)),
              f"three servers clustered, JetStream ready ({time.monotonic() - t0:.1f} s)")
        c = nats.connect(0)
        c.js("STREAM.CREATE.KV_selftest",
             {"name": "KV_selftest", "subjects": ["$KV.selftest.>"], "num_replicas": 3,
              "max_msgs_per_subject": 5, "storage": "file", "allow_rollup_hdrs": True,
              "deny_delete": True, "allow_direct": True, "discard": "new"})
        ack = json.loads(c.request("$KV.selftest.state", b"one"))
        check(ack.get("seq") == 1, f"a put is acknowledged by the stream: {ack}")
        c.close()

        nats.kill(2)
        c = nats.connect(0)
        deadline = time.monotonic() + 15
        while True:  # if server 2 led the stream, the others elect a new leader first
            try:
                ack = json.loads(c.request("$KV.selftest.state", b"two", timeout=5))
                break
            except NatsError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        c.close()
        check(ack.get("seq") == 2, f"one server of three killed: a put still commits ({ack})")
        nats.stop(1)
        c = nats.connect(0)
        try:
            c.request("$KV.selftest.state", b"three", timeout=2)
            check(False, "two of three down: a put must not commit without a quorum")
        except NatsError as e:
            check(True, f"two of three down: no quorum, the put is refused ({e})")
        c.close()
        nats.cont(1)
        nats.restart(2)
        check(nats.kv_get("selftest", "state")[1] in (b"two", b"three"),
              "server 2 restarted: the bucket's newest value is readable")

        nats.kill_all()
        check(nats.n_alive() == 0, "all servers killed")
        t1 = time.monotonic()
        nats.restart_all()
        rev = nats.kv_revision("selftest")
        got = nats.kv_get("selftest", "state")
        check(rev is not None and rev >= 2 and got and got[1] in (b"two", b"three"),
              f"all restarted on their storage ({time.monotonic() - t1:.1f} s): revision {rev}, "
              f"value {got}")
        check(nats.kv_keys("selftest") == ["state"], f"keys: {nats.kv_keys('selftest')}")

    # Credentials and TLS: the servers verify client certificates and a password.
    tls = make_certs(os.path.join(work, "certs"))
    with NatsCluster(os.path.join(work, "auth"), n=1, user="vwall", password="s3cret",
                     tls=tls) as nats:
        c = nats.connect()
        c.js("INFO")  # raises unless JetStream answers
        check(True, "TLS with a client certificate and the right password: JetStream answers")
        c.close()
        for what, kw in (("a wrong password", {"password": "wrong", "tls": tls}),
                         ("no TLS", {"password": "s3cret"})):
            try:
                RawNats(nats.client_ports[0], user="vwall", **kw).close()
                check(False, f"{what}: refused")
            except (NatsError, OSError) as e:
                check(True, f"{what}: refused ({e})")
    # An nkey: the servers know the user's public key; a client signs their nonce.
    pair = nkeys.user_pair()
    with NatsCluster(os.path.join(work, "nkey"), n=1, nkey=pair) as nats:
        c = nats.connect()
        c.js("INFO")
        check(True, "an nkey user whose seed signs the nonce: JetStream answers")
        c.close()
        other = nkeys.user_pair()
        for what, key in (("another nkey", other), ("the right key, signed by another seed",
                                                   (pair[0], other[1]))):
            try:
                RawNats(nats.client_ports[0], nkey=key).close()
                check(False, f"{what}: refused")
            except (NatsError, OSError) as e:
                check(True, f"{what}: refused ({e})")
    shutil.rmtree(work, ignore_errors=True)
    print(f"nats_cluster selftest: {'FAILED' if failed else 'ok'} "
          f"({time.monotonic() - t0:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["selftest"]:
        sys.exit(selftest())
    print(__doc__, file=sys.stderr)
    sys.exit(2)
