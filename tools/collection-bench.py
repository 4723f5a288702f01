#!/usr/bin/env python3
"""Code a collection with nlc (built-in and/or external models), cjxl and cwebp; bpsp.

    tools/collection-bench.py IMAGES... [--idx FILE.gz] [--limit N] [--model FILE]...
        [--builtin NAME]... [--json OUT]

IMAGES: PNG files or directories of them; --idx: an idx3-ubyte(.gz) file (MNIST /
Fashion-MNIST layout: 16-byte header, then 28x28 uint8 images), written as PNG files
first. Every image is coded on its own (one file each), as a user would store it:

* nlc: `nlc encode --out-dir` (default options) with each --model FILE and each
  --builtin NAME; every file is decoded back and compared (the encoder's own check).
  Reported as total bpsp (whole files) and payload bpsp (the tile data only: file size
  minus the fixed header, chunks, tile index and header CRC, parsed per docs/FORMAT.md
  section 1; for the compact container, versions 5 and 6, minus its header fields, chunks and
  CRC), so the figure can be compared across container versions;
* `cjxl -d 0 -e 7` and `cwebp -lossless -z 9 -exact` (whole files).

A --model file's size amortised over the N images is reported too (its bytes * 8 / (N
pixels * channels) added). NLC: the nlc binary (default target/release/nlc).
"""

import argparse
import concurrent.futures as cf
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nlc_bin():
    p = os.environ.get("NLC")
    if p:
        return p
    t = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(t, "release", "nlc")


def _varint(d, off):
    v, k = 0, 0
    while True:
        b = d[off]
        off += 1
        v |= (b & 0x7F) << (7 * k)
        k += 1
        if not b & 0x80:
            return v, off


def _model_ref(d, off):
    kind = d[off]
    off += 1
    if kind == 1:
        return _varint(d, off)[1]
    return off + {0: 0, 2: 8, 3: 32, 4: 4}[kind]


def payload_bytes(path):
    """The tile data of an .nlc file: the sum of the tile lengths of the tiled container
    (docs/FORMAT.md section 1), or the one tile of the compact container (versions 5 and
    6, sections 11 and 12: everything between the header fields and the CRC; an embedded
    model is a chunk, not payload)."""
    with open(path, "rb") as f:
        d = f.read()
    if d[8] in (5, 6):
        flags = d[9]
        alpha_mode = (flags >> 3) & 3
        off = 10 + (alpha_mode == 1)
        off = _varint(d, _varint(d, off)[1])[1]
        off = _model_ref(d, off)
        if alpha_mode == 2:
            off = _model_ref(d, off)
        if flags & 0x20:
            n, off = _varint(d, off)
            for _ in range(n):
                ln, off = _varint(d, off + 4)
                off += ln
        return len(d) - 4 - off
    chunks, tiles = struct.unpack_from("<II", d, 92)
    off = 100
    for _ in range(chunks):
        (n,) = struct.unpack_from("<I", d, off + 4)
        off += 8 + n
    return sum(struct.unpack_from("<I", d, off + 16 * i + 8)[0] for i in range(tiles))


def write_idx(path, limit, out):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        d = f.read()
    magic, n, h, w = struct.unpack(">IIII", d[:16])
    assert magic == 2051, "not an idx3-ubyte image file"
    a = np.frombuffer(d, np.uint8, offset=16).reshape(n, h, w)[:limit]
    files = []
    for i, img in enumerate(a):
        p = os.path.join(out, f"{i:05d}.png")
        Image.fromarray(img).save(p)
        files.append(p)
    return files


def sizes_of(files, cmd, out, ext, jobs):
    def one(f):
        o = os.path.join(out, os.path.basename(f) + ext)
        subprocess.run(cmd(f, o), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return os.path.getsize(o)

    with cf.ThreadPoolExecutor(jobs) as ex:
        return sum(ex.map(one, files))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="*")
    p.add_argument("--idx", help="idx3-ubyte(.gz) image file")
    p.add_argument("--limit", type=int, default=None, help="the first N images only")
    p.add_argument("--model", action="append", default=[], help="external model file")
    p.add_argument("--builtin", action="append", default=[], help="built-in model name")
    p.add_argument("--no-jxl", action="store_true")
    p.add_argument("--no-webp", action="store_true")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--json", help="write the results here")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="collection-bench-")
    try:
        files = []
        if a.idx:
            os.makedirs(os.path.join(tmp, "png"))
            files += write_idx(a.idx, a.limit, os.path.join(tmp, "png"))
        for x in a.images:
            if os.path.isdir(x):
                files += sorted(os.path.join(x, f) for f in os.listdir(x) if f.lower().endswith(".png"))
            else:
                files.append(x)
        files = files[: a.limit] if a.limit else files
        if not files:
            sys.exit("no images")
        px = 0
        for f in files:
            with Image.open(f) as im:
                ch = len(im.getbands())
                px += im.size[0] * im.size[1] * ch
        res = {"images": len(files), "samples": px, "codecs": {}}
        nlc = nlc_bin()
        runs = [(f"nlc --builtin {b}", ["--builtin", b], None) for b in a.builtin]
        runs += [(f"nlc --model {os.path.basename(m)}", ["--model", m], m) for m in a.model]
        for label, opts, model in runs:
            out = tempfile.mkdtemp(dir=tmp)
            # batch mode; the lists are long, so in slices
            for i in range(0, len(files), 500):
                subprocess.run([nlc, "encode", "--quiet", "--out-dir", out, *opts, *files[i : i + 500]],
                               check=True)
            outs = [os.path.join(out, f) for f in os.listdir(out) if f.endswith(".nlc")]
            assert len(outs) == len(files), (len(outs), len(files))
            total = sum(os.path.getsize(o) for o in outs)
            pay = sum(payload_bytes(o) for o in outs)
            r = {"bytes": total, "bpsp": 8 * total / px, "payload_bytes": pay, "payload_bpsp": 8 * pay / px,
                 "header_bytes_per_file": (total - pay) / len(files)}
            if model:
                mb = os.path.getsize(model)
                r["model_bytes"] = mb
                r["bpsp_amortised"] = 8 * (total + mb) / px
                r["payload_bpsp_amortised"] = 8 * (pay + mb) / px
            res["codecs"][label] = r
            shutil.rmtree(out)
        if not a.no_jxl and shutil.which("cjxl"):
            out = tempfile.mkdtemp(dir=tmp)
            b = sizes_of(files, lambda f, o: ["cjxl", "-d", "0", "-e", "7", "--quiet", f, o], out, ".jxl", a.jobs)
            res["codecs"]["cjxl -d 0 -e 7"] = {"bytes": b, "bpsp": 8 * b / px}
        if not a.no_webp and shutil.which("cwebp"):
            out = tempfile.mkdtemp(dir=tmp)
            b = sizes_of(files, lambda f, o: ["cwebp", "-quiet", "-lossless", "-z", "9", "-exact", f, "-o", o],
                         out, ".webp", a.jobs)
            res["codecs"]["cwebp -lossless -z 9 -exact"] = {"bytes": b, "bpsp": 8 * b / px}
        jxl = res["codecs"].get("cjxl -d 0 -e 7", {}).get("bpsp")
        print(f"{len(files)} images, {px} samples")
        print(f"{'codec':40s} {'bpsp':>7s} {'payload':>8s} {'amortised':>9s} {'/cjxl':>6s}")
        for k, r in res["codecs"].items():
            am = r.get("bpsp_amortised")
            print(f"{k:40s} {r['bpsp']:7.4f} {r.get('payload_bpsp', float('nan')):8.4f} "
                  f"{am if am is not None else float('nan'):9.4f} {r['bpsp'] / jxl if jxl else float('nan'):6.3f}")
            if jxl:
                r["ratio_to_cjxl"] = r["bpsp"] / jxl
                if "payload_bpsp" in r:
                    r["payload_ratio_to_cjxl"] = r["payload_bpsp"] / jxl
                if am is not None:
                    r["amortised_ratio_to_cjxl"] = am / jxl
        if a.json:
            with open(a.json, "w") as f:
                json.dump(res, f, indent=1)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
