//! Schedule stage: when pipeline runs happen — only when, never what.
//!
//! [`cron`] reads the schedule, [`scheduler`] decides (next fire time, one made-up run at start, retries with
//! bounded backoff), and [`keep`] drives it with the wall clock, calling back into the run it is handed (the
//! binary edge hands it a recorded pipeline run).

mod config;
pub mod cron;
mod error;
pub mod keep;
pub mod scheduler;

pub use config::{ScheduleConfig, ScheduleSection};
pub use error::ScheduleError;
pub use keep::keep;
pub use scheduler::{handled_until, Due, Outcome, RetryPolicy, Scheduler};
