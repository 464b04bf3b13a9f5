//! JSON written the way Python's `json.dumps` writes it, because Ansible users read and diff that output:
//! `", "` and `": "` separators, optional indent and key sorting, non-ASCII kept as is or escaped.

use serde_json::Value;
use std::fmt::Write;

/// `json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=False)` as Ansible's callbacks write
/// results (a `None` key as `"None"`).
pub fn dumps(value: &Value, indent: Option<usize>, sort_keys: bool) -> String {
    dumps_with(
        value,
        &Options {
            indent,
            sort_keys,
            ensure_ascii: false,
            none_key: "None",
        },
    )
}

/// The arguments of `json.dumps` this writer follows.
pub struct Options {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    /// Non-ASCII characters written as `\uXXXX` escapes (UTF-16 pairs above the basic plane).
    pub ensure_ascii: bool,
    /// How a `None` mapping key is written: `null` by `json.dumps`, `None` by Ansible's callbacks (their
    /// encoder falls back to `str()` for it).
    pub none_key: &'static str,
}

pub fn dumps_with(value: &Value, options: &Options) -> String {
    let mut out = String::new();
    write_value(&mut out, value, options, 0);
    out
}

fn write_value(out: &mut String, value: &Value, options: &Options, depth: usize) {
    let indent = options.indent;
    if let Some(text) = crate::typed::json_scalar(value) {
        out.push_str(&text);
        return;
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e16 => {
                let _ = write!(out, "{f:.1}");
            }
            _ => {
                let _ = write!(out, "{n}");
            }
        },
        Value::String(s) => write_string(out, s, options.ensure_ascii),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(out, i, indent, depth + 1);
                write_value(out, item, options, depth + 1);
            }
            close(out, indent, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            // Keys that are not strings are written as JSON text before sorting, as Ansible's encoder does;
            // where that makes two keys one (`1` and `'1'`), the later value stays, in the earlier place.
            let typed = map.keys().any(|k| crate::typed::is_typed_key(k));
            let mut entries: Vec<(std::borrow::Cow<'_, str>, &Value)> =
                Vec::with_capacity(map.len());
            for (k, v) in map {
                let text = match crate::typed::json_key(k) {
                    text if text == "null" && crate::typed::is_typed_key(k) => {
                        std::borrow::Cow::Borrowed(options.none_key)
                    }
                    text => text,
                };
                if typed && let Some(entry) = entries.iter_mut().find(|(seen, _)| *seen == text) {
                    entry.1 = v;
                    continue;
                }
                entries.push((text, v));
            }
            if options.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                separator(out, i, indent, depth + 1);
                write_string(out, &k, options.ensure_ascii);
                out.push_str(": ");
                write_value(out, v, options, depth + 1);
            }
            close(out, indent, depth);
            out.push('}');
        }
    }
}

fn separator(out: &mut String, index: usize, indent: Option<usize>, depth: usize) {
    match indent {
        Some(width) => {
            if index > 0 {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(width * depth));
        }
        None if index > 0 => out.push_str(", "),
        None => {}
    }
}

fn close(out: &mut String, indent: Option<usize>, depth: usize) {
    if let Some(width) = indent {
        out.push('\n');
        out.push_str(&" ".repeat(width * depth));
    }
}

fn write_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if ensure_ascii && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's name for a JSON value's type, as Ansible's messages use it (`dict`, `NoneType`).
pub fn python_type_name(value: &Value) -> &'static str {
    if crate::typed::special_float(value).is_some() {
        return "float";
    }
    if crate::typed::big_int(value).is_some() {
        return "int";
    }
    if let Some(stamp) = crate::typed::Stamp::from_json(value) {
        return if stamp.time.is_some() {
            "datetime"
        } else {
            "date"
        };
    }
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `str()` of a value: strings bare, everything else as `repr()`.
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => crate::typed::str_scalar(other).unwrap_or_else(|| python_repr(other)),
    }
}

/// Python's `repr()` of a JSON value (`{'a': [1, True, None]}`).
pub fn python_repr(value: &Value) -> String {
    if let Some(text) = crate::typed::repr_scalar(value) {
        return text;
    }
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{}\"", s.replace('\\', "\\\\"))
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    crate::typed::repr_key(k)
                        .unwrap_or_else(|| python_repr(&Value::String(k.clone()))),
                    python_repr(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_reprs() {
        assert_eq!(
            python_repr(&json!({"a": [1, true, null], "b": "it's"})),
            r#"{'a': [1, True, None], 'b': "it's"}"#
        );
        assert_eq!(python_str(&json!("x")), "x");
    }

    #[test]
    fn compact_uses_python_separators() {
        let v = json!({"b": [1, 2.0, "x"], "a": {"ü": null}});
        assert_eq!(
            dumps(&v, None, false),
            r#"{"b": [1, 2.0, "x"], "a": {"ü": null}}"#
        );
        assert_eq!(
            dumps(&v, None, true),
            r#"{"a": {"ü": null}, "b": [1, 2.0, "x"]}"#
        );
    }

    #[test]
    fn indented_matches_json_dumps_indent_4() {
        let v = json!({"msg": "hi\n", "empty": [], "list": [1]});
        assert_eq!(
            dumps(&v, Some(4), true),
            "{\n    \"empty\": [],\n    \"list\": [\n        1\n    ],\n    \"msg\": \"hi\\n\"\n}"
        );
    }
}
