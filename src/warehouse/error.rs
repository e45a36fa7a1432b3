//! Errors of the warehouse stage. Each variant says whose fault it is (the lake's data, the project's SQL, the
//! machine) and what to do; none of them touches the published warehouse.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::domain::FailureClass;

/// A data test whose failing rows stopped the publish.
#[derive(Debug, Clone, Serialize)]
pub struct FailedTest {
    /// The test's name, as dbt names it (e.g. `unique_fct_offenses_offense_id`).
    pub name: String,
    /// What it checks (`unique` on `fct_offenses.offense_id`, or the singular test's file).
    pub checks: String,
    /// Rows the test query returned.
    pub failing_rows: u64,
    /// A few of those rows, as `column=value` lists.
    pub sample_rows: Vec<String>,
}

impl fmt::Display for FailedTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {} failing row(s)", self.name, self.checks, self.failing_rows)?;
        for row in &self.sample_rows {
            write!(f, "\n      {row}")?;
        }
        Ok(())
    }
}

/// The failed tests of one build, printed one per line.
#[derive(Debug, Clone, Serialize)]
pub struct FailedTests(pub Vec<FailedTest>);

impl fmt::Display for FailedTests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.0 {
            write!(f, "\n  - {t}")?;
        }
        Ok(())
    }
}

/// Errors of the warehouse stage.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// No lake to build from.
    #[error("no lake at {lake}: {reason}\n  run `crimewatch ingest` (or `crimewatch import <export.csv>`) first")]
    LakeMissing { lake: PathBuf, reason: String },

    /// A path the SQL must quote cannot be quoted safely.
    #[error("the path {path} contains a single quote, which the SQL that reads the lake cannot quote; use a data dir without one")]
    UnquotablePath { path: PathBuf },

    /// The embedded dbt project is malformed (a bug in `transform/`, caught by the tests).
    #[error("transform project: {file}: {message}")]
    Project { file: String, message: String },

    /// A model, test or source refers to something that does not exist, or the refs form a cycle.
    #[error("transform project: {message}")]
    Graph { message: String },

    /// Rendering a model's Jinja failed.
    #[error("transform project: cannot render {file}: {message}")]
    Render { file: String, message: String },

    /// DuckDB rejected a model's, seed's or test's SQL, or failed reading the lake.
    #[error("building {node} failed: {source}\n  if the message names a lake file, that file is damaged: run `crimewatch ingest` (it fetches months whose files fail verification again); otherwise the SQL of {node} needs fixing")]
    Sql {
        node: String,
        #[source]
        source: duckdb::Error,
    },

    /// DuckDB does not know the storage version `warehouse.storage_version` asks for.
    #[error("warehouse.storage_version = {version:?} in crimewatch.toml is not a storage version this DuckDB can write ({source})\n  set it to the oldest DuckDB that should open the warehouse, e.g. v1.4.0 (the default), or latest")]
    StorageVersion {
        version: String,
        #[source]
        source: duckdb::Error,
    },

    /// Data tests with error severity failed; the candidate was removed and the published file left alone.
    #[error("{count} data test(s) failed, so nothing was published; {warehouse} is unchanged:{failures}\n  fix the lake rows the samples show (or the model the test guards), then run `crimewatch build` again", count = failures.0.len())]
    DataTestsFailed { warehouse: PathBuf, failures: FailedTests },

    /// Creating, syncing or renaming the candidate file failed.
    #[error("cannot {action} {path}: {source}\n  check free disk space and permissions of the data dir")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The disk under the data dir filled up while the candidate was written: the machine's fault, not the SQL's.
    #[error("the disk holding {dir} ran out of space during the build ({free} free once the unfinished file was removed): {detail}\n  nothing was published; the warehouse there is unchanged. Free space on that disk (a build writes a second warehouse file{size_hint}, plus DuckDB's spill files) or point --data-dir at a bigger disk, then run `crimewatch build` again")]
    DiskFull {
        /// The folder the candidate and its spill files are written to (the data dir).
        dir: PathBuf,
        /// Free space there after the failed candidate was removed, e.g. `312.0 KB`.
        free: String,
        /// The failing step's own words (DuckDB's or the OS's).
        detail: String,
        /// `, about as large as the published one (45.2 MB)` when there is one.
        size_hint: String,
    },

    /// DuckDB left a write-ahead log next to the closed candidate (the checkpoint did not complete).
    #[error("the candidate {path} still has a write-ahead log after closing; not publishing a file that depends on it (likely a bug; run build again)")]
    CandidateNotCheckpointed { path: PathBuf },
}

impl WarehouseError {
    /// Never: failed data tests, bad SQL or a full disk fail the same way until the lake or the project changes.
    pub fn is_transient(&self) -> bool {
        false
    }

    /// Failed data tests have a class of their own; a storage version or a data dir the SQL cannot quote is the
    /// configuration's fault; the rest is the project's, the lake's or the machine's.
    pub fn class(&self) -> FailureClass {
        match self {
            WarehouseError::DataTestsFailed { .. } => FailureClass::DataTests,
            WarehouseError::StorageVersion { .. } | WarehouseError::UnquotablePath { .. } => FailureClass::Usage,
            _ => FailureClass::Other,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> WarehouseError {
        WarehouseError::Io { action, path: path.into(), source }
    }

    pub(crate) fn sql(node: impl Into<String>, source: duckdb::Error) -> WarehouseError {
        WarehouseError::Sql { node: node.into(), source }
    }

    /// Whether the disk filled up: DuckDB says "No space left on device", or a file step failed with ENOSPC.
    pub fn is_disk_full(&self) -> bool {
        match self {
            WarehouseError::Sql { source, .. } | WarehouseError::StorageVersion { source, .. } => {
                source.to_string().contains("No space left on device")
            }
            WarehouseError::Io { source, .. } => {
                source.raw_os_error() == Some(libc::ENOSPC) || source.kind() == std::io::ErrorKind::StorageFull
            }
            _ => false,
        }
    }

    /// Turns a full-disk failure into [`WarehouseError::DiskFull`], naming the disk under `warehouse` (the
    /// published file's folder, where candidates and spill files go); other errors pass unchanged.
    pub(crate) fn on_full_disk(self, warehouse: &Path) -> WarehouseError {
        if !self.is_disk_full() {
            return self;
        }
        let dir = warehouse.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let detail = match &self {
            WarehouseError::Sql { node, source } => format!("building {node} failed: {source}"),
            other => other.to_string().lines().next().unwrap_or_default().to_string(),
        };
        let size_hint = std::fs::metadata(warehouse)
            .map(|m| format!(", about as large as the published one ({})", megabytes(m.len())))
            .unwrap_or_default();
        let free = free_bytes(&dir).map(megabytes).unwrap_or_else(|| "unknown".into());
        WarehouseError::DiskFull { dir, free, detail, size_hint }
    }

    /// The failed tests, when this is a data-test failure.
    pub fn failed_tests(&self) -> Option<&[FailedTest]> {
        match self {
            WarehouseError::DataTestsFailed { failures, .. } => Some(&failures.0),
            _ => None,
        }
    }
}

/// Bytes free to an unprivileged writer on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path; statvfs fills `st` when it returns 0.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so `st` is initialised.
    let st = unsafe { st.assume_init() };
    // The field types differ between targets (u32 on some 32-bit ones); u64 on this one.
    #[allow(clippy::unnecessary_cast)]
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

fn megabytes(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / 1_048_576.0)
    }
}
