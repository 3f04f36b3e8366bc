#!/usr/bin/python3
"""Overload that stays honest: a wall of 24 decoding 720p tiles on one core.

Far more than one core decodes. The wall must say so (status.overloaded with a reason, a
wall.overloaded event when it starts), keep every tile moving (each shown source's
frames_shown grows: no tile starves while the others take its turns), move a small tile
whose main stream it would shrink to its substream under sustained overload (source.list
says which stream plays), and say when it is over (a wall.overloaded event with
overloaded false once a light scene shows). Speed is not asserted here: the latency and
redraw numbers are bench/overload.py's (docs/performance.md).

usage: overload_test.py VWALL WORK_DIR
"""
import os
import subprocess
import sys
import tempfile
import time

from vwtest import Client, check, finish

VWALL, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
os.makedirs(WORK, exist_ok=True)


def clip(name, size, seconds):
    """A camera-like H.264 clip (25 fps, 2 s GOP, no B-frames), made once per build tree."""
    path = os.path.join(WORK, name)
    if not os.path.exists(path):
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
                        "-i", f"testsrc2=size={size}:rate=25:duration={seconds}", "-c:v", "libx264",
                        "-preset", "veryfast", "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p", "-an",
                        path + ".tmp.mp4"], check=True)
        os.rename(path + ".tmp.mp4", path)
    return path


hd = clip("ov-720p.mp4", "1280x720", 4)
# A camera whose main stream a small tile shrinks by less than substream_ratio (4): it plays
# the main stream until the overload lasts.
main = clip("ov-160x96.mp4", "160x96", 4)
sub = clip("ov-80x48.mp4", "80x48", 4)

d = tempfile.mkdtemp(prefix="vwall-overload-")
n = 24
srcs = [f'  {{ id = "cam{i:02d}"; url = "{hd}"; loop = true; linger = 0; }}' for i in range(n - 1)]
srcs.append(f'  {{ id = "sub0"; url = "{main}"; substream = "{sub}"; loop = true; linger = 0; }}')
srcs.append(f'  {{ id = "calm"; url = "{sub}"; loop = true; }}')
ids = [f"cam{i:02d}" for i in range(n - 1)] + ["sub0"]
tiles = [f'{{ source = "{s}"; cell = [{i % 6}, {i // 6}]; }}' for i, s in enumerate(ids)]
cfg = os.path.join(d, "wall.cfg")
with open(cfg, "w") as f:
    f.write('wall = { name = "overload"; screen = { width = 160; height = 90; };\n'
            '  grid = { columns = 4; rows = 2; }; };\n'
            "sources = (\n%s\n);\n" % ",\n".join(srcs))
    f.write('scenes = (\n  { id = "busy"; default = true; grid = [6, 4]; tiles = ( %s ); },\n'
            '  { id = "calm"; tiles = ( { source = "calm"; rect = [0, 0, 1, 1]; } ); }\n);\n'
            % ", ".join(tiles))
sock = os.path.join(d, "s.sock")
env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
# One core for the whole wall: the decoders cannot keep up, whatever the machine.
v = subprocess.Popen(["taskset", "-c", "0", VWALL, "-c", cfg, "--output", "offscreen", "--control",
                      f"unix:{sock}", "--state-file", "none"], env=env, stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True)
c = None
try:
    for _ in range(200):
        if os.path.exists(sock) or v.poll() is not None:
            break
        time.sleep(0.1)
    if not os.path.exists(sock):
        raise RuntimeError("vwall did not open its control socket")
    c = Client(sock, timeout=30)
    c.call("subscribe", events=["wall.overloaded"])

    ev = c.wait_event("wall.overloaded", timeout=30, pred=lambda e: e.get("overloaded") is True)
    check(ev is not None and isinstance(ev.get("reason"), str) and ev["reason"],
          f"a wall.overloaded event with a reason when the overload starts: {ev}")
    st = c.call("status")
    check(st.get("overloaded") is True and isinstance(st.get("overload_reason"), str),
          f"status says overloaded, with a reason: {st.get('overloaded')}, {st.get('overload_reason')!r}")

    # No tile starves: every source a tile shows gets new frames onto the wall.
    first = {s["id"]: s for s in c.call("source.list")["sources"]}
    time.sleep(5)
    later = {s["id"]: s for s in c.call("source.list")["sources"]}
    starved = [i for i in ids if later[i]["frames_shown"] <= first[i]["frames_shown"]]
    shown = sorted(later[i]["frames_shown"] - first[i]["frames_shown"] for i in ids)
    check(not starved, f"every tile got new frames in 5 s (new frames per tile: {shown}); starved: {starved}")
    shedding = [i for i in ids if later[i]["shed"] != "none"]
    check(shedding, "decoders shed load (source.list shed): "
          + str(sorted(set(later[i]["shed"] for i in ids))))
    check(sum(later[i]["catchups"] for i in ids) > 0,
          "decoders that fell behind skipped to a keyframe (catchups)")

    # Sustained: the small tile's camera plays its substream; source.list says so.
    on_sub = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not on_sub:
        s0 = next(s for s in c.call("source.list")["sources"] if s["id"] == "sub0")
        on_sub = s0["substream"] is True and s0["width"] == 80
        time.sleep(0.5)
    check(on_sub, f"under sustained overload the small tile plays its substream: {s0}")

    # The load goes: the wall says the overload is over.
    r = c.call("scene.switch", scene="calm")
    check(r.get("ok") is True, f"scene.switch calm: {r}")
    ev = c.wait_event("wall.overloaded", timeout=40, pred=lambda e: e.get("overloaded") is False)
    check(ev is not None and ev.get("reason") is None,
          f"a wall.overloaded event with overloaded false when it ends: {ev}")
    st = c.call("status")
    check(st.get("overloaded") is False and st.get("overload_reason") is None,
          f"status no longer overloaded: {st.get('overloaded')}, {st.get('overload_reason')!r}")
except (OSError, RuntimeError, ValueError, KeyError, StopIteration) as e:
    check(False, f"talking to vwall: {e!r}")
finally:
    if c:
        c.close()
    v.terminate()
    _, err = v.communicate(timeout=30)
check(v.returncode == 0, f"vwall exits 0 on SIGTERM ({v.returncode}): {err[-800:]}")
finish("overload_test")
