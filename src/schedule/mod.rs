//! Schedule stage: the cron schedule, the cross-process run lock and the run ledger.

mod config;
mod error;

pub use config::ScheduleConfig;
pub use error::ScheduleError;
