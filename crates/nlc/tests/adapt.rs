//! `nlc adapt` runs `python3 -m nelloc.adapt`; without the package it names the pip
//! command (the training itself is tested in crates/nelloc-py/tests/test_adapt.py).

use std::process::Command;

fn nlc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nlc"))
}

#[test]
fn adapt_without_python_names_the_pip_command() {
    let out = nlc()
        .args(["adapt", "imgs", "--out", "m.safetensors"])
        .env("NELLOC_PYTHON", "/nonexistent/python3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pip install 'nelloc[adapt]'"), "{err}");
}

#[test]
fn adapt_without_the_package_names_the_pip_command() {
    // An interpreter that exists but has no nelloc.adapt: `sh -c` stands in for one whose
    // import fails (exit status 1 with a message on stderr).
    let dir = std::env::temp_dir().join(format!("nlc-adapt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let py = dir.join("python3");
    std::fs::write(
        &py,
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&py, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = nlc()
        .args(["adapt", "--help"])
        .env("NELLOC_PYTHON", &py)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pip install 'nelloc[adapt]'"), "{err}");
    assert!(err.contains("No module named 'torch'"), "{err}");
}
