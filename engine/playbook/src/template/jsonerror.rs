//! Why Python's `json.loads` refuses a text, in its words (`Expecting ',' delimiter: line 1 column 3 (char 2)`),
//! for `from_json`. serde_json parses; this only retraces Python's scanner (`json.decoder`, whose C and Python
//! versions fail alike) to say where and why it stops.

/// Python's `JSONDecodeError` message for `text`, or `None` when Python's scanner accepts it.
pub(super) fn loads_error(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let (message, at) = check(&chars).err()?;
    let (line, column) = line_and_column(&chars, at);
    Some(format!(
        "{message}: line {line} column {column} (char {at})"
    ))
}

/// The 1-based line and column (in characters) of a character position, as Python's parsers count them.
pub(super) fn line_and_column(chars: &[char], at: usize) -> (usize, usize) {
    let before = &chars[..at.min(chars.len())];
    let line = before.iter().filter(|c| **c == '\n').count() + 1;
    let start = before.iter().rposition(|c| *c == '\n').map_or(0, |i| i + 1);
    (line, before.len() - start + 1)
}

/// Where the scanner stopped and why.
type Failure = (&'static str, usize);

fn check(chars: &[char]) -> Result<(), Failure> {
    if chars.first() == Some(&'\u{feff}') {
        return Err(("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0));
    }
    let end = value(chars, skip_ws(chars, 0), 0)?;
    let end = skip_ws(chars, end);
    if end != chars.len() {
        return Err(("Extra data", end));
    }
    Ok(())
}

/// JSON's whitespace, which is all Python skips.
fn skip_ws(chars: &[char], mut at: usize) -> usize {
    while chars
        .get(at)
        .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
    {
        at += 1;
    }
    at
}

fn starts_with(chars: &[char], at: usize, word: &str) -> bool {
    word.chars()
        .enumerate()
        .all(|(i, w)| chars.get(at + i) == Some(&w))
}

/// How deep arrays and objects may nest before the scan stops, as Python's recursion limit stops its own
/// (and before this one's recursion could exhaust the stack).
const MAX_DEPTH: usize = 900;

/// One value from `at`, `depth` arrays and objects deep: where it ends.
fn value(chars: &[char], at: usize, depth: usize) -> Result<usize, Failure> {
    if depth > MAX_DEPTH {
        return Err((
            "maximum recursion depth exceeded while decoding a JSON document",
            at,
        ));
    }
    for word in ["null", "true", "false", "NaN", "Infinity", "-Infinity"] {
        if starts_with(chars, at, word) {
            return Ok(at + word.chars().count());
        }
    }
    match chars.get(at) {
        Some('"') => string(chars, at),
        Some('{') => object(chars, at + 1, depth + 1),
        Some('[') => array(chars, at + 1, depth + 1),
        _ => number(chars, at).ok_or(("Expecting value", at)),
    }
}

/// A string whose opening quote is at `begin`: where it ends.
fn string(chars: &[char], begin: usize) -> Result<usize, Failure> {
    let unterminated = ("Unterminated string starting at", begin);
    let mut at = begin + 1;
    loop {
        match chars.get(at) {
            None => return Err(unterminated),
            Some('"') => return Ok(at + 1),
            Some('\\') => match chars.get(at + 1) {
                None => return Err(unterminated),
                Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => at += 2,
                Some('u') => {
                    // Python wants four hex digits and something after them.
                    let digits = chars.get(at + 2..at + 6);
                    if at + 6 >= chars.len()
                        || !digits.is_some_and(|d| d.iter().all(char::is_ascii_hexdigit))
                    {
                        return Err(("Invalid \\uXXXX escape", at + 1));
                    }
                    at += 6;
                }
                Some(_) => return Err(("Invalid \\escape", at)),
            },
            Some(c) if u32::from(*c) < 0x20 => return Err(("Invalid control character at", at)),
            Some(_) => at += 1,
        }
    }
}

/// An object's members from just after its `{`: where it ends.
fn object(chars: &[char], at: usize, depth: usize) -> Result<usize, Failure> {
    let mut at = skip_ws(chars, at);
    if chars.get(at) == Some(&'}') {
        return Ok(at + 1);
    }
    loop {
        if chars.get(at) != Some(&'"') {
            return Err(("Expecting property name enclosed in double quotes", at));
        }
        at = skip_ws(chars, string(chars, at)?);
        if chars.get(at) != Some(&':') {
            return Err(("Expecting ':' delimiter", at));
        }
        at = skip_ws(chars, value(chars, skip_ws(chars, at + 1), depth)?);
        match chars.get(at) {
            Some('}') => return Ok(at + 1),
            Some(',') => at = skip_ws(chars, at + 1),
            _ => return Err(("Expecting ',' delimiter", at)),
        }
    }
}

/// An array's items from just after its `[`: where it ends.
fn array(chars: &[char], at: usize, depth: usize) -> Result<usize, Failure> {
    let mut at = skip_ws(chars, at);
    if chars.get(at) == Some(&']') {
        return Ok(at + 1);
    }
    loop {
        at = skip_ws(chars, value(chars, at, depth)?);
        match chars.get(at) {
            Some(']') => return Ok(at + 1),
            Some(',') => at = skip_ws(chars, at + 1),
            _ => return Err(("Expecting ',' delimiter", at)),
        }
    }
}

/// A number as Python's scanner matches it (`-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`): where it ends.
fn number(chars: &[char], start: usize) -> Option<usize> {
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let mut at = start + usize::from(chars.get(start) == Some(&'-'));
    match chars.get(at) {
        Some('0') => at += 1,
        Some('1'..='9') => {
            while digit(at) {
                at += 1;
            }
        }
        _ => return None,
    }
    if chars.get(at) == Some(&'.') && digit(at + 1) {
        at += 1;
        while digit(at) {
            at += 1;
        }
    }
    if matches!(chars.get(at), Some('e' | 'E')) {
        let mut exponent = at + 1;
        if matches!(chars.get(exponent), Some('-' | '+')) {
            exponent += 1;
        }
        // Without digits, the `e` is not part of the number.
        if digit(exponent) {
            at = exponent;
            while digit(at) {
                at += 1;
            }
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::loads_error;

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        let message = loads_error(&deep).expect("refused");
        assert!(
            message.starts_with("maximum recursion depth exceeded"),
            "{message}"
        );
    }

    #[test]
    fn python_words_and_places() {
        let cases = [
            (
                "{bad",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            ("[1", "Expecting ',' delimiter: line 1 column 3 (char 2)"),
            ("", "Expecting value: line 1 column 1 (char 0)"),
            ("[1,]", "Expecting value: line 1 column 4 (char 3)"),
            (
                "{\"a\" 1}",
                "Expecting ':' delimiter: line 1 column 6 (char 5)",
            ),
            ("1 2", "Extra data: line 1 column 3 (char 2)"),
            (
                "\"abc",
                "Unterminated string starting at: line 1 column 1 (char 0)",
            ),
            (
                "[\n  \"\\q\"]",
                "Invalid \\escape: line 2 column 4 (char 5)",
            ),
            (
                "{\"a\": 1,}",
                "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)",
            ),
            (
                "\"\\u00",
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                "\"\\u004x\"",
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                "[\"a\u{1}\"]",
                "Invalid control character at: line 1 column 4 (char 3)",
            ),
            ("01", "Extra data: line 1 column 2 (char 1)"),
            ("-", "Expecting value: line 1 column 1 (char 0)"),
            ("1.e5", "Extra data: line 1 column 2 (char 1)"),
            ("[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"),
        ];
        for (text, message) in cases {
            assert_eq!(loads_error(text).as_deref(), Some(message), "{text:?}");
        }
        for good in [
            "{\"a\": [1, 2.5e-3, -0, true, null]}",
            " \"x\" ",
            "NaN",
            "-Infinity",
        ] {
            assert_eq!(loads_error(good), None, "{good:?}");
        }
    }
}
