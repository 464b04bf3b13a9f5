//! `command` (and `shell`, which is `command` with `_uses_shell`, as in Ansible): run a program on the host.
//!
//! Results follow Ansible's command module: `cmd`, `rc`, `stdout`, `stderr`, `start`, `end`, `delta`, `msg`;
//! a non-zero exit fails the task with "non-zero return code". `creates`/`removes` make it idempotent; they are
//! checked through the read-only view of `/` the module asks for. In check mode the runner does not grant `exec`,
//! so the module reports what it would have done, as Ansible's partial check mode does.
use playbook_module_sdk::time::{python_delta as delta, python_timestamp as timestamp};
use playbook_module_sdk::{
    Capability, Context, Description, Failure, Module, Outcome, Value, exec, text,
};
use std::time::SystemTime;

struct Command;

/// The arguments; `str` ones take other values as Python's `str()` of them, as Ansible's do.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(rename = "_raw_params", default, deserialize_with = "text::optional")]
    raw_params: Option<String>,
    #[serde(default, deserialize_with = "text::optional")]
    cmd: Option<String>,
    #[serde(default, deserialize_with = "text::optional_list")]
    argv: Option<Vec<String>>,
    #[serde(rename = "_uses_shell", default)]
    uses_shell: bool,
    #[serde(default, deserialize_with = "text::optional")]
    executable: Option<String>,
    #[serde(default, deserialize_with = "text::optional")]
    chdir: Option<String>,
    #[serde(default, deserialize_with = "text::optional")]
    creates: Option<String>,
    #[serde(default, deserialize_with = "text::optional")]
    removes: Option<String>,
    #[serde(default, deserialize_with = "text::optional")]
    stdin: Option<String>,
    #[serde(default = "yes")]
    stdin_add_newline: bool,
    #[serde(default = "yes")]
    expand_argument_vars: bool,
    #[serde(default = "yes")]
    strip_empty_ends: bool,
}

fn yes() -> bool {
    true
}

impl Module for Command {
    type Args = Args;

    fn describe() -> Description {
        Description {
            name: "command".into(),
            summary: "Execute commands on targets".into(),
            // `system` gives the environment commands run with, for `$NAME` and `~` in arguments.
            needs: vec![
                Capability::Exec,
                Capability::Read("/".into()),
                Capability::System,
            ],
            supports_check_mode: true,
        }
    }

    /// Ansible's `command` and `shell` action plugins run the module as `ansible.legacy.command`.
    fn argument_name() -> String {
        "ansible.legacy.command".into()
    }

    /// `chdir`, `creates` and `removes` are Ansible `path` arguments: `$VAR` and `~` expanded.
    fn prepare(mut args: Args) -> Result<Args, Failure> {
        for path in [&mut args.chdir, &mut args.creates, &mut args.removes]
            .into_iter()
            .flatten()
        {
            *path = playbook_module_sdk::path::expand(path);
        }
        Ok(args)
    }

    fn run(args: Args, ctx: &Context) -> Result<Outcome, Failure> {
        let raw = args.raw_params.clone().or(args.cmd.clone());
        let raw = raw.filter(|text| !text.trim().is_empty());
        let argv_given = args.argv.clone().filter(|argv| !argv.is_empty());
        let (argv, shell, cmd_value) = match (raw, argv_given) {
            (Some(_), Some(_)) => {
                return Err(Failure::new("only command or argv can be given, not both"));
            }
            // Ansible's argument spec wants one of them; one given empty is the module's own refusal.
            (None, None)
                if args.raw_params.is_none() && args.cmd.is_none() && args.argv.is_none() =>
            {
                return Err(Failure::new(
                    "one of the following is required: _raw_params, cmd, argv",
                ));
            }
            (None, None) => return Err(Failure::new("no command given").with("rc", 256)),
            (Some(text), None) if args.uses_shell => {
                (Vec::new(), Some(text.clone()), Value::String(text))
            }
            (Some(text), None) => {
                let argv = shlex::split(&text)
                    .ok_or_else(|| Failure::new(format!("cannot split command line: {text}")))?;
                let value = Value::from(argv.clone());
                (argv, None, value)
            }
            (None, Some(argv)) => (argv.clone(), None, Value::from(argv)),
        };

        let resolve = |path: &str| match (&args.chdir, path.starts_with('/')) {
            (Some(dir), false) => format!("{}/{}", dir.trim_end_matches('/'), path),
            _ => path.to_string(),
        };
        let would = if ctx.check_mode { "Would" } else { "Did" };
        if let Some(creates) = &args.creates
            && exists(&resolve(creates))
        {
            return Ok(skipped_because(
                cmd_value,
                format!("{would} not run command since '{creates}' exists"),
                format!("skipped, since {creates} exists"),
            ));
        }
        if let Some(removes) = &args.removes
            && !exists(&resolve(removes))
        {
            return Ok(skipped_because(
                cmd_value,
                format!("{would} not run command since '{removes}' does not exist"),
                format!("skipped, since {removes} does not exist"),
            ));
        }

        if ctx.check_mode {
            let mut outcome = if args.creates.is_none() && args.removes.is_none() {
                Outcome::unchanged().with("skipped", true)
            } else {
                Outcome::changed()
            };
            outcome = outcome
                .with("msg", "Command would have run if not in check mode")
                .with("rc", 0)
                .with("cmd", cmd_value)
                .with("stdout", "")
                .with("stderr", "")
                .with("start", Value::Null)
                .with("end", Value::Null)
                .with("delta", Value::Null);
            return Ok(outcome);
        }

        let shell = shell.map(|text| match &args.executable {
            Some(exe) => format!(
                "exec {} -c {}",
                exe,
                shlex::try_quote(&text).unwrap_or_default()
            ),
            None => text,
        });
        let stdin = args.stdin.as_ref().map(|text| {
            let mut bytes = text.clone().into_bytes();
            if args.stdin_add_newline {
                bytes.push(b'\n');
            }
            bytes
        });
        // Without a shell, Ansible's run_command expands each argument itself, quoted or not.
        let argv: Vec<String> = if args.expand_argument_vars {
            argv.iter()
                .map(|arg| playbook_module_sdk::path::expand(arg))
                .collect()
        } else {
            argv
        };
        let started = SystemTime::now();
        let result = exec::run(&exec::Command {
            argv: argv.clone(),
            shell,
            cwd: args.chdir.clone(),
            stdin,
        });
        let ended = SystemTime::now();
        let timing = |o: Outcome| {
            o.with("start", timestamp(started))
                .with("end", timestamp(ended))
                .with("delta", delta(started, ended))
        };
        match result {
            Ok(output) => {
                let stdout = text(&output.stdout, args.strip_empty_ends);
                let stderr = text(&output.stderr, args.strip_empty_ends);
                let outcome = timing(Outcome::changed())
                    .with("cmd", cmd_value)
                    .with("rc", output.rc)
                    .with("stdout", stdout)
                    .with("stderr", stderr)
                    .with("msg", "");
                if output.rc != 0 {
                    let mut failure = Failure::new("non-zero return code");
                    failure.values = outcome.values;
                    failure.values.remove("msg");
                    failure.values.insert("changed".into(), Value::Bool(true));
                    return Err(failure);
                }
                Ok(outcome)
            }
            Err(exec::Error::Spawn(why)) => {
                // As Python's OSError from run_command: the errno is the rc, the result says only that the
                // command could not run, and the error report gives the OSError's text.
                let program = argv.first().cloned().unwrap_or_default();
                let errno = if why == "Permission denied" { 13 } else { 2 };
                Err(Failure::new("Error executing command.")
                    .with("rc", errno)
                    .with("cmd", playbook_module_sdk::path::shell_join(&argv))
                    .with("stdout", "")
                    .with("stderr", "")
                    .with(
                        "_ansible_exception_message",
                        format!("[Errno {errno}] {why}: b'{program}'"),
                    ))
            }
            Err(exec::Error::Denied(why)) => Err(Failure::new(why).with("cmd", cmd_value)),
        }
    }
}

/// A run `creates`/`removes` spared: the times are null, as in Ansible's module.
fn skipped_because(cmd: Value, msg: String, stdout: String) -> Outcome {
    Outcome::unchanged()
        .with("cmd", cmd)
        .with("msg", msg)
        .with("stdout", stdout)
        .with("stderr", "")
        .with("rc", 0)
        .with("start", Value::Null)
        .with("end", Value::Null)
        .with("delta", Value::Null)
}

fn exists(pattern: &str) -> bool {
    match glob::glob(pattern) {
        Ok(mut paths) => paths.next().is_some(),
        Err(_) => std::path::Path::new(pattern).exists(),
    }
}

fn text(bytes: &[u8], strip_empty_ends: bool) -> String {
    let text = String::from_utf8_lossy(bytes);
    if strip_empty_ends {
        text.trim_end_matches(['\r', '\n']).to_string()
    } else {
        text.into_owned()
    }
}

playbook_module_sdk::module!(Command);
