//! `lake/_manifest.json`: per-month fingerprints and files, written (temp + fsync + rename) after the month
//! files it describes, so it never names a file that is not there. `months` stays sorted by month so SQL can
//! read it with `unnest` (the warehouse loads it into `staging.lake_manifest`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::durable;
use super::LakeError;
use crate::domain::{Fingerprint, Month, SourceKind};

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
    /// The month's one Parquet file, `part-<content-hash>.parquet`.
    pub file: String,
    /// The source's fingerprint when fetched; `null` when unknown (recovered after a crash: fetched again).
    pub fingerprint: Option<Fingerprint>,
    pub fetched_at: String,
    /// The month is still filling (the current month when fetched).
    pub partial: bool,
    pub source_kind: SourceKind,
}

impl Manifest {
    pub fn empty(dataset: &str, source: &str) -> Manifest {
        Manifest {
            version: 1,
            dataset: dataset.to_string(),
            source: source.to_string(),
            source_fields: Vec::new(),
            updated_at: now_utc(),
            months: Vec::new(),
        }
    }

    /// Reads the manifest at `path`; `None` when the lake has none yet.
    pub fn load(path: &Path) -> Result<Option<Manifest>, LakeError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LakeError::io("read", path)(e)),
        };
        let mut m: Manifest = serde_json::from_str(&text)
            .map_err(|e| LakeError::Manifest { path: path.to_path_buf(), message: e.to_string() })?;
        m.months.sort_by_key(|e| e.month);
        Ok(Some(m))
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

/// Now, UTC, to the second: `2026-11-28T12:00:00Z`.
pub fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
