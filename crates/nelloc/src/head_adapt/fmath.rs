//! `exp` and `ln` from IEEE additions, multiplications and divisions only: the fit must
//! give the same offsets on every machine (the platform's libm may pick FMA or other
//! variants by CPU), because the offsets go into the stream.

const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
const LN2: f64 = std::f64::consts::LN_2;

/// e^x, relative error below 1e-9 for |x| <= 700; clamped outside.
pub(super) fn exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    // Round to nearest by truncation (`f64::round` is a libm call here).
    let y = x * std::f64::consts::LOG2_E;
    let n = (y + if y >= 0.0 { 0.5 } else { -0.5 }) as i64 as f64;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor series of e^r on |r| <= 0.35 (Horner, degree 10).
    let mut p = 1.0 / 3_628_800.0;
    for d in [
        362_880.0, 40_320.0, 5_040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0,
    ] {
        p = p * r + 1.0 / d;
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
    if x.is_nan() || x <= 1e-300 {
        return -690.8;
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
    let mut p = 1.0 / 15.0;
    for d in [13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
        p = p * s2 + 1.0 / d;
    }
    2.0 * s * p + f64::from(e) * LN2
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
