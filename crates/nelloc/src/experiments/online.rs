//! Integer online corrections of the mixture, learned per tile from the pixels already
//! coded (in the decoder's order), and the contexts they are kept in.
//!
//! Two rules, both i32/i64 arithmetic with defined rounding (`>>` floors, `div_euclid`):
//! - **bias** (CALIC-style error feedback): per context, `(sum, n)` of the errors of the
//!   prediction before correction (actual minus weighted mean of the coupled component
//!   means, plus the correction that was applied); the correction is
//!   `round(sum / (n + prior))` added to every component mean; `sum` and `n` are halved
//!   when `n` reaches `limit`.
//! - **grad** (integer online gradient ascent on the code length): per context, a mean
//!   offset and a ln-scale offset of the channel, moved after each symbol by `lr` times
//!   the exact gradient of ln p(x) of the mixture's bin (from the normative sigmoid table).

use crate::context::{neighbours, Neighbours};
use crate::mixture::{head_len, ChannelDist, MAX_C, MAX_K, SIGMOID_Q20};
use crate::schedule::TileBuf;

/// How pixels are grouped into contexts that each learn their own correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// One context per channel per tile.
    Tile,
    /// Per channel: the quantised local activity `|W-NW| + |N-NW| + |N-NE| + |W-WW| +
    /// |N-NN|` (grey levels, `min(bitlen, levels - 1)`).
    Energy(u8),
    /// [`Context::Energy`] times four texture bits (N, W, NW, NE above the GAP-like
    /// prediction `(W + N) / 2 + (NE - NW) / 4`).
    Texture(u8),
}

impl Context {
    fn count(self) -> usize {
        match self {
            Context::Tile => 1,
            Context::Energy(l) => usize::from(l.max(1)),
            Context::Texture(l) => usize::from(l.max(1)) * 16,
        }
    }

    fn index(self, nb: &Neighbours) -> usize {
        let levels = match self {
            Context::Tile => return 0,
            Context::Energy(l) | Context::Texture(l) => u32::from(l.max(1)),
        };
        let e = ((nb.w - nb.nw).abs()
            + (nb.n - nb.nw).abs()
            + (nb.n - nb.ne).abs()
            + (nb.w - nb.ww).abs()
            + (nb.n - nb.nn).abs())
            >> 8;
        let q = (32 - (e as u32).leading_zeros()).min(levels - 1) as usize;
        if let Context::Texture(_) = self {
            // Q8 neighbours are multiples of 256 (or 32640): the sum is exact in Q10.
            let p = 2 * (nb.w + nb.n) + nb.ne - nb.nw;
            let bits = usize::from(4 * nb.n > p)
                | usize::from(4 * nb.w > p) << 1
                | usize::from(4 * nb.nw > p) << 2
                | usize::from(4 * nb.ne > p) << 3;
            return q * 16 + bits;
        }
        q
    }
}

/// The bias rule's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bias {
    /// Contexts.
    pub context: Context,
    /// `n` at which `sum` and `n` are halved.
    pub limit: u16,
    /// Pseudo-count of zero error every context starts with (shrinks young contexts).
    pub prior: u16,
    /// Errors are clamped to +-`clip` grey levels (outliers would swamp the mean).
    pub clip: i32,
    /// The prediction is the heaviest component's mean (else the weighted mean).
    pub heaviest: bool,
}

/// The gradient rule's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grad {
    /// Contexts.
    pub context: Context,
    /// Learning rate of the mean offset, grey levels^2 / 4096 (0: not learned).
    pub lr_mean: i32,
    /// Learning rate of the ln-scale offset, 1/4096 (0: not learned).
    pub lr_lns: i32,
}

/// The head rule's parameters: online gradient ascent on every component's logit, mean
/// and ln-scale offset (the integer form of adapting the output biases online).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Contexts (of the pixel: the middle channel's neighbours); each has its own offsets.
    pub context: Context,
    /// Learning rate of the logits, 1/4096.
    pub lr_logit: i32,
    /// Learning rate of the means, grey levels^2 / 4096.
    pub lr_mean: i32,
    /// Learning rate of the ln-scales, 1/4096.
    pub lr_lns: i32,
}

/// One variant of the A/B: no correction, or any of the rules (their corrections add).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Variant {
    /// The bias rule, if any.
    pub bias: Option<Bias>,
    /// The gradient rule, if any.
    pub grad: Option<Grad>,
    /// The head rule, if any.
    pub head: Option<Head>,
    /// The first `warm` pixels of each tile learn at 4x the rates of the gradient rules.
    pub warm: u32,
}

impl Variant {
    /// Parses `base`, or rules `bias[,key=value...]`, `grad[,...]`, `head[,...]` and
    /// `warm=N` joined by `+`. Keys: `ctx=tile|eN|tN` (energy / texture with N levels);
    /// bias `limit`, `prior`, `clip`, `top` (heaviest component); grad `lrm`, `lrs`; head
    /// `lrl`, `lrm`, `lrs`.
    pub fn parse(spec: &str) -> Result<Variant, String> {
        let mut v = Variant::default();
        if spec == "base" {
            return Ok(v);
        }
        for part in spec.split('+') {
            if let Some(n) = part.strip_prefix("warm=") {
                v.warm = n.parse().map_err(|_| format!("{part:?}"))?;
                continue;
            }
            let mut it = part.split(',');
            let rule = it.next().unwrap_or_default();
            let mut ctx = Context::Tile;
            let mut bias = Bias {
                context: Context::Tile,
                limit: 256,
                prior: 8,
                clip: 32,
                heaviest: false,
            };
            let mut grad = Grad {
                context: Context::Tile,
                lr_mean: 16,
                lr_lns: 32,
            };
            let mut head = Head {
                context: Context::Tile,
                lr_logit: 128,
                lr_mean: 16,
                lr_lns: 16,
            };
            for kv in it {
                let (key, val) = kv.split_once('=').unwrap_or((kv, "1"));
                let num = || val.parse::<i32>().map_err(|e| format!("{kv}: {e}"));
                match key {
                    "ctx" => {
                        ctx = match val.split_at(1) {
                            ("t", "ile") => Context::Tile,
                            ("e", n) => Context::Energy(n.parse().map_err(|_| kv.to_string())?),
                            ("t", n) => Context::Texture(n.parse().map_err(|_| kv.to_string())?),
                            _ => return Err(format!("context {val:?}")),
                        }
                    }
                    "limit" => bias.limit = num()?.clamp(2, 32768) as u16,
                    "prior" => bias.prior = num()?.clamp(0, 32768) as u16,
                    "clip" => bias.clip = num()?.clamp(1, 255),
                    "top" => bias.heaviest = num()? != 0,
                    "lrm" => (grad.lr_mean, head.lr_mean) = (num()?, num()?),
                    "lrs" => (grad.lr_lns, head.lr_lns) = (num()?, num()?),
                    "lrl" => head.lr_logit = num()?,
                    _ => return Err(format!("unknown key {key:?} in {part:?}")),
                }
            }
            match rule {
                "bias" => {
                    bias.context = ctx;
                    v.bias = Some(bias);
                }
                "grad" => {
                    grad.context = ctx;
                    v.grad = Some(grad);
                }
                "head" => {
                    head.context = ctx;
                    v.head = Some(head);
                }
                _ => return Err(format!("unknown rule {rule:?}")),
            }
        }
        Ok(v)
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ctx = |c: Context| match c {
            Context::Tile => "tile".to_string(),
            Context::Energy(l) => format!("e{l}"),
            Context::Texture(l) => format!("t{l}"),
        };
        let mut parts = Vec::new();
        if let Some(b) = self.bias {
            parts.push(format!(
                "bias,ctx={},limit={},prior={},clip={}{}",
                ctx(b.context),
                b.limit,
                b.prior,
                b.clip,
                if b.heaviest { ",top" } else { "" }
            ));
        }
        if let Some(g) = self.grad {
            parts.push(format!(
                "grad,ctx={},lrm={},lrs={}",
                ctx(g.context),
                g.lr_mean,
                g.lr_lns
            ));
        }
        if let Some(h) = self.head {
            parts.push(format!(
                "head,ctx={},lrl={},lrm={},lrs={}",
                ctx(h.context),
                h.lr_logit,
                h.lr_mean,
                h.lr_lns
            ));
        }
        if self.warm > 0 {
            parts.push(format!("warm={}", self.warm));
        }
        if parts.is_empty() {
            parts.push("base".into());
        }
        f.write_str(&parts.join("+"))
    }
}

/// Fractional bits of the gradient rule's accumulators (Q8 offsets x 2^ACC).
const ACC: u32 = 16;
/// Largest mean correction, Q8 (16 grey levels), and ln-scale correction (1.0).
const MAX_DMEAN: i32 = 16 * 256;
const MAX_DLNS: i32 = 256;
/// Largest logit correction of the head rule, Q8 (8 nats).
const MAX_DLOGIT: i32 = 8 * 256;
/// Largest gradient magnitude taken, Q12 (per grey level or per unit of ln-scale).
const MAX_GRAD: i64 = 4 << 12;

/// A tile's online state: the per-context statistics of each rule, and what the current
/// pixel's channels use.
pub(crate) struct Online {
    v: Variant,
    c: usize,
    /// Per channel x bias context: (sum of Q8 errors, count).
    bias: Vec<(i32, u16)>,
    /// Per channel x grad context: (mean, ln-scale) accumulators.
    grad: Vec<(i32, i32)>,
    /// Per head value (logits, means, ln-scales; coupling coefficients stay 0): the head
    /// rule's accumulators, and the current pixel's prior weights.
    head: Vec<i32>,
    k: usize,
    prior: [u32; MAX_K],
    /// The current pixel's head-rule context (an offset into `head`), pixels seen.
    head_at: usize,
    seen: u32,
    /// The current pixel's context slots and applied corrections per channel.
    slot: [(usize, usize); MAX_C],
    applied: [(i32, i32); MAX_C],
}

impl Online {
    pub(crate) fn new(v: &Variant, k: usize, c: usize) -> Self {
        Online {
            v: *v,
            c,
            head: vec![0; v.head.map_or(0, |h| h.context.count() * head_len(k, c))],
            k,
            prior: [0; MAX_K],
            head_at: 0,
            seen: 0,
            bias: vec![(0, 0); v.bias.map_or(0, |b| b.context.count() * c)],
            grad: vec![(0, 0); v.grad.map_or(0, |g| g.context.count() * c)],
            slot: [(0, 0); MAX_C],
            applied: [(0, 0); MAX_C],
        }
    }

    /// `raw` plus the head rule's offsets in `buf` (`raw` itself without the rule).
    pub(crate) fn head<'a>(&self, raw: &'a [i32], buf: &'a mut [i32]) -> &'a [i32] {
        if self.head.is_empty() {
            return raw;
        }
        let acc = &self.head[self.head_at..][..raw.len()];
        for ((o, &r), &a) in buf.iter_mut().zip(raw).zip(acc) {
            *o = r + ((a + (1 << (ACC - 1))) >> ACC);
        }
        &buf[..raw.len()]
    }

    /// The current pixel's prior component weights (those of the corrected head).
    pub(crate) fn set_prior(&mut self, prior: &[u32; MAX_K]) {
        self.prior = *prior;
    }

    /// The learning-rate factor of the current pixel.
    fn warm(&self) -> i64 {
        if self.seen <= self.v.warm {
            4
        } else {
            1
        }
    }

    /// Computes the contexts of pixel (i, j) (causal neighbours only), before
    /// [`Online::head`].
    pub(crate) fn start_pixel(&mut self, tile: &TileBuf<'_>, i: usize, j: usize) {
        self.seen = self.seen.saturating_add(1);
        let local = |c: Option<Context>| !matches!(c, None | Some(Context::Tile));
        if let Some(h) = self.v.head {
            self.head_at = if local(Some(h.context)) {
                let nb = neighbours(tile, i, j, self.c / 2);
                h.context.index(&nb) * head_len(self.k, self.c)
            } else {
                0
            };
        }
        let needs_nb =
            local(self.v.bias.map(|b| b.context)) || local(self.v.grad.map(|g| g.context));
        for ch in 0..self.c {
            let nb = if needs_nb {
                neighbours(tile, i, j, ch)
            } else {
                Neighbours {
                    w: 0,
                    ww: 0,
                    n: 0,
                    nn: 0,
                    nw: 0,
                    ne: 0,
                }
            };
            let b = self
                .v
                .bias
                .map_or(0, |b| ch * b.context.count() + b.context.index(&nb));
            let g = self
                .v
                .grad
                .map_or(0, |g| ch * g.context.count() + g.context.index(&nb));
            self.slot[ch] = (b, g);
        }
    }

    /// (mean Q8, ln-scale Q8) correction of channel `ch` of the current pixel.
    pub(crate) fn correction(&mut self, ch: usize) -> (i32, i32) {
        let (bs, gs) = self.slot[ch];
        let mut dm = 0;
        let mut ds = 0;
        if let Some(b) = self.v.bias {
            let (sum, n) = self.bias[bs];
            let d = i64::from(n) + i64::from(b.prior);
            if d > 0 {
                // round(sum / d), halves up.
                dm += (2 * i64::from(sum) + d).div_euclid(2 * d) as i32;
            }
        }
        if self.v.grad.is_some() {
            let (am, al) = self.grad[gs];
            dm += (am + (1 << (ACC - 1))) >> ACC;
            ds += (al + (1 << (ACC - 1))) >> ACC;
        }
        let out = (
            dm.clamp(-MAX_DMEAN, MAX_DMEAN),
            ds.clamp(-MAX_DLNS, MAX_DLNS),
        );
        self.applied[ch] = out;
        out
    }

    /// Learns from channel `ch` of the current pixel taking value `x` under `cd` (the
    /// corrected distribution it was coded with). Returns the posterior weights
    /// (`ChannelDist::posterior`) when the gradient rules computed them on the way: a
    /// decoder computes the same bin masses for the posterior, so this fused pass is
    /// what an implementation would cost.
    pub(crate) fn update(&mut self, ch: usize, cd: &ChannelDist, x: u8) -> Option<[u32; MAX_K]> {
        let (bs, gs) = self.slot[ch];
        if let Some(b) = self.v.bias {
            let pred = prediction(cd, b.heaviest);
            // The error of the prediction before this pixel's correction.
            let e =
                (256 * i32::from(x) - pred + self.applied[ch].0).clamp(-256 * b.clip, 256 * b.clip);
            let s = &mut self.bias[bs];
            s.0 += e;
            s.1 += 1;
            if s.1 >= b.limit {
                s.0 >>= 1;
                s.1 >>= 1;
            }
        }
        if self.v.head.is_none() && self.v.grad.is_none() {
            return None;
        }
        // One pass over the components for both gradient rules.
        let t = terms(cd, x);
        if let Some(h) = self.v.head {
            self.update_head(h, ch, &t);
        }
        if let Some(g) = self.v.grad {
            let f = self.warm();
            let (gm, gl) = gradient(&t);
            let s = &mut self.grad[gs];
            let lim_m = (MAX_DMEAN << ACC) - 1;
            let lim_s = (MAX_DLNS << ACC) - 1;
            s.0 = (i64::from(s.0) + f * i64::from(g.lr_mean) * gm)
                .clamp(-i64::from(lim_m), i64::from(lim_m)) as i32;
            s.1 = (i64::from(s.1) + f * i64::from(g.lr_lns) * gl)
                .clamp(-i64::from(lim_s), i64::from(lim_s)) as i32;
        }
        (ch + 1 < self.c).then(|| t.posterior(self.k))
    }
}

impl Online {
    /// The head rule: every component's mean and ln-scale offset of channel `ch` moves
    /// along its own gradient of ln p(x_ch | earlier channels) (the weights held fixed);
    /// after the last channel the logits move along posterior minus prior.
    fn update_head(&mut self, h: Head, ch: usize, t: &Terms) {
        let (k, c, at, f) = (self.k, self.c, self.head_at, self.warm());
        let lim_m = i64::from(MAX_DMEAN) << ACC;
        let lim_s = i64::from(MAX_DLNS) << ACC;
        for i in 0..k {
            let gm = t.ratio(t.num_m[i], 4).clamp(-MAX_GRAD, MAX_GRAD);
            let gs = t.ratio(t.num_s[i], 12).clamp(-MAX_GRAD, MAX_GRAD);
            let m = &mut self.head[at + k + ch * k + i];
            *m = (i64::from(*m) + f * i64::from(h.lr_mean) * gm).clamp(-lim_m, lim_m) as i32;
            let s = &mut self.head[at + k + (c + ch) * k + i];
            *s = (i64::from(*s) + f * i64::from(h.lr_lns) * gs).clamp(-lim_s, lim_s) as i32;
        }
        if ch + 1 == c {
            // Posterior w_k p_k / sum (the weights carry the earlier channels) minus prior.
            let sp: i64 = self.prior[..k].iter().map(|&p| i64::from(p)).sum();
            let lim_l = i64::from(MAX_DLOGIT) << ACC;
            // The largest prior weight is 2^16, so sp >= 2^16 and the reciprocal <= 2^24.
            let rp = (1i64 << 40) / sp.max(1);
            for i in 0..k {
                let r = t.ratio(t.wp[i], 12);
                let p = ((i64::from(self.prior[i]) << 12) * rp) >> 40;
                let l = &mut self.head[at + i];
                *l = (i64::from(*l) + f * i64::from(h.lr_logit) * (r - p)).clamp(-lim_l, lim_l)
                    as i32;
            }
        }
    }
}

/// The distribution's point prediction (Q8): the weighted mean of the component means
/// (floored), or the heaviest component's mean (lowest index on ties).
fn prediction(cd: &ChannelDist, heaviest: bool) -> i32 {
    let (k, w, m, _) = cd.parts();
    if heaviest {
        let best = (0..k)
            .max_by_key(|&i| (w[i], std::cmp::Reverse(i)))
            .unwrap_or(0);
        return m[best];
    }
    let (mut sw, mut sm) = (0i64, 0i64);
    for i in 0..k {
        sw += i64::from(w[i]);
        sm += i64::from(w[i]) * i64::from(m[i]);
    }
    sm.div_euclid(sw.max(1)) as i32
}

/// Per component of the bin of `x` under `cd` (Q20 masses, Q12 densities, Q8 z):
/// `w_k dp_k/dmean` as `w (sigma'_lo - sigma'_hi) inv`, `w_k dp_k/dlns` as
/// `w (sigma'_lo z_lo - sigma'_hi z_hi)`, `w_k p_k`, and the sum of the last.
struct Terms {
    num_m: [i64; MAX_K],
    num_s: [i64; MAX_K],
    wp: [i64; MAX_K],
    den: i64,
    /// `2^62 / (den >> dsh)` with `den >> dsh` of 31 bits: one division per symbol,
    /// then a multiply per ratio (a division per component would cost about half a
    /// decode).
    recip: i64,
    dsh: u32,
}

impl Terms {
    /// `ChannelDist::posterior` from the same masses: `w_k max(mass_k, 1)` renormalised
    /// to at most 17 bits, floored at 1 (FORMAT.md section 4).
    fn posterior(&self, k: usize) -> [u32; MAX_K] {
        let max = self.wp[..k].iter().copied().max().unwrap_or(1) as u64;
        let shift = (64 - max.leading_zeros()).saturating_sub(17);
        let mut w = [0u32; MAX_K];
        for (w, &p) in w.iter_mut().zip(&self.wp[..k]) {
            *w = ((p as u64 >> shift) as u32).max(1);
        }
        w
    }

    /// `floor(num * 2^bits / den)`, up to the reciprocal's rounding.
    #[inline]
    fn ratio(&self, num: i64, bits: u32) -> i64 {
        ((i128::from(num) * i128::from(self.recip)) >> (62 + self.dsh - bits)) as i64
    }
}

fn terms(cd: &ChannelDist, x: u8) -> Terms {
    let (k, w, m, inv) = cd.parts();
    // S and z as `ChannelDist::cumulative` computes them; sigma' = S (1 - S) in Q12.
    let edge = |e: u32, i: usize| -> (i64, i64) {
        let d = 256 * i64::from(e) - 128 - i64::from(m[i]);
        let z = ((d * i64::from(inv[i]) + (1 << 15)) >> 16).clamp(-4096, 4096);
        (i64::from(SIGMOID_Q20[(z + 4096) as usize]), z)
    };
    let dens = |s: i64| (s * ((1 << 20) - s)) >> 28;
    let x = u32::from(x);
    let mut t = Terms {
        num_m: [0; MAX_K],
        num_s: [0; MAX_K],
        wp: [0; MAX_K],
        den: 0,
        recip: 0,
        dsh: 0,
    };
    for i in 0..k {
        // The outer edges of bins 0 and 255 are at -inf and +inf: S is 0 or 1, sigma' 0.
        let (s_lo, d_lo, z_lo) = if x == 0 {
            (0, 0, 0)
        } else {
            let (s, z) = edge(x, i);
            (s, dens(s), z)
        };
        let (s_hi, d_hi, z_hi) = if x == 255 {
            (1 << 20, 0, 0)
        } else {
            let (s, z) = edge(x + 1, i);
            (s, dens(s), z)
        };
        let wi = i64::from(w[i]);
        t.num_m[i] = wi * (d_lo - d_hi) * i64::from(inv[i]);
        t.num_s[i] = wi * (d_lo * z_lo - d_hi * z_hi);
        t.wp[i] = wi * (s_hi - s_lo).max(1);
        t.den += t.wp[i];
    }
    t.dsh = (64 - t.den.leading_zeros()).saturating_sub(31);
    t.recip = (1i64 << 62) / (t.den >> t.dsh);
    t
}

/// `(d ln p / d mean, d ln p / d ln-scale)` of the bin of [`terms`], Q12 (per grey
/// level, per unit of ln-scale; both clamped to +-[`MAX_GRAD`]), where every component's
/// mean moves together and every scale is multiplied by the same factor.
fn gradient(t: &Terms) -> (i64, i64) {
    let num_m: i64 = t.num_m.iter().sum();
    let num_s: i64 = t.num_s.iter().sum();
    // num_m / den = g_mean * 2^(12 + 16 - 20); num_s / den = g_lns * 2^(12 + 8 - 20).
    let gm = t.ratio(num_m, 4);
    let gs = t.ratio(num_s, 12);
    (gm.clamp(-MAX_GRAD, MAX_GRAD), gs.clamp(-MAX_GRAD, MAX_GRAD))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mixture::{head_len, Edges, PixelDist};

    /// A synthetic tile coded as an encoder (every pixel known, the state updated in
    /// wavefront order), then decoded from the encoder's intervals (each symbol found by
    /// searching the decoder's own corrected distribution, then the state updated): the
    /// corrections, intervals and pixels must agree exactly.
    #[test]
    fn corrections_are_reproduced_in_decode_order() {
        let (w, h, k, c) = (23usize, 11usize, 3usize, 3usize);
        let mut s = 17u64;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        // A smooth image with noise, and one head per pixel (absolute means) whose means
        // are 3 grey levels below the pixel: a systematic bias to learn.
        let img: Vec<u8> = (0..w * h * c)
            .map(|n| ((n / c % w) * 5 + (n / c / w) * 3 + (rnd() % 7) as usize) as u8)
            .collect();
        let hl = head_len(k, c);
        let heads: Vec<i32> = (0..w * h)
            .flat_map(|p| {
                let mut o = vec![0i32; hl];
                for ch in 0..c {
                    for i in 0..k {
                        o[k + ch * k + i] = 256 * i32::from(img[p * c + ch]) - 768 + i as i32;
                        o[k + (c + ch) * k + i] = 256 + 64 * i as i32;
                    }
                }
                o
            })
            .collect();
        for spec in [
            "bias,ctx=t4,limit=16,prior=2",
            "grad,ctx=e3,lrm=1024,lrs=256",
            "bias,ctx=tile+grad,ctx=tile,lrm=128",
            "head,lrl=256,lrm=1024,lrs=256",
            "head,ctx=e3,lrl=256,lrm=1024,lrs=256+warm=50",
        ] {
            let v = Variant::parse(spec).unwrap();
            // `Some(intervals)`: decode from them; `None`: encode `img`.
            let run = |from: Option<&[(u32, u32)]>| {
                let mut out = if from.is_some() {
                    vec![0u8; img.len()]
                } else {
                    img.clone()
                };
                let (mut seen, mut ivs) = (Vec::new(), Vec::new());
                let mut online = Online::new(&v, k, c);
                let mut buf = vec![0i32; hl];
                for (i, j) in crate::schedule::wavefront(w, h, 1) {
                    let at = i * w + j;
                    let tile = TileBuf {
                        data: &out,
                        w,
                        h,
                        stride: c,
                    };
                    online.start_pixel(&tile, i, j);
                    let raw = &heads[at * hl..][..hl];
                    let head = online.head(raw, &mut buf);
                    // The head rule's offset of each channel's first component mean.
                    let off: Vec<i32> = (0..c)
                        .map(|ch| head[k + ch * k] - raw[k + ch * k])
                        .collect();
                    let mut dist = PixelDist::new(head, k, c, None);
                    let mut wts = dist.prior_weights();
                    online.set_prior(&wts);
                    let mut px = [0u8; 3];
                    px.copy_from_slice(&out[at * c..][..c]);
                    for ch in 0..c {
                        let (dm, ds) = online.correction(ch);
                        seen.push((dm + off[ch], ds));
                        dist.adjust(ch, dm, ds);
                        let cd = dist.channel(ch, &px, &wts);
                        let iv = match from {
                            Some(f) => {
                                let (lo, f) = f[ivs.len()];
                                let bin = cd.search(lo + f / 2, &mut Edges::default());
                                let (x, left, freq) = (bin.x, bin.left, bin.freq);
                                px[ch] = x;
                                (left, freq)
                            }
                            None => cd.interval(px[ch]),
                        };
                        ivs.push(iv);
                        let post = online.update(ch, &cd, px[ch]);
                        if ch + 1 < c {
                            wts = cd.posterior(px[ch]);
                            if let Some(p) = post {
                                assert_eq!(p, wts, "{spec}: fused posterior");
                            }
                        }
                    }
                    out[at * c..][..c].copy_from_slice(&px);
                }
                (out, seen, ivs)
            };
            let (enc_px, enc, ivs) = run(None);
            let (dec_px, dec, dec_ivs) = run(Some(&ivs));
            assert_eq!(dec_px, enc_px, "{spec}");
            assert_eq!(dec, enc, "{spec}");
            assert_eq!(dec_ivs, ivs, "{spec}");
            // The state learned the bias: late corrections push the means up.
            let late = &enc[enc.len() / 2..];
            assert!(
                late.iter().filter(|&&(dm, _)| dm > 128).count() > late.len() / 2,
                "{spec}"
            );
        }
    }

    /// One channel, one component of mean 100.0 (Q8 25600): the weighted mean is exact.
    fn unit_dist() -> ChannelDist {
        let head = [0, 100 * 256, 0];
        PixelDist::new(&head, 1, 1, None).channel(0, &[0], &[1 << 16; crate::mixture::MAX_K])
    }

    #[test]
    fn bias_rule_rounds_and_halves_as_specified() {
        let v = Variant::parse("bias,limit=4,prior=0").unwrap();
        let mut o = Online::new(&v, 1, 1);
        o.bias[0] = (-3, 2);
        // round(-1.5) = -1 (halves up), round(1.5) = 2.
        assert_eq!(o.correction(0), (-1, 0));
        o.bias[0] = (3, 2);
        assert_eq!(o.correction(0), (2, 0));
        // An error of +3 grey levels with correction 2 applied: +770; at the fourth
        // sample sum and count halve, flooring: (-7 + 770) >> 1 = 381.
        o.bias[0] = (-7, 3);
        o.update(0, &unit_dist(), 103);
        assert_eq!(o.bias[0], (381, 2));
        // Errors are clipped to 32 grey levels.
        o.bias[0] = (0, 0);
        o.applied[0] = (0, 0);
        o.update(0, &unit_dist(), 200);
        assert_eq!(o.bias[0], (32 * 256, 1));
    }

    #[test]
    fn gradient_points_towards_the_value() {
        // Value above the mean: the mean should rise; far from it: the scale should grow.
        let d = unit_dist();
        let (gm, gs) = gradient(&terms(&d, 101));
        assert!(gm > 0 && gs < 0, "{gm} {gs}");
        let (gm, gs) = gradient(&terms(&d, 96));
        assert!(gm < 0 && gs > 0, "{gm} {gs}");
        let (gm, _) = gradient(&terms(&d, 100));
        assert!(gm.abs() < 1 << 10, "{gm}");
    }

    #[test]
    fn specs_roundtrip() {
        for s in [
            "base",
            "bias,ctx=t8,limit=128,prior=4,clip=16,top",
            "grad,ctx=e6,lrm=2,lrs=0",
            "bias,ctx=tile,limit=256,prior=8,clip=32+grad,ctx=tile,lrm=4,lrs=2",
            "head,ctx=tile,lrl=1,lrm=2,lrs=3",
            "grad,ctx=e8,lrm=8,lrs=16+head,ctx=t2,lrl=256,lrm=8,lrs=8+warm=4096",
        ] {
            assert_eq!(Variant::parse(s).unwrap().to_string(), s);
        }
    }
}
