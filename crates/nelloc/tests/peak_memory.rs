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
