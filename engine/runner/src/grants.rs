//! THE place capabilities are granted: a task's [`Grants`] become a WASI context and a host-call policy.
//!
//! What is not granted does not exist for the module: no preopen means no path resolves, and the
//! `playbook:host` calls check [`Policy`] before touching the system. Check mode is enforced here too, whatever
//! the controller sent: nothing that writes is granted.

use playbook_wire::Grants;
use std::path::Path;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

/// What the host interfaces may do for one module instance.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The module's name, for denial messages.
    pub module: String,
    /// `playbook:host/exec`.
    pub exec: bool,
    /// `playbook:host/system`.
    pub system: bool,
    /// Set for every command the module runs (the task's `environment:`).
    pub environment: Vec<(String, String)>,
    /// When the task's time is up: a command still running then is killed, with its process group.
    pub deadline: Option<std::time::Instant>,
}

/// The grants in force for a task: check mode strips everything that writes.
pub fn effective(grants: &Grants, check_mode: bool) -> Grants {
    if check_mode {
        grants.read_only()
    } else {
        grants.clone()
    }
}

/// Builds the WASI context and host policy for one instance. `environment` is the task's, set for every
/// command the module runs; a module granted `system` also reads that environment (the runner's, with the
/// task's on top), as Ansible's modules see theirs: `ansible_env`, `$HOME` in a command's arguments.
pub fn build(
    module: &str,
    grants: &Grants,
    environment: &[(String, String)],
) -> Result<(WasiCtx, Policy), std::io::Error> {
    let mut wasi = WasiCtxBuilder::new();
    if grants.system {
        // The host's environment is not ours to vouch for: a variable that is not UTF-8 is left out rather
        // than stopping the runner (`std::env::vars` panics on one).
        let mut seen: std::collections::BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        seen.extend(environment.iter().cloned());
        wasi.envs(&seen.into_iter().collect::<Vec<_>>());
    }
    // Writes first so that a read-only grant of the same path does not shadow a read-write one.
    for (paths, perms) in [
        (&grants.write, FsPerms::ReadWrite),
        (&grants.read, FsPerms::ReadOnly),
    ] {
        for path in paths {
            if !Path::new(path).is_absolute() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("grant path {path:?} is not absolute"),
                ));
            }
            // A granted directory that does not exist on this host is simply absent for the module.
            if !Path::new(path).is_dir() {
                continue;
            }
            wasi.preopened_dir(path, path, perms)
                .map_err(|e| std::io::Error::other(format!("cannot grant {path}: {e}")))?;
        }
    }
    let policy = Policy {
        module: module.to_string(),
        exec: grants.exec,
        system: grants.system,
        environment: environment.to_vec(),
        deadline: None,
    };
    Ok((wasi.build(), policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_mode_never_grants_exec_or_writes() {
        let grants = Grants {
            read: vec![],
            write: vec!["/tmp".into()],
            exec: true,
            system: false,
        };
        let effective = effective(&grants, true);
        assert!(!effective.exec);
        assert!(effective.write.is_empty());
        assert_eq!(effective.read, vec!["/tmp".to_string()]);
    }

    #[test]
    fn relative_grants_are_refused() {
        let grants = Grants {
            read: vec!["etc".into()],
            ..Grants::default()
        };
        assert!(build("m", &grants, &[]).is_err());
    }
}
