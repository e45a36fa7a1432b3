//! One recorded run: take the run lock, write `started`, do the work, write `finished`, release the lock.
//!
//! Every way of starting a run (the schedule, `POST /api/runs`, `crimewatch run`, `ingest`, `import`, `build`,
//! the first run of `up`) goes through [`begin`] and [`StartedRun::execute`], so each one is locked and on record
//! the same way.
//!
//! A pipeline run is ingest → build → publish to BigQuery (the last only when a project is set, and only after a
//! build whose data tests passed: a failed test publishes nothing anywhere).
//!
//! Stopping (SIGTERM/Ctrl-C, seen through a `watch` flag): during ingest the run is dropped at once (the lake
//! replaces each month by rename and writes its manifest after the month files, so what is on disk is whole);
//! between the stages nothing new starts; a warehouse build that has begun is waited for, because it publishes
//! by one rename at its end: it either publishes whole or not at all. A BigQuery publish that has begun is
//! waited for too, so that `meta_build` lands after the tables it describes. The ledger records such a run as
//! `abandoned`, with the stage it stopped in.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::ledger::Ledger;
use super::lock::{LockHolder, RunLock};
use super::{RunsConfig, RunsError};
use crate::domain::run::{BigQueryPublish, RunEnd, RunKind, RunStatus, RunSummary, Trigger};
use crate::pipeline::{self, BuildSummary, IngestOptions, IngestSummary, PipelineError, Progress, PublishSummary};

/// What a run does.
#[derive(Debug, Clone)]
pub enum Work {
    /// Ingest, then build, then publish to BigQuery when a project is set.
    Run(IngestOptions),
    Ingest(IngestOptions),
    /// Import this CSV export.
    Import(PathBuf),
    Build,
    /// Copy the published warehouse to BigQuery (fails when no project is set).
    Publish,
}

impl Work {
    pub fn kind(&self) -> RunKind {
        match self {
            Work::Run(_) => RunKind::Run,
            Work::Ingest(_) => RunKind::Ingest,
            Work::Import(_) => RunKind::Import,
            Work::Build => RunKind::Build,
            Work::Publish => RunKind::Publish,
        }
    }
}

/// What to run and why.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub trigger: Trigger,
    pub work: Work,
    /// The fire time (scheduled runs).
    pub scheduled_for: Option<DateTime<Utc>>,
    /// 1 for a first try.
    pub attempt: u32,
    /// Whether the scheduler will try again after a transient failure (recorded, for the catch-up decision).
    pub retry_on_failure: bool,
    pub progress: Progress,
}

impl RunRequest {
    /// A one-off run (a command, or a manual one): first try, no retry.
    pub fn once(trigger: Trigger, work: Work, progress: Progress) -> RunRequest {
        RunRequest { trigger, work, scheduled_for: None, attempt: 1, retry_on_failure: false, progress }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A stage's task panicked (a bug).
    #[error("{0}")]
    Crashed(String),
}

/// How a run ended: its record, what its stages reported, and why it failed when it did.
#[derive(Debug)]
pub struct Finished {
    pub summary: RunSummary,
    pub ingest: Option<IngestSummary>,
    pub build: Option<BuildSummary>,
    pub bigquery: Option<PublishSummary>,
    pub failure: Option<RunFailure>,
}

impl Finished {
    /// For a failure: whether trying again later may help (the source was unreachable, say).
    pub fn transient(&self) -> bool {
        matches!(&self.failure, Some(RunFailure::Pipeline(e)) if e.is_transient())
    }

    /// The end as the scheduler needs to know it.
    pub fn end(&self) -> RunEnd {
        match self.summary.status {
            RunStatus::Succeeded => RunEnd::Succeeded,
            RunStatus::Abandoned | RunStatus::Running => RunEnd::Stopped,
            RunStatus::Failed => RunEnd::Failed { transient: self.transient() },
        }
    }
}

/// A run that holds the lock and is on record; [`StartedRun::execute`] does the work.
#[derive(Debug)]
pub struct StartedRun {
    config: RunsConfig,
    request: RunRequest,
    summary: RunSummary,
    ledger: Ledger,
    lock: RunLock,
}

/// Takes the run lock (waiting up to `lock_wait`) and records the start. Blocking: call from `spawn_blocking`
/// in async code.
pub fn begin(config: &RunsConfig, request: RunRequest, lock_wait: Duration) -> Result<StartedRun, RunsError> {
    let kind = request.work.kind();
    let summary = RunSummary {
        scheduled_for: request.scheduled_for,
        attempt: request.attempt,
        ..RunSummary::start(new_run_id(), request.trigger, kind)
    };
    let holder = LockHolder::this_process(request.trigger, kind.as_str(), Some(summary.run_id.clone()));
    let data_dir = &config.pipeline.data_dir;
    let lock = RunLock::acquire_as(data_dir, lock_wait, holder)?;
    let ledger = Ledger::new(data_dir);
    ledger.record_start(&summary)?;
    tracing::info!(stage = "runs", run_id = %summary.run_id, trigger = %request.trigger, command = %kind,
        attempt = request.attempt, "run started");
    Ok(StartedRun { config: config.clone(), request, summary, ledger, lock })
}

/// How the work ended, before it is recorded.
enum Ended {
    Succeeded,
    Failed(RunFailure),
    Stopped(&'static str),
}

/// The stage outputs a run collects.
#[derive(Default)]
struct Outputs {
    ingest: Option<IngestSummary>,
    build: Option<BuildSummary>,
    bigquery: Option<PublishSummary>,
}

impl StartedRun {
    pub fn run_id(&self) -> &str {
        &self.summary.run_id
    }

    /// The run's record as it started.
    pub fn summary(&self) -> &RunSummary {
        &self.summary
    }

    /// The holder of a lock this run cleared because its process had been killed.
    pub fn stale_lock(&self) -> Option<&LockHolder> {
        self.lock.stale_holder()
    }

    /// Does the work; records the end; releases the lock. Never fails: the outcome is in [`Finished`].
    pub async fn execute(mut self, mut stop: watch::Receiver<bool>) -> Finished {
        let mut out = Outputs::default();
        let ended = self.work(&mut stop, &mut out).await;
        self.end(ended, out)
    }

    async fn work(&mut self, stop: &mut watch::Receiver<bool>, out: &mut Outputs) -> Ended {
        if *stop.borrow() {
            return Ended::Stopped("before the run began");
        }
        let result = match self.request.work.clone() {
            Work::Run(opts) => match self.ingest(&opts, stop, out).await {
                Err(ended) => Err(ended),
                Ok(()) if *stop.borrow() => {
                    Err(Ended::Stopped("after ingest, before the warehouse build; the lake is current"))
                }
                Ok(()) => match self.build(stop, out).await {
                    Err(ended) => Err(ended),
                    Ok(()) if self.config.pipeline.bigquery.is_none() => Ok(()),
                    Ok(()) if *stop.borrow() => Err(Ended::Stopped(
                        "after the warehouse build, before the BigQuery publish; the warehouse is published",
                    )),
                    Ok(()) => self.publish(stop, out).await,
                },
            },
            Work::Ingest(opts) => self.ingest(&opts, stop, out).await,
            Work::Import(file) => self.import(file, out).await,
            Work::Build => self.build(stop, out).await,
            Work::Publish => self.publish(stop, out).await,
        };
        result.err().unwrap_or(Ended::Succeeded)
    }

    /// source → lake; dropped at once on a stop.
    async fn ingest(
        &mut self,
        opts: &IngestOptions,
        stop: &mut watch::Receiver<bool>,
        out: &mut Outputs,
    ) -> Result<(), Ended> {
        let began = Instant::now();
        let config = &self.config.pipeline;
        let ingested = tokio::select! {
            biased;
            () = wait_for_stop(stop) => None,
            r = pipeline::ingest(config, opts, self.request.progress) => Some(r),
        };
        self.summary.ingest_seconds = Some(began.elapsed().as_secs_f64());
        match ingested {
            None => Err(Ended::Stopped("during ingest; the lake keeps its last whole months")),
            Some(Err(e)) => Err(Ended::Failed(e.into())),
            Some(Ok(ingest)) => {
                ingest.record(&mut self.summary);
                out.ingest = Some(ingest);
                Ok(())
            }
        }
    }

    /// CSV export → lake (blocking work, off the async threads).
    async fn import(&mut self, file: PathBuf, out: &mut Outputs) -> Result<(), Ended> {
        let began = Instant::now();
        let (config, progress) = (self.config.pipeline.clone(), self.request.progress);
        let joined = tokio::task::spawn_blocking(move || pipeline::import(&config, &file, progress)).await;
        self.summary.ingest_seconds = Some(began.elapsed().as_secs_f64());
        match joined {
            Ok(Ok(ingest)) => {
                ingest.record(&mut self.summary);
                out.ingest = Some(ingest);
                Ok(())
            }
            Ok(Err(e)) => Err(Ended::Failed(e.into())),
            Err(join) => Err(crashed("the import", join)),
        }
    }

    /// lake → warehouse; a build that has begun is waited for on a stop (it publishes whole or not at all).
    async fn build(&mut self, stop: &mut watch::Receiver<bool>, out: &mut Outputs) -> Result<(), Ended> {
        let began = Instant::now();
        let (config, progress) = (self.config.pipeline.clone(), self.request.progress);
        let mut build = tokio::task::spawn_blocking(move || pipeline::build(&config, progress));
        let joined = tokio::select! {
            r = &mut build => r,
            () = wait_for_stop(stop) => {
                tracing::warn!(stage = "runs", run_id = %self.summary.run_id,
                    "stop requested: letting the warehouse build finish (it publishes whole or not at all)");
                (&mut build).await
            }
        };
        self.summary.build_seconds = Some(began.elapsed().as_secs_f64());
        match joined {
            Ok(Ok(build)) => {
                build.record(&mut self.summary);
                out.build = Some(build);
                Ok(())
            }
            Ok(Err(e)) => Err(Ended::Failed(e.into())),
            Err(join) => Err(crashed("the warehouse build", join)),
        }
    }

    /// warehouse → BigQuery; a publish that has begun is waited for on a stop (each table is swapped in by one
    /// copy job, `meta_build` last).
    async fn publish(&mut self, stop: &mut watch::Receiver<bool>, out: &mut Outputs) -> Result<(), Ended> {
        let began = Instant::now();
        let config = &self.config.pipeline;
        let mut publish = std::pin::pin!(pipeline::publish_bigquery(config, config.lake_location()));
        let published = tokio::select! {
            r = &mut publish => r,
            () = wait_for_stop(stop) => {
                tracing::warn!(stage = "runs", run_id = %self.summary.run_id,
                    "stop requested: letting the BigQuery publish finish (meta_build lands after the tables)");
                publish.await
            }
        };
        match published {
            Ok(published) => {
                published.record(&mut self.summary);
                out.bigquery = Some(published);
                Ok(())
            }
            Err(e) => {
                let seconds = began.elapsed().as_secs_f64();
                self.summary.bigquery =
                    Some(BigQueryPublish { seconds, error: Some(error_chain(&e)), ..Default::default() });
                Err(Ended::Failed(e.into()))
            }
        }
    }

    /// Writes the `finished` line, then releases the lock (in that order, so a reader never sees a released lock
    /// with an unfinished run that is still going).
    fn end(self, ended: Ended, out: Outputs) -> Finished {
        let StartedRun { request, mut summary, ledger, lock, .. } = self;
        let failure = match ended {
            Ended::Succeeded => {
                summary.finish(RunStatus::Succeeded, None);
                None
            }
            Ended::Failed(failure) => {
                summary.finish(RunStatus::Failed, Some(error_chain(&failure)));
                summary.will_retry =
                    request.retry_on_failure && matches!(&failure, RunFailure::Pipeline(e) if e.is_transient());
                Some(failure)
            }
            Ended::Stopped(when) => {
                summary.finish(RunStatus::Abandoned, Some(format!("stopped by a shutdown {when}")));
                None
            }
        };
        if let Err(e) = ledger.record_end(&summary) {
            tracing::error!(stage = "runs", run_id = %summary.run_id, error_type = "ledger", "{e}");
        }
        match summary.status {
            RunStatus::Succeeded => tracing::info!(stage = "runs", run_id = %summary.run_id, "run succeeded"),
            status => tracing::warn!(stage = "runs", run_id = %summary.run_id, status = %status,
                error = summary.error.as_deref().unwrap_or(""), "run did not succeed"),
        }
        drop(lock);
        Finished { summary, ingest: out.ingest, build: out.build, bigquery: out.bigquery, failure }
    }
}

fn crashed(what: &str, join: tokio::task::JoinError) -> Ended {
    Ended::Failed(RunFailure::Crashed(format!("{what} stopped unexpectedly (a bug; please report it): {join}")))
}

/// Resolves once `stop` turns true; never, if its sender is gone.
pub(crate) async fn wait_for_stop(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// An error and its causes on one line.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
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
