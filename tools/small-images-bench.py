#!/usr/bin/env python3
"""Total size of many small images (an IDX file such as Fashion-MNIST) coded losslessly
with nlc, cjxl and cwebp, in bits per subpixel (bits / samples of all images).

Small images are where a container's fixed costs show (docs/FORMAT.md section 11, the
compact container). Example, the first 1000 Fashion-MNIST test images:

    tools/small-images-bench.py /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
        -n 1000 --nlc target/release/nlc -- --builtin gray

Arguments after `--` go to `nlc encode`. cjxl (`-d 0 -e 7`) and cwebp (`-lossless -z 9
-exact`) are run when found on PATH (`--no-others` skips them). Needs numpy and Pillow.
"""
import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image


def read_idx(path, n):
    """The first n images of an IDX3 u8 file (gzip or plain): (count, rows, cols) array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in range(0, 16, 4))
    if magic != 0x0803:
        sys.exit(f"{path}: not an IDX3 u8 file (magic {magic:#x})")
    n = min(n, count)
    return np.frombuffer(data, np.uint8, n * rows * cols, 16).reshape(n, rows, cols)


def total_size(paths):
    return sum(os.path.getsize(p) for p in paths)


def run_each(cmd_for, pngs, ext, out):
    outs = []
    for p in pngs:
        o = os.path.join(out, os.path.basename(p)[:-4] + ext)
        subprocess.run(cmd_for(p, o), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        outs.append(o)
    return outs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("idx")
    ap.add_argument("-n", type=int, default=1000, help="images (default 1000)")
    ap.add_argument("--nlc", default="nlc", help="the nlc binary")
    ap.add_argument("--no-others", action="store_true", help="nlc only")
    argv = sys.argv[1:]
    extra = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:extra])
    a.nlc_args = argv[extra + 1:]  # for `nlc encode`

    images = read_idx(a.idx, a.n)
    samples = images.size
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "png")
        os.mkdir(src)
        pngs = []
        for i, img in enumerate(images):
            p = os.path.join(src, f"{i:05d}.png")
            Image.fromarray(img, "L").save(p)
            pngs.append(p)
        results = []
        out = os.path.join(tmp, "nlc")
        os.mkdir(out)
        subprocess.run([a.nlc, "encode", "-q", *a.nlc_args, "--out-dir", out, src], check=True)
        nlcs = [os.path.join(out, f) for f in os.listdir(out)]
        if len(nlcs) != len(pngs):
            sys.exit(f"nlc wrote {len(nlcs)} files for {len(pngs)} images")
        results.append(("nlc " + " ".join(a.nlc_args), total_size(nlcs)))
        if not a.no_others:
            for tool, cmd, ext in [
                ("cjxl -d 0 -e 7", lambda p, o: ["cjxl", "-d", "0", "-e", "7", p, o], ".jxl"),
                ("cwebp -lossless -z 9 -exact",
                 lambda p, o: ["cwebp", "-quiet", "-lossless", "-z", "9", "-exact", p, "-o", o],
                 ".webp"),
            ]:
                if shutil.which(cmd("", "")[0]) is None:
                    print(f"{tool}: not found, skipped", file=sys.stderr)
                    continue
                d = os.path.join(tmp, ext[1:])
                os.mkdir(d)
                results.append((tool, total_size(run_each(cmd, pngs, ext, d))))
        results.append(("png (Pillow)", total_size(pngs)))
    print(f"{len(images)} images, {samples} samples")
    for name, size in results:
        print(f"{name:32s} {size:10d} bytes  {size * 8 / samples:.4f} bpsp")


if __name__ == "__main__":
    main()
