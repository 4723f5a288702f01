//! The rows-ready callback (`DecodeOptions::on_rows`): rows from the top, final when
//! passed, on the caller's thread, never after a failure or a cancel.

mod support;

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use nelloc::{decode, decode_into, encode, Cancel, ColorType, Error, OnRows, Progress};
use support::*;

/// One call: rows done, the rows passed, the thread it came on.
type Call = (u32, Vec<u8>, ThreadId);

/// A 40x32 image in 8x8 tiles (5 x 4 tiles), with an all-black band.
fn stream(color: ColorType) -> (Vec<u8>, Vec<Arc<nelloc::Model>>) {
    let img = image(40, 32, color, |x, y, c| {
        if (8..16).contains(&y) {
            0
        } else {
            (x * 7 + y * 13 + c as u32 * 50) as u8 ^ (x * y) as u8
        }
    });
    let models = vec![test_rgb(), test_gray()];
    let bytes = encode(img.as_ref(), &encode_opts(test_rgb(), test_gray(), 8)).unwrap();
    (bytes, models)
}

fn recording(
    threads: usize,
    models: &[Arc<nelloc::Model>],
) -> (nelloc::DecodeOptions, Arc<Mutex<Vec<Call>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c = calls.clone();
    let mut o = decode_opts(models);
    o.threads = threads;
    o.on_rows = Some(OnRows::new(move |n, rows| {
        c.lock()
            .unwrap()
            .push((n, rows.to_vec(), std::thread::current().id()));
    }));
    // Slow workers, so that the caller's thread sees rows between groups of tiles.
    o.progress = Some(Progress::new(|_, _| {
        std::thread::sleep(Duration::from_millis(2))
    }));
    (o, calls)
}

#[test]
fn rows_come_from_the_top_final_and_on_the_callers_thread() {
    for color in [ColorType::Rgb8, ColorType::Rgba8] {
        let (bytes, models) = stream(color);
        let plain = decode(&bytes, &decode_opts(&models)).unwrap();
        let row_bytes = 40 * color.channels();
        for threads in [1, 2, 3] {
            let (o, calls) = recording(threads, &models);
            let image = decode(&bytes, &o).unwrap();
            assert_eq!(
                image.pixels(),
                plain.pixels(),
                "{color:?}, {threads} threads"
            );
            let calls = calls.lock().unwrap();
            let me = std::thread::current().id();
            let mut last = 0;
            for (n, rows, thread) in calls.iter() {
                assert!(*n > last, "{threads} threads: rows {n} after {last}");
                assert_eq!(rows.len(), *n as usize * row_bytes);
                assert_eq!(
                    rows[..],
                    plain.pixels()[..rows.len()],
                    "rows 0..{n} not final"
                );
                assert_eq!(*thread, me, "called on a worker");
                last = *n;
            }
            assert_eq!(last, 32, "{threads} threads: the last call has every row");
            if threads == 1 {
                // Groups of 8 tiles in raster order: rows 8, 24 (the black band's tiles
                // may be trivial), then 32.
                assert!(calls.len() >= 2, "one worker, {} call(s)", calls.len());
            }
        }
    }
}

#[test]
fn decode_into_reports_rows_too() {
    let (bytes, models) = stream(ColorType::Rgb8);
    let plain = decode(&bytes, &decode_opts(&models)).unwrap();
    let (o, calls) = recording(2, &models);
    let mut out = vec![0u8; plain.pixels().len()];
    decode_into(&bytes, &o, &mut out).unwrap();
    assert_eq!(out, plain.pixels());
    let calls = calls.lock().unwrap();
    let (n, rows, _) = calls.last().expect("at least one call");
    assert_eq!((*n, &rows[..]), (32, plain.pixels()));
}

#[test]
fn no_rows_after_a_cancel() {
    let (bytes, models) = stream(ColorType::Rgb8);
    let (mut o, _) = recording(1, &models);
    let cancel = Cancel::new();
    o.cancel = Some(cancel.clone());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c = calls.clone();
    // Cancelled from the first call: the decode stops and reports no more rows.
    o.on_rows = Some(OnRows::new(move |n, _| {
        c.lock().unwrap().push(n);
        cancel.cancel();
    }));
    assert!(matches!(decode(&bytes, &o), Err(Error::Cancelled)));
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 1, "rows after the cancel: {calls:?}");
    assert!(calls[0] < 32);
}

#[test]
fn no_rows_past_a_corrupt_tile() {
    let (bytes, models) = stream(ColorType::Rgb8);
    // The tiled container without metadata: header, 16-byte index entries, CRC, data.
    let n_tiles = u32::from_le_bytes(bytes[96..100].try_into().unwrap()) as usize;
    let crc_at = 100 + 16 * n_tiles;
    let data = crc_at + 4;
    // Tile 12: the middle of row 2 (rows 16..24).
    let e = 100 + 16 * 12;
    let off = u64::from_le_bytes(bytes[e..e + 8].try_into().unwrap()) as usize;
    let len = u32::from_le_bytes(bytes[e + 8..e + 12].try_into().unwrap()) as usize;
    assert!(len > 2, "tile 12 has a stream");
    let mut rng = Rng::new(5);
    let mut failed = 0;
    for _ in 0..20 {
        let mut f = bytes.clone();
        f[data + off + (rng.next() as usize) % len] ^= 1 + (rng.next() % 255) as u8;
        let crc = crc32fast::hash(&f[data + off..data + off + len]);
        f[e + 12..e + 16].copy_from_slice(&crc.to_le_bytes());
        let crc = crc32fast::hash(&f[..crc_at]);
        f[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
        for threads in [1, 2] {
            let (o, calls) = recording(threads, &models);
            if decode(&f, &o).is_err() {
                failed += 1;
                for (n, ..) in calls.lock().unwrap().iter() {
                    assert!(*n <= 16, "rows 0..{n} reported past the corrupt tile");
                }
            }
        }
    }
    assert!(failed > 10, "only {failed} damaged streams failed");
}

#[test]
fn callers_on_every_worker_of_a_pool_do_not_wait_for_themselves() {
    // Decodes from a parallel iterator on rayon's global pool, asking for the current pool
    // (threads 0): every worker waits for rows, so the tiles must run elsewhere. Before,
    // they were queued on that pool and this never returned.
    use rayon::prelude::*;
    let (bytes, models) = stream(ColorType::Rgb8);
    let (mut o, calls) = recording(0, &models);
    o.progress = None;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let n = 2 * rayon::current_num_threads();
        let heights: Vec<u32> = (0..n)
            .into_par_iter()
            .map(|_| decode(&bytes, &o).unwrap().height())
            .collect();
        tx.send(heights).unwrap();
    });
    let heights = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the decodes never returned");
    assert!(heights.iter().all(|&h| h == 32));
    let full = calls.lock().unwrap().iter().filter(|c| c.0 == 32).count();
    assert_eq!(full, heights.len(), "one last call per decode");
}
