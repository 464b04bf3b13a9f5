//! Ansible's free-form arguments: `msg="hi there" verbosity=1`, and for `command`/`shell` the command line with
//! only a few `k=v` options taken out. Hand-written because it follows Ansible's splitter: quotes and `{{ }}`
//! blocks keep spaces inside one word.

use serde_json::{Map, Value};

/// The `k=v` options `command` and `shell` take out of their free-form line; the rest is the command.
const COMMAND_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// Splits on spaces that are outside quotes and Jinja blocks, keeping quotes in the words.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote.is_some() => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            '\'' | '"' if depth == 0 => {
                match quote {
                    None => quote = Some(c),
                    Some(q) if q == c => quote = None,
                    Some(_) => {}
                }
                current.push(c);
            }
            '{' if matches!(chars.peek(), Some('{' | '%' | '#')) => {
                depth += 1;
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            '}' | '%' | '#' if depth > 0 && chars.peek() == Some(&'}') => {
                depth -= 1;
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            c if c.is_whitespace() && quote.is_none() && depth == 0 => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if let Some(q) = quote {
        return Err(format!("unbalanced quote ({q}) in arguments: {text}"));
    }
    if depth > 0 {
        return Err(format!("unbalanced Jinja block in arguments: {text}"));
    }
    if !current.is_empty() {
        words.push(current);
    }
    Ok(words)
}

fn unquote(value: &str) -> String {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            let inner = &value[1..value.len() - 1];
            return inner.replace(&format!("\\{q}"), &q.to_string());
        }
    }
    value.to_string()
}

fn as_option(word: &str) -> Option<(&str, &str)> {
    let (key, value) = word.split_once('=')?;
    let is_name = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    is_name.then_some((key, value))
}

/// Parses a free-form argument string for `module`.
pub fn parse_free_form(module: &str, text: &str) -> Result<Map<String, Value>, String> {
    let words = split_words(text)?;
    let mut args = Map::new();
    let takes_raw = matches!(module, "command" | "shell" | "raw" | "script");
    let mut raw = Vec::new();
    for word in &words {
        match as_option(word) {
            Some((key, value)) if !takes_raw || COMMAND_OPTIONS.contains(&key) => {
                args.insert(key.to_string(), Value::String(unquote(value)));
            }
            _ => raw.push(word.as_str()),
        }
    }
    if !raw.is_empty() {
        args.insert("_raw_params".into(), Value::String(raw.join(" ")));
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
}
