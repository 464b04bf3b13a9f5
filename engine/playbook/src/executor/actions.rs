//! The actions that run on the controller, as Ansible's action plugins do: `debug`, `set_fact`, `assert`, `fail`,
//! `include_vars`, and the inventory's `add_host` and `group_by` (whose results the executor applies to the
//! inventory, as ansible-core's strategy does).

use crate::template::Templar;
use serde_json::{Map, Value, json};

/// A controller action's result, or a message for a failed one.
pub fn run(
    action: &str,
    args: &Map<String, Value>,
    raw_args: &Map<String, Value>,
    vars: &minijinja::Value,
    templar: &Templar,
    verbosity: u8,
) -> Value {
    match action {
        "debug" => debug(args, raw_args, vars, templar, verbosity),
        "set_fact" => set_fact(args),
        "include_vars" => include_vars(args, vars),
        "assert" => assert(args, raw_args, vars, templar),
        "add_host" => add_host(args),
        "group_by" => group_by(args),
        // The message is the value given, a mapping or a list as it is.
        "fail" => {
            let msg = args
                .get("msg")
                .cloned()
                .unwrap_or_else(|| json!("Failed as requested from task"));
            json!({"changed": false, "failed": true, "msg": msg})
        }
        other => json!({"failed": true, "msg": format!("{other} is not a controller action")}),
    }
}

/// A list argument given as a list or as a comma-separated string.
fn list_arg(value: Option<&Value>) -> Vec<String> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(other) => text(other)
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

/// `add_host: name=... groups=... VAR=VALUE`: what to add; the executor adds it.
fn add_host(args: &Map<String, Value>) -> Value {
    let name_keys = ["name", "host", "hostname"];
    let Some(name) = name_keys.iter().find_map(|k| args.get(*k)).map(text) else {
        return json!({"failed": true, "msg": "missing required arguments: name"});
    };
    let group_keys = ["groups", "group", "groupname"];
    let groups = list_arg(group_keys.iter().find_map(|k| args.get(*k)));
    let host_vars: Map<String, Value> = args
        .iter()
        .filter(|(k, _)| !name_keys.contains(&k.as_str()) && !group_keys.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    json!({
        "changed": false,
        "add_host": {"host_name": name, "groups": groups, "host_vars": host_vars},
    })
}

/// `group_by: key=... parents=...`: the group to put the host in (spaces become dashes, as in Ansible).
fn group_by(args: &Map<String, Value>) -> Value {
    let Some(key) = args.get("key").map(text) else {
        return json!({"failed": true, "msg": "the 'key' param is required when using group_by"});
    };
    let mut parents = list_arg(args.get("parents"));
    if parents.is_empty() {
        parents.push("all".into());
    }
    json!({"changed": false, "add_group": key.replace(' ', "-"), "parent_groups": parents})
}

/// The failure for arguments an action does not take, every one named as ansible-core's argument spec does
/// (sorted; `known` is sorted too).
pub(super) fn unsupported(
    module: &str,
    args: &Map<String, Value>,
    known: &[&str],
) -> Option<Value> {
    let mut unknown: Vec<String> = args
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| crate::typed::json_key(k).into_owned())
        .collect();
    if unknown.is_empty() {
        return None;
    }
    unknown.sort();
    Some(
        json!({"failed": true, super::ARGUMENT_SPEC_FAILURE: true, "msg": format!(
            "Unsupported parameters for ({module}) module: {}. Supported parameters include: {}.",
            unknown.join(", "),
            known.join(", ")
        )}),
    )
}

/// An argument as text: Python's `str()` of it.
fn text(value: &Value) -> String {
    crate::pyjson::python_str(value)
}

fn debug(
    args: &Map<String, Value>,
    raw_args: &Map<String, Value>,
    vars: &minijinja::Value,
    templar: &Templar,
    verbosity: u8,
) -> Value {
    if let Some(refused) = unsupported("debug", args, &["msg", "var", "verbosity"]) {
        return refused;
    }
    let wanted = args
        .get("verbosity")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(0);
    if u64::from(verbosity) < wanted {
        return json!({"changed": false, "skipped": true, "skipped_reason": "Verbosity threshold not met."});
    }
    if args.contains_key("msg") && args.contains_key("var") {
        return json!({"failed": true, "msg": "parameters are mutually exclusive: msg|var"});
    }
    // `var` names an expression; it is evaluated, not its rendered text, as Ansible does.
    if let Some(Value::String(expr)) = raw_args.get("var") {
        let mut result = Map::new();
        let value = match templar.eval(expr, vars) {
            Ok(v) => v,
            // An expression that does not parse fails the task; any other error ansible-core 2.19 shows in
            // place of the value, and warns about it.
            Err(e) if e.message.starts_with("Syntax error in") => {
                let cause = format!("Error while resolving `var` expression: {}", e.message);
                return super::host::failed_because(
                    format!("Task failed: {cause}"),
                    "Task failed.",
                    cause,
                    "args.var",
                );
            }
            Err(e) => {
                result.insert(TEMPLATE_ERROR.into(), json!(e.message));
                Value::String(format!("<< error 1 - {} >>", e.message))
            }
        };
        result.insert(expr.clone(), value);
        result.insert("changed".into(), Value::Bool(false));
        result.insert("_ansible_verbose_always".into(), Value::Bool(true));
        return Value::Object(result);
    }
    let msg = args
        .get("msg")
        .cloned()
        .unwrap_or_else(|| json!("Hello world!"));
    json!({"msg": msg, "changed": false, "_ansible_verbose_always": true})
}

/// The internal key of a `debug` result whose `var` could not be evaluated: the executor warns of it where
/// `var` is written.
pub(super) const TEMPLATE_ERROR: &str = "_playbook_template_error";

fn set_fact(args: &Map<String, Value>) -> Value {
    let mut facts = args.clone();
    let cacheable = facts
        .remove("cacheable")
        .is_some_and(|c| crate::template::boolean(&c).unwrap_or(false));
    if facts.is_empty() {
        return json!({"failed": true, "msg": "No key/value pairs provided, at least one is required for this action to succeed"});
    }
    // ansible-core's `validate_variable_name`: a name YAML read as a number or a boolean is shown with its
    // type.
    if let Some(bad) = facts.keys().find(|k| !crate::template::is_identifier(k)) {
        let value = crate::typed::key_value(bad);
        let name = crate::pyjson::python_str(&value);
        let of_type = match crate::typed::is_typed_key(bad) {
            true => format!(" of type '{}'", crate::pyjson::python_type_name(&value)),
            false => String::new(),
        };
        return json!({"failed": true, "msg": format!("Invalid variable name '{name}'{of_type}.")});
    }
    json!({"changed": false, "ansible_facts": facts, "_ansible_facts_cacheable": cacheable})
}

/// `include_vars: file` (relative to the playbook's directory), optionally under `name`.
fn include_vars(args: &Map<String, Value>, vars: &minijinja::Value) -> Value {
    let Some(file) = args
        .get("file")
        .or_else(|| args.get("_raw_params"))
        .and_then(Value::as_str)
    else {
        return json!({"failed": true, "msg": "include_vars needs a file (dir is not supported yet)"});
    };
    let base = vars
        .get_attr("playbook_dir")
        .ok()
        .and_then(|d| d.as_str().map(std::path::PathBuf::from))
        .unwrap_or_default();
    let path = base.join(file);
    let text = match crate::vault::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if crate::vault::is_vault_error(&e) => {
            return json!({"failed": true, "msg": format!("{e} ({})", path.display())});
        }
        Err(_) => {
            return json!({"failed": true, "msg": format!("Could not find or access '{file}'")});
        }
    };
    let source = crate::diag::SourceFile::new(path.display().to_string(), text);
    let loaded = match crate::yaml::parse(&source) {
        Ok(node) => node.to_json(),
        Err(e) => return json!({"failed": true, "msg": e.to_string()}),
    };
    let mut facts = match loaded {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => {
            return json!({"failed": true, "msg": format!("{file} must be stored as a dictionary/hash")});
        }
    };
    if let Some(Value::String(name)) = args.get("name") {
        let mut named = Map::new();
        named.insert(name.clone(), Value::Object(facts));
        facts = named;
    }
    json!({"ansible_facts": facts, "ansible_included_var_files": [path.display().to_string()], "changed": false})
}

fn assert(
    args: &Map<String, Value>,
    raw_args: &Map<String, Value>,
    vars: &minijinja::Value,
    templar: &Templar,
) -> Value {
    let Some(that) = raw_args.get("that") else {
        return json!({"failed": true, "msg": "conditional required in \"that\" string"});
    };
    let conditions: Vec<Value> = match that {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let quiet = args.get("quiet").is_some_and(crate::template::truthy);
    for (i, cond) in conditions.iter().enumerate() {
        match templar.condition(cond, vars) {
            Ok(true) => {}
            Ok(false) => {
                let msg = args
                    .get("fail_msg")
                    .or_else(|| args.get("msg"))
                    .cloned()
                    .unwrap_or_else(|| json!("Assertion failed"));
                return json!({"assertion": cond, "changed": false, "evaluated_to": false, "failed": true, "msg": msg, "_ansible_verbose_always": true});
            }
            Err(e) => {
                let at = match that {
                    Value::Array(_) => format!("args.that.{i}"),
                    _ => "args.that".to_string(),
                };
                return super::host::conditional_failed(&at, &e).1;
            }
        }
    }
    let msg = args
        .get("success_msg")
        .cloned()
        .unwrap_or_else(|| json!("All assertions passed"));
    if quiet {
        json!({"changed": false, "msg": msg, "_ansible_verbose_always": false})
    } else {
        json!({"changed": false, "msg": msg, "_ansible_verbose_always": true})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(v: Value) -> minijinja::Value {
        crate::template::to_jinja(&v)
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn debug_var_evaluates_the_expression() {
        let t = Templar::new();
        let args = map(json!({"var": "x.y"}));
        let r = run("debug", &args, &args, &ctx(json!({"x": {"y": 5}})), &t, 0);
        assert_eq!(r["x.y"], json!(5));
        let args = map(json!({"var": "nope"}));
        let r = run("debug", &args, &args, &ctx(json!({})), &t, 0);
        assert_eq!(r["nope"], json!("<< error 1 - 'nope' is undefined >>"));
    }

    #[test]
    fn assert_reports_the_failing_condition() {
        let t = Templar::new();
        let args = map(json!({"that": ["x == 1", "x == 2"], "fail_msg": "bad"}));
        let r = run("assert", &args, &args, &ctx(json!({"x": 1})), &t, 0);
        assert_eq!(r["failed"], json!(true));
        assert_eq!(r["assertion"], json!("x == 2"));
        assert_eq!(r["msg"], json!("bad"));
        let args = map(json!({"that": "x == 1"}));
        let r = run("assert", &args, &args, &ctx(json!({"x": 1})), &t, 0);
        assert_eq!(r["msg"], json!("All assertions passed"));
    }

    #[test]
    fn set_fact_checks_names() {
        let r = run(
            "set_fact",
            &map(json!({"1x": 1})),
            &Map::new(),
            &ctx(json!({})),
            &Templar::new(),
            0,
        );
        assert_eq!(r["failed"], json!(true));
        let r = run(
            "set_fact",
            &map(json!({"a": 1})),
            &Map::new(),
            &ctx(json!({})),
            &Templar::new(),
            0,
        );
        assert_eq!(r["ansible_facts"]["a"], json!(1));
    }
}
