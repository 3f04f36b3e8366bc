#!/usr/bin/python3
"""Render tests: run the real `vwall --screenshot` on small test walls whose sources are
generated clips of known colours and patterns, and check the pixels of the PNG it writes.

usage: render_test.py VWALL CLIPS_DIR [TEST ...]
VWALL_TEST_COMPOSE=gpu|cpu (default gpu) picks who draws the pictures (vwall --compose):
ctest runs the file once each way.
Uses Debian's python3 and the ffmpeg command line (to read PNGs and reference frames).
"""
import os
import subprocess
import sys
import tempfile

import vwtest
from vwtest import Image, check, finish

COMPOSE = os.environ.get("VWALL_TEST_COMPOSE", "gpu")
# The shaders are exact to a code or two, and so is --compose cpu for the 8-bit 4:2:0 clips
# (src/render/scale420.c). Other formats go through libswscale on the CPU, up to 5 codes dark:
# test_pixel_formats allows for that with --compose cpu.
TOL = 3


def near(got, want, tol=None):
    return vwtest.near(got, want, TOL if tol is None else max(tol, TOL))

VWALL, CLIPS = sys.argv[1], os.path.abspath(sys.argv[2])
VW = [VWALL, "--compose", COMPOSE]  # every run that draws
ONLY = set(sys.argv[3:])


def shoot(cfg_text, name, extra=(), timeout=10):
    """Writes the wall file, runs vwall --screenshot, returns (Image, stderr)."""
    d = tempfile.mkdtemp(prefix=f"vwall-{name}-")
    cfg = os.path.join(d, "wall.cfg")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    out = os.path.join(d, "wall.png")
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    p = subprocess.run([*VW, "-c", cfg, "--screenshot", out, "--timeout", str(timeout), *extra],
                       capture_output=True, text=True, env=env, timeout=120)
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
    check(p.returncode == 0, f"{name}: vwall exits 0 (got {p.returncode})")
    if p.returncode != 0 or not os.path.exists(out):
        return None, p.stderr
    return Image(out), p.stderr


def clip(name):
    return os.path.join(CLIPS, name)


def wall(cols, rows, w=160, h=90, bezel=(0, 0), labels=False):
    return (f'wall = {{ name = "test"; screen = {{ width = {w}; height = {h}; }};\n'
            f'  grid = {{ columns = {cols}; rows = {rows}; }}; bezel = {{ x = {bezel[0]}; y = {bezel[1]}; }};\n'
            f'  labels = {"true" if labels else "false"}; }};\n')


def sources(*names):
    items = ",\n".join(f'  {{ id = "{n}"; url = "{clip(n + ".mp4")}"; loop = true; }}' for n in names)
    return f"sources = (\n{items}\n);\n"


COLOURS = {
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255),
    "yellow": (255, 255, 0), "magenta": (255, 0, 255), "cyan": (0, 255, 255), "gray": (128, 128, 128),
}


def test_tiles_in_place():
    """A 2×2 wall: each panel's colour where its tile is; the PNG is cols·W × rows·H."""
    names = ["red", "green", "blue", "white"]
    tiles = ",\n".join(f'{{ source = "{n}"; cell = [{i % 2}, {i // 2}]; }}' for i, n in enumerate(names))
    img, _ = shoot(wall(2, 2) + sources(*names) +
                   f'scenes = ( {{ id = "s"; grid = [2, 2]; tiles = ( {tiles} ); }} );\n', "place")
    if not img:
        return
    check((img.w, img.h) == (320, 180), f"place: PNG is 320x180 (got {img.w}x{img.h})")
    for i, n in enumerate(names):
        x, y = 80 + 160 * (i % 2), 45 + 90 * (i // 2)
        check(near(img.px(x, y), COLOURS[n]), f"place: {n} at ({x},{y}) got {img.px(x, y)}")


def test_fit_fill_stretch():
    """A 4:3 picture (white, red top band, blue bottom band: 30 px of 120 each) in 16:9 tiles."""
    def one(fit):
        img, _ = shoot(wall(1, 1) + sources("bands-4x3") +
                       f'scenes = ( {{ id = "s"; tiles = ( {{ source = "bands-4x3"; rect = [0, 0, 1, 1]; fit = "{fit}"; }} ); }} );\n',
                       "fit-" + fit)
        return img
    img = one("fit")  # pillarbox: the picture is 120 wide, bars of 20 each side
    if img:
        check(near(img.px(5, 45), (0, 0, 0)), f"fit: left bar black, got {img.px(5, 45)}")
        check(near(img.px(154, 45), (0, 0, 0)), f"fit: right bar black, got {img.px(154, 45)}")
        check(near(img.px(80, 45), (255, 255, 255)), f"fit: centre white, got {img.px(80, 45)}")
        check(near(img.px(80, 4), (255, 0, 0), 8), f"fit: top band red, got {img.px(80, 4)}")
        check(near(img.px(80, 86), (0, 0, 255), 8), f"fit: bottom band blue, got {img.px(80, 86)}")
        check(near(img.px(24, 45), (255, 255, 255), 8), f"fit: picture starts by x=24, got {img.px(24, 45)}")
    img = one("fill")  # crop: rows 15..105 of 120 show, so the bands are 15/120 of the height
    if img:
        check(near(img.px(3, 45), (255, 255, 255), 8), f"fill: no bar at the left, got {img.px(3, 45)}")
        check(near(img.px(80, 3), (255, 0, 0), 8), f"fill: top band red, got {img.px(80, 3)}")
        check(near(img.px(80, 20), (255, 255, 255), 8), f"fill: white by y=20 (band cropped to 15 rows), got {img.px(80, 20)}")
        check(near(img.px(80, 69), (255, 255, 255), 8), f"fill: white at y=69, got {img.px(80, 69)}")
        check(near(img.px(80, 87), (0, 0, 255), 8), f"fill: bottom band blue, got {img.px(80, 87)}")
    img = one("stretch")  # whole picture squeezed: bands are 22.5 px
    if img:
        check(near(img.px(3, 45), (255, 255, 255), 8), f"stretch: no bar, got {img.px(3, 45)}")
        check(near(img.px(80, 19), (255, 0, 0), 8), f"stretch: red down to y=19, got {img.px(80, 19)}")
        check(near(img.px(80, 26), (255, 255, 255), 8), f"stretch: white at y=26, got {img.px(80, 26)}")


def test_bezel_span():
    """A ramp 340 px wide spans two 160-px panels with a 20-px bezel, 1:1 on the virtual
    canvas: panel 1's first column shows ramp column 180, so the 20 columns behind the bezel
    are lost, and exactly those."""
    img, _ = shoot(wall(2, 1, bezel=(20, 0)) + sources("ramp") +
                   'scenes = ( { id = "s"; tiles = ( { source = "ramp"; rect = [0, 0, 2, 1]; fit = "stretch"; } ); } );\n',
                   "bezel")
    if not img:
        return
    ref = Image(clip("ramp.mp4"))
    check((img.w, img.h) == (320, 90), f"bezel: PNG is 320x90 without bezels (got {img.w}x{img.h})")
    for px, vx in [(10, 10), (100, 100), (159, 159), (160, 180), (200, 220), (319, 339)]:
        got, want = img.px(px, 45)[0], ref.px(vx, 45)[0]
        check(abs(got - want) <= 4, f"bezel: physical x={px} shows ramp x={vx} ({want}), got {got}")
    # Without compensation, physical 160 would show ramp 160: tell the two apart.
    check(abs(ref.px(180, 45)[0] - ref.px(160, 45)[0]) >= 10, "bezel: ramp steep enough to see the bezel")


def test_district_wall():
    """An 18-panel (6×3) wall with bezels and 18 tiles, plus one spanning tile in a second scene."""
    names = list(COLOURS)
    tiles = ",\n".join(f'{{ source = "{names[i % len(names)]}"; cell = [{i % 6}, {i // 6}]; }}' for i in range(18))
    scenes = (f'scenes = ( {{ id = "all"; grid = [6, 3]; tiles = ( {tiles} ); }},\n'
              f'  {{ id = "span"; tiles = ( {{ source = "red"; rect = [1, 0, 3, 2]; fit = "stretch"; }},'
              f' {{ source = "blue"; rect = [0, 2, 1, 1]; }} ); }} );\n')
    cfg = wall(6, 3, bezel=(12, 12)) + sources(*names) + scenes
    img, _ = shoot(cfg, "district")
    if img:
        check((img.w, img.h) == (960, 270), f"district: PNG is 960x270 (got {img.w}x{img.h})")
        for i in range(18):
            x, y = 80 + 160 * (i % 6), 45 + 90 * (i // 6)
            want = COLOURS[names[i % len(names)]]
            check(near(img.px(x, y), want), f"district: tile {i} at ({x},{y}) {want}, got {img.px(x, y)}")
    img, _ = shoot(cfg, "district-span", ["--scene", "span"])
    if img:
        for (x, y) in [(165, 5), (639, 5), (400, 100), (639, 179)]:
            check(near(img.px(x, y), (255, 0, 0)), f"span: red across panels at ({x},{y}), got {img.px(x, y)}")
        check(near(img.px(80, 45), (0, 0, 0)), f"span: panel (0,0) empty and black, got {img.px(80, 45)}")
        check(near(img.px(700, 100), (0, 0, 0)), f"span: panel (4,1) black, got {img.px(700, 100)}")
        check(near(img.px(80, 225), (0, 0, 255)), f"span: blue in panel (0,2), got {img.px(80, 225)}")


def test_colour_matrices():
    """BT.709 and BT.601 limited range, and full range: colours within ±TOL."""
    cases = [("red", (255, 0, 0)), ("green", (0, 255, 0)), ("blue", (0, 0, 255)), ("gray", (128, 128, 128)),
             ("red-601", (255, 0, 0)), ("green-601", (0, 255, 0)), ("blue-601", (0, 0, 255)),
             ("gray-601", (128, 128, 128)), ("orange-full", (255, 128, 0))]
    tiles = ",\n".join(f'{{ source = "{n}"; cell = [{i % 3}, {i // 3}]; fit = "stretch"; }}' for i, (n, _) in enumerate(cases))
    img, _ = shoot(wall(3, 3) + sources(*[n for n, _ in cases]) +
                   f'scenes = ( {{ id = "s"; grid = [3, 3]; tiles = ( {tiles} ); }} );\n', "colours")
    if not img:
        return
    for i, (n, want) in enumerate(cases):
        x, y = 80 + 160 * (i % 3), 45 + 90 * (i // 3)
        check(near(img.px(x, y), want), f"colours: {n} {want} within ±{TOL}, got {img.px(x, y)}")


def file_sources(**files):
    items = ",\n".join(f'  {{ id = "{n}"; url = "{clip(f)}"; loop = true; }}' for n, f in files.items())
    return f"sources = (\n{items}\n);\n"


def test_pixel_formats():
    """Formats other than 8-bit 4:2:0 through the real wall (the full table is test_renderer's):
    untagged gray at its true value, a 1x1 rgb24 picture, planar RGB at 10 bits and yuyv422,
    each in a stretched and a cropped fill tile, in the colours the ffmpeg command line
    decodes them to."""
    cases = [(n, f, Image(clip(f)).px(0, 0)) for n, f in
             [("gray", "fmt-gray.mkv"), ("rgb1", "fmt-rgb24-1x1.nut"), ("gbrp10", "fmt-gbrp10.mkv"),
              ("yuyv", "fmt-yuyv422.nut")]]
    check(cases[1][2] == (255, 128, 0), f"formats: ffmpeg reads the 1x1 clip as (255, 128, 0): {cases[1][2]}")
    tiles = ",\n".join(f'{{ source = "{n}"; cell = [{i}, {j}]; fit = "{"stretch" if j == 0 else "fill"}"; }}'
                       for i, (n, _, _) in enumerate(cases) for j in range(2))
    img, err = shoot(wall(4, 2, w=80, h=120) + file_sources(**{n: f for n, f, _ in cases}) +
                     f'scenes = ( {{ id = "s"; grid = [4, 2]; tiles = ( {tiles} ); }} );\n', "formats")
    if not img:
        return
    for i, (n, _, want) in enumerate(cases):
        for j in range(2):
            x, y = 40 + 80 * i, 60 + 120 * j
            check(near(img.px(x, y), want), f"formats: {n} ({'stretch' if j == 0 else 'fill'}) {want}, got {img.px(x, y)}")


def test_monow_fill():
    """1-bit video (monow) 320x90 in bands 40 px wide, black first, in a 160x90 fill tile:
    the crop starts at x=80, so the tile shows black, white, black, white bands 40 px wide."""
    img, _ = shoot(wall(1, 1) + file_sources(mono="fmt-monow.nut") +
                   'scenes = ( { id = "s"; tiles = ( { source = "mono"; rect = [0, 0, 1, 1]; fit = "fill"; } ); } );\n',
                   "monow")
    if not img:
        return
    for k, x in enumerate((20, 60, 100, 140)):
        want = (0, 0, 0) if k % 2 == 0 else (255, 255, 255)
        for y in (10, 45, 80):
            check(near(img.px(x, y), want), f"monow: fill band {k} at ({x},{y}) {want}, got {img.px(x, y)}")


def test_rotation():
    """A camera whose stream says to turn its picture 90 degrees anticlockwise (H.264
    display-orientation SEI): shown upright as a portrait picture in a fit tile, its stored
    top-right quadrant (green) now top-left."""
    img, _ = shoot(wall(1, 1, w=160, h=160) + file_sources(rot="rot90-sei.mp4") +
                   'scenes = ( { id = "s"; tiles = ( { source = "rot"; rect = [0, 0, 1, 1]; fit = "fit"; } ); } );\n',
                   "rotation")
    if not img:
        return
    for (x, y), want in [((57, 40), (0, 255, 0)), ((103, 40), (255, 255, 255)), ((57, 120), (255, 0, 0)),
                         ((103, 120), (0, 0, 255)), ((20, 80), (0, 0, 0)), ((140, 80), (0, 0, 0))]:
        check(near(img.px(x, y), want), f"rotation: ({x},{y}) {want}, got {img.px(x, y)}")


def test_huge_frame():
    """A picture 16448 wide, over llvmpipe's texture limit (16384): shown, scaled down, and
    said once in the log, not once a frame; never the no-signal slate."""
    import json
    cfg = (wall(1, 1) + file_sources(huge="fmt-huge.mkv") +
           'scenes = ( { id = "s"; tiles = ( { source = "huge"; rect = [0, 0, 1, 1]; fit = "stretch"; } ); } );\n')
    img, _ = shoot(cfg, "huge")
    if img:
        check(near(img.px(80, 45), (0, 255, 128)), f"huge: the picture shows (0, 255, 128), got {img.px(80, 45)}")
    d = tempfile.mkdtemp(prefix="vwall-huge-")
    with open(os.path.join(d, "wall.cfg"), "w") as f:
        f.write(cfg)
    stats = os.path.join(d, "stats.json")
    p = subprocess.run([*VW, "-c", os.path.join(d, "wall.cfg"), "--output", "offscreen", "--control", "none",
                        "--duration", "3", "--stats", stats], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, SDL_VIDEODRIVER="offscreen"))
    check(p.returncode == 0, f"huge: vwall exits 0 ({p.stderr[-300:]})")
    if p.returncode != 0:
        return
    with open(stats) as f:
        st = json.load(f)
    uploaded = st["status"]["frames_uploaded"]
    check(uploaded >= 3, f"huge: frames shown, not refused ({uploaded} uploaded)")
    said = p.stderr.count("larger than this GL's texture limit")
    check(said == (1 if COMPOSE == "gpu" else 0),
          f"huge: the limit is logged once (GPU composition) for {uploaded} frames, got {said}\n{p.stderr[-500:]}")


def test_labels_and_slate():
    """Labels draw over the picture (and only where asked); a dead source shows the slate."""
    cfg = (wall(3, 1, labels=True) +
           f'sources = ( {{ id = "a"; name = "北门 North gate"; url = "{clip("red.mp4")}"; loop = true; }},\n'
           f'  {{ id = "b"; name = "人民路口"; url = "{clip("red.mp4")}"; loop = true; }},\n'
           f'  {{ id = "dead"; name = "镇政府"; url = "{clip("does-not-exist.mp4")}"; }} );\n'
           'scenes = ( { id = "s"; grid = [3, 1]; tiles = ( { source = "a"; cell = [0, 0]; },\n'
           '  { source = "b"; cell = [1, 0]; label = false; }, { source = "dead"; cell = [2, 0]; } ); } );\n')
    img, err = shoot(cfg, "labels", timeout=3)
    if not img:
        return
    def not_red(x0, x1, y0, y1):
        return sum(1 for x in range(x0, x1) for y in range(y0, y1) if not near(img.px(x, y), (255, 0, 0), 30))
    check(not_red(0, 100, 70, 90) > 50, "labels: the labelled tile has text pixels at its bottom-left")
    check(not_red(160, 260, 70, 90) == 0, "labels: label = false leaves the picture untouched")
    check(near(img.px(80, 30), (255, 0, 0)), f"labels: picture above the label, got {img.px(80, 30)}")
    slate = [img.px(x, y) for x in (325, 400, 470) for y in (10, 45, 80)]
    check(all(not near(p, (0, 0, 0), 8) for p in slate), f"slate: the dead source's tile is not black: {slate}")
    check(all(not near(p, (255, 0, 0), 40) for p in slate), "slate: the dead tile shows no picture")
    check("some tiles still have no picture" in err or "is offline" in err,
          "slate: vwall says why a tile has no picture (offline, or the wait timed out)")


def test_bad_file():
    """A broken wall file: exit 1, no PNG, errors as path:line."""
    d = tempfile.mkdtemp(prefix="vwall-bad-")
    cfg = os.path.join(d, "bad.cfg")
    with open(cfg, "w") as f:
        f.write(wall(2, 1) + sources("red") +
                'scenes = ( { id = "s"; tiles = ( { source = "nope"; rect = [0, 0, 1, 1]; } ); } );\n')
    out = os.path.join(d, "x.png")
    p = subprocess.run([*VW, "-c", cfg, "--screenshot", out], capture_output=True, text=True, timeout=60)
    check(p.returncode == 1, f"bad file: exit 1 (got {p.returncode})")
    check(not os.path.exists(out), "bad file: no PNG written")
    check(f"{cfg}:7:" in p.stderr, f"bad file: error names {cfg}:7: — got {p.stderr!r}")


def test_shipped_layouts():
    """Every wall file in layouts/ renders with --screenshot (cameras not opened: the tests
    reach no camera network), at columns·W × rows·H."""
    import glob
    import re
    layouts = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "layouts", "*.cfg")))
    check(len(layouts) >= 3, f"layouts: at least demo, township and district ({len(layouts)})")
    for cfg in layouts:
        name = os.path.basename(cfg)
        p = subprocess.run([VWALL, "-c", cfg, "--check"], capture_output=True, text=True, timeout=60)
        m = re.search(r"(\d+)x(\d+) panels of (\d+)x(\d+)", p.stdout)
        check(p.returncode == 0 and m, f"{name}: --check ok ({p.stdout.strip()} {p.stderr.strip()})")
        if not m:
            continue
        cols, rows, pw, ph = (int(v) for v in m.groups())
        out = os.path.join(tempfile.mkdtemp(prefix="vwall-layout-"), "wall.png")
        p = subprocess.run([*VW, "-c", cfg, "--no-connect", "--screenshot", out], capture_output=True,
                           text=True, timeout=300, env=dict(os.environ, SDL_VIDEODRIVER="offscreen"))
        check(p.returncode == 0 and os.path.exists(out), f"{name}: --screenshot exits 0 ({p.stderr[-300:]})")
        if p.returncode == 0:
            img = Image(out)
            check((img.w, img.h) == (cols * pw, rows * ph), f"{name}: PNG {img.w}x{img.h} is {cols * pw}x{rows * ph}")


def test_window_on_x11():
    """A real X server (Xvfb, 640x360): vwall --output fullscreen fills the screen with the
    2×2 wall scaled 2×; --screens 0,3 leaves panels 1 and 2 dark. Grabbed with x11grab.
    With --compose cpu the window gets the wall through its x11 surface (--present auto), and
    once more through the GL copy and swap (--present gl)."""
    import shutil
    import time
    if not shutil.which("Xvfb"):
        check(False, "window: Xvfb is installed (scripts/install-deps.sh)")
        return
    names = ["red", "green", "blue", "white"]
    tiles = ",\n".join(f'{{ source = "{n}"; cell = [{i % 2}, {i // 2}]; }}' for i, n in enumerate(names))
    d = tempfile.mkdtemp(prefix="vwall-x11-")
    cfg = os.path.join(d, "wall.cfg")
    with open(cfg, "w") as f:
        f.write(wall(2, 2) + sources(*names) + f'scenes = ( {{ id = "s"; grid = [2, 2]; tiles = ( {tiles} ); }} );\n')
    display = f":{90 + os.getpid() % 100}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "640x360x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        env = dict(os.environ, DISPLAY=display, SDL_VIDEODRIVER="x11")
        runs = [(None, [], "auto"), ("0,3", [1, 2], "auto")]
        if COMPOSE == "cpu":
            runs.append((None, [], "gl"))
        for screens, dark, present in runs:
            args = [*VW, "-c", cfg, "--output", "fullscreen", "--control", "none", "--duration", "6",
                    "--stats", os.path.join(d, "stats.json"), "--present", present]
            if screens:
                args += ["--screens", screens]
            screens = f"{screens} --present {present}"
            v = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(3.5)
            shot = os.path.join(d, f"x11-{screens}.png")
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "x11grab", "-video_size", "640x360", "-i",
                            display, "-frames:v", "1", shot], env=env, check=False, timeout=30)
            _, err = v.communicate(timeout=60)
            check(v.returncode == 0, f"window {screens}: vwall exits 0 ({err[-300:]})")
            surfaces = "presented through their x11 surfaces" in err
            check(surfaces == (COMPOSE == "cpu" and present == "auto"),
                  f"window {screens}: presented through the x11 surface: {surfaces}")
            if not os.path.exists(shot):
                check(False, f"window {screens}: x11grab took a picture")
                continue
            img = Image(shot)
            for i, n in enumerate(names):
                x, y = 160 + 320 * (i % 2), 90 + 180 * (i // 2)
                want = (0, 0, 0) if i in dark else COLOURS[n]
                check(near(img.px(x, y), want), f"window {screens}: panel {i} at ({x},{y}) {want}, got {img.px(x, y)}")
            import json
            with open(os.path.join(d, "stats.json")) as f:
                st = json.load(f)
            check(st["status"]["screens"] == (4 - len(dark)), f"window {screens}: status.screens {st['status']['screens']}")
            check(st["status"]["frames_rendered"] > 10, f"window {screens}: frames rendered {st['status']['frames_rendered']}")
    finally:
        xvfb.terminate()
        xvfb.wait()


def test_upload_once():
    """One source in four tiles: each decoded frame is taken (uploaded) once, not four times,
    and every frame of a 30 fps file is shown when the machine keeps up."""
    import json
    d = tempfile.mkdtemp(prefix="vwall-once-")
    cfg = os.path.join(d, "wall.cfg")
    tiles = ",\n".join(f'{{ source = "moving"; cell = [{i % 2}, {i // 2}]; }}' for i in range(4))
    with open(cfg, "w") as f:
        f.write(wall(2, 2) + sources("moving") + f'scenes = ( {{ id = "s"; grid = [2, 2]; tiles = ( {tiles} ); }} );\n')
    stats = os.path.join(d, "stats.json")
    p = subprocess.run([*VW, "-c", cfg, "--output", "offscreen", "--control", "none", "--duration", "3",
                        "--stats", stats], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, SDL_VIDEODRIVER="offscreen"))
    check(p.returncode == 0, f"once: vwall exits 0 ({p.stderr[-300:]})")
    if p.returncode != 0:
        return
    with open(stats) as f:
        st = json.load(f)
    src = st["sources"][0]
    check(src["frames_decoded"] >= 45, f"once: about 90 frames decoded in 3 s ({src['frames_decoded']})")
    check(st["status"]["frames_uploaded"] <= src["frames_decoded"],
          f"once: uploads ({st['status']['frames_uploaded']}) never exceed frames decoded ({src['frames_decoded']}), "
          "whatever the number of tiles")
    check(st["status"]["frames_uploaded"] == src["frames_shown"],
          f"once: one upload per frame taken ({st['status']['frames_uploaded']} vs {src['frames_shown']})")


TESTS = [test_upload_once, test_window_on_x11, test_shipped_layouts, test_tiles_in_place, test_fit_fill_stretch, test_bezel_span, test_district_wall,
         test_colour_matrices, test_pixel_formats, test_monow_fill, test_rotation, test_huge_frame, test_labels_and_slate, test_bad_file]
for t in TESTS:
    if not ONLY or t.__name__ in ONLY:
        t()
finish("render_test")
