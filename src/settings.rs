//! Settings: command-line flags over environment variables over `crimewatch.toml` over defaults.
//!
//! The raw file is parsed with `deny_unknown_fields` so a typo is an error that names the key, then merged
//! with the flags into [`Settings`], the one value every stage reads its own config from.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::DataDir;

/// Default SODA host: the City of Seattle's open-data portal.
pub const DEFAULT_SOCRATA_URL: &str = "https://data.seattle.gov";
/// SPD Crime Data: 2008-Present.
pub const DEFAULT_DATASET: &str = "tazs-3rd5";
/// The optional config file looked up in the working directory when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "crimewatch.toml";

/// Something wrong with the configuration: always the user's to fix, never retried.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid: {message}\n  fix the key or value named above; see README.md (Configuration) for the keys")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting {key} = {value:?}: {reason}")]
    Invalid { key: &'static str, value: String, reason: String },
}

/// The file as written by the user (`crimewatch.toml`). Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Where the lake, the warehouse, the run ledger and the lock live.
    pub data_dir: Option<PathBuf>,
    /// Base URL of the Socrata host, e.g. `https://data.seattle.gov`.
    pub socrata_url: Option<String>,
    /// Socrata dataset id (4x4), e.g. `tazs-3rd5`.
    pub dataset: Option<String>,
    #[serde(default)]
    pub source: crate::source::SourceConfig,
    #[serde(default)]
    pub lake: crate::lake::LakeConfig,
    #[serde(default)]
    pub warehouse: crate::warehouse::WarehouseConfig,
    #[serde(default)]
    pub web: crate::web::WebConfig,
    #[serde(default)]
    pub schedule: crate::schedule::ScheduleConfig,
}

impl ConfigFile {
    /// Reads `path`; when `required` is false a missing file is the empty config.
    pub fn load(path: &Path, required: bool) -> Result<ConfigFile, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(ConfigFile::default()),
            Err(source) => return Err(SettingsError::Read { path: path.to_path_buf(), source }),
        };
        toml::from_str(&text).map_err(|e| SettingsError::Parse { path: path.to_path_buf(), message: e.to_string() })
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

/// Validated settings shared by every command.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: DataDir,
    /// Base URL without a trailing slash.
    pub socrata_url: String,
    pub dataset: String,
    /// `SODA_APP_TOKEN`, sent as `X-App-Token`.
    pub app_token: Option<Secret>,
    pub source: crate::source::SourceConfig,
    pub lake: crate::lake::LakeConfig,
    pub warehouse: crate::warehouse::WarehouseConfig,
    pub web: crate::web::WebConfig,
    pub schedule: crate::schedule::ScheduleConfig,
}

/// Values given on the command line or through the environment (clap merges those two).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub socrata_url: Option<String>,
    pub dataset: Option<String>,
    pub app_token: Option<String>,
}

impl Settings {
    /// Merges flags/env over the file over defaults, and validates the result.
    pub fn resolve(file: ConfigFile, over: Overrides) -> Result<Settings, SettingsError> {
        let socrata_url = over
            .socrata_url
            .or(file.socrata_url)
            .unwrap_or_else(|| DEFAULT_SOCRATA_URL.to_string())
            .trim_end_matches('/')
            .to_string();
        if !(socrata_url.starts_with("http://") || socrata_url.starts_with("https://")) || socrata_url.len() < 10 {
            return Err(SettingsError::Invalid {
                key: "socrata_url",
                value: socrata_url,
                reason: "must be an http:// or https:// URL such as https://data.seattle.gov".into(),
            });
        }
        let dataset = over.dataset.or(file.dataset).unwrap_or_else(|| DEFAULT_DATASET.to_string());
        let is_4x4 = dataset.len() == 9
            && dataset.as_bytes()[4] == b'-'
            && dataset.bytes().enumerate().all(|(i, b)| i == 4 || b.is_ascii_alphanumeric());
        if !is_4x4 {
            return Err(SettingsError::Invalid {
                key: "dataset",
                value: dataset,
                reason: "must be a Socrata dataset id of the form xxxx-xxxx, e.g. tazs-3rd5".into(),
            });
        }
        let data_dir = DataDir::new(over.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("data")));
        let app_token = over.app_token.filter(|t| !t.is_empty()).map(Secret::new);
        let settings = Settings {
            data_dir,
            socrata_url,
            dataset,
            app_token,
            source: file.source,
            lake: file.lake,
            warehouse: file.warehouse,
            web: file.web,
            schedule: file.schedule,
        };
        settings.source.validate()?;
        settings.lake.validate()?;
        settings.warehouse.validate()?;
        settings.web.validate()?;
        settings.schedule.validate()?;
        Ok(settings)
    }

    /// Settings for tests and tools: defaults with a data dir and a source URL.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>, socrata_url: &str) -> Settings {
        Settings::resolve(
            ConfigFile::default(),
            Overrides {
                data_dir: Some(data_dir.into()),
                socrata_url: Some(socrata_url.to_string()),
                ..Default::default()
            },
        )
        .expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_file_overrides_defaults() {
        let file: ConfigFile = toml::from_str("data_dir = '/from/file'\ndataset = 'abcd-1234'").unwrap();
        let s =
            Settings::resolve(file, Overrides { data_dir: Some("/from/flag".into()), ..Default::default() }).unwrap();
        assert_eq!(s.data_dir.root(), Path::new("/from/flag"));
        assert_eq!(s.dataset, "abcd-1234");
        assert_eq!(s.socrata_url, DEFAULT_SOCRATA_URL);
    }

    #[test]
    fn unknown_key_and_bad_values_are_named() {
        let err = toml::from_str::<ConfigFile>("datadir = 'x'").unwrap_err().to_string();
        assert!(err.contains("datadir"), "{err}");
        let bad =
            Settings::resolve(ConfigFile::default(), Overrides { dataset: Some("nope".into()), ..Default::default() });
        assert!(bad.unwrap_err().to_string().contains("dataset"));
        let bad = Settings::resolve(
            ConfigFile::default(),
            Overrides { socrata_url: Some("ftp://x".into()), ..Default::default() },
        );
        assert!(bad.unwrap_err().to_string().contains("socrata_url"));
    }

    #[test]
    fn token_is_redacted_in_debug() {
        let s = Settings::resolve(
            ConfigFile::default(),
            Overrides { app_token: Some("s3cret".into()), ..Default::default() },
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}
