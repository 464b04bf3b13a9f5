//! Dates as Python prints them, for results that Ansible users compare (`start`, `end`, `delta`, `date_time`).
//! Modules see UTC only: WASI gives wall-clock time but no time zone database.

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment broken into civil UTC fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
    /// Microseconds.
    pub micros: u32,
    /// Days since 1970-01-01.
    pub days: i64,
    /// Seconds since the epoch.
    pub epoch: i64,
}

impl Civil {
    /// Breaks a moment into UTC fields.
    pub fn from_system_time(at: SystemTime) -> Civil {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let epoch = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
        let (days, rem) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            micros: since.subsec_micros(),
            days,
            epoch,
        }
    }

    /// 0 = Sunday, as `strftime("%w")`.
    pub fn weekday_number(&self) -> u32 {
        (self.days + 4).rem_euclid(7) as u32
    }
}

/// Python's `str(datetime)`: `2023-11-14 22:13:20.123456`.
pub fn python_timestamp(at: SystemTime) -> String {
    let c = Civil::from_system_time(at);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.micros
    )
}

/// Python's `str(timedelta)` for a non-negative span: `0:00:00.003456`.
pub fn python_delta(start: SystemTime, end: SystemTime) -> String {
    let d = end.duration_since(start).unwrap_or_default();
    let s = d.as_secs();
    format!(
        "{}:{:02}:{:02}.{:06}",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        d.subsec_micros()
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A civil date to days since 1970-01-01 (the inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_the_civil_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        for days in [-1000, 0, 59, 11_016, 19_723, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn python_style_timestamps_and_weekdays() {
        let at = UNIX_EPOCH + std::time::Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(python_timestamp(at), "2023-11-14 22:13:20.123456");
        assert_eq!(Civil::from_system_time(at).weekday_number(), 2); // a Tuesday
        let later = at + std::time::Duration::from_millis(3_723_500);
        assert_eq!(python_delta(at, later), "1:02:03.500000");
    }
}
