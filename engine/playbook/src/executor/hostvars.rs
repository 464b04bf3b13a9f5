//! `hostvars`: every host's variables, made when a template asks for a host. A play on two hosts of a
//! 10,000-host inventory must not compute 10,000 hosts' variables for every task.

use crate::inventory::Inventory;
use minijinja::value::{Enumerator, Object, ObjectRepr, Value as JValue};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a run added to a host: its facts and its variables (`include_vars`, then `register`/`set_fact`).
#[derive(Debug, Default)]
pub(super) struct Added {
    pub facts: Map<String, Value>,
    pub vars: Map<String, Value>,
}

/// The `hostvars` of one task: the inventory, what the run added to hosts so far, and the hosts by name (the
/// play's first), each host's variables made once when first asked for.
#[derive(Debug)]
pub(super) struct HostVars {
    pub inventory: Arc<Inventory>,
    pub added: HashMap<String, Added>,
    pub names: Vec<String>,
    /// The run's magic variables, every host's (`playbook_dir`, `groups`, `ansible_version`).
    pub shared: Map<String, Value>,
    /// The extra vars (`-e`), over everything else a host has.
    pub extra: Map<String, Value>,
    made: Mutex<HashMap<String, JValue>>,
}

impl HostVars {
    pub fn new(
        inventory: Arc<Inventory>,
        added: HashMap<String, Added>,
        names: Vec<String>,
        shared: Map<String, Value>,
        extra: Map<String, Value>,
    ) -> HostVars {
        HostVars {
            inventory,
            added,
            names,
            shared,
            extra,
            made: Mutex::new(HashMap::new()),
        }
    }

    /// A host's variables: its inventory variables, its facts (also as `ansible_<name>`), what the run set.
    fn make(&self, host: &str) -> Map<String, Value> {
        let mut vars = self.shared.clone();
        vars.extend(self.inventory.host_vars(host));
        // What no vault secret opened is not this host's data: it is left undefined here rather than shown
        // as our markers (using it on the host itself is the decryption's error, see `vars::merge`).
        vars.remove(crate::template::VAULT_FILE);
        vars.retain(|_, v| crate::template::vault_text(v).is_none());
        if let Some(added) = self.added.get(host) {
            for (k, f) in &added.facts {
                vars.insert(format!("ansible_{k}"), f.clone());
            }
            vars.insert("ansible_facts".into(), Value::Object(added.facts.clone()));
            for (k, x) in &added.vars {
                vars.insert(k.clone(), x.clone());
            }
        }
        vars.extend(self.extra.clone());
        vars.entry("ansible_facts")
            .or_insert_with(|| Value::Object(Map::new()));
        vars.insert("inventory_hostname".into(), Value::String(host.to_string()));
        vars.insert(
            "inventory_hostname_short".into(),
            Value::String(host.split('.').next().unwrap_or(host).to_string()),
        );
        vars.insert(
            "group_names".into(),
            serde_json::json!(self.inventory.group_names(host)),
        );
        vars
    }
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let host = key.as_str()?;
        if let Some(made) = self.made.lock().ok()?.get(host) {
            return Some(made.clone());
        }
        let known = self.added.contains_key(host) || self.inventory.host(host).is_some();
        if !known {
            return None;
        }
        let made = crate::template::vars_to_jinja(&Value::Object(self.make(host)));
        if let Ok(mut cache) = self.made.lock() {
            cache.insert(host.to_string(), made.clone());
        }
        Some(made)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.names
                .iter()
                .map(|n| JValue::from(n.as_str()))
                .collect(),
        )
    }
}
