//! The web server's settings: `[web]` as written ([`WebSection`]) and as the server uses them ([`WebConfig`]).

use std::net::SocketAddr;
use std::time::Duration;

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
    /// Open connections served at once; a connection over the cap is answered 503 and closed at once (not
    /// queued). Keep it well below the process's open-file limit (`LimitNOFILE` in deploy/crimewatch.service).
    pub max_connections: usize,
    /// Seconds a connection may take to send a request's headers, counted from when it opened or its previous
    /// response ended: an idle keep-alive connection, or one that trickles its headers, is closed after this.
    pub header_read_timeout_seconds: u64,
    /// Seconds a busy connection may go without a byte moving either way (a request body that stops arriving, a
    /// client that stops reading its response) before it is closed.
    pub idle_timeout_seconds: u64,
    /// Largest request body accepted, in bytes (no endpoint reads more than a few bytes); larger ones get 413.
    pub max_body_bytes: u64,
}

impl Default for WebSection {
    fn default() -> Self {
        WebSection {
            addr: "127.0.0.1:8080".to_string(),
            max_concurrent_queries: 4,
            cache_max_entries: 4096,
            max_connections: 512,
            header_read_timeout_seconds: 10,
            idle_timeout_seconds: 60,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// The web server's settings, validated.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub addr: SocketAddr,
    pub max_concurrent_queries: usize,
    pub cache_max_entries: usize,
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_body_bytes: u64,
    /// `--allow-remote-trigger`: serve `POST /api/runs` on an address other than loopback (behind a TLS proxy).
    pub allow_remote_trigger: bool,
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
        within("web.max_concurrent_queries", self.max_concurrent_queries as u64, 1, 64, "4 suits a small machine")?;
        within("web.max_connections", self.max_connections as u64, 1, 1_000_000, "512 suits a small machine")?;
        within("web.header_read_timeout_seconds", self.header_read_timeout_seconds, 1, 3600, "10 is the default")?;
        within("web.idle_timeout_seconds", self.idle_timeout_seconds, 1, 86_400, "60 is the default")?;
        within("web.max_body_bytes", self.max_body_bytes, 1024, 1 << 30, "65536 is the default")?;
        Ok(WebConfig {
            addr,
            max_concurrent_queries: self.max_concurrent_queries,
            cache_max_entries: self.cache_max_entries,
            max_connections: self.max_connections,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            idle_timeout: Duration::from_secs(self.idle_timeout_seconds),
            max_body_bytes: self.max_body_bytes,
            allow_remote_trigger: false,
        })
    }
}

fn within(key: &'static str, value: u64, min: u64, max: u64, hint: &str) -> Result<(), InvalidSetting> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(InvalidSetting::new(key, value, format!("must be between {min} and {max}; {hint}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limits_are_read_from_web_and_out_of_range_values_name_their_key() {
        let text =
            "max_connections = 64\nheader_read_timeout_seconds = 5\nidle_timeout_seconds = 30\nmax_body_bytes = 4096\n";
        let config = toml::from_str::<WebSection>(text).unwrap().validate().unwrap();
        assert_eq!(config.max_connections, 64);
        assert_eq!(config.header_read_timeout, Duration::from_secs(5));
        assert_eq!(config.idle_timeout, Duration::from_secs(30));
        assert_eq!(config.max_body_bytes, 4096);
        assert!(!config.allow_remote_trigger, "only the command line allows a remote trigger");
        let defaults = WebConfig::default();
        assert_eq!((defaults.max_connections, defaults.header_read_timeout), (512, Duration::from_secs(10)));
        for (line, key) in [
            ("max_connections = 0", "web.max_connections"),
            ("header_read_timeout_seconds = 0", "web.header_read_timeout_seconds"),
            ("idle_timeout_seconds = 0", "web.idle_timeout_seconds"),
            ("max_body_bytes = 10", "web.max_body_bytes"),
        ] {
            let err = toml::from_str::<WebSection>(line).unwrap().validate().unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("must be between"), "{line}: {err}");
        }
    }
}
