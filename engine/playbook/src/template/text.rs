//! Ansible's text filters: `quote` (Python's `shlex.quote`), `comment`, `human_readable` and `human_to_bytes`.

use super::filters::{flag, parse_py_float, py_str};
use super::invalid;
use minijinja::value::{Kwargs, Value as JValue};
use minijinja::{Environment, Error, State};
use regex::Regex;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("quote", |v: JValue| {
        shell_quote(&if v.is_none() {
            String::new()
        } else {
            py_str(&v)
        })
    });
    env.add_filter("comment", comment);
    env.add_filter("human_readable", human_readable);
    env.add_filter("human_to_bytes", human_to_bytes);
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
