//! Rough timing of the scalar reference with a synthetic rs0-size model.
use std::sync::Arc;
use std::time::Instant;

use nelloc::model::{synthetic, Arch};
use nelloc::{decode, encode, ColorType, DecodeOptions, EncodeOptions, ImageRef, Model};

fn main() {
    let arch = Arch::new(3, 3, 256, 0, 10);
    let m = Arc::new(Model::from_bytes(&synthetic(arch, 1, "s")).unwrap());
    let (w, h) = (256u32, 256u32);
    let px: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7919) % 251) as u8).collect();
    let img = ImageRef::new(w, h, ColorType::Rgb8, &px).unwrap();
    let mut o = EncodeOptions::default();
    o.model = Some(m.clone());
    o.threads = 1;
    let t = Instant::now();
    let bytes = encode(img, &o).unwrap();
    let te = t.elapsed().as_secs_f64();
    let mut d = DecodeOptions::default();
    d.models = vec![m];
    d.threads = 1;
    let t = Instant::now();
    let back = decode(&bytes, &d).unwrap();
    let td = t.elapsed().as_secs_f64();
    assert_eq!(back.pixels(), &px[..]);
    let mp = f64::from(w * h) / 1e6;
    println!(
        "encode {:.2} s/MP, decode {:.2} s/MP (1 thread)",
        te / mp,
        td / mp
    );
}
