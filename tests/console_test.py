#!/usr/bin/python3
"""The operator console through a real browser (issue 14).

Starts a real vwall offscreen (tests/console-wall.cfg: solid-colour clips, a GStreamer RTSP
camera, a source named as HTML) with --http, and drives it with two headless Chromiums
(Debian's chromium + chromium-driver, python3-selenium) and raw WebSocket/HTTP clients:

  a. /metrics and /wall.jpg refuse a client without the token / a login ticket; a WebSocket
     upgrade with a foreign Origin is refused, one from the console's own origin is not.
  b. login: a wrong token is refused (and answered late), the right one opens the console.
  c. clicking a scene switches the wall: the control socket says so and the live picture in
     the mimic changes colour; the second browser marks it showing.
  d. dragging a camera from the catalog onto a tile shows it there (control socket, both
     browsers, the picture); then (operator_actions) a tile dragged onto another swaps
     them, an RTSP URL pasted onto the selected tile and one dropped onto a tile show an
     ad-hoc camera, Reset, Save… as a scene, Clear, and the group tree.
  e. an incident pushed from the dialog with ttl 3 s: a countdown that falls, then the
     revert to the base scene in both browsers.
  f. a camera named <img src=x onerror=alert(1)> is shown as text (no element, no alert).
  g. the RTSP camera killed: its tile turns stalled/offline in the mimic and the catalog's
     state filter lists it.
  h. /metrics parses with prometheus_client's parser and agrees with status/source.list.
  i. Chinese search, keyboard shortcuts, the language switch, the layout at 1366x768, and a
     reload from the page: a broken wall file's file:line errors in the events feed, then
     a good one's config.reloaded on both browsers.
  j. with no token the console refuses a non-loopback address, and on loopback answers
     only a loopback Host (no DNS rebinding); with control.http_cert/key it serves HTTPS
     and WSS.
  k. config.reload from a WebSocket is deferred: on a 20,000-camera wall other consoles are
     served while the worker reads the file, and the same connection's next request is
     answered after the reload's reply.

With --firefox (ctest console_firefox) the same wall is driven instead by one headless
Firefox (firefox-esr) over Marionette (tests/marionette.py: Debian has no geckodriver)
through the key scenarios: see firefox_run.

How fast the second browser follows is printed (console: second browser followed in N ms),
not asserted; docs/console.md reports it.
"""
import argparse
import json
import os
import select
import ssl
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vwtest  # noqa: E402
from console_ws import HandshakeRefused, WebSocket  # noqa: E402
from marionette import CONTROL, Firefox, MarionetteError  # noqa: E402
from vwtest import check, free_port  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

PYTHON = "/usr/bin/python3"
TOKEN = "seat-token-7f3a"
VIEW_TOKEN = "lobby-view-51c2"  # control.seats: a view seat



def wait_for(fn, timeout=15, step=0.05):
    """fn() until it returns something truthy (returned), or None after `timeout` s.
    Exceptions from a page being redrawn count as "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except (StaleElementReferenceException, MarionetteError, KeyError, IndexError,
                TypeError):
            pass
        if time.monotonic() > deadline:
            return None
        time.sleep(step)


def browser(width, height):
    o = Options()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--window-size={width},{height}", "--lang=en-US", "--mute-audio",
              "--disable-extensions", "--disable-background-networking"):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_script_timeout(10)
    return d


def http_get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except (urllib.error.URLError, OSError):
        return 0, {}, b""  # not listening (yet)


def login(d, base, token):
    d.get(base + "/")
    field = wait_for(lambda: d.find_element(By.ID, "token").is_displayed() and
                     d.find_element(By.ID, "token"))
    if not field:
        return False
    field.clear()
    field.send_keys(token)
    d.find_element(By.ID, "login-btn").click()
    return True


def click(d, css):
    """Clicks the element (found again if the page redrew it meanwhile)."""
    def go():
        d.find_element(By.CSS_SELECTOR, css).click()
        return True
    return wait_for(go, timeout=10)


def showing(d):
    """The scene the page marks showing (read in one step: the page redraws)."""
    return d.execute_script(
        "const e = document.querySelector('#scenes li.showing');"
        "return e ? e.getAttribute('data-scene') : null;")


def tile_attr(d, index, attr):
    return d.execute_script(
        "const e = document.querySelector('#mimic [data-tile=\"' + arguments[0] + '\"]');"
        "return e ? e.getAttribute(arguments[1]) : null;", index, attr)


PIXEL_JS = """
const cv = document.querySelector('#mimic [data-panel="' + arguments[0] + '"] canvas');
if (!cv) return null;
const d = cv.getContext('2d').getImageData(cv.width >> 1, cv.height >> 2, 1, 1).data;
return [d[0], d[1], d[2]];
"""


def panel_colour(d, panel):
    return d.execute_script(PIXEL_JS, panel)


def near(got, want, tol=40):
    return got is not None and all(abs(a - b) <= tol for a, b in zip(got, want))


# Whether the page fits the viewport with its parts visible: [no scrolling, mimic, scenes,
# catalog, events, the tile panel (when a tile is selected) inside the screen, innerWidth,
# innerHeight].
FITS_JS = """
const de = document.documentElement, vw = innerWidth, vh = innerHeight;
const inside = (id) => { const r = document.getElementById(id).getBoundingClientRect();
    return r.width > 50 && r.height > 20 && r.left >= 0 && r.top >= 0 &&
           r.right <= vw + 1 && r.bottom <= vh + 1; };
return [de.scrollWidth <= vw && de.scrollHeight <= vh, inside('mimic'), inside('scenes'),
        inside('catalog'), inside('events-panel'),
        document.getElementById('tile-info').hidden || inside('tile-info'), vw, vh];"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vwall", required=True)
    ap.add_argument("--clips", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--screenshot", help="also write the console as a PNG here (docs)")
    ap.add_argument("--firefox", action="store_true",
                    help="the key scenarios in Firefox (Marionette) instead of the whole suite")
    args = ap.parse_args()
    global args_clips
    args_clips = args.clips

    work = tempfile.mkdtemp(prefix="vwall-console-")
    rtsp = vwtest.RtspServer(work, cams=1)
    rtsp.start()
    cfg_path = os.path.join(work, "wall.cfg")
    with open(os.path.join(HERE, "console-wall.cfg"), encoding="utf-8") as f:
        text = f.read()
    text = (text.replace("@CLIPS@", os.path.abspath(args.clips))
            .replace("@RTSP@", f"rtsp://127.0.0.1:{rtsp.port}/cam1").replace("@TOKEN@", TOKEN)
                                  .replace("@VIEWTOKEN@", VIEW_TOKEN))
    with open(cfg_path, "w", encoding="utf-8") as f:
        f.write(text)
    port = free_port()
    sock = os.path.join(work, "ctl.sock")
    log = open(os.path.join(work, "vwall.log"), "wb")
    wall = subprocess.Popen([args.vwall, "-c", cfg_path, "--output", "offscreen", "--control",
                             f"unix:{sock}", "--http", f"127.0.0.1:{port}", "--max-fps", "30"],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    drivers = []
    try:
        if not check(wait_for(lambda: os.path.exists(sock) and http_get(base + "/")[0] == 200,
                              timeout=20), "vwall serves the console"):
            return
        ctl = vwtest.Client(sock)
        if args.firefox:
            firefox_run(base, ctl, rtsp, drivers, work)
            ctl.close()
        else:
            run(args, base, port, ctl, rtsp, drivers, cfg_path)
            ctl.close()
            other_walls(args, work)
            deferred_reload(args, work)
    finally:
        for d in drivers:
            try:
                d.quit()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass
        wall.send_signal(signal.SIGTERM)
        try:
            rc = wall.wait(timeout=20)
        except subprocess.TimeoutExpired:
            wall.kill()
            rc = None
        check(rc == 0, f"vwall exits cleanly after the test (rc {rc})")
        rtsp.kill()
        log.close()
        with open(os.path.join(work, "vwall.log"), encoding="utf-8", errors="replace") as f:
            wall_log = f.read()
        check("failed login from client=ws:" in wall_log, "the failed login is logged")
        if not args.firefox:
            check("(2 from 127.0.0.1 lately); answered in 1.0 s" in wall_log,
                  "a second failed login from the same address, on a new connection, waits "
                  "longer")
            check("foreign origin 'http://evil.example'" in wall_log,
                  "the refused foreign Origin is logged")
        if vwtest.failed:
            print(wall_log[-6000:], file=sys.stderr)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    vwtest.finish("console_firefox" if args.firefox else "console")


def run(args, base, port, ctl, rtsp, drivers, cfg_path):
    # a. HTTP and WebSocket refusals
    status, _, _ = http_get(base + "/metrics")
    check(status == 401, f"/metrics without the token: 401 (got {status})")
    status, _, _ = http_get(base + "/wall.jpg?width=320")
    check(status == 403, f"/wall.jpg without a ticket: 403 (got {status})")
    status, _, _ = http_get(base + "/wall.jpg?width=320&ticket=0123456789abcdef0123456789abcdef")
    check(status == 403, f"/wall.jpg with a made-up ticket: 403 (got {status})")
    try:
        WebSocket("127.0.0.1", port, origin="http://evil.example").close()
        check(False, "a WebSocket from a foreign Origin is refused")
    except HandshakeRefused as e:
        check(" 101 " not in e.status_line + " ", f"foreign Origin refused ({e.status_line})")
    for attempt in (1, 2):  # two connections, one wrong token each: the delay grows by address
        bad = WebSocket("127.0.0.1", port, origin=base)
        r = bad.call("auth", token="wrong")
        check(r and r.get("error") == "unauthorized", f"wrong token #{attempt}: unauthorized ({r})")
        bad.close()
    ws = WebSocket("127.0.0.1", port, origin=base)
    r = ws.call("status")
    check(r and r.get("error") == "unauthorized", f"/ws before login: unauthorized ({r})")
    r = ws.call("auth", token=TOKEN)
    check(r and r.get("ok"), f"/ws auth with the token ({r})")
    ev = ws.wait_event("console.login")
    ticket = ev and ev.get("ticket")
    check(ticket and len(ticket) == 32, f"a login ticket ({ev})")
    status, headers, body = http_get(base + f"/wall.jpg?width=160&ticket={ticket}")
    check(status == 200 and headers.get("content-type") == "image/jpeg" and body[:2] == b"\xff\xd8",
          f"/wall.jpg with the ticket is a JPEG (status {status})")
    jpg = os.path.join(tempfile.gettempdir(), f"vwall-console-{os.getpid()}.jpg")

    def wall_picture():
        st, _, data = http_get(base + f"/wall.jpg?width=160&ticket={ticket}")
        if st != 200:
            return None
        with open(jpg, "wb") as f:
            f.write(data)
        return vwtest.Image(jpg)

    # The wall shows red | green once both clips have their first frame.
    img = wait_for(lambda: (lambda i: i if near(i.px(40, 22), (255, 0, 0)) and
                            near(i.px(120, 22), (0, 255, 0)) else None)(wall_picture()),
                   timeout=15, step=0.3) or wall_picture()
    os.unlink(jpg)
    check(img and img.w == 160 and img.h == 44, f"/wall.jpg?width=160 is 160x44 ({img and img.w}x{img and img.h})")
    check(img and near(img.px(40, 22), (255, 0, 0)) and near(img.px(120, 22), (0, 255, 0)),
          f"/wall.jpg shows red | green ({img and img.px(40, 22)}, {img and img.px(120, 22)})")
    r = ws.call("no.such.command")
    check(r and r.get("error") == "unknown_command", f"/ws: the protocol's own errors ({r})")
    ws.send_text("{not json")
    r = json.loads(ws.recv_text())
    check(r.get("error") == "parse_error", f"/ws: a broken message gets parse_error ({r})")
    big = WebSocket("127.0.0.1", port, origin=base)
    big.send_text(json.dumps({"cmd": "ping", "pad": "x" * 70000}))
    r = json.loads(big.recv_text() or "{}")
    check(r.get("error") == "too_large", f"/ws: a 70 kB message gets too_large ({r.get('error')})")
    try:
        closed = big.recv_text(timeout=10) is None
    except (ConnectionError, OSError):
        closed = True
    check(closed, "and the connection closes")
    big.sock.close()
    r = ws.call("status")
    check(r and r.get("ok") and r.get("clients", 0) >= 2,
          f"/ws after login runs commands; status counts it ({r and r.get('clients')})")

    # b. login through the page
    a = browser(1920, 1080)
    drivers.append(a)
    b = browser(1366, 768)
    drivers.append(b)
    login(a, base, "not-the-token")
    err = wait_for(lambda: a.find_element(By.ID, "login-error").text, timeout=15)
    check(err and "wrong token" in err.lower(), f"a wrong token is refused on the page ({err!r})")
    check(a.find_element(By.ID, "login").is_displayed(), "the login form stays up")
    login(a, base, TOKEN)
    check(wait_for(lambda: not a.find_element(By.ID, "login").is_displayed() and
                   len(a.find_elements(By.CSS_SELECTOR, "[data-scene]")) == 4),
          "the right token opens the console with the 4 scenes")
    login(b, base, TOKEN)
    check(wait_for(lambda: showing(b) == "main"), "the second browser shows scene main")
    check(wait_for(lambda: near(panel_colour(a, 0), (255, 0, 0)) and
                   near(panel_colour(a, 1), (0, 255, 0))),
          f"the mimic's live picture: red | green ({panel_colour(a, 0)}, {panel_colour(a, 1)})")
    check(wait_for(lambda: tile_attr(a, 0, "data-source") == "red" and
                   tile_attr(a, 1, "data-source") == "green"),
          "the mimic's tiles carry data-source red, green")

    # b2. a view seat sees the wall and changes nothing: a click is refused, and says why
    v = browser(1366, 768)
    drivers.append(v)
    login(v, base, VIEW_TOKEN)
    check(wait_for(lambda: not v.find_element(By.ID, "login").is_displayed() and
                   showing(v) == "main"), "a view seat logs in and sees the scene showing")
    click(v, '[data-scene="alt"]')
    toast = wait_for(lambda: " ".join(e.text for e in v.find_elements(By.CSS_SELECTOR, "#toasts .toast")),
                     timeout=5)
    check(toast and "operate" in toast, f"the view seat's click is refused with the role it needs ({toast!r})")
    time.sleep(0.5)
    check(ws.call("status").get("scene") == "main", "the wall did not switch for a view seat")
    v.quit()
    drivers.remove(v)

    # c. click a scene
    click(a, '[data-scene="alt"]')
    t0 = time.monotonic()
    seen = wait_for(lambda: showing(b) == "alt", timeout=10, step=0.01)
    follow_ms = (time.monotonic() - t0) * 1000
    check(seen, "the second browser marks alt showing")
    print(f"console: second browser followed a scene switch in {follow_ms:.0f} ms")
    st = ctl.call("status")
    check(st.get("scene") == "alt", f"the wall shows alt ({st.get('scene')})")
    check(wait_for(lambda: near(panel_colour(a, 0), (0, 0, 255)) and
                   near(panel_colour(a, 1), (255, 255, 0))),
          f"the live picture turned blue | yellow ({panel_colour(a, 0)}, {panel_colour(a, 1)})")

    # d. drag a camera onto a tile
    def drag_camera():
        cam = a.find_element(By.CSS_SELECTOR, '#catalog [data-source="white"]')
        tile = a.find_element(By.CSS_SELECTOR, '#mimic [data-tile="1"]')
        ActionChains(a).click_and_hold(cam).move_by_offset(20, 0).move_to_element(tile) \
            .move_by_offset(2, 2).release().perform()
        return True
    wait_for(drag_camera, timeout=10)
    check(wait_for(lambda: tile_attr(a, 1, "data-source") == "white"),
          f"dragged camera white shows in tile 1 ({tile_attr(a, 1, 'data-source')})")
    check(wait_for(lambda: tile_attr(b, 1, "data-source") == "white", timeout=5),
          "the second browser shows white in tile 1")
    click(a, '#mimic [data-tile="1"]')
    info = wait_for(lambda: a.find_element(By.ID, "tile-info").is_displayed() and
                    a.find_element(By.ID, "ti-fields").text)
    check(info and "white" in info and "fps" in info,
          f"clicking the tile shows its camera, fps and the rest ({info!r})")
    ev = ctl.call("source.list")
    white = [s for s in ev.get("sources", []) if s["id"] == "white"]
    check(white and white[0]["state"] in ("connecting", "live"), "the wall decodes white")
    check(wait_for(lambda: near(panel_colour(a, 1), (255, 255, 255))),
          f"the live picture of panel 1 turned white ({panel_colour(a, 1)})")

    operator_actions(a, b, ctl, rtsp)

    # e. push an incident with ttl 3 s from the dialog
    push_from_dialog(a, "incident", 5, 3)
    check(wait_for(lambda: showing(a) == "incident" and showing(b) == "incident", timeout=5),
          "both browsers show the pushed incident")

    first = wait_for(lambda: ttl_value(b))
    time.sleep(1.0)
    second = ttl_value(b)
    check(first is not None and second is not None and 0 <= second < first <= 3.0,
          f"the ttl counts down on the second browser ({first} → {second})")
    check(wait_for(lambda: showing(a) == "alt" and showing(b) == "alt" and
                   not b.find_elements(By.CSS_SELECTOR, "#stack [data-stack-scene]"), timeout=10),
          "after the ttl both browsers are back on alt with an empty stack")
    check(ctl.call("status").get("scene") == "alt", "the wall is back on alt")

    # f. a camera named as HTML, shown as text
    search = a.find_element(By.ID, "search")
    search.send_keys("onerror")
    check(wait_for(lambda: [e.get_attribute("data-source")
                            for e in a.find_elements(By.CSS_SELECTOR, "#catalog [data-source]")]
                   == ["html"]), "the search finds the camera named as HTML")
    name = wait_for(lambda: a.find_element(
        By.CSS_SELECTOR, '#catalog [data-source="html"] .name').text)
    check(name == "<img src=x onerror=alert(1)>", f"its name is shown as text ({name!r})")
    check(not a.find_elements(By.CSS_SELECTOR, "#catalog img, #mimic img, #events img"),
          "no <img> element came from the name")
    click(a, '[data-scene="camera"]')
    check(wait_for(lambda: tile_attr(a, 1, "data-source") == "html"), "scene camera shows it")
    label = wait_for(lambda: a.find_element(By.CSS_SELECTOR, '#mimic [data-tile="1"] .name').text)
    check(label == "<img src=x onerror=alert(1)>", f"the tile's label is text ({label!r})")
    try:
        a.switch_to.alert.dismiss()
        check(False, "no alert ran")
    except NoAlertPresentException:
        check(True, "no alert ran")
    search.clear()
    search.send_keys(" ")  # an input event for the cleared field
    search.clear()

    # g. the RTSP camera goes live, then is killed
    check(wait_for(lambda: tile_attr(b, 0, "data-source") == "cam" and
                   tile_attr(b, 0, "data-state") == "live", timeout=20),
          f"the RTSP camera's tile is live ({tile_attr(b, 0, 'data-state')})")
    rtsp.kill()
    check(wait_for(lambda: tile_attr(b, 0, "data-state") in ("stalled", "offline"), timeout=15),
          f"killed: the camera's tile is stalled/offline ({tile_attr(b, 0, 'data-state')})")
    check(wait_for(lambda: tile_attr(b, 0, "data-state") == "offline", timeout=30),
          f"killed: the camera's tile turns offline ({tile_attr(b, 0, 'data-state')})")
    Select(b.find_element(By.ID, "state-filter")).select_by_value("offline")
    check(wait_for(lambda: "cam" in [e.get_attribute("data-source") for e in
                                     b.find_elements(By.CSS_SELECTOR, "#catalog [data-source]")]
                   and all(e.get_attribute("data-state") == "offline" for e in
                           b.find_elements(By.CSS_SELECTOR, "#catalog [data-source]"))),
          "the catalog filtered on offline lists the camera, and only offline ones")

    # h. /metrics
    before = {s["id"]: s for s in ctl.call("source.list")["sources"]}
    status, headers, body = http_get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
    after = {s["id"]: s for s in ctl.call("source.list")["sources"]}
    st = ctl.call("status")
    check(status == 200 and headers.get("content-type", "").startswith("text/plain"),
          f"/metrics with the token: 200 text/plain ({status})")
    samples = {}
    try:
        for fam in text_string_to_metric_families(body.decode()):
            for s in fam.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        check(True, "/metrics parses as Prometheus text format")
    except Exception as e:  # noqa: BLE001 - the parser's error is the finding
        check(False, f"/metrics parses as Prometheus text format: {e}")
    ids = {dict(k[1]).get("source") for k in samples if k[0] == "vwall_source_state"}
    check(ids == set(after), f"/metrics has every source of source.list ({sorted(ids)})")
    for sid, s in after.items():
        state = [dict(k[1])["state"] for k, v in samples.items()
                 if k[0] == "vwall_source_state" and dict(k[1]).get("source") == sid and v == 1]
        check(state == [s["state"]] or (before[sid]["state"] != s["state"]),
              f"{sid}: state in /metrics {state} = source.list's {s['state']}")
        dec = samples.get(("vwall_source_frames_decoded_total", (("source", sid),)))
        check(dec is not None and before[sid]["frames_decoded"] <= dec <= s["frames_decoded"],
              f"{sid}: frames decoded {dec} within source.list's "
              f"{before[sid]['frames_decoded']}..{s['frames_decoded']}")
        rec = samples.get(("vwall_source_reconnects_total", (("source", sid),)))
        check(rec is not None and before[sid]["reconnects"] <= rec <= s["reconnects"],
              f"{sid}: reconnects {rec} agree with source.list")
    check(samples.get(("vwall_scene_info", (("base_scene", st["base_scene"]),
                                            ("scene", st["scene"])))) == 1,
          f"vwall_scene_info names scene {st['scene']}")
    check(samples.get(("vwall_stack_depth", ())) == len(st["stack"]), "stack depth agrees")
    check(samples.get(("vwall_clients", ())) == st["clients"],
          f"clients {samples.get(('vwall_clients', ()))} = status's {st['clients']}")
    check(samples.get(("vwall_scene_changes_total", ()), 0) >= 4,
          f"scene changes counted ({samples.get(('vwall_scene_changes_total', ()))})")
    rendered = samples.get(("vwall_frames_rendered_total", ()))
    check(rendered is not None and 0 < rendered <= st["frames_rendered"],
          f"frames rendered {rendered} <= status's {st['frames_rendered']}")

    # i. Chinese search, keys, language, 1366x768, reload
    search = a.find_element(By.ID, "search")
    search.clear()
    search.send_keys("河口")
    check(wait_for(lambda: [e.get_attribute("data-source")
                            for e in a.find_elements(By.CSS_SELECTOR, "#catalog [data-source]")]
                   == ["cam"]), "a Chinese search (河口) finds the camera by its name")
    search.clear()
    search.send_keys("x")
    search.send_keys("\b")
    b.find_element(By.TAG_NAME, "body").send_keys("2")
    check(wait_for(lambda: showing(a) == "alt" and ctl.call("status").get("scene") == "alt"),
          "key 2 on the second browser switches to the second scene")
    body = b.find_element(By.TAG_NAME, "body")
    body.send_keys("1")
    check(wait_for(lambda: showing(b) == "main" and ctl.call("status").get("scene") == "main"),
          "key 1 switches to the first scene")
    body.send_keys("2")
    check(wait_for(lambda: showing(b) == "alt"), "and key 2 back")
    body.send_keys("p")
    check(wait_for(lambda: b.find_element(By.ID, "push-dialog").is_displayed(), timeout=5),
          "key p opens the push dialog")
    active = b.switch_to.active_element
    check(active.get_attribute("id") == "push-scene", "with the focus on its scene field")
    active.send_keys("\ue00c")  # Escape, typed into the dialog's field
    check(wait_for(lambda: not b.find_element(By.ID, "push-dialog").is_displayed(), timeout=5),
          "Esc closes it")
    check(ctl.call("status").get("stack") == [], "and nothing was pushed")
    click(b, "#lang")
    check(wait_for(lambda: b.find_element(By.CSS_SELECTOR, "#scenes-panel h2").text == "场景"),
          "the language button switches the interface to Chinese")
    check(wait_for(lambda: "在线" in b.find_element(By.ID, "state-filter").text),
          "the state filter speaks Chinese too")
    check(wait_for(lambda: b.find_element(By.CSS_SELECTOR, '#mimic [data-tile="0"] .state').text
                   in ("在线", "连接中")), "and the tiles' states")
    check(b.find_element(By.ID, "lang").text == "English", "the button offers English back")
    b.refresh()
    check(wait_for(lambda: showing(b) == "alt" and
                   b.find_element(By.CSS_SELECTOR, "#scenes-panel h2").text == "场景"),
          "after a reload of the page the console logs in again and stays in Chinese")
    click(b, "#lang")
    check(wait_for(lambda: b.find_element(By.CSS_SELECTOR, "#scenes-panel h2").text.lower()
                   == "scenes"), "and back to English")
    if not b.find_elements(By.CSS_SELECTOR, '#mimic [data-tile="0"].selected'):
        click(b, '#mimic [data-tile="0"]')
    check(wait_for(lambda: b.find_element(By.ID, "tile-info").is_displayed()),
          "a selected tile shows its panel")
    fits = b.execute_script(FITS_JS)
    check(fits and all(fits[:6]), f"at 1366x768 everything fits the screen, the tile panel "
                                 f"too ({fits})")

    with open(cfg_path, encoding="utf-8") as f:
        good = f.read()
    with open(cfg_path, "w", encoding="utf-8") as f:
        f.write(good.replace('stall_timeout = 1.0;', 'stall_timeout = "soon";'))
    bad_line = good[:good.index("stall_timeout = 1.0;")].count("\n") + 1
    click(a, "#reload")
    err = wait_for(lambda: [e.text for e in a.find_elements(
        By.CSS_SELECTOR, '#events [data-event="config.reload"] .err')])
    check(err and any(f"wall.cfg:{bad_line}:" in e for e in err),
          f"a failed reload lists its file:line errors in the feed ({err})")
    with open(cfg_path, "w", encoding="utf-8") as f:
        f.write(good)
    click(a, "#reload")
    check(wait_for(lambda: b.find_elements(By.CSS_SELECTOR, '#events [data-event="config.reloaded"]')),
          "the good reload shows as config.reloaded on the second browser")

    if args.screenshot:
        click(a, '[data-scene="main"]')
        Select(b.find_element(By.ID, "state-filter")).select_by_value("")
        wait_for(lambda: near(panel_colour(a, 0), (255, 0, 0)))
        click(a, '#mimic [data-tile="0"]')
        time.sleep(1.0)
        a.save_screenshot(args.screenshot)
    ws.close()


def ttl_value(d):
    """The incident's ttl countdown in seconds (read in one step: it redraws 5 times a
    second), or None."""
    txt = d.execute_script(
        "const e = document.querySelector('#stack [data-stack-scene=\"incident\"] .ttl');"
        "return e ? e.textContent : null;")
    return float(txt.split()[0]) if txt and txt[0].isdigit() else None


def push_from_dialog(d, scene, priority, ttl):
    click(d, "#push-btn")
    # A click on the option selects it (WebDriver's way, in Chromium and Firefox alike).
    wait_for(lambda: d.find_element(By.CSS_SELECTOR, f'#push-scene option[value="{scene}"]').click()
             or True)
    for fid, value in (("push-priority", priority), ("push-ttl", ttl)):
        f = d.find_element(By.ID, fid)
        f.clear()
        f.send_keys(str(value))
    d.find_element(By.ID, "push-ok").click()


def drag(d, src_css, dst_css):
    """Drags the element src_css onto dst_css with the mouse (pointer events: the console's
    drags are pointer-driven, so WebDriver's mouse actions perform them as a hand would)."""
    def go():
        src = d.find_element(By.CSS_SELECTOR, src_css)
        dst = d.find_element(By.CSS_SELECTOR, dst_css)
        ActionChains(d).click_and_hold(src).move_by_offset(20, 0).move_to_element(dst) \
            .move_by_offset(2, 2).release().perform()
        return True
    return wait_for(go, timeout=10)


def wall_tiles(ctl):
    return [t["source"] for t in ctl.call("tile.list")["tiles"]]


def catalog_ids(d):
    return d.execute_script(
        "return [...document.querySelectorAll('#catalog [data-source]')]"
        ".map((e) => e.getAttribute('data-source'));")


PASTE_JS = """
const dt = new DataTransfer();
dt.setData('text/plain', arguments[0]);
document.body.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true,
                                                         cancelable: true}));
"""

DROP_TEXT_JS = """
const tile = document.querySelector('#mimic [data-tile="' + arguments[0] + '"]');
const dt = new DataTransfer();
dt.setData('text/uri-list', arguments[1]);
dt.setData('text/plain', arguments[1]);
const r = tile.getBoundingClientRect(), at = {clientX: r.left + r.width / 2,
                                              clientY: r.top + r.height / 2};
const opts = Object.assign({dataTransfer: dt, bubbles: true, cancelable: true}, at);
tile.dispatchEvent(new DragEvent('dragenter', opts));
const over = new DragEvent('dragover', opts);
tile.dispatchEvent(over);
tile.dispatchEvent(new DragEvent('drop', opts));
return over.defaultPrevented;
"""


def operator_actions(a, b, ctl, rtsp):
    """d2–d8: what an operator does with the mouse and keys, on scene alt (blue | white)."""
    # d2. a tile dragged onto another: the two swap (tile.swap)
    check(wall_tiles(ctl) == ["blue", "white"], f"alt shows blue | white ({wall_tiles(ctl)})")
    drag(a, '#mimic [data-tile="0"]', '#mimic [data-tile="1"]')
    check(wait_for(lambda: wall_tiles(ctl) == ["white", "blue"]),
          f"tile 0 dragged onto tile 1: the wall swaps them ({wall_tiles(ctl)})")
    check(wait_for(lambda: [tile_attr(d, i, "data-source") for d in (a, b) for i in (0, 1)]
                   == ["white", "blue", "white", "blue"], timeout=5),
          "both browsers show white | blue")
    check(wait_for(lambda: near(panel_colour(a, 0), (255, 255, 255)) and
                   near(panel_colour(a, 1), (0, 0, 255))),
          f"the live picture turned white | blue ({panel_colour(a, 0)}, {panel_colour(a, 1)})")
    label = wait_for(lambda: a.find_element(By.CSS_SELECTOR, '#mimic [data-tile="0"] .picked').text)
    check(label and "admin" in label, f"the picked tile says who picked it ({label!r})")

    # d3. an RTSP URL pasted onto the selected tile: an ad-hoc camera there
    url = f"rtsp://127.0.0.1:{rtsp.port}/cam1"
    if "selected" not in (a.find_element(By.CSS_SELECTOR, '#mimic [data-tile="1"]')
                          .get_attribute("class") or ""):
        click(a, '#mimic [data-tile="1"]')
    check(wait_for(lambda: a.find_elements(By.CSS_SELECTOR, '#mimic [data-tile="1"].selected')),
          "tile 1 is selected")
    a.execute_script(PASTE_JS, url)
    adhoc = wait_for(lambda: (lambda t: t if t.startswith("adhoc-") else None)(wall_tiles(ctl)[1]))
    check(adhoc, f"a pasted RTSP URL shows in tile 1 as an ad-hoc camera ({wall_tiles(ctl)})")
    listed = [s for s in ctl.call("source.list", query="adhoc")["sources"] if s["id"] == adhoc]
    check(listed and listed[0].get("url") == url and listed[0].get("adhoc") is True,
          f"source.list has it with its URL ({listed})")
    check(wait_for(lambda: tile_attr(b, 1, "data-source") == adhoc, timeout=5),
          "the second browser shows the ad-hoc camera in tile 1")
    check(wait_for(lambda: tile_attr(a, 1, "data-state") == "live", timeout=20),
          f"the ad-hoc camera goes live in the mimic ({tile_attr(a, 1, 'data-state')})")
    name = wait_for(lambda: a.find_element(By.CSS_SELECTOR, '#mimic [data-tile="1"] .name').text)
    check(name == url, f"its tile is labelled with the URL, as the wall names it ({name!r})")
    check(wait_for(lambda: not near(panel_colour(a, 1), (0, 0, 255))),
          f"the live picture of panel 1 shows the camera, not blue ({panel_colour(a, 1)})")

    # d4. Reset in the tile panel: back to the configured camera (tile.reset)
    click(a, "#ti-reset")
    check(wait_for(lambda: wall_tiles(ctl)[1] == "yellow"),
          f"Reset puts tile 1 back to its configured camera ({wall_tiles(ctl)})")
    check(wait_for(lambda: tile_attr(a, 1, "data-source") == "yellow"), "the mimic follows")

    # d5. a URL dropped onto a tile (dragged from another window: HTML5 drag and drop)
    accepted = a.execute_script(DROP_TEXT_JS, 1, url)
    check(accepted, "a tile accepts a dragged URL (dragover prevented)")
    check(wait_for(lambda: wall_tiles(ctl)[1] == adhoc),
          f"the URL dropped onto tile 1 shows there ({wall_tiles(ctl)})")
    click(a, "#ti-reset")
    check(wait_for(lambda: wall_tiles(ctl)[1] == "yellow"), "and Reset again")

    # d6. the wall saved as a scene: listed (saved) on both browsers, and switched back to
    click(a, "#save-btn")
    field = wait_for(lambda: a.find_element(By.ID, "save-id").is_displayed() and
                     a.find_element(By.ID, "save-id"))
    field.send_keys("desk1")
    a.find_element(By.ID, "save-name").send_keys("值班 desk")
    a.find_element(By.ID, "save-ok").click()
    check(wait_for(lambda: a.find_elements(By.CSS_SELECTOR, '#scenes [data-scene="desk1"] .saved')
                   and b.find_elements(By.CSS_SELECTOR, '#scenes [data-scene="desk1"] .saved'),
                   timeout=5), "the saved scene is listed as saved on both browsers")
    saved = [s for s in ctl.call("scene.list")["scenes"] if s["id"] == "desk1"]
    check(saved and saved[0].get("saved") is True and saved[0].get("name") == "值班 desk",
          f"scene.list has it, saved, with its name ({saved})")
    name = a.find_element(By.CSS_SELECTOR, '#scenes [data-scene="desk1"] .name').text
    check(name == "值班 desk", f"it is shown by its name ({name!r})")
    click(a, '[data-scene="main"]')
    check(wait_for(lambda: ctl.call("status").get("scene") == "main"), "switched to main")
    click(a, '[data-scene="desk1"]')
    check(wait_for(lambda: ctl.call("status").get("scene") == "desk1" and
                   wall_tiles(ctl) == ["white", "yellow"]),
          f"the saved scene shows what the wall showed when saved ({wall_tiles(ctl)})")
    check(wait_for(lambda: near(panel_colour(a, 0), (255, 255, 255)) and
                   near(panel_colour(a, 1), (255, 255, 0))),
          f"and the picture is white | yellow ({panel_colour(a, 0)}, {panel_colour(a, 1)})")
    click(a, '[data-scene="alt"]')
    check(wait_for(lambda: showing(a) == "alt" and showing(b) == "alt"), "back on alt")

    # d7. Clear ends every incident at once
    for scene, prio in (("incident", 5), ("camera", 7)):
        r = ctl.call("scene.push", scene=scene, priority=prio, ttl=0)
        check(r.get("ok"), f"pushed {scene} ({r})")
    stack_of = "return [...document.querySelectorAll('#stack [data-stack-scene]')]" \
               ".map((e) => e.getAttribute('data-stack-scene'));"
    check(wait_for(lambda: a.execute_script(stack_of) == ["camera", "incident"], timeout=5),
          f"the stack lists both incidents, highest first ({a.execute_script(stack_of)})")
    click(a, "#clear-btn")
    check(wait_for(lambda: ctl.call("status").get("stack") == [] and
                   ctl.call("status").get("scene") == "alt"),
          "Clear empties the stack and the wall is back on alt")
    check(wait_for(lambda: a.execute_script(stack_of) == [] and b.execute_script(stack_of) == []
                   and showing(b) == "alt", timeout=5),
          "both browsers show an empty stack and alt")
    feed = wait_for(lambda: [e.text for e in a.find_elements(
        By.CSS_SELECTOR, '#events [data-event="scene.changed"]')])
    check(feed and "scene=alt" in feed[0] and "admin" in feed[0],
          f"the events feed shows the change back to alt and who did it ({feed and feed[0]!r})")

    # d8. the group tree filters the catalog
    everyone = wait_for(lambda: (lambda ids: ids if len(ids) >= 8 else None)(catalog_ids(a)))
    check(everyone and {"red", "green", "blue", "cam"} <= set(everyone),
          f"the catalog lists every camera ({everyone})")
    groups = a.execute_script("return [...document.querySelectorAll('#groups [data-group]')]"
                              ".map((e) => e.getAttribute('data-group'));")
    check(groups == ["", "乡镇", "乡镇/台头镇", "乡镇/王口镇", "城区", "城区/华康街道"],
          f"the group tree nests the groups ({groups})")
    click(a, '#groups [data-group="乡镇"]')
    check(wait_for(lambda: sorted(catalog_ids(a)) == ["green", "red"]),
          f"group 乡镇: its two towns' cameras ({catalog_ids(a)})")
    click(a, '#groups [data-group="乡镇/王口镇"]')
    check(wait_for(lambda: catalog_ids(a) == ["red"]), f"乡镇/王口镇: red only ({catalog_ids(a)})")
    click(a, '#groups [data-group=""]')
    check(wait_for(lambda: {"red", "green", "blue", "yellow", "cam"} <= set(catalog_ids(a))),
          f"all groups: every camera again ({catalog_ids(a)})")


def firefox_run(base, ctl, rtsp, drivers, work):
    """The key scenarios in Firefox (firefox-esr over Marionette, tests/marionette.py): login,
    the mimic with its tiles and live picture, a scene click, a camera dragged onto a tile, a
    tile onto another, an RTSP URL pasted and dropped, the events feed, a change from the
    control socket followed, an incident's ttl countdown, the layout at 1366x768 and
    1920x1080, a name shown as text, the language switch, and what Firefox itself drew."""
    log = open(os.path.join(work, "firefox.log"), "wb")
    f = Firefox(1366, 768, log=log)
    drivers.append(f)
    print(f"console_firefox: {f.capabilities.get('browserName')} "
          f"{f.capabilities.get('browserVersion')} over Marionette", flush=True)
    login(f, base, "not-the-token")
    err = wait_for(lambda: f.find_element(By.ID, "login-error").text, timeout=15)
    check(err and "wrong token" in err.lower(), f"Firefox: a wrong token is refused ({err!r})")
    login(f, base, TOKEN)
    check(wait_for(lambda: not f.find_element(By.ID, "login").is_displayed() and
                   len(f.find_elements(By.CSS_SELECTOR, "[data-scene]")) == 4),
          "Firefox: the right token opens the console with the 4 scenes")
    check(wait_for(lambda: showing(f) == "main"), "Firefox: scene main is marked showing")
    check(wait_for(lambda: tile_attr(f, 0, "data-source") == "red" and
                   tile_attr(f, 1, "data-source") == "green"),
          "Firefox: the mimic's tiles carry data-source red, green")
    check(wait_for(lambda: near(panel_colour(f, 0), (255, 0, 0)) and
                   near(panel_colour(f, 1), (0, 255, 0)), timeout=20),
          f"Firefox: the mimic's live picture is red | green ({panel_colour(f, 0)}, "
          f"{panel_colour(f, 1)})")
    label = wait_for(lambda: f.find_element(By.CSS_SELECTOR, '#mimic [data-tile="0"] .name').text)
    check(label == "红 red", f"Firefox: tile 0 is labelled with its camera's name ({label!r})")

    # What Firefox drew: the screenshot's pixels inside panel 1 of the mimic are green.
    shot = os.path.join(work, "firefox.png")
    f.save_screenshot(shot)
    box = f.execute_script("const r = document.querySelector('#mimic [data-panel=\"1\"]')"
                           ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height, "
                           "devicePixelRatio];")
    img = vwtest.Image(shot)
    x, y = int((box[0] + box[2] / 2) * box[4]), int((box[1] + box[3] / 4) * box[4])
    check(near(img.px(x, y), (0, 255, 0)),
          f"Firefox: its screenshot shows panel 1 green at ({x}, {y}): {img.px(x, y)}")

    click(f, '[data-scene="alt"]')
    check(wait_for(lambda: ctl.call("status").get("scene") == "alt"),
          "Firefox: clicking scene alt switches the wall")
    check(wait_for(lambda: showing(f) == "alt" and near(panel_colour(f, 0), (0, 0, 255)) and
                   near(panel_colour(f, 1), (255, 255, 0))),
          f"Firefox: alt marked showing, the picture blue | yellow ({panel_colour(f, 0)}, "
          f"{panel_colour(f, 1)})")

    def drag_white():
        f.drag(f.find_element(By.CSS_SELECTOR, '#catalog [data-source="white"]'),
               f.find_element(By.CSS_SELECTOR, '#mimic [data-tile="1"]'))
        return True
    wait_for(drag_white, timeout=10)
    check(wait_for(lambda: wall_tiles(ctl) == ["blue", "white"]),
          f"Firefox: a camera dragged onto tile 1 shows there ({wall_tiles(ctl)})")
    check(wait_for(lambda: tile_attr(f, 1, "data-source") == "white" and
                   near(panel_colour(f, 1), (255, 255, 255))),
          f"Firefox: the mimic shows white in tile 1 ({panel_colour(f, 1)})")

    def drag_tile():
        f.drag(f.find_element(By.CSS_SELECTOR, '#mimic [data-tile="0"]'),
               f.find_element(By.CSS_SELECTOR, '#mimic [data-tile="1"]'))
        return True
    wait_for(drag_tile, timeout=10)
    check(wait_for(lambda: wall_tiles(ctl) == ["white", "blue"]),
          f"Firefox: tile 0 dragged onto tile 1 swaps them ({wall_tiles(ctl)})")
    url = f"rtsp://127.0.0.1:{rtsp.port}/cam1"
    click(f, '#mimic [data-tile="1"]')
    check(wait_for(lambda: f.find_elements(By.CSS_SELECTOR, '#mimic [data-tile="1"].selected')),
          "Firefox: a click selects tile 1")
    # A real paste: the URL copied with Ctrl+C from a field, pasted with Ctrl+V on the page
    # (Firefox gives a script-made paste event no data).
    field = f.find_element(By.ID, "ti-url")
    field.send_keys(url)
    f.chord(CONTROL, "a")
    f.chord(CONTROL, "c")
    field.clear()
    f.execute_script("document.activeElement.blur()")
    f.chord(CONTROL, "v")
    check(wait_for(lambda: wall_tiles(ctl)[1].startswith("adhoc-")),
          f"Firefox: an RTSP URL pasted (Ctrl+V) shows in the selected tile ({wall_tiles(ctl)})")
    click(f, "#ti-reset")
    check(wait_for(lambda: wall_tiles(ctl)[1] == "yellow"), "Firefox: Reset puts it back")
    check(f.execute_script(DROP_TEXT_JS, 0, url), "Firefox: a tile accepts a dragged URL")
    check(wait_for(lambda: wall_tiles(ctl)[0].startswith("adhoc-")),
          f"Firefox: the URL dropped onto tile 0 shows there ({wall_tiles(ctl)})")

    ctl.call("scene.switch", scene="main")
    check(wait_for(lambda: showing(f) == "main", timeout=5),
          "Firefox: a switch made on the control socket is followed")
    feed = wait_for(lambda: [e.text for e in f.find_elements(
        By.CSS_SELECTOR, '#events [data-event="scene.changed"]')])
    check(feed and "scene=main" in feed[0],
          f"Firefox: the events feed shows the change, newest first ({feed and feed[0]!r})")
    check(feed and any("scene=alt" in e and "admin" in e for e in feed),
          "Firefox: and the click's change with its seat")
    picks = [e.text for e in f.find_elements(By.CSS_SELECTOR, '#events [data-event="tile.assigned"]')]
    check(picks and any("source=white" in p for p in picks), f"Firefox: and the picks ({picks})")

    f.send_keys_to_page("2")
    check(wait_for(lambda: ctl.call("status").get("scene") == "alt"),
          "Firefox: key 2 switches to the second scene")

    push_from_dialog(f, "incident", 5, 3)
    check(wait_for(lambda: showing(f) == "incident", timeout=5),
          "Firefox: an incident pushed from the dialog shows")
    first = wait_for(lambda: ttl_value(f))
    time.sleep(1.0)
    second = ttl_value(f)
    check(first is not None and second is not None and 0 <= second < first <= 3.0,
          f"Firefox: its ttl counts down ({first} → {second})")
    check(wait_for(lambda: showing(f) == "alt" and ctl.call("status").get("stack") == [],
                   timeout=10), "Firefox: after the ttl the wall and the page are back on alt")

    search = f.find_element(By.ID, "search")
    search.send_keys("onerror")
    check(wait_for(lambda: catalog_ids(f) == ["html"]), "Firefox: search finds the camera named as HTML")
    name = wait_for(lambda: f.find_element(By.CSS_SELECTOR, '#catalog [data-source="html"] .name').text)
    check(name == "<img src=x onerror=alert(1)>", f"Firefox: its name is shown as text ({name!r})")
    check(not f.find_elements(By.CSS_SELECTOR, "#catalog img, #mimic img, #events img"),
          "Firefox: no <img> element came from the name")
    search.clear()
    search.send_keys("河口")
    check(wait_for(lambda: catalog_ids(f) == ["cam"]), "Firefox: a Chinese search finds the camera")
    search.clear()
    search.send_keys(" ")
    search.clear()

    click(f, "#lang")
    check(wait_for(lambda: f.find_element(By.CSS_SELECTOR, "#scenes-panel h2").text == "场景"),
          "Firefox: the language button switches to Chinese")
    click(f, "#lang")
    check(wait_for(lambda: f.find_element(By.CSS_SELECTOR, "#scenes-panel h2").text.lower()
                   == "scenes"),
          "Firefox: and back to English")

    if not f.find_elements(By.CSS_SELECTOR, '#mimic [data-tile="0"].selected'):
        click(f, '#mimic [data-tile="0"]')
    check(wait_for(lambda: f.find_element(By.ID, "tile-info").is_displayed()),
          "Firefox: a selected tile shows its panel")
    for w, h in ((1366, 768), (1920, 1080)):
        f.set_viewport(w, h)
        fits = wait_for(lambda: f.execute_script(FITS_JS) if f.execute_script(
            "return innerWidth") == w else None)
        check(fits and all(fits[:6]) and fits[6:] == [w, h],
              f"Firefox: at {w}x{h} everything fits the screen, the tile panel too ({fits})")


def small_wall(work, name, control):
    """A one-panel wall file previewed with --no-connect, with `control` as its control group."""
    path = os.path.join(work, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write('wall = { screen = { width = 64; height = 36; }; grid = { columns = 1; rows = 1; }; };\n'
                f'sources = ( {{ id = "a"; url = "{os.path.abspath(args_clips)}/red.mp4"; }} );\n'
                'scenes = ( { id = "s"; grid = [1, 1]; tiles = ( { source = "a"; cell = [0, 0]; } ); } );\n'
                f"control = {{ {control} }};\n")
    return path


def other_walls(args, work):
    # i. no token on a public address: refused at start, with a reason
    port = free_port()
    cfg = small_wall(work, "public.cfg", f'http = "0.0.0.0:{port}";')
    r = subprocess.run([args.vwall, "-c", cfg, "--output", "offscreen", "--control", "none",
                        "--no-connect", "--duration", "5"], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 1 and "not a loopback address and no control.token" in r.stderr,
          f"no token + 0.0.0.0: vwall refuses to start (rc {r.returncode}, {r.stderr[-300:]!r})")

    # no token on loopback: open to this machine, but only under a loopback Host
    port = free_port()
    cfg = small_wall(work, "open.cfg", f'http = "127.0.0.1:{port}";')
    log = open(os.path.join(work, "open-wall.log"), "wb")
    wall = subprocess.Popen([args.vwall, "-c", cfg, "--output", "offscreen", "--control", "none",
                             "--no-connect"], stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        check(wait_for(lambda: http_get(base + "/metrics")[0] == 200, timeout=20),
              "no token, loopback: /metrics answers without a bearer")
        check(http_get(base + "/wall.jpg?width=64")[0] == 200, "and /wall.jpg without a ticket")
        status = http_get(base + "/wall.jpg?width=64", {"Host": f"rebind.example:{port}"})[0]
        check(status == 403, f"but not for another Host name (DNS rebinding): {status}")
        ws = WebSocket("127.0.0.1", port, origin=base)
        r = ws.call("status")
        check(r and r.get("ok"), f"no token: /ws runs commands without auth ({r and r.get('ok')})")
        ws.close()
        try:
            WebSocket("127.0.0.1", port, origin=f"http://rebind.example:{port}",
                      host_header=f"rebind.example:{port}").close()
            check(False, "a WebSocket for another Host name is refused")
        except HandshakeRefused as e:
            check(True, f"a WebSocket for another Host name is refused ({e.status_line})")
    finally:
        wall.send_signal(signal.SIGTERM)
        try:
            check(wall.wait(timeout=20) == 0, "the open wall exits cleanly")
        except subprocess.TimeoutExpired:
            wall.kill()
            check(False, "the open wall exits cleanly")
        log.close()

    # TLS: a self-signed certificate for 127.0.0.1
    key, cert = os.path.join(work, "tls.key"), os.path.join(work, "tls.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    port = free_port()
    cfg = small_wall(work, "tls.cfg", f'token = "{TOKEN}"; http = "127.0.0.1:{port}"; '
                                      'http_cert = "tls.pem"; http_key = "tls.key";')
    log = open(os.path.join(work, "tls-wall.log"), "wb")
    wall = subprocess.Popen([args.vwall, "-c", cfg, "--output", "offscreen", "--control", "none",
                             "--no-connect"], stdout=log, stderr=subprocess.STDOUT)
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    try:
        def get():
            req = urllib.request.Request(f"https://127.0.0.1:{port}/metrics",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:
                return resp.status, resp.read().decode()
        got = wait_for(lambda: _try(get), timeout=20, step=0.2)
        if not check(got and got[0] == 200 and "vwall_source_state{source=\"a\"" in got[1],
                     "HTTPS: /metrics over TLS with the wall's certificate"):
            return
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        ws = WebSocket.over(tls, "127.0.0.1", port, origin=f"https://127.0.0.1:{port}")
        r = ws.call("auth", token=TOKEN)
        check(r and r.get("ok"), f"WSS: auth over TLS ({r})")
        r = ws.call("scene.list")
        check(r and r.get("ok") and [s["id"] for s in r["scenes"]] == ["s"],
              f"WSS: scene.list over TLS ({json.dumps(r)[:200]})")
        ws.close()
    finally:
        wall.send_signal(signal.SIGTERM)
        try:
            check(wall.wait(timeout=20) == 0, "the TLS wall exits cleanly")
        except subprocess.TimeoutExpired:
            wall.kill()
            check(False, "the TLS wall exits cleanly")
        log.close()


def deferred_reload(args, work):
    """k. config.reload from a WebSocket runs on the wall's worker thread: the reply comes when
    it is done, the main loop goes on serving meanwhile, and the connection's later requests
    are answered after the reload, in order. A county of 20,000 cameras (scripts/make-catalog.py)
    makes the reload long enough to ask many questions while it runs."""
    sub = os.path.join(work, "county")
    subprocess.run([PYTHON, os.path.join(HERE, "..", "scripts", "make-catalog.py"), sub,
                    "--count", "20000"], check=True, capture_output=True)
    cfg = os.path.join(sub, "wall.cfg")
    with open(cfg, encoding="utf-8") as f:
        text = f.read().replace("1920", "160").replace("1080", "90")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(text)
    port = free_port()
    log = open(os.path.join(work, "county-wall.log"), "wb")
    wall = subprocess.Popen([args.vwall, "-c", cfg, "--output", "offscreen", "--control", "none",
                             "--no-connect", "--http", f"127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        if not check(wait_for(lambda: http_get(base + "/metrics")[0] == 200, timeout=60),
                     "the 20,000-camera wall serves the console"):
            return
        a = WebSocket("127.0.0.1", port, origin=base)
        b = WebSocket("127.0.0.1", port, origin=base)
        # The reload and a ping in one write: the ping must wait for the reload's reply.
        a.sock.sendall(a._frame(0x1, b'{"id":1,"cmd":"config.reload"}') +
                       a._frame(0x1, b'{"id":2,"cmd":"ping"}'))
        answered = 0
        while not a.buf and not select.select([a.sock], [], [], 0)[0]:
            r = b.call("status", timeout=60)
            if not (r and r.get("ok")):
                break
            answered += 1
        first, second = json.loads(a.recv_text(60)), json.loads(a.recv_text(60))
        print(f"console: {answered} status requests answered on another WebSocket during a "
              "20,000-camera reload")
        # Run on the main thread, the reload would hold every other connection until it is
        # done: at most the one request already sent could be answered before its reply.
        check(answered >= 5, f"the main loop serves other consoles while the reload runs "
                             f"({answered} requests answered)")
        check(first == {"id": 1, "ok": True}, f"the reload's reply comes when it is done ({first})")
        check(second.get("id") == 2 and second.get("ok"),
              f"the request sent after it is answered after it ({second})")
        r = b.call("status")
        check(r and r.get("sources") == 20000,
              f"the reloaded wall has its 20,000 cameras ({r and r.get('sources')})")
        a.close()
        # A console that leaves before its reload's reply: the reload still ends (the next
        # one is accepted), and its reply goes nowhere.
        gone = WebSocket("127.0.0.1", port, origin=base)
        gone.send_text('{"id":1,"cmd":"config.reload"}')
        gone.sock.close()
        r = wait_for(lambda: (lambda r: r if r.get("ok") else None)(b.call("config.reload", timeout=60)),
                     timeout=60, step=0.2)
        check(r, "a reload whose console left ends; the next one is applied")
        check(b.call("ping").get("ok"), "the wall goes on serving")
        b.close()
    finally:
        wall.send_signal(signal.SIGTERM)
        try:
            check(wall.wait(timeout=30) == 0, "the county wall exits cleanly")
        except subprocess.TimeoutExpired:
            wall.kill()
            check(False, "the county wall exits cleanly")
        log.close()


def _try(fn):
    try:
        return fn()
    except (OSError, ssl.SSLError):
        return None


args_clips = None

if __name__ == "__main__":
    main()
