//! One pipeline run: source → lake ([`ingest`], [`import`]), lake → warehouse ([`build`]) and, when a BigQuery
//! project is set, warehouse → BigQuery ([`publish_bigquery`]).
//!
//! This is the only module that knows more than one stage: it hands the source's rows to the lake and points
//! the warehouse at the lake. An ingest is four named steps: probe → [`plan`] (pure) → [`fetch`] → [`commit`].
//! Runs (`runs/`) call these functions while they hold the run lock.

mod bigquery;
mod bucket;
mod build;
pub mod commit;
pub mod fetch;
mod import;
mod ingest;
pub mod plan;

use serde::Serialize;

use crate::bigquery::{BigQueryConfig, LakeLocation};
use crate::domain::run::RunSummary;
use crate::domain::{terminal, DataDir, FailureClass, Month};
use crate::lake::remote::Bucket;
use crate::lake::{LakeConfig, Scheme, Survey};
use crate::source::SourceConfig;
use crate::warehouse::WarehouseConfig;

/// The publish's summary is the BigQuery stage's own, handed on as is.
pub use crate::bigquery::PublishSummary;
/// The build's summary is the warehouse's own, handed on as is.
pub use crate::warehouse::BuildSummary;
pub use bigquery::publish_bigquery;
pub use build::build;
pub use import::import;
pub use ingest::ingest;

/// What a pipeline run reads: the data dir, and the config of each stage it wires.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub data_dir: DataDir,
    pub source: SourceConfig,
    pub lake: LakeConfig,
    pub warehouse: WarehouseConfig,
    /// `None`: no BigQuery project set, nothing is published there.
    pub bigquery: Option<BigQueryConfig>,
}

impl PipelineConfig {
    /// Where the lake's month files are for BigQuery: on this machine (exported and uploaded), or in a GCS
    /// bucket (loaded from their `gs://` objects, which the copy the build read is in step with).
    pub fn lake_location(&self) -> LakeLocation {
        match &self.lake.bucket {
            Some(b) if b.scheme == Scheme::Gcs => LakeLocation::Gcs { url: b.url() },
            _ => LakeLocation::Local,
        }
    }

    /// The lake as the user named it: its URL, or its folder.
    pub fn lake_name(&self) -> String {
        match &self.lake.bucket {
            Some(b) => b.url(),
            None => self.data_dir.lake().display().to_string(),
        }
    }
}

/// What the lake holds, for `status`, read without changing it: the folder's survey, or for a bucket lake its
/// manifest and listing (nothing is downloaded).
pub fn survey(config: &PipelineConfig) -> Result<Option<Survey>, PipelineError> {
    match &config.lake.bucket {
        None => Ok(crate::lake::survey(&config.data_dir)?),
        Some(b) => Ok(bucket::block_on(Bucket::open(b)?.survey())??),
    }
}

/// How much to tell the person watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Progress bars on stderr (months, pages, rows).
    Terminal,
    /// Nothing but logs (tests, `--json`, the scheduler).
    Hidden,
}

impl Progress {
    /// A bar of `len` steps named `what`; hidden unless drawing on a terminal. Drawn with the process's other
    /// bars (`domain::terminal`), so log lines print above it instead of through it.
    pub fn bar(self, len: u64, what: &str) -> indicatif::ProgressBar {
        match self {
            Progress::Hidden => indicatif::ProgressBar::hidden(),
            Progress::Terminal => {
                let b = indicatif::ProgressBar::new(len);
                let style = indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
                b.set_style(style.progress_chars("=> "));
                b.set_prefix(what.to_string());
                terminal::add_bar(b)
            }
        }
    }

    /// Bars only when stderr is a terminal.
    pub fn detect() -> Progress {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            Progress::Terminal
        } else {
            Progress::Hidden
        }
    }
}

/// What `ingest` should cover.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// First report month; default `source.default_since`.
    pub since: Option<Month>,
    /// Last report month; default the current month (Seattle time).
    pub until: Option<Month>,
    /// Re-fetch every month in range.
    pub full: bool,
}

/// The end-of-run summary of `ingest` / `import` (printed as a table or, with `--json`, as JSON).
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    pub months_added: Vec<Month>,
    pub months_changed: Vec<Month>,
    pub months_deleted: Vec<Month>,
    pub months_unchanged: usize,
    pub rows_written: u64,
    pub rows_quarantined: u64,
    pub requests: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Source columns the canonical schema does not know; kept as text in `extra_columns`.
    pub new_columns: Vec<String>,
    /// The publisher replaced the whole dataset (every month's `:updated_at` moved).
    pub dataset_replaced: bool,
    /// Plain-language notes for the person reading the summary (fallbacks taken, quarantine files written).
    pub notes: Vec<String>,
    /// Report months covered by this run (`ingest`: the requested range; `import`: the file's months).
    pub since: Option<Month>,
    pub until: Option<Month>,
    /// Months downloaded (new, changed, re-checked, or forced by `--full`).
    pub months_fetched: usize,
    /// Months fetched again whose content turned out byte-identical (only the fingerprint moved).
    pub months_same_content: Vec<Month>,
    /// Months whose file in the lake had failed verification (garbled, truncated, gone), fetched again and
    /// replaced.
    pub months_repaired: Vec<Month>,
    /// The month still filling (marked partial in the manifest), when in range.
    pub partial_month: Option<Month>,
    /// Rows the source reports in range (sum of the fingerprint counts); `import`: data rows in the file.
    pub source_rows: u64,
    /// Rows in the whole lake after the run.
    pub lake_rows: u64,
    /// Months in the whole lake after the run.
    pub lake_months: usize,
    /// The aggregates change detection compared, `+`-joined: `count+updated_at+id_sum` (all of them),
    /// `count+updated_at` or `count+id_sum` (the server refused the other), `count`; `csv` for imports.
    pub detection: String,
}

impl IngestSummary {
    /// Keeps what a run's record shows of this ingest (or import).
    pub fn record(&self, run: &mut RunSummary) {
        run.months_added = self.months_added.clone();
        run.months_changed = self.months_changed.clone();
        run.months_deleted = self.months_deleted.clone();
        run.rows_written = self.rows_written;
        run.rows_quarantined = self.rows_quarantined;
        run.requests = self.requests;
        run.bytes = self.bytes;
    }
}

/// A pipeline run failed; the variant says which stage.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    #[error(transparent)]
    Warehouse(#[from] crate::warehouse::WarehouseError),
    /// Boxed: BigQuery's errors carry the project, dataset and table they concern.
    #[error(transparent)]
    BigQuery(Box<crate::bigquery::BigQueryError>),
}

impl PipelineError {
    /// Whether trying the run again later may help; the failing stage decides.
    pub fn is_transient(&self) -> bool {
        match self {
            PipelineError::Source(e) => e.is_transient(),
            PipelineError::Lake(e) => e.is_transient(),
            PipelineError::Warehouse(e) => e.is_transient(),
            PipelineError::BigQuery(e) => e.is_transient(),
        }
    }

    /// Whose problem the failure is; the failing stage decides.
    pub fn class(&self) -> FailureClass {
        match self {
            PipelineError::Source(e) => e.class(),
            PipelineError::Lake(e) => e.class(),
            PipelineError::Warehouse(e) => e.class(),
            PipelineError::BigQuery(e) => e.class(),
        }
    }
}
