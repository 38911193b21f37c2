//! The runtime's optimised build, profile-guided: what the bench measures and what `cargo xtask
//! release` builds for deployment.
//!
//! The runtime is compiled twice. First instrumented (`-Cprofile-generate`), and run under the
//! bench's own loads (the gateway hop, tracking, filing, notifications) on a fresh database, which
//! counts how often each branch and call of the runtime is taken; then again with those counts
//! (`-Cprofile-use`), so that LLVM inlines and lays out the code for the paths a hotline serves.
//! Measured reason in ARCHITECTURE.md (`crates/hotline`, Build).
//!
//! The counts are made again only when the instrumented build changed (a source did), and the
//! optimised build is redone only when the counts changed (rustc lists the counts among its
//! inputs). The instrumented build keeps a target directory of its own (`target/pgo`); the
//! optimised one is built for the host by name (`target/<host>/release/hotline`), so that it
//! shares the plain release build's build scripts and procedural macros but not its runtime.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, root, run, step};

/// The bench sections whose loads the counts are taken under.
pub const TRAINING: [&str; 4] = ["hop", "tracking", "filing", "notifications"];

/// The platform this machine is (`x86_64-unknown-linux-gnu`), as rustc names it.
fn host() -> anyhow::Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .current_dir(root())
        .output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

/// `llvm-profdata` of the toolchain's own LLVM (rustup's `llvm-tools`, installed here when
/// missing): the counts' format is the LLVM version's.
fn llvm_profdata(host: &str) -> anyhow::Result<PathBuf> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(root())
        .output()?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let tool = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(host)
        .join("bin/llvm-profdata");
    if !tool.exists() {
        step("installing the toolchain's llvm-tools (llvm-profdata, for the counts)");
        run(Command::new("rustup").args(["component", "add", "llvm-tools"]))?;
    }
    if !tool.exists() {
        bail!("{} is missing after installing llvm-tools", tool.display());
    }
    Ok(tool)
}

/// Builds `hotline` in release for `host` into `target_dir`, with `rustflags`. Given `--target`,
/// the flags reach only the runtime's own code and its dependencies, not build scripts or
/// procedural macros (which would otherwise write counts of their own while building).
fn build(host: &str, target_dir: &Path, rustflags: &str) -> anyhow::Result<PathBuf> {
    run(cargo()
        .args(["build", "--release", "-p", "hotline", "--target", host])
        .arg("--target-dir")
        .arg(target_dir)
        .env("RUSTFLAGS", rustflags))?;
    Ok(target_dir.join(host).join("release/hotline"))
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The profile-guided build of the runtime, made (or brought up to date) now; its path.
pub fn optimised_runtime() -> anyhow::Result<PathBuf> {
    let host = host()?;
    let profdata_tool = llvm_profdata(&host)?;
    let pgo = root().join("target/pgo");
    let raw = pgo.join("raw");
    let counts = pgo.join("hotline.profdata");

    step(
        "building the runtime instrumented, to count where its time goes (profile-guided \
         optimisation; the first time about 25 minutes, its last step silent)",
    );
    let instrumented = build(
        &host,
        &pgo.join("instrumented"),
        &format!("-Cprofile-generate={}", raw.display()),
    )?;
    let stale = match (modified(&counts), modified(&instrumented)) {
        (Some(counts), Some(build)) => counts < build,
        _ => true,
    };
    if stale {
        step(&format!(
            "counting: the instrumented runtime under the bench's {} loads (its figures, printed \
             as they come, are of the instrumented build and not comparable)",
            TRAINING.join(", ")
        ));
        let _ = std::fs::remove_dir_all(&raw);
        std::fs::create_dir_all(&raw)?;
        crate::bench::run_on(
            &instrumented,
            &TRAINING.map(str::to_owned),
            "instrumented",
            false,
        )?;
        let profiles: Vec<PathBuf> = std::fs::read_dir(&raw)?
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "profraw"))
            .collect();
        if profiles.is_empty() {
            bail!(
                "the instrumented runtime wrote no counts into {}",
                raw.display()
            );
        }
        run(Command::new(&profdata_tool)
            .args(["merge", "-o"])
            .arg(&counts)
            .args(&profiles))?;
    }

    step(
        "building the runtime with the counts (profile-guided, optimised as one unit: redone \
         whenever the counts change, about 20 minutes, its last step silent)",
    );
    build(
        &host,
        &root().join("target"),
        &format!("-Cprofile-use={}", counts.display()),
    )
}
