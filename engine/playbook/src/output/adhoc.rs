//! Ad-hoc output, as `ansible` prints it (the minimal callback): `host | SUCCESS => {...}`, and for commands
//! `host | CHANGED | rc=0 >>` followed by what the command printed.

use crate::executor::event::{Event, Sink, Status};
use crate::pyjson;
use serde_json::Value;
use std::io::{IsTerminal, Write};

/// The ad-hoc sink.
pub struct AdhocOutput {
    colour: bool,
}

impl AdhocOutput {
    /// Writes to stdout, coloured on a terminal unless NO_COLOR is set.
    pub fn stdout() -> AdhocOutput {
        let disabled = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        AdhocOutput {
            colour: std::io::stdout().is_terminal() && !disabled,
        }
    }

    fn print(&self, text: &str, code: &str) {
        let mut out = std::io::stdout().lock();
        let _ = if self.colour {
            writeln!(out, "\x1b[{code}m{text}\x1b[0m")
        } else {
            writeln!(out, "{text}")
        };
    }
}

fn command_output(host: &str, result: &Value, caption: &str) -> String {
    let text = |k: &str| {
        result
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let rc = result.get("rc").map_or("-1".to_string(), |v| v.to_string());
    format!(
        "{host} | {caption} | rc={rc} >>\n{}{}{}\n",
        text("stdout"),
        text("stderr"),
        text("msg")
    )
}

impl Sink for AdhocOutput {
    fn event(&mut self, event: &Event<'_>) {
        let Event::HostResult(r) = event else {
            if let Event::Warning(message) = event {
                eprintln!("[WARNING]: {message}");
            }
            return;
        };
        let is_command = matches!(r.action.as_str(), "command" | "shell");
        let dump = |v: &Value| pyjson::dumps(&super::without_internal_keys(v, 0), Some(4), true);
        match r.status {
            Status::Ok | Status::Changed => {
                let (caption, code) = if r.status == Status::Changed {
                    ("CHANGED", "0;33")
                } else {
                    ("SUCCESS", "0;32")
                };
                if is_command {
                    self.print(&command_output(&r.host, &r.result, caption), code);
                } else {
                    self.print(
                        &format!("{} | {caption} => {}", r.host, dump(&r.result)),
                        code,
                    );
                }
            }
            Status::Failed if is_command && r.result.get("rc").is_some() => {
                self.print(&command_output(&r.host, &r.result, "FAILED"), "0;31");
            }
            Status::Failed => self.print(
                &format!("{} | FAILED! => {}", r.host, dump(&r.result)),
                "0;31",
            ),
            Status::Unreachable => self.print(
                &format!("{} | UNREACHABLE! => {}", r.host, dump(&r.result)),
                "1;31",
            ),
            Status::Skipped => self.print(&format!("{} | SKIPPED", r.host), "0;36"),
        }
    }
}
