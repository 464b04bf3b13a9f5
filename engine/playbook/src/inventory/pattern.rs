//! Host patterns (`web:&prod:!db`, `web*`, `~web\d+`, `db[0:2]`, `@file`): the hosts a play or `--limit`
//! selects, in Ansible's order.
//!
//! Hand-written after ansible's `InventoryManager.get_hosts` (`inventory/manager.py`): split on `,` (or on
//! `:` when there is no comma and the whole is not an address such as `::1`), replace each `@file` term by
//! the file's lines (`InventoryManager.subset`), union terms in order, then the `&` intersections, then the
//! `!` exclusions. Each term is a host, a group (all its hosts, children included), an fnmatch glob over
//! both, or `~` and a Python regular expression matched at the start of the name (`re.match`: `~web\d`
//! matches `web1x`); a term other than a regex may end in a subscript (`web[0]`, `web[-1]`, `web[1:3]`
//! inclusive, `web[1:]`) applied to the matched hosts.

use super::address::parse_address;
use super::{Inventory, InventoryError, LOCALHOST};
use std::collections::HashSet;
use std::path::Path;

/// The names of the hosts `pattern` selects, and the terms that match no host or group (once each; not
/// `all`), which ansible-core warns about ("Could not match supplied host pattern, ignoring: ...").
pub(super) fn select(
    inv: &Inventory,
    pattern: &str,
) -> Result<(Vec<String>, Vec<String>), InventoryError> {
    let mut hosts: Vec<&str> = Vec::new();
    let mut unmatched: Vec<String> = Vec::new();
    for term in order_patterns(expand_limit_files(split_host_pattern(pattern))?) {
        // A term that names a host is that host, even when a group has the same name.
        if let Some((name, _)) = inv.hosts.get_key_value(term.as_str()) {
            hosts.push(name);
            continue;
        }
        let matched = match_one(inv, &term)?;
        let bare = term.trim_start_matches(['!', '&']);
        if matched.is_empty()
            && bare != "all"
            && !inv.groups.contains_key(bare)
            && !unmatched.iter().any(|u| u == bare)
        {
            unmatched.push(bare.to_string());
        }
        if let Some(kind @ ('!' | '&')) = term.chars().next() {
            let matched: HashSet<&str> = matched.into_iter().collect();
            hosts.retain(|h| matched.contains(h) == (kind == '&'));
        } else {
            hosts.extend(matched);
        }
    }
    let mut seen = HashSet::new();
    let hosts = hosts
        .into_iter()
        .filter(|h| seen.insert(*h))
        .map(str::to_string)
        .collect();
    Ok((hosts, unmatched))
}

/// Ansible's `split_host_pattern`.
fn split_host_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern, true).is_some() {
        // `::1`, `fe80::1` or `web[1:3]`: colons that do not separate terms.
        vec![pattern.to_string()]
    } else {
        colon_terms(pattern)
    };
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Runs of characters other than blanks, `:`, `[` and `]`, where a whole `[...]` counts as one character.
fn colon_terms(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '['
            && let Some(close) = chars[i + 1..].iter().position(|c| *c == ']')
        {
            current.extend(&chars[i..=i + 1 + close]);
            i += close + 2;
            continue;
        }
        if c.is_whitespace() || matches!(c, ':' | '[' | ']') {
            terms.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
        i += 1;
    }
    terms.push(current);
    terms.retain(|t| !t.is_empty());
    terms
}

/// Replaces each `@path` term by the lines of that file, stripped, one pattern per line (not split again).
fn expand_limit_files(terms: Vec<String>) -> Result<Vec<String>, InventoryError> {
    let mut out = Vec::new();
    for term in terms {
        let Some(path) = term.strip_prefix('@') else {
            out.push(term);
            continue;
        };
        let file = Path::new(path);
        if !file.exists() {
            return Err(InventoryError::LimitFileMissing { path: path.into() });
        }
        if !file.is_file() {
            return Err(InventoryError::LimitFileIsDirectory { path: path.into() });
        }
        let text = std::fs::read_to_string(file).map_err(|source| InventoryError::Read {
            path: path.into(),
            source,
        })?;
        out.extend(text.split('\n').map(|line| line.trim().to_string()));
    }
    Ok(out)
}

/// Unions first, then intersections, then exclusions; only `&`/`!` terms means they apply to `all`.
fn order_patterns(terms: Vec<String>) -> Vec<String> {
    let (mut regular, mut intersect, mut exclude) = (Vec::new(), Vec::new(), Vec::new());
    for term in terms {
        match term.chars().next() {
            Some('!') => exclude.push(term),
            Some('&') => intersect.push(term),
            Some(_) => regular.push(term),
            None => {}
        }
    }
    if regular.is_empty() {
        regular.push("all".to_string());
    }
    regular.extend(intersect);
    regular.extend(exclude);
    regular
}

/// The hosts one term matches, ignoring its `&` or `!`, with its subscript applied.
fn match_one<'a>(inv: &'a Inventory, term: &str) -> Result<Vec<&'a str>, InventoryError> {
    let full = term.strip_prefix(['&', '!']).unwrap_or(term);
    // A regex keeps its brackets: `~web[1]` is a character class, not a subscript.
    let (expr, subscript) = if full.starts_with('~') {
        (full, None)
    } else {
        split_subscript(full)
    };
    let hosts = enumerate(inv, expr)?;
    let Some((start, end)) = subscript else {
        return Ok(hosts);
    };
    if hosts.is_empty() {
        return Ok(hosts);
    }
    let len = i64::try_from(hosts.len()).unwrap_or(i64::MAX);
    let picked = match end {
        // Ansible treats an end of 0 like no end: `[2:0]` is host 2 alone.
        Some(end) if end != 0 => {
            let end = if end == -1 { len - 1 } else { end };
            let from = usize::try_from(start.clamp(0, len)).unwrap_or(0);
            let to = usize::try_from((end + 1).clamp(0, len)).unwrap_or(0);
            hosts.get(from..to.max(from)).map(<[&str]>::to_vec)
        }
        _ => {
            let index = if start < 0 { len + start } else { start };
            usize::try_from(index)
                .ok()
                .and_then(|i| hosts.get(i))
                .map(|h| vec![*h])
        }
    };
    picked.ok_or_else(|| InventoryError::Subscript {
        pattern: full.to_string(),
    })
}

/// `web[1]` → (web, (1, None)); `web[1:3]` → (web, (1, Some(3))); `web[1:]` → (web, (1, Some(-1))).
fn split_subscript(expr: &str) -> (&str, Option<(i64, Option<i64>)>) {
    let number = |s: &str| s.parse::<i64>().unwrap_or(i64::MAX);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(body) = expr.strip_suffix(']') else {
        return (expr, None);
    };
    let Some(open) = body.rfind('[').filter(|i| *i > 0) else {
        return (expr, None);
    };
    let (head, inner) = (&body[..open], &body[open + 1..]);
    if digits(inner.strip_prefix('-').unwrap_or(inner)) {
        return (head, Some((number(inner), None)));
    }
    if let Some(sep) = inner.find([':', '-'])
        && digits(&inner[..sep])
        && (inner[sep + 1..].is_empty() || digits(&inner[sep + 1..]))
    {
        let end = &inner[sep + 1..];
        let end = if end.is_empty() { -1 } else { number(end) };
        return (head, Some((number(&inner[..sep]), Some(end))));
    }
    (expr, None)
}

/// Ansible's `_enumerate_matches`: matching groups' hosts, then matching hosts when no group matched or the
/// pattern is a regex or looks like a glob or a dotted name, then the implicit localhost.
fn enumerate<'a>(inv: &'a Inventory, pattern: &str) -> Result<Vec<&'a str>, InventoryError> {
    let matcher = Matcher::new(pattern)?;
    let mut results = Vec::new();
    let mut any_group = false;
    for name in inv.groups.keys().filter(|g| matcher.matches(g)) {
        any_group = true;
        results.extend(inv.hosts_of(name));
    }
    if !any_group || pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']) {
        results.extend(
            inv.hosts
                .keys()
                .filter(|h| matcher.matches(h))
                .map(String::as_str),
        );
    }
    if results.is_empty()
        && LOCALHOST.contains(&pattern)
        && let Some(host) = inv.host(pattern)
    {
        results.push(&host.name);
    }
    Ok(results)
}

/// How one term matches names: a `~` regex or a glob.
enum Matcher {
    Glob(Glob),
    Regex(regex::Regex),
}

impl Matcher {
    /// Python's `re.match` anchors at the start only, so the regex is wrapped in `^(?:...)`. Python syntax the
    /// regex crate lacks (look-around, back-references) is an invalid pattern, as a bad regex is in Ansible.
    fn new(pattern: &str) -> Result<Matcher, InventoryError> {
        let Some(regex) = pattern.strip_prefix('~') else {
            return Ok(Matcher::Glob(Glob::new(pattern)));
        };
        regex::Regex::new(&format!("^(?:{regex})"))
            .map(Matcher::Regex)
            .map_err(|e| InventoryError::InvalidPattern {
                pattern: pattern.to_string(),
                source: Box::new(e),
            })
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Glob(glob) => glob.matches(name),
            Matcher::Regex(regex) => regex.is_match(name),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Literal(char),
    AnyChar,
    AnyRun,
    Class {
        negate: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A shell glob as Python's `fnmatch.translate` reads it: `*`, `?`, `[abc]`, `[!a-z]`; a `[` without `]`
/// is literal. Matching is case-sensitive and whole-name.
pub(crate) struct Glob(Vec<Token>);

impl Glob {
    pub(crate) fn new(pattern: &str) -> Glob {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '*' => {
                    if tokens.last() != Some(&Token::AnyRun) {
                        tokens.push(Token::AnyRun);
                    }
                }
                '?' => tokens.push(Token::AnyChar),
                '[' => {
                    let mut j = i;
                    if chars.get(j) == Some(&'!') {
                        j += 1;
                    }
                    if chars.get(j) == Some(&']') {
                        j += 1;
                    }
                    match chars[j.min(chars.len())..].iter().position(|c| *c == ']') {
                        None => tokens.push(Token::Literal('[')),
                        Some(offset) => {
                            let stuff = &chars[i..j + offset];
                            i = j + offset + 1;
                            let negate = stuff.first() == Some(&'!');
                            let body = if negate { &stuff[1..] } else { stuff };
                            let mut ranges = Vec::new();
                            let mut k = 0;
                            while k < body.len() {
                                if k + 2 < body.len() && body[k + 1] == '-' {
                                    ranges.push((body[k], body[k + 2]));
                                    k += 3;
                                } else {
                                    ranges.push((body[k], body[k]));
                                    k += 1;
                                }
                            }
                            tokens.push(Token::Class { negate, ranges });
                        }
                    }
                }
                _ => tokens.push(Token::Literal(c)),
            }
        }
        Glob(tokens)
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let one = |token: &Token, c: char| match token {
            Token::Literal(l) => *l == c,
            Token::AnyChar => true,
            Token::Class { negate, ranges } => {
                ranges.iter().any(|(a, b)| (*a..=*b).contains(&c)) != *negate
            }
            Token::AnyRun => false,
        };
        // Classic glob matching: on a mismatch, let the last `*` swallow one more character.
        let (mut t, mut n) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while n < name.len() {
            match self.0.get(t) {
                Some(Token::AnyRun) => {
                    star = Some((t, n));
                    t += 1;
                }
                Some(token) if one(token, name[n]) => {
                    t += 1;
                    n += 1;
                }
                _ => match star {
                    Some((st, sn)) => {
                        star = Some((st, sn + 1));
                        t = st + 1;
                        n = sn + 1;
                    }
                    None => return false,
                },
            }
        }
        self.0[t..].iter().all(|token| *token == Token::AnyRun)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::load_text;
    use super::*;

    fn select(pattern: &str) -> Vec<String> {
        let inv = load_text(
            "ini",
            "[web]\nweb1\nweb2\nshared\n[db]\ndb1\nshared\n[prod:children]\nweb\ndb\n[stage]\nweb2\nst1\n[other]\nx.example.com\n",
        );
        inv.select(pattern).expect("valid pattern")
    }

    #[test]
    fn all_and_star_give_every_host_in_group_order() {
        // Ansible walks the group tree breadth first: top-level groups (stage, other) come before the
        // children of prod, whatever the order of the file.
        let everything = ["web2", "st1", "x.example.com", "web1", "shared", "db1"];
        assert_eq!(select("all"), everything);
        assert_eq!(select("*"), everything);
        assert_eq!(select(""), everything);
    }

    #[test]
    fn unions_keep_first_appearance_order() {
        assert_eq!(select("db:web"), ["db1", "shared", "web1", "web2"]);
        assert_eq!(select("db,web1,db1"), ["db1", "shared", "web1"]);
        assert_eq!(select("st1, web1"), ["st1", "web1"]);
        assert_eq!(select("nothing,web1"), ["web1"]);
        assert!(select("nothing").is_empty());
    }

    #[test]
    fn intersections_then_exclusions_apply_after_unions() {
        assert_eq!(select("prod:&stage"), ["web2"]);
        assert_eq!(select("!db:web"), ["web1", "web2"]);
        assert_eq!(select("prod:!web"), ["db1"]);
        assert_eq!(select("&stage"), ["web2", "st1"]);
        assert_eq!(select("!web"), ["st1", "x.example.com", "db1"]);
        assert_eq!(select("web:&prod:!shared"), ["web1", "web2"]);
    }

    #[test]
    fn wildcards_match_groups_and_hosts() {
        assert_eq!(select("web*"), ["web1", "web2", "shared"]);
        assert_eq!(select("web?"), ["web1", "web2"]);
        assert_eq!(select("*.example.com"), ["x.example.com"]);
        assert_eq!(select("[ds]*"), ["db1", "shared", "web2", "st1"]);
        assert_eq!(select("s[!x]1"), ["st1"]);
        assert!(select("s[!t]1").is_empty());
    }

    #[test]
    fn subscripts_pick_from_a_group() {
        assert_eq!(select("web[0]"), ["web1"]);
        assert_eq!(select("web[-1]"), ["shared"]);
        assert_eq!(select("web[1:]"), ["web2", "shared"]);
        assert_eq!(select("web[0:1]"), ["web1", "web2"]);
        let inv = load_text("ini", "[web]\nweb1\n");
        assert!(matches!(
            inv.select("web[5]"),
            Err(InventoryError::Subscript { .. })
        ));
    }

    /// The inventory of `ansible -i inv PATTERN --list-hosts` runs against ansible-core 2.19.
    fn regex_inventory() -> Inventory {
        load_text(
            "ini",
            "[web]\nweb1\nweb2\nweb3x\nweb4\n[db]\ndb1\nxweb5\n[webdb:children]\nweb\ndb\n",
        )
    }

    #[test]
    fn regex_patterns_match_at_the_start_of_group_and_host_names() {
        let inv = regex_inventory();
        let select = |p: &str| inv.select(p).expect("valid pattern");
        let web = ["web1", "web2", "web3x", "web4"];
        assert_eq!(select("~web\\d+"), web);
        assert!(select("~eb").is_empty(), "re.match, not re.search");
        assert_eq!(
            select("~.*eb"),
            ["web1", "web2", "web3x", "web4", "db1", "xweb5"]
        );
        assert_eq!(select("~web[0-9]$"), ["web1", "web2", "web4"]);
        assert_eq!(
            select("~(db|web)$"),
            ["web1", "web2", "web3x", "web4", "db1", "xweb5"]
        );
        assert_eq!(select("~web[1]"), ["web1"], "brackets stay in a regex");
        assert_eq!(
            select("~^w"),
            ["web1", "web2", "web3x", "web4", "db1", "xweb5"]
        );
        assert_eq!(select("~web\\d:!web2"), ["web1", "web3x", "web4"]);
        assert!(matches!(
            inv.select("~web("),
            Err(InventoryError::InvalidPattern { .. })
        ));
    }

    #[test]
    fn subscripts_are_inclusive_and_checked_against_ansible() {
        let inv = regex_inventory();
        let select = |p: &str| inv.select(p).expect("valid pattern");
        assert_eq!(select("web[1:3]"), ["web2", "web3x", "web4"]);
        assert_eq!(select("web[1:]"), ["web2", "web3x", "web4"]);
        assert_eq!(select("web[-1]"), ["web4"]);
        assert_eq!(select("web[2:9]"), ["web3x", "web4"]);
        assert!(select("web[7:9]").is_empty());
        assert_eq!(select("web*[0]"), ["web1"]);
        assert_eq!(select("all[0]"), ["web1"]);
        let e = inv.select("web[5]").expect_err("past the end");
        assert_eq!(
            e.to_string(),
            "No hosts matched the subscripted pattern 'web[5]'"
        );
    }

    #[test]
    fn limit_files_give_one_pattern_per_line() {
        // `ansible -i inv all --limit @lim --list-hosts` gives web1, web3x, db1: `web2,web4` is one
        // (unmatched) pattern, `!web2` excludes, blank lines are ignored.
        let inv = regex_inventory();
        let dir = super::super::tests::scratch_dir();
        let lim = dir.join("lim");
        std::fs::write(&lim, "web1\n\n  db1  \n!web2\nweb2,web4\nweb[1:2]\n").expect("write");
        let lim = lim.display().to_string();
        let select = |p: &str| inv.select(p).expect("valid pattern");
        assert_eq!(select(&format!("@{lim}")), ["web1", "db1", "web3x"]);
        assert_eq!(
            select(&format!("web4,@{lim}")),
            ["web4", "web1", "db1", "web3x"]
        );
        assert_eq!(select(&format!("web1:@{lim}")), ["web1", "db1", "web3x"]);
        let e = inv.select("@/no/such/file").expect_err("missing");
        assert_eq!(e.to_string(), "Unable to find limit file /no/such/file");
        let e = inv
            .select(&format!("@{}", dir.display()))
            .expect_err("directory");
        assert!(
            e.to_string().contains("must be a file, not a directory"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ipv6_and_implicit_localhost() {
        let inv = load_text("ini", "[v6]\nfe80::1\n::2\n");
        assert_eq!(inv.select("fe80::1").expect("valid"), ["fe80::1"]);
        assert_eq!(inv.select("::2").expect("valid"), ["::2"]);
        assert_eq!(inv.select("localhost").expect("valid"), ["localhost"]);
        assert_eq!(
            inv.select("::1,v6").expect("valid"),
            ["::1", "fe80::1", "::2"]
        );
        assert_eq!(inv.select("all").expect("valid"), ["fe80::1", "::2"]);
    }

    #[test]
    fn pattern_splitting_follows_ansible() {
        assert_eq!(split_host_pattern("a:b:!c"), ["a", "b", "!c"]);
        assert_eq!(split_host_pattern("a[1:2]:b"), ["a[1:2]", "b"]);
        assert_eq!(split_host_pattern("web[1:2]"), ["web[1:2]"]);
        assert_eq!(split_host_pattern(" a , b "), ["a", "b"]);
        assert_eq!(split_host_pattern("::1"), ["::1"]);
        assert!(Glob::new("a*b?c").matches("axxbyc"));
        assert!(!Glob::new("a*b").matches("ab_"));
        assert!(Glob::new("a[b").matches("a[b"));
    }
}
