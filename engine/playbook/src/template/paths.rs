//! Ansible's path filters beyond `basename`/`dirname`: `path_join`, `relpath`, `commonpath`, `expandvars` and
//! the `win_*` ones, following Python's `os.path` (posixpath) and `ntpath`.

use super::filters::py_str;
use super::invalid;
use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error};

pub(super) fn register(env: &mut Environment<'static>) {
    super::add_filter(env, "path_join", |v: JValue| -> Result<String, Error> {
        let parts: Vec<String> = match v.kind() {
            ValueKind::Seq | ValueKind::Iterable => v.try_iter()?.map(|p| py_str(&p)).collect(),
            _ => vec![py_str(&v)],
        };
        Ok(join(&parts))
    });
    super::add_filter(
        env,
        "relpath",
        |v: JValue, start: Option<String>| -> Result<String, Error> {
            let start = match start {
                Some(s) => s,
                None => std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .map_err(|e| invalid(e.to_string()))?,
            };
            relpath(&py_str(&v), &start)
        },
    );
    super::add_filter(env, "commonpath", |v: JValue| -> Result<String, Error> {
        let paths: Vec<String> = v
            .try_iter()
            .map_err(|_| invalid("|commonpath expects sequence, got a string"))?
            .map(|p| py_str(&p))
            .collect();
        commonpath(&paths)
    });
    super::add_filter(env, "expandvars", |v: JValue| expandvars(&py_str(&v)));
    super::add_filter(env, "win_basename", |v: JValue| {
        let (_, path) = win_splitdrive(&py_str(&v));
        path.rsplit(['\\', '/'])
            .next()
            .unwrap_or_default()
            .to_string()
    });
    super::add_filter(env, "win_dirname", |v: JValue| {
        let (drive, path) = win_splitdrive(&py_str(&v));
        let head = match path.rfind(['\\', '/']) {
            Some(i) => &path[..=i],
            None => "",
        };
        // ntpath.split keeps a root of only separators, else drops trailing ones.
        let trimmed = head.trim_end_matches(['\\', '/']);
        let head = if trimmed.is_empty() { head } else { trimmed };
        format!("{drive}{head}")
    });
    super::add_filter(env, "win_splitdrive", |v: JValue| {
        let (drive, path) = win_splitdrive(&py_str(&v));
        JValue::from(vec![JValue::from(drive), JValue::from(path)])
    });
}

/// `os.path.join`: an absolute part starts over; a separator goes between parts that lack one.
pub(super) fn join(parts: &[String]) -> String {
    let mut out = String::new();
    for part in parts {
        if part.starts_with('/') {
            out = part.clone();
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(part);
        } else {
            out.push('/');
            out.push_str(part);
        }
    }
    out
}

/// `os.path.normpath`'s components of an absolute form of `path` relative to `cwd`.
fn components(path: &str, cwd: &str) -> Vec<String> {
    let full = if path.starts_with('/') {
        path.to_string()
    } else {
        join(&[cwd.to_string(), path.to_string()])
    };
    let mut out: Vec<String> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other.to_string()),
        }
    }
    out
}

/// `os.path.relpath(path, start)`.
fn relpath(path: &str, start: &str) -> Result<String, Error> {
    if path.is_empty() {
        return Err(invalid("no path specified"));
    }
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "/".into());
    let (to, from) = (components(path, &cwd), components(start, &cwd));
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(to[common..].iter().cloned());
    Ok(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// `os.path.commonpath(paths)`.
fn commonpath(paths: &[String]) -> Result<String, Error> {
    let Some(first) = paths.first() else {
        return Err(invalid("commonpath() arg is an empty sequence"));
    };
    let absolute = first.starts_with('/');
    if paths.iter().any(|p| p.starts_with('/') != absolute) {
        return Err(invalid("Can't mix absolute and relative paths"));
    }
    let split = |p: &String| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(String::from)
            .collect()
    };
    let all: Vec<Vec<String>> = paths.iter().map(split).collect();
    let mut common = all[0].clone();
    for other in &all[1..] {
        let n = common.iter().zip(other).take_while(|(a, b)| a == b).count();
        common.truncate(n);
    }
    let prefix = if absolute { "/" } else { "" };
    Ok(format!("{prefix}{}", common.join("/")))
}

/// `os.path.expandvars`: `$NAME` and `${NAME}` of the environment; unknown ones stay as written.
fn expandvars(text: &str) -> String {
    let pattern = regex::Regex::new(r"\$(\w+|\{[^}]*\})").expect("a valid pattern");
    pattern
        .replace_all(text, |caps: &regex::Captures| {
            let name = caps[1].trim_start_matches('{').trim_end_matches('}');
            std::env::var(name).unwrap_or_else(|_| caps[0].to_string())
        })
        .into_owned()
}

/// `ntpath.splitdrive`: `C:` or a UNC `\\server\share`, and the rest.
fn win_splitdrive(path: &str) -> (String, String) {
    let normal = path.replace('/', "\\");
    if let Some(rest) = normal.strip_prefix("\\\\")
        && !rest.starts_with('\\')
    {
        // \\server\share\rest
        let mut seps = rest.match_indices('\\').map(|(i, _)| i + 2);
        if let Some(first) = seps.next() {
            let end = seps.next().unwrap_or(path.len());
            if end > first + 1 {
                return (path[..end].to_string(), path[end..].to_string());
            }
        }
        return (String::new(), path.to_string());
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' {
        return (path[..2].to_string(), path[2..].to_string());
    }
    (String::new(), path.to_string())
}

#[cfg(test)]
mod unit {
    use super::*;

    // Each expected value is what CPython 3.11's os.path / ntpath gives.
    #[test]
    fn pythons_paths() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            join(&s(&["/etc", "ssh", "sshd_config"])),
            "/etc/ssh/sshd_config"
        );
        assert_eq!(join(&s(&["a/", "/b", "c"])), "/b/c");
        assert_eq!(
            relpath("/etc/ssh/x", "/etc/ansible").expect("ok"),
            "../ssh/x"
        );
        assert_eq!(relpath("/a", "/a").expect("ok"), ".");
        assert_eq!(
            commonpath(&s(&["/a/b/c", "/a/b/d", "/a/bc"])).expect("ok"),
            "/a"
        );
        assert_eq!(win_splitdrive("C:\\x\\y"), ("C:".into(), "\\x\\y".into()));
        assert_eq!(
            win_splitdrive("\\\\srv\\share\\dir"),
            ("\\\\srv\\share".into(), "\\dir".into())
        );
    }
}
