//! Settings: command-line flags over environment variables over `crimewatch.toml` over defaults.
//!
//! The raw file is parsed with `deny_unknown_fields` so a typo is an error that names the key, then merged
//! with the flags and validated, once, into [`Settings`]: each stage's own typed config (a parsed `Month`, cron
//! schedule, `SocketAddr`, `Duration`s), which the edge hands to that stage alone.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::bigquery::{BigQueryConfig, BigQueryOverrides, BigQuerySection};
use crate::domain::{DataDir, FailureClass, InvalidSetting};
use crate::lake::{LakeConfig, LakeSection};
use crate::pipeline::PipelineConfig;
use crate::runs::RunsConfig;
use crate::schedule::{ScheduleConfig, ScheduleSection};
use crate::source::{Endpoint, SourceConfig, SourceSection};
use crate::warehouse::WarehouseConfig;
use crate::web::{WebConfig, WebSection};

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
    #[error("config file {path} is not valid: {message}\n  fix the key or value named above; the keys are on the stages' pages: docs/ingest.md, warehouse.md, web.md, schedule.md")]
    Parse { path: PathBuf, message: String },
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
}

impl SettingsError {
    /// Always the user's to fix.
    pub fn class(&self) -> FailureClass {
        FailureClass::Usage
    }
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
    pub source: SourceSection,
    #[serde(default)]
    pub lake: LakeSection,
    #[serde(default)]
    pub warehouse: WarehouseConfig,
    #[serde(default)]
    pub web: WebSection,
    #[serde(default)]
    pub schedule: ScheduleSection,
    #[serde(default)]
    pub bigquery: BigQuerySection,
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

/// Every stage's settings, validated: the edge hands each stage its own part (or a part assembled from several,
/// e.g. [`Settings::pipeline`]), never the whole.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: DataDir,
    pub source: SourceConfig,
    pub lake: LakeConfig,
    pub warehouse: WarehouseConfig,
    pub web: WebConfig,
    pub schedule: ScheduleConfig,
    /// How long a run waits for another run that holds the run lock (`schedule.lock_wait_seconds`).
    pub lock_wait: Duration,
    /// Publishing to BigQuery after each run; `None` when no project is set.
    pub bigquery: Option<BigQueryConfig>,
}

/// Values given on the command line or through the environment (clap merges those two).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    /// `--lake` / `CRIMEWATCH_LAKE`: `gs://…`, `s3://…` or a folder.
    pub lake: Option<String>,
    pub socrata_url: Option<String>,
    pub dataset: Option<String>,
    pub app_token: Option<String>,
    /// `--addr` of `serve`/`up`: a host name is resolved here, once.
    pub addr: Option<String>,
    /// `--schedule` of `serve`/`up`.
    pub cron: Option<String>,
    /// `--timezone` of `serve`/`up`.
    pub timezone: Option<String>,
    /// `--allow-remote-trigger` of `serve`/`up`.
    pub allow_remote_trigger: bool,
    /// `--bigquery-project` / `CRIMEWATCH_BIGQUERY_PROJECT`.
    pub bigquery_project: Option<String>,
    /// `--bigquery-location` / `CRIMEWATCH_BIGQUERY_LOCATION`.
    pub bigquery_location: Option<String>,
    /// `BIGQUERY_EMULATOR_HOST` (`host:port`): talk to an emulator, without credentials.
    pub bigquery_emulator_host: Option<String>,
}

impl Settings {
    /// Merges flags/env over the file over defaults, and validates the result; an invalid value names its key,
    /// or its flag when it came from one.
    pub fn resolve(file: ConfigFile, over: Overrides) -> Result<Settings, SettingsError> {
        let endpoint = Endpoint {
            socrata_url: over.socrata_url.or(file.socrata_url).unwrap_or_else(|| DEFAULT_SOCRATA_URL.to_string()),
            dataset: over.dataset.or(file.dataset).unwrap_or_else(|| DEFAULT_DATASET.to_string()),
            app_token: over.app_token,
        };
        let source = file.source.validate(endpoint)?;
        file.warehouse.validate()?;
        let mut web = file.web.validate()?;
        if let Some(addr) = &over.addr {
            web.addr = resolve_addr(addr)?;
        }
        web.allow_remote_trigger = over.allow_remote_trigger;
        let mut schedule = file.schedule;
        let lock_wait = schedule.lock_wait();
        schedule.cron = over.cron.clone().unwrap_or(schedule.cron);
        schedule.timezone = over.timezone.clone().unwrap_or(schedule.timezone);
        let schedule = schedule.validate().map_err(|e| match e.key {
            "schedule.cron" if over.cron.is_some() => InvalidSetting { key: "--schedule", ..e },
            "schedule.timezone" if over.timezone.is_some() => InvalidSetting { key: "--timezone", ..e },
            _ => e,
        })?;
        let bigquery = file.bigquery.validate(BigQueryOverrides {
            project: over.bigquery_project,
            location: over.bigquery_location,
            emulator_host: over.bigquery_emulator_host,
        })?;
        let (lake, lake_folder) = file.lake.validate(over.lake)?;
        let mut data_dir = DataDir::new(over.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("data")));
        if lake.bucket.is_some() {
            data_dir = data_dir.clone().with_lake(data_dir.lake_cache());
        } else if let Some(folder) = lake_folder {
            data_dir = data_dir.with_lake(folder);
        }
        Ok(Settings { data_dir, source, lake, warehouse: file.warehouse, web, schedule, lock_wait, bigquery })
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

    /// What keeping runs needs: the pipeline, and how long to wait for another run's lock.
    pub fn runs(&self) -> RunsConfig {
        RunsConfig { pipeline: self.pipeline(), lock_wait: self.lock_wait }
    }

    /// What a pipeline run reads.
    pub fn pipeline(&self) -> PipelineConfig {
        PipelineConfig {
            data_dir: self.data_dir.clone(),
            source: self.source.clone(),
            lake: self.lake.clone(),
            warehouse: self.warehouse.clone(),
            bigquery: self.bigquery.clone(),
        }
    }
}

/// `--addr`: an address, or a host name resolved now (the first address it resolves to).
fn resolve_addr(addr: &str) -> Result<SocketAddr, InvalidSetting> {
    let invalid = |reason: String| {
        InvalidSetting::new("--addr", addr, format!("{reason}; expected host:port such as 127.0.0.1:8080"))
    };
    addr.to_socket_addrs().map_err(|e| invalid(e.to_string()))?.next().ok_or_else(|| invalid("no address".into()))
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
        assert_eq!(s.source.dataset, "abcd-1234");
        assert_eq!(s.source.socrata_url, DEFAULT_SOCRATA_URL);
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
    fn a_bad_flag_is_named_as_the_flag_and_a_bad_key_as_the_key() {
        let with = |over: Overrides| Settings::resolve(ConfigFile::default(), over).unwrap_err().to_string();
        let err = with(Overrides { cron: Some("61 * * * *".into()), ..Default::default() });
        assert!(err.contains("--schedule") && err.contains("minute"), "{err}");
        let err = with(Overrides { timezone: Some("Mars/Olympus".into()), ..Default::default() });
        assert!(err.contains("--timezone") && err.contains("IANA"), "{err}");
        let err = with(Overrides { addr: Some("no port".into()), ..Default::default() });
        assert!(err.contains("--addr") && err.contains("127.0.0.1:8080"), "{err}");
        let file: ConfigFile = toml::from_str("[schedule]\ncron = '61 * * * *'").unwrap();
        let err = Settings::resolve(file, Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("schedule.cron"), "{err}");
        let s = Settings::resolve(
            ConfigFile::default(),
            Overrides { addr: Some("127.0.0.1:0".into()), cron: Some("@daily".into()), ..Default::default() },
        )
        .unwrap();
        assert_eq!((s.web.addr.port(), s.schedule.cron.expression()), (0, "@daily"));
    }

    #[test]
    fn bigquery_is_off_without_a_project_and_the_environment_sets_its_location() {
        let s = Settings::resolve(ConfigFile::default(), Overrides::default()).unwrap();
        assert!(s.bigquery.is_none() && s.pipeline().bigquery.is_none());
        let file: ConfigFile = toml::from_str("[bigquery]\nproject = 'from-file'\nmarts_dataset = 'bi'").unwrap();
        let over = Overrides { bigquery_location: Some("europe-west1".into()), ..Default::default() };
        let bq = Settings::resolve(file, over).unwrap().pipeline().bigquery.unwrap();
        assert_eq!(
            (bq.project.as_str(), bq.location.as_str(), bq.marts_dataset.as_str()),
            ("from-file", "europe-west1", "bi")
        );
        let err = toml::from_str::<ConfigFile>("[bigquery]\nprojet = 'x'").unwrap_err().to_string();
        assert!(err.contains("projet"), "{err}");
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
