//! Ansible's filters on lists and dicts: `combine`, `dict2items`/`items2dict`, set operations, `flatten`,
//! `zip_longest`, `product`, `random`/`shuffle` and `json_query` (JMESPath).
//!
//! Ansible's set filters go through Python sets, whose order is the hash order: for numbers it is
//! reproducible and `pyset.rs` replays it; for text it is random across runs, and we keep the order of first
//! appearance.

use super::pyrandom::PyRandom;
use super::pyset::{self, Op};
use super::{invalid, jvalue_to_json, to_jinja};
use minijinja::value::{Kwargs, Rest, Value as JValue, ValueKind};
use minijinja::{Environment, Error};
use serde_json::{Map, Value};

pub(super) fn register(env: &mut Environment<'static>) {
    super::add_filter(env, "combine", combine);
    for (name, select) in [("selectattr", true), ("rejectattr", false)] {
        super::add_filter(
            env,
            name,
            move |state: &mut minijinja::State,
                  value: JValue,
                  attr: String,
                  test: Option<String>,
                  args: Rest<minijinja::value::ValueOrKwargs>| {
                truth_of_attributes(&value, &attr, test.as_deref())?;
                let (attr, test) = (attr.into(), test.map(Into::into));
                if select {
                    minijinja::filters::selectattr(state, value, attr, test, args)
                } else {
                    minijinja::filters::rejectattr(state, value, attr, test, args)
                }
            },
        );
    }
    // `extract(item, container, morekeys)`: `container[item]`, then down `morekeys`.
    super::add_filter(
        env,
        "extract",
        |item: JValue, container: JValue, morekeys: Option<JValue>| -> Result<JValue, Error> {
            let mut value = container.get_item(&item)?;
            let keys: Vec<JValue> = match morekeys {
                None => Vec::new(),
                Some(k) if k.kind() == ValueKind::Seq => k.try_iter()?.collect(),
                Some(k) => vec![k],
            };
            for key in keys {
                if value.is_undefined() {
                    break;
                }
                value = value.get_item(&key)?;
            }
            Ok(value)
        },
    );
    super::add_filter(env, "subelements", subelements);
    super::add_filter(env, "rekey_on_member", rekey_on_member);
    super::add_filter(
        env,
        "dict2items",
        |v: JValue, kwargs: Kwargs| -> Result<JValue, Error> {
            let (key, value) = item_names(&kwargs)?;
            let Value::Object(map) = jvalue_to_json(&v)? else {
                // Python's `repr()` of the type: a list reaches the filter as Ansible's lazy list.
                let class = match v.kind() {
                    ValueKind::Seq => {
                        "ansible._internal._templating._lazy_containers._AnsibleLazyTemplateList"
                    }
                    _ => super::pyformat::type_name(&v),
                };
                return Err(invalid(format!(
                    "dict2items requires a dictionary, got <class '{class}'> instead."
                )));
            };
            let items: Vec<Value> = map
                .into_iter()
                .map(|(k, v)| {
                    let mut item = Map::new();
                    item.insert(key.clone(), crate::typed::key_value(&k));
                    item.insert(value.clone(), v);
                    Value::Object(item)
                })
                .collect();
            Ok(to_jinja(&Value::Array(items)))
        },
    );
    super::add_filter(
        env,
        "items2dict",
        |v: JValue, kwargs: Kwargs| -> Result<JValue, Error> {
            let (key, value) = item_names(&kwargs)?;
            let Value::Array(items) = jvalue_to_json(&v)? else {
                return Err(invalid(format!(
                    "items2dict requires a list, got {} instead.",
                    v.kind()
                )));
            };
            let mut map = Map::new();
            // Python's `item[key_name]`: a list item is indexed by a number (`key_name=0` on pairs).
            let field = |item: &Value, name: &str| -> Option<Value> {
                match item {
                    Value::Array(list) => name
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| list.get(i))
                        .cloned(),
                    other => other.get(name).cloned(),
                }
            };
            for item in items {
                let (Some(k), Some(v)) = (field(&item, &key), field(&item, &value)) else {
                    return Err(invalid(format!(
                        "items2dict requires each dictionary in the list to contain the keys '{key}' and '{value}', got {item} instead."
                    )));
                };
                if matches!(k, Value::Array(_) | Value::Object(_)) {
                    return Err(invalid(format!(
                        "unhashable type: '{}'",
                        crate::pyjson::python_type_name(&k)
                    )));
                }
                map.insert(crate::typed::key(&k), v);
            }
            Ok(to_jinja(&Value::Object(map)))
        },
    );
    for (name, op) in [
        ("union", Op::Union),
        ("intersect", Op::Intersection),
        ("difference", Op::Difference),
        ("symmetric_difference", Op::SymmetricDifference),
    ] {
        super::add_filter(env, name, move |a: JValue, b: JValue| {
            set_operation(op, &a, &b)
        });
    }
    super::add_filter(
        env,
        "flatten",
        |v: JValue, levels: Option<JValue>, kwargs: Kwargs| -> Result<JValue, Error> {
            let levels = match levels {
                Some(l) => Some(l),
                None => kwargs.get::<Option<JValue>>("levels")?,
            };
            let levels = levels
                .filter(|l| !l.is_none())
                .map(|l| l.as_i64().unwrap_or(0));
            let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
            kwargs.assert_all_used()?;
            let mut out = Vec::new();
            flatten(&v, levels, skip_nulls, &mut out)?;
            Ok(JValue::from(out))
        },
    );
    super::add_filter(
        env,
        "zip_longest",
        |v: JValue, others: Rest<JValue>, kwargs: Kwargs| -> Result<JValue, Error> {
            let fill = kwargs
                .get::<Option<JValue>>("fillvalue")?
                .unwrap_or(JValue::from(()));
            kwargs.assert_all_used()?;
            let mut lists = vec![list(&v)?];
            for o in others.iter() {
                lists.push(list(o)?);
            }
            let rows: Vec<JValue> = zip_longest(&lists, &fill)
                .into_iter()
                .map(JValue::from)
                .collect();
            Ok(JValue::from(rows))
        },
    );
    super::add_filter(
        env,
        "product",
        |v: JValue, others: Rest<JValue>, kwargs: Kwargs| -> Result<JValue, Error> {
            let repeat = kwargs.get::<Option<usize>>("repeat")?.unwrap_or(1);
            kwargs.assert_all_used()?;
            let mut pools = vec![list(&v)?];
            for o in others.iter() {
                pools.push(list(o)?);
            }
            let pools: Vec<Vec<JValue>> = (0..repeat).flat_map(|_| pools.clone()).collect();
            Ok(JValue::from(
                cartesian(&pools)
                    .into_iter()
                    .map(JValue::from)
                    .collect::<Vec<_>>(),
            ))
        },
    );
    super::add_filter(env, "random", random);
    super::add_filter(
        env,
        "shuffle",
        |v: JValue, seed: Option<JValue>, kwargs: Kwargs| -> Result<JValue, Error> {
            let seed = match seed {
                Some(s) => Some(s),
                None => kwargs.get::<Option<JValue>>("seed")?,
            };
            kwargs.assert_all_used()?;
            let mut items = list(&v)?;
            match seed.filter(|s| s.is_true()) {
                Some(seed) => PyRandom::seeded(&seed).shuffle(&mut items),
                None => PyRandom::unseeded().shuffle(&mut items),
            }
            Ok(JValue::from(items))
        },
    );
    super::add_filter(
        env,
        "json_query",
        |v: JValue, expr: String| -> Result<JValue, Error> {
            let compiled = jmespath::compile(&legacy_literals(&expr))
                .map_err(|e| invalid(format!("JMESPathError in json_query filter plugin:\n{e}")))?;
            // JMESPath's data is JSON: keys that are numbers as their text, dates in ISO form.
            let data =
                jmespath::Variable::from_serializable(crate::typed::plain(jvalue_to_json(&v)?))
                    .map_err(|e| invalid(format!("json_query: {e}")))?;
            let found = compiled
                .search(data)
                .map_err(|e| invalid(format!("JMESPathError in json_query filter plugin:\n{e}")))?;
            let json = serde_json::to_value(&*found).map_err(|e| invalid(e.to_string()))?;
            Ok(to_jinja(&json))
        },
    );
}

/// Python's jmespath takes a backtick literal that is not JSON (`` `wheel` ``) as a string (with a
/// deprecation); playbooks rely on it, the Rust crate does not, so such literals are quoted first.
fn legacy_literals(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len() + 8);
    let mut rest = expr;
    while let Some(open) = rest.find('`') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        // The literal runs to the next backtick that is not escaped.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '`' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else {
            out.push_str(&rest[open..]);
            return out;
        };
        let literal = after[..end].replace("\\`", "`");
        out.push('`');
        if serde_json::from_str::<Value>(&literal).is_ok() {
            out.push_str(&after[..end]);
        } else {
            let quoted = Value::String(literal.trim_start().to_string()).to_string();
            out.push_str(&quoted.replace('`', "\\`"));
        }
        out.push('`');
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `itertools.product` of lists: every row that takes one item of each, the last list varying fastest (one
/// empty row for no lists). The `product` filter, the `nested` lookup and `with_nested` all make it.
pub fn cartesian<T: Clone>(lists: &[Vec<T>]) -> Vec<Vec<T>> {
    let mut rows: Vec<Vec<T>> = vec![Vec::new()];
    for list in lists {
        rows = rows
            .iter()
            .flat_map(|row| {
                list.iter().map(move |x| {
                    let mut next = row.clone();
                    next.push(x.clone());
                    next
                })
            })
            .collect();
    }
    rows
}

/// `itertools.zip_longest` of lists: the i-th items of each, `fill` where a list has run out. The
/// `zip_longest` filter, the `together` lookup and `with_together` all make it.
pub fn zip_longest<T: Clone>(lists: &[Vec<T>], fill: &T) -> Vec<Vec<T>> {
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            lists
                .iter()
                .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                .collect()
        })
        .collect()
}

/// `selectattr('name')` without a test takes the truth of each item's attribute: an item without it fails,
/// as the truth of ansible-core's undefined marker does (`selectattr('name', 'defined')` is how to skip it).
fn truth_of_attributes(value: &JValue, attr: &str, test: Option<&str>) -> Result<(), Error> {
    if test.is_some() || !matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Ok(());
    }
    for item in value.try_iter()? {
        let mut current = item;
        for part in attr.split('.') {
            let key = part
                .parse::<i64>()
                .map_or_else(|_| JValue::from(part), JValue::from);
            let next = match key.as_i64() {
                Some(_) => current.get_item(&key).unwrap_or_default(),
                None => current.get_attr(part).unwrap_or_default(),
            };
            if next.is_undefined() {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    super::no_attribute(super::pyformat::type_name(&current), &key),
                ));
            }
            current = next;
        }
    }
    Ok(())
}

fn item_names(kwargs: &Kwargs) -> Result<(String, String), Error> {
    let key = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    Ok((key, value))
}

/// The items of a list-like value (a string is not one).
fn list(v: &JValue) -> Result<Vec<JValue>, Error> {
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => Ok(v.try_iter()?.collect()),
        _ => Err(invalid(format!("expected a list, got {}", v.kind()))),
    }
}

/// `list(set(a) OP set(b))`, as Ansible's `union`, `intersect`, `difference` and `symmetric_difference` are.
/// Lists of numbers come in CPython's set order; others (text, whose order Python randomises per process, or
/// lists and dicts, for which Ansible falls back to a list) in the order of first appearance: `a`'s items,
/// then `b`'s.
fn set_operation(op: Op, a: &JValue, b: &JValue) -> Result<JValue, Error> {
    let (a, b) = (list(a)?, list(b)?);
    if let Some(ordered) = pyset::apply(op, &a, &b) {
        return Ok(JValue::from(ordered));
    }
    let items = match op {
        Op::Union => a.into_iter().chain(b).collect(),
        Op::Intersection => a.into_iter().filter(|x| b.contains(x)).collect(),
        Op::Difference => a.into_iter().filter(|x| !b.contains(x)).collect(),
        Op::SymmetricDifference => {
            let both: Vec<JValue> = a.iter().filter(|x| b.contains(x)).cloned().collect();
            a.into_iter()
                .chain(b)
                .filter(|x| !both.contains(x))
                .collect()
        }
    };
    Ok(JValue::from(dedup(items)))
}

fn dedup(items: Vec<JValue>) -> Vec<JValue> {
    let mut out: Vec<JValue> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Ansible's `flatten`: `levels` deep (all when `None`), dropping `None`, `'None'` and `'null'` items unless
/// `skip_nulls=False`.
fn flatten(
    v: &JValue,
    levels: Option<i64>,
    skip_nulls: bool,
    out: &mut Vec<JValue>,
) -> Result<(), Error> {
    for item in list(v)? {
        if skip_nulls && (item.is_none() || matches!(item.as_str(), Some("None" | "null"))) {
            continue;
        }
        let is_seq = matches!(item.kind(), ValueKind::Seq | ValueKind::Iterable);
        match levels {
            _ if !is_seq => out.push(item),
            None => flatten(&item, None, skip_nulls, out)?,
            Some(l) if l >= 1 => flatten(&item, Some(l - 1), skip_nulls, out)?,
            Some(_) => out.push(item),
        }
    }
    Ok(())
}

/// `combine(*dicts, recursive=False, list_merge='replace')`, as `ansible.utils.vars.merge_hash`.
fn combine(first: JValue, rest: Rest<JValue>, kwargs: Kwargs) -> Result<JValue, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    kwargs.assert_all_used()?;
    let merge = ListMerge::parse(&list_merge)?;
    // `[a, b] | combine` and `a | combine(b, [c, d])` both work: terms are flattened one level.
    let mut dicts = Vec::new();
    for term in std::iter::once(&first).chain(rest.iter()) {
        match jvalue_to_json(term)? {
            Value::Array(items) => dicts.extend(items),
            other => dicts.push(other),
        }
    }
    // As Ansible merges: none is `{}`, one is itself (a dict or not), and more are merged from the last one
    // back, each into the one before it, checking the pair is two dicts.
    let Some(mut result) = dicts.pop() else {
        return Ok(to_jinja(&Value::Object(Map::new())));
    };
    while let Some(d) = dicts.pop() {
        let (Value::Object(d), Value::Object(high)) = (&d, &result) else {
            return Err(invalid(format!(
                "failed to combine variables, expected dicts but got a '{}' and a '{}'.",
                lazy_type_name(&d),
                lazy_type_name(&result)
            )));
        };
        result = Value::Object(merge_hash(d.clone(), high.clone(), recursive, merge));
    }
    Ok(to_jinja(&result))
}

/// The Python type a filter's argument has in ansible-core 2.19, where dicts and lists reach plugins as lazily
/// templated containers.
fn lazy_type_name(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "_AnsibleLazyTemplateDict",
        Value::Array(_) => "_AnsibleLazyTemplateList",
        other => crate::pyjson::python_type_name(other),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

impl ListMerge {
    fn parse(s: &str) -> Result<ListMerge, Error> {
        Ok(match s {
            "replace" => ListMerge::Replace,
            "keep" => ListMerge::Keep,
            "append" => ListMerge::Append,
            "prepend" => ListMerge::Prepend,
            "append_rp" => ListMerge::AppendRp,
            "prepend_rp" => ListMerge::PrependRp,
            _ => {
                return Err(invalid(
                    "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'",
                ));
            }
        })
    }
}

fn merge_hash(
    mut x: Map<String, Value>,
    y: Map<String, Value>,
    recursive: bool,
    merge: ListMerge,
) -> Map<String, Value> {
    for (key, y_value) in y {
        let Some(x_value) = x.get_mut(&key) else {
            x.insert(key, y_value);
            continue;
        };
        let merged = match (std::mem::take(x_value), y_value) {
            (Value::Object(a), Value::Object(b)) if recursive => {
                Value::Object(merge_hash(a, b, recursive, merge))
            }
            (Value::Array(a), Value::Array(b)) => Value::Array(match merge {
                ListMerge::Replace => b,
                ListMerge::Keep => a,
                ListMerge::Append => a.into_iter().chain(b).collect(),
                ListMerge::Prepend => b.into_iter().chain(a).collect(),
                ListMerge::AppendRp => {
                    let kept: Vec<Value> = a.into_iter().filter(|z| !b.contains(z)).collect();
                    kept.into_iter().chain(b).collect()
                }
                ListMerge::PrependRp => {
                    let kept: Vec<Value> = a.into_iter().filter(|z| !b.contains(z)).collect();
                    b.into_iter().chain(kept).collect()
                }
            }),
            (_, y_value) => y_value,
        };
        *x_value = merged;
    }
    x
}

/// `random(end, start=None, step=None, seed=None)`: a number in `range(start, end, step)` or an item of a list.
fn random(
    v: JValue,
    start: Option<i64>,
    step: Option<i64>,
    kwargs: Kwargs,
) -> Result<JValue, Error> {
    let start = match start {
        Some(s) => Some(s),
        None => kwargs.get("start")?,
    };
    let step = match step {
        Some(s) => Some(s),
        None => kwargs.get("step")?,
    };
    let seed: Option<JValue> = kwargs.get("seed")?;
    kwargs.assert_all_used()?;
    let mut rng = match seed.filter(|s| !s.is_none()) {
        Some(seed) => PyRandom::seeded(&seed),
        None => PyRandom::unseeded(),
    };
    if let Some(end) = v.as_i64().filter(|_| v.is_integer()) {
        let start = start.filter(|s| *s != 0).unwrap_or(0);
        let step = step.filter(|s| *s != 0).unwrap_or(1);
        return rng
            .randrange(start, end, step)
            .map(JValue::from)
            .ok_or_else(|| invalid(format!("empty range in randrange({start}, {end}, {step})")));
    }
    if start.is_some_and(|s| s != 0) || step.is_some_and(|s| s != 0) {
        return Err(invalid(
            "start and step can only be used with integer values",
        ));
    }
    let items: Vec<JValue> = match v.as_str() {
        Some(s) => s.chars().map(|c| JValue::from(c.to_string())).collect(),
        None => {
            list(&v).map_err(|_| invalid("random can only be used on sequences and integers"))?
        }
    };
    if items.is_empty() {
        return Err(invalid("Cannot choose from an empty sequence"));
    }
    Ok(items[rng.choice(items.len())].clone())
}

/// A list's items or a mapping's values; `None` for anything else.
fn members(v: &JValue) -> Result<Option<Vec<JValue>>, Error> {
    Ok(match v.kind() {
        ValueKind::Map => Some(
            v.try_iter()?
                .map(|k| v.get_item(&k).unwrap_or_default())
                .collect(),
        ),
        ValueKind::Seq => Some(v.try_iter()?.collect()),
        _ => None,
    })
}

/// The `subelements` filter: each element paired with each item of its list under the key path (which,
/// unlike the lookup, stays in the element).
fn subelements(obj: JValue, path: JValue, kwargs: Kwargs) -> Result<JValue, Error> {
    let skip_missing: bool = kwargs.get::<Option<bool>>("skip_missing")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let Some(elements) = members(&obj)? else {
        return Err(invalid("obj must be a list of dicts or a nested dict"));
    };
    let keys: Vec<String> = match (path.as_str(), path.kind()) {
        (Some(text), _) => text.split('.').map(String::from).collect(),
        (None, ValueKind::Seq) => path
            .try_iter()?
            .map(|k| super::filters::py_str(&k))
            .collect(),
        _ => return Err(invalid("subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    for element in elements {
        let mut values = element.clone();
        let mut missing = false;
        for key in &keys {
            let next = values.get_attr(key).unwrap_or_default();
            if next.is_undefined() {
                if skip_missing {
                    missing = true;
                    break;
                }
                return Err(invalid(format!(
                    "could not find '{key}' key in iterated item {}",
                    super::filters::py_repr(&values)
                )));
            }
            values = next;
        }
        if missing {
            continue;
        }
        if values.kind() != ValueKind::Seq {
            return Err(invalid(format!(
                "the key '{}' should point to a list, got {}",
                keys.last().cloned().unwrap_or_default(),
                super::filters::py_repr(&values)
            )));
        }
        for value in values.try_iter()? {
            out.push(JValue::from(vec![element.clone(), value]));
        }
    }
    Ok(JValue::from(out))
}

/// `rekey_on_member(data, key, duplicates='error')`: a list (or dict) of dicts as a dict keyed by a member.
fn rekey_on_member(data: JValue, key: JValue, kwargs: Kwargs) -> Result<JValue, Error> {
    let duplicates: String = kwargs
        .get::<Option<String>>("duplicates")?
        .unwrap_or_else(|| "error".into());
    kwargs.assert_all_used()?;
    if duplicates != "error" && duplicates != "overwrite" {
        return Err(invalid(format!(
            "duplicates parameter to rekey_on_member has unknown value: {duplicates}"
        )));
    }
    let Some(items) = members(&data)? else {
        return Err(invalid(format!(
            "Type is not a valid list, set, or dict: {}",
            super::pyformat::type_name(&data)
        )));
    };
    let mut out = serde_json::Map::new();
    for item in items {
        if item.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "List item is not a valid dict: {}",
                super::filters::py_repr(&item)
            )));
        }
        let name = item.get_item(&key)?;
        if name.is_undefined() {
            return Err(invalid(format!(
                "Key {} was not found",
                super::filters::py_repr(&key)
            )));
        }
        let name = super::filters::py_str(&name);
        if duplicates == "error" && out.contains_key(&name) {
            return Err(invalid(format!(
                "Key {name} is not unique, cannot correctly turn into dict"
            )));
        }
        out.insert(name, jvalue_to_json(&item)?);
    }
    Ok(to_jinja(&Value::Object(out)))
}
