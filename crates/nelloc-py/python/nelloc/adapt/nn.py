"""The NeLLoC network, its contexts, predictors and head likelihoods (float, PyTorch).

Shared by ``python -m nelloc.adapt`` and the training scripts in ``training/`` (which
import this subpackage as the top-level package ``adapt`` from ``crates/nelloc-py/python/
nelloc``, without the native extension). The model and head semantics must match the Rust
integer engine exactly (docs/FORMAT.md). Only NumPy at import time; torch is imported by
the functions that need it. Relative imports only.
"""

import math

import numpy as np

HORIZON = 3
MIXTURES = 10


# --------------------------------------------------------------------------------------
# Context order (shared with the Rust engine): rows dy=-3..-1 x dx=-3..+3 (row-major),
# then dy=0, dx=-3..-1.  24 positions; conv_in weight index = p*C + c.
CONTEXT = [(dy, dx) for dy in range(-HORIZON, 0) for dx in range(-HORIZON, HORIZON + 1)] + [
    (0, dx) for dx in range(-HORIZON, 0)
]
assert len(CONTEXT) == 24
CTX_ROWS = [dy + HORIZON for dy, _ in CONTEXT]
CTX_COLS = [dx + HORIZON for _, dx in CONTEXT]


def n_out(C, K=MIXTURES):
    return K * (1 + 2 * C + C * (C - 1) // 2)


def contexts(img, C):
    """img uint8 [H,W,C] -> int64 [H*W, 24*C] of v = 2x-255 (0 outside the image)."""
    H, Wd = img.shape[:2]
    v = 2 * img.astype(np.int64) - 255
    pad = np.zeros((H + HORIZON, Wd + 2 * HORIZON, C), np.int64)
    pad[HORIZON:, HORIZON : HORIZON + Wd] = v
    cols = []
    for dy, dx in CONTEXT:
        cols.append(pad[HORIZON + dy : HORIZON + dy + H, HORIZON + dx : HORIZON + dx + Wd])
    return np.stack(cols, axis=2).reshape(H * Wd, 24 * C)


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
                self.out.bias[K + C * K : K + 2 * C * K] = 1.0
                # spread the initial component means a little
                for c in range(C):
                    self.out.bias[K + c * K : K + (c + 1) * K] = torch.linspace(-0.5, 0.5, K)
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

        def forward_ctx(self, v):
            """Per-pixel forward (the masked conv is an MLP over the causal context).

            v: float [N, 24*C] contexts in network units 2x - 255 (0 outside) -> [N, n_out]."""
            F = torch.nn.functional
            w = (self.conv_in.weight * self.conv_in.mask)[:, :, CTX_ROWS, CTX_COLS]  # [W, C, 24]
            w = w.permute(0, 2, 1).reshape(self.width, 24 * self.C)
            h = torch.relu(F.linear(v / 255.0, w, self.conv_in.bias))
            for r in self.res:
                t = F.linear(h, r.c0.weight[:, :, 0, 0], r.c0.bias).relu()
                t = F.linear(t, r.c1.weight[:, :, 0, 0], r.c1.bias).relu()
                h = (h + F.linear(t, r.c2.weight[:, :, 0, 0], r.c2.bias)).relu()
            h = F.linear(h, self.hidden.weight[:, :, 0, 0], self.hidden.bias).relu()
            return F.linear(h, self.out.weight[:, :, 0, 0], self.out.bias)

    return NeLLoC()


def raw_to_head(o, C, K=MIXTURES):
    """Training parametrisation -> head units (means in pixel units). Works on torch."""
    means = 127.5 + 127.5 * o[:, K : K + C * K]
    return torch_cat([o[:, :K], means, o[:, K + C * K :]], dim=1)


def torch_cat(xs, dim):
    import torch

    return torch.cat(xs, dim=dim)


def head_log2_likelihood(head, x, C, K=MIXTURES, xp=None, ref=None):
    """Per-pixel log-likelihood (natural log) of x under the head distribution.

    head: [B, n_out, H, W] in head units (logits nat-log, means pixel units, ln-scale,
    raw coefficients).  x: [B, C, H, W] pixel values 0..255 (float).
    Returns [B, H, W] natural-log likelihood. Works with torch (default) or numpy-float64
    via the torch path as well (callers convert).
    ref: None (coupling on x - 127.5) or [B, C, K, H, W] per-component reference values in
    pixel units (predictor-relative means: coupling on the residuals x - P_k(x)).
    """
    import torch
    import torch.nn.functional as F

    Bn, _, H, Wd = head.shape
    logits = head[:, :K].clamp(-32, 32)
    means = head[:, K : K + C * K].clamp(-256, 512).reshape(Bn, C, K, H, Wd)
    lns = head[:, K + C * K : K + 2 * C * K].clamp(-3, 6).reshape(Bn, C, K, H, Wd)
    xs = x.unsqueeze(2)  # [B,C,1,H,W]
    if C == 3:
        co = torch.tanh(head[:, K + 2 * C * K : K + 3 * C * K].clamp(-8, 8)).reshape(
            Bn, 3, K, H, Wd
        )
        if ref is None:
            r = xs[:, 0] - 127.5
            g = xs[:, 1] - 127.5
        else:
            r = xs[:, 0] - ref[:, 0]
            g = xs[:, 1] - ref[:, 1]
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


# --------------------------------------------------------------------------------------
# Mean parametrisation (model metadata `nelloc.mean_base`, docs/FORMAT.md section 4).
# "absolute": head means are pixel values (training: 127.5 + 127.5 * o).
# A list of K predictor names: component k's mean for channel c is P_k (a classical
# integer predictor of channel c's causal neighbours, in Q8 = pixel * 256) plus an offset
# (training: 32 * o), and the channel coupling acts on the residuals x - P_k(x).
PRED10 = [
    "W",
    "N",
    "avg_W_N",
    "med_W_N_NW",
    "grad_W_N_NW",
    "avg_W_NE",
    "NE",
    "NW",
    "lin_W_WW",
    "lin_N_NN",
]
MEAN_OFFSET_SCALE = 32.0
Q8_OUTSIDE = 32640  # 127.5 * 256: the value of a position outside the tile
Q8_MAX = 65280  # 255 * 256

# neighbour -> index into CONTEXT
_CTX_INDEX = {(dy, dx): i for i, (dy, dx) in enumerate(CONTEXT)}
NEIGHBOURS = {
    "W": _CTX_INDEX[(0, -1)],
    "WW": _CTX_INDEX[(0, -2)],
    "N": _CTX_INDEX[(-1, 0)],
    "NN": _CTX_INDEX[(-2, 0)],
    "NW": _CTX_INDEX[(-1, -1)],
    "NE": _CTX_INDEX[(-1, 1)],
}


def predictors_q8(ctx_v, C, names, xp=np):
    """Integer predictors in Q8 from contexts in network units (v = 2x - 255, 0 outside).

    ctx_v: integer array [N, 24*C]; returns int64 [N, C, K] (xp = numpy or torch)."""

    def nb(name):
        i = NEIGHBOURS[name]
        v = ctx_v[:, i * C : (i + 1) * C]
        return (v + 255) * 128  # exact Q8; outside (v = 0) -> 32640

    W_, WW, N_, NN, NW, NE = (nb(n) for n in ("W", "WW", "N", "NN", "NW", "NE"))
    if xp is np:
        W_, WW, N_, NN, NW, NE = (a.astype(np.int64) for a in (W_, WW, N_, NN, NW, NE))
        mn, mx, clip, stack = np.minimum, np.maximum, np.clip, np.stack
        where = np.where
    else:
        import torch

        W_, WW, N_, NN, NW, NE = (a.long() for a in (W_, WW, N_, NN, NW, NE))
        mn, mx, clip, stack, where = (
            torch.minimum,
            torch.maximum,
            torch.clamp,
            torch.stack,
            torch.where,
        )
    out = []
    for n in names:
        if n == "W":
            p = W_
        elif n == "N":
            p = N_
        elif n == "NE":
            p = NE
        elif n == "NW":
            p = NW
        elif n == "avg_W_N":
            p = (W_ + N_) // 2
        elif n == "avg_W_NE":
            p = (W_ + NE) // 2
        elif n == "med_W_N_NW":
            lo, hi = mn(W_, N_), mx(W_, N_)
            p = where(NW >= hi, lo, where(NW <= lo, hi, W_ + N_ - NW))
        elif n == "grad_W_N_NW":
            p = clip(W_ + N_ - NW, 0, Q8_MAX)
        elif n == "lin_W_WW":
            p = clip(2 * W_ - WW, 0, Q8_MAX)
        elif n == "lin_N_NN":
            p = clip(2 * N_ - NN, 0, Q8_MAX)
        else:
            raise ValueError(f"unknown predictor {n}")
        out.append(p)
    return stack(out, -1)  # [N, C, K]


def head_loglik_pixels(o, x, C, mean_base, K=MIXTURES, base_q8=None):
    """Per-pixel natural-log likelihood for flat per-pixel outputs.

    o: raw network outputs [N, n_out]; x: [N, C] pixel values (float);
    mean_base: None (absolute) or predictor names (then base_q8 [N, C, K] is required)."""
    import torch

    N = o.shape[0]
    if mean_base is None:
        head = raw_to_head(o[:, :, None, None], C)
        return head_log2_likelihood(head, x[:, :, None, None], C)[:, 0, 0]
    base = base_q8.to(o.dtype) / 256.0  # pixel units [N, C, K]
    means = base.reshape(N, C * K) + MEAN_OFFSET_SCALE * o[:, K : K + C * K]
    head = torch.cat([o[:, :K], means, o[:, K + C * K :]], dim=1)[:, :, None, None]
    return head_log2_likelihood(head, x[:, :, None, None], C, ref=base[:, :, :, None, None])[
        :, 0, 0
    ]
