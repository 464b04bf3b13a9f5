//! Python's `%` operator in templates. Ansible's Jinja runs on Python, so `'%02d' % n` formats a string and
//! `-7 % 3` is 2; minijinja's `%` only takes numbers. Templates are rewritten before compiling: each `L % R`
//! becomes `_python_percent(L, R)`, with L and R found by Jinja's precedence (`%` binds like `*` and `/`,
//! looser than `**`, unary signs, filters, tests, calls and subscripts, tighter than `~`, `+` and `-`). A `%`
//! the rewrite cannot place (unbalanced brackets) is left to minijinja.

use minijinja::Error;
use minijinja::value::{Value as JValue, ValueKind};
use std::borrow::Cow;

pub(super) const FUNCTION: &str = "_python_percent";

/// `lhs % rhs` as Python evaluates it: string formatting for a string, else the modulo that takes the divisor's
/// sign.
pub(super) fn evaluate(lhs: JValue, rhs: JValue) -> Result<JValue, Error> {
    if let Some(format) = lhs.as_str() {
        return super::pyformat::percent(format, &rhs).map(JValue::from);
    }
    let number = |v: &JValue| matches!(v.kind(), ValueKind::Number | ValueKind::Bool);
    if !number(&lhs) || !number(&rhs) {
        return Err(super::invalid(format!(
            "unsupported operand type(s) for %: '{}' and '{}'",
            super::pyformat::type_name(&lhs),
            super::pyformat::type_name(&rhs)
        )));
    }
    let int = |v: &JValue| -> Option<i64> {
        match v.kind() {
            ValueKind::Bool => Some(i64::from(v.is_true())),
            _ if v.is_integer() => v.as_i64(),
            _ => None,
        }
    };
    if let (Some(a), Some(b)) = (int(&lhs), int(&rhs)) {
        if b == 0 {
            return Err(super::invalid("integer modulo by zero"));
        }
        let r = a % b;
        return Ok(JValue::from(if r != 0 && ((r < 0) != (b < 0)) {
            r + b
        } else {
            r
        }));
    }
    let float = |v: &JValue| f64::try_from(v.clone()).unwrap_or(f64::NAN);
    let (a, b) = (float(&lhs), float(&rhs));
    if b == 0.0 {
        return Err(super::invalid("float modulo"));
    }
    let r = a % b;
    Ok(JValue::from(if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
        r + b
    } else {
        r
    }))
}

/// A whole template: the expressions of its `{{ }}` and `{% %}` blocks rewritten, raw blocks and comments kept.
pub(super) fn in_template(text: &str) -> Cow<'_, str> {
    if !text.replace("{%", "").replace("%}", "").contains('%') {
        return text.into();
    }
    rewrite_code(text, in_expression).into()
}

/// A template with the code of each `{{ }}` and `{% %}` block passed through `rewrite`; text, comments and
/// raw blocks stay as written. A block ends at the first closing delimiter outside strings and brackets.
pub(super) fn rewrite_code(text: &str, rewrite: impl Fn(&str) -> Cow<'_, str>) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = ["{{", "{%", "{#"].iter().filter_map(|d| rest.find(d)).min() {
        out.push_str(&rest[..open]);
        let delimiter = &rest[open..open + 2];
        rest = &rest[open + 2..];
        if delimiter == "{#" {
            let end = rest.find("#}").map_or(rest.len(), |e| e + 2);
            out.push_str(delimiter);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        let closing = if delimiter == "{{" { "}}" } else { "%}" };
        let end = block_end(rest, closing).unwrap_or(rest.len());
        let inner = &rest[..end];
        out.push_str(delimiter);
        if delimiter == "{%"
            && inner.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace()) == "raw"
        {
            out.push_str(inner);
            rest = &rest[end..];
            let close = rest
                .match_indices("{%")
                .find(|(i, _)| {
                    block_end(&rest[i + 2..], "%}").is_some_and(|e| {
                        rest[i + 2..i + 2 + e]
                            .trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace())
                            == "endraw"
                    })
                })
                .map_or(rest.len(), |(i, _)| i);
            out.push_str(&rest[..close]);
            rest = &rest[close..];
            continue;
        }
        out.push_str(&rewrite(inner));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Where a block's closing delimiter starts: the first one outside strings and brackets.
fn block_end(text: &str, closing: &str) -> Option<usize> {
    let tokens = tokenize(text)?;
    let mut depth = 0i32;
    let mut from = 0;
    for token in &tokens {
        // The delimiter lies between tokens (or is read as operator characters).
        if depth == 0
            && let Some(i) = text[from..token.start].find(closing)
        {
            return Some(from + i);
        }
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close if depth > 0 => depth -= 1,
            Kind::Close => {
                return Some(token.start).filter(|_| text[token.start..].starts_with(closing));
            }
            Kind::Op if depth == 0 && text[token.start..].starts_with(closing) => {
                return Some(token.start);
            }
            _ => {}
        }
        from = token.end;
    }
    text[from..].find(closing).map(|i| from + i)
}

/// One expression (or a statement's content) with every `%` operator turned into a call.
pub(super) fn in_expression(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return text.into();
    }
    let mut current = text.to_string();
    // Leftmost first, so a chain `a % b % c` nests as Python groups it; each round removes one `%`.
    for _ in 0..current.matches('%').count() {
        let Some(tokens) = tokenize(&current) else {
            break;
        };
        let Some((at, _)) = tokens
            .iter()
            .enumerate()
            .find(|(_, t)| t.kind == Kind::Op && &current[t.start..t.end] == "%")
        else {
            break;
        };
        let (Some(first), Some(last)) = (
            operand_start(&tokens, &current, at.wrapping_sub(1)),
            operand_end(&tokens, &current, at + 1),
        ) else {
            break;
        };
        let (l, r) = (tokens[first].start, tokens[last].end);
        current = format!(
            "{}{FUNCTION}({}, {}){}",
            &current[..l],
            &current[l..tokens[at - 1].end],
            &current[tokens[at + 1].start..r],
            &current[r..]
        );
    }
    current.into()
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Name,
    Literal,
    Op,
    Open,
    Close,
}

struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'\'' | b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    return None;
                }
                i += 1;
                Kind::Literal
            }
            b'0'..=b'9' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || (bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
                        || ((bytes[i] == b'+' || bytes[i] == b'-')
                            && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                Kind::Literal
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                Kind::Name
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                Kind::Open
            }
            b')' | b']' | b'}' => {
                i += 1;
                Kind::Close
            }
            _ => {
                let two = text.get(i..i + 2).unwrap_or("");
                i += if ["**", "//", "==", "!=", "<=", ">="].contains(&two) {
                    2
                } else {
                    1
                };
                Kind::Op
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    Some(tokens)
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "if",
    "else",
    "elif",
    "in",
    "is",
    "for",
    "set",
    "with",
    "as",
    "import",
    "from",
    "recursive",
    "call",
    "filter",
    "macro",
    "include",
    "block",
    "extends",
    "endfor",
    "endif",
];

fn text_of<'t>(tokens: &[Token], text: &'t str, i: usize) -> &'t str {
    tokens.get(i).map_or("", |t| &text[t.start..t.end])
}

fn matching(tokens: &[Token], from: usize, forward: bool) -> Option<usize> {
    let mut depth = 0i32;
    let mut i = from;
    loop {
        match tokens.get(i)?.kind {
            Kind::Open => depth += if forward { 1 } else { -1 },
            Kind::Close => depth += if forward { -1 } else { 1 },
            _ => {}
        }
        if depth == 0 {
            return Some(i);
        }
        i = if forward { i + 1 } else { i.checked_sub(1)? };
    }
}

/// The first token of the operand that ends at token `last`, at `%`'s precedence.
fn operand_start(tokens: &[Token], text: &str, last: usize) -> Option<usize> {
    let is = |i: usize, s: &str| i < tokens.len() && text_of(tokens, text, i) == s;
    let mut start = unary_start(tokens, text, last)?;
    // `**` binds tighter, and `*`, `/`, `//` are `%`'s own level, grouping from the left.
    while start >= 2 && ["**", "*", "/", "//"].iter().any(|op| is(start - 1, op)) {
        start = unary_start(tokens, text, start - 2)?;
    }
    Some(start)
}

/// The first token of a unary-level operand ending at `last`: a primary with its calls, subscripts,
/// attributes, filters and tests, and any sign before it.
fn unary_start(tokens: &[Token], text: &str, last: usize) -> Option<usize> {
    let is = |i: usize, s: &str| i < tokens.len() && text_of(tokens, text, i) == s;
    let token = tokens.get(last)?;
    let mut start = match token.kind {
        Kind::Close => matching(tokens, last, false)?,
        Kind::Literal => last,
        Kind::Name if !KEYWORDS.contains(&text_of(tokens, text, last)) => last,
        _ => return None,
    };
    loop {
        if start == 0 {
            break;
        }
        let prev = start - 1;
        if (is(prev, ".") || is(prev, "|") || is(prev, "is")) && prev >= 1 {
            start = postfix_base(tokens, text, prev - 1)?;
        } else if is(prev, "not") && prev >= 2 && is(prev - 1, "is") {
            start = postfix_base(tokens, text, prev - 2)?;
        } else if tokens[start].kind == Kind::Open
            && !is(start, "{")
            && (tokens[prev].kind == Kind::Close
                || tokens[prev].kind == Kind::Literal
                || (tokens[prev].kind == Kind::Name
                    && !KEYWORDS.contains(&text_of(tokens, text, prev))))
        {
            start = postfix_base(tokens, text, prev)?;
        } else {
            break;
        }
    }
    // A sign is unary where no operand precedes it.
    while start >= 1 && (is(start - 1, "-") || is(start - 1, "+")) {
        let before = start.checked_sub(2);
        let unary = match before {
            None => true,
            Some(b) => match tokens[b].kind {
                Kind::Op | Kind::Open => true,
                Kind::Name => KEYWORDS.contains(&text_of(tokens, text, b)),
                _ => false,
            },
        };
        if !unary {
            break;
        }
        start -= 1;
    }
    Some(start)
}

/// The start of the primary a postfix (`.x`, `|f`, `(…)`, `[…]`, `is t`) applies to, ending at `last`.
fn postfix_base(tokens: &[Token], text: &str, last: usize) -> Option<usize> {
    let token = tokens.get(last)?;
    match token.kind {
        Kind::Close | Kind::Literal => unary_start_without_sign(tokens, text, last),
        Kind::Name if !KEYWORDS.contains(&text_of(tokens, text, last)) => {
            unary_start_without_sign(tokens, text, last)
        }
        _ => None,
    }
}

fn unary_start_without_sign(tokens: &[Token], text: &str, last: usize) -> Option<usize> {
    let start = unary_start(tokens, text, last)?;
    // A sign before a postfix chain applies to the whole chain, so it belongs to the caller's scan.
    let mut s = start;
    while s < last && matches!(text_of(tokens, text, s), "-" | "+") {
        s += 1;
    }
    Some(s)
}

/// The last token of the operand that starts at token `first`, at `%`'s precedence (a unary-level operand,
/// with `**` binding tighter).
fn operand_end(tokens: &[Token], text: &str, first: usize) -> Option<usize> {
    let is = |i: usize, s: &str| i < tokens.len() && text_of(tokens, text, i) == s;
    let mut i = first;
    while is(i, "-") || is(i, "+") {
        i += 1;
    }
    let token = tokens.get(i)?;
    let mut end = match token.kind {
        Kind::Open => matching(tokens, i, true)?,
        Kind::Literal => i,
        Kind::Name if !KEYWORDS.contains(&text_of(tokens, text, i)) => i,
        _ => return None,
    };
    loop {
        let next = end + 1;
        if is(next, ".") {
            end = next + 1;
        } else if is(next, "(") || is(next, "[") {
            end = matching(tokens, next, true)?;
        } else if is(next, "|") {
            end = next + 1;
            if is(end + 1, "(") {
                end = matching(tokens, end + 1, true)?;
            }
        } else if is(next, "is") {
            end = next + 1;
            if is(end, "not") {
                end += 1;
            }
            if is(end + 1, "(") {
                end = matching(tokens, end + 1, true)?;
            }
        } else if is(next, "**") {
            end = operand_end(tokens, text, next + 1)?;
        } else {
            break;
        }
        if end >= tokens.len() {
            return None;
        }
    }
    Some(end)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn operands_follow_jinjas_precedence() {
        let r = |s: &str| in_expression(s).into_owned();
        assert_eq!(r("'%s' % x"), "_python_percent('%s', x)");
        assert_eq!(
            r("'%s-%s' % (a, b) ~ '!'"),
            "_python_percent('%s-%s', (a, b)) ~ '!'"
        );
        assert_eq!(r("a * b % c + 1"), "_python_percent(a * b, c) + 1");
        assert_eq!(r("a % b % c"), "_python_percent(_python_percent(a, b), c)");
        assert_eq!(r("x.y[0] % -z | int"), "_python_percent(x.y[0], -z | int)");
        assert_eq!(r("f('%d' % n)"), "f(_python_percent('%d', n))");
        assert_eq!(
            r("'%s' % x if x % 2 else y"),
            "_python_percent('%s', x) if _python_percent(x, 2) else y"
        );
        assert_eq!(
            r("a | default('%s') % b"),
            "_python_percent(a | default('%s'), b)"
        );
        assert_eq!(r("2 ** 3 % 5"), "_python_percent(2 ** 3, 5)");
        assert_eq!(r("- a % b"), "_python_percent(- a, b)");
        assert_eq!(r("1 - a % b"), "1 - _python_percent(a, b)");
        assert_eq!(
            r("'%s' % x is string"),
            "_python_percent('%s', x is string)"
        );
    }

    #[test]
    fn templates_rewrite_blocks_only() {
        let r = |s: &str| in_template(s).into_owned();
        assert_eq!(
            r("100% {{ '%d' % n }}"),
            "100% {{ _python_percent('%d', n) }}"
        );
        assert_eq!(
            r("{% if n % 2 %}odd{% endif %}"),
            "{% if _python_percent(n, 2) %}odd{% endif %}"
        );
        assert_eq!(
            r("{% raw %}{{ a % b }}{% endraw %}"),
            "{% raw %}{{ a % b }}{% endraw %}"
        );
        assert_eq!(
            r("{# a % b #}{{ {'k': 1}['k'] % 2 }}"),
            "{# a % b #}{{ _python_percent({'k': 1}['k'], 2) }}"
        );
        assert_eq!(
            r("{%- set x = 7 % 3 -%}"),
            "{%- set x = _python_percent(7, 3) -%}"
        );
    }
}
