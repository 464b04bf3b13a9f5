//! `playbook-runner serve --store DIR`: serves one session on stdin/stdout. Started by the controller over SSH.

use playbook_runner::Runner;
use playbook_runner::store::ModuleStore;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let store = match args.as_slice() {
        [serve, flag, dir] if serve == "serve" && flag == "--store" => dir.clone(),
        [version] if version == "--version" => {
            println!("playbook-runner {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("usage: playbook-runner serve --store DIR");
            return ExitCode::from(2);
        }
    };
    let result = ModuleStore::open(&store)
        .map_err(|e| format!("cannot open module store {store}: {e}"))
        .and_then(|store| Runner::new(store).map_err(|e| e.to_string()))
        .and_then(|mut runner| {
            runner
                .serve(std::io::stdin().lock(), std::io::stdout().lock())
                .map_err(|e| e.to_string())
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("playbook-runner: {e}");
            ExitCode::FAILURE
        }
    }
}
