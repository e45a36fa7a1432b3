//! Write–audit–publish as types: a [`Candidate`] file is built next to the published warehouse, becomes
//! [`Tested`] only when no error-severity data test failed, and only a `Tested` file can be [`Tested::publish`]ed —
//! by one `rename(2)` over `warehouse.duckdb`, after an fsync of the file and followed by an fsync of the folder.
//! A reader that opened the old file keeps reading the old inode; a new reader sees the whole new file. A
//! candidate that is dropped (a failed test, an error) is deleted; one left by a killed process is deleted by the
//! next build.

use std::fs::File;
use std::path::{Path, PathBuf};

use duckdb::{Config, Connection};

use super::error::{FailedTest, FailedTests, WarehouseError};

const CANDIDATE_MARK: &str = ".candidate-";

/// A warehouse file being built. Not readable by anyone else; deleted on drop unless it became [`Tested`].
pub struct Candidate {
    // Declared before `file`: the connection closes before the file is removed.
    conn: Connection,
    file: CandidateFile,
}

/// The candidate's path; removes the file (and its write-ahead log and spill folder) on drop.
struct CandidateFile {
    path: PathBuf,
    published: PathBuf,
}

/// A closed, checkpointed, fsynced candidate whose error-severity tests all passed.
pub struct Tested {
    file: CandidateFile,
}

/// The published warehouse after a successful rename.
#[derive(Debug)]
pub struct Published {
    pub path: PathBuf,
}

impl Candidate {
    /// Creates `<published>.candidate-<pid>` (removing leftovers of killed builds first) and opens it, to be
    /// written in DuckDB's `storage_version` format (e.g. `v1.4.0`: readable by DuckDB 1.4 and newer).
    pub fn create(published: &Path, storage_version: &str) -> Result<Candidate, WarehouseError> {
        // DuckDB checks the version when it is set, so a bad one fails before any file is touched.
        let config = Config::default()
            .with("storage_compatibility_version", storage_version)
            .map_err(|source| WarehouseError::StorageVersion { version: storage_version.to_string(), source })?;
        let dir = parent_dir(published);
        std::fs::create_dir_all(&dir).map_err(|e| WarehouseError::io("create the data dir", &dir, e))?;
        remove_stale_candidates(published)?;
        let path = candidate_path(published, std::process::id());
        remove_with_wal(&path)?;
        let file = CandidateFile { path, published: published.to_path_buf() };
        let conn = Connection::open_with_flags(&file.path, config)
            .map_err(|e| WarehouseError::sql("the candidate warehouse", e))?;
        Ok(Candidate { conn, file })
    }

    pub fn path(&self) -> &Path {
        &self.file.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Becomes `Tested` when `failures` is empty: checkpoints and closes the file, checks no write-ahead log is
    /// left, and fsyncs it. With failures the candidate is removed and the error lists them.
    pub fn into_tested(self, failures: Vec<FailedTest>) -> Result<Tested, WarehouseError> {
        let Candidate { conn, file } = self;
        if !failures.is_empty() {
            drop(conn);
            return Err(WarehouseError::DataTestsFailed {
                warehouse: file.published.clone(),
                failures: FailedTests(failures),
            });
        }
        conn.execute_batch("CHECKPOINT").map_err(|e| WarehouseError::sql("checkpoint of the candidate", e))?;
        conn.close().map_err(|(_, e)| WarehouseError::sql("closing the candidate", e))?;
        remove_spill_dir(&file.path)?;
        if wal_path(&file.path).exists() {
            return Err(WarehouseError::CandidateNotCheckpointed { path: file.path.clone() });
        }
        let handle = File::open(&file.path).map_err(|e| WarehouseError::io("open", &file.path, e))?;
        handle.sync_all().map_err(|e| WarehouseError::io("fsync", &file.path, e))?;
        Ok(Tested { file })
    }
}

impl Drop for CandidateFile {
    fn drop(&mut self) {
        if let Err(e) = remove_with_wal(&self.path) {
            tracing::warn!(stage = "warehouse", error_type = "cleanup", "{e}");
        }
    }
}

impl Tested {
    /// Atomically replaces the published warehouse with this file.
    pub fn publish(self) -> Result<Published, WarehouseError> {
        let (path, published) = (&self.file.path, &self.file.published);
        // A write-ahead log next to the published name would be replayed into the new file by the next writer;
        // only builds write, and they write candidates, so one left here is stale.
        let stale_wal = wal_path(published);
        if stale_wal.exists() {
            tracing::warn!(stage = "warehouse", path = %stale_wal.display(), "removing a stale write-ahead log");
            std::fs::remove_file(&stale_wal).map_err(|e| WarehouseError::io("remove", &stale_wal, e))?;
        }
        std::fs::rename(path, published).map_err(|e| WarehouseError::io("rename the candidate to", published, e))?;
        let dir = parent_dir(published);
        File::open(&dir).and_then(|d| d.sync_all()).map_err(|e| WarehouseError::io("fsync the folder", &dir, e))?;
        // The candidate name no longer exists; dropping `self.file` finds nothing to remove.
        Ok(Published { path: published.clone() })
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn candidate_path(published: &Path, pid: u32) -> PathBuf {
    let mut name = published.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!("{CANDIDATE_MARK}{pid}"));
    published.with_file_name(name)
}

fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".wal");
    path.with_file_name(name)
}

/// Candidates of processes that no longer run (killed builds) are deleted; a live build's candidate is left.
fn remove_stale_candidates(published: &Path) -> Result<(), WarehouseError> {
    let Some(base) = published.file_name().and_then(|n| n.to_str()) else { return Ok(()) };
    let prefix = format!("{base}{CANDIDATE_MARK}");
    let dir = parent_dir(published);
    let entries = std::fs::read_dir(&dir).map_err(|e| WarehouseError::io("list", &dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(&prefix) else { continue };
        // `<pid>`, `<pid>.wal`, `<pid>.seed.<name>.csv`: everything a build writes carries its pid.
        let Ok(pid) = rest.split('.').next().unwrap_or_default().parse::<u32>() else { continue };
        if pid != std::process::id() && process_is_alive(pid) {
            continue;
        }
        let path = entry.path();
        tracing::info!(stage = "warehouse", path = %path.display(), "removing the candidate of a build that did not finish");
        let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(|e| WarehouseError::io("remove", &path, e))?;
    }
    Ok(())
}

fn remove_spill_dir(path: &Path) -> Result<(), WarehouseError> {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    let dir = path.with_file_name(name);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WarehouseError::io("remove", &dir, e)),
    }
}

fn process_is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: kill with signal 0 only checks whether the process exists; it sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Removes a candidate with its write-ahead log and its spill folder (`<candidate>.tmp`).
fn remove_with_wal(path: &Path) -> Result<(), WarehouseError> {
    remove_spill_dir(path)?;
    for p in [path.to_path_buf(), wal_path(path)] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(WarehouseError::io("remove", &p, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::WarehouseConfig;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("crimewatch-publish-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn failed_candidate_is_removed_and_published_file_untouched() {
        let dir = temp_dir("failed");
        let published = dir.join("warehouse.duckdb");
        std::fs::write(&published, b"old").unwrap();
        let c = Candidate::create(&published, WarehouseConfig::default().storage_version.as_str()).unwrap();
        c.conn().execute_batch("create table t as select 1 as x").unwrap();
        let path = c.path().to_path_buf();
        let failure = FailedTest { name: "t".into(), checks: "x".into(), failing_rows: 1, sample_rows: vec![] };
        assert!(matches!(c.into_tested(vec![failure]), Err(WarehouseError::DataTestsFailed { .. })));
        assert!(!path.exists());
        assert_eq!(std::fs::read(&published).unwrap(), b"old");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tested_candidate_replaces_published_file_and_stale_candidates_go() {
        let dir = temp_dir("publish");
        let published = dir.join("warehouse.duckdb");
        // A candidate of a process that cannot exist (pid beyond pid_max).
        let stale = candidate_path(&published, 999_999_999);
        std::fs::write(&stale, b"half").unwrap();
        let c = Candidate::create(&published, WarehouseConfig::default().storage_version.as_str()).unwrap();
        assert!(!stale.exists());
        c.conn().execute_batch("create table t as select 42 as x").unwrap();
        let p = c.into_tested(vec![]).unwrap().publish().unwrap();
        let conn = Connection::open(&p.path).unwrap();
        let x: i32 = conn.query_row("select x from t", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 42);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 1, "{left:?}");
        drop(conn);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_storage_version_is_named_and_leaves_the_published_file() {
        let dir = temp_dir("storage");
        let published = dir.join("warehouse.duckdb");
        std::fs::write(&published, b"old").unwrap();
        let err = Candidate::create(&published, "v9.9.9").err().expect("DuckDB knows no v9.9.9");
        let message = err.to_string();
        assert!(matches!(err, WarehouseError::StorageVersion { .. }), "{message}");
        assert!(message.contains("warehouse.storage_version = \"v9.9.9\""), "{message}");
        assert!(message.contains("e.g. v1.4.0"), "the fix is named: {message}");
        assert_eq!(std::fs::read(&published).unwrap(), b"old");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 1, "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
