//! Variables of a host for one task, in Ansible's precedence order (first cut): inventory, facts, play vars,
//! task vars, registered values and set_fact, extra vars; plus the magic variables.

use crate::template::Templar;
use serde_json::{Map, Value};

/// Layers of variables, lowest precedence first.
#[derive(Debug, Default)]
pub struct VarLayers<'a> {
    /// Role defaults: every role of the play's, then the task's own role chain's.
    pub role_defaults: Vec<&'a Map<String, Value>>,
    /// The host's inventory variables (groups and host, already merged).
    pub inventory: Option<&'a Map<String, Value>>,
    /// Gathered facts (`ansible_facts`), also exposed as `ansible_<name>`.
    pub facts: Option<&'a Map<String, Value>>,
    /// Play `vars`.
    pub play: Option<&'a Map<String, Value>>,
    /// The play's `vars_files` whose names depend on the host (the others are in `play`).
    pub play_files: Option<&'a Map<String, Value>>,
    /// Role vars: every role of the play's `vars/main.yml`, then the task's own role chain's, then the
    /// `vars:` its role was applied with.
    pub role_vars: Vec<&'a Map<String, Value>>,
    /// Task `vars`.
    pub task: Option<&'a Map<String, Value>>,
    /// `include_vars` values.
    pub included: Option<&'a Map<String, Value>>,
    /// `register` and `set_fact` values.
    pub host: Option<&'a Map<String, Value>>,
    /// The parameters the task's role was applied with.
    pub role_params: Option<&'a Map<String, Value>>,
    /// The `vars:` and loop variable of the dynamic include that brought the task in.
    pub include_params: Option<&'a Map<String, Value>>,
    /// `-e` extra vars.
    pub extra: Option<&'a Map<String, Value>>,
    /// Magic variables (`inventory_hostname`, `groups`, ...).
    pub magic: Option<&'a Map<String, Value>>,
    /// `hash_behaviour = merge`: mappings merge across layers instead of the later replacing the earlier.
    pub merge_hashes: bool,
}

/// `from`'s variables over `into`'s: replacing them, or with `hash_behaviour = merge` merged into them
/// (ansible-core's `combine_vars`).
pub fn combine_vars(into: &mut Map<String, Value>, from: &Map<String, Value>, merge_hashes: bool) {
    for (k, v) in from {
        match into.get_mut(k) {
            Some(slot) if merge_hashes => merge_into(slot, v),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `from` merged into `into`, recursively for mappings (ansible-core's `merge_hash`).
fn merge_into(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(mine), Value::Object(theirs)) => {
            for (k, v) in theirs {
                match mine.get_mut(k) {
                    Some(slot) => merge_into(slot, v),
                    None => {
                        mine.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}

/// Merges the layers into one mapping and renders the values that hold templates, so a variable may refer to
/// another one (templated repeatedly up to a small depth, as chains of references need). Values that are data,
/// not templates, are never rendered: facts, registered results and `set_fact` values (a command's output that
/// holds `{{ }}` stays text, as ansible-core marks results unsafe), the magic variables, and `!unsafe` ones.
pub fn merge(layers: &VarLayers<'_>, templar: &Templar) -> Map<String, Value> {
    let mut vars = Map::new();
    let mut data: std::collections::HashSet<String> = std::collections::HashSet::new();
    let put = |vars: &mut Map<String, Value>,
               data: &mut std::collections::HashSet<String>,
               layer: Option<&Map<String, Value>>,
               is_data: bool| {
        let Some(layer) = layer else {
            return;
        };
        combine_vars(vars, layer, layers.merge_hashes);
        for k in layer.keys() {
            if is_data {
                data.insert(k.clone());
            } else {
                data.remove(k);
            }
        }
    };
    put(&mut vars, &mut data, layers.magic, true);
    for defaults in &layers.role_defaults {
        put(&mut vars, &mut data, Some(defaults), false);
    }
    put(&mut vars, &mut data, layers.inventory, false);
    if let Some(facts) = layers.facts {
        for (k, v) in facts {
            vars.insert(format!("ansible_{k}"), v.clone());
            data.insert(format!("ansible_{k}"));
        }
        vars.insert("ansible_facts".into(), Value::Object(facts.clone()));
        data.insert("ansible_facts".into());
    }
    put(&mut vars, &mut data, layers.play, false);
    put(&mut vars, &mut data, layers.play_files, false);
    for role_vars in &layers.role_vars {
        put(&mut vars, &mut data, Some(role_vars), false);
    }
    put(&mut vars, &mut data, layers.task, false);
    put(&mut vars, &mut data, layers.included, false);
    put(&mut vars, &mut data, layers.host, true);
    put(&mut vars, &mut data, layers.role_params, false);
    put(&mut vars, &mut data, layers.include_params, false);
    put(&mut vars, &mut data, layers.extra, false);
    set_vaulted_aside(&mut vars);
    resolve(&mut vars, &data, templar);
    vars
}

fn holds_template(value: &Value) -> bool {
    if crate::template::unsafe_text(value).is_some() {
        return false;
    }
    match value {
        Value::String(s) => crate::template::is_template(s),
        Value::Array(items) => items.iter().any(holds_template),
        Value::Object(map) => map.values().any(holds_template),
        _ => false,
    }
}

fn resolve(
    vars: &mut Map<String, Value>,
    data: &std::collections::HashSet<String>,
    templar: &Templar,
) {
    let mut pending: Vec<(String, Value)> = vars
        .iter()
        .filter(|(k, v)| !data.contains(*k) && holds_template(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if pending.is_empty() {
        return;
    }
    // A variable that refers back to itself, through others or directly (`a: "{{ a | default(1) }}"`), and
    // any that refer to such a one, cannot be rendered: they are taken out, so that using one is an error
    // that says so (see `template::RECURSIVE`).
    let refers: std::collections::HashMap<String, Vec<String>> = pending
        .iter()
        .map(|(k, v)| {
            let names = templar.referenced(v).into_iter();
            (
                k.clone(),
                names
                    .filter(|n| vars.contains_key(n) && !data.contains(n))
                    .collect(),
            )
        })
        .collect();
    let looping: Vec<String> = pending
        .iter()
        .filter(|(key, _)| reaches_a_loop(key, &refers))
        .map(|(key, _)| key.clone())
        .collect();
    if !looping.is_empty() {
        pending.retain(|(key, _)| !looping.contains(key));
        let mut listed = Map::new();
        for key in looping {
            vars.remove(&key);
            listed.insert(key, Value::Bool(true));
        }
        vars.insert(crate::template::RECURSIVE.into(), Value::Object(listed));
    }
    // Rendered in order of dependence, a level at a time (one context per level): a variable sees the ones it
    // refers to rendered, or set aside with their error when they could not be (`a: "{{ b }}"` with
    // `b: "{{ c }}"` and no `c` is c's error for both), never as they were written. An output is never
    // rendered again: it may be data that looks like a template (a registered result, an `!unsafe` value),
    // and rendering it would run what it holds.
    let mut failed: Map<String, Value> = Map::new();
    let render = |vars: &mut Map<String, Value>,
                  failed: &mut Map<String, Value>,
                  batch: &mut dyn Iterator<Item = &(String, Value)>|
     -> bool {
        let ctx = context_with_failures(vars, failed);
        let mut changed = false;
        for (key, written) in batch {
            match templar.render_value(written, &ctx) {
                Ok(value) => {
                    if failed.remove(key).is_some() || vars.get(key) != Some(&value) {
                        vars.insert(key.clone(), value);
                        changed = true;
                    }
                }
                Err(e) => {
                    // The innermost variable whose own value failed, for error reports.
                    let at = e.at.clone().unwrap_or_else(|| key.clone());
                    let entry =
                        serde_json::json!({"template": written, "error": e.message, "at": at});
                    if failed.get(key) != Some(&entry) {
                        vars.remove(key);
                        failed.insert(key.clone(), entry);
                        changed = true;
                    }
                }
            }
        }
        changed
    };
    for level in levels(&pending, &refers) {
        render(vars, &mut failed, &mut level.iter().map(|&i| &pending[i]));
    }
    // References the walk cannot see (`lookup('vars', name)`, `vars[name]`) may have read a template as it was
    // written: then rounds over all of them until nothing changes, as many as the longest chain needs.
    if pending
        .iter()
        .any(|(key, _)| vars.get(key).is_some_and(holds_template))
    {
        for _ in 0..=pending.len() {
            if !render(vars, &mut failed, &mut pending.iter()) {
                break;
            }
        }
    }
    // What cannot be rendered stays out, listed with what it was written as and why: using it is that
    // error, never its text as written (a module given `{{ vault_db_password }}` instead of a password); a
    // loop's variable may let it render later (`x: "{{ item }}-a"`, see `executor::host::with_item`).
    if !failed.is_empty() {
        vars.insert(crate::template::UNRENDERED.into(), Value::Object(failed));
    }
}

/// The template context of variables, with those that failed to render listed so that using one is its error.
fn context_with_failures(
    vars: &mut Map<String, Value>,
    failed: &Map<String, Value>,
) -> minijinja::Value {
    if failed.is_empty() {
        return crate::template::vars_map_to_jinja(vars);
    }
    vars.insert(
        crate::template::UNRENDERED.into(),
        Value::Object(failed.clone()),
    );
    let ctx = crate::template::vars_map_to_jinja(vars);
    vars.remove(crate::template::UNRENDERED);
    ctx
}

/// The pending variables grouped by how deep their references to other pending variables go: the first
/// group refers to none, each later one only to those before it. There are no loops (they were taken out).
fn levels(
    pending: &[(String, Value)],
    refers: &std::collections::HashMap<String, Vec<String>>,
) -> Vec<Vec<usize>> {
    fn depth(
        key: &str,
        refers: &std::collections::HashMap<String, Vec<String>>,
        pending: &std::collections::HashSet<&str>,
        known: &mut std::collections::HashMap<String, usize>,
    ) -> usize {
        if let Some(&d) = known.get(key) {
            return d;
        }
        // Marked before the walk, so a loop missed upstream ends here instead of overflowing the stack.
        known.insert(key.to_string(), 0);
        let d = refers
            .get(key)
            .into_iter()
            .flatten()
            .filter(|next| pending.contains(next.as_str()) && next.as_str() != key)
            .map(|next| depth(next, refers, pending, known) + 1)
            .max()
            .unwrap_or(0);
        known.insert(key.to_string(), d);
        d
    }
    let names: std::collections::HashSet<&str> = pending.iter().map(|(k, _)| k.as_str()).collect();
    let mut known = std::collections::HashMap::new();
    let mut grouped: Vec<Vec<usize>> = Vec::new();
    for (i, (key, _)) in pending.iter().enumerate() {
        let d = depth(key, refers, &names, &mut known);
        if grouped.len() <= d {
            grouped.resize(d + 1, Vec::new());
        }
        grouped[d].push(i);
    }
    grouped
}

/// Whether following references from `start` comes back to a variable already on the way.
fn reaches_a_loop(start: &str, refers: &std::collections::HashMap<String, Vec<String>>) -> bool {
    fn visit<'a>(
        key: &'a str,
        refers: &'a std::collections::HashMap<String, Vec<String>>,
        path: &mut Vec<&'a str>,
        done: &mut std::collections::HashSet<&'a str>,
    ) -> bool {
        if path.contains(&key) {
            return true;
        }
        if done.contains(key) {
            return false;
        }
        path.push(key);
        let looped = refers
            .get(key)
            .into_iter()
            .flatten()
            .any(|next| visit(next, refers, path, done));
        path.pop();
        done.insert(key);
        looped
    }
    visit(
        start,
        refers,
        &mut Vec::new(),
        &mut std::collections::HashSet::new(),
    )
}

/// Variables whose value is a vault value no secret opened are taken out and listed, so that using one is
/// the decryption's error (`Attempting to decrypt but no vault secrets found`), while a run that never uses
/// them is not bothered, as in ansible-core.
fn set_vaulted_aside(vars: &mut Map<String, Value>) {
    let vaulted: Map<String, Value> = vars
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.clone(),
                Value::String(crate::template::vault_text(v)?.to_string()),
            ))
        })
        .collect();
    if vaulted.is_empty() {
        return;
    }
    for key in vaulted.keys() {
        vars.remove(key);
    }
    vars.insert(crate::template::VAULTED.into(), Value::Object(vaulted));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn later_layers_win_and_facts_get_prefixed() {
        let inv = map(json!({"a": "inv", "b": "inv"}));
        let facts = map(json!({"hostname": "h1"}));
        let play = map(json!({"b": "play"}));
        let extra = map(json!({"a": "extra"}));
        let vars = merge(
            &VarLayers {
                inventory: Some(&inv),
                facts: Some(&facts),
                play: Some(&play),
                extra: Some(&extra),
                ..VarLayers::default()
            },
            &Templar::new(),
        );
        assert_eq!(vars["a"], json!("extra"));
        assert_eq!(vars["b"], json!("play"));
        assert_eq!(vars["ansible_hostname"], json!("h1"));
        assert_eq!(vars["ansible_facts"]["hostname"], json!("h1"));
    }

    #[test]
    fn variables_may_refer_to_each_other() {
        let play = map(json!({"a": "{{ b }}-x", "b": "{{ c }}", "c": 3, "d": "{{ missing }}"}));
        let vars = merge(
            &VarLayers {
                play: Some(&play),
                ..VarLayers::default()
            },
            &Templar::new(),
        );
        assert_eq!(vars["a"], json!("3-x"));
        assert_eq!(vars["b"], json!(3));
        assert!(!vars.contains_key("d"));
        assert_eq!(
            vars[crate::template::UNRENDERED]["d"],
            json!({"template": "{{ missing }}", "error": "'missing' is undefined", "at": "d"})
        );
    }

    #[test]
    fn a_variable_that_refers_back_to_itself_is_an_error_when_used() {
        let play = map(json!({"a": "{{ b }}", "b": "{{ a }}", "c": "{{ c }}-x", "fine": 1}));
        let vars = merge(
            &VarLayers {
                play: Some(&play),
                ..VarLayers::default()
            },
            &Templar::new(),
        );
        assert_eq!(vars["fine"], json!(1));
        assert!(!vars.contains_key("a") && !vars.contains_key("c"));
        let ctx = crate::template::vars_map_to_jinja(&vars);
        let err = Templar::new()
            .render_str("{{ a }}", &ctx)
            .expect_err("a loop");
        assert_eq!(err.message, crate::template::RECURSION);
    }

    #[test]
    fn data_and_unsafe_values_are_never_rendered() {
        let play = map(json!({"secret": "s3", "raw": {"__ansible_unsafe": "{{ secret }}"}}));
        let registered = map(json!({"out": {"stdout": "{{ secret }}"}}));
        let included = map(json!({"derived": "{{ secret }}!"}));
        let vars = merge(
            &VarLayers {
                play: Some(&play),
                included: Some(&included),
                host: Some(&registered),
                ..VarLayers::default()
            },
            &Templar::new(),
        );
        assert_eq!(vars["out"]["stdout"], json!("{{ secret }}"));
        assert_eq!(vars["raw"], json!({"__ansible_unsafe": "{{ secret }}"}));
        assert_eq!(vars["derived"], json!("s3!"));
    }

    #[test]
    fn a_variable_that_refers_to_data_gets_the_data_as_it_is() {
        let play = map(json!({
            "copied": "{{ out.stdout }}",
            "via_unsafe": "{{ raw }}",
            "raw": {"__ansible_unsafe": "{{ secret }}"},
            "chain": "{{ link1 }}",
            "link1": "{{ link2 }}",
            "link2": "{{ link3 }}",
            "link3": "end",
            "secret": "s3"
        }));
        let registered = map(json!({"out": {"stdout": "{{ secret }}"}}));
        let vars = merge(
            &VarLayers {
                play: Some(&play),
                host: Some(&registered),
                ..VarLayers::default()
            },
            &Templar::new(),
        );
        assert_eq!(vars["copied"], json!("{{ secret }}"));
        assert_eq!(vars["via_unsafe"], json!("{{ secret }}"));
        assert_eq!(vars["chain"], json!("end"));
        assert!(!vars.contains_key(crate::template::RECURSIVE));
    }

    #[test]
    fn a_variable_that_refers_to_itself_directly_is_a_loop_too() {
        let play =
            map(json!({"a": "{{ a | default(1) }}", "b": "{{ a }}", "c": "{{ d }}", "d": 2}));
        let vars = merge(
            &VarLayers {
                play: Some(&play),
                ..VarLayers::default()
            },
            &Templar::new(),
        );
        let looping = &vars[crate::template::RECURSIVE];
        assert_eq!(looping, &json!({"a": true, "b": true}));
        assert_eq!(vars["c"], json!(2));
    }
}
