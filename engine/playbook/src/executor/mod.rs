//! Runs plays: the linear strategy (every host finishes a task before the next task starts), hosts in parallel
//! up to `forks`, results reported as [`Event`]s to the sinks.
//!
//! A host that fails or cannot be reached is a result, not an error: it leaves the play and the others go on.

pub mod actions;
pub mod event;
mod free;
mod host;
mod hostvars;
mod includes;
mod loops;
pub mod tags;

pub use host::{
    ARGUMENT_SPEC_FAILURE, CENSORED_MSG, ERROR_CAUSE, EXCEPTION_MESSAGE, FAILED_BY_CONDITION,
    NO_ERROR_REPORT, OMIT,
};

use crate::connection::RunnerSession;
use crate::connection::askpass::AskpassServer;
use crate::connection::escalation::Become;
use crate::connection::ssh::SshTarget;
use crate::inventory::Inventory;
use crate::modules::Catalog;
use crate::playbook::{Play, Playbook, Task};
use crate::secret::Secret;
use crate::template::Templar;
use crate::vars::{self, VarLayers};
use event::{Event, HostResult, Sink, Stats, Status};
use host::{HostJob, TaskContext};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{Mutex, Semaphore};

/// How a run is done: what the command line and the environment said.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `-f`.
    pub forks: usize,
    /// The `ansible.cfg` read, if any (`ansible_config_file`).
    pub config_file: Option<String>,
    /// `hash_behaviour = merge`.
    pub merge_hashes: bool,
    /// `--check`.
    pub check_mode: bool,
    /// `--diff`.
    pub diff: bool,
    /// Number of `-v`.
    pub verbosity: u8,
    /// `--limit`.
    pub limit: Option<String>,
    /// `-e`.
    pub extra_vars: Map<String, Value>,
    /// `-u`.
    pub remote_user: Option<String>,
    /// `--private-key`.
    pub private_key: Option<String>,
    /// `-c`.
    pub connection: Option<String>,
    /// `--timeout`.
    pub timeout: u64,
    /// `--ask-pass`.
    pub password: Option<Secret>,
    /// `--ssh-common-args`, split.
    pub ssh_common_args: Vec<String>,
    /// `host_key_checking` (ANSIBLE_HOST_KEY_CHECKING).
    pub host_key_checking: bool,
    /// `~/.cache/playbook` (compiled modules, the local runner's store).
    pub cache_dir: PathBuf,
    /// The private 0700 directory for sockets.
    pub private_dir: PathBuf,
    /// `--tags` / `--skip-tags`.
    pub tags: tags::TagFilter,
    /// `--force-handlers`: notified handlers run even on hosts that failed.
    pub force_handlers: bool,
    /// `remote_port` of the configuration: the SSH port where `ansible_port` is not set.
    pub remote_port: Option<u16>,
    /// Whether to warn that the inventory has no host (`localhost_warning`).
    pub localhost_warning: bool,
    /// `-b`/`--become`.
    pub escalate: bool,
    /// `--become-user`.
    pub become_user: Option<String>,
    /// `--become-method`.
    pub become_method: Option<String>,
    /// `-K`: the become password, asked once.
    pub become_password: Option<Secret>,
    /// `--start-at-task`: tasks are skipped until one of this name (or matching this shell pattern).
    pub start_at_task: Option<String>,
    /// `--step`: ask before each task (until answered `c`).
    pub step: bool,
    /// The inventory sources and the playbooks' directories (their `group_vars/`, `host_vars/`), for
    /// `meta: refresh_inventory`.
    pub inventory_sources: Vec<String>,
    /// See `inventory_sources`.
    pub playbook_dirs: Vec<PathBuf>,
    /// `retry_files_enabled`: write the failed hosts to `NAME.retry` after each playbook.
    pub retry_files: bool,
    /// `retry_files_save_path`: where retry files go instead of beside the playbook.
    pub retry_files_save_path: Option<PathBuf>,
}

/// What ansible-core says of a `meta` task for a host: the `META:` line of -vv, and when its condition
/// skipped it, the result shown.
fn meta_report(what: &str, runs: bool, host: &str, role: &str) -> (String, Option<Value>) {
    let done = match what {
        "flush_handlers" => format!("triggered running handlers for {host}"),
        "refresh_inventory" => "inventory successfully refreshed".into(),
        "clear_facts" => "facts cleared".into(),
        "clear_host_errors" => "cleared host errors".into(),
        "end_batch" => "ending batch".into(),
        "end_play" => "ending play".into(),
        "end_host" => format!("ending play for {host}"),
        "end_role" => format!("ending role {role} for {host}"),
        "reset_connection" => "reset connection".into(),
        other => other.to_string(),
    };
    if runs {
        return (done, None);
    }
    // ansible-core's words, its missing separator for end_role included.
    let reason = format!("{what} conditional evaluated to False");
    let reason = match what {
        "flush_handlers" => format!("{reason}, not running handlers for {host}"),
        "clear_facts" => format!("{reason}, not clearing facts and fact cache for {host}"),
        "clear_host_errors" => format!("{reason}, not clearing host error state for {host}"),
        "end_batch" => format!("{reason}, continuing current batch"),
        "end_play" => format!("{reason}, continuing play"),
        "end_host" => format!("{reason}, continuing execution for {host}"),
        "end_role" => format!("{reason}continuing role {role} for {host}"),
        _ => reason,
    };
    let msg = match what {
        "end_host" => {
            format!("end_host conditional evaluated to false, continuing execution for {host}")
        }
        other => other.to_string(),
    };
    let result = json!({"msg": msg, "skipped": true, "skip_reason": reason});
    (reason, Some(result))
}

/// An inventory source as `ansible_inventory_sources` lists it: a path made absolute, anything else (`a,b,`)
/// as given.
fn absolute_source(source: &str) -> String {
    let path = std::path::Path::new(source);
    if !path.exists() {
        return source.to_string();
    }
    std::path::absolute(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| source.to_string())
}

/// `ansible_playbook_python`: Ansible's own interpreter. Ours has none, so the controller's `python3` stands in
/// (inventories set `ansible_python_interpreter={{ ansible_playbook_python }}`), found once on `PATH`.
fn controller_python() -> &'static str {
    static FOUND: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("python3"))
            .find(|candidate| candidate.is_file())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/usr/bin/python3".into())
    })
}

type SharedSession = Arc<Mutex<Option<Result<RunnerSession, SessionFailure>>>>;

/// Why a host's session could not start or broke: its tasks are unreachable, or (when becoming another user
/// failed) they fail.
#[derive(Debug, Clone)]
struct SessionFailure {
    message: String,
    unreachable: bool,
}

/// State kept per host across a play.
#[derive(Debug, Default, Clone)]
struct HostState {
    /// The last failed task and its result (`ansible_failed_task`, `ansible_failed_result` in `rescue`).
    last_failure: Option<(Value, Value)>,
    /// `meta: end_host` took the host out of the rest of the play (not a failure).
    ended: bool,
    /// Handlers (by index in the play's list) this host notified and that have not run yet.
    notified: std::collections::BTreeSet<usize>,
    /// The same, in the order they were first notified (as ansible-core's `-vv` lines list them).
    notified_order: Vec<usize>,
    facts: Map<String, Value>,
    /// `register` and `set_fact` values: data, never templated again.
    vars: Map<String, Value>,
    /// `include_vars` values: variables like those of vars files, templated when used.
    included: Map<String, Value>,
    failed: bool,
    /// Failed by another host's failure under `any_errors_fatal`, inside a block with a rescue: rescued
    /// without counting, and without a failed task of its own.
    failed_by_others: bool,
    unreachable: bool,
}

/// Why `vars_files` could not be loaded: a failure of every host of the play, or of the whole run.
enum VarsFilesError {
    Host(String),
    /// With ansible-playbook's exit code.
    Run(String, i32),
}

/// Why one `vars_files` entry could not be loaded.
enum VarsFileError {
    /// Its name needs a variable that is not there (yet).
    Undefined,
    /// Its name could not be templated.
    Template(String),
    /// The file could not be read: a vault no secret opens, YAML that does not parse (exit code 4, as a
    /// parse error), not a mapping; with ansible-playbook's exit code.
    Unreadable(String, i32),
}

impl HostState {
    /// Where the `ansible_facts` of an action's result go: `set_fact` to the host's variables, `include_vars`
    /// to its included variables, modules' to its facts.
    fn target_of(&mut self, action: &str) -> &mut Map<String, Value> {
        match action {
            "set_fact" => &mut self.vars,
            "include_vars" => &mut self.included,
            _ => &mut self.facts,
        }
    }
}

/// Whether a play goes on after a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// `meta: end_play`, or no host left.
    EndPlay,
    /// `any_errors_fatal` or `max_fail_percentage`: the play ends, and the run with it.
    Abort,
}

/// The batch of a play running now (`serial`), and what the failure rules need to know about it.
#[derive(Debug, Default)]
struct Batch {
    /// Every host of the play (`ansible_play_hosts_all`).
    play_hosts: Vec<String>,
    /// The hosts of this batch.
    hosts: Vec<String>,
    /// Hosts of the batch that had failed before it started.
    failed_before: Vec<String>,
    /// `max_fail_percentage` of the play.
    max_fail_percentage: Option<f64>,
    /// How many `block`s with a `rescue` the running task is in: a failure there is not final.
    rescue_depth: usize,
}

/// The result of a host's run of a task that ended without one (it panicked or was cancelled).
fn lost(e: &tokio::task::JoinError) -> host::HostOutcome {
    host::HostOutcome::failed(format!("the run of this task stopped unexpectedly: {e}"))
}

/// The strings of a JSON list (an action's result), others left out.
fn strings(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `--start-at-task` names this task: its name or its display name (`role : name`), equal or matched
/// as a shell pattern, as ansible-core's play iterator compares them.
fn starts_at(task: &Task, start: &str) -> bool {
    let glob = crate::inventory::pattern::Glob::new(start);
    let own = task
        .name
        .as_deref()
        .is_some_and(|n| n == start || glob.matches(n));
    let shown = task.display_name();
    own || shown == start || glob.matches(&shown)
}

/// Runs playbooks against an inventory.
pub struct Executor {
    inventory: Arc<Inventory>,
    catalog: Arc<Catalog>,
    templar: Arc<Templar>,
    options: RunOptions,
    sinks: Vec<Box<dyn Sink>>,
    stats: Stats,
    /// The play's `vars_files` from the first whose name needs the hosts' variables on, in order: those
    /// loaded per host (`Err`, the entry) and the files after them (`Ok`), which must still win over them.
    host_vars_files: Vec<Result<Map<String, Value>, Value>>,
    /// The counters of hosts when `meta: clear_host_errors` forgave their failures (see [`Outcome::cleared`]).
    cleared: Stats,
    hosts: HashMap<String, HostState>,
    sessions: HashMap<String, SharedSession>,
    local: SharedSession,
    askpass: Option<Arc<AskpassServer>>,
    /// The handlers of the play running: its own and its roles', and those of roles included so far.
    handlers: Vec<Task>,
    batch: Batch,
    /// An error that ended the run before its recap (ansible-playbook prints none then), and the exit code
    /// it gives (1, or 4 for a vars file no vault secret opens).
    fatal: Option<String>,
    fatal_code: i32,
    /// `meta: end_play` ran in this play: its later batches do not run either.
    play_ended: bool,
    /// Handlers are running: the tasks a handler includes are shown as handlers too.
    in_handlers: bool,
    /// The `add_host` and `group_by` results applied so far (with the host of each), which
    /// `refresh_inventory` applies again to what it reads.
    runtime_changes: Vec<(String, Value)>,
    /// `groups`, made once per state of the inventory.
    groups_cache: std::sync::Mutex<Option<Value>>,
    /// The distinct become passwords seen, so that sessions opened with different ones stay apart.
    become_passwords: Vec<Secret>,
    /// Where the running play's variables are written, for error reports.
    play_var_origins: Arc<std::collections::BTreeMap<String, crate::playbook::Origin>>,
    /// The names shown for tasks whose names are templates, by where the task is written: its results go
    /// under that banner.
    titles: HashMap<String, String>,
    /// Each host's variables for the task it last prepared: templated keywords (`ignore_errors: "{{ x }}"`)
    /// are rendered with them.
    contexts: HashMap<String, minijinja::Value>,
    /// Roles included with `public: true` in the play so far: their defaults and vars are every task's.
    public_roles: Vec<Arc<crate::playbook::RoleScope>>,
    /// The role applications `include_role` made for each host in the play so far (see
    /// `IncludedRole::applied`).
    included_applications: HashMap<String, Vec<String>>,
    /// `ansible_inventory_sources`, made once: finding which sources are paths asks the file system.
    inventory_sources: Value,
}

/// What a finished run says.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The recap.
    pub stats: Stats,
    /// `--start-at-task` named no task of any play.
    pub start_not_found: Option<String>,
    /// An error that ended the run before its recap, and its exit code.
    pub fatal: Option<(String, i32)>,
    /// Per host, the counters when `meta: clear_host_errors` forgave its failures: those before do not
    /// make the exit code, as ansible-core forgets them (its recap still counts them).
    pub cleared: Stats,
}

impl Outcome {
    /// Whether a host has a count (failures or unreachable results) that was not cleared.
    fn counted(&self, count: impl Fn(&event::Counters) -> u32) -> bool {
        self.stats
            .iter()
            .any(|(host, c)| count(c) > self.cleared.get(host).map_or(0, &count))
    }

    /// ansible-playbook's exit code: 4 if any host was unreachable, else 2 if any failed, else 0.
    pub fn exit_code(&self) -> i32 {
        if let Some((_, code)) = &self.fatal {
            *code
        } else if self.counted(|c| c.unreachable) {
            4
        } else if self.counted(|c| c.failed) {
            2
        } else {
            0
        }
    }
}

impl Executor {
    /// An executor over `inventory` writing to `sinks`.
    pub fn new(inventory: Inventory, options: RunOptions, sinks: Vec<Box<dyn Sink>>) -> Executor {
        let inventory_sources = json!(
            options
                .inventory_sources
                .iter()
                .map(|s| absolute_source(s))
                .collect::<Vec<_>>()
        );
        Executor {
            inventory: Arc::new(inventory),
            catalog: Arc::new(Catalog::new(options.cache_dir.join("controller"))),
            templar: Arc::new(Templar::new()),
            options,
            sinks,
            stats: Stats::new(),
            host_vars_files: Vec::new(),
            cleared: Stats::new(),
            hosts: HashMap::new(),
            sessions: HashMap::new(),
            local: Arc::new(Mutex::new(None)),
            askpass: None,
            handlers: Vec::new(),
            batch: Batch::default(),
            fatal: None,
            fatal_code: 1,
            play_ended: false,
            in_handlers: false,
            runtime_changes: Vec::new(),
            groups_cache: std::sync::Mutex::new(None),
            become_passwords: Vec::new(),
            play_var_origins: Default::default(),
            titles: HashMap::new(),
            contexts: HashMap::new(),
            public_roles: Vec::new(),
            included_applications: HashMap::new(),
            inventory_sources,
        }
    }

    fn emit(&mut self, event: Event<'_>) {
        for sink in &mut self.sinks {
            sink.event(&event);
        }
    }

    /// Reports a warning.
    pub fn warn(&mut self, message: &str) {
        self.emit(Event::Warning(message));
    }

    /// Runs every play of the playbooks in order, then one recap.
    pub async fn run(
        mut self,
        playbooks: &[Playbook],
        limit_hosts: Option<Vec<String>>,
    ) -> Outcome {
        for (n, playbook) in playbooks.iter().enumerate() {
            self.emit(Event::PlaybookStart {
                name: &playbook.file.name,
                plays: playbook.plays.len(),
                statically_imported: &playbook.statically_imported,
            });
            let mut broken = false;
            for play in &playbook.plays {
                if !self.run_play(playbook, play, limit_hosts.as_deref()).await {
                    broken = true;
                    break;
                }
            }
            if self.fatal.is_some() {
                break;
            }
            let mut failed: Vec<&String> = self
                .hosts
                .iter()
                .filter(|(_, s)| s.failed || s.unreachable)
                .map(|(h, _)| h)
                .collect();
            failed.sort();
            let any_failed = !failed.is_empty();
            if self.options.retry_files && any_failed {
                let lines: String = failed.iter().map(|h| format!("{h}\n")).collect();
                self.write_retry_file(playbook, &lines);
            }
            // As ansible-playbook: each playbook ends with the recap so far, and none runs after one that
            // leaves a host failed or unreachable.
            if broken || any_failed || n + 1 == playbooks.len() {
                break;
            }
            let stats = self.stats.clone();
            self.emit(Event::Recap(&stats));
        }
        self.finish().await
    }

    /// Runs one ad-hoc task on a pattern, then the recap.
    pub async fn run_adhoc(
        mut self,
        pattern: &str,
        task: Task,
        limit_hosts: Option<Vec<String>>,
    ) -> Outcome {
        let play = Play {
            name: format!("Ansible Ad-Hoc ({pattern})"),
            hosts: pattern.to_string(),
            vars: Map::new(),
            var_origins: Default::default(),
            gather_facts: false,
            connection: None,
            remote_user: None,
            tasks: vec![task],
            pre_tasks: Vec::new(),
            post_tasks: Vec::new(),
            vars_files: Vec::new(),
            vars_files_origins: Vec::new(),
            gather_when: None,
            handlers: Vec::new(),
            tags: Vec::new(),
            roles: Vec::new(),
            applied_roles: Vec::new(),
            serial: Vec::new(),
            max_fail_percentage: None,
            any_errors_fatal: false,
            force_handlers: None,
            execution: Default::default(),
            vars_prompt: Vec::new(),
            free: false,
            templated: Map::new(),
            keyword_origins: Default::default(),
            order: None,
            imported_from: None,
            gather_args: Map::new(),
            span: crate::diag::Span::default(),
        };
        let playbook = Playbook {
            dir: std::env::current_dir().unwrap_or_default(),
            file: crate::diag::SourceFile::new("(ad-hoc)", ""),
            plays: vec![play],
            context: Default::default(),
            statically_imported: Vec::new(),
        };
        for play in &playbook.plays {
            self.run_play(&playbook, play, limit_hosts.as_deref()).await;
        }
        self.finish().await
    }

    /// `retry_files_enabled`: `text` (the hosts that failed or were unreachable, one per line) in `NAME.retry`
    /// beside the playbook (or in `retry_files_save_path`), for `--limit @NAME.retry`.
    fn write_retry_file(&mut self, playbook: &Playbook, text: &str) {
        let file = Path::new(&playbook.file.name);
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let dir = match &self.options.retry_files_save_path {
            Some(dir) => dir.clone(),
            None => std::path::absolute(file)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| playbook.dir.clone()),
        };
        let path = dir.join(format!("{stem}.retry"));
        let written = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text));
        match written {
            Ok(()) => self.emit(Event::Display(&format!(
                "\tto retry, use: --limit @{}",
                path.display()
            ))),
            Err(e) => self.warn(&format!(
                "Could not create retry file '{}'.\n\t{e}",
                path.display()
            )),
        }
    }

    async fn finish(mut self) -> Outcome {
        let mut sessions: Vec<(String, SharedSession)> = self.sessions.drain().collect();
        sessions.sort_by(|a, b| a.0.cmp(&b.0));
        sessions.push(("(local)".into(), Arc::clone(&self.local)));
        for (host, session) in sessions {
            let taken = session.lock().await.take();
            if let Some(Ok(s)) = taken {
                let cost = s.cost;
                s.shutdown().await;
                self.emit(Event::Session { host: &host, cost });
            }
        }
        let stats = self.stats.clone();
        if self.fatal.is_none() {
            self.emit(Event::Recap(&stats));
        }
        Outcome {
            stats,
            cleared: std::mem::take(&mut self.cleared),
            start_not_found: self.options.start_at_task.take(),
            fatal: self.fatal.take().map(|m| (m, self.fatal_code)),
        }
    }

    /// What the play's own templates see before any host does (its keywords, its `vars_files` names): the
    /// play's variables, the extra vars and `playbook_dir`.
    fn play_context(&self, playbook: &Playbook, play: &Play) -> minijinja::Value {
        let mut vars = play.vars.clone();
        vars.extend(self.options.extra_vars.clone());
        vars.insert(
            "playbook_dir".into(),
            json!(play.dir(playbook).display().to_string()),
        );
        crate::template::vars_map_to_jinja(&vars)
    }

    /// The play with the keywords written as templates rendered (`hosts: "{{ target }}"`, its name, `serial`,
    /// `gather_facts`, ...), as ansible-core renders a play's keywords with its variables and the extra vars
    /// before it runs; `None` when none is a template.
    fn play_keywords(&self, playbook: &Playbook, play: &Play) -> Result<Option<Play>, String> {
        use crate::template::is_template;
        let templated_serial = play
            .serial
            .iter()
            .any(|v| v.as_str().is_some_and(is_template));
        if !is_template(&play.name)
            && !is_template(&play.hosts)
            && !templated_serial
            && play.templated.is_empty()
        {
            return Ok(None);
        }
        let ctx = self.play_context(playbook, play);
        // An error names the keyword and where its value is written (a name taken from `hosts`, there).
        let render_keyword = |keyword: &str, text: &str| {
            self.templar.render_str(text, &ctx).map_err(|e| {
                let mut message = format!("Error processing keyword '{keyword}': {}", e.message);
                let at = play.keyword_origins.get(keyword);
                if let Some(origin) = at.or_else(|| play.keyword_origins.get("hosts")) {
                    message.push_str(&format!("\n{}", origin.report()));
                }
                message
            })
        };
        let text = |value: Value| match value {
            Value::Array(items) => items
                .iter()
                .map(crate::pyjson::python_str)
                .collect::<Vec<_>>()
                .join(","),
            other => crate::pyjson::python_str(&other),
        };
        let mut out = play.clone();
        if is_template(&play.name) {
            out.name = text(render_keyword("name", &play.name)?);
        }
        if is_template(&play.hosts) {
            out.hosts = text(render_keyword("hosts", &play.hosts)?);
        }
        if templated_serial {
            out.serial = Vec::new();
            for size in &play.serial {
                match size.as_str().filter(|t| is_template(t)) {
                    Some(template) => match render_keyword("serial", template)? {
                        Value::Array(sizes) => out.serial.extend(sizes),
                        size => out.serial.push(size),
                    },
                    None => out.serial.push(size.clone()),
                }
            }
        }
        for (keyword, value) in &play.templated {
            let rendered = render_keyword(keyword, value.as_str().unwrap_or_default())?;
            let flag = || {
                crate::template::boolean(&rendered).ok_or_else(|| {
                    format!(
                        "The field '{keyword}' has an invalid value, which includes an undefined variable.. \
                         {} is not a valid boolean",
                        crate::pyjson::python_str(&rendered)
                    )
                })
            };
            match keyword.as_str() {
                "gather_facts" => out.gather_facts = flag()?,
                "any_errors_fatal" => out.any_errors_fatal = flag()?,
                "force_handlers" => out.force_handlers = Some(flag()?),
                _ => {
                    let number = crate::pyjson::python_str(&rendered);
                    out.max_fail_percentage =
                        Some(number.trim().trim_end_matches('%').parse().map_err(|_| {
                            format!("max_fail_percentage must be a number, not {number}")
                        })?);
                }
            }
        }
        Ok(Some(out))
    }

    fn select_hosts(&mut self, play: &Play, limit: Option<&[String]>) -> Vec<String> {
        if self.options.localhost_warning && self.inventory.hosts().next().is_none() {
            self.warn(
                "provided hosts list is empty, only localhost is available. Note that the implicit localhost does not match 'all'",
            );
        }
        // Each term that matches nothing is warned about, as ansible-core does.
        let hosts = match self.inventory.select_reporting(&play.hosts) {
            Ok((hosts, unmatched)) => {
                for term in unmatched {
                    self.warn(&Inventory::unmatched_warning(&term));
                }
                hosts
            }
            Err(e) => {
                self.warn(&e.to_string());
                Vec::new()
            }
        };
        match limit {
            Some(allowed) => hosts.into_iter().filter(|h| allowed.contains(h)).collect(),
            None => hosts,
        }
    }

    /// The order the play's hosts run in, by its `order:` (the inventory's by default); the play's hosts
    /// (`ansible_play_hosts_all`) stay in the inventory's.
    fn run_order(play: &Play, hosts: &[String]) -> Vec<String> {
        let mut hosts = hosts.to_vec();
        match play.order.as_deref() {
            Some("reverse_inventory") => hosts.reverse(),
            Some("sorted") => hosts.sort(),
            Some("reverse_sorted") => {
                hosts.sort();
                hosts.reverse();
            }
            Some("shuffle") => {
                use rand::seq::SliceRandom;
                hosts.shuffle(&mut rand::rng());
            }
            _ => {}
        }
        hosts
    }

    /// Runs a play, batch by batch (`serial`). False when the run must stop there, as ansible-playbook stops:
    /// every host of a batch failed, or `any_errors_fatal` or `max_fail_percentage` ended the play.
    async fn run_play(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        limit: Option<&[String]>,
    ) -> bool {
        let rendered = match self.play_keywords(playbook, play) {
            Ok(rendered) => rendered,
            Err(message) => {
                self.fatal = Some(message);
                self.fatal_code = 4;
                return false;
            }
        };
        let play = rendered.as_ref().unwrap_or(play);
        let hosts = self.select_hosts(play, limit);
        self.handlers = play.handlers.clone();
        self.public_roles.clear();
        self.included_applications.clear();
        self.play_var_origins = Arc::new(play.var_origins.clone());
        if hosts.is_empty() {
            self.play_start(play);
            self.emit(Event::NoHostsMatched);
            return true;
        }
        for host in &hosts {
            let state = self.hosts.entry(host.clone()).or_default();
            state.ended = false;
        }
        // vars_prompt answers are play vars; vars_files join them after `vars:`, as in Ansible's precedence.
        let prompted = match self.prompt_vars(play) {
            Ok(vars) => vars,
            Err(message) => {
                self.fatal = Some(message);
                return false;
            }
        };
        let play = &Play {
            vars: play.vars.clone().into_iter().chain(prompted).collect(),
            ..play.clone()
        };
        let play = match self.vars_files(playbook, play) {
            Ok(vars) => &Play {
                vars,
                ..play.clone()
            },
            Err(VarsFilesError::Run(message, code)) => {
                self.fatal = Some(message);
                self.fatal_code = code;
                return false;
            }
            Err(VarsFilesError::Host(message)) => {
                self.play_start(play);
                self.emit(Event::TaskStart {
                    name: "vars_files",
                    handler: false,
                    check_mode: false,
                    path: None,
                });
                for host in &hosts {
                    let outcome = host::HostOutcome::failed(message.clone());
                    self.record(
                        &Task::new("vars_files", Map::new(), String::new()),
                        host.clone(),
                        outcome,
                        Default::default(),
                    );
                }
                return true;
            }
        };
        let batches = match batches(&play.serial, &Self::run_order(play, &hosts)) {
            Ok(batches) => batches,
            Err(message) => {
                self.play_start(play);
                for host in &hosts {
                    self.record(
                        &Task::new("serial", Map::new(), String::new()),
                        host.clone(),
                        host::HostOutcome::failed(message.clone()),
                        Default::default(),
                    );
                }
                return false;
            }
        };
        for batch in batches {
            self.play_start(play);
            let failed_before = self.failed_or_unreachable(&batch);
            self.batch = Batch {
                play_hosts: hosts.clone(),
                hosts: batch.clone(),
                failed_before,
                max_fail_percentage: play.max_fail_percentage,
                rescue_depth: 0,
            };
            let flow = self.run_batch(playbook, play, &batch).await;
            if std::mem::take(&mut self.play_ended) {
                break;
            }
            let newly_failed = self
                .failed_or_unreachable(&batch)
                .len()
                .saturating_sub(self.batch.failed_before.len());
            if flow == Flow::Abort || newly_failed == batch.len() {
                return false;
            }
        }
        true
    }

    /// Whether `--start-at-task` still skips this task; the first task it names starts the run.
    fn waiting_for_start(&mut self, task: &Task) -> bool {
        let Some(start) = &self.options.start_at_task else {
            return false;
        };
        let found = starts_at(task, start);
        if found {
            self.options.start_at_task = None;
        }
        !found
    }

    /// Whether `--start-at-task` names a task of this play (in the order Ansible's play iterator walks it
    /// when nothing fails: a block's tasks, then its `always`; dynamic includes are not looked into).
    fn start_is_in(&self, play: &Play) -> bool {
        fn walk(tasks: &[Task], start: &str) -> bool {
            tasks
                .iter()
                .filter(|t| !t.duplicate)
                .any(|t| match &t.block {
                    Some(block) => walk(&block.block, start) || walk(&block.always, start),
                    None => starts_at(t, start),
                })
        }
        let Some(start) = &self.options.start_at_task else {
            return true;
        };
        [&play.pre_tasks, &play.tasks, &play.post_tasks]
            .iter()
            .any(|tasks| walk(tasks, start))
    }

    /// The hosts of `among` that failed or could not be reached.
    fn failed_or_unreachable(&self, among: &[String]) -> Vec<String> {
        among
            .iter()
            .filter(|h| {
                self.hosts
                    .get(*h)
                    .is_some_and(|s| s.failed || s.unreachable)
            })
            .cloned()
            .collect()
    }

    /// One batch of a play: facts, `pre_tasks`, roles and `tasks`, `post_tasks`, each section followed by a
    /// handler flush, as Ansible's play iterator does.
    async fn run_batch(&mut self, playbook: &Playbook, play: &Play, hosts: &[String]) -> Flow {
        // A play without the `--start-at-task` task runs nothing, not even its facts.
        if !self.start_is_in(play) {
            return Flow::Continue;
        }
        if play.free && play.max_fail_percentage.is_some() {
            self.warn(
                "Using max_fail_percentage with the free strategy is not supported, as tasks are executed independently on each host",
            );
        }
        let mut pre_tasks = play.pre_tasks.clone();
        if play.gather_facts {
            let mut facts = Task::new(
                "setup",
                play.gather_args.clone(),
                format!(
                    "{}:{}:{}",
                    playbook.file.name, play.span.line, play.span.col
                ),
            );
            facts.name = Some("Gathering Facts".into());
            facts.written_action = "gather_facts".into();
            // Unless the play has tags (which the task inherits), facts are gathered whatever --tags says.
            if play.tags.is_empty() {
                facts.tags = vec!["always".into()];
            }
            facts.any_errors_fatal = Some(play.any_errors_fatal);
            facts.when = play.gather_when.clone();
            // Gathering is a task of the play: its environment, become and module_defaults apply.
            facts.execution.inherit(&play.execution);
            if play.free {
                // Each host goes on from its own facts.
                pre_tasks.insert(0, facts);
            } else {
                // Facts are gathered even when `--start-at-task` skips the tasks before its own.
                let start_at = self.options.start_at_task.take();
                let flow = self.run_tasks(playbook, play, &[facts], hosts, None).await;
                self.options.start_at_task = start_at;
                if flow != Flow::Continue {
                    return flow;
                }
            }
        }
        for section in [&pre_tasks, &play.tasks, &play.post_tasks] {
            let flow = if play.free {
                self.run_free(playbook, play, section, hosts).await
            } else {
                self.run_tasks(playbook, play, section, hosts, None).await
            };
            if flow == Flow::Abort && play.force_handlers.unwrap_or(self.options.force_handlers) {
                // A failure that ends the play for all (any_errors_fatal) still lets forced handlers run
                // on the hosts that were notified, as ansible-core's play iterator does.
                for host in hosts {
                    if let Some(state) = self.hosts.get_mut(host) {
                        state.ended = false;
                    }
                }
                self.run_handlers(playbook, play, hosts).await;
            }
            if flow != Flow::Continue {
                return flow;
            }
            self.run_handlers(playbook, play, hosts).await;
        }
        Flow::Continue
    }

    /// Runs a list of tasks on the active hosts (of `among`, when given); a block runs its sections.
    async fn run_tasks(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        tasks: &[Task],
        hosts: &[String],
        among: Option<&[String]>,
    ) -> Flow {
        let tags = self.options.tags.clone();
        for task in tasks.iter().filter(|t| !t.duplicate) {
            // `--start-at-task` looks at every task, those its tags leave out too.
            if task.block.is_none() && self.waiting_for_start(task) {
                continue;
            }
            if task.block.is_none() && !tags.selects(&task.tags, &play.tags) {
                continue;
            }
            let mut active = self.active(hosts);
            if let Some(among) = among {
                active.retain(|h| among.contains(h));
            }
            if active.is_empty() {
                // No banner here: ansible-core's linear strategy announces "NO MORE HOSTS LEFT" only when
                // max_fail_percentage ends the play, not when every host has failed.
                return if among.is_none() {
                    Flow::EndPlay
                } else {
                    Flow::Continue
                };
            }
            let flow = if let Some(block) = &task.block {
                Box::pin(self.run_block(playbook, play, block, hosts, &active)).await
            } else if task.action == "meta" {
                self.meta(playbook, play, task, hosts, &active).await
            } else if matches!(task.action.as_str(), "include_tasks" | "include_role") {
                Box::pin(self.run_include(playbook, play, task, hosts, &active)).await
            } else {
                self.run_task(playbook, play, task, hosts, &active, false)
                    .await
            };
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// `block`, then `rescue` for the hosts that failed in it (their failure is rescued, as Ansible counts it),
    /// then `always` for every host that entered the block, failed or not.
    async fn run_block(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        block: &crate::playbook::Block,
        hosts: &[String],
        entered: &[String],
    ) -> Flow {
        if !block.rescue.is_empty() {
            self.batch.rescue_depth += 1;
        }
        let flow = self
            .run_tasks(playbook, play, &block.block, hosts, Some(entered))
            .await;
        if !block.rescue.is_empty() {
            self.batch.rescue_depth -= 1;
        }
        if flow != Flow::Continue {
            return flow;
        }
        let failed_in_block = self.failed_among(entered);
        if !block.rescue.is_empty() && !failed_in_block.is_empty() {
            for host in &failed_in_block {
                self.rescue(host);
            }
            let flow = self
                .run_tasks(playbook, play, &block.rescue, hosts, Some(&failed_in_block))
                .await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        if !block.always.is_empty() {
            // `always` runs on hosts that failed in the block too; they stay failed afterwards.
            let still_failed = self.failed_among(entered);
            for host in &still_failed {
                if let Some(state) = self.hosts.get_mut(host) {
                    state.failed = false;
                }
            }
            let flow = self
                .run_tasks(playbook, play, &block.always, hosts, Some(entered))
                .await;
            for host in &still_failed {
                if let Some(state) = self.hosts.get_mut(host) {
                    state.failed = true;
                }
            }
            return flow;
        }
        Flow::Continue
    }

    /// The hosts of `among` that failed (and are still reachable).
    fn failed_among(&self, among: &[String]) -> Vec<String> {
        among
            .iter()
            .filter(|h| {
                self.hosts
                    .get(*h)
                    .is_some_and(|s| s.failed && !s.unreachable)
            })
            .cloned()
            .collect()
    }

    /// Hosts still in the play: not failed, unreachable or ended.
    fn active(&self, hosts: &[String]) -> Vec<String> {
        hosts
            .iter()
            .filter(|h| {
                self.hosts
                    .get(*h)
                    .is_some_and(|s| !s.failed && !s.unreachable && !s.ended)
            })
            .cloned()
            .collect()
    }

    /// `vars_prompt`: each variable not given with `-e` is asked for at the terminal (twice with `confirm`,
    /// hidden when `private`), its default taken when nothing is typed; without a terminal the default is
    /// taken with a warning, as ansible-core does. `encrypt` hashes the answer as `password_hash` does.
    fn prompt_vars(&mut self, play: &Play) -> Result<Map<String, Value>, String> {
        use std::io::{BufRead, IsTerminal, Write};
        let mut answers = Map::new();
        for prompt in &play.vars_prompt {
            if self.options.extra_vars.contains_key(&prompt.name) {
                continue;
            }
            let default_text = prompt.default.as_ref().map(crate::pyjson::python_str);
            let question = match (&prompt.prompt, &default_text) {
                (Some(p), Some(d)) => format!("{p} [{d}]: "),
                (Some(p), None) => format!("{p}: "),
                (None, _) => format!("input for {}: ", prompt.name),
            };
            let ask = |question: &str| -> Result<String, String> {
                let answer = if prompt.private {
                    rpassword::prompt_password(question)
                } else {
                    crate::out!("{question}");
                    let _ = std::io::stdout().flush();
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).map(|_| line)
                };
                answer
                    .map(|a| a.trim_end_matches(['\r', '\n']).to_string())
                    .map_err(|e| format!("cannot read the answer for {}: {e}", prompt.name))
            };
            let typed = if std::io::stdin().is_terminal() {
                loop {
                    let first = ask(&question)?;
                    if !prompt.confirm || ask(&format!("confirm {question}"))? == first {
                        break first;
                    }
                    crate::outln!("***** VALUES ENTERED DO NOT MATCH ****");
                }
            } else {
                self.warn("Not prompting as we are not in interactive mode");
                String::new()
            };
            // The answer is text, as ansible-core's prompt makes it: the default's (a template like any play
            // variable, `unsafe` or not), "None" when there is neither an answer nor a default.
            let typed_in = !typed.is_empty();
            let mut value = match (typed_in, &prompt.default) {
                (false, Some(default)) => Value::String(crate::pyjson::python_str(default)),
                (false, None) if !std::io::stdin().is_terminal() => json!("None"),
                _ => Value::String(typed),
            };
            if let Some(method) = &prompt.encrypt {
                let mut expr = "value | password_hash(method".to_string();
                if prompt.salt.is_some() {
                    expr.push_str(", salt=salt");
                }
                if prompt.salt_size.is_some() {
                    expr.push_str(", salt_size=salt_size");
                }
                expr.push(')');
                let ctx = crate::template::to_jinja(&json!({
                    "value": crate::pyjson::python_str(&value),
                    "method": method,
                    "salt": prompt.salt,
                    "salt_size": prompt.salt_size,
                }));
                value = self
                    .templar
                    .eval(&expr, &ctx)
                    .map_err(|e| format!("vars_prompt {}: {}", prompt.name, e.message))?;
            }
            if prompt.unsafe_value && typed_in {
                value = crate::template::mark_unsafe(value);
            }
            answers.insert(prompt.name.clone(), value);
        }
        Ok(answers)
    }

    /// Loads `vars_files` (names templated with the play's and extra vars, relative to the playbook), merged over
    /// the play's `vars`. An entry whose name needs a variable of the hosts (`{{ inventory_hostname }}`, a
    /// fact) is left to each host, with a warning, as ansible-core does; a file that does not exist is skipped.
    fn vars_files(
        &mut self,
        playbook: &Playbook,
        play: &Play,
    ) -> Result<Map<String, Value>, VarsFilesError> {
        self.host_vars_files.clear();
        let mut vars = play.vars.clone();
        if play.vars_files.is_empty() {
            return Ok(vars);
        }
        let ctx = self.play_context(playbook, play);
        for (index, entry) in play.vars_files.iter().enumerate() {
            match self.vars_file(play.dir(playbook), entry, &ctx) {
                Ok(loaded) if self.host_vars_files.is_empty() => vars.extend(loaded),
                Ok(loaded) => self.host_vars_files.push(Ok(loaded)),
                Err(VarsFileError::Undefined) => {
                    let mut text =
                        "skipping vars_files item due to an undefined variable".to_string();
                    if let Some(origin) = play.vars_files_origins.get(index) {
                        text.push_str(&format!("\n{}", origin.report()));
                    }
                    self.warn(&text);
                    self.host_vars_files.push(Err(entry.clone()));
                }
                Err(VarsFileError::Template(message)) => {
                    return Err(VarsFilesError::Host(format!("vars_files: {message}")));
                }
                Err(VarsFileError::Unreadable(message, code)) => {
                    return Err(VarsFilesError::Run(message, code));
                }
            }
        }
        Ok(vars)
    }

    /// One `vars_files` entry (a list: the first of its files that exists) loaded with `ctx`; nothing when
    /// no file exists.
    fn vars_file(
        &self,
        dir: &Path,
        entry: &Value,
        ctx: &minijinja::Value,
    ) -> Result<Map<String, Value>, VarsFileError> {
        let candidates = match entry {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for candidate in &candidates {
            let name = match self.templar.render_value(candidate, ctx) {
                Ok(Value::String(s)) => s,
                Ok(other) => crate::pyjson::python_str(&other),
                Err(e) if e.undefined => return Err(VarsFileError::Undefined),
                Err(e) => return Err(VarsFileError::Template(e.message)),
            };
            let path = dir.join(&name);
            let text = match crate::vault::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if crate::vault::is_vault_error(&e) => {
                    return Err(VarsFileError::Unreadable(
                        format!("Invalid vars_files file '{}': {e}", path.display()),
                        1,
                    ));
                }
                Err(_) => continue,
            };
            let file = crate::diag::SourceFile::new(path.display().to_string(), text);
            let root = crate::yaml::parse(&file)
                .map_err(|e| VarsFileError::Unreadable(e.to_string(), 4))?;
            return match root.to_json() {
                Value::Object(map) => Ok(map),
                Value::Null => Ok(Map::new()),
                // A list of mappings is one mapping, the later entries over the earlier.
                Value::Array(items) if items.iter().all(Value::is_object) => Ok(items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::Object(map) => Some(map),
                        _ => None,
                    })
                    .flatten()
                    .collect()),
                _ => {
                    // ansible-core points at the first entry that is not a mapping.
                    let span = match &root.kind {
                        crate::yaml::NodeKind::Seq(items) => items
                            .iter()
                            .find(|item| item.as_map().is_none())
                            .map_or(root.span, |item| item.span),
                        _ => root.span,
                    };
                    let at = crate::playbook::Origin::new(&file.name, &file, span);
                    Err(VarsFileError::Unreadable(
                        format!(
                            "Invalid variable file contents.\n{}\nVariable files must contain either a dictionary of variables, or a list of dictionaries.\n",
                            at.report()
                        ),
                        4,
                    ))
                }
            };
        }
        Ok(Map::new())
    }

    /// `meta:` tasks: they act on the play itself. As ansible-core's linear strategy does, `noop`,
    /// `reset_connection`, `end_host` and `flush_handlers` are taken by each host (a banner each); the others
    /// (`end_play`, `end_batch`, `clear_host_errors`, `refresh_inventory`) once, by the first host, whose
    /// `when` decides for all. A meta whose `when` is false shows the host skipping.
    async fn meta(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        task: &Task,
        hosts: &[String],
        active: &[String],
    ) -> Flow {
        let what = task
            .args
            .get("_raw_params")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string();
        let per_host = matches!(
            what.as_str(),
            "noop"
                | "reset_connection"
                | "end_host"
                | "flush_handlers"
                | "role_complete"
                | "end_role"
        );
        let takers: Vec<String> = if per_host {
            active.to_vec()
        } else {
            active.iter().take(1).cloned().collect()
        };
        let hostvars = self.hostvars(playbook, hosts);
        let mut flow = Flow::Continue;
        let mut flushing = false;
        for host in &takers {
            self.announce(playbook, play, task, hosts, Some(host), false);
            // ansible-core ignores a condition on these (and warns).
            let conditional = !matches!(
                what.as_str(),
                "noop" | "refresh_inventory" | "reset_connection"
            );
            let runs = match task.when.as_ref().filter(|_| conditional) {
                None => true,
                Some(cond) => {
                    let vars = self.host_vars(playbook, play, task, hosts, host);
                    self.templar
                        .condition(cond, &context(vars, &hostvars))
                        .unwrap_or(false)
                }
            };
            let role = task
                .role
                .as_ref()
                .map(|r| r.name.as_str())
                .unwrap_or_default();
            let (header, result) = meta_report(&what, runs, host, role);
            self.emit(Event::Verbose {
                level: 2,
                text: &format!("META: {header}"),
            });
            if let Some(result) = result {
                self.emit(Event::MetaSkipped {
                    host,
                    result: &result,
                });
                continue;
            }
            match what.as_str() {
                "end_host" => {
                    if let Some(state) = self.hosts.get_mut(host) {
                        state.ended = true;
                    }
                }
                "end_batch" => {
                    let batch: Vec<String> = self
                        .batch
                        .hosts
                        .iter()
                        .filter(|h| !self.hosts.get(*h).is_some_and(|s| s.unreachable))
                        .cloned()
                        .collect();
                    for h in batch {
                        self.hosts.entry(h).or_default().ended = true;
                    }
                }
                "end_play" => {
                    for h in hosts {
                        if !self.hosts.get(h).is_some_and(|s| s.unreachable) {
                            self.hosts.entry(h.clone()).or_default().ended = true;
                        }
                    }
                    flow = Flow::EndPlay;
                    self.play_ended = true;
                }
                // A failed host stays out of this play (it finished its tasks) but takes part in the next.
                "clear_host_errors" => {
                    for h in hosts {
                        if let Some(counters) = self.stats.get(h) {
                            self.cleared.insert(h.clone(), *counters);
                        }
                        if let Some(state) = self.hosts.get_mut(h) {
                            if state.failed || state.unreachable {
                                state.ended = true;
                            }
                            state.failed = false;
                            state.unreachable = false;
                        }
                    }
                }
                "flush_handlers" => flushing = true,
                "refresh_inventory" => self.refresh_inventory(),
                // The facts of every host of the play, as ansible-core clears them.
                "clear_facts" => {
                    for h in hosts {
                        if let Some(state) = self.hosts.get_mut(h) {
                            state.facts.clear();
                        }
                    }
                }
                "noop" | "reset_connection" | "role_complete" | "end_role" => {}
                other => {
                    let outcome = host::HostOutcome::failed(format!(
                        "invalid meta action requested: {other}"
                    ));
                    self.record(task, host.clone(), outcome, Default::default());
                }
            }
        }
        if flushing {
            self.run_handlers(playbook, play, hosts).await;
        }
        flow
    }

    /// Runs the handlers notified during the play, in the order they are defined, each on the hosts that
    /// notified it (hosts that failed only with `--force-handlers`), as Ansible does at the end of a play.
    async fn run_handlers(&mut self, playbook: &Playbook, play: &Play, hosts: &[String]) {
        let handlers = self.handlers.clone();
        // At -vv, ansible-core says which handlers each host will run as it starts running them.
        if self.options.verbosity >= 2 {
            let mut lines = Vec::new();
            for host in hosts {
                let order = self
                    .hosts
                    .get(host)
                    .map(|s| s.notified_order.clone())
                    .unwrap_or_default();
                for index in order {
                    if let Some(handler) = handlers.get(index)
                        && self.runs_handler(play, host, index)
                    {
                        lines.push(format!(
                            "NOTIFIED HANDLER {} for {host}",
                            handler.display_name()
                        ));
                    }
                }
            }
            for line in lines {
                self.emit(Event::Display(&line));
            }
        }
        // A host whose handler fails runs no later one, even when handlers are forced (a host that failed in
        // its tasks still does then).
        let mut failed_in_handlers = std::collections::HashSet::new();
        for (index, handler) in handlers.iter().enumerate() {
            let notified: Vec<String> = hosts
                .iter()
                .filter(|h| self.runs_handler(play, h, index) && !failed_in_handlers.contains(*h))
                .cloned()
                .collect();
            for state in self.hosts.values_mut() {
                state.notified.remove(&index);
                state.notified_order.retain(|i| *i != index);
            }
            if notified.is_empty() {
                continue;
            }
            let failed_before = self.failed_or_unreachable(&notified);
            let was_in_handlers = std::mem::replace(&mut self.in_handlers, true);
            if handler.action == "include_tasks" {
                Box::pin(self.run_include(playbook, play, handler, hosts, &notified)).await;
            } else {
                self.run_task(playbook, play, handler, hosts, &notified, true)
                    .await;
            }
            self.in_handlers = was_in_handlers;
            for host in self.failed_or_unreachable(&notified) {
                if !failed_before.contains(&host) {
                    failed_in_handlers.insert(host);
                }
            }
        }
    }

    /// Whether `host` runs the handler at `index` when handlers are flushed: notified, still in the play,
    /// and not failed unless handlers are forced.
    fn runs_handler(&self, play: &Play, host: &str, index: usize) -> bool {
        self.hosts.get(host).is_some_and(|s| {
            s.notified.contains(&index)
                && !s.unreachable
                && !s.ended
                && (!s.failed || play.force_handlers.unwrap_or(self.options.force_handlers))
        })
    }

    fn magic(&self, playbook_dir: &Path, play_hosts: &[String], host: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("inventory_hostname".into(), json!(host));
        m.insert(
            "inventory_hostname_short".into(),
            json!(host.split('.').next().unwrap_or(host)),
        );
        m.insert(
            "group_names".into(),
            json!(self.inventory.group_names(host)),
        );
        m.insert("groups".into(), self.groups());
        // As Ansible's: the hosts of the play (of every batch) and of the batch that have not failed, and every
        // host of the play.
        let standing = |hosts: &[String]| -> Vec<String> {
            hosts
                .iter()
                .filter(|h| {
                    self.hosts
                        .get(*h)
                        .is_none_or(|s| !s.failed && !s.unreachable && !s.ended)
                })
                .cloned()
                .collect()
        };
        let batch = standing(play_hosts);
        let all = if self.batch.play_hosts.is_empty() {
            play_hosts
        } else {
            &self.batch.play_hosts
        };
        m.insert("ansible_play_hosts".into(), json!(standing(all)));
        m.insert("ansible_play_hosts_all".into(), json!(all));
        m.insert("ansible_play_batch".into(), json!(batch));
        m.insert("play_hosts".into(), json!(batch));
        m.insert(
            "playbook_dir".into(),
            json!(playbook_dir.display().to_string()),
        );
        m.insert("ansible_check_mode".into(), json!(self.options.check_mode));
        m.insert("ansible_diff_mode".into(), json!(self.options.diff));
        m.insert("ansible_verbosity".into(), json!(self.options.verbosity));
        m.insert("ansible_forks".into(), json!(self.options.forks));
        m.insert("ansible_run_tags".into(), json!(self.options.tags.only));
        m.insert("ansible_skip_tags".into(), json!(self.options.tags.skip));
        if let Some(limit) = &self.options.limit {
            m.insert("ansible_limit".into(), json!(limit));
        }
        m.insert("omit".into(), json!(OMIT));
        m.insert(
            "ansible_inventory_sources".into(),
            self.inventory_sources.clone(),
        );
        m.insert("ansible_playbook_python".into(), json!(controller_python()));
        m.insert(
            "ansible_config_file".into(),
            json!(self.options.config_file),
        );
        m.insert(
            "ansible_version".into(),
            json!({"full": "2.19.0", "major": 2, "minor": 19, "revision": 0, "string": "2.19.0"}),
        );
        m
    }

    /// The `groups` variable, made once for as long as the inventory stays as it is.
    fn groups(&self) -> Value {
        let mut cache = match self.groups_cache.lock() {
            Ok(cache) => cache,
            Err(poisoned) => poisoned.into_inner(),
        };
        cache
            .get_or_insert_with(|| Value::Object(self.inventory.groups_map()))
            .clone()
    }

    /// The inventory changed: `groups` is made again when next asked for.
    fn inventory_changed(&mut self) {
        if let Ok(cache) = self.groups_cache.get_mut() {
            *cache = None;
        }
    }

    /// `hostvars`: every inventory host's variables, facts and registered values, and those of hosts that got
    /// facts by delegation, each made when a template asks for it (one per task, shared by all hosts'
    /// contexts). The inventory's hosts come in its order, as ansible-core's `hostvars` has them; hosts known
    /// otherwise (the implicit localhost of a play, a delegate given facts) follow.
    fn hostvars(&self, playbook: &Playbook, hosts: &[String]) -> minijinja::Value {
        let mut names: Vec<String> = Vec::new();
        let mut seen: std::collections::HashSet<&String> = std::collections::HashSet::new();
        let mut others: Vec<&String> = self.hosts.keys().collect();
        others.sort();
        let known = self
            .inventory
            .hosts()
            .map(|h| &h.name)
            .chain(hosts)
            .chain(others);
        for name in known {
            if seen.insert(name) {
                names.push(name.clone());
            }
        }
        let added = self
            .hosts
            .iter()
            .map(|(name, state)| {
                let vars = state
                    .included
                    .iter()
                    .chain(&state.vars)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let added = hostvars::Added {
                    facts: state.facts.clone(),
                    vars,
                };
                (name.clone(), added)
            })
            .collect();
        // The run's magic variables are every host's (those of a play or a host are not).
        let mut shared = self.magic(&playbook.dir, hosts, "");
        for key in [
            "inventory_hostname",
            "inventory_hostname_short",
            "group_names",
            "ansible_play_hosts",
            "ansible_play_hosts_all",
            "ansible_play_batch",
            "play_hosts",
            "omit",
        ] {
            shared.remove(key);
        }
        minijinja::Value::from_object(hostvars::HostVars::new(
            Arc::clone(&self.inventory),
            added,
            names,
            shared,
            self.options.extra_vars.clone(),
        ))
    }

    fn host_vars(
        &self,
        playbook: &Playbook,
        play: &Play,
        task: &Task,
        hosts: &[String],
        host: &str,
    ) -> Map<String, Value> {
        let state = self.hosts.get(host).cloned().unwrap_or_default();
        let inventory = self.inventory.host_vars_in(host, play.dir(playbook));
        let mut magic = self.magic(play.dir(playbook), hosts, host);
        magic.insert("ansible_play_name".into(), json!(play.name));
        for (name, roles) in role_names(play) {
            magic.insert(name.into(), json!(roles));
        }
        // Every role of the play lends its defaults and vars to all tasks; the task's own role chain then
        // comes again on top, so its values win.
        let chain = task.role.as_ref().map(|r| r.chain()).unwrap_or_default();
        let play_roles = || play.roles.iter().chain(&self.public_roles);
        let mut role_defaults: Vec<&Map<String, Value>> =
            play_roles().map(|r| &r.defaults).collect();
        role_defaults.extend(chain.iter().map(|r| &r.defaults));
        let mut role_vars: Vec<&Map<String, Value>> = play_roles().map(|r| &r.vars).collect();
        role_vars.extend(chain.iter().map(|r| &r.vars));
        // `ansible_search_path`: the role's directory (the roles that depend on it after), the directory of
        // the task's file, the playbook's: where lookups look for their files, in that order.
        let absolute = |p: &std::path::Path| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.to_path_buf())
                .display()
                .to_string()
        };
        let mut search_path: Vec<String> = chain.iter().rev().map(|r| absolute(&r.path)).collect();
        let task_dir = task
            .origin
            .as_ref()
            .and_then(|o| std::path::Path::new(&o.path).parent())
            .map(|d| match d.as_os_str().is_empty() {
                true => absolute(std::path::Path::new(".")),
                false => absolute(d),
            });
        for dir in task_dir.into_iter().chain([absolute(play.dir(playbook))]) {
            if !search_path.contains(&dir) {
                search_path.push(dir);
            }
        }
        magic.insert("ansible_search_path".into(), json!(search_path));
        if let Some(role) = &task.role {
            role_vars.push(&role.invocation_vars);
            magic.insert("role_name".into(), json!(role.name));
            magic.insert("ansible_role_name".into(), json!(role.name));
            magic.insert("role_path".into(), json!(role.path.display().to_string()));
        }
        let mut layers = VarLayers {
            role_defaults,
            inventory: Some(&inventory),
            facts: Some(&state.facts),
            play: Some(&play.vars),
            play_files: None,
            role_vars,
            task: Some(&task.vars),
            included: Some(&state.included),
            host: Some(&state.vars),
            role_params: task.role.as_ref().map(|r| &r.params),
            include_params: Some(&task.include_params),
            extra: Some(&self.options.extra_vars),
            magic: Some(&magic),
            merge_hashes: self.options.merge_hashes,
        };
        let merged = vars::merge(&layers, &self.templar);
        if self.host_vars_files.is_empty() {
            return merged;
        }
        // Names made of the host's variables as they are now (its facts once gathered), as ansible-core
        // templates them each time it makes a host's variables.
        let ctx = crate::template::vars_map_to_jinja(&merged);
        let mut files = Map::new();
        for entry in &self.host_vars_files {
            match entry {
                Ok(loaded) => files.extend(loaded.clone()),
                Err(entry) => {
                    if let Ok(loaded) = self.vars_file(play.dir(playbook), entry, &ctx) {
                        files.extend(loaded);
                    }
                }
            }
        }
        layers.play_files = Some(&files);
        vars::merge(&layers, &self.templar)
    }

    fn ssh_target(&self, host: &str, vars: &Map<String, Value>, play: &Play) -> Option<SshTarget> {
        let text = |key: &str| -> Option<String> {
            match vars.get(key)? {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        };
        let connection = text("ansible_connection")
            .or_else(|| play.connection.clone())
            .or_else(|| self.options.connection.clone())
            .unwrap_or_else(|| "ssh".into());
        if connection == "local" {
            return None;
        }
        let split = |s: Option<String>| -> Vec<String> {
            s.and_then(|s| crate::playbook::args::split_words(&s).ok())
                .unwrap_or_default()
                .into_iter()
                .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_string())
                .collect()
        };
        let mut extra = self.options.ssh_common_args.clone();
        extra.extend(split(text("ansible_ssh_common_args")));
        extra.extend(split(text("ansible_ssh_extra_args")));
        let host_key_checking = match vars
            .get("ansible_host_key_checking")
            .or_else(|| vars.get("ansible_ssh_host_key_checking"))
        {
            Some(v) => {
                crate::template::truthy(v)
                    && v.as_str().is_none_or(|s| {
                        !matches!(
                            s.to_ascii_lowercase().as_str(),
                            "false" | "no" | "0" | "off"
                        )
                    })
            }
            None => self.options.host_key_checking,
        };
        Some(SshTarget {
            name: host.to_string(),
            address: text("ansible_host")
                .or_else(|| text("ansible_ssh_host"))
                .unwrap_or_else(|| host.to_string()),
            port: text("ansible_port")
                .or_else(|| text("ansible_ssh_port"))
                .and_then(|p| p.parse().ok())
                .or(self.options.remote_port),
            user: text("ansible_user")
                .or_else(|| text("ansible_ssh_user"))
                .or_else(|| play.remote_user.clone())
                .or_else(|| self.options.remote_user.clone()),
            private_key: text("ansible_ssh_private_key_file")
                .or_else(|| text("ansible_private_key_file"))
                .or_else(|| self.options.private_key.clone()),
            password: text("ansible_password")
                .or_else(|| text("ansible_ssh_pass"))
                .map(Secret::new)
                .or_else(|| self.options.password.clone()),
            extra_args: extra,
            host_key_checking,
            timeout: self.options.timeout,
        })
    }

    /// `meta: refresh_inventory`: the inventory read again from its sources, with what `add_host` and `group_by`
    /// added since the start kept, as ansible-core keeps it; a source that fails now is a warning and the
    /// inventory stays as it was.
    fn refresh_inventory(&mut self) {
        let reloaded =
            Inventory::load(&self.options.inventory_sources).and_then(|mut inventory| {
                for dir in &self.options.playbook_dirs {
                    inventory.add_vars_dir(dir)?;
                }
                Ok(inventory)
            });
        match reloaded {
            Ok(inventory) => {
                self.inventory = Arc::new(inventory);
                self.inventory_changed();
                for (host, mut result) in std::mem::take(&mut self.runtime_changes) {
                    self.apply_inventory_change(&host, Status::Ok, &mut result);
                }
            }
            Err(e) => self.warn(&format!("refresh_inventory: {e}")),
        }
    }

    /// `--step`: asks whether to run the task, as ansible-core's strategy does: `y` runs it, `c` runs it and
    /// every task after it without asking, anything else skips it.
    fn take_step(&mut self, task: &Task, host: Option<&str>) -> bool {
        use std::io::{BufRead, Write};
        let on = host.map(|h| format!("on {h} ")).unwrap_or_default();
        let question = format!(
            "Perform task: TASK: {} {on}(N)o/(y)es/(c)ontinue: ",
            task.display_name()
        );
        crate::out!("{question}");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        let run = match answer.trim().to_lowercase().as_str() {
            "y" | "yes" => true,
            "c" | "continue" => {
                self.options.step = false;
                true
            }
            _ => false,
        };
        self.emit(Event::Banner(question.trim_end()));
        run
    }

    /// How to reach a host: its SSH target (none for `connection: local`) and its runner session (one per
    /// user the runner runs as: the connection's, or each one `become` asks for).
    fn connection(
        &mut self,
        host: &str,
        vars: &Map<String, Value>,
        play: &Play,
        escalate: Option<&Become>,
        via: &[String],
    ) -> (Option<SshTarget>, SharedSession) {
        let ssh = self.ssh_target(host, vars, play);
        if ssh.as_ref().is_some_and(|t| t.password.is_some()) && self.askpass.is_none() {
            match AskpassServer::start(&self.options.private_dir) {
                Ok(server) => self.askpass = Some(Arc::new(server)),
                Err(e) => self.warn(&format!("cannot start the password helper: {e}")),
            }
        }
        // A become session is someone's only with the password that opened it: each distinct password is
        // numbered (never written into the key, which reports show).
        let mut password = |how: &Become| {
            let known = &mut self.become_passwords;
            let position = how
                .password
                .as_ref()
                .map(|p| match known.iter().position(|k| k == p) {
                    Some(i) => i,
                    None => {
                        known.push(p.clone());
                        known.len() - 1
                    }
                });
            position.map_or_else(String::new, |i| format!(" #{i}"))
        };
        // A task's own `remote_user` or `port` is another connection to the host.
        let host = match via {
            [] => host.to_string(),
            via => format!("{host} via {}", via.join(" ")),
        };
        let key = match (&ssh, escalate) {
            (None, None) => return (ssh, Arc::clone(&self.local)),
            (None, Some(how)) => format!("(local) as {}{}", how.key(), password(how)),
            (Some(_), None) => host,
            (Some(_), Some(how)) => format!("{host} as {}{}", how.key(), password(how)),
        };
        let session = Arc::clone(self.sessions.entry(key).or_default());
        (ssh, session)
    }

    /// `become` for a task on a host: the `ansible_become*` variables, then the task's keywords (which the
    /// play, blocks and roles gave it), then the command line, then Ansible's defaults (`root`, `sudo`,
    /// `-H -S -n`), as ansible-core's play context resolves them.
    fn escalation(&self, task: &Task, ctx: &minijinja::Value) -> Result<Option<Become>, String> {
        let execution = &task.execution;
        // A connection variable that is set but cannot be used (a become password in a vault no secret
        // opened) is the task's error: going on without it would fail later with a misleading message.
        let var = |names: &[&str]| -> Result<Option<Value>, String> {
            for name in names {
                let Ok(value) = ctx.get_attr(name) else {
                    continue;
                };
                if value.is_undefined() {
                    if let Some(why) = crate::template::unusable(name, ctx) {
                        return Err(why);
                    }
                    continue;
                }
                if value.is_none() {
                    continue;
                }
                if let Ok(found) = crate::template::from_jinja(&value) {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        };
        let keyword = |value: &Option<Value>, name: &str| -> Result<Option<Value>, String> {
            value
                .as_ref()
                .map(|v| {
                    self.templar
                        .render_value(v, ctx)
                        .map_err(|e| format!("{name}: {}", e.message))
                })
                .transpose()
        };
        let on = match var(&["ansible_become"])? {
            Some(v) => Some(v),
            None => keyword(&execution.escalate, "become")?,
        };
        let on = match on {
            Some(v) => crate::template::boolean(&v).ok_or_else(|| {
                format!(
                    "become must be a boolean, not {}",
                    crate::pyjson::python_str(&v)
                )
            })?,
            None => self.options.escalate,
        };
        if !on {
            return Ok(None);
        }
        let text = |vars: &[&str], value: &Option<Value>, name: &str, default: Option<&str>| {
            let found = match var(vars)? {
                Some(v) => Some(v),
                None => keyword(value, name)?,
            };
            Ok::<_, String>(
                found
                    .map(|v| crate::pyjson::python_str(&v))
                    .or_else(|| default.map(String::from)),
            )
        };
        let user = text(
            &["ansible_become_user"],
            &execution.become_user,
            "become_user",
            None,
        )?
        .or_else(|| self.options.become_user.clone())
        .unwrap_or_else(|| "root".into());
        let method = text(
            &["ansible_become_method"],
            &execution.become_method,
            "become_method",
            None,
        )?
        .or_else(|| self.options.become_method.clone())
        .unwrap_or_else(|| "sudo".into());
        // The method's own program and flags by default: sudo's `-H -S -n`, none for su.
        let exe = text(
            &["ansible_become_exe"],
            &execution.become_exe,
            "become_exe",
            Some(&method),
        )?
        .unwrap_or_default();
        let default_flags = if method == "sudo" { "-H -S -n" } else { "" };
        let flags = text(
            &["ansible_become_flags"],
            &execution.become_flags,
            "become_flags",
            Some(default_flags),
        )?
        .unwrap_or_default();
        let password = var(&[
            "ansible_become_password",
            "ansible_become_pass",
            "ansible_sudo_pass",
        ])?
        .map(|v| Secret::new(crate::pyjson::python_str(&v)))
        .or_else(|| self.options.become_password.clone());
        Ok(Some(Become {
            method,
            user,
            exe,
            flags,
            password,
        }))
    }

    /// The hosts `delegate_to` names for one host (for each loop item, when it uses the item), each with its
    /// connection, made from the delegated host's own variables as ansible-core does. A name that is no
    /// inventory host is reached as an address; `localhost` without an inventory entry runs here.
    fn delegates(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        task: &Task,
        hosts: &[String],
        ctx: &minijinja::Value,
        hostvars: &minijinja::Value,
    ) -> Result<Vec<host::Delegate>, String> {
        let Some(template) = &task.delegate_to else {
            return Ok(Vec::new());
        };
        let contexts: Vec<minijinja::Value> = match &task.loop_source {
            None => vec![ctx.clone()],
            Some(source) => loops::items(source, &self.templar, ctx)
                .map_err(|e| e.message)
                .map(|items| {
                    items
                        .into_iter()
                        .map(|item| {
                            host::with_item(
                                &self.templar,
                                ctx,
                                vec![(task.loop_control.loop_var.clone(), item)],
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        let mut names: Vec<String> = Vec::new();
        for ctx in &contexts {
            if let Ok(value) = self.templar.render_value(template, ctx) {
                let name = crate::pyjson::python_str(&value);
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let mut delegates = Vec::new();
        for name in names {
            let vars = self.host_vars(playbook, play, task, hosts, &name);
            let address = vars
                .get("ansible_host")
                .map(crate::pyjson::python_str)
                .unwrap_or_else(|| name.clone());
            // become there is the delegated host's: its `ansible_become*` (its password), as in ansible-core.
            let escalate = self.escalation(task, &context(vars.clone(), hostvars))?;
            let (ssh, session) = self.connection(&name, &vars, play, escalate.as_ref(), &[]);
            let mut connection_vars: Map<String, Value> = ["ansible_port", "ansible_user"]
                .into_iter()
                .filter_map(|key| Some((key.to_string(), vars.get(key)?.clone())))
                .collect();
            let connection = vars
                .get("ansible_connection")
                .cloned()
                .unwrap_or_else(|| json!(if ssh.is_none() { "local" } else { "ssh" }));
            connection_vars.insert("ansible_connection".into(), connection);
            delegates.push(host::Delegate {
                name,
                address,
                session,
                ssh,
                escalate,
                connection_vars,
            });
        }
        Ok(delegates)
    }

    /// One host's job for a task: its variables, how to reach it (and the hosts it delegates to), as whom.
    fn prepare(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        task: &Task,
        hosts: &[String],
        host: &str,
        hostvars: &minijinja::Value,
    ) -> Result<HostJob, String> {
        let vars = self.host_vars(playbook, play, task, hosts, host);
        if let Some(error) = vars.get(crate::template::VAULT_FILE) {
            let error = crate::pyjson::python_str(error);
            if self.fatal.is_none() {
                self.fatal = Some(error.clone());
                self.fatal_code = 4;
            }
            return Err(error);
        }
        let mut vars = vars;
        let mut ssh_vars = vars.clone();
        // The task's `connection`, `remote_user` and `port` (which blocks, roles and the play gave it) come
        // after the host's variables and before the play's own keywords, as ansible-core's play context has it.
        let keywords = {
            let ctx = context(vars.clone(), hostvars);
            let execution = &task.execution;
            let mut keywords = Vec::new();
            for (variable, keyword) in [
                ("ansible_connection", &execution.connection),
                ("ansible_user", &execution.remote_user),
                ("ansible_port", &execution.port),
            ] {
                if let Some(value) = keyword {
                    let value = self
                        .templar
                        .render_value(value, &ctx)
                        .map_err(|e| e.message)?;
                    keywords.push((variable, value));
                }
            }
            keywords
        };
        let mut via = Vec::new();
        for (variable, value) in keywords {
            if !ssh_vars.contains_key(variable) {
                via.push(crate::pyjson::python_str(&value));
                ssh_vars.insert(variable.into(), value);
            }
        }
        let user = ssh_vars
            .get("ansible_user")
            .filter(|_| !vars.contains_key("ansible_user"))
            .map(crate::pyjson::python_str);
        let user = user
            .as_deref()
            .or(play.remote_user.as_deref())
            .or(self.options.remote_user.as_deref());
        connection_vars(&mut vars, host, user, self.options.timeout);
        let ctx = context(vars.clone(), hostvars);
        self.contexts.insert(host.to_string(), ctx.clone());
        let escalate = self.escalation(task, &ctx)?;
        let (ssh, session) = self.connection(host, &ssh_vars, play, escalate.as_ref(), &via);
        let delegates = self.delegates(playbook, play, task, hosts, &ctx, hostvars)?;
        // A task delegated to one host sees that host's address and connection as its own, as in
        // ansible-core (`{{ ansible_host }}` of a task delegated to localhost is `localhost`).
        let ctx = match delegates.as_slice() {
            [only] => {
                for key in ["ansible_host", "ansible_ssh_host"] {
                    vars.insert(key.into(), json!(only.address));
                }
                for key in ["ansible_port", "ansible_user", "ansible_connection"] {
                    match only.connection_vars.get(key) {
                        Some(value) => vars.insert(key.into(), value.clone()),
                        None => vars.remove(key),
                    };
                }
                context(vars, hostvars)
            }
            _ => ctx,
        };
        Ok(HostJob {
            host: host.to_string(),
            vars: ctx,
            session,
            ssh,
            escalate,
            delegates,
        })
    }

    /// Shows the play's banner.
    fn play_start(&mut self, play: &Play) {
        let check_mode = self.runs_in_check_mode(play.execution.check_mode.as_ref());
        self.emit(Event::PlayStart {
            name: &play.name,
            check_mode,
        });
    }

    /// Whether a play or task with this `check_mode` keyword runs in check mode, as the callback sees it: the
    /// keyword's value as it is written (a template counts as set), else `--check`.
    fn runs_in_check_mode(&self, keyword: Option<&Value>) -> bool {
        keyword.map_or(self.options.check_mode, crate::template::truthy)
    }

    /// Shows the task's banner, its name rendered for `host` (see [`Executor::task_title`]).
    fn announce(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        task: &Task,
        hosts: &[String],
        host: Option<&String>,
        handler: bool,
    ) {
        let title = self.task_title(playbook, play, task, hosts, host.map(String::as_str));
        let check_mode = self.runs_in_check_mode(task.execution.check_mode.as_ref());
        let path = task
            .origin
            .as_ref()
            .map(|origin| format!("{}:{}", origin.path, origin.line));
        self.emit(Event::TaskStart {
            name: &title,
            handler: handler || self.in_handlers,
            check_mode,
            path: path.as_deref(),
        });
    }

    /// The task's name for its banner: rendered with the variables of `host` (the first it runs on), as
    /// ansible-core renders it before it announces the task; a part that cannot be rendered shows as
    /// `<< error N - why >>`, with a warning.
    fn task_title(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        task: &Task,
        hosts: &[String],
        host: Option<&str>,
    ) -> String {
        let (Some(name), Some(host)) = (
            task.name
                .as_ref()
                .filter(|n| crate::template::is_template(n)),
            host,
        ) else {
            return task.display_name();
        };
        let hostvars = self.hostvars(playbook, hosts);
        let vars = self.host_vars(playbook, play, task, hosts, host);
        let (shown, errors) = self.templar.render_shown(name, &context(vars, &hostvars));
        if !errors.is_empty() {
            let plural = if errors.len() == 1 { "" } else { "s" };
            let mut text = format!("Encountered {} template error{plural}.", errors.len());
            for (i, error) in errors.iter().enumerate() {
                text.push_str(&format!("\nerror {} - {error}", i + 1));
            }
            if let Some(origin) = task.value_origins.get("name") {
                text.push_str(&format!("\n{}", origin.report()));
            }
            self.emit(Event::Warning(&text));
        }
        let title = task.display_name_with(Some(shown));
        self.titles.insert(task.location.clone(), title.clone());
        title
    }

    /// The name a task's results are shown under: the one its banner showed.
    fn title_of(&self, task: &Task) -> String {
        match &task.name {
            Some(name) if crate::template::is_template(name) => self
                .titles
                .get(&task.location)
                .cloned()
                .unwrap_or_else(|| task.display_name()),
            _ => task.display_name(),
        }
    }

    /// What a host's run of `task` needs from the executor.
    fn task_context(&self, task: &Task) -> TaskContext {
        TaskContext {
            task: task.clone(),
            title: self.title_of(task),
            var_origins: Arc::clone(&self.play_var_origins),
            catalog: Arc::clone(&self.catalog),
            templar: Arc::clone(&self.templar),
            options: self.options.clone(),
            askpass: self.askpass.clone(),
        }
    }

    async fn run_task(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        task: &Task,
        hosts: &[String],
        active: &[String],
        handler: bool,
    ) -> Flow {
        if self.options.step && !self.take_step(task, None) {
            return Flow::Continue;
        }
        self.announce(playbook, play, task, hosts, active.first(), handler);
        // `run_once`: the first host runs it; what it registers and sets is given to the others.
        let run_once = match active.first() {
            Some(first) if task.run_once.as_ref().is_some_and(is_templated) => {
                let hostvars = self.hostvars(playbook, hosts);
                let ctx = context(
                    self.host_vars(playbook, play, task, hosts, first),
                    &hostvars,
                );
                self.keyword_with(&ctx, task.run_once.as_ref(), false)
            }
            Some(_) => task.run_once.as_ref().is_some_and(flag),
            None => false,
        };
        // `add_host` and `pause` run once, for the first host only (ansible-core's BYPASS_HOST_LOOP).
        let bypass = matches!(task.action.as_str(), "add_host" | "pause") && !active.is_empty();
        let targets = if run_once || bypass {
            &active[..1]
        } else {
            active
        };
        let before_once = targets
            .first()
            .and_then(|h| self.hosts.get(h))
            .map(|s| (s.vars.clone(), s.included.clone()))
            .filter(|_| run_once);
        let failed_before = self.failed_or_unreachable(active);
        let mut jobs = Vec::new();
        let hostvars = self.hostvars(playbook, hosts);
        let mut refused = Vec::new();
        for host in targets {
            match self.prepare(playbook, play, task, hosts, host, &hostvars) {
                Ok(job) => jobs.push(job),
                Err(message) => refused.push((host.clone(), message)),
            }
        }
        if self.fatal.is_some() {
            return Flow::Abort;
        }
        for (host, message) in refused {
            self.record(
                task,
                host,
                host::HostOutcome::failed(message),
                Default::default(),
            );
        }
        let throttle = task
            .throttle
            .as_ref()
            .and_then(|t| match t {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .filter(|t| *t > 0)
            .map_or(usize::MAX, |t| t as usize);
        let semaphore = Arc::new(Semaphore::new(self.options.forks.min(throttle).max(1)));
        let mut set = tokio::task::JoinSet::new();
        let mut owners = HashMap::new();
        let kind = if handler || self.in_handlers {
            "HANDLER"
        } else {
            "TASK"
        };
        let started_as = format!("{kind}: {}", self.title_of(task));
        for job in jobs {
            self.emit(Event::HostStart {
                host: &job.host,
                task: &started_as,
            });
            let ctx = self.task_context(task);
            let semaphore = Arc::clone(&semaphore);
            let owner = job.host.clone();
            let handle = set.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let started = Instant::now();
                let host = job.host.clone();
                let outcome = ctx.execute(job).await;
                (host, outcome, started.elapsed())
            });
            owners.insert(handle.id(), owner);
        }
        // Results are shown as they come; group_by's are applied in host order, so that its groups list their
        // hosts in inventory order whatever host finished first.
        let in_order = task.action == "group_by";
        let mut held = Vec::new();
        while let Some(joined) = set.join_next_with_id().await {
            let (host, outcome, duration) = match joined {
                Ok((id, done)) => {
                    owners.remove(&id);
                    done
                }
                // A host's run that broke (a bug of ours) is that host's failure, never a lost result.
                Err(e) => match owners.remove(&e.id()) {
                    Some(host) => (host, lost(&e), Default::default()),
                    None => continue,
                },
            };
            if in_order {
                held.push((host, outcome, duration));
            } else {
                self.record(task, host, outcome, duration);
            }
        }
        held.sort_by_key(|(host, ..)| targets.iter().position(|t| t == host));
        for (host, outcome, duration) in held {
            self.record(task, host, outcome, duration);
        }
        if self.fatal.is_some() {
            return Flow::Abort;
        }
        if let (Some((vars_before, included_before)), Some(first)) = (before_once, targets.first())
        {
            let (vars_after, included_after) = self
                .hosts
                .get(first)
                .map(|s| (s.vars.clone(), s.included.clone()))
                .unwrap_or_default();
            let changes =
                |before: Map<String, Value>, after: Map<String, Value>| -> Vec<(String, Value)> {
                    after
                        .into_iter()
                        .filter(|(k, v)| before.get(k) != Some(v))
                        .collect()
                };
            let vars = changes(vars_before, vars_after);
            let included = changes(included_before, included_after);
            // The first host's failure is every host's, as ansible-core gives the result to all of them
            // (their counters stay as they are).
            let failed = self
                .hosts
                .get(first)
                .map(|s| (s.failed, s.last_failure.clone()));
            let failed_now =
                failed.as_ref().is_some_and(|(f, _)| *f) && !failed_before.contains(first);
            for other in &active[1..] {
                if let Some(state) = self.hosts.get_mut(other) {
                    state.vars.extend(vars.iter().cloned());
                    state.included.extend(included.iter().cloned());
                    if failed_now && let Some((_, last)) = &failed {
                        state.failed = true;
                        state.last_failure.clone_from(last);
                    }
                }
            }
        }
        self.after_task(task, active, &failed_before)
    }

    /// Applies an `add_host` or `group_by` result to the inventory; the result says whether it changed it.
    fn apply_inventory_change(&mut self, host: &str, status: Status, result: &mut Value) -> Status {
        if status != Status::Ok {
            return status;
        }
        self.runtime_changes
            .push((host.to_string(), result.clone()));
        self.inventory_changed();
        let inventory = Arc::make_mut(&mut self.inventory);
        let changed = if let Some(add) = result.get("add_host") {
            let name = add
                .get("host_name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let groups = strings(add.get("groups"));
            // Rendered already: strings that look like templates are data from here on.
            let vars: Map<String, Value> = add
                .get("host_vars")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, crate::template::mark_unsafe(v)))
                .collect();
            inventory.add_runtime_host(name, &groups, &vars)
        } else if let Some(group) = result.get("add_group").and_then(Value::as_str) {
            let parents = strings(result.get("parent_groups"));
            match inventory.add_runtime_group(host, group, &parents) {
                Ok(changed) => changed,
                Err(message) => {
                    *result = json!({"failed": true, "changed": false, "msg": message});
                    return Status::Failed;
                }
            }
        } else {
            false
        };
        if let Value::Object(map) = result {
            map.insert("changed".into(), json!(changed));
        }
        if changed { Status::Changed } else { Status::Ok }
    }

    /// The failure rules after a task: with `any_errors_fatal`, one host's failure ends the play for all;
    /// beyond `max_fail_percentage` of the batch, likewise. A failure inside a `block` with a `rescue` is not
    /// final yet, so it does not count.
    fn after_task(&mut self, task: &Task, active: &[String], failed_before: &[String]) -> Flow {
        let failed_now = self.failed_or_unreachable(active).len() > failed_before.len();
        if self.batch.rescue_depth > 0 {
            // With any_errors_fatal the other hosts leave the block as if they had failed, for its rescue,
            // without counting a failure (ansible-core's iterator marks them failed).
            if failed_now && task.any_errors_fatal == Some(true) {
                for host in active {
                    if let Some(state) = self.hosts.get_mut(host)
                        && !state.failed
                        && !state.unreachable
                    {
                        state.failed = true;
                        state.failed_by_others = true;
                    }
                }
            }
            return Flow::Continue;
        }
        if failed_now && task.any_errors_fatal == Some(true) {
            self.end_batch();
            return Flow::Abort;
        }
        if let Some(percentage) = self.batch.max_fail_percentage {
            let batch = self.batch.hosts.clone();
            let failed = self
                .failed_or_unreachable(&batch)
                .len()
                .saturating_sub(self.batch.failed_before.len());
            if !batch.is_empty() && failed as f64 / batch.len() as f64 > percentage / 100.0 {
                self.end_batch();
                // ansible-core announces it twice: once when it decides, once when its loop finds no host.
                self.emit(Event::NoMoreHosts);
                self.emit(Event::NoMoreHosts);
                return Flow::Abort;
            }
        }
        Flow::Continue
    }

    /// Takes every host of the batch out of the rest of the play, without counting them as failed.
    fn end_batch(&mut self) {
        for host in &self.batch.hosts {
            if let Some(state) = self.hosts.get_mut(host) {
                state.ended = true;
            }
        }
    }

    fn record(
        &mut self,
        task: &Task,
        host: String,
        outcome: host::HostOutcome,
        duration: std::time::Duration,
    ) {
        let host::HostOutcome {
            mut status,
            mut result,
            mut items,
            retries,
        } = outcome;
        // add_host and group_by change the inventory; whether they changed it is their result.
        if matches!(task.action.as_str(), "add_host" | "group_by") {
            for item in &mut items {
                item.status = self.apply_inventory_change(&host, item.status, &mut item.result);
            }
            if items.is_empty() {
                status = self.apply_inventory_change(&host, status, &mut result);
            } else if status == Status::Ok && items.iter().any(|i| i.status == Status::Changed) {
                status = Status::Changed;
                if let Value::Object(map) = &mut result {
                    map.insert("changed".into(), json!(true));
                    if let Some(Value::Array(results)) = map.get_mut("results") {
                        for (slot, item) in results.iter_mut().zip(&items) {
                            *slot = item.result.clone();
                        }
                    }
                }
            }
        }
        // `when: "{{ x }}"` works (and `changed_when`, `failed_when`), but ansible-core 2.19 deprecates the
        // delimiters, where the first such condition is written.
        for (keyword, conditions) in [
            ("when", &task.when),
            ("changed_when", &task.changed_when),
            ("failed_when", &task.failed_when),
        ] {
            let templated = match conditions {
                Some(Value::String(s)) if crate::template::is_template(s) => Some(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .position(|c| c.as_str().is_some_and(crate::template::is_template))
                    .map(Some),
                _ => None,
            };
            let Some(index) = templated else { continue };
            let mut text = "Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}. This feature will be removed from ansible-core version 2.23.".to_string();
            let origin = match (keyword, index) {
                ("when", _) => task.when_origin.as_ref(),
                (_, Some(i)) => task.value_origins.get(&format!("{keyword}.{i}")),
                (_, None) => task.value_origins.get(keyword),
            };
            if let Some(origin) = origin.or(task.origin.as_ref()) {
                text.push_str(&format!("\n{}", origin.report()));
            }
            self.emit(Event::Deprecation(&text));
        }
        // set_fact of a reserved name (`range`, `tags`): ansible-core warns where the name is written.
        if task.action == "set_fact"
            && let Some(Value::Object(facts)) = result.get("ansible_facts")
        {
            let reserved: Vec<String> = facts
                .keys()
                .filter(|k| {
                    crate::playbook::RESERVED_NAMES
                        .binary_search(&k.as_str())
                        .is_ok()
                })
                .cloned()
                .collect();
            for name in reserved {
                let mut text = format!("Found variable using reserved name '{name}'.");
                if let Some(origin) = task.value_origins.get(&format!("arg_names.{name}")) {
                    text.push_str(&format!("\n{}", origin.report()));
                }
                self.warn(&text);
            }
        }
        if let Some(origin) = play_hosts_origin(task) {
            let text = format!(
                "The `play_hosts` magic variable is deprecated. This feature will be removed from ansible-core version 2.23.\n{}\nUse `ansible_play_batch` instead.\n",
                origin.report()
            );
            self.emit(Event::Deprecation(&text));
        }
        // Lines an action shows before its result (`pause`'s "Pausing for ..."), then warnings it carries, as
        // ansible-core's display and callback show them.
        if let Some(Value::Array(lines)) = result
            .as_object_mut()
            .and_then(|m| m.remove("_playbook_display"))
        {
            for line in lines {
                let text = crate::pyjson::python_str(&line);
                self.emit(Event::Display(&text));
            }
        }
        if let Some(error) = result
            .as_object_mut()
            .and_then(|m| m.remove(actions::TEMPLATE_ERROR))
        {
            let mut text = format!(
                "Encountered 1 template error.\nerror 1 - {}",
                crate::pyjson::python_str(&error)
            );
            if let Some(origin) = task.value_origins.get("args.var") {
                text.push_str(&format!("\n{}", origin.report()));
            }
            self.emit(Event::Warning(&text));
        }
        for source in items.iter().map(|i| &i.result).chain([&result]) {
            if let Some(Value::Array(warnings)) = source.get("warnings") {
                for warning in warnings {
                    let text = crate::pyjson::python_str(warning);
                    self.emit(Event::Warning(&text));
                }
            }
        }
        let ignored = match status {
            Status::Failed => self.keyword(&host, task.ignore_errors.as_ref(), false),
            Status::Unreachable => {
                self.keyword(&host, task.execution.ignore_unreachable.as_ref(), false)
            }
            _ => false,
        };
        // A `no_log` that cannot be rendered hides rather than shows.
        let censored = self.keyword(&host, task.no_log.as_ref(), true);
        let notified = match status {
            Status::Changed => self.notified_handlers(task, &host),
            _ => Ok(Vec::new()),
        };
        // Notifying a handler that does not exist ends the run there, as in ansible-core.
        let notified = match notified {
            Ok(notified) => notified,
            Err(missing) => {
                let mut message = format!(
                    "The requested handler '{missing}' was not found in either the main handlers list nor in the listening handlers list"
                );
                if let Some(origin) = &task.origin {
                    message.push_str(&format!("\n{}", origin.report().trim_end_matches('\n')));
                }
                self.fatal.get_or_insert(message);
                return;
            }
        };
        // With `delegate_facts`, facts go to the host the task was delegated to.
        let delegate_facts = self.keyword(&host, task.delegate_facts.as_ref(), false);
        let state = self.hosts.entry(host.clone()).or_default();
        for index in notified {
            if state.notified.insert(index) {
                state.notified_order.push(index);
            }
        }
        match status {
            Status::Failed if !ignored => {
                state.failed = true;
                let failed_task = failed_task_fields(task);
                // Inside a block with a rescue, the failure is there for that rescue and for every
                // `always` on the way, as ansible-core sets it when the task fails.
                if self.batch.rescue_depth > 0 {
                    state
                        .vars
                        .insert("ansible_failed_task".into(), failed_task.clone());
                    state
                        .vars
                        .insert("ansible_failed_result".into(), result.clone());
                }
                state.last_failure = Some((failed_task, result.clone()));
            }
            Status::Unreachable if !ignored => state.unreachable = true,
            _ => {}
        }
        // Facts come from the result, or from each item of a loop (the last item wins, as in Ansible).
        let fact_sources: Vec<&Value> = match result.get("results") {
            Some(Value::Array(results)) if !items.is_empty() => results.iter().collect(),
            _ => vec![&result],
        };
        let mut delegated_facts: Vec<(String, Map<String, Value>)> = Vec::new();
        for source in fact_sources {
            if let Some(Value::Object(facts)) = source.get("ansible_facts") {
                let delegated = source
                    .get("_ansible_delegated_vars")
                    .and_then(|d| d.get("ansible_delegated_host"))
                    .and_then(Value::as_str)
                    .filter(|_| delegate_facts);
                if let Some(other) = delegated {
                    delegated_facts.push((other.to_string(), facts.clone()));
                    continue;
                }
                // Variables from set_fact and include_vars are the host's; facts from modules are facts. A
                // cacheable set_fact is both, as ansible-core puts it in the fact cache too.
                if source.get("_ansible_facts_cacheable") == Some(&Value::Bool(true)) {
                    state.facts.extend(facts.clone());
                }
                let target = state.target_of(&task.action);
                for (k, v) in facts {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
        for (other, facts) in delegated_facts {
            self.hosts
                .entry(other)
                .or_default()
                .target_of(&task.action)
                .extend(facts);
        }
        let state = self.hosts.entry(host.clone()).or_default();
        if let Some(name) = &task.register {
            let mut registered = crate::output::registered(&result);
            if let Value::Object(map) = &mut registered {
                // A loop's items keep theirs.
                map.remove("invocation");
                // The fact module's own result names its facts as it returns them, `ansible_` first; the
                // host's `ansible_facts` variable is what drops that prefix.
                if task.action == "setup"
                    && let Some(Value::Object(facts)) = map.get_mut("ansible_facts")
                {
                    *facts = std::mem::take(facts)
                        .into_iter()
                        .map(|(k, v)| match k.starts_with("ansible_") {
                            true => (k, v),
                            false => (format!("ansible_{k}"), v),
                        })
                        .collect();
                }
                // An unreachable result, or one its condition skipped, says so and not whether it failed, as
                // ansible-core registers it (a module that skipped itself, as `command` in check mode, does say
                // it); a loop's says `failed` only when an item failed.
                let skipped_by_condition =
                    status == Status::Skipped && map.contains_key("skip_reason");
                if status != Status::Unreachable
                    && !skipped_by_condition
                    && task.loop_source.is_none()
                {
                    map.entry("failed")
                        .or_insert(json!(status == Status::Failed));
                }
                map.entry("changed")
                    .or_insert(json!(status == Status::Changed));
            }
            state.vars.insert(name.clone(), registered);
        }
        if let Value::Object(map) = &mut result
            && task.action == "setup"
        {
            map.insert("_ansible_verbose_override".into(), json!(true));
        }
        for message in &retries {
            self.emit(Event::Retrying { message });
        }
        let shown = |result: Value| if censored { censor(&result) } else { result };
        // Where a failure's cause is written, from the key the result names.
        let play_vars = Arc::clone(&self.play_var_origins);
        let cause = |result: &Value| -> Option<event::Cause> {
            let cause = result.get(host::ERROR_CAUSE)?;
            let at = cause.get("at")?.as_str()?;
            let text = |key: &str| cause.get(key).and_then(Value::as_str).map(String::from);
            // A cause written nowhere (a timeout) has no place.
            let origin = match at {
                "" => None,
                at => Some(task.value_origins.get(at)?.clone()),
            };
            let mut chain = vec![(text("message")?, origin)];
            // A variable that could not be rendered: its own value, where it is written, is the last cause.
            let var = text("var");
            let var_origin = var.as_ref().and_then(|v| {
                task.value_origins
                    .get(&format!("vars.{v}"))
                    .or_else(|| play_vars.get(v))
            });
            if let (Some(origin), Some(inner)) = (var_origin, text("inner")) {
                match text("short") {
                    Some(short) => {
                        chain[0].0 = short;
                        chain.push((inner, Some(origin.clone())));
                    }
                    // The same message twice is said once, at the variable.
                    None => chain = vec![(inner, Some(origin.clone()))],
                }
                // A variable that refers back to itself: the loop at the variable, then Python's limit.
                if let Some(last) = chain.last_mut()
                    && last.0 == crate::template::RECURSION
                {
                    let (at_variable, limit) = crate::template::RECURSION
                        .split_once(": ")
                        .unwrap_or_default();
                    last.0 = format!("{at_variable}.");
                    chain.push((limit.to_string(), None));
                }
            }
            let mut first = text("first")?;
            // An event between the task and the cause: one segment with the task's when written at the
            // same place, else its own.
            if let Some(via) = cause.get("via")
                && let (Some(message), Some(at)) = (
                    via.get("message").and_then(Value::as_str),
                    via.get("at").and_then(Value::as_str),
                )
                && let Some(via_origin) = task.value_origins.get(at)
            {
                let same = task
                    .origin
                    .as_ref()
                    .is_some_and(|o| o.line == via_origin.line && o.col == via_origin.col);
                if same {
                    first = format!("{}: {message}", first.trim_end_matches('.'));
                } else {
                    chain.insert(0, (message.to_string(), Some(via_origin.clone())));
                }
            }
            let help = text("help");
            let plain = cause.get("plain") == Some(&Value::Bool(true));
            Some(event::Cause {
                first,
                chain,
                help,
                plain,
            })
        };
        // At -vv, ansible-core says it saved each notification, for each result of the task (each item's).
        let saved: Vec<String> = match (status, self.options.verbosity >= 2) {
            (Status::Changed, true) => {
                let names = self.rendered_notify(task, &host);
                let results = if task.loop_source.is_some() {
                    items.len()
                } else {
                    1
                };
                (0..results).flat_map(|_| names.iter().cloned()).collect()
            }
            _ => Vec::new(),
        };
        for item in items {
            let item_cause = cause(&item.result);
            let hr = HostResult {
                host: host.clone(),
                task: self.title_of(task),
                status: item.status,
                ignored: false,
                result: shown(item.result),
                duration,
                action: task.action.clone(),
                // The label could give the secret away as well as the item.
                item: Some(if censored {
                    loops::CENSORED_LABEL.into()
                } else {
                    item.label
                }),
                looped: true,
                origin: task.origin.clone(),
                cause: item_cause,
            };
            self.emit(Event::ItemResult(&hr));
        }
        for name in saved {
            self.emit(Event::Display(&format!(
                "Notification for handler {name} has been saved."
            )));
        }
        let result_cause = cause(&result);
        let hr = HostResult {
            host: host.clone(),
            task: self.title_of(task),
            status,
            ignored,
            // A loop whose items could not be made failed as a task that has none.
            looped: task.loop_source.is_some() && result.get("results").is_some(),
            result: shown(result),
            duration,
            action: task.action.clone(),
            item: None,
            origin: task.origin.clone(),
            cause: result_cause,
        };
        self.stats.entry(host).or_default().count(&hr);
        self.emit(Event::HostResult(&hr));
    }
}

/// The hosts of each `serial` batch: sizes are numbers or percentages of the play's hosts (at least one host),
/// the last size repeating until every host has a batch; no `serial` is one batch.
fn batches(serial: &[Value], hosts: &[String]) -> Result<Vec<Vec<String>>, String> {
    if serial.is_empty() {
        return Ok(vec![hosts.to_vec()]);
    }
    let total = hosts.len();
    let sizes = serial
        .iter()
        .map(|size| {
            let text = match size {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.trim().to_string(),
                other => {
                    return Err(format!(
                        "serial must be a number or a percentage, not {other}"
                    ));
                }
            };
            let invalid = |_| format!("serial must be a number or a percentage, not {text}");
            // A percentage rounds down but takes one host at least; the number 0 means every host.
            Ok(match text.strip_suffix('%') {
                Some(pct) => {
                    let pct = pct.trim().parse::<f64>().map_err(invalid)?;
                    ((pct / 100.0 * total as f64) as usize).max(1)
                }
                None => match text.parse::<f64>().map_err(invalid)? as usize {
                    0 => total.max(1),
                    n => n,
                },
            })
        })
        .collect::<Result<Vec<usize>, String>>()?;
    let mut batches = Vec::new();
    let mut rest = hosts;
    let mut index = 0;
    while !rest.is_empty() {
        let size = sizes[index.min(sizes.len() - 1)].min(rest.len());
        batches.push(rest[..size].to_vec());
        rest = &rest[size..];
        index += 1;
    }
    Ok(batches)
}

/// A keyword's boolean: YAML booleans, and the strings Ansible reads as true.
/// The play's role names as ansible-core's magic variables give them: `ansible_play_role_names` (the roles
/// the play applies itself; `role_names` is the same), `ansible_dependent_role_names` (those applied as
/// dependencies), `ansible_role_names` (both; ansible-core's order is a set's, so any order is its).
fn role_names(play: &Play) -> [(&'static str, Vec<String>); 4] {
    let mut dependencies: Vec<String> = Vec::new();
    let mut stack: Vec<&Arc<crate::playbook::RoleScope>> =
        play.roles.iter().flat_map(|r| &r.dependencies).collect();
    while let Some(role) = stack.pop() {
        if !dependencies.contains(&role.name) {
            dependencies.push(role.name.clone());
        }
        stack.extend(&role.dependencies);
    }
    let is_dependency = |role: &Arc<crate::playbook::RoleScope>| {
        play.roles
            .iter()
            .any(|other| other.dependencies.iter().any(|d| Arc::ptr_eq(d, role)))
    };
    let direct: Vec<String> = play
        .roles
        .iter()
        .filter(|r| !is_dependency(r))
        .map(|r| r.name.clone())
        .collect();
    let mut all = direct.clone();
    for name in &dependencies {
        if !all.contains(name) {
            all.push(name.clone());
        }
    }
    [
        ("ansible_play_role_names", direct.clone()),
        ("role_names", direct),
        ("ansible_dependent_role_names", dependencies),
        ("ansible_role_names", all),
    ]
}

/// Whether a keyword's value is a template, to be rendered for each host.
fn is_templated(value: &Value) -> bool {
    value.as_str().is_some_and(crate::template::is_template)
}

impl Executor {
    /// The handlers a changed task notifies on `host`: by name (the first handler of that name, or
    /// `ROLE : name`) or every handler listening. Names written as templates, in `notify` or a handler's
    /// `name`, are rendered with the host's variables.
    /// The task's `notify` names, rendered with the host's variables.
    fn rendered_notify(&self, task: &Task, host: &str) -> Vec<String> {
        task.notify
            .iter()
            .map(|name| self.rendered_name(host, name))
            .collect()
    }

    /// A handler or notification name rendered with the host's variables when it is a template (as written
    /// when it cannot be).
    fn rendered_name(&self, host: &str, text: &str) -> String {
        match self.contexts.get(host) {
            Some(ctx) if crate::template::is_template(text) => self
                .templar
                .render_str(text, ctx)
                .map_or_else(|_| text.to_string(), |v| crate::pyjson::python_str(&v)),
            _ => text.to_string(),
        }
    }

    fn notified_handlers(&self, task: &Task, host: &str) -> Result<Vec<usize>, String> {
        let rendered = |text: &str| self.rendered_name(host, text);
        let handler_names: Vec<Option<String>> = self
            .handlers
            .iter()
            .map(|h| h.name.as_deref().map(rendered))
            .collect();
        // ansible-core searches the handler blocks last first (each role application's handlers are one, the
        // play's own the last), each in its order: of two handlers with one name, the later role's wins, and
        // within a block the first.
        let mut search: Vec<usize> = Vec::with_capacity(self.handlers.len());
        let mut start = 0;
        for end in 1..=self.handlers.len() {
            let same_block = |a: &Task, b: &Task| match (&a.role, &b.role) {
                (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                (None, None) => true,
                _ => false,
            };
            if end == self.handlers.len()
                || !same_block(&self.handlers[end - 1], &self.handlers[end])
            {
                search.splice(0..0, start..end);
                start = end;
            }
        }
        let mut notified = Vec::new();
        for name in self.rendered_notify(task, host) {
            let named = search.iter().copied().find(|&i| {
                let (h, shown) = (&self.handlers[i], &handler_names[i]);
                shown.as_deref() == Some(name.as_str())
                    || (h.role.is_some()
                        && shown.is_some()
                        && h.display_name_with(shown.clone()) == name)
            });
            // Every handler listening, one per name.
            let mut names_seen: Vec<&Option<String>> = Vec::new();
            let listening: Vec<usize> = search
                .iter()
                .copied()
                .filter(|&i| self.handlers[i].listen.iter().any(|l| rendered(l) == name))
                .filter(|&i| {
                    let shown = &handler_names[i];
                    if shown.is_some() && names_seen.contains(&shown) {
                        return false;
                    }
                    names_seen.push(shown);
                    true
                })
                .collect();
            if named.is_none() && listening.is_empty() {
                return Err(name);
            }
            notified.extend(named);
            notified.extend(listening);
        }
        Ok(notified)
    }

    /// A yes/no keyword of a task for `host` (`ignore_errors`, `no_log`, ...): a template is rendered with the
    /// host's variables, as ansible-core renders task keywords per host; `on_error` when it cannot be.
    fn keyword(&self, host: &str, raw: Option<&Value>, on_error: bool) -> bool {
        match (raw, self.contexts.get(host)) {
            (Some(value), Some(ctx)) if is_templated(value) => {
                self.keyword_with(ctx, raw, on_error)
            }
            (Some(value), None) if is_templated(value) => on_error,
            (raw, _) => raw.is_some_and(flag),
        }
    }

    /// A yes/no keyword rendered with `ctx`.
    fn keyword_with(&self, ctx: &minijinja::Value, raw: Option<&Value>, on_error: bool) -> bool {
        match raw {
            Some(Value::String(text)) if crate::template::is_template(text) => self
                .templar
                .render_str(text, ctx)
                .map_or(on_error, |value| flag(&value)),
            Some(value) => flag(value),
            None => false,
        }
    }
}

fn flag(value: &Value) -> bool {
    match value {
        Value::String(s) => matches!(
            s.to_ascii_lowercase().as_str(),
            "yes" | "true" | "on" | "1" | "y" | "t"
        ),
        other => crate::template::truthy(other),
    }
}

/// The connection variables ansible-core's play context gives every task where the host does not set them:
/// `ansible_host` (its name), `ansible_user` (the play's or the run's remote user, when one is set),
/// `ansible_pipelining`, `ansible_timeout`.
fn connection_vars(vars: &mut Map<String, Value>, host: &str, user: Option<&str>, timeout: u64) {
    if let Some(user) = vars
        .get("ansible_user")
        .or_else(|| vars.get("ansible_ssh_user"))
        .cloned()
        .or_else(|| user.map(|u| json!(u)))
    {
        vars.entry("ansible_user").or_insert(user.clone());
        vars.entry("ansible_ssh_user").or_insert(user);
    }
    let address = vars
        .get("ansible_host")
        .or_else(|| vars.get("ansible_ssh_host"))
        .cloned()
        .unwrap_or_else(|| json!(host));
    for (key, value) in [
        ("ansible_host", address.clone()),
        ("ansible_ssh_host", address),
        ("ansible_pipelining", json!(false)),
        ("ansible_ssh_pipelining", json!(false)),
        ("ansible_timeout", json!(timeout)),
        ("ansible_ssh_timeout", json!(timeout)),
    ] {
        vars.entry(key).or_insert(value);
    }
}

/// Where a task's arguments or conditions use the `play_hosts` variable, which ansible-core 2.19 deprecates.
fn play_hosts_origin(task: &Task) -> Option<crate::playbook::Origin> {
    fn mentions(value: &Value) -> bool {
        match value {
            Value::String(text) => text.match_indices("play_hosts").any(|(at, _)| {
                let before = text[..at].chars().next_back();
                let after = text[at + "play_hosts".len()..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                !word(before) && !word(after)
            }),
            Value::Array(items) => items.iter().any(mentions),
            Value::Object(map) => map.values().any(mentions),
            _ => false,
        }
    }
    // The key of the value's origin: the list item that mentions it, else the value.
    let key = |prefix: String, value: &Value| match value {
        Value::Array(items) => match items.iter().position(mentions) {
            Some(i) => format!("{prefix}.{i}"),
            None => prefix,
        },
        _ => prefix,
    };
    let args = task
        .args
        .iter()
        .find(|(_, v)| mentions(v))
        .map(|(k, v)| (key(format!("args.{k}"), v), "args"));
    let when = task
        .when
        .as_ref()
        .filter(|w| mentions(w))
        .map(|w| (key("when".into(), w), "when"));
    let (exact, whole) = args.or(when)?;
    task.value_origins
        .get(&exact)
        .or_else(|| task.value_origins.get(whole))
        .or(task.origin.as_ref())
        .cloned()
}

/// What `no_log: true` leaves of a result.
fn censor(result: &Value) -> Value {
    let mut out = Map::new();
    out.insert(
        "censored".into(),
        json!("the output has been hidden due to the fact that 'no_log: true' was specified for this result"),
    );
    for key in ["changed", "failed", "skipped", "unreachable"] {
        if let Some(v) = result.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(msg) = result.get("msg") {
        out.insert(host::CENSORED_MSG.into(), msg.clone());
    }
    // Internal keys stay: the result line still says where the task ran (`[web1 -> db1]`).
    for key in [
        host::FAILED_BY_CONDITION,
        host::ERROR_CAUSE,
        host::EXCEPTION_MESSAGE,
        host::ARGUMENT_SPEC_FAILURE,
        "_ansible_delegated_vars",
    ] {
        if let Some(v) = result.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// The template context of one host: its variables plus the shared `hostvars`.
fn context(vars: Map<String, Value>, hostvars: &minijinja::Value) -> minijinja::Value {
    let mut map: std::collections::BTreeMap<String, minijinja::Value> = vars
        .into_iter()
        .map(|(k, v)| (k, crate::template::vars_to_jinja(&v)))
        .collect();
    map.insert("hostvars".into(), hostvars.clone());
    // `vars`: every variable by name (`vars[name]`), as Ansible's templates have it.
    let all = minijinja::Value::from(map.clone());
    map.insert("vars".into(), all);
    minijinja::Value::from(map)
}

/// `ansible_failed_task`: the task's keywords as ansible-core serializes a task, with its defaults, for the
/// ones a playbook reads (ansible-core adds internal fields such as `uuid`, `finalized` and `squashed`).
fn failed_task_fields(task: &Task) -> Value {
    // Conditions are lists there, however they were written.
    let conditions = |value: &Option<Value>| match value {
        None => json!([]),
        Some(Value::Array(items)) => Value::Array(items.clone()),
        Some(other) => json!([other]),
    };
    let or_null = |value: &Option<Value>| value.clone().unwrap_or(Value::Null);
    let resolved = if task.action.contains('.') {
        task.action.clone()
    } else {
        format!("ansible.builtin.{}", task.action)
    };
    json!({
        "_resolved_action": resolved,
        "action": task.action,
        "any_errors_fatal": task.any_errors_fatal.unwrap_or(false),
        "args": task.args,
        "changed_when": conditions(&task.changed_when),
        "delay": task.delay.clone().unwrap_or(json!(5.0)),
        "delegate_facts": or_null(&task.delegate_facts),
        "delegate_to": or_null(&task.delegate_to),
        "failed_when": conditions(&task.failed_when),
        "ignore_errors": or_null(&task.ignore_errors),
        "loop": task.loop_source.as_ref().map_or(Value::Null, |l| l.value.clone()),
        "name": task.name.clone().unwrap_or_default(),
        "no_log": task.no_log.clone().unwrap_or(json!(false)),
        "notify": if task.notify.is_empty() { Value::Null } else { json!(task.notify) },
        "register": task.register,
        "retries": or_null(&task.retries),
        "run_once": or_null(&task.run_once),
        "tags": task.tags,
        "until": conditions(&task.until),
        "vars": task.vars,
        "when": conditions(&task.when),
    })
}
