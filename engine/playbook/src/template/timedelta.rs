//! Python's date arithmetic in templates: `datetime - datetime` (and `date - date`) is a `timedelta`, with
//! `days`, `seconds`, `microseconds` and `total_seconds()`, printed as Python prints one (`3 days, 1:30:00`);
//! a date or datetime plus or minus a timedelta is another; timedeltas add, subtract and compare. minijinja's
//! operators reach this through the vendored `set_object_operator` hook (see `vendor/README.md`).

use super::time::Moment;
use crate::typed::{Stamp, TimeOfDay};
use minijinja::value::{Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use std::cmp::Ordering;
use std::sync::Arc;

const MICROS_PER_SECOND: i128 = 1_000_000;
const MICROS_PER_DAY: i128 = 86_400 * MICROS_PER_SECOND;

/// Python's `datetime.timedelta`, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct TimeDelta(pub i128);

impl TimeDelta {
    /// Python's normalised fields: days (any sign), then seconds and microseconds (never negative).
    fn parts(self) -> (i128, i128, i128) {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let rest = self.0.rem_euclid(MICROS_PER_DAY);
        (days, rest / MICROS_PER_SECOND, rest % MICROS_PER_SECOND)
    }
}

impl Object for TimeDelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (days, seconds, micros) = self.parts();
        let field = match key.as_str()? {
            "days" => days,
            "seconds" => seconds,
            "microseconds" => micros,
            _ => return None,
        };
        Some(Value::from(field as i64))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (method, args) {
            ("total_seconds", []) => Ok(Value::from(self.0 as f64 / 1e6)),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &minijinja::value::DynObject) -> Option<Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<Self>()?.0))
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (days, seconds, micros) = self.parts();
        if days != 0 {
            let plural = if days.abs() != 1 { "s" } else { "" };
            write!(f, "{days} day{plural}, ")?;
        }
        write!(
            f,
            "{}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        Ok(())
    }
}

/// The order of two dates, or of two datetimes that are both naive or both aware (Python refuses the others).
pub(super) fn compare(a: &Stamp, b: &Stamp) -> Option<Ordering> {
    (a.time.is_some() == b.time.is_some() && aware(a) == aware(b))
        .then(|| instant(a).cmp(&instant(b)))
}

/// `+` and `-` on dates, datetimes and timedeltas, as Python's operators give them; `None` for other values.
pub(super) fn operate(op: &str, lhs: &Value, rhs: &Value) -> Option<Result<Value, Error>> {
    let moment = |v: &Value| v.downcast_object_ref::<Moment>().map(|m| m.0);
    let delta = |v: &Value| v.downcast_object_ref::<TimeDelta>().map(|d| d.0);
    let result = match (op, moment(lhs), moment(rhs), delta(lhs), delta(rhs)) {
        ("-", Some(a), Some(b), _, _) => difference(&a, &b),
        ("+", Some(a), None, None, Some(d)) | ("+", None, Some(a), Some(d), None) => shift(&a, d),
        ("-", Some(a), None, None, Some(d)) => shift(&a, -d),
        ("+", None, None, Some(a), Some(b)) => Ok(delta_value(a + b)),
        ("-", None, None, Some(a), Some(b)) => Ok(delta_value(a - b)),
        _ => {
            if moment(lhs).or(moment(rhs)).is_none() && delta(lhs).or(delta(rhs)).is_none() {
                return None;
            }
            Err(super::invalid(format!(
                "unsupported operand type(s) for {op}: '{}' and '{}'",
                qualified_type(lhs),
                qualified_type(rhs)
            )))
        }
    };
    Some(result)
}

/// Python's name of a value's type in an operator's error: the `datetime` module's types qualified.
fn qualified_type(value: &Value) -> &'static str {
    match value.downcast_object_ref::<Moment>() {
        Some(moment) => python_type(&moment.0),
        None if value.downcast_object_ref::<TimeDelta>().is_some() => "datetime.timedelta",
        None => super::pyformat::type_name(value),
    }
}

fn delta_value(micros: i128) -> Value {
    Value::from_object(TimeDelta(micros))
}

fn difference(a: &Stamp, b: &Stamp) -> Result<Value, Error> {
    if a.time.is_some() != b.time.is_some() {
        return Err(super::invalid(format!(
            "unsupported operand type(s) for -: '{}' and '{}'",
            python_type(a),
            python_type(b)
        )));
    }
    if aware(a) != aware(b) {
        return Err(super::invalid(
            "can't subtract offset-naive and offset-aware datetimes",
        ));
    }
    Ok(delta_value(instant(a) - instant(b)))
}

fn python_type(stamp: &Stamp) -> &'static str {
    if stamp.time.is_some() {
        "datetime.datetime"
    } else {
        "datetime.date"
    }
}

/// Whether a datetime has a UTC offset (Python's aware datetime).
fn aware(stamp: &Stamp) -> bool {
    stamp.time.and_then(|t| t.offset).is_some()
}

/// Microseconds since 1970-01-01 on the stamp's own clock (a date at midnight), its offset not applied.
fn wall_clock(stamp: &Stamp) -> i128 {
    let clock = stamp.time.map_or(0, |t| {
        (i128::from(t.hour) * 3600 + i128::from(t.minute) * 60 + i128::from(t.second))
            * MICROS_PER_SECOND
            + i128::from(t.microsecond)
    });
    days_from_civil(stamp.year, stamp.month, stamp.day) * MICROS_PER_DAY + clock
}

/// The stamp's moment in microseconds since 1970-01-01, made UTC when it has an offset.
fn instant(stamp: &Stamp) -> i128 {
    let offset = stamp.time.and_then(|t| t.offset).unwrap_or(0);
    wall_clock(stamp) - i128::from(offset) * MICROS_PER_SECOND
}

/// A date or datetime moved by a timedelta (a date by its whole days), its offset kept.
fn shift(stamp: &Stamp, micros: i128) -> Result<Value, Error> {
    let micros = match stamp.time {
        Some(_) => micros,
        None => micros.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY,
    };
    let total = wall_clock(stamp) + micros;
    let (year, month, day) = civil_from_days(total.div_euclid(MICROS_PER_DAY));
    if !(1..=9999).contains(&year) {
        return Err(super::invalid("date value out of range"));
    }
    let rest = total.rem_euclid(MICROS_PER_DAY);
    let seconds = rest / MICROS_PER_SECOND;
    let time = stamp.time.map(|t| TimeOfDay {
        hour: (seconds / 3600) as u32,
        minute: (seconds / 60 % 60) as u32,
        second: (seconds % 60) as u32,
        microsecond: (rest % MICROS_PER_SECOND) as u32,
        offset: t.offset,
    });
    Ok(Value::from_object(Moment(Stamp {
        year: year as i32,
        month,
        day,
        time,
    })))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u32, day: u32) -> i128 {
    let y = i128::from(year) - i128::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i128::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i128::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i128::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2024, 3, 1),
            (1, 1, 1),
            (9999, 12, 31),
        ] {
            let days = days_from_civil(y, m, d);
            assert_eq!(civil_from_days(days), (i128::from(y), m, d));
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 27),
            3
        );
    }

    #[test]
    fn timedeltas_print_as_python() {
        let shown = |micros: i128| {
            let v = delta_value(micros);
            v.to_string()
        };
        assert_eq!(shown(3 * MICROS_PER_DAY), "3 days, 0:00:00");
        assert_eq!(
            shown(MICROS_PER_DAY + 5400 * MICROS_PER_SECOND),
            "1 day, 1:30:00"
        );
        assert_eq!(shown(-MICROS_PER_SECOND), "-1 day, 23:59:59");
        assert_eq!(shown(1_500_000), "0:00:01.500000");
    }
}
