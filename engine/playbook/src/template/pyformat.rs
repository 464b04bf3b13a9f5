//! Python's printf-style formatting (`'%02d' % n`, `'%(host)s' % vars`, the `format` filter), which Ansible's
//! templates get from Python and Jinja leaves to it. Hand-written: no crate formats with Python's conversions
//! (`%s` of a list is its repr, `%g` drops trailing zeros, `%r`), and playbooks rely on them.

use super::filters::{py_repr, py_str};
use super::invalid;
use minijinja::Error;
use minijinja::value::{Value as JValue, ValueKind};
use std::fmt::Write as _;

/// `format % args`: a sequence gives the arguments in order (Python's tuple; a list as the one argument of a
/// format that takes one), a mapping gives them by `%(name)`, anything else is the single argument.
pub(super) fn percent(format: &str, args: &JValue) -> Result<String, Error> {
    let spec = parse(format)?;
    let wanted = spec
        .iter()
        .filter_map(|p| match p {
            Piece::Conversion(c) => Some(
                1 + usize::from(c.width == Some(Count::Star))
                    + usize::from(c.precision == Some(Count::Star)),
            ),
            Piece::Text(_) => None,
        })
        .sum::<usize>();
    let by_name = spec
        .iter()
        .any(|p| matches!(p, Piece::Conversion(c) if c.key.is_some()));
    let positional: Vec<JValue> = match args.kind() {
        _ if by_name => Vec::new(),
        ValueKind::Seq if wanted != 1 || args.len() == Some(1) => {
            args.try_iter().map(|it| it.collect()).unwrap_or_default()
        }
        _ => vec![args.clone()],
    };
    let mut next = positional.into_iter();
    let mut out = String::new();
    for piece in spec {
        let conversion = match piece {
            Piece::Text(text) => {
                out.push_str(&text);
                continue;
            }
            Piece::Conversion(c) => c,
        };
        let mut take = || {
            next.next()
                .ok_or_else(|| invalid("not enough arguments for format string"))
        };
        let width = match conversion.width {
            Some(Count::Star) => Some(star(&take()?)?),
            Some(Count::Fixed(n)) => Some(n),
            None => None,
        };
        let precision = match conversion.precision {
            Some(Count::Star) => Some(star(&take()?)?.max(0) as usize),
            Some(Count::Fixed(n)) => Some(n.max(0) as usize),
            None => None,
        };
        let value = match &conversion.key {
            Some(key) if args.kind() == ValueKind::Map => {
                let found = args.get_attr(key).unwrap_or_default();
                if found.is_undefined() {
                    return Err(invalid(format!("KeyError: '{key}'")));
                }
                found
            }
            Some(_) => return Err(invalid("format requires a mapping")),
            None if conversion.kind == '%' => JValue::from(()),
            None => take()?,
        };
        let mut flags = conversion.flags.clone();
        let mut width = width;
        if let Some(w) = width.filter(|w| *w < 0) {
            flags.push('-');
            width = Some(-w);
        }
        let body = convert(conversion.kind, &value, &flags, precision)?;
        out.push_str(&pad(
            body,
            &flags,
            width.map(|w| w as usize),
            conversion.kind,
        ));
    }
    if next.next().is_some() {
        return Err(invalid(
            "not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

#[derive(Debug, PartialEq)]
enum Count {
    Fixed(i64),
    Star,
}

#[derive(Debug)]
struct Conversion {
    key: Option<String>,
    flags: String,
    width: Option<Count>,
    precision: Option<Count>,
    kind: char,
}

enum Piece {
    Text(String),
    Conversion(Conversion),
}

fn parse(format: &str) -> Result<Vec<Piece>, Error> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            text.push('%');
            continue;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        let mut key = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let mut depth = 1;
            let mut name = String::new();
            for d in chars.by_ref() {
                match d {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                name.push(d);
            }
            if depth != 0 {
                return Err(invalid("incomplete format key"));
            }
            key = Some(name);
        }
        let mut flags = String::new();
        while let Some(f) = chars.peek().copied().filter(|f| "-+ #0".contains(*f)) {
            flags.push(f);
            chars.next();
        }
        let count = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            if chars.peek() == Some(&'*') {
                chars.next();
                return Some(Count::Star);
            }
            let mut digits = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                digits.push(d);
                chars.next();
            }
            digits.parse().ok().map(Count::Fixed)
        };
        let width = count(&mut chars);
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            Some(count(&mut chars).unwrap_or(Count::Fixed(0)))
        } else {
            None
        };
        // Length modifiers are accepted and ignored, as in Python.
        while chars.peek().is_some_and(|m| "hlL".contains(*m)) {
            chars.next();
        }
        let kind = chars.next().ok_or_else(|| invalid("incomplete format"))?;
        if !"sradiuoxXeEfFgGc%".contains(kind) {
            return Err(invalid(format!(
                "unsupported format character '{kind}' (0x{:x})",
                kind as u32
            )));
        }
        pieces.push(Piece::Conversion(Conversion {
            key,
            flags,
            width,
            precision,
            kind,
        }));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn star(value: &JValue) -> Result<i64, Error> {
    value
        .as_i64()
        .filter(|_| value.is_integer())
        .ok_or_else(|| invalid("* wants int"))
}

pub(super) fn type_name(value: &JValue) -> &'static str {
    if super::is_omit(value) {
        return "_OmitType";
    }
    match value.kind() {
        ValueKind::String => "str",
        ValueKind::None | ValueKind::Undefined => "NoneType",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        _ => match value.downcast_object_ref::<super::time::Moment>() {
            Some(moment) => moment.type_name(),
            None if value
                .downcast_object_ref::<super::timedelta::TimeDelta>()
                .is_some() =>
            {
                "timedelta"
            }
            None => "object",
        },
    }
}

/// One conversion's text before padding.
fn convert(
    kind: char,
    value: &JValue,
    flags: &str,
    precision: Option<usize>,
) -> Result<String, Error> {
    let sign = |negative: bool| {
        if negative {
            "-"
        } else if flags.contains('+') {
            "+"
        } else if flags.contains(' ') {
            " "
        } else {
            ""
        }
    };
    Ok(match kind {
        '%' => "%".into(),
        's' | 'r' | 'a' => {
            let text = if kind == 's' {
                py_str(value)
            } else {
                py_repr(value)
            };
            match precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            }
        }
        'c' => match value.kind() {
            ValueKind::String if value.as_str().is_some_and(|s| s.chars().count() == 1) => {
                py_str(value)
            }
            ValueKind::Number if value.is_integer() => value
                .as_i64()
                .and_then(|n| u32::try_from(n).ok())
                .and_then(char::from_u32)
                .map(String::from)
                .ok_or_else(|| invalid("%c arg not in range(0x110000)"))?,
            _ => return Err(invalid("%c requires an int or a unicode character")),
        },
        'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
            let n: i128 = match value.kind() {
                ValueKind::Bool => i128::from(value.is_true()),
                ValueKind::Number if value.is_integer() => {
                    i128::try_from(value.clone()).map_err(|_| invalid("integer out of range"))?
                }
                ValueKind::Number if "diu".contains(kind) => {
                    f64::try_from(value.clone()).map_or(0, |f| f.trunc() as i128)
                }
                ValueKind::Number => {
                    return Err(invalid(format!(
                        "%{kind} format: an integer is required, not float"
                    )));
                }
                _ if "diu".contains(kind) => {
                    return Err(invalid(format!(
                        "%{kind} format: a real number is required, not {}",
                        type_name(value)
                    )));
                }
                _ => {
                    return Err(invalid(format!(
                        "%{kind} format: an integer is required, not {}",
                        type_name(value)
                    )));
                }
            };
            let magnitude = n.unsigned_abs();
            let mut digits = match kind {
                'x' => format!("{magnitude:x}"),
                'X' => format!("{magnitude:X}"),
                'o' => format!("{magnitude:o}"),
                _ => magnitude.to_string(),
            };
            if let Some(p) = precision {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            let prefix = match kind {
                'x' if flags.contains('#') => "0x",
                'X' if flags.contains('#') => "0X",
                'o' if flags.contains('#') => "0o",
                _ => "",
            };
            format!("{}{prefix}{digits}", sign(n < 0))
        }
        _ => {
            let f: f64 = match value.kind() {
                ValueKind::Number => f64::try_from(value.clone()).unwrap_or(0.0),
                ValueKind::Bool => f64::from(u8::from(value.is_true())),
                _ => {
                    return Err(invalid(format!(
                        "must be real number, not {}",
                        type_name(value)
                    )));
                }
            };
            let body = float(kind, f.abs(), precision.unwrap_or(6), flags.contains('#'));
            format!("{}{body}", sign(f.is_sign_negative() && !f.is_nan()))
        }
    })
}

/// A non-negative float as `%f`, `%e` or `%g` (and their capitals) write it.
fn float(kind: char, f: f64, precision: usize, alternate: bool) -> String {
    let upper = kind.is_ascii_uppercase();
    let text = if f.is_nan() {
        "nan".to_string()
    } else if f.is_infinite() {
        "inf".to_string()
    } else {
        match kind.to_ascii_lowercase() {
            'f' => format!("{f:.precision$}"),
            'e' => exponent(f, precision),
            _ => {
                let p = precision.max(1);
                // The exponent the number has once rounded to `p` significant digits.
                let rounded = exponent(f, p - 1);
                let exp: i32 = rounded
                    .rsplit_once('e')
                    .and_then(|(_, e)| e.parse().ok())
                    .unwrap_or(0);
                let text = if -4 <= exp && exp < p as i32 {
                    let decimals = (p as i32 - 1 - exp).max(0) as usize;
                    format!("{f:.decimals$}")
                } else {
                    rounded
                };
                if alternate { text } else { strip_zeros(&text) }
            }
        }
    };
    let text = if alternate && !text.contains('.') && !kind.eq_ignore_ascii_case(&'g') {
        match text.split_once('e') {
            Some((m, e)) => format!("{m}.e{e}"),
            None if f.is_finite() => format!("{text}."),
            None => text,
        }
    } else {
        text
    };
    if upper { text.to_uppercase() } else { text }
}

/// `%.{precision}e`: Rust's mantissa with Python's signed, two-digit exponent.
fn exponent(f: f64, precision: usize) -> String {
    let rust = format!("{f:.precision$e}");
    let (mantissa, exp) = rust.split_once('e').unwrap_or((&rust, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut out = String::from(mantissa);
    let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    out
}

/// `%g` without `#` drops the fraction's trailing zeros and a bare point.
fn strip_zeros(text: &str) -> String {
    let (mantissa, exp) = match text.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (text, None),
    };
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    match exp {
        Some(e) => format!("{mantissa}e{e}"),
        None => mantissa.to_string(),
    }
}

/// Width: `-` pads on the right; `0` pads numbers with zeros after the sign and prefix.
fn pad(body: String, flags: &str, width: Option<usize>, kind: char) -> String {
    let Some(width) = width else { return body };
    let len = body.chars().count();
    if len >= width {
        return body;
    }
    let fill = width - len;
    if flags.contains('-') {
        return format!("{body}{}", " ".repeat(fill));
    }
    let numeric = "diuxXoeEfFgG".contains(kind);
    if flags.contains('0') && numeric && !body.ends_with("inf") && !body.ends_with("nan") {
        let sign_len = body.chars().take_while(|c| "+- ".contains(*c)).count();
        let prefix_len = if body[sign_len..].starts_with("0x")
            || body[sign_len..].starts_with("0X")
            || body[sign_len..].starts_with("0o")
        {
            2
        } else {
            0
        };
        let (head, tail) = body.split_at(sign_len + prefix_len);
        return format!("{head}{}{tail}", "0".repeat(fill));
    }
    format!("{}{body}", " ".repeat(fill))
}

#[cfg(test)]
mod unit {
    use super::*;

    fn fmt(format: &str, args: JValue) -> String {
        percent(format, &args).unwrap_or_else(|e| format!("error: {e}"))
    }

    // Each expected value is what CPython 3.11 gives.
    #[test]
    fn pythons_conversions() {
        assert_eq!(fmt("%02d", JValue::from(7)), "07");
        assert_eq!(fmt("%s-%s", JValue::from(vec![1, 2])), "1-2");
        assert_eq!(fmt("%s", JValue::from(vec![1, 2])), "[1, 2]");
        assert_eq!(
            fmt(
                "%5.2f|%-6s|%+d",
                JValue::from(vec![
                    JValue::from(1.23456),
                    JValue::from("ab"),
                    JValue::from(4)
                ])
            ),
            " 1.23|ab    |+4"
        );
        assert_eq!(
            fmt("%x %X %#o %#x", JValue::from(vec![255, 255, 8, 255])),
            "ff FF 0o10 0xff"
        );
        assert_eq!(fmt("%r %%", JValue::from("q")), "'q' %");
        assert_eq!(
            fmt(
                "%g %g %g %g",
                JValue::from(vec![
                    JValue::from(0.0001),
                    JValue::from(123456789.0),
                    JValue::from(1.5),
                    JValue::from(100.0)
                ])
            ),
            "0.0001 1.23457e+08 1.5 100"
        );
        assert_eq!(fmt("%.3e", JValue::from(12345.678)), "1.235e+04");
        assert_eq!(fmt("%08.3f", JValue::from(-1.23456)), "-001.235");
        assert_eq!(
            fmt("%(a)s=%(b)03d", minijinja::context! { a => "k", b => 5 }),
            "k=005"
        );
        assert_eq!(fmt("%*d", JValue::from(vec![4, 7])), "   7");
        assert_eq!(
            fmt("%d", JValue::from("x")),
            "error: invalid operation: %d format: a real number is required, not str"
        );
        assert_eq!(
            fmt("%s %s", JValue::from(vec![1])),
            "error: invalid operation: not enough arguments for format string"
        );
        assert_eq!(fmt("%d", JValue::from(2.9)), "2");
        assert_eq!(
            fmt(
                "%c%c",
                JValue::from(vec![JValue::from(65), JValue::from("b")])
            ),
            "Ab"
        );
    }
}
