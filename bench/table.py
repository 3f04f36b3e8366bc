#!/usr/bin/python3
"""Prints a benchmark result (bench/results/latest.json) as the Markdown tables of
docs/performance.md.   usage: bench/table.py [RESULT.json]"""
import json
import os
import sys


def f(v, spec="%.2f"):
    return "–" if v is None else spec % v


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "results", "latest.json")
    with open(src) as fh:
        res = json.load(fh)
    m = res["machine"]
    print("Run %s: %s s per run, %s cores (%s), %s, %s; vwall %s.\n" % (
        res["when"], f(res["duration_s"], "%g"), m.get("cores"), m.get("cpu"), m.get("ffmpeg"), m.get("mpv"),
        m.get("git")))
    print("| case | tool | CPU, cores | vs floor | vwall/mpv | render thread, cores | peak RSS, MB "
          "| frames shown | dropped | redraws/s | latency p50/p99, ms | others' load |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = [r for r in res["rows"] if not r.get("note")]
    floors = {r["case"]: r for r in rows if r["tool"] == "floor"}
    for r in rows:
        if r.get("error"):
            print("| %s | %s | failed: %s ||||||||||" % (r["case"], r["tool"], r["error"]))
            continue
        fl = floors.get(r["case"])
        vs = r["cpu_per_s"] / fl["cpu_per_s"] if fl and r["tool"] != "floor" else None
        redraws = r["frames_rendered"] / r["wall_s"] if r.get("frames_rendered") else None
        lat = "%s / %s" % (f(r.get("latency_p50_ms"), "%.0f"), f(r.get("latency_p99_ms"), "%.0f")) \
            if r.get("latency_p50_ms") is not None else "–"
        tool = r["tool"] + (" (%s)" % r["compose"] if r.get("compose") else "")
        print("| %s | %s | %s | %s | %s | %s | %s | %s%% | %s | %s | %s | %s |" % (
            r["case"], tool, f(r["cpu_per_s"]), f(vs, "%.2f×"), f(r.get("cpu_vs_mpv"), "%.2f×"),
            f(r.get("render_thread_cpu_per_s")), f(r.get("peak_rss_mb"), "%.0f"), f(r.get("shown_pct"), "%.1f"), f(r.get("dropped"), "%d"),
            f(redraws, "%.1f"), lat, f(r.get("other_cpu_per_s"), "%.2f")))
    ab = [r for r in res["rows"] if r.get("note")]
    if ab:
        print("\n| A/B on %s | CPU, cores | vs floor | render thread, cores | frames shown | dropped | redraws/s "
              "| latency p50/p99, ms | others' load |" % os.path.commonprefix([r["case"] for r in ab]).rstrip("-"))
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in ab:
            if r.get("error"):
                print("| %s | failed: %s ||||||||" % (r["note"], r["error"]))
                continue
            redraws = r["frames_rendered"] / r["wall_s"] if r.get("frames_rendered") else None
            print("| %s | %s | %s | %s | %s%% | %s | %s | %s / %s | %s |" % (
                r["note"], f(r["cpu_per_s"]), f(r.get("cpu_vs_floor"), "%.2f×"),
                f(r.get("render_thread_cpu_per_s")), f(r.get("shown_pct"), "%.1f"),
                f(r.get("dropped"), "%d"), f(redraws, "%.1f"), f(r.get("latency_p50_ms"), "%.0f"),
                f(r.get("latency_p99_ms"), "%.0f"), f(r.get("other_cpu_per_s"), "%.2f")))
    sw = res.get("switch")
    if sw:
        if sw.get("warm_ms") or sw.get("cold_ms"):
            print("\nScene switch to the first frame on every tile (4 tiles of 720p, %d switches each): "
                  "warm sources %s ms median (%s), cold sources %s ms median (%s)." % (
                      len(sw.get("warm_ms", [])), sw.get("warm_p50_ms"), ", ".join(map(str, sw.get("warm_ms", []))),
                      sw.get("cold_p50_ms"), ", ".join(map(str, sw.get("cold_ms", [])))))
        else:
            print("\nScene switch: not measured (%s)." % sw.get("error"))


if __name__ == "__main__":
    main()
