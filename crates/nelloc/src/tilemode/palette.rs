//! Palettes of at most 256 values: finding and ordering the distinct values of a plane,
//! each pixel's index, and the packing of indices at 1, 2, 4 or 8 bits.

use std::collections::HashMap;

/// Bits per index for a palette of `n` entries.
pub(super) fn index_depth(n: usize) -> usize {
    match n {
        0..=2 => 1,
        3..=4 => 2,
        5..=16 => 4,
        _ => 8,
    }
}

/// Order of the palette entries (the encoder tries each; indices of similar colours
/// close together filter and deflate better).
#[derive(Clone, Copy)]
pub(super) enum PaletteOrder {
    /// Ascending channel values.
    Value,
    /// Ascending luma (77 R + 150 G + 29 B; grey: the value), ties by value.
    Luma,
    /// Most frequent first, ties by value.
    Frequency,
}

/// A pixel's channels as one key (big-endian: sorting keys sorts by channel values).
pub(super) fn key(p: &[u8]) -> u32 {
    p.iter().fold(0u32, |a, &v| a << 8 | u32::from(v))
}

/// How often each distinct pixel value occurs, if there are at most 256 of them.
pub(super) fn distinct_values(plane: &[u8], c: usize) -> Option<HashMap<u32, u64>> {
    let mut counts: HashMap<u32, u64> = HashMap::with_capacity(512);
    for p in plane.chunks_exact(c) {
        *counts.entry(key(p)).or_insert(0) += 1;
        if counts.len() > 256 {
            return None;
        }
    }
    Some(counts)
}

/// The palette: the distinct values in `order`.
pub(super) fn ordered(counts: &HashMap<u32, u64>, c: usize, order: PaletteOrder) -> Vec<u32> {
    let mut colours: Vec<u32> = counts.keys().copied().collect();
    colours.sort_unstable();
    let luma = |k: u32| {
        if c == 3 {
            77 * (k >> 16) + 150 * (k >> 8 & 255) + 29 * (k & 255)
        } else {
            k
        }
    };
    match order {
        PaletteOrder::Value => {}
        PaletteOrder::Luma => colours.sort_by_key(|&k| (luma(k), k)),
        PaletteOrder::Frequency => {
            colours.sort_by_key(|&k| (std::cmp::Reverse(counts.get(&k).copied()), k))
        }
    }
    colours
}

/// Each pixel's index in `colours` (which holds every value of the plane).
pub(super) fn indices(plane: &[u8], c: usize, colours: &[u32]) -> Vec<u8> {
    let slot: HashMap<u32, u8> = colours
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, i as u8))
        .collect();
    plane
        .chunks_exact(c)
        .map(|p| slot.get(&key(p)).copied().unwrap_or(0))
        .collect()
}

/// Indices packed at the palette's depth, rows padded to whole bytes: (rows, row bytes).
pub(super) fn pack(idx: &[u8], w: usize, n: usize) -> (Vec<u8>, usize) {
    let depth = index_depth(n);
    let row_bytes = (w * depth).div_ceil(8);
    let h = idx.len() / w;
    let mut packed = vec![0u8; row_bytes * h];
    let per = 8 / depth;
    for (i, &v) in idx.iter().enumerate() {
        let (y, x) = (i / w, i % w);
        let shift = 8 - depth * (x % per + 1);
        packed[y * row_bytes + x / per] |= v << shift;
    }
    (packed, row_bytes)
}

/// `n - 1` and the entries: `c` bytes each, or one when `grey` (every channel equal).
pub(super) fn palette_head(colours: &[u32], c: usize, grey: bool) -> Vec<u8> {
    let mut head = Vec::with_capacity(1 + colours.len() * c);
    head.push((colours.len() - 1) as u8);
    for k in colours {
        let bytes = k.to_be_bytes();
        if grey {
            head.push(bytes[3]);
        } else {
            head.extend_from_slice(&bytes[4 - c..]);
        }
    }
    head
}
