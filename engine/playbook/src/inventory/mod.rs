//! The inventory: hosts and groups loaded from `-i` sources, their variables with Ansible's precedence, and
//! host patterns.
//!
//! Each source is a file (an executable one is run as an inventory script first; then YAML, then INI: the
//! format is found by content, as Ansible's plugin chain does, so INI text in `hosts.yml` works), a
//! directory of such files, or a host list such as `web1,web2:2222,`. The model follows ansible's
//! `InventoryData`: every group but `all` has a parent (`all` when none other), hosts in no other group are
//! in `ungrouped`, and `localhost` is available by name without being in any group unless the inventory
//! defines it. `group_vars/` and `host_vars/` beside the sources (and, through [`Inventory::add_vars_dir`],
//! beside the playbook) join the variables in Ansible's precedence (`vars_dirs`).
//!
//! Not done here: inventory plugins (`plugin:` files, TOML, constructed).

mod address;
pub mod export;
mod ini;
pub(crate) mod pattern;
mod python;
mod script;
mod source;
mod vars_dirs;
mod yaml;

pub use script::ScriptError;

use crate::diag::Diagnostic;
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;

/// The names that mean this machine; one of them is the implicit localhost when the inventory has none.
const LOCALHOST: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// A host and the variables set on it by the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The inventory name (`inventory_hostname`).
    pub name: String,
    /// Its own variables, including `inventory_file` and `inventory_dir` as Ansible sets them.
    pub vars: Map<String, Value>,
    /// The groups it was put in directly, in order; their ancestors are implied.
    pub groups: Vec<String>,
    /// True for the implicit localhost, which no group contains.
    pub implicit: bool,
}

/// A group: its own variables, direct hosts and child groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The group name.
    pub name: String,
    /// Variables set on the group (without `ansible_group_priority`, kept in `priority`).
    pub vars: Map<String, Value>,
    /// Hosts put in this group directly, in order.
    pub hosts: Vec<String>,
    /// Child groups, in order.
    pub children: Vec<String>,
    /// Parent groups, in order.
    pub parents: Vec<String>,
    /// `ansible_group_priority`: breaks ties between groups of the same depth (higher wins).
    pub priority: i64,
}

impl Group {
    fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            vars: Map::new(),
            hosts: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            priority: 1,
        }
    }
}

/// Hosts and groups in inventory order.
#[derive(Debug, Clone)]
pub struct Inventory {
    hosts: IndexMap<String, Host>,
    groups: IndexMap<String, Group>,
    /// One implicit localhost per name in [`LOCALHOST`], used when the inventory defines none of them.
    implicit: Vec<Host>,
    warnings: Vec<String>,
    /// `group_vars/`/`host_vars/` beside each inventory source, in source order.
    source_vars: Vec<Arc<vars_dirs::VarsDir>>,
    /// The same beside the playbooks ([`Inventory::add_vars_dir`]), in call order, each with its directory:
    /// a play sees those of the directory its playbook is in.
    play_vars: Vec<(std::path::PathBuf, Arc<vars_dirs::VarsDir>)>,
    /// `hash_behaviour = merge`: a group's mapping variables merge into those of the groups before it.
    pub merge_hashes: bool,
}

/// Why an inventory cannot be loaded or a pattern cannot be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryError {
    /// A source is neither an existing path nor a comma-separated host list.
    #[error("Unable to parse {path} as an inventory source: no such file or directory")]
    NotFound {
        /// The source as given.
        path: String,
    },
    /// A source exists but cannot be read.
    #[error("cannot read inventory source {path}")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An inventory file is malformed; the diagnostic points at the place.
    #[error("{0}")]
    Parse(Box<Diagnostic>),
    /// A `~regex` host pattern that is not a valid regular expression.
    #[error("Invalid host list pattern: {pattern}")]
    InvalidPattern {
        /// The term, starting with `~`.
        pattern: String,
        /// The cause.
        #[source]
        source: Box<regex::Error>,
    },
    /// A subscript such as `web[5]` past the end of the matched hosts.
    #[error("No hosts matched the subscripted pattern '{pattern}'")]
    Subscript {
        /// The term with its subscript, without `&` or `!`.
        pattern: String,
    },
    /// An `@file` limit whose file does not exist.
    #[error("Unable to find limit file {path}")]
    LimitFileMissing {
        /// The path after `@`.
        path: String,
    },
    /// An `@file` limit that names a directory.
    #[error("Limit starting with \"@\" must be a file, not a directory: {path}")]
    LimitFileIsDirectory {
        /// The path after `@`.
        path: String,
    },
    /// A `group_vars/` or `host_vars/` file cannot be read or is malformed. Not a source that failed to parse:
    /// Ansible fails the run on it (exit code 4) instead of going on without the source.
    #[error(transparent)]
    VarsFile(Box<InventoryError>),
    /// An executable inventory source that failed as a script and as YAML/INI.
    #[error("Failed to parse inventory script {path}")]
    Script {
        /// The script as given.
        path: String,
        /// What went wrong running it or reading its output.
        #[source]
        error: ScriptError,
    },
}

/// Where hosts are first seen: their `inventory_file` and `inventory_dir`.
struct Origin {
    file: Value,
    dir: Value,
}

impl Default for Inventory {
    fn default() -> Inventory {
        let implicit = LOCALHOST
            .iter()
            .map(|name| {
                let mut vars = Map::new();
                vars.insert("ansible_connection".into(), Value::from("local"));
                Host {
                    name: (*name).to_string(),
                    vars,
                    groups: Vec::new(),
                    implicit: true,
                }
            })
            .collect();
        let mut inv = Inventory {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            implicit,
            warnings: Vec::new(),
            source_vars: Vec::new(),
            play_vars: Vec::new(),
            merge_hashes: false,
        };
        inv.add_group("all");
        inv.add_group("ungrouped");
        inv.link("all", "ungrouped");
        inv
    }
}

impl Inventory {
    /// Loads every `-i` source in order (later sources add to earlier ones), then the `group_vars/` and
    /// `host_vars/` beside them. An empty slice gives an inventory with only implicit localhost available.
    /// A missing `/etc/ansible/hosts` (Ansible's default source) is skipped silently, as Ansible does.
    pub fn load(sources: &[String]) -> Result<Inventory, InventoryError> {
        let mut inv = Inventory::default();
        let mut bases = Vec::new();
        for source in sources.iter().filter(|s| !s.is_empty()) {
            let path = Path::new(source);
            // Ansible's host_list plugin takes a source with a comma only when no such file exists.
            if source.contains(',') && !path.exists() {
                inv.load_host_list(source);
                continue;
            }
            let full = source::absolute(source);
            bases.extend(vars_dirs::source_base(source, &full));
            if !full.exists() {
                if source == "/etc/ansible/hosts" {
                    continue;
                }
                return Err(InventoryError::NotFound {
                    path: source.clone(),
                });
            }
            inv.load_path(Path::new(source), &full)?;
        }
        inv.reconcile();
        inv.load_source_vars(&bases)?;
        Ok(inv)
    }

    /// A host by name; `localhost`, `127.0.0.1` and `::1` give the inventory's localhost-like host (the
    /// first one defined) or else the implicit localhost.
    pub fn host(&self, name: &str) -> Option<&Host> {
        if let Some(host) = self.hosts.get(name) {
            return Some(host);
        }
        if !LOCALHOST.contains(&name) {
            return None;
        }
        self.hosts
            .values()
            .find(|h| LOCALHOST.contains(&h.name.as_str()))
            .or_else(|| self.implicit.iter().find(|h| h.name == name))
    }

    /// All defined hosts, in the order they were first seen.
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.values()
    }

    /// All groups, `all` and `ungrouped` first, then in the order they were first seen.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    /// A group by name.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// Things Ansible would warn about while loading (a name used for a host and a group, ...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Variables of a host with inventory precedence applied: `all` group vars, then other groups from
    /// shallowest to deepest (ties: `ansible_group_priority`, then group name), then the `group_vars/` files,
    /// then the host's own vars, then the `host_vars/` files (see `vars_dirs` for the whole order).
    pub fn host_vars(&self, host: &str) -> Map<String, Value> {
        self.host_vars_beside(host, None)
    }

    /// A host's variables for a play of the playbook in `playbook_dir`: the `group_vars/` and `host_vars/`
    /// beside other playbooks are not its own, as ansible-core reads those beside the play's playbook.
    pub fn host_vars_in(&self, host: &str, playbook_dir: &Path) -> Map<String, Value> {
        self.host_vars_beside(host, Some(playbook_dir))
    }

    fn host_vars_beside(&self, host: &str, playbook_dir: Option<&Path>) -> Map<String, Value> {
        let Some(host) = self.host(host) else {
            return Map::new();
        };
        let mut vars = self
            .groups
            .get("all")
            .map(|g| g.vars.clone())
            .unwrap_or_default();
        let mut groups: Vec<(usize, i64, &str)> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| *g != "all")
            .filter_map(|g| self.groups.get(g))
            .map(|g| (self.depth(&g.name), g.priority, g.name.as_str()))
            .collect();
        groups.sort();
        let groups: Vec<&str> = groups.into_iter().map(|(_, _, name)| name).collect();
        for name in &groups {
            if let Some(group) = self.groups.get(*name) {
                crate::vars::combine_vars(&mut vars, &group.vars, self.merge_hashes);
            }
        }
        self.add_group_vars_files(&mut vars, &groups, playbook_dir);
        crate::vars::combine_vars(&mut vars, &host.vars, self.merge_hashes);
        self.add_host_vars_files(&mut vars, &host.name, playbook_dir);
        vars
    }

    /// A group's own variables: those set in the inventory, then its `group_vars/` files (beside the sources,
    /// then beside the playbook), as `ansible-inventory --graph --vars` shows them.
    pub fn group_vars(&self, group: &str) -> Map<String, Value> {
        let mut vars = self
            .groups
            .get(group)
            .map(|g| g.vars.clone())
            .unwrap_or_default();
        self.add_own_group_vars_files(&mut vars, group);
        vars
    }

    /// The `group_names` magic variable: the host's groups, inherited ones included, sorted, without `all`.
    /// As in Ansible (`Host.get_magic_vars`), a host in no group of its own lists `ungrouped`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let Some(host) = self.host(host) else {
            return Vec::new();
        };
        let mut names: Vec<String> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| *g != "all")
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    /// The `groups` magic variable: every group (including `all` and `ungrouped`) → its hosts, those of
    /// child groups included, in Ansible's order.
    pub fn groups_map(&self) -> Map<String, Value> {
        self.groups
            .keys()
            .map(|name| {
                let hosts = self.hosts_of(name).into_iter().map(Value::from).collect();
                (name.clone(), Value::Array(hosts))
            })
            .collect()
    }

    /// The hosts of a group and of its descendants, in Ansible's order (breadth first over the groups).
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        self.hosts_of(group)
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// `add_host` while a play runs, as ansible-core's strategy applies it: the host (added to `all` when
    /// new), its variables merged over its own, and each group (created under `all` when new) given the host.
    /// Whether anything changed.
    pub fn add_runtime_host(
        &mut self,
        name: &str,
        groups: &[String],
        vars: &Map<String, Value>,
    ) -> bool {
        let mut changed = false;
        if !self.hosts.contains_key(name) {
            let origin = Origin {
                file: Value::Null,
                dir: Value::Null,
            };
            self.add_host(name, "all", None, &origin);
            changed = true;
        }
        if let Some(host) = self.hosts.get_mut(name) {
            for (key, value) in vars {
                if host.vars.get(key) != Some(value) {
                    host.vars.insert(key.clone(), value.clone());
                    changed = true;
                }
            }
        }
        for group in groups {
            if !self.groups.contains_key(group) {
                self.add_group(group);
                changed = true;
            }
            if self
                .groups
                .get(group)
                .is_some_and(|g| !g.hosts.iter().any(|h| h == name))
            {
                self.put_in_group(name, group);
                changed = true;
            }
        }
        self.reconcile();
        changed
    }

    /// `group_by` while a play runs: `host` into `group`, the group under each parent (all created as needed).
    /// Whether anything changed; an error for a parent that would make a loop.
    pub fn add_runtime_group(
        &mut self,
        host: &str,
        group: &str,
        parents: &[String],
    ) -> Result<bool, String> {
        let mut changed = false;
        self.add_group(group);
        for parent in parents {
            if !self.groups.contains_key(parent) {
                self.add_group(parent);
                changed = true;
            }
            let linked = self
                .groups
                .get(parent)
                .is_some_and(|p| p.children.iter().any(|c| c == group));
            if !linked && parent != "all" {
                self.add_child(parent, group)?;
                changed = true;
            }
        }
        if self
            .groups
            .get(group)
            .is_some_and(|g| !g.hosts.iter().any(|h| h == host))
        {
            self.put_in_group(host, group);
            changed = true;
        }
        if changed {
            self.reconcile();
        }
        Ok(changed)
    }

    /// Resolves a host pattern (`web:&prod:!db`, `web*`, `~web\d+`, `db[0]`, `@file`) to host names in
    /// Ansible's order. An `@file` term stands for the file's lines, one pattern each, as `--limit` reads it.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        pattern::select(self, pattern).map(|(hosts, _)| hosts)
    }

    /// The hosts a pattern selects, and its terms that match nothing (ansible-core warns about each).
    pub fn select_reporting(
        &self,
        pattern: &str,
    ) -> Result<(Vec<String>, Vec<String>), InventoryError> {
        pattern::select(self, pattern)
    }

    /// ansible-core's warning about a pattern term that matches nothing.
    pub fn unmatched_warning(term: &str) -> String {
        format!("Could not match supplied host pattern, ignoring: {term}")
    }

    /// Ansible's `Group.get_hosts`: the group itself, its children, then theirs, level by level.
    fn hosts_of(&self, group: &str) -> Vec<&str> {
        let Some(start) = self.groups.get(group) else {
            return Vec::new();
        };
        let mut ordered: Vec<&str> = vec![&start.name];
        ordered.extend(start.children.iter().map(String::as_str));
        let mut seen: Vec<&str> = Vec::new();
        let mut level: Vec<&str> = ordered.clone();
        while !level.is_empty() {
            seen.extend(&level);
            let mut next: Vec<&str> = Vec::new();
            for name in &level {
                for child in self
                    .groups
                    .get(*name)
                    .map(|g| g.children.as_slice())
                    .unwrap_or_default()
                {
                    if !seen.contains(&child.as_str()) && !next.contains(&child.as_str()) {
                        ordered.push(child);
                        next.push(child);
                    }
                }
            }
            level = next;
        }
        let mut hosts: Vec<&str> = Vec::new();
        let mut listed: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for name in ordered {
            for host in self
                .groups
                .get(name)
                .map(|g| g.hosts.as_slice())
                .unwrap_or_default()
            {
                if listed.insert(host) {
                    hosts.push(host);
                }
            }
        }
        hosts
    }

    /// A host's direct groups and all their ancestors.
    fn host_groups<'a>(&'a self, host: &'a Host) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        let mut stack: Vec<&str> = host.groups.iter().map(String::as_str).collect();
        while let Some(name) = stack.pop() {
            if out.contains(&name) {
                continue;
            }
            out.push(name);
            if let Some(group) = self.groups.get(name) {
                stack.extend(group.parents.iter().map(String::as_str));
            }
        }
        out
    }

    /// The length of the longest path from `all` (which is 0), as Ansible's `Group.depth`.
    fn depth(&self, group: &str) -> usize {
        self.groups
            .get(group)
            .and_then(|g| g.parents.iter().map(|p| self.depth(p) + 1).max())
            .unwrap_or(0)
    }

    fn is_ancestor(&self, candidate: &str, of: &str) -> bool {
        let mut stack = vec![of];
        let mut seen: Vec<&str> = Vec::new();
        while let Some(name) = stack.pop() {
            for parent in self
                .groups
                .get(name)
                .map(|g| g.parents.as_slice())
                .unwrap_or_default()
            {
                if parent == candidate {
                    return true;
                }
                if !seen.contains(&parent.as_str()) {
                    seen.push(parent);
                    stack.push(parent);
                }
            }
        }
        false
    }

    fn add_group(&mut self, name: &str) {
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_string(), Group::new(name));
        }
    }

    /// Makes `child` a child group of `parent`; refuses a loop with Ansible's message.
    fn add_child(&mut self, parent: &str, child: &str) -> Result<(), String> {
        if parent == child || self.is_ancestor(child, parent) {
            return Err(format!(
                "Adding group '{child}' as child to '{parent}' creates a recursive dependency loop."
            ));
        }
        self.link(parent, child);
        Ok(())
    }

    fn link(&mut self, parent: &str, child: &str) {
        if let Some(p) = self.groups.get_mut(parent)
            && !p.children.iter().any(|c| c == child)
        {
            p.children.push(child.to_string());
        }
        if let Some(c) = self.groups.get_mut(child)
            && !c.parents.iter().any(|p| p == parent)
        {
            c.parents.push(parent.to_string());
        }
    }

    /// Adds a host if new (a port only counts the first time, as in Ansible) and puts it in `group`.
    fn add_host(&mut self, name: &str, group: &str, port: Option<i64>, origin: &Origin) {
        if !self.hosts.contains_key(name) {
            let mut vars = Map::new();
            if let Some(port) = port.filter(|p| *p != 0) {
                vars.insert("ansible_port".into(), Value::from(port));
            }
            vars.insert("inventory_file".into(), origin.file.clone());
            vars.insert("inventory_dir".into(), origin.dir.clone());
            if LOCALHOST.contains(&name)
                && let Some(first) = self.hosts.keys().find(|h| LOCALHOST.contains(&h.as_str()))
            {
                self.warnings.push(format!(
                    "A duplicate localhost-like entry was found ({name}). First found localhost was {first}"
                ));
            }
            let host = Host {
                name: name.to_string(),
                vars,
                groups: Vec::new(),
                implicit: false,
            };
            self.hosts.insert(name.to_string(), host);
        }
        self.put_in_group(name, group);
    }

    fn put_in_group(&mut self, host: &str, group: &str) {
        if let Some(g) = self.groups.get_mut(group)
            && !g.hosts.iter().any(|h| h == host)
        {
            g.hosts.push(host.to_string());
        }
        if let Some(h) = self.hosts.get_mut(host)
            && !h.groups.iter().any(|g| g == group)
        {
            h.groups.push(group.to_string());
        }
    }

    fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.vars.insert(key.to_string(), value);
        }
    }

    /// Sets a group variable; `ansible_group_priority` sets the priority instead, as Python's `int()`
    /// reads it.
    fn set_group_var(&mut self, group: &str, key: &str, value: Value) -> Result<(), String> {
        let Some(g) = self.groups.get_mut(group) else {
            return Ok(());
        };
        if key != "ansible_group_priority" {
            g.vars.insert(key.to_string(), value);
            return Ok(());
        }
        let priority = match &value {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        g.priority = priority
            .ok_or_else(|| format!("ansible_group_priority must be an integer, got {value}"))?;
        Ok(())
    }

    /// Ansible's `reconcile_inventory`: top groups under `all`, hosts of no other group in `ungrouped`,
    /// and hosts that have another group taken out of `ungrouped`.
    fn reconcile(&mut self) {
        let orphans: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.name != "all" && g.parents.is_empty())
            .map(|g| g.name.clone())
            .collect();
        for name in orphans {
            self.link("all", &name);
        }
        let names: Vec<String> = self.hosts.keys().cloned().collect();
        for name in names {
            let Some(host) = self.hosts.get(&name) else {
                continue;
            };
            let groups = self.host_groups(host);
            let other = groups.iter().any(|g| *g != "all" && *g != "ungrouped");
            let in_ungrouped = groups.contains(&"ungrouped");
            if in_ungrouped && other {
                if let Some(g) = self.groups.get_mut("ungrouped") {
                    g.hosts.retain(|h| *h != name);
                }
                if let Some(h) = self.hosts.get_mut(&name) {
                    h.groups.retain(|g| g != "ungrouped");
                }
            } else if !in_ungrouped && !other {
                self.put_in_group(&name, "ungrouped");
            }
            if self.groups.contains_key(&name) {
                self.warnings
                    .push(format!("Found both group and host with same name: {name}"));
            }
        }
    }
}

#[cfg(test)]
mod tests;
