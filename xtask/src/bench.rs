//! `cargo xtask bench`: times generation of the corpus and builds of the generated crate.

use crate::generate::TARGETS;
use crate::read_specs;
use codegen::Options;
use std::path::Path;

/// Benchmark, not a test: prints figures for the README.
pub fn run(root: &Path) -> Result<(), String> {
    use std::time::{Duration, Instant};
    // The corpus (`specs/`); the fixtures describe some of the same methods.
    let all = read_specs(root, &root.join(TARGETS[0].specs))?;
    let opts = Options::default();
    let runs = 10;
    let mut times: Vec<Duration> = Vec::new();
    let mut files = 0;
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let g = codegen::generate(&all, &opts).map_err(|d| d.to_string())?;
        times.push(start.elapsed());
        files = g.files.len();
        bytes = g.files.values().map(String::len).sum::<usize>();
    }
    times.sort();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "generation ({profile} build of the engine): {} specs -> {files} files, {bytes} bytes; median {:.1} ms, min {:.1} ms over {runs} runs",
        all.len(),
        times[runs / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
    );
    for (label, args) in [
        (
            "cargo build -p bitrix24 --all-features",
            vec!["build", "-q", "-p", "bitrix24", "--all-features"],
        ),
        (
            "cargo build -p bitrix24 --no-default-features --features disk (a typical scope)",
            vec![
                "build",
                "-q",
                "-p",
                "bitrix24",
                "--no-default-features",
                "--features",
                "disk",
            ],
        ),
        (
            "cargo build -p bitrix24 --no-default-features --features crm (the largest scope)",
            vec![
                "build",
                "-q",
                "-p",
                "bitrix24",
                "--no-default-features",
                "--features",
                "crm",
            ],
        ),
        (
            "cargo build -p bitrix24 --no-default-features",
            vec!["build", "-q", "-p", "bitrix24", "--no-default-features"],
        ),
        (
            "cargo build -p bitrix24-tests (fixtures, all features)",
            vec!["build", "-q", "-p", "bitrix24-tests"],
        ),
    ] {
        let pkg = args[3];
        // Dependencies stay built; only the package itself is rebuilt.
        let status = std::process::Command::new("cargo")
            .current_dir(root)
            .args(["clean", "-q", "-p", pkg])
            .status()
            .map_err(|e| format!("cargo clean: {e}"))?;
        if !status.success() {
            return Err(format!("cargo clean -p {pkg} failed"));
        }
        let start = Instant::now();
        let status = std::process::Command::new("cargo")
            .current_dir(root)
            .args(&args)
            .status()
            .map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err(format!("{label} failed"));
        }
        println!(
            "{label}: {:.1} s (dependencies already built)",
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
