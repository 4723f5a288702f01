//! The C ABI fuzz check (target 6), as a plain function the fuzzer and the workspace
//! replay test (ffi/tests/fuzz_regressions.rs) share: arbitrary bytes through
//! `nlc_probe`, `nlc_info` and `nlc_decode` from memory, with the frozen test models
//! added through `nlc_decoder_options_add_model` and small limits. No call may report a
//! caught panic, and what they report must agree.

use nelloc_ffi::*;

const MODELS: [&[u8]; 4] = [
    include_bytes!("../../fixtures/models/test-rgb.safetensors"),
    include_bytes!("../../fixtures/models/test-gray.safetensors"),
    include_bytes!("../../fixtures/models/test-rgb-pred.safetensors"),
    include_bytes!("../../fixtures/models/test-gray-pred.safetensors"),
];

pub fn abi(data: &[u8]) {
    let mut header = nlc_header::default();
    // SAFETY: `data` is a live slice of `len` bytes; `header` is ours with struct_size set.
    let probed = unsafe { nlc_probe(data.as_ptr(), data.len(), &mut header) };
    assert_ne!(probed, nlc_status::NLC_ERROR_PANIC);

    OPTIONS.with(|o| check(data, probed, &header, o.0));
}

/// Decoder options built once per thread: parsing the four models on every execution
/// would dominate the fuzzer's time.
struct Options(*mut nlc_decoder_options);

impl Options {
    fn new() -> Self {
        let mut opts = std::ptr::null_mut();
        // SAFETY: `opts` is a valid out pointer.
        assert_eq!(
            unsafe { nlc_decoder_options_new(&mut opts) },
            nlc_status::NLC_OK
        );
        for m in MODELS {
            // SAFETY: `opts` is live and only used by this thread; `m` is a live slice.
            let s = unsafe { nlc_decoder_options_add_model(opts, m.as_ptr(), m.len()) };
            assert_eq!(s, nlc_status::NLC_OK);
        }
        // SAFETY: as above.
        let s = unsafe { nlc_decoder_options_set_limits(opts, 64, 64 * 64, 1 << 16) };
        assert_eq!(s, nlc_status::NLC_OK);
        // SAFETY: as above.
        assert_eq!(
            unsafe { nlc_decoder_options_set_threads(opts, 1) },
            nlc_status::NLC_OK
        );
        Options(opts)
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: made by `nlc_decoder_options_new`, freed once.
        unsafe { nlc_decoder_options_free(self.0) };
    }
}

thread_local! {
    static OPTIONS: Options = Options::new();
}

fn check(data: &[u8], probed: nlc_status, header: &nlc_header, opts: *mut nlc_decoder_options) {
    let mut info = nlc_stream_info::default();
    // SAFETY: `data` live, `opts` live, `info` ours with struct_size set.
    let informed = unsafe { nlc_info(data.as_ptr(), data.len(), opts, &mut info) };
    assert_ne!(informed, nlc_status::NLC_ERROR_PANIC);
    if informed == nlc_status::NLC_OK {
        assert_eq!(
            probed,
            nlc_status::NLC_OK,
            "info accepted what probe refuses"
        );
        assert_eq!((header.width, header.height), (info.width, info.height));
    }

    let mut image = std::ptr::null_mut();
    // SAFETY: `data` live, `opts` live, `image` a valid out pointer.
    let decoded = unsafe { nlc_decode(data.as_ptr(), data.len(), opts, &mut image) };
    assert_ne!(decoded, nlc_status::NLC_ERROR_PANIC);
    if decoded == nlc_status::NLC_OK {
        assert_eq!(
            informed,
            nlc_status::NLC_OK,
            "decode accepted what info refuses"
        );
        let mut px = nlc_pixels::default();
        // SAFETY: `image` was just returned by nlc_decode; `px` is ours.
        assert_eq!(unsafe { nlc_image_get(image, &mut px) }, nlc_status::NLC_OK);
        assert_eq!((px.width, px.height), (info.width, info.height));
        assert_eq!(px.size, px.stride * px.height as usize);
        // SAFETY: the library guarantees `size` readable bytes at `data` until the free.
        let pixels = unsafe { std::slice::from_raw_parts(px.data, px.size) };
        std::hint::black_box(pixels.iter().map(|&v| u64::from(v)).sum::<u64>());
    } else {
        assert!(image.is_null(), "an output was written on failure");
    }
    // SAFETY: an image from this library (or NULL), freed once.
    unsafe { nlc_image_free(image) };
}
