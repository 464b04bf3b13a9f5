//! The module author's side of the `playbook:module` WIT world (`modules-wasm/wit/`).
//!
//! A module is a type implementing [`Module`]: it describes what it needs and turns typed arguments into an
//! Ansible-shaped JSON result. [`module!`] wires it to the component exports. Arguments are deserialized with
//! serde; a module's `Args` should use `#[serde(deny_unknown_fields)]` so a misspelt argument fails the task
//! the way Ansible's "Unsupported parameters" does.
//!
//! ```ignore
//! struct Ping;
//! impl playbook_module_sdk::Module for Ping {
//!     type Args = PingArgs;
//!     fn describe() -> Description { .. }
//!     fn run(args: PingArgs, ctx: &Context) -> Result<Outcome, Failure> { .. }
//! }
//! playbook_module_sdk::module!(Ping);
//! ```
#![deny(missing_docs)]

/// Bindings generated from the WIT contract; the runner's side reads the same files.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "module",
        pub_export_macro: true,
        default_bindings_module: "playbook_module_sdk::bindings",
        generate_all,
    });
}

pub use bindings::playbook::host::{exec, system};
pub use bindings::playbook::module::types::{Capability, Description, Request};
pub use serde_json::{Map, Value, json};

pub mod path;
pub mod text;
pub mod time;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a module sees of its invocation besides its arguments.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Report what would change, change nothing (nothing that writes is granted anyway).
    pub check_mode: bool,
    /// Report a diff of what changes.
    pub diff: bool,
}

/// A successful result: Ansible's `changed` plus the module's own keys.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Whether the module changed something.
    pub changed: bool,
    /// The module's other result keys.
    pub values: Map<String, Value>,
}

impl Outcome {
    /// An unchanged result.
    pub fn unchanged() -> Outcome {
        Outcome::default()
    }

    /// A changed result.
    pub fn changed() -> Outcome {
        Outcome {
            changed: true,
            values: Map::new(),
        }
    }

    /// Adds a result key.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Outcome {
        self.values.insert(key.to_string(), value.into());
        self
    }
}

/// A failed result: Ansible's `failed: true` with a message and any other keys.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Why the module failed.
    pub msg: String,
    /// Other result keys (`rc`, `stdout`, ...).
    pub values: Map<String, Value>,
}

impl Failure {
    /// A failure with a message.
    pub fn new(msg: impl Into<String>) -> Failure {
        Failure {
            msg: msg.into(),
            values: Map::new(),
        }
    }

    /// Adds a result key.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Failure {
        self.values.insert(key.to_string(), value.into());
        self
    }
}

/// A module.
pub trait Module {
    /// The module's arguments. Serialized back, with their defaults, they are the result's
    /// `invocation.module_args`, as Ansible's modules report the parameters they ran with.
    type Args: DeserializeOwned + Serialize;
    /// What the module is and what it needs.
    fn describe() -> Description;
    /// The name argument errors give the module (`Unsupported parameters for (<name>) module`): its own,
    /// unless Ansible runs it under another.
    fn argument_name() -> String {
        Self::describe().name
    }
    /// Ansible's argument-spec stage after parsing: values take their types (a `path` is expanded with
    /// [`path::expand`]) before the module runs, and `invocation` reports them so.
    fn prepare(args: Self::Args) -> Result<Self::Args, Failure> {
        Ok(args)
    }
    /// Does the work.
    fn run(args: Self::Args, ctx: &Context) -> Result<Outcome, Failure>;
}

/// Runs `M` on a request and renders its result as the JSON text the contract returns. Used by [`module!`].
pub fn run_module<M: Module>(req: Request) -> String {
    let ctx = Context {
        check_mode: req.check_mode,
        diff: req.diff,
    };
    let name = M::argument_name();
    let (result, invocation) = match parse_args::<M::Args>(&name, &req.args).and_then(M::prepare) {
        Ok(args) => {
            let module_args = serde_json::to_value(&args).unwrap_or(Value::Null);
            (
                M::run(args, &ctx),
                Some(json!({"module_args": module_args})),
            )
        }
        Err(failure) => (Err(failure), None),
    };
    let mut rendered = render(result);
    if let (Value::Object(map), Some(invocation)) = (&mut rendered, invocation) {
        map.entry("invocation").or_insert(invocation);
    }
    rendered.to_string()
}

/// Parses a module's JSON arguments, naming the module in the error as Ansible does; arguments the module
/// does not take are all named, as ansible-core's argument spec names them.
pub fn parse_args<T: DeserializeOwned>(module: &str, args: &str) -> Result<T, Failure> {
    let invalid = |e: serde_json::Error| {
        Failure::new(format!("Invalid arguments for ({module}) module: {e}"))
    };
    let value: Value = serde_json::from_str(args).map_err(invalid)?;
    if let (Value::Object(given), Some(known)) = (&value, known_fields::<T>()) {
        let mut unknown: Vec<&str> = given
            .keys()
            .map(String::as_str)
            .filter(|k| !known.iter().any(|f| f == k))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(Failure::new(format!(
                "Unsupported parameters for ({module}) module: {}. Supported parameters include: {}.",
                unknown.join(", "),
                known.join(", ")
            )));
        }
    }
    serde_json::from_value(value).map_err(invalid)
}

/// The argument names a module's `Args` take, sorted, as serde's refusal of an unknown one lists them
/// (`deny_unknown_fields`); `None` when it takes any.
fn known_fields<T: DeserializeOwned>() -> Option<Vec<String>> {
    let refusal = serde_json::from_value::<T>(json!({"\u{1}": null}))
        .err()?
        .to_string();
    let (_, expected) = refusal.split_once("expected ")?;
    let list = expected.strip_prefix("one of ").unwrap_or(expected);
    let mut fields: Vec<String> = list
        .split(", ")
        .map(|f| f.trim_matches('`').to_string())
        .collect();
    fields.sort();
    Some(fields)
}

/// Turns a module's return into Ansible's result shape.
pub fn render(result: Result<Outcome, Failure>) -> Value {
    match result {
        Ok(outcome) => {
            let mut map = outcome.values;
            map.insert("changed".into(), Value::Bool(outcome.changed));
            Value::Object(map)
        }
        Err(failure) => {
            let mut map = failure.values;
            map.insert("failed".into(), Value::Bool(true));
            map.insert("msg".into(), Value::String(failure.msg));
            map.entry("changed").or_insert(Value::Bool(false));
            Value::Object(map)
        }
    }
}

/// Exports a [`Module`] implementation as the component's `describe` and `run`.
#[macro_export]
macro_rules! module {
    ($ty:ident) => {
        impl $crate::bindings::Guest for $ty {
            fn describe() -> $crate::Description {
                <$ty as $crate::Module>::describe()
            }
            fn run(req: $crate::Request) -> ::std::string::String {
                $crate::run_module::<$ty>(req)
            }
        }
        $crate::bindings::export!($ty with_types_in $crate::bindings);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_failed_and_msg_and_keep_module_keys() {
        let value = render(Err(Failure::new("boom").with("rc", 2)));
        assert_eq!(
            value,
            json!({"failed": true, "msg": "boom", "rc": 2, "changed": false})
        );
    }

    #[test]
    fn bad_arguments_name_the_module() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Args {
            #[allow(dead_code)]
            data: Option<String>,
        }
        let err = parse_args::<Args>("ping", r#"{"dta": 1, "b": 2}"#).expect_err("unknown field");
        assert_eq!(
            err.msg,
            "Unsupported parameters for (ping) module: b, dta. Supported parameters include: data."
        );
        let err = parse_args::<Args>("ping", r#"{"data": [1]}"#).expect_err("not text");
        assert!(
            err.msg.starts_with("Invalid arguments for (ping) module"),
            "{}",
            err.msg
        );
    }
}
