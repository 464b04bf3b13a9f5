//! Dates as Ansible's templates give them: the `now()` function and the `strftime` filter, formatted by the C
//! library's `strftime` (which Python's `time.strftime` wraps), and Python's `str(datetime)`.

use minijinja::value::{Kwargs, Object, ObjectRepr, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
    env.add_filter("strftime", strftime_filter);
    env.add_filter("to_datetime", to_datetime);
}

/// `to_datetime(format='%Y-%m-%d %H:%M:%S')`: Python's `datetime.strptime`, through the C library's
/// `strptime` (which has the same directives but `%f`), as a naive datetime.
fn to_datetime(text: String, format: Option<String>) -> Result<Value, Error> {
    let format = format.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".into());
    // Python's words, with its `repr()` of each string.
    let mismatch = || {
        let repr = |s: &str| super::filters::py_repr(&Value::from(s));
        super::invalid(format!(
            "time data {} does not match format {}",
            repr(&text),
            repr(&format)
        ))
    };
    let c_text = std::ffi::CString::new(text.as_str()).map_err(|_| mismatch())?;
    let c_format = std::ffi::CString::new(format.as_str()).map_err(|_| mismatch())?;
    // SAFETY: tm is ours and zeroed; strptime reads the two NUL-terminated strings and writes only tm.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_mday = 1;
    let end = unsafe { libc::strptime(c_text.as_ptr(), c_format.as_ptr(), &mut tm) };
    if end.is_null() {
        return Err(mismatch());
    }
    // SAFETY: a non-null result points into c_text, at the NUL that ends it or before.
    let rest = unsafe { std::ffi::CStr::from_ptr(end) };
    if !rest.is_empty() {
        return Err(super::invalid(format!(
            "unconverted data remains: {}",
            rest.to_string_lossy()
        )));
    }
    // A naive datetime: its fields as written, kept as UTC so that no time zone moves them.
    // SAFETY: timegm reads tm only.
    let seconds = unsafe { libc::timegm(&mut tm) };
    let at = if seconds >= 0 {
        UNIX_EPOCH + std::time::Duration::from_secs(seconds as u64)
    } else {
        UNIX_EPOCH - std::time::Duration::from_secs(seconds.unsigned_abs())
    };
    Ok(Value::from_object(DateTime { at, utc: true }))
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

/// C's `strftime` of a moment.
fn format(fmt: &str, seconds: i64, utc: bool) -> Result<String, String> {
    let tm = fields(seconds, utc).ok_or_else(|| format!("cannot represent {seconds} as a date"))?;
    let c_fmt =
        std::ffi::CString::new(fmt).map_err(|_| "the format holds a NUL byte".to_string())?;
    let mut size = 256;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: buf has `size` writable bytes; strftime writes at most that many, NUL included.
        let written = unsafe { libc::strftime(buf.as_mut_ptr().cast(), size, c_fmt.as_ptr(), &tm) };
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

/// Python's `str(datetime)`: `2026-11-30 01:28:09.319026`, local time unless `utc`.
pub fn python_datetime(at: SystemTime, utc: bool) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs() as i64;
    let base = format("%Y-%m-%d %H:%M:%S", seconds, utc).unwrap_or_default();
    // Python leaves out microseconds that are zero.
    match since.subsec_micros() {
        0 => base,
        micros => format!("{base}.{micros:06}"),
    }
}

/// A moment as Python's `datetime` shows it to templates: printed as `str(datetime)`, with `strftime()`,
/// `isoformat()`, `timestamp()` and the calendar fields (`year`, `month`, ...).
#[derive(Debug)]
struct DateTime {
    at: SystemTime,
    utc: bool,
}

impl DateTime {
    fn seconds(&self) -> i64 {
        self.at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64
    }

    fn micros(&self) -> u32 {
        self.at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_micros()
    }
}

impl Object for DateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let tm = fields(self.seconds(), self.utc)?;
        Some(Value::from(match key.as_str()? {
            "year" => i64::from(tm.tm_year) + 1900,
            "month" => i64::from(tm.tm_mon) + 1,
            "day" => i64::from(tm.tm_mday),
            "hour" => i64::from(tm.tm_hour),
            "minute" => i64::from(tm.tm_min),
            "second" => i64::from(tm.tm_sec),
            "microsecond" => i64::from(self.micros()),
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
                format(fmt, self.seconds(), self.utc)
                    .map(Value::from)
                    .map_err(super::invalid)
            }
            ("isoformat", []) => Ok(Value::from(
                python_datetime(self.at, self.utc).replacen(' ', "T", 1),
            )),
            ("timestamp", []) => Ok(Value::from(
                self.at
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64(),
            )),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&python_datetime(self.at, self.utc))
    }
}

/// `now(utc=False, fmt=None)`: the time now, a datetime (printed as `str(datetime)`), or formatted.
fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let moment = DateTime {
        at: SystemTime::now(),
        utc: utc.unwrap_or(false),
    };
    match fmt {
        None => Ok(Value::from_object(moment)),
        Some(fmt) => format(&fmt, moment.seconds(), moment.utc)
            .map(Value::from)
            .map_err(super::invalid),
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
