//! `--list-tasks` and `--list-tags`: what each play would run, as ansible-playbook lists it (the tasks of `block`
//! sections flattened, not those of `rescue` or `always`; no handlers; tags sorted, with the play's own).

use crate::executor::tags::TagFilter;
use crate::playbook::{Playbook, Task};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The listing of one playbook.
pub fn render(playbook: &Playbook, filter: &TagFilter, tasks: bool, tags: bool) -> String {
    let mut out = format!("\nplaybook: {}\n", playbook.file.name);
    for (i, play) in playbook.plays.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n  play #{} ({}): {}\tTAGS: [{}]",
            i + 1,
            play.hosts,
            play.name,
            // Python joins a set here, with no space (and in no fixed order).
            play.tags.join(",")
        );
        let mut listed = Vec::new();
        for task in play
            .pre_tasks
            .iter()
            .chain(&play.tasks)
            .chain(&play.post_tasks)
        {
            collect(task, filter, &play.tags, &mut listed);
        }
        if tasks {
            out.push_str("    tasks:\n");
            for (name, task_tags) in &listed {
                let shown: Vec<&str> = task_tags.iter().map(String::as_str).collect();
                let _ = writeln!(out, "      {name}\tTAGS: [{}]", shown.join(", "));
            }
        }
        if tags {
            let all: BTreeSet<&String> = listed
                .iter()
                .flat_map(|(_, t)| t)
                .chain(&play.tags)
                .collect();
            let shown: Vec<&str> = all.into_iter().map(String::as_str).collect();
            let _ = writeln!(out, "      TASK TAGS: [{}]", shown.join(", "));
        }
    }
    out
}

/// The tasks `task` stands for (a block's `block` section, recursively) that the tag filter selects.
fn collect(
    task: &Task,
    filter: &TagFilter,
    play_tags: &[String],
    listed: &mut Vec<(String, BTreeSet<String>)>,
) {
    if let Some(block) = &task.block {
        for child in &block.block {
            collect(child, filter, play_tags, listed);
        }
        return;
    }
    if !filter.selects(&task.tags, play_tags) {
        return;
    }
    let own = task
        .name
        .clone()
        .unwrap_or_else(|| task.written_action.clone());
    let name = match &task.role {
        Some(role) => format!("{} : {own}", role.name),
        None => own,
    };
    let tags = task.tags.iter().chain(play_tags).cloned().collect();
    listed.push((name, tags));
}
