"""Export a trained NeLLoC checkpoint to the integer safetensors format.

Scheme (fixed; the Rust engine in crates/ implements exactly this forward pass):
  * every layer L has  L.weight int8 [out,in] in [-64,63],  L.bias int32 [out],
    L.mult int32 [out] (M in [2^30, 2^31) normally),  L.shift int32 [out] (S in 1..62)
  * acc = bias + sum w*in (int32, exact);  rq = (acc*M + 2^(S-1)) >> S  (int64, floor shift)
  * conv_in input: v = 2x-255 for pixels inside the tile, 0 outside (scale 1/255);
    context order: dy=-3..-1 x dx=-3..3, then dy=0 x dx=-3..-1; index p*C + c
  * conv_in, res{b}_0, res{b}_1, hidden:  a = clip(rq, 0, 255)
  * res{b}_2:  r = clip(rq, -255, 255) at the scale of the block input h;  h = clip(h + r, 0, 255)
  * out:  o = clip(rq, -2^23, 2^23) = head value * 256
Head (float, on o/256): logits [-32,32]; means (pixel units) [-256,512]; ln-scale [-3,6];
coefficients tanh(clamp(raw,-8,8)); see common.head_log2_likelihood.

Also contains an exact numpy simulation of the integer network and reports float vs
integer-simulated validation bpsp.

usage: python3 training/export.py --name rgb-v1 [--model-name default]
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (CONTEXT, DATA_DIR, MEAN_OFFSET_SCALE, PRED10, contexts, HERE, HORIZON,
                    MIXTURES, build_model, head_log2_likelihood, head_loglik_pixels, load_npz, n_out,
                    predictors_q8, raw_to_head)

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
        return conv.weight.detach().double().numpy()[:, :, 0, 0], conv.bias.detach().double().numpy()

    for b, r in enumerate(model.res):
        layers.append((f"res{b}_0", *mat(r.c0), "relu"))
        layers.append((f"res{b}_1", *mat(r.c1), "relu"))
        layers.append((f"res{b}_2", *mat(r.c2), "residual"))
    layers.append(("hidden", *mat(model.hidden), "relu"))
    Wo, bo = mat(model.out)
    Wo, bo = Wo.copy(), bo.copy()
    if mean_base is None:
        # fold the mean affine 127.5 + 127.5*o into the last layer (head units = pixel units)
        Wo[K:K + C * K] *= 127.5
        bo[K:K + C * K] = bo[K:K + C * K] * 127.5 + 127.5
    else:
        # predictor-relative: the head outputs the offset 32*o (pixel units); the base
        # P_k is added by the decoder (docs/FORMAT.md section 4)
        Wo[K:K + C * K] *= MEAN_OFFSET_SCALE
        bo[K:K + C * K] *= MEAN_OFFSET_SCALE
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
    ratio = sw * s_in / s_out
    mult = np.zeros(len(b), np.int64)
    shift = np.zeros(len(b), np.int64)
    for o, r in enumerate(ratio):
        S = 30 - math.floor(math.log2(r))
        M = int(round(r * 2.0 ** S))
        if M >= 1 << 31:
            S -= 1
            M = int(round(r * 2.0 ** S))
        if S > 62:
            S = 62
            M = int(round(r * 2.0 ** S))
        assert 1 <= S <= 62, (S, r)
        M = min(M, (1 << 31) - 1)
        mult[o], shift[o] = M, S
    return q, bias, mult.astype(np.int32), shift.astype(np.int32)


def calibrate(layers, calib_imgs, C):
    coll = {}
    for img in calib_imgs:
        float_forward(layers, contexts(img, C).astype(np.float64), coll)
    scales = {}
    for k, v in coll.items():
        allv = np.concatenate([x.ravel() for x in v])
        p = float(np.percentile(allv, ACT_PERCENTILE))
        scales[k] = max(p, 1e-6) / 255.0
    return scales


def requant_params(sw, s_in, s_out):
    ratio = sw * s_in / s_out
    mult = np.zeros(len(sw), np.int64)
    shift = np.zeros(len(sw), np.int64)
    for o, r in enumerate(ratio):
        S = 30 - math.floor(math.log2(r))
        M = int(round(r * 2.0 ** S))
        if M >= 1 << 31:
            S -= 1
            M = int(round(r * 2.0 ** S))
        if S > 62:
            S = 62
            M = int(round(r * 2.0 ** S))
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
    assert np.abs(acc).max() < 2 ** 31, name
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
    return (acc * M[None, :].astype(np.int64) + (np.int64(1) << (S[None, :].astype(np.int64) - 1))) \
        >> S[None, :].astype(np.int64)


def int_forward(qlayers, ctx):
    """Exact integer forward.  ctx int64 [N, 24*C] -> int64 [N, n_out] (head * 256).

    Matrix products are done in float64, which is exact here (|acc| < 2^31 << 2^53)."""
    a = ctx
    h = None
    for name, q, bias, M, S, kind in qlayers:
        accf = a.astype(np.float64) @ q.astype(np.float64).T
        acc = np.rint(accf).astype(np.int64) + bias.astype(np.int64)[None, :]
        assert np.abs(acc).max() < 2 ** 31, name
        r = rq(acc, M, S)
        if kind == "relu":
            a = np.clip(r, 0, 255)
            if name == "conv_in":
                h = a
        elif kind == "residual":
            h = np.clip(h + np.clip(r, -255, 255), 0, 255)
            a = h
        else:
            return np.clip(r, -OUT_CLIP, OUT_CLIP)
    raise AssertionError


def head_ll_q8(o, ctx, img_rows, C, mean_base):
    """Natural-log likelihood per pixel of integer head outputs o [N, n_out] (Q8)."""
    x = torch.from_numpy(img_rows.reshape(-1, C).astype(np.float64))
    if mean_base is None:
        head = torch.from_numpy(o.astype(np.float64) / (1 << OUT_FRAC_BITS))[:, :, None, None]
        return head_log2_likelihood(head, x[:, :, None, None], C)[:, 0, 0]
    K = MIXTURES
    base = torch.from_numpy(predictors_q8(ctx, C, mean_base))
    # the head's Q8 offsets, in the units head_loglik_pixels expects (raw o = offset / 32)
    raw = torch.from_numpy(o.astype(np.float64) / (1 << OUT_FRAC_BITS))
    raw[:, K:K + C * K] /= MEAN_OFFSET_SCALE
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
            t += float(head_ll_q8(o, ctx[sl], img[y:y + hh], C, mean_base).sum())
        per[key] = -t / (H * Wd * C * math.log(2))
        tot += t
        n += H * Wd
    return -tot / (n * C * math.log(2)), per


def float_bpsp(model, val, C, mean_base=None):
    """Float64 full-image evaluation via torch (same as train.evaluate but double)."""
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
                xb = x[:, :, y0:y + 128]
                head = raw_to_head(m(xb), C)[:, :, y - y0:]
                t += float(head_log2_likelihood(head, xb[:, :, y - y0:], C).sum())
            per[key] = -t / (img.shape[0] * img.shape[1] * C * math.log(2))
            tot += t
            n += img.shape[0] * img.shape[1]
    model.float()
    return -tot / (n * C * math.log(2)), per


def float_bpsp_pixels(m, val, C, mean_base, chunk=32768):
    """Float64 per-pixel evaluation (each image one tile) of a predictor-relative model."""
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
                c = torch.from_numpy(ctx[i:i + chunk])
                o = m.forward_ctx(c.double())
                base = predictors_q8(c, C, mean_base, xp=torch)
                ll = head_loglik_pixels(o, torch.from_numpy(tg[i:i + chunk].astype(np.float64)), C,
                                        mean_base, base_q8=base)
                t += float(ll.sum())
            per[key] = -t / (img.shape[0] * img.shape[1] * C * math.log(2))
            tot += t
            n += img.shape[0] * img.shape[1]
    m.float()
    return -tot / (n * C * math.log(2)), per


def golden_vectors(qlayers, C, mean_base=None):
    """Bit-exact reference for the Rust engine: integer head outputs on a fixture photo
    treated as ONE tile (zero context outside the image)."""
    from PIL import Image
    fx = "dune_77x53.png" if C == 3 else "wood_gray_64x64.png"
    path = os.path.join(os.path.dirname(HERE), "fixtures", "photos", fx)
    img = np.asarray(Image.open(path).convert("RGB" if C == 3 else "L"), dtype=np.uint8)
    if img.ndim == 2:
        img = img[:, :, None]
    H, Wd = img.shape[:2]
    ctx = contexts(img, C)
    o = int_forward(qlayers, ctx).astype(np.int32).reshape(H, Wd, -1)
    import hashlib
    ll = head_ll_q8(o.reshape(H * Wd, -1).astype(np.int64), ctx, img, C, mean_base)
    bpsp = -float(ll.sum()) / (H * Wd * C * math.log(2))
    return {
        "fixture": f"fixtures/photos/{fx}", "height": H, "width": Wd, "channels": C,
        "note": "o[y][x][k] = integer head output (head*256) of the exact integer forward, whole image = one tile",
        "sha256_int32_le_hwk": hashlib.sha256(o.astype("<i4").tobytes()).hexdigest(),
        "top_left_8x8": o[:8, :8].tolist(),
        "int_sim_bpsp_ideal_coder": bpsp,
    }


def schedule_meta(args, weights):
    if args.get("sampling") == "pixels":
        sched = ({"kind": "open-ended", "warmup_min": args["warmup_min"], "decay": "lr * min(1, sqrt(decay_min / t))",
                  "decay_min": args["decay_min"], "ema": args["ema"]} if args.get("schedule") == "open" else
                 {"kind": "cosine to 1% of peak", "warmup_frac": args["warmup"],
                  "budget": ({"minutes": args["minutes"]} if args.get("minutes") else {"steps": args["steps"]})})
        return {"optimizer": "Adam", "peak_lr": args["lr"], **sched, "batch_pixels": args["batch"],
                "sampling": "independent pixels with their causal contexts (mirror images included)",
                "mean_base": args.get("mean_base"), "weights": weights,
                "padding": "mid grey outside the image", "grad_clip": 10.0}
    return {"optimizer": "Adam", "peak_lr": args["lr"], "warmup_frac": args["warmup"],
            "decay": "cosine to 1% of peak",
            "budget": ({"minutes": args["minutes"]} if args.get("minutes") else {"steps": args["steps"]}),
            "batch": args["batch"], "crop": args["crop"], "augment": "random crop + horizontal flip",
            "padding": "zero (mid grey) at crop borders", "grad_clip": 10.0}


def set_act_percentile(v):
    global ACT_PERCENTILE
    ACT_PERCENTILE = v


def _prior(init, key):
    """Sum of `key` over the chain of warm-restart ancestors."""
    t = 0
    while init:
        t += init.get(key) or 0
        init = init.get("history")
    return t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True, help="checkpoint name (training/checkpoints/<name>.pt)")
    p.add_argument("--model-name", default=None, help="nelloc.name metadata (default/gray)")
    p.add_argument("--out", default=None)
    p.add_argument("--calib-crops", type=int, default=48)
    p.add_argument("--calib-size", type=int, default=64)
    p.add_argument("--calib-flat", type=int, default=0,
                   help="widen the activation ranges to cover this many synthetic flat/saturated crops: the "
                        "constant colours of the RGB cube corners (gray: 0, 255) first, then "
                        "train.Sampler.synth patches of the calibration crops (seed 12345); without "
                        "them flat saturated areas (all-white) fall outside the activation ranges")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--raw-weights", action="store_true",
                   help="export the last iterate instead of the weight average of an open-ended run")
    p.add_argument("--skip-val", action="store_true", help="no validation (test fixtures)")
    p.add_argument("--act-percentile", type=float, default=ACT_PERCENTILE,
                   help="activation range = this percentile of the float activations on the calibration crops")
    a = p.parse_args()
    set_act_percentile(a.act_percentile)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    ck = torch.load(os.path.join(HERE, "checkpoints", f"{a.name}.pt"), map_location="cpu",
                    weights_only=False)
    args = ck["args"]
    C, W, rs = args["channels"], args["width"], args["res_blocks"]
    kind = "rgb" if C == 3 else "gray"
    model_name = a.model_name or ("default" if C == 3 else "gray")
    mean_base = PRED10 if args.get("mean_base", "absolute") == "pred10" else None
    model = build_model(C, W, rs)
    # open-ended runs ship the weight average (EMA), not the last iterate
    weights = "ema" if ck.get("ema") is not None and not a.raw_weights else "model"
    model.load_state_dict(ck[weights])
    model.eval()
    layers = float_layers(model, mean_base)

    # calibration data: fixed-seed random crops of the TRAINING data
    train = load_npz(os.path.join(DATA_DIR, f"train-{kind}.npz"))
    rng = np.random.default_rng(12345)
    calib = []
    cs = a.calib_size
    big = [x for _, x in train if x.shape[0] >= cs and x.shape[1] >= cs]
    for _ in range(a.calib_crops):
        img = big[rng.integers(len(big))]
        y = rng.integers(0, img.shape[0] - cs + 1)
        x = rng.integers(0, img.shape[1] - cs + 1)
        c = img[y:y + cs, x:x + cs]
        calib.append(c if c.ndim == 3 else c[:, :, None])
    if a.calib_flat:
        from train import Sampler
        corners = [np.array([(i >> k) & 1 for k in range(C)], np.uint8) * 255 for i in range(2 ** C)]
        srng = np.random.default_rng(12345)
        smp = Sampler([], C, cs, srng)
        extra = []
        for i in range(a.calib_flat):
            if i < len(corners):
                extra.append(np.zeros((cs, cs, C), np.uint8) + corners[i])
            else:
                extra.append(smp.synth(calib[srng.integers(len(calib))]))
    else:
        extra = []
    scales = calibrate(layers, calib, C)
    if extra:
        # ranges only: every activation of the flat crops stays inside the integer range;
        # the GPTQ rounding below still uses the photo crops only
        p0 = ACT_PERCENTILE
        set_act_percentile(100.0)
        sf = calibrate(layers, extra, C)
        set_act_percentile(p0)
        scales = {k: max(v, sf[k]) for k, v in scales.items()}
    calib_ctx = np.concatenate([contexts(c, C) for c in calib])
    tensors, qlayers, info = quantize(layers, scales, calib_ctx)

    val = load_npz(os.path.join(DATA_DIR, f"val-{kind}.npz"))
    if a.skip_val:
        val = [(k, v[:48, :48]) for k, v in val[:1]]
    fb, fper = float_bpsp(model, val, C, mean_base)
    print(f"float   val bpsp {fb:.4f}", flush=True)
    ib, iper = int_bpsp(qlayers, val, C, mean_base=mean_base)
    print(f"integer val bpsp {ib:.4f}  (+{100 * (ib / fb - 1):.3f}%)", flush=True)
    for k in fper:
        print(f"  {k:32s} float {fper[k]:.4f}  int {iper[k]:.4f}")

    manifest = json.load(open(os.path.join(DATA_DIR, "manifest.json")))
    st = ck["state"]
    training = {
        "data": {
            "recipe": manifest["recipe"],
            "sha256_all": manifest["sha256_all"],
            "sha256": manifest["sha256"][f"train-{kind}"],
            "pixels": manifest["pixels"][f"train-{kind}"],
            "kind": kind,
        },
        "steps": st["step"],
        "wall_time_s": round(st["elapsed"], 1),
        "schedule": schedule_meta(args, weights),
        "seed": args["seed"],
        "device": args["device"],
        "synthetic_frac": args.get("synthetic", 0.0),
        "synthetic": ("flat/clipped patches derived from training crops (train.py Sampler.synth)"
                      if args.get("synthetic") else "none"),
        "init_from": st.get("init_from"),
        "total_steps": st["step"] + _prior(st.get("init_from"), "steps"),
        "total_train_s": round(st["elapsed"] + _prior(st.get("init_from"), "train_s"), 1),
        "float_val_bpsp": round(fb, 5),
        "float_val_bpsp_per_image": {k: round(v, 5) for k, v in fper.items()},
    }
    quant = {
        "scheme": "int8 weights in [-64,63] per-output-channel symmetric (max|w|/63), rounded with "
                  "GPTQ error compensation (damp 0.01) on the calibration inputs of the integer network, "
                  "residual error folded into the int32 bias; "
                  "requantize (acc*M + 2^(S-1)) >> S; uint8 activations clip [0,255]; residual "
                  "clip [-255,255] then clip(h+r,0,255); out clip +-2^23 with 8 fractional bits",
        "calibration": {"data": f"{a.calib_crops} random {cs}x{cs} crops of the training data (seed 12345)"
                                + (f"; activation ranges also cover (max) {a.calib_flat} synthetic flat/saturated crops "
                                   "(--calib-flat; not used for the GPTQ rounding)" if a.calib_flat else ""),
                        "activation_percentile": ACT_PERCENTILE,
                        "scales": {k: v["s_out"] for k, v in info.items()}},
        "int_sim_val_bpsp": round(ib, 5),
        "int_sim_val_bpsp_per_image": {k: round(v, 5) for k, v in iper.items()},
        "float_val_bpsp": round(fb, 5),
    }
    arch = {"horizon": HORIZON, "channels": C, "width": W, "res_blocks": rs, "mixtures": MIXTURES,
            "output_frac_bits": OUT_FRAC_BITS}
    if mean_base is not None:
        arch["mean_base"] = list(mean_base)
    meta = {
        "nelloc.format": "nelloc-model",
        "nelloc.version": "1",
        "nelloc.name": model_name,
        "nelloc.arch": json.dumps(arch),
        "nelloc.training": json.dumps(training),
        "nelloc.quantization": json.dumps(quant),
    }
    from safetensors.numpy import save_file
    out = a.out or os.path.join(HERE, "exported", f"{a.name}.safetensors")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, out, metadata=meta)
    # sanity checks of the stored ranges
    for k, v in tensors.items():
        if k.endswith(".weight"):
            assert v.dtype == np.int8 and v.min() >= -64 and v.max() <= 63
        if k.endswith(".bias"):
            assert np.abs(v.astype(np.int64)).max() <= BIAS_LIMIT
        if k.endswith(".shift"):
            assert v.min() >= 1 and v.max() <= 62
    os.chmod(out, 0o644)
    golden = golden_vectors(qlayers, C, mean_base)
    with open(out.replace(".safetensors", ".golden.json"), "w") as f:
        json.dump(golden, f)
    summary = {"file": os.path.relpath(out, os.path.dirname(HERE)), "float_val_bpsp": round(fb, 5),
               "int_sim_val_bpsp": round(ib, 5), "steps": st["step"],
               "train_wall_s": round(st["elapsed"], 1),
               "total_steps": training["total_steps"], "total_train_s": training["total_train_s"],
               "export_s": round(time.time() - t0, 1)}
    with open(out.replace(".safetensors", ".json"), "w") as f:
        json.dump({**summary, "training": training, "quantization": quant, "arch": arch}, f, indent=1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
