//! The data dir's layout, in one place: every file and folder crimewatch keeps there, so no stage spells
//! another stage's file name (the warehouse finds the lake's manifest here, the web finds the warehouse here).
//!
//! ```text
//! DATA_DIR/
//!   lake/spd_crime/report_month=YYYY-MM/part-<sha256 prefix>.parquet  one file per month
//!   lake/spd_crime/report_month=YYYY-MM/_quarantine.jsonl             rows that could not be parsed (optional)
//!   lake/spd_crime/report_month=YYYY-MM/_month.json                   the month's manifest entry, kept with it
//!   lake/_manifest.json                                                per-month fingerprints and checksums
//!   lake/_manifest.json.damaged                                        an unreadable manifest, set aside (optional)
//!   lake/revisions/report_month=YYYY-MM/<replaced-at>/part-*.parquet   replaced (and deleted) versions
//!   lake/_staging/                                                     months being written
//!   lake/_quarantine_import.jsonl                                      import rows with no usable month (optional)
//!   lake-cache/                                                        a bucket lake's local copy, same layout
//!   warehouse.duckdb                                                   the published warehouse
//!   _bigquery_export/                                                  a publish's Parquet files (while it runs)
//!   runs.jsonl                                                         the run ledger
//!   crimewatch.lock                                                    the cross-process run lock
//! ```

use std::path::{Path, PathBuf};

use super::Month;

/// The partition column's folder prefix: readers glob the lake with `hive_partitioning=true`.
pub const MONTH_FOLDER_PREFIX: &str = "report_month=";
/// A month's rows that could not be parsed, beside its Parquet file.
pub const QUARANTINE_FILE: &str = "_quarantine.jsonl";
/// A month's own record (its manifest entry: fingerprint, checksum, rows), written into the month folder in the
/// same swap as its file, so a lost manifest can be rebuilt. Readers glob `*.parquet`; pyarrow and Spark also
/// skip names starting with `_`.
pub const MONTH_RECORD_FILE: &str = "_month.json";

/// One data dir and the paths in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
    /// The lake's local folder when it is not `DATA_DIR/lake`: a local `--lake PATH`, or the cache of a bucket
    /// lake (`DATA_DIR/lake-cache`). Every stage reads and writes the lake through this one folder.
    lake: Option<PathBuf>,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into(), lake: None }
    }

    /// The same data dir with the lake's folder elsewhere (see [`DataDir::lake`]).
    pub fn with_lake(mut self, lake: impl Into<PathBuf>) -> DataDir {
        self.lake = Some(lake.into());
        self
    }

    /// Where a lake in a bucket is copied for the build (same layout as `lake/`).
    pub fn lake_cache(&self) -> PathBuf {
        self.root.join("lake-cache")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The published warehouse (only ever replaced by rename).
    pub fn warehouse(&self) -> PathBuf {
        self.root.join("warehouse.duckdb")
    }

    /// The Parquet files a publish to BigQuery uploads, while it runs.
    pub fn bigquery_export(&self) -> PathBuf {
        self.root.join("_bigquery_export")
    }

    /// The run ledger.
    pub fn ledger(&self) -> PathBuf {
        self.root.join("runs.jsonl")
    }

    /// The cross-process run lock.
    pub fn lock(&self) -> PathBuf {
        self.root.join("crimewatch.lock")
    }

    /// The lake's root folder: `DATA_DIR/lake` unless [`DataDir::with_lake`] put it elsewhere.
    pub fn lake(&self) -> PathBuf {
        self.lake.clone().unwrap_or_else(|| self.root.join("lake"))
    }

    /// The lake's manifest: per-month fingerprints and files, written after the files it names.
    pub fn lake_manifest(&self) -> PathBuf {
        self.lake().join("_manifest.json")
    }

    /// Where an unreadable manifest is kept after the lake rebuilt it from the month folders.
    pub fn lake_manifest_damaged(&self) -> PathBuf {
        self.lake().join("_manifest.json.damaged")
    }

    /// The table folder readers glob: `lake/spd_crime/*/*.parquet`.
    pub fn lake_table(&self) -> PathBuf {
        self.lake().join("spd_crime")
    }

    /// One month's folder in the table.
    pub fn lake_month(&self, month: Month) -> PathBuf {
        self.lake_table().join(month_folder(month))
    }

    /// Months being written, outside what readers glob.
    pub fn lake_staging(&self) -> PathBuf {
        self.lake().join("_staging")
    }

    /// Replaced and deleted versions of months.
    pub fn lake_revisions(&self) -> PathBuf {
        self.lake().join("revisions")
    }

    /// Replaced and deleted versions of one month, one folder per replacement.
    pub fn lake_revisions_of(&self, month: Month) -> PathBuf {
        self.lake_revisions().join(month_folder(month))
    }

    /// Rows of an import that have no usable report month.
    pub fn lake_import_quarantine(&self) -> PathBuf {
        self.lake().join("_quarantine_import.jsonl")
    }
}

/// `report_month=YYYY-MM`.
pub fn month_folder(month: Month) -> String {
    format!("{MONTH_FOLDER_PREFIX}{month}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_documented_layout() {
        let d = DataDir::new("/data");
        let m = Month::parse("2024-03").unwrap();
        assert_eq!(d.warehouse(), Path::new("/data/warehouse.duckdb"));
        assert_eq!(d.ledger(), Path::new("/data/runs.jsonl"));
        assert_eq!(d.bigquery_export(), Path::new("/data/_bigquery_export"));
        assert_eq!(d.lock(), Path::new("/data/crimewatch.lock"));
        assert_eq!(d.lake_manifest(), Path::new("/data/lake/_manifest.json"));
        assert_eq!(d.lake_manifest_damaged(), Path::new("/data/lake/_manifest.json.damaged"));
        assert_eq!(d.lake_month(m), Path::new("/data/lake/spd_crime/report_month=2024-03"));
        assert_eq!(d.lake_revisions_of(m), Path::new("/data/lake/revisions/report_month=2024-03"));
        assert_eq!(d.lake_staging(), Path::new("/data/lake/_staging"));
        assert_eq!(d.lake_import_quarantine(), Path::new("/data/lake/_quarantine_import.jsonl"));
        let cached = d.clone().with_lake(d.lake_cache());
        assert_eq!(cached.lake_month(m), Path::new("/data/lake-cache/spd_crime/report_month=2024-03"));
        assert_eq!(cached.warehouse(), d.warehouse());
    }
}
