//! Ansible's free-form arguments: `msg="hi there" verbosity=1`, and for `command`/`shell` the command line with
//! only a few `k=v` options taken out. Hand-written because it follows Ansible's own splitter
//! (`ansible.parsing.splitter`: `split_args`, `parse_kv`, `join_args`) rather than a shell's: words split on
//! single spaces and newlines, which are kept (a `shell: |` script keeps its lines), quotes and `{{ }}`,
//! `{% %}`, `{# #}` blocks keep spaces inside one word, and `k=v` values have their escapes decoded.

use serde_json::{Map, Value};

/// The `k=v` options `command` and `shell` take out of their free-form line; the rest is the command.
const COMMAND_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// The quote a word leaves open, given the one open before it (a quote after a backslash does not count).
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut previous = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && previous != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        previous = Some(c);
    }
    quote
}

/// The depth of a kind of Jinja block after a word: its openings less its closings, never below zero.
fn block_depth(token: &str, depth: usize, open: &str, close: &str) -> usize {
    let (opened, closed) = (token.matches(open).count(), token.matches(close).count());
    if opened == closed {
        depth
    } else {
        (depth + opened).saturating_sub(closed)
    }
}

/// Ansible's `split_args`: words split on spaces and newlines outside quotes and Jinja blocks, quotes kept,
/// runs of spaces and newlines kept inside the words they follow.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    let mut quote: Option<char> = None;
    let (mut print, mut block, mut comment) = (0usize, 0usize, 0usize);
    let lines: Vec<&str> = text.split('\n').collect();
    for (line_index, line) in lines.iter().enumerate() {
        let mut continued = false;
        for (index, token) in line.split(' ').enumerate() {
            if token.is_empty() && index != 0 {
                match params.last_mut() {
                    Some(last) => last.push(' '),
                    None => params.push(" ".into()),
                }
                continue;
            }
            if token == "\\" && quote.is_none() {
                continued = true;
                continue;
            }
            let was_quoted = quote.is_some();
            quote = quote_state(token, quote);
            let quoted = quote.is_some();
            let in_block = print > 0 || block > 0 || comment > 0;
            let mut appended = false;
            if quoted && !was_quoted && !in_block {
                params.push(token.to_string());
                appended = true;
            } else if in_block || quoted || was_quoted {
                let spacer = if index == 0 && was_quoted {
                    ""
                } else if index > 0 {
                    " "
                } else {
                    ""
                };
                match params.last_mut() {
                    Some(last) => {
                        last.push_str(spacer);
                        last.push_str(token);
                    }
                    None => params.push(token.to_string()),
                }
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print, "{{", "}}"),
                (&mut block, "{%", "%}"),
                (&mut comment, "{#", "#}"),
            ] {
                let before = *depth;
                *depth = block_depth(token, before, open, close);
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            let in_block = print > 0 || block > 0 || comment > 0;
            if !in_block && !quoted && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && line_index != lines.len() - 1 && !continued {
            match params.last_mut() {
                Some(last) => last.push('\n'),
                None => params.push("\n".into()),
            }
        }
    }
    if print > 0 || block > 0 || comment > 0 || quote.is_some() {
        return Err(format!(
            "failed at splitting arguments, either an unbalanced jinja2 block or quotes: {text}"
        ));
    }
    Ok(params)
}

/// Ansible's `unquote`: the quotes around a value, when it starts and ends with the same one.
fn unquote(value: &str) -> &str {
    let bytes = value.as_bytes();
    let quoted = bytes.len() > 1
        && bytes[0] == bytes[bytes.len() - 1]
        && matches!(bytes[0], b'"' | b'\'')
        && bytes[bytes.len() - 2] != b'\\';
    if quoted {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// Python's `unicode-escape` decoding of the escapes Ansible decodes in `k=v` words: `\n`, `\t`, `\\`,
/// `\"`, `\'`, `\xHH`, `\uHHHH`, `\UHHHHHHHH` and the other one-letter ones (`\N{name}` is left as written).
fn decode_escapes(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let simple = match chars.peek() {
            Some('\\') => Some('\\'),
            Some('\'') => Some('\''),
            Some('"') => Some('"'),
            Some('a') => Some('\u{7}'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some('v') => Some('\u{b}'),
            _ => None,
        };
        if let Some(decoded) = simple {
            chars.next();
            out.push(decoded);
            continue;
        }
        let width = match chars.peek() {
            Some('x') => 2,
            Some('u') => 4,
            Some('U') => 8,
            _ => 0,
        };
        let hex: String = chars.clone().skip(1).take(width).collect();
        let decoded =
            (width > 0 && hex.len() == width && hex.chars().all(|h| h.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32))
                .flatten();
        match decoded {
            Some(decoded) => {
                for _ in 0..=width {
                    chars.next();
                }
                out.push(decoded);
            }
            None => out.push(c),
        }
    }
    out
}

/// Ansible's `join_args`: words joined by a space, but not after a newline.
fn join_words(words: &[String]) -> String {
    let mut out = String::new();
    for word in words {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Parses a free-form argument string for `module` (Ansible's `parse_kv`; `command`, `shell`, `raw` and
/// `script` keep every word but their options as `_raw_params`).
pub fn parse_free_form(module: &str, text: &str) -> Result<Map<String, Value>, String> {
    let takes_raw = matches!(module, "command" | "shell" | "raw" | "script");
    let mut args = Map::new();
    let mut raw = Vec::new();
    for word in split_words(text)? {
        let decoded = decode_escapes(&word);
        // The first `=` not after a backslash splits the key from the value.
        let split = decoded
            .char_indices()
            .skip(1)
            .find(|(i, c)| *c == '=' && !decoded[..*i].ends_with('\\'))
            .map(|(i, _)| i);
        match split {
            Some(at) if !takes_raw || COMMAND_OPTIONS.contains(&&decoded[..at]) => {
                let (key, value) = (&decoded[..at], &decoded[at + 1..]);
                args.insert(
                    key.trim().to_string(),
                    Value::String(unquote(value.trim()).to_string()),
                );
            }
            Some(_) => raw.push(word),
            None if decoded.contains('=') => raw.push(decoded.replace("\\=", "=")),
            None => raw.push(word),
        }
    }
    if !raw.is_empty() {
        args.insert("_raw_params".into(), Value::String(join_words(&raw)));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_values_keep_quoted_spaces_and_jinja() {
        let args = parse_free_form(
            "debug",
            r#"msg="hello {{ who | default('x y') }}" verbosity=1"#,
        )
        .expect("valid");
        assert_eq!(
            Value::Object(args),
            json!({"msg": "hello {{ who | default('x y') }}", "verbosity": "1"})
        );
    }

    #[test]
    fn command_keeps_its_line_and_takes_out_options() {
        let args =
            parse_free_form("command", "ls -l /tmp chdir=/ creates=/x foo=bar").expect("valid");
        assert_eq!(
            Value::Object(args),
            json!({"chdir": "/", "creates": "/x", "_raw_params": "ls -l /tmp foo=bar"})
        );
        let args = parse_free_form("shell", "echo 'a  b' | wc -c").expect("valid");
        assert_eq!(args["_raw_params"], json!("echo 'a  b' | wc -c"));
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert!(parse_free_form("debug", "msg='oops").is_err());
    }

    #[test]
    fn scripts_keep_their_lines_and_values_their_escapes_decoded() {
        let args = parse_free_form("shell", "for i in 1 2; do\n  echo $i\ndone\n").expect("valid");
        assert_eq!(
            args["_raw_params"],
            json!("for i in 1 2; do\n  echo $i\ndone\n")
        );
        let args = parse_free_form("debug", r#"msg="a\nb" x=\u00e9"#).expect("valid");
        assert_eq!(Value::Object(args), json!({"msg": "a\nb", "x": "é"}));
        let args = parse_free_form("command", r"echo a\=b").expect("valid");
        assert_eq!(args["_raw_params"], json!("echo a=b"));
    }
}
