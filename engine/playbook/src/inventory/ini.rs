//! Ansible's INI inventory format: `[group]` host lines, `[group:vars]` and `[group:children]` sections.
//!
//! Hand-written because Ansible's INI is not INI: a host line is `name k=v k2="v 2"` split as Python's shlex
//! splits it, values go through Python's `ast.literal_eval`, and a group may be named as a child before its
//! own section. Generic INI crates reject or mangle all three. This follows `plugins/inventory/ini.py`.

use super::address::expand_host_pattern;
use super::python::{parse_value, shlex_split};
use super::{Inventory, InventoryError, Origin};
use crate::diag::{Diagnostic, SourceFile, Span, did_you_mean};
use indexmap::IndexMap;
use std::sync::Arc;

/// What the lines of the current section hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Hosts,
    Vars,
    Children,
}

/// A group named before it was declared, remembered to be linked or reported at the end of the file.
struct Pending {
    section: Section,
    span: Span,
    parents: Vec<String>,
}

/// Adds the hosts, groups and variables of an INI file to `inv`.
pub(super) fn load(
    inv: &mut Inventory,
    file: &Arc<SourceFile>,
    origin: &Origin,
) -> Result<(), InventoryError> {
    let err = |span: Span, message: String, label: &str| {
        InventoryError::Parse(Box::new(
            Diagnostic::new(message).at(file, span).label(label),
        ))
    };
    // As Ansible does, lines before any section header are hosts of `ungrouped`.
    let mut group = "ungrouped".to_string();
    let mut section = Section::Hosts;
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    for (index, raw) in file.text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        let whole = Span::new(number, indent + 1, line.chars().count());
        if let Some((name, kind)) = section_header(line) {
            section = match kind {
                None | Some("hosts") => Section::Hosts,
                Some("vars") => Section::Vars,
                Some("children") => Section::Children,
                Some(other) => {
                    let col = indent + 1 + name.chars().count() + 2;
                    let mut d = Diagnostic::new(format!(
                        "Section [{name}:{other}] has unknown type: {other}"
                    ))
                    .at(file, Span::new(number, col, other.chars().count()))
                    .label("expected `vars` or `children`");
                    if let Some(best) = did_you_mean(other, ["vars", "children", "hosts"]) {
                        d = d.help(format!("did you mean `[{name}:{best}]`?"));
                    }
                    return Err(InventoryError::Parse(Box::new(d)));
                }
            };
            group = name.to_string();
            if inv.groups.get(&group).is_none() {
                // `[g:vars]` alone does not declare g: it must be declared by `[g]` or `[g:children]`.
                if section == Section::Vars && !pending.contains_key(&group) {
                    pending.insert(
                        group.clone(),
                        Pending {
                            section,
                            span: whole,
                            parents: Vec::new(),
                        },
                    );
                }
                inv.add_group(&group);
            }
            if section != Section::Vars
                && let Some(decl) = pending.get(&group)
            {
                match decl.section {
                    Section::Children => link_pending(inv, &group, &mut pending)
                        .map_err(|m| err(whole, m, "this group would contain itself"))?,
                    _ => {
                        pending.shift_remove(&group);
                    }
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(InventoryError::Parse(Box::new(
                Diagnostic::new(format!("Invalid section entry: '{line}'"))
                    .at(file, whole)
                    .label("expected `[group]`, `[group:vars]` or `[group:children]`")
                    .help("section names may not contain spaces, `:` or `]`"),
            )));
        }
        match section {
            Section::Hosts => host_line(inv, file, origin, &group, line, number, indent)?,
            Section::Vars => {
                let Some((key, value)) = line.split_once('=') else {
                    return Err(err(
                        whole,
                        format!("Expected key=value, got: {line}"),
                        "expected `name=value` in a vars section",
                    ));
                };
                inv.set_group_var(&group, key.trim(), parse_value(value.trim()))
                    .map_err(|m| err(whole, m, "expected an integer"))?;
            }
            Section::Children => {
                let Some(child) = group_name(line) else {
                    return Err(err(
                        whole,
                        format!("Expected group name, got: {line}"),
                        "expected one group name per line",
                    ));
                };
                let span = Span::new(number, indent + 1, child.chars().count());
                if inv.groups.contains_key(child) {
                    inv.add_child(&group, child)
                        .map_err(|m| err(span, m, "this group would contain itself"))?;
                } else {
                    pending
                        .entry(child.to_string())
                        .or_insert(Pending {
                            section,
                            span,
                            parents: Vec::new(),
                        })
                        .parents
                        .push(group.clone());
                }
            }
        }
    }
    // Ansible reports the first group that was named but never declared.
    if let Some((name, decl)) = pending.first() {
        let (message, label) = match decl.section {
            Section::Vars => (
                format!("Section [{name}:vars] not valid for undefined group '{name}'"),
                format!("no `[{name}]` or `[{name}:children]` section declares it"),
            ),
            _ => (
                format!(
                    "Section [{}:children] includes undefined group '{name}'",
                    decl.parents.last().map_or("", String::as_str)
                ),
                format!("no `[{name}]` or `[{name}:children]` section declares it"),
            ),
        };
        return Err(err(decl.span, message, &label));
    }
    Ok(())
}

/// `[name]` or `[name:kind]`, optionally followed by blanks and a `#` comment.
fn section_header(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let (inside, after) = (&rest[..close], rest[close + 1..].trim_start());
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    let (name, kind) = match inside.split_once(':') {
        Some((name, kind)) => (name, Some(kind)),
        None => (inside, None),
    };
    let name_ok = !name.is_empty() && !name.contains(char::is_whitespace);
    let kind_ok =
        kind.is_none_or(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'));
    (name_ok && kind_ok).then_some((name, kind))
}

/// A `[g:children]` line: one name without blanks, `:` or `]`, optionally followed by a `#` comment.
fn group_name(line: &str) -> Option<&str> {
    // Ansible's regex takes `#` inside a name as part of it: only a blank starts the comment.
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let ok = !name.is_empty()
        && !name.contains([':', ']'])
        && (rest.is_empty() || rest.starts_with('#'));
    ok.then_some(name)
}

/// Links a group that was named as a child before its declaration to the groups that named it.
fn link_pending(
    inv: &mut Inventory,
    group: &str,
    pending: &mut IndexMap<String, Pending>,
) -> Result<(), String> {
    let Some(decl) = pending.shift_remove(group) else {
        return Ok(());
    };
    for parent in &decl.parents {
        inv.add_child(parent, group)?;
        if pending
            .get(parent)
            .is_some_and(|p| p.section == Section::Children)
        {
            link_pending(inv, parent, pending)?;
        }
    }
    Ok(())
}

/// `name[:port] k=v ...`: adds the host (or each host of a range) to `group` with its variables.
fn host_line(
    inv: &mut Inventory,
    file: &Arc<SourceFile>,
    origin: &Origin,
    group: &str,
    line: &str,
    number: usize,
    indent: usize,
) -> Result<(), InventoryError> {
    let err = |col: usize, len: usize, message: String, label: &str| {
        InventoryError::Parse(Box::new(
            Diagnostic::new(message)
                .at(file, Span::new(number, indent + 1 + col, len))
                .label(label),
        ))
    };
    let words = shlex_split(line).map_err(|e| {
        err(
            0,
            line.chars().count(),
            format!("Error parsing host definition '{line}': {e}"),
            "expected matching quotes",
        )
    })?;
    let Some((first, rest)) = words.split_first() else {
        return Ok(());
    };
    let width = |w: &super::python::Word| w.text.chars().count().max(1);
    if let Some((key, _)) = first.text.split_once('=') {
        // Ansible would make a host named `k=v`; that is always a mistake, so say so.
        return Err(InventoryError::Parse(Box::new(
            Diagnostic::new(format!(
                "expected a host name, found the variable assignment `{}`",
                first.text
            ))
            .at(
                file,
                Span::new(number, indent + 1 + first.col, width(first)),
            )
            .label("expected `hostname [key=value ...]`")
            .help(format!(
                "to set `{key}` for every host of `{group}`, put it in a `[{group}:vars]` section"
            )),
        )));
    }
    let (hosts, port) = expand_host_pattern(&first.text).map_err(|e| {
        err(
            first.col,
            width(first),
            format!("invalid host range in `{}`", first.text),
            &e.to_string(),
        )
    })?;
    if first.text.trim_end().ends_with(':') && port.is_none() {
        return Err(err(
            first.col,
            width(first),
            format!(
                "Invalid host pattern '{}' supplied, ending in ':' is not allowed",
                first.text
            ),
            "this character is reserved to provide a port",
        ));
    }
    if hosts.iter().any(|h| h.trim() == "---") {
        return Err(err(
            first.col,
            width(first),
            "Invalid host pattern '---' supplied".into(),
            "'---' is normally a sign this is a YAML file",
        ));
    }
    let mut vars = Vec::new();
    for word in rest {
        let Some((key, value)) = word.text.split_once('=') else {
            return Err(err(
                word.col,
                width(word),
                format!(
                    "Expected key=value host variable assignment, got: {}",
                    word.text
                ),
                "expected `key=value`",
            ));
        };
        vars.push((key.to_string(), parse_value(value)));
    }
    for host in &hosts {
        inv.add_host(host, group, port, origin);
        for (key, value) in &vars {
            inv.set_host_var(host, key, value.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{load_text, load_text_err};
    use serde_json::json;

    #[test]
    fn hosts_vars_children_ports_and_literal_values() {
        let inv = load_text(
            "ini",
            "lonely\n\
             [web]\n\
             web1 ansible_host=10.0.0.1 http_port=8080 # comment\n\
             web2:2222 k2=\"v 2\" yes_str=yes t=True n=None l=\"[1, 'a']\" d=\"{'x': 1}\" s=\"'5'\"\n\
             [web:vars]\n\
             ntp = 'pool.example' \n\
             count=5\n\
             flag=yes\n\
             [prod:children]\n\
             web\n\
             db  # declared later\n\
             [db]\n\
             db1\n",
        );
        let web1 = inv.host("web1").expect("web1");
        assert_eq!(web1.vars["http_port"], json!(8080));
        assert_eq!(web1.vars["ansible_host"], json!("10.0.0.1"));
        let web2 = inv.host("web2").expect("web2");
        assert_eq!(web2.vars["ansible_port"], json!(2222));
        assert_eq!(web2.vars["k2"], json!("v 2"));
        assert_eq!(web2.vars["yes_str"], json!("yes"));
        assert_eq!(web2.vars["t"], json!(true));
        assert_eq!(web2.vars["n"], json!(null));
        assert_eq!(web2.vars["l"], json!([1, "a"]));
        assert_eq!(web2.vars["d"], json!({"x": 1}));
        assert_eq!(web2.vars["s"], json!("5"));
        let web = inv.group("web").expect("web");
        assert_eq!(web.vars["ntp"], json!("pool.example"));
        assert_eq!(web.vars["count"], json!(5));
        assert_eq!(web.vars["flag"], json!("yes"));
        assert_eq!(inv.group("prod").expect("prod").children, ["web", "db"]);
        assert_eq!(inv.group("ungrouped").expect("ungrouped").hosts, ["lonely"]);
        assert_eq!(inv.group_names("db1"), ["db", "prod"]);
    }

    #[test]
    fn ranges_ipv6_and_comments() {
        let inv = load_text(
            "ini",
            "; a comment\n# another\n[r]\nweb[01:03]\ndb-[a:c]:22\n[::1]:2200\nfe80::2\n",
        );
        let names: Vec<&str> = inv.hosts().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "web01", "web02", "web03", "db-a", "db-b", "db-c", "::1", "fe80::2"
            ]
        );
        assert_eq!(
            inv.host("db-b").expect("db-b").vars["ansible_port"],
            json!(22)
        );
        assert_eq!(
            inv.host("::1").expect("::1").vars["ansible_port"],
            json!(2200)
        );
    }

    #[test]
    fn malformed_lines_point_at_the_place() {
        let e = load_text_err("ini", "[web]\nweb1\n[web:unknown]\n");
        assert!(e.contains("has unknown type: unknown"), "{e}");
        assert!(e.contains("inv.ini:3:6"), "{e}");
        let e = load_text_err("ini", "[web]\n  ansible_port=22\n");
        assert!(e.contains("expected a host name"), "{e}");
        assert!(e.contains("inv.ini:2:3"), "{e}");
        assert!(e.contains("[web:vars]"), "{e}");
        let e = load_text_err("ini", "[web]\nh1 a=1 oops\n");
        assert!(
            e.contains("inv.ini:2:8") && e.contains("Expected key=value"),
            "{e}"
        );
        let e = load_text_err("ini", "[web]\nweb[1:]\n");
        assert!(
            e.contains("inv.ini:2:1") && e.contains("must specify end value"),
            "{e}"
        );
        let e = load_text_err("ini", "[web]\nh1 x='open\n");
        assert!(e.contains("No closing quotation"), "{e}");
        let e = load_text_err("ini", "[web x]\n");
        assert!(e.contains("Invalid section entry"), "{e}");
        let e = load_text_err("ini", "[web:vars]\nx\n");
        assert!(
            e.contains("Expected key=value") && e.contains("inv.ini:2:1"),
            "{e}"
        );
        let e = load_text_err("ini", "[a:children]\nmissing\n");
        assert!(
            e.contains("includes undefined group 'missing'") && e.contains("inv.ini:2:1"),
            "{e}"
        );
        let e = load_text_err("ini", "[ghost:vars]\nx=1\n");
        assert!(e.contains("not valid for undefined group 'ghost'"), "{e}");
        let e = load_text_err("ini", "[a:children]\nb\n[b:children]\na\n");
        assert!(
            e.contains("recursive dependency loop") && e.contains("inv.ini:4:1"),
            "{e}"
        );
        let e = load_text_err("ini", "[web]\nhost:\n");
        assert!(e.contains("ending in ':' is not allowed"), "{e}");
    }

    #[test]
    fn host_in_a_group_leaves_ungrouped_and_port_is_kept_from_first_definition() {
        let inv = load_text("ini", "h1:22\n[g]\nh1:33\n");
        assert_eq!(inv.host("h1").expect("h1").vars["ansible_port"], json!(22));
        assert!(inv.group("ungrouped").expect("ungrouped").hosts.is_empty());
        assert_eq!(inv.group_names("h1"), ["g"]);
    }
}
