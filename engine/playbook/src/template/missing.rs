//! Which lookup of an expression finds nothing, said as ansible-core says it: "object of type 'dict' has no
//! attribute 'nope'", "hostvars['nohost']". minijinja names an undefined lookup after a subscript only as
//! "`users[...].nope` is undefined", so the lookup chains are found in the expression's text and walked again
//! (on the error path only).

use super::filters::py_repr;
use minijinja::value::Value as JValue;

/// A value and the lookups after it: `hostvars[inventory_hostname].nope`, `(lst | first).x`, `s.upper().x`.
#[derive(Debug, PartialEq)]
struct Chain<'t> {
    /// The code it is in.
    code: &'t str,
    /// Where its first value (a name, a call, a parenthesized expression, a literal) starts.
    start: usize,
    /// Each lookup and where it starts: the value it looks into is the code from `start` to there.
    steps: Vec<(usize, Step<'t>)>,
}

/// One lookup: `.name`, `.0` or `[expression]`.
#[derive(Debug, PartialEq)]
enum Step<'t> {
    Attr(&'t str),
    Index(i64),
    Item(&'t str),
}

/// Ansible's words for the first lookup of `text` (an expression, or a template's `{{ }}` and `{% %}` code)
/// that finds nothing in a value that `eval` gives (`None` where evaluating fails).
pub(super) fn first_missing(text: &str, eval: &dyn Fn(&str) -> Option<JValue>) -> Option<String> {
    code_parts(text)
        .iter()
        .flat_map(|code| chains(code))
        .find_map(|chain| missing_in(&chain, eval))
}

/// The code of a template (inside its `{{ }}` and `{% %}` delimiters, as the `%` rewrite walks it), or the
/// whole of an expression.
fn code_parts(text: &str) -> Vec<String> {
    if !super::is_template(text) {
        return vec![text.to_string()];
    }
    let parts = std::cell::RefCell::new(Vec::new());
    super::percent::rewrite_code(text, |code| {
        parts.borrow_mut().push(code.to_string());
        code.into()
    });
    parts.into_inner()
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The index after the string literal that starts at `start`.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() && bytes[i] != quote {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

/// The index after the bracket that closes the one at `open` (`(`, `[` or `{`).
fn after_closing(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'[' | b'(' | b'{' => depth += 1,
            b']' | b')' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn name_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && is_name_char(bytes[end]) {
        end += 1;
    }
    end
}

/// The lookup chains of a piece of code, outer ones first.
fn chains(code: &str) -> Vec<Chain<'_>> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\'' || b == b'"' {
            i = skip_string(bytes, i);
            continue;
        }
        let before = i.checked_sub(1).map(|p| bytes[p]);
        let follows_value =
            before.is_some_and(|p| is_name_char(p) || matches!(p, b'.' | b']' | b')'));
        // Where the first value ends, and where scanning goes on (inside brackets, for the chains there).
        let (value_end, next) = if is_name_start(b) && !follows_value {
            let end = name_end(bytes, i);
            match bytes.get(end) {
                Some(b'(') => (after_closing(bytes, end), end),
                _ => (Some(end), end),
            }
        } else if matches!(b, b'(' | b'[' | b'{') && !follows_value {
            (after_closing(bytes, i), i + 1)
        } else {
            i += 1;
            continue;
        };
        let Some(mut at) = value_end else { break };
        let mut steps = Vec::new();
        loop {
            match (bytes.get(at), bytes.get(at + 1)) {
                (Some(b'.'), Some(&c)) if is_name_start(c) => {
                    let end = name_end(bytes, at + 1);
                    if bytes.get(end) == Some(&b'(') {
                        // A method call is part of the value the next lookup looks into.
                        match after_closing(bytes, end) {
                            Some(after) => at = after,
                            None => break,
                        }
                    } else {
                        steps.push((at, Step::Attr(&code[at + 1..end])));
                        at = end;
                    }
                }
                (Some(b'.'), Some(c)) if c.is_ascii_digit() => {
                    let end = name_end(bytes, at + 1);
                    match code[at + 1..end].parse() {
                        Ok(index) => steps.push((at, Step::Index(index))),
                        Err(_) => break,
                    }
                    at = end;
                }
                (Some(b'['), _) => match after_closing(bytes, at) {
                    Some(after) => {
                        steps.push((at, Step::Item(&code[at + 1..after - 1])));
                        at = after;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        if !steps.is_empty() {
            found.push(Chain {
                code,
                start: i,
                steps,
            });
        }
        i = next;
    }
    found
}

/// Walks a chain: the words for the first lookup that finds nothing, if one does.
fn missing_in(chain: &Chain<'_>, eval: &dyn Fn(&str) -> Option<JValue>) -> Option<String> {
    let found = |v: Result<JValue, minijinja::Error>| v.ok().filter(|v| !v.is_undefined());
    let root = &chain.code[chain.start..chain.steps.first()?.0];
    for (n, (at, step)) in chain.steps.iter().enumerate() {
        let base = &chain.code[chain.start..*at];
        // Evaluating again runs what the value's code calls: a command's output is never re-run for this.
        if base.contains("pipe") {
            return None;
        }
        let value = eval(base).filter(|v| !v.is_undefined())?;
        // Jinja's `.name` tries the attribute, then the item; `[key]` the item, then the attribute.
        let (key, next) = match step {
            Step::Attr(name) => {
                let key = JValue::from(*name);
                let next = found(value.get_attr(name)).or_else(|| found(value.get_item(&key)));
                (key, next)
            }
            Step::Index(index) => {
                let key = JValue::from(*index);
                (key.clone(), found(value.get_item(&key)))
            }
            Step::Item(text) => {
                let key = eval(text).filter(|k| !k.is_undefined())?;
                let next = found(value.get_item(&key))
                    .or_else(|| key.as_str().and_then(|name| found(value.get_attr(name))));
                (key, next)
            }
        };
        if next.is_some() {
            continue;
        }
        // `hostvars` names a host it lacks; each host's variables are ansible-core's `HostVarsVars`.
        return Some(match (root.trim(), n) {
            ("hostvars", 0) => format!("hostvars[{}]", py_repr(&key)),
            (root, _) => {
                let kind = match (root, n) {
                    ("hostvars", 1) => "HostVarsVars",
                    _ => super::pyformat::type_name(&value),
                };
                super::no_attribute(kind, &key)
            }
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_found_outside_strings_with_calls_in_their_values() {
        let code = "hostvars[inventory_hostname].nope == 'a[1]' and s.upper().x and (l | first).y";
        let found = chains(code);
        let shown: Vec<(&str, &Step<'_>)> = found
            .iter()
            .flat_map(|c| {
                c.steps
                    .iter()
                    .map(|(at, step)| (&c.code[c.start..*at], step))
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("hostvars", &Step::Item("inventory_hostname")),
                ("hostvars[inventory_hostname]", &Step::Attr("nope")),
                ("s.upper()", &Step::Attr("x")),
                ("(l | first)", &Step::Attr("y")),
            ]
        );
        assert_eq!(
            code_parts("pre {{ a[0] }} post {% if b.c %}"),
            vec![" a[0] ", " if b.c "]
        );
    }

    #[test]
    fn the_first_missing_lookup_is_named_with_its_type() {
        let env = minijinja::Environment::new();
        let vars = super::super::to_jinja(&serde_json::json!({
            "users": [{"name": "ann"}],
            "d": {"k": {"x": 1}},
            "hostvars": {"alpha": {"x": 1}},
            "inventory_hostname": "alpha",
        }));
        let eval = |code: &str| {
            env.compile_expression(code)
                .and_then(|e| e.eval(&vars))
                .ok()
        };
        let said = |text: &str| first_missing(text, &eval);
        for (text, says) in [
            (
                "users[0].nope",
                "object of type 'dict' has no attribute 'nope'",
            ),
            ("users[5]", "object of type 'list' has no attribute 5"),
            (
                "{{ d['k']['x'].y }}",
                "object of type 'int' has no attribute 'y'",
            ),
            (
                "users.0.nope",
                "object of type 'dict' has no attribute 'nope'",
            ),
            (
                "hostvars[inventory_hostname].nope",
                "object of type 'HostVarsVars' has no attribute 'nope'",
            ),
            ("hostvars['beta'].x", "hostvars['beta']"),
        ] {
            assert_eq!(said(text).as_deref(), Some(says), "{text}");
        }
        assert_eq!(said("users[0].name"), None);
        assert_eq!(said("missing[0].x"), None);
    }
}
