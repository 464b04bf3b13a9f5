//! What `playbook inventory` prints, shaped as `ansible-inventory` prints it: `--list` JSON, `--graph`, `--host`.

use super::Inventory;
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// Variables Ansible sets itself and `ansible-inventory` leaves out.
const INTERNAL: &[&str] = &[
    "ansible_diff_mode",
    "ansible_config_file",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_playbook_python",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "omit",
    "playbook_dir",
];

/// A host's variables as `ansible-inventory --host` shows them.
pub fn host_vars(inventory: &Inventory, host: &str) -> Map<String, Value> {
    let mut vars = inventory.host_vars(host);
    vars.retain(|k, _| !INTERNAL.contains(&k.as_str()));
    vars
}

/// `ansible-inventory --list`: every group reachable from `all` with its hosts and children (empty keys and
/// empty groups left out), and `_meta.hostvars` with each host's merged variables.
pub fn list(inventory: &Inventory) -> Value {
    let mut out = Map::new();
    let mut seen = HashSet::new();
    format_group(inventory, "all", &mut out, &mut seen);
    let mut hostvars = Map::new();
    for host in inventory.hosts() {
        let vars = host_vars(inventory, &host.name);
        if !vars.is_empty() {
            hostvars.insert(host.name.clone(), Value::Object(vars));
        }
    }
    out.insert(
        "_meta".into(),
        json!({"hostvars": hostvars, "profile": "inventory_legacy"}),
    );
    Value::Object(out)
}

fn format_group(
    inventory: &Inventory,
    name: &str,
    out: &mut Map<String, Value>,
    seen: &mut HashSet<String>,
) {
    let Some(group) = inventory.group(name) else {
        return;
    };
    let mut entry = Map::new();
    if name != "all" && !group.hosts.is_empty() {
        entry.insert("hosts".into(), json!(group.hosts));
    }
    if !group.children.is_empty() {
        entry.insert("children".into(), json!(group.children));
    }
    if !entry.is_empty() {
        out.insert(name.to_string(), Value::Object(entry));
    }
    for child in &group.children {
        if seen.insert(child.clone()) {
            format_group(inventory, child, out, seen);
        }
    }
}

/// `ansible-inventory --list --yaml`: groups nested under their parents, each host's variables given once (at
/// its first appearance), empty groups left out.
pub fn yaml_list(inventory: &Inventory) -> Value {
    let mut seen_groups = HashSet::new();
    let mut seen_hosts = HashSet::new();
    let mut out = Map::new();
    if let Some(all) = yaml_group(inventory, "all", &mut seen_groups, &mut seen_hosts) {
        out.insert("all".into(), all);
    }
    Value::Object(out)
}

fn yaml_group(
    inventory: &Inventory,
    name: &str,
    seen_groups: &mut HashSet<String>,
    seen_hosts: &mut HashSet<String>,
) -> Option<Value> {
    let group = inventory.group(name)?;
    let mut children = Map::new();
    for child in &group.children {
        if seen_groups.contains(child) {
            children.insert(child.clone(), json!({}));
        } else if let Some(value) = yaml_group(inventory, child, seen_groups, seen_hosts) {
            seen_groups.insert(child.clone());
            children.insert(child.clone(), value);
        }
    }
    let mut hosts = Map::new();
    if name != "all" {
        for host in &group.hosts {
            let vars = if seen_hosts.insert(host.clone()) {
                host_vars(inventory, host)
            } else {
                Map::new()
            };
            hosts.insert(host.clone(), Value::Object(vars));
        }
    }
    let mut entry = Map::new();
    if !children.is_empty() {
        entry.insert("children".into(), Value::Object(children));
    }
    if !hosts.is_empty() {
        entry.insert("hosts".into(), Value::Object(hosts));
    }
    (!entry.is_empty()).then_some(Value::Object(entry))
}

/// `ansible-inventory --graph [GROUP] [--vars]`.
pub fn graph(inventory: &Inventory, group: &str, with_vars: bool) -> Option<String> {
    inventory.group(group)?;
    let mut lines = Vec::new();
    graph_group(inventory, group, 0, with_vars, &mut lines);
    Some(lines.join("\n"))
}

fn graph_group(
    inventory: &Inventory,
    name: &str,
    depth: usize,
    with_vars: bool,
    lines: &mut Vec<String>,
) {
    let Some(group) = inventory.group(name) else {
        return;
    };
    lines.push(format!("{}@{name}:", prefix(depth)));
    for child in &group.children {
        graph_group(inventory, child, depth + 1, with_vars, lines);
    }
    // `all` lists its hosts through `ungrouped`, never directly, as in ansible-inventory.
    let direct: &[String] = if name == "all" { &[] } else { &group.hosts };
    for host in direct {
        lines.push(format!("{}{host}", prefix(depth + 1)));
        if with_vars {
            var_lines(&host_vars(inventory, host), depth + 2, lines);
        }
    }
    if with_vars {
        // ansible-inventory shows a priority only when it is not the default.
        let mut vars = inventory.group_vars(name);
        if group.priority != 1 {
            vars.insert("ansible_group_priority".into(), group.priority.into());
        }
        var_lines(&vars, depth + 1, lines);
    }
}

fn var_lines(vars: &Map<String, Value>, depth: usize, lines: &mut Vec<String>) {
    let mut sorted: Vec<(&String, &Value)> = vars.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in sorted {
        lines.push(format!(
            "{}{{{k} = {}}}",
            prefix(depth),
            crate::pyjson::python_str(v)
        ));
    }
}

fn prefix(depth: usize) -> String {
    match depth {
        0 => String::new(),
        d => format!("{}|--", "  |".repeat(d - 1) + "  "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(text: &str) -> Inventory {
        let dir =
            std::env::temp_dir().join(format!("pb-export-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("hosts");
        std::fs::write(&path, text).expect("write");
        Inventory::load(&[path.display().to_string()]).expect("valid inventory")
    }

    #[test]
    fn graph_matches_ansible_inventory() {
        let inv = inventory("top1\n[web]\nw1\n[db]\nd1\n[prod:children]\nweb\ndb\n");
        let expected = "@all:\n  |--@ungrouped:\n  |  |--top1\n  |--@prod:\n  |  |--@web:\n  |  |  |--w1\n  |  |--@db:\n  |  |  |--d1";
        assert_eq!(graph(&inv, "all", false).expect("all exists"), expected);
    }

    #[test]
    fn list_leaves_out_empty_groups_and_internal_vars() {
        let inv = inventory("[web]\nw1 a=1\n[empty]\n");
        let list = list(&inv);
        assert_eq!(list["web"], json!({"hosts": ["w1"]}));
        assert!(list.get("empty").is_none());
        assert!(list.get("ungrouped").is_none());
        assert_eq!(list["_meta"]["hostvars"]["w1"], json!({"a": 1}));
        assert_eq!(
            list["all"]["children"],
            json!(["ungrouped", "web", "empty"])
        );
    }
}
