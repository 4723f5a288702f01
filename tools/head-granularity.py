#!/usr/bin/env python3
"""A/B: one adapted head per image vs one per 256x256 tile vs one per 512x512 group.
Tiles are independent streams whose contexts stop at the tile edge, so a tile cut out as
its own image codes exactly as that tile inside the image; only the head differs.
Size with per-tile heads = the whole image's header (with its one head replaced by one per
tile) + sum of the tiles' payloads under their own heads."""
import glob
import os
import re
import subprocess
import sys
import tempfile

from PIL import Image

# Usage: tools/head-granularity.py [NLC] [IMAGE_DIR]
N = sys.argv[1] if len(sys.argv) > 1 else "target/release/nlc"
V = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/nelloc/validation")
T = tempfile.mkdtemp(prefix="head-granularity-")
def enc(img, out, head):
    subprocess.run([N, "encode", "-q", "--threads", "2", "--no-preview", "--adapt-head", head, img, out], check=True)
    info = subprocess.run([N, "info", out], capture_output=True, text=True, check=True).stdout
    payload = sum(int(m) for m in re.findall(r"\((\d+) bytes\)", info.split("tile modes:")[1].split("\n")[0]))
    return os.path.getsize(out), payload
tot = {"off": 0, "image": 0, "tile": 0, "group": 0}
px = 0
for f in sorted(glob.glob(V + "/*.png")):
    im = Image.open(f); w, h = im.size; px += w * h * 3
    s_off, p_off = enc(f, T + "/off.nlc", "off")
    s_img, p_img = enc(f, T + "/img.nlc", "always")
    res = {}
    for name, edge in (("tile", 256), ("group", 512)):
        total = s_off - p_off  # the image's header without a head
        for y in range(0, h, edge):
            for x in range(0, w, edge):
                crop = im.crop((x, y, min(x + edge, w), min(y + edge, h)))
                crop.save(T + "/t.png")
                so, po = enc(T + "/t.png", T + "/t0.nlc", "off")
                sa, pa = enc(T + "/t.png", T + "/t1.nlc", "always")
                head = (sa - pa) - (so - po)  # the ADPT chunk of this tile
                total += pa + head
        res[name] = total
    print(os.path.basename(f), s_off, s_img, res["tile"], res["group"], flush=True)
    tot["off"] += s_off; tot["image"] += s_img; tot["tile"] += res["tile"]; tot["group"] += res["group"]
for k, v in tot.items():
    print(f"{k}: {v} bytes, {8 * v / px:.4f} bpsp, {100 * (v / tot['image'] - 1):+.2f}% vs per image")
