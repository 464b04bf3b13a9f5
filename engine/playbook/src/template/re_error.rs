//! Why Python's `re` refuses a pattern, in its words (`missing ), unterminated subpattern at position 0`), for
//! the regex filters and tests. The regex crate compiles; this retraces the checks of Python's parser that
//! patterns commonly fail (brackets, character sets, repeats, escapes), in the order it makes them.

/// What the last thing read was, for repeats: nothing repeatable (the start, after `(` or `|`, an anchor), an
/// item, or a repeat (whose one `?`/`+` modifier may follow).
#[derive(Clone, Copy, PartialEq)]
enum Last {
    Nothing,
    Item,
    Repeat { modified: bool },
}

/// Python's `re.error` message for `pattern`, or `None` when these checks find nothing wrong.
pub(super) fn python_error(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let (message, at) = check(&chars).err()?;
    // Python adds the line and column when the pattern has several lines.
    if !chars.contains(&'\n') {
        return Some(format!("{message} at position {at}"));
    }
    let (line, column) = super::jsonerror::line_and_column(&chars, at);
    Some(format!(
        "{message} at position {at} (line {line}, column {column})"
    ))
}

fn check(chars: &[char]) -> Result<(), (String, usize)> {
    let fail = |message: &str, at: usize| Err((message.to_string(), at));
    let mut groups: Vec<usize> = Vec::new();
    let mut last = Last::Nothing;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let repeat = match c {
            '*' | '+' | '?' => Some(1),
            '{' => repeat_len(&chars[i..]),
            _ => None,
        };
        if let Some(len) = repeat {
            last = match last {
                Last::Nothing => return fail("nothing to repeat", i),
                Last::Repeat { modified: false } if c == '?' || c == '+' => {
                    Last::Repeat { modified: true }
                }
                Last::Repeat { .. } => return fail("multiple repeat", i),
                Last::Item => Last::Repeat { modified: false },
            };
            i += len;
            continue;
        }
        match c {
            '(' => match group_header(&chars[i + 1..]) {
                Header::Comment => match chars[i..].iter().position(|c| *c == ')') {
                    Some(end) => i += end,
                    None => return fail("missing ), unterminated comment", i),
                },
                Header::Group(len) => {
                    groups.push(i);
                    last = Last::Nothing;
                    i += len;
                }
                // A back reference by name or inline flags: no group, up to its `)`.
                Header::Inline => {
                    i += chars[i..].iter().position(|c| *c == ')').unwrap_or(0);
                    last = Last::Item;
                }
            },
            ')' => {
                if groups.pop().is_none() {
                    return fail("unbalanced parenthesis", i);
                }
                last = Last::Item;
            }
            '|' | '^' | '$' => last = Last::Nothing,
            '[' => {
                i = class_end(chars, i)?;
                last = Last::Item;
            }
            '\\' => {
                let escaped = match chars.get(i + 1) {
                    None => return fail("bad escape (end of pattern)", i),
                    Some(e) => *e,
                };
                if escaped.is_ascii_alphabetic() && !"AbBdDsSwWZafnrtvxuUN".contains(escaped) {
                    return fail(&format!("bad escape \\{escaped}"), i);
                }
                // Anchors, like `^`, cannot be repeated.
                last = if "AbBZ".contains(escaped) {
                    Last::Nothing
                } else {
                    Last::Item
                };
                i += 1;
            }
            _ => last = Last::Item,
        }
        i += 1;
    }
    match groups.last() {
        Some(open) => fail("missing ), unterminated subpattern", *open),
        None => Ok(()),
    }
}

/// The length of a `{m,n}` repeat `text` starts with; a `{` that starts none is a literal, as in Python.
fn repeat_len(text: &[char]) -> Option<usize> {
    // `{}` repeats nothing: Python reads it as two literal characters.
    if text.get(1) == Some(&'}') {
        return None;
    }
    let mut i = 1;
    while text.get(i).is_some_and(char::is_ascii_digit) {
        i += 1;
    }
    if text.get(i) == Some(&',') {
        i += 1;
        while text.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
    }
    (text.get(i) == Some(&'}')).then_some(i + 1)
}

/// What follows a `(`.
enum Header {
    /// `(?#...)`.
    Comment,
    /// A group, whose header (`?:`, `?P<name>`, `?<=`) has this many characters after the `(`.
    Group(usize),
    /// `(?P=name)` or `(?i)`: no group.
    Inline,
}

fn group_header(after: &[char]) -> Header {
    if after.first() != Some(&'?') {
        return Header::Group(0);
    }
    match (after.get(1), after.get(2)) {
        (Some('#'), _) => Header::Comment,
        (Some('P'), Some('<')) => {
            Header::Group(after.iter().position(|c| *c == '>').map_or(2, |p| p + 1))
        }
        (Some('P'), Some('=')) => Header::Inline,
        (Some('<'), Some('=' | '!')) => Header::Group(3),
        (Some(':' | '=' | '!' | '>'), _) => Header::Group(2),
        // Flags: `(?i)` sets them for the whole pattern, `(?i:...)` is a group.
        _ => match after.iter().position(|c| *c == ':' || *c == ')') {
            Some(end) if after[end] == ':' => Header::Group(end + 1),
            _ => Header::Inline,
        },
    }
}

/// Where the character set that starts at `start` ends (its `]`), checking its escapes and ranges.
fn class_end(chars: &[char], start: usize) -> Result<usize, (String, usize)> {
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        i += 1;
    }
    // A `]` first is a literal.
    let first = i;
    let mut previous: Option<(char, usize)> = None;
    while let Some(&c) = chars.get(i) {
        if c == ']' && i > first {
            return Ok(i);
        }
        let (item, len) = if c == '\\' {
            match chars.get(i + 1) {
                None => break,
                Some(e) if e.is_ascii_alphabetic() && !"dDsSwWafnrtvbxuUN".contains(*e) => {
                    return Err((format!("bad escape \\{e}"), i));
                }
                // An escaped class (`\d`) or code cannot bound a range here.
                Some(_) => (None, 2),
            }
        } else {
            (Some(c), 1)
        };
        if c == '-'
            && let Some((low, at)) = previous
            && let Some(&high) = chars.get(i + 1).filter(|h| **h != ']' && **h != '\\')
        {
            if high < low {
                return Err((format!("bad character range {low}-{high}"), at));
            }
            previous = None;
            i += 2;
            continue;
        }
        previous = item.map(|c| (c, i));
        i += len;
    }
    Err(("unterminated character set".into(), start))
}

#[cfg(test)]
mod tests {
    use super::python_error;

    #[test]
    fn python_words_and_positions() {
        let cases = [
            ("(", "missing ), unterminated subpattern at position 0"),
            ("((a)", "missing ), unterminated subpattern at position 0"),
            ("((", "missing ), unterminated subpattern at position 1"),
            ("a)", "unbalanced parenthesis at position 1"),
            ("[", "unterminated character set at position 0"),
            ("[]", "unterminated character set at position 0"),
            ("[^]", "unterminated character set at position 0"),
            ("*a", "nothing to repeat at position 0"),
            ("a**", "multiple repeat at position 2"),
            ("a*??", "multiple repeat at position 3"),
            ("(*)", "nothing to repeat at position 1"),
            ("a|*", "nothing to repeat at position 2"),
            ("\\", "bad escape (end of pattern) at position 0"),
            ("a\\q", "bad escape \\q at position 1"),
            ("^*", "nothing to repeat at position 1"),
            ("x{2}{3}", "multiple repeat at position 4"),
            ("[z-a]", "bad character range z-a at position 1"),
            ("{1}", "nothing to repeat at position 0"),
            ("(?#abc", "missing ), unterminated comment at position 0"),
            (
                "(?P<n>a",
                "missing ), unterminated subpattern at position 0",
            ),
            ("(?<=a", "missing ), unterminated subpattern at position 0"),
            ("[\\q]", "bad escape \\q at position 1"),
            ("(?:a", "missing ), unterminated subpattern at position 0"),
            (
                "a\n(",
                "missing ), unterminated subpattern at position 2 (line 2, column 1)",
            ),
        ];
        for (pattern, message) in cases {
            assert_eq!(
                python_error(pattern).as_deref(),
                Some(message),
                "{pattern:?}"
            );
        }
        for good in [
            "a*?",
            "a*+",
            "a{,2}",
            "a{2",
            "(?i)a",
            "(?i:a)",
            "[]a]",
            "[a-z\\d]",
            "(?P<n>a)(?P=n)",
        ] {
            assert_eq!(python_error(good), None, "{good:?}");
        }
    }
}
