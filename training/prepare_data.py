"""Prepare NeLLoC training data from the 30 training photographs.

Each JPEG is decoded to RGB and box-downsampled by every factor in TRAIN_FACTORS
(Pillow Image.reduce).  Stored as uint8 arrays in training/data/train-rgb.npz and
train-gray.npz (gray = Pillow convert("L") of the reduced RGB image).  The 7
validation crops (same recipe as tools/validation-data.sh) are stored in
training/data/val-rgb.npz / val-gray.npz.  The sha256 of the array contents is
printed and written to training/data/manifest.json.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (DATA_DIR, PHOTOS, TRAINING, VALIDATION, TRAIN_FACTORS, arrays_sha256,
                    load_rgb, validation_crop)


def main():
    os.makedirs(DATA_DIR, exist_ok=True)
    t0 = time.time()
    rgb, gray = [], []
    for n in TRAINING:
        im = load_rgb(PHOTOS[n])
        for k in TRAIN_FACTORS:
            r = im.reduce(k)
            key = f"{n}@{k}"
            rgb.append((key, np.asarray(r, dtype=np.uint8)))
            gray.append((key, np.asarray(r.convert("L"), dtype=np.uint8)))
        print(f"{n}: {im.size[0]}x{im.size[1]}", flush=True)
    vrgb, vgray = [], []
    for n in VALIDATION:
        c = validation_crop(PHOTOS[n])
        vrgb.append((n, np.asarray(c, dtype=np.uint8)))
        vgray.append((n, np.asarray(c.convert("L"), dtype=np.uint8)))
    manifest = {
        "recipe": {
            "training_sources": TRAINING,
            "validation_sources": VALIDATION,
            "train_factors": list(TRAIN_FACTORS),
            "train": "decode JPEG -> RGB; Image.reduce(k) for k in factors; gray = convert('L')",
            "validation": "k=max(2,min(W,H)//512); Image.reduce(k); centre crop 768x512 (512x768 portrait); gray = convert('L')",
        },
        "sha256": {},
        "pixels": {},
    }
    for fname, items in [("train-rgb", rgb), ("train-gray", gray), ("val-rgb", vrgb), ("val-gray", vgray)]:
        items = sorted(items)
        np.savez(os.path.join(DATA_DIR, fname + ".npz"), **dict(items))
        manifest["sha256"][fname] = arrays_sha256(items)
        manifest["pixels"][fname] = int(sum(a.shape[0] * a.shape[1] for _, a in items))
    # one combined hash for the whole prepared data set
    manifest["sha256_all"] = arrays_sha256([(k, np.frombuffer(bytes.fromhex(v), np.uint8))
                                            for k, v in sorted(manifest["sha256"].items())])
    with open(os.path.join(DATA_DIR, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps(manifest["sha256"], indent=1))
    print("sha256_all", manifest["sha256_all"])
    print(f"prepared in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
