//! One session: a [`Hello`], then one reply per request until `Shutdown` or the end of the stream.

use crate::bindings::Module;
use crate::bindings::playbook::module::types::Request as ModuleRequest;
use crate::engine;
use crate::grants;
use crate::host::HostState;
use crate::store::{ModuleStore, sha256_hex};
use playbook_wire::{ErrorKind, Hello, Outcome, PROTOCOL_VERSION, Reply, Request, Task, WireError};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimitsBuilder};

/// Most memory one module instance may grow to.
pub const MEMORY_LIMIT: usize = 1 << 30;

/// Why a session ended early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// The engine could not be set up.
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),
    /// The controller's stream broke or spoke nonsense.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// An engine, its linker and the module store: everything a session needs.
pub struct Runner {
    engine: Engine,
    linker: Linker<HostState>,
    store: ModuleStore,
    loaded: HashMap<String, Component>,
    ticking: Arc<AtomicBool>,
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
    }
}

impl Runner {
    /// Sets up the engine with the shared settings and opens the store.
    pub fn new(store: ModuleStore) -> Result<Runner, RunnerError> {
        let engine =
            Engine::new(&engine::config()).map_err(|e| RunnerError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| RunnerError::Engine(e.to_string()))?;
        Module::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| RunnerError::Engine(e.to_string()))?;
        let ticking = Arc::new(AtomicBool::new(true));
        let ticker = (engine.weak(), Arc::clone(&ticking));
        std::thread::spawn(move || {
            let (weak, ticking) = ticker;
            while ticking.load(Ordering::Relaxed) {
                std::thread::sleep(engine::EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        });
        Ok(Runner {
            engine,
            linker,
            store,
            loaded: HashMap::new(),
            ticking,
        })
    }

    /// The first frame of a session.
    pub fn hello(&self) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            runner_version: env!("CARGO_PKG_VERSION").to_string(),
            engine: engine::info(),
            modules: self.store.hashes().into_iter().collect(),
        }
    }

    /// Serves one session until `Shutdown` or the end of `input`.
    pub fn serve(
        &mut self,
        mut input: impl Read,
        mut output: impl Write,
    ) -> Result<(), RunnerError> {
        playbook_wire::write_frame(&mut output, &Reply::Hello(self.hello()), &[])?;
        while let Some((request, blob)) = playbook_wire::read_frame::<Request>(&mut input)? {
            match request {
                Request::Shutdown => break,
                Request::Run(task) => {
                    let id = task.id;
                    let outcome = self.run(*task, blob);
                    playbook_wire::write_frame(&mut output, &Reply::Done { id, outcome }, &[])?;
                }
            }
        }
        Ok(())
    }

    fn component(&mut self, name: &str, hash: &str, blob: Vec<u8>) -> Result<Component, Outcome> {
        if let Some(component) = self.loaded.get(hash) {
            return Ok(component.clone());
        }
        let bytes = if blob.is_empty() {
            self.store.get(hash).ok_or_else(|| {
                failure(
                    ErrorKind::MissingModule,
                    format!("the runner does not hold module {name} ({hash}) and none was sent"),
                )
            })?
        } else {
            if sha256_hex(&blob) != hash {
                return Err(failure(
                    ErrorKind::HashMismatch,
                    format!("module {name}: the bytes sent do not match their hash {hash}"),
                ));
            }
            // A store that cannot be written costs a re-send next run, not this task.
            let _ = self.store.put(hash, &blob);
            blob
        };
        // SAFETY: these bytes are what our controller produced with `engine::config()`: their SHA-256 matches
        // the hash the controller computed over its own output, and they came over the authenticated session
        // or from our 0700 store (re-hashed on read).
        let component = unsafe { Component::deserialize(&self.engine, &bytes) }
            .map_err(|e| failure(ErrorKind::Load, format!("cannot load module {name}: {e}")))?;
        self.loaded.insert(hash.to_string(), component.clone());
        Ok(component)
    }

    /// Runs one task; every failure becomes that task's outcome.
    pub fn run(&mut self, task: Task, blob: Vec<u8>) -> Outcome {
        let name = task.module.name.clone();
        let component = match self.component(&name, &task.module.hash, blob) {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        let grants = grants::effective(&task.grants, task.check_mode);
        let (wasi, mut policy) = match grants::build(&name, &grants, &task.environment) {
            Ok(built) => built,
            Err(e) => return failure(ErrorKind::Load, format!("module {name}: {e}")),
        };
        policy.deadline = task
            .timeout_secs
            .and_then(|s| std::time::Instant::now().checked_add(std::time::Duration::from_secs(s)));
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            policy,
            limits: StoreLimitsBuilder::new()
                .memory_size(MEMORY_LIMIT)
                .trap_on_grow_failure(true)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let ticks = task
            .timeout_secs
            .map(|s| s.saturating_mul(1000) / engine::EPOCH_TICK.as_millis() as u64)
            .unwrap_or(u64::MAX / 2);
        store.set_epoch_deadline(ticks.max(1));
        let instance = match Module::instantiate(&mut store, &component, &self.linker) {
            Ok(i) => i,
            Err(e) => {
                return failure(
                    ErrorKind::Load,
                    format!("cannot instantiate module {name}: {e:#}"),
                );
            }
        };
        let request = ModuleRequest {
            args: task.args.to_string(),
            check_mode: task.check_mode,
            diff: task.diff,
        };
        match instance.call_run(&mut store, &request) {
            Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(result @ serde_json::Value::Object(_)) => Outcome::Returned { result },
                _ => failure(
                    ErrorKind::Trap,
                    format!("module {name} returned something that is not a JSON object"),
                ),
            },
            Err(e) => {
                let timed_out = matches!(
                    e.downcast_ref::<wasmtime::Trap>(),
                    Some(wasmtime::Trap::Interrupt)
                ) || e.downcast_ref::<crate::host::TimedOut>().is_some();
                if timed_out {
                    return failure(
                        ErrorKind::Timeout,
                        format!(
                            "module {name} ran out of time ({} s)",
                            task.timeout_secs.unwrap_or_default()
                        ),
                    );
                }
                failure(ErrorKind::Trap, format!("module {name} failed: {e:#}"))
            }
        }
    }

    /// Calls a module's `describe` with no grants at all (the controller uses it to plan grants).
    pub fn describe(
        &mut self,
        name: &str,
        hash: &str,
        bytes: Vec<u8>,
    ) -> Result<crate::bindings::playbook::module::types::Description, String> {
        let component = self.component(name, hash, bytes).map_err(|o| match o {
            Outcome::Error { message, .. } => message,
            Outcome::Returned { .. } => String::new(),
        })?;
        let (wasi, policy) = grants::build(name, &playbook_wire::Grants::default(), &[])
            .map_err(|e| e.to_string())?;
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            policy,
            limits: StoreLimitsBuilder::new().memory_size(MEMORY_LIMIT).build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(100);
        let instance = Module::instantiate(&mut store, &component, &self.linker)
            .map_err(|e| format!("cannot instantiate module {name}: {e:#}"))?;
        instance
            .call_describe(&mut store)
            .map_err(|e| format!("module {name} failed to describe itself: {e:#}"))
    }
}

fn failure(kind: ErrorKind, message: String) -> Outcome {
    Outcome::Error { kind, message }
}
