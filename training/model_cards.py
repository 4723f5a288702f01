"""Print the per-model cards for docs/MODELS.md from the model files' own metadata
(training + quantization JSON written by export.py) and the Rust-coded results of
training/eval.sh (training/logs/eval.json).

usage: python3 training/model_cards.py [--eval training/logs/eval.json] [MODEL.safetensors ...]
"""
import argparse
import glob
import hashlib
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def meta(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)).get("__metadata__", {})


def params_macs(arch):
    C, W, rs, K = arch["channels"], arch["width"], arch["res_blocks"], arch["mixtures"]
    nout = K * (1 + 2 * C + C * (C - 1) // 2)
    macs = 24 * C * W + rs * 3 * W * W + W * W + W * nout
    params = macs + W + rs * 3 * W + W + nout
    return params, macs, nout


def schedule_line(sch, tr):
    if "batch_pixels" in sch:  # independent-pixel runs (v3 recipe)
        if sch.get("kind") == "open-ended":
            how = (f"open-ended: warm-up {sch['warmup_min']:g} min, then lr x min(1, sqrt({sch['decay_min']:g} min / t)); "
                   f"shipped weights: {'average (EMA ' + str(sch['ema']) + ')' if sch['weights'] == 'ema' else 'last iterate'}")
        else:
            how = f"warm-up {100 * sch['warmup_frac']:.0f}%, {sch['kind']}, budget {sch['budget']}"
        return (f"* schedule: {sch['optimizer']}, peak lr {sch['peak_lr']:g}, {how}; batch {sch['batch_pixels']:,} "
                f"{sch['sampling']}, grad clip {sch['grad_clip']}, seed {tr['seed']}, device {tr['device']}")
    return (f"* schedule: {sch['optimizer']}, peak lr {sch['peak_lr']:g}, warm-up {100 * sch['warmup_frac']:.0f}%, "
            f"{sch['decay']}, budget {sch['budget']}, batch {sch['batch']} x {sch['crop']}x{sch['crop']} crops, "
            f"{sch['augment']}, grad clip {sch['grad_clip']}, seed {tr['seed']}, device {tr['device']}")


def card(path, ev):
    m = meta(path)
    arch = json.loads(m["nelloc.arch"])
    tr = json.loads(m["nelloc.training"])
    q = json.loads(m["nelloc.quantization"])
    params, macs, nout = params_macs(arch)
    base = os.path.basename(path)
    sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
    L = [f"### `{base}` (`nelloc.name` = \"{m['nelloc.name']}\")", ""]
    sch = tr["schedule"]
    init = tr.get("init_from")
    chain = []
    while init:
        chain.append(f"{init['name']} ({init['steps']} steps, {init['train_s']:.0f} s)")
        init = init.get("history")
    L += [f"* file: `crates/nelloc/models/{base}`, {os.path.getsize(path):,} bytes, sha256 `{sha}`",
          f"* architecture: horizon {arch['horizon']}, C={arch['channels']}, width {arch['width']}, "
          f"{arch['res_blocks']} residual blocks, K={arch['mixtures']} logistic mixture"
          f"{' with channel coupling' if arch['channels'] == 3 else ''} ({nout} head outputs); "
          f"{params:,} parameters, {macs:,} multiply-adds per pixel",
          f"* data: {tr['data']['kind']} training set, {tr['data']['pixels']:,} pixels, sha256 "
          f"`{tr['data']['sha256']}` (all prepared data `{tr['data']['sha256_all']}`); "
          f"synthetic patches: {tr.get('synthetic', 'none')}"
          + (f" ({100 * tr['synthetic_frac']:.0f}% of samples)" if tr.get("synthetic_frac") else ""),
          schedule_line(sch, tr),
          *([f"* means: relative to the predictors {', '.join(arch['mean_base'])} (one per component)"]
            if isinstance(arch.get("mean_base"), list) else []),
          f"* this run: {tr['steps']:,} steps, {tr['wall_time_s'] / 60:.1f} min training"
          + (f"; warm restart of {' <- '.join(chain)}; total {tr.get('total_steps', tr['steps']):,} steps, "
             f"{tr.get('total_train_s', tr['wall_time_s']) / 60:.1f} min" if chain else ""),
          f"* quantization: {q['scheme']}; calibration {q['calibration']['data']}",
          ""]
    rows = ev.get("nlc_per_model", {}).get(base) if ev else None
    L.append("| crop | float bpsp | integer-sim bpsp | Rust coded bpsp (file) | Rust model bpsp |")
    L.append("|---|---|---|---|---|")
    fper, iper = tr["float_val_bpsp_per_image"], q["int_sim_val_bpsp_per_image"]
    for k in sorted(fper):
        r = rows["per"].get(k) if rows else None
        L.append(f"| {k} | {fper[k]:.4f} | {iper[k]:.4f} | {r['bpsp']:.4f} | {r['model_bpsp']:.4f} |" if r else
                 f"| {k} | {fper[k]:.4f} | {iper[k]:.4f} | | |")
    a = rows["all"] if rows else None
    fb, ib = tr["float_val_bpsp"], q["int_sim_val_bpsp"]
    L.append(f"| **all** | **{fb:.4f}** | **{ib:.4f}** (+{100 * (ib / fb - 1):.2f}%) | "
             + (f"**{a['bpsp']:.4f}** | {a['model_bpsp']:.4f} |" if a else " | |"))
    if a:
        L.append("")
        L.append(f"Rust engine speed on this shared 2-core machine: encode {a['enc_s_mp']:.1f} s/MP, "
                 f"decode {a['dec_s_mp']:.1f} s/MP (tile 256, 2 threads; noisy).")
    L.append("")
    return "\n".join(L)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--eval", default=os.path.join(ROOT, "training", "logs", "eval.json"))
    p.add_argument("models", nargs="*")
    a = p.parse_args()
    ev = json.load(open(a.eval)) if os.path.exists(a.eval) else None
    models = a.models or sorted(glob.glob(os.path.join(ROOT, "crates", "nelloc", "models", "*.safetensors")))
    for m in models:
        print(card(m, ev))


if __name__ == "__main__":
    main()
