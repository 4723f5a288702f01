//! Ideal context-mode code length of images (palette by value when <= 256 colours, and
//! direct).
fn main() {
    let (mut tp, mut td) = (0.0, 0.0);
    for path in std::env::args().skip(1) {
        let img = image::open(&path).expect("image").to_rgb8();
        let w = img.width() as usize;
        let px: Vec<u32> = img
            .pixels()
            .map(|p| u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]))
            .collect();
        let grey = img.pixels().all(|p| p[0] == p[1] && p[1] == p[2]);
        let mut cols: Vec<u32> = px.clone();
        cols.sort_unstable();
        cols.dedup();
        let direct = if grey {
            let g: Vec<u32> = px.iter().map(|k| k & 255).collect();
            nelloc::bench_support::context_bits(&g, w, None, 1)
        } else {
            nelloc::bench_support::context_bits(&px, w, None, 3)
        } / 8.0;
        let pal = if cols.len() <= 256 {
            let idx: Vec<u32> = px
                .iter()
                .map(|k| cols.binary_search(k).unwrap() as u32)
                .collect();
            nelloc::bench_support::context_bits(&idx, w, Some(cols.len()), 3) / 8.0
        } else {
            f64::NAN
        };
        td += direct;
        tp += if pal.is_nan() {
            direct
        } else {
            pal.min(direct)
        };
        println!(
            "{path} {} colours palette {pal:.0} direct {direct:.0}",
            cols.len()
        );
    }
    println!("total best {tp:.0} direct {td:.0}");
}
