//! The integer discretized-logistic mixture: network outputs to quantized CDFs.
//!
//! Everything here is integer arithmetic on the lookup tables of [`tables`]; the exact
//! semantics are those of docs/FORMAT.md ("Mixture head"), which this file implements
//! as the reference.

#[allow(clippy::all, dead_code)]
pub(crate) mod tables;

/// The normative sigmoid table, for the online-adaptation experiment's gradients.
#[cfg(feature = "experiments")]
pub(crate) use tables::SIGMOID as SIGMOID_Q20;
#[cfg(test)]
use tables::TABLES_SHA256;
use tables::{EXP_NEG, INV_SCALE, SIGMOID, TANH};

mod simd;
#[cfg(target_arch = "x86_64")]
mod zmm;

pub(crate) use simd::MixSimd;

/// CDF precision in bits: symbol frequencies sum to 2^PRECISION.
pub(crate) const PRECISION: u32 = 24;
/// Largest mixture count a model may have.
pub(crate) const MAX_K: usize = 32;
/// Largest channel count a model may have.
pub(crate) const MAX_C: usize = 3;

/// Per channel and component: the Q8 base added to the head's mean and the reference the
/// coupling subtracts from an earlier channel's value (predictor-relative models; computed
/// by `crate::context::bases`).
pub(crate) type Bases = [[i32; MAX_K]; MAX_C];

const TOTAL: u32 = 1 << PRECISION;
const SIG_ONE: u64 = 1 << 20;
// Clamps applied to the raw head outputs (Q8, i.e. value * 256).
const LOGIT_MIN: i32 = -32 * 256;
const LOGIT_MAX: i32 = 32 * 256;
const MEAN_MIN: i32 = -256 * 256;
const MEAN_MAX: i32 = 512 * 256;
const LNS_MIN: i32 = -3 * 256;
const LNS_MAX: i32 = 6 * 256;
const COEF_MAX: i32 = 8 * 256;
/// The clamps of the raw head outputs, for the SIMD kernels ([`MixSimd`]).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Limits {
    pub(crate) logit: (i32, i32),
    pub(crate) mean: (i32, i32),
    pub(crate) lns: (i32, i32),
    pub(crate) coef: i32,
}

pub(crate) const LIMITS: Limits = Limits {
    logit: (LOGIT_MIN, LOGIT_MAX),
    mean: (MEAN_MIN, MEAN_MAX),
    lns: (LNS_MIN, LNS_MAX),
    coef: COEF_MAX,
};

/// Posterior weights are renormalised to at most this many bits.
const WEIGHT_BITS: u32 = 17;

/// Number of head outputs for `k` components and `c` channels.
pub(crate) fn head_len(k: usize, c: usize) -> usize {
    k * (1 + 2 * c + c * (c - 1) / 2)
}

/// The per-pixel mixture decoded from the network's Q8 outputs.
#[derive(Clone)]
pub(crate) struct PixelDist {
    k: usize,
    c: usize,
    /// The SIMD kernels the channel distributions use (bit-identical to the reference).
    simd: MixSimd,
    /// Prior component weights (EXP_NEG of logit distance to the maximum).
    prior: [u32; MAX_K],
    /// Uncoupled means, Q8 pixels.
    mean: [[i32; MAX_K]; MAX_C],
    /// 1/scale, Q16.
    inv_scale: [[u32; MAX_K]; MAX_C],
    /// Coupling coefficients tanh(raw), Q14, pair index c*(c-1)/2 + c'.
    coef: [[i32; MAX_K]; MAX_C],
    /// What the coupling subtracts from an earlier channel's value (Q8): 127.5 for
    /// absolute means, the component's prediction of that channel otherwise.
    coupling_ref: [[i32; MAX_K]; MAX_C],
}

/// The coupling reference of absolute means: 127.5 in Q8.
const ABSOLUTE_REF: i32 = 32640;

impl PixelDist {
    /// Decodes the head layout `[logits | means | ln-scales | coefficients]`. `bases`:
    /// the per-channel, per-component predictions (Q8) of a predictor-relative model,
    /// added to the head's means and used as the coupling reference; `None` for absolute
    /// means.
    pub(crate) fn new(out: &[i32], k: usize, c: usize, bases: Option<&Bases>) -> Self {
        Self::with_simd(out, k, c, bases, MixSimd::reference())
    }

    /// [`new`](Self::new), its symbols evaluated with `simd`'s kernels (bit-identical).
    pub(crate) fn with_simd(
        out: &[i32],
        k: usize,
        c: usize,
        bases: Option<&Bases>,
        simd: MixSimd,
    ) -> Self {
        debug_assert_eq!(out.len(), head_len(k, c));
        let mut d = PixelDist {
            k,
            c,
            simd,
            prior: [0; MAX_K],
            mean: [[0; MAX_K]; MAX_C],
            inv_scale: [[0; MAX_K]; MAX_C],
            coef: [[0; MAX_K]; MAX_C],
            coupling_ref: [[ABSOLUTE_REF; MAX_K]; MAX_C],
        };
        let head = (out, k, c, bases);
        let params = (&mut d.prior, &mut d.mean, &mut d.inv_scale, &mut d.coef);
        let done = simd.setup(head, &LIMITS, params);
        if !done {
            // Zipped slices (k <= MAX_K, c <= MAX_C): no bounds checks in the loops.
            let (k, c) = (k.min(MAX_K), c.min(MAX_C));
            let (logits, rest) = out.split_at(k);
            let (means, rest) = rest.split_at(c * k);
            let (lns, coefs) = rest.split_at(c * k);
            let max = logits
                .iter()
                .map(|&l| l.clamp(LOGIT_MIN, LOGIT_MAX))
                .max()
                .unwrap_or(0);
            for (p, &l) in d.prior[..k].iter_mut().zip(logits) {
                let dist = (max - l.clamp(LOGIT_MIN, LOGIT_MAX)).min(4096);
                *p = EXP_NEG[dist as usize];
            }
            let zero = [0i32; MAX_K];
            for ch in 0..c {
                let base = bases.map_or(&zero, |b| &b[ch]);
                let raw = means[ch * k..][..k].iter().zip(&base[..k]);
                for (m, (&r, &b)) in d.mean[ch][..k].iter_mut().zip(raw) {
                    // |base| <= 65280 and |out| <= 2^23: the sum cannot overflow.
                    *m = (b + r).clamp(MEAN_MIN, MEAN_MAX);
                }
                for (inv, &l) in d.inv_scale[ch][..k].iter_mut().zip(&lns[ch * k..][..k]) {
                    *inv = INV_SCALE[(l.clamp(LNS_MIN, LNS_MAX) - LNS_MIN) as usize];
                }
            }
            for (pair, raw) in coefs.chunks_exact(k).take(c * (c - 1) / 2).enumerate() {
                for (dst, &r) in d.coef[pair][..k].iter_mut().zip(raw) {
                    *dst = TANH[(r.clamp(-COEF_MAX, COEF_MAX) + COEF_MAX) as usize];
                }
            }
        }
        if let Some(b) = bases {
            d.coupling_ref = *b;
        }
        d
    }

    /// Distribution of channel `ch` given the already-coded channels `prev[..ch]` and
    /// the current component weights.
    pub(crate) fn channel(&self, ch: usize, prev: &[u8], weights: &[u32; MAX_K]) -> ChannelDist {
        let k = self.k.min(MAX_K);
        let mut means = [0i32; MAX_K];
        let own = &self.mean[ch][..k];
        // a * (x - ref) in Q8 = a_Q14 * (256x - ref_Q8) / 2^14, rounded half up. With
        // ref = 127.5 this equals the first release's (a_Q14 * (2x - 255) + 64) >> 7. The
        // first channel has no coupling: its means are the (already clamped) uncoupled ones.
        let term = |pair: usize, cp: usize, i: usize| {
            i64::from(self.coef[pair][i])
                * (256 * i64::from(prev[cp]) - i64::from(self.coupling_ref[cp][i]))
        };
        let couple = |m: &mut i32, own: i32, shift: i64| {
            let coupled = i64::from(own) + ((shift + (1 << 13)) >> 14);
            *m = coupled.clamp(i64::from(MEAN_MIN), i64::from(MEAN_MAX)) as i32;
        };
        match ch {
            0 => means[..k].copy_from_slice(own),
            1 => {
                for (i, (m, &o)) in means[..k].iter_mut().zip(own).enumerate() {
                    couple(m, o, term(0, 0, i));
                }
            }
            _ => {
                // Pairs are numbered ch*(ch-1)/2 + cp.
                let first = ch * (ch - 1) / 2;
                for (i, (m, &o)) in means[..k].iter_mut().zip(own).enumerate() {
                    let shift = (0..ch).map(|cp| term(first + cp, cp, i)).sum();
                    couple(m, o, shift);
                }
            }
        }
        let mut d = ChannelDist::new(self.k, *weights, means, self.inv_scale[ch]);
        d.simd = self.simd;
        d
    }

    /// Prior component weights.
    #[cfg(any(test, feature = "experiments"))]
    pub(crate) fn prior_weights(&self) -> [u32; MAX_K] {
        self.prior
    }

    /// Online-adaptation experiment (`crate::experiments`): adds `dmean` (Q8) to every
    /// component mean of channel `ch` and multiplies its scales by exp(dlns / 256).
    #[cfg(feature = "experiments")]
    pub(crate) fn adjust(&mut self, ch: usize, dmean: i32, dlns: i32) {
        let f = u64::from(INV_SCALE[(dlns.clamp(LNS_MIN, LNS_MAX) - LNS_MIN) as usize]);
        let (lo, hi) = (
            u64::from(INV_SCALE[INV_SCALE.len() - 1]),
            u64::from(INV_SCALE[0]),
        );
        for i in 0..self.k {
            self.mean[ch][i] = (self.mean[ch][i] + dmean).clamp(MEAN_MIN, MEAN_MAX);
            if dlns != 0 {
                let v = (u64::from(self.inv_scale[ch][i]) * f + (1 << 15)) >> 16;
                self.inv_scale[ch][i] = v.clamp(lo, hi) as u32;
            }
        }
    }

    /// Visits the coding interval `(left, freq)` of each channel of `pixel`, in order.
    pub(crate) fn for_each_interval(&self, pixel: &[u8], mut sink: impl FnMut(u32, u32)) {
        let mut edges = Edges::default();
        let mut w = self.prior;
        for ch in 0..self.c {
            let dist = self.channel(ch, pixel, &w);
            let bin = dist.bin(pixel[ch], &mut edges);
            sink(bin.left, bin.freq);
            if ch + 1 < self.c {
                w = dist.posterior_of(bin, &edges);
            }
        }
    }

    /// Decodes the channels of one pixel, asking `decode_one` for each symbol's [`Bin`]
    /// (`ChannelDist::search` of the stream's quantile).
    pub(crate) fn decode_pixel<E>(
        &self,
        out: &mut [u8],
        edges: &mut Edges,
        mut decode_one: impl FnMut(&ChannelDist, &mut Edges) -> Result<Bin, E>,
    ) -> Result<(), E> {
        let mut w = self.prior;
        for ch in 0..self.c {
            let dist = self.channel(ch, out, &w);
            let bin = decode_one(&dist, edges)?;
            out[ch] = bin.x;
            if ch + 1 < self.c {
                w = dist.posterior_of(bin, edges);
            }
        }
        Ok(())
    }
}

/// A symbol's bin of a [`ChannelDist`]: its coding interval, and which buffers of the
/// [`Edges`] it was found with hold every component's CDF (Q20) at the bin's two edges,
/// which the posterior weights are made of (computing them once, during the search, is
/// what makes the posterior free).
#[derive(Clone, Copy)]
pub(crate) struct Bin {
    pub(crate) x: u8,
    pub(crate) left: u32,
    pub(crate) freq: u32,
    lo: usize,
    hi: usize,
}

/// Scratch for the per-component edge values of a search or a bin: three buffers that
/// trade places (lower bound, upper bound, candidate) instead of being copied. Reused
/// across symbols; only the first `k` entries of a buffer are meaningful.
pub(crate) struct Edges([[u32; MAX_K]; 3]);

impl Default for Edges {
    fn default() -> Self {
        Edges([[0; MAX_K]; 3])
    }
}

/// One channel's quantized distribution over 0..=255.
pub(crate) struct ChannelDist {
    k: usize,
    simd: MixSimd,
    weights: [u32; MAX_K],
    means: [i32; MAX_K],
    inv_scale: [u32; MAX_K],
    /// floor(((2^P - 256) << 32) / sum_k(w_k * 2^20)).
    recip: u64,
}

// `sig`, `cumulative`, `interval` and `posterior` are the readable definitions that the
// conformance vectors and the tests hold the bin-based paths (`bin`, `search`,
// `posterior_of`) to.
#[cfg_attr(not(test), allow(dead_code))]
impl ChannelDist {
    fn new(k: usize, weights: [u32; MAX_K], means: [i32; MAX_K], inv_scale: [u32; MAX_K]) -> Self {
        let total: u64 = weights[..k].iter().map(|&w| u64::from(w) * SIG_ONE).sum();
        let recip = (u64::from(TOTAL - 256) << 32) / total;
        ChannelDist {
            k,
            simd: MixSimd::reference(),
            weights,
            means,
            inv_scale,
            recip,
        }
    }

    /// Component `i`'s CDF at the lower edge of bin `x` (0..=256), Q20.
    #[inline]
    fn sig(&self, i: usize, x: u32) -> u64 {
        match x {
            0 => 0,
            256.. => SIG_ONE,
            _ => {
                let d = 256 * i64::from(x) - 128 - i64::from(self.means[i]);
                let z = (d * i64::from(self.inv_scale[i]) + (1 << 15)) >> 16;
                u64::from(SIGMOID[(z.clamp(-4096, 4096) + 4096) as usize])
            }
        }
    }

    /// Coupled means (Q8 pixels), for the conformance vectors.
    #[cfg(test)]
    pub(crate) fn means(&self) -> &[i32; MAX_K] {
        &self.means
    }

    /// Component count, weights, coupled means (Q8) and 1/scale (Q16), for the
    /// online-adaptation experiment (`crate::experiments`).
    #[cfg(feature = "experiments")]
    pub(crate) fn parts(&self) -> (usize, &[u32; MAX_K], &[i32; MAX_K], &[u32; MAX_K]) {
        (self.k, &self.weights, &self.means, &self.inv_scale)
    }

    /// The quantized cumulative frequency F(x) for x in 0..=256.
    #[inline]
    pub(crate) fn cumulative(&self, x: u32) -> u32 {
        if x >= 256 {
            return TOTAL;
        }
        if x == 0 {
            return 0;
        }
        // Same arithmetic as `sig`, with the bin edge hoisted out of the component loop.
        let edge = 256 * i64::from(x) - 128;
        let mut c = 0u64;
        for i in 0..self.k {
            let z = ((edge - i64::from(self.means[i])) * i64::from(self.inv_scale[i]) + (1 << 15))
                >> 16;
            c += u64::from(self.weights[i])
                * u64::from(SIGMOID[(z.clamp(-4096, 4096) + 4096) as usize]);
        }
        ((c * self.recip) >> 32) as u32 + x
    }

    /// `(left, frequency)` of symbol `x`.
    pub(crate) fn interval(&self, x: u8) -> (u32, u32) {
        let lo = self.cumulative(u32::from(x));
        let hi = self.cumulative(u32::from(x) + 1);
        (lo, hi - lo)
    }

    /// F(x) for x in 0..=256 (as [`cumulative`](Self::cumulative)), writing every
    /// component's CDF at the edge (as `sig`) into `sig`.
    #[inline]
    fn edge(&self, x: u32, sig: &mut [u32; MAX_K]) -> u32 {
        if x == 0 || x >= 256 {
            let v = if x == 0 { 0 } else { SIG_ONE as u32 };
            sig[..self.k].fill(v);
            return if x == 0 { 0 } else { TOTAL };
        }
        // Scalar on purpose: a zmm version (one lane per component, a 16-lane gather of
        // the table) measured slower than these ten pipelined lookups. Zipped slices of
        // length k: no bounds checks in the loop.
        let edge = 256 * i64::from(x) - 128;
        let k = self.k.min(MAX_K);
        let parts = self.means[..k]
            .iter()
            .zip(&self.inv_scale[..k])
            .zip(&self.weights[..k]);
        let mut c = 0u64;
        for (s, ((&m, &inv), &w)) in sig[..k].iter_mut().zip(parts) {
            let z = ((edge - i64::from(m)) * i64::from(inv) + (1 << 15)) >> 16;
            let v = SIGMOID[(z.clamp(-4096, 4096) + 4096) as usize];
            *s = v;
            c += u64::from(w) * u64::from(v);
        }
        ((c * self.recip) >> 32) as u32 + x
    }

    /// The bin of symbol `x`: [`interval`](Self::interval) and the components' edges.
    pub(crate) fn bin(&self, x: u8, edges: &mut Edges) -> Bin {
        let [lo, hi, _] = &mut edges.0;
        let left = self.edge(u32::from(x), lo);
        let right = self.edge(u32::from(x) + 1, hi);
        Bin {
            x,
            left,
            freq: right - left,
            lo: 0,
            hi: 1,
        }
    }

    /// The bin of the symbol whose interval contains `quantile` (< 2^P).
    ///
    /// Any search that finds the unique x with F(x) <= q < F(x+1) is exact; this one
    /// starts at the bin of the heaviest component's mean (usually right or close for a
    /// trained model), gallops outwards, then bisects. The edges are evaluated into three
    /// buffers (lower bound, upper bound, candidate) that trade places instead of copying.
    pub(crate) fn search(&self, quantile: u32, edges: &mut Edges) -> Bin {
        let best = (0..self.k)
            .max_by_key(|&i| (self.weights[i], std::cmp::Reverse(i)))
            .unwrap_or(0);
        let guess = ((i64::from(self.means[best]) + 128) >> 8).clamp(0, 255) as u32;
        let bufs = &mut edges.0;
        // Which buffer holds the edges of `lo`, of `hi` and the next candidate.
        let (mut b_lo, mut b_hi, mut b_c) = (0usize, 1usize, 2usize);
        let f_guess = self.edge(guess, &mut bufs[b_c]);
        let (mut lo, mut f_lo, mut hi, mut f_hi);
        let mut step = 1u32;
        if f_guess <= quantile {
            (lo, f_lo) = (guess, f_guess);
            std::mem::swap(&mut b_lo, &mut b_c);
            loop {
                let cand = (guess + step).min(256);
                let f = self.edge(cand, &mut bufs[b_c]);
                if f > quantile {
                    (hi, f_hi) = (cand, f);
                    std::mem::swap(&mut b_hi, &mut b_c);
                    break;
                }
                (lo, f_lo) = (cand, f);
                std::mem::swap(&mut b_lo, &mut b_c);
                step *= 2;
            }
        } else {
            (hi, f_hi) = (guess, f_guess);
            std::mem::swap(&mut b_hi, &mut b_c);
            loop {
                // F(0) = 0 <= quantile, so this ends at the latest at 0.
                let cand = guess.saturating_sub(step);
                let f = self.edge(cand, &mut bufs[b_c]);
                if f <= quantile {
                    (lo, f_lo) = (cand, f);
                    std::mem::swap(&mut b_lo, &mut b_c);
                    break;
                }
                (hi, f_hi) = (cand, f);
                std::mem::swap(&mut b_hi, &mut b_c);
                step *= 2;
            }
        }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let f = self.edge(mid, &mut bufs[b_c]);
            if f <= quantile {
                (lo, f_lo) = (mid, f);
                std::mem::swap(&mut b_lo, &mut b_c);
            } else {
                (hi, f_hi) = (mid, f);
                std::mem::swap(&mut b_hi, &mut b_c);
            }
        }
        Bin {
            x: lo as u8,
            left: f_lo,
            freq: f_hi - f_lo,
            lo: b_lo,
            hi: b_hi,
        }
    }

    /// [`posterior`](Self::posterior) of the bin's symbol, from the edges it carries.
    pub(crate) fn posterior_of(&self, bin: Bin, edges: &Edges) -> [u32; MAX_K] {
        let (lo, hi) = (&edges.0[bin.lo], &edges.0[bin.hi]);
        if let Some(w) = self
            .simd
            .posterior(self.k, &self.weights, (lo, hi), WEIGHT_BITS)
        {
            return w;
        }
        let mut prod = [0u64; MAX_K];
        for (i, p) in prod.iter_mut().enumerate().take(self.k) {
            let mass = u64::from(hi[i] - lo[i]).max(1);
            *p = u64::from(self.weights[i]) * mass;
        }
        renormalise(&prod, self.k)
    }

    /// Component weights given that this channel took value `x`:
    /// w_k * max(mass_k(x), 1), renormalised to at most [`WEIGHT_BITS`] bits, floored at 1.
    pub(crate) fn posterior(&self, x: u8) -> [u32; MAX_K] {
        let mut prod = [0u64; MAX_K];
        let x = u32::from(x);
        for (i, p) in prod.iter_mut().enumerate().take(self.k) {
            let mass = (self.sig(i, x + 1) - self.sig(i, x)).max(1);
            *p = u64::from(self.weights[i]) * mass;
        }
        renormalise(&prod, self.k)
    }
}

/// The first `k` products renormalised to at most [`WEIGHT_BITS`] bits, floored at 1.
#[inline]
fn renormalise(prod: &[u64; MAX_K], k: usize) -> [u32; MAX_K] {
    let max = prod[..k].iter().copied().max().unwrap_or(1);
    let shift = (64 - max.leading_zeros()).saturating_sub(WEIGHT_BITS);
    let mut w = [0u32; MAX_K];
    for i in 0..k {
        w[i] = ((prod[i] >> shift) as u32).max(1);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(k: usize, seed: u64) -> ChannelDist {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let mut w = [0; MAX_K];
        let mut m = [0; MAX_K];
        let mut inv = [0; MAX_K];
        for i in 0..k {
            w[i] = 1 + next() % 65536;
            m[i] = (next() % (768 * 256)) as i32 - 256 * 256;
            inv[i] = INV_SCALE[(next() % 2305) as usize];
        }
        ChannelDist::new(k, w, m, inv)
    }

    #[test]
    fn cdf_is_strictly_increasing_and_complete() {
        for seed in 0..200 {
            let d = dist(1 + (seed as usize % 10), seed);
            assert_eq!(d.cumulative(0), 0);
            assert_eq!(d.cumulative(256), TOTAL);
            for x in 0..256 {
                assert!(d.cumulative(x + 1) > d.cumulative(x), "seed {seed} x {x}");
            }
        }
    }

    #[test]
    fn search_inverts_interval_and_its_edges_give_the_posterior() {
        let mut edges = Edges::default();
        // The mixture's SIMD kernels (where the CPU has them) against the reference
        // `posterior`, with up to 32 components (the zmm kernels take 16, then fall back).
        let kernels = [MixSimd::reference(), MixSimd::detect()];
        for seed in 0..240 {
            let mut d = dist(1 + seed as usize % 32, seed);
            d.simd = kernels[seed as usize % 2];
            for x in 0..=255u8 {
                let (left, freq) = d.interval(x);
                // One scratch for every call, as the decoder reuses it.
                let bin = d.bin(x, &mut edges);
                assert_eq!((bin.x, bin.left, bin.freq), (x, left, freq));
                assert_eq!(
                    d.posterior_of(bin, &edges),
                    d.posterior(x),
                    "seed {seed} x {x}"
                );
                for q in [left, left + freq / 2, left + freq - 1] {
                    let found = d.search(q, &mut edges);
                    assert_eq!((found.x, found.left, found.freq), (x, left, freq));
                    let post = d.posterior_of(found, &edges);
                    assert_eq!(post, d.posterior(x), "seed {seed} q {q}");
                }
            }
        }
    }

    #[test]
    fn every_level_sets_up_the_same_pixel_distribution() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let kernels = [MixSimd::reference(), MixSimd::detect()];
        for case in 0..600usize {
            let (k, c) = (1 + case % 32, 1 + case / 32 % 3);
            // Raw outputs across and beyond every clamp (|out| <= 2^23 from the head).
            let out: Vec<i32> = (0..head_len(k, c))
                .map(|_| {
                    let v = (next() % (1 << 24)) as i32 - (1 << 23);
                    if next() % 3 == 0 {
                        v >> 12
                    } else {
                        v
                    }
                })
                .collect();
            let mut b = [[0i32; MAX_K]; MAX_C];
            for v in b.iter_mut().flatten() {
                *v = (next() % 65281) as i32;
            }
            let bases = (case % 2 == 0).then_some(&b);
            let want = PixelDist::new(&out, k, c, bases);
            for simd in kernels {
                let got = PixelDist::with_simd(&out, k, c, bases, simd);
                assert_eq!(got.prior, want.prior, "case {case}");
                assert_eq!(got.mean, want.mean, "case {case}");
                assert_eq!(got.inv_scale, want.inv_scale, "case {case}");
                assert_eq!(got.coef, want.coef, "case {case}");
                assert_eq!(got.coupling_ref, want.coupling_ref, "case {case}");
            }
        }
    }

    #[test]
    fn posterior_never_underflows() {
        let d = dist(10, 7);
        for x in 0..=255u8 {
            let w = d.posterior(x);
            assert!(w[..10].iter().all(|&v| v >= 1));
            assert!(w[..10].iter().any(|&v| v >= 1 << (WEIGHT_BITS - 1)));
        }
    }

    #[test]
    fn tables_are_the_normative_ones() {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for v in SIGMOID.iter().chain(&EXP_NEG).chain(&INV_SCALE) {
            h.update(v.to_le_bytes());
        }
        for v in TANH.iter() {
            h.update(v.to_le_bytes());
        }
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, TABLES_SHA256);
    }
}
