//! The weights re-laid for the batched kernels: a pure function of the layers, built
//! once per model (`Model::packed`).

use super::{Layer, Topology};

/// Outputs per kernel block (layers are padded to a multiple of it).
pub(crate) const OUT_BLOCK: usize = 16;

fn round_up(v: usize, m: usize) -> usize {
    v.div_ceil(m) * m
}

// Other targets read only the weights they use (no SIMD requantisation outside x86-64).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
/// A layer's weights re-laid for the kernels: groups of `G` consecutive inputs for every
/// output, `[in/G][out_pad][G]`, zero-padded.
pub(crate) struct PackedLayer {
    pub(crate) groups: usize,
    pub(crate) out_pad: usize,
    /// u8-input layers: G = 4, i8 weights.
    pub(crate) w8: Vec<i8>,
    /// The first layer (signed i16 input): G = 2, weights widened to i16. SIMD128 builds
    /// also keep the u8-input layers' weights here, widened (wasm has no u8 x i8 dot product).
    pub(crate) w16: Vec<i16>,
    /// `w8` / `w16` in the order the zmm kernels read them: [`zmm_blocks`] of consecutive
    /// outputs, each `[in/G][width][G]` and contiguous (at `ob * groups * G`), so that one
    /// block's weights fill consecutive L1 sets instead of 16 sets 1 KiB apart.
    #[cfg(target_arch = "x86_64")]
    pub(crate) w8_zmm: Vec<i8>,
    #[cfg(target_arch = "x86_64")]
    pub(crate) w16_zmm: Vec<i16>,
    /// Requantisation constants for blocks of 8 outputs: bias and multiplier as i32 in
    /// output order; shift and rounding term 2^(S-1) as i64, even outputs of the block
    /// first, then odd ones (the lane order of `vpmuldq`).
    pub(crate) rq_bias: Vec<i32>,
    pub(crate) rq_mult: Vec<i32>,
    pub(crate) rq_shift: Vec<i64>,
    pub(crate) rq_round: Vec<i64>,
    /// 2^(62-S) in the same order: `(v + 2^62) >> S` minus it is `floor(v / 2^S)` for any
    /// |v| < 2^62 using only a logical shift.
    pub(crate) rq_off: Vec<i64>,
}

impl PackedLayer {
    pub(crate) fn new(layer: &Layer, group: usize) -> Self {
        let groups = layer.n_in.div_ceil(group);
        let out_pad = round_up(layer.n_out, OUT_BLOCK);
        let mut w8 = Vec::new();
        let mut w16 = Vec::new();
        let at = |o: usize, i: usize| {
            if o < layer.n_out && i < layer.n_in {
                layer.weight[o * layer.n_in + i]
            } else {
                0
            }
        };
        for k in 0..groups {
            for o in 0..out_pad {
                for q in 0..group {
                    if group == 4 {
                        w8.push(at(o, k * group + q));
                        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
                            w16.push(i16::from(at(o, k * group + q)));
                        }
                    } else {
                        w16.push(i16::from(at(o, k * group + q)));
                    }
                }
            }
        }
        let (mut rq_bias, mut rq_mult, mut rq_shift, mut rq_round, mut rq_off) =
            (vec![], vec![], vec![], vec![], vec![]);
        for o in 0..out_pad {
            let (b, m) = if o < layer.n_out {
                (layer.bias[o], layer.mult[o])
            } else {
                (0, 0)
            };
            rq_bias.push(b);
            rq_mult.push(m);
        }
        for blk in 0..out_pad / 8 {
            for o in (0..8).step_by(2).chain((1..8).step_by(2)) {
                let o = blk * 8 + o;
                let s = if o < layer.n_out { layer.shift[o] } else { 1 };
                rq_shift.push(i64::from(s));
                rq_round.push(1i64 << (s - 1));
                rq_off.push(1i64 << (62 - s));
            }
        }
        PackedLayer {
            groups,
            out_pad,
            #[cfg(target_arch = "x86_64")]
            w8_zmm: zmm_order(&w8, groups, out_pad, group),
            #[cfg(target_arch = "x86_64")]
            w16_zmm: zmm_order(&w16, groups, out_pad, group),
            w8,
            w16,
            rq_bias,
            rq_mult,
            rq_shift,
            rq_round,
            rq_off,
        }
    }
}

/// The output blocks `(first output, width)` of the zmm kernels over `out_pad` outputs (a
/// multiple of 16): 64 wide, then at most one of 32, then 16.
#[cfg(target_arch = "x86_64")]
pub(crate) fn zmm_blocks(out_pad: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut ob = 0;
    std::iter::from_fn(move || {
        let width = match out_pad - ob {
            0 => return None,
            r if r >= 64 => 64,
            r if r >= 32 => 32,
            _ => 16,
        };
        ob += width;
        Some((ob - width, width))
    })
}

/// `flat` (`[groups][out_pad][g]`) re-laid into [`zmm_blocks`] order; empty stays empty.
#[cfg(target_arch = "x86_64")]
fn zmm_order<T: Copy>(flat: &[T], groups: usize, out_pad: usize, g: usize) -> Vec<T> {
    if flat.len() != groups * out_pad * g {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(flat.len());
    for (ob, width) in zmm_blocks(out_pad) {
        for k in 0..groups {
            out.extend_from_slice(&flat[(k * out_pad + ob) * g..][..width * g]);
        }
    }
    out
}

/// The input layer `l` rewritten for u8 inputs `p = (v + 255) >> 1` of odd contexts `v`
/// (see [`Packed::input_u8`]): weights doubled, `255 sum(W)` taken off the bias.
#[cfg(target_arch = "x86_64")]
fn odd_input_as_u8(l: &Layer) -> Layer {
    let bias = (0..l.n_out)
        .map(|o| {
            let row = l.weight[o * l.n_in..(o + 1) * l.n_in]
                .iter()
                .fold(0i32, |s, &w| s.wrapping_add(i32::from(w)));
            // Wrapping: the kernels add the bias with wrapping i32 adds, and the true
            // `W v + bias` fits i32 (the model's bounds), so it comes out exact mod 2^32.
            l.bias[o].wrapping_sub(row.wrapping_mul(255))
        })
        .collect();
    Layer {
        n_in: l.n_in,
        n_out: l.n_out,
        // [-64, 63] doubled is [-128, 126]: still i8.
        weight: l.weight.iter().map(|&w| 2 * w).collect(),
        bias,
        mult: l.mult.clone(),
        shift: l.shift.clone(),
    }
}

/// All layers of a model, packed, in evaluation order (indexed by `Step::index`).
pub(crate) struct Packed {
    pub(crate) layers: Vec<PackedLayer>,
    /// The input layer as a u8 layer for the VNNI kernels, with the same outputs on
    /// contexts whose values are all odd (every pixel inside the tile): a context value
    /// is `v = 2p - 255` with `p = (v + 255) >> 1` a u8, so `W v = (2W) p - 255 sum(W)`;
    /// `2W` fits i8 because weights are in [-64, 63], and `-255 sum(W)` moves into the
    /// bias. (An even value, 0 for a neighbour outside the tile, breaks the identity:
    /// such rows take the i16 layer.)
    #[cfg(target_arch = "x86_64")]
    pub(crate) input_u8: PackedLayer,
}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Packed({} layers)", self.layers.len())
    }
}

impl Packed {
    /// The input layer (signed i16 contexts) in pairs, every other layer in groups of 4.
    pub(crate) fn new(net: &Topology<Layer>) -> Self {
        let layers = net
            .layers()
            .enumerate()
            .map(|(i, l)| PackedLayer::new(l, if i == 0 { 2 } else { 4 }))
            .collect();
        Packed {
            layers,
            #[cfg(target_arch = "x86_64")]
            input_u8: PackedLayer::new(&odd_input_as_u8(&net.input), 4),
        }
    }
}
