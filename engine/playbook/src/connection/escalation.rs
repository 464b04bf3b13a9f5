//! Privilege escalation: the runner started through `sudo` or `su` as another user, over SSH or on this
//! machine.
//!
//! A become session is a runner session of its own, started by the same bootstrap as any other but under
//! `sudo -H -S -u USER`, so it finds (or is given) the runner in the become user's `~/.cache/playbook`. The
//! password takes a guarded path: sudo is told to ask with a prompt unique to this session (`-p`), which it
//! writes to stderr; only when that exact prompt appears is the password written to sudo's stdin, which sudo
//! reads up to the newline before it executes the runner. The password is never in argv, the environment, a
//! file or a log. Without a password sudo runs with `-n`, so a host that wants one says so at once, as Ansible's
//! sudo plugin does.
//!
//! `su` reads its password from a terminal only, so it runs under `script`, which gives it one: su asks
//! `Password:` there (the C locale's words), the answer goes back through the same terminal, and once in, the
//! command makes the terminal raw (no echo, no line editing, bytes as they are) and says `PLAYBOOK-READY`
//! before the runner's frames start.

use super::{ConnectionError, Keepalive, RunnerSession, Start};
use crate::secret::Secret;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How to become another user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    /// `become_method`: only `sudo` is supported.
    pub method: String,
    /// `become_user` (`root` when unset).
    pub user: String,
    /// `become_exe` (`sudo` when unset).
    pub exe: String,
    /// `become_flags` (Ansible's default `-H -S -n`).
    pub flags: String,
    /// `ansible_become_password` / `-K`.
    pub password: Option<Secret>,
}

impl Become {
    /// A name for the sessions of this identity (the password is not part of it).
    pub fn key(&self) -> String {
        format!("{}:{}:{}:{}", self.method, self.exe, self.flags, self.user)
    }

    /// The command line that runs `script` (a POSIX shell script) as the become user. `prompt` is the unique
    /// prompt sudo asks with when a password is given.
    pub fn command(&self, script: &str, prompt: &str) -> Result<String, ConnectionError> {
        match self.method.as_str() {
            "sudo" => {}
            "su" => return self.su_command(script),
            other => {
                return Err(ConnectionError::Become(format!(
                    "become_method {other} is not supported yet; use sudo or su"
                )));
            }
        }
        let mut flags: Vec<String> = shlex::split(&self.flags).ok_or_else(|| {
            ConnectionError::Become(format!("cannot split become_flags: {}", self.flags))
        })?;
        if self.password.is_some() {
            // As Ansible's sudo plugin: a password means sudo may ask, so `-n` goes.
            flags.retain(|f| f != "-n" && f != "--non-interactive");
            for flag in &mut flags {
                if flag.starts_with('-') && !flag.starts_with("--") && flag.len() > 2 {
                    *flag = flag.replace('n', "");
                }
            }
            flags.push("-p".into());
            flags.push(prompt.into());
        }
        let mut words = vec![self.exe.clone()];
        words.extend(flags);
        words.extend(["-u".to_string(), self.user.clone()]);
        let quoted: Vec<String> = words.iter().map(|w| super::ssh::shell_quote(w)).collect();
        Ok(format!(
            "{} /bin/sh -c {}",
            quoted.join(" "),
            super::ssh::shell_quote(script)
        ))
    }
}

impl Become {
    /// `su [FLAGS] USER -c 'stty raw ...; echo PLAYBOOK-READY; SCRIPT'` on a terminal `script` makes.
    fn su_command(&self, script: &str) -> Result<String, ConnectionError> {
        let flags: Vec<String> = shlex::split(&self.flags).ok_or_else(|| {
            ConnectionError::Become(format!("cannot split become_flags: {}", self.flags))
        })?;
        // su runs the command with the become user's login shell, so the command is `/bin/sh -c` itself,
        // as Ansible's; it takes back the C locale that only su's prompt needed, and stops if the terminal
        // cannot be made raw (the runner's bytes would be mangled).
        let body =
            format!("unset LC_ALL; stty raw -echo -iexten || exit 1; echo {SU_READY}; {script}");
        let inner = format!("/bin/sh -c {}", super::ssh::shell_quote(&body));
        let mut words = vec![self.exe.clone()];
        words.extend(flags);
        words.extend([self.user.clone(), "-c".to_string(), inner]);
        let quoted: Vec<String> = words.iter().map(|w| super::ssh::shell_quote(w)).collect();
        Ok(format!(
            "env LC_ALL=C script -qec {} /dev/null",
            super::ssh::shell_quote(&quoted.join(" "))
        ))
    }
}

/// What the command under su prints when it is in and its terminal is raw.
const SU_READY: &str = "PLAYBOOK-READY";

/// Waits until the command under su says it is in, answering su's password prompt on the way (su and the
/// command share one terminal, so everything comes on stdout). Authentication failure, or su ending first, is
/// the error Ansible's su plugin gives.
async fn su_handshake(
    stdout: &mut (dyn AsyncRead + Unpin + Send),
    stdin: &mut (dyn AsyncWrite + Unpin + Send),
    password: Option<&Secret>,
    host: &str,
) -> Result<(), ConnectionError> {
    if password.is_some_and(|p| p.expose().contains(['\n', '\r'])) {
        return Err(ConnectionError::Become(
            "a su password cannot hold a line break: su reads it up to the first".into(),
        ));
    }
    let ready = format!("{SU_READY}\n");
    // Only the line being written is kept: a prompt is the end of a line, not a word inside one.
    let mut line: Vec<u8> = Vec::new();
    let mut everything = String::new();
    let mut answered = false;
    let mut byte = [0u8; 1];
    loop {
        let n = stdout
            .read(&mut byte)
            .await
            .map_err(|e| ConnectionError::Become(format!("become on {host}: {e}")))?;
        if n == 0 {
            if answered || everything.contains("Authentication failure") {
                return Err(ConnectionError::Become("Incorrect su password".into()));
            }
            return Err(ConnectionError::Become(format!(
                "become failed on {host}: {}",
                everything.trim()
            )));
        }
        line.push(byte[0]);
        if byte[0] == b'\n' {
            if line == ready.as_bytes() {
                return Ok(());
            }
            everything.push_str(&String::from_utf8_lossy(&line));
            line.clear();
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim_end().ends_with("assword:") {
            everything.push_str(&text);
            line.clear();
            // PAM writes the prompt, then flushes what was typed ahead: the answer waits a moment.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            answer(stdin, password, answered, "su", host).await?;
            answered = true;
        }
    }
}

/// Answers a password prompt: the password and a newline, written once. Asked again, the password was wrong;
/// asked without one, it is missing (in Ansible's words, naming the method).
async fn answer(
    stdin: &mut (dyn AsyncWrite + Unpin + Send),
    password: Option<&Secret>,
    asked_before: bool,
    method: &str,
    host: &str,
) -> Result<(), ConnectionError> {
    if asked_before {
        return Err(ConnectionError::Become(format!(
            "Incorrect {method} password"
        )));
    }
    let Some(password) = password else {
        return Err(ConnectionError::Become(format!(
            "Missing {method} password"
        )));
    };
    // su's answer goes through a terminal in line mode: control characters are quoted (^V) so that they are
    // typed, not acted on. sudo reads a pipe.
    let mut line = Vec::new();
    for byte in password.expose().bytes() {
        if method == "su" && (byte < 0x20 || byte == 0x7f) {
            line.push(0x16);
        }
        line.push(byte);
    }
    line.push(b'\n');
    let written = stdin.write_all(&line).await.and(stdin.flush().await);
    line.fill(0);
    written.map_err(|e| ConnectionError::Become(format!("become on {host}: {e}")))
}

/// A fresh prompt for one sudo invocation.
pub fn unique_prompt() -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::fill(&mut bytes);
    format!("[sudo via playbook, key={}] password:", hex::encode(bytes))
}

/// Messages sudo prints when it wants a password it was not given.
const MISSING: [&str; 2] = [
    "Sorry, a password is required to run sudo",
    "sudo: a password is required",
];

/// Waits for the first `want` bytes of a become command's stdout, answering sudo's prompt on stderr with the
/// password on the way. A second prompt means the password was wrong; stdout ending first means sudo refused
/// (its stderr says why). Gives the bytes and stderr back.
pub async fn handshake(
    stdout: &mut (dyn AsyncRead + Unpin + Send),
    stdin: &mut (dyn AsyncWrite + Unpin + Send),
    mut stderr: Box<dyn AsyncRead + Unpin + Send>,
    password: Option<&Secret>,
    prompt: &str,
    want: usize,
    host: &str,
) -> Result<(Vec<u8>, Box<dyn AsyncRead + Unpin + Send>), ConnectionError> {
    let mut got = vec![0u8; want];
    let mut filled = 0;
    let mut said = Vec::new();
    let mut prompts_seen = 0;
    let mut chunk = [0u8; 1024];
    let mut stderr_open = true;
    while filled < want {
        tokio::select! {
            read = stdout.read(&mut got[filled..]) => {
                let n = read.map_err(|e| ConnectionError::Become(format!("become on {host}: {e}")))?;
                if n == 0 {
                    // sudo exited: let it finish saying why.
                    let mut rest = Vec::new();
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(2),
                        stderr.read_to_end(&mut rest),
                    )
                    .await;
                    said.extend(rest);
                    return Err(refusal(&String::from_utf8_lossy(&said), host));
                }
                filled += n;
            }
            read = stderr.read(&mut chunk), if stderr_open => {
                match read {
                    Ok(0) | Err(_) => stderr_open = false,
                    Ok(n) => said.extend_from_slice(&chunk[..n]),
                }
                let text = String::from_utf8_lossy(&said);
                let count = text.matches(prompt).count();
                if count > prompts_seen {
                    answer(stdin, password, prompts_seen > 0, "sudo", host).await?;
                    prompts_seen = count;
                }
            }
        }
    }
    Ok((got, stderr))
}

/// Reads and drops what a command still writes to stderr, so it never blocks on a full pipe.
pub fn drain(mut stderr: Box<dyn AsyncRead + Unpin + Send>) {
    tokio::spawn(async move {
        let mut sink = [0u8; 4096];
        while matches!(stderr.read(&mut sink).await, Ok(n) if n > 0) {}
    });
}

/// What sudo's refusal means, in Ansible's words where it has them.
fn refusal(said: &str, host: &str) -> ConnectionError {
    if MISSING.iter().any(|m| said.contains(m)) {
        return ConnectionError::Become("Missing sudo password".into());
    }
    if said.contains("Sorry, try again") {
        return ConnectionError::Become("Incorrect sudo password".into());
    }
    let said = said.trim();
    if said.is_empty() {
        return ConnectionError::Become(format!(
            "become failed on {host}: sudo exited without saying why"
        ));
    }
    ConnectionError::Become(format!("become failed on {host}: {said}"))
}

/// Starts a runner session as the become user: the bootstrap under sudo, and when that user lacks this
/// runner version, an upload under sudo into the user's own `~/.cache/playbook`, then the bootstrap again.
/// `spawn` runs a command line on the host (an SSH channel, or a local process).
pub async fn start<F, Fut>(
    spawn: F,
    how: &Become,
    runner: &[u8],
    host: &str,
    wait: std::time::Duration,
) -> Result<RunnerSession, ConnectionError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Spawned, ConnectionError>>,
{
    if runner.is_empty() {
        return Err(ConnectionError::Local(
            "this playbook binary was built without its runner (PLAYBOOK_EMBED_SKIP)".into(),
        ));
    }
    let (id, sha) = super::ssh::runner_id(runner);
    let boot = super::ssh::boot_script(&id);
    for uploaded in [false, true] {
        let (prefix, mut child) = run_as(&spawn, how, &boot, 8, host, wait).await?;
        drain(std::mem::replace(
            &mut child.stderr,
            Box::new(tokio::io::empty()),
        ));
        let prefix: [u8; 8] = prefix
            .try_into()
            .map_err(|_| ConnectionError::Runner("a short start".into()))?;
        match RunnerSession::start_after(prefix, child.stdout, child.stdin, child.keep).await? {
            Start::Runner(mut session) => {
                session.cost.runner_uploaded = uploaded;
                return Ok(*session);
            }
            Start::NeedRunner if uploaded => {
                return Err(ConnectionError::Runner(format!(
                    "the runner was uploaded for {} on {host} but cannot be started from its ~/.cache/playbook",
                    how.user
                )));
            }
            Start::NeedRunner => upload(&spawn, how, &id, &sha, runner, host, wait).await?,
        }
    }
    Err(ConnectionError::Runner(format!(
        "the runner did not start on {host}"
    )))
}

/// Runs `script` as the become user and waits (within `wait`) for the first `want` bytes it prints, the sudo
/// handshake done on the way. Gives those bytes and the command.
async fn run_as<F, Fut>(
    spawn: &F,
    how: &Become,
    script: &str,
    want: usize,
    host: &str,
    wait: std::time::Duration,
) -> Result<(Vec<u8>, Spawned), ConnectionError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Spawned, ConnectionError>>,
{
    let prompt = unique_prompt();
    let mut child = spawn(how.command(script, &prompt)?).await?;
    if how.method == "su" {
        within(
            wait,
            su_handshake(
                &mut *child.stdout,
                &mut *child.stdin,
                how.password.as_ref(),
                host,
            ),
        )
        .await?;
        let mut first = vec![0u8; want];
        within(wait, async {
            child
                .stdout
                .read_exact(&mut first)
                .await
                .map_err(|e| ConnectionError::Become(format!("become on {host}: {e}")))
        })
        .await?;
        return Ok((first, child));
    }
    let stderr = std::mem::replace(&mut child.stderr, Box::new(tokio::io::empty()));
    let (first, stderr) = within(
        wait,
        handshake(
            &mut *child.stdout,
            &mut *child.stdin,
            stderr,
            how.password.as_ref(),
            &prompt,
            want,
            host,
        ),
    )
    .await?;
    child.stderr = stderr;
    Ok((first, child))
}

/// Installs the runner into the become user's `~/.cache/playbook`. The script says it is ready before it reads
/// (so the runner's bytes are never taken for a password) and says when it is done.
async fn upload<F, Fut>(
    spawn: &F,
    how: &Become,
    id: &str,
    sha: &str,
    runner: &[u8],
    host: &str,
    wait: std::time::Duration,
) -> Result<(), ConnectionError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Spawned, ConnectionError>>,
{
    const READY: &[u8] = b"PLAYBOOK-READY\n";
    // Under su the runner's bytes go through a terminal, where no end of file can be sent: the script
    // reads exactly as many as there are.
    let size = (how.method == "su").then_some(runner.len());
    let script = format!(
        "echo PLAYBOOK-READY; {}",
        super::ssh::upload_script(id, sha, size)
    );
    let (ready, child) = run_as(spawn, how, &script, READY.len(), host, wait).await?;
    if ready != READY {
        return Err(ConnectionError::Runner(format!(
            "cannot install the runner for {} on {host}: the upload did not start",
            how.user
        )));
    }
    // The transfer has a deadline too (generous: 5 MB over a slow link), so a stuck upload cannot hang the run.
    let deadline = wait + std::time::Duration::from_secs(300);
    let Spawned {
        mut stdin,
        mut stdout,
        mut stderr,
        keep,
    } = child;
    let transfer = async {
        let written = stdin.write_all(runner).await.and(stdin.flush().await);
        // Through a pipe, the script reads to its end of file, which comes when stdin is closed. Through su's
        // terminal it reads exactly the runner's size, and stdin stays open until it is done: `script` ends
        // the session as soon as its input ends, whatever it has not passed on yet.
        let open_stdin = if size.is_none() {
            drop(stdin);
            None
        } else {
            Some(stdin)
        };
        let mut done = Vec::new();
        let mut chunk = [0u8; 256];
        while !String::from_utf8_lossy(&done).contains("PLAYBOOK-UPLOADED") {
            match stdout.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => done.extend_from_slice(&chunk[..n]),
            }
        }
        drop(open_stdin);
        Ok::<_, ConnectionError>((written, done))
    };
    let (written, done) = within(deadline, transfer).await?;
    let mut said = String::new();
    if size.is_none() {
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            stderr.read_to_string(&mut said),
        )
        .await;
    } else {
        // Under su, what went wrong was said on the terminal.
        said = String::from_utf8_lossy(&done).into_owned();
        drain(stderr);
    }
    drop(keep);
    if !String::from_utf8_lossy(&done).contains("PLAYBOOK-UPLOADED") || written.is_err() {
        return Err(ConnectionError::Runner(format!(
            "cannot install the runner in ~/.cache/playbook of {} on {host}: {}",
            how.user,
            said.trim()
        )));
    }
    Ok(())
}

/// A handshake that must end in time: sudo that neither asks nor starts the command (a `requiretty` host, a
/// hung PAM module) is an error, as in Ansible.
async fn within<T>(
    wait: std::time::Duration,
    step: impl std::future::Future<Output = Result<T, ConnectionError>>,
) -> Result<T, ConnectionError> {
    tokio::time::timeout(wait, step).await.map_err(|_| {
        ConnectionError::Become(format!(
            "Timeout ({}s) waiting for privilege escalation prompt",
            wait.as_secs()
        ))
    })?
}

/// A command started for a become session: its pipes and what keeps it alive.
pub struct Spawned {
    /// Its stdin.
    pub stdin: Box<dyn AsyncWrite + Unpin + Send>,
    /// Its stdout.
    pub stdout: Box<dyn AsyncRead + Unpin + Send>,
    /// Its stderr.
    pub stderr: Box<dyn AsyncRead + Unpin + Send>,
    /// The child (an SSH channel or a local process).
    pub keep: Box<dyn Keepalive>,
}

/// Starts `command` under `/bin/sh -c` on this machine, for `connection: local` with become.
pub fn spawn_local(command: &str) -> Result<Spawned, ConnectionError> {
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ConnectionError::Become(format!("cannot run sudo: {e}")))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(ConnectionError::Local("a child without pipes".into()));
    };
    Ok(Spawned {
        stdin: Box::new(stdin),
        stdout: Box::new(stdout),
        stderr: Box::new(stderr),
        keep: Box::new(child),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sudo(password: Option<&str>, flags: &str) -> Become {
        Become {
            method: "sudo".into(),
            user: "root".into(),
            exe: "sudo".into(),
            flags: flags.into(),
            password: password.map(|p| Secret::new(p.into())),
        }
    }

    #[test]
    fn without_a_password_sudo_may_not_ask() {
        let line = sudo(None, "-H -S -n")
            .command("echo hi", "P:")
            .expect("sudo");
        assert_eq!(
            line,
            "'sudo' '-H' '-S' '-n' '-u' 'root' /bin/sh -c 'echo hi'"
        );
    }

    #[test]
    fn with_a_password_sudo_asks_with_our_prompt_and_the_password_is_not_in_the_line() {
        let line = sudo(Some("hunter2"), "-H -S -n")
            .command("echo hi", "P:")
            .expect("sudo");
        assert_eq!(
            line,
            "'sudo' '-H' '-S' '-p' 'P:' '-u' 'root' /bin/sh -c 'echo hi'"
        );
        assert!(!line.contains("hunter2"));
    }

    #[test]
    fn su_runs_on_a_terminal_script_makes_and_other_methods_are_refused() {
        let mut su = sudo(Some("hunter2"), "");
        su.method = "su".into();
        su.exe = "su".into();
        su.user = "app".into();
        let line = su.command("echo hi", "P:").expect("su");
        assert!(line.starts_with("env LC_ALL=C script -qec "), "{line}");
        assert!(
            line.contains("'\\''su'\\'' '\\''app'\\'' '\\''-c'\\''"),
            "{line}"
        );
        assert!(
            line.contains("stty raw -echo -iexten") && !line.contains("hunter2"),
            "{line}"
        );
        su.method = "runas".into();
        assert!(su.command("x", "P:").is_err());
    }
}
