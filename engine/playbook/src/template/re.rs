//! Ansible's regular-expression filters (`regex_search`, `regex_replace`, `regex_findall`, `regex_escape`) with
//! Python `re` semantics on the regex crate: Python's replacement syntax (`\\1`, `\\g<name>`), `re.findall`'s
//! result shapes, and `re.escape`'s character set.

use super::filters::{flag, py_str};
use super::invalid;
use minijinja::value::{Kwargs, Rest, Value as JValue};
use minijinja::{Environment, Error};
use regex::{Captures, Regex, RegexBuilder};

/// A pattern compiled with the `ignorecase`/`multiline` keyword arguments the regex filters take.
fn regex_with_flags(pattern: &str, kwargs: &Kwargs) -> Result<Regex, Error> {
    py_regex(
        pattern,
        flag(kwargs, "ignorecase")?,
        flag(kwargs, "multiline")?,
    )
}

/// Compiles a Python regular expression: `\Z` is `\z` here; the rest of the common syntax is the same. A
/// pattern this cannot compile fails with Python's `re` message.
pub(super) fn py_regex(pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    let mut translated = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        translated.push(c);
        if c == '\\' {
            match chars.next() {
                Some('Z') => translated.push('z'),
                Some(d) => translated.push(d),
                None => {}
            }
        }
    }
    RegexBuilder::new(&translated)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| {
            invalid(
                super::re_error::python_error(pattern)
                    .unwrap_or_else(|| format!("invalid regular expression {pattern:?}: {e}")),
            )
        })
}

/// A pattern for `re.match`, which anchors at the start of the string only (even in multiline mode); errors
/// are about the pattern as written.
pub(super) fn py_match_regex(
    pattern: &str,
    ignorecase: bool,
    multiline: bool,
) -> Result<Regex, Error> {
    if let Some(message) = super::re_error::python_error(pattern) {
        return Err(invalid(message));
    }
    py_regex(&format!(r"\A(?:{pattern})"), ignorecase, multiline)
}

/// A part of a Python `re.sub` replacement template.
enum Part {
    Text(String),
    Group(usize),
    Named(String),
}

/// Parses Python's replacement syntax: `\1`, `\g<1>`, `\g<name>`, `\n`-style escapes, `\\`.
fn parse_replacement(template: &str) -> Result<Vec<Part>, Error> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let group = match chars.next() {
            Some(d) if d.is_ascii_digit() => {
                let mut n = String::from(d);
                if let Some(e) = chars.next_if(char::is_ascii_digit) {
                    n.push(e);
                }
                Part::Group(n.parse().unwrap_or_default())
            }
            Some('g') => {
                if chars.next() != Some('<') {
                    return Err(invalid("missing < in group reference"));
                }
                let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                match name.parse::<usize>() {
                    Ok(n) => Part::Group(n),
                    Err(_) => Part::Named(name),
                }
            }
            Some('n') => Part::Text("\n".into()),
            Some('t') => Part::Text("\t".into()),
            Some('r') => Part::Text("\r".into()),
            Some('\\') => Part::Text("\\".into()),
            Some(d) if d.is_ascii_alphabetic() => {
                // Python says where the backslash is, in characters: before the two just read.
                let at = template.chars().count() - chars.clone().count() - 2;
                return Err(invalid(format!("bad escape \\{d} at position {at}")));
            }
            Some(d) => Part::Text(format!("\\{d}")),
            None => {
                let at = template.chars().count() - 1;
                return Err(invalid(format!(
                    "bad escape (end of pattern) at position {at}"
                )));
            }
        };
        if let Part::Text(t) = group {
            text.push_str(&t);
        } else {
            parts.push(Part::Text(std::mem::take(&mut text)));
            parts.push(group);
        }
    }
    parts.push(Part::Text(text));
    Ok(parts)
}

fn expand(parts: &[Part], caps: &Captures) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
            Part::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
        }
    }
    out
}

pub(super) fn register(env: &mut Environment<'static>) {
    super::add_filter(
        env,
        "regex_replace",
        |v: JValue,
         pattern: String,
         replacement: Option<String>,
         kwargs: Kwargs|
         -> Result<String, Error> {
            let re = regex_with_flags(&pattern, &kwargs)?;
            let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
            let mandatory = kwargs.get::<Option<usize>>("mandatory_count")?.unwrap_or(0);
            kwargs.assert_all_used()?;
            let parts = parse_replacement(&replacement.unwrap_or_default())?;
            let text = py_str(&v);
            let subs = re
                .find_iter(&text)
                .take(if count == 0 { usize::MAX } else { count })
                .count();
            if mandatory != 0 && mandatory != subs {
                return Err(invalid(format!(
                    "'{pattern}' should match {mandatory} times, but matches {count} times in '{text}'"
                )));
            }
            Ok(re
                .replacen(&text, count, |caps: &Captures| expand(&parts, caps))
                .into_owned())
        },
    );
    super::add_filter(
        env,
        "regex_search",
        |v: JValue, pattern: String, args: Rest<String>, kwargs: Kwargs| -> Result<JValue, Error> {
            let re = regex_with_flags(&pattern, &kwargs)?;
            kwargs.assert_all_used()?;
            let mut groups = Vec::new();
            for arg in args.iter() {
                let part = match arg.strip_prefix("\\g<").and_then(|r| r.split_once('>')) {
                    Some((name, _)) => match name.parse::<usize>() {
                        Ok(n) => Part::Group(n),
                        Err(_) => Part::Named(name.to_string()),
                    },
                    None => match arg.strip_prefix('\\').map(|r| {
                        r.chars()
                            .take_while(char::is_ascii_digit)
                            .collect::<String>()
                    }) {
                        Some(n) if !n.is_empty() => Part::Group(n.parse().unwrap_or_default()),
                        _ => return Err(invalid("Unknown argument")),
                    },
                };
                groups.push(part);
            }
            let text = py_str(&v);
            let Some(caps) = re.captures(&text) else {
                return Ok(JValue::from(()));
            };
            if groups.is_empty() {
                return Ok(JValue::from(caps.get(0).map_or("", |m| m.as_str())));
            }
            let found: Vec<JValue> = groups
                .iter()
                .map(|g| {
                    let m = match g {
                        Part::Group(n) => caps.get(*n),
                        Part::Named(n) => caps.name(n),
                        Part::Text(_) => None,
                    };
                    m.map_or(JValue::from(()), |m| JValue::from(m.as_str()))
                })
                .collect();
            Ok(JValue::from(found))
        },
    );
    super::add_filter(
        env,
        "regex_findall",
        |v: JValue, pattern: String, kwargs: Kwargs| -> Result<JValue, Error> {
            let re = regex_with_flags(&pattern, &kwargs)?;
            kwargs.assert_all_used()?;
            let text = py_str(&v);
            let n = re.captures_len() - 1;
            let found: Vec<JValue> = re
                .captures_iter(&text)
                .map(|caps| {
                    let get = |i: usize| JValue::from(caps.get(i).map_or("", |m| m.as_str()));
                    match n {
                        0 => get(0),
                        1 => get(1),
                        _ => JValue::from((1..=n).map(get).collect::<Vec<_>>()),
                    }
                })
                .collect();
            Ok(JValue::from(found))
        },
    );
    super::add_filter(
        env,
        "regex_escape",
        |v: JValue, re_type: Option<String>| -> Result<String, Error> {
            let text = py_str(&v);
            let special: &str = match re_type.as_deref().unwrap_or("python") {
                "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}",
                "posix_basic" => "].[^$*\\",
                "posix_extended" => {
                    return Err(invalid("Regex type (posix_extended) not yet implemented"));
                }
                other => return Err(invalid(format!("Invalid regex type ({other})"))),
            };
            let mut out = String::with_capacity(text.len());
            for c in text.chars() {
                if special.contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            Ok(out)
        },
    );
}
