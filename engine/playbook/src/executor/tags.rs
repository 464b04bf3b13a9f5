//! `--tags` and `--skip-tags`: which tasks run, with Ansible's special tags (`always`, `never`, `tagged`,
//! `untagged`, `all`), as ansible-core's `Taggable.evaluate_tags` decides.

use std::collections::BTreeSet;

/// The tag selection of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    /// `--tags` (`all` when not given).
    pub only: BTreeSet<String>,
    /// `--skip-tags`.
    pub skip: BTreeSet<String>,
}

impl Default for TagFilter {
    fn default() -> Self {
        TagFilter {
            only: BTreeSet::from(["all".to_string()]),
            skip: BTreeSet::new(),
        }
    }
}

impl TagFilter {
    /// From the command line's comma-separated values.
    pub fn new(only: &[String], skip: &[String]) -> TagFilter {
        let split = |values: &[String]| -> BTreeSet<String> {
            values
                .iter()
                .flat_map(|v| v.split(','))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        };
        let only = split(only);
        TagFilter {
            only: if only.is_empty() {
                TagFilter::default().only
            } else {
                only
            },
            skip: split(skip),
        }
    }

    /// Whether a task with `own` tags, in a play tagged `inherited`, runs.
    pub fn selects(&self, own: &[String], inherited: &[String]) -> bool {
        let mut tags: BTreeSet<&str> = own.iter().chain(inherited).map(String::as_str).collect();
        let untagged = tags.is_empty();
        if untagged {
            tags.insert("untagged");
        }
        let any_of = |set: &BTreeSet<String>| tags.iter().any(|t| set.contains(*t));
        let mut run = true;
        if !self.only.is_empty() {
            run = tags.contains("always")
                || (self.only.contains("all") && !tags.contains("never"))
                || any_of(&self.only)
                || (self.only.contains("tagged") && !untagged && !tags.contains("never"));
        }
        if run && !self.skip.is_empty() {
            if self.skip.contains("all") {
                run = tags.contains("always") && !self.skip.contains("always");
            } else if any_of(&self.skip) || (self.skip.contains("tagged") && !untagged) {
                run = false;
            }
        }
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_runs_everything_but_never() {
        let f = TagFilter::default();
        assert!(f.selects(&[], &[]));
        assert!(f.selects(&tags(&["web"]), &[]));
        assert!(!f.selects(&tags(&["never"]), &[]));
        assert!(f.selects(&tags(&["never", "always"]), &[]));
    }

    #[test]
    fn only_tags_with_specials() {
        let f = TagFilter::new(&tags(&["web,db"]), &[]);
        assert!(f.selects(&tags(&["web"]), &[]));
        assert!(!f.selects(&tags(&["other"]), &[]));
        assert!(f.selects(&tags(&["always"]), &[]));
        assert!(f.selects(&[], &tags(&["db"])), "play tags are inherited");
        assert!(!f.selects(&[], &[]));
        let f = TagFilter::new(&tags(&["never"]), &[]);
        assert!(f.selects(&tags(&["never", "x"]), &[]));
        let f = TagFilter::new(&tags(&["untagged"]), &[]);
        assert!(f.selects(&[], &[]));
        assert!(!f.selects(&tags(&["x"]), &[]));
        let f = TagFilter::new(&tags(&["tagged"]), &[]);
        assert!(f.selects(&tags(&["x"]), &[]));
        assert!(!f.selects(&[], &[]));
    }

    #[test]
    fn skip_tags() {
        let f = TagFilter::new(&[], &tags(&["web"]));
        assert!(!f.selects(&tags(&["web"]), &[]));
        assert!(f.selects(&tags(&["db"]), &[]));
        let f = TagFilter::new(&[], &tags(&["all"]));
        assert!(!f.selects(&tags(&["db"]), &[]));
        assert!(f.selects(&tags(&["always"]), &[]));
        let f = TagFilter::new(&[], &tags(&["always"]));
        assert!(!f.selects(&tags(&["always"]), &[]));
    }
}
