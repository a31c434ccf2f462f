//! The twin's command line, without a GPU: help, and clear errors for a bad district file or a
//! windowed run of a binary built without the `window` feature.

use std::process::Command;

fn twin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_twin"))
}

#[test]
fn help_names_the_capture_options() {
    let out = twin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--config",
        "--broker",
        "--screenshot",
        "--size",
        "--after",
        "--fullscreen",
        "--lang",
    ] {
        assert!(s.contains(opt), "{opt} missing from --help");
    }
}

#[test]
fn a_bad_district_file_is_reported_with_its_path() {
    let out = twin()
        .args([
            "--config",
            "/nonexistent/d.toml",
            "--screenshot",
            "/tmp/x.png",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/d.toml"));
}

#[cfg(not(feature = "window"))]
#[test]
fn a_window_needs_the_window_feature() {
    let hubin = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/districts/hubin.toml"
    );
    let out = twin()
        .args(["--config", hubin, "--synthetic"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("window"));
}
