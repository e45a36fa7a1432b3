//! One run, the one record of it: [`RunSummary`] is filled by the pipeline's stages as they finish, written to
//! the ledger, read back by `crimewatch runs` and `GET /api/runs`, and drawn by the page's "Runs" panel.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use super::Month;

/// Who asked for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The cron schedule inside `serve`/`up` (including a missed run made up at start).
    Schedule,
    /// `POST /api/runs`.
    Manual,
    /// A command: `crimewatch run`, `ingest`, `import`, `build` or `publish` (and the first run of `crimewatch up`).
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

/// What a run does: the whole pipeline, or one of the commands that run a single stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Ingest, then build (`crimewatch run`, the schedule, `POST /api/runs`). Ledgers written before the kind
    /// was recorded held only these.
    #[default]
    Run,
    Ingest,
    Import,
    Build,
    /// The published warehouse copied to BigQuery (`crimewatch publish`).
    Publish,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Run => "run",
            RunKind::Ingest => "ingest",
            RunKind::Import => "import",
            RunKind::Build => "build",
            RunKind::Publish => "publish",
        }
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// How a run ended, as far as trying it again is concerned (what the scheduler needs to know).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    Succeeded,
    /// `transient`: worth trying again (source unreachable, lock busy); otherwise it would fail the same way.
    Failed {
        transient: bool,
    },
    /// The process is shutting down; nothing more is scheduled.
    Stopped,
}

/// What a run's publish to BigQuery did: the part of [`RunSummary`] that the ledger, `crimewatch runs`,
/// `GET /api/runs` and the page show.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BigQueryPublish {
    /// Tables loaded (replaced) in BigQuery.
    pub tables_loaded: u64,
    /// Tables left as they were: BigQuery already had their content.
    pub tables_skipped: u64,
    /// Load, copy and query jobs run.
    pub jobs: u64,
    pub bytes_uploaded: u64,
    pub seconds: f64,
    /// Why the publish failed (the run's `error` says it too); `None` when it succeeded.
    pub error: Option<String>,
}

/// One run. It serializes as a run object of `GET /api/runs` and `crimewatch runs --json` (keep the names);
/// the months lists are kept, but shown as counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    #[serde(serialize_with = "count")]
    pub months_added: Vec<Month>,
    #[serde(serialize_with = "count")]
    pub months_changed: Vec<Month>,
    #[serde(serialize_with = "count")]
    pub months_deleted: Vec<Month>,
    pub rows_written: u64,
    pub requests: u64,
    pub bytes: u64,
    pub tests_passed: u64,
    pub tests_warned: u64,
    pub tests_failed: u64,
    /// The error and its causes, one line.
    pub error: Option<String>,
    /// The fire time this run is for (scheduled runs only).
    pub scheduled_for: Option<DateTime<Utc>>,
    /// 1 for the first try of a scheduled fire time, 2 for its first retry, ...
    pub attempt: u32,
    /// A failed scheduled try that the scheduler will try again (so a restart does not count it as done).
    pub will_retry: bool,
    pub pid: u32,
    /// Seconds spent bringing the lake in step (ingest or import); `None` when the run did not get there.
    pub ingest_seconds: Option<f64>,
    /// Seconds spent building the warehouse; `None` when the run did not get there.
    pub build_seconds: Option<f64>,
    pub rows_quarantined: u64,
    /// Whether a new warehouse was published.
    pub published: bool,
    pub command: RunKind,
    /// The publish to BigQuery; `None` when no project is set or the run did not get there.
    pub bigquery: Option<BigQueryPublish>,
}

impl RunSummary {
    /// A run of this process starting now, with nothing counted yet.
    pub fn start(run_id: String, trigger: Trigger, command: RunKind) -> RunSummary {
        RunSummary {
            run_id,
            trigger,
            started_at: Utc::now(),
            finished_at: None,
            status: RunStatus::Running,
            months_added: Vec::new(),
            months_changed: Vec::new(),
            months_deleted: Vec::new(),
            rows_written: 0,
            requests: 0,
            bytes: 0,
            tests_passed: 0,
            tests_warned: 0,
            tests_failed: 0,
            error: None,
            scheduled_for: None,
            attempt: 1,
            will_retry: false,
            pid: std::process::id(),
            ingest_seconds: None,
            build_seconds: None,
            rows_quarantined: 0,
            published: false,
            command,
            bigquery: None,
        }
    }

    /// Ends the run now.
    pub fn finish(&mut self, status: RunStatus, error: Option<String>) {
        self.status = status;
        self.error = error;
        self.finished_at = Some(Utc::now());
    }
}

fn count<S: Serializer>(months: &[Month], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(months.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_serializes_as_the_api_shows_it_with_month_counts() {
        let mut run = RunSummary::start("r-1".into(), Trigger::Cli, RunKind::Ingest);
        run.months_added = vec![Month::parse("2026-10").unwrap(), Month::parse("2026-11").unwrap()];
        run.finish(RunStatus::Succeeded, None);
        let v = serde_json::to_value(&run).unwrap();
        assert_eq!(v["months_added"], 2);
        assert_eq!(v["months_deleted"], 0);
        assert_eq!(
            (v["trigger"].as_str(), v["status"].as_str(), v["command"].as_str()),
            (Some("cli"), Some("succeeded"), Some("ingest"))
        );
        assert!(v["finished_at"].is_string() && v["error"].is_null() && v["bigquery"].is_null());
        run.command = RunKind::Publish;
        run.bigquery = Some(BigQueryPublish { tables_loaded: 3, jobs: 6, ..Default::default() });
        let v = serde_json::to_value(&run).unwrap();
        assert_eq!((v["command"].as_str(), &v["bigquery"]["tables_loaded"]), (Some("publish"), &serde_json::json!(3)));
    }
}
