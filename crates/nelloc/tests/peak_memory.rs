//! Decoding allocates the output once plus the tiles in flight, not a second image of
//! tile buffers. (Its own test binary: the counting allocator is process-wide.)

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use nelloc::{decode, encode, ColorType, ImageRef};
use support::*;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(now, Relaxed);
        // SAFETY: the caller's layout contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn decode_peak_is_about_one_image() {
    // A smooth 768x512 RGB image in 64x64 tiles (96 tiles, 12 groups of 8 on one thread).
    let (w, h) = (768u32, 512u32);
    let px: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i / 3 % w) / 4 + (i / 3 / w) / 4) as u8)
        .collect();
    let image = ImageRef::new(w, h, ColorType::Rgb8, &px).unwrap();
    let bytes = encode(image, &encode_opts(test_rgb(), test_gray(), 64)).unwrap();
    let mut o = decode_opts(&[test_rgb(), test_gray()]);
    o.threads = 1;
    decode(&bytes, &o).unwrap(); // warm up: models parsed and packed, pool started
    let image_bytes = px.len();
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let back = decode(&bytes, &o).unwrap();
    let peak = PEAK.load(Relaxed) - before;
    assert_eq!(back.pixels(), &px[..]);
    // Output + 8 tiles in flight + the stream words + scratch (measured: 1.5 MiB with
    // 1.1 MiB of pixels); tile buffers for the whole image next to the output were 2x.
    let bound = image_bytes * 3 / 2 + bytes.len();
    assert!(
        peak < bound,
        "peak {peak} bytes for a {image_bytes}-byte image (stream {} bytes, bound {bound})",
        bytes.len()
    );
}

#[test]
fn refusing_a_bomb_allocates_almost_nothing() {
    // 65535x65535 RGB claimed by 356 bytes (16 empty tiles of 16384^2): refused by the
    // pixel limit, or with that raised by the output-byte limit, or with both raised by
    // the work limit (here one non-empty tile). Nothing sized by the claim is allocated.
    let golden = std::fs::read(fixtures().join("golden/flat-black-20x12.nlc")).unwrap();
    let mut f = golden[..100].to_vec();
    for (at, v) in [(12, 65535u32), (16, 65535), (20, 16384), (24, 16384)] {
        f[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    f[96..100].copy_from_slice(&16u32.to_le_bytes());
    let stream = [7u8, 0, 0, 0];
    for t in 0..16u64 {
        f.extend_from_slice(&(4 * t).to_le_bytes());
        f.extend_from_slice(&4u32.to_le_bytes());
        f.extend_from_slice(&crc32fast::hash(&stream).to_le_bytes());
    }
    let crc = crc32fast::hash(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    (0..16).for_each(|_| f.extend_from_slice(&stream));
    let mut o = decode_opts(&[test_rgb()]);
    o.threads = 1;
    let _ = decode(&f, &o); // warm up (model packing, pool)
    for step in 0..3 {
        match step {
            1 => o.limits.max_pixels = u64::MAX,
            2 => o.limits.max_output_bytes = u64::MAX,
            _ => {}
        }
        let before = LIVE.load(Relaxed);
        PEAK.store(before, Relaxed);
        let e = decode(&f, &o).unwrap_err();
        let peak = PEAK.load(Relaxed) - before;
        eprintln!("step {step}: {e}; peak {peak} bytes");
        assert!(matches!(e, nelloc::Error::Limits(_)), "{e}");
        assert!(peak < 64 * 1024, "{peak} bytes allocated to refuse a bomb");
    }
}
