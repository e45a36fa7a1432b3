//! One file per subcommand: run the library's work and print the summary (a table, or JSON with `--json`).
//!
//! Every command that writes the lake, the warehouse or BigQuery (`run`, `ingest`, `import`, `build`, `publish`,
//! the first run of `up`) is a recorded run: it takes the run lock and is on record in the ledger with trigger
//! `cli`.

mod args;
pub mod build;
pub mod failure;
pub mod import;
pub mod ingest;
pub mod publish;
pub mod run;
pub mod runs;
pub mod serve;
pub mod status;

use std::time::Duration;

use anyhow::Context as _;
use crimewatch::domain::run::{RunStatus, Trigger};
use crimewatch::pipeline::Progress;
use crimewatch::runs::{self as kept, Finished, RunFailure, RunRequest, RunsError, StartedRun, Work};
use crimewatch::settings::Settings;
use tokio::sync::watch;

pub use args::{ImportArgs, IngestArgs, RunsArgs, ServeArgs};
use failure::{CommandError, Failure};

use crate::logging::{notice, Loudness};

/// What a command returns: nothing on success (exit 0); the failure, whose class is the exit code.
pub type Outcome = Result<(), Failure>;

/// What every command gets: validated settings and how to report.
pub struct Context {
    pub settings: Settings,
    pub json: bool,
}

impl Context {
    /// Progress bars on a terminal, unless the output is JSON.
    pub fn progress(&self) -> Progress {
        if self.json {
            Progress::Hidden
        } else {
            Progress::detect()
        }
    }
}

/// Starts a command's run of `work` (trigger `cli`): takes the run lock — when another run holds it, says so
/// and waits up to `schedule.lock_wait_seconds`, then fails naming the holder — and records the start.
pub fn begin_run(settings: &Settings, work: Work, progress: Progress) -> Result<StartedRun, RunsError> {
    let config = settings.runs();
    let request = RunRequest::once(Trigger::Cli, work, progress);
    let started = match kept::begin(&config, request.clone(), Duration::ZERO) {
        Ok(started) => started,
        Err(RunsError::LockBusy { holder, .. }) => {
            notice(
                Loudness::Warn,
                format!(
                    "another run ({holder}) holds the run lock; waiting up to {} s for it to finish...",
                    config.lock_wait.as_secs()
                ),
            );
            kept::begin(&config, request, config.lock_wait)?
        }
        Err(e) => return Err(e),
    };
    if let Some(stale) = started.stale_lock() {
        notice(Loudness::Info, format!("note: cleared a stale run lock left by a process that was killed ({stale})"));
    }
    Ok(started)
}

/// Runs a command's started run to its end. The first Ctrl-C or SIGTERM stops it cleanly (see
/// [`stop_on_signals`]): the ledger records it abandoned and the command exits 130.
pub fn finish_run(started: StartedRun) -> anyhow::Result<Finished> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(async {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(stop_on_signals(stop_tx));
        started.execute(stop_rx).await
    }))
}

/// First Ctrl-C/SIGTERM: stop cleanly (an ingest stops, a warehouse publish finishes). Second: quit now — safe
/// too, since every step on disk is a rename, and the ledger then shows the run as abandoned.
///
/// The handlers are installed when this is called (inside the runtime), not when the returned future is first
/// polled, so a signal that comes right after the run starts already stops it cleanly.
pub(crate) fn stop_on_signals(stop: watch::Sender<bool>) -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let handlers = signal(SignalKind::interrupt()).and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
    async move {
        let Ok((mut int, mut term)) = handlers else {
            return;
        };
        let first = tokio::select! {
            _ = int.recv() => "Ctrl-C",
            _ = term.recv() => "SIGTERM",
        };
        notice(
            Loudness::Warn,
            format!(
                "crimewatch: {first}: stopping (a warehouse publish in progress finishes first; Ctrl-C again quits now)"
            ),
        );
        stop.send_replace(true);
        tokio::select! {
            _ = int.recv() => {},
            _ = term.recv() => {},
        }
        notice(Loudness::Warn, "crimewatch: quitting now");
        std::process::exit(130);
    }
}

/// The failure a run that did not succeed ends the command with, its causes kept for printing.
pub fn failure(finished: Finished) -> Failure {
    let run = finished.summary;
    match finished.failure {
        Some(RunFailure::Pipeline(e)) => e.into(),
        Some(RunFailure::Crashed(message)) => anyhow::anyhow!(message).into(),
        None if run.status == RunStatus::Abandoned => {
            CommandError::Interrupted { run_id: run.run_id, reason: run.error.unwrap_or_default() }.into()
        }
        None => anyhow::anyhow!("run {} ended {}: {}", run.run_id, run.status, run.error.unwrap_or_default()).into(),
    }
}
