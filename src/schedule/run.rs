//! One recorded pipeline run: take the run lock, write `started`, ingest, build, write `finished`.
//!
//! Every way of starting a run (the schedule, `POST /api/runs`, `crimewatch run`, the first run of `up`) goes
//! through [`begin`] and [`StartedRun::execute`], so each one is locked and on record the same way.
//!
//! Stopping (SIGTERM/Ctrl-C, seen through a `watch` flag): during ingest the run is dropped at once (the lake
//! replaces each month by rename and writes its manifest after the month files, so what is on disk is whole);
//! between the stages nothing new starts; a warehouse build that has begun is waited for, because it publishes
//! by one rename at its end: it either publishes whole or not at all. The ledger records such a run as
//! `abandoned`, with the stage it stopped in.

use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::ledger::{FinishedEvent, Ledger, LedgerEvent, RunStatus, StartedEvent, Trigger};
use super::lock::{LockHolder, RunLock};
use super::ScheduleError;
use crate::pipeline::{self, BuildSummary, IngestOptions, IngestSummary, Progress};
use crate::settings::Settings;

/// What to run and why.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub trigger: Trigger,
    /// The fire time (scheduled runs).
    pub scheduled_for: Option<DateTime<Utc>>,
    /// 1 for a first try.
    pub attempt: u32,
    /// Whether the scheduler will try again after a transient failure (recorded, for the catch-up decision).
    pub retry_on_failure: bool,
    pub ingest: IngestOptions,
    pub progress: Progress,
}

impl RunRequest {
    /// A one-off run (CLI or manual): first try, no retry, default ingest range.
    pub fn once(trigger: Trigger, progress: Progress) -> RunRequest {
        RunRequest {
            trigger,
            scheduled_for: None,
            attempt: 1,
            retry_on_failure: false,
            ingest: IngestOptions::default(),
            progress,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
    pub status: RunStatus,
    pub ingest: Option<IngestSummary>,
    pub build: Option<BuildSummary>,
    /// The error and its causes, one line.
    pub error: Option<String>,
    /// For a failure: whether trying again later may help (the source was unreachable, say).
    pub transient: bool,
}

/// A run that holds the lock and is on record; [`StartedRun::execute`] does the work.
#[derive(Debug)]
pub struct StartedRun {
    settings: Settings,
    request: RunRequest,
    run_id: String,
    ledger: Ledger,
    lock: RunLock,
}

/// Takes the run lock (waiting up to `lock_wait`) and records the start. Blocking: call from
/// `spawn_blocking` in async code.
pub fn begin(
    settings: &Settings,
    request: RunRequest,
    lock_wait: std::time::Duration,
) -> Result<StartedRun, ScheduleError> {
    let run_id = new_run_id();
    let holder = LockHolder::this_process(request.trigger, "run", Some(run_id.clone()));
    let lock = RunLock::acquire_as(&settings.data_dir, lock_wait, holder)?;
    let ledger = Ledger::new(&settings.data_dir);
    ledger.append(&LedgerEvent::Started(StartedEvent {
        run_id: run_id.clone(),
        trigger: request.trigger,
        started_at: Utc::now(),
        pid: std::process::id(),
        scheduled_for: request.scheduled_for,
        attempt: request.attempt,
    }))?;
    tracing::info!(stage = "schedule", run_id = %run_id, trigger = %request.trigger, attempt = request.attempt, "run started");
    Ok(StartedRun { settings: settings.clone(), request, run_id, ledger, lock })
}

impl StartedRun {
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The holder of a lock this run cleared because its process had been killed.
    pub fn stale_lock(&self) -> Option<&LockHolder> {
        self.lock.stale_holder()
    }

    /// Ingests, then builds; records the end; releases the lock. Never fails: the outcome is in the report.
    pub async fn execute(self, mut stop: watch::Receiver<bool>) -> RunReport {
        let mut finished = FinishedEvent::new(&self.run_id, RunStatus::Failed);
        let mut report = RunReport {
            run_id: self.run_id.clone(),
            status: RunStatus::Failed,
            ingest: None,
            build: None,
            error: None,
            transient: false,
        };
        if *stop.borrow() {
            return self.end(finished, report, Ended::Stopped("before the run began"));
        }

        let began = Instant::now();
        let config = self.settings.pipeline();
        let ingested = tokio::select! {
            biased;
            () = wait_for_stop(&mut stop) => None,
            r = pipeline::ingest(&config, &self.request.ingest, self.request.progress) => Some(r),
        };
        finished.stages.ingest_seconds = Some(began.elapsed().as_secs_f64());
        let ingest = match ingested {
            None => {
                return self.end(
                    finished,
                    report,
                    Ended::Stopped("during ingest; the lake keeps its last whole months"),
                )
            }
            Some(Err(e)) => {
                let transient = e.is_transient();
                return self.end(finished, report, Ended::Failed(error_chain(&e), transient));
            }
            Some(Ok(summary)) => summary,
        };
        finished.months_added = ingest.months_added.clone();
        finished.months_changed = ingest.months_changed.clone();
        finished.months_deleted = ingest.months_deleted.clone();
        finished.rows_written = ingest.rows_written;
        finished.rows_quarantined = ingest.rows_quarantined;
        finished.requests = ingest.requests;
        finished.bytes = ingest.bytes;
        report.ingest = Some(ingest);
        if *stop.borrow() {
            return self.end(
                finished,
                report,
                Ended::Stopped("after ingest, before the warehouse build; the lake is current"),
            );
        }

        let began = Instant::now();
        let config = self.settings.pipeline();
        let progress = self.request.progress;
        let mut build = tokio::task::spawn_blocking(move || pipeline::build(&config, progress));
        let joined = tokio::select! {
            r = &mut build => r,
            () = wait_for_stop(&mut stop) => {
                tracing::warn!(stage = "schedule", run_id = %self.run_id,
                    "stop requested: letting the warehouse build finish (it publishes whole or not at all)");
                (&mut build).await
            }
        };
        finished.stages.build_seconds = Some(began.elapsed().as_secs_f64());
        match joined {
            Ok(Ok(summary)) => {
                finished.tests_passed = summary.tests_passed as u64;
                finished.tests_warned = summary.tests_warned as u64;
                finished.tests_failed = summary.tests_failed as u64;
                finished.published = summary.published;
                report.build = Some(summary);
                self.end(finished, report, Ended::Succeeded)
            }
            Ok(Err(e)) => {
                let transient = e.is_transient();
                self.end(finished, report, Ended::Failed(error_chain(&e), transient))
            }
            Err(join) => self.end(
                finished,
                report,
                Ended::Failed(
                    format!("the warehouse build stopped unexpectedly (a bug; please report it): {join}"),
                    false,
                ),
            ),
        }
    }

    /// Writes the `finished` line, then releases the lock (in that order, so a reader never sees a released lock
    /// with an unfinished run that is still going).
    fn end(self, mut finished: FinishedEvent, mut report: RunReport, ended: Ended) -> RunReport {
        match ended {
            Ended::Succeeded => report.status = RunStatus::Succeeded,
            Ended::Failed(message, transient) => {
                report.status = RunStatus::Failed;
                report.error = Some(message);
                report.transient = transient;
                finished.will_retry = transient && self.request.retry_on_failure;
            }
            Ended::Stopped(when) => {
                report.status = RunStatus::Abandoned;
                report.error = Some(format!("stopped by a shutdown {when}"));
            }
        }
        finished.status = report.status;
        finished.error = report.error.clone();
        finished.finished_at = Utc::now();
        match self.ledger.append(&LedgerEvent::Finished(finished)) {
            Ok(()) => {}
            Err(e) => tracing::error!(stage = "schedule", run_id = %self.run_id, error_type = "ledger", "{e}"),
        }
        match report.status {
            RunStatus::Succeeded => tracing::info!(stage = "schedule", run_id = %self.run_id, "run succeeded"),
            status => tracing::warn!(stage = "schedule", run_id = %self.run_id, status = %status,
                error = report.error.as_deref().unwrap_or(""), "run did not succeed"),
        }
        drop(self.lock);
        report
    }
}

enum Ended {
    Succeeded,
    Failed(String, bool),
    Stopped(&'static str),
}

/// Resolves once `stop` turns true; never, if its sender is gone.
pub(crate) async fn wait_for_stop(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// An error and its causes on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// A run id that sorts by start time and is unique across processes: `20261128T150000.123Z-<pid>-<n>`.
fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = Utc::now();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}", now.format("%Y%m%dT%H%M%S%.3fZ"), std::process::id())
}
