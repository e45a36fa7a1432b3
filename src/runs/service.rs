//! Runs inside a long-lived process (`serve`/`up`): the schedule's runs and runs started over HTTP, sharing one
//! stop flag so a shutdown stops both the same way.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::run::{begin, wait_for_stop, Finished, RunFailure, RunRequest, StartedRun, Work};
use super::{Ledger, RunsConfig, RunsError};
use crate::domain::run::{RunEnd, RunStatus, Trigger};
use crate::domain::DataDir;
use crate::pipeline::{IngestOptions, Progress};

/// One scheduled try, as the schedule asks for it.
#[derive(Debug, Clone, Copy)]
pub struct ScheduledTry {
    /// The fire time it stands for.
    pub scheduled_for: DateTime<Utc>,
    /// 1 for the first try.
    pub attempt: u32,
    /// Whether a transient failure of this try will be retried.
    pub retry_on_failure: bool,
}

/// Starts runs for a long-lived process and keeps track of those running in the background.
#[derive(Clone)]
pub struct RunService {
    inner: Arc<Inner>,
}

struct Inner {
    config: RunsConfig,
    stop: watch::Receiver<bool>,
    background: Mutex<JoinSet<()>>,
}

impl RunService {
    /// `stop` turns true on shutdown: no new runs start, running ones stop as [`super::run`] describes.
    pub fn new(config: RunsConfig, stop: watch::Receiver<bool>) -> RunService {
        RunService { inner: Arc::new(Inner { config, stop, background: Mutex::new(JoinSet::new()) }) }
    }

    pub fn data_dir(&self) -> &DataDir {
        self.inner.config.data_dir()
    }

    pub fn is_stopping(&self) -> bool {
        *self.inner.stop.borrow()
    }

    /// Starts a pipeline run without waiting for the lock: returns its id once it is locked and recorded, and
    /// lets the pipeline go on in the background. Another run holding the lock is [`RunsError::LockBusy`].
    pub async fn start_in_background(&self, trigger: Trigger) -> Result<String, RunsError> {
        if self.is_stopping() {
            return Err(RunsError::ShuttingDown);
        }
        let request = RunRequest::once(trigger, Work::Run(IngestOptions::default()), Progress::Hidden);
        let started = self.begin_now(request).await?;
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
    pub async fn run_to_end(&self, request: RunRequest) -> Result<Finished, RunsError> {
        let started = self.begin_waiting(request).await?;
        let mut summary = started.summary().clone();
        // On its own task, so a bug that panics inside the pipeline fails this run, not the whole schedule.
        match tokio::spawn(started.execute(self.inner.stop.clone())).await {
            Ok(finished) => Ok(finished),
            Err(e) => {
                let error = format!("the run stopped unexpectedly (a bug; please report it): {e}");
                summary.finish(RunStatus::Failed, Some(error.clone()));
                if let Err(e) = Ledger::new(self.data_dir()).record_end(&summary) {
                    tracing::error!(stage = "runs", run_id = %summary.run_id, error_type = "ledger", "{e}");
                }
                Ok(Finished {
                    summary,
                    ingest: None,
                    build: None,
                    bigquery: None,
                    failure: Some(RunFailure::Crashed(error)),
                })
            }
        }
    }

    /// One scheduled try of the pipeline (locked and recorded with trigger `schedule`), reduced to how it ended.
    pub async fn run_scheduled(&self, scheduled: ScheduledTry) -> RunEnd {
        let request = RunRequest {
            scheduled_for: Some(scheduled.scheduled_for),
            attempt: scheduled.attempt,
            retry_on_failure: scheduled.retry_on_failure,
            ..RunRequest::once(Trigger::Schedule, Work::Run(IngestOptions::default()), Progress::Hidden)
        };
        match self.run_to_end(request).await {
            Ok(finished) => finished.end(),
            Err(RunsError::ShuttingDown) => RunEnd::Stopped,
            Err(e) => {
                // Lock busy past the wait, or the ledger/lock file not writable: worth another try later.
                tracing::warn!(stage = "runs", error_type = "start", "scheduled run could not start: {e}");
                RunEnd::Failed { transient: e.is_transient() }
            }
        }
    }

    /// Waits for every background run to end (after a stop, they end quickly or finish a publish).
    pub async fn wait_background(&self) {
        let mut set = std::mem::take(&mut *self.inner.background.lock().unwrap_or_else(|p| p.into_inner()));
        while let Some(joined) = set.join_next().await {
            if let Err(e) = joined {
                tracing::error!(stage = "runs", error_type = "task", "a background run ended abnormally: {e}");
            }
        }
    }

    /// Takes the lock without waiting, off the async threads.
    async fn begin_now(&self, request: RunRequest) -> Result<StartedRun, RunsError> {
        let config = self.inner.config.clone();
        tokio::task::spawn_blocking(move || begin(&config, request, Duration::ZERO))
            .await
            .map_err(|e| RunsError::Lock { path: self.data_dir().lock(), source: std::io::Error::other(e) })?
    }

    /// Takes the lock, trying again while another run holds it, up to `lock_wait` (and not past a stop).
    async fn begin_waiting(&self, request: RunRequest) -> Result<StartedRun, RunsError> {
        let wait = self.inner.config.lock_wait;
        let begun = std::time::Instant::now();
        let mut stop = self.inner.stop.clone();
        loop {
            if self.is_stopping() {
                return Err(RunsError::ShuttingDown);
            }
            match self.begin_now(request.clone()).await {
                Ok(started) => return Ok(started),
                Err(RunsError::LockBusy { path, holder, .. }) if begun.elapsed() < wait => {
                    tracing::info!(stage = "runs", path = %path.display(), holder = %holder, "waiting for the run lock");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(250)) => {}
                        () = wait_for_stop(&mut stop) => return Err(RunsError::ShuttingDown),
                    }
                }
                Err(RunsError::LockBusy { path, holder, .. }) => {
                    return Err(RunsError::LockBusy { path, holder, waited_seconds: begun.elapsed().as_secs() })
                }
                Err(e) => return Err(e),
            }
        }
    }
}
