//! Host names as inventories write them: `host:port`, `[v6::addr]:port` and ranges like `web[01:03]`.
//!
//! Follows ansible's `parse_address` and `expand_hostname_range` (`plugins/inventory/__init__.py`), quirks
//! included: a name that is not a valid host, IPv4 or IPv6 address keeps its `:port` text, and a range whose
//! begin is after its end is empty.

use std::net::Ipv6Addr;

/// More hosts than this from one range is surely a typo; refusing it avoids exhausting memory.
const MAX_RANGE: usize = 100_000;

/// Why a host range cannot be expanded (Ansible's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// Brackets that do not form `head[range]tail`.
    #[error("host range must be written as name[begin:end] with one pair of brackets at a time")]
    Shape,
    /// Not two or three `:`-separated parts.
    #[error("host range must be begin:end or begin:end:step")]
    Bounds,
    /// `[1:]`.
    #[error("host range must specify end value")]
    NoEnd,
    /// `[01:5]`.
    #[error("host range must specify equal-length begin and end formats")]
    UnequalWidth,
    /// `[c:a]`.
    #[error("host range must have begin <= end")]
    Backwards,
    /// A bound or step that is neither a letter nor an integer, or a zero step.
    #[error("host range bound `{0}` is not a number")]
    NotANumber(String),
    /// A zero step.
    #[error("host range step must not be zero")]
    ZeroStep,
    /// More than [`MAX_RANGE`] hosts.
    #[error("host range expands to more than {MAX_RANGE} hosts")]
    TooLarge,
}

/// Splits an optional port off an address and checks what is left is a host name or an IP address, as
/// Ansible's `parse_address`. `None` where Ansible raises: the caller then keeps the text unchanged.
pub(super) fn parse_address(address: &str, allow_ranges: bool) -> Option<(String, Option<i64>)> {
    let mut address = address.to_string();
    let mut port = None;
    // Both forms are tried in turn, as Ansible does: `[host]:1` then strips a port from `host` too.
    if let Some((inner, p)) = bracketed_hostport(&address) {
        (address, port) = (inner, Some(p));
    }
    if let Some((inner, p)) = hostport(&address) {
        (address, port) = (inner, Some(p));
    }
    if !(is_ipv4(&address) || is_ipv6(&address) || is_hostname(&address)) {
        return None;
    }
    if !allow_ranges && address.contains('[') {
        return None;
    }
    Some((address, port))
}

/// Ansible's `_expand_hostpattern`: the host names a pattern stands for and the port it gives them.
pub(super) fn expand_host_pattern(pattern: &str) -> Result<(Vec<String>, Option<i64>), RangeError> {
    let (name, port) = parse_address(pattern, true).unwrap_or_else(|| (pattern.to_string(), None));
    if name.contains('[') {
        Ok((expand_hostname_range(&name)?, port))
    } else {
        Ok((vec![name], port))
    }
}

/// `^\[(.+)\]:([0-9]+)$`
fn bracketed_hostport(s: &str) -> Option<(String, i64)> {
    let rest = s.strip_prefix('[')?;
    let (inner, port) = rest.rsplit_once("]:")?;
    if inner.is_empty() {
        return None;
    }
    Some((inner.to_string(), port_number(port)?))
}

/// `^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$`: a port after a name whose only colons are inside brackets.
fn hostport(s: &str) -> Option<(String, i64)> {
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            ':' => return Some((s[..i].to_string(), port_number(&s[i + 1..])?)),
            ']' => return None,
            '[' => {
                chars.find(|(_, c)| *c == ']')?;
            }
            _ => {}
        }
    }
    None
}

fn port_number(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `[n:m]` or `[n:m:s]` with decimal bounds.
fn is_numeric_range(inner: &str) -> bool {
    let parts: Vec<&str> = inner.split(':').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Like [`is_numeric_range`], or a one-letter range `[a:f]`.
fn is_alphanumeric_range(inner: &str) -> bool {
    let parts: Vec<&str> = inner.split(':').collect();
    let letter = |p: &str| p.len() == 1 && p.bytes().all(|b| b.is_ascii_alphabetic());
    is_numeric_range(inner)
        || ((2..=3).contains(&parts.len())
            && letter(parts[0])
            && letter(parts[1])
            && parts
                .get(2)
                .is_none_or(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())))
}

/// Replaces each numeric range with `0`, for checking an IP address that contains ranges.
fn without_numeric_ranges(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let close = rest[open..].find(']')? + open;
        if !is_numeric_range(&rest[open + 1..close]) {
            return None;
        }
        out.push_str(&rest[..open]);
        out.push('0');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn is_ipv4(s: &str) -> bool {
    let Some(s) = without_numeric_ranges(s) else {
        return false;
    };
    let parts: Vec<&str> = s.split('.').collect();
    // Each part is 0..255, leading zeros allowed (`[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]`).
    parts.len() == 4
        && parts.iter().all(|p| {
            (1..=3).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
                && !(p.len() == 3 && p.starts_with(|c| c != '0' && c != '1' && c != '2'))
        })
}

fn is_ipv6(s: &str) -> bool {
    s.contains(':') && without_numeric_ranges(s).is_some_and(|s| s.parse::<Ipv6Addr>().is_ok())
}

/// A DNS-like name whose labels may hold ranges; labels start with a word character and do not end with
/// `-` or `_`.
fn is_hostname(s: &str) -> bool {
    s.split('.').all(|label| {
        let mut last = None;
        let mut rest = label;
        let mut first = true;
        while let Some(c) = rest.chars().next() {
            if c == '[' {
                let Some(close) = rest.find(']') else {
                    return false;
                };
                if !is_alphanumeric_range(&rest[1..close]) {
                    return false;
                }
                rest = &rest[close + 1..];
                last = Some(']');
            } else {
                let word = c.is_alphanumeric() || c == '_';
                if !(word || (c == '-' && !first)) {
                    return false;
                }
                rest = &rest[c.len_utf8()..];
                last = Some(c);
            }
            first = false;
        }
        last.is_some_and(|c| c != '-' && c != '_')
    })
}

/// Expands the first `[begin:end(:step)]` of a name, then any others: `db[01:03]` is db01, db02, db03.
pub(super) fn expand_hostname_range(line: &str) -> Result<Vec<String>, RangeError> {
    // Ansible replaces the first `[` and the first `]` and expects exactly three pieces.
    let replaced = line.replacen('[', "|", 1).replacen(']', "|", 1);
    let pieces: Vec<&str> = replaced.split('|').collect();
    let [head, range, tail] = pieces[..] else {
        return Err(RangeError::Shape);
    };
    let bounds: Vec<&str> = range.split(':').collect();
    if !(2..=3).contains(&bounds.len()) {
        return Err(RangeError::Bounds);
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = bounds.get(2).copied().unwrap_or("1");
    if end.is_empty() {
        return Err(RangeError::NoEnd);
    }
    let width = if begin.starts_with('0') && begin.len() > 1 {
        if begin.len() != end.len() {
            return Err(RangeError::UnequalWidth);
        }
        begin.len()
    } else {
        0
    };
    let items = match letter_range(begin, end, step)? {
        Some(letters) => letters,
        None => number_range(begin, end, step, width)?,
    };
    let mut hosts = Vec::new();
    for item in items {
        let name = format!("{head}{item}{tail}");
        if name.contains('[') {
            hosts.extend(expand_hostname_range(&name)?);
        } else {
            hosts.push(name);
        }
        if hosts.len() > MAX_RANGE {
            return Err(RangeError::TooLarge);
        }
    }
    Ok(hosts)
}

/// `[a:c]`: Ansible looks bounds up in `string.ascii_letters` (so `[x:B]` runs x..z, A, B); `None` when
/// they are not letters.
fn letter_range(begin: &str, end: &str, step: &str) -> Result<Option<Vec<String>>, RangeError> {
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let (Some(b), Some(e)) = (LETTERS.find(begin), LETTERS.find(end)) else {
        return Ok(None);
    };
    if b > e {
        return Err(RangeError::Backwards);
    }
    let Some(step) = py_int(step).filter(|s| *s != 0) else {
        return Ok(None); // Python then tries numbers, which fails on the letters
    };
    let slice: Vec<char> = LETTERS[b..=e].chars().collect();
    // A negative step over a forward slice is empty in Python.
    let Ok(step) = usize::try_from(step) else {
        return Ok(Some(Vec::new()));
    };
    Ok(Some(
        slice.iter().step_by(step).map(char::to_string).collect(),
    ))
}

fn number_range(
    begin: &str,
    end: &str,
    step: &str,
    width: usize,
) -> Result<Vec<String>, RangeError> {
    let number = |s: &str| py_int(s).ok_or_else(|| RangeError::NotANumber(s.to_string()));
    let (begin, end, step) = (number(begin)?, number(end)?, number(step)?);
    if step == 0 {
        return Err(RangeError::ZeroStep);
    }
    let mut out = Vec::new();
    let mut n = begin;
    // Python's range(begin, end + 1, step): empty when the step points away from the end.
    while (step > 0 && n <= end) || (step < 0 && n > end + 1) {
        if out.len() >= MAX_RANGE {
            return Err(RangeError::TooLarge);
        }
        out.push(zfill(n, width));
        n = n.checked_add(step).ok_or(RangeError::TooLarge)?;
    }
    Ok(out)
}

/// Python's `str(n).zfill(width)`.
fn zfill(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0>w$}", n.unsigned_abs(), w = width.saturating_sub(1))
    } else {
        format!("{n:0>width$}")
    }
}

/// Python's `int(text)`: surrounding blanks, a sign, and single underscores between digits.
fn py_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    t.replace('_', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Option<(String, Option<i64>)> {
        parse_address(s, true)
    }

    #[test]
    fn ports_split_off_names_ipv4_and_bracketed_ipv6() {
        assert_eq!(addr("web1:2222"), Some(("web1".into(), Some(2222))));
        assert_eq!(addr("10.0.0.1:22"), Some(("10.0.0.1".into(), Some(22))));
        assert_eq!(addr("[::1]:2200"), Some(("::1".into(), Some(2200))));
        assert_eq!(addr("fe80::1"), Some(("fe80::1".into(), None)));
        assert_eq!(addr("::1"), Some(("::1".into(), None)));
        assert_eq!(addr("web[01:03]:22"), Some(("web[01:03]".into(), Some(22))));
        assert_eq!(
            addr("db-[a:c].example.com"),
            Some(("db-[a:c].example.com".into(), None))
        );
        assert_eq!(addr("bad_:22"), None);
        assert_eq!(addr("web*"), None);
        assert_eq!(addr("a:b"), None);
        assert_eq!(parse_address("web[1:2]", false), None);
    }

    #[test]
    fn ranges_expand_as_ansible_does() {
        let expand = |s| expand_hostname_range(s).expect("valid range");
        assert_eq!(expand("web[01:03]"), ["web01", "web02", "web03"]);
        assert_eq!(expand("db-[a:c]"), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand("n[0:10:5]x"), ["n0x", "n5x", "n10x"]);
        assert_eq!(expand("h[:1]"), ["h0", "h1"]);
        assert_eq!(expand("r[1:2]c[a:b]"), ["r1ca", "r1cb", "r2ca", "r2cb"]);
        assert_eq!(expand("h[5:1]"), Vec::<String>::new());
        assert_eq!(expand_hostname_range("h[1:]"), Err(RangeError::NoEnd));
        assert_eq!(
            expand_hostname_range("h[01:100]"),
            Err(RangeError::UnequalWidth)
        );
        assert_eq!(expand_hostname_range("h[c:a]"), Err(RangeError::Backwards));
        assert_eq!(expand_hostname_range("h[1]"), Err(RangeError::Bounds));
        assert_eq!(
            expand_hostname_range("h[1:x]"),
            Err(RangeError::NotANumber("x".into()))
        );
        assert_eq!(expand_hostname_range("h[1:2:0]"), Err(RangeError::ZeroStep));
        assert_eq!(
            expand_hostname_range("h[1:99999999]"),
            Err(RangeError::TooLarge)
        );
    }

    #[test]
    fn host_pattern_keeps_unparsable_text_whole() {
        assert_eq!(
            expand_host_pattern("web[1:2]:2222"),
            Ok((vec!["web1".to_string(), "web2".to_string()], Some(2222)))
        );
        assert_eq!(
            expand_host_pattern("we$b:22"),
            Ok((vec!["we$b:22".to_string()], None))
        );
    }
}
