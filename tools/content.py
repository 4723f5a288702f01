#!/usr/bin/env python3
"""Non-photographic content sets and the side-by-side comparison of docs/CONTENT.md.

    python3 tools/content.py build [--out DIR]        # build the sets (default ~/.cache/nelloc/content)
    python3 tools/content.py eval  [--out DIR] [--nlc target/release/nlc] [--sets a,b] [--md FILE]

`build` makes the sets from Debian packages (sources and licences: docs/CONTENT.md) plus
generated cases; the images are not committed. Needs: gimp-help-en, oxygen-icon-theme,
graphviz, graphviz-doc, gnuplot-nox, fonts-dejavu-core (apt), Pillow.

`eval` codes every image with nlc (all modes; --modes neural), cjxl -d 0 -e 7,
cwebp -lossless -z 9 and oxipng -o 2 (from a plain PNG), verifies every nlc round trip,
and prints a Markdown table per set: total bytes, bpsp, nlc's worst ratio to oxipng,
tile-mode shares and decode times. Photo validation crops (tools/validation-data.sh) are
the `photos` set.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from PIL import Image, ImageDraw, ImageFont

HOME_CACHE = os.path.expanduser("~/.cache/nelloc")
PER_SET = 16


def spaced(items, n):
    """n items evenly spaced over a sorted list (deterministic)."""
    items = sorted(items)
    if len(items) <= n:
        return items
    return [items[i * len(items) // n] for i in range(n)]


def save(im, path):
    if im.mode == "P" or im.mode == "PA":
        im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
    if im.mode == "LA" or im.mode == "RGBA":
        # keep alpha only if it is used
        if im.getchannel("A").getextrema() == (255, 255):
            im = im.convert("L" if im.mode == "LA" else "RGB")
    if im.mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")
    im.save(path)


def build_screenshots(out):
    root = "/usr/share/gimp/2.0/help/en/images"
    files = [f for f in glob.glob(f"{root}/**/*.png", recursive=True)
             if "dialog" in os.path.basename(f) and "/examples/" not in f]
    files = [f for f in files if (lambda s: s[0] * s[1] >= 250 * 250)(Image.open(f).size)]
    for f in spaced(files, PER_SET):
        name = os.path.relpath(f, root).replace("/", "_")
        save(Image.open(f), os.path.join(out, name))


def build_icons(out):
    files = glob.glob("/usr/share/icons/oxygen/base/256x256/*/*.png")
    for f in spaced(files, PER_SET):
        name = os.path.relpath(f, "/usr/share/icons/oxygen/base/256x256").replace("/", "_")
        save(Image.open(f), os.path.join(out, name))


def build_diagrams(out):
    files = glob.glob("/usr/share/doc/graphviz/examples/graphs/directed/*.gv")
    done = 0
    for f in spaced(files, 3 * PER_SET):
        if done == PER_SET:
            break
        png = os.path.join(out, os.path.basename(f)[:-3] + ".png")
        r = subprocess.run(["dot", "-Tpng", "-Gdpi=72", f, "-o", png], capture_output=True, timeout=60)
        if r.returncode != 0 or not os.path.exists(png):
            continue
        im = Image.open(png)
        if not (200 * 200 <= im.width * im.height <= 4_000_000):
            os.remove(png)
            continue
        save(im, png)
        done += 1


PLOTS = [
    "set grid; plot sin(x) lw 2, cos(x) lw 2, x/5 lw 2",
    "set style data histograms; set style fill solid; plot '-' using 2:xtic(1) title 'a', '' using 2 title 'b'\n"
    "1 3\n2 5\n3 2\n4 7\n5 4\ne\n1 2\n2 4\n3 6\n4 3\n5 5\ne",
    "set isosamples 40; set hidden3d; splot sin(sqrt(x*x+y*y))/sqrt(x*x+y*y)",
    "set pm3d map; set isosamples 60; splot exp(-(x*x+y*y)/20)*cos(x)",
    "set polar; set grid polar; plot 1+cos(4*t) lw 2, 0.5+sin(3*t)**2 lw 2",
    "set logscale y; set key left; plot [1:100] x**2 title 'x^2', exp(x/10) title 'e^{x/10}', x lw 3",
]


def build_plots(out):
    for i, script in enumerate(PLOTS):
        png = os.path.join(out, f"plot{i}.png")
        full = f"set terminal pngcairo size 800,600 font 'DejaVu Sans,11'\nset output '{png}'\n{script}\n"
        subprocess.run(["gnuplot"], input=full.encode(), capture_output=True, timeout=60, check=True)
        save(Image.open(png), png)


def build_text(out):
    text = open("/usr/share/common-licenses/GPL-3", encoding="utf-8").read().splitlines()
    fonts = "/usr/share/fonts/truetype/dejavu"
    pages = [
        ("DejaVuSans.ttf", 14, (255, 255, 255), (0, 0, 0), 0),
        ("DejaVuSerif.ttf", 16, (250, 248, 240), (30, 30, 30), 120),
        ("DejaVuSansMono.ttf", 13, (30, 30, 30), (210, 210, 210), 240),
        ("DejaVuSansMono.ttf", 13, (255, 255, 255), None, 360),   # syntax-coloured
    ]
    palette = [(0, 0, 160), (160, 0, 0), (0, 120, 0), (120, 0, 120), (0, 0, 0)]
    for i, (font, size, bg, fg, start) in enumerate(pages):
        f = ImageFont.truetype(os.path.join(fonts, font), size)
        im = Image.new("RGB", (1024, 768), bg)
        d = ImageDraw.Draw(im)
        y = 8
        for k, line in enumerate(text[start:start + 60]):
            if y > 768 - size:
                break
            if fg is None:
                x = 8
                for w, word in enumerate(line.split(" ")):
                    d.text((x, y), word, font=f, fill=palette[(w + k) % len(palette)])
                    x += f.getlength(word + " ")
            else:
                d.text((8, y), line, font=f, fill=fg)
            y += int(size * 1.35)
        im.save(os.path.join(out, f"text{i}.png"))


def build_generated(out):
    def img(name, w, h, fn, mode="RGB"):
        im = Image.new(mode, (w, h))
        im.putdata([fn(x, y) for y in range(h) for x in range(w)])
        im.save(os.path.join(out, name + ".png"))
    Image.new("RGB", (512, 512), (255, 255, 255)).save(os.path.join(out, "white.png"))
    Image.new("RGB", (512, 512), (0, 0, 0)).save(os.path.join(out, "black.png"))
    Image.new("RGB", (512, 512), (255, 0, 0)).save(os.path.join(out, "red.png"))
    Image.new("L", (640, 480), 128).save(os.path.join(out, "gray-flat.png"))
    im = Image.new("RGB", (512, 512), (250, 250, 250))
    im.putpixel((300, 77), (0, 0, 0))
    im.save(os.path.join(out, "one-pixel-noise.png"))
    img("gradient", 512, 512, lambda x, y: ((x + 2 * y) // 4 % 256, ((x + 2 * y) // 4 + 20) % 256,
                                            ((x + 2 * y) // 4 + 40) % 256))
    bars = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 0, 255), (255, 0, 0),
            (0, 0, 255), (0, 0, 0)]
    img("colour-bars", 512, 256, lambda x, y: bars[x // 64])
    img("checker", 384, 384, lambda x, y: (0, 0, 0) if (x // 8 + y // 8) % 2 else (255, 255, 255))


SETS = {
    "screenshots": build_screenshots,
    "icons": build_icons,
    "diagrams": build_diagrams,
    "plots": build_plots,
    "text": build_text,
    "generated": build_generated,
}


def cmd_build(args):
    for name, fn in SETS.items():
        d = os.path.join(args.out, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        fn(d)
        print(f"{name}: {len(os.listdir(d))} images in {d}")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def measure(path, nlc, tmp):
    im = Image.open(path)
    samples = im.width * im.height * len(im.getbands())
    r = {"samples": samples, "pixels": im.width * im.height}
    plain = os.path.join(tmp, "plain.png")
    im.save(plain)
    for label, modes in (("nlc", "all"), ("neural", "neural")):
        out = os.path.join(tmp, label + ".nlc")
        back = os.path.join(tmp, label + ".png")
        run([nlc, "encode", "-q", "--modes", modes, "--threads", "1", path, out])
        t = time.time()
        run([nlc, "decode", "-q", "--threads", "1", out, back])
        r[label + "_dec"] = time.time() - t
        if list(Image.open(back).getdata()) != list(im.getdata()):
            raise SystemExit(f"{path}: nlc round trip differs ({label})")
        r[label] = os.path.getsize(out)
        if label == "nlc":
            info = run([nlc, "info", "--tiles", out]).stdout.decode()
            modes_seen = {}
            for line in info.splitlines():
                m = re.match(r"^\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+(\S+)\s+(\d+)", line)
                if m:
                    for mode in m.group(1).split("+"):
                        modes_seen[mode] = modes_seen.get(mode, 0) + 1
            r["modes"] = modes_seen
    jxl = os.path.join(tmp, "a.jxl")
    run(["cjxl", "-d", "0", "-e", "7", "--num_threads=0", plain, jxl])
    r["cjxl"] = os.path.getsize(jxl)
    webp = os.path.join(tmp, "a.webp")
    run(["cwebp", "-quiet", "-lossless", "-z", "9", "-exact", "-mt", plain, "-o", webp])
    r["cwebp"] = os.path.getsize(webp)
    ox = os.path.join(tmp, "ox.png")
    run([os.path.expanduser("~/.cargo/bin/oxipng"), "-q", "-o", "2", "--strip", "safe", "--out", ox, plain])
    r["oxipng"] = os.path.getsize(ox)
    return r


def cmd_eval(args):
    sets = args.sets.split(",") if args.sets else list(SETS) + ["photos"]
    rows = []
    for s in sets:
        d = os.path.join(HOME_CACHE, "validation") if s == "photos" else os.path.join(args.out, s)
        files = sorted(glob.glob(os.path.join(d, "*.png")))
        if not files:
            print(f"{s}: no images in {d} (run `build`, or tools/validation-data.sh)", file=sys.stderr)
            continue
        tot = {}
        worst = (0.0, "")
        modes = {}
        with tempfile.TemporaryDirectory() as tmp:
            for f in files:
                r = measure(f, args.nlc, tmp)
                for k, v in r.items():
                    if k != "modes":
                        tot[k] = tot.get(k, 0) + v
                for k, v in r["modes"].items():
                    modes[k] = modes.get(k, 0) + v
                allowed = r["oxipng"] * 1.01 + 200
                ratio = r["nlc"] / r["oxipng"]
                if ratio > worst[0]:
                    worst = (ratio, os.path.basename(f), r["nlc"] <= allowed)
                print(f"  {s}/{os.path.basename(f)}: nlc {r['nlc']} neural {r['neural']} cjxl {r['cjxl']} "
                      f"cwebp {r['cwebp']} oxipng {r['oxipng']} modes {r['modes']}", file=sys.stderr)
        rows.append((s, len(files), tot, worst, modes))
    lines = ["| set | images | nlc (all modes) | nlc --modes neural | cjxl -e 7 | cwebp -z 9 | oxipng -o 2 "
             "| nlc / cjxl | worst nlc / oxipng | tile modes (share of plane groups) "
             "| decode s/MP: all modes, neural |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s, n, tot, worst, modes in rows:
        bpsp = lambda k: tot[k] * 8 / tot["samples"]
        total_groups = sum(modes.values())
        share = ", ".join(f"{k} {100 * v / total_groups:.0f}%" for k, v in sorted(modes.items(), key=lambda kv: -kv[1]))
        mp = tot["pixels"] / 1e6
        lines.append(
            f"| {s} | {n} | {tot['nlc']} ({bpsp('nlc'):.3f}) | {tot['neural']} ({bpsp('neural'):.3f}) "
            f"| {tot['cjxl']} ({bpsp('cjxl'):.3f}) | {tot['cwebp']} ({bpsp('cwebp'):.3f}) "
            f"| {tot['oxipng']} ({bpsp('oxipng'):.3f}) | {tot['nlc'] / tot['cjxl']:.2f} "
            f"| {worst[0]:.2f} ({worst[1]}{'' if worst[2] else ', OVER'}) | {share} "
            f"| {tot['nlc_dec'] / mp:.2f}, {tot['neural_dec'] / mp:.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.md:
        open(args.md, "w").write(text + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["build", "eval"])
    ap.add_argument("--out", default=os.path.join(HOME_CACHE, "content"))
    ap.add_argument("--nlc", default="target/release/nlc")
    ap.add_argument("--sets", help="comma-separated subset of: " + ",".join(list(SETS) + ["photos"]))
    ap.add_argument("--md", help="also write the table to this file")
    args = ap.parse_args()
    {"build": cmd_build, "eval": cmd_eval}[args.command](args)


if __name__ == "__main__":
    main()
