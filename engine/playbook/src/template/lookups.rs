//! Ansible's lookups as the Jinja functions `lookup(name, ...)` and `query(name, ...)`/`q(...)`: file, env,
//! template, pipe, lines, vars, first_found, items, dict, sequence, password, ini, csvfile and unvault.
//!
//! They run where the template is rendered (the controller). Relative paths start from the `playbook_dir`
//! variable, looking first in its `files/` (`templates/` for `template`) directory, as Ansible's search path does
//! for a play without roles.

use super::filters::py_str;
use super::{invalid, jvalue_to_json, to_jinja};
use minijinja::value::{Kwargs, Rest, Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};
use std::path::{Path, PathBuf};

/// The lookups there are, for `with_<lookup>` loops.
pub const LOOKUP_NAMES: &[&str] = &[
    "file",
    "env",
    "pipe",
    "lines",
    "vars",
    "items",
    "list",
    "dict",
    "sequence",
    "first_found",
    "nested",
    "together",
    "indexed_items",
    "random_choice",
    "inventory_hostnames",
    "subelements",
    "varnames",
    "fileglob",
    "template",
    "password",
    "cartesian",
    "ini",
    "csvfile",
    "unvault",
];

/// The function a `with_<lookup>` loop calls: the lookup with the loop's value as its terms (a list spread,
/// anything else as one term), as ansible-core runs it.
pub const WITH_LOOKUP: &str = "_with_lookup";

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_function(
        WITH_LOOKUP,
        |state: &State, name: String, terms: JValue| -> Result<JValue, Error> {
            let terms: Vec<JValue> = match terms.kind() {
                ValueKind::Seq | ValueKind::Iterable => terms.try_iter()?.collect(),
                _ => vec![terms],
            };
            let kwargs = Kwargs::from_iter(std::iter::empty::<(&str, JValue)>());
            Ok(JValue::from(
                run(state, &name, &terms, &kwargs)?.unwrap_or_default(),
            ))
        },
    );
    env.add_function(
        "lookup",
        |state: &State, name: String, terms: Rest<JValue>, kwargs: Kwargs| {
            let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
            let found = run(state, &name, &terms, &kwargs)?;
            let Some(found) = found else {
                return Ok(JValue::from(()));
            };
            if wantlist || found.is_empty() {
                return Ok(JValue::from(found));
            }
            if found.len() == 1 {
                return Ok(found.into_iter().next().unwrap_or_default());
            }
            // Several strings are joined with commas; anything else comes back as the list.
            if found.iter().all(|v| v.kind() == ValueKind::String) {
                let texts: Vec<&str> = found.iter().filter_map(JValue::as_str).collect();
                return Ok(JValue::from(texts.join(",")));
            }
            Ok(JValue::from(found))
        },
    );
    for name in ["query", "q"] {
        env.add_function(
            name,
            |state: &State, name: String, terms: Rest<JValue>, kwargs: Kwargs| {
                let _ = kwargs.get::<Option<bool>>("wantlist")?;
                Ok(JValue::from(
                    run(state, &name, &terms, &kwargs)?.unwrap_or_default(),
                ))
            },
        );
    }
}

/// Runs a lookup; `None` when it failed and `errors='ignore'` or `'warn'` asked to go on.
fn run(
    state: &State,
    name: &str,
    terms: &[JValue],
    kwargs: &Kwargs,
) -> Result<Option<Vec<JValue>>, Error> {
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    // Messages name the lookup as it was written (`file`, `ansible.builtin.file`), as ansible-core does.
    let short = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    if !LOOKUP_NAMES.contains(&short) {
        // Not found is not a failure of the lookup: `errors` does not apply, and there is no "failed" prefix.
        return Err(invalid(format!(
            "The lookup plugin '{name}' was not found."
        )));
    }
    let result = dispatch(state, short, terms, kwargs);
    match result {
        Ok(found) => {
            kwargs.assert_all_used()?;
            Ok(Some(found))
        }
        Err(_) if errors == "ignore" || errors == "warn" => Ok(None),
        // A variable a template file lacks is that variable's error, not the lookup's.
        Err(e) if e.kind() == minijinja::ErrorKind::UndefinedError => Err(e),
        Err(e) => Err(invalid(format!(
            "The lookup plugin '{name}' failed: {}",
            e.detail().unwrap_or_default()
        ))),
    }
}

fn dispatch(
    state: &State,
    name: &str,
    terms: &[JValue],
    kwargs: &Kwargs,
) -> Result<Vec<JValue>, Error> {
    let bases = search_bases(state);
    let base = bases.last().cloned().unwrap_or_default();
    let strings = || -> Vec<String> { terms.iter().map(py_str).collect() };
    match super::fqcn::short_lookup(name) {
        "file" => {
            let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
            let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
            strings()
                .iter()
                .map(|term| {
                    let path = find_file(&bases, Some("files"), term).ok_or_else(|| {
                        invalid(format!(
                            "Unable to access the file '{term}': File not found. Use -vvvvv to see paths searched."
                        ))
                    })?;
                    let mut text = crate::vault::read_to_string(&path)
                        .map_err(|e| invalid(format!("Unable to access the file '{term}': {e}")))?;
                    if rstrip {
                        text.truncate(text.trim_end().len());
                    }
                    if lstrip {
                        text = text.trim_start().to_string();
                    }
                    Ok(JValue::from(text))
                })
                .collect()
        }
        "env" => {
            let default = kwargs
                .get::<Option<JValue>>("default")?
                .unwrap_or(JValue::from(""));
            Ok(strings()
                .iter()
                .map(|term| {
                    let var = term.split_whitespace().next().unwrap_or_default();
                    std::env::var(var)
                        .map(JValue::from)
                        .unwrap_or_else(|_| default.clone())
                })
                .collect())
        }
        "pipe" | "lines" => {
            let mut out = Vec::new();
            for term in strings() {
                let output = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(&term)
                    .current_dir(&bases[0])
                    .stdin(std::process::Stdio::null())
                    .stderr(std::process::Stdio::inherit())
                    .output()
                    .map_err(|e| {
                        invalid(format!("lookup_plugin.{name}({term}) could not run: {e}"))
                    })?;
                if !output.status.success() {
                    let code = output.status.code().unwrap_or(-1);
                    return Err(invalid(format!(
                        "lookup_plugin.{name}({term}) returned {code}"
                    )));
                }
                let text = String::from_utf8_lossy(&output.stdout);
                if name == "pipe" {
                    out.push(JValue::from(text.trim_end()));
                } else {
                    out.extend(text.lines().map(JValue::from));
                }
            }
            Ok(out)
        }
        "vars" => {
            let default: Option<JValue> = kwargs.get("default")?;
            strings()
                .iter()
                .map(
                    |term| match state.lookup(term).filter(|v| !v.is_undefined()) {
                        Some(v) => Ok(v),
                        None => default.clone().ok_or_else(|| {
                            invalid(format!("No variable named '{term}' was found."))
                        }),
                    },
                )
                .collect()
        }
        "items" => {
            let mut out = Vec::new();
            for term in terms {
                match term.kind() {
                    ValueKind::Seq | ValueKind::Iterable => out.extend(term.try_iter()?),
                    _ => out.push(term.clone()),
                }
            }
            Ok(out)
        }
        "list" => Ok(terms.to_vec()),
        "dict" => {
            let mut out = Vec::new();
            for term in terms {
                let serde_json::Value::Object(map) = jvalue_to_json(term)? else {
                    return Err(invalid(format!(
                        "the 'dict' lookup plugin expects a dictionary, got '{term}'"
                    )));
                };
                for (k, v) in map {
                    let k = crate::typed::key_value(&k);
                    out.push(to_jinja(&serde_json::json!({"key": k, "value": v})));
                }
            }
            Ok(out)
        }
        "sequence" => {
            let mut out = Vec::new();
            let terms = if terms.is_empty() {
                vec![String::new()]
            } else {
                strings()
            };
            for term in terms {
                out.extend(sequence(&term, kwargs)?.into_iter().map(JValue::from));
            }
            Ok(out)
        }
        "first_found" => first_found(&bases, terms, kwargs),
        // The terms are lists; the lookups combine them as the with_* forms do.
        "nested" | "cartesian" => {
            let lists = term_lists(terms)?;
            if lists.is_empty() {
                return Ok(Vec::new());
            }
            Ok(super::cartesian(&lists)
                .into_iter()
                .map(JValue::from)
                .collect())
        }
        "together" => Ok(super::zip_longest(&term_lists(terms)?, &JValue::from(()))
            .into_iter()
            .map(JValue::from)
            .collect()),
        "indexed_items" => {
            let items = term_lists(terms)?.into_iter().flatten();
            Ok(items
                .enumerate()
                .map(|(i, x)| JValue::from(vec![JValue::from(i), x]))
                .collect())
        }
        "random_choice" => {
            if terms.is_empty() {
                return Ok(Vec::new());
            }
            let mut rng = super::pyrandom::PyRandom::unseeded();
            Ok(vec![terms[rng.choice(terms.len())].clone()])
        }
        // As ansible-core does: an inventory made of the `groups` variable, asked for the pattern.
        "inventory_hostnames" => {
            let groups = state.lookup("groups").unwrap_or_default();
            let mut inventory = crate::inventory::Inventory::default();
            for group in groups.try_iter()? {
                let hosts = groups.get_item(&group)?;
                let group = py_str(&group);
                for host in hosts.try_iter()? {
                    inventory.add_runtime_host(
                        &py_str(&host),
                        std::slice::from_ref(&group),
                        &serde_json::Map::new(),
                    );
                }
            }
            let mut out = Vec::new();
            for pattern in strings() {
                for host in inventory.select(&pattern).unwrap_or_default() {
                    if !out.contains(&host) {
                        out.push(host);
                    }
                }
            }
            Ok(out.into_iter().map(JValue::from).collect())
        }
        "subelements" => {
            let terms = serde_json::Value::Array(
                terms.iter().map(jvalue_to_json).collect::<Result<_, _>>()?,
            );
            Ok(subelements_lookup(terms)
                .map_err(invalid)?
                .iter()
                .map(to_jinja)
                .collect())
        }
        "varnames" => {
            let mut names: Vec<String> = Vec::new();
            let known: Vec<String> = state
                .known_variables()
                .into_iter()
                .map(|n| n.into_owned())
                // Variables, not the functions the environment adds.
                .filter(|n| {
                    !n.starts_with("__")
                        && state
                            .lookup(n)
                            .is_some_and(|v| v.kind() != ValueKind::Plain)
                })
                .collect();
            for term in strings() {
                let pattern = regex::Regex::new(&format!("^(?:{term})")).map_err(|e| {
                    invalid(format!(
                        "Unable to use \"{term}\" as a search parameter: {e}"
                    ))
                })?;
                names.extend(known.iter().filter(|n| pattern.is_match(n)).cloned());
            }
            Ok(names.into_iter().map(JValue::from).collect())
        }
        "fileglob" => Ok(fileglob(&strings(), &bases)
            .map_err(invalid)?
            .into_iter()
            .map(JValue::from)
            .collect()),
        "template" => terms
            .iter()
            .map(|t| render_template(state, &bases, &py_str(t), kwargs))
            .collect(),
        "password" => strings()
            .iter()
            .map(|t| super::password::lookup(t, &base, kwargs))
            .collect(),
        "ini" => ini_lookup(&bases, &strings(), kwargs),
        "csvfile" => csvfile_lookup(&bases, &strings(), kwargs),
        "unvault" => strings()
            .iter()
            .map(|term| {
                let path = find_file(&bases, Some("files"), term)
                    .ok_or_else(|| invalid(format!("Unable to find file matching \"{term}\"")))?;
                crate::vault::read_to_string(&path)
                    .map(JValue::from)
                    .map_err(|e| invalid(format!("Unable to access the file '{term}': {e}")))
            })
            .collect(),
        other => Err(invalid(format!(
            "The lookup plugin '{other}' was not found."
        ))),
    }
}

/// The `fileglob` lookup (and `with_fileglob`): for each pattern, the files (not directories) matching it in the first of `BASE/files/DIR`
/// and `BASE/DIR` where it matches any, bases being the role's path and the playbook's directory (as the
/// `fileglob` lookup searches); absolute patterns as they are. Paths are absolute, sorted per pattern.
pub fn fileglob(patterns: &[String], bases: &[PathBuf]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for pattern in patterns {
        let path = Path::new(&pattern);
        let dir = path.parent().unwrap_or(Path::new(""));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dirs: Vec<PathBuf> = if path.is_absolute() {
            vec![dir.to_path_buf()]
        } else {
            bases
                .iter()
                .flat_map(|base| [base.join("files").join(dir), base.join(dir)])
                .filter(|candidate| candidate.is_dir())
                .collect()
        };
        // The first place where the pattern matches a file, as the lookup searches.
        let mut files: Vec<String> = Vec::new();
        for found in dirs {
            let full = found.join(&name);
            let matches = glob::glob(&full.to_string_lossy())
                .map_err(|e| format!("fileglob: bad pattern {pattern}: {e}"))?;
            files = matches
                .flatten()
                .filter(|p| p.is_file())
                .map(|p| p.display().to_string())
                .collect();
            if !files.is_empty() {
                break;
            }
        }
        files.sort();
        out.extend(files);
    }
    Ok(out)
}

/// Where relative paths are looked for: the role's directory (`role_path`) when in a role, then the
/// `playbook_dir`; never empty.
fn search_bases(state: &State) -> Vec<PathBuf> {
    let var = |name: &str| {
        state
            .lookup(name)
            .and_then(|v| v.as_str().map(PathBuf::from))
    };
    let playbook_dir = var("playbook_dir")
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    // `ansible_search_path` (the role's directory, the task file's), then the playbook's directory.
    let searched: Vec<PathBuf> = state
        .lookup("ansible_search_path")
        .and_then(|v| v.try_iter().ok().map(|items| items.collect::<Vec<_>>()))
        .map(|items| {
            items
                .iter()
                .filter_map(|p| p.as_str().map(PathBuf::from))
                .collect()
        })
        .unwrap_or_else(|| var("role_path").into_iter().collect());
    let mut bases: Vec<PathBuf> = Vec::new();
    for base in searched.into_iter().chain([playbook_dir]) {
        if !bases.contains(&base) {
            bases.push(base);
        }
    }
    bases
}

/// Ansible's `find_file_in_search_path`: for each base, `<base>/<subdir>/<name>`, then `<base>/<name>`.
fn find_file(bases: &[PathBuf], subdir: Option<&str>, name: &str) -> Option<PathBuf> {
    let name = super::filters::expanduser(name);
    let path = Path::new(&name);
    if path.is_absolute() {
        return path.exists().then(|| path.to_path_buf());
    }
    bases
        .iter()
        .flat_map(|base| {
            subdir
                .map(|d| base.join(d).join(path))
                .into_iter()
                .chain([base.join(path)])
        })
        .find(|p| p.exists())
}

fn first_found(bases: &[PathBuf], terms: &[JValue], kwargs: &Kwargs) -> Result<Vec<JValue>, Error> {
    let mut search = Vec::new();
    let kw_files: Option<JValue> = kwargs.get("files")?;
    let kw_paths: Option<JValue> = kwargs.get("paths")?;
    let skip = kwargs.get::<Option<bool>>("skip")?.unwrap_or(false);
    let list_of = |v: &JValue| -> Vec<String> {
        match v.as_str() {
            Some(s) => vec![s.to_string()],
            None => v
                .try_iter()
                .map(|it| it.map(|x| py_str(&x)).collect())
                .unwrap_or_default(),
        }
    };
    fn add(
        term: &JValue,
        files: &mut Vec<(Vec<String>, Vec<String>)>,
        list_of: &dyn Fn(&JValue) -> Vec<String>,
    ) {
        match term.kind() {
            ValueKind::Map => {
                let get = |k: &str| {
                    term.get_attr(k)
                        .ok()
                        .filter(|v| !v.is_undefined())
                        .map(|v| list_of(&v))
                        .unwrap_or_default()
                };
                files.push((get("files"), get("paths")));
            }
            ValueKind::Seq | ValueKind::Iterable => {
                for t in term.try_iter().into_iter().flatten() {
                    add(&t, files, list_of);
                }
            }
            _ => files.push((vec![py_str(term)], Vec::new())),
        }
    }
    let mut groups = Vec::new();
    for term in terms {
        add(term, &mut groups, &list_of);
    }
    if groups.is_empty() {
        groups.push((
            kw_files.as_ref().map(&list_of).unwrap_or_default(),
            Vec::new(),
        ));
    }
    let default_paths = kw_paths.as_ref().map(&list_of).unwrap_or_default();
    for (names, paths) in groups {
        let paths = if paths.is_empty() {
            default_paths.clone()
        } else {
            paths
        };
        for name in names {
            if paths.is_empty() {
                search.push(name);
            } else {
                search.extend(
                    paths
                        .iter()
                        .map(|p| Path::new(p).join(&name).to_string_lossy().into_owned()),
                );
            }
        }
    }
    for candidate in search {
        if let Some(found) = find_file(bases, None, &candidate) {
            return Ok(vec![JValue::from(super::filters::normpath(
                &found.to_string_lossy(),
            ))]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(invalid("No file was found when using first_found."))
}

/// The `sequence` lookup: `start-end/stride:format` or `start= end= count= stride= format=`.
fn sequence(term: &str, kwargs: &Kwargs) -> Result<Vec<String>, Error> {
    let num = |s: &str| -> Result<i64, Error> {
        let t = s.trim();
        let (neg, t) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
        let n = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            i64::from_str_radix(h, 16)
        } else if t.len() > 1 && t.starts_with('0') {
            i64::from_str_radix(t.trim_start_matches("0o"), 8)
        } else {
            t.parse()
        }
        .map_err(|_| invalid(format!("can't parse {s:?} as a number in with_sequence")))?;
        Ok(if neg { -n } else { n })
    };
    let mut start = 1;
    let mut end = None;
    let mut count = None;
    let mut stride = 1;
    let mut format = "%d".to_string();
    for (k, v) in [("start", &mut start as &mut i64), ("stride", &mut stride)] {
        if let Some(x) = kwargs.get::<Option<JValue>>(k)? {
            *v = num(&py_str(&x))?;
        }
    }
    if let Some(x) = kwargs.get::<Option<JValue>>("end")? {
        end = Some(num(&py_str(&x))?);
    }
    if let Some(x) = kwargs.get::<Option<JValue>>("count")? {
        count = Some(num(&py_str(&x))?);
    }
    if let Some(x) = kwargs.get::<Option<String>>("format")? {
        format = x;
    }
    let shortcut = regex::Regex::new(r"(?i)^(?:((?:0x[0-9a-f]+|[0-9]+))-)?((?:0x[0-9a-f]+|[0-9]+))(?:/((?:0x[0-9a-f]+|[0-9]+)))?(?::(.+))?$")
        .map_err(|e| invalid(e.to_string()))?;
    if let Some(c) = shortcut.captures(term.trim()) {
        if let Some(s) = c.get(1) {
            start = num(s.as_str())?;
        }
        end = c.get(2).map(|e| num(e.as_str())).transpose()?;
        if let Some(s) = c.get(3) {
            stride = num(s.as_str())?;
        }
        if let Some(f) = c.get(4) {
            format = f.as_str().to_string();
        }
    } else if !term.trim().is_empty() {
        for kv in term.split_whitespace() {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                invalid(format!("unrecognized arguments to with_sequence: {kv:?}"))
            })?;
            match k {
                "start" => start = num(v)?,
                "end" => end = Some(num(v)?),
                "count" => count = Some(num(v)?),
                "stride" => stride = num(v)?,
                "format" => format = v.to_string(),
                other => {
                    return Err(invalid(format!(
                        "unrecognized arguments to with_sequence: ['{other}']"
                    )));
                }
            }
        }
    }
    let end = match (count, end) {
        (None, None) => return Err(invalid("must specify count or end in with_sequence")),
        (Some(_), Some(_)) => {
            return Err(invalid("can't specify both count and end in with_sequence"));
        }
        (Some(0), None) => return Ok(Vec::new()),
        (Some(c), None) => start + c * stride - 1,
        (None, Some(e)) => e,
    };
    if stride > 0 && end < start {
        return Err(invalid("to count backwards make stride negative"));
    }
    if stride < 0 && end > start {
        return Err(invalid("to count forward don't make stride negative"));
    }
    if stride == 0 {
        return Ok(Vec::new());
    }
    if format.matches('%').count() != 1 {
        return Err(invalid(format!("bad formatting string: {format}")));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(printf(&format, i)?);
        i += stride;
    }
    Ok(out)
}

/// One `%[flags][width]{d,i,x,X,o}` conversion, as Python's `format % i`.
fn printf(format: &str, n: i64) -> Result<String, Error> {
    let bad = || invalid(format!("problem formatting {n} with '{format}'"));
    let at = format.find('%').ok_or_else(bad)?;
    let spec_len = format[at + 1..]
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(bad)?;
    let flags = &format[at + 1..at + 1 + spec_len];
    let conv = format[at + 1 + spec_len..].chars().next().ok_or_else(bad)?;
    let zero = flags.starts_with('0');
    let left = flags.contains('-');
    let width: usize = flags.trim_start_matches(['0', '-']).parse().unwrap_or(0);
    let digits = match conv {
        'd' | 'i' | 'u' => n.to_string(),
        'x' => format!("{n:x}"),
        'X' => format!("{n:X}"),
        'o' => format!("{n:o}"),
        _ => return Err(bad()),
    };
    let padded = match (left, zero) {
        (true, _) => format!("{digits:<width$}"),
        (false, true) => format!("{digits:0>width$}"),
        (false, false) => format!("{digits:>width$}"),
    };
    Ok(format!(
        "{}{padded}{}",
        &format[..at],
        &format[at + 2 + spec_len..]
    ))
}

/// The `template` lookup: the file rendered with the current variables (plus `template_vars`), `trim_blocks`
/// on and backslashes left as Jinja reads them, as Ansible's lookup does.
fn render_template(
    state: &State,
    bases: &[PathBuf],
    term: &str,
    kwargs: &Kwargs,
) -> Result<JValue, Error> {
    let path = find_file(bases, Some("templates"), term).ok_or_else(|| {
        invalid(format!(
            "the template file {term} could not be found for the lookup"
        ))
    })?;
    let source = crate::vault::read_to_string(&path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    let trim_blocks = kwargs.get::<Option<bool>>("trim_blocks")?.unwrap_or(true);
    let templar = super::Templar::with_trim_blocks(trim_blocks);
    // The variables of the including template, not its globals (`range`, `lookup`, ...), which the template's
    // own environment has as functions.
    let globals: std::collections::HashSet<&str> =
        templar.env.globals().map(|(name, _)| name).collect();
    let mut vars = serde_json::Map::new();
    for name in state.known_variables() {
        if globals.contains(name.as_ref()) {
            continue;
        }
        if let Some(v) = state.lookup(&name).filter(|v| !v.is_undefined())
            && let Ok(json) = jvalue_to_json(&v)
        {
            vars.insert(name.into_owned(), json);
        }
    }
    if let Some(extra) = kwargs.get::<Option<JValue>>("template_vars")?
        && let serde_json::Value::Object(extra) = jvalue_to_json(&extra)?
    {
        vars.extend(extra);
    }
    // ansible-core's `generate_ansible_template_vars`: where the template is, who owns it, where and when it
    // is rendered; a lookup has no destination.
    let fullpath = path.to_string_lossy().into_owned();
    let owner = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&path)
            .ok()
            .and_then(|m| user_name(m.uid()))
            .unwrap_or_default()
    };
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    for (key, value) in [
        ("template_path", term.to_string()),
        ("template_fullpath", fullpath),
        ("template_destpath", String::new()),
        ("template_host", host),
        ("template_uid", owner),
        ("ansible_managed", "Ansible managed".to_string()),
    ] {
        vars.entry(key).or_insert(value.into());
    }
    if let Some(now) = super::time::now_value() {
        vars.entry("template_run_date").or_insert(now);
    }
    let _convert: Option<bool> = kwargs.get("convert_data")?;
    let ctx = super::vars_map_to_jinja(&vars);
    // A file whose output is one expression's value gives that value, not its text, as everything Ansible 2.19
    // templates does.
    let rendered = templar.render_file(&source, &ctx).map_err(|e| {
        let kind = if e.undefined {
            minijinja::ErrorKind::UndefinedError
        } else {
            minijinja::ErrorKind::InvalidOperation
        };
        Error::new(kind, e.message)
    })?;
    Ok(super::to_jinja(&rendered))
}

/// The name of a user id, as Python's `pwd.getpwuid(uid).pw_name`.
fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: pwd, buf and result are ours and sized as getpwuid_r expects; it writes only into them.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let found =
        unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if found != 0 || result.is_null() {
        return None;
    }
    // SAFETY: a successful call points pw_name at a NUL-terminated string inside buf.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// Each term as a list (a single value as a list of one), for the lookups that combine lists.
fn term_lists(terms: &[JValue]) -> Result<Vec<Vec<JValue>>, Error> {
    terms
        .iter()
        .map(|t| match t.kind() {
            ValueKind::Seq | ValueKind::Iterable => Ok(t.try_iter()?.collect()),
            _ => Ok(vec![t.clone()]),
        })
        .collect()
}

/// The `subelements` lookup (and `with_subelements`): `[LIST, KEY]` (or `[LIST, KEY, {skip_missing: true}]`): for each mapping of LIST and
/// each entry of its list under KEY (a dotted path), `[mapping without KEY, entry]`.
pub fn subelements_lookup(value: serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
    use serde_json::{Value, json};
    let Value::Array(terms) = value else {
        return Err("subelements lookup expects a list of two or three items".into());
    };
    let (list, key, flags) = match terms.as_slice() {
        [list, Value::String(key)] => (list, key, None),
        [list, Value::String(key), flags] => (list, key, Some(flags)),
        _ => {
            return Err(
                "subelements lookup expects a list of two or three items, the second a string"
                    .into(),
            );
        }
    };
    let skip_missing = flags
        .and_then(|f| f.get("skip_missing"))
        .and_then(crate::template::boolean)
        .unwrap_or(false);
    let elements = match list {
        Value::Array(items) => items.clone(),
        Value::Object(map) => map.values().cloned().collect(),
        other => {
            return Err(format!(
                "subelements lookup expects a list or a dictionary, got '{}'",
                crate::pyjson::python_str(other)
            ));
        }
    };
    let path: Vec<&str> = key.split('.').collect();
    let mut out = Vec::new();
    for element in elements {
        let Value::Object(_) = element else {
            return Err(format!(
                "subelements lookup expects a dictionary, got '{}'",
                crate::pyjson::python_str(&element)
            ));
        };
        let mut outer = element.clone();
        let mut cursor = Some(&element);
        for part in &path {
            cursor = cursor.and_then(|c| c.get(*part));
        }
        let Some(found) = cursor else {
            if skip_missing {
                continue;
            }
            return Err(format!(
                "could not find '{key}' key in iterated item '{}'",
                crate::pyjson::python_str(&element)
            ));
        };
        let Value::Array(subs) = found.clone() else {
            return Err(format!(
                "the key {key} should point to a list, got '{}'",
                crate::pyjson::python_str(found)
            ));
        };
        // The subelement's own list leaves the outer item, as the lookup pops it.
        let mut parent = Some(&mut outer);
        for part in &path[..path.len() - 1] {
            parent = parent.and_then(|p| p.get_mut(*part));
        }
        if let Some(Value::Object(map)) = parent {
            map.remove(path[path.len() - 1]);
        }
        for sub in subs {
            out.push(json!([outer.clone(), sub]));
        }
    }
    Ok(out)
}

/// An option of a lookup as Ansible's `ensure_type` makes it a boolean (from the keyword or a `k=v` term).
fn option_bool(name: &str, value: &JValue) -> Result<bool, Error> {
    match value.kind() {
        ValueKind::Bool | ValueKind::Undefined | ValueKind::None => Ok(value.is_true()),
        ValueKind::Number if matches!(i64::try_from(value.clone()), Ok(0 | 1)) => {
            Ok(value.is_true())
        }
        _ => match py_str(value).to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Ok(true),
            "n" | "no" | "off" | "0" | "false" | "f" | "0.0" | "" => Ok(false),
            _ => Err(invalid(format!(
                "Invalid type for configuration option '{name}': '{value}' is not a valid boolean."
            ))),
        },
    }
}

/// An integer option (`col`, `keycol`), from a number or its text.
fn option_int(name: &str, value: &JValue) -> Result<i64, Error> {
    i64::try_from(value.clone())
        .ok()
        .or_else(|| py_str(value).trim().parse().ok())
        .ok_or_else(|| {
            invalid(format!(
                "Invalid type for configuration option '{name}': '{value}' is not a valid integer."
            ))
        })
}

/// A lookup's options: the keywords given (or their defaults), which a term's `k=v` words override.
struct LookupOptions(Vec<(&'static str, JValue)>);

impl LookupOptions {
    fn new(kwargs: &Kwargs, defaults: &[(&'static str, JValue)]) -> Result<Self, Error> {
        let mut options = Vec::new();
        for (name, default) in defaults {
            let given: Option<JValue> = kwargs.get(name)?;
            options.push((*name, given.unwrap_or_else(|| default.clone())));
        }
        Ok(LookupOptions(options))
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let slot = self
            .0
            .iter_mut()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| invalid(format!("'{name}' is not a valid option.")))?;
        slot.1 = JValue::from(value);
        Ok(())
    }

    fn get(&self, name: &str) -> JValue {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn text(&self, name: &str) -> String {
        py_str(&self.get(name))
    }

    fn flag(&self, name: &str) -> Result<bool, Error> {
        option_bool(name, &self.get(name))
    }

    fn int(&self, name: &str) -> Result<i64, Error> {
        option_int(name, &self.get(name))
    }
}

/// The text of a file the `ini` and `csvfile` lookups read, found as the `file` lookup finds it; `missing`
/// is the error when it is not there (Python's, reading the path `None`).
fn read_lookup_file(
    bases: &[PathBuf],
    name: &str,
    encoding: &str,
    missing: &str,
) -> Result<String, Error> {
    let path = find_file(bases, Some("files"), name).ok_or_else(|| invalid(missing.to_string()))?;
    let unreadable = |e: std::io::Error| invalid(format!("Unable to read '{name}': {e}"));
    match encoding.to_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" | "ascii" => crate::vault::read_to_string(&path).map_err(unreadable),
        "latin-1" | "latin1" | "iso-8859-1" => Ok(std::fs::read(&path)
            .map_err(unreadable)?
            .into_iter()
            .map(char::from)
            .collect()),
        other => Err(invalid(format!("unknown encoding: {other}"))),
    }
}

/// The `ini` lookup: each term's key in the file's section (or the keys matching it, with `re`).
fn ini_lookup(bases: &[PathBuf], terms: &[String], kwargs: &Kwargs) -> Result<Vec<JValue>, Error> {
    let allow_none: Option<JValue> = kwargs.get("allow_none")?;
    let mut options = LookupOptions::new(
        kwargs,
        &[
            ("type", JValue::from("ini")),
            ("file", JValue::from("ansible.ini")),
            ("section", JValue::from("global")),
            ("re", JValue::from(false)),
            ("encoding", JValue::from("utf-8")),
            ("default", JValue::from("")),
            ("case_sensitive", JValue::from(false)),
            ("allow_no_value", allow_none.unwrap_or(JValue::from(false))),
            ("interpolation", JValue::from(true)),
        ],
    )?;
    let mut out = Vec::new();
    for term in terms {
        let mut key = term.clone();
        if term.contains('=') || term.trim().contains(' ') {
            let params = ini_term_params(term, &options);
            let mut updated_key = false;
            for param in &params {
                if param.contains('=') {
                    let parts: Vec<&str> = param.split('=').collect();
                    let [name, value] = parts[..] else {
                        return Err(invalid(format!("Could not use '{param}' from {params:?}.")));
                    };
                    options.set(name, value)?;
                } else if key == *term {
                    key = param.clone();
                    updated_key = true;
                }
            }
            if !updated_key {
                return Err(invalid(format!(
                    "No key to look up was provided as first term within string inline options: {term}"
                )));
            }
        }
        let file = options.text("file");
        let mut text = read_lookup_file(
            bases,
            &file,
            &options.text("encoding"),
            "Invalid filename None.",
        )?;
        let mut section = options.text("section");
        if options.text("type") == "properties" {
            text.insert_str(0, "[java_properties]\n");
            section = "java_properties".into();
        }
        let case_sensitive = options.flag("case_sensitive")?;
        let interpolate = options.flag("interpolation")?;
        let parsed = super::ini::Ini::parse(
            &text,
            "<???>",
            options.flag("allow_no_value")?,
            case_sensitive,
        )
        .map_err(|e| {
            if e.contains("option '") && e.ends_with("already exists") {
                invalid(format!("Duplicate option in '{file}'."))
            } else {
                invalid(e)
            }
        })?;
        let no_section = |_: String| invalid(format!("No section '{section}' in '{file}'."));
        // A valueless option is Python's None, not an undefined value.
        let as_value = |v: Option<String>| v.map_or_else(|| JValue::from(()), JValue::from);
        if options.flag("re")? {
            let pattern = regex::Regex::new(&format!("^(?:{key})"))
                .map_err(|e| invalid(format!("Invalid regular expression '{key}': {e}")))?;
            let items = parsed.items(&section, interpolate).map_err(no_section)?;
            out.extend(
                items
                    .into_iter()
                    .filter(|(k, _)| pattern.is_match(k))
                    .map(|(_, v)| as_value(v)),
            );
        } else {
            match parsed
                .get(&section, &key, case_sensitive, interpolate)
                .map_err(|e| {
                    if e == "no section" {
                        no_section(e)
                    } else {
                        invalid(e)
                    }
                })? {
                None => out.push(options.get("default")),
                Some(Some(value)) => out.push(JValue::from(value)),
                Some(None) => {}
            }
        }
    }
    Ok(out)
}

/// Ansible's `_parse_params` of the `ini` lookup: a term's words grouped as `key` then `option=value`,
/// words without `=` going with the option before them.
fn ini_term_params(term: &str, options: &LookupOptions) -> Vec<String> {
    let mut params: Vec<(String, String)> = Vec::new();
    let mut this_key = "key".to_string();
    for (i, phrase) in term.split_whitespace().enumerate() {
        if phrase.contains('=') {
            for (name, _) in &options.0 {
                if phrase.contains(&format!("{name}=")) {
                    this_key = name.to_string();
                }
            }
        }
        match params.iter_mut().find(|(k, _)| *k == this_key) {
            Some((_, value)) if i != 0 && !value.is_empty() => {
                value.push(' ');
                value.push_str(phrase);
            }
            Some((_, value)) => *value = phrase.to_string(),
            None => params.push((this_key.clone(), phrase.to_string())),
        }
    }
    params.into_iter().map(|(_, v)| v).collect()
}

/// The `csvfile` lookup: for each term's key, the `col` column of the first row whose `keycol` column is it.
fn csvfile_lookup(
    bases: &[PathBuf],
    terms: &[String],
    kwargs: &Kwargs,
) -> Result<Vec<JValue>, Error> {
    let mut options = LookupOptions::new(
        kwargs,
        &[
            ("col", JValue::from(1)),
            ("keycol", JValue::from(0)),
            ("default", JValue::from(())),
            ("delimiter", JValue::from("TAB")),
            ("file", JValue::from("ansible.csv")),
            ("encoding", JValue::from("utf-8")),
        ],
    )?;
    if terms.is_empty() {
        return Err(invalid("Search key is required but was not found"));
    }
    let mut out = Vec::new();
    for term in terms {
        let mut kv = crate::playbook::args::parse_free_form("debug", term).map_err(invalid)?;
        let key = kv
            .remove("_raw_params")
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or_else(|| invalid("Search key is required but was not found"))?;
        for (name, value) in &kv {
            options
                .set(name, value.as_str().unwrap_or_default())
                .map_err(|_| invalid(format!("'{name}' is not a valid option")))?;
        }
        let mut delimiter = options.text("delimiter");
        if delimiter == "TAB" {
            delimiter = "\t".into();
        }
        let mut chars = delimiter.chars();
        let (Some(delimiter), None) = (chars.next(), chars.next()) else {
            return Err(invalid("\"delimiter\" must be a 1-character string"));
        };
        let text = read_lookup_file(
            bases,
            &options.text("file"),
            &options.text("encoding"),
            "expected str, bytes or os.PathLike object, not NoneType",
        )?;
        let (col, keycol) = (options.int("col")?, options.int("keycol")?);
        let at = |row: &[String], i: i64| -> Result<String, Error> {
            let index = if i < 0 { row.len() as i64 + i } else { i };
            usize::try_from(index)
                .ok()
                .and_then(|i| row.get(i).cloned())
                .ok_or_else(|| invalid("list index out of range"))
        };
        let mut found = None;
        for row in super::ini::csv_rows(&text, delimiter) {
            if !row.is_empty() && at(&row, keycol)? == key {
                found = Some(JValue::from(at(&row, col)?));
                break;
            }
        }
        let found = found.unwrap_or_else(|| options.get("default"));
        match found.kind() {
            ValueKind::None | ValueKind::Undefined => {}
            ValueKind::Seq => out.extend(found.try_iter()?),
            _ => out.push(found),
        }
    }
    Ok(out)
}
