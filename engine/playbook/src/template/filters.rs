//! Ansible's filters on single values: types, JSON/YAML, regular expressions (Python `re` semantics), paths,
//! encodings and hashes. Regular expressions are in `regex.rs`, text formatting in `text.rs`.

use super::{invalid, jvalue_to_json, to_jinja, yaml_dump};
use crate::pyjson;
use minijinja::value::{Kwargs, Rest, Value as JValue, ValueKind};
use minijinja::{Environment, Error};
use serde_json::Value;

/// Jinja's `format`: `value % args`, or `value % kwargs` for `%(name)s`.
fn format(value: JValue, args: Rest<JValue>, kwargs: Kwargs) -> Result<String, Error> {
    let names: Vec<&str> = kwargs.args().collect();
    let arguments = if names.is_empty() {
        JValue::from(args.0)
    } else if !args.is_empty() {
        return Err(invalid(
            "can't handle positional and keyword arguments at the same time",
        ));
    } else {
        let mut map = std::collections::BTreeMap::new();
        for name in names {
            map.insert(name.to_string(), kwargs.get::<JValue>(name)?);
        }
        JValue::from(map)
    };
    super::pyformat::percent(&py_str(&value), &arguments)
}

/// `to_json` and `to_nice_json`: Python's `json.dumps`, which escapes non-ASCII text unless told otherwise.
fn json_filter(
    v: &JValue,
    kwargs: &Kwargs,
    indent: Option<usize>,
    sort_keys: bool,
) -> Result<String, Error> {
    let options = pyjson::Options {
        indent: kwargs.get::<Option<usize>>("indent")?.or(indent),
        sort_keys: kwargs
            .get::<Option<bool>>("sort_keys")?
            .unwrap_or(sort_keys),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
        none_key: "null",
    };
    kwargs.assert_all_used()?;
    Ok(pyjson::dumps_with(&jvalue_to_json(v)?, &options))
}

pub(super) fn register(env: &mut Environment<'static>) {
    super::add_filter(env, "format", format);
    super::add_filter(env, "urlencode", urlencode);
    super::add_filter(env, "dictsort", dictsort);
    // Python's `pprint.pformat` of Ansible's values, which keep their own `repr()`.
    super::add_filter(env, "pprint", |v: JValue| py_repr(&v));
    // Jinja's `default(default_value='', boolean=False)`; minijinja's own takes no keyword arguments.
    env.add_filter("default", default);
    env.add_filter("d", default);
    super::add_filter(env, "bool", ansible_bool);
    super::add_filter(env, "int", int);
    super::add_filter(env, "float", float);
    super::add_filter(env, "string", |v: JValue| py_str(&v));
    super::add_filter(env, "to_json", |v: JValue, kwargs: Kwargs| {
        json_filter(&v, &kwargs, None, false)
    });
    super::add_filter(env, "to_nice_json", |v: JValue, kwargs: Kwargs| {
        json_filter(&v, &kwargs, Some(4), true)
    });
    super::add_filter(env, "from_json", |s: String| -> Result<JValue, Error> {
        let v: Value = serde_json::from_str(&s)
            .map_err(|e| invalid(super::jsonerror::loads_error(&s).unwrap_or(e.to_string())))?;
        Ok(to_jinja(&v))
    });
    super::add_filter(env, "to_yaml", |v: JValue, kwargs: Kwargs| {
        yaml_filter(&v, &kwargs, 2, None)
    });
    super::add_filter(env, "to_nice_yaml", |v: JValue, kwargs: Kwargs| {
        yaml_filter(&v, &kwargs, 4, Some(false))
    });
    super::add_filter(env, "from_yaml", from_yaml);
    super::add_filter(env, "from_yaml_all", |v: JValue| -> Result<JValue, Error> {
        let Some(text) = v.as_str() else { return Ok(v) };
        let file = crate::diag::SourceFile::new("<from_yaml_all>", text);
        let nodes = crate::yaml::parse_all(&file).map_err(|e| invalid(pyyaml_error(&e, text)))?;
        Ok(JValue::from(
            nodes
                .iter()
                .map(|n| to_jinja(&n.to_json()))
                .collect::<Vec<_>>(),
        ))
    });
    // Python's name of the value's type.
    // An undefined value is ansible-core's marker.
    env.add_filter("type_debug", |v: JValue| {
        if v.is_undefined() {
            "UndefinedMarker"
        } else {
            super::pyformat::type_name(&v)
        }
    });
    env.add_filter("mandatory", mandatory);
    super::add_filter(
        env,
        "ternary",
        |v: JValue, t: JValue, f: JValue, none: Option<JValue>| match none {
            Some(n) if v.is_none() && !n.is_none() => n,
            _ if v.is_true() => t,
            _ => f,
        },
    );
    register_paths(env);
    register_encodings(env);
}

/// Ansible's truthiness for strings (`bool` filter): yes/on/1/true in any case.
pub(super) fn ansible_bool(value: JValue) -> bool {
    if let Some(s) = value.as_str() {
        return matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "yes" | "on" | "1" | "true" | "y" | "t"
        );
    }
    match value.kind() {
        ValueKind::Number => value.as_i64().is_some_and(|i| i == 1),
        _ => value.is_true(),
    }
}

/// A value as Python's `str()` writes it: `True`, `None`, `1.0`, `['a', 1]`, `{'k': 'v'}`.
pub(super) fn py_str(value: &JValue) -> String {
    if super::is_omit(value) {
        // Python's `str()` of Ansible's `omit` placeholder object.
        return "<<Omit>>".into();
    }
    match (
        value.as_str(),
        value.downcast_object_ref::<super::time::Moment>(),
    ) {
        (Some(s), _) => s.to_string(),
        (None, Some(moment)) => moment.0.python_str(),
        (None, None) => py_repr(value),
    }
}

/// Python's `repr()` of a plain value.
pub(super) fn py_repr(value: &JValue) -> String {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number if value.is_integer() => value.to_string(),
        ValueKind::Number => {
            f64::try_from(value.clone()).map_or_else(|_| value.to_string(), py_float)
        }
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!(
                    "'{}'",
                    s.replace('\\', "\\\\")
                        .replace('\'', "\\'")
                        .replace('\n', "\\n")
                )
            }
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = value
                .try_iter()
                .map(|it| it.map(|v| py_repr(&v)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items: Vec<String> = value
                .try_iter()
                .map(|it| {
                    it.map(|k| {
                        format!(
                            "{}: {}",
                            py_repr(&k),
                            py_repr(&value.get_item(&k).unwrap_or_default())
                        )
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        _ => match value.downcast_object_ref::<super::time::Moment>() {
            Some(moment) => moment.0.python_repr(),
            None => value.to_string(),
        },
    }
}

/// A float as Python's `repr()` writes it: `1.0`, `0.1`, `1e+16`, `inf`.
pub(super) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let s = format!("{f:e}");
        return match s.split_once('e') {
            Some((m, e)) if e.starts_with('-') => format!("{m}e-{:0>2}", &e[1..]),
            Some((m, e)) => format!("{m}e+{e:0>2}"),
            None => s,
        };
    }
    if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Python's `int(text, base)`: surrounding blanks and `_` between digits allowed, `0x`/`0o`/`0b` prefixes with
/// the matching base (or base 0).
fn parse_py_int(text: &str, base: u32) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (base, digits) = match lower.get(..2) {
        Some("0x") if base == 16 || base == 0 => (16, &t[2..]),
        Some("0o") if base == 8 || base == 0 => (8, &t[2..]),
        Some("0b") if base == 2 || base == 0 => (2, &t[2..]),
        _ => (if base == 0 { 10 } else { base }, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let n = i64::from_str_radix(&digits.replace('_', ""), base).ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(text)`.
pub(super) fn parse_py_float(text: &str) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase().replace('_', "");
    match t.trim_start_matches(['+', '-']) {
        "inf" | "infinity" | "nan" => {}
        s if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || ".e+-".contains(c)) => {
            return None;
        }
        _ => {}
    }
    t.parse().ok()
}

/// Jinja's `int(default=0, base=10)`: a string is read in `base`, and, when that fails, as a float truncated
/// (`'42.5'` is 42); anything else is `int(value)`. Python's `int(text, base)` takes bases 0 and 2 to 36 only
/// (a bool counts as 0 or 1); another base, or one that is not an integer, fails the same way bad digits do.
fn int(v: JValue, args: Rest<JValue>, kwargs: Kwargs) -> Result<JValue, Error> {
    let [default, base] = python_args(&args, &kwargs, ["default", "base"])?;
    let default = default.unwrap_or(JValue::from(0));
    if let Some(s) = v.as_str() {
        let base = match base {
            None => Some(10),
            Some(b) if b.kind() == ValueKind::Bool => Some(u32::from(b.is_true())),
            Some(b) if b.is_integer() => b.as_i64().and_then(|b| u32::try_from(b).ok()),
            Some(_) => None,
        }
        .filter(|b| *b == 0 || (2..=36).contains(b));
        if let Some(i) = base.and_then(|base| parse_py_int(s, base)) {
            return Ok(JValue::from(i));
        }
        // Text that reads as an infinite float gives the default too.
        return Ok(parse_py_float(s)
            .filter(|f| f.is_finite())
            .map_or(default, |f| JValue::from(f.trunc() as i64)));
    }
    match v.kind() {
        ValueKind::Bool => Ok(JValue::from(i64::from(v.is_true()))),
        ValueKind::Number if v.is_integer() => Ok(v),
        ValueKind::Number => match f64::try_from(v) {
            Ok(f) => float_to_int(f, default),
            Err(_) => Ok(default),
        },
        _ => Ok(default),
    }
}

/// Python's `int()` of a float inside the `int` filter: NaN's `ValueError` gives the default, infinity's
/// `OverflowError` is not caught.
fn float_to_int(f: f64, default: JValue) -> Result<JValue, Error> {
    if f.is_nan() {
        Ok(default)
    } else if f.is_infinite() {
        Err(invalid("cannot convert float infinity to integer"))
    } else {
        Ok(JValue::from(f.trunc() as i64))
    }
}

/// A Python function's arguments, by position and then by name, as `names` lists them (`None` for one not
/// given), with Python's errors for too many and for one given twice. minijinja's `Option` arguments would
/// turn a `none` (or undefined) argument into "not given", which Python's defaults do not.
fn python_args<const N: usize>(
    args: &[JValue],
    kwargs: &Kwargs,
    names: [&str; N],
) -> Result<[Option<JValue>; N], Error> {
    if args.len() > N {
        return Err(Error::new(
            minijinja::ErrorKind::TooManyArguments,
            format!(
                "takes at most {} arguments ({} given)",
                N + 1,
                args.len() + 1
            ),
        ));
    }
    let mut out: [Option<JValue>; N] = std::array::from_fn(|i| args.get(i).cloned());
    for (slot, name) in out.iter_mut().zip(names) {
        if !kwargs.has(name) {
            continue;
        }
        if slot.is_some() {
            return Err(Error::new(
                minijinja::ErrorKind::TooManyArguments,
                format!("got multiple values for argument '{name}'"),
            ));
        }
        *slot = Some(kwargs.get::<JValue>(name)?);
    }
    kwargs.assert_all_used()?;
    Ok(out)
}

/// Jinja's `default(value, default_value='', boolean=False)`: the default for an undefined value, and with
/// `boolean` for any false one (`''`, `0`, `[]`, `none`) too. A default that is itself undefined is returned
/// as such, so `a | default(b) | default('c')` chains.
fn default(v: JValue, args: Rest<JValue>, kwargs: Kwargs) -> Result<JValue, Error> {
    let [default_value, boolean] = python_args(&args, &kwargs, ["default_value", "boolean"])?;
    let boolean = boolean.is_some_and(|b| b.is_true());
    Ok(if v.is_undefined() || (boolean && !v.is_true()) {
        default_value.unwrap_or_else(|| JValue::from(""))
    } else {
        v
    })
}

/// The error `mandatory` gives when it names no variable; the templar puts the name of the undefined variable
/// in (`Mandatory variable 'x' not defined.`), which the filter cannot see.
pub(super) const MANDATORY_UNNAMED: &str = "Mandatory variable not defined.";

/// Ansible's `mandatory(msg=None)`: the value, or a failure with `msg` (as text) when it is undefined. The
/// error is not an undefined-variable one, so the templar keeps its words rather than naming the variable.
fn mandatory(v: JValue, args: Rest<JValue>, kwargs: Kwargs) -> Result<JValue, Error> {
    let [msg] = python_args(&args, &kwargs, ["msg"])?;
    if !v.is_undefined() {
        return Ok(v);
    }
    Err(invalid(match msg.filter(|m| !m.is_none()) {
        Some(msg) => py_str(&msg),
        None => MANDATORY_UNNAMED.to_string(),
    }))
}

/// Jinja's `float(default=0.0)`.
fn float(v: JValue, default: Option<JValue>) -> JValue {
    let parsed = match v.kind() {
        ValueKind::String => v.as_str().and_then(parse_py_float),
        ValueKind::Bool => Some(if v.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(v).ok(),
        _ => None,
    };
    parsed
        .map(JValue::from)
        .unwrap_or_else(|| default.unwrap_or(JValue::from(0.0)))
}

/// `to_yaml` is PyYAML's `dump(default_flow_style=None)`: collections of scalars in flow style, the rest block;
/// `to_nice_yaml` is block style with a four-space indent.
fn yaml_filter(
    v: &JValue,
    kwargs: &Kwargs,
    indent: usize,
    flow: Option<bool>,
) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(indent);
    let flow = match kwargs.get::<Option<JValue>>("default_flow_style")? {
        Some(f) if f.is_none() => None,
        Some(f) => Some(f.is_true()),
        None => flow,
    };
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    let width = kwargs.get::<Option<usize>>("width")?.unwrap_or(80);
    kwargs.assert_all_used()?;
    let options = yaml_dump::Options {
        indent: indent.clamp(2, 9),
        flow,
        sort_keys,
        width,
        literal_blocks: false,
        fit_literals: false,
    };
    Ok(yaml_dump::dump(&jvalue_to_json(v)?, &options))
}

fn from_yaml(v: JValue) -> Result<JValue, Error> {
    let Some(text) = v.as_str() else { return Ok(v) };
    let file = crate::diag::SourceFile::new("<from_yaml>", text);
    let node = crate::yaml::parse(&file).map_err(|e| invalid(pyyaml_error(&e, text)))?;
    Ok(to_jinja(&node.to_json()))
}

/// A YAML syntax error as PyYAML (on libyaml) words it for a string: the context and where it started, the
/// problem and where it is (`in "<unicode string>", line 2, column 1`), one per line. Our parser gives one
/// place; the context's is found again for unclosed brackets and quotes, the usual cases.
fn pyyaml_error(e: &crate::yaml::YamlError, text: &str) -> String {
    let d = &e.0;
    let what = d.label.as_deref().unwrap_or(&d.message);
    let Some((_, span)) = &d.location else {
        return what.to_string();
    };
    let mark = |(line, col): (usize, usize)| {
        format!("  in \"<unicode string>\", line {line}, column {col}")
    };
    let at = (span.line, span.col);
    let open = open_brackets(text, at);
    let (context, problem) = match what {
        "while parsing a node, did not find expected node content" => {
            let kind = if open.is_empty() { "block" } else { "flow" };
            (
                Some(format!("while parsing a {kind} node")),
                "did not find expected node content".to_string(),
            )
        }
        "while parsing node, found unknown anchor" => (None, "found undefined alias".into()),
        "while parsing a flow sequence, expected ',' or ']'"
        | "while parsing a flow mapping, did not find expected ',' or '}'" => {
            let (kind, opener, closer) = if what.contains("sequence") {
                ("sequence", '[', ']')
            } else {
                ("mapping", '{', '}')
            };
            let context = match open.iter().rev().find(|(c, _)| *c == opener) {
                Some((_, start)) => format!("while parsing a flow {kind}\n{}", mark(*start)),
                None => format!("while parsing a flow {kind}"),
            };
            (
                Some(context),
                format!("did not find expected ',' or '{closer}'\n{}", mark(at)),
            )
        }
        // The scalar starts where we point; the stream ends where libyaml does.
        "while scanning a quoted scalar, found unexpected end of stream" => {
            let line = text.matches('\n').count() + 1;
            let col = text.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
            (
                Some(format!("while scanning a quoted scalar\n{}", mark(at))),
                format!("found unexpected end of stream\n{}", mark((line, col))),
            )
        }
        other if other.starts_with("unexpected character: ") => (
            Some("while scanning for the next token".into()),
            "found character that cannot start any token".into(),
        ),
        other => match other
            .strip_prefix("while ")
            .and_then(|o| o.split_once(", "))
        {
            Some((context, problem)) => (Some(format!("while {context}")), problem.into()),
            None => (None, other.to_string()),
        },
    };
    let problem = if problem.contains("\n  in ") {
        problem
    } else {
        format!("{problem}\n{}", mark(at))
    };
    match context {
        Some(context) => format!("{context}\n{problem}"),
        None => problem,
    }
}

/// The brackets (`[`, `{`) still open before a place (1-based line and column), with where each is, outside
/// quoted scalars.
fn open_brackets(text: &str, at: (usize, usize)) -> Vec<(char, (usize, usize))> {
    let mut open = Vec::new();
    let mut quote = None;
    for (line, content) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        for (col, c) in content.chars().enumerate().map(|(i, c)| (i + 1, c)) {
            if (line, col) >= at {
                return open;
            }
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '{') => open.push((c, (line, col))),
                (None, ']' | '}') => {
                    open.pop();
                }
                _ => {}
            }
        }
    }
    open
}

pub(super) fn flag(kwargs: &Kwargs, name: &str) -> Result<bool, Error> {
    Ok(kwargs
        .get::<Option<JValue>>(name)?
        .is_some_and(|v| v.is_true()))
}

fn register_paths(env: &mut Environment<'static>) {
    super::add_filter(env, "basename", |s: String| {
        s.rsplit('/').next().unwrap_or_default().to_string()
    });
    super::add_filter(env, "dirname", |s: String| match s.rfind('/') {
        Some(i) if s[..i].chars().all(|c| c == '/') => s[..=i].to_string(),
        Some(i) => s[..i].trim_end_matches('/').to_string(),
        None => String::new(),
    });
    super::add_filter(env, "expanduser", |s: String| expanduser(&s));
    super::add_filter(env, "realpath", |s: String| {
        let path = std::path::Path::new(&s);
        match std::fs::canonicalize(path) {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(_) => normpath(
                &std::env::current_dir()
                    .map(|d| d.join(path))
                    .unwrap_or_else(|_| path.into())
                    .to_string_lossy(),
            ),
        }
    });
    super::add_filter(env, "normpath", |s: String| normpath(&s));
    super::add_filter(env, "splitext", |s: String| {
        let base_start = s.rfind('/').map_or(0, |i| i + 1);
        let base = &s[base_start..];
        let stem_len = base.len() - base.trim_start_matches('.').len();
        let (root, ext) = match base[stem_len..].rfind('.') {
            Some(i) => s.split_at(base_start + stem_len + i),
            None => (s.as_str(), ""),
        };
        JValue::from(vec![JValue::from(root), JValue::from(ext)])
    });
}

/// `os.path.expanduser`: `~` and `~/...` from `$HOME`; `~user` is left alone.
pub(super) fn expanduser(path: &str) -> String {
    match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", home.trim_end_matches('/'))
        }
        _ => path.to_string(),
    }
}

/// `os.path.normpath` for POSIX paths.
pub(crate) fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let lead = if path.starts_with("//") && !path.starts_with("///") {
        "//"
    } else if path.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if !lead.is_empty() => {}
            p => parts.push(p),
        }
    }
    let joined = format!("{lead}{}", parts.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// Text as Python's `str.encode(encoding)` gives it, for the encodings playbooks name (`utf-8`, `utf-16-le`
/// for Windows' `-EncodedCommand`, `utf-16-be`, `utf-16`, `latin-1`/`iso-8859-1`, `ascii`).
fn encode_text(text: &str, encoding: Option<&str>) -> Result<Vec<u8>, Error> {
    let name = encoding
        .unwrap_or("utf-8")
        .to_ascii_lowercase()
        .replace('_', "-");
    let units = || text.encode_utf16();
    Ok(match name.as_str() {
        "utf-8" | "utf8" => text.as_bytes().to_vec(),
        "utf-16-le" | "utf-16le" => units().flat_map(u16::to_le_bytes).collect(),
        "utf-16-be" | "utf-16be" => units().flat_map(u16::to_be_bytes).collect(),
        // Python writes a byte-order mark, little-endian on this machine.
        "utf-16" | "utf16" => [0xFF, 0xFE]
            .into_iter()
            .chain(units().flat_map(u16::to_le_bytes))
            .collect(),
        "latin-1" | "latin1" | "iso-8859-1" | "ascii" => {
            let codec = if name == "ascii" { "ascii" } else { "latin-1" };
            let limit = if name == "ascii" { 0x80 } else { 0x100 };
            if let Some(c) = text.chars().find(|c| u32::from(*c) >= limit) {
                return Err(invalid(format!(
                    "'{codec}' codec can't encode character '\\u{:04x}'",
                    u32::from(c)
                )));
            }
            text.chars().map(|c| c as u8).collect()
        }
        other => return Err(invalid(format!("unknown encoding: {other}"))),
    })
}

/// Python's `urllib.parse.quote`: letters, digits and `_.-~` kept, and `/` unless `query` (then a space is
/// `+`), as Jinja's `url_quote` calls it.
fn url_quote(text: &str, query: bool) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(byte as char)
            }
            b'/' if !query => out.push('/'),
            b' ' if query => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Jinja's `urlencode`: text (or a value that is not a collection) quoted with `/` kept; a mapping or a list of
/// pairs as a query string.
fn urlencode(value: JValue) -> Result<String, Error> {
    let pairs: Vec<(JValue, JValue)> = match value.kind() {
        ValueKind::Map => value
            .try_iter()?
            .map(|k| {
                let v = value.get_item(&k).unwrap_or_default();
                (k, v)
            })
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => value
            .try_iter()?
            .map(|pair| {
                let k = pair.get_item(&JValue::from(0)).unwrap_or_default();
                let v = pair.get_item(&JValue::from(1)).unwrap_or_default();
                (k, v)
            })
            .collect(),
        _ => return Ok(url_quote(&py_str(&value), false)),
    };
    Ok(pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                url_quote(&py_str(k), true),
                url_quote(&py_str(v), true)
            )
        })
        .collect::<Vec<_>>()
        .join("&"))
}

/// Jinja's `dictsort(case_sensitive=False, by='key', reverse=False)`, its arguments positional too.
fn dictsort(
    value: JValue,
    case_sensitive: Option<JValue>,
    by: Option<JValue>,
    reverse: Option<JValue>,
    kwargs: Kwargs,
) -> Result<JValue, Error> {
    let mut named: Vec<(String, JValue)> = Vec::new();
    for (name, given) in [
        ("case_sensitive", case_sensitive),
        ("by", by),
        ("reverse", reverse),
    ] {
        if let Some(v) = given.or(kwargs.get::<Option<JValue>>(name)?) {
            named.push((name.to_string(), v));
        }
    }
    kwargs.assert_all_used()?;
    minijinja::filters::dictsort(&value, named.into_iter().collect())
}

fn register_encodings(env: &mut Environment<'static>) {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    super::add_filter(
        env,
        "b64encode",
        |v: JValue, kwargs: Kwargs| -> Result<String, Error> {
            let urlsafe = flag(&kwargs, "urlsafe")?;
            let encoding: Option<String> = kwargs.get("encoding")?;
            kwargs.assert_all_used()?;
            let bytes = encode_text(&py_str(&v), encoding.as_deref())?;
            Ok(if urlsafe {
                URL_SAFE.encode(bytes)
            } else {
                STANDARD.encode(bytes)
            })
        },
    );
    super::add_filter(
        env,
        "b64decode",
        |v: JValue, kwargs: Kwargs| -> Result<String, Error> {
            let urlsafe = flag(&kwargs, "urlsafe")?;
            let _encoding: Option<String> = kwargs.get("encoding")?;
            kwargs.assert_all_used()?;
            let bytes = b64decode(&py_str(&v), urlsafe).map_err(invalid)?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        },
    );
    super::add_filter(
        env,
        "hash",
        |v: JValue, kind: Option<String>| -> Result<JValue, Error> {
            let kind = kind.unwrap_or_else(|| "sha1".into());
            digest(&kind, py_str(&v).as_bytes())
                .map(JValue::from)
                .ok_or_else(|| invalid(format!("unsupported hash type {kind}")))
        },
    );
    for (name, kind) in [("checksum", "sha1"), ("sha1", "sha1"), ("md5", "md5")] {
        super::add_filter(env, name, move |v: JValue| {
            digest(kind, py_str(&v).as_bytes()).unwrap_or_default()
        });
    }
    super::add_filter(env, "password_hash", super::password::password_hash);
    super::add_filter(
        env,
        "to_uuid",
        |v: JValue, namespace: Option<String>, kwargs: Kwargs| -> Result<String, Error> {
            let namespace = match namespace {
                Some(ns) => Some(ns),
                None => kwargs.get("namespace")?,
            };
            kwargs.assert_all_used()?;
            let namespace = match namespace {
                Some(ns) => uuid::Uuid::parse_str(&ns)
                    .map_err(|e| invalid(format!("Invalid value '{ns}' for 'namespace': {e}")))?,
                None => uuid::uuid!("361E6D51-FAEC-444A-9079-341386DA8E2E"),
            };
            Ok(uuid::Uuid::new_v5(&namespace, py_str(&v).as_bytes()).to_string())
        },
    );
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Python's `base64.b64decode` (`urlsafe_b64decode` with `urlsafe`), which is not strict: characters outside
/// the alphabet are skipped, and decoding stops at the padding that ends a quad. What is left over is an error
/// in Python's words.
fn b64decode(text: &str, urlsafe: bool) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut quad, mut pads, mut left) = (0usize, 0usize, 0u8);
    for c in text.chars() {
        let c = match c {
            '-' if urlsafe => '+',
            '_' if urlsafe => '/',
            c => c,
        };
        if c == '=' {
            pads += 1;
            if quad >= 2 && quad + pads >= 4 {
                return Ok(out);
            }
            continue;
        }
        let Some(value) = BASE64_ALPHABET.iter().position(|a| char::from(*a) == c) else {
            continue;
        };
        // Six bits a character: the alphabet has 64.
        let value = value as u8;
        pads = 0;
        // As binascii does: each character after the first of a quad completes a byte.
        match quad {
            0 => left = value,
            1 => {
                out.push((left << 2) | (value >> 4));
                left = value & 0x0f;
            }
            2 => {
                out.push((left << 4) | (value >> 2));
                left = value & 0x03;
            }
            _ => out.push((left << 6) | value),
        }
        quad = (quad + 1) % 4;
    }
    match quad {
        0 => Ok(out),
        1 => Err(format!(
            "Invalid base64-encoded string: number of data characters ({}) cannot be 1 more than a multiple of 4",
            out.len() / 3 * 4 + 1
        )),
        _ => Err("Incorrect padding".into()),
    }
}

/// `hashlib.new(kind).update(data).hexdigest()` for the algorithms Ansible users reach for.
pub(super) fn digest(kind: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest as _;
    Some(match kind {
        "md5" => hex::encode(md5::Md5::digest(data)),
        "sha1" => hex::encode(sha1::Sha1::digest(data)),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        _ => return None,
    })
}
