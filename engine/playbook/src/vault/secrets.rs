//! Where vault passwords come from, in ansible-core's order: `vault_identity_list` from the configuration, then
//! each `--vault-id [LABEL@]SOURCE`, then each `--vault-password-file` and `vault_password_file` (labelled
//! `default`), then a prompt for `--ask-vault-pass`. A source is `prompt`, a file (its content, stripped), an
//! executable script (its standard output), or a client script (`*-client[.ext]`, run with `--vault-id LABEL`).
//!
//! A password is only ever held as a [`Secret`]: read from the terminal, a file or a pipe, never put in argv or
//! the environment.

use super::{DEFAULT_ID, Keyring, is_encrypted};
use crate::secret::Secret;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The vault options of a command line and its configuration.
#[derive(Debug, Clone, Default)]
pub struct VaultOptions {
    /// `vault_identity_list` (ansible.cfg, `ANSIBLE_VAULT_IDENTITY_LIST`), then `--vault-id`, in order.
    pub vault_ids: Vec<String>,
    /// `--vault-password-file`, then `vault_password_file` (`ANSIBLE_VAULT_PASSWORD_FILE`).
    pub password_files: Vec<String>,
    /// `-J` / `--ask-vault-pass`.
    pub ask: bool,
    /// `vault_id_match`.
    pub id_match: bool,
}

/// Whether the passwords open existing vault text or make new vault text (asked twice, to confirm).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Decrypt: `Vault password: `.
    Open,
    /// Encrypt: `New Vault password: ` and `Confirm New Vault password: `.
    New,
}

/// Why no keyring could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// A vault id with `;`, which the header cannot hold.
    #[error("'{0}' is not a valid vault id. The character ';' is not allowed in vault ids")]
    BadId(String),
    /// An empty password.
    #[error("Invalid vault password was provided{0}")]
    Empty(String),
    /// The two prompted passwords differ.
    #[error("Passwords do not match")]
    Mismatch,
    /// The terminal could not be read.
    #[error("cannot read the vault password: {0}")]
    Prompt(String),
    /// A password file is missing, a directory, unreadable, or its script failed.
    #[error("{0}")]
    Source(String),
}

/// Reads a password at a prompt (the terminal in real use).
pub type Prompter<'a> = dyn FnMut(&str) -> std::io::Result<String> + 'a;

/// The terminal prompter: no echo, read from `/dev/tty`.
pub fn terminal_prompt(prompt: &str) -> std::io::Result<String> {
    rpassword::prompt_password(prompt)
}

/// Builds the keyring. With `auto_prompt`, no source at all means a prompt (as `ansible-vault` does;
/// `ansible-playbook` does not). Sources that fail are warnings while another one works, as in ansible-core.
pub fn keyring(
    options: &VaultOptions,
    purpose: Purpose,
    auto_prompt: bool,
    prompt: &mut Prompter<'_>,
    warnings: &mut Vec<String>,
) -> Result<Keyring, SecretsError> {
    let mut slugs = options.vault_ids.clone();
    for id in &slugs {
        if id.contains(';') {
            return Err(SecretsError::BadId(id.clone()));
        }
    }
    slugs.extend(
        options
            .password_files
            .iter()
            .map(|f| format!("{DEFAULT_ID}@{f}")),
    );
    if options.ask || (slugs.is_empty() && auto_prompt) {
        slugs.push(format!("{DEFAULT_ID}@prompt_ask_vault_pass"));
    }

    let mut keyring = Keyring {
        id_match: options.id_match,
        ..Keyring::default()
    };
    let mut last_error = None;
    for slug in slugs {
        let (label, source) = match slug.split_once('@') {
            Some((label, source)) => (Some(label.to_string()), source.to_string()),
            None => (None, slug.clone()),
        };
        let shown = label.clone().unwrap_or_else(|| "None".into());
        let label = label.unwrap_or_else(|| DEFAULT_ID.into());
        if source == "prompt" || source == "prompt_ask_vault_pass" {
            let secret = ask(&label, source == "prompt", purpose, prompt)?;
            keyring.add(label, secret);
            continue;
        }
        match from_file(&source, &label, &keyring) {
            Ok(secret) => keyring.add(label, secret),
            Err(e) => {
                warnings.push(format!("Error getting vault password file ({shown}): {e}"));
                last_error = Some(e);
            }
        }
    }
    match last_error {
        Some(e) if keyring.is_empty() => Err(e),
        _ => Ok(keyring),
    }
}

/// Asks at the terminal, twice for a new password.
fn ask(
    label: &str,
    with_label: bool,
    purpose: Purpose,
    prompt: &mut Prompter<'_>,
) -> Result<Secret, SecretsError> {
    // `--vault-id LABEL@prompt` names the label; `--ask-vault-pass` keeps the old prompt that tools match on.
    let prompts: Vec<String> = match (purpose, with_label) {
        (Purpose::Open, true) => vec![format!("Vault password ({label}): ")],
        (Purpose::Open, false) => vec!["Vault password: ".into()],
        (Purpose::New, true) => vec![
            format!("New vault password ({label}): "),
            format!("Confirm new vault password ({label}): "),
        ],
        (Purpose::New, false) => vec![
            "New Vault password: ".into(),
            "Confirm New Vault password: ".into(),
        ],
    };
    let mut first: Option<String> = None;
    for text in prompts {
        let answer = prompt(&text).map_err(|e| SecretsError::Prompt(e.to_string()))?;
        let answer = answer.trim().to_string();
        if answer.is_empty() {
            return Err(SecretsError::Empty(String::new()));
        }
        match &first {
            Some(f) if *f != answer => return Err(SecretsError::Mismatch),
            Some(_) => {}
            None => first = Some(answer),
        }
    }
    Ok(Secret::new(first.unwrap_or_default()))
}

/// `~` and `~/...` as the user's home.
fn expand_user(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{}{rest}", home.to_string_lossy()))
        }
        _ => PathBuf::from(path),
    }
}

/// A client script is one named `*-client` or `*-client.EXT`: it is told which vault id is wanted.
fn is_client_script(path: &str) -> bool {
    let path = Path::new(path);
    let stem = match path.extension() {
        Some(_) => path.file_stem(),
        None => path.file_name(),
    };
    stem.is_some_and(|s| s.to_string_lossy().ends_with("-client"))
}

/// A password from a file, or from the output of an executable one.
fn from_file(source: &str, label: &str, known: &Keyring) -> Result<Secret, SecretsError> {
    // Absolute, so that a script in the working directory runs as itself, not as a command on $PATH.
    let path = expand_user(source);
    let path = std::path::absolute(&path).unwrap_or(path);
    let meta = std::fs::metadata(&path).map_err(|_| {
        SecretsError::Source(format!(
            "The vault password file {} was not found",
            path.display()
        ))
    })?;
    if meta.is_dir() {
        return Err(SecretsError::Source(format!(
            "The vault password file provided '{}' can not be a directory",
            path.display()
        )));
    }
    if meta.permissions().mode() & 0o111 != 0 {
        return from_script(&path, is_client_script(source).then_some(label));
    }
    let bytes = std::fs::read(&path).map_err(|e| {
        SecretsError::Source(format!(
            "Could not read vault password file '{}': {e}",
            path.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        SecretsError::Source(format!(
            "The vault password file {} is not UTF-8 text",
            path.display()
        ))
    })?;
    let mut password = text.trim().to_string();
    // A password file may itself be vault text, opened by a secret given before it.
    if is_encrypted(password.as_bytes()) {
        password = known
            .decrypt_text(password.as_bytes())
            .map_err(|e| SecretsError::Source(format!("{e} for {}", path.display())))?;
    }
    let password = password.trim_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(SecretsError::Empty(format!(
            " from file ({})",
            path.display()
        )));
    }
    Ok(Secret::new(password))
}

/// A password from a script's standard output; a client script gets `--vault-id LABEL` and exits 2 when it
/// has no secret for that id.
fn from_script(path: &Path, client_label: Option<&str>) -> Result<Secret, SecretsError> {
    let mut command = Command::new(path);
    command.stdin(Stdio::inherit()).stdout(Stdio::piped());
    // A plain script's stderr stays on the terminal, so it can prompt there.
    command.stderr(if client_label.is_some() {
        Stdio::piped()
    } else {
        Stdio::inherit()
    });
    if let Some(label) = client_label {
        command.args(["--vault-id", label]);
    }
    let kind = if client_label.is_some() {
        "client script"
    } else {
        "script"
    };
    let output = command.output().map_err(|e| {
        SecretsError::Source(format!(
            "Problem running vault password {kind} {} ({e}). If this is not a script, remove the executable bit from the file.",
            path.display()
        ))
    })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    match (output.status.code(), client_label) {
        (Some(0), _) => {}
        (Some(2), Some(label)) => {
            return Err(SecretsError::Source(format!(
                "Vault password client script {} did not find a secret for vault-id={label}: {stderr}",
                path.display()
            )));
        }
        (code, _) => {
            let code = code.map_or_else(|| "signal".to_string(), |c| c.to_string());
            return Err(SecretsError::Source(format!(
                "Vault password {kind} {} returned non-zero ({code}): {stderr}",
                path.display()
            )));
        }
    }
    let text = String::from_utf8(output.stdout).map_err(|_| {
        SecretsError::Source(format!(
            "The vault password {kind} {} printed something that is not UTF-8",
            path.display()
        ))
    })?;
    let password = text.trim_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(SecretsError::Empty(format!(
            " from script ({})",
            path.display()
        )));
    }
    Ok(Secret::new(password))
}
