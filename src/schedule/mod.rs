//! Schedule stage: when pipeline runs happen and what they did.
//!
//! [`cron`] reads the schedule, [`scheduler`] decides (next fire time, one made-up run at start, retries),
//! [`lock`] keeps runs one at a time across processes, [`ledger`] records every run in `DATA_DIR/runs.jsonl`,
//! [`run`] is one locked, recorded run (ingest then build), [`service`] keeps the schedule inside `serve`/`up`,
//! and [`api`] serves `GET`/`POST /api/runs`.

pub mod api;
mod config;
pub mod cron;
mod error;
pub mod ledger;
pub mod lock;
pub mod run;
pub mod scheduler;
pub mod service;

pub use config::{ScheduleConfig, ScheduleSection};
pub use error::ScheduleError;
pub use ledger::{Ledger, RunRecord, RunStatus, Trigger};
pub use lock::{LockHolder, RunLock};
pub use run::{begin, RunReport, RunRequest, StartedRun};
pub use scheduler::{AttemptResult, Due, Outcome, RetryPolicy, Scheduler};
pub use service::{keep_schedule, run_scheduled, RunService};
