//! Round-trips with small pseudo-random models: the coder, tiling and alpha paths must
//! be lossless for any valid model, on every synthetic edge case and tile size.

mod support;

use nelloc::{decode, decode_into, encode, Error};
use support::*;

#[test]
fn synthetic_cases_roundtrip_with_random_models_and_tilings() {
    let rgb = tiny(3, 1, 11);
    let gray = tiny(1, 0, 12);
    for case in synthetic_cases() {
        let cc = case.image.color().color_channels();
        let model = if cc == 3 { rgb.clone() } else { gray.clone() };
        for tile in [1, 5, 16, 256] {
            let bytes = encode(
                case.image.as_ref(),
                &encode_opts(model.clone(), gray.clone(), tile),
            )
            .unwrap_or_else(|e| panic!("{} tile {tile}: {e}", case.name));
            let back = decode(&bytes, &decode_opts(&[rgb.clone(), gray.clone()]))
                .unwrap_or_else(|e| panic!("{} tile {tile}: {e}", case.name));
            assert_eq!(
                back.pixels(),
                case.image.pixels(),
                "{} tile {tile}",
                case.name
            );
            assert_eq!(back.color(), case.image.color());
        }
    }
}

#[test]
fn predictor_relative_models_roundtrip_at_every_horizon_and_mixture_count() {
    // Horizon 1 has no WW/NN neighbours (lin_* predictors need 2); K = 1 has a single
    // predictor; coded alpha uses a gray predictor model with another horizon.
    for (horizon, k) in [(1, 3), (2, 1), (2, 10), (3, 10), (4, 7)] {
        let seed = u64::from(horizon * 100 + k);
        let rgb = tiny_pred(3, horizon, k, seed);
        let gray = tiny_pred(1, horizon, k, seed + 1);
        let alpha = tiny_pred(1, 5 - horizon.min(4), 4, seed + 2);
        for case in synthetic_cases() {
            let cc = case.image.color().color_channels();
            let model = if cc == 3 { rgb.clone() } else { gray.clone() };
            for tile in [1, 7, 64] {
                let bytes = encode(
                    case.image.as_ref(),
                    &encode_opts(model.clone(), alpha.clone(), tile),
                )
                .unwrap_or_else(|e| panic!("{} h{horizon} k{k} tile {tile}: {e}", case.name));
                let back = decode(
                    &bytes,
                    &decode_opts(&[rgb.clone(), gray.clone(), alpha.clone()]),
                )
                .unwrap_or_else(|e| panic!("{} h{horizon} k{k} tile {tile}: {e}", case.name));
                assert_eq!(
                    back.pixels(),
                    case.image.pixels(),
                    "{} h{horizon} k{k} tile {tile}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let rgb = tiny(3, 0, 5);
    let gray = tiny(1, 0, 6);
    let case = synthetic_cases()
        .into_iter()
        .find(|c| c.name.starts_with("rgba-varying"))
        .unwrap();
    let mut outs = Vec::new();
    for threads in [1, 2, 3] {
        let mut o = encode_opts(rgb.clone(), gray.clone(), 8);
        o.threads = threads;
        outs.push(encode(case.image.as_ref(), &o).unwrap());
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
    for threads in [1, 2] {
        let mut d = decode_opts(&[rgb.clone(), gray.clone()]);
        d.threads = threads;
        assert_eq!(decode(&outs[0], &d).unwrap().pixels(), case.image.pixels());
    }
}

#[test]
fn every_horizon_and_mixture_count_round_trips_with_mixed_colour_and_alpha_models() {
    // Until now every model ever round-tripped had horizon 3 and K = 10. The format allows
    // horizons 1..=7 and K 1..=32, and the colour and alpha models need not agree.
    let cases = synthetic_cases();
    let rgba = cases
        .iter()
        .find(|c| c.name.starts_with("rgba-varying"))
        .expect("an RGBA case with coded alpha");
    let graya = cases
        .iter()
        .find(|c| c.name.starts_with("graya-varying"))
        .expect("a grey+alpha case with coded alpha");
    for (i, (hc, kc, ha, ka)) in [
        (1, 1, 7, 32),
        (2, 32, 1, 1),
        (4, 3, 2, 5),
        (5, 7, 6, 2),
        (7, 2, 3, 10),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = 100 + i as u64;
        let alpha = shaped(ha, 1, 12, ka, seed + 50);
        for (case, cc) in [(rgba, 3), (graya, 1)] {
            let colour = shaped(hc, cc, 12, kc, seed);
            for tile in [3, 8, 64] {
                let what = format!(
                    "{} colour h{hc} K{kc}, alpha h{ha} K{ka}, tile {tile}",
                    case.name
                );
                let bytes = encode(
                    case.image.as_ref(),
                    &encode_opts(colour.clone(), alpha.clone(), tile),
                )
                .unwrap_or_else(|e| panic!("{what}: {e}"));
                let back = decode(&bytes, &decode_opts(&[colour.clone(), alpha.clone()]))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(back.pixels(), case.image.pixels(), "{what}");
            }
        }
    }
}

#[test]
fn decode_into_writes_what_decode_returns_and_checks_the_buffer() {
    let rgb = tiny(3, 1, 21);
    let gray = tiny(1, 0, 22);
    let opts = decode_opts(&[rgb.clone(), gray.clone()]);
    for case in synthetic_cases() {
        let model = if case.image.color().color_channels() == 3 {
            rgb.clone()
        } else {
            gray.clone()
        };
        let bytes = encode(case.image.as_ref(), &encode_opts(model, gray.clone(), 5))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let want = decode(&bytes, &opts).unwrap();
        // A dirty buffer: nothing the caller had may survive in the decoded image.
        let mut out = vec![0xA5u8; want.pixels().len()];
        let metadata = decode_into(&bytes, &opts, &mut out).unwrap();
        assert_eq!(out, want.pixels(), "{}", case.name);
        assert_eq!(&metadata, want.metadata(), "{}", case.name);
        for wrong in [out.len() - 1, out.len() + 1] {
            let mut buf = vec![7u8; wrong];
            match decode_into(&bytes, &opts, &mut buf) {
                Err(Error::InvalidArgument(m)) => assert!(m.contains("needs"), "{m}"),
                other => panic!("{} with {wrong} bytes: {other:?}", case.name),
            }
            assert!(
                buf.iter().all(|&b| b == 7),
                "a refused buffer is left alone"
            );
        }
    }
}
