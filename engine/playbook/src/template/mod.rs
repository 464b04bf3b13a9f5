//! Jinja templating as Ansible does it, on minijinja: strict undefined variables, native types for a value that
//! is one expression, Ansible's `when` rules, and Ansible's filters, tests and lookups.
//!
//! minijinja has Jinja's own filters; Ansible's (`filters.rs`, `collections.rs`), its tests (`tests.rs`) and its
//! lookups (`lookups.rs`, `password.rs`) are written here because no crate has them with Ansible's behaviour.
//! Nothing here needs the controller's runtime (no tokio, no SSH), so the runner can link it later to run whole
//! plays on the host; the lookups that touch files or run commands use only `std`.

#[cfg(test)]
mod cases;
mod collections;
mod filters;
mod fqcn;
mod ini;
mod jsonerror;
mod lookups;
mod math;
mod methods;
mod missing;
pub use collections::{cartesian, zip_longest};
pub(crate) use filters::normpath;
pub use lookups::{LOOKUP_NAMES, WITH_LOOKUP, fileglob, subelements_lookup};
mod password;
mod paths;
mod percent;
mod pyformat;
mod pyrandom;
mod pyset;
mod re;
mod re_error;
mod syntax;
mod tests;
mod text;
pub mod time;
mod timedelta;
pub(crate) mod yaml_dump;

use minijinja::value::Value as JValue;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use syntax::Kind;

/// A template that failed: the template text and why.
#[derive(Debug, Clone, Default, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// What went wrong, with the undefined variable named when that is the cause.
    pub message: String,
    /// The template text.
    pub template: String,
    /// When the error is that of a variable that could not be rendered, the variable whose own written
    /// value failed (the innermost of a chain): error reports show where it is written.
    pub at: Option<String>,
    /// The cause is a variable or attribute that is not defined.
    pub undefined: bool,
    /// A conditional whose result is not a boolean, which ansible-core 2.19 refuses.
    pub broken: Option<Box<BrokenConditional>>,
}

/// A conditional that gave something else than a boolean: what it would have meant, and where it came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BrokenConditional {
    /// Its truth as Python's `bool()` has it.
    pub truth: bool,
    /// The Python type of the result (`str`, `int`, `NoneType`).
    pub type_name: String,
    /// The variable the whole conditional is, whose written value is where the result comes from.
    pub variable: Option<String>,
    /// The conditional is no expression at all (a number, a mapping).
    pub not_text: bool,
}

impl BrokenConditional {
    /// ansible-core's message, `at` being where the value comes from (`path:line:col`, `<unknown>`).
    pub fn message(&self, at: &str) -> String {
        if self.not_text {
            return "Conditional expressions must be strings.".into();
        }
        format!(
            "Conditional result ({}) was derived from value of type '{}' at '{at}'. Conditionals must have a boolean result.",
            if self.truth { "True" } else { "False" },
            self.type_name
        )
    }
}

/// What ansible-core says after a broken conditional's report.
pub const BROKEN_CONDITIONAL_HELP: &str = "Broken conditionals can be temporarily allowed with the `ALLOW_BROKEN_CONDITIONALS` configuration option.";

/// The Jinja environment with Ansible's behaviour.
pub struct Templar {
    env: Environment<'static>,
}

impl Default for Templar {
    fn default() -> Self {
        Templar::new()
    }
}

impl Templar {
    /// An environment with strict undefined handling and the Ansible filters and tests.
    pub fn new() -> Templar {
        Templar {
            env: environment(true),
        }
    }

    /// Renders every string inside `value` (keys are left alone), keeping native types for one-expression strings.
    pub fn render_value(&self, value: &Value, vars: &JValue) -> Result<Value, TemplateError> {
        if unsafe_text(value).is_some() {
            return Ok(value.clone());
        }
        Ok(match value {
            Value::String(s) => self.render_str(s, vars)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_value(v, vars))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.render_value(v, vars)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Renders one string. `"{{ expr }}"` alone gives the expression's native value, as Ansible does.
    /// Renders text for display, as ansible-core renders a task's name for its banner: each `{{ }}` that
    /// cannot be rendered shows as `<< error N - why >>` (the whole text, when it does not parse), and the
    /// reasons are returned to be warned about.
    pub fn render_shown(&self, text: &str, vars: &JValue) -> (String, Vec<String>) {
        let whole = match self.render_str(text, vars) {
            Ok(value) => return (crate::pyjson::python_str(&value), Vec::new()),
            Err(e) => e.message,
        };
        if whole.starts_with("Syntax error") || text.contains("{%") {
            return (format!("<< error 1 - {whole} >>"), vec![whole]);
        }
        let mut shown = String::new();
        let mut errors = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            shown.push_str(&rest[..open]);
            let end = rest[open..].find("}}").map_or(rest.len(), |e| open + e + 2);
            match self.render_str(&rest[open..end], vars) {
                Ok(value) => shown.push_str(&crate::pyjson::python_str(&value)),
                Err(e) => {
                    errors.push(e.message);
                    shown.push_str(&format!(
                        "<< error {} - {} >>",
                        errors.len(),
                        errors[errors.len() - 1]
                    ));
                }
            }
            rest = &rest[end..];
        }
        shown.push_str(rest);
        (shown, errors)
    }

    pub fn render_str(&self, text: &str, vars: &JValue) -> Result<Value, TemplateError> {
        if !is_template(text) {
            return Ok(Value::String(text.to_string()));
        }
        self.render_text(text, vars, true)
            .map_err(|e| TemplateError {
                template: text.to_string(),
                ..e
            })
    }

    /// A template file's text rendered as the `template` lookup renders it: as [`Templar::render_str`], but
    /// backslashes are Jinja's to read (not escaped first, as they are in a YAML value).
    pub(super) fn render_file(&self, text: &str, vars: &JValue) -> Result<Value, TemplateError> {
        self.render_text(text, vars, false)
    }

    /// As ansible-core's engine: Jinja drops the template's last line break (so `{{ list }}` followed by one
    /// is still the list), and a text result gets back the line breaks it lost.
    fn render_text(&self, text: &str, vars: &JValue, escape: bool) -> Result<Value, TemplateError> {
        let body = text.strip_suffix('\n').unwrap_or(text);
        self.render_body(body, vars, escape)
            .map(|rendered| with_trailing_newlines(text, rendered))
    }

    /// A template for the lookup's own environment (`trim_blocks` as it is asked).
    pub(super) fn with_trim_blocks(trim_blocks: bool) -> Templar {
        Templar {
            env: environment(trim_blocks),
        }
    }

    fn render_body(&self, text: &str, vars: &JValue, escape: bool) -> Result<Value, TemplateError> {
        let escaped = if escape {
            escape_backslashes(text)
        } else {
            text.into()
        };
        let escaped = fqcn::in_text(&escaped);
        let escaped = percent::in_template(&escaped);
        if let Some(expr) = self.single_expression(&escaped) {
            return self
                .evaluate(expr, vars, Some(&escaped))
                .map_err(|e| TemplateError {
                    template: text.to_string(),
                    ..e
                });
        }
        let render = || self.env.render_str(&escaped, vars.clone());
        if !escaped.contains("{%") {
            return render()
                .map(Value::String)
                .map_err(|e| self.error(text, &e, vars, Kind::Template));
        }
        // Ansible 2.19 keeps the native value of a template whose whole output is one expression's value,
        // statements around it or not (`{% set n = 1 %}{{ n + 1 }}` is the number 2).
        let (rendered, emitted) = capture_emitted(render);
        let rendered = rendered.map_err(|e| self.error(text, &e, vars, Kind::Template))?;
        if let [only] = emitted.as_slice()
            && written(only) == rendered
            && let Ok(native) = to_json(only)
        {
            return Ok(native);
        }
        Ok(Value::String(rendered))
    }

    /// The variables the templates inside `value` refer to (by name; what they read through `vars[...]` or a
    /// lookup is not seen).
    pub fn referenced(&self, value: &Value) -> std::collections::HashSet<String> {
        let mut names = std::collections::HashSet::new();
        let mut walk = vec![value];
        while let Some(value) = walk.pop() {
            match value {
                Value::String(text) if is_template(text) => {
                    let escaped = escape_backslashes(text);
                    let prepared = percent::in_template(&fqcn::in_text(&escaped)).into_owned();
                    if let Ok(t) = self.env.template_from_str(&prepared) {
                        names.extend(t.undeclared_variables(false));
                    }
                }
                Value::Array(items) => walk.extend(items),
                Value::Object(map) if unsafe_text(value).is_none() => walk.extend(map.values()),
                _ => {}
            }
        }
        names
    }

    /// The expression of a template that is exactly one `{{ expr }}`. `}}` inside it (`{{ {'a': {'b': 1}} }}`)
    /// is fine when the whole compiles as one expression; `{{ a }} and {{ b }}` does not.
    fn single_expression<'t>(&self, text: &'t str) -> Option<&'t str> {
        let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
        if inner.contains("{%") || inner.contains("{#") {
            return None;
        }
        let simple = !inner.contains("{{") && !inner.contains("}}");
        (simple || self.env.compile_expression(inner).is_ok()).then_some(inner.trim())
    }

    /// Evaluates a bare Jinja expression to a JSON value.
    pub fn eval(&self, expr: &str, vars: &JValue) -> Result<Value, TemplateError> {
        self.evaluate(expr, vars, None)
    }

    /// Evaluates an expression: a bare one, or the one `{{ }}` of `template`, whose errors are then the
    /// template's (a syntax error is reported in the words Jinja has for the whole template).
    fn evaluate(
        &self,
        expr: &str,
        vars: &JValue,
        template: Option<&str>,
    ) -> Result<Value, TemplateError> {
        let kind = match template {
            Some(_) => Kind::Template,
            None => Kind::Expression,
        };
        let short = fqcn::in_expression(expr);
        let source = percent::in_expression(&short);
        let compiled = self.env.compile_expression(&source).map_err(|e| {
            match template.map(|t| self.env.template_from_str(t).map(|_| ())) {
                Some(Err(whole)) => self.error(expr, &whole, vars, kind),
                _ => self.error(expr, &e, vars, kind),
            }
        })?;
        let names = |nested: bool| compiled.undeclared_variables(nested);
        let value = compiled.eval(vars.clone()).map_err(|e| {
            let mut err = self.error(expr, &e, vars, kind);
            if e.kind() == ErrorKind::UndefinedError
                && let Some(name) = self.first_undefined_path(&names, vars, expr)
            {
                (err.message, err.at) = undefined_path_cause(&name, vars);
            }
            err
        })?;
        if value.is_undefined() {
            let (message, at) = match self.first_undefined_path(&names, vars, expr) {
                Some(name) => undefined_path_cause(&name, vars),
                None => (
                    self.missing_or(expr, vars, "the expression is undefined"),
                    None,
                ),
            };
            return Err(TemplateError {
                message,
                template: expr.to_string(),
                at,
                undefined: true,
                ..TemplateError::default()
            });
        }
        to_json(&value).map_err(|message| TemplateError {
            message: match message == UNDEFINED_INSIDE {
                true => self.missing_or(expr, vars, UNDEFINED_INSIDE),
                false => message,
            },
            template: expr.to_string(),
            ..TemplateError::default()
        })
    }

    /// Evaluates a `when`/`that` condition as Ansible does: a bare expression, templated first when it holds
    /// `{{ }}` (which Ansible warns about), true by Jinja's truthiness.
    /// Its result must be a boolean, as ansible-core 2.19 requires ("Conditionals must have a boolean result").
    pub fn condition(&self, cond: &Value, vars: &JValue) -> Result<bool, TemplateError> {
        let broken = |value: &Value, variable: Option<String>, not_text: bool| {
            let broken = BrokenConditional {
                truth: truthy(value),
                type_name: crate::pyjson::python_type_name(value).to_string(),
                variable,
                not_text,
            };
            Err(TemplateError {
                message: broken.message("<unknown>"),
                template: cond.to_string(),
                broken: Some(Box::new(broken)),
                ..TemplateError::default()
            })
        };
        let boolean = |value: Value, variable: Option<String>| match value {
            Value::Bool(b) => Ok(b),
            other => broken(&other, variable, false),
        };
        match cond {
            Value::Bool(b) => Ok(*b),
            Value::Null => Ok(true),
            Value::Number(_) | Value::Object(_) => broken(cond, None, true),
            Value::String(text) => {
                let text = text.trim();
                let expr = if is_template(text) {
                    match self.render_str(text, vars)? {
                        Value::String(s) => s,
                        other => return boolean(other, None),
                    }
                } else {
                    text.to_string()
                };
                if expr.is_empty() {
                    return Ok(true);
                }
                // A conditional that is one variable's name: the value comes from where that is written.
                let name = expr.trim();
                let literal = matches!(name, "true" | "false" | "True" | "False" | "none" | "None");
                let variable = (is_identifier(name) && !literal).then(|| name.to_string());
                boolean(self.eval(&expr, vars)?, variable)
            }
            Value::Array(items) => {
                for item in items {
                    if !self.condition(item, vars)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    /// Which of `names` the variables do not define is the one that failed: the first written in `source`
    /// where nothing guards it (`| default(...)`, `is defined`), then the first written, then by name. The
    /// environment's functions (`lookup`, `range`) are not variables.
    fn first_undefined(
        &self,
        names: &std::collections::HashSet<String>,
        vars: &JValue,
        source: &str,
    ) -> Option<String> {
        let sorted: BTreeSet<&String> = names.iter().collect();
        sorted
            .into_iter()
            .filter(|name| {
                self.env
                    .globals()
                    .all(|(global, _)| global != name.as_str())
            })
            .filter(|name| resolve_path(name, vars).is_none())
            .min_by_key(|name| {
                let places = written_at(source, name);
                let unguarded = places
                    .iter()
                    .find(|at| !guarded(&source[**at + name.len()..]));
                (
                    unguarded.is_none(),
                    unguarded.or(places.first()).copied().unwrap_or(usize::MAX),
                )
            })
            .cloned()
    }

    /// Ansible's words for the first lookup of `text` that finds nothing, or `otherwise`.
    fn missing_or(&self, text: &str, vars: &JValue, otherwise: &str) -> String {
        let eval = |code: &str| {
            let short = fqcn::in_expression(code);
            let source = percent::in_expression(&short);
            let compiled = self.env.compile_expression(&source).ok()?;
            compiled.eval(vars.clone()).ok()
        };
        missing::first_missing(text, &eval).unwrap_or_else(|| otherwise.to_string())
    }

    /// The first undefined of the template's variables and their attribute paths (`a.b.c`).
    fn first_undefined_path(
        &self,
        names: &dyn Fn(bool) -> HashSet<String>,
        vars: &JValue,
        source: &str,
    ) -> Option<String> {
        self.first_undefined(&names(true), vars, source)
            .or_else(|| self.first_undefined(&names(false), vars, source))
    }

    /// A minijinja error in Ansible's words; `kind` says whether the text was a template or an expression.
    fn error(
        &self,
        template: &str,
        e: &minijinja::Error,
        vars: &JValue,
        kind: Kind,
    ) -> TemplateError {
        let mut at = None;
        let mut message = match e.kind() {
            ErrorKind::UndefinedError => {
                match self.env.template_from_str(template).ok().and_then(|t| {
                    self.first_undefined_path(
                        &|nested| t.undeclared_variables(nested),
                        vars,
                        template,
                    )
                }) {
                    Some(name) => {
                        let (message, cause) = undefined_path_cause(&name, vars);
                        at = cause;
                        message
                    }
                    None => {
                        self.missing_or(template, vars, e.detail().unwrap_or("undefined value"))
                    }
                }
            }
            ErrorKind::SyntaxError => {
                syntax::message(e.template_source().unwrap_or(template), e, kind)
            }
            // A function no one defined is an undefined variable that is called, to Jinja.
            ErrorKind::UnknownFunction => {
                match e.detail().and_then(|d| d.strip_suffix(" is unknown")) {
                    Some(name) => format!("'{name}' is undefined"),
                    None => e.to_string(),
                }
            }
            // Jinja knows its filters and tests when it compiles a template: an unknown one is a syntax error.
            ErrorKind::UnknownFilter | ErrorKind::UnknownTest => {
                let what = match e.kind() {
                    ErrorKind::UnknownFilter => "filter",
                    _ => "test",
                };
                let name = e
                    .detail()
                    .and_then(|d| d.strip_prefix(what))
                    .and_then(|d| d.strip_suffix("is unknown"))
                    .map_or("", str::trim);
                syntax::unparsable(kind, &format!("No {what} named '{name}'."))
            }
            // An operation on an undefined lookup (`d.k.nope + 1`) is that lookup's error to ansible-core.
            _ if e.detail().is_some_and(|d| d.contains(" is undefined")) => {
                let detail = e.detail().unwrap_or_default();
                self.missing_or(template, vars, detail)
            }
            _ => {
                let detail = if e.detail() == Some(filters::MANDATORY_UNNAMED) {
                    mandatory_message(e, vars)
                } else {
                    e.detail()
                        .map_or_else(|| e.kind().to_string(), str::to_string)
                };
                match failed_plugin(e) {
                    Some(plugin) => format!("{plugin} failed: {detail}"),
                    None => detail,
                }
            }
        };
        if message.is_empty() {
            message = e.to_string();
        }
        TemplateError {
            message,
            template: template.to_string(),
            at,
            undefined: e.kind() == ErrorKind::UndefinedError,
            broken: None,
        }
    }
}

/// Whether a name is a valid variable name (a letter or `_`, then letters, digits and `_`).
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `mandatory`'s failure on an undefined value, naming the variable as Ansible does.
fn mandatory_message(e: &minijinja::Error, vars: &JValue) -> String {
    match mandatory_operand(e, vars) {
        Some(name) => format!("Mandatory variable '{name}' not defined."),
        None => filters::MANDATORY_UNNAMED.to_string(),
    }
}

/// The filter or test whose call raised `e` (`The filter plugin 'ansible.builtin.combine'`), as ansible-core
/// names a plugin that failed. minijinja's error spans the failing call from the plugin's name on, which
/// follows a `|` for a filter and `is` (or `is not`) for a test; an error from the operand or the arguments
/// spans those instead. A failure to look up a variable is no plugin's.
fn failed_plugin(e: &minijinja::Error) -> Option<String> {
    if matches!(
        e.kind(),
        ErrorKind::UndefinedError | ErrorKind::OutOfFuel | ErrorKind::UnknownMethod
    ) {
        return None;
    }
    let (source, range) = (e.template_source()?, e.range()?);
    let name: String = source
        .get(range.start..)?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    if name.is_empty() {
        return None;
    }
    let before = source.get(..range.start)?.trim_end();
    let kind = if before.ends_with('|') {
        "filter"
    } else if before
        .strip_suffix("not")
        .unwrap_or(before)
        .trim_end()
        .strip_suffix("is")
        .is_some_and(|b| b.ends_with(|c: char| !c.is_alphanumeric() && c != '_'))
    {
        "test"
    } else {
        return None;
    };
    Some(format!("The {kind} plugin '{}'", qualified(&name)))
}

/// A plugin's fully qualified name: the collection it comes from, and the name.
fn qualified(name: &str) -> String {
    if name.contains('.') {
        return name.to_string();
    }
    let collection = match name {
        "json_query" => "community.general",
        _ => "ansible.builtin",
    };
    format!("{collection}.{name}")
}

/// The name of what `mandatory` found undefined. The filter cannot see what it was applied to, so the operand
/// is read from the source before the failing `| mandatory` (the error's range is the filter's): a variable
/// and its `.key`/`['key']`/`[0]` steps. The name is the first step that is undefined (`x` of `x.y` when `x`
/// is, `y` when `x` is defined and lacks it), as Ansible's undefined values carry it. `None` for an operand
/// that is not such a path (`(a or b) | mandatory`).
fn mandatory_operand(e: &minijinja::Error, vars: &JValue) -> Option<String> {
    static OPERAND: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"([A-Za-z_]\w*)((?:\s*\.\s*\w+|\s*\[\s*(?:'[^']*'|"[^"]*"|-?\d+)\s*\])*)\s*$"#,
        )
        .ok()
    });
    static STEP: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"\.\s*(\w+)|\[\s*(?:'([^']*)'|"([^"]*)"|(-?\d+))\s*\]"#).ok()
    });
    let (source, range) = (e.template_source()?, e.range()?);
    let before = source.get(..range.start)?.trim_end().strip_suffix('|')?;
    let operand = OPERAND.as_ref()?.captures(before)?;
    let root = operand.get(1)?.as_str();
    let mut value = vars.get_attr(root).unwrap_or_default();
    if value.is_undefined() {
        return Some(root.to_string());
    }
    let mut last = root;
    for step in STEP.as_ref()?.captures_iter(operand.get(2)?.as_str()) {
        let key = match (step.get(1).or(step.get(2)).or(step.get(3)), step.get(4)) {
            (Some(text), _) => {
                last = text.as_str();
                JValue::from(last)
            }
            (None, Some(index)) => {
                last = index.as_str();
                JValue::from(last.parse::<i64>().ok()?)
            }
            (None, None) => return None,
        };
        value = value.get_item(&key).unwrap_or_default();
        if value.is_undefined() {
            return Some(last.to_string());
        }
    }
    // All of it is defined in the variables: the operand is a local (`{% set %}`, a loop variable) of the same
    // name, which lacks its last step.
    Some(last.to_string())
}

/// Where a name (or an attribute path) is written in template text, as a whole word.
fn written_at(source: &str, name: &str) -> Vec<usize> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    source
        .match_indices(name)
        .filter(|(at, _)| {
            let before = source[..*at].chars().next_back();
            let after = source[at + name.len()..].chars().next();
            !before.is_some_and(|c| word(c) || c == '.') && !after.is_some_and(word)
        })
        .map(|(at, _)| at)
        .collect()
}

/// Whether what follows a use of a variable guards it against being undefined: `| default(...)`, `| d(...)`,
/// `is defined`, `is undefined`.
fn guarded(after: &str) -> bool {
    let rest = after.trim_start();
    if let Some(filter) = rest.strip_prefix('|') {
        let filter = filter.trim_start();
        let name: String = filter
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        return matches!(name.rsplit('.').next(), Some("default" | "d"));
    }
    let Some(test) = rest.strip_prefix("is ") else {
        return false;
    };
    let test = test.trim_start();
    let test = test.strip_prefix("not ").map_or(test, str::trim_start);
    test.starts_with("defined") || test.starts_with("undefined")
}

/// Whether a value is the `omit` placeholder, which Ansible's tests and `type_debug` see as an object of its
/// own type (`_OmitType`) rather than as the string it is here.
fn is_omit(value: &JValue) -> bool {
    value.as_str() == Some(crate::executor::OMIT)
}

/// A JSON value as a Jinja value, with the Python values it keeps marked restored (`!unsafe` strings, keys
/// that are not strings, infinite floats, dates: see `typed`).
pub fn to_jinja(value: &Value) -> JValue {
    JValue::from(minijinja::value::Serde(&Plain(value)))
}

/// The variable that maps the variables whose templates refer back to themselves to `true` (set by
/// `vars::merge`).
pub const RECURSIVE: &str = "__playbook_recursive";

/// A variable that stands for the variables of a vault-encrypted `group_vars`/`host_vars` file no secret
/// opened; its value is the error. A host that has it cannot run tasks: the run stops, as in ansible-core.
pub const VAULT_FILE: &str = "__playbook_vault_file";

/// The variable that maps the variables whose templates cannot be rendered to `{"template": ..., "error":
/// ...}` (set by `vars::merge`).
pub const UNRENDERED: &str = "__playbook_unrendered";

/// The key of a `!vault` value that could not be decrypted, as Ansible's JSON shows it
/// (`{"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256..."}`).
pub const VAULT_KEY: &str = "__ansible_vault";

/// The variable that maps the variables whose value is a vault value no secret opened to that value (set by
/// `vars::merge`): using one is the decryption's error.
pub const VAULTED: &str = "__playbook_vaulted";

/// The vault text of a value that could not be decrypted.
pub fn vault_text(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(VAULT_KEY)?.as_str(),
        _ => None,
    }
}

/// The first vault value no secret opened inside a value.
pub fn find_vault(value: &Value) -> Option<&str> {
    if let Some(text) = vault_text(value) {
        return Some(text);
    }
    match value {
        Value::Object(map) => map.values().find_map(find_vault),
        Value::Array(items) => items.iter().find_map(find_vault),
        _ => None,
    }
}

/// Why an undecrypted vault value cannot be used: what decrypting it says now, in ansible-core's words.
pub fn vault_error(text: &str) -> String {
    let why = match crate::vault::keyring().decrypt_text(text.as_bytes()) {
        Err(e) => e.to_string(),
        Ok(_) => "the vault value could not be decrypted".into(),
    };
    format!("Attempt to use undecryptable variable: {why}")
}

/// The key of a value written `!unsafe`, as Ansible's JSON shows it (`{"__ansible_unsafe": "{{ x }}"}`): it is
/// never templated, and templates that use it see the plain string.
pub const UNSAFE_KEY: &str = "__ansible_unsafe";

/// The text of an `!unsafe` value.
pub fn unsafe_text(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(UNSAFE_KEY)?.as_str(),
        _ => None,
    }
}

/// Variables as a Jinja value: `!unsafe` values as their plain strings.
pub fn vars_map_to_jinja(vars: &serde_json::Map<String, Value>) -> JValue {
    struct PlainMap<'a>(&'a serde_json::Map<String, Value>);
    impl serde::Serialize for PlainMap<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut out = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0 {
                out.serialize_entry(k, &Plain(v))?;
            }
            out.end()
        }
    }
    JValue::from(minijinja::value::Serde(&PlainMap(vars)))
}

/// A value serialized with `!unsafe` values as their plain strings.
struct Plain<'a>(&'a Value);

/// A variable's value as a Jinja value (the same as [`to_jinja`]).
pub fn vars_to_jinja(value: &Value) -> JValue {
    to_jinja(value)
}

impl serde::Serialize for Plain<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        if let Some(text) = unsafe_text(self.0) {
            return s.serialize_str(text);
        }
        if let Some(f) = crate::typed::special_float(self.0) {
            return s.serialize_f64(f);
        }
        if let Some(i) = crate::typed::big_int(self.0) {
            return s.serialize_i128(i);
        }
        if let Some(stamp) = crate::typed::Stamp::from_json(self.0) {
            // A Jinja value serializes itself as a handle when minijinja is the serializer, as here.
            return JValue::from_object(time::Moment(stamp)).serialize(s);
        }
        match self.0 {
            Value::Object(map) => {
                let mut out = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    if crate::typed::is_typed_key(k) {
                        out.serialize_entry(&Plain(&crate::typed::key_value(k)), &Plain(v))?;
                    } else {
                        out.serialize_entry(k, &Plain(v))?;
                    }
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Plain(item))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Marks the strings of a rendered value that hold template delimiters `!unsafe`, so that what was data
/// (a command's output that went into `add_host`) is never rendered as a template later.
pub fn mark_unsafe(value: Value) -> Value {
    if unsafe_text(&value).is_some() {
        return value;
    }
    match value {
        Value::String(s) if is_template(&s) => serde_json::json!({ UNSAFE_KEY: s }),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, mark_unsafe(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(mark_unsafe).collect()),
        other => other,
    }
}

/// A rendered value as actions and modules take it: `!unsafe` values become their plain strings.
pub fn strip_unsafe(value: Value) -> Value {
    if let Some(text) = unsafe_text(&value) {
        return Value::String(text.to_string());
    }
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, strip_unsafe(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(strip_unsafe).collect()),
        other => other,
    }
}

/// Whether a string needs templating at all.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Why a variable the context lacks cannot be used, when it was set but is recursive, vaulted with no secret
/// that opens it, or unrenderable; `None` when it was never set.
pub fn unusable(name: &str, vars: &JValue) -> Option<String> {
    let message = undefined_message(name, vars);
    (message != format!("'{name}' is undefined")).then_some(message)
}

/// The value at an attribute path (`a.b.c`) of the variables; `None` where a step is undefined. A last step
/// that names a Python method of the value (`d.keys` of `d.keys()`) is the method, which is defined.
fn resolve_path(path: &str, vars: &JValue) -> Option<JValue> {
    const METHODS: &[&str] = &[
        "append",
        "capitalize",
        "copy",
        "count",
        "endswith",
        "extend",
        "find",
        "format",
        "get",
        "index",
        "insert",
        "isalnum",
        "isalpha",
        "isdigit",
        "islower",
        "isspace",
        "isupper",
        "items",
        "join",
        "keys",
        "lower",
        "lstrip",
        "partition",
        "pop",
        "remove",
        "replace",
        "reverse",
        "rfind",
        "rpartition",
        "rsplit",
        "rstrip",
        "setdefault",
        "sort",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "update",
        "upper",
        "values",
        "zfill",
    ];
    let mut value = vars.clone();
    let segments: Vec<&str> = path.split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        match value.get_attr(segment).ok().filter(|v| !v.is_undefined()) {
            Some(next) => value = next,
            None if i > 0 && i + 1 == segments.len() && METHODS.contains(segment) => {
                return Some(value);
            }
            None => return None,
        }
    }
    Some(value)
}

/// ansible-core's words for an attribute (or item) `key` a value of Python type `kind` lacks.
pub(super) fn no_attribute(kind: &str, key: &JValue) -> String {
    format!(
        "object of type '{kind}' has no attribute {}",
        filters::py_repr(key)
    )
}

/// Why an attribute path cannot be used, as Ansible says it: the reason of its variable when that is
/// undefined, else the first attribute a defined value lacks.
fn undefined_path_cause(path: &str, vars: &JValue) -> (String, Option<String>) {
    let mut segments = path.split('.');
    let root = segments.next().unwrap_or(path);
    let Some(mut value) = resolve_path(root, vars) else {
        return undefined_cause(root, vars);
    };
    for (n, segment) in segments.enumerate() {
        match value.get_attr(segment).ok().filter(|v| !v.is_undefined()) {
            Some(next) => value = next,
            // `hostvars` names a host it lacks; each host's variables are ansible-core's `HostVarsVars`.
            None if root == "hostvars" && n == 0 => {
                return (format!("hostvars['{segment}']"), None);
            }
            None => {
                let kind = match (root, n) {
                    ("hostvars", 1) => "HostVarsVars",
                    _ => pyformat::type_name(&value),
                };
                return (no_attribute(kind, &JValue::from(segment)), None);
            }
        }
    }
    undefined_cause(path, vars)
}

/// `undefined_message`, and the variable whose written value is the cause when one could not be rendered.
fn undefined_cause(name: &str, vars: &JValue) -> (String, Option<String>) {
    let recursive = vars
        .get_attr(RECURSIVE)
        .ok()
        .and_then(|list| list.get_attr(name).ok())
        .is_some_and(|entry| !entry.is_undefined());
    if recursive {
        return (RECURSION.to_string(), Some(name.to_string()));
    }
    let at = vars
        .get_attr(UNRENDERED)
        .ok()
        .and_then(|list| list.get_attr(name).ok())
        .filter(|entry| !entry.is_undefined())
        .map(|entry| {
            entry
                .get_attr("at")
                .ok()
                .and_then(|at| at.as_str().map(String::from))
                .unwrap_or_else(|| name.to_string())
        });
    (undefined_message(name, vars), at)
}

/// What ansible-core says of a variable whose template refers back to itself (Python's recursion limit).
pub const RECURSION: &str = "Recursive loop detected in template: maximum recursion depth exceeded";

/// Why a variable is undefined: it is not set, its template refers back to itself, it is a vault value no
/// secret opened, or it could not be rendered.
fn undefined_message(name: &str, vars: &JValue) -> String {
    let listed = |list: &str| {
        vars.get_attr(list)
            .ok()
            .and_then(|list| list.get_attr(name).ok())
            .filter(|v| !v.is_undefined())
    };
    if listed(RECURSIVE).is_some() {
        return RECURSION.to_string();
    }
    if let Some(text) = listed(VAULTED) {
        return vault_error(text.as_str().unwrap_or_default());
    }
    if let Some(entry) = listed(UNRENDERED)
        && let Ok(why) = entry.get_attr("error")
    {
        return why.as_str().unwrap_or_default().to_string();
    }
    format!("'{name}' is undefined")
}

/// Ansible's `boolean()` of a keyword's value: `true`/`yes`/`on`/`1`/`y`/`t` and their opposites, any case;
/// `None` for anything else.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" | "1" | "y" | "t" | "1.0" => Some(true),
            "no" | "off" | "false" | "0" | "n" | "f" | "0.0" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

/// Adds one of Ansible's filters. A value given to it that is undefined fails as it does in ansible-core (whose
/// undefined marker fails on use): minijinja's strict mode only refuses one that is printed, iterated or
/// converted, and our filters take any value. `default`, `mandatory` and `type_debug` are added without this,
/// as they look at undefined values on purpose.
pub(crate) fn add_filter<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: minijinja::functions::Function<Rv, Args>,
    Rv: minijinja::value::FunctionResult,
    Args: for<'a> minijinja::value::FunctionArgs<'a>,
{
    let inner = JValue::from_function(f);
    env.add_filter(
        name,
        move |state: &mut minijinja::State,
              args: minijinja::value::Rest<minijinja::value::ValueOrKwargs>| {
            if args.first().is_some_and(|v| v.is_undefined()) {
                return Err(minijinja::Error::new(
                    ErrorKind::UndefinedError,
                    "undefined value",
                ));
            }
            let args: Vec<JValue> = args.0.into_iter().map(JValue::from).collect();
            inner.call(state, &args)
        },
    );
}

/// ansible-core's `preserve_trailing_newlines`: a text result ends with as many line breaks as its template.
fn with_trailing_newlines(template: &str, rendered: Value) -> Value {
    let count = |s: &str| s.len() - s.trim_end_matches('\n').len();
    match rendered {
        Value::String(mut text) => {
            let missing = count(template).saturating_sub(count(&text));
            text.push_str(&"\n".repeat(missing));
            Value::String(text)
        }
        other => other,
    }
}

/// Jinja truthiness of a JSON value.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Why a value holding an undefined one (`[d.nope]`) cannot be a result, when no lookup names the cause.
const UNDEFINED_INSIDE: &str = "the value holds an undefined value";

fn to_json(value: &JValue) -> Result<Value, String> {
    if value.is_undefined() {
        return Err("the expression is undefined".into());
    }
    from_jinja(value).map_err(|e| match e == UNDEFINED_INSIDE {
        true => e,
        false => format!("cannot convert template result: {e}"),
    })
}

/// A Jinja value as JSON, the Python values JSON lacks marked (keys that are not strings, infinite floats,
/// dates: see `typed`).
pub fn from_jinja(value: &JValue) -> Result<Value, String> {
    use minijinja::value::ValueKind;
    Ok(match value.kind() {
        // As in ansible-core, a result cannot hold an undefined value.
        ValueKind::Undefined => return Err(UNDEFINED_INSIDE.into()),
        ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(value.is_true()),
        // Floats with no fraction convert to integers, so the kind decides.
        ValueKind::Number if value.is_integer() => match i128::try_from(value.clone()) {
            Ok(i) => crate::typed::int(i),
            Err(_) => serde_json::to_value(value).map_err(|e| e.to_string())?,
        },
        ValueKind::Number => crate::typed::float(f64::try_from(value.clone()).unwrap_or(f64::NAN)),
        ValueKind::String => Value::String(value.as_str().unwrap_or_default().to_string()),
        ValueKind::Seq | ValueKind::Iterable => Value::Array(
            value
                .try_iter()
                .map_err(|e| e.to_string())?
                .map(|item| from_jinja(&item))
                .collect::<Result<_, _>>()?,
        ),
        ValueKind::Map => {
            let mut map = serde_json::Map::new();
            for key in value.try_iter().map_err(|e| e.to_string())? {
                let item = value.get_item(&key).map_err(|e| e.to_string())?;
                let text = match key.as_str() {
                    Some(text) => text.to_string(),
                    None => crate::typed::key(&from_jinja(&key)?),
                };
                map.insert(text, from_jinja(&item)?);
            }
            Value::Object(map)
        }
        _ => match value.downcast_object_ref::<time::Moment>() {
            Some(moment) => moment.0.to_json(),
            None if value
                .downcast_object_ref::<timedelta::TimeDelta>()
                .is_some() =>
            {
                return Err("Type 'timedelta' is unsupported for variable storage.".into());
            }
            None => serde_json::to_value(value).map_err(|e| e.to_string())?,
        },
    })
}

/// A Jinja value as JSON, for filters that work on plain data.
fn jvalue_to_json(value: &JValue) -> Result<Value, minijinja::Error> {
    from_jinja(value).map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))
}

/// An error a filter, test or lookup reports, in Ansible's words.
fn invalid(message: impl Into<String>) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, message.into())
}

/// Ansible pre-escapes backslashes in the string constants of `{{ }}` blocks (its `escape_backslashes`, on for
/// templates from YAML), so `'\d'` in a playbook reaches the filter as `\d`, not as an escape sequence. `{% %}`
/// blocks and bare conditionals keep Jinja's escapes. We rewrite each such constant so minijinja decodes it to
/// its raw text.
fn escape_backslashes(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\\') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open + 2]);
        rest = &rest[open + 2..];
        // Inside the expression up to its `}}`, rewriting string constants.
        let mut chars = rest.char_indices().peekable();
        let mut end = rest.len();
        while let Some((i, c)) = chars.next() {
            if c == '}' && rest[i..].starts_with("}}") {
                end = i;
                break;
            }
            if c != '\'' && c != '"' {
                out.push(c);
                continue;
            }
            let quote = c;
            let mut content = String::new();
            let mut closed = false;
            while let Some((_, d)) = chars.next() {
                if d == quote {
                    closed = true;
                    break;
                }
                content.push(d);
                if d == '\\'
                    && let Some((_, e)) = chars.next()
                {
                    content.push(e);
                }
            }
            out.push(quote);
            for d in content.chars() {
                if d == '\\' || d == quote {
                    out.push('\\');
                }
                out.push(d);
            }
            if closed {
                out.push(quote);
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.into()
}

/// A Jinja environment with Ansible's settings: strict undefined, trailing newlines kept, a fuel limit, and
/// Ansible's filters, tests and lookups. `trim_blocks` is on, as ansible-core's environment sets it (the newline
/// after a block tag is dropped); the `template` lookup may turn it off.
fn environment(trim_blocks: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    minijinja::value::set_object_operator(timedelta::operate);
    env.set_debug(true);
    // Ansible keeps a value's trailing newline when it templates variables.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .trim_blocks(trim_blocks)
        .build()
    {
        env.set_syntax(syntax);
    }
    // A runaway template (a loop over range(10**9)) fails the task instead of hanging the run.
    env.set_fuel(Some(50_000_000));
    env.set_unknown_method_callback(methods::call);
    // Ansible 2.19 writes a None that a template outputs as nothing (`{{ none }}-x` is `-x`).
    env.set_formatter(|out, state, value| {
        EMITTED.with(|emitted| {
            if let Some(list) = emitted.borrow_mut().as_mut() {
                list.push(value.clone());
            }
        });
        if value.is_none() || is_omit(value) || is_python_text(value) {
            out.write_str(&written(value))
                .map_err(minijinja::Error::from)
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    register(&mut env);
    env
}

fn register(env: &mut Environment<'static>) {
    env.add_function(percent::FUNCTION, percent::evaluate);
    filters::register(env);
    re::register(env);
    text::register(env);
    collections::register(env);
    tests::register(env);
    lookups::register(env);
    time::register(env);
    paths::register(env);
    math::register(env);
    env.add_function("dict", python_dict);
    env.add_function("lipsum", minijinja_contrib::globals::lipsum);
    env.add_function("cycler", minijinja_contrib::globals::cycler);
    env.add_function("joiner", minijinja_contrib::globals::joiner);
}

/// How a template writes a value out: None as nothing (Ansible 2.19), `omit` as nothing (Ansible drops it
/// from a template's output), a sequence (a tuple too, which Ansible finalizes into a list) as Python's list,
/// anything else as itself.
/// Whether a value is written as Python writes it rather than as minijinja does: lists, mappings (`{1:
/// datetime.date(2001, 12, 14)}`) and floats (`nan`, `1e+16`).
fn is_python_text(value: &JValue) -> bool {
    match value.kind() {
        minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Map => true,
        minijinja::value::ValueKind::Number => !value.is_integer(),
        _ => false,
    }
}

fn written(value: &JValue) -> String {
    if value.is_none() || is_omit(value) {
        String::new()
    } else if is_python_text(value) {
        filters::py_repr(value)
    } else {
        value.to_string()
    }
}

thread_local! {
    /// The values a render writes out (`{{ }}`), while `capture_emitted` listens.
    static EMITTED: std::cell::RefCell<Option<Vec<JValue>>> = const { std::cell::RefCell::new(None) };
}

/// Runs a render and gives the values it wrote out with its result.
fn capture_emitted<T>(render: impl FnOnce() -> T) -> (T, Vec<JValue>) {
    let outer = EMITTED.with(|e| e.borrow_mut().replace(Vec::new()));
    let result = render();
    let emitted = EMITTED.with(|e| std::mem::replace(&mut *e.borrow_mut(), outer));
    (result, emitted.unwrap_or_default())
}

/// Python's `dict(...)`: from a mapping or pairs (`dict(keys | zip(values))`), then keyword arguments.
fn python_dict(
    from: Option<JValue>,
    kwargs: minijinja::value::Kwargs,
) -> Result<JValue, minijinja::Error> {
    let mut out = serde_json::Map::new();
    if let Some(from) = from {
        match from.kind() {
            minijinja::value::ValueKind::Map => {
                for key in from.try_iter()? {
                    let value = from.get_item(&key)?;
                    out.insert(filters::py_str(&key), jvalue_to_json(&value)?);
                }
            }
            _ => {
                for pair in from.try_iter()? {
                    let parts: Vec<JValue> = pair.try_iter()?.collect();
                    let [key, value] = parts.as_slice() else {
                        return Err(invalid(format!(
                            "dictionary update sequence element has length {}; 2 is required",
                            parts.len()
                        )));
                    };
                    out.insert(filters::py_str(key), jvalue_to_json(value)?);
                }
            }
        }
    }
    for name in kwargs.args() {
        let value: JValue = kwargs.get(name)?;
        out.insert(name.to_string(), jvalue_to_json(&value)?);
    }
    Ok(to_jinja(&Value::Object(out)))
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> JValue {
        to_jinja(&v)
    }

    #[test]
    fn one_expression_keeps_native_types() {
        let t = Templar::new();
        let ctx = vars(json!({"n": 3, "l": [1, 2]}));
        assert_eq!(t.render_str("{{ n + 1 }}", &ctx).expect("ok"), json!(4));
        assert_eq!(t.render_str("{{ l }}", &ctx).expect("ok"), json!([1, 2]));
        assert_eq!(t.render_str("n={{ n }}", &ctx).expect("ok"), json!("n=3"));
        assert_eq!(t.render_str("plain", &ctx).expect("ok"), json!("plain"));
    }

    #[test]
    fn undefined_variables_are_named() {
        let t = Templar::new();
        let ctx = vars(json!({"a": 1}));
        let err = t.render_str("{{ missing }}", &ctx).expect_err("undefined");
        assert_eq!(err.message, "'missing' is undefined");
        let err = t
            .render_str("x {{ a }} {{ nope }}", &ctx)
            .expect_err("undefined");
        assert_eq!(err.message, "'nope' is undefined");
        assert_eq!(
            t.render_str("{{ missing | default('d') }}", &ctx)
                .expect("ok"),
            json!("d")
        );
        assert_eq!(
            t.render_str("{{ missing | d(5) }}", &ctx).expect("ok"),
            json!(5)
        );
    }

    #[test]
    fn mandatory_names_what_is_undefined() {
        let t = Templar::new();
        let ctx = vars(json!({"d": {"a": 1}}));
        let message = |template: &str| t.render_str(template, &ctx).expect_err("fails").message;
        let prefix = "The filter plugin 'ansible.builtin.mandatory' failed: ";
        assert_eq!(
            message("{{ nope | mandatory('custom') }}"),
            format!("{prefix}custom")
        );
        assert_eq!(
            message("x {{ nope | mandatory }}"),
            format!("{prefix}Mandatory variable 'nope' not defined.")
        );
        assert_eq!(
            message("{{ d.b | mandatory }}"),
            format!("{prefix}Mandatory variable 'b' not defined.")
        );
        assert_eq!(
            message("{{ d['c'] | mandatory }}"),
            format!("{prefix}Mandatory variable 'c' not defined.")
        );
    }

    #[test]
    fn syntax_errors_in_jinjas_words() {
        let t = Templar::new();
        let ctx = vars(json!({}));
        let cases = [
            (
                "{{ x ",
                "unexpected end of template, expected 'end of print statement'.",
            ),
            (
                "{% if x %}a",
                "Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
            ),
            (
                "{% for x in y %}{% if x %}{% endfor %}",
                "Encountered unknown tag 'endfor'. You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
            ),
            (
                "{% set x %}abc",
                "Unexpected end of template. Jinja was looking for the following tags: 'endset'. The innermost block that needs to be closed is 'set'.",
            ),
            (
                "{% set x = 1 %}{% endif %}",
                "Encountered unknown tag 'endif'.",
            ),
            (
                "{{ x | }}",
                "expected token 'name', got 'end of print statement'",
            ),
            ("a {{ 1 + }} b", "unexpected 'end of print statement'"),
            ("{{ x ! y }}", "unexpected char '!' at 5"),
            ("{{ 'abc }}", "unexpected char \"'\" at 3"),
            ("{{ (1 }}", "unexpected '}', expected ')'"),
            (
                "{{ }}",
                "Expected an expression, got 'end of print statement'",
            ),
            (
                "{% if %}x{% endif %}",
                "Expected an expression, got 'end of statement block'",
            ),
            ("{{ 1 + ", "unexpected 'end of template'"),
            (
                "{{ x y }}",
                "expected token 'end of print statement', got 'y'",
            ),
            ("{# abc", "Missing end of comment tag"),
            ("{% raw %}abc", "Missing end of raw directive"),
            ("{% break %}", "Encountered unknown tag 'break'."),
            ("{{ 1 | nope_filter }}", "No filter named 'nope_filter'."),
        ];
        for (template, reason) in cases {
            let err = t.render_str(template, &ctx).expect_err(template);
            assert_eq!(
                err.message,
                format!("Syntax error in template: {reason}"),
                "{template}"
            );
        }
        let err = t.condition(&json!("x ="), &ctx).expect_err("chunk");
        assert_eq!(
            err.message,
            "Syntax error in expression: chunk after expression"
        );
    }

    #[test]
    fn failing_plugins_are_named() {
        let t = Templar::new();
        let ctx = vars(json!({"n": "x"}));
        let message = |template: &str| t.render_str(template, &ctx).expect_err(template).message;
        assert_eq!(
            message("{{ n | human_to_bytes }}"),
            "The filter plugin 'ansible.builtin.human_to_bytes' failed: human_to_bytes() can't interpret the input: human_to_bytes() can't interpret following string: x"
        );
        assert!(message("a {{ '1' is not version('1', 'x') }}").starts_with(
            "The test plugin 'ansible.builtin.version' failed: Invalid operator type (x)."
        ));
        // An error in an argument is not the filter's.
        assert_eq!(
            message("{{ n | default(lookup('nope')) }}"),
            "The lookup plugin 'nope' was not found."
        );
    }

    #[test]
    fn conditions_follow_ansible() {
        let t = Templar::new();
        let ctx = vars(json!({"x": 2, "r": {"failed": false, "changed": true}}));
        assert!(t.condition(&json!("x == 2"), &ctx).expect("ok"));
        assert!(!t.condition(&json!(["x == 2", "x > 5"]), &ctx).expect("ok"));
        assert!(t.condition(&json!("r is changed"), &ctx).expect("ok"));
        assert!(t.condition(&json!("r is succeeded"), &ctx).expect("ok"));
        assert!(!t.condition(&json!("r is failed"), &ctx).expect("ok"));
        assert!(t.condition(&json!("{{ x == 2 }}"), &ctx).expect("ok"));
        assert!(t.condition(&json!("y is not defined"), &ctx).expect("ok"));
        assert!(t.condition(&json!(true), &ctx).expect("ok"));
    }

    #[test]
    fn ansible_filters() {
        let t = Templar::new();
        let ctx = vars(json!({"d": {"b": 1, "a": [true]}, "s": "yes"}));
        assert_eq!(
            t.render_str("{{ s | bool }}", &ctx).expect("ok"),
            json!(true)
        );
        assert_eq!(
            t.render_str("{{ d | to_json }}", &ctx).expect("ok"),
            json!(r#"{"b": 1, "a": [true]}"#)
        );
        assert_eq!(
            t.render_str(
                "{{ '/a/b.txt' | basename }}-{{ '/a/b.txt' | dirname }}",
                &ctx
            )
            .expect("ok"),
            json!("b.txt-/a")
        );
    }
}
