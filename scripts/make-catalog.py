#!/usr/bin/env python3
"""Writes a camera catalog (CSV, as exported from a video platform) and a wall file that
uses it: OUTDIR/cameras.csv and OUTDIR/wall.cfg.

    scripts/make-catalog.py OUTDIR [--count 20000] [--bom] [--crlf]

Deterministic: the same arguments give the same bytes. Cameras are named in Chinese after
the townships (乡镇/王口镇) and urban streets (城区/华康街道) of a county; their URLs are
rtsp://127.0.0.1:8554/cam00001 and so on, with a substream .../cam00001/sub. Some names
carry a comma or a double quote, so the file exercises CSV quoting as real exports do.
The wall file shows the first 16 cameras on a 2x2 wall."""
import argparse
import os
import sys

TOWNS = ["王口镇", "大邱庄镇", "台头镇", "杨成庄乡", "良王庄乡", "六汪镇", "中旺镇",
         "子牙镇", "陈官屯镇", "唐官屯镇", "西翟庄镇", "蔡公庄镇", "双塘镇", "独流镇",
         "团泊镇", "沿庄镇"]
STREETS = ["华康街道", "朝阳街道", "静海镇", "经济开发区"]
VILLAGES = ["前进村", "东风村", "新华村", "胜利村", "红星村", "和平村", "团结村", "光明村",
            "建设村", "幸福村", "丰收村", "民主村"]
SPOTS = ["村委会门口", "十字路口", "学校南门", "卫生室", "桥头", "河堤", "集市",
         "加油站", "养殖场", "水闸"]


def camera(i):
    """The i-th camera (1-based): (id, name, url, substream, group)."""
    cid = "cam%05d" % i
    url = "rtsp://127.0.0.1:8554/%s" % cid
    sub = url + "/sub"
    k = i - 1
    if k % 7 == 6:  # about one in seven is urban
        street = STREETS[(k // 7) % len(STREETS)]
        group = "城区/" + street
        name = "%s %s %d号" % (street, SPOTS[k % len(SPOTS)], k % 97 + 1)
    else:
        town = TOWNS[k % len(TOWNS)]
        village = VILLAGES[(k // len(TOWNS)) % len(VILLAGES)]
        group = "乡镇/" + town
        name = "%s%s %s" % (town, village, SPOTS[(k // 3) % len(SPOTS)])
    if k % 50 == 10:
        name += ", 北侧"  # a comma: the field must be quoted
    if k % 50 == 20:
        name += ' "临时"'  # a quote: quoted and doubled
    return cid, name, url, sub, group


def field(s):
    if any(c in s for c in ',"\r\n') or s != s.strip():
        return '"' + s.replace('"', '""') + '"'
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--bom", action="store_true", help="start the CSV with a UTF-8 BOM")
    ap.add_argument("--crlf", action="store_true", help="end records with CRLF (Excel)")
    a = ap.parse_args()
    if a.count < 16:
        sys.exit("make-catalog.py: --count must be at least 16")
    os.makedirs(a.outdir, exist_ok=True)
    nl = "\r\n" if a.crlf else "\n"
    lines = ["# exported from the county video platform; one camera per row",
             "id,name,url,substream,group,vendor"]
    for i in range(1, a.count + 1):
        cid, name, url, sub, group = camera(i)
        lines.append(",".join(field(x) for x in (cid, name, url, sub, group, "HIK")))
    data = (nl.join(lines) + nl).encode("utf-8")
    if a.bom:
        data = b"\xef\xbb\xbf" + data
    with open(os.path.join(a.outdir, "cameras.csv"), "wb") as f:
        f.write(data)
    tiles = "\n".join(
        '      { source = "cam%05d"; cell = [%d, %d]; },' % (i + 1, i % 4, i // 4)
        for i in range(16)).rstrip(",")
    wall = f"""// A county wall over a catalog of {a.count} cameras (scripts/make-catalog.py).
wall = {{
  name = "县级视频监控中心";
  screen = {{ width = 1920; height = 1080; }};
  grid = {{ columns = 2; rows = 2; }};
}};
catalog = ["cameras.csv"];
scenes = (
  {{ id = "overview"; name = "总览"; grid = [4, 4];
    tiles = (
{tiles}
    );
  }}
);
"""
    with open(os.path.join(a.outdir, "wall.cfg"), "w", encoding="utf-8") as f:
        f.write(wall)


if __name__ == "__main__":
    main()
