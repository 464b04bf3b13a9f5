//! `strategy: free`: every host goes through a section's tasks at its own pace, without waiting for the
//! others at each task, as ansible-core's free strategy does. A host with a task in flight waits for its result;
//! a host that is done with the section runs the handlers it notified, then waits for the others.
//!
//! Each host has a [`Cursor`] over the section: a stack of frames, one per block it is in, that knows about
//! `rescue` and `always` as the linear strategy's `run_block` does. Meta tasks and dynamic includes run for that
//! host alone; `add_host` and `pause`, which run once for all hosts, are refused as ansible-core refuses them.

use super::{Executor, Flow};
use crate::playbook::{Block, Play, Playbook, Task};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

/// Where a host is in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Block,
    Rescue,
    /// `always`; whether the host had failed when it entered, so it is failed again after.
    Always {
        refail: bool,
    },
}

struct Frame {
    tasks: Vec<Task>,
    next: usize,
    block: Option<(Box<Block>, Phase)>,
}

/// What a host does next.
#[derive(Debug)]
enum Step {
    Run(Box<Task>),
    /// Its failure in a block is rescued: it goes on with the block's `rescue`.
    Rescue,
    /// It enters a block's `always`, failed or not.
    Always {
        failed: bool,
    },
    /// It leaves an `always`; failed again if it was when it entered.
    AfterAlways {
        refail: bool,
    },
    Done,
}

/// Where one host is in a section.
struct Cursor {
    stack: Vec<Frame>,
}

impl Cursor {
    fn new(tasks: &[Task]) -> Cursor {
        Cursor {
            stack: vec![Frame {
                tasks: tasks.to_vec(),
                next: 0,
                block: None,
            }],
        }
    }

    /// The host's next step; `failed` says whether it has failed (then the rest of a block or section is
    /// skipped, and its `rescue`, else its `always`, comes next).
    fn next(&mut self, failed: bool) -> Step {
        loop {
            let Some(frame) = self.stack.last_mut() else {
                return Step::Done;
            };
            // A host that failed leaves what it is in: the rest of a block, its rescue, its always (a host
            // that had failed before its always entered it un-failed).
            if !failed && frame.next < frame.tasks.len() {
                let task = frame.tasks[frame.next].clone();
                frame.next += 1;
                if task.duplicate {
                    continue;
                }
                if let Some(block) = &task.block {
                    let tasks = block.block.clone();
                    self.stack.push(Frame {
                        tasks,
                        next: 0,
                        block: Some((block.clone(), Phase::Block)),
                    });
                    continue;
                }
                return Step::Run(Box::new(task));
            }
            let Some(frame) = self.stack.pop() else {
                return Step::Done;
            };
            let Some((block, phase)) = frame.block else {
                return Step::Done;
            };
            let always = |cursor: &mut Cursor, refail: bool| {
                cursor.stack.push(Frame {
                    tasks: block.always.clone(),
                    next: 0,
                    block: Some((block.clone(), Phase::Always { refail })),
                });
            };
            match phase {
                Phase::Block if failed && !block.rescue.is_empty() => {
                    self.stack.push(Frame {
                        tasks: block.rescue.clone(),
                        next: 0,
                        block: Some((block.clone(), Phase::Rescue)),
                    });
                    return Step::Rescue;
                }
                Phase::Block | Phase::Rescue if !block.always.is_empty() => {
                    always(self, failed);
                    return Step::Always { failed };
                }
                Phase::Block | Phase::Rescue => {}
                Phase::Always { refail } => return Step::AfterAlways { refail },
            }
        }
    }
}

impl Executor {
    /// Runs a section with the free strategy on the active hosts of `hosts`.
    pub(super) async fn run_free(
        &mut self,
        playbook: &Playbook,
        play: &Play,
        tasks: &[Task],
        hosts: &[String],
    ) -> Flow {
        let active = self.active(hosts);
        let mut cursors: HashMap<String, Cursor> = active
            .iter()
            .map(|h| (h.clone(), Cursor::new(tasks)))
            .collect();
        let mut idle: VecDeque<String> = active.into_iter().collect();
        let semaphore = Arc::new(Semaphore::new(self.options.forks.max(1)));
        let mut running = tokio::task::JoinSet::new();
        let mut owners = HashMap::new();
        let mut last_banner: Option<String> = None;
        let tags = self.options.tags.clone();
        let mut flow = Flow::Continue;
        // `--start-at-task`: each host skips its tasks until it reaches that one.
        let mut waiting: std::collections::HashSet<String> = match &self.options.start_at_task {
            Some(_) => cursors.keys().cloned().collect(),
            None => Default::default(),
        };
        let mut started = false;
        let mut hostvars: Option<minijinja::Value> = None;
        // Per host, the first handler not yet considered in its flush at the end of the section.
        let mut handler_from: HashMap<String, usize> = HashMap::new();
        loop {
            while flow == Flow::Continue
                && let Some(host) = idle.pop_front()
            {
                let Some(state) = self.hosts.get(&host) else {
                    continue;
                };
                if state.unreachable || state.ended {
                    continue;
                }
                let failed = state.failed;
                let Some(cursor) = cursors.get_mut(&host) else {
                    continue;
                };
                let (task, handler) = match cursor.next(failed) {
                    // Done with the section, the host flushes its own handlers, in their order, as ansible-core's
                    // free strategy does, without waiting for the others.
                    Step::Done => {
                        let from = handler_from.entry(host.clone()).or_insert(0);
                        let start = *from;
                        let next = (start..self.handlers.len())
                            .find(|index| self.runs_handler(play, &host, *index));
                        // What it passes over it does not run (it failed); what it notifies again of those
                        // before waits for the end of the section.
                        if let Some(state) = self.hosts.get_mut(&host) {
                            let end = next.map_or(usize::MAX, |index| index + 1);
                            state
                                .notified
                                .retain(|index| *index < start || *index >= end);
                        }
                        match next {
                            Some(index) => {
                                *from = index + 1;
                                (self.handlers[index].clone(), true)
                            }
                            None => continue,
                        }
                    }
                    Step::Rescue => {
                        self.rescue(&host);
                        idle.push_front(host);
                        continue;
                    }
                    Step::Always { failed } => {
                        if failed && let Some(state) = self.hosts.get_mut(&host) {
                            state.failed = false;
                        }
                        idle.push_front(host);
                        continue;
                    }
                    Step::AfterAlways { refail } => {
                        if refail && let Some(state) = self.hosts.get_mut(&host) {
                            state.failed = true;
                        }
                        idle.push_front(host);
                        continue;
                    }
                    Step::Run(task) => (*task, false),
                };
                // Facts are gathered whatever task the run starts at.
                if !handler && waiting.contains(&host) && task.written_action != "gather_facts" {
                    let start = self.options.start_at_task.as_deref().unwrap_or_default();
                    if !super::starts_at(&task, start) {
                        idle.push_front(host);
                        continue;
                    }
                    waiting.remove(&host);
                    started = true;
                }
                if !handler && !tags.selects(&task.tags, &play.tags) {
                    idle.push_front(host);
                    continue;
                }
                let one = std::slice::from_ref(&host);
                if task.action == "meta" {
                    flow = self.meta(playbook, play, &task, hosts, one).await;
                    // A meta task can change what `hostvars` holds (refresh_inventory, clear_facts).
                    hostvars = None;
                    idle.push_front(host);
                    last_banner = None;
                    continue;
                }
                if matches!(task.action.as_str(), "include_tasks" | "include_role") {
                    // The included tasks run for this host before it goes on; the others' results wait.
                    flow = Box::pin(self.run_include(playbook, play, &task, hosts, one)).await;
                    hostvars = None;
                    idle.push_front(host);
                    last_banner = None;
                    continue;
                }
                if matches!(task.action.as_str(), "add_host" | "pause") {
                    self.fatal = Some(format!(
                        "The '{}' module bypasses the host loop, which is currently not supported in the free \
                         strategy and would instead execute for every host in the inventory list.",
                        task.action
                    ));
                    flow = Flow::Abort;
                    continue;
                }
                if task.run_once.as_ref().is_some_and(super::flag) {
                    self.warn(
                        "Using run_once with the free strategy is not currently supported. This task will still be \
                         executed for every host in the inventory list.",
                    );
                }
                if task.any_errors_fatal == Some(true) {
                    self.warn(
                        "Using any_errors_fatal with the free strategy is not supported, as tasks are executed \
                         independently on each host",
                    );
                }
                if self.options.step && !self.take_step(&task, Some(&host)) {
                    idle.push_front(host);
                    continue;
                }
                let identity = format!("{}\u{1}{}", task.location, task.display_name());
                if last_banner.as_deref() != Some(identity.as_str()) {
                    self.announce(playbook, play, &task, hosts, Some(&host), handler);
                    last_banner = Some(identity);
                }
                // Built once for as long as no result changes what it holds.
                let shared = match &hostvars {
                    Some(built) => built.clone(),
                    None => hostvars.insert(self.hostvars(playbook, hosts)).clone(),
                };
                let job = match self.prepare(playbook, play, &task, hosts, &host, &shared) {
                    Ok(job) => job,
                    Err(_) if self.fatal.is_some() => {
                        flow = Flow::Abort;
                        continue;
                    }
                    Err(message) => {
                        let failed = super::host::HostOutcome::failed(message);
                        self.record(&task, host.clone(), failed, Default::default());
                        hostvars = None;
                        idle.push_back(host);
                        continue;
                    }
                };
                let ctx = self.task_context(&task);
                let semaphore = Arc::clone(&semaphore);
                let owner = (host.clone(), task.clone());
                let handle = running.spawn(async move {
                    let _permit = semaphore.acquire_owned().await;
                    let started = Instant::now();
                    let outcome = ctx.execute(job).await;
                    (host, task, outcome, started.elapsed())
                });
                owners.insert(handle.id(), owner);
            }
            let Some(joined) = running.join_next_with_id().await else {
                break;
            };
            let (host, task, outcome, duration) = match joined {
                Ok((id, done)) => {
                    owners.remove(&id);
                    done
                }
                Err(e) => match owners.remove(&e.id()) {
                    Some((host, task)) => (host, task, super::lost(&e), Default::default()),
                    None => continue,
                },
            };
            self.record(&task, host.clone(), outcome, duration);
            hostvars = None;
            if self.fatal.is_some() {
                flow = Flow::Abort;
            }
            idle.push_back(host);
        }
        if started {
            self.options.start_at_task = None;
        }
        flow
    }

    /// A host's failure inside a block with `rescue` is rescued: counted so, with `ansible_failed_task` and
    /// `ansible_failed_result` set (for both strategies).
    pub(super) fn rescue(&mut self, host: &str) {
        if let Some(state) = self.hosts.get_mut(host) {
            state.failed = false;
            if std::mem::take(&mut state.failed_by_others) {
                return;
            }
            if let Some((task, result)) = state.last_failure.clone() {
                state.vars.insert("ansible_failed_task".into(), task);
                state.vars.insert("ansible_failed_result".into(), result);
            }
        }
        if let Some(counters) = self.stats.get_mut(host) {
            counters.failed = counters.failed.saturating_sub(1);
            counters.rescued += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn task(name: &str) -> Task {
        let mut t = Task::new("debug", Map::new(), String::new());
        t.name = Some(name.into());
        t
    }

    fn block(block: Vec<Task>, rescue: Vec<Task>, always: Vec<Task>) -> Task {
        let mut t = Task::new("block", Map::new(), String::new());
        t.block = Some(Box::new(Block {
            block,
            rescue,
            always,
        }));
        t
    }

    fn name(step: Step) -> String {
        match step {
            Step::Run(t) => t.name.unwrap_or_default(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn a_failure_in_a_block_goes_to_rescue_then_always() {
        let tasks = [
            task("first"),
            block(
                vec![task("b1"), task("b2")],
                vec![task("r1")],
                vec![task("a1")],
            ),
            task("last"),
        ];
        let mut cursor = Cursor::new(&tasks);
        assert_eq!(name(cursor.next(false)), "first");
        assert_eq!(name(cursor.next(false)), "b1");
        // b1 failed: b2 is skipped.
        assert_eq!(name(cursor.next(true)), "Rescue");
        assert_eq!(name(cursor.next(false)), "r1");
        assert_eq!(name(cursor.next(false)), "Always { failed: false }");
        assert_eq!(name(cursor.next(false)), "a1");
        assert_eq!(name(cursor.next(false)), "AfterAlways { refail: false }");
        assert_eq!(name(cursor.next(false)), "last");
        assert_eq!(name(cursor.next(false)), "Done");
    }

    #[test]
    fn a_failure_in_always_ends_the_always() {
        let tasks = [block(
            vec![task("b1")],
            vec![],
            vec![task("a1"), task("a2")],
        )];
        let mut cursor = Cursor::new(&tasks);
        assert_eq!(name(cursor.next(false)), "b1");
        assert_eq!(name(cursor.next(false)), "Always { failed: false }");
        assert_eq!(name(cursor.next(false)), "a1");
        // a1 failed: a2 does not run.
        assert_eq!(name(cursor.next(true)), "AfterAlways { refail: false }");
        assert_eq!(name(cursor.next(true)), "Done");
    }

    #[test]
    fn without_rescue_always_runs_and_the_host_stays_failed() {
        let tasks = [
            block(vec![task("b1")], vec![], vec![task("a1")]),
            task("never"),
        ];
        let mut cursor = Cursor::new(&tasks);
        assert_eq!(name(cursor.next(false)), "b1");
        assert_eq!(name(cursor.next(true)), "Always { failed: true }");
        assert_eq!(name(cursor.next(false)), "a1");
        assert_eq!(name(cursor.next(false)), "AfterAlways { refail: true }");
        assert_eq!(name(cursor.next(true)), "Done");
    }
}
