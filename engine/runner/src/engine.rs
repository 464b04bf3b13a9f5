//! The engine settings shared by the runner (which loads) and the controller (which compiles for it).

use playbook_wire::EngineInfo;

/// The wasmtime version both sides link; precompiled code is only valid for the same version.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// The target this runner was built for.
pub const TARGET: &str = env!("PLAYBOOK_RUNNER_TARGET");

/// How often the epoch ticks; task time limits are counted in these.
pub const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(100);

/// The configuration precompiled modules must match. The controller starts from this and only adds a target.
pub fn config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    // A module that loops forever must fail its task, not hang the run: time is checked at each epoch tick.
    config.epoch_interruption(true);
    config
}

/// What this runner tells the controller about its engine.
pub fn info() -> EngineInfo {
    EngineInfo {
        wasmtime: WASMTIME_VERSION.to_string(),
        target: TARGET.to_string(),
        cpu_features: cpu_features(),
    }
}

#[cfg(target_arch = "x86_64")]
fn cpu_features() -> Vec<String> {
    let mut features = Vec::new();
    macro_rules! detect {
        ($($name:tt),*) => {$(
            if std::arch::is_x86_feature_detected!($name) {
                features.push($name.to_string());
            }
        )*};
    }
    detect!(
        "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "bmi1", "bmi2", "lzcnt",
        "fma"
    );
    features
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_features() -> Vec<String> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_constant_matches_the_lock_file() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
                .expect("the workspace has a Cargo.lock");
        let needle = format!(
            "name = \"wasmtime\"\nversion = \"{}\"",
            super::WASMTIME_VERSION
        );
        assert!(
            lock.contains(&needle),
            "update WASMTIME_VERSION to the locked wasmtime"
        );
    }
}
