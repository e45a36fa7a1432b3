//! The schedule's settings: `[schedule]` as written ([`ScheduleSection`]) and as the scheduler uses them
//! ([`ScheduleConfig`]: a parsed cron schedule and a retry policy).

use serde::Deserialize;

use super::cron::CronSchedule;
use super::scheduler::RetryPolicy;
use super::ScheduleError;
use crate::domain::InvalidSetting;

/// Schedule options (`[schedule]` in crimewatch.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSection {
    /// Cron expression for scheduled runs inside `serve`/`up`: 5 fields (minute hour day-of-month month
    /// day-of-week), or 6 with seconds first. Default `0 15 1 * *`: 15:00 on the 1st of each month.
    pub cron: String,
    /// IANA time zone the cron expression is read in, e.g. `UTC` or `America/Los_Angeles`.
    pub timezone: String,
    /// Tries of a scheduled run before it is recorded as failed for good (first try included).
    pub max_attempts: u32,
    /// Delay before the second try of a failed scheduled run; doubled for each further try.
    pub retry_initial_seconds: u64,
    /// Upper bound on one delay between tries.
    pub retry_max_seconds: u64,
    /// How long a run waits for another run that holds the run lock before it fails.
    pub lock_wait_seconds: u64,
}

impl Default for ScheduleSection {
    fn default() -> Self {
        ScheduleSection {
            cron: "0 15 1 * *".into(),
            timezone: "UTC".into(),
            max_attempts: 3,
            retry_initial_seconds: 60,
            retry_max_seconds: 3600,
            lock_wait_seconds: 30,
        }
    }
}

/// The schedule's settings, validated.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// The cron expression in its time zone.
    pub cron: CronSchedule,
    /// How failed scheduled runs are retried.
    pub retry: RetryPolicy,
}

impl ScheduleSection {
    pub fn validate(&self) -> Result<ScheduleConfig, InvalidSetting> {
        let cron = CronSchedule::parse(&self.cron, &self.timezone).map_err(|e| match e {
            ScheduleError::UnknownTimeZone { .. } => {
                InvalidSetting::new("schedule.timezone", &self.timezone, e.to_string())
            }
            _ => InvalidSetting::new("schedule.cron", &self.cron, e.to_string()),
        })?;
        if !(1..=20).contains(&self.max_attempts) {
            return Err(InvalidSetting::new("schedule.max_attempts", self.max_attempts, "must be 1..=20"));
        }
        if self.retry_initial_seconds == 0 {
            return Err(InvalidSetting::new("schedule.retry_initial_seconds", 0, "must be at least 1"));
        }
        if self.retry_max_seconds < self.retry_initial_seconds {
            return Err(InvalidSetting::new(
                "schedule.retry_max_seconds",
                self.retry_max_seconds,
                "must be at least schedule.retry_initial_seconds",
            ));
        }
        let retry = RetryPolicy {
            max_attempts: self.max_attempts,
            initial: chrono::Duration::seconds(self.retry_initial_seconds as i64),
            max: chrono::Duration::seconds(self.retry_max_seconds as i64),
        };
        Ok(ScheduleConfig { cron, retry })
    }

    /// How long a run waits for the run lock (`lock_wait_seconds`, kept in this section for compatibility).
    pub fn lock_wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lock_wait_seconds)
    }
}
