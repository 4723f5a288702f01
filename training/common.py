"""Shared definitions for NeLLoC training / export.

The model and head semantics here must match the Rust integer engine in
crates/ exactly (see training/README.md).
"""
import hashlib
import json
import os
import sys

import numpy as np

# The network, contexts, predictors and head likelihoods live in the Python package
# (crates/nelloc-py/python/nelloc/adapt/nn.py: `python -m nelloc.adapt` fine-tunes with the
# same code). Imported as the top-level package `adapt` so that the native extension that
# `nelloc/__init__.py` loads is not needed here.
_PKG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "crates", "nelloc-py", "python", "nelloc")
if _PKG not in sys.path:
    sys.path.insert(0, _PKG)
from adapt.nn import (CONTEXT, CTX_COLS, CTX_ROWS, HORIZON, MEAN_OFFSET_SCALE, MIXTURES,  # noqa: E402,F401
                      NEIGHBOURS, PRED10, Q8_MAX, Q8_OUTSIDE, bpsp_from_loglik, build_model, contexts,
                      head_log2_likelihood, head_loglik_pixels, n_out, predictors_q8, raw_to_head,
                      torch_cat)

B = "/usr/share/backgrounds"
W = "/usr/share/wallpapers"

# 37 photographs: name -> (path, debian package)
PHOTOS = {}
for _n in ["Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Kleiber_by_Lukas_Baubkus",
           "Picture_0B_by_freespace", "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede",
           "aitzgorri_by_Aitzol_Berasategi", "analogpattern_by_Peter_Nerlich",
           "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
           "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi",
           "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi"]:
    PHOTOS[_n] = f"{B}/{_n}.jpg"
for _n in ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird",
           "RainDrops", "Storm", "TwoWings", "Wood", "YellowFlower"]:
    PHOTOS[_n] = f"{B}/mate/nature/{_n}.jpg"
for _n in ["BytheWater", "ColdRipple", "ColorfulCups", "EveningGlow", "FallenLeaf", "Grey",
           "Kite", "OneStandsOut", "Path", "summer_1am"]:
    PHOTOS[_n] = f"{W}/{_n}/contents/images/2560x1600.jpg"

VALIDATION = ["Bridge_by_Sander_Klootwijk", "friends_by_Aitzol_Berasategi", "Garden", "Storm",
              "BytheWater", "ColorfulCups", "Path"]
TRAINING = [n for n in PHOTOS if n not in VALIDATION]
assert len(PHOTOS) == 37 and len(TRAINING) == 30

TRAIN_FACTORS = (2, 3, 4, 6)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "data")


def load_rgb(path):
    from PIL import Image
    im = Image.open(path)
    im.load()
    return im.convert("RGB")


def validation_crop(path):
    """Same recipe as tools/validation-data.sh."""
    im = load_rgb(path)
    k = max(2, min(im.size) // 512)
    im = im.reduce(k)
    w, h = im.size
    cw, ch = (768, 512) if w >= h else (512, 768)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return im.crop((x0, y0, x0 + cw, y0 + ch))


def arrays_sha256(named_arrays):
    """Content hash of a list of (name, uint8 array): independent of file format."""
    h = hashlib.sha256()
    for name, a in named_arrays:
        h.update(name.encode())
        h.update(json.dumps(list(a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def load_npz(path):
    z = np.load(path)
    return [(k, z[k]) for k in sorted(z.files)]
