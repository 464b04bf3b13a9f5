//! A template's syntax error in Jinja's words, as ansible-core 2.19 reports it ("Syntax error in template:
//! unexpected end of template, expected 'end of print statement'.").
//!
//! minijinja's parser says the same things differently, and knows less at some points (which tags an unclosed
//! block waits for). When minijinja refuses a template, a scan with Jinja's lexer rules finds what Jinja's
//! lexer would refuse (a character no token starts with, an unbalanced bracket, an unclosed comment) and how
//! the blocks nest (an unknown or misplaced tag, a block left open). Whichever of that and minijinja's error
//! comes first in the text is the error, as Jinja's parser pulls tokens from its lexer as it goes; minijinja's
//! own errors are reworded in Jinja's terms.

use minijinja::Error;

/// What the text is: a template (text with `{{ }}` and `{% %}`), or a bare expression (a conditional).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Template,
    Expression,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Template => "template",
            Kind::Expression => "expression",
        }
    }
}

/// ansible-core's message for a template that does not compile: `source` is the text minijinja compiled and
/// `e` its error.
pub(super) fn message(source: &str, e: &Error, kind: Kind) -> String {
    let detail = e.detail().unwrap_or_default();
    // minijinja points an error at the end of the input at the last token; Jinja's is at the end.
    let eof = detail.starts_with("unexpected end of input");
    let theirs = if eof {
        Some(source.len())
    } else {
        e.range().map(|r| r.start)
    };
    let found = match kind {
        Kind::Template => scan_template(source),
        Kind::Expression => scan_expression(source),
    };
    let reason = match found {
        Some((at, reason)) if theirs.is_none_or(|theirs| at <= theirs) => reason,
        _ => reword(source, e, kind),
    };
    unparsable(kind, &reason)
}

/// `Syntax error in template: <reason>`.
pub(super) fn unparsable(kind: Kind, reason: &str) -> String {
    format!("Syntax error in {}: {reason}", kind.word())
}

/// minijinja's parser error in Jinja's words, for the cases where the two parsers fail at the same place.
fn reword(source: &str, e: &Error, kind: Kind) -> String {
    let detail = e.detail().unwrap_or_default();
    if detail == "unexpected input after expression" {
        return "chunk after expression".into();
    }
    if detail == "non-keyword arg after keyword arg" {
        return "invalid syntax for function call expression".into();
    }
    let at = e.range().map_or(source.len(), |r| r.start);
    if let Some(expected) = detail.strip_prefix("unexpected end of input, expected ") {
        return match expectation(expected) {
            // The parser wanted the start of an expression (`{{ 1 + `).
            None => "unexpected 'end of template'".into(),
            Some(expected) => format!("unexpected end of template, expected '{expected}'."),
        };
    }
    let Some(unexpected) = detail.strip_prefix("unexpected ") else {
        return detail.to_string();
    };
    let got = describe(source, at, kind);
    // Jinja reads a print statement, a condition or a loop's target as a tuple, which may not be empty.
    let before = source[..at].trim_end();
    let opener = before.ends_with("{{")
        || before.ends_with("{{-")
        || ["if", "elif", "for"].iter().any(|tag| {
            before
                .strip_suffix(tag)
                .map(str::trim_end)
                .is_some_and(|b| b.ends_with("{%") || b.ends_with("{%-"))
        });
    if opener {
        return format!("Expected an expression, got '{got}'");
    }
    match unexpected.split_once(", expected ").map(|(_, e)| e) {
        Some("identifier or integer") => "expected name or number".into(),
        Some(expected) => match expectation(expected) {
            Some(expected) => format!("expected token '{expected}', got '{got}'"),
            None => format!("unexpected '{got}'"),
        },
        None => format!("unexpected '{got}'"),
    }
}

/// What minijinja says it expected, as Jinja names that token; `None` for an expression.
fn expectation(expected: &str) -> Option<String> {
    Some(match expected {
        "end of variable block" => "end of print statement".into(),
        "end of block" => "end of statement block".into(),
        "identifier" => "name".into(),
        "assignment operator" => "=".into(),
        "comma" => ",".into(),
        "expression" => return None,
        other => other.trim_matches('`').to_string(),
    })
}

/// Jinja's name for the token at `at`: a name is itself, an operator its text, the others by their kind.
fn describe(source: &str, at: usize, kind: Kind) -> String {
    let rest = source.get(at..).unwrap_or_default();
    let Some(first) = rest.chars().next() else {
        return "end of template".into();
    };
    if end_marker(rest, Mode::Print).is_some() {
        return "end of print statement".into();
    }
    if end_marker(rest, Mode::Statement).is_some() {
        return "end of statement block".into();
    }
    if kind == Kind::Template && (rest.starts_with("{{") || rest.starts_with("{%")) {
        return if rest.starts_with("{{") {
            "begin of print statement".into()
        } else {
            "begin of statement block".into()
        };
    }
    match first {
        '\'' | '"' => "string".into(),
        c if c.is_ascii_digit() => {
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            if number.contains('.') || (number.contains(['e', 'E']) && !number.starts_with("0x")) {
                "float".into()
            } else {
                "integer".into()
            }
        }
        c if is_name_start(c) => rest.chars().take_while(|c| is_name_char(*c)).collect(),
        _ => operator(rest)
            .unwrap_or(&rest[..first.len_utf8()])
            .to_string(),
    }
}

/// Where the lexer is: in a `{{ }}` or in a `{% %}`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Print,
    Statement,
}

/// The length of the block end (`}}`, `-}}`, `%}`, `-%}`, `+%}`) `text` starts with.
fn end_marker(text: &str, mode: Mode) -> Option<usize> {
    let ends: &[&str] = match mode {
        Mode::Print => &["-}}", "}}"],
        Mode::Statement => &["-%}", "+%}", "%}"],
    };
    ends.iter().find(|e| text.starts_with(*e)).map(|e| e.len())
}

/// Jinja's operators, longest first.
const OPERATORS: &[&str] = &[
    "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
    ">", "<", "=", ".", ":", "|", ",", ";",
];

fn operator(text: &str) -> Option<&'static str> {
    OPERATORS.iter().find(|op| text.starts_with(*op)).copied()
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// A block being parsed: its tag and the tags that may come next in it.
struct Open {
    tag: &'static str,
    ends: &'static [&'static str],
}

/// The tags that open a block, and the tags each waits for, in Jinja's order.
fn opens(tag: &str) -> Option<Open> {
    let (tag, ends): (&'static str, &'static [&'static str]) = match tag {
        "for" => ("for", &["endfor", "else"]),
        "if" => ("if", &["elif", "else", "endif"]),
        "block" => ("block", &["endblock"]),
        "macro" => ("macro", &["endmacro"]),
        "call" => ("call", &["endcall"]),
        "filter" => ("filter", &["endfilter"]),
        "with" => ("with", &["endwith"]),
        "autoescape" => ("autoescape", &["endautoescape"]),
        "set" => ("set", &["endset"]),
        _ => return None,
    };
    Some(Open { tag, ends })
}

/// Statements that open no block. Jinja's `do`, `break` and `continue` are extensions ansible-core leaves off.
const SIMPLE_TAGS: &[&str] = &["extends", "print", "include", "from", "import"];

/// Jinja's message for a tag that is not expected where it is (`name`), or for the end of the template
/// (`None`) while blocks are open.
fn misplaced(name: Option<&str>, open: &[Open]) -> String {
    let mut message = vec![match name {
        Some(name) => format!("Encountered unknown tag '{name}'."),
        None => "Unexpected end of template.".to_string(),
    }];
    if let Some(innermost) = open.last() {
        let looking = innermost
            .ends
            .iter()
            .map(|e| format!("'{e}'"))
            .collect::<Vec<_>>()
            .join(" or ");
        let expected = open
            .iter()
            .any(|o| name.is_some_and(|n| o.ends.contains(&n)));
        message.push(if expected {
            format!(
                "You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for {looking}."
            )
        } else {
            format!("Jinja was looking for the following tags: {looking}.")
        });
        message.push(format!(
            "The innermost block that needs to be closed is '{}'.",
            innermost.tag
        ));
    }
    message.join(" ")
}

/// A lexer error of Jinja's, or a tag out of place, in a template: its byte offset and Jinja's message.
fn scan_template(source: &str) -> Option<(usize, String)> {
    let mut open: Vec<Open> = Vec::new();
    let mut at = 0;
    while let Some(found) = ["{{", "{%", "{#"]
        .iter()
        .filter_map(|d| source[at..].find(d).map(|i| at + i))
        .min()
    {
        let body = source[found + 2..].trim_start_matches(['-', '+']);
        let start = source.len() - body.len();
        if source[found..].starts_with("{#") {
            match source[start..].find("#}") {
                Some(end) => at = start + end + 2,
                None => return Some((found, "Missing end of comment tag".into())),
            }
            continue;
        }
        if source[found..].starts_with("{{") {
            match lex(source, start, Mode::Print, &mut |_, _| {}) {
                Err(error) => return Some(error),
                // The end of the text inside a tag: minijinja says what Jinja's parser would.
                Ok(None) => return None,
                Ok(Some(end)) => at = end,
            }
            continue;
        }
        if let Some(after) = raw_begin(source, start) {
            match raw_end(source, after) {
                Some(end) => at = end,
                None => return Some((found, "Missing end of raw directive".into())),
            }
            continue;
        }
        // The tag's name, and whether an `=` follows it at once (`{% set x = 1 %}` is no block).
        let mut header: Vec<(usize, &str)> = Vec::new();
        match lex(source, start, Mode::Statement, &mut |offset, token| {
            if header.len() < 3 {
                header.push((offset, token));
            }
        }) {
            Err(error) => return Some(error),
            Ok(None) => return None,
            Ok(Some(end)) => at = end,
        }
        let Some(&(offset, tag)) = header.first().filter(|(_, t)| t.starts_with(is_name_start))
        else {
            return Some((start, "tag name expected".into()));
        };
        if let Some(innermost) = open.last_mut()
            && innermost.ends.contains(&tag)
        {
            match (innermost.tag, tag) {
                ("if", "elif") => {}
                ("if", "else") => innermost.ends = &["endif"],
                ("for", "else") => innermost.ends = &["endfor"],
                _ => {
                    open.pop();
                }
            }
            continue;
        }
        let assigns = header.get(2).is_some_and(|(_, t)| *t == "=");
        match opens(tag) {
            Some(block) if !(block.tag == "set" && assigns) => open.push(block),
            Some(_) => {}
            None if SIMPLE_TAGS.contains(&tag) => {}
            None => return Some((offset, misplaced(Some(tag), &open))),
        }
    }
    (!open.is_empty()).then(|| (source.len(), misplaced(None, &open)))
}

/// A lexer error in a bare expression, which Jinja lexes as the inside of a `{{ }}`.
fn scan_expression(source: &str) -> Option<(usize, String)> {
    lex(source, 0, Mode::Print, &mut |_, _| {}).err()
}

/// Lexes the inside of a tag from `start` as Jinja does, giving each token (its offset and text) to `each`:
/// the offset after the tag's end, `None` when the text ends first, or Jinja's error and where it is.
fn lex<'s>(
    source: &'s str,
    start: usize,
    mode: Mode,
    each: &mut dyn FnMut(usize, &'s str),
) -> Result<Option<usize>, (usize, String)> {
    let mut brackets: Vec<char> = Vec::new();
    let mut at = start;
    loop {
        let rest = &source[at..];
        let Some(c) = rest.chars().next() else {
            return Ok(None);
        };
        if c.is_whitespace() {
            at += c.len_utf8();
            continue;
        }
        // A block's end counts only outside brackets, where Jinja's lexer looks for it.
        if brackets.is_empty()
            && let Some(len) = end_marker(rest, mode)
        {
            return Ok(Some(at + len));
        }
        let len = if c == '\'' || c == '"' {
            string_len(rest, c).ok_or_else(|| (at, unexpected_char(source, at, c)))?
        } else if c.is_ascii_digit() {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .count()
        } else if is_name_start(c) {
            rest.chars()
                .take_while(|c| is_name_char(*c))
                .map(char::len_utf8)
                .sum()
        } else if let Some(op) = operator(rest) {
            match op {
                "(" => brackets.push(')'),
                "[" => brackets.push(']'),
                "{" => brackets.push('}'),
                ")" | "]" | "}" => match brackets.pop() {
                    None => return Err((at, format!("unexpected '{op}'"))),
                    Some(expected) if !op.starts_with(expected) => {
                        return Err((at, format!("unexpected '{op}', expected '{expected}'")));
                    }
                    Some(_) => {}
                },
                _ => {}
            }
            op.len()
        } else {
            return Err((at, unexpected_char(source, at, c)));
        };
        each(at, &rest[..len]);
        at += len;
    }
}

/// The length of the string literal `text` starts with (quote `quote`), if it is closed.
fn string_len(text: &str, quote: char) -> Option<usize> {
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            return Some(i + 1);
        }
    }
    None
}

/// Jinja's lexer error for a character no token starts with: the character as Python's `repr` shows it and
/// its position in characters.
fn unexpected_char(source: &str, at: usize, c: char) -> String {
    let position = source[..at].chars().count();
    let shown = match c {
        '\'' => "\"'\"".to_string(),
        '\\' => "'\\\\'".to_string(),
        c => format!("'{c}'"),
    };
    format!("unexpected char {shown} at {position}")
}

/// After `{%` (and its `-`/`+`): the offset after a `raw %}` that makes this a raw block.
fn raw_begin(source: &str, start: usize) -> Option<usize> {
    let rest = source[start..].trim_start();
    let rest = rest.strip_prefix("raw")?.trim_start();
    let rest = rest.trim_start_matches(['-', '+']);
    let rest = rest.strip_prefix("%}")?;
    Some(source.len() - rest.len())
}

/// The offset after the `{% endraw %}` that closes a raw block whose text starts at `start`.
fn raw_end(source: &str, start: usize) -> Option<usize> {
    let mut at = start;
    while let Some(i) = source[at..].find("{%") {
        let open = at + i + 2;
        let body = source[open..].trim_start_matches(['-', '+']).trim_start();
        if let Some(rest) = body.strip_prefix("endraw") {
            let rest = rest.trim_start().trim_start_matches(['-', '+']);
            if let Some(after) = rest.strip_prefix("%}") {
                return Some(source.len() - after.len());
            }
        }
        at = open;
    }
    None
}
