//! SSH through OpenSSH: our own ControlMaster per host that outlives the run, joined with the `openssh` crate.
//!
//! We start the master ourselves (`ssh -M -N -f`) rather than through `openssh::SessionBuilder`, whose master
//! runs with `BatchMode=yes` (no password possible) and removes its socket when dropped; a master kept for
//! `ControlPersist` seconds lets the next run start without a new connection. Prompts go to the askpass helper
//! (this binary), never to a terminal. Host keys are checked as `ssh` checks them unless the user turned that
//! off (`host_key_checking = False`), as in Ansible.

use super::askpass::{AskpassServer, HELPER_ENV};
use super::escalation::{self, Become, Spawned};
use super::{ConnectionError, RunnerSession, Start};
use crate::secret::Secret;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// How long a master stays after the last session ends.
pub const CONTROL_PERSIST_SECS: u64 = 60;

/// Where and how to reach one host.
#[derive(Debug, Clone)]
pub struct SshTarget {
    /// Inventory name, for messages.
    pub name: String,
    /// `ansible_host`.
    pub address: String,
    /// `ansible_port`.
    pub port: Option<u16>,
    /// `ansible_user` / `-u`.
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file` / `--private-key`.
    pub private_key: Option<String>,
    /// `ansible_password` / `--ask-pass`.
    pub password: Option<Secret>,
    /// `--ssh-common-args`, `ansible_ssh_common_args` and `ansible_ssh_extra_args`, split like a shell.
    pub extra_args: Vec<String>,
    /// `host_key_checking`.
    pub host_key_checking: bool,
    /// `--timeout`, seconds.
    pub timeout: u64,
}

impl SshTarget {
    /// A name for this master that changes when anything that shapes the connection changes.
    fn key(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.address.as_str(),
            &self.port.map(|p| p.to_string()).unwrap_or_default(),
            self.user.as_deref().unwrap_or(""),
            self.private_key.as_deref().unwrap_or(""),
            &self.extra_args.join("\u{1}"),
            if self.host_key_checking {
                "hkc"
            } else {
                "nohkc"
            },
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..10])
    }

    fn destination(&self) -> String {
        // ssh reads `[::1]` style only in some places; a bare IPv6 address is fine as a destination.
        self.address.clone()
    }
}

/// Quotes a word for a POSIX shell.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The runner's name on hosts: its hash, so a new version is a new file and an old one is never overwritten.
pub fn runner_id(runner: &[u8]) -> (String, String) {
    let full = playbook_runner::store::sha256_hex(runner);
    (full[..16].to_string(), full)
}

/// The bootstrap: exec the runner of this version from `~/.cache/playbook`, or say it is missing.
pub(super) fn boot_script(id: &str) -> String {
    format!(
        "umask 077; d=\"$HOME/.cache/playbook\"; r=\"$d/runner-{id}\"; \
         if [ -x \"$r\" ]; then exec \"$r\" serve --store \"$d/modules\"; fi; echo PLAYBOOK-NEED-RUNNER"
    )
}

/// Installs the runner from stdin (all of it, or exactly `size` bytes) into `~/.cache/playbook`, checked
/// against its SHA-256; prints `PLAYBOOK-UPLOADED` when it is in place.
pub(super) fn upload_script(id: &str, sha: &str, size: Option<usize>) -> String {
    let read = match size {
        Some(n) => format!("head -c {n}"),
        None => "cat".to_string(),
    };
    format!(
        "umask 077; d=\"$HOME/.cache/playbook\"; mkdir -p \"$d\" || exit 3; chmod 700 \"$d\" || exit 3; \
         t=\"$d/.runner-{id}.$$\"; {read} > \"$t\" || {{ rm -f \"$t\"; exit 3; }}; \
         echo \"{sha}  $t\" | sha256sum -c --status || {{ rm -f \"$t\"; echo 'the uploaded runner does not match its checksum' >&2; exit 4; }}; \
         chmod 700 \"$t\" && mv -f \"$t\" \"$d/runner-{id}\" && echo PLAYBOOK-UPLOADED"
    )
}

/// Connects (reusing a live master), installs the runner if the host lacks it, and starts a session; with
/// `escalate`, as the become user (see `escalation`).
pub async fn connect(
    target: &SshTarget,
    private_dir: &Path,
    askpass: Option<&AskpassServer>,
    runner: &[u8],
    escalate: Option<&Become>,
) -> Result<RunnerSession, ConnectionError> {
    if runner.is_empty() {
        return Err(ConnectionError::Local(
            "this playbook binary was built without its runner (PLAYBOOK_EMBED_SKIP)".into(),
        ));
    }
    let key = target.key();
    let control = private_dir.join("cp");
    std::fs::create_dir_all(&control)
        .map_err(|e| ConnectionError::Local(format!("{}: {e}", control.display())))?;
    let socket = control.join(&key);
    let mut reused_failed = false;
    loop {
        let (master, new_connection) = {
            // Runs of the same user racing for one host must not start two masters on one socket.
            let _lock = lock(control.join(format!("{key}.lock"))).await?;
            master(target, &key, &socket, askpass).await?
        };
        match start_on(std::sync::Arc::new(master), target, runner, escalate).await {
            Ok(mut session) => {
                session.cost.new_connection = new_connection;
                return Ok(session);
            }
            // A master left by an earlier run can reach the end of its ControlPersist time just after it
            // answered our check: its channel is refused. Once, a new master then.
            Err(ConnectionError::Ssh(_)) if !new_connection && !reused_failed => {
                reused_failed = true;
                let _ = std::fs::remove_file(&socket);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Starts the runner over a master: installs it first if the host lacks it.
async fn start_on(
    session: std::sync::Arc<openssh::Session>,
    target: &SshTarget,
    runner: &[u8],
    escalate: Option<&Become>,
) -> Result<RunnerSession, ConnectionError> {
    if let Some(how) = escalate {
        let spawn = |command: String| {
            let session = std::sync::Arc::clone(&session);
            async move { spawn_over(session, command, &target.name).await }
        };
        let wait = Duration::from_secs(target.timeout.max(10) + 2);
        return escalation::start(spawn, how, runner, &target.name, wait).await;
    }
    let (id, sha) = runner_id(runner);
    let boot = boot_script(&id);
    if let Start::Runner(s) = start_runner(&session, &boot, target).await? {
        return Ok(*s);
    }
    upload(&session, &id, &sha, runner, target).await?;
    match start_runner(&session, &boot, target).await? {
        Start::Runner(mut s) => {
            s.cost.runner_uploaded = true;
            Ok(*s)
        }
        Start::NeedRunner => Err(ConnectionError::Runner(format!(
            "the runner was uploaded to {} but cannot be started from ~/.cache/playbook (is the home mounted noexec?)",
            target.name
        ))),
    }
}

/// An exclusive lock on a file, held until the returned file is dropped.
async fn lock(path: PathBuf) -> Result<std::fs::File, ConnectionError> {
    tokio::task::spawn_blocking(move || {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ConnectionError::Local(format!("{}: {e}", path.display())))?;
        // SAFETY: flock on a descriptor we own; it is released when the file is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(ConnectionError::Local(format!(
                "cannot lock {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            )));
        }
        Ok(file)
    })
    .await
    .map_err(|e| ConnectionError::Local(e.to_string()))?
}

/// A live master for the target: the one left by an earlier run, or a new one (`true`).
async fn master(
    target: &SshTarget,
    key: &str,
    socket: &Path,
    askpass: Option<&AskpassServer>,
) -> Result<(openssh::Session, bool), ConnectionError> {
    let resumed = openssh::Session::resume_mux(socket.into(), None);
    if socket.exists() {
        if resumed.check().await.is_ok() {
            return Ok((resumed, false));
        }
        // A master that died leaves its socket behind.
        let _ = std::fs::remove_file(socket);
    }
    let log = socket.with_extension("log");
    let _ = std::fs::remove_file(&log);
    let exe = std::env::current_exe().map_err(|e| {
        ConnectionError::Local(format!("cannot find this program for SSH_ASKPASS: {e}"))
    })?;
    let mut cmd = tokio::process::Command::new("ssh");
    cmd.arg("-M")
        .arg("-N")
        .arg("-f")
        .arg("-E")
        .arg(&log)
        .args(["-o", "ControlMaster=yes"])
        .arg("-o")
        .arg(format!("ControlPath={}", socket.display()))
        .arg("-o")
        .arg(format!("ControlPersist={CONTROL_PERSIST_SECS}"))
        .arg("-o")
        .arg(format!("ConnectTimeout={}", target.timeout))
        .args(["-o", "NumberOfPasswordPrompts=1"]);
    if target.password.is_none() {
        cmd.args([
            "-o",
            "PasswordAuthentication=no",
            "-o",
            "KbdInteractiveAuthentication=no",
        ]);
    }
    if !target.host_key_checking {
        cmd.args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ]);
    }
    if let Some(port) = target.port {
        cmd.arg("-p").arg(port.to_string());
    }
    if let Some(user) = &target.user {
        cmd.arg("-l").arg(user);
    }
    if let Some(key_file) = &target.private_key {
        cmd.arg("-i").arg(key_file);
    }
    cmd.args(&target.extra_args)
        .arg("--")
        .arg(target.destination());
    cmd.env("SSH_ASKPASS", exe)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env(HELPER_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // Everything ssh says goes to the -E log; a pipe here would stay open in the forked master.
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C meant for the run does not kill a master other runs may share.
        .process_group(0);
    if let (Some(server), Some(password)) = (askpass, &target.password) {
        server.register(key, password.clone());
        for (k, v) in server.env(key) {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ConnectionError::Ssh("the ssh program was not found; install OpenSSH's client (apt-get install openssh-client)".into())
        } else {
            ConnectionError::Ssh(format!("cannot run ssh: {e}"))
        }
    })?;
    let status = tokio::time::timeout(Duration::from_secs(target.timeout + 30), child.wait())
        .await
        .map_err(|_| {
            ConnectionError::Ssh(format!("ssh to {} did not finish connecting", target.name))
        })?
        .map_err(|e| ConnectionError::Ssh(e.to_string()))?;
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    if !status.success() {
        let refused = askpass.and_then(|s| s.refused_prompt(key));
        return Err(ConnectionError::Ssh(explain(target, &logged, refused)));
    }
    Ok((resumed, true))
}

/// Turns what ssh logged into one message, with what to do about it.
fn explain(target: &SshTarget, logged: &str, refused: Option<String>) -> String {
    let lines: Vec<&str> = logged
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Warning: Permanently added") && !l.starts_with("debug")
        })
        .collect();
    let said = lines.join(" ");
    let port = target.port.unwrap_or(22);
    if said.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        return format!(
            "the host key of {} has CHANGED since it was recorded in known_hosts. If the host was reinstalled, \
             remove the old key with `ssh-keygen -R {}` and connect again; otherwise someone may be intercepting \
             the connection.",
            target.address, target.address
        );
    }
    if said.contains("Host key verification failed")
        || refused.as_deref().is_some_and(|p| p.contains("yes/no"))
    {
        return format!(
            "Host key verification failed: the host key of {addr} (port {port}) is not in known_hosts. Add it \
             (`ssh-keyscan -p {port} {addr} >> ~/.ssh/known_hosts`, after checking its fingerprint) or set \
             host_key_checking = False (ANSIBLE_HOST_KEY_CHECKING=False) as in Ansible.",
            addr = target.address
        );
    }
    if said.is_empty() {
        return format!(
            "ssh exited without saying why while connecting to {}",
            target.address
        );
    }
    said
}

/// Runs a command line on the host over the master, with every pipe ours.
async fn spawn_over(
    session: std::sync::Arc<openssh::Session>,
    command: String,
    host: &str,
) -> Result<Spawned, ConnectionError> {
    let mut child = openssh::Session::to_raw_command(session, command)
        .stdin(openssh::Stdio::piped())
        .stdout(openssh::Stdio::piped())
        .stderr(openssh::Stdio::piped())
        .spawn()
        .await
        .map_err(|e| ConnectionError::Ssh(format!("cannot start a session on {host}: {e}")))?;
    let (Some(stdin), Some(stdout), Some(stderr)) = (
        child.stdin().take(),
        child.stdout().take(),
        child.stderr().take(),
    ) else {
        return Err(ConnectionError::Runner(
            "the SSH channel has no stdin/stdout/stderr".into(),
        ));
    };
    Ok(Spawned {
        stdin: Box::new(stdin),
        stdout: Box::new(stdout),
        stderr: Box::new(stderr),
        keep: Box::new(child),
    })
}

async fn start_runner(
    session: &std::sync::Arc<openssh::Session>,
    boot: &str,
    target: &SshTarget,
) -> Result<Start, ConnectionError> {
    let mut child = openssh::Session::to_raw_command(
        std::sync::Arc::clone(session),
        format!("/bin/sh -c {}", shell_quote(boot)),
    )
    .stdin(openssh::Stdio::piped())
    .stdout(openssh::Stdio::piped())
    .stderr(openssh::Stdio::null())
    .spawn()
    .await
    .map_err(|e| ConnectionError::Ssh(format!("cannot start a session on {}: {e}", target.name)))?;
    let (Some(stdin), Some(stdout)) = (child.stdin().take(), child.stdout().take()) else {
        return Err(ConnectionError::Runner(
            "the SSH channel has no stdin/stdout".into(),
        ));
    };
    let started = tokio::time::timeout(
        Duration::from_secs(target.timeout.max(10) * 3),
        RunnerSession::start(Box::new(stdout), Box::new(stdin), Box::new(child)),
    )
    .await
    .map_err(|_| {
        ConnectionError::Runner(format!("the runner on {} did not answer", target.name))
    })?;
    started.map_err(|e| match e {
        ConnectionError::Wire(w) => ConnectionError::Runner(format!(
            "the runner on {} could not be started ({w}); the host needs a writable home directory for \
             ~/.cache/playbook and an x86_64 Linux kernel",
            target.name
        )),
        other => other,
    })
}

async fn upload(
    session: &openssh::Session,
    id: &str,
    sha: &str,
    runner: &[u8],
    target: &SshTarget,
) -> Result<(), ConnectionError> {
    let script = upload_script(id, sha, None);
    let mut child = session
        .raw_command(format!("/bin/sh -c {}", shell_quote(&script)))
        .stdin(openssh::Stdio::piped())
        .stdout(openssh::Stdio::null())
        .stderr(openssh::Stdio::piped())
        .spawn()
        .await
        .map_err(|e| {
            ConnectionError::Ssh(format!("cannot upload the runner to {}: {e}", target.name))
        })?;
    // A script that fails early stops reading: the broken pipe is reported through its exit status below.
    let mut write_error = None;
    if let Some(mut stdin) = child.stdin().take() {
        if let Err(e) = stdin.write_all(runner).await {
            write_error = Some(e);
        }
        let _ = stdin.shutdown().await;
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr().take() {
        use tokio::io::AsyncReadExt;
        let _ = pipe.read_to_string(&mut stderr).await;
    }
    let status = child.wait().await.map_err(|e| {
        ConnectionError::Runner(format!(
            "uploading the runner to {} failed: {e}",
            target.name
        ))
    })?;
    if !status.success() {
        return Err(ConnectionError::Runner(format!(
            "cannot install the runner in ~/.cache/playbook on {}: {} (the user needs a writable home directory)",
            target.name,
            stderr.trim()
        )));
    }
    if let Some(e) = write_error {
        return Err(ConnectionError::Runner(format!(
            "uploading the runner to {} failed: {e}",
            target.name
        )));
    }
    Ok(())
}

/// The directory of master sockets, for tests and `playbook` housekeeping.
pub fn control_dir(private_dir: &Path) -> PathBuf {
    private_dir.join("cp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn unknown_host_keys_get_advice() {
        let target = SshTarget {
            name: "h".into(),
            address: "10.0.0.1".into(),
            port: Some(2222),
            user: None,
            private_key: None,
            password: None,
            extra_args: vec![],
            host_key_checking: true,
            timeout: 10,
        };
        let msg = explain(&target, "Host key verification failed.\n", None);
        assert!(msg.contains("ssh-keyscan -p 2222 10.0.0.1"), "{msg}");
        assert!(msg.contains("host_key_checking = False"), "{msg}");
    }
}
