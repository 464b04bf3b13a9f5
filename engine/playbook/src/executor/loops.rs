//! The items of a loop: `loop:` as given, and the `with_<lookup>` forms as Ansible's lookups shape them.

use crate::playbook::{LoopControl, LoopKind, LoopSource};
use crate::template::{Templar, TemplateError};
use serde_json::{Value, json};

/// Renders a loop's source and turns it into its items.
pub fn items(
    source: &LoopSource,
    templar: &Templar,
    vars: &minijinja::Value,
) -> Result<Vec<Value>, TemplateError> {
    let failed = |message: String| TemplateError {
        message,
        ..TemplateError::default()
    };
    let rendered = templar.render_value(&source.value, vars)?;
    if source.kind == LoopKind::Fileglob {
        let var = |name: &str| {
            vars.get_attr(name)
                .ok()
                .and_then(|v| v.as_str().map(std::path::PathBuf::from))
        };
        let bases: Vec<std::path::PathBuf> = [var("role_path"), var("playbook_dir")]
            .into_iter()
            .flatten()
            .collect();
        let patterns: Vec<String> = match &rendered {
            Value::Array(items) => items.iter().map(crate::pyjson::python_str).collect(),
            other => vec![crate::pyjson::python_str(other)],
        };
        return crate::template::fileglob(&patterns, &bases)
            .map(|files| files.into_iter().map(Value::String).collect())
            .map_err(failed);
    }
    if let (LoopKind::Lookup, Some(name)) = (source.kind, &source.lookup) {
        let ctx = minijinja::context! {
            ..vars.clone(),
            ..minijinja::context! { __with_lookup => name, __with_terms => crate::template::to_jinja(&rendered) }
        };
        let expr = format!(
            "{}(__with_lookup, __with_terms)",
            crate::template::WITH_LOOKUP
        );
        return match templar.eval(&expr, &ctx)? {
            Value::Array(items) => Ok(items),
            other => Ok(vec![other]),
        };
    }
    shape(source.kind, rendered).map_err(failed)
}

/// How an item is shown (`(item=...)`): its `loop_control.label` rendered with the item's variables, else the
/// item as Python prints it; a label that cannot be rendered shows why.
pub(super) fn label(
    templar: &Templar,
    control: &LoopControl,
    item: &Value,
    ctx: &minijinja::Value,
) -> String {
    match &control.label {
        Some(label) => templar
            .render_value(label, ctx)
            .map_or_else(|e| e.message, |v| crate::pyjson::python_str(&v)),
        None => crate::pyjson::python_str(item),
    }
}

/// What a `no_log` task shows for an item instead of its label.
pub(super) const CENSORED_LABEL: &str = "(censored due to no_log)";

/// How ansible-core 2.19's message for a `loop` that is no list begins (the Python type follows).
pub(super) const NOT_A_LIST: &str = "The `loop` value must resolve to a 'list', not";

fn shape(kind: LoopKind, value: Value) -> Result<Vec<Value>, String> {
    match kind {
        LoopKind::Loop => match value {
            Value::Array(items) => Ok(items),
            // ansible-core 2.19's words, naming the Python type.
            other => Err(format!(
                "{NOT_A_LIST} '{}'.",
                crate::pyjson::python_type_name(&other)
            )),
        },
        LoopKind::List => Ok(match value {
            Value::Array(items) => items,
            other => vec![other],
        }),
        LoopKind::Items => Ok(match value {
            // with_items flattens one level.
            Value::Array(items) => items
                .into_iter()
                .flat_map(|i| match i {
                    Value::Array(inner) => inner,
                    other => vec![other],
                })
                .collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        }),
        LoopKind::IndexedItems => Ok(shape(LoopKind::Items, value)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| json!([i, v]))
            .collect()),
        LoopKind::Dict => match value {
            Value::Object(map) => Ok(map
                .into_iter()
                .map(|(k, v)| json!({"key": crate::typed::key_value(&k), "value": v}))
                .collect()),
            other => Err(format!(
                "with_dict expects a dict, got {}",
                crate::pyjson::python_str(&other)
            )),
        },
        LoopKind::Together => Ok(crate::template::zip_longest(
            &lists_of(value, "with_together")?,
            &Value::Null,
        )
        .into_iter()
        .map(Value::Array)
        .collect()),
        LoopKind::Nested => Ok(crate::template::cartesian(&lists_of(value, "with_nested")?)
            .into_iter()
            .map(Value::Array)
            .collect()),
        LoopKind::Sequence => sequence(&value),
        LoopKind::Subelements => crate::template::subelements_lookup(value),
        LoopKind::Flattened => {
            let mut flat = Vec::new();
            flatten_all(value, &mut flat);
            Ok(flat)
        }
        // Made with the play's variables in `items`.
        LoopKind::Fileglob | LoopKind::Lookup => Ok(Vec::new()),
    }
}

/// The `flattened` lookup: lists inside lists at any depth made one list; the text `None` or `null` ends the
/// list it is in, as that lookup's loop does.
fn flatten_all(value: Value, flat: &mut Vec<Value>) -> bool {
    match value {
        Value::Array(items) => {
            for item in items {
                if !flatten_all(item, flat) {
                    break;
                }
            }
            true
        }
        Value::String(s) if s == "None" || s == "null" => false,
        other => {
            flat.push(other);
            true
        }
    }
}

fn lists_of(value: Value, what: &str) -> Result<Vec<Vec<Value>>, String> {
    match value {
        Value::Array(lists) => Ok(lists
            .into_iter()
            .map(|l| match l {
                Value::Array(items) => items,
                other => vec![other],
            })
            .collect()),
        _ => Err(format!(
            "{what} requires at least one element in the nested list"
        )),
    }
}

/// `with_sequence`: `start=1 end=10 stride=2 format=web%02d`, `count=3`, or the `1-10/2:fmt` shortcut.
fn sequence(value: &Value) -> Result<Vec<Value>, String> {
    let terms = match value {
        Value::Array(items) => items
            .iter()
            .map(crate::pyjson::python_str)
            .collect::<Vec<_>>(),
        other => vec![crate::pyjson::python_str(other)],
    };
    let mut out = Vec::new();
    for term in terms {
        let (mut start, mut end, mut stride, mut count, mut format) =
            (1i64, None, 1i64, None, "%d".to_string());
        let number = |s: &str| -> Result<i64, String> {
            let s = s.trim();
            let parsed = if let Some(hex) = s.strip_prefix("0x") {
                i64::from_str_radix(hex, 16)
            } else if let Some(oct) = s
                .strip_prefix("0o")
                .or_else(|| s.strip_prefix("0").filter(|r| !r.is_empty()))
            {
                i64::from_str_radix(oct, 8)
            } else {
                s.parse()
            };
            parsed.map_err(|_| format!("can't parse '{s}' as a number in with_sequence"))
        };
        if term.contains('=') {
            for word in term.split_whitespace() {
                let (k, v) = word
                    .split_once('=')
                    .ok_or_else(|| format!("can't parse arg '{word}' in with_sequence"))?;
                match k {
                    "start" => start = number(v)?,
                    "end" => end = Some(number(v)?),
                    "stride" => stride = number(v)?,
                    "count" => count = Some(number(v)?),
                    "format" => format = v.to_string(),
                    other => {
                        return Err(format!(
                            "unrecognized arguments to with_sequence: ['{other}']"
                        ));
                    }
                }
            }
        } else {
            let (range, fmt) = term
                .split_once(':')
                .map_or((term.as_str(), None), |(r, f)| (r, Some(f)));
            let (range, step) = range
                .split_once('/')
                .map_or((range, None), |(r, s)| (r, Some(s)));
            match range.split_once('-') {
                Some((s, e)) => {
                    start = number(s)?;
                    end = Some(number(e)?);
                }
                None => end = Some(number(range)?),
            }
            if let Some(step) = step {
                stride = number(step)?;
            }
            if let Some(fmt) = fmt {
                format = fmt.to_string();
            }
        }
        let end = match (end, count) {
            (Some(_), Some(_)) => {
                return Err("can't specify both count and end in with_sequence".into());
            }
            (Some(e), None) => e,
            (None, Some(0)) => continue,
            (None, Some(c)) => start + (c - 1) * stride,
            (None, None) => return Err("must specify count or end in with_sequence".into()),
        };
        if stride == 0 {
            continue;
        }
        if (stride > 0 && end < start) || (stride < 0 && end > start) {
            return Err("to count backwards make stride negative".into());
        }
        let mut i = start;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            out.push(Value::String(printf_int(&format, i)));
            i += stride;
        }
    }
    Ok(out)
}

/// Python's `format % i` for the integer conversions with_sequence formats use (`%d`, `%02d`, `%x`, `%o`).
fn printf_int(format: &str, value: i64) -> String {
    let Some(pos) = format.find('%') else {
        return format.to_string();
    };
    let rest = &format[pos + 1..];
    let spec_len = rest
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or(rest.len(), |i| i + 1);
    let (spec, tail) = rest.split_at(spec_len);
    let conversion = spec.chars().last().unwrap_or('d');
    let flags = &spec[..spec.len().saturating_sub(1)];
    let zero = flags.starts_with('0');
    let width: usize = flags.trim_start_matches('0').parse().unwrap_or(0);
    let digits = match conversion {
        'x' => format!("{value:x}"),
        'X' => format!("{value:X}"),
        'o' => format!("{value:o}"),
        _ => value.to_string(),
    };
    let padded = if zero {
        format!("{digits:0>width$}")
    } else {
        format!("{digits:>width$}")
    };
    format!("{}{padded}{}", &format[..pos], tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_items_flattens_one_level_and_loop_does_not() {
        let v = json!([1, [2, 3], [[4]]]);
        assert_eq!(
            shape(LoopKind::Items, v.clone()).expect("ok"),
            vec![json!(1), json!(2), json!(3), json!([4])]
        );
        assert_eq!(shape(LoopKind::Loop, v).expect("ok").len(), 3);
        assert!(shape(LoopKind::Loop, json!("x")).is_err());
    }

    #[test]
    fn dict_together_nested() {
        assert_eq!(
            shape(LoopKind::Dict, json!({"a": 1})).expect("ok"),
            vec![json!({"key": "a", "value": 1})]
        );
        assert_eq!(
            shape(
                LoopKind::Flattened,
                json!([[1, [2, [3]]], 4, [5, "None", 6], 7])
            )
            .expect("ok"),
            vec![json!(1), json!(2), json!(3), json!(4), json!(5), json!(7)]
        );
        assert_eq!(
            shape(LoopKind::Together, json!([[1, 2], ["a"]])).expect("ok"),
            vec![json!([1, "a"]), json!([2, null])]
        );
        assert_eq!(
            shape(LoopKind::Nested, json!([[1, 2], ["a", "b"]]))
                .expect("ok")
                .len(),
            4
        );
    }

    #[test]
    fn sequences_as_ansible_writes_them() {
        let seq = |s: &str| sequence(&json!(s)).expect("valid");
        assert_eq!(
            seq("start=1 end=3"),
            vec![json!("1"), json!("2"), json!("3")]
        );
        assert_eq!(
            seq("start=0 end=10 stride=5 format=web%02d"),
            vec![json!("web00"), json!("web05"), json!("web10")]
        );
        assert_eq!(seq("count=2"), vec![json!("1"), json!("2")]);
        assert_eq!(seq("4-8/2"), vec![json!("4"), json!("6"), json!("8")]);
        assert!(sequence(&json!("start=5 end=1")).is_err());
    }
}
