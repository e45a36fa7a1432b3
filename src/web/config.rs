use serde::Deserialize;

use crate::settings::SettingsError;

/// Web server options (`[web]` in crimewatch.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Listen address; loopback by default.
    pub addr: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig { addr: "127.0.0.1:8080".to_string() }
    }
}

impl WebConfig {
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.addr.parse::<std::net::SocketAddr>().map(|_| ()).map_err(|e| SettingsError::Invalid {
            key: "web.addr",
            value: self.addr.clone(),
            reason: format!("{e}; expected host:port such as 127.0.0.1:8080"),
        })
    }
}
