//! `exp` and `ln` from IEEE additions, multiplications and divisions only: the fit must
//! give the same offsets on every machine (the platform's libm may pick FMA or other
//! variants by CPU), because the offsets go into the stream.

pub(super) const LN2_HI: f64 = 0.693_147_180_369_123_8;
pub(super) const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
pub(super) const LN2: f64 = std::f64::consts::LN_2;
/// `exp`'s Taylor coefficients, Horner order: 1/10!, then 1/9! ... 1/0!.
pub(super) const EXP_LEAD: f64 = 1.0 / 3_628_800.0;
pub(super) const EXP_COEF: [f64; 10] = inverses([
    362_880.0, 40_320.0, 5_040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0,
]);
/// `ln`'s atanh series coefficients, Horner order in s^2: 1/15, then 1/13 ... 1/1.
pub(super) const LN_LEAD: f64 = 1.0 / 15.0;
pub(super) const LN_COEF: [f64; 7] = inverses([13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0]);
/// `exp`'s inputs are clamped to +-EXP_MAX.
pub(super) const EXP_MAX: f64 = 700.0;
/// `ln` of zero, negatives, NaN and anything at or below LN_MIN.
pub(super) const LN_TINY: f64 = -690.8;
pub(super) const LN_MIN: f64 = 1e-300;

/// 1/d for each d (IEEE division, rounded once, as at run time).
const fn inverses<const N: usize>(d: [f64; N]) -> [f64; N] {
    let mut out = [0.0; N];
    let mut i = 0;
    while i < N {
        out[i] = 1.0 / d[i];
        i += 1;
    }
    out
}

/// e^x, relative error below 1e-9 for |x| <= 700; clamped outside.
pub(super) fn exp(x: f64) -> f64 {
    let x = x.clamp(-EXP_MAX, EXP_MAX);
    // Round to nearest by truncation (`f64::round` is a libm call here).
    let y = x * std::f64::consts::LOG2_E;
    let n = (y + if y >= 0.0 { 0.5 } else { -0.5 }) as i64 as f64;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor series of e^r on |r| <= 0.35 (Horner, degree 10).
    let mut p = EXP_LEAD;
    for c in EXP_COEF {
        p = p * r + c;
    }
    p * pow2(n as i32)
}

/// 2^n for |n| <= 1020, as two exact power-of-two factors (subnormals included).
fn pow2(n: i32) -> f64 {
    let half = n / 2;
    let f = |e: i32| f64::from_bits(((e + 1023) as u64) << 52);
    f(half) * f(n - half)
}

/// ln x for x > 0 (x <= 0 gives a large negative number, never NaN).
pub(super) fn ln(x: f64) -> f64 {
    if x.is_nan() || x <= LN_MIN {
        return LN_TINY;
    }
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = LN_LEAD;
    for c in LN_COEF {
        p = p * s2 + c;
    }
    2.0 * s * p + f64::from(e) * LN2
}

/// [`exp`] and [`ln`] over slices, on zmm or ymm where the CPU has them (`super::simd`,
/// bit-identical lane by lane), else one by one.
#[derive(Clone, Copy, Debug)]
pub(super) struct Batch(#[cfg(target_arch = "x86_64")] Option<super::simd::Level>);

impl Batch {
    /// The fastest this CPU has.
    pub(super) fn detect() -> Self {
        Batch(
            #[cfg(target_arch = "x86_64")]
            super::simd::Level::detect(),
        )
    }

    /// One value at a time (the reference), then every vector level this CPU has.
    #[cfg(test)]
    pub(super) fn all() -> Vec<Self> {
        let mut v = vec![Batch(
            #[cfg(target_arch = "x86_64")]
            None,
        )];
        #[cfg(target_arch = "x86_64")]
        v.extend(
            super::simd::Level::available()
                .into_iter()
                .map(|l| Batch(Some(l))),
        );
        v
    }

    /// `v[i] = exp(v[i])`.
    pub(super) fn exp(self, v: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = self.0 {
            return super::simd::exp_in_place(t, v);
        }
        v.iter_mut().for_each(|x| *x = exp(*x));
    }

    /// `v[i] = ln(v[i])`.
    pub(super) fn ln(self, v: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = self.0 {
            return super::simd::ln_in_place(t, v);
        }
        v.iter_mut().for_each(|x| *x = ln(*x));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_libm() {
        for i in -2000..=2000 {
            let x = f64::from(i) * 0.173;
            let (a, b) = (exp(x), x.exp());
            assert!(((a - b) / b).abs() < 1e-9, "exp({x}) = {a}, libm {b}");
            let y = exp(x * 0.05);
            let (a, b) = (ln(y), y.ln());
            assert!(
                (a - b).abs() < 1e-9 * b.abs().max(1.0),
                "ln({y}) = {a}, libm {b}"
            );
        }
        assert_eq!(ln(0.0), -690.8);
        assert!(exp(-1e6) >= 0.0 && exp(1e6).is_finite());
    }
}
