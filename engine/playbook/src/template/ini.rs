//! The `ini` and `csvfile` lookups' readers: Python's `configparser` (default options, `BasicInterpolation`)
//! and `csv.reader` with the `excel` dialect, for the cases those lookups meet.

/// A section's options in the order the file gives them; `None` is a valueless option (`allow_no_value`).
type Options = Vec<(String, Option<String>)>;

/// A parsed INI file: the `[DEFAULT]` options and the other sections in order.
#[derive(Debug, Default)]
pub(super) struct Ini {
    defaults: Options,
    sections: Vec<(String, Options)>,
}

/// Sets `key` in `options`, keeping its place when it is there.
fn set(options: &mut Options, key: String, value: Option<String>) -> usize {
    match options.iter().position(|(k, _)| *k == key) {
        Some(i) => {
            options[i].1 = value;
            i
        }
        None => {
            options.push((key, value));
            options.len() - 1
        }
    }
}

/// A multi-line value being read: its section (None for DEFAULT), its option's index and its lines.
type Pending = Vec<(Option<usize>, usize, Vec<String>)>;

/// Adds a line to the value being read of the section's option.
fn add_line(pending: &mut Pending, section: Option<usize>, option: usize, line: String) {
    if let Some(p) = pending
        .iter_mut()
        .rev()
        .find(|(s, o, _)| *s == section && *o == option)
    {
        p.2.push(line);
    }
}

impl Ini {
    /// Parses `text` as `configparser.ConfigParser.read_file` does: `[section]` headers, `key = value` and
    /// `key: value`, whole-line `#`/`;` comments, continuation lines indented deeper than their key, keys
    /// lower-cased unless `case_sensitive`, duplicates refused.
    pub(super) fn parse(
        text: &str,
        name: &str,
        allow_no_value: bool,
        case_sensitive: bool,
    ) -> Result<Ini, String> {
        let mut ini = Ini::default();
        // The section being read (None before any header; Some(None) for DEFAULT) and its last option.
        let mut current: Option<Option<usize>> = None;
        let mut option: Option<usize> = None;
        // The multi-line values being built, joined when the file is read.
        let mut pending: Pending = Vec::new();
        let mut added: Vec<(String, String)> = Vec::new();
        let mut sections_added: Vec<String> = Vec::new();
        let mut indent_level = 0usize;
        let mut bad_lines = Vec::new();
        for (lineno, line) in text.lines().enumerate() {
            let lineno = lineno + 1;
            let stripped = line.trim();
            let comment = stripped.starts_with('#') || stripped.starts_with(';');
            let value = if comment { "" } else { stripped };
            if value.is_empty() {
                // An empty line belongs to the value being read (configparser's empty_lines_in_values).
                if let (false, Some(section), Some(i)) = (comment, current, option) {
                    add_line(&mut pending, section, i, String::new());
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if let (Some(section), Some(i)) = (current, option)
                && indent > indent_level
            {
                add_line(&mut pending, section, i, value.to_string());
                continue;
            }
            indent_level = indent;
            if value.starts_with('[') && value.len() > 2 && value.ends_with(']') {
                let header = &value[1..value.len() - 1];
                option = None;
                if header == "DEFAULT" {
                    current = Some(None);
                    continue;
                }
                if sections_added.iter().any(|s| s == header) {
                    return Err(format!(
                        "While reading from '{name}' [line {lineno:2}]: section '{header}' already exists"
                    ));
                }
                sections_added.push(header.to_string());
                let index = match ini.sections.iter().position(|(s, _)| s == header) {
                    Some(i) => i,
                    None => {
                        ini.sections.push((header.to_string(), Vec::new()));
                        ini.sections.len() - 1
                    }
                };
                current = Some(Some(index));
                continue;
            }
            let Some(section) = current else {
                return Err(format!(
                    "File contains no section headers.\nfile: '{name}', line: {lineno}\n'{line}\\n'"
                ));
            };
            let delimiter = value.find(['=', ':']);
            let (key, val) = match delimiter {
                Some(at) => (
                    value[..at].trim_end(),
                    Some(value[at + 1..].trim().to_string()),
                ),
                None if allow_no_value => (value, None),
                None => {
                    bad_lines.push(format!("[line {lineno:2}]: '{line}\\n'"));
                    continue;
                }
            };
            if key.is_empty() {
                bad_lines.push(format!("[line {lineno:2}]: '{line}\\n'"));
            }
            let key = if case_sensitive {
                key.to_string()
            } else {
                key.to_lowercase()
            };
            let section_name = match section {
                Some(i) => ini.sections[i].0.clone(),
                None => "DEFAULT".to_string(),
            };
            if added.contains(&(section_name.clone(), key.clone())) {
                return Err(format!(
                    "While reading from '{name}' [line {lineno:2}]: option '{key}' in section '{section_name}' already exists"
                ));
            }
            added.push((section_name, key.clone()));
            let options = match section {
                Some(i) => &mut ini.sections[i].1,
                None => &mut ini.defaults,
            };
            let index = set(options, key, val.clone());
            option = Some(index);
            pending.retain(|(s, o, _)| !(*s == section && *o == index));
            if let Some(val) = val {
                pending.push((section, index, vec![val]));
            } else {
                option = None;
            }
        }
        for (section, index, lines) in pending {
            let joined = lines.join("\n").trim_end().to_string();
            let options = match section {
                Some(i) => &mut ini.sections[i].1,
                None => &mut ini.defaults,
            };
            options[index].1 = Some(joined);
        }
        if !bad_lines.is_empty() {
            return Err(format!(
                "Source contains parsing errors: '{name}'\n\t{}",
                bad_lines.join("\n\t")
            ));
        }
        Ok(ini)
    }

    /// A section's options with the defaults under them (`ConfigParser.items(section)`, raw); `None` when
    /// there is no such section.
    fn options(&self, section: &str) -> Option<Options> {
        let mut all = self.defaults.clone();
        if section != "DEFAULT" {
            let (_, own) = self.sections.iter().find(|(s, _)| s == section)?;
            for (k, v) in own {
                set(&mut all, k.clone(), v.clone());
            }
        }
        Some(all)
    }

    /// `ConfigParser.get(section, key)`: `Ok(None)` when the section has no such option, an error when
    /// there is no such section or the interpolation fails.
    pub(super) fn get(
        &self,
        section: &str,
        key: &str,
        case_sensitive: bool,
        interpolate: bool,
    ) -> Result<Option<Option<String>>, String> {
        let options = self.options(section).ok_or("no section")?;
        let key = if case_sensitive {
            key.to_string()
        } else {
            key.to_lowercase()
        };
        let Some((_, value)) = options.iter().find(|(k, _)| *k == key) else {
            return Ok(None);
        };
        match value {
            Some(v) if interpolate => Ok(Some(Some(basic_interpolation(
                &options, section, &key, v, 1,
            )?))),
            other => Ok(Some(other.clone())),
        }
    }

    /// `ConfigParser.items(section)`: every option (the defaults' first) with its value.
    pub(super) fn items(
        &self,
        section: &str,
        interpolate: bool,
    ) -> Result<Vec<(String, Option<String>)>, String> {
        let options = self.options(section).ok_or("no section")?;
        options
            .iter()
            .map(|(k, v)| match v {
                Some(v) if interpolate => Ok((
                    k.clone(),
                    Some(basic_interpolation(&options, section, k, v, 1)?),
                )),
                other => Ok((k.clone(), other.clone())),
            })
            .collect()
    }
}

/// `configparser.BasicInterpolation`: `%%` is `%`, `%(name)s` the option `name` of the section.
fn basic_interpolation(
    options: &Options,
    section: &str,
    key: &str,
    value: &str,
    depth: usize,
) -> Result<String, String> {
    if depth > 10 {
        return Err(format!(
            "Recursion limit exceeded in value substitution: option '{key}' in section '{section}' contains an interpolation key which cannot be substituted in 10 steps. Raw value: '{value}'"
        ));
    }
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%(") {
            let end = after
                .find(")s")
                .ok_or_else(|| format!("bad interpolation variable reference '{rest}'"))?;
            // The name as written when keys keep their case (`case_sensitive`), else as configparser folds it.
            let written = &after[..end];
            let folded = written.to_lowercase();
            let name = if options.iter().any(|(k, _)| k == written) {
                written.to_string()
            } else {
                folded
            };
            let Some((_, Some(found))) = options.iter().find(|(k, _)| *k == name) else {
                return Err(format!(
                    "Bad value substitution: option '{key}' in section '{section}' contains an interpolation key '{name}' which is not a valid option name. Raw value: '{value}'"
                ));
            };
            if found.contains('%') {
                out.push_str(&basic_interpolation(
                    options,
                    section,
                    &name,
                    found,
                    depth + 1,
                )?);
            } else {
                out.push_str(found);
            }
            rest = &after[end + 2..];
        } else {
            return Err(format!(
                "'%' must be followed by '%' or '(', found: '{rest}'"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The rows of a CSV text as Python's `csv.reader(f, dialect=csv.excel, delimiter=...)` reads them from a
/// file opened in text mode: `"` quotes (doubled inside), blank lines as empty rows.
pub(super) fn csv_rows(text: &str, delimiter: char) -> Vec<Vec<String>> {
    #[derive(PartialEq)]
    enum State {
        StartRecord,
        StartField,
        InField,
        InQuoted,
        QuoteInQuoted,
    }
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut state = State::StartRecord;
    for c in text.chars() {
        match state {
            State::StartRecord | State::StartField => {
                if c == '\n' {
                    if state == State::StartField {
                        row.push(std::mem::take(&mut field));
                    }
                    rows.push(std::mem::take(&mut row));
                    state = State::StartRecord;
                } else if c == '"' {
                    state = State::InQuoted;
                } else if c == delimiter {
                    row.push(std::mem::take(&mut field));
                    state = State::StartField;
                } else {
                    field.push(c);
                    state = State::InField;
                }
            }
            State::InField | State::QuoteInQuoted => {
                if c == '\n' {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                    state = State::StartRecord;
                } else if c == delimiter {
                    row.push(std::mem::take(&mut field));
                    state = State::StartField;
                } else if c == '"' && state == State::QuoteInQuoted {
                    field.push('"');
                    state = State::InQuoted;
                } else {
                    field.push(c);
                    state = State::InField;
                }
            }
            State::InQuoted => {
                if c == '"' {
                    state = State::QuoteInQuoted;
                } else {
                    field.push(c);
                }
            }
        }
    }
    if state != State::StartRecord {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configparser_reads_sections_comments_and_continuations() {
        let text = "[DEFAULT]\nbase = /srv\n\n[app]\n# comment\nName = web\npath: %(base)s/app\nlong = one\n  two\n\n; c\nflag\n";
        assert!(Ini::parse(text, "x", false, false).is_err());
        let ini = Ini::parse(text, "x", true, false).expect("parses");
        let get = |k: &str| ini.get("app", k, false, true).expect("section");
        assert_eq!(get("NAME"), Some(Some("web".into())));
        assert_eq!(get("path"), Some(Some("/srv/app".into())));
        assert_eq!(get("long"), Some(Some("one\ntwo".into())));
        assert_eq!(get("flag"), Some(None));
        assert_eq!(get("missing"), None);
        assert!(ini.get("nope", "x", false, true).is_err());
        let keys: Vec<String> = ini
            .items("app", true)
            .expect("section")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["base", "name", "path", "long", "flag"]);
        assert!(Ini::parse("a = 1\n", "x", false, false).is_err());
        assert!(Ini::parse("[s]\na = 1\nA = 2\n", "x", false, false).is_err());
        assert!(Ini::parse("[s]\na = 1\nA = 2\n", "x", false, true).is_ok());
    }

    #[test]
    fn csv_reads_quotes_and_blank_lines() {
        let rows = csv_rows("a,\"b,\"\"c\"\"\",d\n\nx\r\n", ',');
        assert_eq!(
            rows,
            vec![
                vec!["a".to_string(), "b,\"c\"".into(), "d".into()],
                vec![],
                vec!["x".into()]
            ]
        );
        assert_eq!(
            csv_rows("a,\n", ','),
            vec![vec!["a".to_string(), String::new()]]
        );
    }
}
