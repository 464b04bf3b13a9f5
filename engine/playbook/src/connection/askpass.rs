//! Passwords for ssh without argv, environment or files: ssh runs this same binary as its `SSH_ASKPASS`
//! helper, which asks the controller over a unix socket in the private directory; the controller checks that the
//! caller runs as the same user before it answers. (ssh closes inherited descriptors before it runs the helper,
//! so a pipe from the controller would never reach it.)

use crate::secret::{Secret, euid};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// Set in ssh's environment to make this binary act as the askpass helper.
pub const HELPER_ENV: &str = "PLAYBOOK_ASKPASS";
const SOCKET_ENV: &str = "PLAYBOOK_ASKPASS_SOCKET";
const KEY_ENV: &str = "PLAYBOOK_ASKPASS_KEY";

/// The controller's side: answers password prompts for the hosts it knows a password for.
pub struct AskpassServer {
    socket: PathBuf,
    passwords: Arc<Mutex<HashMap<String, Secret>>>,
    refused: Arc<Mutex<HashMap<String, String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AskpassServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl AskpassServer {
    /// Listens on a fresh socket in `dir` (the private 0700 directory).
    pub fn start(dir: &Path) -> std::io::Result<AskpassServer> {
        let socket = dir.join(format!("askpass-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let listener = tokio::net::UnixListener::bind(&socket)?;
        let passwords: Arc<Mutex<HashMap<String, Secret>>> = Arc::default();
        let refused: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let (p, r) = (Arc::clone(&passwords), Arc::clone(&refused));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (p, r) = (Arc::clone(&p), Arc::clone(&r));
                tokio::spawn(async move {
                    let _ = answer(stream, &p, &r).await;
                });
            }
        });
        Ok(AskpassServer {
            socket,
            passwords,
            refused,
            task,
        })
    }

    /// Makes `password` the answer to password prompts of the ssh started with `key`.
    pub fn register(&self, key: &str, password: Secret) {
        if let Ok(mut p) = self.passwords.lock() {
            p.insert(key.to_string(), password);
        }
    }

    /// The last prompt refused for `key` (a host key question, a key passphrase), to explain a failure.
    pub fn refused_prompt(&self, key: &str) -> Option<String> {
        self.refused.lock().ok()?.get(key).cloned()
    }

    /// The environment that points ssh at this server (no secret in it).
    pub fn env(&self, key: &str) -> Vec<(&'static str, String)> {
        vec![
            (SOCKET_ENV, self.socket.display().to_string()),
            (KEY_ENV, key.to_string()),
        ]
    }
}

async fn answer(
    stream: tokio::net::UnixStream,
    passwords: &Mutex<HashMap<String, Secret>>,
    refused: &Mutex<HashMap<String, String>>,
) -> std::io::Result<()> {
    if stream.peer_cred()?.uid() != euid() {
        return Ok(());
    }
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    let key = lines.next_line().await?.unwrap_or_default();
    let prompt = lines.next_line().await?.unwrap_or_default();
    let lower = prompt.to_ascii_lowercase();
    let password = if lower.contains("password") && !lower.contains("passphrase") {
        passwords.lock().ok().and_then(|p| p.get(&key).cloned())
    } else {
        None
    };
    match password {
        Some(secret) => {
            write.write_all(b"OK ").await?;
            write.write_all(secret.expose().as_bytes()).await?;
            write.write_all(b"\n").await?;
        }
        None => {
            if let Ok(mut r) = refused.lock() {
                r.insert(key, prompt);
            }
            write.write_all(b"NO\n").await?;
        }
    }
    write.shutdown().await
}

/// The helper's side, run as `SSH_ASKPASS` by ssh with the prompt as its argument. Returns the exit code.
pub fn helper_main(prompt: &str) -> i32 {
    let (Some(socket), Some(key)) = (std::env::var_os(SOCKET_ENV), std::env::var_os(KEY_ENV))
    else {
        // No password was given for this host: refuse, and ssh goes on to its next method or fails.
        return 1;
    };
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket) else {
        return 1;
    };
    let request = format!("{}\n{}\n", key.to_string_lossy(), prompt.replace('\n', " "));
    if stream.write_all(request.as_bytes()).is_err() {
        return 1;
    }
    let mut reply = String::new();
    if BufReader::new(stream).read_line(&mut reply).is_err() {
        return 1;
    }
    match reply.strip_prefix("OK ") {
        Some(password) => {
            let mut out = std::io::stdout().lock();
            let ok = out.write_all(password.as_bytes()).is_ok() && out.flush().is_ok();
            if ok { 0 } else { 1 }
        }
        None => 1,
    }
}
