"""Shared definitions for NeLLoC training / export.

The model and head semantics here must match the Rust integer engine in
crates/ exactly (see training/README.md).
"""
import hashlib
import json
import math
import os

import numpy as np

HORIZON = 3
MIXTURES = 10

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


# --------------------------------------------------------------------------------------
# Context order (shared with the Rust engine): rows dy=-3..-1 x dx=-3..+3 (row-major),
# then dy=0, dx=-3..-1.  24 positions; conv_in weight index = p*C + c.
CONTEXT = [(dy, dx) for dy in range(-HORIZON, 0) for dx in range(-HORIZON, HORIZON + 1)] + \
          [(0, dx) for dx in range(-HORIZON, 0)]
assert len(CONTEXT) == 24


def n_out(C, K=MIXTURES):
    return K * (1 + 2 * C + C * (C - 1) // 2)


# --------------------------------------------------------------------------------------
# Torch model
def build_model(C, width, res_blocks):
    import torch
    import torch.nn as nn

    class MaskedConv(nn.Conv2d):
        def __init__(self, cin, cout):
            super().__init__(cin, cout, 2 * HORIZON + 1, padding=HORIZON)
            mask = torch.zeros_like(self.weight)
            mask[:, :, :HORIZON, :] = 1
            mask[:, :, HORIZON, :HORIZON] = 1
            self.register_buffer("mask", mask)

        def forward(self, x):
            return nn.functional.conv2d(x, self.weight * self.mask, self.bias, padding=HORIZON)

    class ResBlock(nn.Module):
        def __init__(self, w):
            super().__init__()
            self.c0 = nn.Conv2d(w, w, 1)
            self.c1 = nn.Conv2d(w, w, 1)
            self.c2 = nn.Conv2d(w, w, 1)

        def forward(self, h):
            r = self.c2(torch.relu(self.c1(torch.relu(self.c0(h)))))
            return torch.relu(h + r)

    class NeLLoC(nn.Module):
        def __init__(self):
            super().__init__()
            self.C, self.width, self.res_blocks = C, width, res_blocks
            self.conv_in = MaskedConv(C, width)
            self.res = nn.ModuleList([ResBlock(width) for _ in range(res_blocks)])
            self.hidden = nn.Conv2d(width, width, 1)
            self.out = nn.Conv2d(width, n_out(C), 1)
            K = MIXTURES
            with torch.no_grad():
                # ln-scale biases: start with s = e^1 pixel units; small output weights
                self.out.weight.mul_(0.1)
                self.out.bias.zero_()
                self.out.bias[K + C * K: K + 2 * C * K] = 1.0
                # spread the initial component means a little
                for c in range(C):
                    self.out.bias[K + c * K: K + (c + 1) * K] = torch.linspace(-0.5, 0.5, K)
                for r in self.res:
                    r.c2.weight.mul_(0.1)

        def forward(self, x_uint8_float):
            """x: float tensor [B,C,H,W] with pixel values 0..255 -> raw outputs o."""
            x = (2 * x_uint8_float - 255) / 255
            h = torch.relu(self.conv_in(x))
            for r in self.res:
                h = r(h)
            h = torch.relu(self.hidden(h))
            return self.out(h)

    return NeLLoC()


def raw_to_head(o, C, K=MIXTURES):
    """Training parametrisation -> head units (means in pixel units). Works on torch."""
    means = 127.5 + 127.5 * o[:, K:K + C * K]
    return torch_cat([o[:, :K], means, o[:, K + C * K:]], dim=1)


def torch_cat(xs, dim):
    import torch
    return torch.cat(xs, dim=dim)


def head_log2_likelihood(head, x, C, K=MIXTURES, xp=None):
    """Per-pixel log-likelihood (natural log) of x under the head distribution.

    head: [B, n_out, H, W] in head units (logits nat-log, means pixel units, ln-scale,
    raw coefficients).  x: [B, C, H, W] pixel values 0..255 (float).
    Returns [B, H, W] natural-log likelihood. Works with torch (default) or numpy-float64
    via the torch path as well (callers convert).
    """
    import torch
    import torch.nn.functional as F
    Bn, _, H, Wd = head.shape
    logits = head[:, :K].clamp(-32, 32)
    means = head[:, K:K + C * K].clamp(-256, 512).reshape(Bn, C, K, H, Wd)
    lns = head[:, K + C * K:K + 2 * C * K].clamp(-3, 6).reshape(Bn, C, K, H, Wd)
    xs = x.unsqueeze(2)  # [B,C,1,H,W]
    if C == 3:
        co = torch.tanh(head[:, K + 2 * C * K:K + 3 * C * K].clamp(-8, 8)).reshape(Bn, 3, K, H, Wd)
        r = xs[:, 0] - 127.5
        g = xs[:, 1] - 127.5
        mR = means[:, 0]
        mG = means[:, 1] + co[:, 0] * r
        mB = means[:, 2] + co[:, 1] * r + co[:, 2] * g
        means = torch.stack([mR, mG, mB], dim=1)
    inv_s = torch.exp(-lns)
    centered = xs - means
    a = inv_s * (centered + 0.5)  # upper edge
    b = inv_s * (centered - 0.5)  # lower edge
    # log(sigmoid(a) - sigmoid(b)) = logsig(a) + logsig(-b) + log(1 - exp(-(a-b))),  a-b = inv_s
    lsa = F.logsigmoid(a)
    lsnb = F.logsigmoid(-b)
    l1m = torch.log(-torch.expm1(-inv_s))
    mid = lsa + lsnb + l1m
    lp = torch.where(xs <= 0, lsa, torch.where(xs >= 255, lsnb, mid))
    joint = lp.sum(1) + torch.log_softmax(logits, dim=1)  # [B,K,H,W]
    return torch.logsumexp(joint, dim=1)


def bpsp_from_loglik(ll, C):
    return -float(ll.sum()) / (ll.numel() * C * math.log(2))
