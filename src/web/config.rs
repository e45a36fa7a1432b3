//! The web server's settings: `[web]` as written ([`WebSection`]) and as the server uses them ([`WebConfig`]).

use std::net::SocketAddr;

use serde::Deserialize;

use crate::domain::InvalidSetting;

/// Web server options (`[web]` in crimewatch.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// Listen address; loopback by default.
    pub addr: String,
    /// How many DuckDB queries may run at once; more only queue (the marts are small, cores are few).
    pub max_concurrent_queries: usize,
    /// Responses kept per published warehouse (keyed by endpoint and parameters); 0 turns the cache off.
    pub cache_max_entries: usize,
}

impl Default for WebSection {
    fn default() -> Self {
        WebSection { addr: "127.0.0.1:8080".to_string(), max_concurrent_queries: 4, cache_max_entries: 4096 }
    }
}

/// The web server's settings, validated.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub addr: SocketAddr,
    pub max_concurrent_queries: usize,
    pub cache_max_entries: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebSection::default().validate().expect("the defaults are valid")
    }
}

impl WebSection {
    pub fn validate(self) -> Result<WebConfig, InvalidSetting> {
        let addr = self.addr.parse::<SocketAddr>().map_err(|e| {
            InvalidSetting::new("web.addr", &self.addr, format!("{e}; expected host:port such as 127.0.0.1:8080"))
        })?;
        if !(1..=64).contains(&self.max_concurrent_queries) {
            return Err(InvalidSetting::new(
                "web.max_concurrent_queries",
                self.max_concurrent_queries,
                "must be between 1 and 64; 4 suits a small machine",
            ));
        }
        Ok(WebConfig {
            addr,
            max_concurrent_queries: self.max_concurrent_queries,
            cache_max_entries: self.cache_max_entries,
        })
    }
}
