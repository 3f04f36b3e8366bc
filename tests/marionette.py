"""A small Marionette client: drives Firefox through its own remote protocol, for the console's
browser tests. Debian ships firefox-esr but no geckodriver, and nothing may be downloaded, so
the tests speak to Firefox directly: `firefox --marionette` listens on a TCP port (the
profile's `marionette.port`) and takes length-prefixed JSON ("LEN:[0, id, command, params]",
answered "LEN:[1, id, error, result]"); the commands are WebDriver's under the `WebDriver:`
prefix. Only the standard library.

    ff = Firefox(1366, 768)                  # the page's viewport, in CSS pixels
    ff.get("http://127.0.0.1:8080/")
    ff.find_element("css selector", "#token").send_keys("secret")
    ff.execute_script("return document.title")
    ff.quit()

Elements are found as with Selenium (find_element(by, value) with Selenium's `By` strings),
so helpers written for Selenium's drivers take a Firefox too.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

from vwtest import free_port

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"  # WebDriver's web-element identifier
CONTROL = "\ue009"  # WebDriver's key code of Ctrl

PREFS = {
    # no first-run pages, update checks, telemetry or other traffic: the machine is offline
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "startup.homepage_welcome_url": "about:blank",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
    "remote.prefs.recommended": True,  # Marionette's own settings for automation
    "intl.accept_languages": "en-US",
}


class MarionetteError(Exception):
    def __init__(self, error):
        super().__init__(f"{error.get('error')}: {error.get('message')}")
        self.error = error.get("error")


class Element:
    def __init__(self, ff, ref):
        self.ff, self.ref = ff, ref

    def _call(self, cmd, **params):
        return self.ff.call(cmd, id=self.ref, **params)

    def click(self):
        self._call("WebDriver:ElementClick")

    def clear(self):
        self._call("WebDriver:ElementClear")

    def send_keys(self, text):
        self._call("WebDriver:ElementSendKeys", text=text)

    @property
    def text(self):
        return self._call("WebDriver:GetElementText")["value"]

    def get_attribute(self, name):
        return self._call("WebDriver:GetElementAttribute", name=name)["value"]

    def is_displayed(self):
        return self._call("WebDriver:IsElementDisplayed")["value"]


class Firefox:
    """firefox-esr, headless, with a fresh profile, driven over Marionette."""

    def __init__(self, width, height, binary="/usr/bin/firefox-esr", timeout=60, log=None):
        self.profile = tempfile.mkdtemp(prefix="vwall-firefox-")
        self.sock = None
        self.next_id = 0
        port = free_port()
        with open(os.path.join(self.profile, "user.js"), "w", encoding="utf-8") as f:
            for k, v in {**PREFS, "marionette.port": port}.items():
                f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
        # The headless screen, which bounds the window: room for 1920x1080 and its bars.
        env = dict(os.environ, MOZ_HEADLESS="1", MOZ_HEADLESS_WIDTH="2560",
                   MOZ_HEADLESS_HEIGHT="1600", MOZ_CRASHREPORTER_DISABLE="1")
        self.proc = subprocess.Popen(
            [binary, "--headless", "--marionette", "--no-remote", "--profile", self.profile,
             "about:blank"],
            stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while self.sock is None:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self._stop()
                    raise RuntimeError(f"Firefox did not open Marionette on port {port}")
                time.sleep(0.2)
        self.buf = b""
        hello = self._read()
        if hello.get("marionetteProtocol") != 3:
            self._stop()
            raise RuntimeError(f"not Marionette protocol 3: {hello}")
        self.capabilities = self.call("WebDriver:NewSession", capabilities={
            "alwaysMatch": {"acceptInsecureCerts": True}})["capabilities"]
        self.set_viewport(width, height)
        self.set_script_timeout(10)

    # ---- the wire ------------------------------------------------------------------------
    def _read(self):
        while b":" not in self.buf:
            self._recv()
        head, _, rest = self.buf.partition(b":")
        n = int(head)
        self.buf = rest
        while len(self.buf) < n:
            self._recv()
        body, self.buf = self.buf[:n], self.buf[n:]
        return json.loads(body)

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("Firefox closed Marionette")
        self.buf += chunk

    def call(self, command, **params):
        """Sends one command and returns its result; raises MarionetteError for its error."""
        self.next_id += 1
        body = json.dumps([0, self.next_id, command, params]).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body)
        while True:
            msg = self._read()
            if msg[0] == 1 and msg[1] == self.next_id:
                break
        if msg[2]:
            raise MarionetteError(msg[2])
        return msg[3]

    # ---- WebDriver -----------------------------------------------------------------------
    def set_script_timeout(self, seconds):
        self.call("WebDriver:SetTimeouts", script=int(seconds * 1000))

    def set_viewport(self, width, height):
        """Sizes the window so that the page gets width x height (the window's own bars
        take the rest)."""
        self.call("WebDriver:SetWindowRect", width=width, height=height)
        inner = self.execute_script("return [innerWidth, innerHeight]")
        self.call("WebDriver:SetWindowRect", width=2 * width - inner[0],
                  height=2 * height - inner[1])

    def get(self, url):
        self.call("WebDriver:Navigate", url=url)

    def refresh(self):
        self.call("WebDriver:Refresh")

    def _wrap(self, value):
        if isinstance(value, dict) and ELEMENT_KEY in value:
            return Element(self, value[ELEMENT_KEY])
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        return value

    def execute_script(self, script, *args):
        """Runs `script` as a function body in the page; `arguments` are args (Elements
        pass as elements), its return value comes back (elements as Element)."""
        args = [{ELEMENT_KEY: a.ref} if isinstance(a, Element) else a for a in args]
        return self._wrap(self.call("WebDriver:ExecuteScript", script=script, args=args)["value"])

    @staticmethod
    def _locator(by, value):
        if by == "id":  # Selenium's By.ID, which WebDriver itself does not have
            return "css selector", f'[id="{value}"]'
        return by, value

    def find_elements(self, by, value):
        using, value = self._locator(by, value)
        found = self.call("WebDriver:FindElements", using=using, value=value)
        return [Element(self, e[ELEMENT_KEY]) for e in found]

    def find_element(self, by, value):
        """The first element found; MarionetteError (no such element) when none."""
        using, value = self._locator(by, value)
        found = self.call("WebDriver:FindElement", using=using, value=value)["value"]
        return Element(self, found[ELEMENT_KEY])

    def drag(self, src, dst):
        """Presses the mouse on Element src, moves it onto Element dst and lets go."""
        moves = [
            {"type": "pointerMove", "duration": 0, "origin": {ELEMENT_KEY: src.ref}, "x": 0, "y": 0},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerMove", "duration": 100, "origin": "pointer", "x": 20, "y": 0},
            {"type": "pointerMove", "duration": 100, "origin": {ELEMENT_KEY: dst.ref}, "x": 2, "y": 2},
            {"type": "pointerUp", "button": 0},
        ]
        self.call("WebDriver:PerformActions", actions=[
            {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
             "actions": moves}])
        self.call("WebDriver:ReleaseActions")

    def send_keys_to_page(self, text):
        """Types text as key presses wherever the focus is (the page's body by default)."""
        actions = [{"type": kind, "value": ch} for ch in text for kind in ("keyDown", "keyUp")]
        self.call("WebDriver:PerformActions",
                  actions=[{"type": "key", "id": "keyboard", "actions": actions}])
        self.call("WebDriver:ReleaseActions")

    def chord(self, *keys):
        """Presses keys together (WebDriver key codes: CONTROL is "\\ue009"), then lets go
        in reverse order: trusted key events, so Ctrl+C / Ctrl+V use the real clipboard."""
        actions = [{"type": "keyDown", "value": k} for k in keys]
        actions += [{"type": "keyUp", "value": k} for k in reversed(keys)]
        self.call("WebDriver:PerformActions",
                  actions=[{"type": "key", "id": "keyboard", "actions": actions}])
        self.call("WebDriver:ReleaseActions")

    def save_screenshot(self, path):
        """The viewport as a PNG at path."""
        data = self.call("WebDriver:TakeScreenshot", full=False, hash=False)["value"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def quit(self):
        try:
            self.call("Marionette:Quit", flags=["eForceQuit"])
        except (OSError, ConnectionError, MarionetteError):
            pass
        self._stop()

    def _stop(self):
        if self.sock:
            self.sock.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
