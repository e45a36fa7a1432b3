/// Errors of the schedule stage: a cron expression or time zone that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "invalid cron expression {expression:?}: {reason}\n  use 5 fields (minute hour day-of-month month day-of-week), \
         e.g. `0 15 1 * *` for 15:00 on the 1st of each month, or 6 with seconds first"
    )]
    InvalidCron { expression: String, reason: String },
    #[error("unknown time zone {name:?}: use an IANA name such as UTC or America/Los_Angeles")]
    UnknownTimeZone { name: String },
}
