"""Integer export of a float NeLLoC model (the format the Rust engine runs bit-exactly).

Shared by ``python -m nelloc.adapt`` and ``training/export.py`` (one code path: the same
rounding, the same range checks). Scheme (fixed; crates/nelloc implements exactly this
forward pass):

  * every layer L has  L.weight int8 [out,in] in [-64,63],  L.bias int32 [out],
    L.mult int32 [out] (M in [2^30, 2^31) normally),  L.shift int32 [out] (S in 1..62)
  * acc = bias + sum w*in (int32, exact);  rq = (acc*M + 2^(S-1)) >> S  (int64, floor shift)
  * conv_in input: v = 2x-255 for pixels inside the tile, 0 outside (scale 1/255);
    context order: dy=-3..-1 x dx=-3..3, then dy=0 x dx=-3..-1; index p*C + c
  * conv_in, res{b}_0, res{b}_1, hidden:  a = clip(rq, 0, 255)
  * res{b}_2:  r = clip(rq, -255, 255) at the scale of the block input h;  h = clip(h + r, 0, 255)
  * out:  o = clip(rq, -2^23, 2^23) = head value * 256
Head (float, on o/256): logits [-32,32]; means (pixel units) [-256,512]; ln-scale [-3,6];
coefficients tanh(clamp(raw,-8,8)); see nn.head_log2_likelihood.

Also an exact NumPy simulation of the integer network (``int_forward``, ``int_bpsp``) and
``dequantise``: float weights back from an integer model file (the starting point of
``nelloc.adapt``). torch is imported lazily.
"""

import hashlib
import json
import math

import numpy as np

from .nn import (
    CONTEXT,
    HORIZON,
    MEAN_OFFSET_SCALE,
    MIXTURES,
    build_model,
    contexts,
    head_log2_likelihood,
    head_loglik_pixels,
    n_out,
    predictors_q8,
    raw_to_head,
)

ACT_PERCENTILE = 99.999
WMAX_POS, WMIN_NEG = 63, -64
BIAS_LIMIT = 1 << 24
OUT_FRAC_BITS = 8
OUT_CLIP = 1 << 23


# ---------------------------------------------------------------------------------------
# float model as plain matrices
def float_layers(model, mean_base=None):
    """Return ordered list of (name, W [out,in] float64, b [out] float64, kind)."""
    C, K = model.C, MIXTURES
    w = (model.conv_in.weight * model.conv_in.mask).detach().double().numpy()
    Wc = np.zeros((w.shape[0], 24 * C))
    for p, (dy, dx) in enumerate(CONTEXT):
        for c in range(C):
            Wc[:, p * C + c] = w[:, c, dy + HORIZON, dx + HORIZON]
    layers = [("conv_in", Wc, model.conv_in.bias.detach().double().numpy(), "relu")]

    def mat(conv):
        return conv.weight.detach().double().numpy()[
            :, :, 0, 0
        ], conv.bias.detach().double().numpy()

    for b, r in enumerate(model.res):
        layers.append((f"res{b}_0", *mat(r.c0), "relu"))
        layers.append((f"res{b}_1", *mat(r.c1), "relu"))
        layers.append((f"res{b}_2", *mat(r.c2), "residual"))
    layers.append(("hidden", *mat(model.hidden), "relu"))
    Wo, bo = mat(model.out)
    Wo, bo = Wo.copy(), bo.copy()
    if mean_base is None:
        # fold the mean affine 127.5 + 127.5*o into the last layer (head units = pixel units)
        Wo[K : K + C * K] *= 127.5
        bo[K : K + C * K] = bo[K : K + C * K] * 127.5 + 127.5
    else:
        # predictor-relative: the head outputs the offset 32*o (pixel units); the base
        # P_k is added by the decoder (docs/FORMAT.md section 4)
        Wo[K : K + C * K] *= MEAN_OFFSET_SCALE
        bo[K : K + C * K] *= MEAN_OFFSET_SCALE
    layers.append(("out", Wo, bo, "out"))
    return layers


def float_forward(layers, ctx, collect=None):
    """Float forward on contexts (float64).  ctx in v units; input scale 1/255."""
    x = ctx / 255.0
    h = None
    a = x
    for name, Wm, b, kind in layers:
        if kind == "relu":
            a = np.maximum(a @ Wm.T + b, 0)
            if name == "conv_in":
                h = a
                if collect is not None:
                    collect.setdefault("h", []).append(a)
            elif collect is not None:
                collect.setdefault(name, []).append(a)
        elif kind == "residual":
            h = np.maximum(h + a @ Wm.T + b, 0)
            a = h
            if collect is not None:
                collect.setdefault("h", []).append(h)
        else:
            return a @ Wm.T + b
    raise AssertionError


# ---------------------------------------------------------------------------------------
def quantize_layer(Wm, b, s_in, s_out):
    maxabs = np.abs(Wm).max(axis=1)
    sw = np.maximum(maxabs / WMAX_POS, np.abs(b) / (s_in * (BIAS_LIMIT - 1)))
    sw = np.maximum(sw, 1e-12)
    q = np.clip(np.rint(Wm / sw[:, None]), WMIN_NEG, WMAX_POS).astype(np.int8)
    bias = np.clip(np.rint(b / (sw * s_in)), -BIAS_LIMIT, BIAS_LIMIT).astype(np.int32)
    mult, shift = requant_params(sw, s_in, s_out)
    return q, bias, mult, shift


def calibrate(layers, calib_imgs, C, percentile=ACT_PERCENTILE):
    """Activation scale per layer: the `percentile` of its float activations on the
    calibration images (uint8 [H, W, C]), mapped to 255."""
    coll = {}
    for img in calib_imgs:
        float_forward(layers, contexts(img, C).astype(np.float64), coll)
    scales = {}
    for k, v in coll.items():
        allv = np.concatenate([x.ravel() for x in v])
        p = float(np.percentile(allv, percentile))
        scales[k] = max(p, 1e-6) / 255.0
    return scales


def requant_params(sw, s_in, s_out):
    ratio = sw * s_in / s_out
    mult = np.zeros(len(sw), np.int64)
    shift = np.zeros(len(sw), np.int64)
    for o, r in enumerate(ratio):
        S = 30 - math.floor(math.log2(r))
        M = int(round(r * 2.0**S))
        if M >= 1 << 31:
            S -= 1
            M = int(round(r * 2.0**S))
        if S > 62:
            S = 62
            M = int(round(r * 2.0**S))
        assert 1 <= S <= 62, (S, r)
        M = min(M, (1 << 31) - 1)
        mult[o], shift[o] = M, S
    return mult.astype(np.int32), shift.astype(np.int32)


def gptq_layer(Wm, b, X, s_in, s_out, damp=0.01):
    """GPTQ-style rounding (Frantar et al. 2022) of one layer on calibration inputs X
    (real units, [N, in]): weights are rounded column by column and the rounding error is
    compensated in the not-yet-rounded columns and in the (high precision) bias, using
    the second moment of the actual (quantized-network) inputs."""
    maxabs = np.abs(Wm).max(axis=1)
    sw = np.maximum(maxabs / WMAX_POS, np.abs(b) / (s_in * (BIAS_LIMIT - 1) * 0.5))
    sw = np.maximum(sw, 1e-12)
    n_in = Wm.shape[1]
    Wa = np.concatenate([Wm / sw[:, None], (b / sw)[:, None]], axis=1)
    Xa = np.concatenate([X, np.ones((X.shape[0], 1))], axis=1)
    H = Xa.T @ Xa / X.shape[0]
    d = np.diag(H)[:n_in].copy()
    dead = d <= 0
    di = np.nonzero(dead)[0]
    H[di, di] = 1.0
    Wa[:, di] = 0.0
    H[np.arange(n_in), np.arange(n_in)] += damp * max(float(d.mean()), 1e-12)
    H[n_in, n_in] += 1e-6
    U = np.linalg.cholesky(np.linalg.inv(H)).T  # upper Cholesky factor of H^-1
    for i in range(n_in):
        w = Wa[:, i]
        q = np.clip(np.rint(w), WMIN_NEG, WMAX_POS)
        err = (w - q) / U[i, i]
        Wa[:, i:] -= err[:, None] * U[i, i:][None, :]
        Wa[:, i] = q
    q = Wa[:, :n_in].astype(np.int8)
    bias = np.clip(np.rint(Wa[:, n_in] / s_in), -BIAS_LIMIT, BIAS_LIMIT).astype(np.int32)
    M, S = requant_params(sw, s_in, s_out)
    return q, bias, M, S


def int_layer(ql, a, h):
    """One exact integer layer. a: input codes, h: residual stream codes. -> (a, h)."""
    name, q, bias, M, S, kind = ql
    accf = a.astype(np.float64) @ q.astype(np.float64).T
    acc = np.rint(accf).astype(np.int64) + bias.astype(np.int64)[None, :]
    assert np.abs(acc).max() < 2**31, name
    r = rq(acc, M, S)
    if kind == "relu":
        a = np.clip(r, 0, 255)
        if name == "conv_in":
            h = a
    elif kind == "residual":
        h = np.clip(h + np.clip(r, -255, 255), 0, 255)
        a = h
    else:
        a = np.clip(r, -OUT_CLIP, OUT_CLIP)
    return a, h


def quantize(layers, scales, calib_ctx=None):
    """calib_ctx: int64 [N, 24C] calibration contexts -> GPTQ rounding; None -> round to nearest."""
    tensors = {}
    qlayers = []
    s_h = scales["h"]
    s_in = 1.0 / 255.0
    info = {}
    a = h = None
    if calib_ctx is not None:
        a = calib_ctx
    for name, Wm, b, kind in layers:
        if name == "conv_in":
            s_out = s_h
        elif kind == "relu":
            s_out = scales[name]
        elif kind == "residual":
            s_out = s_h
        else:
            s_out = 1.0 / (1 << OUT_FRAC_BITS)
        if calib_ctx is None:
            q, bias, M, S = quantize_layer(Wm, b, s_in, s_out)
        else:
            q, bias, M, S = gptq_layer(Wm, b, a * s_in, s_in, s_out)
        tensors[f"{name}.weight"] = q
        tensors[f"{name}.bias"] = bias
        tensors[f"{name}.mult"] = M
        tensors[f"{name}.shift"] = S
        ql = (name, q, bias, M, S, kind)
        qlayers.append(ql)
        if calib_ctx is not None and kind != "out":
            a, h = int_layer(ql, a, h)
        info[name] = {"s_in": s_in, "s_out": s_out}
        # next input scale
        if kind == "relu" and name != "conv_in":
            s_in = s_out
        elif name == "conv_in" or kind == "residual":
            s_in = s_h
    return tensors, qlayers, info


def rq(acc, M, S):
    return (
        acc * M[None, :].astype(np.int64) + (np.int64(1) << (S[None, :].astype(np.int64) - 1))
    ) >> S[None, :].astype(np.int64)


def int_forward(qlayers, ctx):
    """Exact integer forward.  ctx int64 [N, 24*C] -> int64 [N, n_out] (head * 256).

    Matrix products are done in float64, which is exact here (|acc| < 2^31 << 2^53)."""
    a, h = ctx, None
    for ql in qlayers:
        a, h = int_layer(ql, a, h)
        if ql[5] not in ("relu", "residual"):
            return a
    raise AssertionError


def head_ll_q8(o, ctx, img_rows, C, mean_base):
    """Natural-log likelihood per pixel of integer head outputs o [N, n_out] (Q8)."""
    import torch

    x = torch.from_numpy(img_rows.reshape(-1, C).astype(np.float64))
    if mean_base is None:
        head = torch.from_numpy(o.astype(np.float64) / (1 << OUT_FRAC_BITS))[:, :, None, None]
        return head_log2_likelihood(head, x[:, :, None, None], C)[:, 0, 0]
    K = MIXTURES
    base = torch.from_numpy(predictors_q8(ctx, C, mean_base))
    # the head's Q8 offsets, in the units head_loglik_pixels expects (raw o = offset / 32)
    raw = torch.from_numpy(o.astype(np.float64) / (1 << OUT_FRAC_BITS))
    raw[:, K : K + C * K] /= MEAN_OFFSET_SCALE
    return head_loglik_pixels(raw, x, C, mean_base, base_q8=base)


def int_bpsp(qlayers, val, C, rows=64, mean_base=None):
    tot, n = 0.0, 0
    per = {}
    for key, img in val:
        if img.ndim == 2:
            img = img[:, :, None]
        H, Wd = img.shape[:2]
        ctx = contexts(img, C)
        t = 0.0
        for y in range(0, H, rows):
            sl = slice(y * Wd, min(H, y + rows) * Wd)
            o = int_forward(qlayers, ctx[sl])
            hh = min(H, y + rows) - y
            t += float(head_ll_q8(o, ctx[sl], img[y : y + hh], C, mean_base).sum())
        per[key] = -t / (H * Wd * C * math.log(2))
        tot += t
        n += H * Wd
    return -tot / (n * C * math.log(2)), per


def float_bpsp(model, val, C, mean_base=None):
    """Float64 full-image evaluation via torch (same as train.evaluate but double)."""
    import torch

    m = model.double()
    if mean_base is not None:
        return float_bpsp_pixels(m, val, C, mean_base)
    tot, n = 0.0, 0
    per = {}
    with torch.no_grad():
        for key, img in val:
            if img.ndim == 2:
                img = img[:, :, None]
            x = torch.from_numpy(img.astype(np.float64)).permute(2, 0, 1)[None]
            t = 0.0
            H = x.shape[2]
            for y in range(0, H, 128):
                y0 = max(0, y - 3)
                xb = x[:, :, y0 : y + 128]
                head = raw_to_head(m(xb), C)[:, :, y - y0 :]
                t += float(head_log2_likelihood(head, xb[:, :, y - y0 :], C).sum())
            per[key] = -t / (img.shape[0] * img.shape[1] * C * math.log(2))
            tot += t
            n += img.shape[0] * img.shape[1]
    model.float()
    return -tot / (n * C * math.log(2)), per


def float_bpsp_pixels(m, val, C, mean_base, chunk=32768):
    """Float64 per-pixel evaluation (each image one tile) of a predictor-relative model."""
    import torch

    tot, n = 0.0, 0
    per = {}
    with torch.no_grad():
        for key, img in val:
            if img.ndim == 2:
                img = img[:, :, None]
            ctx = contexts(img, C)
            tg = img.reshape(-1, C)
            t = 0.0
            for i in range(0, ctx.shape[0], chunk):
                c = torch.from_numpy(ctx[i : i + chunk])
                o = m.forward_ctx(c.double())
                base = predictors_q8(c, C, mean_base, xp=torch)
                ll = head_loglik_pixels(
                    o,
                    torch.from_numpy(tg[i : i + chunk].astype(np.float64)),
                    C,
                    mean_base,
                    base_q8=base,
                )
                t += float(ll.sum())
            per[key] = -t / (img.shape[0] * img.shape[1] * C * math.log(2))
            tot += t
            n += img.shape[0] * img.shape[1]
    m.float()
    return -tot / (n * C * math.log(2)), per


# ---------------------------------------------------------------------------------------
# model files
def arch_meta(C, width, res_blocks, mean_base=None):
    arch = {
        "horizon": HORIZON,
        "channels": C,
        "width": width,
        "res_blocks": res_blocks,
        "mixtures": MIXTURES,
        "output_frac_bits": OUT_FRAC_BITS,
    }
    if mean_base is not None:
        arch["mean_base"] = list(mean_base)
    return arch


def model_metadata(name, arch, training, quant):
    """The safetensors metadata of a model file (docs/FORMAT.md: model files)."""
    return {
        "nelloc.format": "nelloc-model",
        "nelloc.version": "1",
        "nelloc.name": name,
        "nelloc.arch": json.dumps(arch),
        "nelloc.training": json.dumps(training),
        "nelloc.quantization": json.dumps(quant),
    }


def check_tensors(tensors):
    """The integer ranges the Rust engine relies on; AssertionError if one is violated."""
    for k, v in tensors.items():
        if k.endswith(".weight"):
            assert v.dtype == np.int8 and v.min() >= WMIN_NEG and v.max() <= WMAX_POS, k
        if k.endswith(".bias"):
            assert np.abs(v.astype(np.int64)).max() <= BIAS_LIMIT, k
        if k.endswith(".shift"):
            assert v.min() >= 1 and v.max() <= 62, k


def write_model_file(out, tensors, meta):
    """Writes an integer model file (mode 0644) and checks its ranges; returns its SHA-256
    (hex; the hash a .nlc file names its model by)."""
    import os

    from safetensors.numpy import save

    check_tensors(tensors)
    data = save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata=meta)
    data = canonical_header(data, meta)
    with open(out, "wb") as f:
        f.write(data)
    os.chmod(out, 0o644)
    return hashlib.sha256(data).hexdigest()


def canonical_header(data, meta=None):
    """The same safetensors file with a deterministic header: the safetensors writer
    orders the metadata keys at random (a hash map), so two exports of one checkpoint
    differed in their bytes and therefore in their model hash. Here: metadata in the
    order given, then the tensors by data offset; compact JSON padded with spaces to a
    multiple of 8 bytes (the data section is unchanged)."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n].decode())
    stored = header.pop("__metadata__", None)
    if meta is not None:
        assert stored == meta
    else:
        meta = stored
    out = {}
    if meta is not None:
        out["__metadata__"] = meta
    for k in sorted(header, key=lambda k: (header[k]["data_offsets"], k)):
        out[k] = header[k]
    h = json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
    h += b" " * (-len(h) % 8)
    return len(h).to_bytes(8, "little") + h + data[8 + n :]


def read_model_file(data):
    """(tensors as NumPy arrays, metadata) of model file bytes."""
    from safetensors.numpy import load

    n = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8 : 8 + n].decode()).get("__metadata__", {})
    return load(data), meta


def dequantise(tensors, meta):
    """A float model (torch) that computes what the integer model file computes, up to the
    rounding of weights and activations: weight = q * (M / 2^S) * s_out / s_in, bias =
    b * (M / 2^S) * s_out, with the activation scales s of the file's quantization
    metadata (1/255 where absent: a ReLU network is invariant under a positive rescaling
    of its hidden units, so any scale gives the same function), and the mean folding of
    the last layer undone. Returns (model, mean_base or None, arch dict)."""
    import torch

    arch = json.loads(meta["nelloc.arch"])
    C, W, rs = arch["channels"], arch["width"], arch["res_blocks"]
    if arch.get("horizon", HORIZON) != HORIZON or arch.get("mixtures", MIXTURES) != MIXTURES:
        raise ValueError(f"unsupported architecture {arch}")
    mean_base = arch.get("mean_base")
    try:
        scales = json.loads(meta["nelloc.quantization"])["calibration"]["scales"]
    except (KeyError, ValueError, TypeError):
        scales = {}

    def scale(name):
        return float(scales.get(name, 1.0 / 255.0))

    K = MIXTURES
    s_h = scale("conv_in")
    names = ["conv_in"]
    for b in range(rs):
        names += [f"res{b}_0", f"res{b}_1", f"res{b}_2"]
    names += ["hidden", "out"]
    mats = {}
    s_in = 1.0 / 255.0
    for name in names:
        if name == "out":
            s_out = 1.0 / (1 << OUT_FRAC_BITS)
        elif name == "conv_in" or name.endswith("_2"):
            s_out = s_h
        else:
            s_out = scale(name)
        q = tensors[f"{name}.weight"].astype(np.float64)
        r = tensors[f"{name}.mult"].astype(np.float64) / np.exp2(
            tensors[f"{name}.shift"].astype(np.float64)
        )
        Wm = q * (r * s_out / s_in)[:, None]
        bv = tensors[f"{name}.bias"].astype(np.float64) * r * s_out
        mats[name] = (Wm, bv)
        s_in = s_out
    Wo, bo = mats["out"]
    if mean_base is None:
        Wo[K : K + C * K] /= 127.5
        bo[K : K + C * K] = (bo[K : K + C * K] - 127.5) / 127.5
    else:
        Wo[K : K + C * K] /= MEAN_OFFSET_SCALE
        bo[K : K + C * K] /= MEAN_OFFSET_SCALE
    model = build_model(C, W, rs)
    with torch.no_grad():
        Wc, bc = mats["conv_in"]
        w = torch.zeros_like(model.conv_in.weight, dtype=torch.float64)
        for p, (dy, dx) in enumerate(CONTEXT):
            for c in range(C):
                w[:, c, dy + HORIZON, dx + HORIZON] = torch.from_numpy(Wc[:, p * C + c])
        model.conv_in.weight.copy_(w)
        model.conv_in.bias.copy_(torch.from_numpy(bc))

        def put(conv, name):
            Wm, bv = mats[name]
            conv.weight.copy_(torch.from_numpy(Wm)[:, :, None, None])
            conv.bias.copy_(torch.from_numpy(bv))

        for b, blk in enumerate(model.res):
            put(blk.c0, f"res{b}_0")
            put(blk.c1, f"res{b}_1")
            put(blk.c2, f"res{b}_2")
        put(model.hidden, "hidden")
        put(model.out, "out")
    assert n_out(C) == model.out.weight.shape[0]
    return model, (list(mean_base) if mean_base else None), arch
