"""A small WebSocket client (RFC 6455, text frames) for the console tests: the handshake
with any Origin, masked frames out, frames in. Only the standard library: the test also
sends what a browser never would (a foreign Origin, no Origin)."""
import base64
import json
import os
import socket
import struct
import time


class HandshakeRefused(Exception):
    def __init__(self, status_line):
        super().__init__(status_line)
        self.status_line = status_line


class WebSocket:
    def __init__(self, host, port, path="/ws", origin=None, timeout=10, host_header=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.next_id = 1
        self.events = []
        self._handshake(host, port, path, origin, host_header)

    @classmethod
    def over(cls, sock, host, port, path="/ws", origin=None):
        """The same over a socket already connected (a TLS one, say)."""
        ws = cls.__new__(cls)
        ws.sock, ws.buf, ws.next_id, ws.events = sock, b"", 1, []
        ws._handshake(host, port, path, origin)
        return ws

    def _handshake(self, host, port, path, origin, host_header=None):
        """Upgrades self.sock (plain or TLS); raises HandshakeRefused unless 101."""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host_header or f'{host}:{port}'}",
                 "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in status + " ":
            self.sock.close()
            raise HandshakeRefused(status)

    def close(self):
        try:
            self.sock.sendall(self._frame(0x8, b""))
        except OSError:
            pass
        self.sock.close()

    @staticmethod
    def _frame(opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + mask + body

    def send_text(self, text):
        self.sock.sendall(self._frame(0x1, text.encode()))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no frame")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def recv_text(self, timeout=10):
        """The next text message (fragments joined); None when the server closed."""
        deadline = time.monotonic() + timeout
        parts = b""
        while True:
            self._need(2, deadline)
            b0, b1 = self.buf[0], self.buf[1]
            n, off = b1 & 0x7F, 2
            if n == 126:
                self._need(4, deadline)
                n, off = struct.unpack("!H", self.buf[2:4])[0], 4
            elif n == 127:
                self._need(10, deadline)
                n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
            self._need(off + n, deadline)
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            opcode = b0 & 0x0F
            if opcode == 0x8:
                return None
            if opcode == 0x9:  # ping → pong
                self.sock.sendall(self._frame(0xA, payload))
                continue
            if opcode in (0x1, 0x0, 0x2):
                parts += payload
                if b0 & 0x80:
                    return parts.decode()

    def call(self, cmd, timeout=10, **args):
        """Sends a request and returns its reply; events in between go to self.events."""
        rid = self.next_id
        self.next_id += 1
        self.send_text(json.dumps({"id": rid, "cmd": cmd, **args}))
        deadline = time.monotonic() + timeout
        while True:
            text = self.recv_text(max(0.01, deadline - time.monotonic()))
            if text is None:
                return None
            msg = json.loads(text)
            if "event" in msg and "ok" not in msg:
                self.events.append(msg)
                continue
            return msg

    def wait_event(self, name, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("event") == name:
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                text = self.recv_text(left)
            except socket.timeout:
                return None
            if text is None:
                return None
            self.events.append(json.loads(text))
