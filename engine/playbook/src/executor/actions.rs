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
/// `include_vars`: a file (`file`, or the free-form name) or every variables file of a directory (`dir`,
/// with `depth`, `files_matching`, `ignore_files`, `extensions`, `ignore_unknown_extensions`), under `name`
/// if given. A relative file is looked for in the role's `vars/` and the role, then in the playbook's
/// `vars/` and directory; a relative directory is in the role's `vars/` (or the playbook's directory), as
/// ansible-core's action finds them.
fn include_vars(args: &Map<String, Value>, vars: &minijinja::Value) -> Value {
    const DIR_ARGS: &[&str] = &[
        "dir",
        "depth",
        "files_matching",
        "ignore_files",
        "extensions",
        "ignore_unknown_extensions",
    ];
    let text = |name: &str| args.get(name).map(crate::pyjson::python_str);
    let dir_given = args.keys().any(|k| DIR_ARGS.contains(&k.as_str()));
    let file_given = args.contains_key("file") || args.contains_key("_raw_params");
    if let Some(other) = args.keys().find(|k| {
        !DIR_ARGS.contains(&k.as_str())
            && !matches!(
                k.as_str(),
                "file" | "_raw_params" | "name" | "hash_behaviour"
            )
    }) {
        return json!({"failed": true, "msg": format!("{other} is not a valid option in include_vars")});
    }
    if dir_given && file_given {
        return json!({"failed": true, "msg": "You are mixing file only and dir only arguments, these are incompatible"});
    }
    let path_var = |name: &str| {
        vars.get_attr(name)
            .ok()
            .and_then(|d| d.as_str().map(std::path::PathBuf::from))
    };
    let playbook_dir = path_var("playbook_dir").unwrap_or_default();
    let role_path = path_var("role_path");
    let (mut facts, files) = if dir_given {
        match include_vars_dir(args, &playbook_dir, role_path.as_deref()) {
            Ok(found) => found,
            Err(message) => return json!({"failed": true, "message": message, "msg": message}),
        }
    } else {
        let Some(file) = text("file").or_else(|| text("_raw_params")) else {
            return json!({"failed": true, "msg": "No file was specified"});
        };
        let file = file.trim().to_string();
        let mut candidates = Vec::new();
        if let Some(role) = &role_path {
            candidates.push(role.join("vars").join(&file));
            candidates.push(role.join(&file));
        }
        candidates.push(playbook_dir.join("vars").join(&file));
        candidates.push(playbook_dir.join(&file));
        let Some(path) = candidates.into_iter().find(|p| p.is_file()) else {
            return json!({"failed": true, "msg": format!("Could not find or access '{file}'")});
        };
        match vars_file_mapping(&path) {
            Ok(map) => (map, vec![path.display().to_string()]),
            Err(message) => return json!({"failed": true, "msg": message}),
        }
    };
    if let Some(Value::String(name)) = args.get("name") {
        let mut named = Map::new();
        named.insert(name.clone(), Value::Object(facts));
        facts = named;
    }
    json!({"ansible_facts": facts, "ansible_included_var_files": files, "changed": false})
}

/// A variables file's mapping (an empty file is an empty one).
fn vars_file_mapping(path: &std::path::Path) -> Result<Map<String, Value>, String> {
    let text = match crate::vault::read_to_string(path) {
        Ok(text) => text,
        Err(e) if crate::vault::is_vault_error(&e) => {
            return Err(format!("{e} ({})", path.display()));
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let source = crate::diag::SourceFile::new(path.display().to_string(), text);
    match crate::yaml::parse(&source)
        .map_err(|e| e.to_string())?
        .to_json()
    {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(format!(
            "{} must be stored as a dictionary/hash",
            path.display()
        )),
    }
}

/// `include_vars: dir=...`: the files of the directory, by directory then by name, down to `depth` (0 is
/// all), merged in that order; with the files read.
fn include_vars_dir(
    args: &Map<String, Value>,
    playbook_dir: &std::path::Path,
    role_path: Option<&std::path::Path>,
) -> Result<(Map<String, Value>, Vec<String>), String> {
    let text = |name: &str| args.get(name).map(crate::pyjson::python_str);
    let dir = text("dir").unwrap_or_default();
    let source = match role_path {
        Some(role) if dir.split('/').next() == Some("vars") && role.join(&dir).exists() => {
            role.join(&dir)
        }
        Some(role) if dir.split('/').next() != Some("vars") => role.join("vars").join(&dir),
        _ => playbook_dir.join(&dir),
    };
    if !source.exists() {
        return Err(format!("{} directory does not exist", source.display()));
    }
    if !source.is_dir() {
        return Err(format!("{} is not a directory", source.display()));
    }
    let depth = args.get("depth").and_then(Value::as_u64).unwrap_or(0) as usize;
    let pattern = |name: &str| -> Result<Option<regex::Regex>, String> {
        text(name)
            .map(|p| regex::Regex::new(&p).map_err(|_| format!("Invalid regular expression: {p}")))
            .transpose()
    };
    let matching = pattern("files_matching")?;
    let ignored: Vec<regex::Regex> = match args.get("ignore_files") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|p| {
                let p = crate::pyjson::python_str(p);
                regex::Regex::new(&format!("{p}$"))
                    .map_err(|_| format!("Invalid regular expression: {p}"))
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(s)) => s
            .split_whitespace()
            .map(|p| {
                regex::Regex::new(&format!("{p}$"))
                    .map_err(|_| format!("Invalid regular expression: {p}"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "{} must be a list",
                crate::pyjson::python_str(other)
            ));
        }
    };
    let extensions: Vec<String> = match args.get("extensions") {
        Some(Value::Array(items)) => items.iter().map(crate::pyjson::python_str).collect(),
        _ => ["yaml", "yml", "json"].map(String::from).to_vec(),
    };
    let skip_unknown = args
        .get("ignore_unknown_extensions")
        .is_some_and(crate::template::truthy);
    // Every directory with its files, sorted by directory path as ansible-core sorts its walk.
    let mut walk: Vec<(std::path::PathBuf, Vec<String>)> = Vec::new();
    let mut pending = vec![source.clone()];
    while let Some(current) = pending.pop() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        files.sort();
        walk.push((current, files));
    }
    walk.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    let mut facts = Map::new();
    let mut read = Vec::new();
    for (root, files) in walk {
        let level = root
            .strip_prefix(&source)
            .map_or(0, |r| r.components().count())
            + 1;
        if depth != 0 && level > depth {
            continue;
        }
        for name in files {
            let path = root.join(&name);
            // A role's own vars/main.yml is the role's already.
            if role_path.is_some_and(|r| path == r.join("vars").join("main.yml")) {
                continue;
            }
            if matching.as_ref().is_some_and(|m| !m.is_match(&name))
                || ignored.iter().any(|i| i.is_match(&name))
            {
                continue;
            }
            let extension = std::path::Path::new(&name)
                .extension()
                .map(|e| e.to_string_lossy().into_owned());
            if !extension.is_some_and(|e| extensions.contains(&e)) {
                if skip_unknown {
                    continue;
                }
                return Err(format!(
                    "{} does not have a valid extension: {}",
                    path.display(),
                    extensions.join(", ")
                ));
            }
            facts.extend(vars_file_mapping(&path)?);
            read.push(path.display().to_string());
        }
    }
    Ok((facts, read))
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
