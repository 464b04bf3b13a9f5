//! The compact callbacks: `minimal` (what ad-hoc `ansible` prints, and `stdout_callback = minimal`):
//! `host | SUCCESS => {...}`, and for commands `host | CHANGED | rc=0 >>` then what the command printed; and
//! `oneline` (`stdout_callback = oneline`): one line per result. Neither shows banners or a recap.

use super::CallbackOptions;
use super::default::{
    Colour, colour_wanted, debug_view, dump_result, error_report, flag, paint, reports_error,
};
use crate::executor::event::{Event, HostResult, Sink, Status};
use serde_json::Value;
use std::collections::HashSet;
use std::io::Write;

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
    /// Writes to stdout (warnings and errors to stderr), coloured as the default output is.
    pub fn stdout(style: Style, verbosity: u8, options: CallbackOptions) -> MinimalOutput {
        let mut output = MinimalOutput {
            style,
            colour: colour_wanted(),
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
    fn print(&self, text: &str, colour: Colour) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}",
            paint(text, colour, self.colour)
        );
    }

    /// A warning or an error, on standard error, once.
    fn print_err(&mut self, text: String, colour: Colour) {
        if !self.shown.insert(text.clone()) {
            return;
        }
        let _ = std::io::stdout().flush();
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            paint(&text, colour, self.colour)
        );
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
            self.print(&format!("{text}\n"), Colour::Red);
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
                    self.print(&command_output(&r.host, &r.result, "FAILED"), Colour::Red);
                } else {
                    let text = format!("{} | FAILED! => {}", r.host, self.dump(&r.result));
                    self.print(&text, Colour::Red);
                }
            }
            Status::Unreachable => {
                let text = format!("{} | UNREACHABLE! => {}", r.host, self.dump(&r.result));
                self.print(&text, Colour::BrightRed);
            }
            Status::Skipped => self.print(&format!("{} | SKIPPED", r.host), Colour::Cyan),
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
                        self.print(&command_line(&r.host, &r.result, "FAILED"), Colour::Red);
                    } else if self.verbosity < 3 {
                        self.print(
                            "An exception occurred during task execution. To see the full traceback, use -vvv. The error was: (traceback unavailable)",
                            Colour::Red,
                        );
                    } else {
                        self.print(
                            "An exception occurred during task execution. The full traceback is:\n(traceback unavailable)",
                            Colour::Red,
                        );
                    }
                }
                let text = format!("{} | FAILED! => {}", r.host, self.dump(&r.result));
                self.print(&text, Colour::Red);
            }
            Status::Unreachable => {
                let msg = r
                    .result
                    .get("msg")
                    .map(crate::pyjson::python_str)
                    .unwrap_or_default();
                self.print(
                    &format!("{} | UNREACHABLE!: {msg}", r.host),
                    Colour::BrightRed,
                );
            }
            Status::Skipped => self.print(&format!("{} | SKIPPED", r.host), Colour::Cyan),
        }
    }
}

/// The actions whose results are shown as command output (ansible-core's `MODULE_NO_JSON`).
fn is_command(r: &HostResult) -> bool {
    let action = r
        .action
        .trim_start_matches("ansible.builtin.")
        .trim_start_matches("ansible.legacy.");
    matches!(action, "command" | "shell" | "raw")
}

fn caption(status: Status) -> (&'static str, Colour) {
    if status == Status::Changed {
        ("CHANGED", Colour::Yellow)
    } else {
        ("SUCCESS", Colour::Green)
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
            Event::Warning(message) => {
                self.print_err(format!("[WARNING]: {message}"), Colour::BrightPurple)
            }
            Event::Error(message) => self.print_err(format!("[ERROR]: {message}"), Colour::Red),
            Event::Deprecation(message) if self.options.deprecation_warnings => {
                self.print_err(super::DEPRECATION_NOTE.into(), Colour::BrightPurple);
                self.print_err(format!("[DEPRECATION WARNING]: {message}"), Colour::Purple);
            }
            Event::Display(text) => {
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }
            _ => {}
        }
    }
}
