//! `lake/_manifest.json`: per-month fingerprints, files and checksums, written (temp + fsync + rename) after the
//! month files it describes, so it never names a file that is not there. `months` stays sorted by month so SQL
//! can read it with `unnest` (the warehouse loads it into `staging.lake_manifest`).
//!
//! Each month folder also keeps its own entry ([`MonthRecord`], `_month.json`), written with the month's file in
//! the same swap: when the manifest is lost or damaged, the lake rebuilds it from those records.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::durable;
use super::LakeError;
use crate::domain::data_dir::MONTH_RECORD_FILE;
use crate::domain::{Fingerprint, Month, SourceKind};

/// The manifest format this crimewatch writes and reads.
pub const MANIFEST_VERSION: u32 = 1;

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub dataset: String,
    pub source: String,
    /// The source's non-system fields at the last ingest (empty when the lake only holds imports).
    #[serde(default)]
    pub source_fields: Vec<String>,
    pub updated_at: String,
    pub months: Vec<MonthEntry>,
}

/// One report month in the lake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthEntry {
    pub month: Month,
    /// Rows in the month's Parquet file.
    pub rows: u64,
    /// Rows written to the month's `_quarantine.jsonl` instead.
    #[serde(default)]
    pub quarantined: u64,
    /// The month's one Parquet file, `part-<first 16 hex digits of its SHA-256>.parquet` (files written before
    /// checksums were kept are named by a 64-bit FNV-1a hash; they stay readable).
    pub file: String,
    /// The file's SHA-256, lowercase hex. `null` in manifests written before checksums were kept (filled once the
    /// file's rows are verified) and for a file the lake could not verify.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The file's size in bytes (`null` when `sha256` is).
    #[serde(default)]
    pub bytes: Option<u64>,
    /// The source's fingerprint when fetched; `null` when unknown (the file failed verification, or it was
    /// recovered without a record after a crash): the next ingest fetches the month again, whatever its range.
    pub fingerprint: Option<Fingerprint>,
    pub fetched_at: String,
    /// The month is still filling (the current month when fetched).
    pub partial: bool,
    pub source_kind: SourceKind,
}

impl Manifest {
    pub fn empty(dataset: &str, source: &str) -> Manifest {
        Manifest {
            version: MANIFEST_VERSION,
            dataset: dataset.to_string(),
            source: source.to_string(),
            source_fields: Vec::new(),
            updated_at: now_utc(),
            months: Vec::new(),
        }
    }

    /// Reads the manifest at `path`; `None` when the lake has none yet. A truncated or garbled file (invalid
    /// UTF-8 included) is [`LakeError::Manifest`].
    pub fn load(path: &Path) -> Result<Option<Manifest>, LakeError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LakeError::io("read", path)(e)),
        };
        Manifest::parse(&bytes, path).map(Some)
    }

    /// Parses a manifest's bytes (`origin` names it in errors). A manifest of a later format is
    /// [`LakeError::NewerManifest`], never read as damaged (which would rebuild it, losing what it says).
    pub fn parse(bytes: &[u8], origin: &Path) -> Result<Manifest, LakeError> {
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        if let Ok(Version { version }) = serde_json::from_slice::<Version>(bytes) {
            if version > MANIFEST_VERSION {
                return Err(LakeError::NewerManifest {
                    path: origin.display().to_string(),
                    found: version,
                    supported: MANIFEST_VERSION,
                });
            }
        }
        let mut m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| LakeError::Manifest { path: origin.to_path_buf(), message: e.to_string() })?;
        m.months.sort_by_key(|e| e.month);
        Ok(m)
    }

    /// Writes the manifest to `path` atomically (temp file, fsync, rename, fsync the folder).
    pub fn save(&mut self, path: &Path) -> Result<(), LakeError> {
        self.months.sort_by_key(|e| e.month);
        self.updated_at = now_utc();
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| LakeError::Manifest { path: path.to_path_buf(), message: e.to_string() })?;
        text.push('\n');
        durable::write_atomic(path, text.as_bytes())
    }

    pub fn get(&self, month: Month) -> Option<&MonthEntry> {
        self.months.iter().find(|e| e.month == month)
    }

    /// Inserts or replaces the entry for `entry.month`, keeping `months` sorted.
    pub fn upsert(&mut self, entry: MonthEntry) {
        match self.months.binary_search_by_key(&entry.month, |e| e.month) {
            Ok(i) => self.months[i] = entry,
            Err(i) => self.months.insert(i, entry),
        }
    }

    pub fn remove(&mut self, month: Month) -> Option<MonthEntry> {
        let i = self.months.iter().position(|e| e.month == month)?;
        Some(self.months.remove(i))
    }

    pub fn total_rows(&self) -> u64 {
        self.months.iter().map(|e| e.rows).sum()
    }
}

/// A month's own copy of its manifest entry, in its folder (`_month.json`), with the dataset it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthRecord {
    pub dataset: String,
    #[serde(flatten)]
    pub entry: MonthEntry,
}

impl MonthRecord {
    /// Writes the record into `month_dir` through a temp file and a rename, without fsync: a record only saves
    /// a download after a crash, and it is trusted only when the file's checksum matches it, so one lost or torn
    /// by a power cut costs a re-download of that month, never a wrong row. (Two fsyncs per month would add
    /// measurably to a 230-month backfill.)
    pub fn write_unsynced(month_dir: &Path, dataset: &str, entry: &MonthEntry) -> Result<(), LakeError> {
        let path = month_dir.join(MONTH_RECORD_FILE);
        let record = MonthRecord { dataset: dataset.to_string(), entry: entry.clone() };
        let mut text = serde_json::to_string_pretty(&record)
            .map_err(|e| LakeError::Manifest { path: path.clone(), message: e.to_string() })?;
        text.push('\n');
        durable::replace_unsynced(&path, text.as_bytes())
    }

    /// The record in `month_dir`; `None` when there is none or it cannot be read (a month written before records
    /// were kept, or a record torn by a crash: either way the month cannot be vouched for by it).
    pub fn read(month_dir: &Path) -> Option<MonthRecord> {
        let bytes = std::fs::read(month_dir.join(MONTH_RECORD_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// Now, UTC, to the second: `2026-11-28T12:00:00Z`.
pub fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
