"""Side-by-side evaluation on the validation crops: nlc (Rust integer engine, real coded
size) with every shipped model vs. the peer codecs, in one run.  Called by eval.sh.

RGB crops: every 3-channel model + cjxl -d 0 -e 7, cwebp -lossless -z 9 (+ oxipng -o 2 if
installed).  Gray crops: every 1-channel model + cjxl -d 0 -e 7.  Every peer roundtrip is
decoded (djxl / dwebp) and compared pixel by pixel with the crop.

bpsp = 8 * file bytes / (pixels * channels).  Two crops (ColorfulCups, Path) carry ICC
profiles: nlc and cjxl store them (cjxl compressed), cwebp drops them (-metadata none is its
default), oxipng keeps them.  'pixels only' = nlc's 'model bpsp' column (ideal code length
of the pixels) and cjxl on a copy of the crop with the ICC profile removed.
"""
import argparse
import glob
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def model_meta(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
    m = hdr.get("__metadata__", {})
    arch = json.loads(m.get("nelloc.arch", "{}"))
    return m.get("nelloc.name", "?"), arch.get("channels"), arch


def macs(arch):
    C, W, rs, K = arch["channels"], arch["width"], arch["res_blocks"], arch["mixtures"]
    nout = K * (1 + 2 * C + C * (C - 1) // 2)
    return 24 * C * W + rs * 3 * W * W + W * W + W * nout


def nlc_bench(nlc, model, crops, threads):
    cmd = [nlc, "bench", "-q", "--threads", str(threads), "--model", model] + crops
    t0 = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    per, tot = {}, None
    for line in out.splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) < 9 or cells[0] in ("image", "") or cells[0].startswith("-"):
            continue
        row = {"bytes": int(cells[3]), "pixels": int(cells[2]), "bpsp": float(cells[4]),
               "model_bpsp": float(cells[5]), "enc_s_mp": float(cells[7]), "dec_s_mp": float(cells[8])}
        if cells[0] == "all":
            tot = row
        else:
            per[os.path.splitext(cells[0])[0]] = row
    return per, tot, time.time() - t0, out


def pixels(path, mode):
    return np.asarray(Image.open(path).convert(mode))


def peer_one(codec, src, tmp, mode):
    """Encode src with a peer, decode, verify; returns compressed bytes."""
    base = os.path.join(tmp, codec + "-" + os.path.basename(src))
    if codec.startswith("cjxl"):
        enc = base + ".jxl"
        subprocess.run(["cjxl", src, enc, "-d", "0", "-e", "7", "--quiet"], check=True,
                       capture_output=True)
        subprocess.run(["djxl", enc, base + ".dec.png", "--quiet"], check=True, capture_output=True)
    elif codec == "cwebp":
        enc = base + ".webp"
        subprocess.run(["cwebp", "-quiet", "-lossless", "-z", "9", src, "-o", enc], check=True,
                       capture_output=True)
        subprocess.run(["dwebp", "-quiet", enc, "-o", base + ".dec.png"], check=True, capture_output=True)
    elif codec == "oxipng":
        enc = base + ".png"
        subprocess.run(["oxipng", "-q", "-o", "2", "--out", enc, src], check=True, capture_output=True)
        shutil.copy(enc, base + ".dec.png")
    else:
        raise ValueError(codec)
    a, b = pixels(src, mode), pixels(base + ".dec.png", mode)
    if a.shape != b.shape or not np.array_equal(a, b):
        raise SystemExit(f"{codec} roundtrip MISMATCH on {src}")
    return os.path.getsize(enc)


def strip_icc(src, dst):
    im = Image.open(src)
    im.load()
    im.info.pop("icc_profile", None)  # Pillow would otherwise write it back
    im.save(dst)
    return dst


def version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--valdir", default=os.environ.get("NELLOC_VALDATA",
                                                       os.path.expanduser("~/.cache/nelloc/validation")))
    p.add_argument("--nlc", default=os.path.join(ROOT, "target", "release", "nlc"))
    p.add_argument("--models", nargs="*", default=None,
                   help="model files (default: every crates/nelloc/models/*.safetensors)")
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--jobs", type=int, default=2, help="parallel peer encodes")
    p.add_argument("--threads", type=int, default=0, help="nlc bench --threads")
    p.add_argument("--out", default=os.path.join(ROOT, "training", "logs", "eval.md"))
    a = p.parse_args()

    rgb = sorted(glob.glob(os.path.join(a.valdir, "*.png")))
    gray = sorted(glob.glob(os.path.join(a.valdir, "gray", "*.png")))
    assert len(rgb) == 7 and len(gray) == 7, "run tools/validation-data.sh first"
    names = [os.path.splitext(os.path.basename(f))[0] for f in rgb]
    crop_hash = hashlib.sha256()
    for f in rgb + gray:
        crop_hash.update(open(f, "rb").read())
    models = a.models or sorted(glob.glob(os.path.join(ROOT, "crates", "nelloc", "models", "*.safetensors")))

    nlc_rows = {}
    results = {"rgb": [], "gray": []}  # (label, per{name: bpsp}, total bpsp, pixel-only bpsp, extra)
    for m in models:
        name, C, arch = model_meta(m)
        crops = rgb if C == 3 else gray
        per, tot, dt, raw = nlc_bench(a.nlc, m, crops, a.threads)
        nlc_rows[os.path.basename(m)] = {"name": name, "arch": arch, "macs": macs(arch), "per": per, "all": tot}
        label = f"nlc `{os.path.basename(m)}` ({name}, W={arch['width']} rs={arch['res_blocks']}, " \
                f"{macs(arch):,} MAC/px)"
        results["rgb" if C == 3 else "gray"].append(
            (label, {k: v["bpsp"] for k, v in per.items()}, tot["bpsp"], tot["model_bpsp"],
             f"enc {tot['enc_s_mp']:.1f} / dec {tot['dec_s_mp']:.1f} s/MP"))
        print(f"{label}: {tot['bpsp']:.4f} bpsp (model {tot['model_bpsp']:.4f}) [{dt:.0f}s]", flush=True)

    peer_versions = {}
    if not a.no_peers:
        peers = [("cjxl -d 0 -e 7", "cjxl", "rgb"), ("cwebp -lossless -z 9", "cwebp", "rgb"),
                 ("cjxl -d 0 -e 7", "cjxl", "gray")]
        if shutil.which("oxipng"):
            peers.insert(2, ("oxipng -o 2", "oxipng", "rgb"))
            peer_versions["oxipng"] = version(["oxipng", "--version"])
        peer_versions["cjxl"] = version(["cjxl", "--version"])
        peer_versions["cwebp"] = version(["cwebp", "-version"])
        with tempfile.TemporaryDirectory() as tmp:
            nostrip = os.path.join(tmp, "noicc")
            os.makedirs(nostrip)
            for label, codec, kind in peers:
                crops = rgb if kind == "rgb" else gray
                C = 3 if kind == "rgb" else 1
                mode = "RGB" if kind == "rgb" else "L"
                t0 = time.time()
                with ThreadPoolExecutor(a.jobs) as ex:
                    sizes = list(ex.map(lambda f: peer_one(codec, f, tmp, mode), crops))
                px = [Image.open(f).size for f in crops]
                per = {n: 8 * s / (w * h * C) for n, s, (w, h) in zip(names, sizes, px)}
                tot = 8 * sum(sizes) / (sum(w * h for w, h in px) * C)
                pix_only = tot
                if codec == "cjxl" and kind == "rgb":
                    # the same crops without their ICC profiles
                    stripped = [strip_icc(f, os.path.join(nostrip, os.path.basename(f))) for f in crops]
                    with ThreadPoolExecutor(a.jobs) as ex:
                        s2 = list(ex.map(lambda f: peer_one("cjxl-noicc", f, tmp, mode), stripped))
                    pix_only = 8 * sum(s2) / (sum(w * h for w, h in px) * C)
                elif codec == "oxipng":
                    pix_only = None
                results[kind].append((label, per, tot, pix_only,
                                      f"roundtrip verified, {time.time() - t0:.0f}s wall ({a.jobs} jobs)"))
                print(f"{label} [{kind}]: {tot:.4f} bpsp (pixels only {pix_only}) [{time.time() - t0:.0f}s]",
                      flush=True)

    lines = [f"Validation crops: {a.valdir} (7 RGB 768x512/512x768 + gray versions; "
             f"sha256 of the 14 PNG files {crop_hash.hexdigest()[:16]}...).",
             f"nlc: {version([a.nlc, '--version'])}; " + "; ".join(f"{v}" for v in peer_versions.values()),
             ""]
    for kind in ("rgb", "gray"):
        rows = results[kind]
        if not rows:
            continue
        ref = [r for r in rows if r[0].startswith("cjxl")]
        ref_tot = ref[0][2] if ref else None
        ref_pix = ref[0][3] if ref else None
        lines.append(f"### {'RGB' if kind == 'rgb' else 'Gray'} crops ({'3' if kind == 'rgb' else '1'} "
                     f"channel{'s' if kind == 'rgb' else ''})")
        lines.append("")
        hdr = ["codec / model", "bpsp (file)", "ratio to cjxl -e 7", "pixels-only bpsp", "pixels-only ratio"] + \
              [n.split("_by_")[0] for n in names] + ["notes"]
        lines.append("| " + " | ".join(hdr) + " |")
        lines.append("|" + "---|" * len(hdr))
        for label, per, tot, pix, extra in rows:
            r = f"{tot / ref_tot:.3f}" if ref_tot else ""
            rp = f"{pix / ref_pix:.3f}" if (ref_pix and pix) else ""
            cells = [label, f"**{tot:.4f}**", r, f"{pix:.4f}" if pix else "", rp] + \
                    [f"{per[n]:.3f}" for n in names] + [extra]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    text = "\n".join(lines)
    print()
    print(text)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text + "\n")
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump({"valdir": a.valdir, "crops_sha256": crop_hash.hexdigest(), "versions": peer_versions,
                   "nlc_per_model": nlc_rows, "tables": {k: [{"label": r[0], "per": r[1], "bpsp": r[2],
                                                              "pixels_only": r[3], "notes": r[4]} for r in v]
                                                         for k, v in results.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
