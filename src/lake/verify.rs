//! Verify before trusting: a month file is trusted only when its size and SHA-256 are the manifest's. Files from
//! manifests written before checksums were kept are trusted once their rows (and, when the name is a content
//! hash, their name) check out; their checksums are then recorded.
//!
//! Called on every [`Lake::open`](super::Lake::open) (so every ingest and import), and by
//! [`verify_lake`] before every warehouse build. The files are hashed on a few threads: the 1.2M-row lake
//! (~230 files, ~70 MB) takes about 0.1 s of CPU.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::checksum::{self, FileDigest};
use super::manifest::{Manifest, MonthEntry};
use super::writer::count_parquet_rows;
use super::LakeError;
use crate::domain::data_dir::MONTH_FOLDER_PREFIX;
use crate::domain::{DataDir, Month};

/// Why a month file cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The manifest names a file that is not in the month's folder.
    Missing,
    /// Another size than the manifest's: truncated, or something appended.
    Size { expected: u64, found: u64 },
    /// The manifest's size, other bytes: garbled.
    Checksum { expected: String, found: String },
    /// The file is named after a hash of its content, and its content no longer hashes to that name.
    Name,
    /// The file does not hold the manifest's number of rows, or cannot be read as Parquet.
    Rows { expected: u64, found: Option<u64> },
    /// A Parquet file that the manifest does not name: readers of the lake would read it too.
    NotInManifest,
    /// The file could not be read at all.
    Unreadable(String),
}

/// A month whose file failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub month: Option<Month>,
    /// The file's path under `lake/spd_crime/`.
    pub file: String,
    pub fault: Fault,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = self.month {
            write!(f, "{m}: ")?;
        }
        let file = &self.file;
        match &self.fault {
            Fault::Missing => write!(f, "{file} is missing"),
            Fault::Size { expected, found } => {
                let how = if found < expected { "truncated" } else { "grown" };
                write!(f, "{file} is {found} bytes, the manifest says {expected} ({how})")
            }
            Fault::Checksum { expected, found } => write!(
                f,
                "{file} has SHA-256 {}…, the manifest says {}… (garbled)",
                &found[..found.len().min(12)],
                &expected[..expected.len().min(12)]
            ),
            Fault::Name => write!(f, "{file} no longer hashes to its name (garbled)"),
            Fault::Rows { expected, found: Some(n) } => {
                write!(f, "{file} holds {n} rows, the manifest says {expected}")
            }
            Fault::Rows { found: None, .. } => write!(f, "{file} cannot be read as Parquet"),
            Fault::NotInManifest => write!(f, "{file} is not in the manifest (left by an interrupted run)"),
            Fault::Unreadable(why) => write!(f, "{file} cannot be read: {why}"),
        }
    }
}

/// The outcome of checking one manifest entry against its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Size and SHA-256 are the manifest's.
    Verified,
    /// An entry without checksums whose rows (and content-hash name) check out: its checksums, to record.
    Upgraded(FileDigest),
    Damaged(Fault),
}

/// Checks one entry's file in `month_dir`. Never fails: an unreadable file is [`Checked::Damaged`].
pub fn check_entry(month_dir: &Path, entry: &MonthEntry) -> Checked {
    let path = month_dir.join(&entry.file);
    let size = match std::fs::metadata(&path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Checked::Damaged(Fault::Missing),
        Err(e) => return Checked::Damaged(Fault::Unreadable(e.to_string())),
    };
    if let (Some(expected), Some(bytes)) = (&entry.sha256, entry.bytes) {
        // The size first: a truncated file is caught without reading it.
        if size != bytes {
            return Checked::Damaged(Fault::Size { expected: bytes, found: size });
        }
        return match checksum::digest(&path) {
            Ok(d) if d.sha256 == *expected => Checked::Verified,
            Ok(d) => Checked::Damaged(Fault::Checksum { expected: expected.clone(), found: d.sha256 }),
            Err(e) => Checked::Damaged(Fault::Unreadable(e.to_string())),
        };
    }
    check_legacy(&path, entry)
}

/// An entry written before checksums were kept: its name (when it is a content hash) and its rows must check out.
fn check_legacy(path: &Path, entry: &MonthEntry) -> Checked {
    let digest = match checksum::digest(path) {
        Ok(d) => d,
        Err(e) => return Checked::Damaged(Fault::Unreadable(e.to_string())),
    };
    match checksum::name_matches(&entry.file, path, &digest) {
        Ok(Some(false)) => return Checked::Damaged(Fault::Name),
        Err(e) => return Checked::Damaged(Fault::Unreadable(e.to_string())),
        Ok(_) => {}
    }
    match count_parquet_rows(path) {
        Ok(n) if n == entry.rows => Checked::Upgraded(digest),
        Ok(n) => Checked::Damaged(Fault::Rows { expected: entry.rows, found: Some(n) }),
        Err(_) => Checked::Damaged(Fault::Rows { expected: entry.rows, found: None }),
    }
}

/// Checks every entry on a few threads; results in the entries' order.
pub fn check_all(dir: &DataDir, entries: &[MonthEntry]) -> Vec<Checked> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4).min(entries.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Checked>>> = Mutex::new(vec![None; entries.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(e) = entries.get(i) else { break };
                let checked = check_entry(&dir.lake_month(e.month), e);
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(checked);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| Checked::Damaged(Fault::Unreadable("not checked (a checking thread failed)".into())))
        })
        .collect()
}

/// What [`verify_lake`] checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Verified {
    pub months: usize,
    pub bytes: u64,
}

/// Before a build: the manifest reads, every month file it names verifies, and no other Parquet file lies where
/// readers glob (`lake/spd_crime/*/*.parquet`). `Ok` with nothing checked when there is no lake at all (the
/// warehouse says so itself). Read-only: the repairs are the next ingest's.
pub fn verify_lake(dir: &DataDir) -> Result<Verified, LakeError> {
    let manifest = match Manifest::load(&dir.lake_manifest()) {
        Ok(Some(m)) => m,
        Ok(None) => {
            let on_disk = parquet_files(dir)?.len();
            if on_disk == 0 {
                return Ok(Verified::default());
            }
            return Err(LakeError::NoManifest { path: dir.lake_manifest(), months_on_disk: on_disk });
        }
        Err(LakeError::Manifest { path, message }) => return Err(LakeError::ManifestDamaged { path, message }),
        Err(e) => return Err(e),
    };
    let mut damage: Vec<Damage> = Vec::new();
    for (e, checked) in manifest.months.iter().zip(check_all(dir, &manifest.months)) {
        if let Checked::Damaged(fault) = checked {
            damage.push(Damage { month: Some(e.month), file: relative(e.month, &e.file), fault });
        }
    }
    for (folder, file) in parquet_files(dir)? {
        let month = folder.strip_prefix(MONTH_FOLDER_PREFIX).and_then(|m| Month::parse(m).ok());
        let named = month.and_then(|m| manifest.get(m)).is_some_and(|e| e.file == file);
        if !named {
            damage.push(Damage { month, file: format!("{folder}/{file}"), fault: Fault::NotInManifest });
        }
    }
    if !damage.is_empty() {
        damage.sort_by(|a, b| (a.month, &a.file).cmp(&(b.month, &b.file)));
        return Err(LakeError::Damaged { damage: DamageList(damage) });
    }
    let bytes = manifest.months.iter().filter_map(|e| e.bytes).sum();
    Ok(Verified { months: manifest.months.len(), bytes })
}

/// `report_month=YYYY-MM/part-….parquet`.
pub fn relative(month: Month, file: &str) -> String {
    format!("{}/{file}", crate::domain::data_dir::month_folder(month))
}

/// Every `(folder, file)` that the readers' glob `lake/spd_crime/*/*.parquet` matches.
fn parquet_files(dir: &DataDir) -> Result<Vec<(String, String)>, LakeError> {
    let table = dir.lake_table();
    let mut out = Vec::new();
    let folders = match std::fs::read_dir(&table) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(LakeError::io("list", &table)(e)),
    };
    for folder in folders {
        let folder = folder.map_err(LakeError::io("list", &table))?;
        let Ok(files) = std::fs::read_dir(folder.path()) else { continue };
        let folder_name = folder.file_name().to_string_lossy().into_owned();
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".parquet") {
                out.push((folder_name.clone(), name));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The damaged files of a lake, one per line.
#[derive(Debug, Clone)]
pub struct DamageList(pub Vec<Damage>);

impl fmt::Display for DamageList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            write!(f, "\n  - {d}")?;
        }
        Ok(())
    }
}
