//! `nlc score` and `nlc heatmap` end to end: headers, every input kind, thread
//! independence, the heatmap's size and legend.

use std::path::PathBuf;
use std::process::Command;

fn nlc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nlc"))
}

fn photos() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/photos")
}

fn run(args: &[&std::ffi::OsStr]) -> String {
    let out = nlc().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn score_reads_directories_and_nlc_files_alike_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["dune_77x53.png", "wood_gray_64x64.png"] {
        std::fs::copy(photos().join(name), dir.path().join(name)).unwrap();
    }
    let nlc_file = dir.path().join("sub/dune.nlc");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    run(&[
        "encode".as_ref(),
        photos().join("dune_77x53.png").as_os_str(),
        nlc_file.as_os_str(),
    ]);
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    let csv = |threads: &str| {
        run(&[
            "score".as_ref(),
            "--format".as_ref(),
            "csv".as_ref(),
            "--threads".as_ref(),
            threads.as_ref(),
            dir.path().as_os_str(),
        ])
    };
    let one = csv("1");
    assert_eq!(one, csv("3"));
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(
        lines[0],
        "file,width,height,samples,bpsp,generic_bpsp,complexity,background_bpsp,ratio,local,\
         chroma_share,c0_bpsp,c1_bpsp,c2_bpsp,generic_c0_bpsp,generic_c1_bpsp,generic_c2_bpsp,\
         q50,q90,q99,flat,spread"
    );
    assert_eq!(lines.len(), 4, "{one}");
    let values = |l: &str| l.split(',').skip(1).map(str::to_string).collect::<Vec<_>>();
    // The .nlc decodes to the PNG's pixels: the same scores.
    let (png, nlc_row) = (
        lines.iter().find(|l| l.contains("dune_77x53.png")).unwrap(),
        lines.iter().find(|l| l.contains("dune.nlc")).unwrap(),
    );
    assert_eq!(values(png), values(nlc_row));
    // Grey is scored by the RGB model as replicated RGB: 3 samples per pixel.
    let gray = lines.iter().find(|l| l.contains("wood_gray")).unwrap();
    assert_eq!(values(gray)[2], (64 * 64 * 3).to_string());

    let json = run(&[
        "score".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "--background".as_ref(),
        "none".as_ref(),
        photos().join("bark_64x96.png").as_os_str(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = &v[0];
    assert_eq!(row["width"], 64);
    assert!(row["ratio"].is_null());
    let c = row["bpsp"].as_f64().unwrap() - row["generic_bpsp"].as_f64().unwrap();
    assert!((row["complexity"].as_f64().unwrap() - c).abs() < 1e-9);
}

#[test]
fn reference_is_fitted_applied_and_refused_for_another_model() {
    let dir = tempfile::tempdir().unwrap();
    let fit_dir = dir.path().join("fit");
    std::fs::create_dir(&fit_dir).unwrap();
    // Small in-distribution stand-ins: 32x32 crops of the colour fixture photographs.
    for name in [
        "boats_128x128.png",
        "bark_64x96.png",
        "sky_kite_96x64.png",
        "dune_77x53.png",
    ] {
        let img = image::open(photos().join(name)).unwrap().to_rgb8();
        for (k, (x, y)) in [(0, 0), (img.width() - 32, img.height() - 32), (8, 16)]
            .into_iter()
            .enumerate()
        {
            let crop = image::imageops::crop_imm(&img, x, y, 32, 32).to_image();
            crop.save(fit_dir.join(format!("{name}_{k}.png"))).unwrap();
        }
    }
    let flat = dir.path().join("flat.png");
    image::RgbImage::from_pixel(32, 32, image::Rgb([90, 140, 60]))
        .save(&flat)
        .unwrap();
    let refs = [dir.path().join("ref1.json"), dir.path().join("ref3.json")];
    for (threads, r) in ["1", "3"].iter().zip(&refs) {
        run(&[
            "score".as_ref(),
            "-q".as_ref(),
            "--threads".as_ref(),
            threads.as_ref(),
            "--save-reference".as_ref(),
            r.as_os_str(),
            fit_dir.as_os_str(),
        ]);
    }
    let text = std::fs::read_to_string(&refs[0]).unwrap();
    assert_eq!(text, std::fs::read_to_string(&refs[1]).unwrap());
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["images"], 12);
    assert_eq!(json["model"]["name"], "default");

    let csv = run(&[
        "score".as_ref(),
        "--format".as_ref(),
        "csv".as_ref(),
        "--reference".as_ref(),
        refs[0].as_os_str(),
        fit_dir.as_os_str(),
        flat.as_os_str(),
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",typicality,tail,novelty"),
        "{}",
        lines[0]
    );
    let column =
        |l: &str, back: usize| l.split(',').nth_back(back).unwrap().parse::<f64>().unwrap();
    // typicality, and the recommended novelty: the flat image is beyond every fit image.
    for back in [2, 0] {
        let worst_fit = lines[1..13]
            .iter()
            .map(|l| column(l, back))
            .fold(0f64, f64::max);
        assert!(column(lines[13], back) > worst_fit, "{csv}");
    }
    // JSON names the feature that sets the novelty.
    let json = run(&[
        "score".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "--reference".as_ref(),
        refs[0].as_os_str(),
        flat.as_os_str(),
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(rows[0]["novelty"].as_f64().unwrap() > 1.0, "{json}");
    assert!(rows[0]["novelty_feature"].is_string(), "{json}");

    // A version-1 reference (no tail models) still loads: the novelty cells are empty and
    // a warning says to refit.
    let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
    old.as_object_mut().unwrap().remove("tails");
    old["version"] = 1.into();
    let old_path = dir.path().join("old.json");
    std::fs::write(&old_path, old.to_string()).unwrap();
    let out = nlc()
        .args([
            "score".as_ref(),
            "--format".as_ref(),
            "csv".as_ref(),
            "--reference".as_ref(),
            old_path.as_os_str(),
            flat.as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = stdout.lines().nth(1).unwrap();
    assert!(row.ends_with(','), "{stdout}");
    for back in [1, 2] {
        assert_eq!(column(row, back), column(lines[13], back), "{stdout}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("version-1 reference"));

    // Features of another model are not comparable: refused with both models named.
    let out = nlc()
        .args([
            "score".as_ref(),
            "--builtin".as_ref(),
            "fast".as_ref(),
            "--reference".as_ref(),
            refs[0].as_os_str(),
            flat.as_os_str(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fitted with model default"), "{err}");
}

#[test]
fn score_reports_unreadable_files_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, "not a png").unwrap();
    let out = nlc()
        .args([
            "score".as_ref(),
            bad.as_os_str(),
            photos().join("dune_77x53.png").as_os_str(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("dune_77x53.png"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.png"));
}

#[test]
fn heatmap_is_the_image_above_a_legend() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map.png");
    for overlay in [false, true] {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["heatmap".as_ref(), "--max".as_ref(), "10".as_ref()];
        if overlay {
            args.push("--overlay".as_ref());
        }
        let input = photos().join("demo.png");
        args.extend([input.as_os_str(), out.as_os_str()]);
        run(&args);
        let img = image::open(&out).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (256, 192 + 36));
        // The legend's bar runs from the darkest to the brightest colour.
        let (l, r) = (img.get_pixel(6, 197), img.get_pixel(249, 197));
        assert!(l.0.iter().map(|&v| u32::from(v)).sum::<u32>() < 30, "{l:?}");
        assert!(
            r.0.iter().map(|&v| u32::from(v)).sum::<u32>() > 600,
            "{r:?}"
        );
    }
    let st = nlc()
        .args([
            "heatmap".as_ref(),
            photos().join("demo.png").as_os_str(),
            dir.path().join("map.jpg").as_os_str(),
        ])
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(1));
}
