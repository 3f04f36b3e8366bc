#!/usr/bin/python3
"""Plots a benchmark result (bench/results/latest.json): CPU and missing frames per case
for floor, vwall and mpv.   usage: bench/plot.py [RESULT.json [OUT.png]]"""
import json
import os
import sys

TOOLS = (("floor", "ffmpeg decode only (floor)", "#888888", "s"),
         ("vwall", "vwall (offscreen, llvmpipe)", "#1f77b4", "o"),
         ("mpv", "mpv xstack (Xvfb, --vo=gpu llvmpipe)", "#d62728", "^"))


def label(case):
    if case.startswith("720p-x"):
        return case[len("720p-x"):] + " x 720p"
    return {"1080p-x4-1panel": "4 x 1080p\n1 panel", "1080p-x4-2x2wall": "4 x 1080p\n2x2 wall"}.get(case, case)


def plot(result, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if not r.get("note")]  # A/B rows are in the table only
    cases = []
    for r in rows:
        if r["case"] not in cases:
            cases.append(r["case"])
    x = list(range(len(cases)))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6.4), sharex=True, dpi=80)
    sd = [i for i, c in enumerate(cases) if c.startswith("720p-")]   # one series against N
    hd = [i for i, c in enumerate(cases) if not c.startswith("720p-")]  # 1080p points apart
    for tool, name, colour, marker in TOOLS:
        by = {r["case"]: r for r in rows if r["tool"] == tool and not r.get("error")}
        if not by:
            continue
        composes = sorted(set(r["compose"] for r in by.values() if r.get("compose")))
        if composes:  # vwall: who drew the pictures (--compose auto picks cpu on llvmpipe)
            name = name.replace("llvmpipe)", "llvmpipe, pictures by the %s)" % "/".join(c.upper() for c in composes))
        for group, lab in ((sd, name), (hd, None if sd else name)):
            xs = [i for i in group if cases[i] in by]
            if not xs:
                continue
            style = dict(marker=marker, color=colour, label=lab, linestyle="-" if group is sd else ":")
            ax1.plot(xs, [by[cases[i]]["cpu_per_s"] for i in xs], **style)
            miss = [max(0.0, 100.0 - (by[cases[i]].get("shown_pct") or 0)) for i in xs]
            ax2.plot(xs, miss, **style)
    ax1.set_ylabel("CPU, cores (user+sys / wall s)")
    cores = result["machine"].get("cores") or 2
    ax1.axhline(cores, color="#999999", linestyle="--", linewidth=1)
    ax1.set_ylim(0, cores * 1.12)
    ax1.text(len(cases) - 1, cores, "all %d cores " % cores, fontsize=7, va="bottom", ha="right", color="#666666")
    ax1.grid(True, alpha=0.3)
    ax2.legend(fontsize=8, loc="upper left")
    ax2.set_ylabel("source frames not shown, %")
    ax2.grid(True, alpha=0.3)
    ax2.set_xticks(x)
    ax2.set_xticklabels([label(c) for c in cases], fontsize=8)
    ax2.set_xlabel("streams (720p30 cases: sqrt(N) x sqrt(N) wall, 1920x1080 in all)")
    m = result.get("machine", {})
    fig.suptitle("vwall benchmark, %s s per run, %s cores (%s)" % (
        ("%g" % result["duration_s"]), m.get("cores"), (m.get("cpu") or "?")[:40]), fontsize=10)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "results", "latest.json")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.splitext(src)[0] + ".png"
    with open(src) as f:
        plot(json.load(f), dst)
    print(dst)
