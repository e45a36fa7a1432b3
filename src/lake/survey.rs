//! What the lake holds, read without changing anything (for `crimewatch status`): the manifest's months, and the
//! months on disk that it does not list — a killed first backfill leaves tens of months and no manifest, a killed
//! later run a manifest that is behind — described by their own records, or by their files when they have none.
//! Nothing is hashed here: the next ingest verifies, adopts or re-fetches them.

use std::collections::BTreeMap;

use super::manifest::{Manifest, MonthEntry, MonthRecord};
use super::store::{file_name, is_part_file, list_dir, parse_month_folder};
use super::writer::count_parquet_rows;
use super::LakeError;
use crate::domain::{DataDir, Month, SourceKind};

/// How the manifest itself was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestState {
    Present,
    /// No `_manifest.json` (an interrupted first ingest, when months are on disk).
    Missing,
    /// `_manifest.json` cannot be read; the parse error.
    Damaged(String),
}

/// One report month as found.
#[derive(Debug, Clone)]
pub struct SurveyedMonth {
    pub entry: MonthEntry,
    /// In the manifest. `false`: on disk only, left by an interrupted run (the next ingest adopts it when its
    /// record vouches for it, or fetches it again).
    pub listed: bool,
    /// The file the entry names is on disk.
    pub on_disk: bool,
}

/// The lake as found.
#[derive(Debug, Clone)]
pub struct Survey {
    pub manifest: ManifestState,
    /// The manifest's (or, without one, the months' records') dataset, source host and last write.
    pub dataset: Option<String>,
    pub source: Option<String>,
    pub updated_at: Option<String>,
    pub months: Vec<SurveyedMonth>,
}

impl Survey {
    pub fn total_rows(&self) -> u64 {
        self.months.iter().map(|m| m.entry.rows).sum()
    }

    /// Months on disk that the manifest does not list.
    pub fn unlisted(&self) -> usize {
        self.months.iter().filter(|m| !m.listed).count()
    }
}

/// Surveys the lake under `dir`; `None` when there is no lake at all (no manifest, no month on disk).
pub fn survey(dir: &DataDir) -> Result<Option<Survey>, LakeError> {
    let (state, manifest) = match Manifest::load(&dir.lake_manifest()) {
        Ok(Some(m)) => (ManifestState::Present, Some(m)),
        Ok(None) => (ManifestState::Missing, None),
        Err(LakeError::Manifest { message, .. }) => (ManifestState::Damaged(message), None),
        Err(e) => return Err(e),
    };
    let mut months: BTreeMap<Month, SurveyedMonth> = BTreeMap::new();
    for e in manifest.iter().flat_map(|m| &m.months) {
        let on_disk = dir.lake_month(e.month).join(&e.file).is_file();
        months.insert(e.month, SurveyedMonth { entry: e.clone(), listed: true, on_disk });
    }
    let mut record_dataset = None;
    for folder in list_dir(&dir.lake_table())? {
        let name = file_name(&folder);
        let Some(m) = parse_month_folder(&name).filter(|_| folder.is_dir() && !name.contains('.')) else { continue };
        let parts: Vec<String> = list_dir(&folder)?.iter().map(|p| file_name(p)).filter(|n| is_part_file(n)).collect();
        if parts.is_empty() || months.get(&m).is_some_and(|s| parts.contains(&s.entry.file)) {
            continue;
        }
        let entry = match MonthRecord::read(&folder).filter(|r| r.entry.month == m && parts.contains(&r.entry.file)) {
            Some(r) => {
                record_dataset.get_or_insert(r.dataset);
                r.entry
            }
            None => {
                let file = parts[parts.len() - 1].clone();
                MonthEntry {
                    month: m,
                    rows: count_parquet_rows(&folder.join(&file)).unwrap_or(0),
                    quarantined: 0,
                    file,
                    sha256: None,
                    bytes: None,
                    fingerprint: None,
                    fetched_at: String::new(),
                    partial: false,
                    source_kind: SourceKind::Soda,
                }
            }
        };
        months.insert(m, SurveyedMonth { entry, listed: false, on_disk: true });
    }
    if state == ManifestState::Missing && months.is_empty() {
        return Ok(None);
    }
    Ok(Some(Survey {
        manifest: state,
        dataset: manifest.as_ref().map(|m| m.dataset.clone()).or(record_dataset),
        source: manifest.as_ref().map(|m| m.source.clone()),
        updated_at: manifest.as_ref().map(|m| m.updated_at.clone()),
        months: months.into_values().collect(),
    }))
}
