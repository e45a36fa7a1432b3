//! The lake on disk: month folders, the staging area, revisions, and the swap that replaces a month.
//!
//! A month moves through two states. [`StagedMonth`]: its Parquet file (and quarantine file) written and fsync'd
//! in `lake/_staging/`, outside what readers glob. [`Lake::commit`] then makes it current: the staged folder is
//! exchanged with the month's folder in one `renameat2(RENAME_EXCHANGE)` (readers see the old month or the new,
//! never neither, never both), the old version moves to `lake/revisions/report_month=YYYY-MM/<replaced-at>/`,
//! and the manifest is rewritten last. [`Lake::open`] finishes or cleans up whatever a killed run left, so the
//! next run starts from a consistent lake.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::durable::{self, fsync_dir, fsync_file};
use super::fault::checkpoint;
use super::manifest::{now_utc, Manifest, MonthEntry};
use super::writer::{content_hash, count_parquet_rows, MonthFile};
use super::{LakeConfig, LakeError};
use crate::domain::data_dir::{month_folder, MONTH_FOLDER_PREFIX, QUARANTINE_FILE};
use crate::domain::{DataDir, Fingerprint, Month, SourceKind};

/// A month written and fsync'd in the staging area, not yet visible to readers.
#[derive(Debug)]
pub struct StagedMonth {
    pub month: Month,
    dir: PathBuf,
    pub file: String,
    pub rows: u64,
    pub quarantined: u64,
}

/// What a commit did to the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The month was not in the lake.
    Added,
    /// The month's content changed; the old version is under revisions.
    Replaced,
    /// Byte-identical content: the file was kept, only the manifest entry changed.
    Same,
}

/// One quarantined row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuarantineLine {
    pub reason: String,
    /// Line in the CSV export (imports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub row: serde_json::Map<String, serde_json::Value>,
}

/// The open lake.
pub struct Lake {
    dir: DataDir,
    config: LakeConfig,
    manifest: Manifest,
    /// What [`Lake::open`] repaired, in words, for the run summary.
    pub recovered: Vec<String>,
    /// Commits leave the manifest write to one [`Lake::save_manifest`] at the end (see [`Lake::defer_manifest`]).
    deferred: bool,
}

static STAGE_COUNTER: AtomicU64 = AtomicU64::new(0);

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, LakeError> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(LakeError::io("list", dir)(e)),
    };
    for e in rd {
        out.push(e.map_err(LakeError::io("list", dir))?.path());
    }
    out.sort();
    Ok(out)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn is_part_file(name: &str) -> bool {
    name.starts_with("part-") && name.ends_with(".parquet")
}

fn remove_dir_all(p: &Path) -> Result<(), LakeError> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LakeError::io("remove", p)(e)),
    }
}

/// Parses `report_month=YYYY-MM` (optionally followed by `.suffix`).
fn parse_month_folder(name: &str) -> Option<Month> {
    let rest = name.strip_prefix(MONTH_FOLDER_PREFIX)?;
    Month::parse(rest.get(..7)?).ok().filter(|_| rest.len() == 7 || rest.as_bytes()[7] == b'.')
}

impl Lake {
    /// Opens (creating if needed) the lake under `data_dir`, and repairs what an interrupted run left.
    pub fn open(data_dir: &DataDir, config: &LakeConfig, dataset: &str, source: &str) -> Result<Lake, LakeError> {
        for d in [data_dir.lake_table(), data_dir.lake_staging(), data_dir.lake_revisions()] {
            std::fs::create_dir_all(&d).map_err(LakeError::io("create", &d))?;
        }
        let manifest = match Manifest::load(&data_dir.lake_manifest())? {
            Some(m) if m.dataset != dataset && !m.months.is_empty() => {
                return Err(LakeError::DatasetMismatch {
                    path: data_dir.lake(),
                    lake_dataset: m.dataset,
                    dataset: dataset.into(),
                })
            }
            Some(m) => m,
            None => Manifest::empty(dataset, source),
        };
        let dir = data_dir.clone();
        let mut lake = Lake { dir, config: config.clone(), manifest, recovered: Vec::new(), deferred: false };
        lake.recover()?;
        Ok(lake)
    }

    /// Opens an existing lake read-only (no repairs); `None` when there is no manifest yet.
    pub fn read_manifest(data_dir: &DataDir) -> Result<Option<Manifest>, LakeError> {
        Manifest::load(&data_dir.lake_manifest())
    }

    /// The data dir this lake lives in.
    pub fn data_dir(&self) -> &DataDir {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn month_dir(&self, m: Month) -> PathBuf {
        self.dir.lake_month(m)
    }

    fn staging(&self) -> PathBuf {
        self.dir.lake_staging()
    }

    /// Records the source's fields and host (saved with the next manifest write).
    pub fn set_source(&mut self, dataset: &str, source: &str, fields: Vec<String>) {
        self.manifest.dataset = dataset.to_string();
        self.manifest.source = source.to_string();
        self.manifest.source_fields = fields;
    }

    /// Replaces a manifest entry (saved with the next manifest write).
    pub fn upsert_entry(&mut self, entry: MonthEntry) {
        self.manifest.upsert(entry);
    }

    pub fn save_manifest(&mut self) -> Result<(), LakeError> {
        // Renames done since the last write (deferred ones included) reach the disk before the manifest does.
        fsync_dir(&self.dir.lake_table())?;
        fsync_dir(&self.staging())?;
        self.manifest.save(&self.dir.lake_manifest())?;
        checkpoint("manifest_written");
        Ok(())
    }

    /// Many months committed in one run: write the manifest once, at the end, instead of after each month.
    /// Safe because [`Lake::open`] treats a month whose file is not the manifest's as "fetch again".
    pub fn defer_manifest(&mut self, deferred: bool) {
        self.deferred = deferred;
    }

    fn save_unless_deferred(&mut self) -> Result<(), LakeError> {
        if self.deferred {
            Ok(())
        } else {
            self.save_manifest()
        }
    }

    /// Finishes or cleans up after a killed run. Leftovers in `_staging` are either staged months that were
    /// never swapped in (discarded) or old versions swapped out before they reached `revisions` (kept there).
    /// A month folder whose file is not the manifest's (swapped in, manifest not yet written) keeps its
    /// file and loses its fingerprint, so the next ingest fetches it again.
    fn recover(&mut self) -> Result<(), LakeError> {
        self.recover_staging()?;
        let mut changed = false;
        let mut seen = Vec::new();
        for dir in list_dir(&self.dir.lake_table())? {
            let name = file_name(&dir);
            let Some(m) = parse_month_folder(&name).filter(|_| dir.is_dir() && !name.contains('.')) else {
                // Not a month folder of ours (e.g. a half-renamed one): readers must not see it.
                if dir.is_dir() && name.starts_with(MONTH_FOLDER_PREFIX) {
                    remove_dir_all(&dir)?;
                    self.recovered.push(format!("removed stray folder {name}"));
                }
                continue;
            };
            seen.push(m);
            changed |= self.recover_month(m, &dir)?;
        }
        let gone: Vec<Month> = self.manifest.months.iter().map(|e| e.month).filter(|m| !seen.contains(m)).collect();
        for m in gone {
            self.manifest.remove(m);
            changed = true;
            self.recovered.push(format!("{m}: listed in the manifest but its folder is gone (an interrupted delete)"));
        }
        if changed {
            self.save_manifest()?;
        }
        Ok(())
    }

    /// Empties `_staging`: a month's version swapped out but not yet moved to revisions is kept there; the rest
    /// (staged months never swapped in, scratch folders) goes.
    fn recover_staging(&mut self) -> Result<(), LakeError> {
        for p in list_dir(&self.staging())? {
            let name = file_name(&p);
            if let (true, Some(m)) = (p.is_dir(), parse_month_folder(&name)) {
                let current = self.manifest.get(m).map(|e| e.file.clone());
                let in_lake = self.month_dir(m);
                for f in list_dir(&p)? {
                    let fname = file_name(&f);
                    let was_current = current.as_deref() == Some(fname.as_str());
                    if is_part_file(&fname) && was_current && !in_lake.join(&fname).exists() {
                        self.keep_revision(m, &f)?;
                        self.recovered
                            .push(format!("{m}: kept the version replaced by an interrupted run under revisions/"));
                    }
                }
            }
            if p.is_dir() {
                remove_dir_all(&p)?;
            } else {
                std::fs::remove_file(&p).map_err(LakeError::io("remove", &p))?;
            }
        }
        Ok(())
    }

    /// Leaves one month folder with exactly one part file, the manifest's if it is there; returns whether the
    /// manifest changed.
    fn recover_month(&mut self, m: Month, dir: &Path) -> Result<bool, LakeError> {
        let mut parts = Vec::new();
        for f in list_dir(dir)? {
            let fname = file_name(&f);
            if is_part_file(&fname) {
                parts.push(f);
            } else if fname != QUARANTINE_FILE {
                std::fs::remove_file(&f).map_err(LakeError::io("remove", &f))?;
                self.recovered.push(format!("{m}: removed stray file {fname}"));
            }
        }
        let entry = self.manifest.get(m).cloned();
        let current = entry.as_ref().map(|e| e.file.clone());
        if parts.is_empty() {
            remove_dir_all(dir)?;
            self.recovered.push(format!("{m}: removed a month folder without data"));
            return Ok(self.manifest.remove(m).is_some());
        }
        // Keep the manifest's file if present, else the newest; anything else goes to revisions.
        let keep = parts
            .iter()
            .find(|p| current.as_deref() == Some(file_name(p).as_str()))
            .cloned()
            .or_else(|| parts.iter().max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()).cloned());
        let Some(keep) = keep else { return Ok(false) };
        for p in parts.iter().filter(|p| **p != keep) {
            self.keep_revision(m, p)?;
            self.recovered.push(format!("{m}: moved stray file {} to revisions/", file_name(p)));
        }
        let keep_name = file_name(&keep);
        if current.as_deref() == Some(keep_name.as_str()) {
            return Ok(false);
        }
        // Swapped in, manifest not yet written: keep the file, forget the fingerprint so it is fetched again.
        self.manifest.upsert(MonthEntry {
            month: m,
            rows: count_parquet_rows(&keep)?,
            quarantined: 0,
            file: keep_name,
            fingerprint: None,
            fetched_at: now_utc(),
            partial: entry.as_ref().is_some_and(|e| e.partial),
            source_kind: entry.as_ref().map(|e| e.source_kind).unwrap_or(SourceKind::Soda),
        });
        self.recovered.push(format!("{m}: an interrupted run had swapped this month in; it will be fetched again"));
        Ok(true)
    }

    /// A handle that stages months from any thread while the lake itself is not borrowed.
    pub fn stager(&self) -> Stager {
        Stager { staging: self.staging() }
    }

    /// Writes an import's rejected rows that belong to no month it imported (no usable report date, or a
    /// month without other rows) to `lake/_quarantine_import.jsonl`, replacing the last import's; returns the path.
    pub fn write_import_quarantine(&self, lines: &[QuarantineLine]) -> Result<PathBuf, LakeError> {
        let path = self.dir.lake_import_quarantine();
        let mut text = String::new();
        for q in lines {
            text.push_str(&serde_json::to_string(q).unwrap_or_default());
            text.push('\n');
        }
        std::fs::write(&path, text).map_err(LakeError::io("write", &path))?;
        Ok(path)
    }

    /// Drops a staged month (the run failed before committing it).
    pub fn discard(&self, staged: StagedMonth) {
        let _ = std::fs::remove_dir_all(&staged.dir);
    }
}

/// Writes months into the staging area (`lake/_staging/`); cheap to clone into blocking tasks.
#[derive(Debug, Clone)]
pub struct Stager {
    staging: PathBuf,
}

impl Stager {
    /// Writes `month`'s Parquet file and its quarantined rows into a new staging folder, fsync'd; the lake is
    /// untouched.
    pub fn stage(
        &self,
        month: Month,
        parquet: &MonthFile,
        quarantine: &[QuarantineLine],
    ) -> Result<StagedMonth, LakeError> {
        let n = STAGE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = self.staging.join(format!("{}.{}-{n}", month_folder(month), std::process::id()));
        remove_dir_all(&dir)?;
        std::fs::create_dir_all(&dir).map_err(LakeError::io("create", &dir))?;
        let tmp = dir.join("part.parquet.tmp");
        std::fs::write(&tmp, &parquet.bytes).map_err(LakeError::io("write", &tmp))?;
        fsync_file(&tmp)?;
        let file = format!("part-{}.parquet", content_hash(&tmp)?);
        durable::rename(&tmp, &dir.join(&file))?;
        if !quarantine.is_empty() {
            let mut text = String::new();
            for q in quarantine {
                let mut line = serde_json::json!({ "month": month.to_string() });
                if let (Some(obj), Ok(serde_json::Value::Object(q))) = (line.as_object_mut(), serde_json::to_value(q)) {
                    obj.extend(q);
                }
                text.push_str(&line.to_string());
                text.push('\n');
            }
            let qp = dir.join(QUARANTINE_FILE);
            std::fs::write(&qp, text).map_err(LakeError::io("write", &qp))?;
            fsync_file(&qp)?;
        }
        fsync_dir(&dir)?;
        checkpoint("staged");
        Ok(StagedMonth { month, dir, file, rows: parquet.rows, quarantined: quarantine.len() as u64 })
    }

    /// A private scratch folder for DuckDB to spill to (removed by the next [`Lake::open`]).
    pub fn scratch_dir(&self, name: &str) -> Result<PathBuf, LakeError> {
        let d = self.staging.join(format!("{name}.{}", std::process::id()));
        std::fs::create_dir_all(&d).map_err(LakeError::io("create", &d))?;
        Ok(d)
    }
}

impl Lake {
    /// Makes a staged month current, then records it in the manifest.
    pub fn commit(
        &mut self,
        staged: StagedMonth,
        fingerprint: Option<Fingerprint>,
        partial: bool,
        kind: SourceKind,
    ) -> Result<Committed, LakeError> {
        let m = staged.month;
        let target = self.month_dir(m);
        let outcome = if target.exists() {
            let same_file = target.join(&staged.file).exists();
            let q_old = std::fs::read(target.join(QUARANTINE_FILE)).ok();
            let q_new = std::fs::read(staged.dir.join(QUARANTINE_FILE)).ok();
            if same_file && q_old == q_new && self.manifest.get(m).is_some_and(|e| e.file == staged.file) {
                remove_dir_all(&staged.dir)?;
                Committed::Same
            } else {
                self.swap_in(m, &staged.dir, &target)?;
                Committed::Replaced
            }
        } else {
            let table = self.dir.lake_table();
            durable::rename(&staged.dir, &target)?;
            if !self.deferred {
                fsync_dir(&table)?;
            }
            checkpoint("swapped");
            Committed::Added
        };
        self.manifest.upsert(MonthEntry {
            month: m,
            rows: staged.rows,
            quarantined: staged.quarantined,
            file: staged.file,
            fingerprint,
            fetched_at: now_utc(),
            partial,
            source_kind: kind,
        });
        self.save_unless_deferred()?;
        Ok(outcome)
    }

    /// Exchanges the staged folder with the month's folder, then keeps the old version under revisions.
    fn swap_in(&mut self, m: Month, staged: &Path, target: &Path) -> Result<(), LakeError> {
        let table = self.dir.lake_table();
        let old = if durable::exchange(staged, target)? {
            staged.to_path_buf()
        } else {
            // No atomic exchange on this file system: two renames (the month is briefly absent).
            let old = PathBuf::from(format!("{}.old", staged.display()));
            durable::rename(target, &old)?;
            durable::rename(staged, target)?;
            old
        };
        if !self.deferred {
            fsync_dir(&table)?;
            fsync_dir(&self.staging())?;
        }
        checkpoint("swapped");
        for f in list_dir(&old)? {
            if is_part_file(&file_name(&f)) {
                self.keep_revision(m, &f)?;
            }
        }
        remove_dir_all(&old)?;
        checkpoint("revision_kept");
        Ok(())
    }

    /// Removes a month from the lake (the source no longer has it), keeping its last version under revisions.
    pub fn delete_month(&mut self, m: Month) -> Result<(), LakeError> {
        let target = self.month_dir(m);
        if target.exists() {
            let n = STAGE_COUNTER.fetch_add(1, Ordering::Relaxed);
            let out = self.staging().join(format!("{}.{}-{n}.deleted", month_folder(m), std::process::id()));
            durable::rename(&target, &out)?;
            fsync_dir(&self.dir.lake_table())?;
            for f in list_dir(&out)? {
                if is_part_file(&file_name(&f)) {
                    self.keep_revision(m, &f)?;
                }
            }
            remove_dir_all(&out)?;
        }
        self.manifest.remove(m);
        self.save_unless_deferred()
    }

    /// Moves `file` to `revisions/report_month=M/<replaced-at>/`, then applies the retention.
    fn keep_revision(&self, m: Month, file: &Path) -> Result<(), LakeError> {
        let base = self.dir.lake_revisions_of(m);
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string();
        let mut dir = base.join(&stamp);
        let mut i = 1;
        while dir.exists() {
            dir = base.join(format!("{stamp}-{i}"));
            i += 1;
        }
        std::fs::create_dir_all(&dir).map_err(LakeError::io("create", &dir))?;
        durable::rename(file, &dir.join(file_name(file)))?;
        fsync_dir(&dir)?;
        if let Some(keep) = self.config.revisions_kept_per_month {
            let all = list_dir(&base)?;
            let excess = all.len().saturating_sub(keep as usize);
            for old in all.into_iter().take(excess) {
                remove_dir_all(&old)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_folders_parse_with_and_without_suffix() {
        assert_eq!(parse_month_folder("report_month=2024-03"), Month::parse("2024-03").ok());
        assert_eq!(parse_month_folder("report_month=2024-03.123-4"), Month::parse("2024-03").ok());
        assert_eq!(parse_month_folder("report_month=2024-3"), None);
        assert_eq!(parse_month_folder("month=2024-03"), None);
    }
}
