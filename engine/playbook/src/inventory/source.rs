//! Reading `-i` sources into an inventory: files (an executable one run as a script first, then YAML or INI
//! by content), directories, `a,b,` host lists.

use super::{Inventory, InventoryError, Origin, ScriptError, address, ini, script, yaml};
use crate::diag::{Diagnostic, SourceFile};
use crate::yaml::NodeKind;
use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Entries of an inventory directory that are never sources: Ansible's defaults for
/// `INVENTORY_IGNORE_EXTS` (`REJECT_EXTS` plus `.orig`, `.cfg`, `.retry`).
const IGNORED_ENDINGS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

impl Inventory {
    /// `a,b:2222,`: hosts for `ungrouped`, ranges not expanded, as Ansible's host_list plugin.
    pub(super) fn load_host_list(&mut self, list: &str) {
        let origin = Origin {
            file: Value::from(list),
            dir: Value::Null,
        };
        for item in list.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            let (name, port) =
                address::parse_address(item, false).unwrap_or_else(|| (item.to_string(), None));
            if !self.hosts.contains_key(&name) {
                self.add_host(&name, "ungrouped", port, &origin);
            }
        }
    }

    /// A file, or every entry of a directory in name order (recursively), skipping what Ansible skips.
    pub(super) fn load_path(&mut self, shown: &Path, full: &Path) -> Result<(), InventoryError> {
        let read_error = |source| InventoryError::Read {
            path: shown.display().to_string(),
            source,
        };
        if full.is_dir() {
            let mut names: Vec<OsString> = std::fs::read_dir(full)
                .and_then(|entries| entries.map(|e| e.map(|e| e.file_name())).collect())
                .map_err(read_error)?;
            names.sort();
            for name in names {
                let text = name.to_string_lossy();
                let hidden = text.starts_with('.')
                    || ["host_vars", "group_vars", "vars_plugins"].contains(&&*text);
                if hidden || IGNORED_ENDINGS.iter().any(|end| text.ends_with(end)) {
                    continue;
                }
                self.load_path(&shown.join(&name), &full.join(&name))?;
            }
            return Ok(());
        }
        let origin = Origin {
            file: Value::from(full.display().to_string()),
            dir: full
                .parent()
                .map_or(Value::Null, |d| Value::from(d.display().to_string())),
        };
        // Ansible's plugin order puts `script` before `yaml` and `ini`: an executable file is run first, and
        // read as YAML/INI only when that fails (an executable INI file has no interpreter line).
        let mut script_error = None;
        if script::is_executable(full) {
            let before = self.clone();
            match script::load(self, full, &origin) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    *self = before;
                    script_error = Some(e);
                }
            }
        }
        // Which error to show when every plugin fails: the script's, unless it could not even start.
        let script_failure = |error: ScriptError| InventoryError::Script {
            path: shown.display().to_string(),
            error,
        };
        let text = match crate::vault::read_to_string(full) {
            Ok(text) => text,
            Err(e) => {
                return Err(match script_error {
                    Some(error) => script_failure(error),
                    None => read_error(e),
                });
            }
        };
        let file = SourceFile::new(shown.display().to_string(), text);
        match (self.load_file(&file, &origin), script_error) {
            (Err(_), Some(error)) if !matches!(error, ScriptError::Spawn { .. }) => {
                Err(script_failure(error))
            }
            (result, _) => result,
        }
    }

    /// YAML when the file is a YAML mapping of groups, else INI. When both fail, the YAML error is shown
    /// for a YAML mapping or a `.yml`/`.yaml`/`.json` name, the INI error otherwise.
    fn load_file(&mut self, file: &Arc<SourceFile>, origin: &Origin) -> Result<(), InventoryError> {
        let yaml_name = Path::new(&file.name)
            .extension()
            .is_some_and(|e| ["yml", "yaml", "json"].contains(&&*e.to_string_lossy()));
        let (yaml_error, prefer_yaml) = match crate::yaml::parse(file) {
            Ok(root) if root.as_map().is_some_and(|m| !m.is_empty()) => {
                if let Some((key, _)) = root.as_map().unwrap_or_default().iter().find(|(k, v)| {
                    k.as_str() == Some("plugin")
                        && !matches!(v.kind, NodeKind::Null | NodeKind::Bool(false))
                }) {
                    return Err(InventoryError::Parse(Box::new(
                        Diagnostic::new("inventory plugins are not supported")
                            .at(file, key.span)
                            .label("this file configures an inventory plugin")
                            .help("list the hosts in an INI or YAML inventory instead"),
                    )));
                }
                let before = self.clone();
                match yaml::load(self, file, &root, origin) {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        *self = before;
                        (e, true)
                    }
                }
            }
            Ok(root) if matches!(root.kind, NodeKind::Null) => {
                return ini::load(self, file, origin);
            }
            Ok(root) => {
                let d = Diagnostic::new(format!(
                    "YAML inventory has invalid structure, it should be a mapping of groups, found {}",
                    root.describe()
                ))
                .at(file, root.span)
                .label("expected `group: {hosts: ..., vars: ..., children: ...}`");
                (InventoryError::Parse(Box::new(d)), yaml_name)
            }
            Err(e) => (InventoryError::Parse(e.0), yaml_name),
        };
        match ini::load(self, file, origin) {
            Ok(()) => Ok(()),
            Err(_) if prefer_yaml => Err(yaml_error),
            Err(ini_error) => Err(ini_error),
        }
    }
}

/// Ansible's `unfrackpath(follow=False)` for a source: `~` expanded, made absolute, `.` and `..` removed
/// by name without resolving links.
pub(super) fn absolute(source: &str) -> PathBuf {
    let expanded = match (source.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(source),
    };
    let joined = std::path::absolute(&expanded).unwrap_or(expanded);
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
