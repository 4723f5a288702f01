//! Criterion micro-benchmarks of what the public API reaches: encode and decode of small
//! crops of a real photograph (fixtures/photos/demo.png) with the built-in `default` (RGB)
//! and `gray` models, on 1 and 2 threads.
//!
//! ```sh
//! cargo bench -p nelloc --bench codec                 # all (about a minute)
//! cargo bench -p nelloc --bench codec -- decode/default # a subset
//! ```
//!
//! Tiles are 64x64 here so that a 128x128 image has 4 tiles and decoding can use two
//! threads (decoding parallelises across tiles, encoding across rows). With `threads` set,
//! every call builds its own rayon pool, which is included in the time (as in `nlc`).
//! Throughput is reported in pixels (elements) per second. Whole-image figures on the
//! validation crops come from `nlc bench` (docs/PERFORMANCE.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nelloc::{decode, encode, ColorType, DecodeOptions, EncodeOptions, Image};

const PHOTO: &[u8] = include_bytes!("../../../fixtures/photos/demo.png");

/// A `size` x `size` crop of the photograph, RGB or gray.
fn crop(size: u32, gray: bool) -> Image {
    let photo = image::load_from_memory(PHOTO).expect("fixture photo decodes");
    let sub = photo.crop_imm(0, 0, size, size);
    if gray {
        Image::new(size, size, ColorType::Gray8, sub.to_luma8().into_raw()).expect("valid image")
    } else {
        Image::new(size, size, ColorType::Rgb8, sub.to_rgb8().into_raw()).expect("valid image")
    }
}

fn codec(c: &mut Criterion) {
    for (model, gray) in [("default", false), ("gray", true)] {
        let m = nelloc::model::builtin_by_name(model).expect("built-in model");
        for size in [64u32, 128] {
            let img = crop(size, gray);
            for threads in [1usize, 2] {
                let mut eo = EncodeOptions::default();
                eo.model = Some(m.clone());
                eo.tile_size = 64;
                eo.threads = threads;
                let mut dopt = DecodeOptions::default();
                dopt.threads = threads;
                let bytes = encode(img.as_ref(), &eo).expect("encode");
                assert_eq!(
                    decode(&bytes, &dopt).expect("decode").pixels(),
                    img.pixels()
                );
                let id = BenchmarkId::new(format!("{size}x{size}"), format!("t{threads}"));
                let mut g = c.benchmark_group(format!("encode/{model}"));
                g.throughput(Throughput::Elements(u64::from(size * size)));
                g.bench_with_input(id.clone(), &img, |b, img| {
                    b.iter(|| encode(black_box(img.as_ref()), &eo).expect("encode"))
                });
                g.finish();
                let mut g = c.benchmark_group(format!("decode/{model}"));
                g.throughput(Throughput::Elements(u64::from(size * size)));
                g.bench_with_input(id, &bytes, |b, bytes| {
                    b.iter(|| decode(black_box(bytes), &dopt).expect("decode"))
                });
                g.finish();
            }
        }
    }
}

criterion_group! {
    name = benches;
    // Few samples: each iteration is milliseconds; enough to compare kernels and threads.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = codec
}
criterion_main!(benches);
