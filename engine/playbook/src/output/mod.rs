//! Event sinks: [`default`] prints what ansible-playbook prints; [`report`] writes a JSON report.

pub mod adhoc;
pub mod default;
pub mod report;

use serde_json::Value;

/// A result without the keys Ansible keeps for itself (`_ansible_*`), as every output shows it.
pub fn without_internal_keys(result: &Value) -> Value {
    match result {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with("_ansible"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}
