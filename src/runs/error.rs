use std::path::PathBuf;

use crate::domain::FailureClass;

/// Errors of keeping runs: the run lock, the run ledger, and starting a run.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    #[error(
        "another run ({holder}) holds {path} (waited {waited_seconds} s); wait for it to finish (`crimewatch runs` \
         shows it), or stop that process, then try again; `schedule.lock_wait_seconds` sets how long to wait"
    )]
    LockBusy { path: PathBuf, holder: String, waited_seconds: u64 },
    #[error("cannot use the run lock {path}: {source}; check that the data dir exists and is writable")]
    Lock { path: PathBuf, source: std::io::Error },
    #[error("cannot write the run ledger {path}: {source}; check that the data dir is writable and the disk not full")]
    LedgerWrite { path: PathBuf, source: std::io::Error },
    #[error("cannot read the run ledger {path}: {source}")]
    LedgerRead { path: PathBuf, source: std::io::Error },
    #[error("the server is shutting down: no new runs are started")]
    ShuttingDown,
}

impl RunsError {
    /// Whether a run that could not start may start later: another run held the lock past the wait, or the
    /// lock or ledger file could not be used (the disk may be full for now). Not when shutting down.
    pub fn is_transient(&self) -> bool {
        !matches!(self, RunsError::ShuttingDown)
    }

    /// Another run holding the lock has a class of its own; so has a shutdown.
    pub fn class(&self) -> FailureClass {
        match self {
            RunsError::LockBusy { .. } => FailureClass::Busy,
            RunsError::ShuttingDown => FailureClass::Stopped,
            _ => FailureClass::Other,
        }
    }
}
