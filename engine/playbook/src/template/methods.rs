//! Python's methods on strings, lists and dicts (`x.split(',')`, `d.items()`, `s.startswith('a')`), which
//! Ansible's templates call because its Jinja runs on Python: minijinja-contrib's pycompat gives most; the few
//! playbooks also use that it lacks are here.

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Error, ErrorKind, State};

pub(super) fn call(
    state: &mut State,
    value: &JValue,
    method: &str,
    args: &[JValue],
) -> Result<JValue, Error> {
    if let Some(text) = value.as_str()
        && let Some(result) = string_method(text, method, args)?
    {
        return Ok(result);
    }
    if value.kind() == ValueKind::Seq && method == "index" {
        let wanted = args.first().cloned().unwrap_or_default();
        let items: Vec<JValue> = value.try_iter()?.collect();
        return items
            .iter()
            .position(|v| *v == wanted)
            .map(JValue::from)
            .ok_or_else(|| {
                super::invalid(format!(
                    "{} is not in list",
                    super::filters::py_repr(&wanted)
                ))
            });
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

fn string_method(text: &str, method: &str, args: &[JValue]) -> Result<Option<JValue>, Error> {
    let width = || -> Result<usize, Error> {
        args.first()
            .and_then(|w| w.as_i64())
            .map(|w| w.max(0) as usize)
            .ok_or_else(|| Error::new(ErrorKind::MissingArgument, "a width is required"))
    };
    let fill = || -> char {
        args.get(1)
            .and_then(|f| f.as_str())
            .and_then(|f| f.chars().next())
            .unwrap_or(' ')
    };
    let len = text.chars().count();
    Ok(Some(match method {
        "swapcase" => JValue::from(
            text.chars()
                .map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<String>()
                    } else {
                        c.to_uppercase().collect::<String>()
                    }
                })
                .collect::<String>(),
        ),
        "center" => JValue::from(super::text::center(text, width()?, fill())),
        "ljust" => JValue::from(format!(
            "{text}{}",
            fill().to_string().repeat(width()?.saturating_sub(len))
        )),
        "rjust" => JValue::from(format!(
            "{}{text}",
            fill().to_string().repeat(width()?.saturating_sub(len))
        )),
        "zfill" => {
            let pad = width()?.saturating_sub(len);
            let (sign, digits) = match text.strip_prefix(['-', '+']) {
                Some(rest) => (&text[..1], rest),
                None => ("", text),
            };
            JValue::from(format!("{sign}{}{digits}", "0".repeat(pad)))
        }
        "index" | "rindex" => {
            let needle = args.first().and_then(|n| n.as_str()).unwrap_or_default();
            let found = if method == "index" {
                text.find(needle)
            } else {
                text.rfind(needle)
            };
            match found {
                Some(byte) => JValue::from(text[..byte].chars().count()),
                None => return Err(super::invalid("substring not found")),
            }
        }
        "partition" | "rpartition" => {
            let sep = args.first().and_then(|n| n.as_str()).unwrap_or_default();
            let found = if method == "partition" {
                text.find(sep)
            } else {
                text.rfind(sep)
            };
            let parts = match found {
                Some(at) => [&text[..at], sep, &text[at + sep.len()..]],
                None if method == "partition" => [text, "", ""],
                None => ["", "", text],
            };
            JValue::from(parts.iter().map(|p| JValue::from(*p)).collect::<Vec<_>>())
        }
        "rsplit" => {
            let sep = args.first().and_then(|s| s.as_str());
            let max = args.get(1).and_then(|m| m.as_i64()).unwrap_or(-1);
            let mut parts: Vec<String> = match sep {
                Some(sep) if max >= 0 => text
                    .rsplitn(max as usize + 1, sep)
                    .map(str::to_string)
                    .collect(),
                Some(sep) => text.rsplit(sep).map(str::to_string).collect(),
                None => {
                    let words: Vec<&str> = text.split_whitespace().collect();
                    let keep = if max >= 0 {
                        (max as usize).min(words.len())
                    } else {
                        words.len()
                    };
                    let head = words.len() - keep;
                    let mut out: Vec<String> =
                        words[head..].iter().rev().map(|w| w.to_string()).collect();
                    if head > 0 {
                        let end = text.trim_end();
                        // The unsplit head keeps its inner spacing, as Python's does.
                        let mut cut = end.len();
                        for _ in 0..keep {
                            cut = end[..cut]
                                .trim_end()
                                .rfind(char::is_whitespace)
                                .unwrap_or(0);
                        }
                        out.push(end[..cut].trim_end().to_string());
                    }
                    out
                }
            };
            parts.reverse();
            JValue::from(parts.into_iter().map(JValue::from).collect::<Vec<_>>())
        }
        "casefold" => JValue::from(text.to_lowercase()),
        _ => return Ok(None),
    }))
}
