#!/usr/bin/python3
"""Overload: when the decoders cannot keep up, the wall sheds load where it costs least.

Six 1080p60 streams with non-reference B-frames on one CPU core are more than it can decode.
The wall must notice (sources' frames_late grows), report status.overloaded, and make the
sources in the smallest tiles skip non-reference frames while the big tile's source keeps
every frame; the wall keeps rendering throughout.

usage: load_test.py VWALL CLIPS_DIR
"""
import os
import subprocess
import sys
import tempfile
import time

from vwtest import check, finish, request

VWALL, CLIPS = sys.argv[1], os.path.abspath(sys.argv[2])

d = tempfile.mkdtemp(prefix="vwall-load-")
clip = os.path.join(CLIPS, "heavy-1080p60.mp4")
names = [f"cam{i}" for i in range(6)]
srcs = ",\n".join(f'  {{ id = "{n}"; url = "{clip}"; loop = true; }}' for n in names)
# On a 4×2 wall: cam0 fills a 2×2 block, cam1..cam4 one panel each, cam5 a quarter panel.
tiles = ['{ source = "cam0"; rect = [0, 0, 2, 2]; }',
         '{ source = "cam1"; rect = [2, 0, 1, 1]; }',
         '{ source = "cam2"; rect = [3, 0, 1, 1]; }',
         '{ source = "cam3"; rect = [2, 1, 1, 1]; }',
         '{ source = "cam4"; rect = [3.0, 1.0, 0.5, 1.0]; }',
         '{ source = "cam5"; rect = [3.5, 1.5, 0.5, 0.5]; }']
cfg = os.path.join(d, "wall.cfg")
with open(cfg, "w") as f:
    f.write('wall = { name = "load"; screen = { width = 160; height = 90; }; grid = { columns = 4; rows = 2; }; };\n'
            f"sources = (\n{srcs}\n);\n"
            f'scenes = ( {{ id = "s"; tiles = ( {", ".join(tiles)} ); }} );\n')
sock = os.path.join(d, "s.sock")
env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
cmd = [VWALL, "-c", cfg, "--output", "offscreen", "--control", f"unix:{sock}"]
v = subprocess.Popen(["taskset", "-c", "0"] + cmd, env=env, stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True)
try:
    for _ in range(100):
        if os.path.exists(sock) or v.poll() is not None:
            break
        time.sleep(0.1)
    if not os.path.exists(sock):
        raise RuntimeError("vwall did not open its control socket")
    seen_overload = False
    skips = {}
    rendered = []
    deadline = time.time() + 25
    while time.time() < deadline:
        time.sleep(0.5)
        st = request(sock, "status")
        rendered.append(st["frames_rendered"])
        if st.get("overloaded"):
            seen_overload = True
            srcs = {s["id"]: s for s in request(sock, "source.list")["sources"]}
            skips = {k: s["skip_nonref"] for k, s in srcs.items()}
            if all(skips.get(f"cam{i}") is not None for i in range(6)) and skips["cam5"]:
                break
    check(seen_overload, "status.overloaded turns true when six 1080p60 streams share one core")
    late = sum(s["frames_late"] for s in request(sock, "source.list")["sources"])
    check(late > 0, f"sources count late frames ({late})")
    check(skips.get("cam5") is True, f"the smallest tile's source skips non-reference frames: {skips}")
    check(skips.get("cam0") is False, f"the big tile's source keeps every frame: {skips}")
    check(len(rendered) >= 2 and rendered[-1] > rendered[0], f"the wall kept rendering: {rendered[:3]}…{rendered[-1:]}")
except (OSError, RuntimeError, ValueError) as e:
    check(False, f"talking to vwall: {e}")
finally:
    v.terminate()
    _, err = v.communicate(timeout=30)
check(v.returncode == 0, f"vwall exits 0 on SIGTERM ({v.returncode}): {err[-500:]}")
finish("load_test")
