//! Models that travel with the files (docs/FORMAT.md section 12): `nlc encode
//! --embed-model`, `NELLOC_MODEL_PATH`, `--model-path`, the model file batch mode writes
//! beside the streams, and the error that lists where the decoder looked. In every test
//! the decoder is given no `--model`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nlc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nlc"));
    // The tests set it where they need it, never inherit it.
    c.env_remove("NELLOC_MODEL_PATH");
    c
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An external (not built-in) one-channel model: the frozen predictor-relative test model.
fn model() -> PathBuf {
    repo().join("fixtures/models/test-gray-pred.safetensors")
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn pixels(path: &Path) -> Vec<u8> {
    image::open(path).expect("readable image").into_bytes()
}

/// A 28x28 grey PNG (the size of Fashion-MNIST), a crop of the wood photo.
fn gray28(path: &Path) {
    let wood = image::open(repo().join("fixtures/photos/wood_gray_64x64.png"))
        .unwrap()
        .into_luma8();
    let crop = image::imageops::crop_imm(&wood, 18, 0, 28, 28).to_image();
    crop.save(path).unwrap();
}

fn encode(args: &[&str], input: &Path, out: &Path) {
    ok(nlc()
        .arg("encode")
        .arg("--model")
        .arg(model())
        .args(args)
        .arg(input)
        .arg(out)
        .arg("-q")
        .output()
        .unwrap());
}

#[test]
fn an_embedded_model_decodes_with_no_model_given() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("a.png");
    gray28(&png);
    let f = dir.path().join("a.nlc");
    encode(&["--embed-model"], &png, &f);
    let bytes = std::fs::read(&f).unwrap();
    assert_eq!(bytes[8], 6);
    // Elsewhere, with no model file anywhere near.
    let other = tempfile::tempdir().unwrap();
    let moved = other.path().join("a.nlc");
    std::fs::copy(&f, &moved).unwrap();
    let out = other.path().join("a.png");
    ok(nlc().arg("decode").arg(&moved).arg(&out).output().unwrap());
    assert_eq!(pixels(&out), pixels(&png));
    let info = ok(nlc().arg("info").arg(&moved).output().unwrap());
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("version:     6 (compact container)"),
        "{text}"
    );
    assert!(text.contains("embedded:    model"), "{text}");
    // A tiled image (several tiles): version 7.
    let t = other.path().join("t.nlc");
    encode(&["--embed-model", "--tile-size", "16"], &png, &t);
    assert_eq!(std::fs::read(&t).unwrap()[8], 7);
    let out = other.path().join("t.png");
    ok(nlc().arg("decode").arg(&t).arg(&out).output().unwrap());
    assert_eq!(pixels(&out), pixels(&png));
    // With a built-in model, --embed-model changes nothing.
    let b1 = other.path().join("b1.nlc");
    let b2 = other.path().join("b2.nlc");
    for (f, extra) in [(&b1, None), (&b2, Some("--embed-model"))] {
        ok(nlc()
            .arg("encode")
            .args(extra)
            .arg(&png)
            .arg(f)
            .output()
            .unwrap());
    }
    assert_eq!(std::fs::read(&b1).unwrap(), std::fs::read(&b2).unwrap());
}

#[test]
fn the_search_path_and_the_streams_directory_are_searched() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("a.png");
    gray28(&png);
    let streams = tempfile::tempdir().unwrap();
    let f = streams.path().join("a.nlc");
    encode(&[], &png, &f);
    // Version 6, the model named by 4 bytes: 25 bytes fewer than version 5's 8.
    let short = std::fs::read(&f).unwrap();
    assert_eq!((short[8], short[12]), (6, 4));
    let models = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    // Nowhere: the error names the prefix and every place looked in.
    let o = nlc().arg("decode").arg(&f).arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    let prefix: String = short[13..17].iter().map(|b| format!("{b:02x}")).collect();
    for part in [
        prefix.as_str(),
        "not built in",
        "not supplied",
        "not embedded",
        &format!("{} (0 model files)", streams.path().display()),
        "NELLOC_MODEL_PATH",
    ] {
        assert!(e.contains(part), "{part}: {e}");
    }
    let o = nlc()
        .arg("decode")
        .arg(&f)
        .arg(&out)
        .env("NELLOC_MODEL_PATH", models.path())
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(&format!("{} (0 model files)", models.path().display())),
        "{e}"
    );
    // On NELLOC_MODEL_PATH (a list: a missing directory first).
    std::fs::copy(model(), models.path().join("any-name.safetensors")).unwrap();
    let list = std::env::join_paths([dir.path().join("missing").as_path(), models.path()]).unwrap();
    ok(nlc()
        .arg("decode")
        .arg(&f)
        .arg(&out)
        .env("NELLOC_MODEL_PATH", &list)
        .output()
        .unwrap());
    assert_eq!(pixels(&out), pixels(&png));
    // With --model-path.
    std::fs::remove_file(&out).unwrap();
    ok(nlc()
        .arg("decode")
        .arg(&f)
        .arg(&out)
        .arg("--model-path")
        .arg(models.path())
        .output()
        .unwrap());
    assert_eq!(pixels(&out), pixels(&png));
    // Beside the stream.
    std::fs::remove_file(&out).unwrap();
    std::fs::copy(model(), streams.path().join("m.safetensors")).unwrap();
    ok(nlc().arg("decode").arg(&f).arg(&out).output().unwrap());
    assert_eq!(pixels(&out), pixels(&png));
    let info = ok(nlc().arg("info").arg(&f).output().unwrap());
    assert!(String::from_utf8_lossy(&info.stdout).contains("test-gray-pred"));
}

#[test]
fn batch_mode_writes_one_shared_model_beside_the_streams() {
    let src = tempfile::tempdir().unwrap();
    for name in ["a", "b"] {
        gray28(&src.path().join(format!("{name}.png")));
    }
    let out = tempfile::tempdir().unwrap();
    let enc = out.path().join("enc");
    ok(nlc()
        .arg("encode")
        .arg("--model")
        .arg(model())
        .arg("--tile-size")
        .arg("16")
        .arg(src.path())
        .arg("--out-dir")
        .arg(&enc)
        .arg("-q")
        .output()
        .unwrap());
    let shared: Vec<PathBuf> = std::fs::read_dir(&enc)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert_eq!(
        std::fs::read(&shared[0]).unwrap(),
        std::fs::read(model()).unwrap()
    );
    let name = shared[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("test-gray-pred-"), "{name}");
    // Again: the same file is kept (no error, no second copy).
    ok(nlc()
        .arg("encode")
        .arg("--model")
        .arg(model())
        .arg(src.path())
        .arg("--out-dir")
        .arg(&enc)
        .arg("--force")
        .arg("-q")
        .output()
        .unwrap());
    // The directory decodes without any flag.
    let dec = out.path().join("dec");
    ok(nlc()
        .arg("decode")
        .arg(&enc)
        .arg("--out-dir")
        .arg(&dec)
        .arg("-q")
        .output()
        .unwrap());
    for name in ["a", "b"] {
        assert_eq!(
            pixels(&dec.join(format!("{name}.png"))),
            pixels(&src.path().join(format!("{name}.png")))
        );
    }
    // With --embed-model, no shared file: each stream carries the model.
    let emb = out.path().join("emb");
    ok(nlc()
        .arg("encode")
        .arg("--model")
        .arg(model())
        .arg("--embed-model")
        .arg(src.path())
        .arg("--out-dir")
        .arg(&emb)
        .arg("-q")
        .output()
        .unwrap());
    assert!(std::fs::read_dir(&emb).unwrap().all(|e| e
        .unwrap()
        .path()
        .extension()
        .is_some_and(|e| e == "nlc")));
}
