//! Roles: a directory of tasks, handlers, defaults, vars, files and templates, applied to a play by name from
//! `roles:`, `import_role` (both read now) or `include_role` (read when it runs), several times with different
//! parameters if need be.
//!
//! An application becomes a block of the role's tasks (its dependencies' first) whose tasks carry a
//! [`RoleScope`], from which the executor takes the role's variables at their places in Ansible's precedence.

use super::{
    Block, Execution, Loader, Play, PlaybookError, Reading, ReadingKind, TASK_LATER, Task, inherit,
};
use crate::diag::{Diagnostic, SourceFile};
use crate::yaml::{self, Node, NodeKind};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One application of a role, with what its tasks see.
#[derive(Debug, PartialEq)]
pub struct RoleScope {
    /// The role's name (`role_name`), shown before its tasks' names.
    pub name: String,
    /// Its directory (`role_path`).
    pub path: PathBuf,
    /// `defaults/main.yml`: below every other variable.
    pub defaults: Map<String, Value>,
    /// `vars/main.yml`: above the play's variables.
    pub vars: Map<String, Value>,
    /// `vars:` given where the role is applied: above `vars/main.yml`, and not seen by the rest of the play.
    pub invocation_vars: Map<String, Value>,
    /// Parameters given where the role is applied (`- role: x` then `key: value`): above registered values.
    pub params: Map<String, Value>,
    /// The roles of its `meta/main.yml` dependencies.
    pub dependencies: Vec<Arc<RoleScope>>,
}

impl RoleScope {
    /// This role's dependencies, theirs first, then the role itself.
    pub fn chain(self: &Arc<Self>) -> Vec<Arc<RoleScope>> {
        let mut chain = Vec::new();
        for dep in &self.dependencies {
            for role in dep.chain() {
                if !chain.iter().any(|r: &Arc<RoleScope>| Arc::ptr_eq(r, &role)) {
                    chain.push(role);
                }
            }
        }
        chain.push(Arc::clone(self));
        chain
    }
}

/// The roles of a play, gathered while it is read.
#[derive(Debug, Default)]
pub(super) struct PlayRoles {
    /// Every role applied statically, in order.
    pub scopes: Vec<Arc<RoleScope>>,
    /// Their handlers, in order.
    pub handlers: Vec<Task>,
    /// Keys of the applications made (see [`application_key`]).
    pub applied: Vec<String>,
}

impl PlayRoles {
    /// A play's roles as loaded, for an include read while the play runs.
    pub fn of(play: &Play) -> PlayRoles {
        PlayRoles {
            scopes: play.roles.clone(),
            handlers: Vec::new(),
            applied: play.applied_roles.clone(),
        }
    }
}

/// How a role is applied; roles from `roles:` and dependencies run once per set of parameters unless they
/// allow duplicates, while `import_role` and `include_role` always run (their own `allow_duplicates`
/// defaults to yes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Application {
    Play,
    Dependency,
    Import,
    Include,
}

/// A role application as written.
#[derive(Debug, Default)]
pub(super) struct RoleSpec {
    pub name: String,
    pub params: Map<String, Value>,
    pub vars: Map<String, Value>,
    pub tasks_from: Option<String>,
    pub vars_from: Option<String>,
    pub defaults_from: Option<String>,
    pub handlers_from: Option<String>,
    /// `when`, `tags`, `ignore_errors` given to every task of the role.
    pub keywords: Option<Task>,
}

/// A role read for `include_role`: its tasks and handlers.
#[derive(Debug)]
pub struct IncludedRole {
    /// The role's tasks (dependencies first), in one block.
    pub tasks: Vec<Task>,
    /// Its handlers, which join the play's.
    pub handlers: Vec<Task>,
    /// The role and its dependencies as applied, whose defaults and vars the rest of the play sees when the
    /// include is `public`.
    pub scopes: Vec<Arc<RoleScope>>,
    /// The role applications made so far in the play, this include's included: a dependency applied once
    /// is not applied again by a later include.
    pub applied: Vec<String>,
    /// The files its tasks' `import_tasks` read, in order.
    pub statically_imported: Vec<String>,
}

const ROLE_ENTRY_KEYWORDS: &[&str] = &["role", "name", "vars", "tags", "when", "ignore_errors"];
const ROLE_ARGS: &[&str] = &[
    "name",
    "tasks_from",
    "vars_from",
    "defaults_from",
    "handlers_from",
    "allow_duplicates",
    "public",
    "rolespec_validate",
];

impl Loader<'_> {
    /// The `roles:` section: each entry applied in order.
    pub(super) fn roles_section(&self, node: &Node) -> Result<Vec<Task>, PlaybookError> {
        let entries = match &node.kind {
            NodeKind::Null => return Ok(Vec::new()),
            NodeKind::Seq(items) => items,
            _ => {
                return Err(self.invalid(
                    node,
                    "`roles` must be a list of roles".into(),
                    format!("found {}", node.describe()),
                ));
            }
        };
        let mut tasks = Vec::new();
        for entry in entries {
            let spec = self.role_entry(entry)?;
            tasks.push(self.apply_role(entry, spec, Application::Play)?.1);
        }
        Ok(tasks)
    }

    /// An entry of `roles:` or of `dependencies:`: a name, or a mapping with `role:` (or `name:`), keywords,
    /// and the role's parameters.
    fn role_entry(&self, node: &Node) -> Result<RoleSpec, PlaybookError> {
        let mut spec = RoleSpec::default();
        let Some(entries) = node.as_map() else {
            spec.name = self.string(node, "role")?;
            return Ok(spec);
        };
        let mut keywords = Task::new("role", Map::new(), String::new());
        for (key, value) in entries {
            match key.scalar_text().unwrap_or_default().as_str() {
                "role" | "name" => spec.name = self.string(value, "role")?,
                "vars" => spec.vars = self.mapping(value, "vars")?,
                "tags" => keywords.tags = self.words(value, "tags")?,
                "when" => keywords.when = Some(value.to_json()),
                "ignore_errors" => keywords.ignore_errors = Some(value.to_json()),
                other if Execution::KEYWORDS.contains(&other) => {
                    self.execution_keyword(&mut keywords.execution, other, value)?
                }
                other if TASK_LATER.contains(&other) => {
                    return Err(self.unknown_keyword(
                        key,
                        other,
                        "role",
                        ROLE_ENTRY_KEYWORDS,
                        TASK_LATER,
                    ));
                }
                other => {
                    spec.params.insert(other.to_string(), value.to_json());
                }
            }
        }
        if spec.name.is_empty() {
            return Err(self.invalid(
                node,
                "role definitions must contain a role name".into(),
                "add `role: NAME`",
            ));
        }
        spec.keywords = Some(keywords);
        Ok(spec)
    }

    /// `import_role:` with `name`, `tasks_from`, ...: the role's tasks, read now.
    pub(super) fn import_role(
        &self,
        node: &Node,
        entries: &[(Node, Node)],
        args: &Node,
    ) -> Result<Task, PlaybookError> {
        let mut keywords = Task::new("role", Map::new(), String::new());
        let mut vars = Map::new();
        for (key, value) in entries {
            match key.scalar_text().unwrap_or_default().as_str() {
                "import_role" | "ansible.builtin.import_role" | "name" => {}
                "when" => keywords.when = Some(value.to_json()),
                "tags" => keywords.tags = self.words(value, "tags")?,
                "vars" => vars = self.mapping(value, "vars")?,
                "ignore_errors" => keywords.ignore_errors = Some(value.to_json()),
                other if Execution::KEYWORDS.contains(&other) => {
                    self.execution_keyword(&mut keywords.execution, other, value)?
                }
                other => {
                    return Err(self.unknown_keyword(
                        key,
                        other,
                        "import_role",
                        &[
                            "import_role",
                            "name",
                            "when",
                            "tags",
                            "vars",
                            "ignore_errors",
                        ],
                        TASK_LATER,
                    ));
                }
            }
        }
        let arguments = self.module_args("import_role", args)?;
        let mut spec = self.role_args(arguments, args)?;
        spec.vars = vars;
        spec.keywords = Some(keywords);
        Ok(self.apply_role(node, spec, Application::Import)?.1)
    }

    /// `name`, `tasks_from`, ... of `import_role`/`include_role`.
    fn role_args(&self, args: Map<String, Value>, at: &Node) -> Result<RoleSpec, PlaybookError> {
        let mut spec = RoleSpec::default();
        for (key, value) in args {
            let text = match &value {
                Value::String(s) => s.clone(),
                other => crate::pyjson::python_str(other),
            };
            match key.as_str() {
                "name" => spec.name = text,
                "tasks_from" => spec.tasks_from = Some(text),
                "vars_from" => spec.vars_from = Some(text),
                "defaults_from" => spec.defaults_from = Some(text),
                "handlers_from" => spec.handlers_from = Some(text),
                "allow_duplicates" | "public" | "rolespec_validate" | "apply" => {}
                other => {
                    return Err(self.invalid(
                        at,
                        format!("Invalid options for import_role/include_role: {other}"),
                        format!("expected one of: {}", ROLE_ARGS.join(", ")),
                    ));
                }
            }
        }
        if spec.name.is_empty() {
            return Err(self.invalid(
                at,
                "'name' is a required field for import_role/include_role".into(),
                "add `name: ROLE`",
            ));
        }
        Ok(spec)
    }

    /// Reads a role and gives its scope, and its tasks as one block (marked a duplicate when this application
    /// was made before and the role does not allow duplicates).
    fn apply_role(
        &self,
        at: &Node,
        spec: RoleSpec,
        how: Application,
    ) -> Result<(Arc<RoleScope>, Task), PlaybookError> {
        let path = self.find_role(at, &spec.name)?;
        let meta = self.read_role_yaml(at, &path, "meta", None)?;
        let allow_duplicates = meta
            .as_ref()
            .and_then(|(_, node)| node.get("allow_duplicates"))
            .and_then(super::boolean)
            .unwrap_or(false);
        let key = application_key(&path, &spec, how);
        let repeated = self.roles.borrow().applied.contains(&key);
        let runs = !repeated
            || allow_duplicates
            || matches!(how, Application::Import | Application::Include);
        if !repeated {
            self.roles.borrow_mut().applied.push(key);
        }

        let mut dependencies = Vec::new();
        let mut dependency_tasks = Vec::new();
        if let Some((meta_loader_file, meta_root)) = &meta
            && let Some(deps) = meta_root.get("dependencies")
        {
            // A dependency that leads back to this role would be read without end (a role may still
            // appear twice in the tree side by side: diamonds, allow_duplicates).
            let _reading = self.enter(
                at,
                ReadingKind::RoleDependencies,
                &path,
                spec.name.clone(),
                true,
            )?;
            let meta_loader = Loader {
                file: &meta_loader_file.0,
                path: meta_loader_file.1.clone(),
                ..*self
            };
            let items = match &deps.kind {
                NodeKind::Seq(items) => items.as_slice(),
                NodeKind::Null => &[],
                _ => {
                    return Err(meta_loader.invalid(
                        deps,
                        "`dependencies` must be a list of roles".into(),
                        format!("found {}", deps.describe()),
                    ));
                }
            };
            for dep in items {
                let dep_spec = meta_loader.role_entry(dep)?;
                let (scope, task) =
                    meta_loader.apply_role(dep, dep_spec, Application::Dependency)?;
                dependencies.push(scope);
                dependency_tasks.push(task);
            }
        }

        let map_of =
            |dir: &str, from: &Option<String>| -> Result<Map<String, Value>, PlaybookError> {
                match self.read_role_yaml(at, &path, dir, from.as_deref())? {
                    None => Ok(Map::new()),
                    Some(((file, _), node)) => match node.to_json() {
                        Value::Object(map) => Ok(map),
                        Value::Null => Ok(Map::new()),
                        _ => Err(PlaybookError::Invalid(Box::new(
                            Diagnostic::new(format!(
                                "{dir} file of role {} must be a mapping",
                                spec.name
                            ))
                            .at(&file, node.span)
                            .label(format!("found {}", node.describe())),
                        ))),
                    },
                }
            };
        let name = Path::new(&spec.name)
            .file_name()
            .map_or_else(|| spec.name.clone(), |n| n.to_string_lossy().into_owned());
        let scope = Arc::new(RoleScope {
            name,
            defaults: map_of("defaults", &spec.defaults_from)?,
            vars: map_of("vars", &spec.vars_from)?,
            invocation_vars: spec.vars.clone(),
            params: spec.params.clone(),
            dependencies,
            path: path.clone(),
        });
        if how != Application::Include {
            self.roles.borrow_mut().scopes.push(Arc::clone(&scope));
        }

        let mut tasks = dependency_tasks;
        tasks.extend(self.role_tasks(at, &scope, "tasks", spec.tasks_from.as_deref())?);
        let handlers = self.role_tasks(at, &scope, "handlers", spec.handlers_from.as_deref())?;
        self.roles.borrow_mut().handlers.extend(handlers);
        let mut block = Task::new(
            "role",
            Map::new(),
            format!("{}:{}:{}", self.file.name, at.span.line, at.span.col),
        );
        if let Some(keywords) = &spec.keywords {
            for task in &mut tasks {
                inherit(task, keywords);
            }
        }
        block.block = Some(Box::new(Block {
            block: tasks,
            ..Block::default()
        }));
        block.duplicate = !runs;
        Ok((scope, block))
    }

    /// The tasks (or handlers) of a role's `DIR/main.yml` (or `DIR/FROM`), each belonging to the role.
    fn role_tasks(
        &self,
        at: &Node,
        scope: &Arc<RoleScope>,
        dir: &str,
        from: Option<&str>,
    ) -> Result<Vec<Task>, PlaybookError> {
        let Some(((file, file_path), root)) = self.read_role_yaml(at, &scope.path, dir, from)?
        else {
            return Ok(Vec::new());
        };
        let file_name = Path::new(&file_path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _reading = self.enter(
            at,
            ReadingKind::Tasks,
            Path::new(&file_path),
            format!("{}/{dir}/{file_name}", scope.name),
            true,
        )?;
        let loader = Loader {
            file: &file,
            path: file_path,
            ..*self
        };
        let mut tasks = loader.task_list(&root, dir, dir == "handlers")?;
        for task in &mut tasks {
            task.for_each_mut(&mut |t| {
                if t.role.is_none() {
                    t.role = Some(Arc::clone(scope));
                }
            });
        }
        Ok(tasks)
    }

    /// The role's directory: `roles/NAME` beside the playbook, then `roles_path`, then the playbook's
    /// directory, as Ansible searches.
    fn find_role(&self, at: &Node, name: &str) -> Result<PathBuf, PlaybookError> {
        let given = Path::new(name);
        let mut searched = vec![self.playbook_dir.join("roles")];
        searched.extend(self.cx.roles_path.iter().cloned());
        searched.push(self.playbook_dir.to_path_buf());
        let candidates: Vec<PathBuf> = if given.is_absolute() {
            vec![given.to_path_buf()]
        } else {
            searched.iter().map(|dir| dir.join(given)).collect()
        };
        for candidate in candidates {
            if candidate.is_dir() {
                return Ok(std::fs::canonicalize(&candidate).unwrap_or(candidate));
            }
        }
        let shown: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
        Err(self.failed(
            at,
            format!("the role '{name}' was not found in {}", shown.join(":")),
            "no directory of that name in the roles path",
        ))
    }

    /// `DIR/main.yml` of a role (or `DIR/FROM`), parsed; `None` when the role has none (an error when `FROM`
    /// was asked for).
    #[allow(clippy::type_complexity)]
    fn read_role_yaml(
        &self,
        at: &Node,
        role: &Path,
        dir: &str,
        from: Option<&str>,
    ) -> Result<Option<((Arc<SourceFile>, String), Node)>, PlaybookError> {
        let stem = from.unwrap_or("main");
        let names = [
            stem.to_string(),
            format!("{stem}.yml"),
            format!("{stem}.yaml"),
            format!("{stem}.json"),
        ];
        let found = names
            .iter()
            .map(|n| role.join(dir).join(n))
            .find(|p| p.is_file());
        let Some(path) = found else {
            if let Some(from) = from {
                return Err(self.invalid(
                    at,
                    format!("Could not find specified file in role: {dir}/{from}"),
                    format!("looked in {}", role.join(dir).display()),
                ));
            }
            return Ok(None);
        };
        let text = crate::vault::read_to_string(&path).map_err(|e| {
            self.invalid(
                at,
                format!("Could not read {}", path.display()),
                e.to_string(),
            )
        })?;
        let shown = path.display().to_string();
        let file = SourceFile::new(shown.clone(), text);
        let root = yaml::parse(&file)?;
        Ok(Some(((file, shown), root)))
    }
}

/// What makes two applications of a role the same: the role, its parameters and variables, the files asked
/// for, and (for `include_role`) being dynamic; dependencies count as `roles:` entries.
fn application_key(path: &Path, spec: &RoleSpec, how: Application) -> String {
    let kind = match how {
        Application::Play | Application::Dependency => "static",
        Application::Import => "import",
        Application::Include => "include",
    };
    let keywords = spec
        .keywords
        .as_ref()
        .map(|k| (k.when.clone(), k.tags.clone()))
        .unwrap_or_default();
    format!(
        "{kind}|{}|{}|{}|{:?}|{:?}",
        path.display(),
        Value::Object(spec.params.clone()),
        Value::Object(spec.vars.clone()),
        (
            &spec.tasks_from,
            &spec.vars_from,
            &spec.defaults_from,
            &spec.handlers_from
        ),
        keywords
    )
}

/// The role `include_role` names, read when the include runs; `args` are its rendered arguments.
pub fn load_included_role(
    args: Map<String, Value>,
    vars: Map<String, Value>,
    location: &str,
    cx: &super::LoadContext,
    playbook_dir: &Path,
    play: &Play,
    applied: &[String],
) -> Result<IncludedRole, PlaybookError> {
    let file = SourceFile::new(location, String::new());
    let at = Node {
        kind: NodeKind::Null,
        span: crate::diag::Span::new(1, 1, 1),
    };
    let mut roles = PlayRoles::of(play);
    roles.applied.extend(applied.iter().cloned());
    let play_roles = std::cell::RefCell::new(roles);
    let reading = std::cell::RefCell::new(Vec::<Reading>::new());
    let imported = std::cell::RefCell::new(Vec::new());
    let loader = Loader {
        file: &file,
        cx,
        path: location.to_string(),
        playbook_dir,
        roles: &play_roles,
        reading: &reading,
        imported: &imported,
    };
    let mut spec = loader.role_args(args, &at)?;
    spec.vars = vars;
    let (_, task) = loader.apply_role(&at, spec, Application::Include)?;
    let mut scopes: Vec<Arc<RoleScope>> = Vec::new();
    task.for_each(&mut |t| {
        if let Some(role) = &t.role
            && !scopes.iter().any(|s| Arc::ptr_eq(s, role))
        {
            scopes.push(Arc::clone(role));
        }
    });
    let gathered = play_roles.take();
    Ok(IncludedRole {
        tasks: vec![task],
        handlers: gathered.handlers,
        scopes,
        applied: gathered.applied,
        statically_imported: imported.into_inner(),
    })
}
