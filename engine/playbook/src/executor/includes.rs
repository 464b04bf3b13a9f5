//! `include_tasks` and `include_role`: dynamic includes. Each host evaluates the include (its `when`, its loop,
//! its file name) when it is reached; the hosts that included the same file with the same loop item then run
//! that file's tasks together, as Ansible's `included: FILE for HOSTS` lines show.

use super::event::{Event, Status};
use super::host::{self, HostOutcome};
use super::{Executor, Flow, context, loops};
use crate::playbook::{self, Play, Playbook, PlaybookError, Task};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// The hosts that included one file (or role) with the same arguments and variables.
struct Inclusion {
    args: Map<String, Value>,
    params: Map<String, Value>,
    label: Option<String>,
    hosts: Vec<String>,
}

impl Executor {
    /// The role applications every one of `hosts` has made through `include_role` (a dependency they all ran
    /// is not applied again for them).
    fn applied_for(&self, hosts: &[String]) -> Vec<String> {
        let mut per_host = hosts.iter().map(|h| {
            self.included_applications
                .get(h)
                .cloned()
                .unwrap_or_default()
        });
        let first = per_host.next().unwrap_or_default();
        let rest: Vec<Vec<String>> = per_host.collect();
        first
            .into_iter()
            .filter(|key| rest.iter().all(|applied| applied.contains(key)))
            .collect()
    }

    pub(super) async fn run_include(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        task: &Task,
        hosts: &[String],
        active: &[String],
    ) -> Flow {
        self.announce(playbook, play, task, hosts, active.first(), false);
        let hostvars = self.hostvars(playbook, hosts);
        let control = task.loop_control.clone();
        let mut inclusions: Vec<Inclusion> = Vec::new();
        for host in active {
            let vars = self.host_vars(playbook, play, task, hosts, host);
            let ctx = context(vars, &hostvars);
            let items: Vec<Option<Value>> = match &task.loop_source {
                None => vec![None],
                Some(source) => match loops::items(source, &self.templar, &ctx) {
                    Ok(items) => items.into_iter().map(Some).collect(),
                    Err(crate::template::TemplateError { message, .. }) => {
                        self.record(
                            task,
                            host.clone(),
                            HostOutcome::failed(message),
                            Default::default(),
                        );
                        continue;
                    }
                },
            };
            let mut skipped = 0;
            let mut failure = None;
            let mut false_condition = Value::Null;
            let count = items.len();
            for (index, item) in items.into_iter().enumerate() {
                // The include's `vars:` and its loop variable are the included tasks' include params.
                let mut params = task.vars.clone();
                if let Some(item) = &item {
                    params.insert(control.loop_var.clone(), item.clone());
                    params.insert("ansible_loop_var".into(), json!(control.loop_var));
                    if let Some(index_var) = &control.index_var {
                        params.insert(index_var.clone(), json!(index));
                    }
                }
                let item_ctx =
                    host::with_item(&self.templar, &ctx, params.clone().into_iter().collect());
                let label = item
                    .as_ref()
                    .map(|item| loops::label(&self.templar, &control, item, &item_ctx));
                if let Some(cond) = &task.when {
                    match self.templar.condition(cond, &item_ctx) {
                        Ok(true) => {}
                        Ok(false) => {
                            skipped += 1;
                            false_condition = host::false_condition(&self.templar, cond, &item_ctx);
                            // A looped include shows each item it skips, as ansible-core does.
                            if let (Some(item), Some(label)) = (&item, &label) {
                                let censored =
                                    self.keyword_with(&item_ctx, task.no_log.as_ref(), true);
                                let label = if censored {
                                    loops::CENSORED_LABEL.to_string()
                                } else {
                                    label.clone()
                                };
                                let shown = crate::executor::event::HostResult {
                                    host: host.clone(),
                                    task: self.title_of(task),
                                    status: Status::Skipped,
                                    ignored: false,
                                    result: {
                                        let result = json!({"changed": false, "false_condition": false_condition, "skip_reason": "Conditional result was False", "skipped": true, control.loop_var.clone(): item});
                                        if censored {
                                            super::censor(&result)
                                        } else {
                                            result
                                        }
                                    },
                                    duration: Default::default(),
                                    action: task.action.clone(),
                                    item: Some(label),
                                    looped: true,
                                    origin: task.origin.clone(),
                                    cause: None,
                                };
                                self.emit(Event::ItemResult(&shown));
                            }
                            continue;
                        }
                        Err(e) => {
                            failure = Some(format!(
                                "Task failed: Error while evaluating conditional: {}",
                                e.message
                            ));
                            break;
                        }
                    }
                }
                let args = match self
                    .templar
                    .render_value(&Value::Object(task.args.clone()), &item_ctx)
                {
                    Ok(Value::Object(args)) => args,
                    Ok(_) => Map::new(),
                    Err(e) => {
                        failure = Some(e.message);
                        break;
                    }
                };
                match inclusions
                    .iter_mut()
                    .find(|i| i.args == args && i.params == params && i.label == label)
                {
                    Some(same) => same.hosts.push(host.clone()),
                    None => inclusions.push(Inclusion {
                        args,
                        params,
                        label,
                        hosts: vec![host.clone()],
                    }),
                }
            }
            if failure.is_none() && skipped < count && task.loop_source.is_none() {
                self.include_result(task, host, inclusions.last().map(|i| &i.args));
            }
            if let Some(message) = failure {
                self.record(
                    task,
                    host.clone(),
                    HostOutcome::failed(message),
                    Default::default(),
                );
            } else if count > 0 && skipped == count {
                let outcome = HostOutcome {
                    status: Status::Skipped,
                    result: json!({"changed": false, "false_condition": false_condition, "skip_reason": "Conditional result was False", "skipped": true}),
                    items: Vec::new(),
                    retries: Vec::new(),
                };
                self.record(task, host.clone(), outcome, Default::default());
            }
        }

        let mut loaded = Vec::new();
        for inclusion in inclusions {
            // A file that includes itself would nest without end, each level taking stack.
            if task.nesting >= playbook::MAX_NESTING {
                if self.fatal.is_none() {
                    self.fatal = Some(too_deep(task, &inclusion));
                    self.fatal_code = playbook::UNEXPECTED_EXIT;
                }
                return Flow::Abort;
            }
            let tasks = match self.load_inclusion(playbook, play, task, &inclusion) {
                Ok((shown, tasks)) => {
                    self.emit(Event::Included {
                        what: &shown,
                        hosts: &inclusion.hosts,
                        item: inclusion.label.as_deref(),
                    });
                    for host in &inclusion.hosts {
                        self.stats.entry(host.clone()).or_default().ok += 1;
                    }
                    tasks
                }
                Err(InclusionFailure::Message(message)) => {
                    for host in &inclusion.hosts {
                        self.record(
                            task,
                            host.clone(),
                            HostOutcome::failed(message.clone()),
                            Default::default(),
                        );
                    }
                    continue;
                }
                // ansible-core's linear strategy reports the error itself, then fails the include's result
                // with the `reason` (no exception, so no error report of the task).
                Err(InclusionFailure::Missing { given, path }) => {
                    let reason = format!(
                        "Could not find or access '{path}' on the Ansible Controller: Unable to retrieve file contents.\n\
                         Could not find or access '{path}' on the Ansible Controller.\n\
                         If you are using a module and expect the file to exist on the remote, see the remote_src \
                         option: [Errno 2] No such file or directory: '{path}'"
                    );
                    // Where the include is written, which ansible-core leaves out.
                    let place = task
                        .origin
                        .as_ref()
                        .map_or(String::new(), |o| format!("\n{}", o.report()));
                    self.emit(Event::Error(&format!("{reason}{place}")));
                    for host in &inclusion.hosts {
                        let outcome = HostOutcome {
                            status: Status::Failed,
                            result: json!({
                                "changed": false,
                                "failed": true,
                                "include": given,
                                "reason": reason,
                                host::NO_ERROR_REPORT: true,
                            }),
                            items: Vec::new(),
                            retries: Vec::new(),
                        };
                        self.record(task, host.clone(), outcome, Default::default());
                    }
                    continue;
                }
            };
            loaded.push((inclusion.hosts, tasks));
        }
        for (included_by, tasks) in loaded {
            let flow =
                Box::pin(self.run_tasks(playbook, play, &tasks, hosts, Some(&included_by))).await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// `statically imported: FILE` (at -vv) for each file an included file imports, as it is read.
    fn statically_imported(&mut self, files: &[String]) {
        for file in files {
            self.emit(Event::Verbose {
                level: 2,
                text: &format!("statically imported: {file}"),
            });
        }
    }

    /// The result the include task itself gives a host (`include` and `include_args`), which only the compact
    /// callbacks show: the default one shows the `included:` line instead.
    fn include_result(&mut self, task: &Task, host: &str, args: Option<&Map<String, Value>>) {
        let mut include_args = args.cloned().unwrap_or_default();
        let mut result = Map::new();
        result.insert("changed".into(), json!(false));
        if task.action == "include_tasks" {
            let file = include_args
                .remove("_raw_params")
                .or_else(|| include_args.remove("file"));
            result.insert("include".into(), file.unwrap_or(Value::Null));
        }
        result.insert("include_args".into(), Value::Object(include_args));
        let shown = crate::executor::event::HostResult {
            host: host.to_string(),
            task: self.title_of(task),
            status: Status::Ok,
            ignored: false,
            result: Value::Object(result),
            duration: Default::default(),
            action: task.action.clone(),
            item: None,
            looped: false,
            origin: task.origin.clone(),
            cause: None,
        };
        self.emit(Event::IncludeResult(&shown));
    }

    /// Reads what an inclusion names: the tasks file, or the role (whose handlers join the play's). Gives what
    /// the `included:` line shows and the tasks, each with the include's params.
    fn load_inclusion(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        task: &Task,
        inclusion: &Inclusion,
    ) -> Result<(String, Vec<Task>), InclusionFailure> {
        let described = |e: PlaybookError| match e {
            PlaybookError::Invalid(d) | PlaybookError::Failed(d) => {
                InclusionFailure::Message(d.message)
            }
            other => InclusionFailure::Message(other.to_string()),
        };
        let (shown, mut tasks) = if task.action == "include_role" {
            let mut args = inclusion.args.clone();
            args.remove("apply");
            // The include's `vars:` (and loop variable) are the role's vars, as Ansible's include_role has it.
            let role = playbook::load_included_role(
                args,
                inclusion.params.clone(),
                &task.location,
                &playbook.context,
                play.dir(playbook),
                play,
                &self.applied_for(&inclusion.hosts),
            )
            .map_err(described)?;
            for host in &inclusion.hosts {
                let applied = self.included_applications.entry(host.clone()).or_default();
                for key in &role.applied {
                    if !applied.contains(key) {
                        applied.push(key.clone());
                    }
                }
            }
            let mut handlers = role.handlers;
            set_nesting(&mut handlers, task.nesting + 1);
            // The same role with the same parameters is one role to ansible-core: its handlers are there once.
            let same_role = |a: &Task, b: &Task| match (&a.role, &b.role) {
                (Some(x), Some(y)) => x.name == y.name && x.params == y.params,
                _ => false,
            };
            for handler in handlers {
                let known = self
                    .handlers
                    .iter()
                    .any(|h| h.location == handler.location && same_role(h, &handler));
                if !known {
                    self.handlers.push(handler);
                }
            }
            // `public: true`: the rest of the play sees the role's defaults and vars.
            if inclusion
                .args
                .get("public")
                .is_some_and(crate::template::truthy)
            {
                self.public_roles.extend(role.scopes);
            }
            let name = inclusion
                .args
                .get("name")
                .map(crate::pyjson::python_str)
                .unwrap_or_default();
            self.statically_imported(&role.statically_imported);
            (name, role.tasks)
        } else {
            let name = inclusion
                .args
                .get("file")
                .or_else(|| inclusion.args.get("_raw_params"))
                .map(crate::pyjson::python_str)
                .ok_or_else(|| {
                    InclusionFailure::Message("No file specified for include_tasks".into())
                })?;
            let path = self.include_path(play.dir(playbook), task, &name);
            let shown = path.display().to_string();
            let (tasks, imported) = playbook::load_included_tasks(
                &path,
                &shown,
                &playbook.context,
                play.dir(playbook),
                play,
                false,
            )
            .map_err(|e| match e {
                PlaybookError::NotFound { .. } => InclusionFailure::Missing {
                    given: name.clone(),
                    path: shown.clone(),
                },
                other => described(other),
            })?;
            self.statically_imported(&imported);
            (shown, tasks)
        };
        if task.action == "include_tasks" {
            for included in &mut tasks {
                included.for_each_mut(&mut |t| {
                    let mut params = inclusion.params.clone();
                    params.extend(std::mem::take(&mut t.include_params));
                    t.include_params = params;
                    if t.role.is_none() {
                        t.role = task.role.clone();
                    }
                });
            }
        }
        if let Some(apply) = inclusion.args.get("apply") {
            playbook::apply_keywords(
                apply,
                &mut tasks,
                &playbook.context,
                play.dir(playbook),
                play,
            )
            .map_err(described)?;
        }
        // What the play and the blocks around the include say about running actions holds for what it brings,
        // and so do the tags of the blocks and roles around it (not its own).
        for included in &mut tasks {
            included.for_each_mut(&mut |t| {
                t.execution.inherit(&task.execution);
                for tag in &task.inherited_tags {
                    if !t.tags.contains(tag) {
                        t.tags.push(tag.clone());
                        t.inherited_tags.push(tag.clone());
                    }
                }
            });
        }
        set_nesting(&mut tasks, task.nesting + 1);
        Ok((shown, tasks))
    }

    /// A relative `include_tasks` file: beside the file of the including task (a role's `tasks/`), else in the
    /// playbook's directory.
    fn include_path(&self, playbook_dir: &Path, task: &Task, name: &str) -> PathBuf {
        let given = Path::new(name);
        if given.is_absolute() {
            return given.to_path_buf();
        }
        let beside = task
            .origin
            .as_ref()
            .and_then(|o| Path::new(&o.path).parent().map(|d| d.join(given)));
        let path = match beside {
            Some(path) if path.exists() => path,
            _ => playbook_dir.join(given),
        };
        // Shown as ansible-core shows it: `sub/../tasks.yml` is `tasks.yml`.
        PathBuf::from(crate::template::normpath(&path.to_string_lossy()))
    }
}

/// Gives included tasks their nesting: `depth` for these, one more inside each block.
fn set_nesting(tasks: &mut [Task], depth: usize) {
    for t in tasks {
        t.nesting = depth;
        if let Some(block) = t.block.as_mut() {
            set_nesting(&mut block.block, depth + 1);
            set_nesting(&mut block.rescue, depth + 1);
            set_nesting(&mut block.always, depth + 1);
        }
    }
}

/// Why a run stops at an include nested [`playbook::MAX_NESTING`] deep, with where it is written.
fn too_deep(task: &Task, inclusion: &Inclusion) -> String {
    let what = ["file", "_raw_params", "name"]
        .iter()
        .find_map(|key| inclusion.args.get(*key))
        .map(crate::pyjson::python_str)
        .unwrap_or_default();
    let mut message = format!(
        "{} of '{what}' is nested too deep: {} includes and blocks, the most allowed. Does a file include itself without end? (ansible-core goes on to Python's recursion limit: maximum recursion depth exceeded)",
        task.action,
        playbook::MAX_NESTING
    );
    if let Some(origin) = &task.origin {
        message.push_str(&format!("\n{}", origin.report().trim_end_matches('\n')));
    }
    message
}

/// Why an inclusion brought nothing in.
enum InclusionFailure {
    /// The file to include does not exist.
    Missing {
        /// The name as the task gives it.
        given: String,
        /// Where it was looked for.
        path: String,
    },
    /// Anything else, said as the include's failure.
    Message(String),
}
