//! The run ledger: `DATA_DIR/runs.jsonl`, one JSON line per state change of a run, append-only.
//!
//! A run writes a `started` line once it holds the run lock and a `finished` line when it ends, so a record is
//! never written before the work it describes. Each line goes out in one `write` on a file opened with
//! `O_APPEND` (whole lines, never interleaved) and is synced before the run goes on. Readers fold the lines by
//! `run_id`; a `started` line without a `finished` one is `running` while its process still holds the run lock
//! and `abandoned` otherwise (the process was killed). The file lives beside the warehouse, not inside it, so it
//! survives warehouse swaps. A torn last line (power loss mid-write) is skipped with a warning.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lock::RunLock;
use super::ScheduleError;
use crate::domain::{DataDir, Month};

/// Who asked for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The cron schedule inside `serve`/`up` (including a missed run made up at start).
    Schedule,
    /// `POST /api/runs`.
    Manual,
    /// `crimewatch run` (and the first run of `crimewatch up`).
    Cli,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Cli => "cli",
        })
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// Stopped before it finished: by a shutdown (recorded), or its process was killed (derived).
    Abandoned,
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Abandoned => "abandoned",
        })
    }
}

/// The first line of a run, written once it holds the run lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartedEvent {
    pub run_id: String,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub pid: u32,
    /// The fire time this run is for (scheduled runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<DateTime<Utc>>,
    /// 1 for the first try of a scheduled fire time, 2 for its first retry, ...
    pub attempt: u32,
}

/// Seconds spent in each stage; `None` for a stage the run did not reach.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings {
    pub ingest_seconds: Option<f64>,
    pub build_seconds: Option<f64>,
}

/// The last line of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishedEvent {
    pub run_id: String,
    pub finished_at: DateTime<Utc>,
    /// `succeeded`, `failed` or `abandoned`.
    pub status: RunStatus,
    /// A failed scheduled try that the scheduler will try again (so a restart does not count it as done).
    #[serde(default)]
    pub will_retry: bool,
    #[serde(default)]
    pub stages: StageTimings,
    #[serde(default)]
    pub months_added: Vec<Month>,
    #[serde(default)]
    pub months_changed: Vec<Month>,
    #[serde(default)]
    pub months_deleted: Vec<Month>,
    #[serde(default)]
    pub rows_written: u64,
    #[serde(default)]
    pub rows_quarantined: u64,
    #[serde(default)]
    pub requests: u64,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub tests_passed: u64,
    #[serde(default)]
    pub tests_warned: u64,
    #[serde(default)]
    pub tests_failed: u64,
    /// Whether a new warehouse was published.
    #[serde(default)]
    pub published: bool,
    #[serde(default)]
    pub error: Option<String>,
}

impl FinishedEvent {
    /// A finished line with nothing counted yet.
    pub fn new(run_id: &str, status: RunStatus) -> FinishedEvent {
        FinishedEvent {
            run_id: run_id.to_string(),
            finished_at: Utc::now(),
            status,
            will_retry: false,
            stages: StageTimings::default(),
            months_added: Vec::new(),
            months_changed: Vec::new(),
            months_deleted: Vec::new(),
            rows_written: 0,
            rows_quarantined: 0,
            requests: 0,
            bytes: 0,
            tests_passed: 0,
            tests_warned: 0,
            tests_failed: 0,
            published: false,
            error: None,
        }
    }
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LedgerEvent {
    Started(StartedEvent),
    Finished(FinishedEvent),
}

/// One run as the ledger tells it (the `/api/runs` and `crimewatch runs --json` shape; keep the names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub months_added: usize,
    pub months_changed: usize,
    pub months_deleted: usize,
    pub rows_written: u64,
    pub requests: u64,
    pub bytes: u64,
    pub tests_passed: u64,
    pub tests_warned: u64,
    pub tests_failed: u64,
    pub error: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub attempt: u32,
    pub will_retry: bool,
    pub pid: u32,
    pub ingest_seconds: Option<f64>,
    pub build_seconds: Option<f64>,
    pub rows_quarantined: u64,
    pub published: bool,
}

impl RunRecord {
    fn from_started(s: StartedEvent) -> RunRecord {
        RunRecord {
            run_id: s.run_id,
            trigger: s.trigger,
            started_at: s.started_at,
            finished_at: None,
            status: RunStatus::Running,
            months_added: 0,
            months_changed: 0,
            months_deleted: 0,
            rows_written: 0,
            requests: 0,
            bytes: 0,
            tests_passed: 0,
            tests_warned: 0,
            tests_failed: 0,
            error: None,
            scheduled_for: s.scheduled_for,
            attempt: s.attempt,
            will_retry: false,
            pid: s.pid,
            ingest_seconds: None,
            build_seconds: None,
            rows_quarantined: 0,
            published: false,
        }
    }

    fn apply(&mut self, f: FinishedEvent) {
        self.finished_at = Some(f.finished_at);
        self.status = f.status;
        self.will_retry = f.will_retry;
        self.months_added = f.months_added.len();
        self.months_changed = f.months_changed.len();
        self.months_deleted = f.months_deleted.len();
        self.rows_written = f.rows_written;
        self.rows_quarantined = f.rows_quarantined;
        self.requests = f.requests;
        self.bytes = f.bytes;
        self.tests_passed = f.tests_passed;
        self.tests_warned = f.tests_warned;
        self.tests_failed = f.tests_failed;
        self.published = f.published;
        self.error = f.error;
        self.ingest_seconds = f.stages.ingest_seconds;
        self.build_seconds = f.stages.build_seconds;
    }
}

/// The ledger file of one data dir.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
    data_dir: DataDir,
}

impl Ledger {
    pub fn new(data_dir: &DataDir) -> Ledger {
        Ledger { path: data_dir.ledger(), data_dir: data_dir.clone() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and syncs it to disk.
    pub fn append(&self, event: &LedgerEvent) -> Result<(), ScheduleError> {
        let err = |source| ScheduleError::LedgerWrite { path: self.path.clone(), source };
        std::fs::create_dir_all(self.data_dir.root()).map_err(err)?;
        let mut line = serde_json::to_string(event).map_err(|e| err(std::io::Error::other(e)))?;
        line.push('\n');
        let mut file =
            std::fs::OpenOptions::new().read(true).append(true).create(true).open(&self.path).map_err(err)?;
        // After a torn write the file ends mid-line; start on a fresh line so this record stays whole.
        let len = file.metadata().map_err(err)?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1)).map_err(err)?;
            file.read_exact(&mut last).map_err(err)?;
            if last[0] != b'\n' {
                line.insert(0, '\n');
            }
        }
        file.write_all(line.as_bytes()).map_err(err)?;
        file.sync_data().map_err(err)
    }

    /// Every line that parses, in file order (a missing file is an empty ledger).
    pub fn events(&self) -> Result<Vec<LedgerEvent>, ScheduleError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(ScheduleError::LedgerRead { path: self.path.clone(), source }),
        };
        let mut events = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<LedgerEvent>(line) {
                Ok(e) => events.push(e),
                Err(e) => tracing::warn!(stage = "schedule", path = %self.path.display(), line = i + 1,
                    error_type = "ledger_line", "skipping an unreadable ledger line: {e}"),
            }
        }
        Ok(events)
    }

    /// The runs, newest first, with unfinished runs resolved to `running` or `abandoned` by asking the run lock.
    pub fn runs(&self) -> Result<Vec<RunRecord>, ScheduleError> {
        let holder = RunLock::current_holder(&self.data_dir)?;
        let live = holder.and_then(|h| h.run_id);
        Ok(fold(self.events()?, live.as_deref()))
    }
}

/// Folds ledger lines into runs, newest first. `live_run` is the run id named by a currently held run lock:
/// the only unfinished run that can still be running.
pub fn fold(events: Vec<LedgerEvent>, live_run: Option<&str>) -> Vec<RunRecord> {
    let mut order: Vec<String> = Vec::new();
    let mut runs: HashMap<String, RunRecord> = HashMap::new();
    let mut early_finish: HashMap<String, FinishedEvent> = HashMap::new();
    for event in events {
        match event {
            LedgerEvent::Started(s) => {
                let id = s.run_id.clone();
                let mut record = RunRecord::from_started(s);
                if let Some(f) = early_finish.remove(&id) {
                    record.apply(f);
                }
                if runs.insert(id.clone(), record).is_none() {
                    order.push(id);
                }
            }
            LedgerEvent::Finished(f) => match runs.get_mut(&f.run_id) {
                Some(r) => r.apply(f),
                None => {
                    early_finish.insert(f.run_id.clone(), f);
                }
            },
        }
    }
    let mut out: Vec<RunRecord> = order.into_iter().filter_map(|id| runs.remove(&id)).collect();
    for r in &mut out {
        if r.status == RunStatus::Running && live_run != Some(r.run_id.as_str()) {
            r.status = RunStatus::Abandoned;
            r.error.get_or_insert_with(|| "the process ended before the run finished (killed or crashed)".into());
        }
    }
    out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| b.run_id.cmp(&a.run_id)));
    out
}

/// The point up to which scheduled fire times count as handled, for the catch-up decision at start:
/// a scheduled try that ended for good (succeeded, or failed with no retry left) handles its fire time, and any
/// succeeded run handles every fire time before it started. A scheduled try that was abandoned (killed, or
/// stopped by a shutdown) or was waiting for a retry handles nothing: the point moves back to just before its
/// fire time, so that fire time is made up (once) by the next process.
pub fn schedule_baseline(runs: &[RunRecord]) -> Option<DateTime<Utc>> {
    let handled = runs
        .iter()
        .filter_map(|r| match (r.status, r.trigger, r.scheduled_for) {
            (RunStatus::Succeeded, _, s) => Some(s.map_or(r.started_at, |s| s.max(r.started_at))),
            (RunStatus::Failed, Trigger::Schedule, Some(s)) if !r.will_retry => Some(s),
            _ => None,
        })
        .max();
    let unhandled = runs
        .iter()
        .filter(|r| r.trigger == Trigger::Schedule)
        .filter(|r| r.status == RunStatus::Abandoned || (r.status == RunStatus::Failed && r.will_retry))
        .filter_map(|r| r.scheduled_for)
        .filter(|s| handled.is_none_or(|h| *s > h))
        .min();
    match unhandled {
        Some(s) => Some(s - chrono::Duration::seconds(1)),
        None => handled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> DataDir {
        let dir = std::env::temp_dir().join(format!(
            "cw-ledger-{name}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        DataDir::new(dir)
    }

    fn started(id: &str, at: &str, trigger: Trigger) -> LedgerEvent {
        LedgerEvent::Started(StartedEvent {
            run_id: id.into(),
            trigger,
            started_at: at.parse().unwrap(),
            pid: 1,
            scheduled_for: None,
            attempt: 1,
        })
    }

    #[test]
    fn ledger_lines_read_back_and_fold_newest_first() {
        let dir = temp_dir("fold");
        let ledger = Ledger::new(&dir);
        ledger.append(&started("a", "2026-11-01T15:00:00Z", Trigger::Schedule)).unwrap();
        let mut fin = FinishedEvent::new("a", RunStatus::Succeeded);
        fin.months_added = vec![Month::parse("2026-10").unwrap(), Month::parse("2026-11").unwrap()];
        fin.rows_written = 42;
        fin.tests_passed = 7;
        ledger.append(&LedgerEvent::Finished(fin)).unwrap();
        ledger.append(&started("b", "2026-11-02T15:00:00Z", Trigger::Cli)).unwrap();
        // A new Ledger value (as after a restart) reads the same file.
        let runs = Ledger::new(&dir).runs().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].run_id, "b");
        assert_eq!(runs[0].status, RunStatus::Abandoned, "no lock is held, so the unfinished run was abandoned");
        assert!(runs[0].error.as_deref().unwrap_or("").contains("killed"));
        assert_eq!(runs[1].status, RunStatus::Succeeded);
        assert_eq!((runs[1].months_added, runs[1].rows_written, runs[1].tests_passed), (2, 42, 7));
        let text = std::fs::read_to_string(ledger.path()).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with('\n'));
        std::fs::remove_dir_all(dir.root()).ok();
    }

    #[test]
    fn unfinished_run_named_by_the_held_lock_is_running() {
        let events = vec![started("x", "2026-11-01T00:00:00Z", Trigger::Manual)];
        assert_eq!(fold(events.clone(), Some("x"))[0].status, RunStatus::Running);
        assert_eq!(fold(events.clone(), Some("other"))[0].status, RunStatus::Abandoned);
        assert_eq!(fold(events, None)[0].status, RunStatus::Abandoned);
    }

    #[test]
    fn torn_last_line_is_skipped_and_the_next_append_stays_whole() {
        let dir = temp_dir("torn");
        let ledger = Ledger::new(&dir);
        ledger.append(&started("a", "2026-11-01T00:00:00Z", Trigger::Cli)).unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(ledger.path()).unwrap();
        f.write_all(b"{\"event\":\"finished\",\"run_id\":\"a\",\"fini").unwrap();
        drop(f);
        ledger.append(&LedgerEvent::Finished(FinishedEvent::new("a", RunStatus::Failed))).unwrap();
        let runs = ledger.runs().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, RunStatus::Failed);
        std::fs::remove_dir_all(dir.root()).ok();
    }

    #[test]
    fn baseline_ignores_abandoned_and_retried_scheduled_tries() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let mut ev = Vec::new();
        let mut sched = |id: &str, at: &str, status: RunStatus, will_retry: bool| {
            ev.push(LedgerEvent::Started(StartedEvent {
                run_id: id.into(),
                trigger: Trigger::Schedule,
                started_at: t(at),
                pid: 1,
                scheduled_for: Some(t(at)),
                attempt: 1,
            }));
            let mut f = FinishedEvent::new(id, status);
            f.will_retry = will_retry;
            ev.push(LedgerEvent::Finished(f));
        };
        sched("1", "2026-09-01T15:00:00Z", RunStatus::Succeeded, false);
        sched("2", "2026-10-01T15:00:00Z", RunStatus::Failed, false);
        sched("3", "2026-11-01T15:00:00Z", RunStatus::Failed, true);
        sched("4", "2026-11-02T15:00:00Z", RunStatus::Abandoned, false);
        let runs = fold(ev.clone(), None);
        // 3 and 4 are not done: the point sits just before 3's fire time so it is made up.
        assert_eq!(schedule_baseline(&runs), Some(t("2026-11-01T14:59:59Z")));
        // Without them, the last try that ended for good.
        let done = fold(ev[..4].to_vec(), None);
        assert_eq!(schedule_baseline(&done), Some(t("2026-10-01T15:00:00Z")));
        assert_eq!(schedule_baseline(&[]), None);
    }
}
