//! Work a stream can cause: empty tile streams, cancellation, worker pools.

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nelloc::{
    decode, encode, encode_with_stats, Cancel, ColorType, Error, ImageRef, LimitError, Limits,
    Progress, TileMode, TileModes,
};
use support::*;

/// The 120-byte golden `flat-black-20x12.nlc` (one empty tile stream) claiming
/// `w` x `h` pixels in one tile, header checksum re-sealed: a valid file.
fn black_claiming(w: u32, h: u32) -> Vec<u8> {
    let f = std::fs::read(fixtures().join("golden/flat-black-20x12.nlc")).unwrap();
    assert_eq!(f.len(), 120, "one tile, empty stream");
    claiming(f, w, h)
}

/// A one-tile file without metadata re-sealed to claim `w` x `h` pixels in its tile.
fn claiming(mut f: Vec<u8>, w: u32, h: u32) -> Vec<u8> {
    assert_eq!(
        &f[92..100],
        &[0, 0, 0, 0, 1, 0, 0, 0],
        "one tile, no chunks"
    );
    for (at, v) in [(12, w), (16, h), (20, w), (24, h)] {
        f[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let crc = crc32fast::hash(&f[..116]);
    f[116..120].copy_from_slice(&crc.to_le_bytes());
    f
}

#[test]
fn an_empty_tile_stream_decodes_to_zeros_without_running_the_network() {
    // 2^28 pixels (the default limit) from 120 bytes: through the network this took
    // minutes of CPU; an empty stream is all zeros whatever the model, so it is a fill.
    let file = black_claiming(16384, 16384);
    let done = Arc::new(Mutex::new(0u64));
    let mut o = decode_opts(&[test_rgb()]);
    let d = done.clone();
    o.progress = Some(Progress::new(move |n, total| {
        assert_eq!(total, 16384 * 16384);
        *d.lock().unwrap() = n;
    }));
    let start = Instant::now();
    let image = decode(&file, &o).unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_eq!((image.width(), image.height()), (16384, 16384));
    assert!(image.pixels().iter().all(|&v| v == 0));
    assert_eq!(*done.lock().unwrap(), 16384 * 16384);
}

#[test]
fn context_coded_tiles_count_as_work() {
    // Every pixel an escape (what an empty or hostile context stream makes it) costs about
    // half a neural pixel, so a few bytes claiming a huge context tile are a CPU-time bomb
    // like a neural one: the work bound counts them.
    let px: Vec<u8> = (0..20 * 12 * 3).map(|i| (i * 7919 % 251) as u8).collect();
    let image = ImageRef::new(20, 12, ColorType::Rgb8, &px).unwrap();
    let mut e = encode_opts(test_rgb(), test_gray(), 256);
    e.modes = TileModes::only(&[TileMode::Context]);
    let (bytes, stats) = encode_with_stats(image, &e).unwrap();
    assert_eq!(bytes[8], 3, "a context-coded file is version 3");
    assert_eq!(stats.neural_pixels, 20 * 12);
    let back = decode(&bytes, &decode_opts(&[])).unwrap();
    assert_eq!(back.pixels(), &px[..]);
    // The same file claiming 4200 x 4200 pixels in its one tile.
    let f = claiming(bytes.clone(), 4200, 4200);
    let mut o = decode_opts(&[]);
    o.limits = Limits::strict();
    let start = Instant::now();
    match decode(&f, &o) {
        Err(Error::Limits(LimitError::Work { pixels, max })) => {
            assert_eq!((pixels, max), (4200 * 4200, 1 << 24));
        }
        other => panic!("expected the work limit, got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(1));
    // Within the default limits it is decoded (and would fail its final-state check after
    // ~17 M pixels); a cancel stops it inside the one tile (the context decoder polls it
    // every row).
    let cancel = Cancel::new();
    let mut o = decode_opts(&[]);
    o.cancel = Some(cancel.clone());
    let c = cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        c.cancel();
    });
    let start = Instant::now();
    assert!(matches!(decode(&f, &o), Err(Error::Cancelled)));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    canceller.join().unwrap();
    // The encoder refuses to write what its own limits would refuse to decode.
    e.limits.max_neural_pixels = 20 * 12 - 1;
    assert!(matches!(
        encode(image, &e),
        Err(Error::Limits(LimitError::Work { .. }))
    ));
}

#[test]
fn empty_streams_keep_a_constant_alpha() {
    // A black RGBA image with constant alpha encodes to empty streams.
    let mut px = vec![0u8; 40 * 30 * 4];
    px.chunks_exact_mut(4).for_each(|p| p[3] = 77);
    let image = ImageRef::new(40, 30, ColorType::Rgba8, &px).unwrap();
    let bytes = encode(image, &encode_opts(test_rgb(), test_gray(), 16)).unwrap();
    let info = nelloc::info(&bytes, &decode_opts(&[])).unwrap();
    assert_eq!(bytes.len(), 100 + 16 * info.tiles + 4, "all streams empty");
    let back = decode(&bytes, &decode_opts(&[test_rgb(), test_gray()])).unwrap();
    assert_eq!(back.pixels(), &px[..]);
}

#[test]
fn a_decode_can_be_cancelled_while_it_runs() {
    let case = synthetic_cases()
        .into_iter()
        .find(|c| c.image.color() == ColorType::Rgb8 && c.image.width() >= 24)
        .unwrap();
    let bytes = encode(
        case.image.as_ref(),
        &encode_opts(test_rgb(), test_gray(), 4),
    )
    .unwrap();
    let cancel = Cancel::new();
    let mut o = decode_opts(&[test_rgb(), test_gray()]);
    o.threads = 1;
    o.cancel = Some(cancel.clone());
    let c = cancel.clone();
    o.progress = Some(Progress::new(move |_, _| c.cancel()));
    assert!(matches!(decode(&bytes, &o), Err(Error::Cancelled)));
    // Encoding checks it before each tile.
    let mut e = encode_opts(test_rgb(), test_gray(), 4);
    e.cancel = Some(cancel);
    assert!(matches!(
        encode(case.image.as_ref(), &e),
        Err(Error::Cancelled)
    ));
}

#[test]
fn calls_with_the_same_thread_count_share_one_pool() {
    let case = synthetic_cases()
        .into_iter()
        .find(|c| c.image.color() == ColorType::Rgb8 && c.image.width() >= 24)
        .unwrap();
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let t = threads.clone();
    let progress = Progress::new(move |_, _| {
        t.lock().unwrap().insert(std::thread::current().id());
    });
    let mut e = encode_opts(test_rgb(), test_gray(), 4);
    e.threads = 2;
    e.progress = Some(progress.clone());
    let mut d = decode_opts(&[test_rgb(), test_gray()]);
    d.threads = 2;
    d.progress = Some(progress);
    for _ in 0..3 {
        let bytes = encode(case.image.as_ref(), &e).unwrap();
        decode(&bytes, &d).unwrap();
    }
    // A new pool per call would have run the callbacks on up to 12 different threads.
    let n = threads.lock().unwrap().len();
    assert!((1..=2).contains(&n), "{n} threads");
}

#[test]
fn cancelling_stops_inside_one_huge_tile() {
    // A hostile stream: one non-empty 4-byte tile stream claiming 8192x8192 pixels in one
    // tile. Decoding would run the network over all of them before the final-state check
    // fails; cancelling (here from the first progress report) stops it within a step.
    let mut f = black_claiming(8192, 8192);
    let stream = 1u32.to_le_bytes();
    f[108..112].copy_from_slice(&4u32.to_le_bytes()); // tile length
    f[112..116].copy_from_slice(&crc32fast::hash(&stream).to_le_bytes());
    let crc = crc32fast::hash(&f[..116]);
    f[116..120].copy_from_slice(&crc.to_le_bytes());
    f.extend_from_slice(&stream);
    let cancel = Cancel::new();
    let mut o = decode_opts(&[test_rgb()]);
    o.cancel = Some(cancel.clone());
    let c = cancel.clone();
    o.progress = Some(Progress::new(move |_, _| c.cancel()));
    let start = Instant::now();
    assert!(matches!(decode(&f, &o), Err(Error::Cancelled)));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
}
