//! Many threads encoding and decoding different images at once through the C ABI, sharing
//! one options handle (allowed while no thread modifies it): every result is
//! byte-identical to the single-threaded one (ffi/ci.sh also runs the C example
//! `nlc-threads` natively and under ASan/UBSan).
#![allow(unsafe_code)]

use std::ptr;

use nelloc_ffi::*;

const OK: nlc_status = nlc_status::NLC_OK;

/// A raw handle shared by threads that only read through it.
struct Shared<T>(*mut T);
// Not derived: a derive would require `T: Copy`; the pointer itself is always copyable.
impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Shared<T> {}
// SAFETY: the library documents options handles as usable by concurrent encode/decode
// calls while no thread modifies them; this test never modifies them during the threads.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Shared<T> {}

fn image(seed: u32) -> (u32, u32, u32, Vec<u8>) {
    let (w, h) = (17 + seed % 23, 9 + seed % 19);
    let color = [1, 2, 3, 4][(seed % 4) as usize];
    let ch = color;
    let px = (0..w * h * ch)
        .map(|i| ((i * (seed + 3) + (i / (w * ch)) * 11 + seed * 7) % 253) as u8)
        .collect();
    (w, h, color, px)
}

fn roundtrip(
    enc: Shared<nlc_encoder_options>,
    dec: Shared<nlc_decoder_options>,
    seed: u32,
) -> Vec<u8> {
    let (w, h, color, px) = image(seed);
    let mut img = ptr::null_mut();
    let mut out: *mut u8 = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: `px` holds w*h*channels bytes; the handles are live for the whole test and
    // only read; every object made here is freed once.
    unsafe {
        assert_eq!(nlc_image_new(w, h, color, px.as_ptr(), 0, &mut img), OK);
        assert_eq!(nlc_encode(img, enc.0, &mut out, &mut len), OK);
        let file = std::slice::from_raw_parts(out, len).to_vec();
        nlc_free(out);
        nlc_image_free(img);
        let mut back = ptr::null_mut();
        assert_eq!(nlc_decode(file.as_ptr(), file.len(), dec.0, &mut back), OK);
        let mut p = nlc_pixels::default();
        assert_eq!(nlc_image_get(back, &mut p), OK);
        assert_eq!(
            std::slice::from_raw_parts(p.data, p.size),
            &px[..],
            "seed {seed}"
        );
        nlc_image_free(back);
        file
    }
}

#[test]
fn threads_sharing_handles_get_the_single_threaded_bytes() {
    let (mut enc, mut dec) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: valid out pointers; handles freed at the end.
    unsafe {
        assert_eq!(nlc_encoder_options_new(&mut enc), OK);
        assert_eq!(nlc_decoder_options_new(&mut dec), OK);
        assert_eq!(nlc_encoder_options_set_tile_size(enc, 16), OK);
        // Inner worker pools too: threads inside threads.
        assert_eq!(nlc_encoder_options_set_threads(enc, 2), OK);
        assert_eq!(nlc_decoder_options_set_threads(dec, 2), OK);
    }
    let (enc, dec) = (Shared(enc), Shared(dec));
    let seeds: Vec<u32> = (0..16).collect();
    let single: Vec<Vec<u8>> = seeds.iter().map(|&s| roundtrip(enc, dec, s)).collect();
    for _ in 0..2 {
        let parallel: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = seeds
                .iter()
                .map(|&seed| s.spawn(move || roundtrip(enc, dec, seed)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(parallel == single, "a concurrent call wrote other bytes");
    }
    // SAFETY: handles from the constructors, freed once, no thread uses them any more.
    unsafe {
        nlc_encoder_options_free(enc.0);
        nlc_decoder_options_free(dec.0);
    }
}
