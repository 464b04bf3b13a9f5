//! YAML written as PyYAML's emitter writes it for Ansible's `to_yaml` (`default_flow_style=None`: collections
//! of scalars in flow style) and `to_nice_yaml` (block style, indent 4): sorted keys, indentless sequences under
//! keys, plain scalars where they read back as the same string, long lines folded at `width`.
//!
//! `crate::pyyaml` writes only the fixed style `ansible-inventory --yaml` uses; the filters need the indent,
//! flow style and width options, so the emitter's rules (`analyze_scalar`, `choose_scalar_style`, `write_plain`,
//! `write_single_quoted`) are followed here.

use super::filters::py_float;
use crate::yaml::{NodeKind, resolve_plain};
use serde_json::Value;

/// The `yaml.dump` keyword arguments the filters pass on.
pub(crate) struct Options {
    /// `indent`: 2 for `to_yaml`, 4 for `to_nice_yaml`.
    pub indent: usize,
    /// `default_flow_style`: `None` writes collections of scalars in flow style.
    pub flow: Option<bool>,
    /// `sort_keys`.
    pub sort_keys: bool,
    /// `width`: where plain and quoted scalars and flow collections fold.
    pub width: usize,
    /// Multi-line strings as literal blocks (`|`) where PyYAML allows one: the default callback's dumper for
    /// `result_format = yaml`.
    pub literal_blocks: bool,
    /// Multi-line strings made fit for a literal block first (trailing blanks and tabs and characters only
    /// double quotes can carry dropped): the callback's lossy view, its default.
    pub fit_literals: bool,
}

/// `yaml.dump(value, allow_unicode=True, **options)`.
pub(crate) fn dump(value: &Value, options: &Options) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        o: options,
    };
    if is_collection(value) {
        if e.is_flow(value) {
            e.flow(value, options.indent);
        } else if let Value::Object(_) = value {
            e.block_mapping(value, 0);
        } else {
            e.block_sequence(value, 0);
        }
        e.out.push('\n');
    } else {
        // PyYAML would end a plain root scalar with `...`; Ansible's dumper does not.
        e.scalar(value, options.indent, false, true);
        e.out.push('\n');
    }
    e.out
}

struct Emitter<'a> {
    out: String,
    column: usize,
    o: &'a Options,
}

/// Whether a value is a list or mapping (not a float or date kept marked, see `typed`).
fn is_collection(v: &Value) -> bool {
    match v {
        Value::Array(_) => true,
        Value::Object(_) => !crate::typed::is_marked_scalar(v),
        _ => false,
    }
}

impl Emitter<'_> {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    fn newline_indent(&mut self, indent: usize) {
        self.out.push('\n');
        self.out.push_str(&" ".repeat(indent));
        self.column = indent;
    }

    fn is_flow(&self, v: &Value) -> bool {
        match v {
            Value::Array(a) if a.is_empty() => true,
            Value::Object(m) if m.is_empty() => true,
            Value::Array(a) => self.o.flow.unwrap_or_else(|| !a.iter().any(is_collection)),
            Value::Object(m) => self
                .o
                .flow
                .unwrap_or_else(|| !m.values().any(is_collection)),
            _ => false,
        }
    }

    fn entries<'v>(&self, v: &'v Value) -> Vec<(&'v String, &'v Value)> {
        let Value::Object(map) = v else {
            return Vec::new();
        };
        let mut entries: Vec<_> = map.iter().collect();
        if self.o.sort_keys {
            crate::typed::sort_keys(&mut entries);
        }
        entries
    }

    /// Writes a mapping key: a string in the style PyYAML chooses, any other key as its scalar.
    fn key(&mut self, key: &str, indent: usize, flow: bool) {
        if crate::typed::is_typed_key(key) {
            self.scalar(&crate::typed::key_value(key), indent, flow, false);
        } else {
            self.string(key, indent, flow, true, false);
        }
    }

    fn block_mapping(&mut self, v: &Value, n: usize) {
        for (i, (key, child)) in self.entries(v).into_iter().enumerate() {
            if i > 0 {
                self.newline_indent(n);
            }
            self.key(key, n + self.o.indent, false);
            self.write(":");
            self.block_child(child, n, true);
        }
    }

    fn block_sequence(&mut self, v: &Value, n: usize) {
        let Value::Array(items) = v else { return };
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.newline_indent(n);
            }
            self.write("-");
            self.block_child(item, n, false);
        }
    }

    /// A value after `key:` or `-`; `n` is the column of the key or dash.
    fn block_child(&mut self, child: &Value, n: usize, in_mapping: bool) {
        let inner = n + self.o.indent;
        if !is_collection(child) {
            self.write(" ");
            self.scalar(child, inner, false, false);
        } else if self.is_flow(child) {
            self.write(" ");
            self.flow(child, inner);
        } else if in_mapping {
            // Sequences under a key are not indented; mappings are.
            let at = if child.is_array() { n } else { inner };
            self.newline_indent(at);
            self.block_collection(child, at);
        } else {
            let pad = inner.saturating_sub(self.column);
            self.write(&" ".repeat(pad.max(1)));
            self.block_collection(child, inner);
        }
    }

    fn block_collection(&mut self, v: &Value, n: usize) {
        if v.is_array() {
            self.block_sequence(v, n);
        } else {
            self.block_mapping(v, n);
        }
    }

    /// A flow collection; `fi` is the indent its wrapped lines start at.
    fn flow(&mut self, v: &Value, fi: usize) {
        let width = self.o.width;
        match v {
            Value::Array(items) => {
                self.write("[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.write(",");
                    }
                    if self.column > width {
                        self.newline_indent(fi);
                    } else if i > 0 {
                        self.write(" ");
                    }
                    self.flow_child(item, fi);
                }
                self.write("]");
            }
            _ => {
                self.write("{");
                for (i, (key, child)) in self.entries(v).into_iter().enumerate() {
                    if i > 0 {
                        self.write(",");
                    }
                    if self.column > width {
                        self.newline_indent(fi);
                    } else if i > 0 {
                        self.write(" ");
                    }
                    self.key(key, fi + self.o.indent, true);
                    self.write(": ");
                    self.flow_child(child, fi);
                }
                self.write("}");
            }
        }
    }

    fn flow_child(&mut self, v: &Value, fi: usize) {
        if is_collection(v) {
            self.flow(v, fi + self.o.indent);
        } else {
            self.scalar(v, fi + self.o.indent, true, false);
        }
    }

    /// Writes a scalar; returns whether it was written plain.
    fn scalar(&mut self, v: &Value, indent: usize, flow: bool, root: bool) -> bool {
        if let Some(stamp) = crate::typed::Stamp::from_json(v) {
            self.write(&stamp.python_str());
            return true;
        }
        if let Some(f) = crate::typed::special_float(v) {
            self.write(crate::typed::yaml_float(f));
            return true;
        }
        if let Some(i) = crate::typed::big_int(v) {
            self.write(&i.to_string());
            return true;
        }
        let text = match v {
            Value::Null => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or_default();
                match py_float(f).to_lowercase() {
                    s if !s.contains('.') && s.contains('e') => s.replacen('e', ".0e", 1),
                    s => s,
                }
            }
            Value::Number(n) => n.to_string(),
            Value::String(s) => return self.string(s, indent, flow, false, !root),
            _ => String::new(),
        };
        self.write(&text);
        true
    }

    /// Writes a string scalar in the style PyYAML chooses; returns whether it was plain.
    fn string(&mut self, s: &str, indent: usize, flow: bool, key: bool, split: bool) -> bool {
        if self.o.literal_blocks && !key && s.contains(is_break) {
            let s = if self.o.fit_literals {
                fit_for_literal(s)
            } else {
                s.to_string()
            };
            // The block style was asked for: where it cannot be, PyYAML falls back to double quotes.
            if !flow && analyze(&s).block {
                self.write_literal(&s, indent);
            } else {
                self.write_double_quoted(&s);
            }
            return false;
        }
        self.string_in_chosen_style(s, indent, flow, key, split)
    }

    fn string_in_chosen_style(
        &mut self,
        s: &str,
        indent: usize,
        flow: bool,
        key: bool,
        split: bool,
    ) -> bool {
        let a = analyze(s);
        let implicit =
            matches!(resolve_plain(s), None | Some(NodeKind::Str { .. })) && !s.is_empty();
        let split = split && !key;
        if implicit
            && !(key && (a.empty || a.multiline))
            && (if flow { a.flow_plain } else { a.block_plain })
        {
            self.write_plain(s, indent, split);
            return true;
        }
        if a.single_quoted && !(key && a.multiline) {
            self.write_single_quoted(s, indent, split);
        } else {
            self.write_double_quoted(s);
        }
        false
    }

    fn write_plain(&mut self, s: &str, indent: usize, split: bool) {
        for (i, word) in s.split(' ').enumerate() {
            if i > 0 {
                // A single space between words folds the line once it is past the width.
                let single = !word.is_empty() && !self.out.ends_with(' ');
                if single && split && self.column > self.o.width {
                    self.newline_indent(indent);
                } else {
                    self.write(" ");
                }
            }
            self.write(word);
        }
    }

    fn write_single_quoted(&mut self, s: &str, indent: usize, split: bool) {
        self.write("'");
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                ' ' => {
                    let single = chars.get(i + 1).is_some_and(|n| *n != ' ')
                        && (i == 0 || chars[i - 1] != ' ');
                    if single && split && i != 0 && self.column > self.o.width {
                        self.newline_indent(indent);
                    } else {
                        self.write(" ");
                    }
                }
                '\n' => {
                    // A line break is written as an empty line, then the text goes on indented.
                    let mut end = i;
                    while chars.get(end) == Some(&'\n') {
                        end += 1;
                    }
                    self.out.push('\n');
                    for _ in i..end {
                        self.out.push('\n');
                    }
                    self.out.push_str(&" ".repeat(indent));
                    self.column = indent;
                    i = end;
                    continue;
                }
                '\'' => self.write("''"),
                c => {
                    let mut buf = [0u8; 4];
                    self.write(c.encode_utf8(&mut buf));
                }
            }
            i += 1;
        }
        self.write("'");
    }

    /// PyYAML's `write_literal`: `|` with its indentation and chomping hints, then the lines at `indent`.
    fn write_literal(&mut self, s: &str, indent: usize) {
        let chars: Vec<char> = s.chars().collect();
        let mut hints = String::new();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            hints.push_str(&self.o.indent.to_string());
        }
        match chars.as_slice() {
            [.., last] if !is_break(*last) => hints.push('-'),
            [_] => hints.push('+'),
            [.., before, _] if is_break(*before) => hints.push('+'),
            _ => {}
        }
        self.write(&format!("|{hints}"));
        self.out.push('\n');
        // PyYAML's loop: runs of breaks become line endings, each run of text goes on a line at the indent.
        let mut breaks = true;
        let mut start = 0;
        for end in 0..=chars.len() {
            let ch = chars.get(end).copied();
            if breaks {
                if ch.is_none_or(|c| !is_break(c)) {
                    for &br in &chars[start..end] {
                        self.out.push(if br == '\n' { '\n' } else { br });
                    }
                    if ch.is_some() {
                        self.out.push_str(&" ".repeat(indent));
                    }
                    start = end;
                }
            } else if ch.is_none_or(is_break) {
                self.out.extend(&chars[start..end]);
                if ch.is_none() {
                    self.out.push('\n');
                }
                start = end;
            }
            if let Some(c) = ch {
                breaks = is_break(c);
            }
        }
        // The block ends on a line break, which stands for the one the emitter writes before what follows.
        self.out.pop();
        self.column = self.out.len() - self.out.rfind('\n').map_or(0, |i| i + 1);
    }

    fn write_double_quoted(&mut self, s: &str) {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '\0' => out.push_str("\\0"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{b}' => out.push_str("\\v"),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                '\u{1b}' => out.push_str("\\e"),
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{85}' => out.push_str("\\N"),
                '\u{a0}' => out.push_str("\\_"),
                '\u{2028}' => out.push_str("\\L"),
                '\u{2029}' => out.push_str("\\P"),
                c if printable(c) => out.push(c),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02X}", c as u32)),
                c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04X}", c as u32)),
                c => out.push_str(&format!("\\U{:08X}", c as u32)),
            }
        }
        out.push('"');
        self.write(&out);
    }
}

/// What PyYAML's printable test lets through unescaped with `allow_unicode=True`.
fn printable(c: char) -> bool {
    matches!(c, '\x20'..='\x7e' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

/// The parts of PyYAML's `analyze_scalar` that choose a style.
struct Analysis {
    empty: bool,
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
    /// A literal or folded block may carry it.
    block: bool,
}

/// The characters PyYAML breaks lines at.
fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// ansible-core's `_munge_data_for_lossy_yaml`: the string changed so that a literal block may carry it
/// (readability over accuracy): trailing blanks dropped, tabs expanded, characters only double quotes can
/// carry removed, spaces before a line break removed.
fn fit_for_literal(s: &str) -> String {
    let trimmed = s.trim_end_matches(|c: char| c.is_whitespace());
    let mut expanded = String::new();
    let mut column = 0;
    for c in trimmed.chars() {
        match c {
            '\t' => {
                let pad = 8 - column % 8;
                expanded.push_str(&" ".repeat(pad));
                column += pad;
            }
            '\n' | '\r' => {
                expanded.push(c);
                column = 0;
            }
            c => {
                expanded.push(c);
                column += 1;
            }
        }
    }
    let kept: String = expanded
        .chars()
        .filter(|&c| (c == '\n' || printable(c) || c == '\u{85}') && c != '\u{feff}')
        .collect();
    let mut out = String::with_capacity(kept.len());
    for c in kept.chars() {
        if is_break(c) {
            while out.ends_with(' ') {
                out.pop();
            }
        }
        out.push(c);
    }
    out
}

fn analyze(s: &str) -> Analysis {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            flow_plain: false,
            block_plain: true,
            single_quoted: true,
            block: false,
        };
    }
    let is_space = |c: char| c == ' ' || c == '\t' || c == '\r' || c == '\0' || is_break(c);
    let (mut flow_ind, mut block_ind) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        (flow_ind, block_ind) = (true, true);
    }
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut trailing_space, mut leading_break, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut prev_space, mut prev_break) =
        (false, false, false, false);
    let last = chars.len() - 1;
    for (i, &c) in chars.iter().enumerate() {
        let preceded_by_ws = i == 0 || is_space(chars[i - 1]);
        let followed_by_ws = chars.get(i + 1).is_none_or(|n| is_space(*n));
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                (flow_ind, block_ind) = (true, true);
            }
            if c == '?' || c == ':' {
                flow_ind = true;
                block_ind |= followed_by_ws;
            }
            if c == '-' && followed_by_ws {
                (flow_ind, block_ind) = (true, true);
            }
        } else {
            if ",?[]{}".contains(c) {
                flow_ind = true;
            }
            if c == ':' {
                flow_ind = true;
                block_ind |= followed_by_ws;
            }
            if c == '#' && preceded_by_ws {
                (flow_ind, block_ind) = (true, true);
            }
        }
        line_breaks |= is_break(c);
        if c != '\n' && !printable(c) && c != '\u{85}' {
            special = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i == last;
            break_space |= prev_break;
            (prev_space, prev_break) = (true, false);
        } else if is_break(c) {
            leading_break |= i == 0;
            trailing_break |= i == last;
            space_break |= prev_space;
            (prev_space, prev_break) = (false, true);
        } else {
            (prev_space, prev_break) = (false, false);
        }
    }
    let mut a = Analysis {
        empty: false,
        multiline: line_breaks,
        flow_plain: true,
        block_plain: true,
        single_quoted: true,
        block: !trailing_space,
    };
    if leading_space || leading_break || trailing_space || trailing_break || line_breaks {
        (a.flow_plain, a.block_plain) = (false, false);
    }
    if break_space || space_break || special {
        (a.flow_plain, a.block_plain, a.single_quoted) = (false, false, false);
    }
    a.block &= !(space_break || special);
    a.flow_plain &= !flow_ind;
    a.block_plain &= !block_ind;
    a
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    fn yaml(v: Value, indent: usize, flow: Option<bool>) -> String {
        dump(
            &v,
            &Options {
                indent,
                flow,
                sort_keys: true,
                width: 80,
                literal_blocks: false,
                fit_literals: false,
            },
        )
    }

    // Expected strings are what ansible-core's callback dumper (PyYAML 6 with libyaml) prints, lossy and not.
    #[test]
    fn multi_line_strings_as_literal_blocks() {
        let v = json!({"a": "x\ny\n", "b": ["one\n\ntwo", "  lead\nz"], "c": "trail \nq\t", "e": "\n", "k": {"n": "p\nq"}});
        let dump_with = |fit: bool| {
            dump(
                &v,
                &Options {
                    indent: 4,
                    flow: Some(false),
                    sort_keys: true,
                    width: 80,
                    literal_blocks: true,
                    fit_literals: fit,
                },
            )
        };
        assert_eq!(
            dump_with(true),
            "a: |-\n    x\n    y\nb:\n- |-\n    one\n\n    two\n- |4-\n      lead\n    z\nc: |-\n    trail\n    q\ne: \"\"\nk:\n    n: |-\n        p\n        q\n"
        );
        assert_eq!(
            dump_with(false),
            "a: |\n    x\n    y\nb:\n- |-\n    one\n\n    two\n- |4-\n      lead\n    z\nc: \"trail \\nq\\t\"\ne: |4+\n\nk:\n    n: |-\n        p\n        q\n"
        );
    }

    // Expected strings are what PyYAML 6 prints for the same calls.
    #[test]
    fn flow_style_for_collections_of_scalars() {
        assert_eq!(yaml(json!({"a": 1}), 2, None), "{a: 1}\n");
        assert_eq!(
            yaml(json!({"a": 1, "b": [1, 2]}), 2, None),
            "a: 1\nb: [1, 2]\n"
        );
        assert_eq!(yaml(json!("foo"), 2, None), "foo\n");
        assert_eq!(yaml(json!("yes"), 2, None), "'yes'\n");
        assert_eq!(
            yaml(json!({"m": "x,y", "n": "a: b"}), 2, None),
            "{m: 'x,y', n: 'a: b'}\n"
        );
    }

    #[test]
    fn long_flow_collections_wrap() {
        let nums: Vec<u32> = (0..30).collect();
        assert_eq!(
            yaml(json!(nums), 2, None),
            "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,\n  23, 24, 25, 26, 27, 28, 29]\n"
        );
        let nums: Vec<u32> = (0..25).collect();
        assert_eq!(
            yaml(json!({"key": nums}), 2, None),
            "key: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,\n  22, 23, 24]\n"
        );
        assert_eq!(
            yaml(json!({"k": "a ".repeat(50)}), 2, None),
            "{k: 'a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a\n    a a a a a a a a a a a '}\n"
        );
    }

    #[test]
    fn block_style_with_indent() {
        let v = json!([1, {"a": 1, "b": {"c": [1, {"x": 2, "y": 3}]}}, [3, [4, 5]], []]);
        assert_eq!(
            yaml(v.clone(), 4, Some(false)),
            "- 1\n-   a: 1\n    b:\n        c:\n        - 1\n        -   x: 2\n            y: 3\n-   - 3\n    -   - 4\n        - 5\n- []\n"
        );
        assert_eq!(
            yaml(v, 2, Some(false)),
            "- 1\n- a: 1\n  b:\n    c:\n    - 1\n    - x: 2\n      y: 3\n- - 3\n  - - 4\n    - 5\n- []\n"
        );
    }

    #[test]
    fn long_and_multiline_strings_fold() {
        let words = format!("{}end", "word ".repeat(30));
        let v = json!({"k": words, "j": ["word ".repeat(30)], "l": {"m": "x,y", "n": "a: b"}});
        assert_eq!(
            yaml(v, 2, Some(false)),
            "j:\n- 'word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word '\nk: word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word end\nl:\n  m: x,y\n  n: 'a: b'\n"
        );
        let v = json!({"a": "x\ny", "b": "it's", "c": "é", "d": 1.5, "e": null, "f": true, "g": "", "h": "a\tb"});
        assert_eq!(
            yaml(v, 2, Some(false)),
            "a: 'x\n\n  y'\nb: it's\nc: é\nd: 1.5\ne: null\nf: true\ng: ''\nh: \"a\\tb\"\n"
        );
    }
}
