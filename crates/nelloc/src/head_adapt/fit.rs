//! The encoder's fit of a plane group's head offsets to one image: the network runs once
//! on a regular subsample of the pixels (gathered by the codec's engine), then a few diagonal Newton steps move the offsets on the float
//! likelihood of those pixels (the network's outputs stay fixed, so each step is only the
//! mixture); the rounded offsets are kept when their exact integer cost on the sample,
//! scaled to the image, pays for the chunk.
//!
//! Everything is deterministic for any thread count and CPU: fixed sample positions,
//! fixed-size chunks summed in order, and [`super::fmath`] instead of libm.

// The fit is index arithmetic over parallel arrays (head layout, components, channels):
// index loops say it more plainly than zipped iterators.
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;

use super::fmath::{exp, ln, Batch};
use super::{HeadDelta, MAX_HEAD, MAX_OFFSET};
use crate::mixture::{head_len, Bases, PixelDist, PRECISION};

/// The coupling reference of absolute means (127.5, Q8).
const ABSOLUTE_REF: i32 = 32640;

/// When the encoder writes an adapted head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AdaptHead {
    /// Never: the stream is what it was before adapted heads existed.
    Off,
    /// When its estimated gain on the image pays for its bytes (the default).
    #[default]
    Auto,
    /// Whenever the network codes a plane group, gain or not (tests, conformance files).
    Always,
}

impl std::fmt::Display for AdaptHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AdaptHead::Off => "off",
            AdaptHead::Auto => "auto",
            AdaptHead::Always => "always",
        })
    }
}

impl std::str::FromStr for AdaptHead {
    type Err = crate::Error;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "off" => Ok(AdaptHead::Off),
            "auto" => Ok(AdaptHead::Auto),
            "always" => Ok(AdaptHead::Always),
            _ => Err(crate::Error::InvalidArgument(format!(
                "adapted head {s:?}: expected off, auto or always"
            ))),
        }
    }
}

/// Pixels the fit aims to sample: fewer overfit the 100 offsets (measured on the
/// validation crops: 4096 give 0.25% larger files than 8192), more cost encode time.
const TARGET_SAMPLES: u64 = 8_192;
/// Newton steps, their damping (the step is the Newton step divided by 1 + DAMPING) and
/// the largest move of one offset per step (Q8).
const STEPS: usize = 6;
const DAMPING: f64 = 0.5;
const MAX_STEP: f64 = 64.0;
/// Samples per chunk of the gradient sum (fixed: the sum's order must not depend on the
/// thread count).
const CHUNK: usize = 256;
/// Quantisation of the stored offsets: multiples of 2^SHIFT in Q8 (1/64).
const SHIFT: u8 = 2;

/// The network's outputs at the sampled pixels of one plane group.
pub(crate) struct Samples {
    k: usize,
    c: usize,
    len: usize,
    heads: Vec<i32>,
    /// Per sample, channel and component: the mean base and coupling reference (Q8).
    bases: Vec<i32>,
    refs: Vec<i32>,
    pixels: Vec<u8>,
    predicted: bool,
}

impl Samples {
    /// Number of sampled pixels.
    pub(crate) fn n(&self) -> usize {
        self.pixels.len() / self.c
    }
}

impl Samples {
    /// No samples yet, for a model of `k` components and `c` channels; `predicted`: its
    /// means are relative to predictions (the bases are pushed with each sample).
    pub(crate) fn new(k: usize, c: usize, predicted: bool) -> Self {
        Samples {
            k,
            c,
            len: head_len(k, c),
            heads: Vec::new(),
            bases: Vec::new(),
            refs: Vec::new(),
            pixels: Vec::new(),
            predicted,
        }
    }

    /// No samples yet, for the heads of a model of architecture `arch`.
    pub(crate) fn for_arch(arch: &crate::model::Arch) -> Self {
        Self::new(
            arch.mixtures as usize,
            arch.channels as usize,
            matches!(arch.mean_base, crate::model::MeanBase::Predicted(_)),
        )
    }

    /// One sampled pixel: the network's head, the bases of its means, its values.
    pub(crate) fn push(&mut self, head: &[i32], bases: Option<&Bases>, pixel: &[u8]) {
        debug_assert_eq!(head.len(), self.len);
        self.heads.extend_from_slice(head);
        for ch in 0..self.c {
            for comp in 0..self.k {
                let b = bases.map_or(0, |b| b[ch][comp]);
                self.bases.push(b);
                self.refs
                    .push(if self.predicted { b } else { ABSOLUTE_REF });
            }
        }
        self.pixels.extend_from_slice(&pixel[..self.c]);
    }

    /// Appends `other`'s samples (same model).
    pub(crate) fn append(&mut self, other: Samples) {
        self.heads.extend(other.heads);
        self.bases.extend(other.bases);
        self.refs.extend(other.refs);
        self.pixels.extend(other.pixels);
    }
}

/// The sampling step for an image of `pixels` pixels: every `step`-th row, and in it every
/// `step`-th pixel, staggered by row ([`is_sampled`]). At least 7 (one pixel in 49): the
/// fit costs about 20 us per sample with scalar exponentials (under 10 with the zmm ones),
/// which keeps it below 0.5 s per megapixel.
pub(crate) fn sample_step(pixels: u64) -> usize {
    ((pixels as f64 / TARGET_SAMPLES as f64).sqrt().ceil() as usize).max(7)
}

/// Fewest samples [`AdaptHead::Auto`] fits: smaller images cannot pay for the chunk (about
/// 150 bytes) and the fit would overfit.
pub(crate) const MIN_SAMPLES: usize = 1024;

/// Whether `policy` fits an image of `pixels` pixels at all (its sample is large enough).
pub(crate) fn worth_sampling(pixels: u64, policy: AdaptHead) -> bool {
    match policy {
        AdaptHead::Off => false,
        AdaptHead::Always => true,
        AdaptHead::Auto => {
            let step = sample_step(pixels) as u64;
            pixels / (step * step) >= MIN_SAMPLES as u64
        }
    }
}

/// Whether the fit samples image pixel (x, y).
pub(crate) fn is_sampled(x: usize, y: usize, step: usize) -> bool {
    y.is_multiple_of(step) && x % step == (y / step * 3) % step
}

/// The offsets of plane group `g` fitted to `s`, the samples of an image of `pixels`
/// pixels: `None` when `policy` is off or they do not pay for their chunk. Runs on the
/// current rayon pool.
pub(crate) fn fit(s: &Samples, g: usize, pixels: u64, policy: AdaptHead) -> Option<HeadDelta> {
    if policy == AdaptHead::Off || s.n() == 0 || (policy == AdaptHead::Auto && s.n() < MIN_SAMPLES)
    {
        return None;
    }
    let d = newton(s);
    let step = f64::from(1 << SHIFT);
    let q: Vec<i32> = d
        .iter()
        .map(|&v| (v.clamp(-f64::from(MAX_OFFSET), f64::from(MAX_OFFSET)) / step).round() as i32)
        .collect();
    let delta = HeadDelta::new(g as u8, SHIFT, &q)?;
    if policy == AdaptHead::Always {
        return Some(delta);
    }
    // The exact integer cost on the sample, with and without, scaled to the image.
    let gain =
        (integer_bits(s, None) - integer_bits(s, Some(&delta))) * pixels as f64 / s.n() as f64;
    // The chunk's bytes and framing, with a margin for the estimate's noise.
    let cost = 8.0 * (delta.to_chunk().len() + 8) as f64;
    (gain > 1.5 * cost).then_some(delta)
}

/// Diagonal Newton steps on the samples' negative log-likelihood, the curvature
/// estimated by the empirical Fisher information (the sum of squared per-sample
/// gradients): it converges in a few steps where Adam needs tens. Offsets in Q8.
fn newton(s: &Samples) -> Vec<f64> {
    let l = s.len;
    let mut d = vec![0.0f64; l];
    let n = s.n();
    let batch = Batch::detect();
    for _ in 0..STEPS {
        let parts: Vec<(Vec<f64>, Vec<f64>)> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|ci| {
                let (mut g, mut f, mut gs) = (vec![0.0f64; l], vec![0.0f64; l], vec![0.0f64; l]);
                for p in ci * CHUNK..((ci + 1) * CHUNK).min(n) {
                    gs.fill(0.0);
                    pixel_grad(s, p, &d, &mut gs, batch);
                    for i in 0..l {
                        g[i] += gs[i];
                        f[i] += gs[i] * gs[i];
                    }
                }
                (g, f)
            })
            .collect();
        let (mut g, mut f) = (vec![0.0f64; l], vec![0.0f64; l]);
        for (pg, pf) in &parts {
            for i in 0..l {
                g[i] += pg[i];
                f[i] += pf[i];
            }
        }
        for i in 0..l {
            let step = -g[i] / (f[i] * (1.0 + DAMPING) + 1e-12);
            d[i] += step.clamp(-MAX_STEP, MAX_STEP);
        }
    }
    d
}

/// Adds the gradient of sample `p`'s negative log-likelihood (nats) with respect to the
/// Q8 offsets `d` to `g`. The float model of FORMAT.md section 4: the same head layout,
/// clamps and coupling, with the logistic in place of the tables. The exponentials and
/// logarithms of all components and channels are taken together (`batch`: on zmm eight
/// at a time, on ymm four); every value is the one [`bin_log_prob`] and a per-component
/// loop would give (the test keeps that form and compares bits).
fn pixel_grad(s: &Samples, p: usize, d: &[f64], g: &mut [f64], batch: Batch) {
    let (k, c) = (s.k, s.c);
    let ck = c * k;
    let head = &s.heads[p * s.len..][..s.len];
    let v = |n: usize| f64::from(head[n]) + d[n];
    let base = &s.bases[p * ck..][..ck];
    let refs = &s.refs[p * ck..][..ck];
    let x = &s.pixels[p * c..][..c];
    const Q8: f64 = 1.0 / 256.0;
    // Mixture logits (natural units) and priors.
    let mut logit = [0.0f64; 32];
    let mut lmax = f64::MIN;
    for i in 0..k {
        logit[i] = v(i).clamp(-8192.0, 8192.0) * Q8;
        lmax = lmax.max(logit[i]);
    }
    let mut prior = [0.0f64; 32];
    for i in 0..k {
        prior[i] = logit[i] - lmax;
    }
    batch.exp(&mut prior[..k]);
    let zsum = prior[..k].iter().fold(0.0, |a, &e| a + e);
    let lse = lmax + ln(zsum);
    // Coupling coefficients tanh(raw), [q * k + i].
    let nq = c * (c - 1) / 2;
    let mut coef = [0.0f64; 96];
    for q in 0..nq {
        for i in 0..k {
            coef[q * k + i] = 2.0 * (v(k + 2 * ck + q * k + i).clamp(-2048.0, 2048.0) * Q8);
        }
    }
    batch.exp(&mut coef[..nq * k]);
    for a in &mut coef[..nq * k] {
        *a = 1.0 - 2.0 / (*a + 1.0);
    }
    // Means and 1/scales, [ch * k + i].
    let mut mean = [0.0f64; 96];
    let mut inv = [0.0f64; 96];
    for ch in 0..c {
        for i in 0..k {
            let mut m = (f64::from(base[ch * k + i]) + v(k + ch * k + i)) * Q8;
            for cp in 0..ch {
                let q = ch * (ch - 1) / 2 + cp;
                m += coef[q * k + i] * (f64::from(x[cp]) - f64::from(refs[cp * k + i]) * Q8);
            }
            mean[ch * k + i] = m.clamp(-256.0, 512.0);
            inv[ch * k + i] = -(v(k + (c + ch) * k + i).clamp(-768.0, 1536.0) * Q8);
        }
    }
    batch.exp(&mut inv[..ck]);
    // The bin's edges in units of the scale, and exp(-|edge|) of each (`sigmoids`).
    let (mut up, mut lo) = ([0.0f64; 96], [0.0f64; 96]);
    let mut t = [0.0f64; 192];
    for j in 0..ck {
        let xv = f64::from(x[j / k]);
        up[j] = (xv + 0.5 - mean[j]) * inv[j];
        lo[j] = (xv - 0.5 - mean[j]) * inv[j];
        t[j] = -up[j].abs();
        t[ck + j] = -lo[j].abs();
    }
    batch.exp(&mut t[..2 * ck]);
    // `bin_log_prob` from those: the argument of its logarithm, its derivatives.
    let sig = sigmoids_from;
    let (mut lp, mut dm, mut ds) = ([0.0f64; 96], [0.0f64; 96], [0.0f64; 96]);
    let mut far = [f64::NAN; 96];
    for j in 0..ck {
        let xv = f64::from(x[j / k]);
        let (u, l, iv) = (up[j], lo[j], inv[j]);
        if xv <= 0.0 {
            let (s, t) = sig(u, t[j]);
            (lp[j], dm[j], ds[j]) = (s, -iv * t, -u * t);
        } else if xv >= 255.0 {
            let (s, t) = sig(l, t[ck + j]);
            (lp[j], dm[j], ds[j]) = (t, iv * s, l * s);
        } else {
            let (su, nu) = sig(u, t[j]);
            let (sl, nl) = sig(l, t[ck + j]);
            let pr = if l > 0.0 { nl - nu } else { su - sl };
            let (gu, gl) = (su * nu, sl * nl);
            if pr > 1e-9 {
                (lp[j], dm[j], ds[j]) = (pr, -iv * (gu - gl) / pr, -(gu * u - gl * l) / pr);
            } else {
                // Far in a tail (rare): the density form, one value at a time.
                (far[j], dm[j], ds[j]) = bin_log_prob(xv, mean[j], iv);
                lp[j] = 1.0;
            }
        }
    }
    batch.ln(&mut lp[..ck]);
    for j in 0..ck {
        if !far[j].is_nan() {
            lp[j] = far[j];
        }
    }
    // Per component: log prior + sum over channels of log p.
    let mut joint = [0.0f64; 32];
    for i in 0..k {
        let mut l = logit[i] - lse;
        for ch in 0..c {
            l += lp[ch * k + i];
        }
        joint[i] = l;
    }
    let jmax = joint[..k].iter().copied().fold(f64::MIN, f64::max);
    let mut r = [0.0f64; 32];
    for i in 0..k {
        r[i] = joint[i] - jmax;
    }
    batch.exp(&mut r[..k]);
    let rsum = r[..k].iter().fold(0.0, |a, &e| a + e);
    for i in 0..k {
        r[i] /= rsum;
        let li = v(i);
        if (-8192.0..=8192.0).contains(&li) {
            g[i] += (prior[i] / zsum - r[i]) * Q8;
        }
        for ch in 0..c {
            let j = ch * k + i;
            g[k + j] -= r[i] * dm[j] * Q8;
            let ln_raw = v(k + (c + ch) * k + i);
            if (-768.0..=1536.0).contains(&ln_raw) {
                g[k + ck + j] -= r[i] * ds[j] * Q8;
            }
            for cp in 0..ch {
                let q = ch * (ch - 1) / 2 + cp;
                let raw_at = k + 2 * ck + q * k + i;
                if (-2048.0..=2048.0).contains(&v(raw_at)) {
                    let a = coef[q * k + i];
                    let dx = f64::from(x[cp]) - f64::from(refs[cp * k + i]) * Q8;
                    g[raw_at] -= r[i] * dm[j] * dx * (1.0 - a * a) * Q8;
                }
            }
        }
    }
}

/// sigmoid(u), sigmoid(-u) from one exponential.
fn sigmoids(u: f64) -> (f64, f64) {
    sigmoids_from(u, exp(-u.abs()))
}

/// sigmoid(u), sigmoid(-u) given t = exp(-|u|).
fn sigmoids_from(u: f64, t: f64) -> (f64, f64) {
    let big = 1.0 / (1.0 + t);
    let small = t * big;
    if u >= 0.0 {
        (big, small)
    } else {
        (small, big)
    }
}

/// ln P(bin x) of a discretized logistic with `mean` and 1/scale `inv` (bins of width 1,
/// the outer ones open), and its derivatives with respect to the mean and the log scale.
fn bin_log_prob(x: f64, mean: f64, inv: f64) -> (f64, f64, f64) {
    let up = (x + 0.5 - mean) * inv;
    let lo = (x - 0.5 - mean) * inv;
    if x <= 0.0 {
        // P = sigmoid(up); d ln P / d up = sigmoid(-up).
        let (s, t) = sigmoids(up);
        return (ln(s), -inv * t, -up * t);
    }
    if x >= 255.0 {
        // P = sigmoid(-lo); d ln P / d lo = -sigmoid(lo).
        let (s, t) = sigmoids(lo);
        return (ln(t), inv * s, lo * s);
    }
    let (su, nu) = sigmoids(up);
    let (sl, nl) = sigmoids(lo);
    // Taken where the sigmoids are small: no cancellation when the bin is far in a tail.
    let p = if lo > 0.0 { nl - nu } else { su - sl };
    let (gu, gl) = (su * nu, sl * nl);
    if p > 1e-9 {
        (ln(p), -inv * (gu - gl) / p, -(gu * up - gl * lo) / p)
    } else {
        // The density at the centre times the bin width.
        let u0 = (x - mean) * inv;
        let (s0, n0) = sigmoids(u0);
        let t = s0 - n0;
        (ln(s0 * n0) + ln(inv), inv * t, u0 * t - 1.0)
    }
}

/// Exact coded bits of the samples under the integer mixture, with `delta` or without.
fn integer_bits(s: &Samples, delta: Option<&HeadDelta>) -> f64 {
    let (k, c) = (s.k, s.c);
    let n = s.n();
    let parts: Vec<f64> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|ci| {
            let mut bits = 0.0;
            let mut buf = [0i32; MAX_HEAD];
            let mut b = [[0i32; crate::mixture::MAX_K]; crate::mixture::MAX_C];
            for p in ci * CHUNK..((ci + 1) * CHUNK).min(n) {
                let head = &s.heads[p * s.len..][..s.len];
                let head = match delta {
                    Some(d) => d.apply(head, &mut buf),
                    None => head,
                };
                for ch in 0..c {
                    b[ch][..k].copy_from_slice(&s.bases[(p * c + ch) * k..][..k]);
                }
                let dist = PixelDist::new(head, k, c, s.predicted.then_some(&b));
                dist.for_each_interval(&s.pixels[p * c..][..c], |_, f| {
                    bits += f64::from(PRECISION) - ln(f64::from(f)) * std::f64::consts::LOG2_E;
                });
            }
            bits
        })
        .collect();
    parts.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adds the gradient of sample `p`'s negative log-likelihood (nats) with respect to the
    /// Q8 offsets `d` to `g`. The float model of FORMAT.md section 4: the same head layout,
    /// clamps and coupling, with the logistic in place of the tables.
    fn pixel_grad_reference(s: &Samples, p: usize, d: &[f64], g: &mut [f64]) {
        let (k, c) = (s.k, s.c);
        let head = &s.heads[p * s.len..][..s.len];
        let v = |n: usize| f64::from(head[n]) + d[n];
        let base = &s.bases[p * c * k..][..c * k];
        let refs = &s.refs[p * c * k..][..c * k];
        let x = &s.pixels[p * c..][..c];
        const Q8: f64 = 1.0 / 256.0;
        // Mixture logits (natural units).
        let mut logit = [0.0f64; 32];
        let mut lmax = f64::MIN;
        for i in 0..k {
            logit[i] = v(i).clamp(-8192.0, 8192.0) * Q8;
            lmax = lmax.max(logit[i]);
        }
        let mut zsum = 0.0;
        let mut prior = [0.0f64; 32];
        for i in 0..k {
            prior[i] = exp(logit[i] - lmax);
            zsum += prior[i];
        }
        let lse = lmax + ln(zsum);
        // Per component: log prior + sum over channels of log p, and d log p / d (mean, log
        // scale) per channel.
        let mut joint = [0.0f64; 32];
        let mut dm = [[0.0f64; 32]; 3];
        let mut ds = [[0.0f64; 32]; 3];
        let mut coef = [[0.0f64; 32]; 3];
        for q in 0..c * (c - 1) / 2 {
            for i in 0..k {
                let raw = v(k + 2 * c * k + q * k + i).clamp(-2048.0, 2048.0) * Q8;
                coef[q][i] = 1.0 - 2.0 / (exp(2.0 * raw) + 1.0);
            }
        }
        for i in 0..k {
            let mut lp = logit[i] - lse;
            for ch in 0..c {
                let mut mean = (f64::from(base[ch * k + i]) + v(k + ch * k + i)) * Q8;
                for cp in 0..ch {
                    let q = ch * (ch - 1) / 2 + cp;
                    mean += coef[q][i] * (f64::from(x[cp]) - f64::from(refs[cp * k + i]) * Q8);
                }
                let mean = mean.clamp(-256.0, 512.0);
                let lns = v(k + (c + ch) * k + i).clamp(-768.0, 1536.0) * Q8;
                let inv = exp(-lns);
                let xv = f64::from(x[ch]);
                let (lpc, dmc, dsc) = bin_log_prob(xv, mean, inv);
                lp += lpc;
                dm[ch][i] = dmc;
                ds[ch][i] = dsc;
            }
            joint[i] = lp;
        }
        let jmax = joint[..k].iter().copied().fold(f64::MIN, f64::max);
        let mut rsum = 0.0;
        let mut r = [0.0f64; 32];
        for i in 0..k {
            r[i] = exp(joint[i] - jmax);
            rsum += r[i];
        }
        for i in 0..k {
            r[i] /= rsum;
            let li = v(i);
            if (-8192.0..=8192.0).contains(&li) {
                g[i] += (prior[i] / zsum - r[i]) * Q8;
            }
            for ch in 0..c {
                g[k + ch * k + i] -= r[i] * dm[ch][i] * Q8;
                let ln_raw = v(k + (c + ch) * k + i);
                if (-768.0..=1536.0).contains(&ln_raw) {
                    g[k + (c + ch) * k + i] -= r[i] * ds[ch][i] * Q8;
                }
                for cp in 0..ch {
                    let q = ch * (ch - 1) / 2 + cp;
                    let raw_at = k + 2 * c * k + q * k + i;
                    if (-2048.0..=2048.0).contains(&v(raw_at)) {
                        let a = coef[q][i];
                        let dx = f64::from(x[cp]) - f64::from(refs[cp * k + i]) * Q8;
                        g[raw_at] -= r[i] * dm[ch][i] * dx * (1.0 - a * a) * Q8;
                    }
                }
            }
        }
    }

    /// Samples of a random head (values beyond every clamp included), a random fit
    /// point `d` and pixels at 0, 255 and in between, for 1 and 3 channels.
    fn random_case(seed: u64, k: usize, c: usize, n: usize) -> (Samples, Vec<f64>) {
        let mut st = seed | 1;
        let mut next = move || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            st
        };
        let mut s = Samples::new(k, c, seed.is_multiple_of(2));
        let len = head_len(k, c);
        for _ in 0..n {
            let spread = [300i64, 3000, 12000][(next() % 3) as usize];
            let head: Vec<i32> = (0..len)
                .map(|_| ((next() % (2 * spread as u64 + 1)) as i64 - spread) as i32)
                .collect();
            let mut b = [[0i32; crate::mixture::MAX_K]; crate::mixture::MAX_C];
            for row in b.iter_mut().take(c) {
                for v in row.iter_mut().take(k) {
                    *v = (next() % 65536) as i32 - 8192;
                }
            }
            let px: Vec<u8> = (0..c)
                .map(|_| match next() % 4 {
                    0 => 0,
                    1 => 255,
                    _ => (next() % 256) as u8,
                })
                .collect();
            s.push(&head, Some(&b), &px);
        }
        let d = (0..len).map(|_| (next() % 2001) as f64 - 1000.0).collect();
        (s, d)
    }

    #[test]
    fn batched_gradient_is_bit_identical_to_the_per_component_form() {
        for (seed, k, c) in [(1u64, 10, 3), (2, 10, 1), (3, 5, 3), (4, 16, 3), (5, 1, 1)] {
            let (s, d) = random_case(seed, k, c, 300);
            for batch in Batch::all() {
                for p in 0..s.n() {
                    let mut want = vec![0.0f64; s.len];
                    let mut got = vec![0.0f64; s.len];
                    pixel_grad_reference(&s, p, &d, &mut want);
                    pixel_grad(&s, p, &d, &mut got, batch);
                    let same = want
                        .iter()
                        .zip(&got)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(
                        same,
                        "k {k} c {c} sample {p} ({batch:?}): {want:?} vs {got:?}"
                    );
                }
            }
        }
    }
}
