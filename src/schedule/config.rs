use serde::Deserialize;

use super::cron::CronSchedule;
use super::scheduler::RetryPolicy;
use crate::settings::SettingsError;

/// Schedule options (`[schedule]` in crimewatch.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
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

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            cron: "0 15 1 * *".into(),
            timezone: "UTC".into(),
            max_attempts: 3,
            retry_initial_seconds: 60,
            retry_max_seconds: 3600,
            lock_wait_seconds: 30,
        }
    }
}

impl ScheduleConfig {
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, value: String, reason: String| SettingsError::Invalid { key, value, reason };
        CronSchedule::parse(&self.cron, &self.timezone).map_err(|e| {
            let key = if matches!(e, super::ScheduleError::UnknownTimeZone { .. }) {
                "schedule.timezone"
            } else {
                "schedule.cron"
            };
            let value = if key == "schedule.timezone" { self.timezone.clone() } else { self.cron.clone() };
            invalid(key, value, e.to_string())
        })?;
        if !(1..=20).contains(&self.max_attempts) {
            return Err(invalid("schedule.max_attempts", self.max_attempts.to_string(), "must be 1..=20".into()));
        }
        if self.retry_initial_seconds == 0 {
            return Err(invalid("schedule.retry_initial_seconds", "0".into(), "must be at least 1".into()));
        }
        if self.retry_max_seconds < self.retry_initial_seconds {
            return Err(invalid(
                "schedule.retry_max_seconds",
                self.retry_max_seconds.to_string(),
                "must be at least schedule.retry_initial_seconds".into(),
            ));
        }
        Ok(())
    }

    /// The parsed cron expression in its time zone (valid once [`ScheduleConfig::validate`] passed).
    pub fn schedule(&self) -> Result<CronSchedule, super::ScheduleError> {
        CronSchedule::parse(&self.cron, &self.timezone)
    }

    /// How failed scheduled runs are retried.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            initial: chrono::Duration::seconds(self.retry_initial_seconds as i64),
            max: chrono::Duration::seconds(self.retry_max_seconds as i64),
        }
    }

    /// How long to wait for the run lock.
    pub fn lock_wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lock_wait_seconds)
    }
}
