//! The wire protocol between the controller and the runner: message types and length-prefixed frames.
//!
//! One session runs over one byte stream (an SSH channel's stdin/stdout, or an in-process socket pair for
//! `connection: local`). The runner speaks first with a [`Hello`] that says which engine it runs and which
//! precompiled modules it already holds; after that every task is one [`Request`] frame and one [`Reply`] frame.
//! Module bytes ride along in the request's blob only when the runner lacks them, so a warm run sends none.
//!
//! A frame is an 8-byte prefix (header length and blob length, both u32 big-endian), a JSON header, and the blob.
//! JSON keeps the header readable in a packet dump and lets Ansible's free-form arguments pass as they are; the
//! blob keeps large module bytes out of JSON. This crate does no I/O policy of its own: it encodes and decodes,
//! and offers a blocking reader and writer over `std::io` for the runner. The controller reads the same frames
//! asynchronously with [`FramePrefix`] and [`decode`].
#![deny(missing_docs)]

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::io::{Read, Write};

/// Bumped when a message changes incompatibly; the controller refuses a runner with another value.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest JSON header accepted: module arguments and results are small, a larger header is a broken peer.
pub const MAX_HEADER: u32 = 64 << 20;
/// Largest blob accepted (a precompiled module).
pub const MAX_BLOB: u32 = 512 << 20;

/// The first frame of a session, from the runner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the runner.
    pub protocol: u32,
    /// The runner's crate version.
    pub runner_version: String,
    /// What precompiled code must match to run here.
    pub engine: EngineInfo,
    /// Hashes (hex SHA-256 of the precompiled bytes) of the modules the runner already holds.
    pub modules: Vec<String>,
}

/// The runner's engine settings: the controller precompiles modules for exactly these.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct EngineInfo {
    /// Version of the wasmtime crate the runner links.
    pub wasmtime: String,
    /// Target triple the runner was built for.
    pub target: String,
    /// CPU features the runner's machine has (informative: the controller compiles for the baseline).
    pub cpu_features: Vec<String>,
}

/// A request from the controller.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Run one module once. When the frame has a blob, it is the module's precompiled bytes.
    Run(Box<Task>),
    /// End the session; the runner exits.
    Shutdown,
}

/// One module invocation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Task {
    /// Echoed in the reply.
    pub id: u64,
    /// Which module.
    pub module: ModuleRef,
    /// Rendered arguments, a JSON object.
    pub args: serde_json::Value,
    /// What this instance may touch.
    pub grants: Grants,
    /// Report instead of change; the runner refuses every grant that writes.
    pub check_mode: bool,
    /// Report a diff.
    pub diff: bool,
    /// Wall-clock limit for the module, in seconds, commands it runs included.
    pub timeout_secs: Option<u64>,
    /// Environment variables for the commands the module runs (the task's `environment:`).
    #[serde(default)]
    pub environment: Vec<(String, String)>,
}

/// Names a precompiled module.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct ModuleRef {
    /// The module's name, for messages.
    pub name: String,
    /// Hex SHA-256 of the precompiled bytes; the runner checks it before loading them.
    pub hash: String,
}

/// The capabilities granted to one module instance. The runner enforces these and nothing else.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grants {
    /// Absolute paths preopened read-only.
    pub read: Vec<String>,
    /// Absolute paths preopened read-write.
    pub write: Vec<String>,
    /// May run programs.
    pub exec: bool,
    /// May read facts about the machine.
    pub system: bool,
}

impl Grants {
    /// The grants with everything that can change the machine removed, as check mode requires.
    pub fn read_only(&self) -> Grants {
        Grants {
            read: self.read.iter().chain(&self.write).cloned().collect(),
            write: Vec::new(),
            exec: false,
            system: self.system,
        }
    }
}

/// A reply from the runner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The first frame of a session.
    Hello(Hello),
    /// The end of a task.
    Done {
        /// The request's id.
        id: u64,
        /// What came of it.
        outcome: Outcome,
    },
}

/// How a task ended on the runner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The module returned; its JSON result (which may itself say `failed`).
    Returned {
        /// The module's result object.
        result: serde_json::Value,
    },
    /// The module could not run or did not finish: the task fails, the session goes on.
    Error {
        /// What kind of failure.
        kind: ErrorKind,
        /// A message for the user.
        message: String,
    },
}

/// Why a task did not produce a module result.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The runner does not hold the module and none was sent.
    MissingModule,
    /// The sent bytes did not match their hash.
    HashMismatch,
    /// The module could not be loaded or instantiated.
    Load,
    /// The module trapped, ran out of memory, or broke the contract.
    Trap,
    /// The module (or a command it ran) was still running when the task's timeout came.
    Timeout,
}

/// Framing or encoding failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The stream failed or ended in the middle of a frame.
    #[error("connection to the runner failed: {0}")]
    Io(#[from] std::io::Error),
    /// A header that is not the JSON we expect.
    #[error("malformed message: {0}")]
    Json(#[from] serde_json::Error),
    /// A frame announcing more than [`MAX_HEADER`] or [`MAX_BLOB`] bytes.
    #[error("frame too large ({header} byte header, {blob} byte blob)")]
    TooLarge {
        /// Announced header length.
        header: u32,
        /// Announced blob length.
        blob: u32,
    },
}

/// The 8 bytes before every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePrefix {
    /// Length of the JSON header.
    pub header_len: u32,
    /// Length of the blob after it.
    pub blob_len: u32,
}

impl FramePrefix {
    /// Size of the prefix on the wire.
    pub const LEN: usize = 8;

    /// Reads a prefix, refusing sizes over the limits.
    pub fn parse(bytes: [u8; 8]) -> Result<FramePrefix, WireError> {
        let header_len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let blob_len = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        if header_len > MAX_HEADER || blob_len > MAX_BLOB {
            return Err(WireError::TooLarge {
                header: header_len,
                blob: blob_len,
            });
        }
        Ok(FramePrefix {
            header_len,
            blob_len,
        })
    }

    /// Header plus blob.
    pub fn body_len(&self) -> usize {
        self.header_len as usize + self.blob_len as usize
    }
}

/// Encodes one frame: prefix, JSON header, blob.
pub fn encode<T: Serialize>(header: &T, blob: &[u8]) -> Result<Vec<u8>, WireError> {
    let json = serde_json::to_vec(header)?;
    let too_large = || WireError::TooLarge {
        header: u32::try_from(json.len()).unwrap_or(u32::MAX),
        blob: u32::try_from(blob.len()).unwrap_or(u32::MAX),
    };
    let header_len = u32::try_from(json.len()).map_err(|_| too_large())?;
    let blob_len = u32::try_from(blob.len()).map_err(|_| too_large())?;
    if header_len > MAX_HEADER || blob_len > MAX_BLOB {
        return Err(too_large());
    }
    let mut frame = Vec::with_capacity(FramePrefix::LEN + json.len() + blob.len());
    frame.extend_from_slice(&header_len.to_be_bytes());
    frame.extend_from_slice(&blob_len.to_be_bytes());
    frame.extend_from_slice(&json);
    frame.extend_from_slice(blob);
    Ok(frame)
}

/// Splits a frame body (what follows the prefix) into its decoded header and its blob.
pub fn decode<T: DeserializeOwned>(
    prefix: FramePrefix,
    mut body: Vec<u8>,
) -> Result<(T, Vec<u8>), WireError> {
    let blob = body.split_off(prefix.header_len as usize);
    Ok((serde_json::from_slice(&body)?, blob))
}

/// Reads one frame, blocking. `Ok(None)` at a clean end of stream before a frame starts.
pub fn read_frame<T: DeserializeOwned>(
    input: &mut impl Read,
) -> Result<Option<(T, Vec<u8>)>, WireError> {
    let mut prefix = [0u8; FramePrefix::LEN];
    let mut filled = 0;
    while filled < prefix.len() {
        match input.read(&mut prefix[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let prefix = FramePrefix::parse(prefix)?;
    let mut body = vec![0u8; prefix.body_len()];
    input.read_exact(&mut body)?;
    decode(prefix, body).map(Some)
}

/// Writes one frame and flushes.
pub fn write_frame<T: Serialize>(
    output: &mut impl Write,
    header: &T,
    blob: &[u8],
) -> Result<(), WireError> {
    output.write_all(&encode(header, blob)?)?;
    output.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_and_without_blob() {
        let task = Request::Run(Box::new(Task {
            id: 7,
            module: ModuleRef {
                name: "ping".into(),
                hash: "ab".into(),
            },
            args: serde_json::json!({"data": "pong"}),
            grants: Grants::default(),
            check_mode: false,
            diff: false,
            timeout_secs: None,
            environment: Vec::new(),
        }));
        let mut stream = Vec::new();
        write_frame(&mut stream, &task, b"module bytes").expect("in-memory write");
        write_frame(&mut stream, &Request::Shutdown, &[]).expect("in-memory write");
        let mut input = stream.as_slice();
        let (first, blob): (Request, _) = read_frame(&mut input).expect("read").expect("a frame");
        assert_eq!(first, task);
        assert_eq!(blob, b"module bytes");
        let (second, blob): (Request, _) = read_frame(&mut input).expect("read").expect("a frame");
        assert_eq!(second, Request::Shutdown);
        assert!(blob.is_empty());
        assert!(
            read_frame::<Request>(&mut input)
                .expect("clean end")
                .is_none()
        );
    }

    #[test]
    fn a_truncated_frame_is_an_error_not_an_end() {
        let frame = encode(&Request::Shutdown, b"xyz").expect("encode");
        let mut input = &frame[..frame.len() - 1];
        assert!(read_frame::<Request>(&mut input).is_err());
        let mut input = &frame[..3];
        assert!(read_frame::<Request>(&mut input).is_err());
    }

    #[test]
    fn oversized_prefixes_are_refused_before_allocating() {
        let mut prefix = [0u8; 8];
        prefix[..4].copy_from_slice(&(MAX_HEADER + 1).to_be_bytes());
        assert!(matches!(
            FramePrefix::parse(prefix),
            Err(WireError::TooLarge { .. })
        ));
    }

    #[test]
    fn check_mode_grants_keep_reads_and_drop_writes() {
        let grants = Grants {
            read: vec!["/etc".into()],
            write: vec!["/srv".into()],
            exec: true,
            system: true,
        };
        let ro = grants.read_only();
        assert_eq!(ro.read, vec!["/etc".to_string(), "/srv".to_string()]);
        assert!(ro.write.is_empty());
        assert!(!ro.exec);
    }
}
