#!/usr/bin/python3
"""Outputs on real display servers, headless: the wall as the screens show it.

- displays: Xorg with Debian's dummy video driver and two RandR outputs side by side
  (320x180 each), so SDL's x11 driver sees two displays; `output = "displays"` opens one
  fullscreen window per display and each shows the panels the wall file maps to it.
  Grabbed with x11grab. Xorg needs root: as another user this part exits 77 (skipped,
  and ctest says so).
- wayland: sway on wlroots' headless backend (pixman renderer, run as `nobody`, since
  sway refuses root); vwall with SDL's wayland driver (EGL on Mesa) in a window and
  fullscreen. Grabbed with grim (wlroots screencopy).

usage: outputs_test.py VWALL CLIPS_DIR {displays|wayland}
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import vwtest
from vwtest import Image, check, finish


def near(got, want, tol=3):
    """vwall runs as a user would (--compose auto): on these machines' llvmpipe the pictures
    come from src/render/scale420.c, within a code or two like the shaders (tests/render_test.py)."""
    return vwtest.near(got, want, tol)


VWALL, CLIPS, PART = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
SKIP = 77

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255)}
NAMES = ["red", "green", "blue", "white"]  # panels 0..3 of a 2x2 wall, row by row


def wall_file(d, extra_wall=""):
    """A 2x2 wall of 160x90 panels, one solid-colour clip per panel."""
    srcs = ",\n".join(f'  {{ id = "{n}"; url = "{os.path.join(CLIPS, n + ".mp4")}"; loop = true; }}'
                      for n in NAMES)
    tiles = ", ".join(f'{{ source = "{n}"; cell = [{i % 2}, {i // 2}]; }}' for i, n in enumerate(NAMES))
    path = os.path.join(d, "wall.cfg")
    with open(path, "w") as f:
        f.write(f'wall = {{ name = "outputs"; screen = {{ width = 160; height = 90; }};\n'
                f'  grid = {{ columns = 2; rows = 2; }}; labels = false;{extra_wall} }};\n'
                f'sources = (\n{srcs}\n);\n'
                f'scenes = ( {{ id = "s"; grid = [2, 2]; tiles = ( {tiles} ); }} );\n')
    return path


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def stop_server(proc):
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_vwall(args, env, shoot, d, tag, settle=3.0):
    """Starts vwall for 6 s, calls shoot(path) after `settle` s, returns (Image or None, stats)."""
    stats = os.path.join(d, f"{tag}.json")
    v = subprocess.Popen([VWALL, *args, "--control", "none", "--duration", "6", "--stats", stats], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(settle)
    shot = os.path.join(d, f"{tag}.png")
    shoot(shot)
    try:
        _, err = v.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        v.kill()  # never leave a wall running behind a failed test
        _, err = v.communicate()
    if not check(v.returncode == 0, f"{tag}: vwall exits 0 (got {v.returncode})"):
        print(err, file=sys.stderr)
    st = None
    if os.path.exists(stats):
        with open(stats) as f:
            st = json.load(f)
    if not check(os.path.exists(shot), f"{tag}: the screen was grabbed"):
        return None, st
    return Image(shot), st


# ---- output = "displays" on Xorg (dummy driver, two RandR outputs) ------------------------

XORG_CONF = """
Section "ServerFlags"
    Option "AutoAddDevices" "false"
    Option "AutoAddGPU" "false"
    Option "DontVTSwitch" "true"
EndSection
Section "Device"
    Identifier "dummy0"
    Driver "dummy"
    VideoRam 65536
    Option "Monitor-DUMMY0" "mon0"
    Option "Monitor-DUMMY1" "mon1"
EndSection
""" + "".join(f"""
Section "Monitor"
    Identifier "mon{i}"
    HorizSync 5.0 - 1000.0
    VertRefresh 5.0 - 200.0
    Modeline "320x180" 4.50 320 336 368 416 180 183 188 192 -hsync +vsync
    Option "PreferredMode" "320x180"
    Option "Position" "{320 * i} 0"
    Option "Enable" "true"
EndSection
""" for i in range(2)) + """
Section "Screen"
    Identifier "screen0"
    Device "dummy0"
    Monitor "mon0"
    DefaultDepth 24
    SubSection "Display"
        Depth 24
        Virtual 640 180
    EndSubSection
EndSection
Section "ServerLayout"
    Identifier "layout0"
    Screen "screen0"
EndSection
"""


def test_displays():
    """Two displays; the wall file maps the left column of panels to display 1 (the right
    one) and the right column to display 0, so a window per display in config order, or
    both on one display, shows the wrong colours."""
    if os.geteuid() != 0:
        print("outputs_test: displays needs root to start Xorg; skipped", file=sys.stderr)
        sys.exit(SKIP)
    if not check(shutil.which("Xorg") is not None, "displays: Xorg is installed (scripts/install-deps.sh)"):
        return
    d = tempfile.mkdtemp(prefix="vwall-displays-")
    conf = os.path.join(d, "xorg.conf")
    with open(conf, "w") as f:
        f.write(XORG_CONF)
    n = next((40 + (os.getpid() + i) % 50 for i in range(50)
              if not os.path.exists(f"/tmp/.X{40 + (os.getpid() + i) % 50}-lock")), 40)
    display = f":{n}"
    xorg = subprocess.Popen(["Xorg", display, "-config", conf, "-noreset", "-nolisten", "tcp",
                             "-logfile", os.path.join(d, "Xorg.log"), "vt1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = dict(os.environ, DISPLAY=display, SDL_VIDEODRIVER="x11")
        up = wait_for(lambda: os.path.exists(f"/tmp/.X11-unix/X{n}") and subprocess.run(
            ["xrandr", "--listmonitors"], env=env, capture_output=True).returncode == 0, 15)
        if not check(up, f"displays: Xorg started on {display} (see {d}/Xorg.log)"):
            return
        mons = subprocess.run(["xrandr", "--listmonitors"], env=env, capture_output=True, text=True).stdout
        check("+0+0" in mons and "+320+0" in mons, f"displays: two outputs side by side ({mons.strip()})")

        cfg = wall_file(d, ' output = "displays";\n  displays = ( { display = 1; panels = [0, 0, 1, 2]; },'
                           ' { display = 0; panels = [1, 0, 1, 2]; } );')

        def grab(path):
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "x11grab", "-draw_mouse", "0",
                            "-video_size", "640x180", "-i", display, "-frames:v", "1", path],
                           env=env, timeout=30, check=False)
        img, st = run_vwall(["-c", cfg], env, grab, d, "displays")
        if img:
            # Each display shows a 160x180 column of two panels, centred: bars of 80 px.
            for x, y, want in [(160, 45, "green"), (160, 135, "white"), (480, 45, "red"), (480, 135, "blue")]:
                check(near(img.px(x, y), COLOURS[want]), f"displays: ({x},{y}) is {want}, got {img.px(x, y)}")
            for x in (40, 280, 360, 600):
                check(near(img.px(x, 90), (0, 0, 0)), f"displays: ({x},90) is a black bar, got {img.px(x, 90)}")
            for x in (81, 238, 401, 558):  # the columns' edges are where the layout puts them
                check(sum(img.px(x, 45)) > 200, f"displays: ({x},45) lies inside a column, got {img.px(x, 45)}")
        if st:
            check(st["status"]["screens"] == 4, f"displays: status.screens {st['status']['screens']}")
            check(st["status"]["frames_rendered"] > 10, f"displays: frames rendered {st['status']['frames_rendered']}")

        # A display the server does not have: a clear error, exit 1, nothing half-open.
        bad = wall_file(d, ' output = "displays";\n  displays = ( { display = 0; panels = [0, 0, 2, 1]; },'
                           ' { display = 5; panels = [0, 1, 2, 1]; } );')
        p = subprocess.run([VWALL, "-c", bad, "--control", "none", "--duration", "2"], env=env,
                           capture_output=True, text=True, timeout=60)
        if not check(p.returncode == 1 and "display 5" in p.stderr,
                     f"displays: a missing display is an error naming it (rc {p.returncode})"):
            print(p.stderr, file=sys.stderr)
    finally:
        stop_server(xorg)


# ---- SDL's wayland driver on sway (headless) ----------------------------------------------

SWAY_CONF = """output HEADLESS-1 mode 640x360 bg #000000 solid_color
default_border none
default_floating_border none
seat seat0 hide_cursor 1
for_window [app_id=".*"] floating enable
xwayland disable
"""


def test_wayland():
    for tool in ("sway", "grim"):
        if not check(shutil.which(tool) is not None, f"wayland: {tool} is installed (scripts/install-deps.sh)"):
            return
    d = tempfile.mkdtemp(prefix="vwall-wayland-")
    os.chmod(d, 0o755)
    runtime = os.path.join(d, "xdg")
    os.mkdir(runtime, 0o700)
    conf = os.path.join(d, "sway.conf")
    with open(conf, "w") as f:
        f.write(SWAY_CONF)
    os.chmod(conf, 0o644)
    sway_env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": runtime, "WLR_BACKENDS": "headless",
                "WLR_RENDERER": "pixman", "WLR_LIBINPUT_NO_DEVICES": "1"}
    cmd = ["sway", "-c", conf]
    if os.geteuid() == 0:  # sway will not run as root
        os.chown(runtime, 65534, 65534)
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
    log = open(os.path.join(d, "sway.log"), "w")
    sway = subprocess.Popen(cmd, env=sway_env, stdout=log, stderr=log)
    try:
        sock = os.path.join(runtime, "wayland-1")
        if not check(wait_for(lambda: os.path.exists(sock), 15), f"wayland: sway started (see {d}/sway.log)"):
            return
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, WAYLAND_DISPLAY="wayland-1", SDL_VIDEODRIVER="wayland")
        env.pop("DISPLAY", None)
        cfg = wall_file(d)

        def grab(path):
            subprocess.run(["grim", path], env=env, timeout=30, check=False)

        # fullscreen: the 320x180 wall scaled 2x over the whole 640x360 output
        img, st = run_vwall(["-c", cfg, "--output", "fullscreen"], env, grab, d, "wayland-fullscreen")
        if img:
            check((img.w, img.h) == (640, 360), f"wayland-fullscreen: output is 640x360 ({img.w}x{img.h})")
            for i, n in enumerate(NAMES):
                x, y = 160 + 320 * (i % 2), 90 + 180 * (i // 2)
                check(near(img.px(x, y), COLOURS[n]), f"wayland-fullscreen: panel {i} at ({x},{y}) is {n}, "
                      f"got {img.px(x, y)}")
        if st:
            check(st["status"]["frames_rendered"] > 10,
                  f"wayland-fullscreen: frames rendered {st['status']['frames_rendered']}")

        # window: the wall at 1:1 (320x180) in a floating window, centred by sway
        img, st = run_vwall(["-c", cfg, "--output", "window"], env, grab, d, "wayland-window")
        if img:
            for i, n in enumerate(NAMES):
                x, y = 160 + 80 + 160 * (i % 2), 90 + 45 + 90 * (i // 2)
                check(near(img.px(x, y), COLOURS[n]), f"wayland-window: panel {i} at ({x},{y}) is {n}, "
                      f"got {img.px(x, y)}")
            check(near(img.px(40, 40), (0, 0, 0)), f"wayland-window: outside the window is black, got {img.px(40, 40)}")
    finally:
        stop_server(sway)
        log.close()


{"displays": test_displays, "wayland": test_wayland}[PART]()
finish(f"outputs_test {PART}")
