"""Train a NeLLoC local autoregressive model (float, PyTorch).

Same code for CPU and GPU (--device).  Checkpoints (weights + optimizer + RNG
+ elapsed time) are written to training/checkpoints/<name>.pt every
--ckpt-every seconds and at the end; re-running the same command resumes.

The learning-rate schedule is defined on the fraction of the training budget
spent: either --steps (step-based, reproducible) or --minutes (wall-time based):
linear warm-up over the first 3%, then cosine decay to 1% of the peak.
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
from common import (CONTEXT, DATA_DIR, HERE, HORIZON, MIXTURES, PRED10, build_model,  # noqa: F401
                    contexts, head_log2_likelihood, head_loglik_pixels, load_npz, predictors_q8, raw_to_head)
from adapt.sampler import PixelSampler  # noqa: E402  (crates/nelloc-py/python/nelloc/adapt)


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--res-blocks", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--minutes", type=float, default=None, help="wall-time budget (schedule by time)")
    p.add_argument("--steps", type=int, default=None, help="step budget (schedule by steps)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--crop", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=float, default=0.03)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2,
                   help="torch threads; 0 = adaptive: every ~200 steps time 10 steps with 1 and with 2 "
                        "threads and keep the faster (on a shared machine 2 spinning threads can be much "
                        "slower than 1)")
    p.add_argument("--ckpt-every", type=float, default=120.0, help="seconds")
    p.add_argument("--val-every", type=float, default=300.0, help="seconds")
    p.add_argument("--val-crop", type=int, default=256, help="centre crop side for periodic validation (0 = full)")
    p.add_argument("--init-from", default=None,
                   help="warm restart: if training/checkpoints/<name>.pt does not exist yet, start from the "
                        "weights and Adam moments of checkpoints/<init-from>.pt with a fresh schedule")
    p.add_argument("--grow-from", default=None,
                   help="pixels sampling: if training/checkpoints/<name>.pt does not exist yet, start from the "
                        "averaged (EMA) weights of checkpoints/<grow-from>.pt, a model of the same channels, "
                        "horizon and width with fewer residual blocks: its layers are copied and each new "
                        "block's last layer is zero, so the new model starts as exactly the old function; "
                        "Adam state and schedule start fresh")
    p.add_argument("--synthetic", type=float, default=0.0,
                   help="probability that a batch sample is a synthetic flat/clipped patch derived from a "
                        "training crop (see Sampler.synth)")
    p.add_argument("--sampling", choices=["crops", "pixels"], default="crops",
                   help="crops: --batch crops of --crop^2 correlated pixels (conv forward); pixels: --batch "
                        "independent pixels drawn from the whole training set with their causal contexts "
                        "(per-pixel MLP forward, horizontal flips included)")
    p.add_argument("--mean-base", choices=["absolute", "pred10"], default="absolute",
                   help="absolute: means = 127.5 + 127.5*o; pred10: means = P_k + 32*o with the ten classical "
                        "predictors of common.PRED10 (pixels sampling only)")
    p.add_argument("--schedule", choices=["cosine", "open"], default="cosine",
                   help="cosine: warm-up + cosine over the budget; open: open-ended (length unknown): warm-up "
                        "over --warmup-min minutes, then lr * min(1, sqrt(--decay-min / t)); weights are "
                        "averaged (EMA, --ema) so any checkpoint can be exported")
    p.add_argument("--warmup-min", type=float, default=2.0)
    p.add_argument("--decay-min", type=float, default=30.0)
    p.add_argument("--ema", type=float, default=0.9995, help="EMA decay per step (open schedule)")
    p.add_argument("--deadline", type=float, default=None,
                   help="unix time: checkpoint and stop at this time (open schedule: the only end)")
    p.add_argument("--log", default=None, help="append progress rows to this TSV (committed training log)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="what the budget and the logged time count: wall time, or this process's CPU time "
                        "(fair A/B comparisons on a shared machine; use with --threads 1)")
    a = p.parse_args()
    if a.schedule == "open":
        if a.minutes is not None or a.steps is not None:
            p.error("--schedule open takes no --minutes/--steps (use --deadline)")
    elif (a.minutes is None) == (a.steps is None):
        p.error("give exactly one of --minutes / --steps")
    if a.mean_base != "absolute" and a.sampling != "pixels":
        p.error("--mean-base pred10 needs --sampling pixels")
    return a


class Sampler:
    def __init__(self, arrays, C, crop, rng, synthetic=0.0):
        self.imgs = []
        for _, a in arrays:
            if a.ndim == 2:
                a = a[:, :, None]
            if a.shape[0] >= crop and a.shape[1] >= crop:
                self.imgs.append(a)
        area = np.array([a.shape[0] * a.shape[1] for a in self.imgs], dtype=np.float64)
        self.p = area / area.sum()
        self.crop, self.rng, self.C, self.synthetic = crop, rng, C, synthetic

    def synth(self, c):
        """Synthetic patch from a real training crop c [S,S,C] uint8 (teaches flat areas and
        saturated colours, which downsampled photos rarely contain):
          * 'flat': a random axis-aligned rectangle or half-plane of the crop is replaced by
            one constant colour: with prob. 1/2 an extreme colour (each channel 0 or 255,
            gray: 0 or 255), otherwise the colour of a random pixel of the crop;
            with prob. 1/4 the whole patch is that constant colour;
          * 'clipped': c' = clip((c - mean) * g + mean + o, 0, 255), g ~ U(1.5, 4),
            o ~ U(-96, 96) (the same for all channels): saturated highlights/shadows."""
        r = self.rng
        S = self.crop
        c = c.copy()
        if r.random() < 0.5:
            if r.random() < 0.5:
                col = (r.integers(0, 2, size=self.C) * 255).astype(np.uint8)
            else:
                col = c[r.integers(0, S), r.integers(0, S)].copy()
            u = r.random()
            if u < 0.25:
                c[:] = col
            elif u < 0.625:
                y0, y1 = sorted(r.integers(0, S + 1, size=2))
                x0, x1 = sorted(r.integers(0, S + 1, size=2))
                c[y0:y1, x0:x1] = col
            else:
                # half-plane through a random point with a random direction
                yy, xx = np.mgrid[0:S, 0:S]
                t = r.random() * 2 * np.pi
                py, px = r.random(2) * S
                c[(yy - py) * np.sin(t) + (xx - px) * np.cos(t) > 0] = col
        else:
            f = c.astype(np.float32)
            m = f.mean()
            f = (f - m) * r.uniform(1.5, 4.0) + m + r.uniform(-96, 96)
            c = np.clip(np.rint(f), 0, 255).astype(np.uint8)
        return c

    def batch(self, n):
        idx = self.rng.choice(len(self.imgs), size=n, p=self.p)
        out = np.empty((n, self.crop, self.crop, self.C), np.uint8)
        for i, j in enumerate(idx):
            a = self.imgs[j]
            y = self.rng.integers(0, a.shape[0] - self.crop + 1)
            x = self.rng.integers(0, a.shape[1] - self.crop + 1)
            c = a[y:y + self.crop, x:x + self.crop]
            if self.rng.random() < 0.5:
                c = c[:, ::-1]
            if self.synthetic and self.rng.random() < self.synthetic:
                c = self.synth(c)
            out[i] = c
        return torch.from_numpy(out).permute(0, 3, 1, 2).float()


def lr_at(frac, peak, warmup):
    if frac < warmup:
        return peak * max(frac / warmup, 0.01)
    t = min(1.0, (frac - warmup) / (1 - warmup))
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))


@torch.no_grad()
def evaluate(model, val, C, device, crop=0):
    """Float validation bpsp: full-image conv pass (zero padding at image borders)."""
    model.eval()
    tot, n = 0.0, 0
    for _, a in val:
        if a.ndim == 2:
            a = a[:, :, None]
        if crop:
            y0, x0 = (a.shape[0] - crop) // 2, (a.shape[1] - crop) // 2
            a = a[y0:y0 + crop, x0:x0 + crop]
        x = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float().to(device)
        # process in horizontal bands to bound memory (rows are independent given padding
        # because the band includes 3 rows of real context above)
        H = x.shape[2]
        band = 128
        for y in range(0, H, band):
            y0 = max(0, y - 3)
            xb = x[:, :, y0:y + band]
            o = model(xb)
            # rows above the band start must be zero padding only at the real image top;
            # the conv sees real rows y0..y-1 as context, so drop them from the output
            head = raw_to_head(o, C)[:, :, y - y0:]
            ll = head_log2_likelihood(head, xb[:, :, y - y0:], C)
            tot += float(ll.double().sum())
            n += ll.numel()
    model.train()
    return -tot / (n * C * math.log(2))


def mean_base_names(a):
    return None if a.mean_base == "absolute" else PRED10


def pixel_loglik(model, ctx, target, C, names):
    """Natural-log likelihood per pixel. ctx int16 [N, 24C], target int [N, C]."""
    o = model.forward_ctx(ctx.float())
    base = predictors_q8(ctx.long(), C, names, xp=torch) if names else None
    return head_loglik_pixels(o, target.float(), C, names, base_q8=base)


@torch.no_grad()
def evaluate_pixels(model, val, C, names, chunk=32768):
    """Float validation bpsp of whole images through the per-pixel path (same contexts and
    predictors as the codec with the image as one tile)."""
    model.eval()
    tot, n = 0.0, 0
    for _, a in val:
        if a.ndim == 2:
            a = a[:, :, None]
        ctx = torch.from_numpy(contexts(a, C).astype(np.int16))
        tgt = torch.from_numpy(a.reshape(-1, C).astype(np.int64))
        for i in range(0, ctx.shape[0], chunk):
            ll = pixel_loglik(model, ctx[i:i + chunk], tgt[i:i + chunk], C, names)
            tot += float(ll.double().sum())
            n += ll.numel()
    model.train()
    return -tot / (n * C * math.log(2))


def main():
    a = parse()
    if a.sampling == "pixels":
        return main_pixels(a)
    nthreads = a.threads or 2
    torch.set_num_threads(nthreads)
    torch.manual_seed(a.seed)
    C = a.channels
    kind = "rgb" if C == 3 else "gray"
    t_load = time.time()
    train = load_npz(os.path.join(DATA_DIR, f"train-{kind}.npz"))
    val = load_npz(os.path.join(DATA_DIR, f"val-{kind}.npz"))
    manifest = json.load(open(os.path.join(DATA_DIR, "manifest.json")))
    rng = np.random.default_rng(a.seed)
    sampler = Sampler(train, C, a.crop, rng, a.synthetic)
    print(f"loaded {len(sampler.imgs)} training images in {time.time() - t_load:.1f}s", flush=True)

    model = build_model(C, a.width, a.res_blocks).to(a.device)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    ckdir = os.path.join(HERE, "checkpoints")
    os.makedirs(ckdir, exist_ok=True)
    ckpath = os.path.join(ckdir, f"{a.name}.pt")
    state = {"step": 0, "elapsed": 0.0, "log": []}
    if os.path.exists(ckpath):
        ck = torch.load(ckpath, map_location=a.device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        rng.bit_generator.state = ck["rng"]
        print(f"resumed {ckpath} at step {state['step']}, {state['elapsed']:.0f}s", flush=True)
    elif a.init_from:
        src = os.path.join(ckdir, f"{a.init_from}.pt")
        ck = torch.load(src, map_location=a.device, weights_only=False)
        sa = ck["args"]
        assert (sa["channels"], sa["width"], sa["res_blocks"]) == (C, a.width, a.res_blocks), "architecture mismatch"
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])  # keep Adam moments; the lr comes from the new schedule
        prev = ck["state"]
        state["init_from"] = {"name": a.init_from, "steps": prev["step"], "train_s": round(prev["elapsed"], 1),
                              "final_val_bpsp": prev.get("final_val_bpsp"),
                              "history": prev.get("init_from"), "args": sa}
        print(f"warm restart from {src} (step {prev['step']}, {prev['elapsed']:.0f}s, "
              f"val {prev.get('final_val_bpsp')})", flush=True)

    budget = a.minutes * 60 if a.minutes is not None else None
    if "final_val_bpsp" in state and (state["elapsed"] >= budget if budget is not None
                                      else state["step"] >= a.steps):
        print(f"{ckpath} is finished (step {state['step']}, val {state['final_val_bpsp']:.4f}); nothing to do",
              flush=True)
        return

    def frac():
        if budget is not None:
            return state["elapsed"] / budget
        return state["step"] / a.steps

    def save():
        cfg = {k: v for k, v in vars(a).items()}
        ck = {"model": model.state_dict(), "opt": opt.state_dict(), "state": state,
              "rng": rng.bit_generator.state, "args": cfg, "data_sha256": manifest["sha256_all"]}
        torch.save(ck, ckpath + ".tmp")
        os.replace(ckpath + ".tmp", ckpath)

    clock = time.process_time if a.clock == "cpu" else time.time
    t_last = clock()
    last_ck = last_val = state["elapsed"]
    run_loss, run_n = 0.0, 0
    win_t0 = state["elapsed"]
    probe = {"next": state["step"] + 50, "t": {}, "phase": None, "start": 0.0}
    while frac() < 1.0:
        if not a.threads and state["step"] >= probe["next"]:
            # adaptive thread count: time 10 steps with each thread count, keep the faster one
            if probe["phase"] is None:
                probe["phase"], probe["start"], probe["s0"] = nthreads, time.time(), state["step"]
            elif state["step"] - probe["s0"] >= 10:
                probe["t"][probe["phase"]] = (time.time() - probe["start"]) / (state["step"] - probe["s0"])
                other = 3 - probe["phase"]
                if other not in probe["t"]:
                    probe["phase"], probe["start"], probe["s0"] = other, time.time(), state["step"]
                    torch.set_num_threads(other)
                else:
                    best = min(probe["t"], key=probe["t"].get)
                    if best != nthreads:
                        print(f"threads {nthreads} -> {best} (s/step {probe['t']})", flush=True)
                    nthreads = best
                    torch.set_num_threads(nthreads)
                    probe.update(next=state["step"] + 200, t={}, phase=None)
        lr = lr_at(frac(), a.lr, a.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        x = sampler.batch(a.batch).to(a.device)
        o = model(x)
        ll = head_log2_likelihood(raw_to_head(o, C), x, C)
        loss = -ll.mean() / (C * math.log(2))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        state["step"] += 1
        now = clock()
        state["elapsed"] += now - t_last
        t_last = now
        run_loss += loss.item()
        run_n += 1
        if state["step"] % 50 == 0:
            pps = run_n * a.batch * a.crop * a.crop / max(state["elapsed"] - win_t0, 1e-9)
            print(f"step {state['step']} t={state['elapsed']:.0f}s lr={lr:.2e} "
                  f"train_bpsp={run_loss / run_n:.4f} {pps:.0f} px/s", flush=True)
            state["log"].append({"step": state["step"], "t": round(state["elapsed"], 1),
                                 "train_bpsp": round(run_loss / run_n, 4)})
            run_loss, run_n = 0.0, 0
            win_t0 = state["elapsed"]
        if state["elapsed"] - last_val >= a.val_every:
            vb = evaluate(model, val, C, a.device, a.val_crop)
            print(f"step {state['step']} val_bpsp(centre {a.val_crop}) = {vb:.4f}", flush=True)
            state["log"].append({"step": state["step"], "t": round(state["elapsed"], 1),
                                 f"val_bpsp_crop{a.val_crop}": round(vb, 4)})
            last_val = state["elapsed"]
            t_last = clock()  # do not charge validation to the training budget
        if state["elapsed"] - last_ck >= a.ckpt_every:
            save()
            last_ck = state["elapsed"]
    t0 = time.time()
    vb = evaluate(model, val, C, a.device, 0)
    state["final_val_bpsp"] = vb
    print(f"final step {state['step']} train_time={state['elapsed']:.0f}s "
          f"val_bpsp(full)={vb:.4f} (eval {time.time() - t0:.0f}s)", flush=True)
    save()


def synthetic_images(train, C, n, size, seed):
    """n synthetic flat/clipped patches (Sampler.synth) of random training crops."""
    rng = np.random.default_rng(seed)
    smp = Sampler(train, C, size, rng, synthetic=1.0)
    out = []
    for _ in range(n):
        j = rng.choice(len(smp.imgs), p=smp.p)
        a = smp.imgs[j]
        y = rng.integers(0, a.shape[0] - size + 1)
        x = rng.integers(0, a.shape[1] - size + 1)
        out.append(smp.synth(a[y:y + size, x:x + size]))
    return out


def open_lr(t_min, a):
    """Open-ended schedule: linear warm-up, then inverse square-root decay (no end needed)."""
    if t_min < a.warmup_min:
        return a.lr * max(t_min / a.warmup_min, 0.01)
    return a.lr * min(1.0, math.sqrt(a.decay_min / max(t_min, 1e-9)))


def grow_model(model, ckdir, a, state):
    """Start `model` from a trained checkpoint with fewer residual blocks (--grow-from)."""
    src = os.path.join(ckdir, f"{a.grow_from}.pt")
    ck = torch.load(src, map_location=a.device, weights_only=False)
    sa = ck["args"]
    if (sa["channels"], sa["width"], sa.get("mean_base")) != (a.channels, a.width, a.mean_base) or \
            sa["res_blocks"] >= a.res_blocks:
        raise SystemExit(f"--grow-from {a.grow_from}: needs the same channels, width and mean base and fewer "
                         f"residual blocks (it has {sa['channels']}, {sa['width']}, {sa.get('mean_base')}, "
                         f"{sa['res_blocks']})")
    weights = ck.get("ema") or ck["model"]
    own = model.state_dict()
    for k, v in weights.items():
        if k not in own or own[k].shape != v.shape:
            raise SystemExit(f"--grow-from {a.grow_from}: tensor {k} does not fit the new model")
        own[k] = v.clone()
    model.load_state_dict(own)
    with torch.no_grad():
        for r in model.res[sa["res_blocks"]:]:
            r.c2.weight.zero_()
            r.c2.bias.zero_()
    prev = ck["state"]
    state["grown_from"] = {"name": a.grow_from, "steps": prev["step"], "train_s": round(prev["elapsed"], 1),
                           "res_blocks": sa["res_blocks"], "history": prev.get("init_from")}
    print(f"grown from {src} (step {prev['step']}, {prev['elapsed'] / 3600:.2f} h, "
          f"{sa['res_blocks']} -> {a.res_blocks} residual blocks)", flush=True)


def main_pixels(a):
    """Independent-pixel training (per-pixel MLP forward); resumable, open-ended or budgeted."""
    import signal
    nthreads = a.threads or 2
    torch.set_num_threads(nthreads)
    torch.manual_seed(a.seed)
    C = a.channels
    names = mean_base_names(a)
    kind = "rgb" if C == 3 else "gray"
    t_load = time.time()
    train = load_npz(os.path.join(DATA_DIR, f"train-{kind}.npz"))
    val = load_npz(os.path.join(DATA_DIR, f"val-{kind}.npz"))
    manifest = json.load(open(os.path.join(DATA_DIR, "manifest.json")))
    rng = np.random.default_rng(a.seed)
    extra = synthetic_images(train, C, 1000, 48, a.seed + 7) if a.synthetic else []
    sampler = PixelSampler(train, C, rng, extra=extra, extra_p=a.synthetic)
    print(f"{sampler.pixels} training pixels (with mirror images), {len(extra)} synthetic patches; "
          f"loaded in {time.time() - t_load:.1f}s", flush=True)

    model = build_model(C, a.width, a.res_blocks).to(a.device)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    ckdir = os.path.join(HERE, "checkpoints")
    os.makedirs(ckdir, exist_ok=True)
    ckpath = os.path.join(ckdir, f"{a.name}.pt")
    state = {"step": 0, "elapsed": 0.0, "log": [], "pixels_seen": 0}
    ema = None
    if os.path.exists(ckpath):
        ck = torch.load(ckpath, map_location=a.device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        rng.bit_generator.state = ck["rng"]
        if ck.get("ema") is not None:
            ema = ck["ema"]
        print(f"resumed {ckpath} at step {state['step']}, {state['elapsed'] / 3600:.2f} h", flush=True)
    elif a.grow_from:
        grow_model(model, ckdir, a, state)
    if a.schedule == "open" and ema is None:
        ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    budget = a.minutes * 60 if a.minutes is not None else None
    if a.schedule == "cosine" and "final_val_bpsp" in state and (
            state["elapsed"] >= budget if budget is not None else state["step"] >= a.steps):
        print(f"{ckpath} is finished (val {state['final_val_bpsp']:.4f}); nothing to do", flush=True)
        return

    stop = {"flag": False}

    def on_term(signum, frame):
        stop["flag"] = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    def save():
        cfg = {k: v for k, v in vars(a).items()}
        ck = {"model": model.state_dict(), "opt": opt.state_dict(), "state": state, "ema": ema,
              "rng": rng.bit_generator.state, "args": cfg, "data_sha256": manifest["sha256_all"]}
        torch.save(ck, ckpath + ".tmp")
        os.replace(ckpath + ".tmp", ckpath)

    def log_row(row):
        if not a.log:
            state["log"].append(row)  # without a TSV the checkpoint keeps the history
        else:
            new = not os.path.exists(a.log)
            with open(a.log, "a") as f:
                if new:
                    f.write("step\thours\tlr\ttrain_bpsp\tval_bpsp\tpixels_per_s\n")
                f.write("\t".join(str(row.get(k, "")) for k in
                                   ("step", "hours", "lr", "train_bpsp", "val_bpsp", "pixels_per_s")) + "\n")

    def validate():
        if ema is not None:
            raw = {k: v.clone() for k, v in model.state_dict().items()}
            model.load_state_dict(ema)
        vb = evaluate_pixels(model, val, C, names)
        if ema is not None:
            model.load_state_dict(raw)
        return vb

    def done():
        if stop["flag"] or (a.deadline is not None and time.time() >= a.deadline):
            return True
        if a.schedule == "cosine":
            return (state["elapsed"] / budget if budget is not None else state["step"] / a.steps) >= 1.0
        return False

    clock = time.process_time if a.clock == "cpu" else time.time
    t_last = clock()
    last_ck = last_val = state["elapsed"]
    run_loss, run_n, run_t = 0.0, 0, 0.0
    while not done():
        if a.schedule == "open":
            lr = open_lr(state["elapsed"] / 60, a)
        else:
            f = state["elapsed"] / budget if budget is not None else state["step"] / a.steps
            lr = lr_at(f, a.lr, a.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        ctx, tgt = sampler.batch(a.batch)
        ll = pixel_loglik(model, ctx.to(a.device), tgt.to(a.device), C, names)
        loss = -ll.mean() / (C * math.log(2))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        if ema is not None:
            # the average starts short and lengthens to 1/(1-ema) steps, so that early
            # checkpoints are not dominated by the initial weights
            d = min(a.ema, (1 + state["step"]) / (10 + state["step"]))
            with torch.no_grad():
                for k, v in model.state_dict().items():
                    if v.dtype.is_floating_point:
                        ema[k].mul_(d).add_(v, alpha=1 - d)
        state["step"] += 1
        state["pixels_seen"] += a.batch
        now = clock()
        # a step that took over a minute was paused (SIGSTOP while someone took timings):
        # charge it as one typical step, not as training time
        dt = now - t_last if now - t_last < 60 else run_t / max(run_n, 1)
        state["elapsed"] += dt
        run_t += dt
        t_last = now
        run_loss += loss.item()
        run_n += 1
        if state["step"] % 100 == 0:
            pps = run_n * a.batch / max(run_t, 1e-9)
            print(f"step {state['step']} t={state['elapsed'] / 3600:.3f}h lr={lr:.2e} "
                  f"train_bpsp={run_loss / run_n:.4f} {pps:.0f} px/s", flush=True)
            log_row({"step": state["step"], "hours": round(state["elapsed"] / 3600, 4), "lr": f"{lr:.3e}",
                     "train_bpsp": round(run_loss / run_n, 4), "pixels_per_s": round(pps)})
            run_loss, run_n, run_t = 0.0, 0, 0.0
        if state["elapsed"] - last_val >= a.val_every:
            vb = validate()
            print(f"step {state['step']} val_bpsp(full crops{', EMA' if ema else ''}) = {vb:.4f}", flush=True)
            log_row({"step": state["step"], "hours": round(state["elapsed"] / 3600, 4), "val_bpsp": round(vb, 4)})
            last_val = state["elapsed"]
            t_last = clock()  # validation is not charged to the training time
        if state["elapsed"] - last_ck >= a.ckpt_every:
            save()
            last_ck = state["elapsed"]
            t_last = clock()
    if a.schedule == "cosine" and not stop["flag"]:
        vb = validate()
        state["final_val_bpsp"] = vb
        print(f"final step {state['step']} train_time={state['elapsed']:.0f}s val_bpsp(full)={vb:.4f}", flush=True)
    save()
    print(f"checkpoint written at step {state['step']} ({state['elapsed'] / 3600:.3f} h)", flush=True)


if __name__ == "__main__":
    main()
