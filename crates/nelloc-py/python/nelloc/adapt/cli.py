"""``python -m nelloc.adapt``: fine-tune a NeLLoC model on a collection of images.

Starts from an integer model file (a built-in model by name, or any model file, e.g. a
previously adapted one), dequantised to float weights (``quant.dequantise``); trains on
independent pixels of the user's images with their causal contexts (``sampler``), Adam,
warm-up + cosine over the budget (``--minutes`` and/or ``--passes``), an exponential
moving average of the weights; exports the average through the same integer export as
the built-in models (``quant``: GPTQ rounding calibrated on the user's images, the same
range checks, metadata, a deterministic file) and checks that the file codes bit-exactly
with the Rust library. Recipe and measurements: docs/MODELS.md ("Adapting to a
collection").
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np

from . import images as imio
from . import quant as Q
from .nn import build_model, contexts, head_loglik_pixels, predictors_q8
from .sampler import PixelSampler

BUILTIN_BASES = ("gray", "default", "fast")
DEFAULT_BASE = {1: "gray", 3: "default"}
#: Held-out pixels evaluated at most (whole images, in split order).
VAL_PIXELS = 1 << 19
#: Calibration pixels for the activation ranges and the GPTQ rounding (as training/export.py:
#: 48 crops of 64 x 64).
CALIB_PIXELS = 48 * 64 * 64
CALIB_SIZE = 64


class AdaptError(Exception):
    pass


def parse(argv):
    p = argparse.ArgumentParser(
        prog="python -m nelloc.adapt",
        description="Fine-tune a NeLLoC model on a collection of images (one channel count) "
        "and write an integer model file for `nlc encode --model FILE` / "
        "nelloc.encode(model_file=FILE).",
    )
    p.add_argument(
        "images",
        nargs="+",
        metavar="IMAGES",
        help="image files (PNG, TIFF, JPEG, PNM), directories (searched recursively) or @LIST "
        "(a text file of paths, one a line)",
    )
    p.add_argument("--out", required=True, help="model file to write (.safetensors)")
    p.add_argument(
        "--base",
        default=None,
        help="starting model: a built-in name (gray, default, fast) or a model file; default: "
        "gray for grey images, default for colour",
    )
    p.add_argument(
        "--minutes", type=float, default=10.0, help="training time budget (default 10; 0: none)"
    )
    p.add_argument(
        "--passes",
        type=float,
        default=None,
        help="stop after this many passes over the training pixels (e.g. 1), or at --minutes, "
        "whichever comes first",
    )
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda[:N]")
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="fraction of the images held out (not trained on) and reported on (default 0.1)",
    )
    p.add_argument("--name", default=None, help="model name in the metadata (default: --out stem)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
    p.add_argument(
        "--batch",
        type=int,
        default=16384,
        help="pixels per step (default 16384: on a CPU small batches are dominated by "
        "per-operation overhead, 2048 ran 7x slower per pixel)",
    )
    p.add_argument("--ema", type=float, default=0.995, help="weight-average decay per step")
    p.add_argument("--warmup", type=float, default=0.05, help="warm-up fraction of the budget")
    p.add_argument(
        "--flip",
        action="store_true",
        help="train on the mirror images too (off by default: a collection's orientation is "
        "part of its statistics; on Fashion-MNIST, whose shoes all face one way, mirror "
        "the run without them coded its held-out images 0.7%% smaller)",
    )
    p.add_argument(
        "--act-percentile",
        type=float,
        default=99.9,
        help="activation ranges: this percentile of the float activations (default 99.9, "
        "as the built-in models)",
    )
    p.add_argument(
        "--res-blocks",
        type=int,
        default=None,
        help="residual blocks of the adapted model (default: the base's). More than the base "
        "grows it: the new blocks start as the identity (last layer zero), so training starts "
        "from the base's function. Each block of width W costs 3 W^2 multiply-adds per pixel "
        "at decode (gray: width 128, 49,152; the base gray model has 23,552)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the final check with the Rust library (encode, decode, compare)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument(
        "--save-float",
        metavar="PATH",
        help="also save the float weights (weight average, torch state dict) for re-exports",
    )
    p.add_argument("--summary-json", metavar="PATH", help="write the result summary here (JSON)")
    a = p.parse_args(argv)
    if a.minutes < 0 or (a.minutes == 0 and not a.passes):
        p.error("give a positive --minutes or --passes")
    if a.passes is not None and a.passes <= 0:
        p.error("--passes must be positive")
    if a.res_blocks is not None and not 0 <= a.res_blocks <= 16:
        p.error("--res-blocks must be 0 to 16")
    if not 0 <= a.val_fraction < 1:
        p.error("--val-fraction must be in [0, 1)")
    return a


def load_base(spec, channels):
    """(file bytes, display name) of the base model."""
    if spec is None:
        spec = DEFAULT_BASE.get(channels)
        if spec is None:
            raise AdaptError(f"no built-in model for {channels}-channel images")
    if spec in BUILTIN_BASES and not os.path.exists(spec):
        from .. import _nelloc

        data = _nelloc.builtin_model_file(spec)
        if data is None:
            raise AdaptError(f"no built-in model named {spec!r}")
        return bytes(data), spec
    try:
        with open(spec, "rb") as f:
            return f.read(), spec
    except OSError as e:
        raise AdaptError(
            f"--base {spec}: not a built-in model ({', '.join(BUILTIN_BASES)}) and not a "
            f"readable file ({e.strerror})"
        ) from None


def int_layers(tensors, arch):
    """The exact integer network of a model file (for quant.int_forward / int_bpsp)."""
    names = [("conv_in", "relu")]
    for b in range(arch["res_blocks"]):
        names += [(f"res{b}_0", "relu"), (f"res{b}_1", "relu"), (f"res{b}_2", "residual")]
    names += [("hidden", "relu"), ("out", "out")]
    return [
        (
            n,
            tensors[f"{n}.weight"],
            tensors[f"{n}.bias"],
            tensors[f"{n}.mult"],
            tensors[f"{n}.shift"],
            k,
        )
        for n, k in names
    ]


def grow(model, arch, res_blocks):
    """The base with `res_blocks` residual blocks: fewer cannot be had without retraining
    (an error); the added blocks compute the identity (last layer zero), so the grown model
    starts as exactly the base's function."""
    import torch

    have = arch["res_blocks"]
    if res_blocks < have:
        raise AdaptError(
            f"--res-blocks {res_blocks}: the base has {have}; a model can be grown, not shrunk"
        )
    new = build_model(arch["channels"], arch["width"], res_blocks)
    state = new.state_dict()
    for k, v in model.state_dict().items():
        state[k] = v.to(state[k].dtype)
    new.load_state_dict(state)
    with torch.no_grad():
        for blk in new.res[have:]:
            blk.c2.weight.zero_()
            blk.c2.bias.zero_()
    return new, dict(arch, res_blocks=res_blocks)


def images_sha256(imgs):
    h = hashlib.sha256()
    for _, a in imgs:
        h.update(json.dumps(list(a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _chunks(imgs, C, chunk=1 << 16):
    """(contexts, targets) of whole images (each one tile), concatenated across images in
    chunks of about `chunk` pixels (small images are many; one call each would be slow)."""
    ctxs, tgts, n = [], [], 0
    for _, img in imgs:
        ctxs.append(contexts(img, C))
        tgts.append(img.reshape(-1, C))
        n += ctxs[-1].shape[0]
        if n >= chunk:
            yield np.concatenate(ctxs), np.concatenate(tgts)
            ctxs, tgts, n = [], [], 0
    if ctxs:
        yield np.concatenate(ctxs), np.concatenate(tgts)


def float_bpsp(model, val, C, mean_base, device):
    """Float bpsp of whole images (each one tile), per-pixel path on `device`."""
    import torch

    model.eval()
    tot, n = 0.0, 0
    with torch.no_grad():
        for ctx, tg in _chunks(val, C):
            c = torch.from_numpy(ctx).to(device)
            o = model.forward_ctx(c.float())
            base = predictors_q8(c, C, mean_base, xp=torch) if mean_base else None
            t = torch.from_numpy(tg.astype(np.float32)).to(device)
            ll = head_loglik_pixels(o, t, C, mean_base, base_q8=base)
            tot += float(ll.double().sum())
            n += ctx.shape[0]
    model.train()
    return -tot / (max(n, 1) * C * math.log(2))


def int_bpsp(qlayers, val, C, mean_base):
    """Integer-simulated bpsp (quant.int_forward, exact) of whole images, each one tile."""
    tot, n = 0.0, 0
    for ctx, tg in _chunks(val, C):
        o = Q.int_forward(qlayers, ctx)
        tot += float(Q.head_ll_q8(o, ctx, tg, C, mean_base).sum())
        n += ctx.shape[0]
    return -tot / (max(n, 1) * C * math.log(2))


def split(imgs, frac, seed):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(imgs))
    n_val = int(round(len(imgs) * frac)) if len(imgs) > 1 else 0
    if frac > 0 and len(imgs) > 1:
        n_val = min(max(n_val, 1), len(imgs) - 1)
    val = [imgs[i] for i in sorted(order[:n_val])]
    train = [imgs[i] for i in sorted(order[n_val:])]
    return train, val


def cap_pixels(imgs, limit):
    out, n = [], 0
    for im in imgs:
        if out and n + im[1].shape[0] * im[1].shape[1] > limit:
            break
        out.append(im)
        n += im[1].shape[0] * im[1].shape[1]
    return out


def calibration_set(train, C, seed):
    """Crops (at most CALIB_SIZE square) of random training images, CALIB_PIXELS in all."""
    rng = np.random.default_rng(seed + 12345)
    out, n = [], 0
    order = rng.permutation(len(train))
    for j in range(max(len(train), 1) * 4):
        img = train[order[j % len(train)]][1]
        h, w = min(CALIB_SIZE, img.shape[0]), min(CALIB_SIZE, img.shape[1])
        y = rng.integers(0, img.shape[0] - h + 1)
        x = rng.integers(0, img.shape[1] - w + 1)
        out.append(np.ascontiguousarray(img[y : y + h, x : x + w]))
        n += h * w
        if n >= CALIB_PIXELS:
            break
    return out


def run(a, log):
    import torch

    t_start = time.time()
    threads = a.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    torch.manual_seed(a.seed)
    device = a.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise AdaptError("--device cuda: PyTorch sees no CUDA GPU (torch.cuda.is_available())")
    batch = a.batch

    files = imio.expand(a.images)
    imgs = imio.load_all(files, log)
    C = imgs[0][1].shape[2]
    base_bytes, base_label = load_base(a.base, C)
    base_sha = hashlib.sha256(base_bytes).hexdigest()
    tensors0, meta0 = Q.read_model_file(base_bytes)
    model, mean_base, arch = Q.dequantise(tensors0, meta0)
    if arch["channels"] != C:
        raise AdaptError(
            f"--base {base_label} is a {arch['channels']}-channel model and the images have "
            f"{C} channel(s); use --base {DEFAULT_BASE.get(C, '?')} (or another {C}-channel model)"
        )
    train, val = split(imgs, a.val_fraction, a.seed)
    val_eval = cap_pixels(val, VAL_PIXELS) if val else cap_pixels(train, VAL_PIXELS)
    held = "held-out" if val else "training (nothing held out)"
    train_px = sum(x.shape[0] * x.shape[1] for _, x in train)
    val_px = sum(x.shape[0] * x.shape[1] for _, x in val_eval)
    log(
        f"{len(imgs)} images ({C} channel{'s' if C > 1 else ''}): {len(train)} for training "
        f"({train_px} pixels), {len(val)} held out; base {base_label} "
        f"({meta0.get('nelloc.name')}, sha256 {base_sha[:16]}...); device {device}, "
        f"{threads} threads, batch {batch}"
    )
    base_qlayers = int_layers(tensors0, arch)
    base_int = int_bpsp(base_qlayers, val_eval, C, mean_base)
    if a.res_blocks is not None and a.res_blocks != arch["res_blocks"]:
        model, arch = grow(model, arch, a.res_blocks)
        log(f"grown to {a.res_blocks} residual block(s): the new blocks start as the identity")
    model = model.float().to(device)
    base_float = float_bpsp(model, val_eval, C, mean_base, device)
    log(
        f"base model on {len(val_eval)} {held} images ({val_px} pixels): float {base_float:.4f}, "
        f"integer {base_int:.4f} bpsp"
    )

    rng = np.random.default_rng(a.seed)
    sampler = PixelSampler(train, C, rng, flip=a.flip)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    budget_s = a.minutes * 60 if a.minutes > 0 else None
    budget_px = a.passes * train_px if a.passes else None

    def frac(elapsed, seen):
        f = 0.0
        if budget_s:
            f = max(f, elapsed / budget_s)
        if budget_px:
            f = max(f, seen / budget_px)
        return f

    def lr_at(f):
        if f < a.warmup:
            return a.lr * max(f / a.warmup, 0.01)
        t = min(1.0, (f - a.warmup) / max(1 - a.warmup, 1e-9))
        return a.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))

    step, seen, elapsed = 0, 0, 0.0
    t_last = time.time()
    last_log = elapsed
    run_loss, run_n, run_px, run_t = 0.0, 0, 0, 0.0
    while frac(elapsed, seen) < 1.0:
        lr = lr_at(frac(elapsed, seen))
        for g in opt.param_groups:
            g["lr"] = lr
        ctx, tgt = sampler.batch(batch)
        ctx, tgt = ctx.to(device), tgt.to(device)
        o = model.forward_ctx(ctx.float())
        base = predictors_q8(ctx.long(), C, mean_base, xp=torch) if mean_base else None
        ll = head_loglik_pixels(o, tgt.float(), C, mean_base, base_q8=base)
        loss = -ll.mean() / (C * math.log(2))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        d = min(a.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for k, v in model.state_dict().items():
                if v.dtype.is_floating_point:
                    ema[k].mul_(d).add_(v, alpha=1 - d)
        step += 1
        seen += batch
        now = time.time()
        elapsed += now - t_last
        run_t += now - t_last
        t_last = now
        run_loss += loss.item()
        run_n += 1
        run_px += batch
        if elapsed - last_log >= 15 or frac(elapsed, seen) >= 1.0:
            log(
                f"step {step}  {elapsed:6.0f} s  {100 * min(frac(elapsed, seen), 1):5.1f}%  "
                f"lr {lr:.2e}  train {run_loss / run_n:.4f} bpsp  "
                f"{run_px / max(run_t, 1e-9):.0f} px/s"
            )
            run_loss, run_n, run_px, run_t = 0.0, 0, 0, 0.0
            last_log = elapsed
    train_s = elapsed
    model.load_state_dict(ema)
    fl = float_bpsp(model, val_eval, C, mean_base, device)
    log(
        f"trained {step} steps ({seen} pixels, {seen / max(train_px, 1):.2f} passes) in "
        f"{train_s:.0f} s; "
        f"{held} float {fl:.4f} bpsp (base {base_float:.4f})"
    )

    if a.save_float:
        torch.save(
            {"ema": {k: v.cpu() for k, v in ema.items()}, "arch": arch, "base_sha256": base_sha},
            a.save_float,
        )
    # integer export: the same code as training/export.py, calibrated on the user's images
    t_exp = time.time()
    model = model.cpu().double()
    model.eval()
    layers = Q.float_layers(model, mean_base)
    calib = calibration_set(train, C, a.seed)
    scales = Q.calibrate(layers, calib, C, a.act_percentile)
    calib_ctx = np.concatenate([contexts(c, C) for c in calib])
    tensors, qlayers, info = Q.quantize(layers, scales, calib_ctx)
    ib = int_bpsp(qlayers, val_eval, C, mean_base)
    name = a.name or os.path.splitext(os.path.basename(a.out))[0]
    base_training = json.loads(meta0.get("nelloc.training", "{}") or "{}")
    training = {
        "adapted_from": {
            "name": meta0.get("nelloc.name"),
            "base": base_label if base_label in BUILTIN_BASES else os.path.basename(base_label),
            "sha256": base_sha,
            "total_steps": base_training.get("total_steps", base_training.get("steps")),
            "total_train_s": base_training.get("total_train_s", base_training.get("wall_time_s")),
        },
        "data": {
            "kind": "user collection (nelloc.adapt)",
            "images": len(train),
            "pixels": train_px,
            "sha256": images_sha256(train),
            "held_out_images": len(val),
        },
        "steps": step,
        "wall_time_s": round(train_s, 1),
        "schedule": {
            "optimizer": "Adam",
            "peak_lr": a.lr,
            "kind": "cosine to 1% of peak",
            "warmup_frac": a.warmup,
            "budget": {"minutes": a.minutes, "passes": a.passes},
            "batch_pixels": batch,
            "sampling": "independent pixels with their causal contexts"
            + (" (mirror images included)" if a.flip else ""),
            "weights": "ema",
            "ema": a.ema,
            "grad_clip": 10.0,
        },
        "seed": a.seed,
        "device": device,
        "held_out": {
            "images": len(val_eval),
            "pixels": val_px,
            "base_float_bpsp": round(base_float, 5),
            "base_int_sim_bpsp": round(base_int, 5),
            "float_bpsp": round(fl, 5),
            "int_sim_bpsp": round(ib, 5),
        },
    }
    quant = {
        "scheme": "int8 weights in [-64,63] per-output-channel symmetric (max|w|/63), rounded with "
        "GPTQ error compensation (damp 0.01) on the calibration inputs of the integer network, "
        "residual error folded into the int32 bias; requantize (acc*M + 2^(S-1)) >> S; uint8 "
        "activations clip [0,255]; residual clip [-255,255] then clip(h+r,0,255); out clip "
        "+-2^23 with 8 fractional bits",
        "calibration": {
            "data": f"{len(calib)} random crops (at most {CALIB_SIZE}x{CALIB_SIZE}) of the "
            f"training images (seed {a.seed + 12345})",
            "activation_percentile": a.act_percentile,
            "scales": {k: v["s_out"] for k, v in info.items()},
        },
        "int_sim_val_bpsp": round(ib, 5),
        "float_val_bpsp": round(fl, 5),
    }
    meta = Q.model_metadata(
        name, Q.arch_meta(C, arch["width"], arch["res_blocks"], mean_base), training, quant
    )
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    sha = Q.write_model_file(a.out, tensors, meta)
    log(
        f"exported in {time.time() - t_exp:.0f} s: {held} integer {ib:.4f} bpsp "
        f"(float {fl:.4f}; base integer {base_int:.4f})"
    )

    result = {
        "out": a.out,
        "name": name,
        "sha256": sha,
        "bytes": os.path.getsize(a.out),
        "base": base_label,
        "base_sha256": base_sha,
        "images": {"train": len(train), "held_out": len(val), "evaluated": len(val_eval)},
        "steps": step,
        "train_s": round(train_s, 1),
        "held_out_bpsp": {
            "base_float": round(base_float, 5),
            "base_int": round(base_int, 5),
            "float": round(fl, 5),
            "int": round(ib, 5),
        },
    }
    if not a.no_verify:
        result["verify"] = verify(a.out, val_eval[:8] or train[:8], log)
    result["total_s"] = round(time.time() - t_start, 1)
    return result


def verify(path, sample, log):
    """Encode and decode a few images with the Rust library: bit-exact, the file loads."""
    from .. import decode, encode

    n = 0
    for f, img in sample:
        arr = img[:, :, 0] if img.shape[2] == 1 else img
        data = encode(arr, model_file=path, preview=False)
        back = decode(data, models=[path])
        if not np.array_equal(back, arr):
            raise AdaptError(f"{f}: the decoded image differs (please report this)")
        n += 1
    log(f"checked with the nelloc library: {n} images encode and decode bit-exactly")
    return {"images": n, "bit_exact": True}


def main(argv=None):
    a = parse(sys.argv[1:] if argv is None else argv)

    def log(msg):
        if not a.quiet:
            print(f"nelloc.adapt: {msg}", flush=True)

    try:
        import torch  # noqa: F401
    except ImportError:
        print(
            "nelloc.adapt: error: PyTorch is not installed; install it with: "
            "pip install 'nelloc[adapt]'",
            file=sys.stderr,
        )
        return 2
    try:
        res = run(a, log)
    except (imio.InputError, AdaptError) as e:
        print(f"nelloc.adapt: error: {e}", file=sys.stderr)
        return 1
    if a.summary_json:
        with open(a.summary_json, "w") as f:
            json.dump(res, f, indent=1)
    h = res["held_out_bpsp"]
    print(
        f"wrote {res['out']} ({res['bytes']} bytes, name {res['name']!r}, sha256 {res['sha256']})\n"
        f"held-out bpsp: base {h['base_int']:.4f} -> adapted {h['int']:.4f} (integer; float "
        f"{h['base_float']:.4f} -> {h['float']:.4f}, "
        f"{100 * (h['int'] / h['base_int'] - 1):+.1f}%)\n"
        f"use it: nlc encode --model {res['out']} IN OUT.nlc (decoding needs the file too: "
        f"nlc decode --model {res['out']} ...)"
    )
    return 0
