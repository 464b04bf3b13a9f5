//! Python's `shlex.split(line, comments=True)` and `ast.literal_eval`, as Ansible's INI inventory applies them.
//!
//! Hand-written because the INI format is defined by these two Python functions: a host line is split the way
//! POSIX shlex splits it (`#` starts a comment even in mid-word) and every value goes through `literal_eval`,
//! which knows `True`, `None`, `'quoted'`, `[1, 2]` and `{'a': 1}` but not `yes` or `true`. Neither the `shlex`
//! crate (no comments) nor a JSON or YAML parser gives those answers.

use serde_json::{Map, Number, Value};

/// A word of a shlex-split line and the 0-based character column where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    pub text: String,
    pub col: usize,
}

/// Why a line could not be split, as Python's shlex says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum SplitError {
    #[error("No closing quotation")]
    NoClosingQuotation,
    #[error("No escaped character")]
    NoEscapedCharacter,
}

/// Splits like `shlex.split(line, comments=True)` in POSIX mode: quotes are removed, a backslash escapes
/// outside quotes and before `"`/`\` inside double quotes, and an unquoted `#` ends the line.
pub(super) fn shlex_split(line: &str) -> Result<Vec<Word>, SplitError> {
    #[derive(PartialEq)]
    enum State {
        Between,
        Word,
        Quote(char),
        Escape { inside: Option<char> },
    }
    let mut words = Vec::new();
    let mut state = State::Between;
    let mut token = String::new();
    let mut quoted = false;
    let mut start = 0;
    let mut chars = line.chars().enumerate();
    let flush = |words: &mut Vec<Word>, token: &mut String, quoted: &mut bool, start: usize| {
        if !token.is_empty() || *quoted {
            words.push(Word {
                text: std::mem::take(token),
                col: start,
            });
        }
        *quoted = false;
    };
    loop {
        let Some((i, c)) = chars.next() else {
            match state {
                State::Quote(_) => return Err(SplitError::NoClosingQuotation),
                State::Escape { .. } => return Err(SplitError::NoEscapedCharacter),
                State::Between | State::Word => {}
            }
            flush(&mut words, &mut token, &mut quoted, start);
            return Ok(words);
        };
        match state {
            State::Between | State::Word => {
                if state == State::Between && !matches!(c, ' ' | '\t' | '\r' | '\n' | '#') {
                    start = i;
                }
                match c {
                    ' ' | '\t' | '\r' | '\n' => {
                        flush(&mut words, &mut token, &mut quoted, start);
                        state = State::Between;
                    }
                    // shlex reads the rest of the line as a comment, even in the middle of a word.
                    '#' => {
                        flush(&mut words, &mut token, &mut quoted, start);
                        return Ok(words);
                    }
                    '\'' | '"' => {
                        quoted = true;
                        state = State::Quote(c);
                    }
                    '\\' => state = State::Escape { inside: None },
                    _ => {
                        token.push(c);
                        state = State::Word;
                    }
                }
            }
            State::Quote(q) => {
                if c == q {
                    state = State::Word;
                } else if c == '\\' && q == '"' {
                    state = State::Escape { inside: Some(q) };
                } else {
                    token.push(c);
                }
            }
            State::Escape { inside } => {
                // Inside double quotes only `\"` and `\\` are escapes; elsewhere the backslash stays.
                if inside.is_some() && c != '\\' && Some(c) != inside {
                    token.push('\\');
                }
                token.push(c);
                state = inside.map_or(State::Word, State::Quote);
            }
        }
    }
}

/// The value of an INI `k=v`: what `ast.literal_eval` makes of it, or the text itself when it is not a
/// Python literal (Ansible ignores the error and keeps the string).
pub(super) fn parse_value(text: &str) -> Value {
    literal_eval(text).unwrap_or_else(|| Value::String(text.to_string()))
}

/// `ast.literal_eval` for one line, converted as Ansible converts it: tuples and sets become lists, bytes
/// become text. `None` when Python would raise (or when the value has no JSON form, such as a huge integer).
pub(super) fn literal_eval(text: &str) -> Option<Value> {
    let mut parser = Parser {
        chars: text.trim_start_matches([' ', '\t']).chars().collect(),
        pos: 0,
        depth: 0,
    };
    let value = parser.tuple_or_expr()?;
    parser.skip_space();
    (parser.pos == parser.chars.len()).then_some(value)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Bracket nesting: inside brackets Python joins lines.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\x0c' => self.pos += 1,
                '\n' | '\r' if self.depth > 0 => self.pos += 1,
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `1, 2` at the top level is a tuple, as in Python.
    fn tuple_or_expr(&mut self) -> Option<Value> {
        let first = self.expr()?;
        if !self.eat(',') {
            return Some(first);
        }
        let mut items = vec![first];
        self.items(None, &mut items)?;
        Some(Value::Array(items))
    }

    /// Items after a comma, up to `close` (or the end of input when `None`); a trailing comma is allowed.
    fn items(&mut self, close: Option<char>, items: &mut Vec<Value>) -> Option<()> {
        loop {
            self.skip_space();
            if self.peek() == close {
                return Some(());
            }
            items.push(self.expr()?);
            if !self.eat(',') {
                self.skip_space();
                return (self.peek() == close).then_some(());
            }
        }
    }

    fn expr(&mut self) -> Option<Value> {
        self.skip_space();
        match self.peek()? {
            '[' => self.sequence('[', ']'),
            '(' => self.parens(),
            '{' => self.braces(),
            '-' | '+' => {
                let negative = self.peek() == Some('-');
                self.pos += 1;
                self.skip_space();
                // literal_eval allows a sign only on a number, not on True or a nested sign.
                match self.number()? {
                    Value::Number(n) if negative => negate(&n),
                    other => Some(other),
                }
            }
            '.' if self.peek_at(1) == Some('.') && self.peek_at(2) == Some('.') => {
                self.pos += 3;
                Some(Value::String("...".into()))
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            _ => self.word_or_string(),
        }
    }

    fn sequence(&mut self, open: char, close: char) -> Option<Value> {
        self.eat(open);
        self.depth += 1;
        let mut items = Vec::new();
        self.items(Some(close), &mut items)?;
        self.depth -= 1;
        self.pos += 1;
        Some(Value::Array(items))
    }

    /// `(1)` is 1, `(1,)` and `()` are tuples, which Ansible turns into lists.
    fn parens(&mut self) -> Option<Value> {
        self.eat('(');
        self.depth += 1;
        if self.eat(')') {
            self.depth -= 1;
            return Some(Value::Array(Vec::new()));
        }
        let first = self.expr()?;
        let value = if self.eat(',') {
            let mut items = vec![first];
            self.items(Some(')'), &mut items)?;
            Value::Array(items)
        } else {
            first
        };
        self.depth -= 1;
        self.eat(')').then_some(value)
    }

    /// A dict, or a set (which Ansible turns into a list).
    fn braces(&mut self) -> Option<Value> {
        self.eat('{');
        self.depth += 1;
        if self.eat('}') {
            self.depth -= 1;
            return Some(Value::Object(Map::new()));
        }
        let first = self.expr()?;
        if !self.eat(':') {
            let mut items = vec![first];
            if self.eat(',') {
                self.items(Some('}'), &mut items)?;
            }
            self.depth -= 1;
            if !self.eat('}') {
                return None;
            }
            let mut unique: Vec<Value> = Vec::new();
            for item in items {
                if !unique.contains(&item) {
                    unique.push(item);
                }
            }
            return Some(Value::Array(unique));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            let value = self.expr()?;
            if matches!(key, Value::Array(_))
                || matches!(key, Value::Object(_)) && !crate::typed::is_marked_scalar(&key)
            {
                // Lists are unhashable in Python; tuples as keys have no JSON form.
                return None;
            }
            // A key equal to an earlier one (`1` and `True`) keeps the earlier's form, as a dict does.
            let text = map
                .keys()
                .find(|k| crate::typed::python_equal(&crate::typed::key_value(k), &key))
                .cloned()
                .unwrap_or_else(|| crate::typed::key(&key));
            map.insert(text, value);
            if !self.eat(',') || {
                self.skip_space();
                self.peek() == Some('}')
            } {
                break;
            }
            key = self.expr()?;
            if !self.eat(':') {
                return None;
            }
        }
        self.depth -= 1;
        self.eat('}').then_some(Value::Object(map))
    }

    fn word_or_string(&mut self) -> Option<Value> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        if matches!(self.peek(), Some('\'' | '"')) {
            self.pos = start;
            return self.strings();
        }
        match word.as_str() {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            _ => None,
        }
    }

    /// One or more adjacent string literals, joined as Python joins them.
    fn strings(&mut self) -> Option<Value> {
        let mut text = String::new();
        let mut kind = None;
        loop {
            self.skip_space();
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.pos += 1;
            }
            let prefix: String = self.chars[start..self.pos]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            if !matches!(self.peek(), Some('\'' | '"')) {
                self.pos = start;
                break;
            }
            let (raw, bytes) = match prefix.as_str() {
                "" | "u" => (false, false),
                "r" => (true, false),
                "b" => (false, true),
                "br" | "rb" => (true, true),
                // f-strings are not literals.
                _ => return None,
            };
            if kind.replace(bytes).is_some_and(|k| k != bytes) {
                return None; // Python refuses to join bytes and text
            }
            text.push_str(&self.string_body(raw, bytes)?);
        }
        kind.map(|_| Value::String(text))
    }

    fn string_body(&mut self, raw: bool, bytes: bool) -> Option<String> {
        let quote = self.peek()?;
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut out: Vec<u8> = Vec::new();
        let push = |out: &mut Vec<u8>, c: char| {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        };
        loop {
            let c = self.peek()?;
            if c == quote
                && (!triple || (self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote)))
            {
                self.pos += if triple { 3 } else { 1 };
                break;
            }
            if (c == '\n' && !triple) || (bytes && !c.is_ascii()) {
                return None;
            }
            self.pos += 1;
            if c != '\\' {
                push(&mut out, c);
                continue;
            }
            let e = self.peek()?;
            if raw {
                // A raw string keeps the backslash; it only stops `\'` from ending the string.
                push(&mut out, '\\');
                push(&mut out, e);
                self.pos += 1;
                continue;
            }
            self.pos += 1;
            match e {
                '\n' => {}
                '\\' | '\'' | '"' => push(&mut out, e),
                'a' => out.push(7),
                'b' => out.push(8),
                'f' => out.push(12),
                'n' => out.push(b'\n'),
                'r' => out.push(b'\r'),
                't' => out.push(b'\t'),
                'v' => out.push(11),
                '0'..='7' => {
                    let mut value = e.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                value = value * 8 + d;
                                self.pos += 1;
                            }
                            None => break,
                        }
                    }
                    push_code(&mut out, value, bytes)?;
                }
                'x' => {
                    let value = self.hex_digits(2)?;
                    push_code(&mut out, value, bytes)?;
                }
                'u' | 'U' if !bytes => {
                    let value = self.hex_digits(if e == 'u' { 4 } else { 8 })?;
                    push(&mut out, char::from_u32(value)?);
                }
                // `\N{name}` needs the Unicode name table: leave such values as written.
                'N' if !bytes => return None,
                // Unknown escapes keep their backslash (Python only warns).
                _ => {
                    push(&mut out, '\\');
                    push(&mut out, e);
                }
            }
        }
        // Ansible decodes bytes as UTF-8; text built from escapes is valid by construction.
        String::from_utf8(out).ok()
    }

    fn hex_digits(&mut self, count: usize) -> Option<u32> {
        let mut value = 0;
        for _ in 0..count {
            value = value * 16 + self.peek()?.to_digit(16)?;
            self.pos += 1;
        }
        Some(value)
    }

    /// A Python number literal. Imaginary numbers have no JSON form: the value stays text.
    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            let c = self.chars[self.pos];
            self.pos += 1;
            // An exponent sign belongs to the number: `1e-3`.
            if matches!(c, 'e' | 'E')
                && matches!(self.peek(), Some('+' | '-'))
                && !self.chars[start..self.pos]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X'))
            {
                self.pos += 1;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let value = parse_number(&text)?;
        Some(value)
    }
}

/// An octal or `\x` escape: a byte in a bytes literal, a code point in text.
fn push_code(out: &mut Vec<u8>, value: u32, bytes: bool) -> Option<()> {
    if bytes {
        out.push(u8::try_from(value).ok()?);
    } else {
        let mut buf = [0u8; 4];
        out.extend_from_slice(char::from_u32(value)?.encode_utf8(&mut buf).as_bytes());
    }
    Some(())
}

fn negate(n: &Number) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i.checked_neg()?));
    }
    if let Some(u) = n.as_u64() {
        return Some(Value::from(0i64.checked_sub_unsigned(u)?));
    }
    Number::from_f64(-n.as_f64()?).map(Value::Number)
}

/// Digits with single underscores between them, as Python allows.
fn digits_ok(s: &str, ok: impl Fn(char) -> bool) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars().all(|c| c == '_' || ok(c))
}

fn parse_number(text: &str) -> Option<Value> {
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(body) = lower.strip_prefix(prefix) {
            // Python allows one underscore right after the prefix: `0x_ff`.
            let body = body.strip_prefix('_').unwrap_or(body);
            if !digits_ok(body, |c| c.is_digit(radix)) {
                return None;
            }
            return int_value(i128::from_str_radix(&body.replace('_', ""), radix).ok()?);
        }
    }
    if lower.ends_with('j') {
        return None;
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    let (whole, frac) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digit = |c: char| c.is_ascii_digit();
    if (!whole.is_empty() && !digits_ok(whole, digit))
        || frac.is_some_and(|f| !f.is_empty() && !digits_ok(f, digit))
        || (whole.is_empty() && frac.is_none_or(str::is_empty))
    {
        return None;
    }
    if let Some(exp) = exponent {
        let unsigned = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if !digits_ok(unsigned, digit) {
            return None;
        }
    }
    if frac.is_none() && exponent.is_none() {
        // Python 3 refuses leading zeros on a non-zero integer (`0755` is a syntax error).
        if whole.starts_with('0') && whole.chars().any(|c| c != '0' && c != '_') {
            return None;
        }
        return int_value(whole.replace('_', "").parse().ok()?);
    }
    let value: f64 = lower.replace('_', "").parse().ok()?;
    Some(crate::typed::float(value))
}

fn int_value(value: i128) -> Option<Value> {
    Some(crate::typed::int(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(line: &str) -> Vec<String> {
        shlex_split(line)
            .expect("splits")
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn shlex_splits_like_python_posix_mode_with_comments() {
        assert_eq!(
            words(r#"web1 a=1 b="x y" c='p q'"#),
            ["web1", "a=1", "b=x y", "c=p q"]
        );
        assert_eq!(words("web1 a=1 # note"), ["web1", "a=1"]);
        assert_eq!(words("web1 a=1#note"), ["web1", "a=1"]);
        assert_eq!(words(r#"h k="a#b""#), ["h", "k=a#b"]);
        assert_eq!(words(r#"h k="say \"hi\" \n""#), ["h", r#"k=say "hi" \n"#]);
        assert_eq!(words(r"h k=a\ b"), ["h", "k=a b"]);
        assert_eq!(words(r#"h k="" "#), ["h", "k="]);
        assert_eq!(words(r#"h """#), ["h", ""]);
        assert_eq!(
            shlex_split("h k='open"),
            Err(SplitError::NoClosingQuotation)
        );
        assert_eq!(shlex_split("h k=\\"), Err(SplitError::NoEscapedCharacter));
        let cols: Vec<usize> = shlex_split("  web1   a=1")
            .expect("splits")
            .iter()
            .map(|w| w.col)
            .collect();
        assert_eq!(cols, [2, 9]);
    }

    #[test]
    fn literal_eval_knows_python_literals_only() {
        assert_eq!(parse_value("5"), json!(5));
        assert_eq!(parse_value("-5"), json!(-5));
        assert_eq!(parse_value("1_000"), json!(1000));
        assert_eq!(parse_value("0x1F"), json!(31));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("1e3"), json!(1000.0));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("None"), json!(null));
        assert_eq!(parse_value("'x y'"), json!("x y"));
        assert_eq!(parse_value(r#""a\tb""#), json!("a\tb"));
        assert_eq!(parse_value(r"r'a\tb'"), json!(r"a\tb"));
        assert_eq!(parse_value("'a' 'b'"), json!("ab"));
        assert_eq!(parse_value("b'\\xc3\\xa9'"), json!("é"));
        assert_eq!(parse_value("[1, 'two', [3]]"), json!([1, "two", [3]]));
        assert_eq!(parse_value("(1, 2)"), json!([1, 2]));
        assert_eq!(parse_value("1, 2"), json!([1, 2]));
        assert_eq!(parse_value("(1)"), json!(1));
        assert_eq!(
            parse_value("{'a': 1, 2: [True],}"),
            json!({"a": 1, crate::typed::key(&json!(2)): [true]})
        );
        assert_eq!(
            parse_value("{1: 'one', True: 't', 1e400: 0}"),
            json!({crate::typed::key(&json!(1)): "t", crate::typed::key(&crate::typed::float(f64::INFINITY)): 0})
        );
        assert_eq!(parse_value("{1, 2, 1}"), json!([1, 2]));
        assert_eq!(parse_value("8080 # a comment"), json!(8080));
        // Not Python literals: the text stays as written.
        for raw in [
            "yes", "true", "0755", "1j", "foo bar", "web # c", "f'x'", "[1,", "1 2", "{[1]: 2}",
            "--1",
        ] {
            assert_eq!(parse_value(raw), json!(raw), "{raw}");
        }
    }
}
