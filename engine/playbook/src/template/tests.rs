//! Ansible's Jinja tests: task results (`failed`, `changed`, ...), regular expressions (`match`, `search`,
//! `regex`), sets (`subset`, `superset`, `contains`), `version` comparisons and files on the controller.

use super::filters::py_str;
use super::invalid;
use super::re::{py_match_regex, py_regex};
use minijinja::value::{Kwargs, Value as JValue, ValueKind};
use minijinja::{Environment, Error};
use std::cmp::Ordering;
use std::path::Path;

type PathCheck = fn(&Path) -> bool;

pub(super) fn register(env: &mut Environment<'static>) {
    for (name, key, negate) in [
        ("failed", "failed", false),
        ("failure", "failed", false),
        ("succeeded", "failed", true),
        ("success", "failed", true),
        ("successful", "failed", true),
        ("skipped", "skipped", false),
        ("skip", "skipped", false),
        ("unreachable", "unreachable", false),
        ("reachable", "unreachable", true),
    ] {
        env.add_test(name, move |v: JValue| -> Result<bool, Error> {
            Ok(result_flag(&v, key, name)? != negate)
        });
    }
    for name in ["changed", "change"] {
        env.add_test(name, move |v: JValue| -> Result<bool, Error> {
            expect_dict(&v, name)?;
            let changed = v.get_attr("changed")?;
            if !changed.is_undefined() {
                return Ok(changed.is_true());
            }
            // Loop results carry `changed` per item.
            let results = v.get_attr("results")?;
            if results.kind() != ValueKind::Seq {
                return Ok(false);
            }
            Ok(results
                .try_iter()?
                .any(|r| r.get_attr("changed").is_ok_and(|c| c.is_true())))
        });
    }
    for (name, kind) in [
        ("match", RegexTest::Match),
        ("search", RegexTest::Search),
        ("regex", RegexTest::Search),
    ] {
        env.add_test(
            name,
            move |v: JValue, pattern: Option<String>, kwargs: Kwargs| -> Result<bool, Error> {
                regex_test(&v, pattern.as_deref().unwrap_or_default(), kind, &kwargs)
            },
        );
    }
    for name in ["subset", "issubset"] {
        env.add_test(name, |a: JValue, b: JValue| -> Result<bool, Error> {
            let b: Vec<JValue> = b.try_iter()?.collect();
            Ok(a.try_iter()?.all(|x| b.contains(&x)))
        });
    }
    for name in ["superset", "issuperset"] {
        env.add_test(name, |a: JValue, b: JValue| -> Result<bool, Error> {
            let a: Vec<JValue> = a.try_iter()?.collect();
            Ok(b.try_iter()?.all(|x| a.contains(&x)))
        });
    }
    env.add_test(
        "contains",
        |seq: JValue, value: JValue| -> Result<bool, Error> {
            match (seq.as_str(), value.as_str()) {
                (Some(s), Some(v)) => Ok(s.contains(v)),
                _ => Ok(seq.try_iter()?.any(|x| x == value)),
            }
        },
    );
    for name in ["version", "version_compare"] {
        env.add_test(name, version_test);
    }
    env.add_test(
        "truthy",
        |v: JValue, kwargs: Kwargs| -> Result<bool, Error> { truthy_test(&v, &kwargs) },
    );
    env.add_test(
        "falsy",
        |v: JValue, kwargs: Kwargs| -> Result<bool, Error> { Ok(!truthy_test(&v, &kwargs)?) },
    );
    env.add_test("any", |v: JValue| -> Result<bool, Error> {
        Ok(v.try_iter()?.any(|x| x.is_true()))
    });
    env.add_test("all", |v: JValue| -> Result<bool, Error> {
        Ok(v.try_iter()?.all(|x| x.is_true()))
    });
    env.add_test("nan", |v: JValue| f64::try_from(v).is_ok_and(f64::is_nan));
    env.add_test("isnan", |v: JValue| f64::try_from(v).is_ok_and(f64::is_nan));
    // Async results: a task that is not async counts as started and finished (Ansible warns).
    for name in ["started", "finished"] {
        env.add_test(name, move |v: JValue| -> Result<bool, Error> {
            expect_dict(&v, name)?;
            let flag = v.get_attr(name)?;
            Ok(flag.is_undefined() || flag.is_true())
        });
    }
    env.add_test("timedout", |v: JValue| -> Result<bool, Error> {
        expect_dict(&v, "timedout")?;
        let timedout = v.get_attr("timedout")?;
        Ok(timedout.is_true() && timedout.get_attr("period").is_ok_and(|p| p.is_true()))
    });
    env.add_test("callable", |v: JValue| {
        v.kind() == ValueKind::Plain && !v.is_kwargs()
    });
    // Ansible's `omit` is a placeholder object, neither text nor iterable; ours is a string the executor
    // recognises, which these tests must not take for text.
    env.add_test("string", |v: JValue| {
        v.kind() == ValueKind::String && !super::is_omit(&v)
    });
    // Jinja's: what Python's `iter()` takes (not None), and what has a length and items (text and mappings
    // too).
    env.add_test("iterable", |v: JValue| {
        !v.is_none() && v.try_iter().is_ok() && !super::is_omit(&v)
    });
    env.add_test("sequence", |v: JValue| {
        matches!(
            v.kind(),
            ValueKind::String | ValueKind::Seq | ValueKind::Map
        ) && !super::is_omit(&v)
    });
    for name in ["same_file", "is_same_file"] {
        env.add_test(name, |a: JValue, b: JValue| {
            let id = |v: &JValue| {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata(py_str(v))
                    .ok()
                    .map(|m| (m.dev(), m.ino()))
            };
            matches!((id(&a), id(&b)), (Some(x), Some(y)) if x == y)
        });
    }
    // Python's urlparse takes any text: a scheme is only checked against `schemes` when given.
    env.add_test("uri", |v: JValue, schemes: Option<Vec<String>>| {
        is_uri(&v, schemes.as_deref())
    });
    env.add_test("url", |v: JValue, schemes: Option<Vec<String>>| {
        is_uri(&v, schemes.as_deref()) && {
            let parts = super::text::url_parts(&py_str(&v));
            !parts.netloc.is_empty() || parts.scheme == "file"
        }
    });
    env.add_test("urn", |v: JValue| is_uri(&v, Some(&["urn".to_string()])));
    env.add_test("vault_encrypted", |v: JValue| {
        super::vault_text(&super::jvalue_to_json(&v).unwrap_or_default()).is_some()
            || v.as_str()
                .is_some_and(|s| s.trim_start().starts_with("$ANSIBLE_VAULT;"))
    });
    env.add_test("vaulted_file", |v: JValue| {
        std::fs::read(py_str(&v)).is_ok_and(|bytes| bytes.starts_with(b"$ANSIBLE_VAULT;"))
    });
    let files: [(&str, PathCheck); 12] = [
        ("file", |p| p.is_file()),
        ("is_file", |p| p.is_file()),
        ("directory", |p| p.is_dir()),
        ("is_dir", |p| p.is_dir()),
        ("exists", |p| p.exists()),
        ("link", |p| p.is_symlink()),
        ("is_link", |p| p.is_symlink()),
        ("link_exists", |p| p.symlink_metadata().is_ok()),
        ("abs", |p| p.is_absolute()),
        ("is_abs", |p| p.is_absolute()),
        ("mount", is_mount),
        ("is_mount", is_mount),
    ];
    for (name, check) in files {
        env.add_test(name, move |v: JValue| {
            // `exists` expands `~` as Ansible's does (os.path.exists after expanduser); the others do not.
            let path = py_str(&v);
            let path = if name == "exists" {
                super::filters::expanduser(&path)
            } else {
                path
            };
            check(Path::new(&path))
        });
    }
}

fn is_uri(v: &JValue, schemes: Option<&[String]>) -> bool {
    let Some(text) = v.as_str() else {
        return false;
    };
    match schemes {
        Some(schemes) if !schemes.is_empty() => {
            schemes.contains(&super::text::url_parts(text).scheme)
        }
        _ => true,
    }
}

fn expect_dict(v: &JValue, name: &str) -> Result<(), Error> {
    if v.kind() == ValueKind::Map {
        Ok(())
    } else {
        Err(invalid(format!("The '{name}' test expects a dictionary")))
    }
}

fn result_flag(value: &JValue, key: &str, name: &str) -> Result<bool, Error> {
    let test = match name {
        "succeeded" | "success" | "successful" => "failed",
        "reachable" => "unreachable",
        other => other,
    };
    expect_dict(value, test)?;
    Ok(value
        .get_attr(key)
        .is_ok_and(|v| !v.is_undefined() && v.is_true()))
}

fn truthy_test(v: &JValue, kwargs: &Kwargs) -> Result<bool, Error> {
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    if convert && let Some(s) = v.as_str() {
        let lower = s.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "yes" | "on" | "1" | "true" | "y" | "t" | "no" | "off" | "0" | "false" | "n" | "f"
        ) {
            return Ok(super::filters::ansible_bool(v.clone()));
        }
    }
    Ok(v.is_true())
}

#[derive(Clone, Copy)]
enum RegexTest {
    Match,
    Search,
}

fn regex_test(v: &JValue, pattern: &str, kind: RegexTest, kwargs: &Kwargs) -> Result<bool, Error> {
    let flag = |name: &str| -> Result<bool, Error> {
        Ok(kwargs
            .get::<Option<JValue>>(name)?
            .is_some_and(|v| v.is_true()))
    };
    let (ignorecase, multiline) = (flag("ignorecase")?, flag("multiline")?);
    kwargs.assert_all_used()?;
    let text = py_str(v);
    let re = match kind {
        RegexTest::Match => py_match_regex(pattern, ignorecase, multiline)?,
        RegexTest::Search => py_regex(pattern, ignorecase, multiline)?,
    };
    Ok(re.is_match(&text))
}

fn is_mount(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let (Ok(meta), Some(parent)) = (p.symlink_metadata(), p.join("..").canonicalize().ok()) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    match parent.metadata() {
        Ok(up) => up.dev() != meta.dev() || up.ino() == meta.ino(),
        Err(_) => false,
    }
}

/// `version(other, operator='eq', strict=False, version_type=None)`.
fn version_test(
    value: JValue,
    other: JValue,
    op: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let op = match op {
        Some(op) => op,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let strict = kwargs.get::<Option<bool>>("strict")?;
    let version_type: Option<String> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    if strict.is_some() && version_type.is_some() {
        return Err(invalid("Cannot specify both 'strict' and 'version_type'"));
    }
    let (a, b) = (py_str(&value), py_str(&other));
    if a.is_empty() || !value.is_true() {
        return Err(invalid("Input version value cannot be empty"));
    }
    if b.is_empty() {
        return Err(invalid(
            "Version parameter to compare against cannot be empty",
        ));
    }
    let kind = match (strict, version_type.as_deref()) {
        (Some(true), _) => "strict",
        (_, Some(t)) => t,
        _ => "loose",
    };
    if !matches!(kind, "loose" | "strict" | "semver" | "semantic" | "pep440") {
        return Err(invalid(format!(
            "Invalid version type ({kind}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
        )));
    }
    // The operator is checked before the versions are read, as Ansible does.
    let wanted: &[Ordering] = match op.as_str() {
        "==" | "=" | "eq" => &[Ordering::Equal],
        "!=" | "<>" | "ne" => &[Ordering::Less, Ordering::Greater],
        "<" | "lt" => &[Ordering::Less],
        "<=" | "le" => &[Ordering::Less, Ordering::Equal],
        ">" | "gt" => &[Ordering::Greater],
        ">=" | "ge" => &[Ordering::Greater, Ordering::Equal],
        other => {
            return Err(invalid(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            )));
        }
    };
    let ord = match kind {
        "loose" => loose_cmp(&a, &b)?,
        "strict" => strict_version(&a)?.cmp(&strict_version(&b)?),
        "semver" | "semantic" => semver_cmp(&a, &b)?,
        _ => return Err(invalid("The pep440 version_type is not supported here")),
    };
    Ok(wanted.contains(&ord))
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Loose {
    Num(u128),
    Text(String),
}

/// distutils' `LooseVersion`: runs of digits, runs of lowercase letters and anything else between, dots dropped.
fn loose_parts(v: &str) -> Vec<Loose> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let class = |c: char| {
        if c.is_ascii_digit() {
            0
        } else if c.is_ascii_lowercase() {
            1
        } else if c == '.' {
            2
        } else {
            3
        }
    };
    let flush = |s: &mut String, parts: &mut Vec<Loose>| {
        if !s.is_empty() && s != "." {
            parts.push(
                s.parse()
                    .map(Loose::Num)
                    .unwrap_or_else(|_| Loose::Text(s.clone())),
            );
        }
        s.clear();
    };
    let mut last = None;
    for c in v.chars() {
        let k = class(c);
        // Digits and lowercase runs are tokens; a dot stands alone; other characters run together.
        if last != Some(k) || k == 2 {
            flush(&mut current, &mut parts);
        }
        current.push(c);
        last = Some(k);
    }
    flush(&mut current, &mut parts);
    parts
}

fn loose_cmp(a: &str, b: &str) -> Result<Ordering, Error> {
    let (a, b) = (loose_parts(a), loose_parts(b));
    for (x, y) in a.iter().zip(&b) {
        match (x, y) {
            (Loose::Num(_), Loose::Text(_)) | (Loose::Text(_), Loose::Num(_)) => {
                let (l, r) = if matches!(x, Loose::Num(_)) {
                    ("int", "str")
                } else {
                    ("str", "int")
                };
                return Err(invalid(format!(
                    "Version comparison failed: '<' not supported between instances of '{l}' and '{r}'"
                )));
            }
            _ if x != y => return Ok(x.cmp(y)),
            _ => {}
        }
    }
    Ok(a.len().cmp(&b.len()))
}

/// Major, minor, patch, then (0 for a pre-release or 1, its letter, its number).
type StrictVersion = (u64, u64, u64, (u8, char, u64));

/// distutils' `StrictVersion`: `N.N[.N][{a|b}N]`; a release sorts after its pre-releases.
fn strict_version(v: &str) -> Result<StrictVersion, Error> {
    let bad = || {
        invalid(format!(
            "Version comparison failed: invalid version number '{v}'"
        ))
    };
    let (release, pre) = match v.find(['a', 'b']) {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    let nums: Vec<&str> = release.split('.').collect();
    if !(2..=3).contains(&nums.len())
        || nums
            .iter()
            .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let n = |i: usize| {
        nums.get(i)
            .map_or(Ok(0), |s| s.parse::<u64>().map_err(|_| bad()))
    };
    let pre = match pre {
        None => (1, 'z', 0),
        Some(p) => {
            let (tag, num) = p.split_at(1);
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            (
                0,
                tag.chars().next().unwrap_or('a'),
                num.parse().map_err(|_| bad())?,
            )
        }
    };
    Ok((n(0)?, n(1)?, n(2)?, pre))
}

/// Semantic Versioning 2.0 precedence; build metadata is ignored.
fn semver_cmp(a: &str, b: &str) -> Result<Ordering, Error> {
    fn parse(v: &str) -> Result<(Vec<u64>, Option<Vec<String>>), Error> {
        let v = v.split('+').next().unwrap_or_default();
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p.split('.').map(str::to_string).collect())),
            None => (v, None),
        };
        let nums: Result<Vec<u64>, _> = core.split('.').map(str::parse).collect();
        match nums {
            Ok(n) if n.len() == 3 => Ok((n, pre)),
            _ => Err(invalid(format!(
                "Version comparison failed: invalid semantic version '{v}'"
            ))),
        }
    }
    let ((an, ap), (bn, bp)) = (parse(a)?, parse(b)?);
    Ok(an.cmp(&bn).then_with(|| match (ap, bp) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            for (p, q) in x.iter().zip(&y) {
                let ord = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => p.cmp(q),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            x.len().cmp(&y.len())
        }
    }))
}
