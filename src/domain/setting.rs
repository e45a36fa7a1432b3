//! What every stage's settings share: the error a stage's validation returns (so no stage depends on the edge's
//! settings module), and a secret value that never reaches a log line.

use std::fmt;

/// A setting whose value cannot be used: names the key (or flag), the value and what would be valid. Always the
/// user's to fix, never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {key} = {value:?}: {reason}")]
pub struct InvalidSetting {
    pub key: &'static str,
    pub value: String,
    pub reason: String,
}

impl InvalidSetting {
    pub fn new(key: &'static str, value: impl ToString, reason: impl Into<String>) -> InvalidSetting {
        InvalidSetting { key, value: value.to_string(), reason: reason.into() }
    }
}

/// A secret that must never reach a log line or a `Debug` dump.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
