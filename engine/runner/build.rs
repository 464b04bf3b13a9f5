//! Records the target triple: the runner reports it so the controller compiles modules for it.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=PLAYBOOK_RUNNER_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
