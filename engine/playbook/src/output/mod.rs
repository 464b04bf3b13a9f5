//! Event sinks: [`default`] prints what ansible-playbook prints; [`report`] writes a JSON report.

pub mod adhoc;
pub mod default;
pub mod listing;
pub mod report;

use serde_json::Value;

/// A result as callbacks show it: without the keys Ansible keeps for itself (`_ansible_*`) and without
/// `failed`/`skipped`, which the status line already says (Ansible's `TaskResult.clean_copy`).
pub fn without_internal_keys(result: &Value) -> Value {
    match result {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with("_ansible") && *k != "failed" && *k != "skipped")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}
