use serde::Deserialize;

use crate::settings::SettingsError;

/// Web server options (`[web]` in crimewatch.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Listen address; loopback by default.
    pub addr: String,
    /// How many DuckDB queries may run at once; more only queue (the marts are small, cores are few).
    pub max_concurrent_queries: usize,
    /// Responses kept per published warehouse (keyed by endpoint and parameters); 0 turns the cache off.
    pub cache_max_entries: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig { addr: "127.0.0.1:8080".to_string(), max_concurrent_queries: 4, cache_max_entries: 4096 }
    }
}

impl WebConfig {
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.addr.parse::<std::net::SocketAddr>().map_err(|e| SettingsError::Invalid {
            key: "web.addr",
            value: self.addr.clone(),
            reason: format!("{e}; expected host:port such as 127.0.0.1:8080"),
        })?;
        if !(1..=64).contains(&self.max_concurrent_queries) {
            return Err(SettingsError::Invalid {
                key: "web.max_concurrent_queries",
                value: self.max_concurrent_queries.to_string(),
                reason: "must be between 1 and 64; 4 suits a small machine".into(),
            });
        }
        Ok(())
    }
}
