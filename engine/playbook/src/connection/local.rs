//! `connection: local`: the runner's own session loop on a thread, over a socket pair. No SSH, same code.

use super::{ConnectionError, RunnerSession, Start};
use playbook_runner::Runner;
use playbook_runner::store::ModuleStore;
use std::path::Path;

/// Starts the runner as another user on this machine (`connection: local` with become): the same binary as
/// for SSH hosts, installed in that user's `~/.cache/playbook` and started under sudo.
pub async fn connect_become(
    how: &super::escalation::Become,
    runner: &[u8],
) -> Result<RunnerSession, ConnectionError> {
    let spawn = |command: String| async move { super::escalation::spawn_local(&command) };
    let wait = std::time::Duration::from_secs(12);
    super::escalation::start(spawn, how, runner, "localhost", wait).await
}

/// Starts an in-process runner whose module store is `store_dir`.
pub async fn connect(store_dir: &Path) -> Result<RunnerSession, ConnectionError> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()
        .map_err(|e| ConnectionError::Local(format!("cannot create a socket pair: {e}")))?;
    let store = ModuleStore::open(store_dir).map_err(|e| {
        ConnectionError::Local(format!(
            "cannot open module store {}: {e}",
            store_dir.display()
        ))
    })?;
    let thread = std::thread::Builder::new()
        .name("local-runner".into())
        .spawn(move || -> Result<(), String> {
            let mut runner = Runner::new(store).map_err(|e| e.to_string())?;
            let input = theirs.try_clone().map_err(|e| e.to_string())?;
            runner.serve(input, theirs).map_err(|e| e.to_string())
        })
        .map_err(|e| ConnectionError::Local(format!("cannot start the local runner: {e}")))?;
    ours.set_nonblocking(true)
        .map_err(|e| ConnectionError::Local(e.to_string()))?;
    let stream = tokio::net::UnixStream::from_std(ours)
        .map_err(|e| ConnectionError::Local(e.to_string()))?;
    let (reader, writer) = stream.into_split();
    match RunnerSession::start(Box::new(reader), Box::new(writer), Box::new(thread)).await? {
        Start::Runner(session) => Ok(*session),
        Start::NeedRunner => Err(ConnectionError::Local(
            "the local runner did not start".into(),
        )),
    }
}
