//! Event sinks: [`default`] prints what ansible-playbook prints; [`report`] writes a JSON report.

pub mod default;
pub mod listing;
pub mod minimal;
pub mod report;

use serde_json::Value;

/// `print!` that does not panic when standard output is gone (a pager or `head` closed the pipe): the text
/// is dropped, as there is no one left to read it.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `println!` that does not panic when standard output is gone; see [`out!`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// What ansible-core's display says once, before the first deprecation warning.
pub(crate) const DEPRECATION_NOTE: &str = "[WARNING]: Deprecation warnings can be disabled by setting `deprecation_warnings=False` in ansible.cfg.";

/// The default callback's options from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct CallbackOptions {
    /// `display_ok_hosts`: show hosts whose task was ok (not changed).
    pub display_ok_hosts: bool,
    /// `display_skipped_hosts`: show hosts whose task was skipped.
    pub display_skipped_hosts: bool,
    /// `deprecation_warnings`: show deprecation warnings.
    pub deprecation_warnings: bool,
    /// `display_failed_stderr`: failed and unreachable results go to standard error.
    pub display_failed_stderr: bool,
    /// `show_per_host_start`: a line as each host starts a task.
    pub show_per_host_start: bool,
    /// `check_mode_markers`: `[CHECK MODE]` after plays and tasks that run in check mode, `DRY RUN` banners
    /// around a `--check` run.
    pub check_mode_markers: bool,
    /// `show_task_path_on_failure`: where a failed task is written, below -vv (which shows it for every task).
    pub show_task_path_on_failure: bool,
    /// `callback_result_format`: how results are written.
    pub result_format: ResultFormat,
    /// `callback_format_pretty`: indented results at any verbosity (`None`: only for YAML).
    pub pretty_results: Option<bool>,
    /// The run is `--check` (not a callback option: the `DRY RUN` banners follow the command line).
    pub dry_run: bool,
}

/// How the default callback writes results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultFormat {
    /// Python's `json.dumps`, one line unless indented.
    #[default]
    Json,
    /// PyYAML's block style, multi-line strings as literal blocks.
    Yaml,
}

impl Default for CallbackOptions {
    fn default() -> Self {
        CallbackOptions {
            display_ok_hosts: true,
            display_skipped_hosts: true,
            deprecation_warnings: true,
            display_failed_stderr: false,
            show_per_host_start: false,
            check_mode_markers: false,
            show_task_path_on_failure: false,
            result_format: ResultFormat::Json,
            pretty_results: None,
            dry_run: false,
        }
    }
}

/// A result as `register` keeps it: without the keys Ansible keeps for itself (`_ansible_*`), at any depth
/// (its `strip_internal_keys`).
pub fn registered(result: &Value) -> Value {
    match result {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with("_ansible_"))
                .map(|(k, v)| (k.clone(), registered(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(registered).collect()),
        other => other.clone(),
    }
}

/// A result as callbacks show it: without the keys Ansible keeps for itself (`_ansible_*`) and without
/// `failed`/`skipped`, which the status line already says (Ansible's `TaskResult.clean_copy`), and without
/// `exception`, which the callback shows only as a traceback at -vvv, and `invocation`, shown from -vvv on;
/// the values inside lose their `_ansible_*` keys too, as in `strip_internal_keys`.
pub fn without_internal_keys(result: &Value, verbosity: u8) -> Value {
    match result {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !k.starts_with("_ansible")
                        && !matches!(k.as_str(), "failed" | "skipped" | "exception")
                        && (verbosity >= 3 || k.as_str() != "invocation")
                })
                .map(|(k, v)| (k.clone(), registered(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
