//! YAML as Ansible reads it: a tree whose every node knows its line and column, scalars resolved by YAML 1.1
//! rules (PyYAML's SafeLoader, which Ansible uses): `yes/no/on/off` are booleans, `0755` is octal, `1e3` is a
//! string, and `<<` merge keys work.
//!
//! saphyr-parser gives events with positions; we build the tree here because no maintained serde YAML crate
//! gives positions for every key (needed to point at an unknown keyword) and resolves scalars as YAML 1.1 does.

use crate::diag::{Diagnostic, SourceFile, Span};
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: NodeKind,
    /// Where it starts; `len` covers a scalar's first line.
    pub span: Span,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// `~`, `null` or nothing.
    Null,
    /// A YAML 1.1 boolean.
    Bool(bool),
    /// An integer (Python's are unbounded; beyond 128 bits they are read as floats).
    Int(i128),
    /// A float.
    Float(f64),
    /// A YAML 1.1 timestamp: Python's `date` or `datetime`.
    Stamp(crate::typed::Stamp),
    /// A string; `quoted` is false for plain scalars.
    Str {
        /// The text.
        value: String,
        /// Whether it was quoted or a block scalar.
        quoted: bool,
    },
    /// A string tagged `!unsafe`: never templated.
    Unsafe(String),
    /// A `!vault` value no secret given opens: an error only where it is used, as in ansible-core.
    Vault(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order; duplicate keys keep the last value, as PyYAML does.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The node as a string, if it is a scalar string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str { value, .. } | NodeKind::Unsafe(value) => Some(value),
            _ => None,
        }
    }

    /// The mapping entries, if it is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// Looks up a string key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// Python's falsiness of the value (`None`, `False`, `0`, empty): Ansible skips such files and sections.
    pub fn is_falsy(&self) -> bool {
        match &self.kind {
            NodeKind::Null => true,
            NodeKind::Bool(b) => !b,
            NodeKind::Int(i) => *i == 0,
            NodeKind::Float(f) => *f == 0.0,
            NodeKind::Stamp(_) => false,
            NodeKind::Str { value, .. } | NodeKind::Unsafe(value) => value.is_empty(),
            NodeKind::Vault(_) => false,
            NodeKind::Seq(items) => items.is_empty(),
            NodeKind::Map(entries) => entries.is_empty(),
        }
    }

    /// What kind of node this is, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "nothing",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) | NodeKind::Float(_) => "a number",
            NodeKind::Stamp(_) => "a date",
            NodeKind::Str { .. } | NodeKind::Unsafe(_) => "a string",
            NodeKind::Vault(_) => "a vault-encrypted string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The scalar's text as Ansible would print it (for keys and `k=v` values).
    pub fn scalar_text(&self) -> Option<String> {
        Some(match &self.kind {
            NodeKind::Null => String::new(),
            NodeKind::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            NodeKind::Stamp(s) => s.python_str(),
            NodeKind::Str { value, .. } | NodeKind::Unsafe(value) => value.clone(),
            NodeKind::Seq(_) | NodeKind::Map(_) | NodeKind::Vault(_) => return None,
        })
    }

    /// Converts to JSON, dropping positions. Keys that are not strings, infinite floats and timestamps are
    /// kept marked (see `typed`).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => crate::typed::int(*i),
            NodeKind::Float(f) => crate::typed::float(*f),
            NodeKind::Stamp(s) => s.to_json(),
            NodeKind::Str { value, .. } => Value::String(value.clone()),
            // Kept marked, so that nothing templates it (see `template::UNSAFE_KEY`).
            NodeKind::Unsafe(value) => {
                serde_json::json!({ crate::template::UNSAFE_KEY: value })
            }
            // As Ansible's JSON shows a vault value (see `template::VAULT_KEY`).
            NodeKind::Vault(text) => serde_json::json!({ crate::template::VAULT_KEY: text }),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    let key = match &k.kind {
                        NodeKind::Null
                        | NodeKind::Bool(_)
                        | NodeKind::Int(_)
                        | NodeKind::Float(_)
                        | NodeKind::Stamp(_) => crate::typed::key(&k.to_json()),
                        _ => k.scalar_text().unwrap_or_default(),
                    };
                    map.insert(key, v.to_json());
                }
                Value::Object(map)
            }
        }
    }
}

/// A YAML syntax error, located.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(pub Box<Diagnostic>);

/// Parses a file that holds at most one document. An empty file is `Null`.
pub fn parse(file: &Arc<SourceFile>) -> Result<Node, YamlError> {
    let mut docs = parse_all(file)?;
    match docs.len() {
        0 => Ok(Node {
            kind: NodeKind::Null,
            span: Span::new(1, 1, 1),
        }),
        1 => Ok(docs.remove(0)),
        _ => Err(YamlError(Box::new(
            Diagnostic::new("expected a single YAML document")
                .at(file, docs[1].span)
                .label("a second document starts here"),
        ))),
    }
}

/// Parses every document of a stream. A mapping that has a key twice keeps the last value and is warned
/// about, as ansible-core does.
pub fn parse_all(file: &Arc<SourceFile>) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder {
        file,
        anchors: HashMap::new(),
        depth: 0,
        duplicates: Vec::new(),
    };
    let mut parser = Parser::new_from_str(&file.text);
    let mut docs = Vec::new();
    loop {
        let (event, span) = builder.next(&mut parser)?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                let (event, span) = builder.next(&mut parser)?;
                if matches!(event, Event::DocumentEnd) {
                    docs.push(Node {
                        kind: NodeKind::Null,
                        span,
                    });
                    continue;
                }
                docs.push(builder.node(&mut parser, event, span)?);
                builder.warn_duplicates();
            }
            _ => return Err(builder.error(span, "unexpected YAML event".into())),
        }
    }
    Ok(docs)
}

struct Builder<'f> {
    file: &'f Arc<SourceFile>,
    anchors: HashMap<usize, Node>,
    /// How many collections the node being built is inside.
    depth: usize,
    /// The keys written twice in a mapping of the document, with the depth of their mapping.
    duplicates: Vec<(usize, Node)>,
}

type Located<'i> = (Event<'i>, Span);

impl Builder<'_> {
    fn next<'i>(
        &self,
        parser: &mut Parser<'i, saphyr_parser::StrInput<'i>>,
    ) -> Result<Located<'i>, YamlError> {
        match parser.next_event() {
            None => Ok((Event::StreamEnd, Span::new(1, 1, 1))),
            Some(Ok((event, span))) => Ok((event, to_span(&span))),
            Some(Err(e)) => {
                let mark = e.marker();
                let mut d = Diagnostic::new("YAML syntax error")
                    .at(self.file, Span::new(mark.line(), mark.col() + 1, 1))
                    .label(e.info().to_string());
                // The usual cause, as ansible-core explains it.
                if e.info().contains("mapping values are not allowed") {
                    d = d.help(
                        "colons in unquoted values must be followed by a non-space character: \
                         quote the value (`raw: \"echo 'name: ansible'\"`)",
                    );
                }
                Err(YamlError(Box::new(d)))
            }
        }
    }

    /// Warns about the document's duplicate keys, as ansible-core's YAML constructor does: level by level
    /// from the top (PyYAML fills nested collections after their parent), in file order within a level.
    /// Inline extra vars (`(extra vars)`) are not warned about; a string (`<from_yaml>`) has no file, so the
    /// warning shows the key where ansible-core shows the lines.
    fn warn_duplicates(&mut self) {
        let mut duplicates = std::mem::take(&mut self.duplicates);
        let name = &self.file.name;
        if name.starts_with('(') {
            return;
        }
        duplicates.sort_by_key(|(depth, _)| *depth);
        let path =
            std::fs::canonicalize(name).map_or_else(|_| name.clone(), |p| p.display().to_string());
        for (_, key) in duplicates {
            let value = match &key.kind {
                NodeKind::Unsafe(text) => Value::String(text.clone()),
                _ => key.to_json(),
            };
            let (line, col) = (key.span.line, key.span.col);
            let (at, excerpt) = if name.starts_with('<') {
                (
                    format!("<unknown>:{line}:{col}"),
                    crate::pyjson::python_str(&value),
                )
            } else {
                let origin = crate::playbook::Origin::new(&path, self.file, key.span);
                (format!("{path}:{line}:{col}"), origin.excerpt)
            };
            crate::diag::warn(&format!(
                "Found duplicate mapping key {}.\nOrigin: {at}\n\n{excerpt}\n\nUsing last defined value only.\n",
                crate::pyjson::python_repr(&value),
            ));
        }
    }

    fn error(&self, span: Span, message: String) -> YamlError {
        YamlError(Box::new(Diagnostic::new(message).at(self.file, span)))
    }

    fn node<'i>(
        &mut self,
        parser: &mut Parser<'i, saphyr_parser::StrInput<'i>>,
        event: Event<'i>,
        span: Span,
    ) -> Result<Node, YamlError> {
        let (node, anchor) = match event {
            Event::Alias(id) => {
                let target = self
                    .anchors
                    .get(&id)
                    .ok_or_else(|| self.error(span, "alias to an unknown anchor".into()))?;
                return Ok(Node {
                    kind: target.kind.clone(),
                    span,
                });
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let kind =
                    scalar(&text, style, tag.as_deref()).map_err(|msg| self.error(span, msg))?;
                let len = text.lines().next().map_or(1, |l| l.chars().count()).max(1);
                let span = Span { len, ..span };
                (Node { kind, span }, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                self.depth += 1;
                loop {
                    let (event, span) = self.next(parser)?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(parser, event, span)?);
                }
                self.depth -= 1;
                (
                    Node {
                        kind: NodeKind::Seq(items),
                        span,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                let depth = self.depth;
                self.depth += 1;
                loop {
                    let (event, kspan) = self.next(parser)?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(parser, event, kspan)?;
                    let (event, vspan) = self.next(parser)?;
                    let value = self.node(parser, event, vspan)?;
                    if matches!(&key.kind, NodeKind::Str { value, quoted: false } if value == "<<")
                    {
                        self.merge(&mut merged, value)?;
                        continue;
                    }
                    // A key merged in (`<<`) and written again counts too, as PyYAML puts merged keys first.
                    // A key written again keeps its first place and its first form (`1` over `true`),
                    // with the last value, as a Python dict does.
                    let again = entries.iter().position(|(k, _)| same_key(k, &key));
                    if again.is_some() || merged.iter().any(|(k, _)| same_key(k, &key)) {
                        self.duplicates.push((depth, key.clone()));
                    }
                    match again {
                        Some(at) => entries[at].1 = value,
                        None => entries.push((key, value)),
                    }
                }
                self.depth -= 1;
                // Merged keys come first and lose to keys written in the mapping itself.
                merged.retain(|(k, _)| !entries.iter().any(|(e, _)| same_key(e, k)));
                merged.extend(entries);
                (
                    Node {
                        kind: NodeKind::Map(merged),
                        span,
                    },
                    anchor,
                )
            }
            _ => return Err(self.error(span, "unexpected YAML event".into())),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn merge(&self, into: &mut Vec<(Node, Node)>, value: Node) -> Result<(), YamlError> {
        let sources = match value.kind {
            NodeKind::Map(_) => vec![value],
            NodeKind::Seq(items) => items,
            _ => {
                return Err(self.error(
                    value.span,
                    "a merge key (<<) needs a mapping or a list of mappings".into(),
                ));
            }
        };
        for source in sources {
            let NodeKind::Map(entries) = source.kind else {
                return Err(self.error(source.span, "a merge key (<<) needs mappings".into()));
            };
            for (k, v) in entries {
                if !into.iter().any(|(e, _)| e.kind == k.kind) {
                    into.push((k, v));
                }
            }
        }
        Ok(())
    }
}

/// Whether two keys are the same key of a mapping: equal values, a string quoted or not, numbers and
/// booleans equal as Python's are (`1`, `1.0` and `true`).
fn same_key(a: &Node, b: &Node) -> bool {
    let number = |kind: &NodeKind| match kind {
        NodeKind::Int(i) => Some(*i as f64),
        NodeKind::Float(f) => Some(*f),
        NodeKind::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (&a.kind, &b.kind) {
        (
            NodeKind::Str { value: a, .. } | NodeKind::Unsafe(a),
            NodeKind::Str { value: b, .. } | NodeKind::Unsafe(b),
        ) => a == b,
        (a, b) => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

fn to_span(span: &saphyr_parser::Span) -> Span {
    Span::new(span.start.line(), span.start.col() + 1, 1)
}

/// Resolves a scalar as PyYAML's SafeLoader does (YAML 1.1), with Ansible's `!unsafe` and `!vault` tags.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Result<NodeKind, String> {
    let string = |quoted| NodeKind::Str {
        value: text.to_string(),
        quoted,
    };
    match tag {
        Some("!unsafe") => return Ok(NodeKind::Unsafe(text.to_string())),
        Some("tag:yaml.org,2002:str") | Some("!!str") => return Ok(string(true)),
        Some("!vault") | Some("!vault-encrypted") => {
            // Decrypted when read, with the secrets the command line gave (see `vault`); one they do not open
            // stays encrypted, and only using it is an error.
            return Ok(
                match crate::vault::keyring().decrypt_text(text.as_bytes()) {
                    Ok(value) => NodeKind::Str {
                        value,
                        quoted: true,
                    },
                    Err(_) => NodeKind::Vault(text.to_string()),
                },
            );
        }
        Some("tag:yaml.org,2002:int") => {
            return resolve_plain(text)
                .filter(|k| matches!(k, NodeKind::Int(_)))
                .ok_or_else(|| format!("`{text}` is not an integer"));
        }
        Some("tag:yaml.org,2002:float") => {
            return text
                .parse::<f64>()
                .map(NodeKind::Float)
                .map_err(|_| format!("`{text}` is not a float"));
        }
        Some("tag:yaml.org,2002:bool") => {
            return resolve_plain(text)
                .filter(|k| matches!(k, NodeKind::Bool(_)))
                .ok_or_else(|| format!("`{text}` is not a boolean"));
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(string(true));
    }
    // A timestamp that names no real day stops the load, as PyYAML's `ValueError` does.
    if let Some(Err(why)) = crate::typed::Stamp::parse_yaml(text) {
        return Err(why);
    }
    Ok(resolve_plain(text).unwrap_or_else(|| string(false)))
}

/// The implicit resolvers of YAML 1.1 as PyYAML implements them; `None` means a plain string.
pub fn resolve_plain(text: &str) -> Option<NodeKind> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(NodeKind::Null),
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(NodeKind::Bool(true));
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(NodeKind::Bool(false));
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(NodeKind::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(NodeKind::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(NodeKind::Float(f64::NAN)),
        _ => {}
    }
    if let Some(stamp) = crate::typed::Stamp::from_yaml(text) {
        return Some(NodeKind::Stamp(stamp));
    }
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() {
        return None;
    }
    let sign = |v: i128| if negative { -v } else { v };
    let digits = |s: &str, radix: u32, ok: fn(char) -> bool| -> Option<i128> {
        let clean: String = s.chars().filter(|c| *c != '_').collect();
        if clean.is_empty() || !s.chars().all(|c| c == '_' || ok(c)) {
            return None;
        }
        i128::from_str_radix(&clean, radix).ok()
    };
    if let Some(bin) = body.strip_prefix("0b") {
        return digits(bin, 2, |c| c == '0' || c == '1').map(|v| NodeKind::Int(sign(v)));
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return digits(hex, 16, |c| c.is_ascii_hexdigit()).map(|v| NodeKind::Int(sign(v)));
    }
    if body == "0" {
        return Some(NodeKind::Int(0));
    }
    if let Some(oct) = body.strip_prefix('0')
        && !body.contains('.')
        && !body.contains(':')
    {
        return digits(oct, 8, |c| ('0'..='7').contains(&c)).map(|v| NodeKind::Int(sign(v)));
    }
    let first = body.chars().next()?;
    if body.contains(':') {
        // Base 60 (`1:30` is 90), as YAML 1.1 says.
        // The integer form starts with 1-9; the float one (`0:00:01.5`, a fraction after the last part only)
        // may start with 0.
        let (sexagesimal, fraction) = body.rsplit_once('.').unwrap_or((body, ""));
        let is_float = body.contains('.');
        if sexagesimal.contains('.') || !fraction.chars().all(|c| c.is_ascii_digit() || c == '_') {
            return None;
        }
        let mut parts = sexagesimal.split(':');
        let head = parts.next()?;
        if !first.is_ascii_digit()
            || (first == '0' && !is_float)
            || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        let mut value: f64 = head.replace('_', "").parse().ok()?;
        for whole in parts {
            if whole.is_empty() || whole.len() > 2 || !whole.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let n: f64 = whole.parse().ok()?;
            if n >= 60.0 {
                return None;
            }
            value = value * 60.0 + n;
        }
        if is_float {
            value += format!("0.{}", fraction.replace('_', ""))
                .parse::<f64>()
                .ok()?;
        }
        let value = if negative { -value } else { value };
        return Some(if is_float {
            NodeKind::Float(value)
        } else {
            NodeKind::Int(value as i128)
        });
    }
    if body.chars().all(|c| c.is_ascii_digit() || c == '_') && first.is_ascii_digit() {
        return digits(body, 10, |c| c.is_ascii_digit())
            .map(|v| NodeKind::Int(sign(v)))
            .or_else(|| {
                body.replace('_', "")
                    .parse::<f64>()
                    .ok()
                    .map(|f| NodeKind::Float(if negative { -f } else { f }))
            });
    }
    // Floats need a dot; an exponent needs a sign (`1.0e+3`), so `1e3` stays a string.
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (whole, frac) = mantissa.split_once('.')?;
    let whole_ok = whole.chars().all(|c| c.is_ascii_digit() || c == '_')
        && (whole.is_empty() || whole.starts_with(|c: char| c.is_ascii_digit()));
    let frac_ok = frac.chars().all(|c| c.is_ascii_digit() || c == '_')
        && !(whole.is_empty() && frac.is_empty());
    let exp_ok = exponent.is_none_or(|e| {
        e.len() > 1
            && (e.starts_with('+') || e.starts_with('-'))
            && e[1..].chars().all(|c| c.is_ascii_digit())
    });
    if !(whole_ok && frac_ok && exp_ok) {
        return None;
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    clean.parse::<f64>().ok().map(NodeKind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Option<NodeKind> {
        resolve_plain(text)
    }

    #[test]
    fn yaml_1_1_booleans_as_ansible_reads_them() {
        for t in ["yes", "Yes", "on", "ON", "true", "True"] {
            assert_eq!(plain(t), Some(NodeKind::Bool(true)), "{t}");
        }
        for t in ["no", "NO", "off", "false", "False"] {
            assert_eq!(plain(t), Some(NodeKind::Bool(false)), "{t}");
        }
        // PyYAML does not treat y/n as booleans.
        assert_eq!(plain("y"), None);
        assert_eq!(plain("n"), None);
    }

    #[test]
    fn numbers_follow_yaml_1_1() {
        assert_eq!(plain("0755"), Some(NodeKind::Int(0o755)));
        assert_eq!(plain("0o755"), None);
        assert_eq!(plain("0x1F"), Some(NodeKind::Int(31)));
        assert_eq!(plain("-12"), Some(NodeKind::Int(-12)));
        assert_eq!(plain("1_000"), Some(NodeKind::Int(1000)));
        assert_eq!(plain("1:30"), Some(NodeKind::Int(90)));
        // PyYAML's sexagesimal floats may start with 0 (a command's `delta`), its integers may not.
        assert_eq!(plain("1:30.5"), Some(NodeKind::Float(90.5)));
        assert_eq!(plain("-1:30"), Some(NodeKind::Int(-90)));
        assert_eq!(plain("190:20:30"), Some(NodeKind::Int(685230)));
        assert_eq!(plain("1:30."), Some(NodeKind::Float(90.0)));
        assert_eq!(plain("0:00:00.005982"), Some(NodeKind::Float(0.005982)));
        assert_eq!(plain("0:30"), None);
        assert_eq!(plain("1:2.5:3"), None);
        assert_eq!(plain("1:60"), None);
        assert_eq!(plain("1.5"), Some(NodeKind::Float(1.5)));
        assert_eq!(plain("1.0e+3"), Some(NodeKind::Float(1000.0)));
        assert_eq!(plain("1e3"), None);
        assert_eq!(plain("089"), None);
        assert_eq!(plain("1.2.3"), None);
        assert_eq!(plain("~"), Some(NodeKind::Null));
    }

    #[test]
    fn quoted_scalars_stay_strings_and_tags_apply() {
        let file = SourceFile::new("t.yml", "a: 'yes'\nb: yes\nc: !unsafe '{{ x }}'\nd: 0755\n");
        let node = parse(&file).expect("valid");
        assert_eq!(node.get("a").and_then(Node::as_str), Some("yes"));
        assert_eq!(node.get("b").map(|n| &n.kind), Some(&NodeKind::Bool(true)));
        assert_eq!(
            node.get("c").map(|n| &n.kind),
            Some(&NodeKind::Unsafe("{{ x }}".into()))
        );
        assert_eq!(node.get("d").map(|n| &n.kind), Some(&NodeKind::Int(493)));
    }

    #[test]
    fn keys_know_their_line_and_column() {
        let file = SourceFile::new("t.yml", "- hosts: all\n  tasks:\n    - ping:\n");
        let node = parse(&file).expect("valid");
        let NodeKind::Seq(plays) = &node.kind else {
            panic!("a list")
        };
        let entries = plays[0].as_map().expect("a mapping");
        assert_eq!(entries[1].0.span, Span::new(2, 3, 5));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let file = SourceFile::new(
            "t.yml",
            "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n",
        );
        let json = parse(&file).expect("valid").to_json();
        assert_eq!(json["other"], serde_json::json!({"x": 1, "y": 3}));
        assert_eq!(json["list"][0]["x"], 1);
    }

    #[test]
    fn syntax_errors_are_located() {
        let file = SourceFile::new("bad.yml", "- hosts: all\n  tasks: [\n");
        let err = parse(&file).expect_err("unclosed flow sequence");
        assert!(
            err.0.position().is_some_and(|p| p.starts_with("bad.yml:")),
            "{err}"
        );
        let file = SourceFile::new("colon.yml", "- command: echo name: x\n");
        let err = parse(&file).expect_err("a colon in a plain value");
        assert!(
            err.0
                .help
                .as_deref()
                .is_some_and(|h| h.contains("quote the value")),
            "{err}"
        );
    }

    #[test]
    fn a_key_written_twice_keeps_its_last_value() {
        // Not a file: nothing to warn about on the terminal.
        let file = SourceFile::new(
            "(test)",
            "a: 1\n'a': 2\nm: &m {x: 1}\nn:\n  <<: *m\n  x: 2\n",
        );
        let node = parse(&file).expect("valid");
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": 2, "m": {"x": 1}, "n": {"x": 2}})
        );
        assert_eq!(node.as_map().map(<[_]>::len), Some(3));
    }

    #[test]
    fn two_documents_are_refused() {
        let file = SourceFile::new("t.yml", "a: 1\n---\nb: 2\n");
        assert!(parse(&file).is_err());
    }
}
