//! One host's run of one task: `when`, the loop, arguments, the action (on the controller or through the
//! host's runner session), `until`/`retries`, `changed_when`/`failed_when`.

use super::actions;
use super::event::Status;
use super::{RunOptions, SessionFailure, SharedSession, loops};
use crate::connection::askpass::AskpassServer;
use crate::connection::escalation::Become;
use crate::connection::ssh::SshTarget;
use crate::connection::{self, ConnectionError};
use crate::modules::{self, Catalog};
use crate::playbook::Task;
use crate::template::{Templar, TemplateError};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

/// What ansible-core puts in `exception` of a result whose error it raised itself (not a module's).
const NO_TRACEBACK: &str = "(traceback unavailable)";

/// Ansible's `omit` placeholder: an argument rendered to this is dropped.
pub const OMIT: &str = "__omit_place_holder__playbook";

/// A host a task is delegated to, and how to reach it.
pub(super) struct Delegate {
    /// Its inventory name (what `delegate_to` gave).
    pub name: String,
    /// Its `ansible_host`, shown as `[host -> name(address)]` when it differs from the name.
    pub address: String,
    pub session: SharedSession,
    pub ssh: Option<SshTarget>,
    /// `become` there.
    pub escalate: Option<Become>,
    /// Its `ansible_connection`, `ansible_port` and `ansible_user` (unset ones absent): the delegating task
    /// sees them in place of its host's.
    pub connection_vars: Map<String, Value>,
}

/// One host's work on one task, prepared by the executor.
pub(super) struct HostJob {
    pub host: String,
    pub vars: minijinja::Value,
    pub session: SharedSession,
    pub ssh: Option<SshTarget>,
    /// `become`: the user the action runs as, when not the connection's.
    pub escalate: Option<Become>,
    /// The connections of the hosts `delegate_to` names for this host (one per loop item at most).
    pub delegates: Vec<Delegate>,
}

/// What a host's run of a task gave: the task's result, each loop item's, and the retries announced.
pub(super) struct HostOutcome {
    pub status: Status,
    pub result: Value,
    pub items: Vec<ItemOutcome>,
    pub retries: Vec<String>,
}

impl HostOutcome {
    /// A failure that happened before the task could run.
    pub fn failed(msg: String) -> HostOutcome {
        let (status, result) = failed(msg);
        HostOutcome {
            status,
            result,
            items: Vec::new(),
            retries: Vec::new(),
        }
    }
}

/// One loop item's result and how it is shown.
pub(super) struct ItemOutcome {
    pub status: Status,
    pub result: Value,
    pub label: String,
}

/// Everything a host's run of a task needs, owned so it can run on its own tokio task.
pub(super) struct TaskContext {
    pub task: Task,
    /// The name the task's banner showed (its name rendered), for the lines its run prints.
    pub title: String,
    /// Where the play's variables are written, for reports.
    pub var_origins: Arc<std::collections::BTreeMap<String, crate::playbook::Origin>>,
    pub catalog: Arc<Catalog>,
    pub templar: Arc<Templar>,
    pub options: RunOptions,
    pub askpass: Option<Arc<AskpassServer>>,
}

/// The internal key of a result that failed by `failed_when` (or an error in `changed_when`/`failed_when`)
/// rather than by its module: ansible-core reports it as "Action failed".
pub const FAILED_BY_CONDITION: &str = "_ansible_failed_by_condition";

/// The internal key of an action's result that refused its arguments: ansible-core raises that error
/// rather than failing the action, so its report says "Task failed: <why>", not "Action failed".
pub const ARGUMENT_SPEC_FAILURE: &str = "_ansible_argument_spec_failure";

/// The internal key under which a result says what caused its failure and where that is written (a key of
/// the task's `value_origins`): ansible-core 2.19 reports it after `<<< caused by >>>`.
pub const ERROR_CAUSE: &str = "_ansible_error_cause";

/// The internal key under which a `no_log` result keeps its `msg` for the error report alone: ansible-core
/// 2.19 still says why a censored task failed ("Module failed: non-zero return code", and a `fail` task's own
/// message); the result shown and registered stays censored.
pub const CENSORED_MSG: &str = "_ansible_censored_msg";

/// The internal key of a failed result ansible-core gives without an exception (an include whose file is
/// missing: the error was reported on its own), so the callback shows no error report before it.
pub const NO_ERROR_REPORT: &str = "_ansible_no_error_report";

/// The internal key of a module's result that gives the text of the exception it failed by (a command that
/// could not start): ansible-core's error report says it after the result's `msg`.
pub const EXCEPTION_MESSAGE: &str = "_ansible_exception_message";

/// The condition of a `when` that was false (`false_condition` of a skipped result): the first false one of a
/// list.
pub(super) fn false_condition(templar: &Templar, when: &Value, ctx: &minijinja::Value) -> Value {
    match when {
        Value::Array(items) => items
            .iter()
            .find(|c| !templar.condition(c, ctx).unwrap_or(true))
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// A failed result whose cause is written at `at` (`when.0`, `loop`, `args.msg`): `first` is what the task
/// reports of it, `cause` the error itself.
pub(super) fn failed_because(msg: String, first: &str, cause: String, at: &str) -> Value {
    json!({"changed": false, "failed": true, "msg": msg, ERROR_CAUSE: {"first": first, "message": cause, "at": at}})
}

/// Names the variable behind a template error, when one could not be rendered: the report then ends at its
/// value, after `short` (the cause without the inner message; none when the two say the same).
fn with_variable(mut result: Value, e: &TemplateError, short: Option<String>) -> Value {
    if let (Some(var), Some(cause)) = (&e.at, result.get_mut(ERROR_CAUSE))
        && let Value::Object(cause) = cause
    {
        cause.insert("var".into(), json!(var));
        cause.insert("inner".into(), json!(e.message));
        if let Some(short) = short {
            cause.insert("short".into(), json!(short));
        }
    }
    result
}

/// A conditional that cannot be evaluated, or is not a boolean, as ansible-core 2.19 reports it. A broken one
/// says where its value comes from once the task's origins are known ([`TaskContext::locate_broken`]).
pub(super) fn conditional_failed(at: &str, e: &TemplateError) -> (Status, Value) {
    if let Some(broken) = &e.broken {
        let mut result = failed_because(
            format!("Task failed: {}", e.message),
            "Task failed.",
            e.message.clone(),
            at,
        );
        if let Some(Value::Object(cause)) = result.get_mut(ERROR_CAUSE) {
            cause.insert("broken".into(), json!(broken));
            cause.insert(
                "help".into(),
                json!(crate::template::BROKEN_CONDITIONAL_HELP),
            );
        }
        return (Status::Failed, result);
    }
    // ansible-core says what was being done only when a variable is undefined; a syntax or filter error
    // speaks for itself.
    let cause = if e.undefined {
        format!("Error while evaluating conditional: {}", e.message)
    } else {
        e.message.clone()
    };
    let result = failed_because(format!("Task failed: {cause}"), "Task failed.", cause, at);
    let short = "Error while evaluating conditional.".to_string();
    (Status::Failed, with_variable(result, e, Some(short)))
}

/// ansible-core's words and keys for a task that outlived its `timeout`.
fn timed_out(period: u64) -> (Status, Value) {
    (
        Status::Failed,
        json!({
            "failed": true,
            "changed": false,
            "msg": format!("Task failed: Timed out after {period} second(s)."),
            "exception": NO_TRACEBACK,
            "timedout": {
                "frame": "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.",
                "period": period,
            },
        }),
    )
}

pub(super) fn failed(msg: impl Into<String>) -> (Status, Value) {
    (
        Status::Failed,
        json!({"failed": true, "msg": msg.into(), "changed": false}),
    )
}

fn unreachable(message: String) -> (Status, Value) {
    // ansible-core 2.19 reports a connection failure as the task's failure.
    let message = if message.starts_with("Task failed: ") {
        message
    } else {
        format!("Task failed: {message}")
    };
    (
        Status::Unreachable,
        json!({"changed": false, "msg": message, "unreachable": true, "exception": NO_TRACEBACK}),
    )
}

/// A copy of a template context with more variables.
pub(super) fn with_vars(ctx: &minijinja::Value, extra: Vec<(String, Value)>) -> minijinja::Value {
    let mut map = std::collections::BTreeMap::new();
    if let Ok(keys) = ctx.try_iter() {
        for key in keys {
            if let (Some(name), Ok(value)) = (key.as_str(), ctx.get_item(&key)) {
                map.insert(name.to_string(), value);
            }
        }
    }
    for (k, v) in extra {
        map.insert(k, crate::template::vars_to_jinja(&v));
    }
    minijinja::Value::from(map)
}

/// [`with_vars`] for a loop item: variables that could not be rendered without it (`x: "{{ item }}-a"`) are
/// rendered again with it, as ansible-core templates variables when they are used.
pub(super) fn with_item(
    templar: &Templar,
    ctx: &minijinja::Value,
    extra: Vec<(String, Value)>,
) -> minijinja::Value {
    let ctx = with_vars(ctx, extra);
    let Ok(unrendered) = ctx.get_attr(crate::template::UNRENDERED) else {
        return ctx;
    };
    let Ok(names) = unrendered.try_iter() else {
        return ctx;
    };
    let mut now = Vec::new();
    for name in names {
        let written = unrendered
            .get_item(&name)
            .and_then(|entry| entry.get_attr("template"))
            .ok()
            .and_then(|t| crate::template::from_jinja(&t).ok());
        if let (Some(name), Some(written)) = (name.as_str(), written)
            && let Ok(value) = templar.render_value(&written, &ctx)
        {
            now.push((name.to_string(), value));
        }
    }
    if now.is_empty() {
        ctx
    } else {
        with_vars(&ctx, now)
    }
}

/// A number from a keyword that may be a template (`retries: "{{ n }}"`).
fn number(templar: &Templar, value: &Value, ctx: &minijinja::Value) -> Option<f64> {
    match templar.render_value(value, ctx).ok()? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value with `omit` taken out wherever it stands: a list loses the item, a mapping the key (ansible-core
/// 2.19 finalizes templated arguments so).
fn without_omitted(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .filter(|v| v.as_str() != Some(OMIT))
                .map(without_omitted)
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| v.as_str() != Some(OMIT))
                .map(|(k, v)| (k, without_omitted(v)))
                .collect(),
        ),
        other => other,
    }
}

/// A failed result carries `exception`, as ansible-core 2.19 normalizes every failure it returns from a task
/// (shown to templates as "(traceback unavailable)" unless tracebacks are on).
fn with_exception(mut result: Value) -> Value {
    if let Value::Object(map) = &mut result
        && map.get("failed") == Some(&Value::Bool(true))
    {
        map.entry("exception")
            .or_insert_with(|| json!(NO_TRACEBACK));
    }
    result
}

/// The status a result stands for.
pub(super) fn classify(result: Value) -> (Status, Value) {
    let flag = |k: &str| result.get(k).and_then(Value::as_bool).unwrap_or(false);
    let status = if flag("unreachable") {
        Status::Unreachable
    } else if flag("failed") {
        Status::Failed
    } else if flag("skipped") {
        Status::Skipped
    } else if flag("changed") {
        Status::Changed
    } else {
        Status::Ok
    };
    (status, result)
}

/// Adds `stdout_lines`/`stderr_lines`, as Ansible's action base does for any module returning output.
fn with_lines(mut result: Value) -> Value {
    if let Value::Object(map) = &mut result {
        for (text, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
            if let Some(Value::String(s)) = map.get(text)
                && !map.contains_key(lines)
            {
                let split: Vec<Value> = s.lines().map(|l| json!(l)).collect();
                map.insert(lines.into(), Value::Array(split));
            }
        }
    }
    result
}

impl TaskContext {
    /// Where a broken conditional's value comes from, as ansible-core says it: where the variable the
    /// conditional names is written, else the conditional itself (`at`); `<unknown>` for None, which carries
    /// no origin.
    fn broken_origin(&self, at: &str, broken: &crate::template::BrokenConditional) -> String {
        if broken.type_name == "NoneType" {
            return "<unknown>".into();
        }
        let origins = &self.task.value_origins;
        broken
            .variable
            .as_ref()
            .and_then(|v| {
                origins
                    .get(&format!("vars.{v}"))
                    .or_else(|| self.var_origins.get(v))
            })
            .or_else(|| origins.get(at))
            .map_or_else(
                || "<unknown>".into(),
                |o| format!("{}:{}:{}", o.path, o.line, o.col),
            )
    }

    /// A result failed by a broken conditional, its message saying where the value comes from.
    fn locate_broken(&self, result: &mut Value) {
        let Some(Value::Object(cause)) = result.get_mut(ERROR_CAUSE) else {
            return;
        };
        let Some(broken) = cause.get("broken").and_then(|b| {
            serde_json::from_value::<crate::template::BrokenConditional>(b.clone()).ok()
        }) else {
            return;
        };
        let at = cause.get("at").and_then(Value::as_str).unwrap_or_default();
        let message = broken.message(&self.broken_origin(at, &broken));
        cause.insert("message".into(), json!(message));
        if let Value::Object(map) = result {
            map.insert("msg".into(), json!(format!("Task failed: {message}")));
        }
    }

    pub async fn execute(self, job: HostJob) -> HostOutcome {
        let mut retries = Vec::new();
        let Some(source) = &self.task.loop_source else {
            let (status, mut result) = self.attempts(&job, &job.vars, &mut retries).await;
            self.locate_broken(&mut result);
            return HostOutcome {
                status,
                result: with_exception(result),
                items: Vec::new(),
                retries,
            };
        };
        let items = match loops::items(source, &self.templar, &job.vars) {
            Ok(items) => items,
            Err(e) => {
                let msg = e.message.clone();
                // ansible-core reports a loop that is no list as it is, at the loop, with a hint.
                let result = if msg.starts_with(loops::NOT_A_LIST) {
                    let help =
                        "Provide a list of items/templates, or a template resolving to a list.";
                    let cause = json!({"plain": true, "first": "", "message": msg, "at": "loop", "help": help});
                    json!({"failed": true, "msg": msg, "exception": NO_TRACEBACK, ERROR_CAUSE: cause})
                } else {
                    with_variable(
                        failed_because(format!("Task failed: {msg}"), "Task failed.", msg, "loop"),
                        &e,
                        None,
                    )
                };
                return HostOutcome {
                    status: Status::Failed,
                    result,
                    items: Vec::new(),
                    retries,
                };
            }
        };
        let control = &self.task.loop_control;
        let mut outcomes = Vec::new();
        let length = items.len();
        // What set_fact and include_vars set for one item, the next items see (ansible-core updates the
        // task's variables as the loop goes).
        let mut base = job.vars.clone();
        for (index, item) in items.iter().enumerate() {
            let mut extra = vec![
                (control.loop_var.clone(), item.clone()),
                ("ansible_loop_var".to_string(), json!(control.loop_var)),
            ];
            if let Some(index_var) = &control.index_var {
                extra.push((index_var.clone(), json!(index)));
                extra.push(("ansible_index_var".to_string(), json!(index_var)));
            }
            let ansible_loop = control.extended.then(|| {
                let mut facts = json!({"index": index + 1, "index0": index, "first": index == 0,
                    "last": index + 1 == length, "length": length, "revindex": length - index,
                    "revindex0": length - index - 1});
                if let Value::Object(map) = &mut facts {
                    if control.extended_allitems {
                        map.insert("allitems".into(), Value::Array(items.clone()));
                    }
                    if let Some(next) = items.get(index + 1) {
                        map.insert("nextitem".into(), next.clone());
                    }
                    if let Some(previous) = index.checked_sub(1).and_then(|i| items.get(i)) {
                        map.insert("previtem".into(), previous.clone());
                    }
                }
                facts
            });
            if let Some(facts) = &ansible_loop {
                extra.push(("ansible_loop".to_string(), facts.clone()));
            }
            let ctx = with_item(&self.templar, &base, extra);
            let (status, mut result) = self.attempts(&job, &ctx, &mut retries).await;
            self.locate_broken(&mut result);
            if matches!(self.task.action.as_str(), "set_fact" | "include_vars")
                && let Some(Value::Object(facts)) = result.get("ansible_facts")
            {
                base = with_vars(&base, facts.clone().into_iter().collect());
            }
            if let Value::Object(map) = &mut result {
                map.insert(control.loop_var.clone(), item.clone());
                map.insert("ansible_loop_var".into(), json!(control.loop_var));
                if let Some(index_var) = &control.index_var {
                    map.insert(index_var.clone(), json!(index));
                    map.insert("ansible_index_var".into(), json!(index_var));
                }
                if let Some(facts) = ansible_loop {
                    map.insert("ansible_loop".into(), facts);
                }
                // A skipped item says so, and not whether it failed, as ansible-core's do.
                if status != Status::Skipped {
                    map.entry("failed")
                        .or_insert(json!(status == Status::Failed));
                }
                map.entry("changed").or_insert(json!(false));
            }
            let result = with_exception(result);
            // The label and `break_when` see this item's result under the registered name, as in Ansible.
            let ctx = match &self.task.register {
                Some(name) => with_vars(
                    &ctx,
                    vec![(name.clone(), crate::output::registered(&result))],
                ),
                None => ctx,
            };
            let label = loops::label(&self.templar, control, item, &ctx);
            let stop = match &control.break_when {
                Some(cond) => match self.templar.condition(cond, &ctx) {
                    Ok(stop) => stop,
                    Err(e) => {
                        outcomes.push(ItemOutcome {
                            status,
                            result,
                            label,
                        });
                        let (status, result) = failed(e.message);
                        return HostOutcome {
                            status,
                            result,
                            items: outcomes,
                            retries,
                        };
                    }
                },
                None => false,
            };
            outcomes.push(ItemOutcome {
                status,
                result,
                label,
            });
            if stop {
                break;
            }
            if control.pause > 0.0 && index + 1 < length {
                tokio::time::sleep(wait_for(control.pause)).await;
            }
        }
        let (status, result) = aggregate(&outcomes);
        HostOutcome {
            status,
            result,
            items: outcomes,
            retries,
        }
    }

    /// `when`, then the action, repeated while `until` is false (at most `retries + 1` times).
    async fn attempts(
        &self,
        job: &HostJob,
        ctx: &minijinja::Value,
        retries: &mut Vec<String>,
    ) -> (Status, Value) {
        let task = &self.task;
        if let Some(when) = &task.when {
            match self.check("when", when, ctx) {
                Ok(true) => {}
                Ok(false) => {
                    let cond = false_condition(&self.templar, when, ctx);
                    return (
                        Status::Skipped,
                        json!({"changed": false, "false_condition": cond, "skip_reason": "Conditional result was False", "skipped": true}),
                    );
                }
                Err((at, e)) => return conditional_failed(&at, &e),
            }
        }
        // As ansible-core: `retries` more attempts after the first (3 by default with `until`), `delay` seconds
        // apart; `retries` alone retries until the task does not fail.
        let max = match task
            .retries
            .as_ref()
            .and_then(|r| number(&self.templar, r, ctx))
        {
            None if task.until.is_some() => 4,
            None => 1,
            Some(r) if r <= 0.0 => 1,
            Some(r) => r as u64 + 1,
        };
        if max == 1 {
            let (status, result) = self.run_once(job, ctx).await;
            return self.judge(status, result, ctx);
        }
        let delay = task
            .delay
            .as_ref()
            .and_then(|d| number(&self.templar, d, ctx))
            .unwrap_or(5.0)
            .max(0.0);
        let mut attempt = 1;
        loop {
            let (status, result) = self.run_once(job, ctx).await;
            let (status, mut result) = self.judge(status, result, ctx);
            if status == Status::Unreachable {
                return (status, result);
            }
            if let Value::Object(map) = &mut result {
                map.insert("attempts".into(), json!(attempt));
            }
            let done = match &task.until {
                Some(until) => match self.check("until", until, &self.bind_result(ctx, &result)) {
                    Ok(done) => done,
                    Err((at, e)) => return conditional_failed(&at, &e),
                },
                None => status != Status::Failed,
            };
            if done {
                return classify(result);
            }
            if attempt >= max {
                if let Value::Object(map) = &mut result {
                    // Failed by `until`, not by the module: ansible-core calls that the action's failure.
                    if status != Status::Failed {
                        map.insert(FAILED_BY_CONDITION.into(), json!(true));
                    }
                    map.insert("failed".into(), json!(true));
                    // ansible-core reports one attempt fewer than it made here (`attempts = retries - 1`).
                    map.insert("attempts".into(), json!(max - 1));
                }
                return classify(result);
            }
            retries.push(format!(
                "FAILED - RETRYING: [{}]: {} ({} retries left).",
                job.host,
                self.title,
                max - attempt
            ));
            attempt += 1;
            tokio::time::sleep(wait_for(delay)).await;
        }
    }

    /// A keyword's conditions, all of which must hold; an error names the one that failed (`when.1`).
    fn check(
        &self,
        keyword: &str,
        cond: &Value,
        ctx: &minijinja::Value,
    ) -> Result<bool, (String, TemplateError)> {
        match cond {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !self
                        .templar
                        .condition(item, ctx)
                        .map_err(|e| (format!("{keyword}.{i}"), e))?
                    {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            other => self
                .templar
                .condition(other, ctx)
                .map_err(|e| (keyword.to_string(), e)),
        }
    }

    /// The context with the task's `register` name bound to `result`, as conditionals about a result see it.
    fn bind_result(&self, ctx: &minijinja::Value, result: &Value) -> minijinja::Value {
        match &self.task.register {
            Some(name) => with_vars(ctx, vec![(name.clone(), result.clone())]),
            None => ctx.clone(),
        }
    }

    /// Applies `changed_when` and `failed_when` to a result.
    fn judge(&self, status: Status, mut result: Value, ctx: &minijinja::Value) -> (Status, Value) {
        if matches!(status, Status::Unreachable | Status::Skipped)
            || (self.task.changed_when.is_none() && self.task.failed_when.is_none())
        {
            return (status, result);
        }
        let bound = self.bind_result(ctx, &result);
        let module_failed = status == Status::Failed
            && !modules::CONTROLLER_ACTIONS.contains(&self.task.action.as_str());
        // An error in either fails the task with the result as it is, saying why under `<keyword>_result`,
        // as ansible-core does.
        let condition_error = |mut result: Value, at: &str, e: &TemplateError| {
            let keyword = at.split('.').next().unwrap_or(at);
            let why = match &e.broken {
                Some(broken) => broken.message(&self.broken_origin(at, broken)),
                None => format!("Error while evaluating conditional: {}", e.message),
            };
            if let Value::Object(map) = &mut result {
                map.insert("failed".into(), json!(true));
                map.insert(format!("{keyword}_result"), json!(why));
                map.insert(FAILED_BY_CONDITION.into(), json!(true));
            }
            classify(result)
        };
        if let Some(cond) = &self.task.changed_when {
            match self.check("changed_when", cond, &bound) {
                Ok(changed) => {
                    if let Value::Object(map) = &mut result {
                        map.insert("changed".into(), json!(changed));
                    }
                }
                Err((at, e)) => return condition_error(result, &at, &e),
            }
        }
        if let Some(cond) = &self.task.failed_when {
            match self.check("failed_when", cond, &bound) {
                Ok(failed) => {
                    if let Value::Object(map) = &mut result {
                        map.insert("failed_when_result".into(), json!(failed));
                        map.insert("failed".into(), json!(failed));
                        // A module's failure comes with its exception, which failed_when set aside.
                        if module_failed && !failed {
                            map.insert(
                                "failed_when_suppressed_exception".into(),
                                json!(NO_TRACEBACK),
                            );
                        }
                        if failed && !module_failed {
                            map.insert(FAILED_BY_CONDITION.into(), json!(true));
                        }
                    }
                }
                Err((at, e)) => return condition_error(result, &at, &e),
            }
        }
        classify(result)
    }

    /// `module_defaults` for this task's action, in order (later entries win), under the task's own arguments.
    fn with_defaults(&self, ctx: &minijinja::Value) -> Result<Map<String, Value>, String> {
        let task = &self.task;
        let defaults = &task.execution.module_defaults;
        if defaults.is_empty() {
            return Ok(task.args.clone());
        }
        let names = [
            task.action.clone(),
            task.written_action.clone(),
            format!("ansible.builtin.{}", task.action),
            format!("ansible.legacy.{}", task.action),
        ];
        let mut args = Map::new();
        for entry in defaults {
            let entry = match entry {
                Value::String(_) => self
                    .templar
                    .render_value(entry, ctx)
                    .map_err(|e| format!("module_defaults: {}", e.message))?,
                other => other.clone(),
            };
            let Value::Object(modules) = entry else {
                return Err(format!(
                    "module_defaults must be a dictionary, received {}",
                    crate::pyjson::python_str(&entry)
                ));
            };
            for (module, module_args) in modules {
                if !names.contains(&module) {
                    continue;
                }
                if let Value::Object(module_args) = module_args {
                    args.extend(module_args);
                }
            }
        }
        args.extend(task.args.clone());
        Ok(args)
    }

    /// The task's `check_mode`, `diff`, `timeout` and `environment` for this host.
    fn invocation(&self, ctx: &minijinja::Value) -> Result<connection::Invocation, String> {
        let execution = &self.task.execution;
        let switch = |value: &Option<Value>, name: &str, default: bool| -> Result<bool, String> {
            let Some(value) = value else {
                return Ok(default);
            };
            let rendered = self
                .templar
                .render_value(value, ctx)
                .map_err(|e| format!("{name}: {}", e.message))?;
            crate::template::boolean(&rendered).ok_or_else(|| {
                format!(
                    "{name} must be a boolean, not {}",
                    crate::pyjson::python_str(&rendered)
                )
            })
        };
        let timeout_secs = match &execution.timeout {
            None => None,
            Some(value) => match self
                .templar
                .render_value(value, ctx)
                .map_err(|e| format!("timeout: {}", e.message))?
            {
                Value::Null => None,
                Value::Number(n) => n.as_u64(),
                Value::String(s) if s.trim().parse::<u64>().is_ok() => s.trim().parse().ok(),
                other => {
                    return Err(format!(
                        "timeout must be a number of seconds, not {}",
                        crate::pyjson::python_str(&other)
                    ));
                }
            }
            .filter(|s| *s > 0),
        };
        let mut environment: Vec<(String, String)> = Vec::new();
        for entry in &execution.environment {
            let rendered = self
                .templar
                .render_value(entry, ctx)
                .map_err(|e| format!("environment: {}", e.message))?;
            let Value::Object(vars) = rendered else {
                return Err(format!(
                    "environment must be a dictionary, received {}",
                    crate::pyjson::python_str(&rendered)
                ));
            };
            for (name, value) in vars {
                // A name YAML read as a number or a boolean.
                if crate::typed::is_typed_key(&name) {
                    return Err("Task failed: keywords must be strings".into());
                }
                let value = match value {
                    // `omit` leaves the name out of this level (an outer level's value stays).
                    Value::String(s) if s == OMIT => continue,
                    Value::String(s) => s,
                    other => crate::pyjson::python_str(&other),
                };
                environment.retain(|(n, _)| *n != name);
                environment.push((name, value));
            }
        }
        Ok(connection::Invocation {
            check_mode: switch(&execution.check_mode, "check_mode", self.options.check_mode)?,
            diff: switch(&execution.diff, "diff", self.options.diff)?,
            timeout_secs,
            environment,
        })
    }

    /// The host `delegate_to` names for this host (and loop item), among those the executor prepared.
    fn delegate<'a>(
        &self,
        job: &'a HostJob,
        ctx: &minijinja::Value,
    ) -> Result<Option<&'a Delegate>, String> {
        let Some(template) = &self.task.delegate_to else {
            return Ok(None);
        };
        let name = match self.templar.render_value(template, ctx) {
            Ok(value) => crate::pyjson::python_str(&value),
            Err(e) => return Err(format!("delegate_to: {}", e.message)),
        };
        job.delegates
            .iter()
            .find(|d| d.name == name)
            .map(Some)
            .ok_or_else(|| format!("delegate_to: no connection was prepared for {name}"))
    }

    /// Runs the action once, through the delegated host's connection when there is one; the result says where
    /// it ran, as ansible-core's `_ansible_delegated_vars` does.
    async fn run_once(&self, job: &HostJob, ctx: &minijinja::Value) -> (Status, Value) {
        let delegate = match self.delegate(job, ctx) {
            Ok(delegate) => delegate,
            Err(message) => return failed(message),
        };
        let (status, mut result) = self.run_action(job, ctx, delegate).await;
        if let (Some(delegate), Value::Object(map)) = (delegate, &mut result) {
            map.insert(
                "_ansible_delegated_vars".into(),
                json!({"ansible_delegated_host": delegate.name, "ansible_host": delegate.address}),
            );
        }
        (status, result)
    }

    /// Renders the arguments and runs the action once.
    async fn run_action(
        &self,
        job: &HostJob,
        ctx: &minijinja::Value,
        delegate: Option<&Delegate>,
    ) -> (Status, Value) {
        let task = &self.task;
        let raw_args = match self.with_defaults(ctx) {
            Ok(args) => args,
            Err(message) => return failed(message),
        };
        let how = match self.invocation(ctx) {
            Ok(how) => how,
            Err(message) => return failed(message),
        };
        let mut args = Map::new();
        for (key, value) in &raw_args {
            // `debug: var=` and `assert: that=` are expressions, evaluated by the action itself.
            let raw = matches!(
                (task.action.as_str(), key.as_str()),
                ("debug", "var") | ("assert", "that")
            );
            let rendered = if raw {
                Ok(value.clone())
            } else {
                self.templar.render_value(value, ctx)
            };
            match rendered {
                Ok(v) if v == json!(OMIT) => {}
                Ok(v) if crate::template::find_vault(&v).is_some() => {
                    let text = crate::template::find_vault(&v).unwrap_or_default();
                    return failed(crate::template::vault_error(text));
                }
                Ok(v) => {
                    // set_fact's names may be templates too (`"{{ prefix }}_x": 1`).
                    let name = if task.action == "set_fact" && crate::template::is_template(key) {
                        match self.templar.render_str(key, ctx) {
                            Ok(rendered) => crate::pyjson::python_str(&rendered),
                            Err(e) => return failed(format!("Task failed: {}", e.message)),
                        }
                    } else {
                        key.clone()
                    };
                    args.insert(name, without_omitted(crate::template::strip_unsafe(v)));
                }
                Err(e) => {
                    let finalization = format!(
                        "Finalization of task args for 'ansible.builtin.{}' failed.",
                        task.action
                    );
                    let cause = format!("Error while resolving value for '{key}': {}", e.message);
                    let at = if task.value_origins.contains_key(&format!("args.{key}")) {
                        format!("args.{key}")
                    } else {
                        "args".to_string()
                    };
                    let msg = format!(
                        "Task failed: {}: {cause}",
                        finalization.trim_end_matches('.')
                    );
                    let mut result = failed_because(msg, "Task failed.", cause, &at);
                    // The action's own place: the task's, unless a `name:` comes first.
                    if let Some(Value::Object(map)) = result.get_mut(ERROR_CAUSE) {
                        map.insert(
                            "via".into(),
                            json!({"message": finalization, "at": "action"}),
                        );
                    }
                    let short = format!("Error while resolving value for '{key}'.");
                    return classify(with_variable(result, &e, Some(short)));
                }
            }
        }
        if args.contains_key("_raw_params")
            && !matches!(task.action.as_str(), "command" | "shell" | "include_vars")
        {
            return failed(format!(
                "Task failed: Action 'ansible.builtin.{}' does not support raw params.",
                task.action
            ));
        }
        if task.action == "pause" {
            let limit = self.invocation(ctx).ok().and_then(|how| how.timeout_secs);
            return classify(self.pause(&args, limit).await);
        }
        if modules::CONTROLLER_ACTIONS.contains(&task.action.as_str()) {
            let result = actions::run(
                &task.action,
                &args,
                &task.args,
                ctx,
                &self.templar,
                self.options.verbosity,
            );
            return classify(result);
        }
        if task.action == "shell" {
            args.insert("_uses_shell".into(), json!(true));
        }
        let (session, ssh, escalate) = match delegate {
            Some(d) => (&d.session, &d.ssh, &d.escalate),
            None => (&job.session, &job.ssh, &job.escalate),
        };
        self.remote(session, ssh.as_ref(), escalate.as_ref(), args, &how)
            .await
    }

    /// `pause`: `seconds`/`minutes` wait (at least a second); a `prompt` without them waits for a line at the
    /// controller's terminal, or, without one, warns and goes on, as ansible-core's pause action does. A task
    /// `timeout` shorter than the wait ends it as the task's failure.
    async fn pause(&self, args: &Map<String, Value>, limit: Option<u64>) -> Value {
        let number = |key: &str| -> Result<Option<f64>, String> {
            match args.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64()),
                Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| {
                    format!("argument '{key}' is of type str and we were unable to convert to int: '{s}'")
                }),
                Some(other) => Err(format!("argument '{key}' is of type {} and we were unable to convert to int", crate::pyjson::python_type_name(other))),
            }
        };
        let known = ["echo", "minutes", "prompt", "seconds"];
        if let Some(refused) = super::actions::unsupported("pause", args, &known) {
            return refused;
        }
        let (minutes, seconds) = match (number("minutes"), number("seconds")) {
            (Ok(m), Ok(s)) => (m, s),
            (Err(e), _) | (_, Err(e)) => return json!({"failed": true, "msg": e}),
        };
        if minutes.is_some() && seconds.is_some() {
            return json!({"failed": true, "msg": "parameters are mutually exclusive: minutes|seconds"});
        }
        let echo = args
            .get("echo")
            .and_then(crate::template::boolean)
            .unwrap_or(true);
        let prompt = args.get("prompt").map(crate::pyjson::python_str);
        let unit = if seconds.is_some() {
            "seconds"
        } else {
            "minutes"
        };
        // Python's int() of the argument, then at least one second.
        let wait = minutes
            .map(|m| m.trunc() * 60.0)
            .or(seconds.map(f64::trunc))
            .map(|s| s.max(1.0));
        if let Some(wait) = wait
            && Duration::try_from_secs_f64(wait).is_err()
        {
            return json!({"failed": true, "msg": format!("pause: cannot wait {wait} seconds")});
        }
        let started = std::time::Instant::now();
        let start = crate::template::time::python_datetime(std::time::SystemTime::now(), false);
        let hidden = if echo { "" } else { " (output is hidden)" };
        let mut shown = Vec::new();
        let mut warnings = Vec::new();
        let mut user_input = String::new();
        match wait {
            Some(wait) => {
                shown.push(format!("Pausing for {} seconds{hidden}", wait as u64));
                if let Some(period) = limit.filter(|period| (*period as f64) < wait) {
                    tokio::time::sleep(Duration::from_secs(period)).await;
                    let (_, mut result) = timed_out(period);
                    if let Value::Object(map) = &mut result {
                        // An action's timeout is the task's failure caused by it, as ansible-core reports it.
                        map.insert(
                            ERROR_CAUSE.into(),
                            json!({"first": "Task failed.", "message": format!("Timed out after {period} second(s)."), "at": ""}),
                        );
                        map.insert("_playbook_display".into(), json!(shown));
                    }
                    return result;
                }
                tokio::time::sleep(wait_for(wait)).await;
            }
            None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
                let text =
                    prompt.unwrap_or_else(|| "Press enter to continue, Ctrl+C to interrupt".into());
                // The answer goes on the line below, as ansible-core's prompt has it.
                let question = format!("[{}]\n{text}{hidden}:\n", self.task.display_name().trim());
                let answer = tokio::task::spawn_blocking(move || {
                    if echo {
                        eprint!("{question}");
                        let mut line = String::new();
                        std::io::stdin().read_line(&mut line).map(|_| line)
                    } else {
                        rpassword::prompt_password(question)
                    }
                })
                .await;
                if let Ok(Ok(line)) = answer {
                    user_input = line.trim_end_matches(['\r', '\n']).to_string();
                }
            }
            None => warnings.push(json!(
                "Not waiting for response to prompt as stdin is not interactive"
            )),
        }
        let elapsed = started.elapsed().as_secs_f64();
        let duration = if unit == "minutes" {
            elapsed / 60.0
        } else {
            elapsed
        };
        let mut result = json!({
            "changed": false,
            "rc": 0,
            "stderr": "",
            "stdout": format!("Paused for {} {unit}", crate::pyjson::python_str(&json!((duration * 100.0).round() / 100.0))),
            "start": start,
            "stop": crate::template::time::python_datetime(std::time::SystemTime::now(), false),
            "delta": elapsed as u64,
            "echo": echo,
            "user_input": user_input,
            "_playbook_display": shown,
        });
        if !warnings.is_empty() {
            result["warnings"] = Value::Array(warnings);
        }
        result
    }

    async fn remote(
        &self,
        session: &SharedSession,
        ssh: Option<&SshTarget>,
        escalate: Option<&Become>,
        args: Map<String, Value>,
        how: &connection::Invocation,
    ) -> (Status, Value) {
        let module = modules::module_for_action(&self.task.action).to_string();
        let mut guard = session.lock().await;
        if guard.is_none() {
            let runner = modules::runner_binary();
            let started = match (ssh, escalate) {
                (Some(target), _) => {
                    connection::ssh::connect(
                        target,
                        &self.options.private_dir,
                        self.askpass.as_deref(),
                        runner,
                        escalate,
                    )
                    .await
                }
                (None, Some(how)) => connection::local::connect_become(how, runner).await,
                (None, None) => {
                    connection::local::connect(&self.options.cache_dir.join("modules")).await
                }
            };
            *guard = Some(started.map_err(|e| SessionFailure {
                unreachable: !matches!(e, ConnectionError::Become(_)),
                message: e.to_string(),
            }));
        }
        let session = match guard.as_mut() {
            Some(Ok(session)) => session,
            Some(Err(failure)) if failure.unreachable => {
                return unreachable(failure.message.clone());
            }
            Some(Err(failure)) => return failed(failure.message.clone()),
            None => return unreachable("no session".into()),
        };
        let engine = session.hello().engine.clone();
        let catalog = Arc::clone(&self.catalog);
        let check_mode = how.check_mode;
        let prepared = tokio::task::spawn_blocking(move || {
            let compiled = catalog.compiled(&module, &engine)?;
            let description = catalog.describe(&module)?;
            Ok::<_, modules::ModuleError>((compiled, modules::grants_for(&description, check_mode)))
        })
        .await;
        let (compiled, grants) = match prepared {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return failed(e.to_string()),
            Err(e) => return failed(format!("module preparation failed: {e}")),
        };
        match session
            .run(
                &compiled,
                crate::typed::plain(Value::Object(args)),
                grants,
                how,
            )
            .await
        {
            Ok(playbook_wire::Outcome::Returned { result }) => classify(with_lines(result)),
            Ok(playbook_wire::Outcome::Error {
                kind: playbook_wire::ErrorKind::Timeout,
                ..
            }) => timed_out(how.timeout_secs.unwrap_or_default()),
            Ok(playbook_wire::Outcome::Error { message, .. }) => failed(message),
            Err(e) => {
                // The session is gone: the host is unreachable from now on.
                let message = e.to_string();
                *guard = Some(Err(SessionFailure {
                    message: message.clone(),
                    unreachable: true,
                }));
                match e {
                    ConnectionError::Wire(_) => {
                        unreachable(format!("the connection to the runner was lost: {message}"))
                    }
                    _ => unreachable(message),
                }
            }
        }
    }
}

/// A wait in seconds as a duration; one too long to represent waits as long as possible, and a negative
/// or not-a-number one not at all.
fn wait_for(wait: f64) -> Duration {
    Duration::try_from_secs_f64(wait.max(0.0)).unwrap_or(Duration::MAX)
}

/// A loop's result: every item's under `results`, as Ansible aggregates them.
fn aggregate(items: &[ItemOutcome]) -> (Status, Value) {
    let results: Vec<Value> = items.iter().map(|i| i.result.clone()).collect();
    let changed = items.iter().any(|i| {
        i.status == Status::Changed
            || (i.status == Status::Failed && i.result.get("changed") == Some(&json!(true)))
    });
    if items.iter().any(|i| i.status == Status::Unreachable) {
        return (
            Status::Unreachable,
            json!({"results": results, "changed": changed, "unreachable": true, "msg": "One or more items were unreachable"}),
        );
    }
    if items.iter().any(|i| i.status == Status::Failed) {
        return (
            Status::Failed,
            json!({"results": results, "changed": changed, "failed": true, "skipped": false, "msg": "One or more items failed"}),
        );
    }
    if !items.is_empty() && items.iter().all(|i| i.status == Status::Skipped) {
        return (
            Status::Skipped,
            json!({"results": results, "changed": false, "skipped": true, "msg": "All items skipped"}),
        );
    }
    if items.is_empty() {
        return (
            Status::Skipped,
            json!({"results": [], "changed": false, "skipped": true, "skipped_reason": "No items in the list"}),
        );
    }
    let status = if changed { Status::Changed } else { Status::Ok };
    (
        status,
        json!({"results": results, "changed": changed, "skipped": false, "msg": "All items completed"}),
    )
}
