use std::path::PathBuf;

/// Errors of the schedule stage: the cron expression, the run lock, the run ledger, and starting a run.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "invalid cron expression {expression:?}: {reason}\n  use 5 fields (minute hour day-of-month month day-of-week), \
         e.g. `0 15 1 * *` for 15:00 on the 1st of each month, or 6 with seconds first"
    )]
    InvalidCron { expression: String, reason: String },
    #[error("unknown time zone {name:?}: use an IANA name such as UTC or America/Los_Angeles")]
    UnknownTimeZone { name: String },
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
