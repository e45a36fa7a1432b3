//! The run lock: at most one pipeline run at a time across processes.
//!
//! `DATA_DIR/crimewatch.lock` is locked with `flock` (`File::try_lock`). The kernel drops the lock when the
//! holding process ends, however it ends, so a killed process never leaves a lock that blocks the next run. The
//! holder writes who it is (pid, trigger, start time, run id) into the file so a waiting process can say who it
//! waits for, and empties it on a clean release; finding it non-empty on acquiring means the previous holder was
//! killed, which is logged (the stale entry is cleared by overwriting it). The file itself is never deleted:
//! deleting a lock file while another process waits on it would let two processes hold "the" lock.
//!
//! Every run takes it, whatever it does (`run`, `ingest`, `import`, `build`), so no two of them ever write the
//! lake or the warehouse at once.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::RunsError;
use crate::domain::run::Trigger;
use crate::domain::DataDir;

/// Who holds the lock (written inside the lock file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    /// The ledger run id, when the holder is a recorded run.
    #[serde(default)]
    pub run_id: Option<String>,
    /// What the holder is doing, e.g. `run`, `ingest`, `build`.
    #[serde(default)]
    pub command: String,
}

impl LockHolder {
    /// This process, now.
    pub fn this_process(trigger: Trigger, command: &str, run_id: Option<String>) -> LockHolder {
        LockHolder { pid: std::process::id(), trigger, started_at: Utc::now(), run_id, command: command.to_string() }
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.trigger {
            Trigger::Schedule => "scheduled",
            Trigger::Manual => "manual",
            Trigger::Cli => "cli",
        };
        write!(f, "pid {}, {what}", self.pid)?;
        if !self.command.is_empty() {
            write!(f, " `{}`", self.command)?;
        }
        write!(f, ", started at {}", self.started_at.format("%Y-%m-%d %H:%M:%S UTC"))?;
        if let Some(id) = &self.run_id {
            write!(f, ", run {id}")?;
        }
        Ok(())
    }
}

/// The held run lock; released when dropped (or by the kernel when the process dies).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
    stale: Option<LockHolder>,
}

impl RunLock {
    /// Takes the lock for a CLI command, waiting up to `wait` for another holder to finish.
    pub fn acquire(data_dir: &DataDir, wait: Duration) -> Result<RunLock, RunsError> {
        RunLock::acquire_as(data_dir, wait, LockHolder::this_process(Trigger::Cli, "", None))
    }

    /// Takes the lock as `holder`, waiting up to `wait`; fails with [`RunsError::LockBusy`] naming the holder.
    pub fn acquire_as(data_dir: &DataDir, wait: Duration, holder: LockHolder) -> Result<RunLock, RunsError> {
        let path = data_dir.lock();
        let io = |source| RunsError::Lock { path: path.clone(), source };
        std::fs::create_dir_all(data_dir.root()).map_err(io)?;
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        let begun = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let waited = begun.elapsed();
                    if waited >= wait {
                        let holder = read_holder(&path).map_or_else(|| "holder unknown".to_string(), |h| h.to_string());
                        return Err(RunsError::LockBusy { path, holder, waited_seconds: waited.as_secs() });
                    }
                    std::thread::sleep((wait - waited).min(Duration::from_millis(100)));
                }
                Err(TryLockError::Error(source)) => return Err(io(source)),
            }
        }
        let mut lock = RunLock { file, path, stale: None };
        lock.stale = lock.read_own();
        if let Some(prev) = &lock.stale {
            tracing::warn!(stage = "runs", path = %lock.path.display(), previous_pid = prev.pid,
                "cleared a stale run lock: the previous holder ({prev}) ended without releasing it (killed or crashed)");
        }
        lock.write_holder(&holder).map_err(|source| RunsError::Lock { path: lock.path.clone(), source })?;
        Ok(lock)
    }

    /// The holder recorded by a process that was killed while holding the lock, if this acquire cleared one.
    pub fn stale_holder(&self) -> Option<&LockHolder> {
        self.stale.as_ref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rewrites the holder (e.g. once the run id is known).
    pub fn set_holder(&mut self, holder: &LockHolder) -> Result<(), RunsError> {
        self.write_holder(holder).map_err(|source| RunsError::Lock { path: self.path.clone(), source })
    }

    /// Who holds the lock of `data_dir` right now, without taking it; `None` when nobody does.
    ///
    /// Probes with a shared lock, which fails while anyone (this process included, through another open file)
    /// holds the exclusive one; when the probe succeeds it is dropped at once.
    pub fn current_holder(data_dir: &DataDir) -> Result<Option<LockHolder>, RunsError> {
        let path = data_dir.lock();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(RunsError::Lock { path, source }),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(TryLockError::WouldBlock) => Ok(Some(read_holder(&path).unwrap_or(LockHolder {
                pid: 0,
                trigger: Trigger::Cli,
                started_at: Utc::now(),
                run_id: None,
                command: "unknown".into(),
            }))),
            Err(TryLockError::Error(source)) => Err(RunsError::Lock { path, source }),
        }
    }

    fn read_own(&mut self) -> Option<LockHolder> {
        let mut text = String::new();
        self.file.seek(SeekFrom::Start(0)).ok()?;
        self.file.read_to_string(&mut text).ok()?;
        serde_json::from_str(text.trim()).ok()
    }

    fn write_holder(&mut self, holder: &LockHolder) -> std::io::Result<()> {
        let text = serde_json::to_string(holder).map_err(std::io::Error::other)?;
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(text.as_bytes())?;
        self.file.write_all(b"\n")?;
        self.file.flush()
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Empty the file before the lock goes, so a non-empty file on the next acquire means a killed holder.
        if let Err(e) = self.file.set_len(0) {
            tracing::warn!(stage = "runs", path = %self.path.display(), "could not clear the run lock file: {e}");
        }
        let _ = self.file.unlock();
    }
}

fn read_holder(path: &Path) -> Option<LockHolder> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> DataDir {
        let dir = std::env::temp_dir().join(format!(
            "cw-lock-{name}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        DataDir::new(dir)
    }

    #[test]
    fn second_holder_is_refused_with_the_first_ones_details_until_release() {
        let dir = temp_dir("busy");
        let first = RunLock::acquire_as(
            &dir,
            Duration::ZERO,
            LockHolder::this_process(Trigger::Schedule, "run", Some("r-1".into())),
        )
        .unwrap();
        assert!(first.stale_holder().is_none());
        let held = RunLock::current_holder(&dir).unwrap().unwrap();
        assert_eq!(held.run_id.as_deref(), Some("r-1"));
        let begun = Instant::now();
        let err = RunLock::acquire(&dir, Duration::from_millis(300)).unwrap_err().to_string();
        assert!(begun.elapsed() >= Duration::from_millis(300), "must wait the bound before failing");
        assert!(err.contains(&format!("pid {}, scheduled", std::process::id())), "{err}");
        assert!(err.contains("crimewatch.lock") && err.contains("run r-1"), "{err}");
        drop(first);
        assert!(RunLock::current_holder(&dir).unwrap().is_none());
        let second = RunLock::acquire(&dir, Duration::ZERO).unwrap();
        assert!(second.stale_holder().is_none(), "a clean release leaves no stale holder");
        std::fs::remove_dir_all(dir.root()).ok();
    }

    #[test]
    fn waiting_acquire_gets_the_lock_when_it_is_released() {
        let dir = temp_dir("wait");
        let first = RunLock::acquire(&dir, Duration::ZERO).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(first);
        });
        let second = RunLock::acquire(&dir, Duration::from_secs(10));
        assert!(second.is_ok(), "{second:?}");
        releaser.join().unwrap();
        std::fs::remove_dir_all(dir.root()).ok();
    }
}
