//! `image::open` & co. on `.nlc` files through the hooks, the decoder's limits and
//! metadata, and the encoder. Synthetic models keep it fast and independent of the built-in
//! models.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use image::{
    DynamicImage, GrayAlphaImage, GrayImage, ImageDecoder, ImageEncoder, ImageError, ImageReader,
    Limits, RgbImage, RgbaImage,
};
use nelloc::model::{synthetic, Arch};
use nelloc::{DecodeOptions, EncodeOptions, Model};
use nelloc_image::{register, save_nlc, set_hook_options, NlcDecoder, NlcEncoder};

fn model(channels: u32) -> Arc<Model> {
    static MODELS: OnceLock<[Arc<Model>; 2]> = OnceLock::new();
    let models = MODELS.get_or_init(|| {
        [1, 3].map(|channels| {
            let arch = Arch::new(3, channels, 8, 0, 2);
            let bytes = synthetic(arch, u64::from(channels), "nelloc-image-test");
            Arc::new(Model::from_bytes(&bytes).expect("synthetic model"))
        })
    });
    models[usize::from(channels == 3)].clone()
}

fn decode_options() -> DecodeOptions {
    let mut o = DecodeOptions::default();
    o.models = vec![model(3), model(1)];
    o
}

fn encode_options(color_channels: u32) -> EncodeOptions {
    let mut o = EncodeOptions::default();
    o.model = Some(model(color_channels));
    o.alpha_model = Some(model(1));
    o.tile_size = 16;
    o
}

/// Registers the hooks with options that know the synthetic models.
fn setup() {
    set_hook_options(decode_options());
    assert!(register());
}

fn rgb(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        [(x * 9) as u8, (y * 7) as u8, ((x ^ y) * 5) as u8].into()
    }))
}

fn fixture_photo() -> DynamicImage {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/photos/dune_77x53.png");
    image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn register_is_idempotent_across_threads() {
    set_hook_options(decode_options());
    let handles: Vec<_> = (0..8).map(|_| std::thread::spawn(register)).collect();
    for h in handles {
        assert!(h.join().expect("no panic"));
    }
    assert!(register());
}

#[test]
fn open_guess_memory_and_dimensions_all_work() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let img = fixture_photo();
    let img = DynamicImage::ImageRgb8(img.to_rgb8());
    let path = dir.path().join("dune.nlc");
    save_nlc(&img, &path, &encode_options(3)).unwrap();

    // image::open by extension (case-insensitive).
    assert_eq!(image::open(&path).unwrap(), img);
    let upper = dir.path().join("DUNE.NLC");
    std::fs::copy(&path, &upper).unwrap();
    assert_eq!(image::open(&upper).unwrap(), img);

    // No extension: content sniffing through the detection hook.
    let bare = dir.path().join("dune");
    std::fs::copy(&path, &bare).unwrap();
    let reader = ImageReader::open(&bare)
        .unwrap()
        .with_guessed_format()
        .unwrap();
    assert_eq!(reader.decode().unwrap(), img);

    // From memory.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(image::load_from_memory(&bytes).unwrap(), img);

    // Dimensions only.
    assert_eq!(image::image_dimensions(&path).unwrap(), (77, 53));
}

#[test]
fn every_color_type_round_trips_through_image() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let images = [
        (
            DynamicImage::ImageLuma8(GrayImage::from_fn(19, 13, |x, y| [(x * y) as u8].into())),
            1,
        ),
        (
            DynamicImage::ImageLumaA8(GrayAlphaImage::from_fn(19, 13, |x, y| {
                [(x * 3) as u8, (y * 20) as u8].into()
            })),
            1,
        ),
        (rgb(23, 17), 3),
        (
            DynamicImage::ImageRgba8(RgbaImage::from_fn(23, 17, |x, y| {
                [x as u8, y as u8, (x + y) as u8, 255 - (x * 4) as u8].into()
            })),
            3,
        ),
    ];
    for (i, (img, channels)) in images.iter().enumerate() {
        let path = dir.path().join(format!("{i}.nlc"));
        save_nlc(img, &path, &encode_options(*channels)).unwrap();
        let back = image::open(&path).unwrap();
        assert_eq!(back.color(), img.color());
        assert_eq!(&back, img);
    }
}

#[test]
fn metadata_survives_encoder_and_decoder() {
    let img = rgb(20, 10);
    let mut bytes = Vec::new();
    let mut encoder = NlcEncoder::with_options(&mut bytes, encode_options(3));
    encoder.set_icc_profile(b"icc-profile".to_vec()).unwrap();
    // A JPEG-style prefix is removed: nelloc stores the TIFF structure.
    encoder
        .set_exif_metadata(b"Exif\0\0II*\0rest".to_vec())
        .unwrap();
    encoder.set_xmp_metadata(b"<x:xmpmeta/>".to_vec());
    img.write_with_encoder(encoder).unwrap();

    let mut decoder = NlcDecoder::with_options(Cursor::new(&bytes), decode_options()).unwrap();
    assert_eq!(decoder.dimensions(), (20, 10));
    assert_eq!(decoder.color_type(), image::ColorType::Rgb8);
    assert_eq!(decoder.icc_profile().unwrap().unwrap(), b"icc-profile");
    assert_eq!(decoder.exif_metadata().unwrap().unwrap(), b"II*\0rest");
    assert_eq!(decoder.xmp_metadata().unwrap().unwrap(), b"<x:xmpmeta/>");
    assert_eq!(decoder.info().tiles, 2);
    let back = DynamicImage::from_decoder(decoder).unwrap();
    assert_eq!(back, img);
}

#[test]
fn limits_are_checked_before_decoding() {
    setup();
    let img = rgb(40, 30);
    let mut bytes = Vec::new();
    img.write_with_encoder(NlcEncoder::with_options(&mut bytes, encode_options(3)))
        .unwrap();

    let mut small = Limits::default();
    small.max_image_width = Some(39);
    let mut reader = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .unwrap();
    reader.limits(small);
    assert!(matches!(reader.decode(), Err(ImageError::Limits(_))));

    // nelloc's working buffers (the tiles in flight: pixels are decoded into the caller's
    // buffer, never into a second image) must fit max_alloc.
    let total = 40 * 30 * 3;
    let mut tight = Limits::default();
    tight.max_alloc = Some(total - 1);
    let mut decoder = NlcDecoder::with_options(Cursor::new(&bytes), decode_options()).unwrap();
    decoder.set_limits(tight.clone()).unwrap();
    let mut buf = vec![0; total as usize];
    assert!(matches!(
        decoder.read_image(&mut buf),
        Err(ImageError::Limits(_))
    ));
    // Asking for the dimensions does not count the pixel buffers.
    let mut reader = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .unwrap();
    let mut tiny = Limits::default();
    tiny.max_alloc = Some(1);
    reader.limits(tiny);
    assert_eq!(reader.into_dimensions().unwrap(), (40, 30));
    // Through ImageReader::decode: its own buffer plus nelloc's working buffers.
    let mut reader = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .unwrap();
    let mut tight = Limits::default();
    tight.max_alloc = Some(2 * total - 1);
    reader.limits(tight);
    assert!(matches!(reader.decode(), Err(ImageError::Limits(_))));
    let mut enough = Limits::default();
    enough.max_alloc = Some(2 * total);
    let mut reader = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .unwrap();
    reader.limits(enough);
    assert_eq!(reader.decode().unwrap(), img);

    // nelloc's own limits (from the hook options) apply too.
    let mut strict = decode_options();
    strict.limits.max_pixels = 100;
    assert!(matches!(
        NlcDecoder::with_options(Cursor::new(&bytes), strict),
        Err(ImageError::Limits(_))
    ));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    setup();
    let img = rgb(16, 16);
    let mut bytes = Vec::new();
    img.write_with_encoder(NlcEncoder::with_options(&mut bytes, encode_options(3)))
        .unwrap();
    for cut in [9, 40, bytes.len() / 2, bytes.len() - 1] {
        assert!(image::load_from_memory(&bytes[..cut]).is_err(), "cut {cut}");
    }
    let mut flipped = bytes.clone();
    let last = flipped.len() - 2;
    flipped[last] ^= 1;
    assert!(matches!(
        image::load_from_memory(&flipped),
        Err(ImageError::Decoding(_))
    ));
    // A stream whose model is unknown to the hook options.
    let mut other = encode_options(3);
    other.model = Some(Arc::new(
        Model::from_bytes(&synthetic(Arch::new(2, 3, 4, 0, 1), 99, "unknown")).unwrap(),
    ));
    // The network path: a stream of PNG-style tiles would name no model.
    other.modes = nelloc::TileModes::only(&[nelloc::TileMode::Neural]);
    let mut unknown = Vec::new();
    img.write_with_encoder(NlcEncoder::with_options(&mut unknown, other))
        .unwrap();
    let err = image::load_from_memory(&unknown).unwrap_err();
    assert!(err.to_string().contains("model"), "{err}");
}

#[test]
fn saving_needs_save_nlc_and_8_bit_pixels() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    // `image` has no encoding hook: save() cannot produce .nlc.
    let img = rgb(8, 8);
    assert!(img.save(dir.path().join("x.nlc")).is_err());
    // 16-bit images are refused, not silently converted.
    let deep = DynamicImage::ImageRgb16(image::ImageBuffer::new(4, 4));
    let target = dir.path().join("deep.nlc");
    assert!(matches!(
        save_nlc(&deep, &target, &encode_options(3)),
        Err(ImageError::Unsupported(_))
    ));
    assert!(!target.exists());
    let mut sink = Vec::new();
    assert!(matches!(
        NlcEncoder::with_options(&mut sink, encode_options(3)).write_image(
            &[0; 32],
            2,
            2,
            image::ExtendedColorType::Rgba16
        ),
        Err(ImageError::Unsupported(_))
    ));
    // A failed save leaves an existing file alone.
    let keep = dir.path().join("keep.nlc");
    std::fs::write(&keep, b"keep").unwrap();
    let gray = DynamicImage::ImageLuma8(GrayImage::new(4, 4));
    assert!(save_nlc(&gray, &keep, &encode_options(3)).is_err());
    assert_eq!(std::fs::read(&keep).unwrap(), b"keep");
}

#[test]
fn nlc_decoder_stops_reading_at_the_input_limit() {
    /// An endless stream of zeros that counts what was read.
    struct Endless(std::rc::Rc<std::cell::Cell<u64>>);
    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(0);
            self.0.set(self.0.get() + buf.len() as u64);
            Ok(buf.len())
        }
    }
    let read = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut options = nelloc::DecodeOptions::default();
    options.limits.max_input_bytes = 100_000;
    let err = nelloc_image::NlcDecoder::with_options(Endless(read.clone()), options)
        .err()
        .expect("an endless input is refused");
    assert!(matches!(err, image::ImageError::Limits(_)), "{err:?}");
    assert!(read.get() <= 200_000, "read {} bytes", read.get());
}
