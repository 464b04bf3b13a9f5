//! Builds what the `playbook` binary carries inside it: the runner (a static musl binary) and the standard
//! modules (wasm32-wasip2 components), then generates `embedded.rs` with their bytes.
//!
//! They build in their own target directory with a nested cargo, as wasmtime's test-programs do, because they
//! are for other targets than the controller. `PLAYBOOK_EMBED_SKIP=1` embeds nothing (for tools that only need
//! the controller to type-check); a binary built that way says so when it needs the runner.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const RUNNER_TARGET: &str = "x86_64-unknown-linux-musl";
const MODULE_TARGET: &str = "wasm32-wasip2";
/// The standard modules: (name tasks use, crate).
const MODULES: &[(&str, &str)] = &[
    ("ping", "playbook-module-ping"),
    ("setup", "playbook-module-setup"),
    ("command", "playbook-module-command"),
];

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for dir in ["engine/runner", "engine/wire", "modules-wasm"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=PLAYBOOK_EMBED_SKIP");

    let generated = out.join("embedded.rs");
    if env::var_os("PLAYBOOK_EMBED_SKIP").is_some() {
        std::fs::write(
            &generated,
            "pub const RUNNER: &[u8] = &[];\npub const MODULES: &[(&str, &[u8])] = &[];\n",
        )
        .expect("OUT_DIR is writable");
        return;
    }
    let target_dir = root.join("target/embedded");
    let mut runner = cargo(&root, &target_dir);
    runner.args([
        "build",
        "--release",
        "-p",
        "playbook-runner",
        "--target",
        RUNNER_TARGET,
    ]);
    run(runner, "the runner");
    let mut modules = cargo(&root, &target_dir);
    modules.args(["build", "--release", "--target", MODULE_TARGET]);
    for (_, krate) in MODULES {
        modules.args(["-p", krate]);
    }
    run(modules, "the standard modules");

    let runner_path = target_dir
        .join(RUNNER_TARGET)
        .join("release/playbook-runner");
    let mut code = format!(
        "pub const RUNNER: &[u8] = include_bytes!({:?});\n",
        path_str(&runner_path)
    );
    code.push_str("pub const MODULES: &[(&str, &[u8])] = &[\n");
    for (name, krate) in MODULES {
        let wasm = target_dir
            .join(MODULE_TARGET)
            .join("release")
            .join(format!("{}.wasm", krate.replace('-', "_")));
        code.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path_str(&wasm)
        ));
    }
    code.push_str("];\n");
    std::fs::write(&generated, code).expect("OUT_DIR is writable");
}

fn path_str(path: &Path) -> String {
    path.to_str().expect("build paths are UTF-8").to_string()
}

fn cargo(root: &Path, target_dir: &Path) -> Command {
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root)
        .arg("--quiet")
        .env("CARGO_TARGET_DIR", target_dir);
    // The outer build's flags and wrappers (clippy-driver, coverage) are for the controller, not for these.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(mut cmd: Command, what: &str) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {what}: {e}"));
    if !status.success() {
        panic!(
            "building {what} failed ({status}). The targets come from rust-toolchain.toml; the runner needs \
             Debian's musl-tools (apt-get install musl-tools)."
        );
    }
}
