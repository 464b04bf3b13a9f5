//! The playbook model: YAML plays and tasks turned into [`Play`] and [`Task`], every unknown or unsupported
//! keyword reported at its file:line:column.
//!
//! Task arguments stay unrendered JSON here; the executor renders them per host.

pub mod args;
mod roles;

pub use roles::{IncludedRole, RoleScope, load_included_role};

use crate::diag::{Diagnostic, SourceFile, Span, did_you_mean};
use crate::yaml::{self, Node, NodeKind};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What loading a playbook needs besides its file: the actions tasks may name and where roles are found.
/// The executor keeps it to load `include_tasks` and `include_role` files when they run.
#[derive(Debug, Clone, Default)]
pub struct LoadContext {
    /// Every action a task may use.
    pub modules: Vec<String>,
    /// `roles_path`, searched after the `roles/` directory beside the playbook.
    pub roles_path: Vec<PathBuf>,
    /// What a play that does not say gets: facts gathered (`gathering`), `any_errors_fatal`, and the free
    /// strategy (`strategy`), from the configuration.
    pub play_defaults: PlayDefaults,
}

/// The configuration's defaults for play keywords.
#[derive(Debug, Clone)]
pub struct PlayDefaults {
    pub gather_facts: bool,
    pub any_errors_fatal: bool,
    pub free: bool,
}

impl Default for PlayDefaults {
    fn default() -> Self {
        PlayDefaults {
            gather_facts: true,
            any_errors_fatal: false,
            free: false,
        }
    }
}

/// Why a playbook could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlaybookError {
    /// The playbook file does not exist or cannot be read.
    #[error("the playbook: {path} could not be found")]
    NotFound {
        /// As given.
        path: String,
    },
    /// A vault-encrypted file that cannot be decrypted.
    #[error("{message} ({path})")]
    Vault {
        /// As given.
        path: String,
        /// Why.
        message: String,
    },
    /// A YAML syntax error.
    #[error(transparent)]
    Yaml(#[from] yaml::YamlError),
    /// Valid YAML that is not a valid playbook.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    /// A playbook that reads as one but cannot be put together: a missing imported file or role, a task
    /// with two loops (ansible-core's plain errors rather than its parser's).
    #[error("{0}")]
    Failed(Box<Diagnostic>),
    /// A static import or a role dependency that leads back to a file or role still being read: ansible-core
    /// reads on until Python's recursion limit.
    #[error("{diagnostic}")]
    Recursion {
        diagnostic: Box<Diagnostic>,
        /// Whether a role was being read: ansible-core's role loading turns the RecursionError into its
        /// "recursion loop" error (exit 1); elsewhere nothing catches it and ansible-playbook ends as on an
        /// unexpected exception.
        in_role: bool,
    },
}

/// How deep dynamic includes, and the blocks inside them, may nest. ansible-core has no limit of its own: a
/// file that includes itself runs until Python's recursion limit ends ansible-playbook, after about 250
/// includes of the simplest file (fewer with blocks around them). Each level takes stack here too, so the
/// run stops there, with an error that says why, well before the stack is gone.
pub const MAX_NESTING: usize = 250;

/// ansible-playbook's exit code for an unexpected exception, which is how it ends on a loop of static
/// imports (Python's RecursionError) and on `include_tasks` nested too deep.
pub const UNEXPECTED_EXIT: i32 = 250;

impl PlaybookError {
    /// ansible-playbook's exit code for it: 4 for what its parser rejects, 1 for the rest.
    pub fn exit_code(&self) -> i32 {
        match self {
            PlaybookError::Yaml(_) | PlaybookError::Invalid(_) => 4,
            PlaybookError::NotFound { .. }
            | PlaybookError::Vault { .. }
            | PlaybookError::Failed(_)
            | PlaybookError::Recursion { in_role: true, .. } => 1,
            PlaybookError::Recursion { in_role: false, .. } => UNEXPECTED_EXIT,
        }
    }
}

/// A parsed playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// The file's directory (`playbook_dir`).
    pub dir: PathBuf,
    /// The file.
    pub file: Arc<SourceFile>,
    /// Its plays.
    pub plays: Vec<Play>,
    /// What it was loaded with, for the files it includes while it runs.
    pub context: Arc<LoadContext>,
    /// The files its `import_tasks` read, in order.
    pub statically_imported: Vec<String>,
}

/// One play.
#[derive(Debug, Clone)]
pub struct Play {
    /// `name`, or the host pattern when absent (as Ansible shows it).
    pub name: String,
    /// The host pattern.
    pub hosts: String,
    /// Play `vars`.
    pub vars: Map<String, Value>,
    /// Where each play variable's value is written, for error reports.
    pub var_origins: std::collections::BTreeMap<String, Origin>,
    /// Whether facts are gathered first (Ansible's default: yes).
    pub gather_facts: bool,
    /// `connection:` for every task of the play.
    pub connection: Option<String>,
    /// `remote_user:`.
    pub remote_user: Option<String>,
    /// The tasks.
    pub tasks: Vec<Task>,
    /// `pre_tasks:`, run before `tasks`, with a handler flush after them.
    pub pre_tasks: Vec<Task>,
    /// `post_tasks:`, run after `tasks` and their handlers.
    pub post_tasks: Vec<Task>,
    /// `vars_files:`: files (names may be templates; a list inside the list means the first that exists).
    pub vars_files: Vec<Value>,
    /// Where each `vars_files` entry is written.
    pub vars_files_origins: Vec<Origin>,
    /// The conditions of the `import_playbook`s that brought the play in: facts are gathered where they hold.
    pub gather_when: Option<Value>,
    /// `handlers:`.
    pub handlers: Vec<Task>,
    /// `tags:` of the play, inherited by its tasks.
    pub tags: Vec<String>,
    /// Every role the play applies (from `roles:`, their dependencies, `import_role`): their defaults and
    /// vars are seen by every task of the play, as Ansible's `private_role_vars = false` has it.
    pub roles: Vec<Arc<RoleScope>>,
    /// `serial:` batch sizes (numbers or percentages; the last repeats); empty means one batch.
    pub serial: Vec<Value>,
    /// `max_fail_percentage:`: more failed hosts than this in a batch end the run.
    pub max_fail_percentage: Option<f64>,
    /// `any_errors_fatal:` (given to every task).
    pub any_errors_fatal: bool,
    /// `force_handlers:`: over `--force-handlers` when given.
    pub force_handlers: Option<bool>,
    /// `environment`, `module_defaults`, `check_mode`, ...: given to every task and handler, and to the tasks
    /// of files included while the play runs.
    pub execution: Execution,
    /// `vars_prompt:`: play variables asked for at the terminal when the play starts.
    pub vars_prompt: Vec<VarPrompt>,
    /// `strategy:`: `true` for `free` (each host at its own pace), else linear.
    pub free: bool,
    /// The role applications already made, so one applied again (by a dependency or `include_role`) with the
    /// same parameters runs once unless it allows duplicates.
    pub applied_roles: Vec<String>,
    /// Keywords written as templates (`gather_facts: "{{ gather }}"`), by name: rendered when the play starts,
    /// as ansible-core renders a play's keywords with the play's variables and the extra vars.
    pub templated: Map<String, Value>,
    /// Where the values of the keywords above, `name`, `hosts` and `serial` are written, for error reports.
    pub keyword_origins: std::collections::BTreeMap<String, Origin>,
    /// `order:`: the order hosts run in (`inventory`, `reverse_inventory`, `sorted`, `reverse_sorted`,
    /// `shuffle`).
    pub order: Option<String>,
    /// `gather_subset`, `gather_timeout`, `fact_path`: the arguments of the play's fact gathering.
    pub gather_args: Map<String, Value>,
    /// Where the play starts.
    pub span: Span,
    /// The directory of the playbook this play was imported from (`import_playbook: sub/other.yml`): its
    /// `playbook_dir`, where its relative files and its `roles/` are (`None`: the main playbook's).
    pub imported_from: Option<PathBuf>,
}

impl Play {
    /// The play's `playbook_dir`: the directory of the file it is written in.
    pub fn dir<'a>(&'a self, playbook: &'a Playbook) -> &'a Path {
        self.imported_from.as_deref().unwrap_or(&playbook.dir)
    }
}

/// One task.
#[derive(Debug, Clone)]
pub struct Task {
    /// `name`, if given.
    pub name: Option<String>,
    /// The action as written (`ping`, `ansible.builtin.shell`), for display.
    pub written_action: String,
    /// The action's short name (`ping`, `shell`).
    pub action: String,
    /// Unrendered arguments, a JSON object.
    pub args: Map<String, Value>,
    /// `register:`.
    pub register: Option<String>,
    /// `when:` (a string, a list of them, or a boolean).
    pub when: Option<Value>,
    /// Where the task's own `when:` value is written, for warnings about it.
    pub when_origin: Option<Origin>,
    /// Where the values of the task's keywords and arguments are written, for error reports that point at
    /// the value that failed: `when`, `until`, `changed_when`, `failed_when` (`KEY.N` for each item of a
    /// list), `loop` (any loop keyword), `args.NAME` for each argument (`args` for the `k=v` text).
    pub value_origins: std::collections::BTreeMap<String, Origin>,
    /// `ignore_errors:` (a boolean or a template).
    pub ignore_errors: Option<Value>,
    /// Task `vars`.
    pub vars: Map<String, Value>,
    /// `delegate_to:` (a host name or a template; `local_action` is `localhost`): the action runs through
    /// that host's connection, with this host's variables.
    pub delegate_to: Option<Value>,
    /// `delegate_facts:`: facts the action gathers go to the delegated host.
    pub delegate_facts: Option<Value>,
    /// `tags:` of the task itself (the play's are added when tags are evaluated).
    pub tags: Vec<String>,
    /// The tags among `tags` that enclosing blocks and roles gave: what an include passes on to the tasks
    /// it brings (its own tags are the include's alone, as in ansible-core).
    pub inherited_tags: Vec<String>,
    /// `notify:`: handlers (by name or `listen` topic) to run when this task changes something.
    pub notify: Vec<String>,
    /// For handlers, `listen:` topics.
    pub listen: Vec<String>,
    /// `loop:` or `with_<lookup>:`.
    pub loop_source: Option<LoopSource>,
    /// `loop_control:`.
    pub loop_control: LoopControl,
    /// `changed_when:`.
    pub changed_when: Option<Value>,
    /// `failed_when:`.
    pub failed_when: Option<Value>,
    /// `until:`, with `retries:` and `delay:`.
    pub until: Option<Value>,
    /// `retries:` (a number or a template).
    pub retries: Option<Value>,
    /// `delay:` in seconds (a number or a template).
    pub delay: Option<Value>,
    /// `no_log:`.
    pub no_log: Option<Value>,
    /// Where the task starts, `file:line:column`.
    pub location: String,
    /// Where the task starts, with the lines before it, for error reports.
    pub origin: Option<Origin>,
    /// For a `block:`, its sections; its own `when`, `tags`, `vars` and `ignore_errors` are already given to
    /// the tasks inside.
    pub block: Option<Box<Block>>,
    /// The role this task belongs to.
    pub role: Option<Arc<RoleScope>>,
    /// A role application repeated with the same parameters, for a role that does not allow duplicates:
    /// listed by `--list-tasks`, as Ansible lists it, but not run.
    pub duplicate: bool,
    /// `run_once:`: run on the first host of the batch, the result given to all.
    pub run_once: Option<Value>,
    /// `throttle:`: at most this many hosts at once.
    pub throttle: Option<Value>,
    /// `any_errors_fatal:`: a failure on one host ends the play for all, and the run.
    pub any_errors_fatal: Option<bool>,
    /// Variables of the dynamic include that brought this task in (its `vars:` and loop variable), above
    /// registered values in precedence.
    pub include_params: Map<String, Value>,
    /// For a task a dynamic include (`include_tasks`, `include_role`) brought in: how many includes and
    /// blocks (roles' and imports' too) the run is inside when it reaches the task, each of which takes
    /// stack; a file that includes itself at run time is stopped at [`MAX_NESTING`].
    pub nesting: usize,
    /// How the action runs: `environment`, `module_defaults`, `check_mode`, `diff`, `timeout`,
    /// `ignore_unreachable`, with what the play, blocks and roles around the task give.
    pub execution: Execution,
}

/// One `vars_prompt:` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VarPrompt {
    /// The variable.
    pub name: String,
    /// The question (`input for NAME` when absent).
    pub prompt: Option<String>,
    /// The value when nothing is typed, or when there is no terminal.
    pub default: Option<Value>,
    /// Hide what is typed (the default).
    pub private: bool,
    /// Ask twice.
    pub confirm: bool,
    /// Hash the answer (`sha512_crypt`, ...), with `salt` and `salt_size`.
    pub encrypt: Option<String>,
    /// The salt for `encrypt`.
    pub salt: Option<String>,
    /// The salt's length for `encrypt`.
    pub salt_size: Option<u64>,
    /// `unsafe`: the answer is never templated.
    pub unsafe_value: bool,
}

/// The keywords that say how an action runs. Plays, blocks and roles give them to the tasks inside, as
/// ansible-core's inherited attributes: the innermost value wins; `environment` and `module_defaults` are
/// lists, outermost first, whose later entries override earlier ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Execution {
    /// `environment:` entries: mappings, or templates that give one.
    pub environment: Vec<Value>,
    /// `module_defaults:` entries: mappings from a module name to its default arguments.
    pub module_defaults: Vec<Value>,
    /// `check_mode:` (a boolean or a template); unset means `--check`.
    pub check_mode: Option<Value>,
    /// `diff:`; unset means `--diff`.
    pub diff: Option<Value>,
    /// `timeout:` in seconds (a number or a template); unset or 0 means none.
    pub timeout: Option<Value>,
    /// `ignore_unreachable:`: an unreachable result counts as ignored and the host stays in the play.
    pub ignore_unreachable: Option<Value>,
    /// `become:` (a boolean or a template).
    pub escalate: Option<Value>,
    /// `become_user:`.
    pub become_user: Option<Value>,
    /// `become_method:`.
    pub become_method: Option<Value>,
    /// `become_flags:`.
    pub become_flags: Option<Value>,
    /// `become_exe:`.
    pub become_exe: Option<Value>,
    /// `connection:` (a play's is [`Play::connection`]); the host's `ansible_connection` wins over it.
    pub connection: Option<Value>,
    /// `remote_user:` (a play's is [`Play::remote_user`]); the host's `ansible_user` wins over it.
    pub remote_user: Option<Value>,
    /// `port:`; the host's `ansible_port` wins over it.
    pub port: Option<Value>,
}

impl Execution {
    /// The keywords it reads.
    pub const KEYWORDS: &'static [&'static str] = &[
        "environment",
        "module_defaults",
        "check_mode",
        "diff",
        "timeout",
        "ignore_unreachable",
        "become",
        "become_user",
        "become_method",
        "become_flags",
        "become_exe",
        "connection",
        "remote_user",
        "port",
        // Accepted and not needed: a task with `async` runs to its end (one that polls waits for it anyway),
        // modules are found by their `ansible.builtin` names whatever `collections` says, and there is no
        // debugger to start.
        "async",
        "poll",
        "collections",
        "debugger",
    ];

    /// Takes what `outer` sets and this does not; `outer`'s lists go first.
    pub fn inherit(&mut self, outer: &Execution) {
        let prepend = |mine: &mut Vec<Value>, theirs: &[Value]| {
            if !theirs.is_empty() {
                let own = std::mem::take(mine);
                mine.extend(theirs.iter().cloned());
                mine.extend(own);
            }
        };
        prepend(&mut self.environment, &outer.environment);
        prepend(&mut self.module_defaults, &outer.module_defaults);
        for (mine, theirs) in [
            (&mut self.check_mode, &outer.check_mode),
            (&mut self.diff, &outer.diff),
            (&mut self.timeout, &outer.timeout),
            (&mut self.ignore_unreachable, &outer.ignore_unreachable),
            (&mut self.escalate, &outer.escalate),
            (&mut self.become_user, &outer.become_user),
            (&mut self.become_method, &outer.become_method),
            (&mut self.become_flags, &outer.become_flags),
            (&mut self.become_exe, &outer.become_exe),
            (&mut self.connection, &outer.connection),
            (&mut self.remote_user, &outer.remote_user),
            (&mut self.port, &outer.port),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }
}

/// `block:` with its `rescue:` and `always:` sections.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Tasks run in order; a failure moves the host to `rescue`.
    pub block: Vec<Task>,
    /// Run on the hosts that failed in `block`; if they succeed, the host is rescued.
    pub rescue: Vec<Task>,
    /// Run on every host that entered the block, failed or not.
    pub always: Vec<Task>,
}

/// A place in a playbook as Ansible's error reports show it: the absolute path, and the lines up to the place
/// with a caret under its column.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// Absolute path of the file.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// Up to three numbered lines ending at `line`, and the caret line.
    pub excerpt: String,
}

impl Origin {
    /// ansible-core's `Origin:` block: the place, an empty line, then the lines up to it with their caret,
    /// ending its line. A task written nowhere (ad-hoc, line 0) is named by its path alone.
    pub fn report(&self) -> String {
        match self.line {
            0 => format!("Origin: {}\n\n{}\n", self.path, self.excerpt),
            line => format!(
                "Origin: {}:{line}:{}\n\n{}\n",
                self.path, self.col, self.excerpt
            ),
        }
    }

    /// The origin of `span` in `file`, whose absolute path is `path`.
    /// Lines are cut to 120 characters with `...`, and the caret line written so that it fits, as
    /// ansible-core's annotated source does.
    pub fn new(path: &str, file: &SourceFile, span: Span) -> Origin {
        const MAX_WIDTH: usize = 120;
        const CUT: &str = "...";
        let first = span.line.saturating_sub(2).max(1);
        let width = span.line.to_string().len();
        let max_line = MAX_WIDTH - width - 1;
        let mut usable = max_line;
        let mut excerpt = String::new();
        for n in first..=span.line {
            let mut text = file.line(n).unwrap_or_default().replace('\t', " ");
            if text.chars().count() > max_line {
                text = text.chars().take(max_line - CUT.len()).collect::<String>() + CUT;
                usable = max_line - CUT.len();
            }
            let sep = if text.is_empty() { "" } else { " " };
            excerpt.push_str(&format!("{n:>width$}{sep}{text}\n"));
        }
        if (1..=usable).contains(&span.col) {
            let marker = format!("column {}", span.col);
            let at = span.col - 1;
            let caret = if at + 2 + marker.len() > max_line {
                format!(
                    "{}{marker} ^",
                    " ".repeat(at.saturating_sub(marker.len() + 1))
                )
            } else {
                format!("{}^ {marker}", " ".repeat(at))
            };
            excerpt.push_str(&format!("{} {caret}", " ".repeat(width)));
        } else {
            excerpt.truncate(excerpt.trim_end_matches('\n').len());
        }
        Origin {
            path: path.to_string(),
            line: span.line,
            col: span.col,
            excerpt,
        }
    }
}

/// Where a loop's items come from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopSource {
    /// `loop`, or the lookup of `with_<lookup>`.
    pub kind: LoopKind,
    /// The unrendered value.
    pub value: Value,
    /// For `LoopKind::Lookup`, the lookup's name.
    pub lookup: Option<String>,
}

/// The loop forms Ansible has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    /// `loop:` (a list, as given).
    Loop,
    /// `with_items:` (flattened one level).
    Items,
    /// `with_list:` (as given).
    List,
    /// `with_dict:` (`{key, value}` items).
    Dict,
    /// `with_together:` (zipped lists).
    Together,
    /// `with_nested:` (the product of lists).
    Nested,
    /// `with_sequence:` (`start=1 end=5 stride=1 format=...`).
    Sequence,
    /// `with_indexed_items:` (`[index, item]`).
    IndexedItems,
    /// `with_fileglob:` (the files matching patterns, found as the `fileglob` lookup finds them).
    Fileglob,
    /// `with_subelements:` (`[element, subelement]` for a list of mappings and the key of their lists).
    Subelements,
    /// `with_flattened:` (community.general's `flattened` lookup, which Ansible redirects to: nested lists
    /// flattened at every depth).
    Flattened,
    /// Any other `with_<lookup>`: the lookup's results (`with_file`, `with_lines`, `with_first_found`, ...).
    Lookup,
}

impl LoopKind {
    /// The keyword that names this form.
    pub fn from_keyword(keyword: &str) -> Option<LoopKind> {
        Some(match keyword {
            "loop" => LoopKind::Loop,
            "with_items" => LoopKind::Items,
            "with_list" => LoopKind::List,
            "with_dict" => LoopKind::Dict,
            "with_together" => LoopKind::Together,
            "with_nested" | "with_cartesian" => LoopKind::Nested,
            "with_sequence" => LoopKind::Sequence,
            "with_indexed_items" => LoopKind::IndexedItems,
            "with_fileglob" => LoopKind::Fileglob,
            "with_subelements" => LoopKind::Subelements,
            "with_flattened" => LoopKind::Flattened,
            other => match other.strip_prefix("with_") {
                Some(name) if crate::template::LOOKUP_NAMES.contains(&name) => LoopKind::Lookup,
                _ => return None,
            },
        })
    }
}

/// `loop_control:`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopControl {
    /// The item's variable name (`item`).
    pub loop_var: String,
    /// A variable holding the item's index.
    pub index_var: Option<String>,
    /// What to show for each item instead of the item (a template).
    pub label: Option<Value>,
    /// Sets `ansible_loop` (index, first, last, length, ...).
    pub extended: bool,
    /// With `extended`, whether `ansible_loop.allitems` holds every item (on unless turned off).
    pub extended_allitems: bool,
    /// Seconds to wait between items.
    pub pause: f64,
    /// Conditions checked after each item (with its registered result): the first true one ends the loop.
    pub break_when: Option<Value>,
}

impl Default for LoopControl {
    fn default() -> Self {
        LoopControl {
            loop_var: "item".into(),
            index_var: None,
            label: None,
            extended: false,
            extended_allitems: true,
            pause: 0.0,
            break_when: None,
        }
    }
}

impl Task {
    /// A task running `action` with `args`, every keyword at its default.
    pub fn new(action: &str, args: Map<String, Value>, location: String) -> Task {
        Task {
            name: None,
            written_action: action.to_string(),
            action: action.to_string(),
            args,
            register: None,
            when: None,
            when_origin: None,
            value_origins: std::collections::BTreeMap::new(),
            ignore_errors: None,
            vars: Map::new(),
            delegate_to: None,
            delegate_facts: None,
            tags: Vec::new(),
            inherited_tags: Vec::new(),
            notify: Vec::new(),
            listen: Vec::new(),
            loop_source: None,
            loop_control: LoopControl::default(),
            changed_when: None,
            failed_when: None,
            until: None,
            retries: None,
            delay: None,
            no_log: None,
            location,
            origin: None,
            block: None,
            role: None,
            duplicate: false,
            run_once: None,
            throttle: None,
            any_errors_fatal: None,
            include_params: Map::new(),
            nesting: 0,
            execution: Execution::default(),
        }
    }

    /// The name shown in `TASK [...]`: the task's name, or its action as written (`include_role : NAME` for a
    /// nameless `include_role`), after `ROLE : ` for a role's task.
    pub fn display_name(&self) -> String {
        self.display_name_with(self.name.clone())
    }

    /// The name shown for the task, its own given as `name` (the written one, rendered).
    pub fn display_name_with(&self, name: Option<String>) -> String {
        let own = match name {
            Some(name) => name,
            None if self.action == "include_role" => match self.args.get("name") {
                Some(Value::String(role)) => format!("{} : {role}", self.written_action),
                _ => self.written_action.clone(),
            },
            None => self.written_action.clone(),
        };
        match &self.role {
            Some(role) => format!("{} : {own}", role.name),
            None => own,
        }
    }

    /// Calls `f` on this task and every task inside it (blocks, recursively).
    pub fn for_each(&self, f: &mut impl FnMut(&Task)) {
        f(self);
        if let Some(block) = &self.block {
            for child in block.block.iter().chain(&block.rescue).chain(&block.always) {
                child.for_each(f);
            }
        }
    }

    /// Calls `f` on this task and every task inside it (blocks, recursively).
    pub fn for_each_mut(&mut self, f: &mut impl FnMut(&mut Task)) {
        f(self);
        if let Some(block) = self.block.as_mut() {
            for child in block
                .block
                .iter_mut()
                .chain(&mut block.rescue)
                .chain(&mut block.always)
            {
                child.for_each_mut(f);
            }
        }
    }
}

/// ansible-core's reserved variable names (`ansible.vars.reserved.get_reserved_names()`: the attributes of
/// plays, roles, blocks and tasks, and the template globals), sorted.
pub(crate) const RESERVED_NAMES: &[&str] = &[
    "action",
    "always",
    "any_errors_fatal",
    "args",
    "async",
    "async_val",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "block",
    "changed_when",
    "check_mode",
    "collections",
    "connection",
    "cycler",
    "debugger",
    "delay",
    "delegate_facts",
    "delegate_to",
    "dict",
    "diff",
    "environment",
    "fact_path",
    "failed_when",
    "force_handlers",
    "gather_facts",
    "gather_timeout",
    "handlers",
    "hosts",
    "ignore_errors",
    "ignore_unreachable",
    "joiner",
    "lipsum",
    "local_action",
    "lookup",
    "loop",
    "loop_control",
    "loop_with",
    "max_fail_percentage",
    "module_defaults",
    "name",
    "namespace",
    "no_log",
    "notify",
    "now",
    "omit",
    "order",
    "poll",
    "port",
    "post_tasks",
    "pre_tasks",
    "q",
    "query",
    "range",
    "register",
    "remote_user",
    "rescue",
    "retries",
    "roles",
    "run_once",
    "serial",
    "strategy",
    "tags",
    "tasks",
    "throttle",
    "timeout",
    "undef",
    "until",
    "vars_files",
    "vars_prompt",
    "when",
    "with_",
];

const PLAY_SUPPORTED: &[&str] = &[
    "name",
    "force_handlers",
    "roles",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
    "hosts",
    "vars",
    "gather_facts",
    "tasks",
    "connection",
    "remote_user",
    "tags",
    "handlers",
    "pre_tasks",
    "post_tasks",
    "vars_files",
    "vars_prompt",
    "strategy",
    "environment",
    "module_defaults",
    "check_mode",
    "diff",
    "timeout",
    "ignore_unreachable",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
];
/// Play keywords that are not supported yet (none now; kept for the error that names them).
const PLAY_LATER: &[&str] = &[];
const TASK_SUPPORTED: &[&str] = &[
    "name",
    "action",
    "local_action",
    "args",
    "register",
    "when",
    "ignore_errors",
    "vars",
    "tags",
    "delegate_to",
    "delegate_facts",
    "loop",
    "loop_control",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "no_log",
    "with_items",
    "with_list",
    "with_dict",
    "with_together",
    "with_nested",
    "with_sequence",
    "with_indexed_items",
    "with_fileglob",
    "with_subelements",
    "notify",
    "listen",
    "run_once",
    "throttle",
    "any_errors_fatal",
    "environment",
    "module_defaults",
    "check_mode",
    "diff",
    "timeout",
    "ignore_unreachable",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
];
/// Task keywords that are not supported yet (none now; kept for the error that names them).
const TASK_LATER: &[&str] = &[];

struct Loader<'a> {
    file: &'a Arc<SourceFile>,
    cx: &'a LoadContext,
    /// The file's absolute path, for [`Origin`]s.
    path: String,
    /// The playbook's directory: roles are looked for in its `roles/` first.
    playbook_dir: &'a Path,
    /// The roles of the play being loaded, gathered as its sections are read.
    roles: &'a RefCell<roles::PlayRoles>,
    /// What is being read, outermost first (see [`Loader::enter`]).
    reading: &'a RefCell<Vec<Reading>>,
    /// The files `import_tasks` read, in the order read: ansible-core says `statically imported: FILE` at -vv.
    imported: &'a RefCell<Vec<String>>,
}

/// What a [`Reading`] reads: a file of plays, a file of tasks (or handlers), a role's dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadingKind {
    Playbook,
    Tasks,
    RoleDependencies,
}

/// A file or role being read while what it imports is read: met again before it is done, it is a
/// recursion loop, which static imports never leave.
#[derive(Debug)]
struct Reading {
    kind: ReadingKind,
    /// The file (or the role's directory), canonical.
    path: PathBuf,
    /// As shown in the loop.
    name: String,
    /// Part of a role: its dependencies, tasks or handlers.
    in_role: bool,
    /// Where it was asked for.
    at: Option<(Arc<SourceFile>, Span)>,
}

impl Reading {
    /// The outermost reading: the playbook given, asked for by no file.
    fn top(kind: ReadingKind, path: &Path, name: &str) -> RefCell<Vec<Reading>> {
        RefCell::new(vec![Reading {
            kind,
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            name: name.to_string(),
            in_role: false,
            at: None,
        }])
    }
}

/// Ends a reading when dropped, on an error too.
struct Entered<'a>(&'a RefCell<Vec<Reading>>);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.borrow_mut().pop();
    }
}

impl<'a> Loader<'a> {
    /// Starts reading `path` as `kind`, asked for at `at`; an error when it is being read already, since
    /// reading it again would never end (Ansible's loader recurses until Python's recursion limit, and a
    /// role may appear twice in a dependency tree only side by side, not inside itself).
    fn enter(
        &self,
        at: &Node,
        kind: ReadingKind,
        path: &Path,
        name: String,
        in_role: bool,
    ) -> Result<Entered<'a>, PlaybookError> {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut stack = self.reading.borrow_mut();
        if let Some(first) = stack.iter().position(|r| r.kind == kind && r.path == path) {
            let in_role = in_role || stack.iter().any(|r| r.in_role);
            let chain: Vec<&str> = stack[first..]
                .iter()
                .map(|r| r.name.as_str())
                .chain([name.as_str()])
                .collect();
            // The loop's first step: where the file read again asks for the next one (its own import when
            // it imports itself).
            let (file, span) = stack
                .get(first + 1)
                .and_then(|r| r.at.clone())
                .unwrap_or_else(|| (Arc::clone(self.file), at.span));
            let message = if in_role {
                "A recursion loop was detected with the roles specified. Make sure child roles do not have dependencies on parent roles"
            } else if kind == ReadingKind::Playbook {
                "A recursion loop was detected with the playbooks imported. Make sure a playbook does not import itself, directly or through others"
            } else {
                "A recursion loop was detected with the tasks files imported. Make sure a tasks file does not import itself, directly or through others"
            };
            return Err(PlaybookError::Recursion {
                diagnostic: Box::new(
                    Diagnostic::new(message)
                        .at(&file, span)
                        .label(format!("loop: {}", chain.join(" -> "))),
                ),
                in_role,
            });
        }
        stack.push(Reading {
            kind,
            path,
            name,
            in_role,
            at: Some((Arc::clone(self.file), at.span)),
        });
        Ok(Entered(self.reading))
    }
}

impl Loader<'_> {
    fn invalid(&self, node: &Node, message: String, label: impl Into<String>) -> PlaybookError {
        PlaybookError::Invalid(Box::new(
            Diagnostic::new(message)
                .at(self.file, node.span)
                .label(label),
        ))
    }

    /// Like `invalid`, for what ansible-core reports as a plain error (exit code 1).
    fn failed(&self, node: &Node, message: String, label: impl Into<String>) -> PlaybookError {
        PlaybookError::Failed(Box::new(
            Diagnostic::new(message)
                .at(self.file, node.span)
                .label(label),
        ))
    }

    fn string(&self, node: &Node, what: &str) -> Result<String, PlaybookError> {
        match &node.kind {
            NodeKind::Seq(_) | NodeKind::Map(_) | NodeKind::Null => Err(self.invalid(
                node,
                format!("`{what}` must be a string"),
                format!("found {}", node.describe()),
            )),
            _ => Ok(node.scalar_text().unwrap_or_default()),
        }
    }

    fn flag(&self, node: &Node, what: &str) -> Result<bool, PlaybookError> {
        boolean(node).ok_or_else(|| {
            self.invalid(
                node,
                format!("`{what}` must be a boolean"),
                "expected yes or no",
            )
        })
    }

    fn mapping(&self, node: &Node, what: &str) -> Result<Map<String, Value>, PlaybookError> {
        match &node.kind {
            NodeKind::Null => Ok(Map::new()),
            NodeKind::Map(_) => match node.to_json() {
                Value::Object(map) => Ok(map),
                _ => Ok(Map::new()),
            },
            _ => Err(self.invalid(
                node,
                format!("`{what}` must be a mapping"),
                format!("found {}", node.describe()),
            )),
        }
    }

    /// `vars_prompt:`: a list of mappings, each with a `name`.
    fn vars_prompt(&self, node: &Node) -> Result<Vec<VarPrompt>, PlaybookError> {
        let items = match &node.kind {
            NodeKind::Null => return Ok(Vec::new()),
            NodeKind::Seq(items) => items,
            _ => {
                return Err(self.invalid(
                    node,
                    "`vars_prompt` must be a list of prompts".into(),
                    format!(
                        "expected a list of `- name: VAR` entries, found {}",
                        node.describe()
                    ),
                ));
            }
        };
        let mut prompts = Vec::new();
        for item in items {
            let Some(entries) = item.as_map() else {
                return Err(self.invalid(
                    item,
                    "a `vars_prompt` entry must be a mapping".into(),
                    format!("found {}", item.describe()),
                ));
            };
            let mut prompt = VarPrompt {
                private: true,
                ..VarPrompt::default()
            };
            for (key, value) in entries {
                match key.scalar_text().unwrap_or_default().as_str() {
                    "name" => prompt.name = self.string(value, "name")?,
                    "prompt" => prompt.prompt = Some(self.string(value, "prompt")?),
                    "default" => prompt.default = Some(value.to_json()),
                    "private" => prompt.private = self.flag(value, "private")?,
                    "confirm" => prompt.confirm = self.flag(value, "confirm")?,
                    "encrypt" => prompt.encrypt = Some(self.string(value, "encrypt")?),
                    "salt" => prompt.salt = Some(self.string(value, "salt")?),
                    "salt_size" => {
                        prompt.salt_size = match &value.kind {
                            NodeKind::Int(n) if *n > 0 => Some(*n as u64),
                            _ => {
                                return Err(self.invalid(
                                    value,
                                    "`salt_size` must be a positive number".into(),
                                    format!("found {}", value.describe()),
                                ));
                            }
                        }
                    }
                    "unsafe" => prompt.unsafe_value = self.flag(value, "unsafe")?,
                    other => {
                        return Err(self.unknown_keyword(
                            key,
                            other,
                            "vars_prompt entry",
                            &[
                                "name",
                                "prompt",
                                "default",
                                "private",
                                "confirm",
                                "encrypt",
                                "salt",
                                "salt_size",
                                "unsafe",
                            ],
                            &[],
                        ));
                    }
                }
            }
            if prompt.name.is_empty() {
                return Err(self.invalid(
                    item,
                    "Invalid vars_prompt data structure, missing 'name' key".into(),
                    "add `name: VARIABLE`",
                ));
            }
            prompts.push(prompt);
        }
        Ok(prompts)
    }

    fn play(&self, node: &Node) -> Result<Play, PlaybookError> {
        let Some(entries) = node.as_map() else {
            return Err(self.invalid(
                node,
                "a play must be a mapping".into(),
                format!("found {}", node.describe()),
            ));
        };
        let mut play = Play {
            name: String::new(),
            hosts: String::new(),
            vars: Map::new(),
            var_origins: std::collections::BTreeMap::new(),
            gather_facts: self.cx.play_defaults.gather_facts,
            connection: None,
            remote_user: None,
            tasks: Vec::new(),
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
            any_errors_fatal: self.cx.play_defaults.any_errors_fatal,
            force_handlers: None,
            execution: Execution::default(),
            vars_prompt: Vec::new(),
            free: self.cx.play_defaults.free,
            templated: Map::new(),
            keyword_origins: std::collections::BTreeMap::new(),
            order: None,
            imported_from: None,
            gather_args: Map::new(),
            span: node.span,
        };
        // `ignore_errors`, `no_log`, `run_once` and `throttle` of the play, given to its tasks.
        let mut inherited = Task::new("play", Map::new(), String::new());
        let mut hosts_seen = false;
        // The sections are read in the order they run, whatever their order in the file, so that a role
        // applied twice is recognised as Ansible does.
        let mut sections: [Option<&Node>; 5] = [None; 5];
        for (key, value) in entries {
            let name = key.scalar_text().unwrap_or_default();
            // A keyword whose value is a template is rendered when the play starts.
            let deferred = [
                "gather_facts",
                "any_errors_fatal",
                "force_handlers",
                "max_fail_percentage",
            ];
            if deferred.contains(&name.as_str())
                || matches!(name.as_str(), "name" | "hosts" | "serial")
            {
                play.keyword_origins
                    .insert(name.clone(), self.origin(value));
            }
            if deferred.contains(&name.as_str())
                && value.as_str().is_some_and(crate::template::is_template)
            {
                play.templated.insert(name, value.to_json());
                continue;
            }
            match name.as_str() {
                "name" => play.name = self.string(value, "name")?,
                "hosts" => {
                    hosts_seen = true;
                    play.hosts = match &value.kind {
                        NodeKind::Seq(items) => items
                            .iter()
                            .map(|i| self.string(i, "hosts"))
                            .collect::<Result<Vec<_>, _>>()?
                            .join(","),
                        _ => self.string(value, "hosts")?,
                    };
                }
                "vars" => {
                    play.vars = self.mapping(value, "vars")?;
                    self.warn_reserved(value);
                    for (name, origin) in self.entry_origins(value) {
                        play.var_origins.insert(name, origin);
                    }
                }
                "gather_facts" => {
                    play.gather_facts = boolean(value).ok_or_else(|| {
                        self.invalid(
                            value,
                            "`gather_facts` must be a boolean".into(),
                            "expected yes or no",
                        )
                    })?
                }
                "connection" => play.connection = Some(self.string(value, "connection")?),
                "remote_user" => play.remote_user = Some(self.string(value, "remote_user")?),
                "tags" => play.tags = self.words(value, "tags")?,
                "serial" => {
                    play.serial = match &value.kind {
                        NodeKind::Seq(items) => items.iter().map(Node::to_json).collect(),
                        NodeKind::Null => Vec::new(),
                        _ => vec![value.to_json()],
                    }
                }
                "max_fail_percentage" => {
                    let percentage = match &value.kind {
                        NodeKind::Int(i) => Some(*i as f64),
                        NodeKind::Float(f) => Some(*f),
                        _ => value
                            .scalar_text()
                            .and_then(|t| t.trim().trim_end_matches('%').parse().ok()),
                    };
                    play.max_fail_percentage = Some(percentage.ok_or_else(|| {
                        self.invalid(
                            value,
                            "`max_fail_percentage` must be a number".into(),
                            "expected a percentage such as 30",
                        )
                    })?);
                }
                "any_errors_fatal" => {
                    play.any_errors_fatal = self.flag(value, "any_errors_fatal")?
                }
                "force_handlers" => play.force_handlers = Some(self.flag(value, "force_handlers")?),
                "ignore_errors" => inherited.ignore_errors = Some(value.to_json()),
                "no_log" => inherited.no_log = Some(value.to_json()),
                "run_once" => inherited.run_once = Some(value.to_json()),
                "throttle" => inherited.throttle = Some(value.to_json()),
                "gather_subset" | "gather_timeout" | "fact_path" => {
                    play.gather_args.insert(name.clone(), value.to_json());
                }
                "order" => {
                    let order = self.string(value, "order")?;
                    let known = [
                        "inventory",
                        "reverse_inventory",
                        "sorted",
                        "reverse_sorted",
                        "shuffle",
                    ];
                    if !known.contains(&order.as_str()) {
                        return Err(self.invalid(
                            value,
                            format!("'{order}' is not a valid value for the field 'order'"),
                            format!("expected one of: {}", known.join(", ")),
                        ));
                    }
                    play.order = Some(order);
                }
                keyword if Execution::KEYWORDS.contains(&keyword) => {
                    self.execution_keyword(&mut play.execution, keyword, value)?
                }
                "pre_tasks" => sections[0] = Some(value),
                "roles" => sections[1] = Some(value),
                "tasks" => sections[2] = Some(value),
                "post_tasks" => sections[3] = Some(value),
                "handlers" => sections[4] = Some(value),
                "vars_prompt" => play.vars_prompt = self.vars_prompt(value)?,
                "strategy" => {
                    play.free = match self.string(value, "strategy")?.as_str() {
                        "linear" => false,
                        "free" | "host_pinned" => true,
                        other => {
                            return Err(self.invalid(
                                value,
                                format!("Invalid play strategy specified: {other}"),
                                "expected linear or free",
                            ));
                        }
                    }
                }
                "vars_files" => {
                    let entries: Vec<&Node> = match &value.kind {
                        NodeKind::Seq(items) => items.iter().collect(),
                        NodeKind::Null => Vec::new(),
                        _ => vec![value],
                    };
                    play.vars_files = entries.iter().map(|n| n.to_json()).collect();
                    play.vars_files_origins = entries.iter().map(|n| self.origin(n)).collect();
                }
                other => {
                    return Err(self.unknown_keyword(
                        key,
                        other,
                        "play",
                        PLAY_SUPPORTED,
                        PLAY_LATER,
                    ));
                }
            }
        }
        if let Some(value) = sections[0] {
            play.pre_tasks = self.task_list(value, "pre_tasks", false)?;
        }
        if let Some(value) = sections[1] {
            play.tasks = self.roles_section(value)?;
        }
        if let Some(value) = sections[2] {
            play.tasks.extend(self.task_list(value, "tasks", false)?);
        }
        if let Some(value) = sections[3] {
            play.post_tasks = self.task_list(value, "post_tasks", false)?;
        }
        // Handlers of roles come before the play's own, as in Ansible's compiled handler list.
        let gathered = self.roles.take();
        play.handlers = gathered.handlers;
        if let Some(value) = sections[4] {
            play.handlers
                .extend(self.task_list(value, "handlers", true)?);
        }
        play.roles = gathered.scopes;
        play.applied_roles = gathered.applied;
        for task in play
            .pre_tasks
            .iter_mut()
            .chain(&mut play.tasks)
            .chain(&mut play.post_tasks)
            .chain(&mut play.handlers)
        {
            task.for_each_mut(&mut |t| {
                t.execution.inherit(&play.execution);
                take_unset_keywords(t, &inherited);
            });
        }
        if play.any_errors_fatal {
            for task in play
                .pre_tasks
                .iter_mut()
                .chain(&mut play.tasks)
                .chain(&mut play.post_tasks)
            {
                task.for_each_mut(&mut |t| {
                    t.any_errors_fatal.get_or_insert(true);
                });
            }
        }
        // `meta: end_role` ends a role: outside one, ansible-core refuses the play.
        let mut outside_role = None;
        for task in play
            .pre_tasks
            .iter()
            .chain(&play.tasks)
            .chain(&play.post_tasks)
        {
            task.for_each(&mut |t| {
                let end_role = t.action == "meta"
                    && t.args.get("_raw_params").and_then(Value::as_str) == Some("end_role");
                if end_role && t.role.is_none() && outside_role.is_none() {
                    outside_role = t.origin.clone().filter(|o| o.path == self.path);
                }
            });
        }
        if let Some(origin) = outside_role {
            let d = Diagnostic::new("Cannot execute 'end_role' from outside of a role")
                .at(self.file, Span::new(origin.line, origin.col, 1))
                .label("this task is not in a role");
            return Err(PlaybookError::Invalid(Box::new(d)));
        }
        if !hosts_seen || play.hosts.trim().is_empty() {
            return Err(self.invalid(
                node,
                "the field 'hosts' is required but was not set".into(),
                "this play has no `hosts`",
            ));
        }
        if play.name.is_empty() {
            play.name = play.hosts.clone();
        }
        Ok(play)
    }

    /// Warns of play variables named as a keyword or a template global (`name`, `tags`, `q`, `range`), as
    /// ansible-core does: such a variable is shadowed or shadows.
    fn warn_reserved(&self, vars: &Node) {
        for (key, _) in vars.as_map().into_iter().flatten() {
            let Some(name) = key.scalar_text() else {
                continue;
            };
            if RESERVED_NAMES.binary_search(&name.as_str()).is_ok() {
                let origin = self.origin(key);
                crate::diag::warn(&format!(
                    "Found variable using reserved name '{name}'.\n{}",
                    origin.report()
                ));
            }
        }
    }

    /// `group/NAME` keys of `module_defaults` must name an action group. ansible-core's own groups (in its
    /// `ansible_builtin_runtime.yml`) only redirect to collections; a group of another collection cannot be
    /// checked here and is let be, as its modules are not ours to run.
    fn check_module_default_groups(&self, value: &Node) -> Result<(), PlaybookError> {
        const BUILTIN_GROUPS: &[&str] = &[
            "acme",
            "aws",
            "azure",
            "cpm",
            "docker",
            "gcp",
            "k8s",
            "os",
            "ovirt",
            "testgroup",
            "testlegacy",
            "vmware",
        ];
        let maps: Vec<&Node> = match &value.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            _ => vec![value],
        };
        for (key, _) in maps.iter().filter_map(|m| m.as_map()).flatten() {
            let Some(group) = key
                .scalar_text()
                .and_then(|k| k.strip_prefix("group/").map(String::from))
            else {
                continue;
            };
            let parts: Vec<&str> = group.split('.').collect();
            let builtin = match parts.as_slice() {
                [name] => Some(*name),
                ["ansible", "builtin", name] => Some(*name),
                _ => None,
            };
            if let Some(name) = builtin
                && !BUILTIN_GROUPS.contains(&name)
            {
                return Err(self.invalid(
                    key,
                    format!(
                        "Error loading module_defaults: could not resolve the module_defaults group ansible.builtin.{name}"
                    ),
                    "no such action group",
                ));
            }
        }
        Ok(())
    }

    /// What an `import_playbook` gives the plays it imports, as ansible-core's `PlaybookInclude` does: its
    /// `vars` over each play's, its `tags` added to theirs, and its `when` before every task's condition
    /// (facts are gathered only where it holds too).
    fn import_keywords(&self, item: &Node, plays: &mut [Play]) -> Result<(), PlaybookError> {
        let vars = match item.get("vars") {
            Some(vars) => self.mapping(vars, "vars")?,
            None => Map::new(),
        };
        let mut outer = Task::new("import_playbook", Map::new(), String::new());
        if let Some(tags) = item.get("tags") {
            outer.tags = self.words(tags, "tags")?;
        }
        if let Some(when) = item.get("when") {
            outer.when = Some(when.to_json());
            self.record_origins(&mut outer, "when", when);
        }
        for play in plays {
            play.vars.extend(vars.clone());
            for tag in &outer.tags {
                if !play.tags.contains(tag) {
                    play.tags.push(tag.clone());
                }
            }
            for task in play
                .pre_tasks
                .iter_mut()
                .chain(&mut play.tasks)
                .chain(&mut play.post_tasks)
            {
                inherit(task, &outer);
            }
            for handler in &mut play.handlers {
                for tag in &outer.tags {
                    if !handler.tags.contains(tag) {
                        handler.tags.push(tag.clone());
                    }
                }
            }
            if let Some(when) = &outer.when {
                let mut all = match when {
                    Value::Array(items) => items.clone(),
                    other => vec![other.clone()],
                };
                match play.gather_when.take() {
                    Some(Value::Array(items)) => all.extend(items),
                    Some(other) => all.push(other),
                    None => {}
                }
                play.gather_when = Some(Value::Array(all));
            }
        }
        Ok(())
    }

    /// One of [`Execution::KEYWORDS`], checked for its shape (templates are checked when they are rendered).
    fn execution_keyword(
        &self,
        execution: &mut Execution,
        name: &str,
        value: &Node,
    ) -> Result<(), PlaybookError> {
        // A mapping, a list of mappings, or a template that gives one.
        let entries = |what: &str, expected: &str| -> Result<Vec<Value>, PlaybookError> {
            match &value.kind {
                NodeKind::Null => Ok(Vec::new()),
                NodeKind::Map(_) | NodeKind::Str { .. } => Ok(vec![value.to_json()]),
                NodeKind::Seq(items) => items
                    .iter()
                    .map(|item| match &item.kind {
                        NodeKind::Map(_) | NodeKind::Str { .. } => Ok(item.to_json()),
                        _ => Err(self.invalid(
                            item,
                            format!("`{what}` entries must be mappings"),
                            format!("expected {expected}, found {}", item.describe()),
                        )),
                    })
                    .collect(),
                _ => Err(self.invalid(
                    value,
                    format!("`{what}` must be a mapping or a list of mappings"),
                    format!("expected {expected}, found {}", value.describe()),
                )),
            }
        };
        match name {
            "environment" => {
                execution.environment = entries("environment", "`NAME: value` pairs")?;
            }
            "module_defaults" => {
                execution.module_defaults =
                    entries("module_defaults", "`module: {argument: value}`")?;
                self.check_module_default_groups(value)?;
            }
            "timeout" => match &value.kind {
                NodeKind::Int(_) | NodeKind::Str { .. } | NodeKind::Null => {
                    execution.timeout = Some(value.to_json());
                }
                _ => {
                    return Err(self.invalid(
                        value,
                        "`timeout` must be a number of seconds".into(),
                        format!("found {}", value.describe()),
                    ));
                }
            },
            "check_mode" => execution.check_mode = Some(value.to_json()),
            "diff" => execution.diff = Some(value.to_json()),
            "become" => execution.escalate = Some(value.to_json()),
            "become_user" => execution.become_user = Some(value.to_json()),
            "become_method" => execution.become_method = Some(value.to_json()),
            "become_flags" => execution.become_flags = Some(value.to_json()),
            "become_exe" => execution.become_exe = Some(value.to_json()),
            "connection" => execution.connection = Some(value.to_json()),
            "remote_user" => execution.remote_user = Some(value.to_json()),
            "port" => execution.port = Some(value.to_json()),
            "async" | "poll" | "collections" | "debugger" => {}
            _ => execution.ignore_unreachable = Some(value.to_json()),
        }
        Ok(())
    }

    fn unknown_keyword(
        &self,
        key: &Node,
        name: &str,
        what: &str,
        supported: &[&str],
        later: &[&str],
    ) -> PlaybookError {
        if later.contains(&name) || name.starts_with("with_") {
            return self.invalid(
                key,
                format!("`{name}` is not supported yet in a {what}"),
                format!("supported here: {}", supported.join(", ")),
            );
        }
        let mut d = Diagnostic::new(format!(
            "'{name}' is not a valid attribute for a {}",
            capitalize(what)
        ))
        .at(self.file, key.span)
        .label(format!("expected one of: {}", supported.join(", ")));
        if let Some(close) = did_you_mean(name, supported.iter().copied()) {
            d = d.help(format!("did you mean `{close}`?"));
        }
        PlaybookError::Invalid(Box::new(d))
    }

    /// A `block:` entry. Its keywords that tasks inherit are given to them here, so the executor runs the
    /// sections as plain task lists: `when` is added to each task's conditions, `tags` and `vars` merged
    /// (the task's own win), `ignore_errors` taken when the task has none.
    fn block(
        &self,
        node: &Node,
        entries: &[(Node, Node)],
        handler: bool,
    ) -> Result<Task, PlaybookError> {
        let mut task = Task::new(
            "block",
            Map::new(),
            format!("{}:{}:{}", self.file.name, node.span.line, node.span.col),
        );
        task.origin = Some(self.origin(node));
        let mut sections = Block::default();
        for (key, value) in entries {
            let name = key.scalar_text().unwrap_or_default();
            match name.as_str() {
                "block" => sections.block = self.task_list(value, "block", handler)?,
                "rescue" => sections.rescue = self.task_list(value, "rescue", handler)?,
                "always" => sections.always = self.task_list(value, "always", handler)?,
                "name" => {
                    task.name = Some(self.string(value, "name")?);
                    task.value_origins.insert("name".into(), self.origin(value));
                }
                "when" => {
                    task.when = Some(value.to_json());
                    task.when_origin = Some(self.origin(value));
                    self.record_origins(&mut task, "when", value);
                }
                "tags" => task.tags = self.words(value, "tags")?,
                "vars" => {
                    task.vars = self.mapping(value, "vars")?;
                    for (name, origin) in self.entry_origins(value) {
                        task.value_origins.insert(format!("vars.{name}"), origin);
                    }
                }
                "ignore_errors" => task.ignore_errors = Some(value.to_json()),
                "run_once" => task.run_once = Some(value.to_json()),
                "any_errors_fatal" => {
                    task.any_errors_fatal = Some(self.flag(value, "any_errors_fatal")?)
                }
                "no_log" => task.no_log = Some(value.to_json()),
                "throttle" => task.throttle = Some(value.to_json()),
                "delegate_to" => task.delegate_to = Some(value.to_json()),
                "delegate_facts" => task.delegate_facts = Some(value.to_json()),
                "notify" => task.notify = self.words(value, "notify")?,
                keyword if Execution::KEYWORDS.contains(&keyword) => {
                    self.execution_keyword(&mut task.execution, keyword, value)?
                }
                other => {
                    let mut supported = vec![
                        "name",
                        "block",
                        "rescue",
                        "always",
                        "when",
                        "tags",
                        "vars",
                        "ignore_errors",
                        "run_once",
                        "any_errors_fatal",
                        "no_log",
                        "throttle",
                        "delegate_to",
                        "delegate_facts",
                        "notify",
                    ];
                    supported.extend(Execution::KEYWORDS);
                    return Err(self.unknown_keyword(key, other, "block", &supported, TASK_LATER));
                }
            }
        }
        for child in sections
            .block
            .iter_mut()
            .chain(&mut sections.rescue)
            .chain(&mut sections.always)
        {
            inherit(child, &task);
        }
        task.block = Some(Box::new(sections));
        Ok(task)
    }

    /// `import_tasks: file.yml`: the file's tasks, read now (a static import, as Ansible's), relative to the
    /// importing file; the import's `when`, `tags` and `vars` are given to them as a block's would be.
    fn import_tasks(
        &self,
        node: &Node,
        entries: &[(Node, Node)],
        file: &Node,
        handler: bool,
    ) -> Result<Task, PlaybookError> {
        let name = self.string(file, "import_tasks")?;
        let mut task = Task::new(
            "import_tasks",
            Map::new(),
            format!("{}:{}:{}", self.file.name, node.span.line, node.span.col),
        );
        for (key, value) in entries {
            match key.scalar_text().unwrap_or_default().as_str() {
                "import_tasks" | "ansible.builtin.import_tasks" | "name" => {}
                "when" => {
                    task.when = Some(value.to_json());
                    task.when_origin = Some(self.origin(value));
                    self.record_origins(&mut task, "when", value);
                }
                "tags" => task.tags = self.words(value, "tags")?,
                "vars" => {
                    task.vars = self.mapping(value, "vars")?;
                    for (name, origin) in self.entry_origins(value) {
                        task.value_origins.insert(format!("vars.{name}"), origin);
                    }
                }
                other if Execution::KEYWORDS.contains(&other) => {
                    self.execution_keyword(&mut task.execution, other, value)?
                }
                other => {
                    return Err(self.unknown_keyword(
                        key,
                        other,
                        "import_tasks",
                        &["import_tasks", "name", "when", "tags", "vars"],
                        TASK_LATER,
                    ));
                }
            }
        }
        let (imported, loader_path) = self.read_relative(file, &name)?;
        let _reading = self.enter(
            file,
            ReadingKind::Tasks,
            Path::new(&loader_path),
            imported.name.clone(),
            false,
        )?;
        let root = yaml::parse(&imported)?;
        self.imported.borrow_mut().push(loader_path.clone());
        let loader = Loader {
            file: &imported,
            path: loader_path,
            ..*self
        };
        let mut tasks = loader.task_list(&root, "import_tasks", handler)?;
        for child in &mut tasks {
            inherit(child, &task);
        }
        task.block = Some(Box::new(Block {
            block: tasks,
            ..Block::default()
        }));
        Ok(task)
    }

    /// Reads a file named relative to the file being parsed (or absolute); a missing one is located at `node`.
    fn read_relative(
        &self,
        node: &Node,
        name: &str,
    ) -> Result<(Arc<SourceFile>, String), PlaybookError> {
        let base = Path::new(&self.path).parent().unwrap_or(Path::new("."));
        let path = base.join(name);
        let text = crate::vault::read_to_string(&path).map_err(|e| {
            self.failed(
                node,
                format!("Could not find or access '{name}'"),
                format!("{}: {e}", path.display()),
            )
        })?;
        let shown = Path::new(&self.file.name).parent().map_or_else(
            || name.to_string(),
            |dir| dir.join(name).display().to_string(),
        );
        let absolute = std::fs::canonicalize(&path)
            .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
        Ok((SourceFile::new(shown, text), absolute))
    }

    /// A list of tasks (`tasks:`, `handlers:`).
    fn task_list(
        &self,
        node: &Node,
        what: &str,
        handlers: bool,
    ) -> Result<Vec<Task>, PlaybookError> {
        match &node.kind {
            NodeKind::Null => Ok(Vec::new()),
            NodeKind::Seq(items) => items
                .iter()
                .map(|t| self.task_or_handler(t, handlers))
                .collect(),
            _ => Err(self.invalid(
                node,
                format!("`{what}` must be a list of tasks"),
                format!("found {}", node.describe()),
            )),
        }
    }

    /// A string or a list of strings (`tags: a,b`, `notify: [x]`).
    fn words(&self, node: &Node, what: &str) -> Result<Vec<String>, PlaybookError> {
        match &node.kind {
            NodeKind::Null => Ok(Vec::new()),
            NodeKind::Seq(items) => items.iter().map(|i| self.string(i, what)).collect(),
            _ if what == "tags" => Ok(self
                .string(node, what)?
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()),
            _ => Ok(vec![self.string(node, what)?]),
        }
    }

    fn task_or_handler(&self, node: &Node, handler: bool) -> Result<Task, PlaybookError> {
        let Some(entries) = node.as_map() else {
            return Err(self.invalid(
                node,
                "a task must be a mapping".into(),
                format!("found {}", node.describe()),
            ));
        };
        if node.get("block").is_some() {
            return self.block(node, entries, handler);
        }
        if let Some(file) = node
            .get("import_tasks")
            .or_else(|| node.get("ansible.builtin.import_tasks"))
        {
            return self.import_tasks(node, entries, file, handler);
        }
        if let Some(spec) = node
            .get("import_role")
            .or_else(|| node.get("ansible.builtin.import_role"))
        {
            return self.import_role(node, entries, spec);
        }
        let mut task = Task::new(
            "",
            Map::new(),
            format!("{}:{}:{}", self.file.name, node.span.line, node.span.col),
        );
        task.origin = Some(self.origin(node));
        let mut action: Option<(&Node, String, &Node)> = None;
        let mut loop_key: Option<String> = None;
        let mut extra_args = Map::new();
        let mut args_node: Option<&Node> = None;
        for (key, value) in entries {
            let name = key.scalar_text().unwrap_or_default();
            match name.as_str() {
                "name" => {
                    task.name = Some(self.string(value, "name")?);
                    task.value_origins.insert("name".into(), self.origin(value));
                }
                "register" => task.register = Some(self.string(value, "register")?),
                "when" => {
                    task.when = Some(value.to_json());
                    task.when_origin = Some(self.origin(value));
                    self.record_origins(&mut task, "when", value);
                }
                "ignore_errors" => task.ignore_errors = Some(value.to_json()),
                "changed_when" => {
                    task.changed_when = Some(value.to_json());
                    self.record_origins(&mut task, "changed_when", value);
                }
                "failed_when" => {
                    task.failed_when = Some(value.to_json());
                    self.record_origins(&mut task, "failed_when", value);
                }
                "until" => {
                    task.until = Some(value.to_json());
                    self.record_origins(&mut task, "until", value);
                }
                "retries" => task.retries = Some(value.to_json()),
                "delay" => task.delay = Some(value.to_json()),
                "no_log" => task.no_log = Some(value.to_json()),
                "run_once" => task.run_once = Some(value.to_json()),
                "throttle" => task.throttle = Some(value.to_json()),
                "any_errors_fatal" => {
                    task.any_errors_fatal = Some(self.flag(value, "any_errors_fatal")?)
                }
                "loop_control" => task.loop_control = self.loop_control(value)?,
                keyword if Execution::KEYWORDS.contains(&keyword) => {
                    self.execution_keyword(&mut task.execution, keyword, value)?
                }
                keyword if LoopKind::from_keyword(keyword).is_some() => {
                    if let Some(first) = &loop_key {
                        return Err(self.failed(
                            key,
                            format!("'{first}' and '{keyword}' cannot be used together"),
                            "a task has one loop: use `loop` alone (with_* is the older form)",
                        ));
                    }
                    loop_key = Some(keyword.to_string());
                    task.value_origins.insert("loop".into(), self.origin(value));
                    task.loop_source = LoopKind::from_keyword(keyword).map(|kind| LoopSource {
                        kind,
                        value: value.to_json(),
                        lookup: (kind == LoopKind::Lookup)
                            .then(|| keyword.trim_start_matches("with_").to_string()),
                    });
                }
                "vars" => {
                    task.vars = self.mapping(value, "vars")?;
                    for (name, origin) in self.entry_origins(value) {
                        task.value_origins.insert(format!("vars.{name}"), origin);
                    }
                }
                "args" => {
                    extra_args = self.mapping(value, "args")?;
                    args_node = Some(value);
                }
                "tags" => task.tags = self.words(value, "tags")?,
                "notify" => task.notify = self.words(value, "notify")?,
                "listen" if handler => task.listen = self.words(value, "listen")?,
                "delegate_to" => {
                    task.delegate_to = Some(Value::String(self.string(value, "delegate_to")?));
                }
                "delegate_facts" => task.delegate_facts = Some(value.to_json()),
                "action" | "local_action" => {
                    if let Some((other, ..)) = &action {
                        return Err(self.conflict(key, other, "a task runs one module"));
                    }
                    if name == "local_action" {
                        task.delegate_to = Some(Value::String("localhost".into()));
                    }
                    action = Some((key, String::new(), value));
                }
                other => {
                    if let Some(short) = self.module_name(other) {
                        if let Some((first, ..)) = &action {
                            return Err(self.conflict(key, first, "a task runs one module"));
                        }
                        action = Some((key, short, value));
                    } else if TASK_LATER.contains(&other) || other.starts_with("with_") {
                        return Err(self.unknown_keyword(
                            key,
                            other,
                            "task",
                            TASK_SUPPORTED,
                            TASK_LATER,
                        ));
                    } else if let Some(module_key) = entries.iter().map(|(k, _)| k).find(|k| {
                        k.scalar_text()
                            .is_some_and(|t| self.module_name(&t).is_some() || t == "action")
                    }) {
                        // A task with its module and a key that is neither a keyword nor a module: ansible-core
                        // takes the key for a second action.
                        return Err(self.conflict(
                            key,
                            module_key,
                            "a task runs one module: this is neither a task keyword nor a module",
                        ));
                    } else {
                        return Err(self.unknown_module(key, other));
                    }
                }
            }
        }
        let Some((key, module, value)) = action else {
            return Err(self.invalid(
                node,
                "no module/action detected in task".into(),
                format!("name a module: {}", self.cx.modules.join(", ")),
            ));
        };
        task.value_origins.insert("action".into(), self.origin(key));
        let written = key.scalar_text().unwrap_or_default();
        let (written, module, args) = if module.is_empty() {
            self.action_form(value)?
        } else {
            let args = self.module_args(&module, value)?;
            (written, module, args)
        };
        task.written_action = written;
        task.action = module;
        task.args = args;
        if handler && task.action == "include_role" {
            return Err(self.invalid(
                node,
                "Using 'include_role' as a handler is not supported.".into(),
                "a handler may include tasks (`include_tasks`) or import a role's".to_string(),
            ));
        }
        // The `gather_facts` action runs the fact module, as the play's fact gathering does (`parallel` is
        // how it would run several fact modules; there is one).
        if task.action == "gather_facts" {
            task.action = "setup".into();
            task.args.remove("parallel");
        }
        for (k, v) in extra_args {
            task.args.entry(k).or_insert(v);
        }
        // Where each argument is written: its value in a mapping (`action:` and `args:` ones too), else the
        // whole `k=v` text.
        let arg_nodes = [Some(value), value.get("args"), args_node]
            .into_iter()
            .flatten()
            .filter_map(Node::as_map);
        for entries in arg_nodes {
            for (k, v) in entries {
                if let Some(name) = k.scalar_text() {
                    task.value_origins
                        .entry(format!("args.{name}"))
                        .or_insert_with(|| self.origin(v));
                    task.value_origins
                        .entry(format!("arg_names.{name}"))
                        .or_insert_with(|| self.origin(k));
                    if let NodeKind::Seq(items) = &v.kind {
                        for (i, item) in items.iter().enumerate() {
                            task.value_origins
                                .entry(format!("args.{name}.{i}"))
                                .or_insert_with(|| self.origin(item));
                        }
                    }
                }
            }
        }
        if value.as_map().is_none() {
            task.value_origins.insert("args".into(), self.origin(value));
        }
        Ok(task)
    }

    /// Where a node is written, with the lines before it, for error reports.
    fn origin(&self, node: &Node) -> Origin {
        Origin::new(&self.path, self.file, node.span)
    }

    /// Where each value of a mapping is written, by key.
    fn entry_origins(&self, node: &Node) -> Vec<(String, Origin)> {
        node.as_map()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.scalar_text()?, self.origin(v))))
            .collect()
    }

    /// Records where a keyword's value is written: the value, or each item of a list.
    fn record_origins(&self, task: &mut Task, keyword: &str, value: &Node) {
        match &value.kind {
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    task.value_origins
                        .insert(format!("{keyword}.{i}"), self.origin(item));
                }
            }
            _ => {
                task.value_origins
                    .insert(keyword.to_string(), self.origin(value));
            }
        }
    }

    fn loop_control(&self, node: &Node) -> Result<LoopControl, PlaybookError> {
        let mut control = LoopControl::default();
        let Some(entries) = node.as_map() else {
            return Err(self.invalid(
                node,
                "`loop_control` must be a mapping".into(),
                format!("found {}", node.describe()),
            ));
        };
        for (key, value) in entries {
            match key.scalar_text().unwrap_or_default().as_str() {
                "loop_var" => control.loop_var = self.string(value, "loop_var")?,
                "index_var" => control.index_var = Some(self.string(value, "index_var")?),
                "label" => control.label = Some(value.to_json()),
                "extended" => control.extended = boolean(value).unwrap_or(false),
                "pause" => {
                    control.pause = match &value.kind {
                        NodeKind::Int(i) => *i as f64,
                        NodeKind::Float(f) => *f,
                        _ => self.string(value, "pause")?.parse().map_err(|_| {
                            self.invalid(
                                value,
                                "`pause` must be a number of seconds".into(),
                                "expected a number",
                            )
                        })?,
                    }
                }
                "extended_allitems" => control.extended_allitems = boolean(value).unwrap_or(true),
                "break_when" => control.break_when = Some(value.to_json()),
                other => {
                    return Err(self.invalid(
                        key,
                        format!("'{other}' is not a valid attribute for a LoopControl"),
                        "expected one of: loop_var, index_var, label, extended, extended_allitems, pause, break_when",
                    ));
                }
            }
        }
        Ok(control)
    }

    /// `action: ping data=x` or `action: {module: ping, data: x}`.
    fn action_form(
        &self,
        value: &Node,
    ) -> Result<(String, String, Map<String, Value>), PlaybookError> {
        match &value.kind {
            NodeKind::Map(_) => {
                let mut args = self.mapping(value, "action")?;
                let Some(Value::String(written)) = args.remove("module") else {
                    return Err(self.invalid(
                        value,
                        "`action` needs a `module`".into(),
                        "add `module: NAME`",
                    ));
                };
                let short = self
                    .module_name(&written)
                    .ok_or_else(|| self.unknown_module(value, &written))?;
                Ok((written, short, args))
            }
            _ => {
                let text = self.string(value, "action")?;
                let (written, rest) = text
                    .trim()
                    .split_once(char::is_whitespace)
                    .unwrap_or((text.trim(), ""));
                let short = self
                    .module_name(written)
                    .ok_or_else(|| self.unknown_module(value, written))?;
                let args = args::parse_free_form(&short, rest.trim())
                    .map_err(|e| self.invalid(value, "malformed arguments".into(), e))?;
                Ok((written.to_string(), short, args))
            }
        }
    }

    fn module_args(&self, module: &str, value: &Node) -> Result<Map<String, Value>, PlaybookError> {
        match &value.kind {
            NodeKind::Null => Ok(Map::new()),
            NodeKind::Map(_) => self.mapping(value, module),
            NodeKind::Seq(_) => Err(self.invalid(
                value,
                format!("the arguments of `{module}` must be a mapping or a string"),
                "found a list",
            )),
            _ => {
                let text = value.scalar_text().unwrap_or_default();
                args::parse_free_form(module, &text)
                    .map_err(|e| self.invalid(value, "malformed arguments".into(), e))
            }
        }
    }

    /// The short name of a known module, accepting `ansible.builtin.` and `ansible.legacy.` names.
    fn module_name(&self, name: &str) -> Option<String> {
        let short = name
            .strip_prefix("ansible.builtin.")
            .or_else(|| name.strip_prefix("ansible.legacy."))
            .unwrap_or(name);
        self.cx
            .modules
            .iter()
            .any(|m| m == short)
            .then(|| short.to_string())
    }

    fn unknown_module(&self, node: &Node, name: &str) -> PlaybookError {
        let mut d = Diagnostic::new(format!("couldn't resolve module/action '{name}'"))
            .at(self.file, node.span)
            .label(format!("known modules: {}", self.cx.modules.join(", ")));
        let candidates = self
            .cx
            .modules
            .iter()
            .map(String::as_str)
            .chain(TASK_SUPPORTED.iter().copied());
        if let Some(close) = did_you_mean(name, candidates) {
            d = d.help(format!("did you mean `{close}`?"));
        }
        PlaybookError::Invalid(Box::new(d))
    }

    fn conflict(&self, key: &Node, first: &Node, label: &str) -> PlaybookError {
        self.invalid(
            key,
            format!(
                "conflicting action statements: {}, {}",
                first.scalar_text().unwrap_or_default(),
                key.scalar_text().unwrap_or_default()
            ),
            label,
        )
    }
}

/// Gives a task the keywords of the block around it (recursively, for blocks inside blocks).
fn inherit(child: &mut Task, block: &Task) {
    if let Some(cond) = &block.when {
        let mut all = match cond {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        // The conditions become one list, the block's first: their origins follow.
        let origins = |task: &Task, count: usize| -> Vec<Option<Origin>> {
            match task.value_origins.get("when") {
                Some(origin) => vec![Some(origin.clone())],
                None => (0..count)
                    .map(|i| task.value_origins.get(&format!("when.{i}")).cloned())
                    .collect(),
            }
        };
        let child_count = match &child.when {
            Some(Value::Array(items)) => items.len(),
            Some(_) => 1,
            None => 0,
        };
        let merged: Vec<Option<Origin>> = origins(block, all.len())
            .into_iter()
            .chain(origins(child, child_count))
            .collect();
        child
            .value_origins
            .retain(|k, _| k != "when" && !k.starts_with("when."));
        for (i, origin) in merged.into_iter().enumerate() {
            if let Some(origin) = origin {
                child.value_origins.insert(format!("when.{i}"), origin);
            }
        }
        match child.when.take() {
            Some(Value::Array(items)) => all.extend(items),
            Some(other) => all.push(other),
            None => {}
        }
        child.when = Some(Value::Array(all));
    }
    for tag in &block.tags {
        if !child.tags.contains(tag) {
            child.tags.push(tag.clone());
            child.inherited_tags.push(tag.clone());
        }
    }
    for (k, v) in &block.vars {
        if !child.vars.contains_key(k) {
            child.vars.insert(k.clone(), v.clone());
            if let Some(origin) = block.value_origins.get(&format!("vars.{k}")) {
                child
                    .value_origins
                    .insert(format!("vars.{k}"), origin.clone());
            }
        }
    }
    take_unset_keywords(child, block);
    if child.notify.is_empty() {
        child.notify.clone_from(&block.notify);
    }
    if child.any_errors_fatal.is_none() {
        child.any_errors_fatal = block.any_errors_fatal;
    }
    child.execution.inherit(&block.execution);
    // A block inside a block: its tasks already have the inner block's keywords; they get the outer's too.
    if let Some(inner) = child.block.as_mut() {
        for grandchild in inner
            .block
            .iter_mut()
            .chain(&mut inner.rescue)
            .chain(&mut inner.always)
        {
            inherit(grandchild, block);
        }
    }
}

/// The keywords a block or a play gives the tasks inside that do not set them: `ignore_errors`, `run_once`,
/// `no_log`, `throttle`, `delegate_to`, `delegate_facts`.
fn take_unset_keywords(child: &mut Task, outer: &Task) {
    for (mine, theirs) in [
        (&mut child.ignore_errors, &outer.ignore_errors),
        (&mut child.run_once, &outer.run_once),
        (&mut child.no_log, &outer.no_log),
        (&mut child.throttle, &outer.throttle),
        (&mut child.delegate_to, &outer.delegate_to),
        (&mut child.delegate_facts, &outer.delegate_facts),
    ] {
        if mine.is_none() {
            mine.clone_from(theirs);
        }
    }
}

/// Ansible's boolean reading of a YAML value (`yes`, `true`, `1`, ...).
pub fn boolean(node: &Node) -> Option<bool> {
    match &node.kind {
        NodeKind::Bool(b) => Some(*b),
        NodeKind::Int(i) => Some(*i != 0),
        NodeKind::Str { value, .. } => match value.to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" | "1" | "y" | "t" => Some(true),
            "no" | "off" | "false" | "0" | "n" | "f" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Reads and parses a playbook.
pub fn load(path: &Path, cx: &Arc<LoadContext>) -> Result<Playbook, PlaybookError> {
    let shown = path.display().to_string();
    let text = crate::vault::read_to_string(path).map_err(|e| {
        if crate::vault::is_vault_error(&e) {
            PlaybookError::Vault {
                path: shown.clone(),
                message: e.to_string(),
            }
        } else {
            PlaybookError::NotFound {
                path: shown.clone(),
            }
        }
    })?;
    if !path.is_file() {
        return Err(PlaybookError::NotFound { path: shown });
    }
    let file = SourceFile::new(shown, text);
    let dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let absolute =
        std::fs::canonicalize(path).map_or_else(|_| file.name.clone(), |p| p.display().to_string());
    let reading = Reading::top(ReadingKind::Playbook, Path::new(&absolute), &file.name);
    let imported = RefCell::new(Vec::new());
    parse_at(&file, cx, &absolute, &dir, &reading, &imported).map(|plays| Playbook {
        dir,
        file,
        plays,
        context: Arc::clone(cx),
        statically_imported: imported.into_inner(),
    })
}

/// Parses playbook text; roles are looked for beside the current directory.
pub fn parse(file: &Arc<SourceFile>, cx: &LoadContext) -> Result<Vec<Play>, PlaybookError> {
    let reading = Reading::top(ReadingKind::Playbook, Path::new(&file.name), &file.name);
    parse_at(
        file,
        cx,
        &file.name,
        Path::new("."),
        &reading,
        &RefCell::default(),
    )
}

fn parse_at(
    file: &Arc<SourceFile>,
    cx: &LoadContext,
    path: &str,
    playbook_dir: &Path,
    reading: &RefCell<Vec<Reading>>,
    imported: &RefCell<Vec<String>>,
) -> Result<Vec<Play>, PlaybookError> {
    let root = yaml::parse(file)?;
    let no_roles = RefCell::new(roles::PlayRoles::default());
    let loader = Loader {
        file,
        cx,
        path: path.to_string(),
        playbook_dir,
        roles: &no_roles,
        reading,
        imported,
    };
    match &root.kind {
        // ansible-core refuses a playbook with nothing in it (only `---`, comments, or nothing at all).
        NodeKind::Null => Err(PlaybookError::Invalid(Box::new(Diagnostic::new(format!(
            "Empty playbook, nothing to do: {path}"
        ))))),
        NodeKind::Seq(items) if items.is_empty() => Err(loader.invalid(
            &root,
            format!("A playbook must contain at least one play: {path}"),
            "an empty list",
        )),
        NodeKind::Seq(items) => {
            let mut plays = Vec::new();
            for item in items {
                // `- import_playbook: other.yml` splices that file's plays in here.
                match item
                    .get("import_playbook")
                    .or_else(|| item.get("ansible.builtin.import_playbook"))
                {
                    Some(file) => {
                        let name = import_playbook_name(&loader, item, file)?;
                        let (imported, imported_path) = loader.read_relative(file, &name)?;
                        let _reading = loader.enter(
                            file,
                            ReadingKind::Playbook,
                            Path::new(&imported_path),
                            imported.name.clone(),
                            false,
                        )?;
                        // The imported file's plays are in its directory: their roles/ and relative files are
                        // there, and so is their playbook_dir, as in ansible-core.
                        let imported_dir = Path::new(&imported_path)
                            .parent()
                            .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()))
                            .unwrap_or_else(|| playbook_dir.to_path_buf());
                        let mut imported_plays = parse_at(
                            &imported,
                            cx,
                            &imported_path,
                            &imported_dir,
                            reading,
                            loader.imported,
                        )?;
                        for play in &mut imported_plays {
                            play.imported_from
                                .get_or_insert_with(|| imported_dir.clone());
                        }
                        loader.import_keywords(item, &mut imported_plays)?;
                        plays.extend(imported_plays);
                    }
                    None => {
                        let play_roles = RefCell::new(roles::PlayRoles::default());
                        let play_loader = Loader {
                            roles: &play_roles,
                            path: path.to_string(),
                            ..loader
                        };
                        plays.push(play_loader.play(item)?);
                    }
                }
            }
            Ok(plays)
        }
        _ => Err(loader.invalid(
            &root,
            "a playbook must be a list of plays".into(),
            format!("found {}", root.describe()),
        )),
    }
}

/// The file an `import_playbook` names. A template is rendered, as ansible-core renders it while it reads
/// the playbook (before any play, host or fact), with the import's own `vars` and the magic `playbook_dir`
/// (the importing file's directory) above them.
fn import_playbook_name(
    loader: &Loader,
    item: &Node,
    file: &Node,
) -> Result<String, PlaybookError> {
    let name = loader.string(file, "import_playbook")?;
    if !crate::template::is_template(&name) {
        return Ok(name);
    }
    let mut vars = match item.get("vars") {
        Some(vars) => loader.mapping(vars, "vars")?,
        None => Map::new(),
    };
    let dir = Path::new(&loader.path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    vars.insert(
        "playbook_dir".into(),
        Value::String(dir.display().to_string()),
    );
    let templar = crate::template::Templar::new();
    match templar.render_str(&name, &crate::template::vars_map_to_jinja(&vars)) {
        Ok(Value::String(rendered)) => Ok(rendered),
        Ok(other) => Ok(crate::pyjson::python_str(&other)),
        Err(e) => Err(loader.invalid(
            file,
            format!("Error processing keyword 'import_playbook': {}", e.message),
            "rendered while the playbook is read: only the import's vars and playbook_dir are known",
        )),
    }
}

/// The tasks of a file `include_tasks` names, read when the include runs (they join `play`'s roles), and the
/// files they import, in order.
pub fn load_included_tasks(
    path: &Path,
    shown: &str,
    cx: &LoadContext,
    playbook_dir: &Path,
    play: &Play,
    handler: bool,
) -> Result<(Vec<Task>, Vec<String>), PlaybookError> {
    let text = crate::vault::read_to_string(path).map_err(|e| PlaybookError::NotFound {
        path: format!("{shown}: {e}"),
    })?;
    let file = SourceFile::new(shown, text);
    let root = yaml::parse(&file)?;
    let play_roles = RefCell::new(roles::PlayRoles::of(play));
    // What the included file imports must not lead back to it (the include itself may: it is read again
    // only when it runs again).
    let reading = Reading::top(ReadingKind::Tasks, path, shown);
    let imported = RefCell::new(Vec::new());
    let loader = Loader {
        file: &file,
        cx,
        path: path.display().to_string(),
        playbook_dir,
        roles: &play_roles,
        reading: &reading,
        imported: &imported,
    };
    let tasks = loader.task_list(&root, "include_tasks", handler)?;
    Ok((tasks, imported.into_inner()))
}

/// `apply:` of an `include_tasks`/`include_role`: its keywords (`tags`, `when`, `become`, ...) as those of a
/// block around the included tasks, given to each of them.
pub fn apply_keywords(
    apply: &Value,
    tasks: &mut [Task],
    cx: &LoadContext,
    playbook_dir: &Path,
    play: &Play,
) -> Result<(), PlaybookError> {
    let Value::Object(keywords) = apply else {
        return Err(PlaybookError::Invalid(Box::new(Diagnostic::new(format!(
            "apply must be a dictionary, received {}",
            crate::pyjson::python_str(apply)
        )))));
    };
    let mut block = keywords.clone();
    block.insert("block".into(), Value::Array(Vec::new()));
    // JSON is YAML: the keywords go through the parser as a block written in the include.
    let file = SourceFile::new(
        "<apply>",
        Value::Array(vec![Value::Object(block)]).to_string(),
    );
    let root = yaml::parse(&file)?;
    let play_roles = RefCell::new(roles::PlayRoles::of(play));
    let reading = RefCell::new(Vec::new());
    let imported = RefCell::new(Vec::new());
    let loader = Loader {
        file: &file,
        cx,
        path: "<apply>".into(),
        playbook_dir,
        roles: &play_roles,
        reading: &reading,
        imported: &imported,
    };
    let parsed = loader.task_list(&root, "apply", false)?;
    let Some(outer) = parsed.first() else {
        return Ok(());
    };
    for task in tasks {
        task.for_each_mut(&mut |t| {
            if t.block.is_none() {
                inherit(t, outer);
                t.execution.inherit(&outer.execution);
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MODULES: &[&str] = &["ping", "command", "shell", "debug", "setup"];

    fn cx() -> LoadContext {
        LoadContext {
            modules: MODULES.iter().map(|m| m.to_string()).collect(),
            roles_path: Vec::new(),
            play_defaults: PlayDefaults::default(),
        }
    }

    fn plays(text: &str) -> Result<Vec<Play>, PlaybookError> {
        parse(&SourceFile::new("play.yml", text), &cx())
    }

    #[test]
    fn a_playbook_without_plays_is_refused_as_ansible_refuses_it() {
        for text in ["", "---\n", "# nothing yet\n", "---\n...\n"] {
            let e = plays(text).expect_err("no plays");
            assert_eq!(e.exit_code(), 4);
            assert_eq!(e.to_string(), "Empty playbook, nothing to do: play.yml");
        }
        let e = plays("[]\n").expect_err("an empty list");
        assert_eq!(e.exit_code(), 4);
        assert!(
            e.to_string()
                .starts_with("A playbook must contain at least one play: play.yml\n"),
            "{e}"
        );
    }

    #[test]
    fn the_literal_example_parses() {
        let plays = plays("---\n- hosts: all\n\n  tasks:\n    - name: ping\n      action: ping\n")
            .expect("valid");
        assert_eq!(plays[0].hosts, "all");
        assert_eq!(plays[0].name, "all");
        assert!(plays[0].gather_facts);
        assert_eq!(plays[0].tasks[0].action, "ping");
        assert_eq!(plays[0].tasks[0].display_name(), "ping");
    }

    #[test]
    fn every_action_form_gives_the_same_task() {
        let text = concat!(
            "- hosts: all\n  tasks:\n",
            "    - ping: {data: x}\n",
            "    - ansible.builtin.ping: data=x\n",
            "    - action: ping data=x\n",
            "    - action: {module: ping, data: x}\n",
            "    - local_action: ping data=x\n",
        );
        let plays = plays(text).expect("valid");
        for task in &plays[0].tasks {
            assert_eq!(task.action, "ping");
            assert_eq!(Value::Object(task.args.clone()), json!({"data": "x"}));
        }
        assert_eq!(plays[0].tasks[4].delegate_to, Some(json!("localhost")));
        assert_eq!(plays[0].tasks[1].written_action, "ansible.builtin.ping");
    }

    #[test]
    fn unknown_modules_are_located_and_listed() {
        let err = plays("- hosts: all\n  tasks:\n    - pnig:\n").expect_err("unknown");
        let text = err.to_string();
        assert!(
            text.contains("couldn't resolve module/action 'pnig'"),
            "{text}"
        );
        assert!(text.contains("play.yml:3:7"), "{text}");
        assert!(text.contains("known modules: ping"), "{text}");
        assert!(text.contains("did you mean `ping`?"), "{text}");
    }

    #[test]
    fn unknown_play_keywords_are_located() {
        let err = plays("- hosts: all\n  hots: web\n").expect_err("unknown");
        let text = err.to_string();
        assert!(
            text.contains("'hots' is not a valid attribute for a Play"),
            "{text}"
        );
        assert!(text.contains("play.yml:2:3"), "{text}");
        let err = plays("- hosts: all\n  strategy: eager\n").expect_err("no such strategy");
        assert!(
            err.to_string()
                .contains("Invalid play strategy specified: eager"),
            "{err}"
        );
        let err = plays("- hosts: all\n  order: random\n").expect_err("no such order");
        assert!(
            err.to_string()
                .contains("'random' is not a valid value for the field 'order'"),
            "{err}"
        );
        let err = plays("- hosts: all\n  roles: [nosuch]\n").expect_err("missing role");
        let text = err.to_string();
        assert!(
            text.contains("the role 'nosuch' was not found in"),
            "{text}"
        );
        assert!(text.contains("play.yml:2:11"), "{text}");
    }

    #[test]
    fn plays_need_hosts_and_tasks_one_module() {
        assert!(plays("- name: x\n  tasks: []\n").is_err());
        let err =
            plays("- hosts: all\n  tasks:\n    - ping:\n      command: ls\n").expect_err("two");
        assert!(
            err.to_string().contains("conflicting action statements"),
            "{err}"
        );
    }

    #[test]
    fn reserved_names_are_sorted_for_their_search() {
        assert!(RESERVED_NAMES.windows(2).all(|w| w[0] < w[1]));
        assert!(RESERVED_NAMES.binary_search(&"q").is_ok());
        assert!(RESERVED_NAMES.binary_search(&"vars").is_err());
    }

    #[test]
    fn gather_facts_reads_yaml_1_1_booleans() {
        let plays = plays("- hosts: all\n  gather_facts: no\n").expect("valid");
        assert!(!plays[0].gather_facts);
    }

    #[test]
    fn execution_keywords_are_inherited_innermost_last() {
        let plays = plays(
            "- hosts: all\n  environment: {A: play}\n  timeout: 9\n  tasks:\n    - block:\n        - command: env\n          environment: {A: task}\n          check_mode: true\n      environment: {B: block}\n      timeout: 3\n",
        )
        .expect("valid");
        let block = plays[0].tasks[0].block.as_ref().expect("a block");
        let task = &block.block[0].execution;
        assert_eq!(
            task.environment,
            [
                json!({"A": "play"}),
                json!({"B": "block"}),
                json!({"A": "task"})
            ]
        );
        assert_eq!(task.timeout, Some(json!(3)));
        assert_eq!(task.check_mode, Some(json!(true)));
    }

    #[test]
    fn a_malformed_environment_is_located() {
        let err = plays("- hosts: all\n  tasks:\n    - command: env\n      environment: [1]\n")
            .expect_err("not a mapping");
        let text = err.to_string();
        assert!(
            text.contains("`environment` entries must be mappings"),
            "{text}"
        );
        assert!(text.contains("play.yml:4:21"), "{text}");
    }
}
