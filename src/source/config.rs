use serde::Deserialize;

use crate::settings::SettingsError;

/// How the SODA client talks to the city's server (`[source]` in crimewatch.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// Rows per page (`$limit`); Socrata 2.0 endpoints allow up to 50,000.
    pub page_size_rows: u32,
    /// Timeout for one HTTP request, connect to last byte.
    pub timeout_seconds: u64,
    /// Tries per request before the run fails (first try included).
    pub max_attempts: u32,
    /// First retry delay; doubled each try, with jitter.
    pub backoff_initial_ms: u64,
    /// Upper bound on one retry delay (also caps `Retry-After`).
    pub backoff_max_seconds: u64,
    /// When the server cannot aggregate `:updated_at`, re-fetch this many most recent months every run.
    pub recheck_recent_months: u32,
    /// First report month of `ingest` when `--since` is not given.
    pub default_since: String,
    /// Report months downloaded at the same time (each in its own request sequence).
    pub months_in_flight: u32,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            page_size_rows: 50_000,
            timeout_seconds: 120,
            max_attempts: 6,
            backoff_initial_ms: 500,
            backoff_max_seconds: 60,
            recheck_recent_months: 3,
            default_since: "2022-01".to_string(),
            months_in_flight: 3,
        }
    }
}

impl SourceConfig {
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, value: String, reason: &str| SettingsError::Invalid { key, value, reason: reason.into() };
        if !(1..=50_000).contains(&self.page_size_rows) {
            return Err(invalid("source.page_size_rows", self.page_size_rows.to_string(), "must be 1..=50000"));
        }
        if self.timeout_seconds == 0 {
            return Err(invalid("source.timeout_seconds", "0".into(), "must be at least 1"));
        }
        if self.max_attempts == 0 {
            return Err(invalid("source.max_attempts", "0".into(), "must be at least 1"));
        }
        if !(1..=16).contains(&self.months_in_flight) {
            return Err(invalid("source.months_in_flight", self.months_in_flight.to_string(), "must be 1..=16"));
        }
        crate::domain::Month::parse(&self.default_since)
            .map_err(|e| invalid("source.default_since", self.default_since.clone(), &e.to_string()))?;
        Ok(())
    }
}
