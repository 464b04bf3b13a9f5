//! Executable inventory sources, run as Ansible's `script` inventory plugin runs them.
//!
//! `SCRIPT --list` prints a JSON object of groups, each `{"hosts": [...], "vars": {...}, "children": [...]}`
//! (a bare list means its hosts; an object with none of those keys is, as Ansible still accepts, a group whose
//! only host is the group name and whose variables are that object). `_meta.hostvars` maps hosts to their
//! variables; without `_meta`, `SCRIPT --host NAME` is run for each host. Host names are taken as they are
//! (no `name:port` parsing). Ansible tries this plugin before YAML and INI for every executable file; the
//! caller falls back to those when the script fails.

use super::{Inventory, Origin};
use serde_json::{Map, Value};
use std::path::Path;
use std::process::Command;

/// Why an inventory script gave no inventory; the messages are Ansible's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    /// The file could not be started (no interpreter line, not executable, ...).
    #[error("Failed to execute inventory script command '{command}'")]
    Spawn {
        /// The command line.
        command: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The script exited with a status other than 0 (a signal counts as its negative number, as in Python).
    #[error(
        "Inventory script returned non-zero exit code {code}.{}",
        stderr_help(stderr)
    )]
    Status {
        /// The exit code.
        code: i32,
        /// What it printed on standard error.
        stderr: String,
    },
    /// Its output is not UTF-8 or not JSON.
    #[error(
        "Inventory script result{} could not be parsed as JSON: {detail}{}",
        for_host(host),
        stderr_help(stderr)
    )]
    Json {
        /// The host of a `--host` run.
        host: Option<String>,
        /// The JSON error.
        detail: String,
        /// What it printed on standard error.
        stderr: String,
    },
    /// The JSON has the wrong shape (`hosts` not a list, `_meta` not a mapping, ...).
    #[error("{detail}")]
    Shape {
        /// Ansible's description of the problem.
        detail: String,
    },
}

fn stderr_help(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!(
            "\nStandard error from inventory script:\n{}",
            stderr.trim_end()
        )
    }
}

fn for_host(host: &Option<String>) -> String {
    host.as_ref()
        .map(|h| format!(" for host '{h}'"))
        .unwrap_or_default()
}

fn wrong_type(what: &str, value: &Value, expected: &str) -> ScriptError {
    ScriptError::Shape {
        detail: format!(
            "Value contains '{what}' which is '{}' instead of '{expected}'.",
            crate::pyjson::python_type_name(value)
        ),
    }
}

/// True when the file has an execute bit for us (`os.access(path, X_OK)`).
pub(super) fn is_executable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is a valid NUL-terminated string that lives across the call.
    path.is_file() && unsafe { libc::access(c_path.as_ptr(), libc::X_OK) } == 0
}

/// Runs `script` with `args` and returns its standard output as JSON.
fn run(script: &Path, args: &[&str], host: Option<&str>) -> Result<Value, ScriptError> {
    // A script just written may still be open for writing in a process forked meanwhile (ETXTBSY) for a
    // moment: try again briefly before calling it not startable.
    let mut tries = 0;
    let output = loop {
        match Command::new(script).args(args).output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 5 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20 * tries));
            }
            other => break other,
        }
    }
    .map_err(|source| ScriptError::Spawn {
        command: std::iter::once(script.display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .collect::<Vec<_>>()
            .join(" "),
        source,
    })?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        use std::os::unix::process::ExitStatusExt;
        let code = output
            .status
            .code()
            .or_else(|| output.status.signal().map(|s| -s))
            .unwrap_or(-1);
        return Err(ScriptError::Status { code, stderr });
    }
    let json_error = |detail: String| ScriptError::Json {
        host: host.map(str::to_string),
        detail,
        stderr: stderr.clone(),
    };
    let text = String::from_utf8(output.stdout).map_err(|_| {
        json_error("it contains characters that cannot be interpreted as UTF-8".into())
    })?;
    if host.is_some() && text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str(&text).map_err(|e| json_error(e.to_string()))
}

/// Adds what `script --list` (and `--host`) describe to the inventory.
pub(super) fn load(inv: &mut Inventory, script: &Path, origin: &Origin) -> Result<(), ScriptError> {
    let Value::Object(groups) = run(script, &["--list"], None)? else {
        return Err(ScriptError::Json {
            host: None,
            detail: "the result is not a JSON object".into(),
            stderr: String::new(),
        });
    };
    let mut meta: Option<&Map<String, Value>> = None;
    let mut hosts: Vec<String> = Vec::new();
    for (name, data) in &groups {
        if name == "_meta" {
            let Value::Object(m) = data else {
                return Err(wrong_type("_meta", data, "dict"));
            };
            if let Some(profile) = m.get("profile") {
                match profile.as_str() {
                    Some(p) if p.starts_with("inventory_") => {}
                    Some(p) => {
                        return Err(ScriptError::Shape {
                            detail: format!("Non-inventory profile '{p}' is not allowed."),
                        });
                    }
                    None => return Err(wrong_type("_meta.profile", profile, "str")),
                }
            }
            match m.get("hostvars") {
                Some(Value::Object(hostvars)) => meta = Some(hostvars),
                other => {
                    return Err(wrong_type(
                        "_meta.hostvars",
                        other.unwrap_or(&Value::Null),
                        "dict",
                    ));
                }
            }
        } else {
            add_group(inv, name, data, origin, &mut hosts)?;
        }
    }
    for host in &hosts {
        let vars = match meta {
            Some(hostvars) => hostvars
                .get(host)
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
            None => run(script, &["--host", host], Some(host))?,
        };
        let Value::Object(vars) = vars else {
            return Err(wrong_type(&format!("_meta.hostvars.{host}"), &vars, "dict"));
        };
        for (key, value) in vars {
            inv.set_host_var(host, &key, value);
        }
    }
    Ok(())
}

/// One group of the `--list` output (Ansible's `_parse_group`).
fn add_group(
    inv: &mut Inventory,
    name: &str,
    data: &Value,
    origin: &Origin,
    hosts: &mut Vec<String>,
) -> Result<(), ScriptError> {
    inv.add_group(name);
    let mut shaped = Map::new();
    let data = match data {
        Value::Object(map)
            if ["hosts", "vars", "children"]
                .iter()
                .any(|k| map.contains_key(*k)) =>
        {
            map
        }
        Value::Object(vars) => {
            shaped.insert("hosts".into(), Value::Array(vec![Value::from(name)]));
            shaped.insert("vars".into(), Value::Object(vars.clone()));
            &shaped
        }
        other => {
            shaped.insert("hosts".into(), other.clone());
            &shaped
        }
    };
    if let Some(list) = data.get("hosts") {
        let Value::Array(list) = list else {
            return Err(wrong_type(&format!("{name}.hosts"), list, "list"));
        };
        for host in list {
            let host = host
                .as_str()
                .map_or_else(|| host.to_string(), str::to_string);
            if !hosts.contains(&host) {
                hosts.push(host.clone());
            }
            inv.add_host(&host, name, None, origin);
        }
    }
    if let Some(vars) = data.get("vars") {
        let Value::Object(vars) = vars else {
            return Err(wrong_type(&format!("{name}.vars"), vars, "dict"));
        };
        for (key, value) in vars {
            inv.set_group_var(name, key, value.clone())
                .map_err(|detail| ScriptError::Shape { detail })?;
        }
    }
    if let Some(children) = data.get("children") {
        let Value::Array(children) = children else {
            return Err(wrong_type(&format!("{name}.children"), children, "list"));
        };
        for child in children {
            let child = child
                .as_str()
                .map_or_else(|| child.to_string(), str::to_string);
            inv.add_group(&child);
            inv.add_child(name, &child)
                .map_err(|detail| ScriptError::Shape { detail })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::scratch_dir;
    use super::super::{Inventory, InventoryError};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn script(dir: &Path, name: &str, body: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("temp dir is writable");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.display().to_string()
    }

    /// The error and its causes, as the CLI prints them.
    fn message(e: &InventoryError) -> String {
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            text.push_str(&format!(": {c}"));
            cause = c.source();
        }
        text
    }

    #[test]
    fn list_output_with_meta_gives_groups_hosts_and_vars() {
        // The shapes `ansible-inventory -i good.py --list` accepts (checked against ansible-core 2.19).
        let dir = scratch_dir();
        let path = script(
            &dir,
            "inv.sh",
            r#"#!/bin/sh
[ "$1" = "--list" ] || exit 9
cat <<'J'
{"web": {"hosts": ["w2", "w1:2222"], "vars": {"gv": 1}, "children": ["db"]},
 "db": ["d1"],
 "odd": {"x": 5},
 "all": {"vars": {"av": "a"}},
 "_meta": {"hostvars": {"w1:2222": {"hv": true}, "zzz": {"q": 1}}}}
J
"#,
        );
        let inv = Inventory::load(std::slice::from_ref(&path)).expect("script runs");
        let names: Vec<&str> = inv.hosts().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["w2", "w1:2222", "d1", "odd"]);
        assert_eq!(inv.group("web").expect("web").children, ["db"]);
        assert_eq!(
            inv.group("all").expect("all").children,
            ["ungrouped", "web", "odd"]
        );
        let w1 = inv.host_vars("w1:2222");
        assert_eq!(
            (w1["hv"].clone(), w1["gv"].clone(), w1["av"].clone()),
            (json!(true), json!(1), json!("a"))
        );
        assert_eq!(inv.host_vars("odd")["x"], json!(5));
        assert_eq!(
            inv.host("d1").expect("d1").vars["inventory_file"],
            json!(path)
        );
        assert!(inv.host("zzz").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_meta_each_host_is_asked_for() {
        let dir = scratch_dir();
        let path = script(
            &dir,
            "inv.sh",
            r#"#!/bin/sh
if [ "$1" = "--list" ]; then echo '{"web": {"hosts": ["w1","w2"]}}';
elif [ "$2" = "w1" ]; then echo '{"from_host": "'$2'"}'; else echo ''; fi
"#,
        );
        let inv = Inventory::load(&[path]).expect("script runs");
        assert_eq!(inv.host_vars("w1")["from_host"], json!("w1"));
        assert!(!inv.host_vars("w2").contains_key("from_host"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn failing_scripts_name_status_json_error_and_stderr() {
        let dir = scratch_dir();
        let path = script(&dir, "bad.sh", "#!/bin/sh\necho oops >&2\nexit 3\n");
        let e = Inventory::load(std::slice::from_ref(&path)).expect_err("exit 3");
        assert!(matches!(&e, InventoryError::Script { path: p, .. } if *p == path));
        let text = message(&e);
        assert!(
            text.contains("non-zero exit code 3") && text.contains("oops"),
            "{text}"
        );
        let path = script(&dir, "json.sh", "#!/bin/sh\necho '{bad'\n");
        let text = message(&Inventory::load(&[path]).expect_err("bad json"));
        assert!(
            text.contains("could not be parsed as JSON") && text.contains("line 1"),
            "{text}"
        );
        let path = script(
            &dir,
            "shape.sh",
            "#!/bin/sh\necho '{\"web\": {\"hosts\": \"w1\"}}'\n",
        );
        let text = message(&Inventory::load(&[path]).expect_err("bad shape"));
        assert!(
            text.contains("'web.hosts' which is 'str' instead of 'list'"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_executable_ini_file_falls_back_to_ini() {
        // Ansible's script plugin fails on it (no interpreter line), then the ini plugin parses it.
        let dir = scratch_dir();
        let path = script(&dir, "exec.ini", "[web]\nw1\n");
        let inv = Inventory::load(&[path]).expect("falls back");
        assert_eq!(inv.group("web").expect("web").hosts, ["w1"]);
        let path = script(&dir, "bad.ini", "[web]\nw1 oops\n");
        let text = Inventory::load(&[path]).expect_err("bad ini").to_string();
        assert!(text.contains("Expected key=value"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
