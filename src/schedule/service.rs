//! Runs inside a long-lived process (`serve`/`up`): the schedule loop and runs started over HTTP, sharing one
//! stop flag so a shutdown stops both the same way.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::ledger::{FinishedEvent, Ledger, LedgerEvent, RunStatus, Trigger};
use super::run::{begin, wait_for_stop, RunReport, RunRequest};
use super::scheduler::{AttemptResult, Due, Outcome, Scheduler};
use super::ScheduleError;
use crate::pipeline::Progress;
use crate::settings::Settings;

/// Starts runs for a long-lived process and keeps track of those running in the background.
#[derive(Clone)]
pub struct RunService {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    stop: watch::Receiver<bool>,
    background: Mutex<JoinSet<()>>,
}

impl RunService {
    /// `stop` turns true on shutdown: no new runs start, running ones stop as [`super::run`] describes.
    pub fn new(settings: Settings, stop: watch::Receiver<bool>) -> RunService {
        RunService { inner: Arc::new(Inner { settings, stop, background: Mutex::new(JoinSet::new()) }) }
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn is_stopping(&self) -> bool {
        *self.inner.stop.borrow()
    }

    /// Starts a run without waiting for the lock: returns its id once it is locked and recorded, and lets the
    /// pipeline go on in the background. Another run holding the lock is [`ScheduleError::LockBusy`].
    pub async fn start_in_background(&self, trigger: Trigger) -> Result<String, ScheduleError> {
        if self.is_stopping() {
            return Err(ScheduleError::ShuttingDown);
        }
        let settings = self.inner.settings.clone();
        let request = RunRequest::once(trigger, Progress::Hidden);
        let started =
            tokio::task::spawn_blocking(move || begin(&settings, request, Duration::ZERO)).await.map_err(|e| {
                ScheduleError::Lock { path: self.inner.settings.data_dir.lock(), source: std::io::Error::other(e) }
            })??;
        let run_id = started.run_id().to_string();
        let stop = self.inner.stop.clone();
        let mut background = self.inner.background.lock().unwrap_or_else(|p| p.into_inner());
        // Reap finished runs so the set does not grow.
        while background.try_join_next().is_some() {}
        background.spawn(async move {
            started.execute(stop).await;
        });
        Ok(run_id)
    }

    /// Runs to the end, waiting up to `schedule.lock_wait_seconds` for the lock (and giving up early on stop).
    pub async fn run_to_end(&self, request: RunRequest) -> Result<RunReport, ScheduleError> {
        let wait = self.inner.settings.lock_wait;
        let begun = std::time::Instant::now();
        let mut stop = self.inner.stop.clone();
        let started = loop {
            if self.is_stopping() {
                return Err(ScheduleError::ShuttingDown);
            }
            let settings = self.inner.settings.clone();
            let req = request.clone();
            let attempt =
                tokio::task::spawn_blocking(move || begin(&settings, req, Duration::ZERO)).await.map_err(|e| {
                    ScheduleError::Lock { path: self.inner.settings.data_dir.lock(), source: std::io::Error::other(e) }
                })?;
            match attempt {
                Ok(started) => break started,
                Err(ScheduleError::LockBusy { path, holder, .. }) if begun.elapsed() < wait => {
                    tracing::info!(stage = "schedule", path = %path.display(), holder = %holder, "waiting for the run lock");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(250)) => {}
                        () = wait_for_stop(&mut stop) => return Err(ScheduleError::ShuttingDown),
                    }
                }
                Err(ScheduleError::LockBusy { path, holder, .. }) => {
                    return Err(ScheduleError::LockBusy { path, holder, waited_seconds: begun.elapsed().as_secs() })
                }
                Err(e) => return Err(e),
            }
        };
        let run_id = started.run_id().to_string();
        // On its own task, so a bug that panics inside the pipeline fails this run, not the whole schedule.
        match tokio::spawn(started.execute(self.inner.stop.clone())).await {
            Ok(report) => Ok(report),
            Err(e) => {
                let error = format!("the run stopped unexpectedly (a bug; please report it): {e}");
                let mut finished = FinishedEvent::new(&run_id, RunStatus::Failed);
                finished.error = Some(error.clone());
                if let Err(e) = Ledger::new(&self.inner.settings.data_dir).append(&LedgerEvent::Finished(finished)) {
                    tracing::error!(stage = "schedule", run_id = %run_id, error_type = "ledger", "{e}");
                }
                Ok(RunReport {
                    run_id,
                    status: RunStatus::Failed,
                    ingest: None,
                    build: None,
                    error: Some(error),
                    transient: false,
                })
            }
        }
    }

    /// Waits for every background run to end (after a stop, they end quickly or finish a publish).
    pub async fn wait_background(&self) {
        let mut set = std::mem::take(&mut *self.inner.background.lock().unwrap_or_else(|p| p.into_inner()));
        while let Some(joined) = set.join_next().await {
            if let Err(e) = joined {
                tracing::error!(stage = "schedule", error_type = "task", "a background run ended abnormally: {e}");
            }
        }
    }
}

/// Keeps the schedule until stopped: sleeps until the scheduler's next wake-up, runs what is due, and publishes
/// the next wake-up on `next_run` (for `GET /api/runs`).
pub async fn keep_schedule(
    mut scheduler: Scheduler,
    service: RunService,
    next_run: watch::Sender<Option<DateTime<Utc>>>,
) {
    let mut stop = service.inner.stop.clone();
    tracing::info!(stage = "schedule", next = ?scheduler.next_wake(), "schedule started");
    loop {
        next_run.send_replace(scheduler.next_wake());
        if service.is_stopping() {
            return;
        }
        let now = Utc::now();
        if scheduler.due(now).is_none() {
            let Some(wake) = scheduler.next_wake() else {
                wait_for_stop(&mut stop).await;
                return;
            };
            // Wake at least once a minute, so a changed wall clock (suspend, NTP step) is noticed.
            let nap = (wake - now).to_std().unwrap_or_default().min(Duration::from_secs(60));
            tokio::select! {
                () = tokio::time::sleep(nap.max(Duration::from_millis(5))) => continue,
                () = wait_for_stop(&mut stop) => return,
            }
        }
        let svc = service.clone();
        let outcome =
            scheduler.try_run_due(now, |due| async move { (run_scheduled(&svc, due).await, Utc::now()) }).await;
        match &outcome {
            Outcome::NotDue { .. } => {}
            Outcome::Succeeded { due, next } => {
                tracing::info!(stage = "schedule", scheduled_for = %due.scheduled_for, catch_up = due.catch_up,
                    next = ?next, "scheduled run succeeded")
            }
            Outcome::WillRetry { due, retry_at } => {
                tracing::warn!(stage = "schedule", scheduled_for = %due.scheduled_for, attempt = due.attempt,
                    retry_at = %retry_at, "scheduled run failed; trying again")
            }
            Outcome::GaveUp { due, next } => {
                tracing::error!(stage = "schedule", scheduled_for = %due.scheduled_for, attempt = due.attempt,
                    next = ?next, "scheduled run failed; no tries left until the next fire time")
            }
            Outcome::Stopped { .. } => return,
        }
    }
}

/// One scheduled try (locked and recorded with trigger `schedule`), reduced to what the scheduler needs.
pub async fn run_scheduled(service: &RunService, due: Due) -> AttemptResult {
    let request = RunRequest {
        trigger: Trigger::Schedule,
        scheduled_for: Some(due.scheduled_for),
        attempt: due.attempt,
        retry_on_failure: due.retry_on_failure,
        ..RunRequest::once(Trigger::Schedule, Progress::Hidden)
    };
    match service.run_to_end(request).await {
        Ok(report) => match report.status {
            RunStatus::Succeeded => AttemptResult::Succeeded,
            RunStatus::Abandoned | RunStatus::Running => AttemptResult::Stopped,
            RunStatus::Failed => AttemptResult::Failed { transient: report.transient },
        },
        Err(ScheduleError::ShuttingDown) => AttemptResult::Stopped,
        Err(e) => {
            // Lock busy past the wait, or the ledger/lock file not writable: worth another try later.
            tracing::warn!(stage = "schedule", error_type = "start", "scheduled run could not start: {e}");
            AttemptResult::Failed { transient: true }
        }
    }
}
