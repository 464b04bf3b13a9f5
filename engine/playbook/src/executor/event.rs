//! What the executor tells its sinks: the run as a stream of events.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// How a task ended on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ran, changed nothing.
    Ok,
    /// Ran and changed something.
    Changed,
    /// Failed.
    Failed,
    /// Could not be reached.
    Unreachable,
    /// Did not run (a false `when`, check mode).
    Skipped,
}

/// One host's result of one task.
#[derive(Debug, Clone, Serialize)]
pub struct HostResult {
    /// Inventory name.
    pub host: String,
    /// The task's display name.
    pub task: String,
    /// How it ended.
    pub status: Status,
    /// Whether a failure was ignored (`ignore_errors`), or an unreachable host (`ignore_unreachable`).
    pub ignored: bool,
    /// The result as Ansible shapes it.
    pub result: Value,
    /// Wall time on the controller.
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// The action, for display rules (`debug` shows only its message).
    pub action: String,
    /// For a loop item: how the item is shown (`(item=...)`).
    pub item: Option<String>,
    /// The task had a loop: its final result only sums up the items already shown.
    pub looped: bool,
    /// Where the task is, for the error report of a failure.
    #[serde(skip)]
    pub origin: Option<crate::playbook::Origin>,
    /// What caused a failure and where that is written, when it is not the task itself (a condition, a
    /// loop, an argument): ansible-core 2.19 shows it after `<<< caused by >>>`.
    #[serde(skip)]
    pub cause: Option<Cause>,
}

/// The cause of a failure: what the task reports of it, then each cause and where it is written.
#[derive(Debug, Clone)]
pub struct Cause {
    /// What the task reports of it (`Task failed.`).
    pub first: String,
    /// The causes, outermost first (a condition, then the variable it used), each where it is written when
    /// it is (a timeout is written nowhere).
    pub chain: Vec<(String, Option<crate::playbook::Origin>)>,
    /// What the report ends with (how to allow a broken conditional).
    pub help: Option<String>,
    /// The cause is reported as it is, at its place, without the task's (a loop that is no list).
    pub plain: bool,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The recap counters of one host.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counters {
    /// ok (changed results count here too, as in Ansible).
    pub ok: u32,
    /// changed.
    pub changed: u32,
    /// unreachable.
    pub unreachable: u32,
    /// failed.
    pub failed: u32,
    /// skipped.
    pub skipped: u32,
    /// rescued.
    pub rescued: u32,
    /// ignored.
    pub ignored: u32,
}

/// Counters per host, sorted by host name as the recap shows them.
pub type Stats = BTreeMap<String, Counters>;

impl Counters {
    /// Counts one result the way Ansible's stats do.
    pub fn count(&mut self, result: &HostResult) {
        match (result.status, result.ignored) {
            (Status::Ok, _) => self.ok += 1,
            (Status::Changed, _) => {
                self.ok += 1;
                self.changed += 1;
            }
            (Status::Skipped, _) => self.skipped += 1,
            (Status::Unreachable, false) => self.unreachable += 1,
            (Status::Unreachable, true) => {
                self.ok += 1;
                self.ignored += 1;
            }
            (Status::Failed, false) => self.failed += 1,
            (Status::Failed, true) => {
                self.ok += 1;
                self.ignored += 1;
                if result.result.get("changed").and_then(Value::as_bool) == Some(true) {
                    self.changed += 1;
                }
            }
        }
    }
}

/// An event of a run.
#[derive(Debug)]
pub enum Event<'a> {
    /// A play starts.
    PlayStart {
        /// Its name.
        name: &'a str,
        /// It runs in check mode (the `check_mode` keyword, else `--check`).
        check_mode: bool,
    },
    /// A play's pattern matched no host.
    NoHostsMatched,
    /// Every host of the play failed: the rest of the play is skipped.
    NoMoreHosts,
    /// A task (or a handler) starts.
    TaskStart {
        /// Display name.
        name: &'a str,
        /// It is a handler (`RUNNING HANDLER [...]`).
        handler: bool,
        /// It runs in check mode (the `check_mode` keyword it has or inherits, else `--check`).
        check_mode: bool,
        /// Where it is written (`/abs/path.yml:12`), shown after its banner from -vv.
        path: Option<&'a str>,
    },
    /// A host starts a task (shown with `show_per_host_start`).
    HostStart {
        /// Inventory name.
        host: &'a str,
        /// The task as ansible-core names it there: `TASK: name` or `HANDLER: name`.
        task: &'a str,
    },
    /// A banner line (`--step`'s question, repeated once answered).
    Banner(&'a str),
    /// A playbook starts: its name as given and how many plays it has (shown from -vv).
    PlaybookStart {
        /// The playbook as given.
        name: &'a str,
        /// Its plays.
        plays: usize,
        /// The files its `import_tasks` read as it was loaded (ansible-core loads a playbook just before it
        /// runs it and says so at -vv).
        statically_imported: &'a [String],
    },
    /// A host finished a task.
    HostResult(&'a HostResult),
    /// An include task's own result for a host, before what it names is read.
    IncludeResult(&'a HostResult),
    /// A host finished one item of a loop.
    ItemResult(&'a HostResult),
    /// `until` was not met yet: the task runs again.
    Retrying {
        /// `FAILED - RETRYING: [host]: task (N retries left).`
        message: &'a str,
    },
    /// A host's runner session ended; what it cost.
    Session {
        /// Inventory name (`localhost` sessions of `connection: local` are reported as `(local)`).
        host: &'a str,
        /// Connections and uploads.
        cost: crate::connection::SessionCost,
    },
    /// A conditional `meta` task did not apply to a host (shown, not counted).
    MetaSkipped {
        /// Inventory name.
        host: &'a str,
        /// Its result (`msg`, `skip_reason`), shown from -v.
        result: &'a Value,
    },
    /// A dynamic include brought a file (or a role) in for some hosts (and a loop item).
    Included {
        /// The file's path, or the role's name.
        what: &'a str,
        /// The hosts that included it.
        hosts: &'a [String],
        /// The loop item's label.
        item: Option<&'a str>,
    },
    /// Something to warn about.
    Warning(&'a str),
    /// An error ansible-core's display reports on its own (`[ERROR]: ...` on standard error), the run going on.
    Error(&'a str),
    /// A deprecated use (the message, then its origin).
    Deprecation(&'a str),
    /// A line shown from a verbosity on (`statically imported: FILE` from -vv).
    Verbose {
        /// The number of `-v` it needs.
        level: u8,
        /// The line.
        text: &'a str,
    },
    /// A line an action shows as it runs (`pause`'s "Pausing for 5 seconds").
    Display(&'a str),
    /// The run is over.
    Recap(&'a Stats),
}

/// Receives events: the terminal output, the JSON report.
pub trait Sink: Send {
    /// Handles one event.
    fn event(&mut self, event: &Event<'_>);
}
