//! Ansible's YAML inventory: top-level groups, each a mapping of `hosts`, `vars` and `children`, nested to
//! any depth. Follows `plugins/inventory/yaml.py`, except that an unknown key or a group that is not a
//! mapping is an error here (Ansible only warns and skips it, which hides typos such as `host:`).

use super::address::expand_host_pattern;
use super::{Inventory, InventoryError, Origin};
use crate::diag::{Diagnostic, SourceFile, Span, did_you_mean};
use crate::yaml::{Node, NodeKind};
use serde_json::Value;
use std::sync::Arc;

const SECTIONS: [&str; 3] = ["hosts", "vars", "children"];

/// Adds the groups of a YAML inventory whose root is a mapping.
pub(super) fn load(
    inv: &mut Inventory,
    file: &Arc<SourceFile>,
    root: &Node,
    origin: &Origin,
) -> Result<(), InventoryError> {
    let loader = Loader { file, origin };
    for (key, value) in root.as_map().unwrap_or_default() {
        loader.group(inv, key, value)?;
    }
    Ok(())
}

struct Loader<'a> {
    file: &'a Arc<SourceFile>,
    origin: &'a Origin,
}

impl Loader<'_> {
    fn error(&self, span: Span, message: String, label: &str) -> InventoryError {
        InventoryError::Parse(Box::new(
            Diagnostic::new(message).at(self.file, span).label(label),
        ))
    }

    /// Declares the group `key` and everything under it; returns its name.
    fn group(
        &self,
        inv: &mut Inventory,
        key: &Node,
        data: &Node,
    ) -> Result<String, InventoryError> {
        let Some(name) = key.as_str() else {
            return Err(self.error(
                key.span,
                format!(
                    "Invalid group name supplied, expected a string but got {}",
                    key.describe()
                ),
                "expected a group name",
            ));
        };
        let entries = match &data.kind {
            NodeKind::Null => &[][..],
            NodeKind::Map(entries) => entries.as_slice(),
            _ => {
                return Err(self.error(
                    data.span,
                    format!(
                        "group `{name}` must be a mapping, found {}",
                        data.describe()
                    ),
                    "expected `hosts`, `vars` and/or `children` under the group name",
                ));
            }
        };
        inv.add_group(name);
        for (section, value) in entries {
            let Some(section_name) = section.as_str().filter(|s| SECTIONS.contains(s)) else {
                let text = section.scalar_text().unwrap_or_default();
                let mut d = Diagnostic::new(format!("unknown key `{text}` in group `{name}`"))
                    .at(self.file, section.span)
                    .label("expected one of: hosts, vars, children");
                if let Some(best) = did_you_mean(&text, SECTIONS) {
                    d = d.help(format!("did you mean `{best}`?"));
                }
                return Err(InventoryError::Parse(Box::new(d)));
            };
            // `hosts: web1` is allowed and means `hosts: {web1: }`.
            let single;
            let items: &[(Node, Node)] = match &value.kind {
                NodeKind::Null => &[],
                NodeKind::Map(items) => items,
                NodeKind::Str { .. } | NodeKind::Unsafe(_) => {
                    single = [(
                        value.clone(),
                        Node {
                            kind: NodeKind::Null,
                            span: value.span,
                        },
                    )];
                    &single
                }
                _ => {
                    return Err(self.error(
                        value.span,
                        format!(
                            "Invalid \"{section_name}\" entry for \"{name}\" group, requires a dictionary, found {} instead",
                            value.describe()
                        ),
                        "expected a mapping",
                    ));
                }
            };
            match section_name {
                "vars" => {
                    for (k, v) in items {
                        let key = self.var_name(k)?;
                        inv.set_group_var(name, &key, v.to_json())
                            .map_err(|m| self.error(v.span, m, "expected an integer"))?;
                    }
                }
                "children" => {
                    for (k, v) in items {
                        let child = self.group(inv, k, v)?;
                        inv.add_child(name, &child).map_err(|m| {
                            self.error(k.span, m, "this group would contain itself")
                        })?;
                    }
                }
                _ => {
                    for (k, v) in items {
                        self.hosts(inv, name, k, v)?;
                    }
                }
            }
        }
        Ok(name.to_string())
    }

    /// One key of `hosts:`, a host or a range of hosts, with its variables.
    fn hosts(
        &self,
        inv: &mut Inventory,
        group: &str,
        key: &Node,
        vars: &Node,
    ) -> Result<(), InventoryError> {
        let Some(pattern) = key.as_str() else {
            let text = key.scalar_text().unwrap_or_default();
            return Err(self.error(
                key.span,
                format!("Host pattern {text} must be a string. Enclose integers/floats in quotation marks."),
                "expected a host name",
            ));
        };
        let (names, port) = expand_host_pattern(pattern).map_err(|e| {
            self.error(
                key.span,
                format!("invalid host range in `{pattern}`"),
                &e.to_string(),
            )
        })?;
        // Ansible writes `vars or {}`: anything false-like (`~`, `''`, `[]`, `0`) means no variables.
        let entries: &[(Node, Node)] = match &vars.kind {
            NodeKind::Map(entries) => entries,
            _ if vars.is_falsy() => &[],
            _ => {
                return Err(self.error(
                    vars.span,
                    format!(
                        "variables of host `{pattern}` must be a mapping, found {}",
                        vars.describe()
                    ),
                    "expected `name: value` pairs",
                ));
            }
        };
        let mut values: Vec<(String, Value)> = Vec::new();
        for (k, v) in entries {
            values.push((self.var_name(k)?, v.to_json()));
        }
        for name in &names {
            inv.add_host(name, group, port, self.origin);
            for (k, v) in &values {
                inv.set_host_var(name, k, v.clone());
            }
        }
        Ok(())
    }

    fn var_name(&self, key: &Node) -> Result<String, InventoryError> {
        key.scalar_text().ok_or_else(|| {
            self.error(
                key.span,
                format!("a variable name must be a string, found {}", key.describe()),
                "expected a name",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{load_text, load_text_err};
    use serde_json::json;

    #[test]
    fn nested_groups_hosts_and_typed_vars() {
        let inv = load_text(
            "yml",
            "all:\n  vars:\n    v: all\n  hosts:\n    h0:\n  children:\n    web:\n      hosts:\n        web[1:2]:\n          flag: yes\n          port: 0755\n        web3: null\n      vars:\n        v: web\n      children:\n        canary:\n          hosts: web1\n          vars: {v: canary}\n    empty:\nextra:\n  hosts:\n    e1: {ansible_port: 2200}\n",
        );
        let names: Vec<&str> = inv.hosts().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["h0", "web1", "web2", "web3", "e1"]);
        let web1 = inv.host("web1").expect("web1");
        assert_eq!(web1.vars["flag"], json!(true));
        assert_eq!(web1.vars["port"], json!(0o755));
        assert_eq!(inv.group("web").expect("web").children, ["canary"]);
        assert!(inv.group("empty").is_some());
        assert_eq!(inv.host_vars("web1")["v"], json!("canary"));
        assert_eq!(inv.host_vars("web2")["v"], json!("web"));
        assert_eq!(inv.host_vars("e1")["v"], json!("all"));
        assert_eq!(inv.group_names("web1"), ["canary", "web"]);
        assert_eq!(inv.group_names("h0"), ["ungrouped"]);
    }

    #[test]
    fn structure_errors_are_located() {
        let e = load_text_err("yml", "all:\n  hots:\n    a:\n");
        assert!(e.contains("unknown key `hots` in group `all`"), "{e}");
        assert!(
            e.contains("inv.yml:2:3") && e.contains("did you mean `hosts`?"),
            "{e}"
        );
        let e = load_text_err("yml", "web:\n  hosts: [a, b]\n");
        assert!(
            e.contains("Invalid \"hosts\" entry") && e.contains("inv.yml:2:10"),
            "{e}"
        );
        let e = load_text_err("yml", "web:\n  hosts:\n    a: just-a-string\n");
        assert!(
            e.contains("must be a mapping") && e.contains("inv.yml:3:8"),
            "{e}"
        );
        let e = load_text_err("yml", "web:\n  hosts:\n    1.5:\n");
        assert!(e.contains("must be a string"), "{e}");
        let e = load_text_err(
            "yml",
            "a:\n  children:\n    b:\n      children:\n        a:\n",
        );
        assert!(e.contains("recursive dependency loop"), "{e}");
    }
}
