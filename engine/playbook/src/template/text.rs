//! Ansible's text filters: `quote` (Python's `shlex.quote`), `comment`, `human_readable` and `human_to_bytes`.

use super::filters::{flag, parse_py_float, py_str};
use super::invalid;
use minijinja::value::{Kwargs, Value as JValue};
use minijinja::{Environment, Error, State};
use regex::Regex;

pub(super) fn register(env: &mut Environment<'static>) {
    super::add_filter(env, "quote", |v: JValue| {
        shell_quote(&if v.is_none() {
            String::new()
        } else {
            py_str(&v)
        })
    });
    super::add_filter(env, "comment", comment);
    super::add_filter(env, "human_readable", human_readable);
    super::add_filter(env, "human_to_bytes", human_to_bytes);
    // Jinja's own, which minijinja leaves to its contrib crate.
    super::add_filter(env, "truncate", truncate);
    super::add_filter(env, "wordwrap", wordwrap);
    super::add_filter(env, "wordcount", minijinja_contrib::filters::wordcount);
    super::add_filter(env, "striptags", minijinja_contrib::filters::striptags);
    super::add_filter(
        env,
        "filesizeformat",
        minijinja_contrib::filters::filesizeformat,
    );
    // Jinja's markupsafe escaping, whatever the value.
    super::add_filter(env, "forceescape", |v: JValue| {
        py_str(&v)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;")
    });
    super::add_filter(env, "center", |v: JValue, width: Option<usize>| {
        center(&py_str(&v), width.unwrap_or(80), ' ')
    });
    super::add_filter(env, "urldecode", |v: JValue| -> String {
        let text = py_str(&v).replace('+', " ");
        percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned()
    });
    super::add_filter(env, "urlsplit", urlsplit);
}

/// Python's `str.center(width, fill)` (Jinja's `center` filter and the method): the odd fill character
/// goes where CPython's `pad` puts it.
pub(super) fn center(text: &str, width: usize, fill: char) -> String {
    let total = width.saturating_sub(text.chars().count());
    let left = total / 2 + (total & width & 1);
    let fill = fill.to_string();
    format!("{}{text}{}", fill.repeat(left), fill.repeat(total - left))
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`: text within `length + leeway`
/// characters stays whole; else it is cut at a word boundary (or anywhere with `killwords`) and `end` added.
fn truncate(
    s: String,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    leeway: Option<usize>,
) -> Result<String, Error> {
    let length = length.unwrap_or(255);
    let end = end.unwrap_or_else(|| "...".into());
    let leeway = leeway.unwrap_or(5);
    let chars: Vec<char> = s.chars().collect();
    let end_len = end.chars().count();
    if length < end_len {
        return Err(invalid(format!(
            "expected length >= {end_len}, got {length}"
        )));
    }
    if chars.len() <= length + leeway {
        return Ok(s);
    }
    let head: String = chars[..length - end_len].iter().collect();
    if killwords.unwrap_or(false) {
        return Ok(head + &end);
    }
    let cut = head
        .rsplit_once(' ')
        .map_or(head.as_str(), |(before, _)| before);
    Ok(format!("{cut}{end}"))
}

/// Jinja's `wordwrap(width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True)`: each line
/// wrapped as Python's `textwrap` does, the pieces joined with `wrapstring` (a newline).
fn wordwrap(
    s: String,
    width: Option<usize>,
    break_long_words: Option<bool>,
    wrapstring: Option<String>,
    break_on_hyphens: Option<bool>,
) -> String {
    let wrapstring = wrapstring.unwrap_or_else(|| "\n".into());
    let splitter = if break_on_hyphens.unwrap_or(true) {
        textwrap::WordSplitter::HyphenSplitter
    } else {
        textwrap::WordSplitter::NoHyphenation
    };
    let options = textwrap::Options::new(width.unwrap_or(79))
        .break_words(break_long_words.unwrap_or(true))
        .word_splitter(splitter);
    s.lines()
        .map(|line| {
            textwrap::wrap(line, &options)
                .into_iter()
                .map(|piece| piece.into_owned())
                .collect::<Vec<_>>()
                .join(&wrapstring)
        })
        .collect::<Vec<_>>()
        .join(&wrapstring)
}

/// The parts of a URL as Python's `urllib.parse.urlsplit` gives them.
pub(super) struct UrlParts {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

/// Python's `urlsplit`, whose leniency playbooks rely on (no validation; a scheme only where one can be).
pub(super) fn url_parts(url: &str) -> UrlParts {
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = url.as_str();
    let mut scheme = String::new();
    if let Some(i) = rest.find(':')
        && i > 0
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && rest[..i]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        scheme = rest[..i].to_ascii_lowercase();
        rest = &rest[i + 1..];
    }
    let mut netloc = String::new();
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = after[..end].to_string();
        rest = &after[end..];
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    UrlParts {
        scheme,
        netloc,
        path: path.to_string(),
        query: query.to_string(),
        fragment: fragment.to_string(),
    }
}

/// `urlsplit(url, query='')`: the parts of a URL as a mapping, or the one named.
fn urlsplit(v: JValue, query: Option<String>) -> Result<JValue, Error> {
    let parts = url_parts(&py_str(&v));
    let (userinfo, hostport) = match parts.netloc.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, parts.netloc.as_str()),
    };
    let (username, password) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((u, p)) => (JValue::from(u), JValue::from(p)),
            None => (JValue::from(info), JValue::from(())),
        },
        None => (JValue::from(()), JValue::from(())),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => (v6, None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let port =
        match port.filter(|p| !p.is_empty()) {
            Some(p) => JValue::from(p.parse::<u16>().map_err(|_| {
                invalid(format!("Port could not be cast to integer value as '{p}'"))
            })?),
            None => JValue::from(()),
        };
    let hostname = if host.is_empty() {
        JValue::from(())
    } else {
        JValue::from(host.to_lowercase())
    };
    let all = minijinja::context! {
        fragment => parts.fragment,
        hostname => hostname,
        netloc => parts.netloc,
        password => password,
        path => parts.path,
        port => port,
        query => parts.query,
        scheme => parts.scheme,
        username => username,
    };
    match query.filter(|q| !q.is_empty()) {
        None => Ok(all),
        Some(q) => {
            let found = all.get_attr(&q)?;
            if found.is_undefined() {
                Err(invalid(format!("urlsplit: unknown URL component: {q}")))
            } else {
                Ok(found)
            }
        }
    }
}

/// Python's `shlex.quote`.
pub(super) fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn comment(text: String, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let style = style.unwrap_or_else(|| "plain".into());
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(invalid(format!(
                "Invalid style '{other}'. Available styles: plain, erlang, c, cblock, xml"
            )));
        }
    };
    let get = |name: &str, default: &str| -> Result<String, Error> {
        Ok(kwargs
            .get::<Option<JValue>>(name)?
            .map_or_else(|| default.to_string(), |v| py_str(&v)))
    };
    let prepostfix = get("decoration", decoration)?;
    let prepostfix = prepostfix.trim_end();
    let newline = get("newline", "\n")?;
    let beginning = get("beginning", beginning)?;
    let prefix = get("prefix", prepostfix)?;
    let prefix_count: usize = kwargs.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let decoration = get("decoration", decoration)?;
    let postfix = get("postfix", prepostfix)?;
    let postfix_count: usize = kwargs.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    let end = get("end", end)?;
    kwargs.assert_all_used()?;

    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        let one = if prefix == newline {
            newline.clone()
        } else {
            format!("{prefix}{newline}")
        };
        out.push_str(&one.repeat(prefix_count));
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    out.push_str(&body.replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    ));
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(out)
}

const SIZE_UNITS: [&str; 9] = ["", "K", "M", "G", "T", "P", "E", "Z", "Y"];

/// `human_readable(isbits=False, unit=None)`: `1.00 KB`, `976.56 Kb`.
fn human_readable(state: &State, v: JValue, kwargs: Kwargs) -> Result<String, Error> {
    let _ = state;
    let isbits = flag(&kwargs, "isbits")?;
    let unit: Option<String> = kwargs.get("unit")?;
    kwargs.assert_all_used()?;
    let size = match v.as_str() {
        Some(s) => parse_py_float(s),
        None => f64::try_from(v.clone()).ok(),
    }
    .ok_or_else(|| {
        invalid(format!(
            "human_readable() can't interpret following string: {v}"
        ))
    })?;
    let suffix = if isbits { "b" } else { "B" };
    let wanted = unit
        .as_deref()
        .and_then(|u| u.chars().next())
        .map(|c| c.to_ascii_uppercase().to_string());
    let mut chosen = 0;
    for (i, prefix) in SIZE_UNITS.iter().enumerate().rev() {
        let limit = 2f64.powi(10 * i as i32);
        let matches = match &wanted {
            Some(w) => w == prefix || (prefix.is_empty() && w == "B"),
            None => size >= limit,
        };
        if matches {
            chosen = i;
            break;
        }
    }
    let value = size / 2f64.powi(10 * chosen as i32);
    let name = match chosen {
        0 if isbits => "bits".to_string(),
        0 => "Bytes".to_string(),
        i => format!("{}{suffix}", SIZE_UNITS[i]),
    };
    Ok(format!("{value:.2} {name}"))
}

/// `human_to_bytes(default_unit=None, isbits=False)`: `'1.5M'` is 1572864; `MB`/`K` for bytes, `Mb` for bits.
fn human_to_bytes(v: JValue, default_unit: Option<String>, kwargs: Kwargs) -> Result<i64, Error> {
    let isbits = flag(&kwargs, "isbits")?;
    let default_unit = match default_unit {
        Some(u) => Some(u),
        None => kwargs.get("default_unit")?,
    };
    kwargs.assert_all_used()?;
    let text = py_str(&v);
    human_bytes(&text, default_unit, isbits)
        .map_err(|why| invalid(format!("human_to_bytes() can't interpret the input: {why}")))
}

fn human_bytes(text: &str, default_unit: Option<String>, isbits: bool) -> Result<i64, String> {
    let re = Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").map_err(|e| e.to_string())?;
    let caps = re
        .captures(text)
        .ok_or_else(|| format!("human_to_bytes() can't interpret following string: {text}"))?;
    let num: f64 = caps[1].parse().map_err(|_| {
        format!(
            "human_to_bytes() can't interpret following number: {}",
            &caps[1]
        )
    })?;
    let Some(unit) = caps.get(2).map(|m| m.as_str().to_string()).or(default_unit) else {
        return Ok(num.round() as i64);
    };
    let key = unit
        .chars()
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or('B');
    let power = match key {
        'B' => 0,
        k => SIZE_UNITS
            .iter()
            .position(|u| u.starts_with(k))
            .ok_or_else(|| format!("human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"))?,
    };
    if unit.chars().count() > 1 {
        let (class, class_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
        let expect = if key == 'B' {
            format!("expect {class} or {class_name}")
        } else {
            format!("expect {key}{class} or {key}")
        };
        let names = [
            "byte", "kilo", "mega", "giga", "tera", "peta", "exa", "zeta", "yotta",
        ];
        let long = if key == 'B' {
            class_name.to_string()
        } else {
            format!("{}{class_name}", names[power])
        };
        if unit.to_lowercase() != long
            && unit
                != format!("{key}{class}")
                    .replace("BB", "B")
                    .replace("Bb", "b")
        {
            return Err(format!(
                "human_to_bytes() failed to convert {text}. Value is not a valid string ({expect})"
            ));
        }
    }
    Ok((num * 2f64.powi(10 * power as i32)).round() as i64)
}
