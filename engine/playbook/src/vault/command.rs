//! `playbook vault`: what `ansible-vault` does (encrypt, decrypt, view, edit, create, rekey, encrypt_string),
//! with the same prompts, output and exit codes (1 for a failed operation, 5 for bad options).
//!
//! Two things are safer than in ansible-vault: files are replaced atomically (a temporary file beside them,
//! renamed over), never deleted first; and `edit`/`create` give the editor a file in memory-backed storage
//! (tmpfs), so the plaintext never reaches a disk.

use super::secrets::{self, Prompter, Purpose, VaultOptions};
use super::{Envelope, Keyring, VaultError, is_encrypted};
use crate::secret::Secret;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One `playbook vault` action and its own arguments.
#[derive(Debug, Clone)]
pub enum Action {
    /// Encrypt files in place (or `-`/nothing: standard input to standard output).
    Encrypt {
        /// The files.
        files: Vec<String>,
        /// `--output`.
        output: Option<String>,
    },
    /// Decrypt files in place (or standard input).
    Decrypt {
        /// The files.
        files: Vec<String>,
        /// `--output`.
        output: Option<String>,
    },
    /// Print decrypted files.
    View {
        /// The files.
        files: Vec<String>,
    },
    /// Decrypt into an editor, encrypt what it saves.
    Edit {
        /// The files.
        files: Vec<String>,
    },
    /// A new vault file, written in an editor.
    Create {
        /// The file.
        files: Vec<String>,
        /// `--skip-tty-check`.
        skip_tty_check: bool,
    },
    /// Encrypt files again with a new password.
    Rekey {
        /// The files.
        files: Vec<String>,
        /// `--new-vault-password-file`.
        new_password_file: Option<String>,
        /// `--new-vault-id`.
        new_vault_id: Option<String>,
    },
    /// Encrypt strings as `!vault` YAML values.
    EncryptString {
        /// The strings (`-` for standard input).
        strings: Vec<String>,
        /// `-p`/`--prompt`.
        prompt: bool,
        /// `--show-input`.
        show_input: bool,
        /// `-n`/`--name`, one per string.
        names: Vec<String>,
        /// `--stdin-name`.
        stdin_name: Option<String>,
        /// `--output`.
        output: Option<String>,
    },
}

/// A failed `playbook vault`: the message and ansible-vault's exit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// What went wrong.
    pub message: String,
    /// 1 for a failed operation, 5 for bad options.
    pub code: i32,
}

impl CommandError {
    fn failed(message: impl Into<String>) -> CommandError {
        CommandError {
            message: message.into(),
            code: 1,
        }
    }

    fn options(message: impl Into<String>) -> CommandError {
        CommandError {
            message: message.into(),
            code: 5,
        }
    }
}

impl From<secrets::SecretsError> for CommandError {
    fn from(e: secrets::SecretsError) -> CommandError {
        match e {
            secrets::SecretsError::BadId(_) => CommandError::options(e.to_string()),
            _ => CommandError::failed(e.to_string()),
        }
    }
}

/// The vault options and the settings that go with them.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Where passwords come from.
    pub options: VaultOptions,
    /// `--encrypt-vault-id`, else `vault_encrypt_identity`.
    pub encrypt_vault_id: Option<String>,
}

/// Runs one action. Warnings (a password source that failed while another worked) go to `warnings`.
pub fn run(
    action: &Action,
    settings: &Settings,
    prompt: &mut Prompter<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), CommandError> {
    let output_with_many = match action {
        Action::Encrypt { files, output } | Action::Decrypt { files, output } => {
            output.is_some() && files.len() > 1
        }
        _ => false,
    };
    if output_with_many {
        return Err(CommandError::options(
            "At most one input file may be used with the --output option",
        ));
    }
    match action {
        Action::Encrypt { files, output } => {
            let (label, secret) = encryption_secret(settings, prompt, warnings)?;
            if files.is_empty() && std::io::stdin().is_terminal() {
                eprintln!("Reading plaintext input from stdin");
            }
            for file in inputs(files) {
                let plain = read_input(&file)?;
                let text = super::encrypt(&plain, &secret, Some(&label))
                    .map_err(|e| CommandError::failed(e.to_string()))?;
                write_output(output.as_deref().unwrap_or(&file), text.as_bytes(), None)?;
            }
            if std::io::stdout().is_terminal() {
                eprintln!("Encryption successful");
            }
        }
        Action::Decrypt { files, output } => {
            let keyring = opening_keyring(settings, prompt, warnings)?;
            if files.is_empty() && std::io::stdin().is_terminal() {
                eprintln!("Reading ciphertext input from stdin");
            }
            for file in inputs(files) {
                let (plain, _, _) = decrypt_file(&keyring, &file)?;
                write_output(output.as_deref().unwrap_or(&file), &plain, None)?;
            }
            if std::io::stdout().is_terminal() {
                eprintln!("Decryption successful");
            }
        }
        Action::View { files } => {
            let keyring = opening_keyring(settings, prompt, warnings)?;
            for file in files {
                // ansible-vault names the file as given here, and by its real path everywhere else.
                let (plain, _, _) = decrypt_file(&keyring, file).map_err(|mut e| {
                    e.message = e.message.replace(&absolute(file), file);
                    e
                })?;
                show(&String::from_utf8_lossy(&plain));
            }
        }
        Action::Edit { files } => {
            let keyring = opening_keyring(settings, prompt, warnings)?;
            for file in files {
                edit(&keyring, file)?;
            }
        }
        Action::Create {
            files,
            skip_tty_check,
        } => {
            let [file] = files.as_slice() else {
                return Err(CommandError::options(
                    "ansible-vault create can take only one filename argument",
                ));
            };
            let (label, secret) = encryption_secret(settings, prompt, warnings)?;
            if !std::io::stdout().is_terminal() && !skip_tty_check {
                return Err(CommandError::options("not a tty, editor cannot be opened"));
            }
            create(file, &secret, &label)?;
        }
        Action::Rekey {
            files,
            new_password_file,
            new_vault_id,
        } => {
            let keyring = opening_keyring(settings, prompt, warnings)?;
            let new_options = VaultOptions {
                vault_ids: new_vault_id.iter().cloned().collect(),
                password_files: new_password_file.iter().cloned().collect(),
                ask: settings.options.ask,
                id_match: false,
            };
            let new = secrets::keyring(&new_options, Purpose::New, true, prompt, warnings)?;
            let (label, secret) = new
                .for_encryption(settings.encrypt_vault_id.as_deref())
                .ok_or_else(|| {
                    CommandError::options(
                        "A new vault password is required to use Ansible's Vault rekey",
                    )
                })?;
            for file in &inputs(files) {
                let (plain, _, _) = decrypt_file(&keyring, file)?;
                let text = super::encrypt(&plain, secret, Some(label))
                    .map_err(|e| CommandError::failed(e.to_string()))?;
                let keep = std::fs::metadata(file).ok();
                write_output(file, text.as_bytes(), keep.as_ref())?;
            }
            eprintln!("Rekey successful");
        }
        Action::EncryptString {
            strings,
            prompt: ask_string,
            show_input,
            names,
            stdin_name,
            output,
        } => {
            let read_stdin = strings.iter().any(|s| s == "-")
                || stdin_name.is_some()
                || (strings.is_empty() && !ask_string);
            if *ask_string && read_stdin {
                return Err(CommandError::options(
                    "The --prompt option is not supported if also reading input from stdin",
                ));
            }
            let (label, secret) = encryption_secret(settings, prompt, warnings)?;
            let values = plaintexts(
                strings,
                *ask_string,
                *show_input,
                names,
                stdin_name,
                read_stdin,
            )?;
            let many = values.len() > 1;
            let mut out = Vec::new();
            for (index, (text, source, name)) in values.into_iter().enumerate() {
                let vaulted = super::encrypt(text.expose().as_bytes(), &secret, Some(&label))
                    .map_err(|e| CommandError::failed(e.to_string()))?;
                if many {
                    match &name {
                        Some(name) => eprintln!(
                            "# The encrypted version of variable (\"{name}\", the string #{} from {source}).",
                            index + 1
                        ),
                        None => eprintln!(
                            "# The encrypted version of the string #{} from {source}.)",
                            index + 1
                        ),
                    }
                }
                out.push(vault_yaml(&vaulted, name.as_deref()));
            }
            out.push(String::new());
            write_output(
                output.as_deref().unwrap_or("-"),
                out.join("\n").as_bytes(),
                None,
            )?;
            if std::io::stdout().is_terminal() {
                eprintln!("Encryption successful");
            }
        }
    }
    Ok(())
}

/// The secrets that open vault text; a prompt when no source is given.
fn opening_keyring(
    settings: &Settings,
    prompt: &mut Prompter<'_>,
    warnings: &mut Vec<String>,
) -> Result<Keyring, CommandError> {
    let keyring = secrets::keyring(&settings.options, Purpose::Open, true, prompt, warnings)?;
    if keyring.is_empty() {
        return Err(CommandError::options(
            "A vault password is required to use Ansible's Vault",
        ));
    }
    Ok(keyring)
}

/// The one secret to encrypt with, and its label.
fn encryption_secret(
    settings: &Settings,
    prompt: &mut Prompter<'_>,
    warnings: &mut Vec<String>,
) -> Result<(String, Secret), CommandError> {
    let keyring = secrets::keyring(&settings.options, Purpose::New, true, prompt, warnings)?;
    let labels: Vec<&str> = keyring.labels().collect();
    if labels.len() > 1 && settings.encrypt_vault_id.is_none() {
        return Err(CommandError::options(format!(
            "The vault-ids {} are available to encrypt. Specify the vault-id to encrypt with --encrypt-vault-id",
            labels.join(",")
        )));
    }
    match keyring.for_encryption(settings.encrypt_vault_id.as_deref()) {
        Some((label, secret)) => Ok((label.to_string(), secret.clone())),
        None if keyring.is_empty() => Err(CommandError::options(
            "A vault password is required to use Ansible's Vault",
        )),
        None => Err(CommandError::failed(format!(
            "Did not find a match for --encrypt-vault-id={} in the known vault-ids {:?}",
            settings.encrypt_vault_id.as_deref().unwrap_or_default(),
            labels
        ))),
    }
}

/// The files to work on, each by its real path (a symlinked vault file is changed where it points, as
/// ansible-vault does); none means standard input.
fn inputs(files: &[String]) -> Vec<String> {
    if files.is_empty() {
        vec!["-".into()]
    } else {
        files.iter().map(|f| real_path(f)).collect()
    }
}

/// A file's path with its links resolved, or as given when it cannot be.
fn real_path(file: &str) -> String {
    std::fs::canonicalize(file)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.to_string())
}

fn read_input(file: &str) -> Result<Vec<u8>, CommandError> {
    let read = if file == "-" {
        let mut data = Vec::new();
        std::io::stdin().read_to_end(&mut data).map(|_| data)
    } else {
        std::fs::read(file)
    };
    read.map_err(|e| CommandError::failed(format!("Unable to read source file ({file}): {e}")))
}

/// Decrypts a file (or standard input); gives the plaintext, the file's envelope and the label of the secret
/// that opened it.
fn decrypt_file(
    keyring: &Keyring,
    file: &str,
) -> Result<(Vec<u8>, Envelope, String), CommandError> {
    let data = read_input(file)?;
    let fail = |e: VaultError| {
        let shown = if file == "-" {
            "-".to_string()
        } else {
            absolute(file)
        };
        CommandError::failed(format!("{e} for {shown}"))
    };
    if !is_encrypted(&data) {
        return Err(CommandError::failed(format!(
            "Input is not vault encrypted data. for {}",
            absolute(file)
        )));
    }
    let envelope = std::str::from_utf8(&data)
        .map_err(|_| VaultError::Format("vault text is ASCII".into()))
        .and_then(Envelope::parse)
        .map_err(fail)?;
    let (plain, label) = keyring.decrypt(&data).map_err(fail)?;
    Ok((plain, envelope, label))
}

fn absolute(file: &str) -> String {
    std::fs::canonicalize(file)
        .or_else(|_| std::path::absolute(file))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.to_string())
}

/// Writes `data` to standard output (`-`) or replaces `file` atomically: a private temporary file beside it,
/// renamed over it. New files are 0600 as ansible-vault makes them; `keep` carries an old file's mode and owner.
fn write_output(
    file: &str,
    data: &[u8],
    keep: Option<&std::fs::Metadata>,
) -> Result<(), CommandError> {
    if file == "-" {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(data)
            .and_then(|()| out.flush())
            .map_err(|e| CommandError::failed(format!("cannot write to standard output: {e}")));
    }
    let path = PathBuf::from(file);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let write = || -> std::io::Result<()> {
        let mut temp = None;
        for attempt in 0..100u32 {
            let candidate = dir.join(format!(".{name}.{}-{attempt}.tmp", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&candidate)
            {
                Ok(f) => {
                    temp = Some((candidate, f));
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        let (temp_path, mut f) =
            temp.ok_or_else(|| std::io::Error::other("no temporary file name free"))?;
        let result = (|| {
            f.write_all(data)?;
            if let Some(meta) = keep {
                f.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
                // Only root may give a file away; for anyone else the owner is already theirs.
                let _ = std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()));
            }
            f.sync_all()?;
            std::fs::rename(&temp_path, &path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp_path);
        }
        result
    };
    write().map_err(|e| CommandError::failed(format!("Unable to write {file}: {e}")))
}

/// Prints text as ansible-vault's `view` does when not paging: a newline added if it has none.
fn show(text: &str) {
    let pager = std::env::var("PAGER").ok().filter(|p| !p.is_empty());
    if std::io::stdout().is_terminal()
        && let Some(pager) = pager
    {
        let child = std::process::Command::new("sh")
            .args(["-c", &pager])
            .stdin(std::process::Stdio::piped())
            .spawn();
        if let Ok(mut child) = child {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            let _ = child.wait();
            return;
        }
    }
    if text.ends_with('\n') {
        crate::out!("{text}");
    } else {
        crate::outln!("{text}");
    }
}

/// `key: !vault |` and the vault text indented by 10, as ansible-vault prints it.
fn vault_yaml(vaulted: &str, name: Option<&str>) -> String {
    let mut lines = vec![match name {
        Some(name) => format!("{name}: !vault |"),
        None => "!vault |".to_string(),
    }];
    lines.extend(vaulted.lines().map(|l| format!("{:10}{l}", "")));
    lines.join("\n")
}

/// A string to encrypt, where it came from (for the messages that tell several apart) and its variable name.
type Plaintext = (Secret, &'static str, Option<String>);

/// The plaintexts of `encrypt_string`: from the prompt, standard input and the arguments, each with where it
/// came from and its variable name.
fn plaintexts(
    strings: &[String],
    ask: bool,
    show_input: bool,
    names: &[String],
    stdin_name: &Option<String>,
    read_stdin: bool,
) -> Result<Vec<Plaintext>, CommandError> {
    let mut values = Vec::new();
    if ask {
        let mut line = String::new();
        eprint!("Variable name (enter for no name): ");
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| CommandError::failed(e.to_string()))?;
        let name = line.trim_end_matches(['\r', '\n']).to_string();
        let text = if show_input {
            eprint!("String to encrypt:");
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| CommandError::failed(e.to_string()))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        } else {
            rpassword::prompt_password("String to encrypt (hidden): ")
                .map_err(|e| CommandError::failed(e.to_string()))?
        };
        if text.is_empty() {
            return Err(CommandError::options(
                "The plaintext provided from the prompt was empty, not encrypting",
            ));
        }
        values.push((
            Secret::new(text),
            "the interactive prompt",
            (!name.is_empty()).then_some(name),
        ));
    }
    if read_stdin {
        if std::io::stdout().is_terminal() {
            eprintln!(
                "Reading plaintext input from stdin. (ctrl-d to end input, twice if your content does not already have a newline)"
            );
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CommandError::failed(format!("cannot read standard input: {e}")))?;
        if text.is_empty() {
            return Err(CommandError::options("stdin was empty, not encrypting"));
        }
        values.push((Secret::new(text), "stdin", stdin_name.clone()));
    }
    let args: Vec<&String> = strings.iter().filter(|s| *s != "-").collect();
    if !names.is_empty() && args.len() > names.len() {
        eprintln!("The number of --name options do not match the number of args.");
        eprintln!(
            "The last named variable will be \"{}\". The rest will not have names.",
            names.last().map(String::as_str).unwrap_or_default()
        );
    }
    for (i, text) in args.into_iter().enumerate() {
        if text.is_empty() {
            return Err(CommandError::options(
                "The plaintext provided from the command line args was empty, not encrypting",
            ));
        }
        values.push((
            Secret::new(text.clone()),
            "the command line args",
            names.get(i).cloned(),
        ));
    }
    Ok(values)
}

/// A private directory in memory-backed storage for a decrypted file: `$XDG_RUNTIME_DIR` or `/dev/shm` when
/// they are tmpfs. Without one, editing is refused rather than writing plaintext to a disk.
fn memory_dir() -> Result<PathBuf, CommandError> {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    let in_memory = |dir: &Path| {
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
            return false;
        };
        // SAFETY: `c` is a valid NUL-terminated path and `stat` a properly sized, writable struct.
        let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::statfs(c.as_ptr(), &mut stat) } == 0;
        #[allow(clippy::unnecessary_cast)]
        let kind = stat.f_type as i64;
        ok && (kind == TMPFS_MAGIC || kind == RAMFS_MAGIC)
    };
    let candidates = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/dev/shm")]);
    for base in candidates {
        if !in_memory(&base) {
            continue;
        }
        for attempt in 0..100u32 {
            let dir = base.join(format!("playbook-vault-{}-{attempt}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(_) => break,
            }
        }
    }
    Err(CommandError::failed(
        "no memory-backed directory (tmpfs at $XDG_RUNTIME_DIR or /dev/shm) to hold the decrypted file for the \
         editor; playbook does not write plaintext to a disk",
    ))
}

use std::os::unix::fs::DirBuilderExt;

/// Opens `plain` in `$EDITOR` (default `vi`) and gives what it saved.
fn in_editor(file: &str, plain: &[u8]) -> Result<Vec<u8>, CommandError> {
    let dir = memory_dir()?;
    let extension = Path::new(file)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let temp = dir.join(format!("edit{extension}"));
    let result = (|| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .and_then(|mut f| f.write_all(plain))
            .map_err(|e| CommandError::failed(format!("cannot write {}: {e}", temp.display())))?;
        let editor = std::env::var("EDITOR").unwrap_or_else(|_| "vi".into());
        // Python's shlex.split, as ansible-vault splits $EDITOR.
        let mut words = shlex::split(&editor)
            .ok_or_else(|| CommandError::failed(format!("cannot split EDITOR={editor}")))?;
        if words.is_empty() {
            words.push("vi".into());
        }
        let status = std::process::Command::new(&words[0])
            .args(&words[1..])
            .arg(&temp)
            .status()
            .map_err(|e| {
                CommandError::failed(format!(
                    "Unable to execute the command \"{} {}\": {e}",
                    words.join(" "),
                    temp.display()
                ))
            })?;
        let _ = status;
        std::fs::read(&temp)
            .map_err(|e| CommandError::failed(format!("cannot read {}: {e}", temp.display())))
    })();
    let _ = std::fs::remove_file(&temp);
    let _ = std::fs::remove_dir(&dir);
    result
}

fn edit(keyring: &Keyring, file: &str) -> Result<(), CommandError> {
    let file = &real_path(file);
    let (plain, envelope, label) = decrypt_file(keyring, file)?;
    let edited = in_editor(file, &plain)?;
    if edited == plain {
        return Ok(());
    }
    let (_, secret) = keyring
        .for_encryption(Some(&label))
        .ok_or_else(|| CommandError::failed("the secret that opened the file is gone"))?;
    let text = super::encrypt(&edited, secret, envelope.vault_id.as_deref())
        .map_err(|e| CommandError::failed(e.to_string()))?;
    let keep = std::fs::metadata(file).ok();
    write_output(file, text.as_bytes(), keep.as_ref())
}

fn create(file: &str, secret: &Secret, label: &str) -> Result<(), CommandError> {
    let path = Path::new(file);
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        eprintln!("[WARNING]: {} does not exist, creating...", dir.display());
        std::fs::create_dir_all(dir)
            .map_err(|e| CommandError::failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    if path.is_file() {
        return Err(CommandError::failed(format!(
            "{file} exists, please use 'edit' instead"
        )));
    }
    let written = in_editor(file, b"")?;
    // ansible-vault saves whatever the editor left, an empty file too.
    let text = super::encrypt(&written, secret, Some(label))
        .map_err(|e| CommandError::failed(e.to_string()))?;
    write_output(file, text.as_bytes(), None)
}
