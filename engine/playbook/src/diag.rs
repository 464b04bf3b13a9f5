//! The one renderer for user-facing errors: a header, `--> path:line:column`, the line, a caret run, help.
//!
//! Low-level code reports a message and a [`Span`]; whoever owns the file attaches the [`SourceFile`], read
//! once and shared, so nothing re-reads a file to show an error.

use std::fmt;
use std::sync::Arc;

/// A file's name as the user typed it and its whole text.
#[derive(Debug)]
pub struct SourceFile {
    /// Path as shown in messages.
    pub name: String,
    /// The text.
    pub text: String,
}

impl SourceFile {
    /// Wraps a file already read.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
        })
    }

    /// The text of a 1-based line, without its end.
    pub fn line(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }
}

/// A place in a file: 1-based line and column (in characters) and a length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Characters covered on that line (at least one caret is drawn).
    pub len: usize,
}

impl Span {
    /// A span starting at `line`:`col`.
    pub fn new(line: usize, col: usize, len: usize) -> Span {
        Span { line, col, len }
    }
}

/// A located error ready to print.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// The headline, without "error: ".
    pub message: String,
    /// The file and place, when the error has one.
    pub location: Option<(Arc<SourceFile>, Span)>,
    /// Text after the carets: what was expected.
    pub label: Option<String>,
    /// A `= help:` line.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with only a message.
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            location: None,
            label: None,
            help: None,
        }
    }

    /// Points the diagnostic at a place in a file.
    pub fn at(mut self, file: &Arc<SourceFile>, span: Span) -> Diagnostic {
        self.location = Some((Arc::clone(file), span));
        self
    }

    /// Sets the text shown after the carets.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Adds a help line.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// `path:line:column` of the diagnostic, if located.
    pub fn position(&self) -> Option<String> {
        self.location
            .as_ref()
            .map(|(file, span)| format!("{}:{}:{}", file.name, span.line, span.col))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        let Some((file, span)) = &self.location else {
            if let Some(help) = &self.help {
                write!(f, "\n  = help: {help}")?;
            }
            return Ok(());
        };
        let gutter = span.line.to_string().len();
        let pad = " ".repeat(gutter);
        write!(f, "\n{pad}--> {}:{}:{}", file.name, span.line, span.col)?;
        // A parser at the end of the file points one line past the last one: show the last line instead.
        let shown = file
            .line(span.line)
            .map(|l| (span.line, l, span.col))
            .or_else(|| {
                let last = file.text.lines().count();
                file.line(last).map(|l| (last, l, l.chars().count() + 1))
            });
        if let Some((line_no, line, col)) = shown {
            let span = Span {
                line: line_no,
                col,
                len: span.len,
            };
            let gutter = line_no.to_string().len().max(gutter);
            let pad = " ".repeat(gutter);
            let line = line.replace('\t', " ");
            let indent = " ".repeat(span.col.saturating_sub(1));
            let room = line
                .chars()
                .count()
                .saturating_sub(span.col.saturating_sub(1));
            let carets = "^".repeat(span.len.clamp(1, room.max(1)));
            write!(
                f,
                "\n{pad} |\n{:>gutter$} | {line}\n{pad} | {indent}{carets}",
                span.line
            )?;
            if let Some(label) = &self.label {
                write!(f, " {label}")?;
            }
        } else if let Some(label) = &self.label {
            write!(f, "\n{pad} = {label}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n{pad} = help: {help}")?;
        }
        Ok(())
    }
}

/// Shows a warning on standard error as ansible-core's display does (`[WARNING]: ` and the text), each distinct
/// text once per run. For readers that find something to warn about while no run's output is at hand (the YAML
/// loader, which files are read through before and during a run).
pub fn warn(text: &str) {
    use std::io::Write as _;
    static SHOWN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    // A panic elsewhere while holding the list leaves it usable: it is only a record of what was shown.
    let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
    if shown.iter().any(|s| s == text) {
        return;
    }
    shown.push(text.to_string());
    let _ = writeln!(std::io::stderr().lock(), "[WARNING]: {text}");
}

/// The closest candidate to a misspelt name, for "did you mean" help.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: Levenshtein plus swaps of neighbours (`pnig` is one step from `ping`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cargo_style_with_caret_and_help() {
        let file = SourceFile::new("site.yml", "- hosts: all\n  hots: web\n");
        let d = Diagnostic::new("unknown key `hots` in play")
            .at(&file, Span::new(2, 3, 4))
            .label("expected one of: name, hosts")
            .help("did you mean `hosts`?");
        assert_eq!(
            d.to_string(),
            "unknown key `hots` in play\n --> site.yml:2:3\n  |\n2 |   hots: web\n  |   ^^^^ expected one of: name, hosts\n  = help: did you mean `hosts`?"
        );
    }

    #[test]
    fn errors_past_the_last_line_show_the_last_line_and_the_label() {
        let file = SourceFile::new("t.yml", "all:\n  hosts: [\n");
        let d = Diagnostic::new("YAML syntax error")
            .at(&file, Span::new(3, 1, 1))
            .label("unclosed [");
        let text = d.to_string();
        assert!(text.contains("2 |   hosts: [\n"), "{text}");
        assert!(text.ends_with("^ unclosed ["), "{text}");
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("hots", ["hosts", "name"]), Some("hosts"));
        assert_eq!(did_you_mean("zzzzzz", ["hosts", "name"]), None);
    }
}
