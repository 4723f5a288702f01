#!/usr/bin/env python3
"""Plot bpsp against decode speed for every codec configuration in `nlc bench --json` files.

Usage: tools/perf-plot.py RESULT.json [MORE.json ...] [-o docs/perf-tradeoff.png]

Each configuration (a nelloc model / thread count, or a peer setting) becomes one point:
total bits per subpixel (y) against decode megapixels per second (x, log scale) over the
images of its run. Runs on grey images (1 channel) and colour images go to separate panels,
because bpsp is only comparable on the same images. Needs matplotlib (`pip install matplotlib`).
"""
import argparse
import json
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="+", help="JSON files written by `nlc bench --json`")
    ap.add_argument("-o", "--output", default="docs/perf-tradeoff.png")
    ap.add_argument("--title", default=None)
    args = ap.parse_args()

    # image set -> series name -> list of (x, y, point label, kind)
    panels = defaultdict(lambda: defaultdict(dict))
    cpu = set()
    for path in args.results:
        with open(path) as f:
            report = json.load(f)
        cpu.add(f"{report['cpu']}, {report['logical_cpus']} CPUs")
        for c in report["configs"]:
            imgs = c["images"]
            if not imgs:
                continue
            gray = all(i["channels"] <= 2 for i in imgs)
            key = f"{'grey' if gray else 'colour'} images ({len(imgs)})"
            series = c["label"]
            if c["kind"] == "nelloc":
                if c.get("tile") not in (None, 256):
                    series += f", tile {c['tile']}"
                point = f"{c['threads']}T"
            else:
                series += " (1 thread)"
                point = ""
            t = c["total"]
            # The same configuration measured in several files: keep the last.
            panels[key][series][point] = (t["decode_mps"], t["bpsp"], c["kind"])

    keys = sorted(panels, key=lambda k: not k.startswith("colour"))
    fig, axes = plt.subplots(1, len(keys), figsize=(6.5 * len(keys), 5), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for series, points in sorted(panels[key].items()):
            pts = sorted(points.items(), key=lambda p: p[1][0])
            xs = [p[1][0] for p in pts]
            ys = [p[1][1] for p in pts]
            nel = pts[0][1][2] == "nelloc"
            color = "tab:red" if nel else "tab:blue"
            ax.plot(xs, ys, marker="o" if nel else "s", markersize=7, color=color,
                    linestyle="-" if len(pts) > 1 else "none", zorder=3)
            for name, (x, y, _) in pts:
                if name:
                    ax.annotate(name, (x, y), textcoords="offset points", xytext=(0, -13),
                                fontsize=7, ha="center")
            ax.annotate(series, (xs[-1], ys[-1]), textcoords="offset points", xytext=(8, 4),
                        fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("decode speed, megapixels/s (log)")
        ax.set_ylabel("bits per subpixel (lower is better)")
        ax.set_title(key + "; nelloc points: 1T / 2T = threads")
        ax.grid(True, which="both", alpha=0.3)
        ax.margins(x=0.35, y=0.15)
    fig.suptitle(args.title or "Lossless: size vs decode speed (" + "; ".join(sorted(cpu)) + ")",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
