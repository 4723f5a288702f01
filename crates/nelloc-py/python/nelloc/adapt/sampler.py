"""Independent-pixel sampling with causal contexts (``--sampling pixels`` in training/)."""

import numpy as np

from .nn import CONTEXT, HORIZON


class PixelSampler:
    """Independent pixels drawn uniformly from the whole training set (and its mirror
    images), each with its 24-position causal context in network units v = 2x - 255
    (0 outside the image, i.e. mid grey, as at a tile border in the codec).

    Images are stored padded (HORIZON rows above, HORIZON columns each side) in one flat
    int16 array so that a batch is one fancy-indexing gather.  `extra` are synthetic
    images drawn with total probability `extra_p`."""

    def __init__(self, arrays, C, rng, flip=True, extra=(), extra_p=0.0):
        self.C, self.rng = C, rng
        flats, starts, hs, ws = [], [], [], []
        off = 0
        groups = []
        for group in (arrays, extra):
            n0 = len(hs)
            for a in group:
                a = a[1] if isinstance(a, tuple) else a
                if a.ndim == 2:
                    a = a[:, :, None]
                for img in [a, a[:, ::-1]] if flip else [a]:
                    H, W = img.shape[:2]
                    S = W + 2 * HORIZON
                    pad = np.zeros((H + HORIZON, S, C), np.int16)
                    pad[HORIZON:, HORIZON : HORIZON + W] = 2 * img.astype(np.int16) - 255
                    flats.append(pad.reshape(-1, C))
                    starts.append(off)
                    off += pad.shape[0] * S
                    hs.append(H)
                    ws.append(W)
            groups.append((n0, len(hs)))
        self.flat = np.concatenate(flats)
        self.start = np.array(starts, np.int64)
        self.h = np.array(hs, np.int64)
        self.w = np.array(ws, np.int64)
        area = (self.h * self.w).astype(np.float64)
        p = np.zeros(len(hs))
        (a0, a1), (e0, e1) = groups
        ep = extra_p if e1 > e0 else 0.0
        p[a0:a1] = area[a0:a1] / area[a0:a1].sum() * (1 - ep)
        if e1 > e0:
            p[e0:e1] = area[e0:e1] / area[e0:e1].sum() * ep
        self.p = p / p.sum()
        self.dy = np.array([dy for dy, _ in CONTEXT], np.int64)
        self.dx = np.array([dx for _, dx in CONTEXT], np.int64)
        self.pixels = int(area[a0:a1].sum())

    def batch(self, n):
        r = self.rng
        i = r.choice(len(self.p), size=n, p=self.p)
        y = (r.random(n) * self.h[i]).astype(np.int64)
        x = (r.random(n) * self.w[i]).astype(np.int64)
        S = self.w[i] + 2 * HORIZON
        centre = self.start[i] + (y + HORIZON) * S + x + HORIZON
        idx = centre[:, None] + self.dy[None, :] * S[:, None] + self.dx[None, :]
        ctx = self.flat[idx].reshape(n, 24 * self.C)  # [n, 24*C], position-major
        v = self.flat[centre]
        import torch

        return torch.from_numpy(ctx), torch.from_numpy((v.astype(np.int64) + 255) // 2)
