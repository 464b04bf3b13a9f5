//! YAML written the way PyYAML's `dump(default_flow_style=False, allow_unicode=True)` writes it (sorted keys,
//! two-space indent, sequences not indented under their key, single quotes where a plain scalar would read back
//! as something else), because `ansible-inventory --yaml` and Ansible's `to_yaml` filters print that.

use crate::yaml::{NodeKind, resolve_plain};
use serde_json::Value;

/// `yaml.dump(value, default_flow_style=False, allow_unicode=True)`.
pub fn dump(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_mapping(&mut out, value, 0),
        Value::Array(items) if !items.is_empty() => write_sequence(&mut out, value, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_mapping(out: &mut String, value: &Value, indent: usize) {
    let Value::Object(map) = value else { return };
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    crate::typed::sort_keys(&mut entries);
    for (i, (key, child)) in entries.into_iter().enumerate() {
        // The first key of a mapping inside a sequence sits on the dash's line.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        // A key that is a number, a boolean or None is written as its scalar.
        match crate::typed::is_typed_key(key) {
            true => out.push_str(&crate::typed::json_key(key)),
            false => out.push_str(&string_text(key)),
        }
        out.push(':');
        match child {
            Value::Object(m) if !m.is_empty() && !crate::typed::is_marked_scalar(child) => {
                out.push('\n');
                write_mapping(out, child, indent + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                write_sequence(out, child, indent);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar));
                out.push('\n');
            }
        }
    }
}

fn write_sequence(out: &mut String, value: &Value, indent: usize) {
    let Value::Array(items) = value else { return };
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() && !crate::typed::is_marked_scalar(item) => {
                write_mapping(out, item, indent + 2)
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                write_sequence(out, item, indent + 2);
            }
            scalar => {
                out.push_str(&scalar_text(scalar));
                out.push('\n');
            }
        }
    }
}

fn scalar_text(value: &Value) -> String {
    if let Some(stamp) = crate::typed::Stamp::from_json(value) {
        return stamp.python_str();
    }
    if let Some(f) = crate::typed::special_float(value) {
        return crate::typed::yaml_float(f).into();
    }
    if let Some(i) = crate::typed::big_int(value) {
        return i.to_string();
    }
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
            _ => n.to_string(),
        },
        Value::String(s) => string_text(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string as PyYAML writes it: plain when it reads back as the same string, else single-quoted (double-quoted
/// when it holds characters single quotes cannot carry).
fn string_text(s: &str) -> String {
    if s.chars()
        .any(|c| c == '\n' || (c.is_control() && c != '\t'))
    {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

fn plain_allowed(s: &str) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') || s.contains('\t') {
        return false;
    }
    if !matches!(resolve_plain(s), None | Some(NodeKind::Str { .. })) {
        return false;
    }
    let chars: Vec<char> = s.chars().collect();
    let followed_by_space = |i: usize| chars.get(i + 1).is_none_or(|c| *c == ' ');
    if let Some(&first) = chars.first() {
        if "#,[]{}&*!|>'\"%@`".contains(first) {
            return false;
        }
        if "?:-".contains(first) && followed_by_space(0) {
            return false;
        }
    }
    for (i, c) in chars.iter().enumerate() {
        if *c == ':' && followed_by_space(i) {
            return false;
        }
        if *c == '#' && i > 0 && chars[i - 1] == ' ' {
            return false;
        }
    }
    true
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mappings_sequences_and_quoting_match_pyyaml() {
        let v = json!({"b": {"g": "yes", "i": "{k:v}", "h": [1, 2], "e": "quoted value", "d": null, "x": {}},
                       "a": [{"k": 1, "j": "0755"}, "plain"]});
        assert_eq!(
            dump(&v),
            "a:\n- j: '0755'\n  k: 1\n- plain\nb:\n  d: null\n  e: quoted value\n  g: 'yes'\n  h:\n  - 1\n  - 2\n  i: '{k:v}'\n  x: {}\n"
        );
    }

    #[test]
    fn strings_that_would_read_back_differently_are_quoted() {
        for (s, want) in [
            ("", "''"),
            ("true", "'true'"),
            ("1.5", "'1.5'"),
            ("a: b", "'a: b'"),
            ("x #y", "'x #y'"),
            ("it's", "it's"),
            ("- x", "'- x'"),
            ("a\nb", "\"a\\nb\""),
        ] {
            assert_eq!(string_text(s), want, "{s:?}");
        }
        assert_eq!(scalar_text(&json!(2.5)), "2.5");
        assert_eq!(scalar_text(&json!(1.0)), "1.0");
    }
}
