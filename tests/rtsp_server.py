#!/usr/bin/python3
"""A real RTSP server for the source tests and soak runs (GStreamer's gst-rtsp-server).

Run with Debian's python3 (it has the gi bindings), not another python on PATH:
    /usr/bin/python3 tests/rtsp_server.py --port 8554

Serves 320x180 30 fps live test patterns:
    /h264          H.264 (x264, zerolatency, a keyframe every 30 frames)
    /h265          H.265 (x265, zerolatency, a keyframe every 30 frames)
    /cam1../camN   H.264, one pattern each (N = --cams, default 16), for soak tests

Prints "READY <port>" on stdout once listening (--port 0 picks a free port), and exits
cleanly on SIGTERM or SIGINT.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

CAPS = "video/x-raw,format=I420,width=320,height=180,framerate=30/1"  # 4:2:0, as cameras send
PATTERNS = ["smpte", "ball", "snow", "pinwheel", "spokes", "gradient", "colors", "circular",
            "checkers-8", "zone-plate", "bar", "smpte75", "chroma-zone-plate", "gamut",
            "blink", "smpte100"]


def h264(pattern):
    return ("( videotestsrc is-live=true pattern=%s ! %s ! "
            "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 threads=1 ! "
            "rtph264pay name=pay0 pt=96 config-interval=1 )" % (pattern, CAPS))


def h265(pattern):
    return ("( videotestsrc is-live=true pattern=%s ! %s ! "
            "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
            "rtph265pay name=pay0 pt=96 config-interval=1 )" % (pattern, CAPS))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8554, help="TCP port (0: any free port)")
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--cams", type=int, default=16, help="number of /camN paths")
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()

    def add(path, launch):
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)  # one encoder per path, however many clients
        mounts.add_factory(path, factory)

    add("/h264", h264("smpte"))
    add("/h265", h265("smpte"))
    for i in range(1, args.cams + 1):
        add("/cam%d" % i, h264(PATTERNS[(i - 1) % len(PATTERNS)]))

    if server.attach(None) == 0:
        print("rtsp_server: cannot listen on %s:%d" % (args.address, args.port), file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("READY %d" % server.get_bound_port(), flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
