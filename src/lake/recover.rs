//! What [`Lake::open`] does before anything else: finish or undo what a killed run left, rebuild a missing or
//! unreadable manifest from the month folders, and verify every month file before it is trusted.
//!
//! Four steps, in order: staging leftovers → each month folder (exactly one part file; one the manifest does not
//! name is adopted when the month's own record `_month.json` vouches for it: same file, same SHA-256) → months
//! listed but gone → every listed file's size and SHA-256. A month that cannot be vouched for keeps its place in
//! the manifest without a fingerprint, so the next ingest fetches it again whatever its range, and the build
//! refuses while its file does not verify.
//!
//! Why per-month records rather than a backup of the manifest: a record is written into the month folder and
//! swapped in with the month's file, in the same rename, so it can never describe another version of the month;
//! a backup manifest is one commit behind by construction, and is lost with the disk block that lost the manifest
//! as easily as not.

use std::path::Path;

use super::checksum;
use super::manifest::{now_utc, MonthEntry, MonthRecord};
use super::store::{file_name, is_part_file, list_dir, parse_month_folder, remove_dir_all, Lake};
use super::verify::{self, Checked, Damage};
use super::writer::count_parquet_rows;
use super::LakeError;
use crate::domain::data_dir::{MONTH_FOLDER_PREFIX, MONTH_RECORD_FILE, QUARANTINE_FILE};
use crate::domain::{Month, SourceKind};

/// Why the manifest is being rebuilt from the month folders.
#[derive(Debug, Clone)]
pub(super) enum Rebuild {
    /// There is none (a new lake, or a first ingest killed before its manifest write).
    Missing,
    /// It could not be read (truncated, garbled); the parse error.
    Damaged(String),
}

/// What a month folder turned out to hold.
enum Found {
    /// The manifest's file.
    Listed,
    /// Another file, vouched for by the month's record.
    Adopted,
    /// Another file, nothing to vouch for it: listed without a fingerprint, fetched again.
    Unvouched,
    /// No data: the folder was removed.
    Empty,
}

impl Lake {
    pub(super) fn recover(&mut self, rebuild: Option<Rebuild>) -> Result<(), LakeError> {
        let mut changed = false;
        if let Some(Rebuild::Damaged(_)) = rebuild {
            let (from, to) = (self.dir.lake_manifest(), self.dir.lake_manifest_damaged());
            std::fs::rename(&from, &to).map_err(LakeError::io("set aside", &from))?;
            changed = true;
        }
        self.recover_staging()?;
        self.set_aside_old_damaged_revisions()?;
        // During a rebuild every month is "not the manifest's": one summary line instead of a line per month.
        let quiet = rebuild.is_some();
        let (mut seen, mut adopted, mut unvouched) = (Vec::new(), Vec::new(), Vec::new());
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
            match self.recover_month(m, &dir, quiet)? {
                Found::Listed => seen.push(m),
                Found::Adopted => adopted.push(m),
                Found::Unvouched => unvouched.push(m),
                Found::Empty => {}
            }
        }
        changed |= !adopted.is_empty() || !unvouched.is_empty();
        seen.extend(adopted.iter().chain(&unvouched));
        changed |= self.mark_gone(&seen);
        // Adopted files were hashed just now.
        changed |= self.verify_files(&adopted)?;
        if let Some(why) = rebuild {
            self.note_rebuild(why, &adopted, &unvouched);
        }
        if changed {
            self.save_manifest()?;
        }
        Ok(())
    }

    /// Empties `_staging`: a month's version swapped out but not yet moved to revisions is kept there; the rest
    /// (staged months never swapped in, scratch folders) goes.
    /// Lakes written before damaged versions were kept as `*.parquet.damaged` hold them as `*.parquet` in a
    /// `revisions/report_month=M/<replaced-at>-damaged[-N]/` folder, where the build's `**/*.parquet` glob
    /// (stg_lake__revisions) would open them, and one garbled file would fail every build. They are renamed once;
    /// their bytes stay for whoever investigates.
    fn set_aside_old_damaged_revisions(&mut self) -> Result<(), LakeError> {
        for month in list_dir(&self.dir.lake_revisions())? {
            for version in list_dir(&month)?.into_iter().filter(|v| file_name(v).contains("-damaged")) {
                for file in list_dir(&version)?.into_iter().filter(|f| is_part_file(&file_name(f))) {
                    let to = version.join(format!("{}.damaged", file_name(&file)));
                    std::fs::rename(&file, &to).map_err(LakeError::io("set aside", &file))?;
                    self.recovered.push(format!("kept damaged revision {} as {}", file.display(), file_name(&to)));
                }
            }
        }
        Ok(())
    }

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
                        self.keep_revision(m, &f, false)?;
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

    /// Leaves one month folder with exactly one part file: the manifest's if it is there, else the one its record
    /// names, else the newest (the others go to revisions).
    fn recover_month(&mut self, m: Month, dir: &Path, quiet: bool) -> Result<Found, LakeError> {
        let mut parts = Vec::new();
        for f in list_dir(dir)? {
            let fname = file_name(&f);
            if is_part_file(&fname) {
                parts.push(f);
            } else if fname != QUARANTINE_FILE && fname != MONTH_RECORD_FILE {
                std::fs::remove_file(&f).map_err(LakeError::io("remove", &f))?;
                self.recovered.push(format!("{m}: removed stray file {fname}"));
            }
        }
        if parts.is_empty() {
            remove_dir_all(dir)?;
            self.recovered.push(format!("{m}: removed a month folder without data"));
            return Ok(Found::Empty);
        }
        let record = MonthRecord::read(dir).filter(|r| r.entry.month == m);
        if let Some(r) = record.as_ref().filter(|r| r.dataset != self.manifest.dataset) {
            return Err(LakeError::DatasetMismatch {
                path: self.dir.lake(),
                lake_dataset: r.dataset.clone(),
                dataset: self.manifest.dataset.clone(),
            });
        }
        let entry = self.manifest.get(m).cloned();
        let named = |name: Option<&str>| parts.iter().find(|p| name == Some(file_name(p).as_str())).cloned();
        let keep = named(entry.as_ref().map(|e| e.file.as_str()))
            .or_else(|| named(record.as_ref().map(|r| r.entry.file.as_str())))
            .or_else(|| parts.iter().max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()).cloned());
        let Some(keep) = keep else { return Ok(Found::Listed) };
        for p in parts.iter().filter(|p| **p != keep) {
            self.keep_revision(m, p, false)?;
            self.recovered.push(format!("{m}: moved stray file {} to revisions/", file_name(p)));
        }
        let keep_name = file_name(&keep);
        if entry.as_ref().is_some_and(|e| e.file == keep_name) {
            return Ok(Found::Listed);
        }
        // Swapped in by a run killed before its manifest write, or the manifest is lost.
        if let Some(r) = record.filter(|r| r.entry.file == keep_name && vouches(&keep, &r.entry)) {
            self.manifest.upsert(r.entry);
            if !quiet {
                self.recovered.push(format!(
                    "{m}: an interrupted run had swapped this month in; adopted it from its record (checksum verified)"
                ));
            }
            return Ok(Found::Adopted);
        }
        self.manifest.upsert(MonthEntry {
            month: m,
            rows: count_parquet_rows(&keep).unwrap_or(0),
            quarantined: 0,
            file: keep_name,
            sha256: None,
            bytes: None,
            fingerprint: None,
            fetched_at: now_utc(),
            partial: entry.as_ref().is_some_and(|e| e.partial),
            source_kind: entry.as_ref().map(|e| e.source_kind).unwrap_or(SourceKind::Soda),
        });
        if !quiet {
            self.recovered.push(format!("{m}: an interrupted run had swapped this month in; it will be fetched again"));
        }
        Ok(Found::Unvouched)
    }

    /// Months listed whose folder is gone keep their entry without a fingerprint: the next ingest fetches them
    /// again (or drops them when the source no longer has them), and the build refuses until then.
    fn mark_gone(&mut self, seen: &[Month]) -> bool {
        let gone: Vec<MonthEntry> = self.manifest.months.iter().filter(|e| !seen.contains(&e.month)).cloned().collect();
        let mut changed = false;
        for mut e in gone {
            self.damaged.insert(e.month);
            self.recovered.push(format!(
                "{}: listed in the manifest but its folder is gone; `crimewatch ingest` fetches it again",
                e.month
            ));
            if e.fingerprint.take().is_some() {
                self.manifest.upsert(e);
                changed = true;
            }
        }
        changed
    }

    /// Checks every listed file but those in `skip` (and those already known damaged): records checksums of
    /// files from before checksums were kept, and forgets the fingerprint of a file that fails, so it is fetched
    /// again. Returns whether the manifest changed.
    fn verify_files(&mut self, skip: &[Month]) -> Result<bool, LakeError> {
        let entries: Vec<MonthEntry> = self
            .manifest
            .months
            .iter()
            .filter(|e| !skip.contains(&e.month) && !self.damaged.contains(&e.month))
            .cloned()
            .collect();
        let checked = verify::check_all(&self.dir, &entries);
        let (mut changed, mut upgraded) = (false, 0);
        for (mut e, c) in entries.into_iter().zip(checked) {
            match c {
                Checked::Verified => {}
                Checked::Upgraded(d) => {
                    (e.sha256, e.bytes) = (Some(d.sha256), Some(d.bytes));
                    MonthRecord::write_unsynced(&self.month_dir(e.month), &self.manifest.dataset, &e)?;
                    self.manifest.upsert(e);
                    upgraded += 1;
                    changed = true;
                }
                Checked::Damaged(fault) => {
                    let damage = Damage { month: Some(e.month), file: verify::relative(e.month, &e.file), fault };
                    tracing::warn!(stage = "lake", month = %e.month, error_type = "damaged_file", "{damage}");
                    self.recovered.push(format!("{damage}; `crimewatch ingest` fetches this month again"));
                    self.damaged.insert(e.month);
                    if e.fingerprint.take().is_some() {
                        self.manifest.upsert(e);
                        changed = true;
                    }
                }
            }
        }
        if upgraded > 0 {
            self.recovered.push(format!(
                "recorded SHA-256 checksums for {upgraded} month file(s) written before checksums were kept (their rows verified)"
            ));
        }
        Ok(changed)
    }

    /// One line for the run summary on what a rebuild found.
    fn note_rebuild(&mut self, why: Rebuild, adopted: &[Month], unvouched: &[Month]) {
        let why = match why {
            Rebuild::Missing if adopted.is_empty() && unvouched.is_empty() => return,
            Rebuild::Missing => "there was no manifest (a first ingest was interrupted)".to_string(),
            Rebuild::Damaged(message) => {
                format!("the manifest was unreadable ({message}); it is kept as _manifest.json.damaged")
            }
        };
        let mut note = format!(
            "{why}; rebuilt it from the {} month folder(s): {} adopted from their records (checksums verified)",
            adopted.len() + unvouched.len(),
            adopted.len()
        );
        if !unvouched.is_empty() {
            note.push_str(&format!(
                ", {} without a usable record, fetched again by `crimewatch ingest`: {}",
                unvouched.len(),
                span(unvouched)
            ));
        }
        self.recovered.push(note);
    }
}

/// Whether the record's checksum is the file's.
fn vouches(path: &Path, entry: &MonthEntry) -> bool {
    let (Some(sha256), Some(bytes)) = (&entry.sha256, entry.bytes) else { return false };
    checksum::digest(path).is_ok_and(|d| d.sha256 == *sha256 && d.bytes == bytes)
}

/// `2024-01, 2024-02, 2024-03`, or `2008-01, 2008-02, 2008-03, … 2026-11 (227 months)` for long lists.
fn span(months: &[Month]) -> String {
    let all: Vec<String> = months.iter().map(Month::to_string).collect();
    if all.len() <= 6 {
        all.join(", ")
    } else {
        format!("{}, … {} ({} months)", all[..3].join(", "), all[all.len() - 1], all.len())
    }
}
