//! The command line: clap definitions (as typed) and the run they start. Exit codes are ansible-playbook's.

use crate::config::Config;
use crate::connection::askpass;
use crate::diag::SourceFile;
use crate::executor::event::Sink;
use crate::executor::{Executor, RunOptions};
use crate::inventory::{Inventory, InventoryError, export};
use crate::output::{default::DefaultOutput, minimal::MinimalOutput, report::JsonReport};
use crate::playbook::{self, Task};
use crate::secret::{Secret, private_dir};
use crate::{modules, vault, yaml};
use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// Run Ansible playbooks with sandboxed WebAssembly modules over SSH.
#[derive(Debug, Parser)]
#[command(
    name = "playbook",
    version,
    args_conflicts_with_subcommands = true,
    // An option given twice takes its last value, as ansible-playbook's argparse does.
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: CommonArgs,
    /// Playbook(s) to run.
    #[arg(value_name = "PLAYBOOK")]
    playbooks: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one module on the hosts of a pattern (what `ansible PATTERN -m MODULE -a ARGS` does).
    Adhoc(AdhocArgs),
    /// Show the inventory as Ansible computes it (what `ansible-inventory` does).
    Inventory(InventoryArgs),
    /// Encrypt and decrypt files and values (what `ansible-vault` does).
    Vault(VaultArgs),
}

#[derive(Debug, Args)]
struct VaultArgs {
    #[command(subcommand)]
    action: VaultAction,
}

/// Where vault passwords come from (for runs and for `playbook vault`).
#[derive(Debug, Args, Clone, Default)]
struct VaultSources {
    /// Ask for the vault password.
    #[arg(
        short = 'J',
        long = "ask-vault-password",
        visible_alias = "ask-vault-pass"
    )]
    ask_vault_pass: bool,
    /// A vault password file, or an executable that prints the password.
    #[arg(long = "vault-password-file", visible_alias = "vault-pass-file")]
    vault_password_files: Vec<String>,
    /// A vault identity: `[LABEL@]SOURCE`, SOURCE being `prompt`, a file or a script.
    #[arg(long = "vault-id")]
    vault_ids: Vec<String>,
}

#[derive(Debug, Args, Clone)]
struct VaultFiles {
    /// The files.
    #[arg(value_name = "FILE")]
    files: Vec<String>,
    #[command(flatten)]
    sources: VaultSources,
}

#[derive(Debug, Args, Clone)]
struct VaultWriteOptions {
    /// The vault id to encrypt with, when several are given.
    #[arg(long = "encrypt-vault-id")]
    encrypt_vault_id: Option<String>,
    /// Write to this file (`-` for standard output) instead of in place.
    #[arg(long = "output")]
    output: Option<String>,
}

#[derive(Debug, Clone, Subcommand)]
enum VaultAction {
    /// Encrypt files (standard input when none is given).
    Encrypt {
        #[command(flatten)]
        files: VaultFiles,
        #[command(flatten)]
        write: VaultWriteOptions,
    },
    /// Decrypt files (standard input when none is given).
    Decrypt {
        #[command(flatten)]
        files: VaultFiles,
        /// Write to this file (`-` for standard output) instead of in place.
        #[arg(long = "output")]
        output: Option<String>,
    },
    /// Show decrypted files.
    View {
        #[command(flatten)]
        files: VaultFiles,
    },
    /// Edit an encrypted file in $EDITOR (the plaintext stays in memory-backed storage).
    Edit {
        #[command(flatten)]
        files: VaultFiles,
        /// The vault id to encrypt with.
        #[arg(long = "encrypt-vault-id")]
        encrypt_vault_id: Option<String>,
    },
    /// Create an encrypted file in $EDITOR.
    Create {
        #[command(flatten)]
        files: VaultFiles,
        /// The vault id to encrypt with.
        #[arg(long = "encrypt-vault-id")]
        encrypt_vault_id: Option<String>,
        /// Open the editor without a terminal.
        #[arg(long = "skip-tty-check")]
        skip_tty_check: bool,
    },
    /// Encrypt files again with a new password.
    Rekey {
        #[command(flatten)]
        files: VaultFiles,
        /// The vault id to encrypt with.
        #[arg(long = "encrypt-vault-id")]
        encrypt_vault_id: Option<String>,
        /// The new password's file (or script).
        #[arg(long = "new-vault-password-file")]
        new_vault_password_file: Option<String>,
        /// The new vault identity (`[LABEL@]SOURCE`).
        #[arg(long = "new-vault-id")]
        new_vault_id: Option<String>,
    },
    /// Encrypt strings into `!vault` YAML values.
    #[command(name = "encrypt_string")]
    EncryptString {
        /// The strings (`-` reads standard input).
        // Not `allow_hyphen_values`: on a list it swallows every later option (`x --name s9` became three
        // strings), while argparse reads an option wherever it comes. A lone `-` is a value for clap anyway,
        // negative numbers are strings as they are for argparse, and `--` ends the options.
        #[arg(value_name = "STRING", allow_negative_numbers = true)]
        strings: Vec<String>,
        #[command(flatten)]
        sources: VaultSources,
        #[command(flatten)]
        write: VaultWriteOptions,
        /// Ask for the string.
        #[arg(short = 'p', long = "prompt")]
        prompt: bool,
        /// Show the string as it is typed at the prompt.
        #[arg(long = "show-input")]
        show_input: bool,
        /// The variable name for each string, in order.
        #[arg(short = 'n', long = "name")]
        names: Vec<String>,
        /// The variable name for the string read from standard input.
        #[arg(long = "stdin-name")]
        stdin_name: Option<String>,
    },
}

#[derive(Debug, Args)]
struct InventoryArgs {
    /// Every group and host, with each host's variables, as JSON.
    #[arg(long, conflicts_with_all = ["graph", "host"])]
    list: bool,
    /// The group tree from GROUP (default: all).
    #[arg(long, value_name = "GROUP", num_args = 0..=1, default_missing_value = "all", conflicts_with = "host")]
    graph: Option<String>,
    /// One host's variables, as JSON.
    #[arg(long, value_name = "HOST")]
    host: Option<String>,
    /// With --graph: show variables too.
    #[arg(long)]
    vars: bool,
    /// With --list or --host: YAML instead of JSON.
    #[arg(long)]
    yaml: bool,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct AdhocArgs {
    /// Host pattern (`all`, `web`, `web:&prod`).
    pattern: String,
    /// Module to run.
    #[arg(short = 'm', long = "module-name", default_value = "command")]
    module: String,
    /// Module arguments (`k=v ...`, or the command line for command/shell).
    #[arg(short = 'a', long = "args", default_value = "")]
    args: String,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args, Clone, Default)]
struct CommonArgs {
    /// Inventory source: a file, a directory, or a host list such as 'a,b,'.
    #[arg(short = 'i', long = "inventory")]
    inventory: Vec<String>,
    /// Further limit the selected hosts to a pattern.
    #[arg(short = 'l', long = "limit")]
    limit: Option<String>,
    /// Hosts run in parallel [default: 5, or `forks` in ansible.cfg].
    #[arg(short = 'f', long = "forks")]
    forks: Option<usize>,
    /// Connect as this user.
    #[arg(short = 'u', long = "user")]
    user: Option<String>,
    /// SSH private key file.
    #[arg(long = "private-key", alias = "key-file")]
    private_key: Option<String>,
    /// Connection type (ssh, local).
    #[arg(short = 'c', long = "connection")]
    connection: Option<String>,
    /// Connection timeout in seconds [default: 10, or `timeout` in ansible.cfg].
    #[arg(short = 'T', long = "timeout")]
    timeout: Option<u64>,
    /// Ask for the SSH password.
    #[arg(short = 'k', long = "ask-pass")]
    ask_pass: bool,
    /// Run operations with become (sudo), as root unless --become-user says otherwise.
    #[arg(short = 'b', long = "become")]
    escalate: bool,
    /// The user to become [default: root].
    #[arg(long = "become-user")]
    become_user: Option<String>,
    /// How to become it [default: sudo].
    #[arg(long = "become-method")]
    become_method: Option<String>,
    /// Ask for the become (sudo) password.
    #[arg(short = 'K', long = "ask-become-pass")]
    ask_become_pass: bool,
    /// Extra variables: k=v, JSON or YAML, or @file.
    #[arg(short = 'e', long = "extra-vars")]
    extra_vars: Vec<String>,
    /// Report what would change; change nothing.
    #[arg(short = 'C', long = "check")]
    check: bool,
    /// Show the differences that tasks make (or would make, with --check).
    #[arg(short = 'D', long = "diff")]
    diff: bool,
    /// More output (-v shows each result).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    verbose: u8,
    /// Write a JSON report of every result to this file.
    #[arg(long = "report")]
    report: Option<PathBuf>,
    /// Arguments added to every ssh command line.
    #[arg(long = "ssh-common-args", allow_hyphen_values = true)]
    ssh_common_args: Option<String>,
    /// Only run tasks tagged with these (comma-separated; `always`, `never`, `tagged`, `untagged`, `all`).
    #[arg(short = 't', long = "tags")]
    tags: Vec<String>,
    /// Skip tasks tagged with these.
    #[arg(long = "skip-tags")]
    skip_tags: Vec<String>,
    /// Run notified handlers even on hosts that failed.
    #[arg(long = "force-handlers")]
    force_handlers: bool,
    /// Only list the hosts each play (or the ad-hoc pattern) would run on.
    #[arg(long = "list-hosts")]
    list_hosts: bool,
    /// Only list the tasks each play would run (with --tags/--skip-tags applied).
    #[arg(long = "list-tasks")]
    list_tasks: bool,
    /// Only list the tags of each play.
    #[arg(long = "list-tags")]
    list_tags: bool,
    /// Only check the playbooks (they are read in full, roles and imports included), run nothing.
    #[arg(long = "syntax-check")]
    syntax_check: bool,
    /// Start at the first task of this name (a shell pattern), skipping those before it.
    #[arg(long = "start-at-task")]
    start_at_task: Option<String>,
    /// Ask before each task: (N)o, (y)es, (c)ontinue without asking.
    #[arg(long = "step")]
    step: bool,
    #[command(flatten)]
    vault: VaultSources,
}

fn error(message: impl std::fmt::Display) {
    eprintln!("[ERROR]: {message}");
}

fn home_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("playbook-cache-{}", crate::secret::euid()))
        })
        .join("playbook")
}

/// `-e` values merged in order. An error comes with ansible-playbook's exit code: 1 for a file that cannot be
/// read, 4 for YAML that does not parse, 5 for a value that is not a mapping.
fn extra_vars(values: &[String]) -> Result<Map<String, Value>, (String, i32)> {
    let mut vars = Map::new();
    for value in values {
        let parsed = if let Some(path) = value.strip_prefix('@') {
            let text = crate::vault::read_to_string(path).map_err(|e| {
                let shown = std::path::absolute(path)
                    .map_or_else(|_| path.to_string(), |p| p.display().to_string());
                (
                    format!(
                        "Unable to retrieve file contents.\nCould not find or access '{shown}' on the Ansible Controller: {e}"
                    ),
                    1,
                )
            })?;
            yaml::parse(&SourceFile::new(path, text))
                .map_err(|e| (e.to_string(), 4))?
                .to_json()
        } else if value.trim_start().starts_with(['{', '[']) {
            yaml::parse(&SourceFile::new("(extra vars)", value.clone()))
                .map_err(|e| (e.to_string(), 4))?
                .to_json()
        } else {
            Value::Object(playbook::args::parse_free_form("extra_vars", value).map_err(|e| (e, 5))?)
        };
        match parsed {
            Value::Object(map) => vars.extend(map),
            Value::Null => {}
            _ => return Err((format!("invalid extra vars: {value}"), 5)),
        }
    }
    Ok(vars)
}

/// `-i` sources, else `inventory` of ansible.cfg / ANSIBLE_INVENTORY (Ansible's default `/etc/ansible/hosts`).
fn inventory_sources(args: &CommonArgs, config: &Config) -> Vec<String> {
    if args.inventory.is_empty() {
        config.inventory.clone()
    } else {
        args.inventory.clone()
    }
}

/// Parses the command line and runs; returns the process exit code.
pub fn main() -> i32 {
    // ssh runs this binary as its askpass helper, with the prompt as the only argument.
    if std::env::var_os(askpass::HELPER_ENV).is_some() {
        let prompt = std::env::args().nth(1).unwrap_or_default();
        return askpass::helper_main(&prompt);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error(format!("cannot start the async runtime: {e}"));
            return 1;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> i32 {
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            error(with_causes(&e));
            return 5;
        }
    };
    for w in &config.warnings {
        eprintln!("[WARNING]: {w}");
    }
    let verbosity = config.verbosity.saturating_add(match &cli.command {
        Some(Command::Adhoc(a)) => a.common.verbose,
        Some(Command::Inventory(a)) => a.common.verbose,
        _ => cli.common.verbose,
    });
    if verbosity >= 2 {
        crate::outln!("playbook {}", env!("CARGO_PKG_VERSION"));
        let shown = config.path.as_ref().map(|p| p.display().to_string());
        crate::outln!("  config file = {}", shown.as_deref().unwrap_or("None"));
    }
    if verbosity >= 1 {
        match &config.path {
            Some(path) => crate::outln!("Using {} as config file", path.display()),
            None => crate::outln!("No config file found; using defaults"),
        }
    }
    let common = match &cli.command {
        Some(Command::Adhoc(a)) => &a.common,
        Some(Command::Inventory(args)) => &args.common,
        Some(Command::Vault(args)) => return vault_command(&args.action, &config),
        None => &cli.common,
    };
    // Vault secrets are read once, before any file, so every reader decrypts the same way.
    let mut warnings = Vec::new();
    let keyring = vault::secrets::keyring(
        &vault_options(&common.vault, &config),
        vault::secrets::Purpose::Open,
        false,
        &mut vault::secrets::terminal_prompt,
        &mut warnings,
    );
    for w in &warnings {
        eprintln!("[WARNING]: {w}");
    }
    match keyring {
        Ok(keyring) => vault::install(keyring),
        Err(e) => {
            error(e);
            return 1;
        }
    }
    let (common, adhoc) = match cli.command {
        Some(Command::Adhoc(a)) => (a.common.clone(), Some(a)),
        Some(Command::Inventory(args)) => return show_inventory(&args, &config),
        Some(Command::Vault(_)) => return 0,
        None => (cli.common.clone(), None),
    };
    if adhoc.is_none() && cli.playbooks.is_empty() {
        error("no playbook given: playbook PLAYBOOK.yml [-i INVENTORY] (see --help)");
        return 2;
    }
    let free = match config.strategy.as_deref() {
        None | Some("linear") => false,
        Some("free" | "host_pinned") => true,
        Some(other) => {
            error(format!("Invalid play strategy specified: {other}"));
            return 1;
        }
    };
    let load_context = Arc::new(playbook::LoadContext {
        modules: modules::known_actions()
            .into_iter()
            .map(String::from)
            .collect(),
        roles_path: config.roles_path.clone(),
        play_defaults: playbook::PlayDefaults {
            gather_facts: config.gather_by_default,
            any_errors_fatal: config.any_errors_fatal,
            free,
        },
    });
    let mut playbooks = Vec::new();
    for path in &cli.playbooks {
        match playbook::load(path, &load_context) {
            Ok(p) => playbooks.push(p),
            Err(e) => {
                let code = e.exit_code();
                error(e);
                return code;
            }
        }
    }
    let extra = match extra_vars(&common.extra_vars) {
        Ok(v) => v,
        Err((e, code)) => {
            error(e);
            return code;
        }
    };
    let (mut inventory, warnings) = match load_inventory(&common, &config) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    inventory.merge_hashes = config.merge_hashes;
    // group_vars/ and host_vars/ beside the playbook override those beside the inventory, as in Ansible; a play
    // sees those beside its own playbook (an imported one's too).
    let mut playbook_dirs: Vec<std::path::PathBuf> = Vec::new();
    for p in &playbooks {
        let dirs = std::iter::once(&p.dir).chain(
            p.plays
                .iter()
                .filter_map(|play| play.imported_from.as_ref()),
        );
        for dir in dirs {
            if !playbook_dirs.contains(dir) {
                playbook_dirs.push(dir.clone());
            }
        }
    }
    for dir in &playbook_dirs {
        if let Err(e) = inventory.add_vars_dir(dir) {
            error(with_causes(&e));
            return 4;
        }
    }
    let limit_hosts = match &common.limit {
        Some(pattern) => match inventory.select_reporting(pattern) {
            Ok((hosts, unmatched)) => {
                warn_unmatched(&unmatched);
                // The implicit localhost is no host of the inventory's `all`: a limit to it leaves none,
                // unless the inventory has no host at all.
                let all: std::collections::HashSet<String> = inventory
                    .select("all")
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                let targets: Vec<String> = hosts
                    .into_iter()
                    .filter(|h| all.is_empty() || all.contains(h))
                    .collect();
                if targets.is_empty() {
                    error(
                        "Specified inventory, host pattern and/or --limit leaves us with no hosts to target.",
                    );
                    return 1;
                }
                Some(targets)
            }
            Err(e) => {
                error(e);
                return 1;
            }
        },
        None => None,
    };
    // As ansible-playbook: the inventory is read and the limit checked before a syntax check or a listing.
    if common.syntax_check {
        for p in &playbooks {
            crate::outln!("\nplaybook: {}", p.file.name);
        }
        return 0;
    }
    let tag_filter = crate::executor::tags::TagFilter::new(&common.tags, &common.skip_tags);
    if let Some(a) = &adhoc
        && common.list_hosts
    {
        return list_adhoc_hosts(&inventory, a, limit_hosts.as_deref());
    }
    if common.list_hosts || common.list_tasks || common.list_tags {
        return list_playbooks(
            &inventory,
            &playbooks,
            &common,
            &extra,
            &tag_filter,
            limit_hosts.as_deref(),
        );
    }
    let password = if common.ask_pass {
        match rpassword::prompt_password("SSH password: ") {
            Ok(p) => Some(Secret::new(p)),
            Err(e) => {
                error(format!("cannot read the SSH password: {e}"));
                return 1;
            }
        }
    } else {
        None
    };
    // As ansible-playbook: with -k too, an empty become password means the SSH password.
    let become_password = if common.ask_become_pass || config.become_ask_pass {
        let prompt = if password.is_some() {
            "BECOME password[defaults to SSH password]: "
        } else {
            "BECOME password: "
        };
        match rpassword::prompt_password(prompt) {
            Ok(p) if p.is_empty() => password.clone(),
            Ok(p) => Some(Secret::new(p)),
            Err(e) => {
                error(format!("cannot read the become password: {e}"));
                return 1;
            }
        }
    } else {
        None
    };
    let private = match private_dir() {
        Ok(d) => d,
        Err(e) => {
            error(e);
            return 1;
        }
    };
    // ansible-core counts -v from the configured verbosity.
    let verbosity = config.verbosity.saturating_add(common.verbose);
    let options = RunOptions {
        forks: common.forks.or(config.forks).unwrap_or(5),
        config_file: config.path.as_ref().map(|p| p.display().to_string()),
        merge_hashes: config.merge_hashes,
        check_mode: common.check,
        diff: common.diff,
        verbosity,
        limit: common.limit.clone(),
        extra_vars: extra,
        remote_user: common.user.clone().or(config.remote_user.clone()),
        private_key: common
            .private_key
            .clone()
            .or(config.private_key_file.clone()),
        connection: common.connection.clone(),
        timeout: common.timeout.or(config.timeout).unwrap_or(10),
        password,
        ssh_common_args: common
            .ssh_common_args
            .as_deref()
            .or(config.ssh_common_args.as_deref())
            .and_then(|s| playbook::args::split_words(s).ok())
            .unwrap_or_default(),
        remote_port: config.remote_port,
        localhost_warning: config.localhost_warning,
        host_key_checking: config.host_key_checking,
        escalate: common.escalate || config.escalate,
        become_user: common.become_user.clone().or(config.become_user.clone()),
        become_method: common
            .become_method
            .clone()
            .or(config.become_method.clone()),
        become_password,
        tags: tag_filter,
        start_at_task: common.start_at_task.clone(),
        step: common.step,
        inventory_sources: inventory_sources(&common, &config),
        playbook_dirs: playbook_dirs.clone(),
        force_handlers: common.force_handlers || config.force_handlers,
        retry_files: config.retry_files_enabled,
        retry_files_save_path: config.retry_files_save_path.clone(),
        cache_dir: home_cache(),
        private_dir: private,
    };
    let callback_options = crate::output::CallbackOptions {
        display_ok_hosts: config.display_ok_hosts,
        display_skipped_hosts: config.display_skipped_hosts,
        deprecation_warnings: config.deprecation_warnings,
        display_failed_stderr: config.display_failed_stderr,
        show_per_host_start: config.show_per_host_start,
        check_mode_markers: config.check_mode_markers,
        show_task_path_on_failure: config.show_task_path_on_failure,
        result_format: if config.callback_result_format == "yaml" {
            crate::output::ResultFormat::Yaml
        } else {
            crate::output::ResultFormat::Json
        },
        pretty_results: config.callback_format_pretty,
        dry_run: common.check,
    };
    use crate::output::minimal::Style;
    let stdout: Box<dyn Sink> = match (adhoc.is_some(), config.stdout_callback.as_str()) {
        (true, _) => Box::new(MinimalOutput::adhoc()),
        (false, "minimal") => Box::new(MinimalOutput::stdout(
            Style::Minimal,
            verbosity,
            callback_options,
        )),
        (false, "oneline") => Box::new(MinimalOutput::stdout(
            Style::Oneline,
            verbosity,
            callback_options,
        )),
        _ => Box::new(DefaultOutput::stdout(verbosity).with_options(callback_options)),
    };
    let mut sinks: Vec<Box<dyn Sink>> = vec![stdout];
    if let Some(path) = &common.report {
        sinks.push(Box::new(JsonReport::new(path.clone())));
    }
    let inventory_warnings = inventory.warnings().to_vec();
    let mut executor = Executor::new(inventory, options, sinks);
    for w in warnings.iter().chain(&inventory_warnings) {
        executor.warn(w);
    }
    match adhoc {
        Some(a) => {
            let task = match adhoc_task(&a, &modules::known_actions()) {
                Ok(t) => t,
                Err(e) => {
                    error(e);
                    return 5;
                }
            };
            executor
                .run_adhoc(&a.pattern, task, limit_hosts)
                .await
                .exit_code()
        }
        None => {
            let outcome = executor.run(&playbooks, limit_hosts).await;
            if let Some((message, _)) = &outcome.fatal {
                error(message);
            }
            if let Some(start) = &outcome.start_not_found {
                // ansible-playbook says so after the recap and still exits as the run went.
                error(format!(
                    "No matching task \"{start}\" found. Note: --start-at-task can only follow static includes."
                ));
            }
            outcome.exit_code()
        }
    }
}

/// The vault sources of the command line after those of the configuration, as ansible-core orders them.
fn vault_options(sources: &VaultSources, config: &Config) -> vault::secrets::VaultOptions {
    vault::secrets::VaultOptions {
        vault_ids: config
            .vault_identity_list
            .iter()
            .chain(&sources.vault_ids)
            .cloned()
            .collect(),
        password_files: sources
            .vault_password_files
            .iter()
            .chain(&config.vault_password_file)
            .cloned()
            .collect(),
        ask: sources.ask_vault_pass,
        id_match: config.vault_id_match,
    }
}

/// `playbook vault ACTION`.
fn vault_command(action: &VaultAction, config: &Config) -> i32 {
    use vault::command::Action;
    let (sources, encrypt_vault_id, action) = match action.clone() {
        VaultAction::Encrypt { files, write } => (
            files.sources,
            write.encrypt_vault_id,
            Action::Encrypt {
                files: files.files,
                output: write.output,
            },
        ),
        VaultAction::Decrypt { files, output } => (
            files.sources,
            None,
            Action::Decrypt {
                files: files.files,
                output,
            },
        ),
        VaultAction::View { files } => (files.sources, None, Action::View { files: files.files }),
        VaultAction::Edit {
            files,
            encrypt_vault_id,
        } => (
            files.sources,
            encrypt_vault_id,
            Action::Edit { files: files.files },
        ),
        VaultAction::Create {
            files,
            encrypt_vault_id,
            skip_tty_check,
        } => (
            files.sources,
            encrypt_vault_id,
            Action::Create {
                files: files.files,
                skip_tty_check,
            },
        ),
        VaultAction::Rekey {
            files,
            encrypt_vault_id,
            new_vault_password_file,
            new_vault_id,
        } => (
            files.sources,
            encrypt_vault_id,
            Action::Rekey {
                files: files.files,
                new_password_file: new_vault_password_file,
                new_vault_id,
            },
        ),
        VaultAction::EncryptString {
            strings,
            sources,
            write,
            prompt,
            show_input,
            names,
            stdin_name,
        } => (
            sources,
            write.encrypt_vault_id,
            Action::EncryptString {
                strings,
                prompt,
                show_input,
                names,
                stdin_name,
                output: write.output,
            },
        ),
    };
    let settings = vault::command::Settings {
        options: vault_options(&sources, config),
        encrypt_vault_id: encrypt_vault_id.or_else(|| config.vault_encrypt_identity.clone()),
    };
    let mut warnings = Vec::new();
    let result = vault::command::run(
        &action,
        &settings,
        &mut vault::secrets::terminal_prompt,
        &mut warnings,
    );
    for w in &warnings {
        eprintln!("[WARNING]: {w}");
    }
    match result {
        Ok(()) => 0,
        Err(e) => {
            error(&e);
            e.code
        }
    }
}

/// Loads the inventory; a source that cannot be parsed is a warning and the run goes on with the implicit
/// localhost only, as Ansible does (and with its exit codes). A broken group_vars/host_vars file stops the run
/// (exit 4), as in Ansible.
fn load_inventory(common: &CommonArgs, config: &Config) -> Result<(Inventory, Vec<String>), i32> {
    let sources = inventory_sources(common, config);
    match Inventory::load(&sources) {
        // Only Ansible's default source, which does not exist: nothing was parsed.
        Ok(inventory)
            if config.inventory_unparsed_warning
                && sources
                    .iter()
                    .all(|s| s == "/etc/ansible/hosts" && !std::path::Path::new(s).exists()) =>
        {
            let warning = "No inventory was parsed, only implicit localhost is available";
            Ok((inventory, vec![warning.into()]))
        }
        Ok(inventory) => Ok((inventory, Vec::new())),
        Err(e @ InventoryError::VarsFile(_)) => {
            error(with_causes(&e));
            Err(4)
        }
        Err(e) => {
            let mut warnings = vec![format!(
                "Unable to parse the inventory: {}",
                with_causes(&e)
            )];
            if config.inventory_unparsed_warning {
                warnings
                    .push("No inventory was parsed, only implicit localhost is available".into());
            }
            Ok((Inventory::default(), warnings))
        }
    }
}

/// An error and its causes on one line (`cannot read x: Permission denied`).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

fn show_inventory(args: &InventoryArgs, config: &Config) -> i32 {
    let (mut inventory, warnings) = match load_inventory(&args.common, config) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    inventory.merge_hashes = config.merge_hashes;
    for w in warnings.iter().chain(inventory.warnings()) {
        eprintln!("[WARNING]: {w}");
    }
    // Showing every host's variables needs every vars file: one no vault secret opens stops it (exit 4).
    let unopened = inventory.hosts().find_map(|h| {
        inventory
            .host_vars(&h.name)
            .remove(crate::template::VAULT_FILE)
    });
    if let Some(reason) = unopened {
        error(crate::pyjson::python_str(&reason));
        return 4;
    }
    let print = |v: &Value| {
        if args.yaml {
            crate::out!("{}", crate::pyyaml::dump(v));
        } else {
            // ansible-inventory writes plain `json.dumps`: a None key is `null`.
            let options = crate::pyjson::Options {
                indent: Some(4),
                sort_keys: true,
                ensure_ascii: false,
                none_key: "null",
            };
            crate::outln!("{}", crate::pyjson::dumps_with(v, &options));
        }
    };
    if args.list && args.yaml {
        print(&export::yaml_list(&inventory));
    } else if args.list {
        print(&export::list(&inventory));
    } else if let Some(group) = &args.graph {
        match export::graph(&inventory, group, args.vars) {
            Some(text) => crate::outln!("{text}"),
            None => {
                error(format!(
                    "Either a group or host name is required: no group named {group}"
                ));
                return 1;
            }
        }
    } else if let Some(host) = &args.host {
        if inventory.host(host).is_none() {
            error(format!(
                "Could not match supplied host pattern, ignoring: {host}"
            ));
            return 1;
        }
        print(&Value::Object(export::host_vars(&inventory, host)));
    } else {
        error(
            "No action selected, at least one of --host, --graph or --list needs to be specified.",
        );
        return 5;
    }
    0
}

/// `--list-hosts`: what each play (or the ad-hoc pattern) would run on, as Ansible prints it.
/// `playbook adhoc PATTERN --list-hosts`.
fn list_adhoc_hosts(inventory: &Inventory, adhoc: &AdhocArgs, limit: Option<&[String]>) -> i32 {
    let hosts = limited(inventory, &adhoc.pattern, limit, false);
    crate::outln!("  hosts ({}):", hosts.len());
    for h in hosts {
        crate::outln!("    {h}");
    }
    0
}

/// Warns of each pattern term that matched nothing, as ansible-core does.
fn warn_unmatched(terms: &[String]) {
    for term in terms {
        eprintln!("[WARNING]: {}", Inventory::unmatched_warning(term));
    }
}

/// The hosts `pattern` selects within `limit`; with `warn`, each term that matches nothing is warned about.
fn limited(
    inventory: &Inventory,
    pattern: &str,
    limit: Option<&[String]>,
    warn: bool,
) -> Vec<String> {
    let (hosts, unmatched) = inventory.select_reporting(pattern).unwrap_or_default();
    if warn {
        warn_unmatched(&unmatched);
    }
    match limit {
        Some(allowed) => hosts.into_iter().filter(|h| allowed.contains(h)).collect(),
        None => hosts,
    }
}

/// `--list-hosts`, `--list-tasks`, `--list-tags` of the playbooks, as ansible-playbook lists them.
fn list_playbooks(
    inventory: &Inventory,
    playbooks: &[playbook::Playbook],
    common: &CommonArgs,
    extra_vars: &Map<String, Value>,
    tag_filter: &crate::executor::tags::TagFilter,
    limit: Option<&[String]>,
) -> i32 {
    // ansible-playbook goes through every play's hosts before it lists (and warns of patterns that match
    // nothing then).
    for p in playbooks {
        for play in &p.plays {
            limited(inventory, &play.hosts, limit, true);
        }
    }
    // `--list-tags` without tag options lists every tag, `never` ones too, as ansible-playbook does.
    let every_tag = crate::executor::tags::TagFilter::new(&["never".into(), "all".into()], &[]);
    let filter = if common.list_tags && common.tags.is_empty() && common.skip_tags.is_empty() {
        &every_tag
    } else {
        tag_filter
    };
    let templar = crate::template::Templar::new();
    let render_tag = |play: &playbook::Play, tag: &str| -> String {
        if !crate::template::is_template(tag) {
            return tag.to_string();
        }
        let mut vars = play.vars.clone();
        vars.extend(extra_vars.clone());
        let ctx = crate::template::vars_map_to_jinja(&vars);
        templar
            .render_str(tag, &ctx)
            .map(|v| crate::pyjson::python_str(&v))
            .unwrap_or_else(|_| tag.to_string())
    };
    let select = |pattern: &str| limited(inventory, pattern, limit, false);
    let listing = crate::output::listing::Listing {
        filter,
        hosts: common.list_hosts,
        tasks: common.list_tasks,
        tags: common.list_tags,
        select: &select,
        render_tag: &render_tag,
    };
    for p in playbooks {
        crate::out!("{}", crate::output::listing::render(p, &listing));
    }
    0
}

fn adhoc_task(a: &AdhocArgs, known: &[&str]) -> Result<Task, String> {
    let short = a
        .module
        .strip_prefix("ansible.builtin.")
        .or_else(|| a.module.strip_prefix("ansible.legacy."))
        .unwrap_or(&a.module)
        .to_string();
    if !known.contains(&short.as_str()) {
        return Err(format!(
            "couldn't resolve module/action '{}'; known modules: {}",
            a.module,
            known.join(", ")
        ));
    }
    let args = playbook::args::parse_free_form(&short, &a.args)?;
    // ansible-core's error report names an ad-hoc task by its module and shows the task as Python writes it.
    let written = serde_json::json!({
        "action": a.module,
        "args": args,
        "timeout": 0,
        "async_val": 0,
        "poll": 15,
    });
    let mut task = Task::new(&short, args, "(ad-hoc)".into());
    task.name = Some(a.module.clone());
    task.written_action = a.module.clone();
    task.origin = Some(playbook::Origin {
        path: format!("<adhoc '{}' task>", a.module),
        line: 0,
        col: 0,
        excerpt: crate::pyjson::python_repr(&written),
    });
    Ok(task)
}
