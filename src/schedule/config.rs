use serde::Deserialize;

use crate::settings::SettingsError;

/// Schedule options (`[schedule]` in crimewatch.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Standard 5-field cron expression (minute hour day-of-month month day-of-week).
    pub cron: String,
    /// IANA time zone the cron expression is read in.
    pub timezone: String,
    /// Tries of a scheduled run before it is recorded as failed (first try included).
    pub max_attempts: u32,
    /// First delay between tries of a failed scheduled run; doubled each try.
    pub retry_initial_seconds: u64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig { cron: "0 15 1 * *".into(), timezone: "UTC".into(), max_attempts: 3, retry_initial_seconds: 60 }
    }
}

impl ScheduleConfig {
    pub fn validate(&self) -> Result<(), SettingsError> {
        Ok(())
    }
}
