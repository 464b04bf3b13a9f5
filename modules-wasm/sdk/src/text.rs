//! Ansible's `str` argument type: a value that is not a string becomes Python's `str()` of what the module's
//! JSON gives (`1.5`, `True`, `{'80': 'http'}`), as ansible-core's `check_type_str` converts the arguments of
//! modules written in Python. Use with `#[serde(default, deserialize_with = "...")]`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Python's `str()` of a JSON value: strings as they are, anything else as `repr()`.
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// Python's `repr()` of a JSON value (`{'a': [1, True, None]}`).
pub fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) => match n.as_f64() {
            // Python writes a float with no fraction as `1.0`.
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
            _ => n.to_string(),
        },
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{}\"", s.replace('\\', "\\\\"))
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        python_repr(&Value::String(k.clone())),
                        python_repr(v)
                    )
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// An optional `str` argument; `null` is no value.
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        other => Some(python_str(&other)),
    })
}

/// An optional `list` argument of `str` elements; a single value is a list of one, as Ansible's `list` type
/// makes it.
pub fn optional_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::Array(items) => Some(items.iter().map(python_str).collect()),
        other => Some(vec![python_str(&other)]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_become_what_python_str_gives() {
        assert_eq!(python_str(&json!(1.5)), "1.5");
        assert_eq!(python_str(&json!(2.0)), "2.0");
        assert_eq!(python_str(&json!(true)), "True");
        assert_eq!(
            python_str(&json!({"80": "http", "x": [1, null, "it's"]})),
            r#"{'80': 'http', 'x': [1, None, "it's"]}"#
        );
    }
}
