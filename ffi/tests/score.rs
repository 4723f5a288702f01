//! `nlc_score` and `nlc_bits_map` through the C ABI: the same figures as the Rust API,
//! NULL and size checks, outputs untouched on failure.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::ptr;

use nelloc_ffi::*;

const OK: nlc_status = nlc_status::NLC_OK;

fn photo() -> (u32, u32, Vec<u8>) {
    let (w, h) = (40u32, 30u32);
    let px = (0..w * h * 3)
        .map(|i| ((i % 97) * 2 + (i / 120) % 7) as u8)
        .collect();
    (w, h, px)
}

#[test]
fn scores_and_bits_match_the_rust_api() {
    let (w, h, px) = photo();
    let mut img = ptr::null_mut();
    let fast = CString::new("fast").unwrap();
    // SAFETY: `px` holds w*h*3 bytes; out pointers are valid; handles live until freed.
    unsafe {
        assert_eq!(
            nlc_image_new(
                w,
                h,
                nlc_color_type::NLC_COLOR_RGB8 as u32,
                px.as_ptr(),
                0,
                &mut img
            ),
            OK
        );
        let mut s = nlc_scores {
            struct_size: std::mem::size_of::<nlc_scores>(),
            samples: 0,
            bpsp: 0.0,
            generic_bpsp: 0.0,
            complexity: 0.0,
            background_bpsp: 0.0,
            ratio: 0.0,
            local: 0.0,
            has_background: 0,
            chroma_share: 0.0,
            channel_bpsp: [0.0; 3],
            generic_channel_bpsp: [0.0; 3],
            quantiles: [0.0; 3],
            flat: 0.0,
            spread: 0.0,
        };
        assert_eq!(nlc_score(img, ptr::null(), fast.as_ptr(), &mut s), OK);
        let image = nelloc::ImageRef::new(w, h, nelloc::ColorType::Rgb8, &px).unwrap();
        let mut o = nelloc::score::ScoreOptions::default();
        o.background = nelloc::model::builtin_by_name("fast");
        let r = nelloc::score::score(image, &o).unwrap();
        assert_eq!(s.samples, r.samples);
        assert_eq!(s.bpsp, r.bpsp);
        assert_eq!(s.ratio, r.ratio.unwrap());
        assert_eq!(s.local, r.local);
        assert_eq!(s.has_background, 1);
        assert_eq!(s.chroma_share, r.chroma_share());
        assert_eq!(s.channel_bpsp, r.channel_bpsp);
        assert_eq!(s.generic_channel_bpsp, r.generic_channel_bpsp);
        assert_eq!(s.quantiles, r.quantiles);
        assert_eq!((s.flat, s.spread), (r.flat, r.spread));
        // A caller compiled before the per-channel fields existed gets only its prefix.
        let mut old = nlc_scores {
            struct_size: std::mem::offset_of!(nlc_scores, chroma_share),
            chroma_share: -1.0,
            spread: -1.0,
            ..s
        };
        assert_eq!(nlc_score(img, ptr::null(), fast.as_ptr(), &mut old), OK);
        assert_eq!(
            (old.bpsp, old.chroma_share, old.spread),
            (r.bpsp, -1.0, -1.0)
        );

        let n = (w * h) as usize;
        let mut bits = vec![-1.0f64; n];
        // A wrong count or NULL buffer fails and writes nothing.
        assert_ne!(nlc_bits_map(img, ptr::null(), bits.as_mut_ptr(), n - 1), OK);
        assert!(bits.iter().all(|&b| b == -1.0));
        assert_ne!(nlc_bits_map(img, ptr::null(), ptr::null_mut(), n), OK);
        assert_eq!(nlc_bits_map(img, ptr::null(), bits.as_mut_ptr(), n), OK);
        let map = nelloc::score::bits_map(image, &nelloc::score::ScoreOptions::default()).unwrap();
        assert_eq!(bits, map.bits());

        // Failures leave the output alone: an unknown background, NULL image, NULL out.
        let before = s.bpsp;
        let bogus = CString::new("/nonexistent/model.safetensors").unwrap();
        assert_ne!(nlc_score(img, ptr::null(), bogus.as_ptr(), &mut s), OK);
        assert_ne!(nlc_score(ptr::null(), ptr::null(), ptr::null(), &mut s), OK);
        assert_ne!(
            nlc_score(img, ptr::null(), ptr::null(), ptr::null_mut()),
            OK
        );
        assert_eq!(s.bpsp, before);
        // Without a background: no ratio.
        assert_eq!(nlc_score(img, ptr::null(), ptr::null(), &mut s), OK);
        assert_eq!((s.has_background, s.ratio), (0, 0.0));
        nlc_image_free(img);
    }
}
