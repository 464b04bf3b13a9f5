//! The on-host runner: one session per host per run, modules run sandboxed in wasmtime.
//!
//! The runner links wasmtime's runtime only. It never compiles: the controller precompiles each module for the
//! engine settings in [`engine`] (which both sides share, so the artifacts match) and sends the bytes once; the
//! runner keeps them in a 0700 [`store`] keyed by their SHA-256 and checks the hash before loading. Each task gets a
//! fresh instance whose capabilities are exactly its [`grants`]: WASI preopens for files, and the
//! `playbook:host` interfaces in [`host`] for what WASI lacks, each call checked again. [`session`] is the
//! request/reply loop over any byte stream; the binary serves it on stdin/stdout over SSH, and the controller
//! serves it in-process for `connection: local`.
//!
//! A task that traps, times out or breaks the contract fails that task only; the session goes on.

pub mod engine;
pub mod grants;
pub mod host;
pub mod session;
pub mod store;

pub use session::{Runner, RunnerError};

/// The WIT world, read from the same files the module SDK reads.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../modules-wasm/wit",
        world: "playbook:module/module",
        imports: { default: trappable },
    });
}
