//! Connections to hosts: each ends in a [`RunnerSession`], the framed request/reply session with a runner.
//! Over SSH ([`ssh`]) the runner is a process on the host; for `connection: local` ([`local`]) it is the same
//! runner code on a thread of this process.

pub mod askpass;
pub mod escalation;
pub mod local;
pub mod ssh;

use crate::modules::Compiled;
use playbook_wire::{
    FramePrefix, Grants, Hello, Outcome, PROTOCOL_VERSION, Reply, Request, Task, WireError,
};
use std::collections::HashSet;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a host could not be reached or its runner could not be used. The host counts as unreachable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// ssh could not connect or authenticate; the message is what ssh said, with advice where we have it.
    #[error("Failed to connect to the host via ssh: {0}")]
    Ssh(String),
    /// The runner could not be installed or started on the host.
    #[error("{0}")]
    Runner(String),
    /// The session broke.
    #[error("the runner session broke: {0}")]
    Wire(#[from] WireError),
    /// Something local (a socket directory, a thread) failed.
    #[error("{0}")]
    Local(String),
    /// Becoming another user failed (a missing or wrong sudo password, sudo refused). The host is reachable:
    /// its tasks that need this user fail.
    #[error("{0}")]
    Become(String),
}

/// How a session ended up with its bytes: a child process, a thread, a master connection.
pub trait Keepalive: Send {}
impl<T: Send> Keepalive for T {}

/// How one module runs, besides its arguments and grants: the task's `check_mode`, `diff`, `timeout` and
/// `environment`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invocation {
    /// Report instead of change.
    pub check_mode: bool,
    /// Report a diff.
    pub diff: bool,
    /// Seconds before the module and what it runs are stopped.
    pub timeout_secs: Option<u64>,
    /// Variables for the commands the module runs.
    pub environment: Vec<(String, String)>,
}

/// A live session with a runner.
pub struct RunnerSession {
    reader: Box<dyn AsyncRead + Unpin + Send>,
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    hello: Hello,
    held: HashSet<String>,
    next_id: u64,
    /// What keeps the other end alive (the SSH child, the runner thread); dropped with the session.
    _keep: Box<dyn Keepalive>,
    /// What this session cost in connections and uploads (for the report and the tests).
    pub cost: SessionCost,
}

/// What a session cost: whether it needed a new SSH connection or a runner upload, and module bytes sent.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, PartialEq, Eq)]
pub struct SessionCost {
    /// A new ControlMaster connection was opened (false: an existing one was reused, or no SSH).
    pub new_connection: bool,
    /// The runner binary was uploaded.
    pub runner_uploaded: bool,
    /// Bytes of precompiled modules sent.
    pub module_bytes_sent: u64,
}

/// Reads one frame.
pub async fn read_frame<T: serde::de::DeserializeOwned>(
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<(T, Vec<u8>), WireError> {
    let mut prefix = [0u8; FramePrefix::LEN];
    reader.read_exact(&mut prefix).await?;
    read_frame_after(reader, prefix).await
}

async fn read_frame_after<T: serde::de::DeserializeOwned>(
    reader: &mut (impl AsyncRead + Unpin),
    prefix: [u8; 8],
) -> Result<(T, Vec<u8>), WireError> {
    let prefix = FramePrefix::parse(prefix)?;
    let mut body = vec![0u8; prefix.body_len()];
    reader.read_exact(&mut body).await?;
    playbook_wire::decode(prefix, body)
}

/// What started on the other end of a stream: a runner, or the bootstrap saying it has none.
pub enum Start {
    /// A runner said hello.
    Runner(Box<RunnerSession>),
    /// The host lacks this runner version.
    NeedRunner,
}

impl RunnerSession {
    /// Waits for the runner's hello (or the bootstrap's "need runner" line).
    pub async fn start(
        mut reader: Box<dyn AsyncRead + Unpin + Send>,
        writer: Box<dyn AsyncWrite + Unpin + Send>,
        keep: Box<dyn Keepalive>,
    ) -> Result<Start, ConnectionError> {
        let mut prefix = [0u8; FramePrefix::LEN];
        reader
            .read_exact(&mut prefix)
            .await
            .map_err(WireError::from)?;
        Self::start_after(prefix, reader, writer, keep).await
    }

    /// [`RunnerSession::start`] when the first bytes were read already (through a become handshake).
    pub async fn start_after(
        prefix: [u8; FramePrefix::LEN],
        mut reader: Box<dyn AsyncRead + Unpin + Send>,
        writer: Box<dyn AsyncWrite + Unpin + Send>,
        keep: Box<dyn Keepalive>,
    ) -> Result<Start, ConnectionError> {
        if &prefix == b"PLAYBOOK" {
            return Ok(Start::NeedRunner);
        }
        let (reply, _): (Reply, _) = read_frame_after(&mut reader, prefix).await?;
        let Reply::Hello(hello) = reply else {
            return Err(ConnectionError::Runner(
                "the runner did not start with a hello".into(),
            ));
        };
        if hello.protocol != PROTOCOL_VERSION {
            return Err(ConnectionError::Runner(format!(
                "the runner speaks protocol {}, this controller {}",
                hello.protocol, PROTOCOL_VERSION
            )));
        }
        Ok(Start::Runner(Box::new(RunnerSession {
            reader,
            writer,
            held: hello.modules.iter().cloned().collect(),
            hello,
            next_id: 1,
            _keep: keep,
            cost: SessionCost::default(),
        })))
    }

    /// The runner's hello.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// Runs one module: one request, one reply; the module's bytes go along only if the runner lacks them.
    pub async fn run(
        &mut self,
        compiled: &Compiled,
        args: serde_json::Value,
        grants: Grants,
        how: &Invocation,
    ) -> Result<Outcome, ConnectionError> {
        let id = self.next_id;
        self.next_id += 1;
        let send_bytes = !self.held.contains(&compiled.module.hash);
        let task = Request::Run(Box::new(Task {
            id,
            module: compiled.module.clone(),
            args,
            grants,
            check_mode: how.check_mode,
            diff: how.diff,
            timeout_secs: how.timeout_secs,
            environment: how.environment.clone(),
        }));
        let blob: &[u8] = if send_bytes { &compiled.bytes } else { &[] };
        let frame = playbook_wire::encode(&task, blob)?;
        self.writer
            .write_all(&frame)
            .await
            .map_err(WireError::from)?;
        self.writer.flush().await.map_err(WireError::from)?;
        let (reply, _): (Reply, _) = read_frame(&mut self.reader).await?;
        match reply {
            Reply::Done { id: got, outcome } if got == id => {
                if send_bytes {
                    self.cost.module_bytes_sent += blob.len() as u64;
                    self.held.insert(compiled.module.hash.clone());
                }
                Ok(outcome)
            }
            _ => Err(ConnectionError::Runner(
                "the runner answered out of turn".into(),
            )),
        }
    }

    /// Ends the session politely.
    pub async fn shutdown(mut self) {
        if let Ok(frame) = playbook_wire::encode(&Request::Shutdown, &[]) {
            let _ = self.writer.write_all(&frame).await;
            let _ = self.writer.flush().await;
        }
        let _ = self.writer.shutdown().await;
    }
}
