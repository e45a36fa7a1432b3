//! One file per subcommand: run the library's work and print the summary (a table, or JSON with `--json`).
//!
//! Every command that writes the lake, the warehouse or BigQuery (`run`, `ingest`, `import`, `build`, `publish`,
//! the first run of `up`) is a recorded run: it takes the run lock and is on record in the ledger with trigger
//! `cli`.

mod args;
pub mod build;
pub mod import;
pub mod ingest;
pub mod publish;
pub mod run;
pub mod runs;
pub mod serve;
pub mod status;

use std::time::Duration;

use anyhow::Context as _;
use crimewatch::domain::run::Trigger;
use crimewatch::pipeline::Progress;
use crimewatch::runs::{self as kept, Finished, RunFailure, RunRequest, RunsError, StartedRun, Work};
use crimewatch::settings::Settings;
use tokio::sync::watch;

pub use args::{ImportArgs, IngestArgs, RunsArgs, ServeArgs};

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
pub fn begin_run(settings: &Settings, work: Work, progress: Progress) -> anyhow::Result<StartedRun> {
    let config = settings.runs();
    let request = RunRequest::once(Trigger::Cli, work, progress);
    let started = match kept::begin(&config, request.clone(), Duration::ZERO) {
        Ok(started) => started,
        Err(RunsError::LockBusy { holder, .. }) => {
            eprintln!(
                "another run ({holder}) holds the run lock; waiting up to {} s for it to finish...",
                config.lock_wait.as_secs()
            );
            kept::begin(&config, request, config.lock_wait)?
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(stale) = started.stale_lock() {
        eprintln!("note: cleared a stale run lock left by a process that was killed ({stale})");
    }
    Ok(started)
}

/// Runs a command's started run to its end. No signal handling: Ctrl-C ends the process as it always did (every
/// step on disk is a rename, so that is safe), and the ledger then shows the run as abandoned.
pub fn finish_run(started: StartedRun) -> anyhow::Result<Finished> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (_never, stop) = watch::channel(false);
    Ok(runtime.block_on(started.execute(stop)))
}

/// The error a failed run ends the command with, its causes kept for printing.
pub fn failure(finished: Finished) -> anyhow::Error {
    match finished.failure {
        Some(RunFailure::Pipeline(e)) => anyhow::Error::new(e),
        Some(RunFailure::Crashed(message)) => anyhow::anyhow!(message),
        None => anyhow::anyhow!(
            "run {} ended {}: {}",
            finished.summary.run_id,
            finished.summary.status,
            finished.summary.error.unwrap_or_default()
        ),
    }
}
