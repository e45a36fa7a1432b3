//! The lake on disk: month folders, the staging area, revisions, and the swap that replaces a month.
//!
//! A month moves through two states. [`StagedMonth`]: its Parquet file (and quarantine file) written and fsync'd
//! in `lake/_staging/`, outside what readers glob, its SHA-256 taken. [`Lake::commit`] then makes it current: the
//! month's record (`_month.json`) joins the staged folder, which is exchanged with the month's folder in one
//! `renameat2(RENAME_EXCHANGE)` (readers see the old month or the new, never neither, never both), the old version
//! moves to `lake/revisions/report_month=YYYY-MM/<replaced-at>/`, and the manifest is rewritten last.
//! [`Lake::open`] finishes or cleans up whatever a killed run left and verifies every file (see `recover`), so
//! the next run starts from a consistent lake it has checked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::checksum::{self, FileDigest};
use super::durable::{self, fsync_dir, fsync_file};
use super::fault::checkpoint;
use super::manifest::{now_utc, Manifest, MonthEntry, MonthRecord};
use super::writer::MonthFile;
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
    /// The staged file's SHA-256 and size, taken right after it was written and fsync'd.
    pub digest: FileDigest,
}

/// What a commit did to the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The month was not in the lake.
    Added,
    /// The month's content changed; the old version is under revisions.
    Replaced,
    /// Byte-identical content, and the file in the lake verified: kept, only the manifest entry changed.
    Same,
    /// The month's file in the lake did not verify (garbled, truncated or gone): replaced by the new download;
    /// the damaged file is kept under revisions with a `-damaged` suffix.
    Repaired,
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
    pub(super) dir: DataDir,
    pub(super) config: LakeConfig,
    pub(super) manifest: Manifest,
    /// What [`Lake::open`] repaired, in words, for the run summary.
    pub recovered: Vec<String>,
    /// Commits leave the manifest write to one [`Lake::save_manifest`] at the end (see [`Lake::defer_manifest`]).
    deferred: bool,
    /// Months whose file failed verification when the lake was opened; committing one is a repair.
    pub(super) damaged: BTreeSet<Month>,
}

static STAGE_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(super) fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, LakeError> {
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

pub(super) fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

pub(super) fn is_part_file(name: &str) -> bool {
    name.starts_with("part-") && name.ends_with(".parquet")
}

pub(super) fn remove_dir_all(p: &Path) -> Result<(), LakeError> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LakeError::io("remove", p)(e)),
    }
}

/// Parses `report_month=YYYY-MM` (optionally followed by `.suffix`).
pub(super) fn parse_month_folder(name: &str) -> Option<Month> {
    let rest = name.strip_prefix(MONTH_FOLDER_PREFIX)?;
    Month::parse(rest.get(..7)?).ok().filter(|_| rest.len() == 7 || rest.as_bytes()[7] == b'.')
}

impl Lake {
    /// Opens (creating if needed) the lake under `data_dir`, repairs what an interrupted run left, rebuilds a
    /// missing or damaged manifest from the month folders, and verifies every month file against it.
    pub fn open(data_dir: &DataDir, config: &LakeConfig, dataset: &str, source: &str) -> Result<Lake, LakeError> {
        let started = std::time::Instant::now();
        for d in [data_dir.lake_table(), data_dir.lake_staging(), data_dir.lake_revisions()] {
            std::fs::create_dir_all(&d).map_err(LakeError::io("create", &d))?;
        }
        let (manifest, rebuild) = match Manifest::load(&data_dir.lake_manifest()) {
            Ok(Some(m)) if m.dataset != dataset && !m.months.is_empty() => {
                return Err(LakeError::DatasetMismatch {
                    path: data_dir.lake(),
                    lake_dataset: m.dataset,
                    dataset: dataset.into(),
                })
            }
            Ok(Some(m)) => (m, None),
            Ok(None) => (Manifest::empty(dataset, source), Some(super::recover::Rebuild::Missing)),
            Err(LakeError::Manifest { message, .. }) => {
                (Manifest::empty(dataset, source), Some(super::recover::Rebuild::Damaged(message)))
            }
            Err(e) => return Err(e),
        };
        let mut lake = Lake {
            dir: data_dir.clone(),
            config: config.clone(),
            manifest,
            recovered: Vec::new(),
            deferred: false,
            damaged: BTreeSet::new(),
        };
        lake.recover(rebuild)?;
        tracing::info!(
            stage = "lake",
            months = lake.manifest.months.len(),
            damaged = lake.damaged.len(),
            bytes = lake.manifest.months.iter().filter_map(|e| e.bytes).sum::<u64>(),
            ms = started.elapsed().as_millis() as u64,
            "lake opened and verified"
        );
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

    pub(super) fn staging(&self) -> PathBuf {
        self.dir.lake_staging()
    }

    /// Records the source's fields and host (saved with the next manifest write).
    pub fn set_source(&mut self, dataset: &str, source: &str, fields: Vec<String>) {
        self.manifest.dataset = dataset.to_string();
        self.manifest.source = source.to_string();
        self.manifest.source_fields = fields;
    }

    /// Replaces a manifest entry (saved with the next manifest write), and the month's own record with it.
    pub fn upsert_entry(&mut self, entry: MonthEntry) -> Result<(), LakeError> {
        let dir = self.month_dir(entry.month);
        if dir.join(&entry.file).is_file() {
            MonthRecord::write_unsynced(&dir, &self.manifest.dataset, &entry)?;
        }
        self.manifest.upsert(entry);
        Ok(())
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
    /// Safe because [`Lake::open`] adopts a month whose file is not the manifest's only when the month's own
    /// record vouches for it (checksum verified), and otherwise fetches it again.
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
        let digest = checksum::digest(&tmp)?;
        let file = digest.part_file_name();
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
        Ok(StagedMonth { month, dir, file, rows: parquet.rows, quarantined: quarantine.len() as u64, digest })
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
        let entry = MonthEntry {
            month: m,
            rows: staged.rows,
            quarantined: staged.quarantined,
            file: staged.file.clone(),
            sha256: Some(staged.digest.sha256.clone()),
            bytes: Some(staged.digest.bytes),
            fingerprint,
            fetched_at: now_utc(),
            partial,
            source_kind: kind,
        };
        let target = self.month_dir(m);
        let mut repair = self.damaged.remove(&m);
        let outcome = if target.exists() {
            // A file of the same name is kept only when its bytes are the staged file's: a garbled or truncated
            // copy is replaced, never kept.
            let same_name = target.join(&staged.file);
            let intact = checksum::digest(&same_name).is_ok_and(|d| d == staged.digest);
            repair |= same_name.exists() && !intact;
            let listed = self.manifest.get(m).is_some_and(|e| e.file == staged.file);
            let q_old = std::fs::read(target.join(QUARANTINE_FILE)).ok();
            let q_new = std::fs::read(staged.dir.join(QUARANTINE_FILE)).ok();
            if intact && listed && !repair && q_old == q_new {
                remove_dir_all(&staged.dir)?;
                MonthRecord::write_unsynced(&target, &self.manifest.dataset, &entry)?;
                Committed::Same
            } else {
                MonthRecord::write_unsynced(&staged.dir, &self.manifest.dataset, &entry)?;
                self.swap_in(m, &staged.dir, &target, repair)?;
                if repair {
                    Committed::Repaired
                } else {
                    Committed::Replaced
                }
            }
        } else {
            MonthRecord::write_unsynced(&staged.dir, &self.manifest.dataset, &entry)?;
            let table = self.dir.lake_table();
            durable::rename(&staged.dir, &target)?;
            if !self.deferred {
                fsync_dir(&table)?;
            }
            checkpoint("swapped");
            if repair {
                Committed::Repaired
            } else {
                Committed::Added
            }
        };
        self.manifest.upsert(entry);
        self.save_unless_deferred()?;
        Ok(outcome)
    }

    /// Exchanges the staged folder with the month's folder, then keeps the old version under revisions (marked
    /// `-damaged` when it had failed verification).
    fn swap_in(&mut self, m: Month, staged: &Path, target: &Path, old_damaged: bool) -> Result<(), LakeError> {
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
                self.keep_revision(m, &f, old_damaged)?;
            }
        }
        remove_dir_all(&old)?;
        checkpoint("revision_kept");
        Ok(())
    }

    /// Removes a month from the lake (the source no longer has it), keeping its last version under revisions.
    pub fn delete_month(&mut self, m: Month) -> Result<(), LakeError> {
        let target = self.month_dir(m);
        let damaged = self.damaged.remove(&m);
        if target.exists() {
            let n = STAGE_COUNTER.fetch_add(1, Ordering::Relaxed);
            let out = self.staging().join(format!("{}.{}-{n}.deleted", month_folder(m), std::process::id()));
            durable::rename(&target, &out)?;
            fsync_dir(&self.dir.lake_table())?;
            for f in list_dir(&out)? {
                if is_part_file(&file_name(&f)) {
                    self.keep_revision(m, &f, damaged)?;
                }
            }
            remove_dir_all(&out)?;
        }
        self.manifest.remove(m);
        self.save_unless_deferred()
    }

    /// Moves `file` to `revisions/report_month=M/<replaced-at>[-damaged]/`, then applies the retention. The
    /// version's own record (`_month.json`: its fetched_at and rows) goes with it when it names this file, so the
    /// warehouse can date every version (stg_lake__revisions). A damaged file is kept as `<name>.damaged`: the
    /// build reads every `*.parquet` the lake stores and must not trip over bytes that failed verification.
    pub(super) fn keep_revision(&self, m: Month, file: &Path, damaged: bool) -> Result<(), LakeError> {
        let base = self.dir.lake_revisions_of(m);
        let mut stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string();
        if damaged {
            stamp.push_str("-damaged");
        }
        let mut dir = base.join(&stamp);
        let mut i = 1;
        while dir.exists() {
            dir = base.join(format!("{stamp}-{i}"));
            i += 1;
        }
        std::fs::create_dir_all(&dir).map_err(LakeError::io("create", &dir))?;
        let record = file.parent().and_then(MonthRecord::read).filter(|r| r.entry.file == file_name(file));
        if let Some(r) = record {
            MonthRecord::write_unsynced(&dir, &r.dataset, &r.entry)?;
        }
        let kept = if damaged { format!("{}.damaged", file_name(file)) } else { file_name(file) };
        durable::rename(file, &dir.join(kept))?;
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

    /// A staged month holding `bytes` (commit only moves and hashes files, so any bytes do).
    fn staged(lake: &Lake, month: Month, bytes: &[u8]) -> StagedMonth {
        let n = STAGE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = lake.staging().join(format!("{}.test-{n}", month_folder(month)));
        std::fs::create_dir_all(&dir).unwrap();
        let tmp = dir.join("part.tmp");
        std::fs::write(&tmp, bytes).unwrap();
        let digest = checksum::digest(&tmp).unwrap();
        let file = digest.part_file_name();
        std::fs::rename(&tmp, dir.join(&file)).unwrap();
        StagedMonth { month, dir, file, rows: 1, quarantined: 0, digest }
    }

    #[test]
    fn a_damaged_version_kept_by_an_older_release_is_renamed_out_of_the_builds_glob_on_open() {
        let root = std::env::temp_dir().join(format!("crimewatch-store-old-damaged-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = DataDir::new(&root);
        let m = Month::parse("2023-07").unwrap();
        // As older releases kept them: a `-damaged` folder holding the garbled `part-*.parquet` as it was named.
        let damaged = dir.lake_revisions_of(m).join("20261101T000000.000000Z-damaged-1");
        let intact = dir.lake_revisions_of(m).join("20261001T000000.000000Z");
        for d in [&damaged, &intact] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("part-0123456789abcdef.parquet"), b"not parquet").unwrap();
        }
        let lake = Lake::open(&dir, &LakeConfig::default(), "tazs-3rd5", "http://127.0.0.1").unwrap();
        let names = |d: &Path| list_dir(d).unwrap().iter().map(|p| file_name(p)).collect::<Vec<_>>();
        assert_eq!(names(&damaged), ["part-0123456789abcdef.parquet.damaged"]);
        assert_eq!(std::fs::read(damaged.join("part-0123456789abcdef.parquet.damaged")).unwrap(), b"not parquet");
        assert_eq!(names(&intact), ["part-0123456789abcdef.parquet"], "an intact version keeps its name");
        assert!(lake.recovered.iter().any(|r| r.contains("kept damaged revision")), "{:?}", lake.recovered);
        drop(lake);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_same_named_file_that_does_not_verify_is_replaced_on_commit_never_kept() {
        let root = std::env::temp_dir().join(format!("crimewatch-store-same-name-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = DataDir::new(&root);
        let mut lake = Lake::open(&dir, &LakeConfig::default(), "tazs-3rd5", "http://127.0.0.1").unwrap();
        let m = Month::parse("2024-02").unwrap();
        let content = b"the month's bytes, as downloaded".repeat(100);
        let first = staged(&lake, m, &content);
        let file = dir.lake_month(m).join(&first.file);
        assert_eq!(lake.commit(first, None, false, SourceKind::Soda).unwrap(), Committed::Added);

        // Garbled in place, after the lake was opened: same name, same size, other bytes.
        let mut garbled = std::fs::read(&file).unwrap();
        for b in &mut garbled[1000..1500] {
            *b = !*b;
        }
        std::fs::write(&file, &garbled).unwrap();
        // The same content downloaded again has the same name: the commit must not keep the garbled copy.
        assert_eq!(
            lake.commit(staged(&lake, m, &content), None, false, SourceKind::Soda).unwrap(),
            Committed::Repaired
        );
        assert_eq!(std::fs::read(&file).unwrap(), content, "the verified download replaced the garbled file");
        let kept: Vec<String> = list_dir(&dir.lake_revisions_of(m)).unwrap().iter().map(|p| file_name(p)).collect();
        assert!(kept.len() == 1 && kept[0].ends_with("-damaged"), "{kept:?}");
        // Kept as *.parquet.damaged, so the build's `**/*.parquet` (stg_lake__revisions) never reads it.
        let inside: Vec<String> =
            list_dir(&dir.lake_revisions_of(m).join(&kept[0])).unwrap().iter().map(|p| file_name(p)).collect();
        assert!(inside.iter().any(|n| n.ends_with(".parquet.damaged")), "{inside:?}");
        assert!(!inside.iter().any(|n| n.ends_with(".parquet")), "{inside:?}");

        // Truncated: replaced too. Intact: kept (only the entry is rewritten).
        std::fs::write(&file, &content[..content.len() / 2]).unwrap();
        assert_eq!(
            lake.commit(staged(&lake, m, &content), None, false, SourceKind::Soda).unwrap(),
            Committed::Repaired
        );
        assert_eq!(lake.commit(staged(&lake, m, &content), None, false, SourceKind::Soda).unwrap(), Committed::Same);
        assert_eq!(std::fs::read(&file).unwrap(), content);
        let entry = lake.manifest().get(m).unwrap();
        assert_eq!(entry.sha256.as_deref(), Some(checksum::digest(&file).unwrap().sha256.as_str()));
        assert_eq!(entry.bytes, Some(content.len() as u64));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_replaced_version_is_kept_with_its_own_record() {
        let root = std::env::temp_dir().join(format!("crimewatch-store-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = DataDir::new(&root);
        let mut lake = Lake::open(&dir, &LakeConfig::default(), "tazs-3rd5", "http://127.0.0.1").unwrap();
        let m = Month::parse("2024-03").unwrap();
        let first = staged(&lake, m, b"version one");
        let first_file = first.file.clone();
        lake.commit(first, None, false, SourceKind::Soda).unwrap();
        let before = MonthRecord::read(&dir.lake_month(m)).unwrap();
        assert_eq!(
            lake.commit(staged(&lake, m, b"version two"), None, false, SourceKind::Soda).unwrap(),
            Committed::Replaced
        );
        let kept = list_dir(&dir.lake_revisions_of(m)).unwrap();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert!(kept[0].join(&first_file).exists());
        assert_eq!(MonthRecord::read(&kept[0]), Some(before), "the replaced version's own record, not the new one");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn month_folders_parse_with_and_without_suffix() {
        assert_eq!(parse_month_folder("report_month=2024-03"), Month::parse("2024-03").ok());
        assert_eq!(parse_month_folder("report_month=2024-03.123-4"), Month::parse("2024-03").ok());
        assert_eq!(parse_month_folder("report_month=2024-3"), None);
        assert_eq!(parse_month_folder("month=2024-03"), None);
    }
}
