//! Python values that JSON has no place for, as Ansible's YAML reader gives them: mapping keys that are
//! numbers, booleans or `None` (`{80: http}`), infinite and not-a-number floats (`.inf`, `.nan`), dates and
//! datetimes (`2001-12-14`, `2001-12-14 21:59:43.10 -5`).
//!
//! Variables are kept as `serde_json` values, so these travel marked, as `!unsafe` strings do (see
//! `template::UNSAFE_KEY`): a typed key is its JSON text after a NUL (which no YAML plain scalar holds), a
//! float or a date is a one-entry object under a marker key. Templates see them as Python's values again
//! (`template::vars_to_jinja`); what leaves the controller gets what Python's JSON writes: output through
//! `pyjson`, module arguments through [`plain`].

use serde_json::{Map, Number, Value, json};
use std::borrow::Cow;

/// What starts the text of a mapping key that is not a string.
const KEY_MARK: char = '\0';

/// The marker key of an infinite or not-a-number float: `{"__playbook_float": "inf"}` (or `-inf`, `nan`).
pub const FLOAT_KEY: &str = "__playbook_float";

/// The marker key of a date or datetime, in ISO 8601 (`{"__playbook_datetime": "2001-12-14T21:59:43.100000"}`).
pub const DATE_KEY: &str = "__playbook_date";

/// The marker key of a datetime (see [`DATE_KEY`]).
pub const DATETIME_KEY: &str = "__playbook_datetime";

/// The text that keeps a mapping key in a JSON object: a string as itself, anything else marked.
pub fn key(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        other => format!("{KEY_MARK}{other}"),
    }
}

/// The key a JSON object's key text stands for: a marked key as its value, any other as a string.
pub fn key_value(text: &str) -> Value {
    text.strip_prefix(KEY_MARK)
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// Whether a key's text stands for something other than a string.
pub fn is_typed_key(text: &str) -> bool {
    text.starts_with(KEY_MARK)
}

/// A key as Python's `json.dumps` writes it: `80`, `1.5`, `true`, `null` for `None`, `Infinity`, a date in
/// ISO form.
pub fn json_key(text: &str) -> Cow<'_, str> {
    let Some(json) = text.strip_prefix(KEY_MARK) else {
        return Cow::Borrowed(text);
    };
    let value = key_value(text);
    match json_scalar(&value) {
        Some(scalar) => Cow::Owned(scalar.trim_matches('"').to_string()),
        None => Cow::Borrowed(json),
    }
}

/// A key as Python's `repr()` writes it inside a mapping: `80`, `True`, `None`, `inf`, `'name'`.
pub fn repr_key(text: &str) -> Option<String> {
    text.strip_prefix(KEY_MARK)?;
    let value = key_value(text);
    Some(match &value {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        other => repr_scalar(other).unwrap_or_else(|| other.to_string()),
    })
}

/// The marker key of an integer beyond 64 bits, in decimal: `{"__playbook_int": "18446744073709551616"}`.
pub const INT_KEY: &str = "__playbook_int";

/// An integer as a JSON value: a number, or marked when beyond 64 bits.
pub fn int(i: i128) -> Value {
    if let Ok(small) = i64::try_from(i) {
        Value::from(small)
    } else if let Ok(unsigned) = u64::try_from(i) {
        Value::from(unsigned)
    } else {
        json!({ INT_KEY: i.to_string() })
    }
}

/// The integer a marked value stands for.
pub fn big_int(value: &Value) -> Option<i128> {
    marked(value, INT_KEY)?.parse().ok()
}

/// Whether two keys are equal as Python's are: the same, or numbers and booleans of equal value (`1`, `1.0`
/// and `True`).
pub fn python_equal(a: &Value, b: &Value) -> bool {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Sorts mapping entries as PyYAML's `sorted()` of the keys does where Python can compare them all: strings
/// with strings, numbers and booleans with each other; a mix it cannot compare keeps its order.
pub fn sort_keys<V>(entries: &mut Vec<(&String, V)>) {
    if entries.iter().all(|(k, _)| !is_typed_key(k)) {
        entries.sort_by(|a, b| a.0.cmp(b.0));
        return;
    }
    let numbers = entries
        .iter()
        .map(|(k, _)| match key_value(k) {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(f64::from(u8::from(b))),
            other => special_float(&other),
        })
        .collect::<Option<Vec<f64>>>();
    if let Some(numbers) = numbers {
        let mut keyed: Vec<_> = numbers.into_iter().zip(entries.drain(..)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        entries.extend(keyed.into_iter().map(|(_, e)| e));
    }
}

/// A float as a JSON value: a number, or marked when JSON cannot hold it.
pub fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(
        || {
            let text = if f.is_nan() {
                "nan"
            } else if f > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            json!({ FLOAT_KEY: text })
        },
        Value::Number,
    )
}

/// The float a marked value stands for.
pub fn special_float(value: &Value) -> Option<f64> {
    match marked(value, FLOAT_KEY)? {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    }
}

/// Whether a value is a float or date kept marked: a scalar, though held as an object.
pub fn is_marked_scalar(value: &Value) -> bool {
    special_float(value).is_some() || big_int(value).is_some() || Stamp::from_json(value).is_some()
}

/// The text under a one-entry marker object.
fn marked<'v>(value: &'v Value, marker: &str) -> Option<&'v str> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(marker)?.as_str(),
        _ => None,
    }
}

/// A time of day with its UTC offset, if it has one (a naive datetime has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay {
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub microsecond: u32,
    /// Seconds east of UTC.
    pub offset: Option<i32>,
}

/// Python's `datetime.date` (no time) or `datetime.datetime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub time: Option<TimeOfDay>,
}

/// YAML 1.1's implicit timestamp, as PyYAML resolves it.
static TIMESTAMP: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"^(?:(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})|(?P<Y>[0-9]{4})-(?P<M>[0-9]{1,2})-(?P<D>[0-9]{1,2})(?:[Tt]|[ \t]+)(?P<h>[0-9]{1,2}):(?P<min>[0-9]{2}):(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]*))?(?:[ \t]*(?P<tz>Z|(?P<sign>[-+])(?P<th>[0-9]{1,2})(?::(?P<tm>[0-9]{2}))?))?)$",
    )
    .ok()
});

impl Stamp {
    /// A plain YAML scalar read as PyYAML does: `None` if it is not a timestamp or names no real day or time
    /// (see [`Stamp::parse_yaml`]).
    pub fn from_yaml(text: &str) -> Option<Stamp> {
        Stamp::parse_yaml(text)?.ok()
    }

    /// A plain YAML scalar read as PyYAML does: `None` if it is not a timestamp, Python's `ValueError`
    /// message if it looks like one but names no real day or time (`2001-02-30`), which stops the load.
    pub fn parse_yaml(text: &str) -> Option<Result<Stamp, String>> {
        Stamp::fields(text).map(|stamp| stamp.validate().map(|()| stamp))
    }

    fn fields(text: &str) -> Option<Stamp> {
        let found = TIMESTAMP.as_ref()?.captures(text)?;
        let number = |name: &str| -> Option<u32> { found.name(name)?.as_str().parse().ok() };
        let stamp = if found.name("y").is_some() {
            Stamp {
                year: number("y")? as i32,
                month: number("m")?,
                day: number("d")?,
                time: None,
            }
        } else {
            // PyYAML keeps six digits of the fraction, padding shorter ones.
            let fraction = found.name("f").map_or("", |f| f.as_str());
            let digits: String = fraction.chars().chain("000000".chars()).take(6).collect();
            let offset = match found.name("tz").map(|m| m.as_str()) {
                None => None,
                Some("Z") => Some(0),
                Some(_) => {
                    let minutes =
                        number("th")? * 60 + found.name("tm").map_or(Some(0), |_| number("tm"))?;
                    let sign = if found.name("sign")?.as_str() == "-" {
                        -1
                    } else {
                        1
                    };
                    Some(sign * minutes as i32 * 60)
                }
            };
            Stamp {
                year: number("Y")? as i32,
                month: number("M")?,
                day: number("D")?,
                time: Some(TimeOfDay {
                    hour: number("h")?,
                    minute: number("min")?,
                    second: number("s")?,
                    microsecond: digits.parse().ok()?,
                    offset,
                }),
            }
        };
        Some(stamp)
    }

    /// Whether Python's `datetime` takes the fields, in its words when it does not.
    fn validate(&self) -> Result<(), String> {
        let leap = self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0);
        let days = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err("month must be in 1..12".into()),
        };
        if self.year < 1 {
            return Err(format!("year {} is out of range", self.year));
        }
        if !(1..=days).contains(&self.day) {
            return Err("day is out of range for month".into());
        }
        let Some(t) = self.time else { return Ok(()) };
        let checks = [
            (t.hour < 24, "hour must be in 0..23"),
            (t.minute < 60, "minute must be in 0..59"),
            (t.second < 60, "second must be in 0..59"),
            (
                t.offset.is_none_or(|o| o.abs() < 24 * 3600),
                "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err((*why).to_string()),
            None => Ok(()),
        }
    }

    /// Python's `isoformat(sep)`: `2001-12-14`, `2001-12-14T21:59:43.100000-05:00`.
    pub fn isoformat(&self, sep: char) -> String {
        let date = format!("{:04}-{:02}-{:02}", self.year, self.month, self.day);
        let Some(t) = self.time else { return date };
        let mut out = format!("{date}{sep}{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
        if t.microsecond != 0 {
            out.push_str(&format!(".{:06}", t.microsecond));
        }
        if let Some(offset) = t.offset {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60));
            if abs % 60 != 0 {
                out.push_str(&format!(":{:02}", abs % 60));
            }
        }
        out
    }

    /// Python's `str()`: the ISO form with a space between date and time.
    pub fn python_str(&self) -> String {
        self.isoformat(' ')
    }

    /// Python's `repr()`: `datetime.date(2001, 12, 14)`, `datetime.datetime(2001, 12, 14, 21, 59, 43, 100000,
    /// tzinfo=datetime.timezone.utc)`.
    pub fn python_repr(&self) -> String {
        let date = format!("{}, {}, {}", self.year, self.month, self.day);
        let Some(t) = self.time else {
            return format!("datetime.date({date})");
        };
        // Python leaves out trailing zero fields, down to the minute.
        let mut fields = format!("{date}, {}, {}", t.hour, t.minute);
        if t.second != 0 || t.microsecond != 0 {
            fields.push_str(&format!(", {}", t.second));
        }
        if t.microsecond != 0 {
            fields.push_str(&format!(", {}", t.microsecond));
        }
        match t.offset {
            None => {}
            Some(0) => fields.push_str(", tzinfo=datetime.timezone.utc"),
            // timedelta's repr normalises to whole days and seconds of the day.
            Some(offset) if offset < 0 => fields.push_str(&format!(
                ", tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds={}))",
                86_400 + offset
            )),
            Some(offset) => fields.push_str(&format!(
                ", tzinfo=datetime.timezone(datetime.timedelta(seconds={offset}))"
            )),
        }
        format!("datetime.datetime({fields})")
    }

    /// The marked JSON value that keeps it.
    pub fn to_json(&self) -> Value {
        let marker = if self.time.is_some() {
            DATETIME_KEY
        } else {
            DATE_KEY
        };
        json!({ marker: self.isoformat('T') })
    }

    /// The stamp a marked JSON value keeps.
    pub fn from_json(value: &Value) -> Option<Stamp> {
        let text = marked(value, DATE_KEY).or_else(|| marked(value, DATETIME_KEY))?;
        // The ISO form is a YAML timestamp but for a seconds part of the offset, which YAML lacks.
        Stamp::from_yaml(text)
    }
}

/// A value as Python's JSON gives it to a module: keys as `json.dumps` writes them, datetimes in ISO form,
/// infinite floats as their Python text (`inf`, which `float()` reads back; JSON has no literal for them).
pub fn plain(value: Value) -> Value {
    if let Some(stamp) = Stamp::from_json(&value) {
        return Value::String(stamp.isoformat('T'));
    }
    if let Some(text) = marked(&value, FLOAT_KEY).or_else(|| marked(&value, INT_KEY)) {
        return Value::String(text.to_string());
    }
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (json_key(&k).to_string(), plain(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(plain).collect()),
        other => other,
    }
}

/// A value's text as Python's `json.dumps` writes a marked scalar (`Infinity`, `"2001-12-14"`), if it is one.
pub fn json_scalar(value: &Value) -> Option<Cow<'static, str>> {
    if let Some(i) = big_int(value) {
        return Some(Cow::Owned(i.to_string()));
    }
    if let Some(f) = special_float(value) {
        return Some(Cow::Borrowed(if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }));
    }
    Stamp::from_json(value).map(|s| Cow::Owned(format!("\"{}\"", s.isoformat('T'))))
}

/// A marked scalar as Python's `repr()` writes it (`inf`, `datetime.date(2001, 12, 14)`), if it is one.
pub fn repr_scalar(value: &Value) -> Option<String> {
    python_scalar(value, Stamp::python_repr)
}

/// A marked scalar as Python's `str()` writes it (`inf`, `2001-12-14 21:59:43`), if it is one.
pub fn str_scalar(value: &Value) -> Option<String> {
    python_scalar(value, Stamp::python_str)
}

/// A marked scalar's Python text: numbers as `str()` and `repr()` both write them, dates by `stamp`.
fn python_scalar(value: &Value, stamp: fn(&Stamp) -> String) -> Option<String> {
    if let Some(i) = big_int(value) {
        return Some(i.to_string());
    }
    if let Some(f) = special_float(value) {
        return Some(python_float_word(f).into());
    }
    Stamp::from_json(value).map(|s| stamp(&s))
}

/// An infinite or not-a-number float as YAML writes it.
pub fn yaml_float(f: f64) -> &'static str {
    if f.is_nan() {
        ".nan"
    } else if f > 0.0 {
        ".inf"
    } else {
        "-.inf"
    }
}

fn python_float_word(f: f64) -> &'static str {
    if f.is_nan() {
        "nan"
    } else if f > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for k in [json!(80), json!(true), json!(null), json!(1.5), json!("x")] {
            assert_eq!(key_value(&key(&k)), k);
        }
        assert_eq!(json_key(&key(&json!(null))), "null");
        assert_eq!(repr_key(&key(&json!(false))).as_deref(), Some("False"));
        assert_eq!(repr_key("name"), None);
    }

    #[test]
    fn timestamps_as_pyyaml_reads_them() {
        let d = Stamp::from_yaml("2001-12-14").expect("a timestamp");
        assert_eq!(d.python_repr(), "datetime.date(2001, 12, 14)");
        let t = Stamp::from_yaml("2001-12-14t21:59:43.10-05:00").expect("a timestamp");
        assert_eq!(t.python_str(), "2001-12-14 21:59:43.100000-05:00");
        assert_eq!(
            t.python_repr(),
            "datetime.datetime(2001, 12, 14, 21, 59, 43, 100000, \
             tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=68400)))"
        );
        let z = Stamp::from_yaml("2002-12-14T02:59:43Z").expect("a timestamp");
        assert_eq!(z.isoformat('T'), "2002-12-14T02:59:43+00:00");
        let spaced = Stamp::from_yaml("2001-12-14 21:59:43.10 -5").expect("a timestamp");
        assert_eq!(spaced.python_str(), "2001-12-14 21:59:43.100000-05:00");
        assert_eq!(Stamp::from_json(&t.to_json()), Some(t));
        for text in ["2001-1-14", "20011-12-14", "2001-12-14x"] {
            assert_eq!(Stamp::parse_yaml(text), None, "{text}");
        }
        // Not real days: errors, as PyYAML's.
        assert_eq!(
            Stamp::parse_yaml("2001-02-30"),
            Some(Err("day is out of range for month".into()))
        );
        assert_eq!(
            Stamp::parse_yaml("2001-13-01"),
            Some(Err("month must be in 1..12".into()))
        );
    }

    #[test]
    fn plain_is_what_python_json_sends() {
        let v = json!({ key(&json!(80)): [float(f64::INFINITY), Stamp::from_yaml("2001-12-14").expect("a timestamp").to_json(), int(1 << 70)] });
        assert_eq!(
            plain(v),
            json!({"80": ["inf", "2001-12-14", "1180591620717411303424"]})
        );
        assert_eq!(int(1 << 63), json!(9_223_372_036_854_775_808_u64));
    }
}
