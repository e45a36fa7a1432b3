//! Runs: what ran, one at a time, on record.
//!
//! [`lock`] keeps runs one at a time across processes, [`ledger`] records every run in `DATA_DIR/runs.jsonl`
//! (one [`RunSummary`](crate::domain::run::RunSummary) per run), [`run`] is one locked, recorded run from
//! start to end (the pipeline, or one of its stages), and [`service`] starts runs inside a long-lived process
//! (`serve`/`up`: the schedule's and `POST /api/runs`'s). When runs happen is the schedule's business, not this
//! module's.

mod config;
mod error;
pub mod ledger;
pub mod lock;
pub mod run;
pub mod service;

pub use config::RunsConfig;
pub use error::RunsError;
pub use ledger::Ledger;
pub use lock::{LockHolder, RunLock};
pub use run::{begin, Finished, RunFailure, RunRequest, StartedRun, Work};
pub use service::{RunService, ScheduledTry};
