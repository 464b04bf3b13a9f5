//! `--report FILE`: every host result, and per task the counts by status, min/median/max duration and the
//! slowest host, written as JSON when the run ends.

use crate::executor::event::{Event, HostResult, Sink, Status};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Collects results and writes the report at the recap.
pub struct JsonReport {
    path: PathBuf,
    plays: Vec<Value>,
    sessions: serde_json::Map<String, Value>,
    current_task: Option<(String, Vec<HostResult>)>,
}

impl JsonReport {
    /// A report to be written to `path`.
    pub fn new(path: PathBuf) -> JsonReport {
        JsonReport {
            path,
            plays: Vec::new(),
            sessions: serde_json::Map::new(),
            current_task: None,
        }
    }

    fn close_task(&mut self) {
        let Some((name, results)) = self.current_task.take() else {
            return;
        };
        let summary = summarize(&name, &results);
        if let Some(Value::Object(play)) = self.plays.last_mut()
            && let Some(Value::Array(tasks)) = play.get_mut("tasks")
        {
            tasks.push(summary);
        }
    }
}

fn summarize(name: &str, results: &[HostResult]) -> Value {
    let mut counts =
        json!({"ok": 0, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 0, "ignored": 0});
    for r in results {
        let key = match r.status {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed if r.ignored => "ignored",
            Status::Failed => "failed",
            Status::Unreachable => "unreachable",
            Status::Skipped => "skipped",
        };
        if let Some(n) = counts.get_mut(key).and_then(|v| v.as_u64()) {
            counts[key] = json!(n + 1);
        }
    }
    let mut durations: Vec<(f64, &str)> = results
        .iter()
        .map(|r| (r.duration.as_secs_f64(), r.host.as_str()))
        .collect();
    durations.sort_by(|a, b| a.0.total_cmp(&b.0));
    let duration = match durations.len() {
        0 => Value::Null,
        n => {
            let median = if n % 2 == 1 {
                durations[n / 2].0
            } else {
                (durations[n / 2 - 1].0 + durations[n / 2].0) / 2.0
            };
            json!({"min": durations[0].0, "median": median, "max": durations[n - 1].0})
        }
    };
    json!({
        "name": name,
        "counts": counts,
        "duration": duration,
        "slowest_host": durations.last().map(|d| d.1),
        "hosts": results,
    })
}

impl Sink for JsonReport {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::PlayStart { name, .. } => {
                self.close_task();
                self.plays.push(json!({"name": name, "tasks": []}));
            }
            Event::TaskStart { name, .. } => {
                self.close_task();
                self.current_task = Some((name.to_string(), Vec::new()));
            }
            Event::HostResult(r) => {
                if let Some((_, results)) = &mut self.current_task {
                    results.push((*r).clone());
                }
            }
            Event::Recap(stats) => {
                self.close_task();
                // Python values kept marked (keys that are numbers, dates) as plain JSON.
                let report = crate::typed::plain(
                    json!({"plays": self.plays, "stats": stats, "sessions": self.sessions}),
                );
                let text = serde_json::to_string_pretty(&report).unwrap_or_default();
                if let Err(e) = std::fs::write(&self.path, text) {
                    eprintln!(
                        "[WARNING]: cannot write the report {}: {e}",
                        self.path.display()
                    );
                }
            }
            Event::Session { host, cost } => {
                self.sessions.insert(host.to_string(), json!(cost));
            }
            Event::NoHostsMatched
            | Event::NoMoreHosts
            | Event::Warning(_)
            | Event::Error(_)
            | Event::Display(_)
            | Event::Verbose { .. }
            | Event::Deprecation(_)
            | Event::Banner(_)
            | Event::PlaybookStart { .. }
            | Event::HostStart { .. }
            | Event::ItemResult(_)
            | Event::IncludeResult(_)
            | Event::Retrying { .. }
            | Event::Included { .. }
            | Event::MetaSkipped { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn result(host: &str, status: Status, ms: u64) -> HostResult {
        HostResult {
            host: host.into(),
            task: "t".into(),
            status,
            ignored: false,
            result: json!({}),
            duration: Duration::from_millis(ms),
            action: "ping".into(),
            item: None,
            looped: false,
            cause: None,
            origin: None,
        }
    }

    #[test]
    fn tasks_are_summarized_with_counts_and_the_slowest_host() {
        let s = summarize(
            "t",
            &[
                result("a", Status::Ok, 10),
                result("b", Status::Failed, 30),
                result("c", Status::Ok, 20),
            ],
        );
        assert_eq!(s["counts"]["ok"], 2);
        assert_eq!(s["counts"]["failed"], 1);
        assert_eq!(s["duration"]["median"], 0.02);
        assert_eq!(s["slowest_host"], "b");
    }
}
