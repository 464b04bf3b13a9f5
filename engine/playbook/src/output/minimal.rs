//! The compact callbacks: `minimal` (what ad-hoc `ansible` prints, and `stdout_callback = minimal`):
//! `host | SUCCESS => {...}`, and for commands `host | CHANGED | rc=0 >>` then what the command printed; and
//! `oneline` (`stdout_callback = oneline`): one line per result. Neither shows banners or a recap.

use super::CallbackOptions;
use super::default::{debug_view, dump_result, error_report, flag};
use crate::executor::event::{Event, HostResult, Sink, Status};
use serde_json::Value;
use std::collections::HashSet;
use std::io::{IsTerminal, Write};

/// Which compact callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// ansible-core's `minimal`.
    Minimal,
    /// ansible-core's `oneline` (deprecated there, to go in 2.23).
    Oneline,
}

/// The compact sink.
pub struct MinimalOutput {
    style: Style,
    colour: bool,
    verbosity: u8,
    options: CallbackOptions,
    /// Error reports and warnings already shown: each distinct one once per run, as Ansible's display does.
    shown: HashSet<String>,
}

impl MinimalOutput {
    /// Writes to stdout (warnings and errors to stderr), coloured on a terminal unless NO_COLOR is set.
    pub fn stdout(style: Style, verbosity: u8, options: CallbackOptions) -> MinimalOutput {
        let disabled = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
            || std::env::var_os("ANSIBLE_NOCOLOR").is_some_and(|v| !v.is_empty());
        let mut output = MinimalOutput {
            style,
            colour: std::io::stdout().is_terminal() && !disabled,
            verbosity,
            options,
            shown: HashSet::new(),
        };
        if style == Style::Oneline {
            // What ansible-core says as it loads the plugin.
            output.event(&Event::Deprecation(
                "The oneline callback plugin is deprecated. This feature will be removed from ansible-core version 2.23.",
            ));
        }
        output
    }

    /// The ad-hoc command's output: `minimal` with the default options.
    pub fn adhoc() -> MinimalOutput {
        MinimalOutput::stdout(Style::Minimal, 0, CallbackOptions::default())
    }

    /// A line, as ansible-core's display writes it: a text that ends its line already gets no other break.
    fn print(&self, text: &str, code: &str) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let mut out = std::io::stdout().lock();
        let _ = if self.colour {
            writeln!(out, "\x1b[{code}m{text}\x1b[0m")
        } else {
            writeln!(out, "{text}")
        };
    }

    fn print_err(&mut self, text: String, code: &str) {
        if !self.shown.insert(text.clone()) {
            return;
        }
        let _ = std::io::stdout().flush();
        let mut err = std::io::stderr().lock();
        let _ = if self.colour {
            writeln!(err, "\x1b[{code}m{text}\x1b[0m")
        } else {
            writeln!(err, "{text}")
        };
    }

    /// `_dump_results(indent=4)` (minimal) or `indent=0` with the line breaks taken out (oneline).
    fn dump(&self, result: &Value) -> String {
        match self.style {
            Style::Minimal => dump_result(result, true, self.verbosity, &self.options),
            // `indent=0` is no indent to `_dump_results`, so only a result that is always verbose (`debug`)
            // is indented, by four; JSON's line breaks then go.
            Style::Oneline => {
                let indent = if flag(result, "_ansible_verbose_always") {
                    Some(4)
                } else {
                    Some(0)
                };
                let shown = super::without_internal_keys(result, self.verbosity);
                crate::pyjson::dumps(&shown, indent, true).replace('\n', "")
            }
        }
    }

    /// The report of a failed result, on stdout as ansible-core's display shows it (once).
    fn error_report(&mut self, r: &HostResult) {
        let text = error_report(r);
        if self.shown.insert(text.clone()) {
            // The report ends its last line itself and is followed by an empty one.
            self.print(&format!("{text}\n"), "0;31");
        }
    }

    fn minimal(&mut self, r: &HostResult) {
        let command = is_command(r);
        match r.status {
            Status::Ok | Status::Changed => {
                let (caption, code) = caption(r.status);
                let shown = if r.action == "debug" {
                    debug_view(&r.result)
                } else {
                    r.result.clone()
                };
                if command && r.result.get("ansible_job_id").is_none() {
                    self.print(&command_output(&r.host, &r.result, caption), code);
                } else {
                    let text = format!("{} | {caption} => {}", r.host, self.dump(&shown));
                    self.print(&text, code);
                }
            }
            Status::Failed => {
                if reports_error(r) {
                    self.error_report(r);
                }
                if command && r.result.get("module_stderr").is_none() {
                    self.print(&command_output(&r.host, &r.result, "FAILED"), "0;31");
                } else {
                    let text = format!("{} | FAILED! => {}", r.host, self.dump(&r.result));
                    self.print(&text, "0;31");
                }
            }
            Status::Unreachable => {
                let text = format!("{} | UNREACHABLE! => {}", r.host, self.dump(&r.result));
                self.print(&text, "1;31");
            }
            Status::Skipped => self.print(&format!("{} | SKIPPED", r.host), "0;36"),
        }
    }

    fn oneline(&mut self, r: &HostResult) {
        let command = is_command(r);
        match r.status {
            Status::Ok | Status::Changed => {
                let (caption, code) = caption(r.status);
                if command && r.result.get("ansible_job_id").is_none() {
                    self.print(&command_line(&r.host, &r.result, caption), code);
                } else {
                    let text = format!("{} | {caption} => {}", r.host, self.dump(&r.result));
                    self.print(&text, code);
                }
            }
            Status::Failed => {
                if reports_error(r) {
                    if command && r.result.get("module_stderr").is_none() {
                        self.print(&command_line(&r.host, &r.result, "FAILED"), "0;31");
                    } else if self.verbosity < 3 {
                        self.print(
                            "An exception occurred during task execution. To see the full traceback, use -vvv. The error was: (traceback unavailable)",
                            "0;31",
                        );
                    } else {
                        self.print(
                            "An exception occurred during task execution. The full traceback is:\n(traceback unavailable)",
                            "0;31",
                        );
                    }
                }
                let text = format!("{} | FAILED! => {}", r.host, self.dump(&r.result));
                self.print(&text, "0;31");
            }
            Status::Unreachable => {
                let msg = r
                    .result
                    .get("msg")
                    .map(crate::pyjson::python_str)
                    .unwrap_or_default();
                self.print(&format!("{} | UNREACHABLE!: {msg}", r.host), "1;31");
            }
            Status::Skipped => self.print(&format!("{} | SKIPPED", r.host), "0;36"),
        }
    }
}

/// Whether ansible-core's result would carry an exception, which the callbacks report: a failure of the task
/// itself (not a loop's summary, nor an include whose file is missing).
fn reports_error(r: &HostResult) -> bool {
    !r.looped && !flag(&r.result, crate::executor::NO_ERROR_REPORT)
}

/// The actions whose results are shown as command output (ansible-core's `MODULE_NO_JSON`).
fn is_command(r: &HostResult) -> bool {
    let action = r
        .action
        .trim_start_matches("ansible.builtin.")
        .trim_start_matches("ansible.legacy.");
    matches!(action, "command" | "shell" | "raw")
}

fn caption(status: Status) -> (&'static str, &'static str) {
    if status == Status::Changed {
        ("CHANGED", "0;33")
    } else {
        ("SUCCESS", "0;32")
    }
}

fn text_of(result: &Value, key: &str) -> String {
    result
        .get(key)
        .map(crate::pyjson::python_str)
        .unwrap_or_default()
}

fn rc_of(result: &Value) -> String {
    result.get("rc").map_or("-1".to_string(), |v| v.to_string())
}

/// minimal's `_command_generic_msg`.
fn command_output(host: &str, result: &Value, caption: &str) -> String {
    format!(
        "{host} | {caption} | rc={} >>\n{}{}{}\n",
        rc_of(result),
        text_of(result, "stdout"),
        text_of(result, "stderr"),
        text_of(result, "msg")
    )
}

/// oneline's `_command_generic_msg`: the output on the line, its breaks escaped.
fn command_line(host: &str, result: &Value, caption: &str) -> String {
    let escaped = |k: &str| text_of(result, k).replace('\n', "\\n").replace('\r', "\\r");
    let rc = rc_of(result);
    let stdout = escaped("stdout");
    match escaped("stderr") {
        stderr if !stderr.is_empty() => {
            format!("{host} | {caption} | rc={rc} | (stdout) {stdout} (stderr) {stderr}")
        }
        _ => format!("{host} | {caption} | rc={rc} | (stdout) {stdout}"),
    }
}

impl Sink for MinimalOutput {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::HostResult(r) | Event::IncludeResult(r) => match self.style {
                Style::Minimal => self.minimal(r),
                Style::Oneline => self.oneline(r),
            },
            Event::Warning(message) => self.print_err(format!("[WARNING]: {message}"), "1;35"),
            Event::Error(message) => self.print_err(format!("[ERROR]: {message}"), "0;31"),
            Event::Deprecation(message) if self.options.deprecation_warnings => {
                self.print_err(
                    "[WARNING]: Deprecation warnings can be disabled by setting `deprecation_warnings=False` in ansible.cfg.".into(),
                    "1;35",
                );
                self.print_err(format!("[DEPRECATION WARNING]: {message}"), "0;35");
            }
            Event::Display(text) => {
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }
            _ => {}
        }
    }
}
