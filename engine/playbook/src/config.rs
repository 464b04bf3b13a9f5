//! `ansible.cfg` and the `ANSIBLE_*` variables that override it, found and read as ansible-core's
//! `config/manager.py` does, for the settings the controller uses.
//!
//! The file is found in Ansible's order (first existing one wins): `$ANSIBLE_CONFIG` (a directory means its
//! `ansible.cfg`), `./ansible.cfg` unless the working directory is world-writable (then it is skipped with
//! Ansible's warning), `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`. Its `[defaults]` section is read with
//! rust-ini after two Python `configparser` rules it lacks are applied (comment lines may be indented, and
//! `;` after a blank starts an inline comment; `#` after a value is part of it). An environment variable
//! wins over the file, even when empty. Path settings are relative to the file's directory when they come
//! from the file and to the working directory otherwise, with `~`, `$VAR` and `{{CWD}}` expanded.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// Where Ansible looks last for a config file.
const SYSTEM_CONFIG: &str = "/etc/ansible/ansible.cfg";

/// The settings of `ansible.cfg` (and `ANSIBLE_*`) the controller uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The config file read, if any.
    pub path: Option<PathBuf>,
    /// `inventory` / `ANSIBLE_INVENTORY`: sources as absolute paths (Ansible's default `/etc/ansible/hosts`,
    /// which `Inventory::load` skips silently when it does not exist).
    pub inventory: Vec<String>,
    /// `host_key_checking` / `ANSIBLE_HOST_KEY_CHECKING` (default true).
    pub host_key_checking: bool,
    /// `forks` / `ANSIBLE_FORKS`; `None` means Ansible's default, 5.
    pub forks: Option<usize>,
    /// `remote_user` / `ANSIBLE_REMOTE_USER`.
    pub remote_user: Option<String>,
    /// `private_key_file` / `ANSIBLE_PRIVATE_KEY_FILE`, resolved to an absolute path.
    pub private_key_file: Option<String>,
    /// `roles_path` / `ANSIBLE_ROLES_PATH` (`:`-separated), or Ansible's default
    /// `~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles`.
    pub roles_path: Vec<PathBuf>,
    /// `timeout` / `ANSIBLE_TIMEOUT` in seconds; `None` means Ansible's default, 10.
    pub timeout: Option<u64>,
    /// `[privilege_escalation] become` / `ANSIBLE_BECOME`: every task becomes (as `-b`).
    pub escalate: bool,
    /// `become_user` / `ANSIBLE_BECOME_USER`.
    pub become_user: Option<String>,
    /// `become_method` / `ANSIBLE_BECOME_METHOD`.
    pub become_method: Option<String>,
    /// `become_ask_pass` / `ANSIBLE_BECOME_ASK_PASS` (as `-K`).
    pub become_ask_pass: bool,
    /// `vault_password_file` / `ANSIBLE_VAULT_PASSWORD_FILE`, resolved to an absolute path.
    pub vault_password_file: Option<String>,
    /// `vault_identity_list` / `ANSIBLE_VAULT_IDENTITY_LIST`: `label@source` entries tried before `--vault-id`.
    pub vault_identity_list: Vec<String>,
    /// `vault_encrypt_identity` / `ANSIBLE_VAULT_ENCRYPT_IDENTITY`: the vault id `playbook vault` encrypts with.
    pub vault_encrypt_identity: Option<String>,
    /// `vault_id_match` / `ANSIBLE_VAULT_ID_MATCH`: only the secret labelled as vault text is may open it.
    pub vault_id_match: bool,
    /// `localhost_warning` / `ANSIBLE_LOCALHOST_WARNING`: warn when the inventory has no host (default true).
    pub localhost_warning: bool,
    /// `[inventory] inventory_unparsed_warning` / `ANSIBLE_INVENTORY_UNPARSED_WARNING` (default true).
    pub inventory_unparsed_warning: bool,
    /// `force_handlers` / `ANSIBLE_FORCE_HANDLERS` (as `--force-handlers`).
    pub force_handlers: bool,
    /// `hash_behaviour = merge` / `ANSIBLE_HASH_BEHAVIOUR=merge`: a mapping variable set again in a later
    /// layer merges into the earlier one, recursively, instead of replacing it.
    pub merge_hashes: bool,
    /// `gathering` / `ANSIBLE_GATHERING`: `explicit` gathers facts only where a play asks.
    pub gather_by_default: bool,
    /// `any_errors_fatal` / `ANSIBLE_ANY_ERRORS_FATAL`: the default of the play keyword.
    pub any_errors_fatal: bool,
    /// `strategy` / `ANSIBLE_STRATEGY`: the default strategy (`linear`).
    pub strategy: Option<String>,
    /// `remote_port` / `ANSIBLE_REMOTE_PORT`: the SSH port of hosts without `ansible_port`.
    pub remote_port: Option<u16>,
    /// `verbosity` / `ANSIBLE_VERBOSITY`: counted before the `-v` flags.
    pub verbosity: u8,
    /// `display_skipped_hosts` / `ANSIBLE_DISPLAY_SKIPPED_HOSTS` (default true).
    pub display_skipped_hosts: bool,
    /// `display_ok_hosts` / `ANSIBLE_DISPLAY_OK_HOSTS` (default true).
    pub display_ok_hosts: bool,
    /// `deprecation_warnings` / `ANSIBLE_DEPRECATION_WARNINGS` (default true).
    pub deprecation_warnings: bool,
    /// `display_failed_stderr` / `ANSIBLE_DISPLAY_FAILED_STDERR` (default false).
    pub display_failed_stderr: bool,
    /// `show_per_host_start` / `ANSIBLE_SHOW_PER_HOST_START` (default false).
    pub show_per_host_start: bool,
    /// `check_mode_markers` / `ANSIBLE_CHECK_MODE_MARKERS` (default false).
    pub check_mode_markers: bool,
    /// `show_task_path_on_failure` / `ANSIBLE_SHOW_TASK_PATH_ON_FAILURE` (default false).
    pub show_task_path_on_failure: bool,
    /// `callback_result_format` / `ANSIBLE_CALLBACK_RESULT_FORMAT`: `json` (the default) or `yaml`.
    pub callback_result_format: String,
    /// `callback_format_pretty` / `ANSIBLE_CALLBACK_FORMAT_PRETTY` (unset: pretty for YAML only).
    pub callback_format_pretty: Option<bool>,
    /// `stdout_callback` / `ANSIBLE_STDOUT_CALLBACK`: `default`, `minimal` or `oneline` (with or without
    /// `ansible.builtin.`).
    pub stdout_callback: String,
    /// `retry_files_enabled` / `ANSIBLE_RETRY_FILES_ENABLED` (default false).
    pub retry_files_enabled: bool,
    /// `retry_files_save_path` / `ANSIBLE_RETRY_FILES_SAVE_PATH`: where retry files go (default: beside the
    /// playbook).
    pub retry_files_save_path: Option<PathBuf>,
    /// `[ssh_connection] ssh_common_args` / `ANSIBLE_SSH_COMMON_ARGS` (as `--ssh-common-args`).
    pub ssh_common_args: Option<String>,
    /// What Ansible would warn about while finding the file (a skipped world-writable `./ansible.cfg`).
    pub warnings: Vec<String>,
}

/// Why the configuration cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("Error reading config file ({path})")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid INI.
    #[error("Error reading config file ({path}): {message}{}", line.map(|l| format!(" [line {l}]")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Ansible reads only `.cfg` and `.ini` files.
    #[error("Unsupported configuration file extension for {path}: {extension}")]
    Extension {
        /// The file.
        path: PathBuf,
        /// Its extension, with the dot (empty when none).
        extension: String,
    },
    /// A setting that takes one of a few words got another.
    #[error(
        "Invalid value '{value}' for configuration option '{setting}', valid values are: {choices}"
    )]
    Choice {
        /// Ansible's name of the setting.
        setting: &'static str,
        /// The value as given.
        value: String,
        /// What it may be.
        choices: &'static str,
    },
    /// A setting's value has the wrong type (`forks = many`).
    #[error(
        "Config '{setting}' from '{origin}' has an invalid value: Invalid value provided for 'integer': '{value}'"
    )]
    InvalidValue {
        /// Ansible's name of the setting (`DEFAULT_FORKS`).
        setting: &'static str,
        /// The file path or `env: NAME`.
        origin: String,
        /// The value as written.
        value: String,
    },
}

/// One setting: Ansible's name, its `[defaults]` key and its environment variable.
struct Setting(&'static str, &'static str, &'static str);

const INVENTORY: Setting = Setting("DEFAULT_HOST_LIST", "inventory", "ANSIBLE_INVENTORY");
const HOST_KEY_CHECKING: Setting = Setting(
    "HOST_KEY_CHECKING",
    "host_key_checking",
    "ANSIBLE_HOST_KEY_CHECKING",
);
const FORKS: Setting = Setting("DEFAULT_FORKS", "forks", "ANSIBLE_FORKS");
const REMOTE_USER: Setting = Setting("DEFAULT_REMOTE_USER", "remote_user", "ANSIBLE_REMOTE_USER");
const PRIVATE_KEY_FILE: Setting = Setting(
    "DEFAULT_PRIVATE_KEY_FILE",
    "private_key_file",
    "ANSIBLE_PRIVATE_KEY_FILE",
);
const ROLES_PATH: Setting = Setting("DEFAULT_ROLES_PATH", "roles_path", "ANSIBLE_ROLES_PATH");
const TIMEOUT: Setting = Setting("DEFAULT_TIMEOUT", "timeout", "ANSIBLE_TIMEOUT");
const HOME: Setting = Setting("ANSIBLE_HOME", "home", "ANSIBLE_HOME");
const BECOME: Setting = Setting(
    "DEFAULT_BECOME",
    "privilege_escalation.become",
    "ANSIBLE_BECOME",
);
const BECOME_USER: Setting = Setting(
    "DEFAULT_BECOME_USER",
    "privilege_escalation.become_user",
    "ANSIBLE_BECOME_USER",
);
const BECOME_METHOD: Setting = Setting(
    "DEFAULT_BECOME_METHOD",
    "privilege_escalation.become_method",
    "ANSIBLE_BECOME_METHOD",
);
const BECOME_ASK_PASS: Setting = Setting(
    "DEFAULT_BECOME_ASK_PASS",
    "privilege_escalation.become_ask_pass",
    "ANSIBLE_BECOME_ASK_PASS",
);
const VAULT_PASSWORD_FILE: Setting = Setting(
    "DEFAULT_VAULT_PASSWORD_FILE",
    "vault_password_file",
    "ANSIBLE_VAULT_PASSWORD_FILE",
);
const VAULT_IDENTITY_LIST: Setting = Setting(
    "DEFAULT_VAULT_IDENTITY_LIST",
    "vault_identity_list",
    "ANSIBLE_VAULT_IDENTITY_LIST",
);
const VAULT_ENCRYPT_IDENTITY: Setting = Setting(
    "DEFAULT_VAULT_ENCRYPT_IDENTITY",
    "vault_encrypt_identity",
    "ANSIBLE_VAULT_ENCRYPT_IDENTITY",
);
const VAULT_ID_MATCH: Setting = Setting(
    "DEFAULT_VAULT_ID_MATCH",
    "vault_id_match",
    "ANSIBLE_VAULT_ID_MATCH",
);

const LOCALHOST_WARNING: Setting = Setting(
    "LOCALHOST_WARNING",
    "localhost_warning",
    "ANSIBLE_LOCALHOST_WARNING",
);
const INVENTORY_UNPARSED_WARNING: Setting = Setting(
    "INVENTORY_UNPARSED_WARNING",
    "inventory.inventory_unparsed_warning",
    "ANSIBLE_INVENTORY_UNPARSED_WARNING",
);
const FORCE_HANDLERS: Setting = Setting(
    "DEFAULT_FORCE_HANDLERS",
    "force_handlers",
    "ANSIBLE_FORCE_HANDLERS",
);
const GATHERING: Setting = Setting("DEFAULT_GATHERING", "gathering", "ANSIBLE_GATHERING");
const HASH_BEHAVIOUR: Setting = Setting(
    "DEFAULT_HASH_BEHAVIOUR",
    "hash_behaviour",
    "ANSIBLE_HASH_BEHAVIOUR",
);
const ANY_ERRORS_FATAL: Setting = Setting(
    "ANY_ERRORS_FATAL",
    "any_errors_fatal",
    "ANSIBLE_ANY_ERRORS_FATAL",
);
const STRATEGY: Setting = Setting("DEFAULT_STRATEGY", "strategy", "ANSIBLE_STRATEGY");
const REMOTE_PORT: Setting = Setting("DEFAULT_REMOTE_PORT", "remote_port", "ANSIBLE_REMOTE_PORT");
const VERBOSITY: Setting = Setting("DEFAULT_VERBOSITY", "verbosity", "ANSIBLE_VERBOSITY");
const DISPLAY_SKIPPED_HOSTS: Setting = Setting(
    "DISPLAY_SKIPPED_HOSTS",
    "display_skipped_hosts",
    "ANSIBLE_DISPLAY_SKIPPED_HOSTS",
);
const DISPLAY_OK_HOSTS: Setting = Setting(
    "DISPLAY_OK_HOSTS",
    "display_ok_hosts",
    "ANSIBLE_DISPLAY_OK_HOSTS",
);
const DEPRECATION_WARNINGS: Setting = Setting(
    "DEPRECATION_WARNINGS",
    "deprecation_warnings",
    "ANSIBLE_DEPRECATION_WARNINGS",
);
const DISPLAY_FAILED_STDERR: Setting = Setting(
    "DISPLAY_FAILED_STDERR",
    "display_failed_stderr",
    "ANSIBLE_DISPLAY_FAILED_STDERR",
);
const SHOW_PER_HOST_START: Setting = Setting(
    "SHOW_PER_HOST_START",
    "show_per_host_start",
    "ANSIBLE_SHOW_PER_HOST_START",
);
const CHECK_MODE_MARKERS: Setting = Setting(
    "CHECK_MODE_MARKERS",
    "check_mode_markers",
    "ANSIBLE_CHECK_MODE_MARKERS",
);
const SHOW_TASK_PATH_ON_FAILURE: Setting = Setting(
    "SHOW_TASK_PATH_ON_FAILURE",
    "show_task_path_on_failure",
    "ANSIBLE_SHOW_TASK_PATH_ON_FAILURE",
);
const CALLBACK_RESULT_FORMAT: Setting = Setting(
    "result_format",
    "callback_result_format",
    "ANSIBLE_CALLBACK_RESULT_FORMAT",
);
const CALLBACK_FORMAT_PRETTY: Setting = Setting(
    "pretty_results",
    "callback_format_pretty",
    "ANSIBLE_CALLBACK_FORMAT_PRETTY",
);
const STDOUT_CALLBACK: Setting = Setting(
    "DEFAULT_STDOUT_CALLBACK",
    "stdout_callback",
    "ANSIBLE_STDOUT_CALLBACK",
);
const RETRY_FILES_ENABLED: Setting = Setting(
    "RETRY_FILES_ENABLED",
    "retry_files_enabled",
    "ANSIBLE_RETRY_FILES_ENABLED",
);
const RETRY_FILES_SAVE_PATH: Setting = Setting(
    "RETRY_FILES_SAVE_PATH",
    "retry_files_save_path",
    "ANSIBLE_RETRY_FILES_SAVE_PATH",
);
const SSH_COMMON_ARGS: Setting = Setting(
    "ssh_common_args",
    "ssh_connection.ssh_common_args",
    "ANSIBLE_SSH_COMMON_ARGS",
);

/// A raw value and whether it came from the file, which decides how relative paths resolve.
struct Raw {
    value: String,
    from_file: bool,
}

/// The pieces every lookup needs.
struct Context<'a> {
    cwd: &'a Path,
    home: Option<&'a Path>,
    env: &'a dyn Fn(&str) -> Option<String>,
    path: Option<PathBuf>,
    defaults: HashMap<String, String>,
}

impl Config {
    /// Finds and reads the configuration for this process (its working directory, `$HOME`, environment).
    pub fn load() -> Result<Config, ConfigError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Config::load_from(&cwd, home.as_deref(), &|name| std::env::var(name).ok())
    }

    /// [`Config::load`] with the working directory, home directory and environment given.
    pub fn load_from(
        cwd: &Path,
        home: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        load_with(cwd, home, env, Path::new(SYSTEM_CONFIG))
    }
}

fn load_with(
    cwd: &Path,
    home: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    system: &Path,
) -> Result<Config, ConfigError> {
    let mut warnings = Vec::new();
    let path = find_file(cwd, home, env, system, &mut warnings);
    let defaults = match &path {
        Some(path) => read_defaults(path)?,
        None => HashMap::new(),
    };
    let cx = Context {
        cwd,
        home,
        env,
        path: path.clone(),
        defaults,
    };
    let inventory = match cx.raw(&INVENTORY) {
        Some(raw) => raw
            .value
            .split(',')
            .map(|p| cx.resolve(p.trim(), raw.from_file))
            .map(|p| p.display().to_string())
            .collect(),
        None => vec!["/etc/ansible/hosts".to_string()],
    };
    let host_key_checking = cx
        .raw(&HOST_KEY_CHECKING)
        .is_none_or(|raw| boolean(&raw.value));
    let forks = cx.integer(&FORKS)?;
    let timeout = cx.integer(&TIMEOUT)?;
    let remote_user = cx.raw(&REMOTE_USER).map(|raw| {
        if raw.from_file {
            unquote(&raw.value).to_string()
        } else {
            raw.value
        }
    });
    let private_key_file = cx
        .raw(&PRIVATE_KEY_FILE)
        .map(|raw| cx.resolve(&raw.value, raw.from_file).display().to_string());
    let roles_path = match cx.raw(&ROLES_PATH) {
        Some(raw) => raw
            .value
            .split(':')
            .map(|p| cx.resolve(p, raw.from_file))
            .collect(),
        None => {
            let home = match cx.raw(&HOME) {
                Some(raw) => cx.resolve(&raw.value, raw.from_file),
                None => cx.resolve("~/.ansible", false),
            };
            vec![
                home.join("roles"),
                PathBuf::from("/usr/share/ansible/roles"),
                PathBuf::from("/etc/ansible/roles"),
            ]
        }
    };
    let vault_password_file = cx
        .raw(&VAULT_PASSWORD_FILE)
        .filter(|raw| !raw.value.is_empty())
        .map(|raw| cx.resolve(&raw.value, raw.from_file).display().to_string());
    let vault_identity_list = cx
        .raw(&VAULT_IDENTITY_LIST)
        .map(|raw| {
            raw.value
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let vault_encrypt_identity = cx
        .raw(&VAULT_ENCRYPT_IDENTITY)
        .map(|raw| raw.value.trim().to_string())
        .filter(|v| !v.is_empty());
    let vault_id_match = cx
        .raw(&VAULT_ID_MATCH)
        .is_some_and(|raw| boolean(&raw.value));
    let text_setting = |setting: &Setting| {
        cx.raw(setting)
            .map(|raw| raw.value.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let flag = |setting: &Setting, default: bool| {
        cx.raw(setting).map_or(default, |raw| boolean(&raw.value))
    };
    // A setting that takes one of `choices` (the first is its default).
    // A setting that takes one of `choices` (the first is its default), its value given as read (`None`: unset).
    let choose = |setting: &Setting,
                  value: Option<String>,
                  choices: &'static str|
     -> Result<String, ConfigError> {
        let default = choices.split(", ").next().unwrap_or_default();
        let value = value.unwrap_or_else(|| default.to_string());
        if choices.split(", ").any(|c| c == value) {
            Ok(value)
        } else {
            Err(ConfigError::Choice {
                setting: setting.0,
                value,
                choices,
            })
        }
    };
    let choice =
        |setting: &Setting, choices: &'static str| choose(setting, text_setting(setting), choices);
    let gathering = choice(&GATHERING, "implicit, explicit, smart")?;
    let callback_result_format = choice(&CALLBACK_RESULT_FORMAT, "json, yaml")?;
    // A callback may be named by its collection too.
    let stdout_callback = choose(
        &STDOUT_CALLBACK,
        text_setting(&STDOUT_CALLBACK)
            .map(|name| name.trim_start_matches("ansible.builtin.").to_string()),
        "default, minimal, oneline",
    )?;
    let hash_behaviour = choice(&HASH_BEHAVIOUR, "replace, merge")?;
    Ok(Config {
        merge_hashes: hash_behaviour == "merge",
        localhost_warning: flag(&LOCALHOST_WARNING, true),
        inventory_unparsed_warning: flag(&INVENTORY_UNPARSED_WARNING, true),
        force_handlers: flag(&FORCE_HANDLERS, false),
        gather_by_default: gathering != "explicit",
        any_errors_fatal: flag(&ANY_ERRORS_FATAL, false),
        strategy: text_setting(&STRATEGY),
        remote_port: cx.integer(&REMOTE_PORT)?,
        verbosity: cx.integer(&VERBOSITY)?.unwrap_or(0),
        display_skipped_hosts: flag(&DISPLAY_SKIPPED_HOSTS, true),
        display_ok_hosts: flag(&DISPLAY_OK_HOSTS, true),
        deprecation_warnings: flag(&DEPRECATION_WARNINGS, true),
        display_failed_stderr: flag(&DISPLAY_FAILED_STDERR, false),
        show_per_host_start: flag(&SHOW_PER_HOST_START, false),
        check_mode_markers: flag(&CHECK_MODE_MARKERS, false),
        show_task_path_on_failure: flag(&SHOW_TASK_PATH_ON_FAILURE, false),
        callback_result_format,
        callback_format_pretty: cx
            .raw(&CALLBACK_FORMAT_PRETTY)
            .filter(|raw| !raw.value.trim().is_empty())
            .map(|raw| boolean(&raw.value)),
        stdout_callback,
        retry_files_enabled: flag(&RETRY_FILES_ENABLED, false),
        retry_files_save_path: cx
            .raw(&RETRY_FILES_SAVE_PATH)
            .filter(|raw| !raw.value.trim().is_empty())
            .map(|raw| cx.resolve(raw.value.trim(), raw.from_file)),
        ssh_common_args: cx.raw(&SSH_COMMON_ARGS).map(|raw| raw.value),
        escalate: cx.raw(&BECOME).is_some_and(|raw| boolean(&raw.value)),
        become_user: text_setting(&BECOME_USER),
        become_method: text_setting(&BECOME_METHOD),
        become_ask_pass: cx
            .raw(&BECOME_ASK_PASS)
            .is_some_and(|raw| boolean(&raw.value)),
        path,
        vault_password_file,
        vault_identity_list,
        vault_encrypt_identity,
        vault_id_match,
        inventory,
        host_key_checking,
        forks,
        remote_user,
        private_key_file,
        roles_path,
        timeout,
        warnings,
    })
}

/// Ansible's `find_ini_config_file`.
fn find_file(
    cwd: &Path,
    home: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    system: &Path,
    warnings: &mut Vec<String>,
) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    let from_env = env("ANSIBLE_CONFIG").map(|value| {
        let path = absolute(&expand(&value, cwd, home, env), cwd);
        if path.is_dir() {
            path.join("ansible.cfg")
        } else {
            path
        }
    });
    candidates.extend(from_env.clone());
    let mut skipped_cwd = false;
    let cwd_cfg = cwd.join("ansible.cfg");
    if let Ok(meta) = std::fs::metadata(cwd) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o002 != 0 {
            skipped_cwd = cwd_cfg.exists();
        } else {
            candidates.push(cwd_cfg);
        }
    }
    if let Some(home) = home {
        candidates.push(home.join(".ansible.cfg"));
    }
    candidates.push(system.to_path_buf());
    let found = candidates
        .into_iter()
        .find(|p| p.exists() && std::fs::File::open(p).is_ok());
    if skipped_cwd && (from_env.is_none() || from_env != found) {
        warnings.push(format!(
            "Ansible is being run in a world writable directory ({}), ignoring it as an ansible.cfg source. \
             For more information see \
             https://docs.ansible.com/ansible/devel/reference_appendices/config.html#cfg-in-world-writable-dir",
            cwd.display()
        ));
    }
    found
}

/// The `[defaults]` section, keys lowercased as `configparser` does; a repeated key or section, or a
/// key before any section, is an error as in Python's strict parser.
fn read_defaults(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let extension = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    if extension != ".cfg" && extension != ".ini" {
        return Err(ConfigError::Extension {
            path: path.to_path_buf(),
            extension,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |line: Option<usize>, message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let options = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: true,
        enabled_preserve_key_leading_whitespace: false,
    };
    let parsed = ini::Ini::load_from_str_opt(&strip_comments(&text), options)
        .map_err(|e| parse_error(Some(e.line), e.msg.to_string()))?;
    if parsed
        .section(None::<String>)
        .is_some_and(|p| !p.is_empty())
    {
        return Err(parse_error(
            Some(1),
            "File contains no section headers.".into(),
        ));
    }
    let exists = |what: String| parse_error(None, format!("{what} already exists"));
    let mut out = HashMap::new();
    // `[defaults]` keys as they are; those of the other sections read as `SECTION.KEY`.
    for (name, prefix) in [
        ("defaults", ""),
        ("privilege_escalation", "privilege_escalation."),
        ("inventory", "inventory."),
        ("ssh_connection", "ssh_connection."),
    ] {
        let mut sections = parsed.section_all(Some(name));
        let Some(section) = sections.next() else {
            continue;
        };
        if sections.next().is_some() {
            return Err(exists(format!("section '{name}'")));
        }
        for (key, value) in section.iter() {
            let key = key.to_lowercase();
            if out
                .insert(format!("{prefix}{key}"), value.to_string())
                .is_some()
            {
                return Err(exists(format!("option '{key}' in section '{name}'")));
            }
        }
    }
    Ok(out)
}

/// Blanks comment lines (`#` or `;` first, indented or not) and cuts `;` comments that follow a blank,
/// keeping the line count so parse errors point at the right line.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            out.push('\n');
            continue;
        }
        let blank_before = |i: usize| line[..i].ends_with(char::is_whitespace);
        let cut = line
            .match_indices(';')
            .map(|(i, _)| i)
            .find(|i| blank_before(*i));
        let cut = cut.unwrap_or(line.len());
        out.push_str(line[..cut].trim_end());
        out.push('\n');
    }
    out
}

impl Context<'_> {
    /// The environment variable if set (even empty), else the file's `[defaults]` key.
    fn raw(&self, setting: &Setting) -> Option<Raw> {
        let env = (self.env)(setting.2).map(|value| Raw {
            value,
            from_file: false,
        });
        let file = || self.defaults.get(setting.1).map(|v| (v.clone(), true));
        env.or_else(|| file().map(|(value, from_file)| Raw { value, from_file }))
    }

    /// An integer setting as Python's `Decimal` reads it (`5`, ` 5 `, `5.0`); an empty environment
    /// variable means the default, as in Ansible.
    fn integer<T: TryFrom<i64>>(
        &self,
        setting: &'static Setting,
    ) -> Result<Option<T>, ConfigError> {
        let Some(raw) = self.raw(setting) else {
            return Ok(None);
        };
        if !raw.from_file && raw.value.is_empty() {
            return Ok(None);
        }
        let text = raw.value.trim();
        let number = text.parse::<i64>().ok().or_else(|| {
            text.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        });
        number
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| ConfigError::InvalidValue {
                setting: setting.0,
                origin: match (&self.path, raw.from_file) {
                    (Some(path), true) => path.display().to_string(),
                    _ => format!("env: {}", setting.2),
                },
                value: raw.value.clone(),
            })
    }

    /// Ansible's `resolve_path`: relative to the config file's directory for file values, else the cwd.
    fn resolve(&self, value: &str, from_file: bool) -> PathBuf {
        let expanded = expand(value, self.cwd, self.home, self.env);
        let base = match (&self.path, from_file) {
            (Some(file), true) => file.parent().map_or(self.cwd.to_path_buf(), |d| {
                absolute(&d.display().to_string(), self.cwd)
            }),
            _ => self.cwd.to_path_buf(),
        };
        absolute(&expanded, &base)
    }
}

/// `{{CWD}}`, then `$VAR`/`${VAR}` (unset ones stay), then a leading `~` or `~/`.
fn expand(
    value: &str,
    cwd: &Path,
    home: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    let value = value.replace("{{CWD}}", &cwd.display().to_string());
    let mut out = String::new();
    let mut rest = value.as_str();
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match env(name).filter(|_| !name.is_empty()) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[at..at + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    match (home, out.strip_prefix('~')) {
        (Some(home), Some(tail)) if tail.is_empty() || tail.starts_with('/') => {
            format!("{}{tail}", home.display())
        }
        _ => out,
    }
}

/// Joined to `base` when relative, then normalized by name as Python's `os.path.normpath`.
fn absolute(path: &str, base: &Path) -> PathBuf {
    let joined = base.join(path);
    let mut out = PathBuf::from("/");
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Ansible's non-strict `boolean`: `y`, `yes`, `on`, `1`, `true`, `t` (any case) are true, the rest false.
fn boolean(value: &str) -> bool {
    matches!(
        value.trim().to_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t"
    )
}

/// Ansible's `unquote`: one pair of matching quotes around the whole value comes off.
fn unquote(value: &str) -> &str {
    let bytes = value.as_bytes();
    let quoted = bytes.len() > 1
        && bytes[0] == bytes[bytes.len() - 1]
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 2] != b'\\';
    if quoted {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory that is not world-writable (the system temp dir is).
    fn scratch() -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("playbook-config-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("home/sub")).expect("temp dir is writable");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        dir
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("temp dir is writable");
    }

    fn load(dir: &Path, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |name: &str| vars.get(name).cloned();
        load_with(dir, Some(&dir.join("home")), &env, &dir.join("system.cfg"))
    }

    fn error(dir: &Path, vars: &[(&str, &str)]) -> String {
        load(dir, vars).map_or_else(|e| e.to_string(), |c| panic!("should fail: {c:?}"))
    }

    #[test]
    fn defaults_without_a_file() {
        let dir = scratch();
        let config = load(&dir, &[]).expect("no file is fine");
        assert_eq!(config.path, None);
        assert_eq!(config.inventory, ["/etc/ansible/hosts"]);
        assert!(config.host_key_checking);
        assert_eq!((config.forks, config.timeout), (None, None));
        assert_eq!(config.roles_path[0], dir.join("home/.ansible/roles"));
        assert_eq!(config.roles_path[2], Path::new("/etc/ansible/roles"));
    }

    #[test]
    fn file_values_and_paths_relative_to_the_file() {
        // As `ANSIBLE_CONFIG=sub ansible-config dump --only-changed` (ansible-core 2.19) shows them.
        let dir = scratch();
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        write(
            &dir,
            "sub/ansible.cfg",
            "[defaults]\nInventory = hosts, ../other ; comment\nforks=7\nhost_key_checking = off\n\
             roles_path = roles:~/r:/abs\ntimeout = 3\nremote_user = \"bob\"\n  # indented comment\n\
             private_key_file = $HOME/k # not a comment\n[other]\nforks = x\n",
        );
        let home = dir.join("home").display().to_string();
        let config = load(&dir, &[("ANSIBLE_CONFIG", "sub"), ("HOME", &home)]).expect("valid");
        assert_eq!(config.path, Some(dir.join("sub/ansible.cfg")));
        let (sub, top) = (dir.join("sub/hosts"), dir.join("other"));
        let expected = [sub.display().to_string(), top.display().to_string()];
        assert_eq!(config.inventory, expected);
        assert_eq!((config.forks, config.timeout), (Some(7), Some(3)));
        assert!(!config.host_key_checking);
        let roles = [
            dir.join("sub/roles"),
            dir.join("home/r"),
            PathBuf::from("/abs"),
        ];
        assert_eq!(config.roles_path, roles);
        assert_eq!(config.remote_user.as_deref(), Some("bob"));
        let key = format!("{home}/k # not a comment");
        assert_eq!(config.private_key_file, Some(key));
    }

    #[test]
    fn environment_overrides_the_file_and_resolves_against_the_cwd() {
        let dir = scratch();
        write(
            &dir,
            "ansible.cfg",
            "[defaults]\nforks = 7\ninventory = a\n",
        );
        let env = [
            ("ANSIBLE_FORKS", "9"),
            ("ANSIBLE_INVENTORY", "h1,h2"),
            ("ANSIBLE_HOST_KEY_CHECKING", "False"),
            ("ANSIBLE_REMOTE_USER", "\"quoted\""),
            ("ANSIBLE_TIMEOUT", ""),
        ];
        let config = load(&dir, &env).expect("valid");
        assert_eq!(config.path, Some(dir.join("ansible.cfg")));
        assert_eq!(config.forks, Some(9));
        // Every entry is a path, host lists too: `ANSIBLE_INVENTORY=h1,h2` means two files, as in Ansible.
        let expected = [dir.join("h1"), dir.join("h2")].map(|p| p.display().to_string());
        assert_eq!(config.inventory, expected);
        assert!(!config.host_key_checking);
        assert_eq!(config.remote_user.as_deref(), Some("\"quoted\""));
        assert_eq!(config.timeout, None, "an empty variable means the default");
        let config = load(&dir, &[("ANSIBLE_HOST_KEY_CHECKING", "")]).expect("valid");
        assert!(
            !config.host_key_checking,
            "non-strict boolean: empty is false"
        );
    }

    #[test]
    fn search_order_env_then_cwd_then_home_then_system() {
        let dir = scratch();
        let forks = |vars: &[(&str, &str)]| load(&dir, vars).expect("valid").forks;
        write(&dir, "system.cfg", "[defaults]\nforks = 1\n");
        assert_eq!(forks(&[]), Some(1));
        write(&dir, "home/.ansible.cfg", "[defaults]\nforks = 2\n");
        assert_eq!(forks(&[]), Some(2));
        write(&dir, "ansible.cfg", "[defaults]\nforks = 3\n");
        assert_eq!(forks(&[]), Some(3));
        write(&dir, "mine.ini", "[defaults]\nforks = 4\n");
        assert_eq!(forks(&[("ANSIBLE_CONFIG", "mine.ini")]), Some(4));
        // A missing $ANSIBLE_CONFIG is passed over.
        assert_eq!(forks(&[("ANSIBLE_CONFIG", "nope.cfg")]), Some(3));
    }

    #[test]
    fn world_writable_cwd_is_skipped_with_a_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch();
        write(&dir, "ansible.cfg", "[defaults]\nforks = 3\n");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let config = load(&dir, &[]).expect("valid");
        assert_eq!((&config.path, config.forks), (&None, None));
        assert!(
            config.warnings[0].contains("world writable directory"),
            "{config:?}"
        );
    }

    #[test]
    fn malformed_files_are_errors_naming_them() {
        let dir = scratch();
        write(&dir, "ansible.cfg", "[defaults]\nforks = many\n");
        let e = error(&dir, &[]);
        assert!(
            e.contains("'DEFAULT_FORKS'") && e.contains("ansible.cfg"),
            "{e}"
        );
        write(&dir, "ansible.cfg", "forks = 1\n");
        let e = error(&dir, &[]);
        assert!(
            e.contains("no section headers") && e.contains("ansible.cfg"),
            "{e}"
        );
        write(&dir, "ansible.cfg", "[defaults]\nforks = 1\nForks = 2\n");
        let e = error(&dir, &[]);
        assert!(
            e.contains("option 'forks' in section 'defaults' already exists"),
            "{e}"
        );
        write(&dir, "x.conf", "[defaults]\n");
        let e = error(&dir, &[("ANSIBLE_CONFIG", "x.conf")]);
        assert!(
            e.contains("Unsupported configuration file extension"),
            "{e}"
        );
        std::fs::remove_file(dir.join("ansible.cfg")).expect("remove");
        let forks = load(&dir, &[("ANSIBLE_FORKS", "5.0")]).map(|c| c.forks);
        assert_eq!(forks.ok(), Some(Some(5)));
    }

    #[test]
    fn value_helpers() {
        assert!(boolean(" Yes ") && boolean("on") && boolean("1") && boolean("T"));
        assert!(!boolean("no") && !boolean("off") && !boolean("0") && !boolean("junk"));
        assert_eq!((unquote("'a'"), unquote("\"a")), ("a", "\"a"));
        assert_eq!(absolute("../x/./y", Path::new("/a/b")), Path::new("/a/x/y"));
        let env = |n: &str| (n == "V").then(|| "val".to_string());
        let expanded = expand("$V/${V}/$NOPE/~", Path::new("/"), None, &env);
        assert_eq!(expanded, "val/val/$NOPE/~");
    }

    #[test]
    fn run_and_output_settings_from_the_file_its_sections_and_the_environment() {
        let dir = scratch();
        let config = load(&dir, &[]).expect("valid");
        assert!(config.localhost_warning && config.inventory_unparsed_warning);
        assert!(
            config.gather_by_default && config.display_ok_hosts && config.display_skipped_hosts
        );
        assert!(!config.force_handlers && !config.any_errors_fatal && config.deprecation_warnings);
        assert_eq!(
            (config.remote_port, config.verbosity, config.strategy),
            (None, 0, None)
        );
        write(
            &dir,
            "ansible.cfg",
            "[defaults]\ngathering = explicit\nlocalhost_warning = False\nremote_port = 2200\nverbosity = 2\n\
             strategy = free\ndisplay_skipped_hosts = no\n[inventory]\ninventory_unparsed_warning = false\n\
             [ssh_connection]\nssh_common_args = -o ProxyJump=bastion\n",
        );
        let config = load(&dir, &[("ANSIBLE_FORCE_HANDLERS", "yes")]).expect("valid");
        assert!(!config.gather_by_default && !config.localhost_warning);
        assert!(!config.inventory_unparsed_warning && !config.display_skipped_hosts);
        assert!(config.force_handlers && config.display_ok_hosts);
        assert_eq!(config.remote_port, Some(2200));
        assert_eq!(config.verbosity, 2);
        assert_eq!(config.strategy.as_deref(), Some("free"));
        assert_eq!(
            config.ssh_common_args.as_deref(),
            Some("-o ProxyJump=bastion")
        );
        assert!(
            error(&dir, &[("ANSIBLE_GATHERING", "sometimes")])
                .contains("Invalid value 'sometimes' for configuration option 'DEFAULT_GATHERING'")
        );
        assert!(error(&dir, &[("ANSIBLE_REMOTE_PORT", "ssh")]).contains("DEFAULT_REMOTE_PORT"));
    }

    #[test]
    fn privilege_escalation_settings_from_their_section_and_the_environment() {
        let dir = scratch();
        write(
            &dir,
            "ansible.cfg",
            "[defaults]\nforks = 3\n[privilege_escalation]\nbecome = True\nbecome_user = admin\nbecome_ask_pass = yes\n",
        );
        let config = load(&dir, &[]).expect("valid");
        assert!(config.escalate && config.become_ask_pass);
        assert_eq!(config.become_user.as_deref(), Some("admin"));
        assert_eq!(config.become_method, None);
        let config = load(
            &dir,
            &[("ANSIBLE_BECOME_METHOD", "sudo"), ("ANSIBLE_BECOME", "no")],
        )
        .expect("valid");
        assert!(!config.escalate);
        assert_eq!(config.become_method.as_deref(), Some("sudo"));
        write(
            &dir,
            "ansible.cfg",
            "[privilege_escalation]\nbecome = 1\n[privilege_escalation]\nbecome = 0\n",
        );
        assert!(error(&dir, &[]).contains("section 'privilege_escalation' already exists"));
    }
}
