//! Ansible's default output: banners, one line per host result, the recap; colour on a terminal.

use crate::executor::event::{Counters, Event, HostResult, Sink, Stats, Status};
use crate::pyjson;
use serde_json::Value;
use std::io::{IsTerminal, Write};

/// Colours as Ansible's defaults name them.
#[derive(Clone, Copy)]
pub(super) enum Colour {
    Green,
    Yellow,
    Red,
    BrightRed,
    Cyan,
    BrightPurple,
    Purple,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Colour::Green => "0;32",
            Colour::Yellow => "0;33",
            Colour::Red => "0;31",
            Colour::BrightRed => "1;31",
            Colour::Cyan => "0;36",
            Colour::BrightPurple => "1;35",
            Colour::Purple => "0;35",
        }
    }
}

/// The default callback.
pub struct DefaultOutput {
    colour: bool,
    columns: usize,
    verbosity: u8,
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    /// Error reports and warnings already shown: Ansible's display shows each distinct one once per run.
    errors_shown: std::collections::HashSet<String>,
    /// The title of the last task banner, so that a result of another task (the free strategy) shows its
    /// own banner again first, as ansible-core's callback does.
    last_banner: Option<String>,
    /// The banner of each task announced, by its name: shown again the same (a handler's as one, its
    /// `[CHECK MODE]` marker, its path at -vv) when a result of that task comes after another's.
    task_banners: std::collections::HashMap<String, TaskBanner>,
    /// The stdout callbacks left out were listed (at -vv, as the first playbook starts).
    callbacks_listed: bool,
    options: super::CallbackOptions,
    /// The name of a task whose banner is not shown yet: when ok or skipped hosts are hidden, the banner waits
    /// for a result that is shown, as in ansible-core's callback.
    pending_banner: Option<String>,
}

/// A task's banner line and where the task is written.
#[derive(Clone)]
struct TaskBanner {
    title: String,
    path: Option<String>,
}

impl DefaultOutput {
    /// Writes to stdout (warnings to stderr), coloured when stdout is a terminal and NO_COLOR is not set.
    pub fn stdout(verbosity: u8) -> DefaultOutput {
        let tty = std::io::stdout().is_terminal();
        DefaultOutput {
            colour: colour_wanted(),
            columns: if tty {
                terminal_width().map_or(79, |w| w.saturating_sub(1).max(79))
            } else {
                79
            },
            verbosity,
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            errors_shown: std::collections::HashSet::new(),
            last_banner: None,
            task_banners: Default::default(),
            callbacks_listed: false,
            options: super::CallbackOptions::default(),
            pending_banner: None,
        }
    }

    fn paint(&self, text: &str, colour: Colour) -> String {
        paint(text, colour, self.colour)
    }

    fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    /// A result's line; a failed or unreachable one's on standard error with `display_failed_stderr`.
    fn result_line(&mut self, status: Status, text: &str) {
        if self.options.display_failed_stderr
            && matches!(status, Status::Failed | Status::Unreachable)
        {
            let _ = self.out.flush();
            let _ = writeln!(self.err, "{text}");
        } else {
            self.line(text);
        }
    }

    /// ` [CHECK MODE]` after the banner of a play or task that runs in check mode, when markers are on.
    fn check_marker(&self, check_mode: bool) -> &'static str {
        if check_mode && self.options.check_mode_markers {
            " [CHECK MODE]"
        } else {
            ""
        }
    }

    /// The callback options of the configuration.
    pub fn with_options(mut self, options: super::CallbackOptions) -> DefaultOutput {
        self.options = options;
        self
    }

    /// Shows the task banner that waited for a result to show.
    fn flush_banner(&mut self) {
        if let Some(name) = self.pending_banner.take() {
            self.task_banner(&name);
        }
    }

    /// A task's banner, then at -vv where the task is written, as ansible-core's `_print_task_banner`.
    fn task_banner(&mut self, name: &str) {
        let shown = self
            .task_banners
            .get(name)
            .cloned()
            .unwrap_or_else(|| TaskBanner {
                title: format!("TASK [{name}]"),
                path: None,
            });
        self.banner(&shown.title);
        if let Some(path) = shown.path.filter(|_| self.verbosity >= 2) {
            self.line(&format!("task path: {path}"));
        }
    }

    /// Whether a result with this status is shown at all.
    fn displayed(&self, status: Status) -> bool {
        match status {
            Status::Ok => self.options.display_ok_hosts,
            Status::Skipped => self.options.display_skipped_hosts,
            _ => true,
        }
    }

    fn banner(&mut self, title: &str) {
        let stars = "*".repeat(self.columns.saturating_sub(title.chars().count()).max(3));
        let text = format!("\n{title} {stars}");
        self.line(&text);
    }

    fn dump(&self, result: &Value, force_indent: bool) -> String {
        dump_result(result, force_indent, self.verbosity, &self.options)
    }

    fn verbose(&self, r: &HostResult) -> bool {
        (self.verbosity > 0 || flag(&r.result, "_ansible_verbose_always"))
            && !flag(&r.result, "_ansible_verbose_override")
    }

    fn shown(r: &HostResult) -> Value {
        if r.action == "debug" {
            debug_view(&r.result)
        } else {
            r.result.clone()
        }
    }

    /// The task banner again when a result belongs to another task than the last banner.
    fn banner_again(&mut self, r: &HostResult) {
        if self
            .last_banner
            .as_deref()
            .is_some_and(|last| last != r.task)
        {
            self.task_banner(&r.task);
            self.last_banner = Some(r.task.clone());
        }
    }

    fn host_result(&mut self, r: &HostResult) {
        let verbose_always = flag(&r.result, "_ansible_verbose_always");
        let verbose = self.verbose(r);
        let shown = Self::shown(r);
        // A loop's items were shown one by one; its summary line only appears when every item was skipped,
        // and for a failed debug loop: ansible-core's callback cleans that down to its `msg` before it looks
        // for the items, so the loop's own failure shows too ("One or more items failed").
        let failed_debug_loop =
            r.status == Status::Failed && r.action == "debug" && r.result.get("msg").is_some();
        let line = match r.status {
            _ if r.looped
                && !failed_debug_loop
                && !matches!(r.status, Status::Skipped | Status::Unreachable) =>
            {
                None
            }
            Status::Ok | Status::Changed => {
                let (word, colour) = success(r.status);
                let mut text = format!("{word}: [{}]", host_label(r));
                if verbose {
                    text.push_str(" => ");
                    text.push_str(&self.dump(&shown, verbose_always));
                }
                Some((text, colour))
            }
            Status::Skipped => {
                let mut text = format!("skipping: [{}]", host_label(r));
                if self.verbosity > 0 {
                    // A loop's summary leaves out its items, which were shown one by one.
                    let mut shown = shown.clone();
                    if r.looped
                        && let Value::Object(map) = &mut shown
                    {
                        map.remove("results");
                    }
                    text.push_str(" => ");
                    text.push_str(&self.dump(&shown, false));
                }
                Some((text, Colour::Cyan))
            }
            Status::Failed => {
                if reports_error(r) {
                    self.error_block(r);
                }
                if self.verbosity < 2
                    && self.options.show_task_path_on_failure
                    && let Some(origin) = &r.origin
                {
                    self.line(&format!("task path: {}:{}", origin.path, origin.line));
                }
                Some((
                    format!(
                        "fatal: [{}]: FAILED! => {}",
                        host_label(r),
                        self.dump(&shown, verbose_always)
                    ),
                    Colour::Red,
                ))
            }
            Status::Unreachable => {
                self.error_block(r);
                Some((
                    format!(
                        "fatal: [{}]: UNREACHABLE! => {}",
                        host_label(r),
                        self.dump(&shown, false)
                    ),
                    Colour::BrightRed,
                ))
            }
        };
        if let Some((text, colour)) = line {
            let painted = self.paint(&text, colour);
            self.result_line(r.status, &painted);
        }
        if r.ignored {
            let ignoring = self.paint("...ignoring", Colour::Cyan);
            self.line(&ignoring);
        }
    }

    /// Shows the error report of a failed result, once per distinct report.
    fn error_block(&mut self, r: &HostResult) {
        let text = error_report(r);
        if self.errors_shown.insert(text.clone()) {
            let painted = self.paint(&text, Colour::Red);
            self.result_line(Status::Failed, &painted);
        }
    }

    fn item_result(&mut self, r: &HostResult) {
        let label = r.item.as_deref().unwrap_or_default();
        let verbose_always = flag(&r.result, "_ansible_verbose_always");
        let shown = Self::shown(r);
        let (text, colour) = match r.status {
            Status::Ok | Status::Changed => {
                let (word, colour) = success(r.status);
                let mut text = format!("{word}: [{}] => (item={label})", host_label(r));
                if self.verbose(r) {
                    text.push_str(" => ");
                    text.push_str(&self.dump(&shown, verbose_always));
                }
                (text, colour)
            }
            Status::Skipped => {
                let mut text = format!("skipping: [{}] => (item={label}) ", host_label(r));
                if self.verbosity > 0 {
                    text.push_str(" => ");
                    text.push_str(&self.dump(&shown, false));
                }
                (text, Colour::Cyan)
            }
            Status::Failed => {
                self.error_block(r);
                (
                    format!(
                        "failed: [{}] (item={label}) => {}",
                        host_label(r),
                        self.dump(&shown, verbose_always)
                    ),
                    Colour::Red,
                )
            }
            Status::Unreachable => (
                format!(
                    "fatal: [{}]: UNREACHABLE! => (item={label}) => {}",
                    host_label(r),
                    self.dump(&shown, false)
                ),
                Colour::BrightRed,
            ),
        };
        let painted = self.paint(&text, colour);
        self.result_line(r.status, &painted);
    }

    fn recap(&mut self, stats: &Stats) {
        self.banner("PLAY RECAP");
        for (host, c) in stats {
            let line = self.recap_line(host, c);
            self.line(&line);
        }
        self.line("");
        if self.options.dry_run && self.options.check_mode_markers {
            self.banner("DRY RUN");
        }
    }

    fn recap_line(&self, host: &str, c: &Counters) -> String {
        let host_colour = if c.failed > 0 || c.unreachable > 0 {
            Some(Colour::Red)
        } else if c.changed > 0 {
            Some(Colour::Yellow)
        } else {
            Some(Colour::Green)
        };
        let host = match host_colour {
            Some(colour) if self.colour => format!("{:<37}", self.paint(host, colour)),
            _ => format!("{host:<26}"),
        };
        let field = |lead: &str, n: u32, colour: Colour| {
            let text = format!("{lead}={n:<4}");
            if n != 0 {
                self.paint(&text, colour)
            } else {
                text
            }
        };
        format!(
            "{host} : {} {} {} {} {} {} {}",
            field("ok", c.ok, Colour::Green),
            field("changed", c.changed, Colour::Yellow),
            field("unreachable", c.unreachable, Colour::BrightRed),
            field("failed", c.failed, Colour::Red),
            field("skipped", c.skipped, Colour::Cyan),
            field("rescued", c.rescued, Colour::Green),
            field("ignored", c.ignored, Colour::BrightPurple),
        )
    }
}

impl Sink for DefaultOutput {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::PlayStart { name, check_mode } => {
                let marker = self.check_marker(*check_mode);
                if name.is_empty() {
                    self.banner(&format!("PLAY{marker}"));
                } else {
                    self.banner(&format!("PLAY [{name}]{marker}"));
                }
            }
            Event::NoHostsMatched => {
                let text = self.paint("skipping: no hosts matched", Colour::Cyan);
                self.line(&text);
            }
            Event::NoMoreHosts => self.banner("NO MORE HOSTS LEFT"),
            Event::TaskStart {
                name,
                handler,
                check_mode,
                path,
            } => {
                let kind = if *handler { "RUNNING HANDLER" } else { "TASK" };
                let marker = self.check_marker(*check_mode);
                let banner = TaskBanner {
                    title: format!("{kind} [{name}]{marker}"),
                    path: path.map(str::to_string),
                };
                self.task_banners.insert(name.to_string(), banner);
                if self.options.display_ok_hosts && self.options.display_skipped_hosts {
                    self.task_banner(name);
                } else {
                    self.pending_banner = Some(name.to_string());
                }
                self.last_banner = Some(name.to_string());
            }
            Event::Banner(title) => self.banner(title),
            Event::PlaybookStart {
                name,
                plays,
                statically_imported,
            } => {
                if self.verbosity >= 2 {
                    for file in *statically_imported {
                        self.line(&format!("statically imported: {file}"));
                    }
                    // ansible-core loads its callbacks as the first playbook starts and says which stdout
                    // callbacks it leaves out.
                    if !self.callbacks_listed {
                        self.callbacks_listed = true;
                        for other in ["minimal", "oneline"] {
                            self.line(&format!(
                                "Skipping callback '{other}', as we already have a stdout callback."
                            ));
                        }
                    }
                    self.banner(&format!("PLAYBOOK: {name}"));
                }
                if self.options.dry_run && self.options.check_mode_markers {
                    self.banner("DRY RUN");
                }
                if self.verbosity >= 2 {
                    self.line(&format!("{plays} plays in {name}"));
                }
            }
            Event::HostStart { host, task } => {
                // The line does not wait for a hidden banner: ansible-core's does not either.
                if self.options.show_per_host_start {
                    let text = self.paint(&format!(" [started {task} on {host}]"), Colour::Green);
                    self.line(&text);
                }
            }
            Event::HostResult(r) => {
                if !self.displayed(r.status) {
                    return;
                }
                // A loop's summary line shows only when every item was skipped; its items showed the banner.
                if !r.looped || matches!(r.status, Status::Skipped | Status::Unreachable) {
                    self.flush_banner();
                }
                self.banner_again(r);
                self.host_result(r);
            }
            Event::ItemResult(r) => {
                if !self.displayed(r.status) {
                    return;
                }
                self.flush_banner();
                self.banner_again(r);
                self.item_result(r);
            }
            Event::Retrying { message } => {
                self.flush_banner();
                let text = self.paint(message, Colour::BrightRed);
                self.line(&text);
            }
            Event::Warning(message) => {
                // ansible-core's display shows each distinct warning once.
                let text = format!("[WARNING]: {message}");
                if self.errors_shown.insert(text.clone()) {
                    let text = self.paint(&text, Colour::BrightPurple);
                    let _ = writeln!(self.err, "{text}");
                }
            }
            Event::Error(message) => {
                let text = format!("[ERROR]: {message}");
                if self.errors_shown.insert(text.clone()) {
                    let text = self.paint(&text, Colour::Red);
                    let _ = writeln!(self.err, "{text}");
                }
            }
            Event::Deprecation(_) if !self.options.deprecation_warnings => {}
            Event::Deprecation(message) => {
                let note = super::DEPRECATION_NOTE;
                let text = format!("[DEPRECATION WARNING]: {message}");
                if self.errors_shown.insert(text.clone()) {
                    if self.errors_shown.insert(note.to_string()) {
                        let note = self.paint(note, Colour::BrightPurple);
                        let _ = writeln!(self.err, "{note}");
                    }
                    let text = self.paint(&text, Colour::Purple);
                    let _ = writeln!(self.err, "{text}");
                }
            }
            Event::Recap(stats) => self.recap(stats),
            Event::Display(text) => self.line(text),
            Event::Verbose { level, text } => {
                if self.verbosity >= *level {
                    self.line(text);
                }
            }
            Event::MetaSkipped { .. } if !self.options.display_skipped_hosts => {}
            Event::MetaSkipped { host, result } => {
                self.flush_banner();
                let mut text = format!("skipping: [{host}]");
                if self.verbosity > 0 {
                    text.push_str(" => ");
                    text.push_str(&self.dump(result, false));
                }
                let text = self.paint(&text, Colour::Cyan);
                self.line(&text);
            }
            Event::Included { what, hosts, item } => {
                self.flush_banner();
                let mut text = format!("included: {what} for {}", hosts.join(", "));
                if let Some(item) = item {
                    text.push_str(&format!(" => (item={item})"));
                }
                let text = self.paint(&text, Colour::Cyan);
                self.line(&text);
            }
            Event::Session { .. } | Event::IncludeResult(_) => {}
        }
        let _ = self.out.flush();
    }
}

/// Whether a colour is wanted on standard output: on a terminal (or with `ANSIBLE_FORCE_COLOR`), unless
/// `NO_COLOR` or `ANSIBLE_NOCOLOR` says otherwise.
pub(super) fn colour_wanted() -> bool {
    let tty = std::io::stdout().is_terminal();
    let forced = std::env::var("ANSIBLE_FORCE_COLOR").is_ok_and(|v| truthy_env(&v));
    let disabled = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || std::env::var("ANSIBLE_NOCOLOR").is_ok_and(|v| truthy_env(&v));
    (tty || forced) && !disabled
}

/// Each line coloured on its own when `enabled`, as ansible-core's `stringc` does.
pub(super) fn paint(text: &str, colour: Colour, enabled: bool) -> String {
    if enabled {
        text.split('\n')
            .map(|line| format!("\x1b[{}m{line}\x1b[0m", colour.code()))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        text.to_string()
    }
}

/// Whether ansible-core's result would carry an exception, which the callbacks report before the result: a
/// failure of the task itself (not a loop's summary, whose items reported theirs, nor an include whose file is
/// missing, reported on its own).
pub(super) fn reports_error(r: &HostResult) -> bool {
    !r.looped && !flag(&r.result, crate::executor::NO_ERROR_REPORT)
}

/// ansible-core 2.19's report of a failed task (`[ERROR]: Task failed: ...`): what failed, where, and the
/// lines up to it.
pub(super) fn error_report(r: &HostResult) -> String {
    let msg = r
        .result
        .get("msg")
        .or_else(|| r.result.get(crate::executor::CENSORED_MSG))
        .map(crate::pyjson::python_str)
        .unwrap_or_default();
    // A failure the module reported is the module's; one an action or a condition made is the action's.
    let by_action = crate::modules::CONTROLLER_ACTIONS.contains(&r.action.as_str())
        || flag(&r.result, crate::executor::FAILED_BY_CONDITION);
    let kind = if by_action { "Action" } else { "Module" };
    let exception = r
        .result
        .get(crate::executor::EXCEPTION_MESSAGE)
        .and_then(Value::as_str);
    let head = if msg.starts_with("Task failed:") || r.cause.as_ref().is_some_and(|c| c.plain) {
        msg
    } else if flag(&r.result, crate::executor::ARGUMENT_SPEC_FAILURE) {
        format!("Task failed: {msg}")
    } else if let Some(exception) = exception {
        // A module's exception: its message after the result's, as Python's error chain prints them.
        format!(
            "Task failed: {kind} failed: {}: {exception}",
            msg.trim_end_matches('.')
        )
    } else if msg.is_empty() {
        format!("Task failed: {kind} failed.")
    } else {
        format!("Task failed: {kind} failed: {msg}")
    };
    let mut text = format!("[ERROR]: {head}");
    match (&r.origin, &r.cause) {
        (_, Some(cause)) if cause.plain => {
            if let Some((_, Some(at))) = cause.chain.first() {
                text.push_str(&format!("\n{}", at.report()));
            }
            if let Some(help) = &cause.help {
                text.push_str(&format!("\n{help}\n"));
            }
        }
        (Some(origin), Some(cause)) => {
            text.push_str(&format!("\n\n{}\n{}", cause.first, origin.report()));
            for (message, at) in &cause.chain {
                let at = at
                    .as_ref()
                    .map(crate::playbook::Origin::report)
                    .unwrap_or_default();
                text.push_str(&format!("\n<<< caused by >>>\n\n{message}\n{at}"));
            }
            if let Some(help) = &cause.help {
                text.push_str(&format!("\n{help}\n"));
            }
        }
        (Some(origin), None) => text.push_str(&format!("\n{}", origin.report())),
        _ => {}
    }
    text
}

/// ansible-core's `_dump_results`: JSON on one line, or indented (`_ansible_verbose_always`, -vvv,
/// `callback_format_pretty`); or YAML, indented unless pretty results are turned off.
pub(super) fn dump_result(
    result: &Value,
    force_indent: bool,
    verbosity: u8,
    options: &super::CallbackOptions,
) -> String {
    use super::ResultFormat;
    let pretty = options.pretty_results;
    let format = options.result_format;
    let indented = force_indent
        || (pretty.is_none() && format != ResultFormat::Json)
        || pretty == Some(true)
        || verbosity > 2;
    let indent = (indented && pretty != Some(false)).then_some(4);
    let mut shown = super::without_internal_keys(result, verbosity);
    if format == ResultFormat::Json {
        return pyjson::dumps(&shown, indent, true);
    }
    // The lossy YAML view leaves out the line lists that repeat `stdout` and `stderr`.
    if pretty != Some(false)
        && let Value::Object(map) = &mut shown
    {
        for (text, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
            if map.contains_key(text) && map.contains_key(lines) {
                map.insert(lines.into(), Value::from("<omitted>"));
            }
        }
    }
    let options = crate::template::yaml_dump::Options {
        indent: indent.unwrap_or(2),
        flow: Some(false),
        sort_keys: true,
        width: 80,
        literal_blocks: true,
        fit_literals: pretty != Some(false),
    };
    let yaml = crate::template::yaml_dump::dump(&shown, &options);
    // `textwrap.indent`: every line that is not blank, by the indent (4 when there is none).
    let pad = " ".repeat(indent.unwrap_or(4));
    let mut text = String::from("\n");
    for line in yaml.trim_end_matches('\n').split('\n') {
        if !line.trim().is_empty() {
            text.push_str(&pad);
        }
        text.push_str(line);
        text.push('\n');
    }
    text.pop();
    text
}

/// The word and colour of a successful result.
fn success(status: Status) -> (&'static str, Colour) {
    if status == Status::Changed {
        ("changed", Colour::Yellow)
    } else {
        ("ok", Colour::Green)
    }
}

fn truthy_env(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "yes" | "true" | "on")
}

/// The host as a result line names it: `alpha`, or `alpha -> f1` for a delegated task, with the delegated
/// host's address in parentheses when it has another (`alpha -> f1(10.0.0.7)`), as ansible-core's callback.
pub(super) fn host_label(r: &HostResult) -> String {
    let delegated = r.result.get("_ansible_delegated_vars");
    let name = delegated
        .and_then(|d| d.get("ansible_delegated_host"))
        .and_then(Value::as_str);
    match name {
        Some(name) if name != r.host => {
            let address = delegated
                .and_then(|d| d.get("ansible_host"))
                .and_then(Value::as_str)
                .unwrap_or(name);
            if address == name {
                format!("{} -> {name}", r.host)
            } else {
                format!("{} -> {name}({address})", r.host)
            }
        }
        _ => r.host.clone(),
    }
}

pub(super) fn flag(result: &Value, key: &str) -> bool {
    result.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// `debug` shows only its message (or its variable), as Ansible's callback trims it.
pub(super) fn debug_view(result: &Value) -> Value {
    let Value::Object(map) = result else {
        return result.clone();
    };
    let keep: Vec<&str> = if map.contains_key("msg") {
        vec!["msg", "exception", "warnings", "deprecations"]
    } else {
        Vec::new()
    };
    let hidden = [
        "changed",
        "failed",
        "skipped",
        "invocation",
        "skip_reason",
        "ansible_loop_var",
        "ansible_index_var",
        "ansible_loop",
    ];
    Value::Object(
        map.iter()
            .filter(|(k, _)| {
                k.starts_with('_')
                    || if keep.is_empty() {
                        !hidden.contains(&k.as_str())
                    } else {
                        keep.contains(&k.as_str())
                    }
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ fills a winsize we own.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> DefaultOutput {
        DefaultOutput {
            colour: false,
            columns: 79,
            verbosity: 0,
            out: Box::new(std::io::sink()),
            err: Box::new(std::io::sink()),
            errors_shown: std::collections::HashSet::new(),
            last_banner: None,
            task_banners: Default::default(),
            callbacks_listed: false,
            options: crate::output::CallbackOptions::default(),
            pending_banner: None,
        }
    }

    #[test]
    fn recap_lines_match_ansible() {
        let c = Counters {
            ok: 2,
            ..Counters::default()
        };
        assert_eq!(
            plain().recap_line("127.0.0.1", &c),
            "127.0.0.1                  : ok=2    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   "
        );
    }

    #[test]
    fn debug_shows_only_its_message() {
        let r = serde_json::json!({"msg": "hi", "changed": false, "_ansible_verbose_always": true});
        let out = plain();
        assert_eq!(out.dump(&debug_view(&r), true), "{\n    \"msg\": \"hi\"\n}");
    }
}
