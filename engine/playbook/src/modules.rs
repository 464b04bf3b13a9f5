//! The modules the controller knows: the standard ones carried inside this binary, precompiled for a runner's
//! engine and cached on disk by content hash, and what each module needs (from its own `describe`).

use playbook_runner::bindings::playbook::module::types::{Capability, Description};
use playbook_runner::store::{ModuleStore, sha256_hex};
use playbook_wire::{EngineInfo, Grants, ModuleRef};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The runner binary carried inside this one.
pub fn runner_binary() -> &'static [u8] {
    embedded::RUNNER
}

/// Actions the controller runs itself, without a module on the host.
pub const CONTROLLER_ACTIONS: &[&str] = &[
    "debug",
    "set_fact",
    "assert",
    "fail",
    "meta",
    "include_vars",
    "include_tasks",
    "include_role",
    "add_host",
    "group_by",
    "pause",
];

/// Actions that run another module: `shell` is `command` with `_uses_shell`, as in Ansible.
pub fn module_for_action(action: &str) -> &str {
    match action {
        "shell" => "command",
        other => other,
    }
}

/// Every name a task may use, sorted.
pub fn known_actions() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = embedded::MODULES.iter().map(|(n, _)| *n).collect();
    names.extend(CONTROLLER_ACTIONS);
    names.push("shell");
    names.push("gather_facts");
    names.sort_unstable();
    names
}

/// Why a module could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// No such module in this binary.
    #[error("unknown module {0}")]
    Unknown(String),
    /// This binary was built without its modules (PLAYBOOK_EMBED_SKIP).
    #[error("this playbook binary was built without its modules and runner (PLAYBOOK_EMBED_SKIP)")]
    NotEmbedded,
    /// Cranelift failed or the engine could not be configured for the runner's target.
    #[error("cannot compile module {name} for {target}: {message}")]
    Compile {
        /// Module.
        name: String,
        /// Runner target.
        target: String,
        /// Cause.
        message: String,
    },
    /// The module's `describe` failed.
    #[error("module {name} cannot describe itself: {message}")]
    Describe {
        /// Module.
        name: String,
        /// Cause.
        message: String,
    },
}

/// A module compiled for one runner engine.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// Name and hash of the precompiled bytes.
    pub module: ModuleRef,
    /// The precompiled bytes.
    pub bytes: Arc<Vec<u8>>,
}

/// The module catalog of one run: compiles each module at most once per engine, remembers descriptions.
pub struct Catalog {
    cache_dir: PathBuf,
    compiled: Mutex<HashMap<(String, String), Arc<Compiled>>>,
    engines: Mutex<HashMap<String, wasmtime::Engine>>,
    described: Mutex<HashMap<String, Arc<Description>>>,
}

impl Catalog {
    /// A catalog caching compiled modules under `cache_dir`.
    pub fn new(cache_dir: PathBuf) -> Catalog {
        Catalog {
            cache_dir,
            compiled: Mutex::new(HashMap::new()),
            engines: Mutex::new(HashMap::new()),
            described: Mutex::new(HashMap::new()),
        }
    }

    fn component(name: &str) -> Result<&'static [u8], ModuleError> {
        let bytes = embedded::MODULES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .ok_or_else(|| ModuleError::Unknown(name.to_string()))?;
        if bytes.is_empty() {
            return Err(ModuleError::NotEmbedded);
        }
        Ok(bytes)
    }

    fn engine_for(&self, target: &str) -> Result<wasmtime::Engine, String> {
        let mut engines = self
            .engines
            .lock()
            .map_err(|_| "engine cache poisoned".to_string())?;
        if let Some(engine) = engines.get(target) {
            return Ok(engine.clone());
        }
        let mut config = playbook_runner::engine::config();
        // An explicit target also means the baseline CPU: the code runs on any host of that architecture.
        config.target(target).map_err(|e| e.to_string())?;
        let engine = wasmtime::Engine::new(&config).map_err(|e| e.to_string())?;
        engines.insert(target.to_string(), engine.clone());
        Ok(engine)
    }

    /// The module precompiled for `engine`, from memory, the disk cache, or Cranelift (blocking).
    pub fn compiled(&self, name: &str, engine: &EngineInfo) -> Result<Arc<Compiled>, ModuleError> {
        let key = (
            name.to_string(),
            format!("{}-{}", engine.wasmtime, engine.target),
        );
        let mut compiled = self.compiled.lock().map_err(|_| ModuleError::Compile {
            name: name.into(),
            target: engine.target.clone(),
            message: "cache poisoned".into(),
        })?;
        if let Some(found) = compiled.get(&key) {
            return Ok(Arc::clone(found));
        }
        let component = Catalog::component(name)?;
        let source_hash = sha256_hex(component);
        let store = ModuleStore::open(
            self.cache_dir
                .join(format!("compiled-{}-{}", engine.wasmtime, engine.target)),
        );
        let cache_name = format!("{name}-{}", &source_hash[..16]);
        let cached = store.as_ref().ok().and_then(|s| {
            let hash = std::fs::read_to_string(s.dir().join(&cache_name)).ok()?;
            s.get(hash.trim())
        });
        let bytes = match cached {
            Some(bytes) => bytes,
            None => {
                let fail = |message: String| ModuleError::Compile {
                    name: name.into(),
                    target: engine.target.clone(),
                    message,
                };
                let engine_for_target = self.engine_for(&engine.target).map_err(fail)?;
                let bytes = engine_for_target
                    .precompile_component(component)
                    .map_err(|e| fail(e.to_string()))?;
                if let Ok(s) = &store {
                    let hash = sha256_hex(&bytes);
                    // A cache we cannot write only costs a compile next time.
                    if s.put(&hash, &bytes).is_ok() {
                        let _ = std::fs::write(s.dir().join(&cache_name), &hash);
                    }
                }
                bytes
            }
        };
        let entry = Arc::new(Compiled {
            module: ModuleRef {
                name: name.to_string(),
                hash: sha256_hex(&bytes),
            },
            bytes: Arc::new(bytes),
        });
        compiled.insert(key, Arc::clone(&entry));
        Ok(entry)
    }

    /// What a module needs, asked of the module itself through the in-process runner (blocking).
    pub fn describe(&self, name: &str) -> Result<Arc<Description>, ModuleError> {
        if let Some(found) = self
            .described
            .lock()
            .ok()
            .and_then(|d| d.get(name).cloned())
        {
            return Ok(found);
        }
        let fail = |message: String| ModuleError::Describe {
            name: name.into(),
            message,
        };
        let local = playbook_runner::engine::info();
        let compiled = self.compiled(name, &local)?;
        let store = ModuleStore::open(self.cache_dir.join("local-runner"))
            .map_err(|e| fail(e.to_string()))?;
        let mut runner = playbook_runner::Runner::new(store).map_err(|e| fail(e.to_string()))?;
        let description = runner
            .describe(name, &compiled.module.hash, compiled.bytes.to_vec())
            .map_err(fail)?;
        let description = Arc::new(description);
        if let Ok(mut d) = self.described.lock() {
            d.insert(name.to_string(), Arc::clone(&description));
        }
        Ok(description)
    }
}

/// The grants a module gets: what it declared. (Play policy narrows this later; check mode strips writes.)
pub fn grants_for(description: &Description, check_mode: bool) -> Grants {
    let mut grants = Grants::default();
    for need in &description.needs {
        match need {
            Capability::Read(path) => grants.read.push(path.clone()),
            Capability::Write(path) => grants.write.push(path.clone()),
            Capability::Exec => grants.exec = true,
            Capability::System => grants.system = true,
        }
    }
    if check_mode {
        grants.read_only()
    } else {
        grants
    }
}
