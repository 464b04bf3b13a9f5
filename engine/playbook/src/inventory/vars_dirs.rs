//! `group_vars/` and `host_vars/` beside each inventory source and beside the playbook: Ansible's
//! `host_group_vars` vars plugin, and where its variables sit in precedence.
//!
//! For an entity `NAME` the plugin takes the first of `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that
//! exists; a directory is read recursively in name order (hidden and `~` entries skipped, only files with no
//! extension or a YAML/JSON one, subdirectories only without an extension). Empty files count for nothing.
//! The variables join `VariableManager.get_vars` in the order of its default `VARIABLE_PRECEDENCE`:
//!
//! ```text
//! all (inventory) < other groups (inventory, by depth/priority/name)
//!   < group_vars/all beside each source < beside the playbook
//!   < group_vars/<group> beside each source (groups in order within one source) < beside the playbook
//!   < host (inventory) < host_vars beside each source < beside the playbook
//! ```
//!
//! Ansible reads these files when variables are first asked for; we read them once, when the inventory is
//! loaded (or [`Inventory::add_vars_dir`] is called), for the groups and hosts that exist then.

use super::{Inventory, InventoryError, LOCALHOST};
use crate::diag::{Diagnostic, SourceFile};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The extensions Ansible tries after the bare name (`YAML_FILENAME_EXTENSIONS`).
const EXTENSIONS: [&str; 3] = [".yml", ".yaml", ".json"];

/// The variables found under one base directory, by group and by host name.
#[derive(Debug, Default)]
pub(super) struct VarsDir {
    groups: HashMap<String, Map<String, Value>>,
    hosts: HashMap<String, Map<String, Value>>,
}

impl VarsDir {
    /// Reads `group_vars/` and `host_vars/` under `base` (a directory, or a file's directory, symlinks
    /// resolved as Ansible's `realpath`) for the given entities.
    fn read<'a>(
        base: &Path,
        groups: impl Iterator<Item = &'a str>,
        hosts: impl Iterator<Item = &'a str>,
    ) -> Result<VarsDir, InventoryError> {
        let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        let mut out = VarsDir::default();
        for (kind, names, into) in [
            ("group_vars", groups.collect::<Vec<_>>(), &mut out.groups),
            ("host_vars", hosts.collect::<Vec<_>>(), &mut out.hosts),
        ] {
            let dir = base.join(kind);
            if !dir.is_dir() {
                continue;
            }
            // Names starting with `/` are skipped, as Ansible does for chroot-style host names.
            for name in names.into_iter().filter(|n| !n.starts_with('/')) {
                let mut vars = Map::new();
                for file in find_vars_files(&dir, name) {
                    if let Some(found) = load_vars_file(&file)? {
                        vars.extend(found);
                    }
                }
                if !vars.is_empty() {
                    into.insert(name.to_string(), vars);
                }
            }
        }
        Ok(out)
    }
}

impl Inventory {
    /// Reads `group_vars/` and `host_vars/` beside the playbook (`dir`, or the directory of a file): they
    /// override those beside the inventory sources, as in Ansible's precedence. Later calls win.
    pub fn add_vars_dir(&mut self, dir: &Path) -> Result<(), InventoryError> {
        let base = if dir.is_file() {
            dir.parent().unwrap_or(dir)
        } else {
            dir
        };
        let found = self
            .read_vars_dir(base)
            .map_err(|e| InventoryError::VarsFile(Box::new(e)))?;
        let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        self.play_vars.push((base, Arc::new(found)));
        Ok(())
    }

    /// The vars directories that apply: beside every source, then beside the playbook in `playbook_dir` (every
    /// playbook's when none is given).
    fn vars_dirs<'a>(
        &'a self,
        playbook_dir: Option<&'a Path>,
    ) -> impl Iterator<Item = &'a VarsDir> {
        let beside_playbook = self
            .play_vars
            .iter()
            .filter(move |(base, _)| playbook_dir.is_none_or(|dir| dir == base))
            .map(|(_, dir)| dir.as_ref());
        self.source_vars
            .iter()
            .map(|dir| dir.as_ref())
            .chain(beside_playbook)
    }

    /// Reads the vars directories beside every inventory source, in source order (a directory shared by two
    /// sources is read once but counts twice, as in Ansible).
    pub(super) fn load_source_vars(&mut self, bases: &[PathBuf]) -> Result<(), InventoryError> {
        let mut read: Vec<(&PathBuf, Arc<VarsDir>)> = Vec::new();
        for base in bases {
            let found = match read.iter().find(|(b, _)| *b == base) {
                Some((_, found)) => Arc::clone(found),
                None => Arc::new(
                    self.read_vars_dir(base)
                        .map_err(|e| InventoryError::VarsFile(Box::new(e)))?,
                ),
            };
            read.push((base, Arc::clone(&found)));
            self.source_vars.push(found);
        }
        Ok(())
    }

    fn read_vars_dir(&self, base: &Path) -> Result<VarsDir, InventoryError> {
        let hosts = self.hosts.keys().map(String::as_str);
        VarsDir::read(
            base,
            self.groups.keys().map(String::as_str),
            hosts.chain(LOCALHOST.iter().copied()),
        )
    }

    /// Adds the `group_vars` layers for a host in `groups` (sorted, without `all`).
    pub(super) fn add_group_vars_files(
        &self,
        vars: &mut Map<String, Value>,
        groups: &[&str],
        playbook_dir: Option<&Path>,
    ) {
        for dir in self.vars_dirs(playbook_dir) {
            if let Some(found) = dir.groups.get("all") {
                crate::vars::combine_vars(vars, found, self.merge_hashes);
            }
        }
        for dir in self.vars_dirs(playbook_dir) {
            for group in groups {
                if let Some(found) = dir.groups.get(*group) {
                    crate::vars::combine_vars(vars, found, self.merge_hashes);
                }
            }
        }
    }

    /// Adds the `group_vars` files of one group, beside the sources then beside the playbook.
    pub(super) fn add_own_group_vars_files(&self, vars: &mut Map<String, Value>, group: &str) {
        for dir in self.vars_dirs(None) {
            if let Some(found) = dir.groups.get(group) {
                crate::vars::combine_vars(vars, found, self.merge_hashes);
            }
        }
    }

    /// Adds the `host_vars` layers for `host`.
    pub(super) fn add_host_vars_files(
        &self,
        vars: &mut Map<String, Value>,
        host: &str,
        playbook_dir: Option<&Path>,
    ) {
        for dir in self.vars_dirs(playbook_dir) {
            if let Some(found) = dir.hosts.get(host) {
                crate::vars::combine_vars(vars, found, self.merge_hashes);
            }
        }
    }
}

/// Where the vars plugin looks for a source: the source itself when it is a directory, else its directory;
/// `None` for a host list.
pub(super) fn source_base(source: &str, full: &Path) -> Option<PathBuf> {
    if source.contains(',') && !full.exists() {
        return None;
    }
    if full.is_dir() {
        Some(full.to_path_buf())
    } else {
        full.parent().map(Path::to_path_buf)
    }
}

/// Ansible's `DataLoader.find_vars_files`: the first of `name`, `name.yml`, `name.yaml`, `name.json`.
fn find_vars_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let bare = dir.join(name);
    let candidates = std::iter::once(bare.clone()).chain(EXTENSIONS.iter().map(|ext| {
        let mut path = bare.clone().into_os_string();
        path.push(ext);
        PathBuf::from(path)
    }));
    for path in candidates {
        if path.is_dir() {
            return dir_files(&path);
        }
        if path.exists() {
            return vec![path];
        }
    }
    Vec::new()
}

/// Every vars file under `dir`, sorted by name at each level.
fn dir_files(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut found = Vec::new();
    for name in names {
        let text = name.to_string_lossy();
        if text.starts_with('.') || text.ends_with('~') {
            continue;
        }
        // Python's `os.path.splitext`: the extension starts at the last dot that is not leading.
        let ext = text
            .rfind('.')
            .filter(|i| text[..*i].chars().any(|c| c != '.'))
            .map_or("", |i| &text[i..]);
        let path = dir.join(&name);
        if path.is_dir() {
            if ext.is_empty() {
                found.extend(dir_files(&path));
            }
        } else if path.is_file() && (ext.is_empty() || EXTENSIONS.contains(&ext)) {
            found.push(path);
        }
    }
    found
}

/// One vars file: its mapping, or `None` when it is empty (nothing, `{}`, or another falsy value).
fn load_vars_file(path: &Path) -> Result<Option<Map<String, Value>>, InventoryError> {
    let shown = relative_to_cwd(path);
    let text = match crate::vault::read_to_string(path) {
        Ok(text) => text,
        // A vault file no secret opens is an error only for the hosts whose variables need it, as in
        // ansible-core: it stands for its variables until then (see `template::VAULT_FILE`).
        Err(e) if crate::vault::is_vault_error(&e) => {
            let mut marker = Map::new();
            marker.insert(
                crate::template::VAULT_FILE.into(),
                Value::String(format!("{e} ({shown})")),
            );
            return Ok(Some(marker));
        }
        Err(source) => {
            return Err(InventoryError::Read {
                path: shown.clone(),
                source,
            });
        }
    };
    let file = SourceFile::new(shown.clone(), text);
    let root = crate::yaml::parse(&file).map_err(|e| InventoryError::Parse(e.0))?;
    match root.to_json() {
        Value::Object(map) => Ok((!map.is_empty()).then_some(map)),
        _ if root.is_falsy() => Ok(None),
        _ => {
            let d = Diagnostic::new(format!(
                "Could not process '{shown}': failed to combine variables, expected a mapping but got {}",
                root.describe()
            ))
            .at(&file, root.span)
            .label("expected `name: value` pairs");
            Err(InventoryError::Parse(Box::new(d)))
        }
    }
}

/// The path as diagnostics show it: relative to the working directory when under it.
fn relative_to_cwd(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
#[path = "vars_dirs_tests.rs"]
mod tests;
