//! The C API exercised from Rust, through the same `extern "C"` functions C calls:
//! round trips, NULL checks, "no output on failure", limits, models, files.
#![allow(unsafe_code)]

use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::sync::OnceLock;

use nelloc::model::{synthetic, Arch};
use nelloc_ffi::*;

const OK: nlc_status = nlc_status::NLC_OK;

/// A small synthetic model file, made once per process (its bytes, hence its hash, differ
/// between calls of `synthetic`).
fn model(channels: u32) -> Vec<u8> {
    static FILES: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    let files = FILES.get_or_init(|| {
        [1, 3].map(|channels| {
            let arch = Arch::new(3, channels, 8, 0, 2);
            synthetic(arch, u64::from(channels), "ffi-test")
        })
    });
    files[usize::from(channels == 3)].clone()
}

fn pixels(w: u32, h: u32, c: u32) -> Vec<u8> {
    (0..w * h * c)
        .map(|i| ((i * 7 + (i / (w * c)) * 13) % 251) as u8)
        .collect()
}

fn last_error() -> String {
    let mut buf = vec![0u8; 512];
    // SAFETY: `buf` is writable for its length.
    let n = unsafe { nlc_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n.min(511)]).into_owned()
}

/// Encoder and decoder options that use the synthetic models.
struct Opts {
    enc: *mut nlc_encoder_options,
    dec: *mut nlc_decoder_options,
}

impl Opts {
    /// Options for RGB(A) images.
    fn new() -> Self {
        Self::with_color_model(3)
    }

    /// Options whose colour model has `channels` channels.
    fn with_color_model(channels: u32) -> Self {
        let (color, gray) = (model(channels), model(1));
        let mut enc = ptr::null_mut();
        let mut dec = ptr::null_mut();
        // SAFETY: valid out pointers; model buffers valid for their lengths.
        unsafe {
            assert_eq!(nlc_encoder_options_new(&mut enc), OK);
            assert_eq!(nlc_decoder_options_new(&mut dec), OK);
            assert_eq!(
                nlc_encoder_options_set_model(
                    enc,
                    nlc_model_role::NLC_MODEL_COLOR as u32,
                    color.as_ptr(),
                    color.len()
                ),
                OK
            );
            assert_eq!(
                nlc_encoder_options_set_model(
                    enc,
                    nlc_model_role::NLC_MODEL_ALPHA as u32,
                    gray.as_ptr(),
                    gray.len()
                ),
                OK
            );
            assert_eq!(nlc_encoder_options_set_tile_size(enc, 16), OK);
            assert_eq!(nlc_encoder_options_set_threads(enc, 2), OK);
            // The network path (these tests check model handling); the tile modes are
            // tested in `modes_select_the_coding`.
            assert_eq!(nlc_encoder_options_set_modes(enc, NLC_MODE_NEURAL), OK);
            for m in [&model(3), &gray] {
                assert_eq!(nlc_decoder_options_add_model(dec, m.as_ptr(), m.len()), OK);
            }
        }
        Opts { enc, dec }
    }
}

impl Drop for Opts {
    fn drop(&mut self) {
        // SAFETY: handles from the constructors, freed once.
        unsafe {
            nlc_encoder_options_free(self.enc);
            nlc_decoder_options_free(self.dec);
        }
    }
}

fn new_image(w: u32, h: u32, color: nlc_color_type, px: &[u8]) -> *mut nlc_image {
    let mut img = ptr::null_mut();
    // SAFETY: `px` holds w*h*channels bytes.
    let st = unsafe { nlc_image_new(w, h, color as u32, px.as_ptr(), 0, &mut img) };
    assert_eq!(st, OK, "{}", last_error());
    img
}

fn encode(img: *const nlc_image, opts: &Opts) -> Vec<u8> {
    let mut out: *mut u8 = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: live handles and valid out pointers.
    unsafe {
        let st = nlc_encode(img, opts.enc, &mut out, &mut len);
        assert_eq!(st, OK, "{}", last_error());
        let v = std::slice::from_raw_parts(out, len).to_vec();
        nlc_free(out);
        v
    }
}

fn view(img: *const nlc_image) -> (nlc_pixels, Vec<u8>) {
    let mut p = nlc_pixels::default();
    // SAFETY: live handle; the data pointer is valid while the image lives.
    unsafe {
        assert_eq!(nlc_image_get(img, &mut p), OK);
        let data = std::slice::from_raw_parts(p.data, p.size).to_vec();
        (p, data)
    }
}

#[test]
fn round_trips_every_color_type_with_metadata() {
    for (color, c) in [
        (nlc_color_type::NLC_COLOR_GRAY8, 1),
        (nlc_color_type::NLC_COLOR_GRAYA8, 2),
        (nlc_color_type::NLC_COLOR_RGB8, 3),
        (nlc_color_type::NLC_COLOR_RGBA8, 4),
    ] {
        let opts = Opts::with_color_model(if c < 3 { 1 } else { 3 });
        let (w, h) = (21, 18);
        let px = pixels(w, h, c);
        let img = new_image(w, h, color, &px);
        let icc = b"fake icc profile".to_vec();
        // SAFETY: live handle; `icc` readable.
        unsafe {
            let st = nlc_image_set_metadata(
                img,
                nlc_metadata_kind::NLC_METADATA_ICC as u32,
                icc.as_ptr(),
                icc.len(),
            );
            assert_eq!(st, OK);
        }
        let bytes = encode(img, &opts);
        let mut back = ptr::null_mut();
        // SAFETY: `bytes` readable; live options; valid out pointer.
        unsafe {
            let st = nlc_decode(bytes.as_ptr(), bytes.len(), opts.dec, &mut back);
            assert_eq!(st, OK, "{}", last_error());
        }
        let (p, data) = view(back);
        assert_eq!((p.width, p.height, p.color_type), (w, h, color as u32));
        assert_eq!((p.channels, p.stride), (c, (w * c) as usize));
        assert_eq!(data, px);
        let (mut d, mut n): (*const u8, usize) = (ptr::null(), 0);
        // SAFETY: live handle, valid out pointers; the block lives as long as `back`.
        unsafe {
            let icc_kind = nlc_metadata_kind::NLC_METADATA_ICC as u32;
            assert_eq!(nlc_image_get_metadata(back, icc_kind, &mut d, &mut n), OK);
            assert_eq!(std::slice::from_raw_parts(d, n), &icc[..]);
            let xmp_kind = nlc_metadata_kind::NLC_METADATA_XMP as u32;
            assert_eq!(nlc_image_get_metadata(back, xmp_kind, &mut d, &mut n), OK);
            assert!(d.is_null());
            assert_eq!(n, 0);
            nlc_image_free(back);
            nlc_image_free(img);
        }
    }
}

#[test]
fn output_matches_the_rust_api_and_strides_are_honoured() {
    let opts = Opts::new();
    let (w, h) = (19, 11);
    let px = pixels(w, h, 3);
    // Same pixels with 5 bytes of padding per row.
    let stride = (w * 3 + 5) as usize;
    let mut padded = vec![0xEEu8; stride * h as usize];
    for y in 0..h as usize {
        padded[y * stride..y * stride + (w * 3) as usize]
            .copy_from_slice(&px[y * (w * 3) as usize..][..(w * 3) as usize]);
    }
    let mut img = ptr::null_mut();
    // SAFETY: `padded` holds (h-1)*stride + w*3 bytes.
    let st = unsafe {
        nlc_image_new(
            w,
            h,
            nlc_color_type::NLC_COLOR_RGB8 as u32,
            padded.as_ptr(),
            stride,
            &mut img,
        )
    };
    assert_eq!(st, OK);
    assert_eq!(view(img).1, px);
    let c_bytes = encode(img, &opts);

    let mut eo = nelloc::EncodeOptions::default();
    eo.model = Some(std::sync::Arc::new(
        nelloc::Model::from_bytes(&model(3)).unwrap(),
    ));
    eo.tile_size = 16;
    eo.modes = nelloc::TileModes::only(&[nelloc::TileMode::Neural]);
    let image = nelloc::ImageRef::new(w, h, nelloc::ColorType::Rgb8, &px).unwrap();
    assert!(
        nelloc::encode(image, &eo).unwrap() == c_bytes,
        "C and Rust outputs differ"
    );
    // SAFETY: handle from nlc_image_new.
    unsafe { nlc_image_free(img) };
}

#[test]
fn null_pointers_are_reported_and_outputs_untouched() {
    use nlc_status::NLC_ERROR_NULL_POINTER as NULL;
    let opts = Opts::new();
    let px = pixels(4, 4, 3);
    let img = new_image(4, 4, nlc_color_type::NLC_COLOR_RGB8, &px);
    let bytes = encode(img, &opts);
    let sentinel = 0x5A5A as *mut nlc_image;
    let mut out_img = sentinel;
    let mut out_buf = 0x77 as *mut u8;
    let mut out_len = 12345usize;
    let path = CString::new("/nonexistent/x.nlc").unwrap();
    // SAFETY: every non-null pointer is valid; NULL ones must be rejected, not used.
    unsafe {
        assert_eq!(nlc_encoder_options_new(ptr::null_mut()), NULL);
        assert_eq!(nlc_decoder_options_new(ptr::null_mut()), NULL);
        assert_eq!(nlc_encoder_options_set_threads(ptr::null_mut(), 1), NULL);
        assert_eq!(nlc_encoder_options_set_tile_size(ptr::null_mut(), 1), NULL);
        assert_eq!(nlc_encoder_options_set_device(ptr::null_mut(), 0), NULL);
        assert_eq!(
            nlc_encoder_options_set_model(ptr::null_mut(), 0, bytes.as_ptr(), 1),
            NULL
        );
        assert_eq!(
            nlc_encoder_options_set_model(opts.enc, 0, ptr::null(), 0),
            NULL
        );
        assert_eq!(
            nlc_encoder_options_set_model_file(opts.enc, 0, ptr::null()),
            NULL
        );
        assert_eq!(nlc_decoder_options_set_threads(ptr::null_mut(), 1), NULL);
        assert_eq!(nlc_decoder_options_set_device(ptr::null_mut(), 0), NULL);
        assert_eq!(
            nlc_decoder_options_set_limits(ptr::null_mut(), 1, 1, 1),
            NULL
        );
        assert_eq!(
            nlc_decoder_options_add_model(opts.dec, ptr::null(), 0),
            NULL
        );
        assert_eq!(
            nlc_decoder_options_add_model_file(opts.dec, ptr::null()),
            NULL
        );
        assert_eq!(nlc_image_new(4, 4, 3, ptr::null(), 0, &mut out_img), NULL);
        assert_eq!(
            nlc_image_new(4, 4, 3, px.as_ptr(), 0, ptr::null_mut()),
            NULL
        );
        assert_eq!(nlc_image_get(ptr::null(), ptr::null_mut()), NULL);
        assert_eq!(nlc_image_get(img, ptr::null_mut()), NULL);
        assert_eq!(
            nlc_image_set_metadata(ptr::null_mut(), 1, ptr::null(), 0),
            NULL
        );
        assert_eq!(nlc_image_set_metadata(img, 1, ptr::null(), 3), NULL);
        let mut d = ptr::null();
        assert_eq!(
            nlc_image_get_metadata(img, 1, &mut d, ptr::null_mut()),
            NULL
        );
        assert_eq!(
            nlc_encode(ptr::null(), opts.enc, &mut out_buf, &mut out_len),
            NULL
        );
        assert_eq!(
            nlc_encode(img, opts.enc, ptr::null_mut(), &mut out_len),
            NULL
        );
        assert_eq!(
            nlc_encode(img, opts.enc, &mut out_buf, ptr::null_mut()),
            NULL
        );
        assert_eq!(nlc_encode_file(img, opts.enc, ptr::null()), NULL);
        assert_eq!(nlc_encode_file(ptr::null(), opts.enc, path.as_ptr()), NULL);
        assert_eq!(nlc_decode(ptr::null(), 10, opts.dec, &mut out_img), NULL);
        assert_eq!(nlc_decode(ptr::null(), 0, opts.dec, &mut out_img), NULL);
        assert_eq!(
            nlc_decode(bytes.as_ptr(), bytes.len(), opts.dec, ptr::null_mut()),
            NULL
        );
        assert_eq!(nlc_decode_file(ptr::null(), opts.dec, &mut out_img), NULL);
        assert_eq!(
            nlc_decode_file(path.as_ptr(), opts.dec, ptr::null_mut()),
            NULL
        );
        assert_eq!(nlc_info(ptr::null(), 5, opts.dec, ptr::null_mut()), NULL);
        assert_eq!(
            nlc_info(bytes.as_ptr(), bytes.len(), opts.dec, ptr::null_mut()),
            NULL
        );
        assert_eq!(nlc_info_file(ptr::null(), opts.dec, ptr::null_mut()), NULL);
        assert_eq!(nlc_probe(ptr::null(), 5, ptr::null_mut()), NULL);
        assert_eq!(
            nlc_probe(bytes.as_ptr(), bytes.len(), ptr::null_mut()),
            NULL
        );
        // Free functions accept NULL.
        nlc_free(ptr::null_mut());
        nlc_image_free(ptr::null_mut());
        nlc_encoder_options_free(ptr::null_mut());
        nlc_decoder_options_free(ptr::null_mut());
        nlc_image_free(img);
    }
    assert_eq!(out_img, sentinel);
    assert_eq!(out_buf, 0x77 as *mut u8);
    assert_eq!(out_len, 12345);
    assert!(last_error().contains("must not be NULL"));
}

#[test]
fn failures_have_distinct_statuses_and_leave_outputs_alone() {
    let opts = Opts::new();
    let px = pixels(20, 20, 3);
    let img = new_image(20, 20, nlc_color_type::NLC_COLOR_RGB8, &px);
    let bytes = encode(img, &opts);
    let sentinel = 0x5A5A as *mut nlc_image;
    let decode = |data: &[u8], dec: *const nlc_decoder_options| {
        let mut out = sentinel;
        // SAFETY: `data` readable, `dec` NULL or live, `out` valid.
        let st = unsafe { nlc_decode(data.as_ptr(), data.len(), dec, &mut out) };
        assert_eq!(out, sentinel, "output written on failure ({st:?})");
        st
    };
    assert_eq!(
        decode(b"\x89PNG\r\n\x1a\n....", opts.dec),
        nlc_status::NLC_ERROR_NOT_NLC
    );
    assert_eq!(
        decode(&bytes[..bytes.len() - 4], opts.dec),
        nlc_status::NLC_ERROR_TRUNCATED
    );
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    assert_eq!(decode(&flipped, opts.dec), nlc_status::NLC_ERROR_CORRUPT);
    // No synthetic model is built in.
    assert_eq!(
        decode(&bytes, ptr::null()),
        nlc_status::NLC_ERROR_MODEL_NOT_FOUND
    );
    assert!(last_error().contains("model"), "{}", last_error());

    let mut limited = ptr::null_mut();
    // SAFETY: valid out pointer / live handle.
    unsafe {
        assert_eq!(nlc_decoder_options_new(&mut limited), OK);
        assert_eq!(
            nlc_decoder_options_set_limits(limited, 19, 1 << 20, 1 << 20),
            OK
        );
    }
    assert_eq!(decode(&bytes, limited), nlc_status::NLC_ERROR_LIMIT);
    // SAFETY: handle from nlc_decoder_options_new.
    unsafe { nlc_decoder_options_free(limited) };

    // SAFETY: live handles.
    unsafe {
        let cuda = nlc_device::NLC_DEVICE_CUDA as u32;
        // Without a GPU (as in CI) CUDA is refused with what is missing; with one it works.
        if nelloc::backend::probe(nelloc::Device::Cuda(0)).is_err() {
            assert_eq!(
                nlc_encoder_options_set_device(opts.enc, cuda),
                nlc_status::NLC_ERROR_UNSUPPORTED
            );
            assert_eq!(
                nlc_decoder_options_set_device(opts.dec, cuda),
                nlc_status::NLC_ERROR_UNSUPPORTED
            );
            assert!(last_error().contains("NLC_DEVICE_CUDA"), "{}", last_error());
        } else {
            eprintln!("a CUDA GPU is present: NLC_DEVICE_CUDA is accepted here");
        }
        assert_eq!(nlc_decoder_options_set_device(opts.dec, 0), OK);
        assert_eq!(
            nlc_decoder_options_set_device(opts.dec, 7),
            nlc_status::NLC_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(
            nlc_encoder_options_set_tile_size(opts.enc, 0),
            nlc_status::NLC_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(
            nlc_encoder_options_set_model(opts.enc, 0, b"junk".as_ptr(), 4),
            nlc_status::NLC_ERROR_MODEL_INVALID
        );
        let gray_model = model(1);
        assert_eq!(
            nlc_encoder_options_set_model(opts.enc, 9, gray_model.as_ptr(), gray_model.len()),
            nlc_status::NLC_ERROR_INVALID_ARGUMENT
        );
        let mut out = sentinel;
        assert_eq!(
            nlc_image_new(2, 2, 9, px.as_ptr(), 0, &mut out),
            nlc_status::NLC_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(
            nlc_image_new(0, 2, 3, px.as_ptr(), 0, &mut out),
            nlc_status::NLC_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(
            nlc_image_new(4, 2, 3, px.as_ptr(), 5, &mut out),
            nlc_status::NLC_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(out, sentinel);
        // An RGB model cannot code a grey image.
        let gray = new_image(4, 4, nlc_color_type::NLC_COLOR_GRAY8, &px[..16]);
        let (mut b, mut n) = (0x77 as *mut u8, 9usize);
        assert_eq!(
            nlc_encode(gray, opts.enc, &mut b, &mut n),
            nlc_status::NLC_ERROR_MODEL_INVALID
        );
        assert_eq!((b, n), (0x77 as *mut u8, 9));
        nlc_image_free(gray);
        nlc_image_free(img);
    }
}

#[test]
fn info_and_probe_describe_the_stream() {
    let opts = Opts::new();
    let px = pixels(33, 17, 4);
    let img = new_image(33, 17, nlc_color_type::NLC_COLOR_RGBA8, &px);
    let exif = b"II*\0fake".to_vec();
    // SAFETY: live handle, readable buffer.
    unsafe {
        let kind = nlc_metadata_kind::NLC_METADATA_EXIF as u32;
        assert_eq!(
            nlc_image_set_metadata(img, kind, exif.as_ptr(), exif.len()),
            OK
        );
    }
    let bytes = encode(img, &opts);
    let mut info = nlc_stream_info::default();
    // SAFETY: readable data, live options, valid out pointer.
    unsafe {
        assert_eq!(
            nlc_info(bytes.as_ptr(), bytes.len(), opts.dec, &mut info),
            OK
        );
    }
    assert_eq!((info.width, info.height, info.channels), (33, 17, 4));
    assert_eq!(info.color_type, nlc_color_type::NLC_COLOR_RGBA8 as u32);
    assert_eq!(
        (info.tile_width, info.tile_height, info.tile_count),
        (16, 16, 6)
    );
    assert_eq!(info.alpha_mode, nlc_alpha_mode::NLC_ALPHA_CODED as u32);
    assert_eq!(
        (info.exif_size, info.icc_size, info.xmp_size),
        (exif.len(), 0, 0)
    );
    assert_eq!(info.file_size, bytes.len() as u64);
    assert_eq!(info.model_available, 1);
    // SAFETY: the hash fields are NUL-terminated.
    let hash = unsafe { CStr::from_ptr(info.model_hash.as_ptr()) };
    let expected = nelloc::Model::from_bytes(&model(3)).unwrap().hash_hex();
    assert_eq!(hash.to_str().unwrap(), expected);
    // SAFETY: as above.
    let alpha_hash = unsafe { CStr::from_ptr(info.alpha_model_hash.as_ptr()) };
    assert_eq!(alpha_hash.to_bytes().len(), 64);

    let mut header = nlc_header::default();
    // SAFETY: readable prefix, valid out pointer.
    unsafe {
        assert_eq!(
            nlc_probe(bytes.as_ptr(), NLC_PROBE_BYTES as usize, &mut header),
            OK
        );
        assert_eq!(
            nlc_probe(bytes.as_ptr(), 3, &mut header),
            nlc_status::NLC_ERROR_TRUNCATED
        );
        assert_eq!(
            nlc_probe(b"GIF89a".as_ptr(), 6, &mut header),
            nlc_status::NLC_ERROR_NOT_NLC
        );
        nlc_image_free(img);
    }
    assert_eq!((header.width, header.height, header.channels), (33, 17, 4));

    // A constant alpha plane is not coded.
    let mut opaque = pixels(9, 9, 4);
    opaque.chunks_exact_mut(4).for_each(|p| p[3] = 200);
    let img = new_image(9, 9, nlc_color_type::NLC_COLOR_RGBA8, &opaque);
    let bytes = encode(img, &opts);
    // SAFETY: as above.
    unsafe {
        assert_eq!(
            nlc_info(bytes.as_ptr(), bytes.len(), ptr::null(), &mut info),
            OK
        );
        nlc_image_free(img);
    }
    assert_eq!(info.alpha_mode, nlc_alpha_mode::NLC_ALPHA_CONSTANT as u32);
    assert_eq!(info.alpha_value, 200);
    assert_eq!(info.model_available, 0);
}

#[test]
fn files_are_written_atomically_and_read_back() {
    let opts = Opts::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.nlc");
    let c_path = CString::new(file.to_str().unwrap()).unwrap();
    let px = pixels(10, 7, 3);
    let img = new_image(10, 7, nlc_color_type::NLC_COLOR_RGB8, &px);
    let mut back = ptr::null_mut();
    // SAFETY: live handles, NUL-terminated path, valid out pointers.
    unsafe {
        assert_eq!(nlc_encode_file(img, opts.enc, c_path.as_ptr()), OK);
        assert_eq!(nlc_decode_file(c_path.as_ptr(), opts.dec, &mut back), OK);
        assert_eq!(view(back).1, px);
        nlc_image_free(back);
        let mut info = nlc_stream_info::default();
        assert_eq!(nlc_info_file(c_path.as_ptr(), opts.dec, &mut info), OK);
        assert_eq!(info.file_size, std::fs::metadata(&file).unwrap().len());

        // A failed encode (no built-in model for a synthetic-only setup is not guaranteed,
        // so use a model of the wrong channel count) leaves the existing file alone.
        let before = std::fs::read(&file).unwrap();
        let gray = new_image(2, 2, nlc_color_type::NLC_COLOR_GRAY8, &px[..4]);
        assert_ne!(nlc_encode_file(gray, opts.enc, c_path.as_ptr()), OK);
        assert_eq!(std::fs::read(&file).unwrap(), before);
        nlc_image_free(gray);

        let missing = CString::new(dir.path().join("missing.nlc").to_str().unwrap()).unwrap();
        let mut out = 0x5A5A as *mut nlc_image;
        assert_eq!(
            nlc_decode_file(missing.as_ptr(), opts.dec, &mut out),
            nlc_status::NLC_ERROR_IO
        );
        assert_eq!(out, 0x5A5A as *mut nlc_image);
        assert!(last_error().contains("missing.nlc"));
        let bad_model = CString::new("/nonexistent/model.safetensors").unwrap();
        assert_eq!(
            nlc_decoder_options_add_model_file(opts.dec, bad_model.as_ptr()),
            nlc_status::NLC_ERROR_IO
        );
        nlc_image_free(img);
    }
}

#[test]
fn version_and_messages() {
    assert_eq!(nlc_version(), NLC_VERSION_NUMBER);
    for code in 0..=12u32 {
        // SAFETY: static NUL-terminated strings.
        let m = unsafe { CStr::from_ptr(nlc_status_message(code)) };
        assert!(!m.to_bytes().is_empty());
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(nlc_status_message(9999)) };
    assert_eq!(unknown.to_str().unwrap(), "unknown status code");
    // SAFETY: NULL buffer is allowed for a length query.
    let _ = unsafe { nlc_last_error_message(ptr::null_mut::<c_char>(), 0) };
}

#[test]
fn defaults_in_the_header_match_the_library() {
    let l = nelloc::Limits::default();
    assert_eq!(l.max_dimension, NLC_DEFAULT_MAX_DIMENSION);
    assert_eq!(l.max_pixels, NLC_DEFAULT_MAX_PIXELS);
    assert_eq!(l.max_metadata_bytes, NLC_DEFAULT_MAX_METADATA_BYTES);
    assert_eq!(nelloc::DEFAULT_TILE_SIZE, NLC_DEFAULT_TILE_SIZE);
    assert_eq!(nelloc::MAGIC.len() as u32, NLC_MAGIC_LENGTH);
    assert_eq!(u32::from(nelloc::FORMAT_VERSION), NLC_FORMAT_VERSION);
}

#[test]
fn probe_and_info_agree_on_every_damaged_prefix() {
    // One probe in the core: for any edit of the first NLC_PROBE_BYTES bytes (header
    // checksum re-sealed, so nlc_info reaches the field checks), nlc_probe returns what
    // nlc_info returns, or OK where nlc_info only fails on later fields.
    let opts = Opts::new();
    // Two tiles of 16: the tiled container (a one-tile image is compact, version 5).
    let img = new_image(20, 4, nlc_color_type::NLC_COLOR_RGB8, &pixels(20, 4, 3));
    let good = encode(img, &opts);
    // SAFETY: live handle.
    unsafe { nlc_image_free(img) };
    assert!(good[8] <= 4);
    // No metadata: the header CRC follows the tile index.
    let n_tiles = u32::from_le_bytes(good[96..100].try_into().unwrap()) as usize;
    let crc_at = 100 + 16 * n_tiles;
    let cases: [(usize, u8); 10] = [
        (8, 0),     // version 0: corrupt for both (it once was UNSUPPORTED for nlc_info)
        (8, 8),     // newer version (6 and 7 exist: section 12)
        (9, 0),     // colour type
        (9, 9),     //
        (12, 0),    // width (low byte of 20 -> 0)
        (0, 0x0B),  // 7-bit damage: signature altered in transfer
        (0, 0x42),  // another first byte with "NLC" after it: wrong signature
        (4, b'\n'), // CR LF -> LF damage
        (1, b'X'),  // not "NLC": wrong signature
        (16, 0),    // height (low byte of 4 -> 0)
    ];
    for (at, value) in cases {
        let mut file = good.clone();
        file[at] = value;
        let crc = crc32fast_hash(&file[..crc_at]);
        file[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
        let mut header = nlc_header::default();
        let mut info = nlc_stream_info::default();
        // SAFETY: readable buffers, valid out pointers.
        let (p, i) = unsafe {
            (
                nlc_probe(file.as_ptr(), NLC_PROBE_BYTES as usize, &mut header),
                nlc_info(file.as_ptr(), file.len(), opts.dec, &mut info),
            )
        };
        assert_eq!(p, i, "byte {at} = {value:#04x}: probe {p:?}, info {i:?}");
        assert_ne!(p, OK, "byte {at} = {value:#04x}");
    }
}

/// CRC-32 (ISO-HDLC), bitwise: enough for re-sealing a test header.
fn crc32fast_hash(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn structs_carry_their_size_and_old_and_new_callers_are_served() {
    let opts = Opts::new();
    let img = new_image(7, 5, nlc_color_type::NLC_COLOR_RGB8, &pixels(7, 5, 3));
    let bytes = encode(img, &opts);
    let full = std::mem::size_of::<nlc_stream_info>();

    // A caller that forgot struct_size (0) or gives less than the first release's size
    // (which ended before `preview_width`): an error, and nothing written.
    let first_release_end = std::mem::offset_of!(nlc_stream_info, preview_width);
    for bad in [0usize, 8, first_release_end - 1] {
        let mut info = nlc_stream_info {
            struct_size: bad,
            width: 12345,
            ..Default::default()
        };
        // SAFETY: readable data, writable struct.
        let st = unsafe { nlc_info(bytes.as_ptr(), bytes.len(), opts.dec, &mut info) };
        assert_eq!(
            st,
            nlc_status::NLC_ERROR_INVALID_ARGUMENT,
            "struct_size {bad}"
        );
        assert!(last_error().contains("struct_size"), "{}", last_error());
        assert_eq!((info.struct_size, info.width), (bad, 12345));
    }

    // (The old-caller side is tested next to each struct in ffi/src: a caller passing
    // exactly the first release's size, pinned as `SizedStruct::FIRST_SIZE`, gets that
    // prefix and no more.)

    // A newer caller with a bigger struct: the library fills what it knows and says so.
    #[repr(C)]
    struct NewInfo {
        info: nlc_stream_info,
        later_field: [u8; 64],
    }
    let mut newer = NewInfo {
        info: nlc_stream_info::default(),
        later_field: [0x5A; 64],
    };
    newer.info.struct_size = std::mem::size_of::<NewInfo>();
    // SAFETY: `newer` is writable for its whole size.
    let st = unsafe { nlc_info(bytes.as_ptr(), bytes.len(), opts.dec, &mut newer.info) };
    assert_eq!(st, OK);
    assert_eq!(newer.info.struct_size, full, "reports the bytes it wrote");
    assert_eq!((newer.info.width, newer.info.height), (7, 5));
    assert!(newer.later_field.iter().all(|&b| b == 0x5A));

    // The same rule for nlc_pixels and nlc_header.
    let mut px = nlc_pixels {
        struct_size: 0,
        ..Default::default()
    };
    let mut header = nlc_header {
        struct_size: 3,
        ..Default::default()
    };
    // SAFETY: live handle, readable data, writable structs.
    unsafe {
        assert_eq!(
            nlc_image_get(img, &mut px),
            nlc_status::NLC_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(
            nlc_probe(bytes.as_ptr(), bytes.len(), &mut header),
            nlc_status::NLC_ERROR_INVALID_ARGUMENT
        );
        nlc_image_free(img);
    }
    assert_eq!(header.width, 0);
}

#[test]
fn the_device_is_stored_and_read_back() {
    let opts = Opts::new();
    let (cpu, cuda) = (
        nlc_device::NLC_DEVICE_CPU as u32,
        nlc_device::NLC_DEVICE_CUDA as u32,
    );
    let mut got = 99u32;
    // SAFETY: live handles, valid out pointer.
    unsafe {
        assert_eq!(nlc_encoder_options_set_device(opts.enc, cpu), OK);
        assert_eq!(nlc_encoder_options_get_device(opts.enc, &mut got), OK);
        assert_eq!(got, cpu);
        let gpu = nelloc::backend::probe(nelloc::Device::Cuda(0)).is_ok();
        assert_eq!(
            nlc_decoder_options_set_device(opts.dec, cuda),
            if gpu {
                OK
            } else {
                nlc_status::NLC_ERROR_UNSUPPORTED
            }
        );
        assert_eq!(
            nlc_decoder_options_set_device(opts.dec, nlc_device::NLC_DEVICE_AUTO as u32),
            OK
        );
        assert_eq!(nlc_decoder_options_get_device(opts.dec, &mut got), OK);
        assert_eq!(got, nlc_device::NLC_DEVICE_AUTO as u32);
        assert_eq!(nlc_decoder_options_set_device(opts.dec, cpu), OK);
        if gpu {
            return;
        }
        assert_eq!(
            nlc_decoder_options_set_device(opts.dec, cuda),
            nlc_status::NLC_ERROR_UNSUPPORTED
        );
        got = 99;
        assert_eq!(nlc_decoder_options_get_device(opts.dec, &mut got), OK);
        assert_eq!(got, cpu, "a refused device leaves the options unchanged");
        assert_eq!(
            nlc_encoder_options_get_device(opts.enc, ptr::null_mut()),
            nlc_status::NLC_ERROR_NULL_POINTER
        );
    }
}

#[test]
fn encoder_limits_refuse_what_a_decoder_would() {
    let opts = Opts::new();
    let img = new_image(20, 3, nlc_color_type::NLC_COLOR_RGB8, &pixels(20, 3, 3));
    let mut out: *mut u8 = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: live handles, valid out pointers.
    unsafe {
        assert_eq!(
            nlc_encoder_options_set_limits(opts.enc, 16, 1 << 20, 1 << 20),
            OK
        );
        assert_eq!(
            nlc_encode(img, opts.enc, &mut out, &mut len),
            nlc_status::NLC_ERROR_LIMIT
        );
        assert!(out.is_null());
        nlc_image_free(img);
    }
}

#[test]
fn modes_select_the_coding() {
    let opts = Opts::new();
    // A flat image: constant tiles (version 2) by default, the network with NEURAL only.
    let px = vec![200u8; 40 * 30 * 3];
    let img = new_image(40, 30, nlc_color_type::NLC_COLOR_RGB8, &px);
    let neural = encode(img, &opts);
    assert_eq!(neural[8], 1);
    // SAFETY: live handle.
    unsafe {
        assert_eq!(nlc_encoder_options_set_modes(opts.enc, NLC_MODES_ALL), OK);
    }
    let all = encode(img, &opts);
    assert_eq!(all[8], 2);
    assert!(all.len() < neural.len());
    // SAFETY: live handle; invalid sets leave the options unchanged.
    unsafe {
        for bad in [
            0,
            NLC_MODE_CONSTANT | NLC_MODE_PALETTE,
            16,
            NLC_MODES_ALL | 64,
        ] {
            assert_eq!(
                nlc_encoder_options_set_modes(opts.enc, bad),
                nlc_status::NLC_ERROR_INVALID_ARGUMENT
            );
        }
        assert_eq!(
            nlc_encoder_options_set_modes(ptr::null_mut(), NLC_MODES_ALL),
            nlc_status::NLC_ERROR_NULL_POINTER
        );
        nlc_image_free(img);
    }
}

#[test]
fn work_limits_refuse_a_decode_and_survive_set_limits() {
    let opts = Opts::new();
    let img = new_image(20, 12, nlc_color_type::NLC_COLOR_RGB8, &pixels(20, 12, 3));
    let file = encode(img, &opts);
    // SAFETY: live handle.
    unsafe { nlc_image_free(img) };
    let decode = |o: *const nlc_decoder_options| {
        let mut out = ptr::null_mut();
        // SAFETY: `file` live, options live, `out` a valid out pointer.
        let st = unsafe { nlc_decode(file.as_ptr(), file.len(), o, &mut out) };
        // SAFETY: NULL or an image from nlc_decode.
        unsafe { nlc_image_free(out) };
        st
    };
    assert_eq!(decode(opts.dec), OK);
    // SAFETY: live handle, not shared.
    unsafe {
        assert_eq!(
            nlc_decoder_options_set_work_limits(opts.dec, NLC_DEFAULT_MAX_OUTPUT_BYTES, 239),
            OK
        );
    }
    assert_eq!(decode(opts.dec), nlc_status::NLC_ERROR_LIMIT);
    assert!(last_error().contains("work limit"), "{}", last_error());
    // Setting the other limits keeps the work limit.
    // SAFETY: as above.
    unsafe {
        assert_eq!(
            nlc_decoder_options_set_limits(
                opts.dec,
                NLC_DEFAULT_MAX_DIMENSION,
                NLC_DEFAULT_MAX_PIXELS,
                NLC_DEFAULT_MAX_METADATA_BYTES
            ),
            OK
        );
    }
    assert_eq!(decode(opts.dec), nlc_status::NLC_ERROR_LIMIT);
    // SAFETY: as above.
    unsafe {
        assert_eq!(
            nlc_decoder_options_set_work_limits(opts.dec, 20 * 12 * 3 - 1, 240),
            OK
        );
    }
    assert_eq!(decode(opts.dec), nlc_status::NLC_ERROR_LIMIT);
    assert!(last_error().contains("decoded image"), "{}", last_error());
    // SAFETY: as above.
    unsafe {
        assert_eq!(
            nlc_decoder_options_set_work_limits(opts.dec, 20 * 12 * 3, 240),
            OK
        );
        assert_eq!(
            nlc_decoder_options_set_work_limits(ptr::null_mut(), 1, 1),
            nlc_status::NLC_ERROR_NULL_POINTER
        );
    }
    assert_eq!(decode(opts.dec), OK);
    let l = nelloc::Limits::default();
    assert_eq!(l.max_output_bytes, NLC_DEFAULT_MAX_OUTPUT_BYTES);
    assert_eq!(l.max_neural_pixels, NLC_DEFAULT_MAX_NEURAL_PIXELS);
    assert_eq!(
        nelloc::Limits::strict().max_neural_pixels,
        NLC_STRICT_MAX_NEURAL_PIXELS
    );
}

#[test]
fn batches_code_each_image_as_single_calls_do() {
    let opts = Opts::new();
    let images: Vec<*mut nlc_image> = (0..3)
        .map(|i| {
            let (w, h) = (9 + i, 7 + 2 * i);
            new_image(w, h, nlc_color_type::NLC_COLOR_RGB8, &pixels(w, h, 3))
        })
        .collect();
    let consts: Vec<*const nlc_image> = images.iter().map(|&p| p.cast_const()).collect();
    let mut outs = vec![ptr::null_mut::<u8>(); 3];
    let mut sizes = vec![0usize; 3];
    let mut statuses = vec![nlc_status::NLC_ERROR_INTERNAL; 3];
    // SAFETY: arrays of 3 live handles and 3 writable slots each.
    let st = unsafe {
        nlc_encode_batch(
            consts.as_ptr(),
            3,
            opts.enc,
            outs.as_mut_ptr(),
            sizes.as_mut_ptr(),
            statuses.as_mut_ptr(),
        )
    };
    assert_eq!(st, OK, "{}", last_error());
    let mut streams: Vec<Vec<u8>> = Vec::new();
    for i in 0..3 {
        assert_eq!(statuses[i], OK);
        // SAFETY: a buffer of sizes[i] bytes from nlc_encode_batch, freed once.
        let s = unsafe { std::slice::from_raw_parts(outs[i], sizes[i]).to_vec() };
        unsafe { nlc_free(outs[i]) };
        assert_eq!(s, encode(images[i], &opts));
        streams.push(s);
    }
    streams.push(b"junk".to_vec());
    let ptrs: Vec<*const u8> = streams.iter().map(|s| s.as_ptr()).collect();
    let lens: Vec<usize> = streams.iter().map(Vec::len).collect();
    let mut decoded = vec![ptr::null_mut::<nlc_image>(); 4];
    let mut statuses = vec![OK; 4];
    // SAFETY: 4 streams of the given lengths and 4 writable slots each.
    let st = unsafe {
        nlc_decode_batch(
            ptrs.as_ptr(),
            lens.as_ptr(),
            4,
            opts.dec,
            decoded.as_mut_ptr(),
            statuses.as_mut_ptr(),
        )
    };
    assert_eq!(st, nlc_status::NLC_ERROR_NOT_NLC);
    assert!(last_error().contains("stream 3"), "{}", last_error());
    assert_eq!(statuses[3], nlc_status::NLC_ERROR_NOT_NLC);
    assert!(decoded[3].is_null());
    for i in 0..3 {
        assert_eq!(statuses[i], OK);
        assert_eq!(view(decoded[i]).1, view(images[i]).1);
        // SAFETY: handles from the batch and from new_image, freed once.
        unsafe {
            nlc_image_free(decoded[i]);
            nlc_image_free(images[i]);
        }
    }
    // NULL arrays are refused before anything is written.
    // SAFETY: NULL pointers are the case under test.
    let st = unsafe {
        nlc_decode_batch(
            ptr::null(),
            lens.as_ptr(),
            1,
            opts.dec,
            decoded.as_mut_ptr(),
            statuses.as_mut_ptr(),
        )
    };
    assert_eq!(st, nlc_status::NLC_ERROR_NULL_POINTER);
}

#[test]
fn the_preview_is_written_read_and_optional() {
    let opts = Opts::new();
    let (w, h) = (300u32, 100u32);
    let px = pixels(w, h, 3);
    let img = new_image(w, h, nlc_color_type::NLC_COLOR_RGB8, &px);
    // SAFETY: live handles, valid out pointers, `data` valid for its length.
    unsafe {
        assert_eq!(nlc_encoder_options_set_modes(opts.enc, NLC_MODE_PNG), OK);
        assert_eq!(nlc_encoder_options_set_preview(opts.enc, 60), OK);
        let data = encode(img, &opts);
        let mut info = nlc_stream_info::default();
        assert_eq!(nlc_info(data.as_ptr(), data.len(), opts.dec, &mut info), OK);
        assert_eq!((info.preview_width, info.preview_height), (60, 20));
        let (mut out, mut embedded) = (ptr::null_mut(), 7u32);
        let st = nlc_decode_preview(data.as_ptr(), data.len(), opts.dec, &mut out, &mut embedded);
        assert_eq!(st, OK, "{}", last_error());
        let (p, pixels) = view(out);
        assert_eq!((p.width, p.height, embedded), (60, 20, 1));
        assert_eq!(pixels.len(), 60 * 20 * 3);
        nlc_image_free(out);

        // No preview: the full image, `embedded` optional.
        assert_eq!(
            nlc_encoder_options_set_preview(opts.enc, NLC_PREVIEW_NONE),
            OK
        );
        let data = encode(img, &opts);
        assert_eq!(nlc_info(data.as_ptr(), data.len(), opts.dec, &mut info), OK);
        assert_eq!((info.preview_width, info.preview_height), (0, 0));
        let mut out = ptr::null_mut();
        let st = nlc_decode_preview(
            data.as_ptr(),
            data.len(),
            opts.dec,
            &mut out,
            ptr::null_mut(),
        );
        assert_eq!(st, OK, "{}", last_error());
        assert_eq!(view(out).1, px);
        nlc_image_free(out);

        for bad in [NLC_MAX_PREVIEW_SIZE + 1, u32::MAX - 1] {
            assert_eq!(
                nlc_encoder_options_set_preview(opts.enc, bad),
                nlc_status::NLC_ERROR_INVALID_ARGUMENT
            );
        }
        assert_eq!(
            nlc_encoder_options_set_preview(opts.enc, NLC_PREVIEW_AUTO),
            OK
        );
        let mut out = ptr::null_mut();
        assert_eq!(
            nlc_decode_preview(ptr::null(), 3, opts.dec, &mut out, ptr::null_mut()),
            nlc_status::NLC_ERROR_NULL_POINTER
        );
        assert!(out.is_null());
        nlc_image_free(img);
    }
}

/// Models that travel with the files (docs/FORMAT.md section 12): an encoder option embeds
/// the external model, and a decoder with no model finds it there; otherwise in a
/// directory added with `nlc_decoder_options_add_model_dir`.
#[test]
fn embedded_models_and_model_directories() {
    let opts = Opts::with_color_model(1);
    let (w, h) = (19, 13);
    let px = pixels(w, h, 1);
    let img = new_image(w, h, nlc_color_type::NLC_COLOR_GRAY8, &px);
    let plain = encode(img, &opts);
    let decode_with = |bytes: &[u8], dec: *mut nlc_decoder_options| -> nlc_status {
        let mut back = ptr::null_mut();
        // SAFETY: `bytes` readable; live options; valid out pointer.
        unsafe {
            let st = nlc_decode(bytes.as_ptr(), bytes.len(), dec, &mut back);
            if st == OK {
                assert_eq!(view(back).1, px);
                nlc_image_free(back);
            }
            st
        }
    };
    let mut bare = ptr::null_mut();
    // SAFETY: valid out pointer, live handles, NUL-terminated paths.
    unsafe {
        assert_eq!(nlc_decoder_options_new(&mut bare), OK);
        assert_eq!(
            decode_with(&plain, bare),
            nlc_status::NLC_ERROR_MODEL_NOT_FOUND
        );
        assert!(last_error().contains("not embedded"), "{}", last_error());
        // Embedded: decodes with no model given.
        assert_eq!(
            nlc_encoder_options_set_embed_models(opts.enc, 2),
            nlc_status::NLC_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(nlc_encoder_options_set_embed_models(opts.enc, 1), OK);
        let embedded = encode(img, &opts);
        assert_eq!(embedded[8], 7);
        assert_eq!(decode_with(&embedded, bare), OK);
        // Over the model-size limit: refused.
        let mut small = ptr::null_mut();
        assert_eq!(nlc_decoder_options_new(&mut small), OK);
        assert_eq!(nlc_decoder_options_set_max_model_bytes(small, 100), OK);
        assert_eq!(decode_with(&embedded, small), nlc_status::NLC_ERROR_LIMIT);
        nlc_decoder_options_free(small);
        // In a model directory.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.safetensors"), model(1)).unwrap();
        let missing = CString::new(dir.path().join("nope").to_str().unwrap()).unwrap();
        let d = CString::new(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(
            nlc_decoder_options_add_model_dir(bare, missing.as_ptr()),
            OK
        );
        assert_eq!(
            decode_with(&plain, bare),
            nlc_status::NLC_ERROR_MODEL_NOT_FOUND
        );
        assert!(last_error().contains("(missing)"), "{}", last_error());
        assert_eq!(nlc_decoder_options_add_model_dir(bare, d.as_ptr()), OK);
        assert_eq!(decode_with(&plain, bare), OK);
        assert_eq!(nlc_decoder_options_add_env_model_path(bare), OK);
        // NULL handles and paths.
        let null = nlc_status::NLC_ERROR_NULL_POINTER;
        assert_eq!(nlc_decoder_options_add_model_dir(bare, ptr::null()), null);
        assert_eq!(
            nlc_decoder_options_add_model_dir(ptr::null_mut(), d.as_ptr()),
            null
        );
        assert_eq!(
            nlc_decoder_options_add_env_model_path(ptr::null_mut()),
            null
        );
        assert_eq!(
            nlc_decoder_options_set_max_model_bytes(ptr::null_mut(), 1),
            null
        );
        assert_eq!(
            nlc_encoder_options_set_embed_models(ptr::null_mut(), 1),
            null
        );
        nlc_decoder_options_free(bare);
        nlc_image_free(img);
    }
}
