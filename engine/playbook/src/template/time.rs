//! Dates as Ansible's templates give them: the `now()` function and the `strftime` filter, formatted by the C
//! library's `strftime` (which Python's `time.strftime` wraps), and Python's `str(datetime)`.

use crate::typed::{Stamp, TimeOfDay};
use minijinja::value::{Kwargs, Object, ObjectRepr, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
    super::add_filter(env, "strftime", strftime_filter);
    super::add_filter(env, "to_datetime", to_datetime);
}

/// `to_datetime(format='%Y-%m-%d %H:%M:%S')`: Python's `datetime.strptime`, through the C library's
/// `strptime` (which has the same directives but `%f`, read here: one to six digits of microseconds), as a
/// naive datetime.
fn to_datetime(value: Value, format: Option<String>) -> Result<Value, Error> {
    let Some(text) = value.as_str() else {
        return Err(super::invalid(format!(
            "strptime() argument 1 must be str, not {}",
            super::pyformat::type_name(&value)
        )));
    };
    let format = format.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".into());
    // Python's words, with its `repr()` of each string.
    let mismatch = || {
        let repr = |s: &str| super::filters::py_repr(&Value::from(s));
        super::invalid(format!(
            "time data {} does not match format {}",
            repr(text),
            repr(&format)
        ))
    };
    // SAFETY: a zeroed tm is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_mday = 1;
    let mut rest = text;
    let mut microsecond = 0;
    for (i, piece) in format.split("%f").enumerate() {
        if i > 0 {
            let digits = rest.bytes().take(6).take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(mismatch());
            }
            microsecond = format!("{:0<6}", &rest[..digits])
                .parse()
                .map_err(|_| mismatch())?;
            rest = &rest[digits..];
        }
        if piece.is_empty() {
            continue;
        }
        let c_text = std::ffi::CString::new(rest).map_err(|_| mismatch())?;
        let c_format = std::ffi::CString::new(piece).map_err(|_| mismatch())?;
        // SAFETY: strptime reads the two NUL-terminated strings and writes only tm, which is ours.
        let end = unsafe { libc::strptime(c_text.as_ptr(), c_format.as_ptr(), &mut tm) };
        if end.is_null() {
            return Err(mismatch());
        }
        // SAFETY: a non-null result points into c_text, at the NUL that ends it or before.
        let consumed = unsafe { end.offset_from(c_text.as_ptr()) } as usize;
        rest = rest.get(consumed..).ok_or_else(mismatch)?;
    }
    if !rest.is_empty() {
        return Err(super::invalid(format!("unconverted data remains: {rest}")));
    }
    Ok(Value::from_object(Moment(stamp_of(&tm, microsecond))))
}

/// The calendar fields of a moment, local or UTC.
fn fields(seconds: i64, utc: bool) -> Option<libc::tm> {
    let at = seconds as libc::time_t;
    // SAFETY: both functions write only into `tm`, a properly sized struct we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let done = unsafe {
        if utc {
            libc::gmtime_r(&at, &mut tm)
        } else {
            libc::localtime_r(&at, &mut tm)
        }
    };
    (!done.is_null()).then_some(tm)
}

/// A naive datetime of C's calendar fields.
fn stamp_of(tm: &libc::tm, microsecond: u32) -> Stamp {
    Stamp {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        time: Some(TimeOfDay {
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec as u32,
            microsecond,
            offset: None,
        }),
    }
}

/// C's calendar fields of a date or datetime, the week day and year day filled in.
fn tm_of(stamp: &Stamp) -> libc::tm {
    // SAFETY: a zeroed tm is a valid value; timegm only reads and normalises it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = stamp.year - 1900;
    tm.tm_mon = stamp.month as i32 - 1;
    tm.tm_mday = stamp.day as i32;
    if let Some(t) = stamp.time {
        tm.tm_hour = t.hour as i32;
        tm.tm_min = t.minute as i32;
        tm.tm_sec = t.second as i32;
    }
    unsafe { libc::timegm(&mut tm) };
    if let Some(offset) = stamp.time.and_then(|t| t.offset) {
        tm.tm_gmtoff = offset.into();
    }
    tm
}

/// A format with Python's zone directives written out for a moment's UTC offset: `%z` is `-0500` and `%Z`
/// `UTC-05:00` (`UTC` at zero) for an aware datetime, both empty for a naive one (C's would show the
/// machine's zone).
fn with_zone(fmt: &str, offset: Option<i32>) -> String {
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match (chars.next(), offset) {
            (Some('z'), Some(offset)) => {
                let sign = if offset < 0 { '-' } else { '+' };
                let abs = offset.unsigned_abs();
                out.push_str(&format!("{sign}{:02}{:02}", abs / 3600, abs % 3600 / 60));
            }
            (Some('Z'), Some(0)) => out.push_str("UTC"),
            (Some('Z'), Some(offset)) => {
                let sign = if offset < 0 { '-' } else { '+' };
                let abs = offset.unsigned_abs();
                out.push_str(&format!(
                    "UTC{sign}{:02}:{:02}",
                    abs / 3600,
                    abs % 3600 / 60
                ));
            }
            (Some('z' | 'Z'), None) => {}
            (Some(other), _) => {
                out.push('%');
                out.push(other);
            }
            (None, _) => out.push('%'),
        }
    }
    out
}

/// C's `strftime` of calendar fields.
fn format_tm(fmt: &str, tm: &libc::tm) -> Result<String, String> {
    let c_fmt =
        std::ffi::CString::new(fmt).map_err(|_| "the format holds a NUL byte".to_string())?;
    let mut size = 256;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: buf has `size` writable bytes; strftime writes at most that many, NUL included.
        let written = unsafe { libc::strftime(buf.as_mut_ptr().cast(), size, c_fmt.as_ptr(), tm) };
        if written > 0 || fmt.is_empty() {
            buf.truncate(written);
            return Ok(String::from_utf8_lossy(&buf).into_owned());
        }
        if size > 64 * 1024 {
            // A format whose result is empty (`%p` in some locales) or absurdly long.
            return Ok(String::new());
        }
        size *= 4;
    }
}

/// C's `strftime` of a moment.
fn format(fmt: &str, seconds: i64, utc: bool) -> Result<String, String> {
    let tm = fields(seconds, utc).ok_or_else(|| format!("cannot represent {seconds} as a date"))?;
    format_tm(fmt, &tm)
}

/// A moment as Python's naive `datetime`, local time unless `utc`.
fn naive(at: SystemTime, utc: bool) -> Option<Stamp> {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let tm = fields(since.as_secs() as i64, utc)?;
    Some(stamp_of(&tm, since.subsec_micros()))
}

/// Python's `str(datetime)`: `2026-11-30 01:28:09.319026`, local time unless `utc`.
pub fn python_datetime(at: SystemTime, utc: bool) -> String {
    naive(at, utc).map(|s| s.python_str()).unwrap_or_default()
}

/// Python's `date` or `datetime` as templates see it: printed as `str()`, with `strftime()`, `isoformat()`,
/// `timestamp()` and the calendar fields (`year`, `month`, ...). Variables keep it marked (see `typed`).
#[derive(Debug)]
pub struct Moment(pub Stamp);

impl Moment {
    /// Python's type name.
    pub fn type_name(&self) -> &'static str {
        if self.0.time.is_some() {
            "datetime"
        } else {
            "date"
        }
    }
}

impl Object for Moment {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let stamp = &self.0;
        Some(Value::from(match (key.as_str()?, stamp.time) {
            ("year", _) => i64::from(stamp.year),
            ("month", _) => i64::from(stamp.month),
            ("day", _) => i64::from(stamp.day),
            ("hour", Some(t)) => i64::from(t.hour),
            ("minute", Some(t)) => i64::from(t.minute),
            ("second", Some(t)) => i64::from(t.second),
            ("microsecond", Some(t)) => i64::from(t.microsecond),
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (method, args) {
            ("strftime", [fmt]) => {
                let fmt = fmt
                    .as_str()
                    .ok_or_else(|| super::invalid("strftime() wants a format string"))?;
                let offset = self.0.time.and_then(|t| t.offset);
                format_tm(&with_zone(fmt, offset), &tm_of(&self.0))
                    .map(Value::from)
                    .map_err(super::invalid)
            }
            // Monday is 0 (1 for `isoweekday`).
            ("weekday" | "isoweekday", []) => {
                let monday_first = (tm_of(&self.0).tm_wday + 6) % 7;
                Ok(Value::from(
                    monday_first + i32::from(method == "isoweekday"),
                ))
            }
            ("date", []) => Ok(Value::from_object(Moment(Stamp {
                time: None,
                ..self.0
            }))),
            ("isoformat", []) => Ok(Value::from(self.0.isoformat('T'))),
            ("isoformat", [sep]) => {
                let sep = sep.as_str().and_then(|s| s.chars().next()).unwrap_or('T');
                Ok(Value::from(self.0.isoformat(sep)))
            }
            ("timestamp", []) if self.0.time.is_some() => {
                let mut tm = tm_of(&self.0);
                // Python reads a naive datetime as local time.
                // SAFETY: both read and normalise only the tm we own.
                let seconds = match self.0.time.and_then(|t| t.offset) {
                    Some(offset) => (unsafe { libc::timegm(&mut tm) }) - libc::time_t::from(offset),
                    None => unsafe { libc::mktime(&mut tm) },
                };
                let micros = self.0.time.map_or(0, |t| t.microsecond);
                Ok(Value::from(seconds as f64 + f64::from(micros) / 1e6))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(
        self: &Arc<Self>,
        other: &minijinja::value::DynObject,
    ) -> Option<std::cmp::Ordering> {
        super::timedelta::compare(&self.0, &other.downcast_ref::<Self>()?.0)
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.python_str())
    }
}

/// The time now as a variable's value (a naive local datetime, kept marked; see `typed`).
pub(super) fn now_value() -> Option<serde_json::Value> {
    naive(SystemTime::now(), false).map(|stamp| stamp.to_json())
}

/// `now(utc=False, fmt=None)`: the time now, a datetime (printed as `str(datetime)`), or formatted.
fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let utc = utc.unwrap_or(false);
    let at = SystemTime::now();
    match fmt {
        None => naive(at, utc)
            .map(|stamp| Value::from_object(Moment(stamp)))
            .ok_or_else(|| super::invalid("the clock is out of range")),
        Some(fmt) => {
            let seconds = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
            format(&fmt, seconds, utc)
                .map(Value::from)
                .map_err(super::invalid)
        }
    }
}

/// `'%Y-%m-%d' | strftime(second=None, utc=False)`: a moment (now by default, else seconds since the epoch)
/// formatted.
fn strftime_filter(fmt: String, second: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let second = match second {
        Some(s) => Some(s),
        None => kwargs.get("second")?,
    };
    // Python's float() of it: a number, or a string of one (`ansible_date_time.epoch`).
    let second = match second {
        None => None,
        Some(v) => Some(match v.as_str() {
            Some(text) => text
                .trim()
                .parse::<f64>()
                .map_err(|_| super::invalid(format!("Invalid value for epoch value ({text})")))?,
            None => f64::try_from(v.clone())
                .map_err(|_| super::invalid(format!("Invalid value for epoch value ({v})")))?,
        }),
    };
    kwargs.assert_all_used()?;
    let seconds = match second {
        Some(s) => s.trunc() as i64,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64,
    };
    format(&fmt, seconds, utc.unwrap_or(false)).map_err(super::invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_in_utc() {
        assert_eq!(
            format("%Y-%m-%d %H:%M:%S", 1_700_000_000, true).expect("formats"),
            "2023-11-14 22:13:20"
        );
        assert_eq!(
            format("%s", 1_700_000_000, true).expect("formats").len(),
            10
        );
        let shown = python_datetime(UNIX_EPOCH + std::time::Duration::from_micros(1_500), true);
        assert_eq!(shown, "1970-01-01 00:00:00.001500");
    }
}
