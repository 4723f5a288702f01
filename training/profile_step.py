"""Where one training step's time goes (CPU time of this process, one torch thread).

usage: python3 training/profile_step.py [--batch 2048] [--steps 30] [--width 256]
Stages: sampling (numpy gather of contexts), predictors, forward (network), loss (the
mixture likelihood), backward, optimizer (Adam + EMA-like copy is not included).
Also the old recipe (32 crops of 32x32, conv forward) for comparison."""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA_DIR, PRED10, build_model, head_log2_likelihood, head_loglik_pixels, load_npz, \
    predictors_q8, raw_to_head
from train import PixelSampler, Sampler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--width", type=int, default=256)
    a = p.parse_args()
    torch.set_num_threads(1)
    C = 3
    train = load_npz(os.path.join(DATA_DIR, "train-rgb.npz"))
    rng = np.random.default_rng(1)
    model = build_model(C, a.width, 0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    clk = time.process_time

    def run(name, step_fn, pixels):
        t = {}
        for i in range(a.steps + 3):
            parts = step_fn()
            if i >= 3:
                for k, v in parts.items():
                    t[k] = t.get(k, 0.0) + v
        tot = sum(t.values())
        print(f"{name}: {1000 * tot / a.steps:.1f} ms/step, {pixels * a.steps / tot:,.0f} px per CPU-s; "
              + ", ".join(f"{k} {100 * v / tot:.0f}%" for k, v in t.items()))

    ps = PixelSampler(train, C, rng)

    def pixel_step():
        r = {}
        t0 = clk(); ctx, tgt = ps.batch(a.batch); r["sampling"] = clk() - t0
        t0 = clk(); base = predictors_q8(ctx.long(), C, PRED10, xp=torch); r["predictors"] = clk() - t0
        t0 = clk(); o = model.forward_ctx(ctx.float()); r["forward"] = clk() - t0
        t0 = clk(); loss = -head_loglik_pixels(o, tgt.float(), C, PRED10, base_q8=base).mean()
        r["loss"] = clk() - t0
        t0 = clk(); opt.zero_grad(); loss.backward(); r["backward"] = clk() - t0
        t0 = clk(); opt.step(); r["optimizer"] = clk() - t0
        return r
    run(f"pixels+pred10 batch {a.batch} W={a.width}", pixel_step, a.batch)

    cs = Sampler(train, C, 32, rng)

    def crop_step():
        r = {}
        t0 = clk(); x = cs.batch(32); r["sampling"] = clk() - t0
        t0 = clk(); o = model(x); r["forward"] = clk() - t0
        t0 = clk(); loss = -head_log2_likelihood(raw_to_head(o, C), x, C).mean(); r["loss"] = clk() - t0
        t0 = clk(); opt.zero_grad(); loss.backward(); r["backward"] = clk() - t0
        t0 = clk(); opt.step(); r["optimizer"] = clk() - t0
        return r
    run(f"crops 32 x 32x32 (old recipe) W={a.width}", crop_step, 32 * 32 * 32)


if __name__ == "__main__":
    main()
