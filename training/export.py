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
from common import DATA_DIR, HERE, PRED10, build_model, contexts, load_npz

# The integer export itself (quantization, GPTQ rounding, the integer simulation, the model
# file writer) is shared with `python -m nelloc.adapt`: crates/nelloc-py/python/nelloc/adapt/quant.py.
import adapt.quant as Q  # noqa: E402
from adapt.quant import (OUT_FRAC_BITS, calibrate, float_bpsp, float_layers,  # noqa: E402,F401
                         head_ll_q8, int_bpsp, int_forward, quantize)

ACT_PERCENTILE = Q.ACT_PERCENTILE


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
    scales = calibrate(layers, calib, C, ACT_PERCENTILE)
    if extra:
        # ranges only: every activation of the flat crops stays inside the integer range;
        # the GPTQ rounding below still uses the photo crops only
        sf = calibrate(layers, extra, C, 100.0)
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
        "grown_from": st.get("grown_from"),
        "total_steps": st["step"] + _prior(st.get("init_from") or st.get("grown_from"), "steps"),
        "total_train_s": round(st["elapsed"] + _prior(st.get("init_from") or st.get("grown_from"), "train_s"), 1),
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
    arch = Q.arch_meta(C, W, rs, mean_base)
    meta = Q.model_metadata(model_name, arch, training, quant)
    out = a.out or os.path.join(HERE, "exported", f"{a.name}.safetensors")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    sha = Q.write_model_file(out, tensors, meta)
    print(f"wrote {out} (sha256 {sha})", flush=True)
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
