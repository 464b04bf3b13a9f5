//! The `playbook` binary: everything is in the library; this only turns its answer into an exit code.

fn main() {
    std::process::exit(playbook::cli::main());
}
