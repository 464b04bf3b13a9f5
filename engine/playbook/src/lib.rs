//! `playbook`: runs Ansible playbooks, with modules that are sandboxed WebAssembly components run on each host
//! by a small runner we ship over SSH.
//!
//! The data path, one module each:
//!
//! ```text
//! cli ─► inventory (hosts, groups, patterns)      yaml + diag: every input error points at file:line:column
//!     ─► playbook (plays, tasks, free-form args)
//!     ─► vars + template (precedence, Jinja via minijinja)
//!     ─► executor (linear strategy, forks) ─► event sinks in output (Ansible's look, JSON report)
//!     ─► modules (embedded components, precompiled per runner engine, cached by hash; grants from `describe`)
//!     ─► connection (ssh: own ControlMaster + askpass; local: the runner in-process)
//!     ─► playbook-wire frames ─► playbook-runner on the host ─► the module, with only its grants
//! ```
//!
//! The binary (`main.rs`) only calls [`cli::main`].

pub mod cli;
pub mod config;
pub mod connection;
pub mod diag;
pub mod executor;
pub mod inventory;
pub mod modules;
pub mod output;
pub mod playbook;
pub mod pyjson;
pub mod pyyaml;
pub mod secret;
pub mod template;
pub mod typed;
pub mod vars;
pub mod vault;
pub mod yaml;
