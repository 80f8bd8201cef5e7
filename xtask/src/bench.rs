//! `cargo xtask bench`: times generation of the corpus and builds of the generated crate.

use crate::generate::TARGETS;
use crate::read_specs;
use codegen::Options;
use std::path::Path;

/// Benchmark, not a test: prints figures for the README.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    use std::time::{Duration, Instant};
    // The corpus (`specs/`); the fixtures describe some of the same methods.
    let mut all = read_specs(root, &root.join(TARGETS[0].specs))?;
    // The type specs the method specs refer to are part of the input.
    all.extend(crate::read_type_specs(root, &root.join(TARGETS[0].specs))?);
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
    let baseline = crate::flag(args, "--baseline").map(|b| root.join(b));
    if let Some(b) = &baseline {
        if !b.join("generated").is_dir() {
            return Err(format!(
                "{}: not a checkout of this project (no generated/)",
                b.display()
            ));
        }
    }
    let size = |tree: &Path| source_bytes(&tree.join("generated/src/api"));
    let here = size(root);
    match &baseline {
        Some(b) => {
            let base = size(b);
            println!(
                "generated source (generated/src/api): baseline {base} bytes, this tree {here} bytes ({:.1} %)",
                100.0 * here as f64 / base.max(1) as f64
            );
        }
        None => println!("generated source (generated/src/api): {here} bytes"),
    }
    // `--builds TEXT` times only the builds whose label contains TEXT (`all-features`, `crm`).
    let only = crate::flag(args, "--builds");
    for (label, args) in BUILDS
        .iter()
        .filter(|(label, _)| only.is_none_or(|o| label.contains(o)))
    {
        // Baseline and this tree one after the other, so both see the same machine load.
        let mut trees: Vec<(&str, &Path)> = Vec::new();
        if let Some(b) = &baseline {
            trees.push(("baseline", b.as_path()));
        }
        trees.push(("this tree", root));
        let mut secs = Vec::new();
        for (name, tree) in trees {
            let t = time_build(tree, args)?;
            let cpu = t
                .cpu
                .map_or_else(|| "CPU n/a".to_owned(), |c| format!("{c:.1} s CPU"));
            println!(
                "{label}: {name} {:.1} s wall, {cpu} (dependencies already built)",
                t.wall
            );
            secs.push(t);
        }
        if let [base, here] = &secs[..] {
            let cpu = match (base.cpu, here.cpu) {
                (Some(b), Some(h)) => format!(", CPU {:.1} %", 100.0 * h / b),
                _ => String::new(),
            };
            println!(
                "{label}: this tree / baseline = wall {:.1} %{cpu}",
                100.0 * here.wall / base.wall
            );
        }
    }
    Ok(())
}

/// The builds timed, with the arguments after `cargo`.
const BUILDS: &[(&str, &[&str])] = &[
    (
        "cargo build -p bitrix24 --all-features",
        &["build", "-q", "-p", "bitrix24", "--all-features"],
    ),
    (
        "cargo build -p bitrix24 --no-default-features --features disk (a typical scope)",
        &[
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
        &[
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
        &["build", "-q", "-p", "bitrix24", "--no-default-features"],
    ),
];

/// Wall and CPU seconds of one timed build.
struct Timing {
    wall: f64,
    /// User + system time of the build's processes; `None` where it cannot be read.
    cpu: Option<f64>,
}

/// User + system seconds used so far by this process's waited-for children (cargo and every
/// compiler it ran), from `/proc/self/stat` (`cutime`, `cstime`); `None` off Linux. The wall
/// time of a build on a shared machine depends on the load; the CPU time much less.
fn children_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after its `)` are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 16 and 17 of the file; `rest` starts at field 3.
    let ticks = |i: usize| fields.get(i - 3)?.parse::<f64>().ok();
    // Linux reports these in USER_HZ, which is 100 on every architecture it runs on.
    Some((ticks(16)? + ticks(17)?) / 100.0)
}

/// Seconds to build `args` in `tree` after cleaning the generated crate and, where it is a
/// crate of its own, the runtime (in older trees the runtime lives inside the generated crate,
/// so both sides rebuild the same hand-written code).
fn time_build(tree: &Path, args: &[&str]) -> Result<Timing, String> {
    let mut clean = vec!["clean", "-q", "-p", "bitrix24"];
    if tree.join("runtime/Cargo.toml").is_file() {
        clean.extend(["-p", "bitrix24-runtime"]);
    }
    let status = std::process::Command::new("cargo")
        .current_dir(tree)
        .args(&clean)
        .status()
        .map_err(|e| format!("cargo clean: {e}"))?;
    if !status.success() {
        return Err(format!("{}: cargo clean failed", tree.display()));
    }
    let cpu_before = children_cpu();
    let start = std::time::Instant::now();
    let status = std::process::Command::new("cargo")
        .current_dir(tree)
        .args(args)
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err(format!(
            "{}: cargo {} failed",
            tree.display(),
            args.join(" ")
        ));
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = children_cpu().zip(cpu_before).map(|(a, b)| a - b);
    Ok(Timing { wall, cpu })
}

/// The bytes of every `.rs` file under `dir` (0 when it cannot be read).
fn source_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    // Bounded by the tree: every folder is read once.
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                total += entry.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}
