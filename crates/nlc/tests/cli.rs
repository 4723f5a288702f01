//! The `nlc` binary end to end: round-trips, exit codes, atomic outputs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn nlc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nlc"))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/photos")
        .join(name)
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `nlc encode` of a photo fixture, which must succeed.
fn encode_fixture(name: &str, out: &Path) {
    let st = nlc()
        .arg("encode")
        .arg(fixture(name))
        .arg(out)
        .status()
        .unwrap();
    assert!(st.success(), "encode {name}");
}

fn pixels(path: &Path) -> Vec<u8> {
    image::open(path).expect("readable image").into_bytes()
}

#[test]
fn encode_decode_roundtrip_through_every_output_format() {
    let dir = tmpdir();
    let nlc_file = dir.path().join("dune.nlc");
    encode_fixture("dune_77x53.png", &nlc_file);
    for ext in ["png", "tif", "ppm", "pam"] {
        let out = dir.path().join(format!("dune.{ext}"));
        let st = nlc()
            .arg("decode")
            .arg(&nlc_file)
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success(), "{ext}");
        assert_eq!(pixels(&out), pixels(&fixture("dune_77x53.png")), "{ext}");
    }
    let info = nlc().arg("info").arg(&nlc_file).output().unwrap();
    assert!(info.status.success());
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("77x53") && text.contains("RGB8"), "{text}");
}

#[test]
fn gray_input_roundtrips_as_gray() {
    let dir = tmpdir();
    let f = dir.path().join("w.nlc");
    encode_fixture("wood_gray_64x64.png", &f);
    let out = dir.path().join("w.pgm");
    assert!(nlc()
        .arg("decode")
        .arg(&f)
        .arg(&out)
        .status()
        .unwrap()
        .success());
    assert_eq!(pixels(&out), pixels(&fixture("wood_gray_64x64.png")));
    // A grey image cannot be written as PPM: refused before decoding, exit 1.
    let st = nlc()
        .arg("decode")
        .arg(&f)
        .arg(dir.path().join("w.ppm"))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1));
}

#[test]
fn usage_errors_exit_2_and_runtime_errors_exit_1() {
    assert_eq!(nlc().arg("encode").status().unwrap().code(), Some(2));
    assert_eq!(nlc().arg("frobnicate").status().unwrap().code(), Some(2));
    let dir = tmpdir();
    let st = nlc()
        .arg("decode")
        .arg(fixture("dune_77x53.png"))
        .arg(dir.path().join("x.png"))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1));
    let missing = nlc()
        .arg("info")
        .arg(dir.path().join("missing.nlc"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing.nlc"));
}

#[test]
fn a_failed_decode_never_clobbers_an_existing_file() {
    let dir = tmpdir();
    let target = dir.path().join("keep.png");
    std::fs::write(&target, b"precious").unwrap();
    // Corrupt input: flip a byte of a valid stream's tile data.
    let f = dir.path().join("d.nlc");
    encode_fixture("dune_77x53.png", &f);
    let mut bytes = std::fs::read(&f).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(&f, &bytes).unwrap();
    let out = nlc().arg("decode").arg(&f).arg(&target).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum"));
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".nlc-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn sixteen_bit_input_is_refused_not_converted() {
    let dir = tmpdir();
    let png16 = dir.path().join("deep.png");
    image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(4, 4, image::Rgb([1000u16, 2000, 3000]))
        .save(&png16)
        .unwrap();
    let out = nlc()
        .arg("encode")
        .arg(&png16)
        .arg(dir.path().join("deep.nlc"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("8-bit") && err.contains("Rgb16"), "{err}");
    assert!(!dir.path().join("deep.nlc").exists());
}

#[test]
fn demo_runs_and_reports_bit_exact() {
    let out = nlc().arg("demo").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bpsp") && text.contains("bit-exact"),
        "{text}"
    );
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    // `nlc info x.nlc | head -1`: the reader goes away; nlc must end quietly, not panic.
    let dir = tmpdir();
    let f = dir.path().join("d.nlc");
    encode_fixture("dune_77x53.png", &f);
    for _ in 0..5 {
        let mut child = nlc()
            .arg("info")
            .arg(&f)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_simd_level_writes_and_reads_the_same_bytes() {
    // The whole pipeline, not just the kernels: encode with the scalar level and with the
    // best one, decode each stream with the other.
    let dir = tmpdir();
    let mut streams = Vec::new();
    for level in ["scalar", "avx2", "best"] {
        let f = dir.path().join(format!("{level}.nlc"));
        let st = nlc()
            .env("NELLOC_SIMD", level)
            .arg("encode")
            .arg("--tile-size")
            .arg("48")
            .arg(fixture("boats_128x128.png"))
            .arg(&f)
            .status()
            .unwrap();
        assert!(st.success());
        streams.push(std::fs::read(&f).unwrap());
    }
    assert!(
        streams.windows(2).all(|w| w[0] == w[1]),
        "encoders disagree across SIMD levels"
    );
    for level in ["scalar", "best"] {
        let out = dir.path().join(format!("{level}.png"));
        let st = nlc()
            .env("NELLOC_SIMD", level)
            .arg("decode")
            .arg(dir.path().join("avx2.nlc"))
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(
            pixels(&out),
            pixels(&fixture("boats_128x128.png")),
            "{level}"
        );
    }
}

/// A 192x128 RGB PNG whose 64x64 tiles suit different modes: the boats photo (neural),
/// flat, two colours (palette), a smooth gradient (png), noise.
fn mixed_png(path: &Path) {
    let boats = image::open(fixture("boats_128x128.png")).unwrap().to_rgb8();
    let img = image::RgbImage::from_fn(192, 128, |x, y| {
        let b = (y / 64) * 3 + x / 64;
        image::Rgb(match b {
            0 | 4 => boats.get_pixel(x % 128, y % 128).0,
            1 => [240, 240, 240],
            2 => {
                if (x / 3 + y / 5).is_multiple_of(2) {
                    [0, 0, 0]
                } else {
                    [255, 255, 255]
                }
            }
            3 => [(x * 2) as u8, (y * 3) as u8, 100],
            _ => [
                (x * 7919 % 253) as u8,
                (y * 104_729 % 251) as u8,
                ((x * y) % 241) as u8,
            ],
        })
    });
    img.save(path).unwrap();
}

#[test]
fn every_simd_level_and_thread_count_writes_the_same_bytes_in_every_mode() {
    let dir = tmpdir();
    let src = dir.path().join("mixed.png");
    mixed_png(&src);
    let mut streams = Vec::new();
    for (level, threads) in [("scalar", "1"), ("avx2", "2"), ("best", "0"), ("best", "1")] {
        let f = dir.path().join(format!("{level}-{threads}.nlc"));
        let st = nlc()
            .env("NELLOC_SIMD", level)
            .args(["encode", "-q", "--tile-size", "64", "--threads", threads])
            .arg(&src)
            .arg(&f)
            .status()
            .unwrap();
        assert!(st.success());
        streams.push(std::fs::read(&f).unwrap());
    }
    assert!(
        streams.windows(2).all(|w| w[0] == w[1]),
        "encoders disagree across SIMD levels or thread counts"
    );
    let f = dir.path().join("scalar-1.nlc");
    let info = nlc().args(["info", "--tiles"]).arg(&f).output().unwrap();
    assert!(info.status.success());
    let text = String::from_utf8_lossy(&info.stdout);
    for mode in ["neural", "constant", "png", "context"] {
        assert!(
            text.lines().filter(|l| l.contains(mode)).count() >= 2,
            "{mode} missing in:\n{text}"
        );
    }
    assert!(text.contains("version:     3"), "{text}");
    for (level, threads) in [("scalar", "2"), ("best", "1")] {
        let out = dir.path().join(format!("{level}.png"));
        let st = nlc()
            .env("NELLOC_SIMD", level)
            .args(["decode", "-q", "--threads", threads])
            .arg(&f)
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(pixels(&out), pixels(&src), "{level}");
    }
}

#[test]
fn modes_option_restricts_the_encoder() {
    let dir = tmpdir();
    let src = dir.path().join("mixed.png");
    mixed_png(&src);
    // Pure NeLLoC: container version 1 (the first release's format), every tile neural.
    let f = dir.path().join("neural.nlc");
    let st = nlc()
        .args(["encode", "-q", "--tile-size", "64", "--modes", "neural"])
        .arg(&src)
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(std::fs::read(&f).unwrap()[8], 1);
    let text =
        String::from_utf8_lossy(&nlc().args(["info"]).arg(&f).output().unwrap().stdout).to_string();
    assert!(text.contains("tile modes:  neural 6 "), "{text}");
    // No neural mode: no model named; decodes without one.
    let f = dir.path().join("png.nlc");
    let st = nlc()
        .args([
            "encode",
            "-q",
            "--tile-size",
            "64",
            "--modes",
            "png,constant",
        ])
        .arg(&src)
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    let text =
        String::from_utf8_lossy(&nlc().args(["info"]).arg(&f).output().unwrap().stdout).to_string();
    assert!(text.contains("model:       none"), "{text}");
    let modes = text.lines().find(|l| l.starts_with("tile modes:")).unwrap();
    assert!(
        !modes.contains("neural") && !modes.contains("palette"),
        "{text}"
    );
    // Unknown names and sets that cannot code every tile are usage / argument errors.
    let out = nlc()
        .args(["encode", "--modes", "neural,jpeg"])
        .arg(&src)
        .arg(dir.path().join("x.nlc"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = nlc()
        .args(["encode", "--modes", "constant,palette"])
        .arg(&src)
        .arg(dir.path().join("x.nlc"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neural, png or context"));
}

#[test]
fn max_pixels_refuses_larger_images_before_decoding() {
    let dir = tmpdir();
    let f = dir.path().join("d.nlc");
    encode_fixture("dune_77x53.png", &f); // 4081 pixels
    let out_png = dir.path().join("d.png");
    let refused = nlc()
        .args(["decode", "--max-pixels", "4080"])
        .arg(&f)
        .arg(&out_png)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("limit"));
    assert!(!out_png.exists());
    let st = nlc()
        .args(["decode", "-q", "--max-pixels", "4081"])
        .arg(&f)
        .arg(&out_png)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        nlc()
            .args(["decode", "--max-pixels", "0"])
            .arg(&f)
            .arg(&out_png)
            .status()
            .unwrap()
            .code(),
        Some(2)
    );
}

#[cfg(unix)]
#[test]
fn outputs_get_the_umask_mode_and_replaced_outputs_keep_theirs() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let dir = tmpdir();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"x").unwrap();
    let out = dir.path().join("dune.nlc");
    encode_fixture("dune_77x53.png", &out);
    assert_eq!(mode(&out), mode(&plain), "not the mode of a plain write");
    let png = dir.path().join("dune.png");
    let st = nlc().arg("decode").arg(&out).arg(&png).status().unwrap();
    assert!(st.success());
    assert_eq!(mode(&png), mode(&plain));
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    encode_fixture("dune_77x53.png", &out);
    assert_eq!(mode(&out), 0o640);
    // A missing directory is named by the error, not a temporary file in it.
    let missing = dir.path().join("no/such/x.nlc");
    let o = nlc()
        .arg("encode")
        .arg(fixture("dune_77x53.png"))
        .arg(&missing)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && !err.contains(".nlc-tmp-"), "{err}");
}

/// `nlc doctor` with an empty HOME and a PATH without the tools: every check reports
/// (not installed / missing), nothing counts as broken, exit status 0.
#[test]
fn doctor_runs_cleanly_without_the_tools() {
    let home = tmpdir();
    let bin = tmpdir(); // an empty PATH directory
    let out = nlc()
        .arg("doctor")
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", bin.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for what in [
        "libnelloc",
        "ImageMagick 6",
        "GraphicsMagick",
        "gdk-pixbuf",
        "GIMP 2.10",
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no line for {what}:\n{text}"));
        assert!(
            line.starts_with("not installed") || line.starts_with("missing"),
            "{line}"
        );
    }
    assert!(!text.contains("broken"), "{text}");
}

#[test]
fn preview_options_choose_the_embedded_preview() {
    let dir = tmpdir();
    let src = dir.path().join("mixed.png");
    mixed_png(&src);
    let info = |f: &Path| {
        String::from_utf8_lossy(&nlc().arg("info").arg(f).output().unwrap().stdout).to_string()
    };
    for (args, want) in [
        (&["--preview-size", "64"][..], "preview:     64x43"),
        (&["--no-preview"][..], "preview:     none"),
        // 192x128 is no larger than the default preview: none.
        (&[][..], "preview:     none"),
    ] {
        let f = dir.path().join("out.nlc");
        let st = nlc()
            .args(["encode", "-q", "--modes", "png,constant"])
            .args(args)
            .arg(&src)
            .arg(&f)
            .status()
            .unwrap();
        assert!(st.success(), "{args:?}");
        let text = info(&f);
        assert!(text.contains(want), "{args:?}: {text}");
    }
    for bad in [
        &["--preview-size", "0"][..],
        &["--preview-size", "1025"][..],
        &["--preview-size", "64", "--no-preview"][..],
    ] {
        let st = nlc()
            .args(["encode", "-q"])
            .args(bad)
            .arg(&src)
            .arg(dir.path().join("bad.nlc"))
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(2), "{bad:?}");
    }
}
