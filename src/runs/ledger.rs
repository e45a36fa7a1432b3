//! The run ledger: `DATA_DIR/runs.jsonl`, one JSON line per state change of a run, append-only.
//!
//! A run writes a `started` line once it holds the run lock and a `finished` line when it ends, so a record is
//! never written before the work it describes. Each line goes out in one `write` on a file opened with
//! `O_APPEND` (whole lines, never interleaved) and is synced before the run goes on. Readers fold the lines by
//! `run_id` into [`RunSummary`]s; a `started` line without a `finished` one is `running` while its process still
//! holds the run lock and `abandoned` otherwise (the process was killed). The file lives beside the warehouse,
//! not inside it, so it survives warehouse swaps. Lines written before a field existed read with its default (a
//! run's `command` then is `run`).
//!
//! The ledger must never stop the service that reads it: a power loss can tear a line anywhere, even inside a
//! multi-byte character. So the file is read as bytes and decoded line by line; a line that is not UTF-8 or not
//! a ledger record is skipped, and one warning names how many and which. An append after a torn last line
//! first ends it, so the new record stays a line of its own.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lock::RunLock;
use super::RunsError;
use crate::domain::run::{BigQueryPublish, RunKind, RunStatus, RunSummary, Trigger};
use crate::domain::{DataDir, Month};

/// The first line of a run, written once it holds the run lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Started {
    run_id: String,
    trigger: Trigger,
    started_at: DateTime<Utc>,
    pid: u32,
    /// The fire time this run is for (scheduled runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheduled_for: Option<DateTime<Utc>>,
    attempt: u32,
    #[serde(default)]
    command: RunKind,
}

/// Seconds spent in each stage; `None` for a stage the run did not reach.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct StageTimings {
    ingest_seconds: Option<f64>,
    build_seconds: Option<f64>,
}

/// The last line of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Finished {
    run_id: String,
    finished_at: DateTime<Utc>,
    /// `succeeded`, `failed` or `abandoned`.
    status: RunStatus,
    #[serde(default)]
    will_retry: bool,
    #[serde(default)]
    stages: StageTimings,
    #[serde(default)]
    months_added: Vec<Month>,
    #[serde(default)]
    months_changed: Vec<Month>,
    #[serde(default)]
    months_deleted: Vec<Month>,
    #[serde(default)]
    rows_written: u64,
    #[serde(default)]
    rows_quarantined: u64,
    #[serde(default)]
    requests: u64,
    #[serde(default)]
    bytes: u64,
    #[serde(default)]
    tests_passed: u64,
    #[serde(default)]
    tests_warned: u64,
    #[serde(default)]
    tests_failed: u64,
    #[serde(default)]
    published: bool,
    #[serde(default)]
    error: Option<String>,
    /// The publish to BigQuery, when the run got there (boxed: most lines have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bigquery: Option<Box<BigQueryPublish>>,
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Line {
    Started(Started),
    Finished(Finished),
}

impl Line {
    fn started(r: &RunSummary) -> Line {
        Line::Started(Started {
            run_id: r.run_id.clone(),
            trigger: r.trigger,
            started_at: r.started_at,
            pid: r.pid,
            scheduled_for: r.scheduled_for,
            attempt: r.attempt,
            command: r.command,
        })
    }

    fn finished(r: &RunSummary) -> Line {
        Line::Finished(Finished {
            run_id: r.run_id.clone(),
            finished_at: r.finished_at.unwrap_or_else(Utc::now),
            status: r.status,
            will_retry: r.will_retry,
            stages: StageTimings { ingest_seconds: r.ingest_seconds, build_seconds: r.build_seconds },
            months_added: r.months_added.clone(),
            months_changed: r.months_changed.clone(),
            months_deleted: r.months_deleted.clone(),
            rows_written: r.rows_written,
            rows_quarantined: r.rows_quarantined,
            requests: r.requests,
            bytes: r.bytes,
            tests_passed: r.tests_passed,
            tests_warned: r.tests_warned,
            tests_failed: r.tests_failed,
            published: r.published,
            error: r.error.clone(),
            bigquery: r.bigquery.clone().map(Box::new),
        })
    }
}

impl Started {
    fn into_run(self) -> RunSummary {
        RunSummary {
            started_at: self.started_at,
            pid: self.pid,
            scheduled_for: self.scheduled_for,
            attempt: self.attempt,
            ..RunSummary::start(self.run_id, self.trigger, self.command)
        }
    }
}

impl Finished {
    fn apply_to(self, r: &mut RunSummary) {
        r.finished_at = Some(self.finished_at);
        r.status = self.status;
        r.will_retry = self.will_retry;
        r.months_added = self.months_added;
        r.months_changed = self.months_changed;
        r.months_deleted = self.months_deleted;
        r.rows_written = self.rows_written;
        r.rows_quarantined = self.rows_quarantined;
        r.requests = self.requests;
        r.bytes = self.bytes;
        r.tests_passed = self.tests_passed;
        r.tests_warned = self.tests_warned;
        r.tests_failed = self.tests_failed;
        r.published = self.published;
        r.error = self.error;
        r.ingest_seconds = self.stages.ingest_seconds;
        r.build_seconds = self.stages.build_seconds;
        r.bigquery = self.bigquery.map(|b| *b);
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

    /// Records that `run` started (it holds the run lock).
    pub fn record_start(&self, run: &RunSummary) -> Result<(), RunsError> {
        self.append(&Line::started(run))
    }

    /// Records how `run` ended.
    pub fn record_end(&self, run: &RunSummary) -> Result<(), RunsError> {
        self.append(&Line::finished(run))
    }

    /// Appends one line and syncs it to disk.
    fn append(&self, line: &Line) -> Result<(), RunsError> {
        let err = |source| RunsError::LedgerWrite { path: self.path.clone(), source };
        std::fs::create_dir_all(self.data_dir.root()).map_err(err)?;
        let mut text = serde_json::to_string(line).map_err(|e| err(std::io::Error::other(e)))?;
        text.push('\n');
        let mut file =
            std::fs::OpenOptions::new().read(true).append(true).create(true).open(&self.path).map_err(err)?;
        // After a torn write the file ends mid-line; start on a fresh line so this record stays whole.
        let len = file.metadata().map_err(err)?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1)).map_err(err)?;
            file.read_exact(&mut last).map_err(err)?;
            if last[0] != b'\n' {
                text.insert(0, '\n');
            }
        }
        file.write_all(text.as_bytes()).map_err(err)?;
        file.sync_data().map_err(err)
    }

    /// Every line that parses, in file order (a missing file is an empty ledger). Bad lines are skipped and
    /// warned about once per distinct set (the page asks for the runs every few seconds).
    fn lines(&self) -> Result<Vec<Line>, RunsError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(RunsError::LedgerRead { path: self.path.clone(), source }),
        };
        let (lines, skipped) = decode(&bytes);
        if !skipped.is_empty() {
            warn_skipped(&self.path, &skipped);
        }
        Ok(lines)
    }

    /// The runs, newest first, with unfinished runs resolved to `running` or `abandoned` by asking the run lock.
    pub fn runs(&self) -> Result<Vec<RunSummary>, RunsError> {
        let holder = RunLock::current_holder(&self.data_dir)?;
        let live = holder.and_then(|h| h.run_id);
        Ok(fold(self.lines()?, live.as_deref()))
    }
}

/// The records of a ledger file and the 1-based numbers of the lines skipped: not UTF-8, or not a record.
fn decode(bytes: &[u8]) -> (Vec<Line>, Vec<usize>) {
    let mut lines = Vec::new();
    let mut skipped = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // `from_slice` checks the UTF-8 itself: an invalid byte is an error of this line only.
        match serde_json::from_slice::<Line>(raw) {
            Ok(l) => lines.push(l),
            Err(_) => skipped.push(i + 1),
        }
    }
    (lines, skipped)
}

/// One warning naming the skipped lines, unless the same lines of the same file were warned about last time.
fn warn_skipped(path: &Path, skipped: &[usize]) {
    static LAST: std::sync::Mutex<Option<(PathBuf, Vec<usize>)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if last.as_ref().is_some_and(|(p, s)| p == path && s == skipped) {
        return;
    }
    *last = Some((path.to_path_buf(), skipped.to_vec()));
    const SHOWN: usize = 10;
    let mut numbers: Vec<String> = skipped.iter().take(SHOWN).map(usize::to_string).collect();
    if skipped.len() > SHOWN {
        numbers.push(format!("and {} more", skipped.len() - SHOWN));
    }
    tracing::warn!(stage = "runs", path = %path.display(), skipped = skipped.len(), error_type = "ledger_line",
        "skipped {} unreadable line(s) of the run ledger (line {}): torn by a crash or damaged; the runs on them \
         are not listed, the rest are", skipped.len(), numbers.join(", "));
}

/// Folds ledger lines into runs, newest first. `live_run` is the run id named by a currently held run lock:
/// the only unfinished run that can still be running.
fn fold(lines: Vec<Line>, live_run: Option<&str>) -> Vec<RunSummary> {
    let mut order: Vec<String> = Vec::new();
    let mut runs: HashMap<String, RunSummary> = HashMap::new();
    let mut early_finish: HashMap<String, Finished> = HashMap::new();
    for line in lines {
        match line {
            Line::Started(s) => {
                let id = s.run_id.clone();
                let mut run = s.into_run();
                if let Some(f) = early_finish.remove(&id) {
                    f.apply_to(&mut run);
                }
                if runs.insert(id.clone(), run).is_none() {
                    order.push(id);
                }
            }
            Line::Finished(f) => match runs.get_mut(&f.run_id) {
                Some(r) => f.apply_to(r),
                None => {
                    early_finish.insert(f.run_id.clone(), f);
                }
            },
        }
    }
    let mut out: Vec<RunSummary> = order.into_iter().filter_map(|id| runs.remove(&id)).collect();
    for r in &mut out {
        if r.status == RunStatus::Running && live_run != Some(r.run_id.as_str()) {
            r.status = RunStatus::Abandoned;
            r.error.get_or_insert_with(|| "the process ended before the run finished (killed or crashed)".into());
        }
    }
    out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| b.run_id.cmp(&a.run_id)));
    out
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

    fn run(id: &str, at: &str, trigger: Trigger) -> RunSummary {
        RunSummary { started_at: at.parse().unwrap(), pid: 1, ..RunSummary::start(id.into(), trigger, RunKind::Run) }
    }

    #[test]
    fn ledger_lines_read_back_and_fold_newest_first() {
        let dir = temp_dir("fold");
        let ledger = Ledger::new(&dir);
        let mut a = run("a", "2026-11-01T15:00:00Z", Trigger::Schedule);
        ledger.record_start(&a).unwrap();
        a.months_added = vec![Month::parse("2026-10").unwrap(), Month::parse("2026-11").unwrap()];
        a.rows_written = 42;
        a.tests_passed = 7;
        a.finish(RunStatus::Succeeded, None);
        ledger.record_end(&a).unwrap();
        ledger.record_start(&run("b", "2026-11-02T15:00:00Z", Trigger::Cli)).unwrap();
        // A new Ledger value (as after a restart) reads the same file.
        let runs = Ledger::new(&dir).runs().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].run_id, "b");
        assert_eq!(runs[0].status, RunStatus::Abandoned, "no lock is held, so the unfinished run was abandoned");
        assert!(runs[0].error.as_deref().unwrap_or("").contains("killed"));
        assert_eq!(runs[1].status, RunStatus::Succeeded);
        assert_eq!((runs[1].months_added.len(), runs[1].rows_written, runs[1].tests_passed), (2, 42, 7));
        let text = std::fs::read_to_string(ledger.path()).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with('\n'));
        std::fs::remove_dir_all(dir.root()).ok();
    }

    #[test]
    fn unfinished_run_named_by_the_held_lock_is_running() {
        let lines = vec![Line::started(&run("x", "2026-11-01T00:00:00Z", Trigger::Manual))];
        assert_eq!(fold(lines.clone(), Some("x"))[0].status, RunStatus::Running);
        assert_eq!(fold(lines.clone(), Some("other"))[0].status, RunStatus::Abandoned);
        assert_eq!(fold(lines, None)[0].status, RunStatus::Abandoned);
    }

    #[test]
    fn torn_last_line_is_skipped_and_the_next_append_stays_whole() {
        let dir = temp_dir("torn");
        let ledger = Ledger::new(&dir);
        let mut a = run("a", "2026-11-01T00:00:00Z", Trigger::Cli);
        ledger.record_start(&a).unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(ledger.path()).unwrap();
        f.write_all(b"{\"event\":\"finished\",\"run_id\":\"a\",\"fini").unwrap();
        drop(f);
        a.finish(RunStatus::Failed, None);
        ledger.record_end(&a).unwrap();
        let runs = ledger.runs().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, RunStatus::Failed);
        std::fs::remove_dir_all(dir.root()).ok();
    }

    #[test]
    fn invalid_utf8_and_torn_lines_are_skipped_and_counted_and_the_next_append_stays_whole() {
        let dir = temp_dir("bytes");
        let ledger = Ledger::new(&dir);
        let mut a = run("a", "2026-11-01T00:00:00Z", Trigger::Cli);
        ledger.record_start(&a).unwrap();
        a.finish(RunStatus::Succeeded, None);
        ledger.record_end(&a).unwrap();
        // A stray byte on a line of its own, a record with an invalid byte inside a string, and a torn last line
        // that ends inside a multi-byte character (the first byte of "é"), as a power loss leaves it.
        let mut f = std::fs::OpenOptions::new().append(true).open(ledger.path()).unwrap();
        f.write_all(b"\xff\n").unwrap();
        f.write_all(br#"{"event":"started","run_id":"b"#).unwrap();
        f.write_all(b"\xe2").unwrap();
        f.write_all(br#"","trigger":"cli","started_at":"2026-11-01T01:00:00Z","pid":1,"attempt":1}"#).unwrap();
        f.write_all(b"\n{\"event\":\"finished\",\"run_id\":\"\xc3").unwrap();
        drop(f);
        let (lines, skipped) = decode(&std::fs::read(ledger.path()).unwrap());
        assert_eq!((lines.len(), skipped), (2, vec![3, 4, 5]));
        assert_eq!(ledger.runs().unwrap().len(), 1, "the bad lines cost no readable run");

        let c = run("c", "2026-11-02T00:00:00Z", Trigger::Manual);
        ledger.record_start(&c).unwrap();
        let runs = ledger.runs().unwrap();
        assert_eq!(runs.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(), ["c", "a"]);
        let bytes = std::fs::read(ledger.path()).unwrap();
        assert!(bytes.ends_with(b"}\n"), "the new record is a whole line");
        assert_eq!(decode(&bytes).1, vec![3, 4, 5], "the torn line was ended, not glued to the new record");
        std::fs::remove_dir_all(dir.root()).ok();
    }

    #[test]
    fn lines_written_before_runs_had_a_command_read_as_pipeline_runs() {
        let started = r#"{"event":"started","run_id":"old","trigger":"schedule","started_at":"2026-11-01T15:00:00.004Z","pid":42,"scheduled_for":"2026-11-01T15:00:00Z","attempt":1}"#;
        let finished = r#"{"event":"finished","run_id":"old","finished_at":"2026-11-01T15:01:12Z","status":"succeeded","will_retry":false,"stages":{"ingest_seconds":51.3,"build_seconds":20.1},"months_added":["2026-10"],"months_changed":[],"months_deleted":[],"rows_written":18211,"rows_quarantined":0,"requests":9,"bytes":24117702,"tests_passed":41,"tests_warned":1,"tests_failed":0,"published":true,"error":null}"#;
        let lines: Vec<Line> = [started, finished].iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        let run = &fold(lines, None)[0];
        assert_eq!((run.command, run.status, run.trigger), (RunKind::Run, RunStatus::Succeeded, Trigger::Schedule));
        assert_eq!((run.rows_written, run.tests_warned, run.build_seconds), (18211, 1, Some(20.1)));
        assert_eq!(run.months_added, [Month::parse("2026-10").unwrap()]);
        assert_eq!(run.bigquery, None, "lines from before BigQuery publishing have no publish");
        // And a line written now carries the command.
        let mut new = RunSummary::start("new".into(), Trigger::Cli, RunKind::Import);
        new.finish(RunStatus::Succeeded, None);
        assert!(serde_json::to_string(&Line::started(&new)).unwrap().contains(r#""command":"import""#));
    }

    #[test]
    fn a_publish_to_bigquery_reads_back_with_its_run_and_is_absent_when_there_was_none() {
        let mut publish = RunSummary::start("p".into(), Trigger::Cli, RunKind::Publish);
        publish.bigquery = Some(BigQueryPublish {
            tables_loaded: 2,
            tables_skipped: 7,
            jobs: 4,
            bytes_uploaded: 5120,
            seconds: 1.5,
            error: None,
        });
        publish.finish(RunStatus::Succeeded, None);
        let mut build = RunSummary::start("b".into(), Trigger::Cli, RunKind::Build);
        build.finish(RunStatus::Succeeded, None);
        let lines = [Line::started(&publish), Line::finished(&publish), Line::started(&build), Line::finished(&build)];
        let text: Vec<String> = lines.iter().map(|l| serde_json::to_string(l).unwrap()).collect();
        assert!(!text[3].contains("bigquery"), "{}", text[3]);
        let read: Vec<Line> = text.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        let runs = fold(read, None);
        let by_id = |id: &str| runs.iter().find(|r| r.run_id == id).unwrap();
        assert_eq!((by_id("p").command, &by_id("p").bigquery), (RunKind::Publish, &publish.bigquery));
        assert_eq!(by_id("b").bigquery, None);
    }
}
