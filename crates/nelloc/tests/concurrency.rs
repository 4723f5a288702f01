//! Many threads encoding and decoding different images at once through the Rust API, with
//! per-call pools (threads = 2), the global pool (0) and none (1) mixed: each result is
//! byte-identical to a single-threaded run, and cancelling one call leaves the others
//! alone.

mod support;

use nelloc::{decode, encode, Cancel, Error, TileMode, TileModes};
use support::*;

#[test]
fn concurrent_calls_match_sequential_ones() {
    let cases = synthetic_cases();
    let opts = |i: usize| {
        let color = match cases[i].image.color().color_channels() {
            3 => test_rgb(),
            _ => test_gray(),
        };
        let mut e = encode_opts(color, test_gray(), [8, 16, 256][i % 3]);
        e.threads = [0, 1, 2][i % 3];
        if i.is_multiple_of(2) {
            e.modes = TileModes::all();
        }
        e
    };
    let models = [test_rgb(), test_gray()];
    let sequential: Vec<Vec<u8>> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut e = opts(i);
            e.threads = 1;
            encode(c.image.as_ref(), &e).unwrap()
        })
        .collect();
    let cancel = Cancel::new();
    cancel.cancel();
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (e, models, cancel) = (opts(i), &models, cancel.clone());
                s.spawn(move || {
                    let bytes = encode(c.image.as_ref(), &e).unwrap();
                    let mut d = decode_opts(models);
                    d.threads = [2, 0, 1][i % 3];
                    let back = decode(&bytes, &d).unwrap();
                    assert!(back.pixels() == c.image.pixels(), "{}", c.name);
                    // A cancelled neighbour does not disturb anyone.
                    let mut k = decode_opts(models);
                    k.cancel = Some(cancel);
                    let mut neural = opts(i);
                    neural.tile_size = 4;
                    let other = encode(c.image.as_ref(), &neural).unwrap();
                    let r = decode(&other, &k);
                    assert!(r.is_ok() || matches!(r, Err(Error::Cancelled)));
                    bytes
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), sequential[i], "{}", cases[i].name);
        }
    });
    // At least one neural tile in the set (the test is about the network path too).
    assert!(sequential.iter().any(|f| {
        nelloc::info(f, &decode_opts(&[]))
            .unwrap()
            .tile_details
            .iter()
            .any(|t| t.color_mode == TileMode::Neural)
    }));
}
