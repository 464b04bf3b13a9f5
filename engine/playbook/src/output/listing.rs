//! `--list-hosts`, `--list-tasks` and `--list-tags`: what each play would run and where, as ansible-playbook
//! lists it (the tasks of `block` sections flattened, not those of `rescue` or `always`; no handlers; tags
//! rendered with the play's variables and sorted, with the play's own).

use crate::executor::tags::TagFilter;
use crate::playbook::{Play, Playbook, Task};
use std::collections::BTreeSet;
use std::fmt::Write;

/// What to list, and how to find a play's hosts and render its tags.
pub struct Listing<'a> {
    /// The tags the tasks listed must have.
    pub filter: &'a TagFilter,
    /// `--list-hosts`: each play's pattern and hosts.
    pub hosts: bool,
    /// `--list-tasks`.
    pub tasks: bool,
    /// `--list-tags`.
    pub tags: bool,
    /// The hosts a play's pattern selects (within `--limit`).
    pub select: &'a dyn Fn(&str) -> Vec<String>,
    /// A task's tag as the play's variables render it.
    pub render_tag: &'a dyn Fn(&Play, &str) -> String,
}

/// The listing of one playbook.
pub fn render(playbook: &Playbook, listing: &Listing<'_>) -> String {
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
        if listing.hosts {
            let hosts = (listing.select)(&play.hosts);
            // Python's repr of the pattern list: backslashes doubled.
            let _ = writeln!(out, "    pattern: ['{}']", play.hosts.replace('\\', "\\\\"));
            let _ = writeln!(out, "    hosts ({}):", hosts.len());
            for h in hosts {
                let _ = writeln!(out, "      {h}");
            }
        }
        if !listing.tasks && !listing.tags {
            continue;
        }
        let mut listed = Vec::new();
        for task in play
            .pre_tasks
            .iter()
            .chain(&play.tasks)
            .chain(&play.post_tasks)
        {
            collect(task, listing, play, &mut listed);
        }
        let (tasks, tags) = (listing.tasks, listing.tags);
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
    listing: &Listing<'_>,
    play: &Play,
    listed: &mut Vec<(String, BTreeSet<String>)>,
) {
    if let Some(block) = &task.block {
        for child in &block.block {
            collect(child, listing, play, listed);
        }
        return;
    }
    let own_tags: Vec<String> = task
        .tags
        .iter()
        .map(|t| (listing.render_tag)(play, t))
        .collect();
    let play_tags = &play.tags;
    if !listing.filter.selects(&own_tags, play_tags) {
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
    let tags = own_tags.iter().chain(play_tags).cloned().collect();
    listed.push((name, tags));
}
