//! The source's settings: `[source]` as written in crimewatch.toml ([`SourceSection`]), and the values the SODA
//! client and ingest use ([`SourceConfig`]), validated once.

use std::time::Duration;

use serde::Deserialize;

use crate::domain::{InvalidSetting, Month, Secret};

/// How the SODA client talks to the city's server (`[source]` in crimewatch.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSection {
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

impl Default for SourceSection {
    fn default() -> Self {
        SourceSection {
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

/// Where the data comes from: the top-level `socrata_url` and `dataset` keys (or their flags) and
/// `SODA_APP_TOKEN`, as given.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub socrata_url: String,
    pub dataset: String,
    pub app_token: Option<String>,
}

/// The source's settings, validated.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Base URL without a trailing slash, e.g. `https://data.seattle.gov`.
    pub socrata_url: String,
    /// Socrata dataset id (4x4), e.g. `tazs-3rd5`.
    pub dataset: String,
    /// `SODA_APP_TOKEN`, sent as `X-App-Token`.
    pub app_token: Option<Secret>,
    pub page_size_rows: u32,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub recheck_recent_months: u32,
    pub default_since: Month,
    pub months_in_flight: u32,
}

impl SourceSection {
    /// Checks every value (the endpoint first) and turns it into the type the client uses.
    pub fn validate(self, endpoint: Endpoint) -> Result<SourceConfig, InvalidSetting> {
        let socrata_url = endpoint.socrata_url.trim_end_matches('/').to_string();
        if !(socrata_url.starts_with("http://") || socrata_url.starts_with("https://")) || socrata_url.len() < 10 {
            return Err(InvalidSetting::new(
                "socrata_url",
                socrata_url,
                "must be an http:// or https:// URL such as https://data.seattle.gov",
            ));
        }
        let dataset = endpoint.dataset;
        let is_4x4 = dataset.len() == 9
            && dataset.as_bytes()[4] == b'-'
            && dataset.bytes().enumerate().all(|(i, b)| i == 4 || b.is_ascii_alphanumeric());
        if !is_4x4 {
            return Err(InvalidSetting::new(
                "dataset",
                dataset,
                "must be a Socrata dataset id of the form xxxx-xxxx, e.g. tazs-3rd5",
            ));
        }
        if !(1..=50_000).contains(&self.page_size_rows) {
            return Err(InvalidSetting::new("source.page_size_rows", self.page_size_rows, "must be 1..=50000"));
        }
        if self.timeout_seconds == 0 {
            return Err(InvalidSetting::new("source.timeout_seconds", 0, "must be at least 1"));
        }
        if self.max_attempts == 0 {
            return Err(InvalidSetting::new("source.max_attempts", 0, "must be at least 1"));
        }
        if !(1..=16).contains(&self.months_in_flight) {
            return Err(InvalidSetting::new("source.months_in_flight", self.months_in_flight, "must be 1..=16"));
        }
        let default_since = Month::parse(&self.default_since)
            .map_err(|e| InvalidSetting::new("source.default_since", &self.default_since, e.to_string()))?;
        Ok(SourceConfig {
            socrata_url,
            dataset,
            app_token: endpoint.app_token.filter(|t| !t.is_empty()).map(Secret::new),
            page_size_rows: self.page_size_rows,
            timeout: Duration::from_secs(self.timeout_seconds),
            max_attempts: self.max_attempts,
            backoff_initial: Duration::from_millis(self.backoff_initial_ms),
            backoff_max: Duration::from_secs(self.backoff_max_seconds),
            recheck_recent_months: self.recheck_recent_months,
            default_since,
            months_in_flight: self.months_in_flight,
        })
    }
}
