//! Throughput of the batched integer network alone (no context gathering, mixture or
//! entropy coding), per built-in model, on one thread: GMAC/s to compare with the int8
//! multiply-add peak (`examples/int8_peak.rs`).
//!
//! cargo run --release -p nelloc --example network_throughput
use nelloc::bench_support::{network_seconds, simd_level};

fn main() {
    println!("SIMD level: {}", simd_level());
    println!("| model | MAC/pixel | batch | pixels/s | GMAC/s |");
    println!("|---|---|---|---|---|");
    for m in nelloc::model::builtin() {
        let macs = m.arch().macs_per_pixel();
        for batch in [64, 256] {
            let pixels = (2_000_000_000 / macs as usize).max(1000); // ~2 GMAC per run
            network_seconds(m, 10_000, batch); // warm-up
            let secs = network_seconds(m, pixels, batch);
            let pps = pixels as f64 / secs;
            println!(
                "| {} ({}) | {macs} | {batch} | {:.0} | {:.1} |",
                m.name(),
                &m.hash_hex()[..8],
                pps,
                pps * macs as f64 / 1e9
            );
        }
    }
}
